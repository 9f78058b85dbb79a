#include "libhv/stats.h"

#include <string.h>

unsigned stats_reason(struct hv_stats *st, const char *reason)
{
    for (unsigned i = 0; i < st->n; i++)
        if (!strcmp(st->reason[i], reason))
            return i;
    if (st->n == HV_STATS_MAX_REASONS)
        return st->n - 1; /* the table is sized for every reason a monitor has */
    st->reason[st->n] = reason;
    return st->n++;
}

unsigned stats_event(struct hv_stats *st, const char *event)
{
    unsigned slot = stats_reason(st, event);
    st->is_event[slot] = true;
    return slot;
}

uint64_t stats_total(const struct hv_stats *st)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < st->n; i++)
        if (!st->is_event[i])
            t += st->count[i];
    return t;
}

/* Zeros when there is no external source or it cannot be read: a bracket
 * then attaches only the monitor's own counts. */
static void read_external(struct hv_stats *st, uint64_t *values)
{
    memset(values, 0, sizeof(uint64_t) * HV_STATS_MAX_EXTERNAL);
    if (st->ext.n && st->ext.read(st->ext.ctx, values))
        memset(values, 0, sizeof(uint64_t) * HV_STATS_MAX_EXTERNAL);
}

const char *stats_bench_begin(struct hv_stats *st, const char *name)
{
    if (st->in_bench)
        return "benchmark BEGIN while another benchmark is open";
    if (st->n_bench == HV_STATS_MAX_BENCHES)
        return "too many benchmarks in one run";
    st->in_bench = true;
    snprintf(st->bench_name, sizeof(st->bench_name), "%s", name);
    memcpy(st->at_begin, st->count, sizeof(st->at_begin));
    read_external(st, st->ext_at_begin);
    return NULL;
}

const char *stats_bench_end(struct hv_stats *st, const char *name, uint64_t iterations,
                            uint64_t tsc_cycles)
{
    if (!st->in_bench)
        return "benchmark END without BEGIN";
    if (strcmp(st->bench_name, name))
        return "benchmark END names another benchmark than its BEGIN";
    struct hv_bench_record *r = &st->bench[st->n_bench++];
    memset(r, 0, sizeof(*r));
    memcpy(r->name, st->bench_name, sizeof(r->name));
    r->iterations = iterations;
    r->tsc_cycles = tsc_cycles;
    for (unsigned i = 0; i < st->n; i++)
        r->exits[i] = st->count[i] - st->at_begin[i];
    uint64_t now[HV_STATS_MAX_EXTERNAL];
    read_external(st, now);
    for (unsigned i = 0; i < st->ext.n; i++)
        r->external[i] = now[i] >= st->ext_at_begin[i] ? now[i] - st->ext_at_begin[i] : 0;
    st->in_bench = false;
    return NULL;
}

static void print_bench(FILE *f, const struct hv_stats *st, const struct hv_bench_record *r)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < st->n; i++)
        if (!st->is_event[i])
            total += r->exits[i];
    double per = r->iterations ? (double)total / (double)r->iterations : 0.0;
    fprintf(f, "  %-28s %12llu ops %10.3f exits/op", r->name,
            (unsigned long long)r->iterations, per);
    for (unsigned i = 0; i < st->n; i++)
        if (r->exits[i] && r->iterations)
            fprintf(f, "  %s=%.3f", st->reason[i], (double)r->exits[i] / (double)r->iterations);
    fputc('\n', f);
}

void stats_print(FILE *f, const struct hv_stats *st, const char *title)
{
    fprintf(f, "%s: %llu exits handled in user space\n", title,
            (unsigned long long)stats_total(st));
    for (unsigned i = 0; i < st->n; i++)
        if (st->count[i] && !st->is_event[i])
            fprintf(f, "  %-44s %12llu\n", st->reason[i], (unsigned long long)st->count[i]);
    bool events = false;
    for (unsigned i = 0; i < st->n; i++) {
        if (!st->count[i] || !st->is_event[i])
            continue;
        if (!events)
            fprintf(f, "%s: events (not exits of their own)\n", title);
        events = true;
        fprintf(f, "  %-44s %12llu\n", st->reason[i], (unsigned long long)st->count[i]);
    }
    if (st->n_bench) {
        fprintf(f, "%s: exits per operation in benchmark brackets\n", title);
        for (unsigned i = 0; i < st->n_bench; i++)
            print_bench(f, st, &st->bench[i]);
    }
}

/* A reason or name as one tab-separated field: tabs and newlines would break
 * the record, so they become spaces (no monitor uses them; this is a guard). */
static void put_field(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\t' || *s == '\n' ? ' ' : *s, f);
}

static void put_count(FILE *f, const char *kind, int index, const char *name, uint64_t v)
{
    fputs(kind, f);
    if (index >= 0)
        fprintf(f, "\t%d", index);
    fputc('\t', f);
    put_field(f, name);
    fprintf(f, "\t%llu\n", (unsigned long long)v);
}

int stats_write_file(FILE *f, const struct hv_stats *st, const char *monitor, const char *backend)
{
    fputs("# hvlab-stats 1\nmonitor\t", f);
    put_field(f, monitor);
    fputs("\nbackend\t", f);
    put_field(f, backend);
    fputc('\n', f);
    for (unsigned i = 0; i < st->n; i++)
        put_count(f, st->is_event[i] ? "event" : "exit", -1, st->reason[i], st->count[i]);
    if (st->ext.n) {
        uint64_t now[HV_STATS_MAX_EXTERNAL] = {0};
        if (!st->ext.read(st->ext.ctx, now))
            for (unsigned i = 0; i < st->ext.n; i++)
                put_count(f, "kvm", -1, st->ext.name[i], now[i]);
    }
    for (unsigned b = 0; b < st->n_bench; b++) {
        const struct hv_bench_record *r = &st->bench[b];
        fprintf(f, "bench\t%u\t", b);
        put_field(f, r->name);
        fprintf(f, "\t%llu\t%llu\n", (unsigned long long)r->iterations,
                (unsigned long long)r->tsc_cycles);
        for (unsigned i = 0; i < st->n; i++)
            if (r->exits[i])
                put_count(f, st->is_event[i] ? "bench-event" : "bench-exit", (int)b,
                          st->reason[i], r->exits[i]);
        for (unsigned i = 0; i < st->ext.n; i++)
            if (r->external[i])
                put_count(f, "bench-kvm", (int)b, st->ext.name[i], r->external[i]);
    }
    fputs("# end hvlab-stats\n", f);
    return fflush(f) || ferror(f) ? -1 : 0;
}
