/*
 * Exit statistics: how many exits of each reason a monitor handled, and, for
 * each benchmark the guest brackets through HVLAB_PORT_BENCH, how many exits
 * of each reason happened per operation.  ns/op depends on the machine;
 * exits/op explains it.
 */
#ifndef LIBHV_STATS_H
#define LIBHV_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define HV_STATS_MAX_REASONS 48u
#define HV_STATS_MAX_BENCHES 128u
#define HV_BENCH_NAME_MAX 48u
#define HV_STATS_MAX_EXTERNAL 24u

struct hv_bench_record {
    char name[HV_BENCH_NAME_MAX];
    uint64_t iterations;
    uint64_t tsc_cycles;
    uint64_t exits[HV_STATS_MAX_REASONS]; /* delta per reason over the bracket */
    uint64_t external[HV_STATS_MAX_EXTERNAL]; /* delta per external counter */
};

/*
 * Counters kept by someone else that a bracket should also attach: KVM's own
 * per-vCPU statistics (hv-hwassist), which count the exits KVM handles in
 * the kernel and this monitor never sees.  read() fills one value per name;
 * it returns -1 when the counters cannot be read (the deltas are then 0).
 */
struct hv_external_counters {
    const char *name[HV_STATS_MAX_EXTERNAL];
    unsigned n;
    int (*read)(void *ctx, uint64_t *values);
    void *ctx;
};

struct hv_stats {
    const char *reason[HV_STATS_MAX_REASONS]; /* static strings           */
    bool is_event[HV_STATS_MAX_REASONS]; /* an event, not an exit: counted
                                            but left out of the totals     */
    uint64_t count[HV_STATS_MAX_REASONS];
    unsigned n;
    bool in_bench;
    char bench_name[HV_BENCH_NAME_MAX];
    uint64_t at_begin[HV_STATS_MAX_REASONS];
    struct hv_bench_record bench[HV_STATS_MAX_BENCHES];
    unsigned n_bench;
    struct hv_external_counters ext;   /* n == 0: none */
    uint64_t ext_at_begin[HV_STATS_MAX_EXTERNAL];
};

/* The slot for a reason (a string with static storage), created on first use.
 * Call it at set-up time and keep the slot: stats_inc() is the hot path. */
unsigned stats_reason(struct hv_stats *st, const char *reason);

/* Atomic: hv-hwassist's I/O thread counts device events beside the vCPU
 * thread's exits (relaxed: a count, not an ordering). */
static inline void stats_inc(struct hv_stats *st, unsigned slot)
{
    __atomic_fetch_add(&st->count[slot], 1, __ATOMIC_RELAXED);
}

/* The same for an event that is not an exit of its own (an interrupt
 * injected on the way back into the guest, a shadow flush): it is counted
 * and printed, but not added to the exit totals. */
unsigned stats_event(struct hv_stats *st, const char *event);

/* The number of exits (events excluded). */
uint64_t stats_total(const struct hv_stats *st);

/* Bench brackets.  They return NULL on success or a reason the guest broke
 * the bracket protocol (nested BEGIN, END without BEGIN or with another
 * name, too many benchmarks). */
const char *stats_bench_begin(struct hv_stats *st, const char *name);
const char *stats_bench_end(struct hv_stats *st, const char *name, uint64_t iterations,
                            uint64_t tsc_cycles);

/* Human-readable table: exits by reason, then exits/op per benchmark. */
void stats_print(FILE *f, const struct hv_stats *st, const char *title);

/*
 * The machine-readable statistics file (--stats-file; docs/benchmarks.md §3):
 * tab-separated records between "# hvlab-stats 1" and "# end hvlab-stats",
 * which is what `make bench` reads.  Returns 0, or -1 when writing failed.
 */
int stats_write_file(FILE *f, const struct hv_stats *st, const char *monitor, const char *backend);

#endif
