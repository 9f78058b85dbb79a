/*
 * hvlab-native: the `native` and `container` rows (docs/benchmarks.md §1).
 * The guest kernel's benchmarks, done the way a Linux process can do them,
 * printed in the guest's console format (§2) so that hvlab-bench reads both
 * with one parser:
 *   main.c       command line, the catalogue and its order, TSC frequency,
 *                calibration, the output lines
 *   workloads.c  the exit.* loops (system call, cpuid, rdtsc, signals for
 *                #DE and #PF, the context switch) and mem.first_touch,
 *                mem.pt_update
 *   chase.c      mem.chase_*: the pointer chase, 4 KiB and 2 MiB pages
 *   io.c         io.blk_*: pread/pwrite on the disk image at QD1 and QD32
 *   tsc_rate.c   the TSC's frequency (also linked into hvlab-bench)
 *   container.c  --container: new user, pid, mount, net, uts, ipc namespaces
 * Only libc, -lm and -lpthread: no libhv (a plain process is the point of
 * the row).
 */
#ifndef BENCH_NATIVE_NATIVE_H
#define BENCH_NATIVE_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/native/tsc_rate.h"

#define PROG "hvlab-native"
#define REASON_MAX 256

/*
 * The TSC, read the way kvm-unit-tests' vmexit does around a loop: rdtsc is
 * not ordered with the instructions before it (Intel SDM Vol. 2B RDTSC,
 * AMD APM Vol. 3), so the start is fenced with lfence (dispatch-serializing
 * on Intel; on AMD where CPUID 8000_0021h EAX[2] says so or the kernel set
 * MSR DE_CFG[1], as Linux does for its Spectre mitigations) and the end uses
 * rdtscp, which waits for the loop's instructions to execute, then lfence so
 * that nothing after it starts early.
 */
static inline uint64_t tsc_start(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t tsc_stop(void)
{
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
    (void)aux;
    return ((uint64_t)hi << 32) | lo;
}

/* One benchmark's outcome: ok with ops and the measured run's cycles, or
 * n/a with a reason (one line, to the end of the console line). */
struct result {
    bool ok;
    uint64_t ops, cycles;
    char why[REASON_MAX];
    char extra[64];              /* more " key=value" fields, e.g. " p50=... p99=..." */
};

/* What every benchmark gets: the calibration target in TSC cycles. */
struct env {
    uint64_t min_cycles;
    uint64_t tsc_khz;
    const char *disk;            /* --disk: the io group's image, or NULL */
};

/*
 * A timed loop: runs n units of work and returns the TSC cycles of the loop
 * alone (set-up outside it).  Returns 0 when a unit failed (a system call
 * that should not fail did); the caller then has the reason in its state.
 */
typedef uint64_t (*loop_fn)(void *state, uint64_t n);

/*
 * kvm-unit-tests' vmexit calibration (x86/vmexit.c): n = 1, 2, 4 ... until
 * one run lasts at least min_cycles, then one more run of that n, which is
 * the one reported (the doubling runs warm caches, TLBs and predictors).
 * Sets r->ops = n * ops_per_unit and r->cycles; returns false when a run
 * failed (r is untouched then).
 */
bool measure(const struct env *e, loop_fn f, void *state, uint64_t ops_per_unit,
             struct result *r);

/* Sets r to n/a with a printf-style reason. */
void result_na(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the benchmarks (param: a benchmark's own number, e.g. a working set) */
typedef void (*bench_fn)(const struct env *e, size_t param, struct result *r);

void bench_syscall(const struct env *e, size_t param, struct result *r);
void bench_cpuid(const struct env *e, size_t param, struct result *r);
void bench_rdtsc(const struct env *e, size_t param, struct result *r);
void bench_divzero(const struct env *e, size_t param, struct result *r);
void bench_pagefault(const struct env *e, size_t param, struct result *r);
void bench_as_switch(const struct env *e, size_t param, struct result *r);
void bench_first_touch(const struct env *e, size_t param, struct result *r);
void bench_pt_update(const struct env *e, size_t param, struct result *r);
void bench_chase_4k(const struct env *e, size_t working_set, struct result *r);
void bench_chase_2m(const struct env *e, size_t working_set, struct result *r);
/* io.c: param is IO_* flags. */
#define IO_SEQ     1u            /* 64 KiB sequential, else 4 KiB random */
#define IO_WRITE   2u
#define IO_LATENCY 4u            /* p50/p99 of the single requests */
#define IO_QD32    8u            /* 32 threads, else QD1 */
void bench_io(const struct env *e, size_t param, struct result *r);

/* ---- chase.c --------------------------------------------------------------- */
/* The "FIELD: N kB" line of /proc/self/smaps for the mapping that contains
 * addr (e.g. "AnonHugePages": bytes mapped by 2 MiB entries); -1 when it
 * cannot be read. */
long smaps_kb(const void *addr, const char *field);

/* ---- container.c ---------------------------------------------------------- */
#define CONTAINER_NAMESPACES "user,pid,mnt,net,uts,ipc"

/*
 * Moves the rest of the run into new user, pid, mount, net, uts and ipc
 * namespaces.  Returns 0 in the process that must run the workloads (PID 1
 * of the new pid namespace); the original process never returns: it waits
 * for that one and exits with its status.  Returns -1 with a one-line reason
 * in why when the namespaces cannot be made (nothing has been forked then).
 */
int container_enter(char *why, size_t len);

#endif
