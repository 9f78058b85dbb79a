/*
 * bench.h - the benchmark suite (guest command `bench`, docs/benchmarks.md).
 *
 *   bench.c       the command: selection, calibration, the brackets for the
 *                 monitor (HVLAB_PORT_BENCH), the console lines
 *   bench_exit.c  the exit group: one privileged or trapping operation per op,
 *                 timed in kernel mode (exit.syscall: in a user task)
 *   bench_mem.c   the mem group: pointer chase, first touch, page-table updates
 *   bench_user.c  the user-mode loops (.user.text; usercode.h's rules)
 *   bench_io.c    the io group: virtio-blk requests (latency, IOPS, MB/s)
 *
 * Each benchmark is measured the same way (bench.c measure()):
 *   1. calibration, unbracketed: the operation count grows until the timed
 *      loop lasts min_ms (kvm-unit-tests x86/vmexit.c's GOAL);
 *   2. BEGIN, the measured run with that count, END with ops and cycles;
 *   3. BEGIN, the same code path with 0 operations, END with ops 0: the
 *      harness subtracts this base bracket, so the exits of the set-up (a
 *      task's entry and exit, the bracket's own port write) cancel.
 * A kernel-mode benchmark gives a `loop` (bench.c brackets it); one that
 * needs set-up between calibration and the timed part (a user task, a
 * mapping) gives `calibrate` and `run`, and run calls bench_open/bench_close
 * right around its timed part.
 */
#ifndef GUEST_BENCH_H
#define GUEST_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include "layout.h"
#include "usercode.h"

/* Virtual addresses the benchmarks use.  The user buffer of the mem group
 * sits 1 GiB into the user region: 1 GiB aligned, so that its 2 MiB pages
 * have page directories of their own, away from the task's text, data and
 * stack (USER_TEXT_VA .. USER_STACK_TOP).  The kernel ones are in VMAP,
 * apart from the selftest's (VMAP_BASE .. +4 MiB). */
#define BENCH_USER_BUF_VA  (USER_BASE + 0x40000000ull)
#define BENCH_USER_BUF_MAX (1ull << 30)
#define BENCH_PTEMOD_VA    (VMAP_BASE + 0x10000000ull)
#define BENCH_PT_UPDATE_VA (VMAP_BASE + 0x20000000ull)  /* 2 MiB aligned: one page table */
#define BENCH_PF_VA        (VMAP_BASE + 0x30000000ull)  /* never mapped */

struct bench {
    const char *name;           /* "exit.cpuid", at most 47 characters */
    const char *unit;           /* "ns/op", "ns/access", "ns/page" */
    uint64_t param;             /* mem.chase_*: working set; others: free */
    uint64_t page;              /* mem.chase_*: 4 KiB or 2 MiB pages */
    uint64_t ops_per_unit;      /* operations per calibrated unit (0 = 1) */

    /* NULL, or why the benchmark cannot run or means nothing here. */
    const char *(*na)(const struct bench *b);
    /* Optional, unbracketed, before calibration / after the base bracket.
     * setup returns 0, or -1 after bench_fail(). */
    int (*setup)(const struct bench *b);
    void (*teardown)(const struct bench *b);

    /* Either a kernel-mode loop: n operations, returns the TSC cycles of
     * the loop alone (0 after bench_fail()), n_start the first count tried. */
    uint64_t (*loop)(const struct bench *b, uint64_t n);
    uint64_t n_start;
    /* Or calibrate (units until the timed part lasts goal cycles; a fixed
     * count for a benchmark that cannot repeat) and run (units, then
     * bench_open/bench_close around the timed part).  0 or -1. */
    int (*calibrate)(const struct bench *b, uint64_t goal, uint64_t *units);
    int (*run)(const struct bench *b, uint64_t units, uint64_t *cycles);
    /* Or all of it in one go (a user task that calibrates and then makes
     * both brackets itself with SYS_BENCH_MARK): *ops and *cycles of the
     * measured bracket. */
    int (*measure)(const struct bench *b, uint64_t goal, uint64_t *ops, uint64_t *cycles);

    /* The io group: what the benchmark does (bench_io.c's struct io_spec). */
    const void *spec;
    /* Optional: more key=value fields for the console line (" p50=..."),
     * about the measured run. */
    void (*extra)(const struct bench *b, char *buf, unsigned len);
};

/* The catalogue's groups, in catalogue order (bench_exit.c, bench_mem.c,
 * bench_io.c). */
extern const struct bench bench_exit_group[];
extern const unsigned bench_exit_count;
extern const struct bench bench_mem_group[];
extern const unsigned bench_mem_count;
extern const struct bench bench_io_group[];
extern const unsigned bench_io_count;

/* bench.c: the command (main.c), and helpers for run functions. */
int cmd_bench(int argc, char **argv);
void bench_open(void);
void bench_close(uint64_t ops, uint64_t cycles);
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define BENCH_N_MAX (1ull << 32)        /* no loop ever runs more operations */

/* Runs `main` (USER_SYMBOL of a user_bench_* body) in a new user task with
 * *io in its data page; map (optional) adds the benchmark's mappings to the
 * task's address space first.  The task run alone is bracketed (bench_open,
 * then bench_close with io->n * ops_per_n and io->cycles): set-up and
 * tear-down stay outside.  *io gets the results.  0, or -1 after bench_fail. */
struct aspace;
struct bench_uparams;

/* SYS_BENCH_MARK from a user task: HVLAB_BENCH_BEGIN opens the bracket of
 * the benchmark being measured, HVLAB_BENCH_END closes it with ops and
 * cycles.  Outside a measurement, and out of order, it does nothing (a task
 * cannot break the monitor's bracket rules).  Returns 0 or -EINVAL. */
int64_t bench_user_mark(uint64_t op, uint64_t ops, uint64_t cycles);
int bench_user_task(const struct bench *b, uint64_t main, struct bench_uparams *io,
                    uint64_t ops_per_n, int (*map)(const struct bench *b, struct aspace *as));

/* bench_mem.c: reserve the pointer-chase buffer before the first benchmark
 * runs: the largest of `sizes` (bytes) that guest RAM can hold. */
void bench_mem_reserve(uint64_t *sizes, unsigned n);    /* sizes: scratch */

/* ---- user mode (bench_user.c) ------------------------------------------- *
 * A user task finds its parameters in its data page (USER_DATA_VA) and
 * leaves its results there; the kernel reaches the page at its physical
 * address (task.data_pa, identity-mapped). */
struct bench_uparams {
    uint64_t n;                 /* in: operations; out: operations timed */
    uint64_t goal;              /* in: nonzero = calibrate: double n until
                                 * the loop lasts goal TSC cycles */
    uint64_t n_max;             /* in: never more than this */
    uint64_t buf;               /* in: user VA of the buffer */
    uint64_t bytes;             /* in: working set / pages touched * 4 KiB */
    uint64_t build;             /* in: chase: build the chain first */
    uint64_t cycles;            /* out: TSC cycles of the timed loop */
    uint64_t sink;              /* out: the loads' result, kept */
    uint64_t brackets;          /* in: after calibrating, the measured and the
                                 * base run, each bracketed with SYS_BENCH_MARK;
                                 * the kernel then brackets nothing itself */
};

#define BENCH_CHASE_LINE 64u    /* one pointer per cache line */
#define BENCH_CHASE_SEED 0x9e3779b97f4a7c15ull

int64_t user_bench_getpid(user_gate_t gate, uint64_t arg);
int64_t user_bench_chase(user_gate_t gate, uint64_t arg);
int64_t user_bench_touch(user_gate_t gate, uint64_t arg);

#endif
