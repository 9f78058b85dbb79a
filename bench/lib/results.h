/*
 * Results of a benchmark session: samples per (row, benchmark) over the
 * runs, their median/min/max, n/a entries with reasons, and the writers of
 * results.json (schema 1), report.md and the plots (docs/benchmarks.md §4, §6).
 */
#ifndef BENCH_RESULTS_H
#define BENCH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench/lib/parse.h"

#define RESULTS_MAX_RUNS 32
#define RESULTS_KV_MAX 64

struct kv {
    char key[48];
    char value[256];
};

struct bench_result {
    char row[32];
    char bench[BENCH_NAME_MAX];
    char unit[BENCH_UNIT_MAX];
    bool na;
    char reason[BENCH_REASON_MAX];
    double samples[RESULTS_MAX_RUNS];   /* one value per run, in unit */
    struct exit_profile exits[RESULTS_MAX_RUNS]; /* per run, when has_exits */
    unsigned runs;
    bool has_exits;                     /* at least one run gave a profile */
    bool run_has_exits[RESULTS_MAX_RUNS]; /* added: which runs did */
    double p50[RESULTS_MAX_RUNS], p99[RESULTS_MAX_RUNS]; /* ns; latency benchmarks */
    unsigned n_pct;                     /* runs that gave p50/p99 */
    /* Filled by results_finish(): */
    double median, min, max;
    double p50_median, p99_median;      /* 0 when n_pct is 0 */
    struct exit_profile exits_median;   /* the profile of the median run */
};

struct results {
    struct kv machine[RESULTS_KV_MAX];  /* in the order added */
    size_t n_machine;
    struct kv config[RESULTS_KV_MAX];
    size_t n_config;
    bool software_kvm;                  /* the KVM backend is not VT-x/AMD-V */
    struct bench_result *r;
    size_t n, cap;
};

void results_init(struct results *res);
void results_free(struct results *res);
void results_machine(struct results *res, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void results_config(struct results *res, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One run's value (and exit profile, or NULL) for (row, bench).  An n/a
 * entry stays n/a.  Returns -1 when RESULTS_MAX_RUNS samples are there. */
int results_add_sample(struct results *res, const char *row, const char *bench, const char *unit,
                       double value, const struct exit_profile *exits);
/* The per-request median and 99th percentile (ns) of the run just added
 * with results_add_sample (latency benchmarks).  0, or -1 when there is no
 * such entry. */
int results_add_percentiles(struct results *res, const char *row, const char *bench,
                            double p50, double p99);
/* Marks (row, bench) n/a with a reason; the first reason given is kept and
 * samples already added are dropped (a benchmark that fails in one run is
 * not reported from the others). */
void results_set_na(struct results *res, const char *row, const char *bench, const char *reason);
/* Median/min/max of each entry; every (row, benchmark) pair of the
 * catalogue that has no entry gets one: n/a with missing_reason. */
void results_finish(struct results *res, const char *missing_reason);
/* (Added notes.)  results_finish also sorts the entries: rows in bench_rows
 * order, each row's benchmarks in catalogue order; pairs the catalogue does
 * not know come after the known ones of their row (or after every row), in
 * the order added.  It may be called again after more samples.
 * results_add_sample also returns -1 (errno EINVAL) for a value that is not
 * finite or a row/bench name that does not fit.  A bench_result is ~160 KiB:
 * keep them on the heap (struct results is fine on the stack). */
const struct bench_result *results_find(const struct results *res, const char *row,
                                        const char *bench);
/* Added: the entry when it is ok (not n/a, at least one run, a finite
 * median after results_finish), else NULL: what the report and plots use. */
const struct bench_result *results_find_ok(const struct results *res, const char *row,
                                           const char *bench);
/* Added: the exit profile of an ok entry's median run, or NULL when the
 * entry is not ok or no run gave one. */
const struct exit_profile *results_exits(const struct results *res, const char *row,
                                         const char *bench);

/* Statistics of n values (n >= 1; the array is not modified). */
double stats_median(const double *v, size_t n);
double stats_min(const double *v, size_t n);
double stats_max(const double *v, size_t n);

/* Writers.  Return 0, or -1 with errno set by the failed write. */
int results_write_json(const struct results *res, FILE *f);
/* The gnuplot data and scripts under dir, then gnuplot itself.  Returns the
 * number of plots made (files named in *made, relative to dir), or -1 with
 * a reason in err (gnuplot missing or failed). */
int plots_write(const struct results *res, const char *dir, char made[][64], size_t max_made,
                char *err, size_t errlen);
/* (Added notes.)  Files: exit_latency, mem_chase, exits_per_op (.dat, .gp,
 * .png) in dir; gnuplot runs with dir as its working directory (the program
 * is $GNUPLOT when set, else "gnuplot").  A plot with no data is not made;
 * on success err holds why ("" when all were made), so it can be passed to
 * report_write_md as plots_problem.  On -1, made[] still names the plots
 * made before the failure. */
/* report.md: summary, tables, decision guide, plots (the names plots_write
 * made; none: the reason is printed in their place), machine section. */
int report_write_md(const struct results *res, FILE *f, char made[][64], size_t n_made,
                    const char *plots_problem);
/* (Added note.)  plots_problem, when not NULL or "", is printed in the
 * plots section: in place of the plots when n_made is 0, else as a note
 * under them.  Image links are relative: write report.md into the plots'
 * dir.  Call results_finish first. */

#endif
