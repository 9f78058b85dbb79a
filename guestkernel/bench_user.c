/*
 * bench_user.c - the benchmarks' user-mode loops (ring 3, .user.text).
 *
 * usercode.h's rules hold: no string literals, no jump tables, no calls into
 * the kernel; every helper here is always_inline.  Each body reads its
 * parameters from the task's data page (struct bench_uparams at
 * USER_DATA_VA), times its loop with RDTSC *in user mode* (CR4.TSD is 0, so
 * RDTSC is allowed at CPL 3, SDM Vol. 2B "RDTSC"; under the ring-3 monitors
 * it does not trap either) and leaves the cycles there.  A body that is
 * asked to calibrate (goal != 0) doubles its count itself until its loop
 * lasts `goal` cycles, so that the calibration costs one task, one build of
 * a chain, one warm-up.
 */
#include "layout.h"
#include "bench.h"
#include "abi/hvlab_abi.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE uint64_t user_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

ALWAYS_INLINE struct bench_uparams *params(void)
{
    return (struct bench_uparams *)USER_DATA_VA;
}

/* ---- exit.syscall: the null system call ------------------------------------- */

ALWAYS_INLINE uint64_t getpid_loop(user_gate_t gate, uint64_t n)
{
    uint64_t t0 = user_rdtsc();
    for (uint64_t i = 0; i < n; i++)
        user_syscall(gate, SYS_GETPID, 0, 0, 0);
    return user_rdtsc() - t0;
}

USER_TEXT int64_t user_bench_getpid(user_gate_t gate, uint64_t arg)
{
    struct bench_uparams *p = params();
    uint64_t n = p->n, cycles;
    (void)arg;
    if (p->goal) {
        for (n = n ? n : 1;; n *= 2) {
            cycles = getpid_loop(gate, n);
            if (cycles >= p->goal || n >= p->n_max)
                break;
        }
    } else {
        cycles = getpid_loop(gate, n);
    }
    p->n = n;
    p->cycles = cycles;
    return 0;
}

/* ---- mem.chase_*: dependent loads over a random cyclic permutation ---------- */

/* xorshift64 (Marsaglia 2003): a fixed seed gives the same chain every run,
 * under every monitor. */
ALWAYS_INLINE uint64_t xorshift64(uint64_t x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/*
 * Sattolo's algorithm (1986): the Fisher-Yates shuffle with j drawn from
 * [0, i) instead of [0, i] yields a uniformly random permutation with a
 * single cycle, so following next(i) = a[i] visits every line once before
 * coming back.  a[] lives in the lines themselves (first word of each), as
 * indices first, then turned into pointers: no extra memory, and building
 * it is every line's first touch.  j = (r * i) >> 32 maps a 32-bit random
 * r into [0, i) without a division.
 */
ALWAYS_INLINE void build_chain(uint64_t buf, uint64_t lines)
{
    uint64_t x = BENCH_CHASE_SEED;

    for (uint64_t i = 0; i < lines; i++)
        *(volatile uint64_t *)(buf + i * BENCH_CHASE_LINE) = i;
    for (uint64_t i = lines - 1; i > 0; i--) {
        x = xorshift64(x);
        uint64_t j = ((x >> 32) * i) >> 32;
        volatile uint64_t *a = (volatile uint64_t *)(buf + i * BENCH_CHASE_LINE);
        volatile uint64_t *b = (volatile uint64_t *)(buf + j * BENCH_CHASE_LINE);
        uint64_t t = *a;
        *a = *b;
        *b = t;
    }
    for (uint64_t i = 0; i < lines; i++) {
        volatile uint64_t *a = (volatile uint64_t *)(buf + i * BENCH_CHASE_LINE);
        *a = buf + *a * BENCH_CHASE_LINE;
    }
}

/* n dependent loads: each address is the value of the previous load, so
 * they cannot overlap (the latency of one load, TLB miss and page walk
 * included, is what gets timed: lmbench's lat_mem_rd). */
ALWAYS_INLINE uint64_t chase(uint64_t *pos, uint64_t n)
{
    uint64_t p = *pos;
    uint64_t t0 = user_rdtsc();
    for (uint64_t i = 0; i < n; i++)
        __asm__ volatile("movq (%0), %0" : "+r"(p) :: "memory");
    uint64_t cycles = user_rdtsc() - t0;
    *pos = p;
    return cycles;
}

/*
 * Warm-up: one load per 4 KiB page, so that every translation exists
 * (a shadow mapping under hv-trap-emulate, a host page-table entry
 * everywhere); then a lap of the chain, at most 1 Mi lines (64 MiB:
 * larger sets fit no cache anyway), so that the caches hold what they can.
 */
#define WARM_LAP_MAX (1ull << 20)

ALWAYS_INLINE uint64_t warm_up(const struct bench_uparams *p, uint64_t *pos, uint64_t lines)
{
    uint64_t sink = 0;
    for (uint64_t off = 0; off < p->bytes; off += PAGE_SIZE)
        sink += *(volatile uint64_t *)(p->buf + off);
    chase(pos, lines < WARM_LAP_MAX ? lines : WARM_LAP_MAX);
    return sink;
}

USER_TEXT int64_t user_bench_chase(user_gate_t gate, uint64_t arg)
{
    struct bench_uparams *p = params();
    uint64_t lines = p->bytes / BENCH_CHASE_LINE, pos = p->buf, n = p->n, cycles;
    (void)arg;

    if (lines < 2)
        return 1;
    if (p->build)
        build_chain(p->buf, lines);
    uint64_t sink = warm_up(p, &pos, lines);
    if (p->goal) {
        for (n = n ? n : 256;; n *= 2) {
            cycles = chase(&pos, n);
            if (cycles >= p->goal || n >= p->n_max)
                break;
        }
    }
    if (p->brackets) {
        /* The measured run and the base run (0 loads) in this same task,
         * so that the translations stay.  Each bracket warms up again
         * before its timed loop: a monitor may drop mappings at the system
         * call (hv-trap-emulate's HVLAB_SHADOW=flush empties its shadow at
         * each change of privilege), and the exits that refill them evict
         * the caches; the refill then lands in both brackets, and cancels,
         * instead of in the timed loop. */
        user_syscall(gate, SYS_BENCH_MARK, HVLAB_BENCH_BEGIN, 0, 0);
        sink += warm_up(p, &pos, lines);
        cycles = chase(&pos, n);
        user_syscall(gate, SYS_BENCH_MARK, HVLAB_BENCH_END, n, cycles);
        user_syscall(gate, SYS_BENCH_MARK, HVLAB_BENCH_BEGIN, 0, 0);
        sink += warm_up(p, &pos, lines);
        uint64_t base = chase(&pos, 0);
        user_syscall(gate, SYS_BENCH_MARK, HVLAB_BENCH_END, 0, base);
    } else if (!p->goal) {
        cycles = chase(&pos, n);
    }
    p->n = n;
    p->cycles = cycles;
    p->sink = sink + pos;
    return 0;
}

/* ---- mem.first_touch: one write per fresh page ----------------------------- */

USER_TEXT int64_t user_bench_touch(user_gate_t gate, uint64_t arg)
{
    struct bench_uparams *p = params();
    uint64_t t0 = user_rdtsc();
    (void)gate;
    (void)arg;
    for (uint64_t off = 0; off < p->bytes; off += PAGE_SIZE)
        *(volatile uint8_t *)(p->buf + off) = 1;
    p->cycles = user_rdtsc() - t0;
    p->n = p->bytes / PAGE_SIZE;
    return 0;
}
