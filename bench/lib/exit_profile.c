/*
 * Exits per operation of one benchmark (docs/benchmarks.md §2, §3).
 *
 * The guest brackets each timed run twice: once around the measured loop
 * (ITERATIONS > 0) and once around the same code path with 0 operations.
 * The second bracket sees every exit that is not the operation's own: the
 * bracket's port writes, creating the user task, a timer tick that happened
 * to fall there.  Subtracting it per reason and dividing by the iterations
 * leaves the exits the operation itself causes.  Noise can make a reason's
 * difference negative (a tick in the base bracket, none in the measured
 * one); a negative count of exits means nothing, so it counts 0.
 *
 * Under hv-hwassist most exits never reach the monitor: KVM handles them in
 * the kernel.  The monitor then also records KVM's own per-vCPU counters
 * (bench-kvm lines), and the profile is KVM's: every VM exit, split into the
 * exit counters KVM keeps and "other exits handled in KVM" for the rest.
 */
#include "bench/lib/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The KVM counters that count exits of one kind (arch/x86/kvm/x86.c); the
 * rest of KVM's counters (pf_fixed, insn_emulation...) count work done
 * inside an exit, not exits, so they are not reasons here. */
static const char *const kvm_exit_kinds[] = {
    "io_exits",         "mmio_exits",        "halt_exits",
    "irq_exits",        "irq_window_exits",  "nmi_window_exits",
    "request_irq_exits", "signal_exits",     "hypercalls",
};
#define KVM_NKINDS (sizeof(kvm_exit_kinds) / sizeof(kvm_exit_kinds[0]))
#define KVM_OTHER "other exits handled in KVM"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint64_t count_of(const struct stats_bracket *b, enum stats_kind k, const char *reason)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->c[i].kind == k && !strcmp(b->c[i].reason, reason))
            return b->c[i].count;
    return 0;
}

static bool has_kind(const struct stats_count *c, size_t n, enum stats_kind k)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].kind == k)
            return true;
    return false;
}

/* measured - base for one reason, 0 when negative (see the top comment). */
/* libhv/virtio_mmio.c's event names. */
#define VIRTIO_NOTIFY_EVENT "virtio queue notified"
#define VIRTIO_IRQ_EVENT    "virtio interrupt raised"

static uint64_t delta(const struct stats_bracket *m, const struct stats_bracket *b,
                      enum stats_kind k, const char *reason)
{
    uint64_t x = count_of(m, k, reason), y = count_of(b, k, reason);
    return x > y ? x - y : 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

struct item {
    const char *reason;
    uint64_t count;
};

static int by_count_desc(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->reason, y->reason);   /* ties: by name, for a stable report */
}

int stats_exit_profile(const struct stats_file *f, const char *bench, struct exit_profile *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!f || !bench)
        return fail(err, errlen, "no statistics");

    /* The measured bracket: the last one with that name and iterations > 0
     * (a guest that calibrates inside brackets times the final, longest
     * loop last).  Its base: the next bracket of that name with 0
     * iterations, else the closest one before it. */
    const struct stats_bracket *m = NULL, *base = NULL;
    size_t mi = 0;
    bool named = false;
    for (size_t i = 0; i < f->n_b; i++) {
        if (strcmp(f->b[i].name, bench))
            continue;
        named = true;
        if (f->b[i].iterations) {
            m = &f->b[i];
            mi = i;
        }
    }
    if (!named)
        return fail(err, errlen, "%s: no bracket with this name in the statistics", bench);
    if (!m)
        return fail(err, errlen, "%s: every bracket has iterations 0 (no measured run)", bench);
    for (size_t i = mi + 1; i < f->n_b && !base; i++)
        if (!strcmp(f->b[i].name, bench) && !f->b[i].iterations)
            base = &f->b[i];
    for (size_t i = mi; i-- > 0 && !base;)
        if (!strcmp(f->b[i].name, bench) && !f->b[i].iterations)
            base = &f->b[i];
    if (!base)
        return fail(err, errlen, "%s: no base bracket (the same name with iterations 0)", bench);

    out->from_kvm = has_kind(f->totals, f->n_totals, STATS_KVM) ||
                    has_kind(m->c, m->n, STATS_KVM) || has_kind(base->c, base->n, STATS_KVM);

    /* Every reason either bracket names: at most m->n + base->n + 1. */
    struct item *items = calloc(m->n + base->n + KVM_NKINDS + 1, sizeof(*items));
    if (!items)
        return fail(err, errlen, "out of memory");
    size_t ni = 0;
    uint64_t total = 0;
    if (out->from_kvm) {
        uint64_t listed = 0;
        total = delta(m, base, STATS_KVM, "exits");
        for (size_t k = 0; k < KVM_NKINDS; k++) {
            uint64_t d = delta(m, base, STATS_KVM, kvm_exit_kinds[k]);
            listed = sat_add(listed, d);
            items[ni++] = (struct item){kvm_exit_kinds[k], d};
        }
        items[ni++] = (struct item){KVM_OTHER, total > listed ? total - listed : 0};
    } else {
        const struct stats_bracket *src[2] = {m, base};
        for (int s = 0; s < 2; s++) {
            for (size_t i = 0; i < src[s]->n; i++) {
                const struct stats_count *c = &src[s]->c[i];
                bool dup = false;
                if (c->kind != STATS_EXIT)
                    continue;       /* events are not exits of their own */
                for (size_t j = 0; j < ni && !dup; j++)
                    dup = !strcmp(items[j].reason, c->reason);
                if (dup)
                    continue;
                uint64_t d = delta(m, base, STATS_EXIT, c->reason);
                total = sat_add(total, d);
                items[ni++] = (struct item){c->reason, d};
            }
        }
    }
    qsort(items, ni, sizeof(*items), by_count_desc);

    double iters = (double)m->iterations;
    out->total = (double)total / iters;
    /* The virtio devices' own counts (events, not exits). */
    out->has_io = count_of(m, STATS_EVENT, VIRTIO_NOTIFY_EVENT) ||
                  count_of(m, STATS_EVENT, VIRTIO_IRQ_EVENT);
    out->notifies_per_op = (double)delta(m, base, STATS_EVENT, VIRTIO_NOTIFY_EVENT) / iters;
    out->irqs_per_op = (double)delta(m, base, STATS_EVENT, VIRTIO_IRQ_EVENT) / iters;
    for (size_t i = 0; i < ni && out->n < EXIT_PROFILE_MAX; i++) {
        if (!items[i].count)
            break;  /* sorted: the rest are zeros, left out */
        snprintf(out->by_reason[out->n].reason, sizeof(out->by_reason[0].reason), "%s",
                 items[i].reason);
        out->by_reason[out->n].per_op = (double)items[i].count / iters;
        out->n++;
    }
    free(items);
    return 0;
}
