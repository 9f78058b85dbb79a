/*
 * Reading what a run printed: the guest's (or hvlab-native's) `bench:`
 * console lines and a monitor's --stats-file (docs/benchmarks.md §2, §3).
 * Both parsers take the whole captured text and skip lines that are not
 * theirs, so a serial log with kernel messages around them is fine.
 */
#ifndef BENCH_PARSE_H
#define BENCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_NAME_MAX   64
#define BENCH_REASON_MAX 256
#define BENCH_UNIT_MAX   16
#define STATS_REASON_MAX 96

/* ---- console lines ------------------------------------------------------- */
struct console_line {
    char name[BENCH_NAME_MAX];
    bool na;
    char reason[BENCH_REASON_MAX];      /* when na */
    uint64_t ops, cycles, tsc_khz;      /* when !na; all > 0 */
    char unit[BENCH_UNIT_MAX];
    /* Added: "bench: NAME failed: REASON" (the benchmark broke in this run):
     * na is also true, and reason is "failed: REASON", so a runner that
     * only looks at na reports it with the cause. */
    bool failed;
    /* Added: "p50=NS p99=NS" (io.*_lat_*: the single requests' median and
     * 99th percentile), 0 when the line has none. */
    uint64_t p50_ns, p99_ns;
};

struct console_run {
    bool saw_begin, saw_done;           /* "bench: begin ...", "bench: done ..." */
    uint64_t tsc_khz;                   /* from the begin line, 0 if absent */
    char platform[32], monitor[32], tsc_source[32];
    struct console_line *lines;
    size_t n;
    /* Added: "bench: unavailable REASON" (the whole bench command cannot run
     * here; the runner marks the row's benchmarks n/a with this reason). */
    bool unavailable;
    char unavailable_reason[BENCH_REASON_MAX];
    /* Added: the counts the done line announces ("done ok=28 na=2
     * failed=1"), -1 when absent; the runner may compare them with the lines. */
    long long done_ok, done_na, done_failed;
    uint64_t min_ms;                    /* from the begin line, 0 if absent */
};

/* Returns 0, or -1 with a one-line reason in err (a malformed bench line:
 * missing field, zero ops/cycles/tsc_khz, name too long, duplicate name). */
int parse_console(const char *text, struct console_run *out, char *err, size_t errlen);
void console_run_free(struct console_run *r);
const struct console_line *console_find(const struct console_run *r, const char *name);

/* ns per operation for a line: cycles * 1e6 / (tsc_khz * ops). */
double console_value_ns(const struct console_line *l);

/* ---- the monitors' statistics file -------------------------------------- */
enum stats_kind { STATS_EXIT = 0, STATS_EVENT = 1, STATS_KVM = 2 };

struct stats_count {
    enum stats_kind kind;
    char reason[STATS_REASON_MAX];
    uint64_t count;
};

struct stats_bracket {
    char name[BENCH_NAME_MAX];
    uint64_t iterations, cycles;
    struct stats_count *c;              /* the bench-exit/-event/-kvm lines */
    size_t n;
};

struct stats_file {
    char monitor[64], backend[128];
    struct stats_count *totals;         /* exit/event/kvm lines */
    size_t n_totals;
    struct stats_bracket *b;            /* in INDEX order */
    size_t n_b;
};

/* Finds "# hvlab-stats 1" ... "# end hvlab-stats" in text.  Returns 0, or
 * -1 with a reason (no block, unknown version, unterminated block, a bench-*
 * line naming an INDEX with no bench line, a malformed number). */
int parse_stats_file(const char *text, struct stats_file *out, char *err, size_t errlen);
void stats_file_free(struct stats_file *f);

/* ---- exits per operation ------------------------------------------------- */
#define EXIT_PROFILE_MAX 48

struct exit_profile {
    double total;                       /* exits per operation */
    size_t n;
    struct {
        char reason[STATS_REASON_MAX];
        double per_op;
    } by_reason[EXIT_PROFILE_MAX];      /* non-zero ones, largest first */
    bool from_kvm;                      /* counted by KVM (hv-hwassist) */
    /* The virtio devices' events (libhv/virtio_mmio.c), whoever counted the
     * exits: notifications (kicks) the device got and interrupts it raised,
     * per operation; has_io when the bracket named either. */
    bool has_io;
    double notifies_per_op, irqs_per_op;
};

/*
 * Exits per operation of one benchmark: the bracket with iterations > 0
 * minus the base bracket of the same name (iterations 0), divided by the
 * iterations; a reason whose difference is negative counts 0.  When the
 * file has KVM counters (bench-kvm lines), the profile is KVM's: total =
 * the "exits" counter, by reason the exit counters KVM keeps (io_exits,
 * mmio_exits, halt_exits, irq_exits, irq_window_exits, nmi_window_exits,
 * request_irq_exits, signal_exits, hypercalls) and "other exits handled in
 * KVM" for the rest; otherwise the monitor's own exit reasons (events are
 * left out).  Returns 0, or -1 with a reason (no bracket with that name, no
 * base bracket, iterations 0).
 */
int stats_exit_profile(const struct stats_file *f, const char *bench, struct exit_profile *out,
                       char *err, size_t errlen);

#endif
