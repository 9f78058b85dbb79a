/*
 * hvlab-bench, the harness behind `make bench` (docs/benchmarks.md):
 *   main.c      command line, the session (rows x runs), progress, reports/
 *   rows.c      how each row runs the suite, and why a row cannot run here
 *   spawn.c     running one command with a time limit, output to files
 *   machine.c   the machine section: CPU (libcpuid), kernel, KVM backend
 *   topology.c  topology and CPU pinning (hwloc)
 * bench/lib/ (libbench.a) parses what a run printed and writes the results.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/lib/results.h"

#define PROG "hvlab-bench"

struct bench_config {
    const char *build;           /* build directory (make's $(BUILD))        */
    const char *out_root;        /* reports/                                  */
    unsigned runs;               /* repetitions of every row                 */
    unsigned min_ms;             /* the guest's calibration target per loop  */
    bool quick;
    bool pin;
    const char *only_rows;       /* comma list, NULL: all                     */
    const char **benches;        /* the selected catalogue names              */
    size_t n_benches;
    unsigned guest_mem_mib;
    const char *disk;            /* the io group's disk image; NULL: none  */
};

/* ---- spawn.c ---------------------------------------------------------------- */
struct spawn_result {
    int status;                  /* exit status, or 128+signal               */
    bool timed_out;
    double seconds;
};
/* Runs argv with stdout and stderr to the two files (stderr may be the same
 * path); kills it after timeout_s.  Returns 0, or -1 when it could not start
 * (reason in err). */
int spawn_run(char *const argv[], const char *out_path, const char *err_path,
              double timeout_s, struct spawn_result *r, char *err, size_t errlen);
/* The whole file as a NUL-terminated string ("" when unreadable); free() it. */
char *slurp(const char *path);
/* The last non-empty line of a file, without the newline, or "". */
void last_line(const char *path, char *buf, size_t len);

/* ---- rows.c ----------------------------------------------------------------- */
struct row_plan {
    const char *row;
    bool available;
    char why_not[BENCH_REASON_MAX];   /* when !available */
    double est_seconds;               /* a guess for the progress line */
};
/* Whether the row can run here, and why not. */
void row_check(const struct bench_config *c, const char *row, struct row_plan *p);
/* One run of a row: runs it, parses it, adds its samples or n/a entries to
 * res.  log_dir gets its console (and stats) files.  Returns the seconds it
 * took; *timed_out says whether it was killed at the time limit. */
double row_run(const struct bench_config *c, const char *row, unsigned run, const char *log_dir,
               struct results *res, bool *timed_out);

/* ---- disk.c ------------------------------------------------------------------ */
#define BENCH_DISK_MIB 32u
/* A BENCH_DISK_MIB image of pseudo-random bytes in a new temporary
 * directory, for the io group (every row reads the same file).  Returns
 * its path, or NULL with a reason in err. */
const char *disk_create(char *err, size_t errlen);
void disk_remove(const char *path);

/* ---- machine.c / topology.c ----------------------------------------------- */
/* Adds the machine section; sets res->software_kvm. */
void machine_describe(struct results *res);
/* Pins this process (and so every child) to one processing unit with hwloc
 * and records the choice; records why not when it cannot. */
void topology_describe_and_pin(struct results *res, bool pin);

#endif
