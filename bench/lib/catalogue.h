/*
 * The benchmark catalogue and the rows (docs/benchmarks.md §1, §5): the one
 * list that says which (row, benchmark) pairs results.json must contain.
 */
#ifndef BENCH_CATALOGUE_H
#define BENCH_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

struct bench_def {
    const char *name;            /* "exit.cpuid", "mem.chase_4k.16K"          */
    const char *group;           /* "exit", "mem" or "io"                     */
    const char *unit;            /* "ns/op", "ns/access", "ns/page", "ns/req" */
    bool quick;                  /* part of the reduced set of make bench QUICK=1 */
    unsigned io_bytes;           /* io: bytes per request (MB/s, IOPS); else 0 */
};

struct row_def {
    const char *name;            /* exactly as results.json names it          */
    const char *title;           /* one line for the report                   */
    bool exit_counters;          /* the row reports exits by reason           */
    bool io_only;                /* a variant that runs only the io group     */
};

/* Rows whose times are QEMU TCG's (hwassist-svm*): exit counts, not times. */
bool row_times_emulated(const char *row);
/* The reason an io-only row gives for the other groups. */
#define IO_ONLY_REASON                                                                        \
    "--ioeventfd changes only how virtio notifications and completions travel: the other "  \
    "groups are the row without it"

extern const struct bench_def bench_catalogue[];
extern const size_t bench_catalogue_len;
extern const struct row_def bench_rows[];
extern const size_t bench_rows_len;

/* NULL when the name is not in the catalogue / not a row. */
const struct bench_def *bench_find(const char *name);
const struct row_def *row_find(const char *name);
/* Added: the position in bench_catalogue / bench_rows (catalogue order is the
 * order of results.json, the report and the plots), -1 when not there. */
int bench_index(const char *name);
int row_index(const char *name);

#endif
