/*
 * report.md: what `make bench` shows a reader (docs/benchmarks.md §6).
 *
 *   1. title; first the warnings that change what the numbers mean (a
 *      software KVM backend; hwassist-svm's emulated times), then what ran
 *   2. summary per group (exit, mem): who wins and by how much, and the
 *      exits/op lines that explain why (cli_sti, cpuid, pt_update...)
 *   3. per group, a table of times (median, ×ratio to native, [min–max])
 *      with the n/a reasons as numbered notes, and a table of exits/op
 *   4. a decision guide computed from the same numbers
 *   5. the plots, or why there are none
 *   6. the machine and the configuration
 *
 * Every sentence is computed from the results: a sentence whose numbers
 * are n/a is left out, and explanations are attached only when the data
 * shows the pattern they explain (the shared-page mask only when paravirt's
 * cli_sti really made no exit, and so on).  Only catalogue rows and
 * benchmarks appear, in catalogue order, so the report is deterministic.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/catalogue.h"
#include "bench/lib/results.h"
#include "bench/lib/text.h"

#define MAX_ROWS 16
#define MAX_NOTES 128

/* The rows that run the guest kernel and whose times compare with each
 * other; hwassist-svm is left out of every timing comparison: its times
 * are QEMU TCG emulating the SVM hardware. */
static const char *const compared_rows[] = {"trap-emulate", "paravirt", "hwassist", "qemu-kvm",
                                            "qemu-tcg", "hwassist-ioeventfd"};
#define N_COMPARED (sizeof(compared_rows) / sizeof(compared_rows[0]))

struct rep {
    const struct results *res;
    FILE *f;
    const char *ran[MAX_ROWS];          /* rows with at least one result, catalogue order */
    size_t n_ran;
};

/* ---- small formatting helpers ----------------------------------------------- */

/* Markdown: a string from outside (a reason, a CPU name) must not open a
 * table cell, a link, emphasis or an HTML tag. */
static void md(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("\\|*`<>[]", *s))
            fputc('\\', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
}

struct scale {
    double div;
    const char *unit;
    int dec;
};

/* ns, µs, ms or s for a value, with 3 significant digits or so. */
static struct scale pick_scale(double ns)
{
    struct scale s = {1, "ns", 2};
    double a = fabs(ns);
    if (a >= 1e9)
        s = (struct scale){1e9, "s", 2};
    else if (a >= 1e6)
        s = (struct scale){1e6, "ms", 2};
    else if (a >= 1e3)
        s = (struct scale){1e3, "µs", 2};
    double v = a / s.div;
    s.dec = v < 10 ? 2 : v < 100 ? 1 : 0;
    return s;
}

static const char *fmt_in(char *buf, size_t n, double v, struct scale s)
{
    text_fmt_f(buf, n, s.dec, v / s.div);
    return buf;
}

static const char *fmt_time(char *buf, size_t n, double ns)
{
    struct scale s = pick_scale(ns);
    char num[24];   /* callers' buffers are 32: room for the unit */
    snprintf(buf, n, "%s %s", fmt_in(num, sizeof(num), ns, s), s.unit);
    return buf;
}

static const char *fmt_ratio(char *buf, size_t n, double r)
{
    char num[24];
    text_fmt_f(num, sizeof(num), r < 10 ? 2 : r < 100 ? 1 : 0, r);
    snprintf(buf, n, "×%s", num);
    return buf;
}

static const char *fmt_exits(char *buf, size_t n, double x)
{
    if (x > 0 && x < 0.005)
        text_fmt_g(buf, n, 2, x);       /* 0.0012, not a misleading 0.00 */
    else
        text_fmt_f(buf, n, 2, x);
    return buf;
}

/* "ns/page" -> "exits/page": exits are per the benchmark's operation. */
static const char *exits_unit(const char *bench)
{
    const struct bench_def *d = bench_find(bench);
    if (d && !strcmp(d->unit, "ns/page"))
        return "exits/page";
    if (d && !strcmp(d->unit, "ns/access"))
        return "exits/access";
    if (d && !strcmp(d->unit, "ns/req"))
        return "exits/request";
    return "exits/op";
}

static const char *kv_get(const struct kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return kv[i].value;
    return NULL;
}

static bool ran(const struct rep *r, const char *row)
{
    for (size_t i = 0; i < r->n_ran; i++)
        if (!strcmp(r->ran[i], row))
            return true;
    return false;
}

static double med(const struct rep *r, const char *row, const char *bench)
{
    const struct bench_result *e = results_find_ok(r->res, row, bench);
    return e && e->median > 0 ? e->median : NAN;
}

static bool in_group(const struct bench_def *d, const char *group)
{
    return !strcmp(d->group, group);
}

/* Median over the group's benchmarks of med(a)/med(b), where both ran. */
static bool median_ratio(const struct rep *r, const char *group, const char *a, const char *b,
                         double *ratio, size_t *n)
{
    double v[64];
    *n = 0;
    for (size_t i = 0; i < bench_catalogue_len && *n < 64; i++) {
        if (group && !in_group(&bench_catalogue[i], group))
            continue;
        double x = med(r, a, bench_catalogue[i].name), y = med(r, b, bench_catalogue[i].name);
        if (isfinite(x) && isfinite(y))
            v[(*n)++] = x / y;
    }
    if (!*n)
        return false;
    *ratio = stats_median(v, *n);
    return true;
}

/* The top reasons of a profile, "emulate cli 1.00, emulate sti 1.00". */
static void put_top_reasons(FILE *f, const struct exit_profile *p, size_t max)
{
    char num[32];
    for (size_t i = 0; i < p->n && i < max; i++) {
        fputs(i ? ", " : "", f);
        md(f, p->by_reason[i].reason);
        fprintf(f, " %s", fmt_exits(num, sizeof(num), p->by_reason[i].per_op));
    }
    if (p->n > max)
        fputs(", …", f);
}

/* ---- 1. title, warnings, what ran ------------------------------------------ */

static bool quick_run(const struct rep *r)
{
    const char *q = kv_get(r->res->config, r->res->n_config, "quick");
    if (q)
        return !strcmp(q, "true") || !strcmp(q, "1") || !strcmp(q, "yes");
    q = kv_get(r->res->config, r->res->n_config, "mode");   /* "quick (make bench QUICK=1)" */
    if (q)
        return !strncmp(q, "quick", 5);
    /* not recorded: a result for a benchmark outside the quick set means full */
    for (size_t b = 0; b < bench_catalogue_len; b++)
        for (size_t i = 0; i < r->n_ran && !bench_catalogue[b].quick; i++)
            if (results_find_ok(r->res, r->ran[i], bench_catalogue[b].name))
                return false;
    return true;
}

/* The reason most of a row's entries give (the row did not run at all). */
static const char *row_reason(const struct rep *r, const char *row)
{
    const char *best = NULL;
    size_t best_n = 0;
    for (size_t i = 0; i < r->res->n; i++) {
        const struct bench_result *e = &r->res->r[i];
        if (strcmp(e->row, row) || !e->na)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < r->res->n; j++)
            k += !strcmp(r->res->r[j].row, row) && r->res->r[j].na &&
                 !strcmp(r->res->r[j].reason, e->reason);
        if (k > best_n) {
            best = e->reason;
            best_n = k;
        }
    }
    return best;
}

/* The time of one exit, where one operation is exactly one exit: the time
 * per op divided by the exits per op.  NAN when the row did not count 1. */
static double one_exit_ns(const struct rep *r, const char *row, const char *bench)
{
    const struct exit_profile *p = results_exits(r->res, row, bench);
    double t = med(r, row, bench);
    if (!p || !isfinite(t) || p->total < 0.95 || p->total > 1.05)
        return NAN;
    return t / p->total;
}

/* The ring-3 monitors' exits are ptrace round trips between two host
 * processes: what transfers to another implementation is how many exits an
 * operation needs, not what one costs here.  Said with this run's numbers. */
static void exit_cost_note(struct rep *r)
{
    static const struct { const char *row, *bench; } probe[] = {
        {"trap-emulate", "exit.pio_out"}, {"paravirt", "exit.hypercall"},
    };
    char t[32];
    bool any = false;
    for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        double ns = one_exit_ns(r, probe[i].row, probe[i].bench);
        if (!isfinite(ns))
            continue;
        fprintf(r->f, "%s%s %s (%s)", any ? ", " : "**What one exit costs here**: ", probe[i].row,
                fmt_time(t, sizeof(t), ns), probe[i].bench);
        any = true;
    }
    if (!any)
        return;
    fputs(". trap-emulate and paravirt are monitors in user space: each exit is a ptrace round "
          "trip between the monitor and the guest's host process, dearer than a hardware VM exit "
          "or an exit into an in-kernel hypervisor. Their exits per operation carry over to other "
          "implementations of the same technique; their times per exit do not.\n\n", r->f);
}

static void section_intro(struct rep *r)
{
    FILE *f = r->f;
    const struct results *res = r->res;
    fputs("# hvlab benchmark report\n\n", f);

    if (res->software_kvm) {
        const char *b = kv_get(res->machine, res->n_machine, "kvm_backend");
        fputs("**Warning: the KVM backend on this machine", f);
        if (b) {
            fputs(" (`kvm_backend`: ", f);
            md(f, b);
            fputs(")", f);
        }
        fputs(" is a software backend, not VT-x or AMD-V: the hwassist and qemu-kvm rows do not "
              "show VT-x/EPT (or AMD-V/NPT) costs.** Their times and exit counts are those of the "
              "software that emulates ring-0 guest code; run `make bench` on a machine with "
              "kvm_intel or kvm_amd for hardware numbers.", f);
        if (!ran(r, "hwassist") && !ran(r, "qemu-kvm"))
            fputs(" (Neither row ran in this report: see \"Not run\" below.)", f);
        fputs("\n\n", f);
    }
    if (ran(r, "hwassist-svm") || ran(r, "hwassist-svm-ioeventfd"))
        fputs("**hwassist-svm: its exits/op are what AMD-V hardware with nested paging does "
              "(KVM on the SVM CPU that QEMU TCG emulates); its times are TCG emulation times, "
              "not comparable with the other rows.**\n\n", f);

    size_t nq = 0;
    for (size_t b = 0; b < bench_catalogue_len; b++)
        nq += bench_catalogue[b].quick;
    if (!r->n_ran) {
        fputs("No row produced a result.", f);
    } else {
        fprintf(f, "This report compares %zu way%s of running the same workloads (", r->n_ran,
                r->n_ran == 1 ? "" : "s");
        for (size_t i = 0; i < r->n_ran; i++)
            fprintf(f, "%s%s", i ? ", " : "", r->ran[i]);
        fputs(") on ", f);
        if (quick_run(r))
            fprintf(f, "the quick set of benchmarks (%zu of %zu)", nq, bench_catalogue_len);
        else
            fprintf(f, "the full catalogue (%zu benchmarks)", bench_catalogue_len);
        /* runs: the most any benchmark of the row has */
        unsigned runs[MAX_ROWS] = {0};
        bool same = true;
        for (size_t i = 0; i < r->n_ran; i++) {
            for (size_t b = 0; b < bench_catalogue_len; b++) {
                const struct bench_result *e =
                    results_find_ok(res, r->ran[i], bench_catalogue[b].name);
                if (e && e->runs > runs[i])
                    runs[i] = e->runs;
            }
            same &= runs[i] == runs[0];
        }
        if (same) {
            fprintf(f, ", %u run%s per row", runs[0], runs[0] == 1 ? "" : "s");
        } else {
            fputs(", runs per row: ", f);
            for (size_t i = 0; i < r->n_ran; i++)
                fprintf(f, "%s%s %u", i ? ", " : "", r->ran[i], runs[i]);
        }
        fputs(". Each time is the median over the runs; the spread [min–max] follows it.", f);
    }
    /* the rows that did not run, grouped by their reason */
    bool first = true, listed[MAX_ROWS] = {false};
    for (size_t i = 0; i < bench_rows_len && i < MAX_ROWS; i++) {
        if (ran(r, bench_rows[i].name) || listed[i])
            continue;
        const char *why = row_reason(r, bench_rows[i].name);
        fputs(first ? " Not run: " : "; ", f);
        for (size_t j = i, c = 0; j < bench_rows_len && j < MAX_ROWS; j++) {
            const char *w2;
            if (ran(r, bench_rows[j].name) || listed[j])
                continue;
            w2 = row_reason(r, bench_rows[j].name);
            if ((why && w2 && !strcmp(why, w2)) || (!why && !w2)) {
                fprintf(f, "%s%s", c++ ? ", " : "", bench_rows[j].name);
                listed[j] = true;
            }
        }
        if (why) {
            fputs(" (", f);
            md(f, why);
            fputs(")", f);
        }
        first = false;
    }
    fputs(first ? "\n\n" : ".\n\n", f);
    for (size_t i = 0; i < bench_rows_len; i++)
        if (ran(r, bench_rows[i].name))
            fprintf(f, "- **%s**: %s\n", bench_rows[i].name, bench_rows[i].title);
    if (r->n_ran)
        fputc('\n', f);
    exit_cost_note(r);
}

/* ---- 2. summary -------------------------------------------------------------- */

/* "Of the rows that run the guest kernel, X is fastest on W of N ..." and
 * the median ratios to X.  Returns true when it wrote something. */
static bool summary_wins(struct rep *r, const char *group)
{
    FILE *f = r->f;
    const char *rows[N_COMPARED];
    unsigned wins[N_COMPARED] = {0};
    size_t nr = 0;
    unsigned nb = 0;
    char num[32];
    for (size_t i = 0; i < N_COMPARED; i++)
        if (ran(r, compared_rows[i]))
            rows[nr++] = compared_rows[i];
    for (size_t b = 0; b < bench_catalogue_len; b++) {
        if (!in_group(&bench_catalogue[b], group))
            continue;
        size_t best = 0, cands = 0;
        double bv = INFINITY;
        for (size_t i = 0; i < nr; i++) {
            double v = med(r, rows[i], bench_catalogue[b].name);
            if (!isfinite(v))
                continue;
            cands++;
            if (v < bv) {
                bv = v;
                best = i;
            }
        }
        if (cands >= 2) {
            wins[best]++;
            nb++;
        }
    }
    if (!nb)
        return false;
    size_t order[N_COMPARED];
    for (size_t i = 0; i < nr; i++)
        order[i] = i;
    for (size_t i = 1; i < nr; i++)     /* most wins first; ties keep catalogue order */
        for (size_t j = i; j > 0 && wins[order[j]] > wins[order[j - 1]]; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    const char *lead = rows[order[0]];
    fprintf(f, "- Of the rows that run the guest kernel%s, **%s** is fastest on %u of %u %s "
               "benchmarks that at least two of them ran",
            ran(r, "hwassist-svm") ? " (hwassist-svm left out: emulated times)" : "", lead,
            wins[order[0]], nb, group);
    bool paren = false;
    for (size_t k = 1; k < nr; k++) {
        if (!wins[order[k]])
            continue;
        fprintf(f, "%s%s on %u", paren ? ", " : " (", rows[order[k]], wins[order[k]]);
        paren = true;
    }
    fputs(paren ? ").\n" : ".\n", f);

    bool any = false;
    for (size_t k = 1; k < nr; k++) {
        double ratio;
        size_t n;
        if (!median_ratio(r, group, rows[order[k]], lead, &ratio, &n))
            continue;
        fprintf(f, "%s%s/%s = %s over %zu benchmark%s", any ? "; " : "- Median ratio ",
                rows[order[k]], lead, fmt_ratio(num, sizeof(num), ratio), n, n == 1 ? "" : "s");
        any = true;
    }
    if (any)
        fputs(".\n", f);
    return true;
}

static bool summary_vs_native(struct rep *r, const char *group)
{
    static const char *const rows[] = {"container", "trap-emulate", "paravirt", "hwassist",
                                       "qemu-kvm", "qemu-tcg"};
    char num[32];
    bool any = false;
    if (!ran(r, "native"))
        return false;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        double ratio;
        size_t n;
        if (!median_ratio(r, group, rows[i], "native", &ratio, &n))
            continue;
        fprintf(r->f, "%s%s %s (%zu)",
                any ? ", " : "- Against native (median ratio over the benchmarks that also run "
                             "as a Linux process; how many in parentheses): ",
                rows[i], fmt_ratio(num, sizeof(num), ratio), n);
        any = true;
    }
    if (any)
        fputs(".\n", r->f);
    return any;
}

/* Exits of a row that has a profile for bench, in catalogue order. */
typedef bool (*annotate_fn)(struct rep *r, const char *row, const char *bench,
                            const struct exit_profile *p);

/* The default explanation of a non-zero count: its top reasons. */
static bool annotate_reasons(struct rep *r, const char *row, const char *bench,
                             const struct exit_profile *p)
{
    (void)row;
    (void)bench;
    if (!(p->total >= 0.005) || !p->n)
        return false;
    fputs(" (", r->f);
    put_top_reasons(r->f, p, 2);
    fputs(")", r->f);
    return true;
}

/* cli_sti under hv-paravirt: the guest masks interrupts in a page it shares
 * with the monitor, so cli/sti are plain stores; said only when the data
 * shows no exit. */
static bool annotate_cli_sti(struct rep *r, const char *row, const char *bench,
                             const struct exit_profile *p)
{
    if (!strcmp(row, "paravirt") && p->total < 0.005) {
        fputs(" (the shared-page mask: masking interrupts is a store, not an exit)", r->f);
        return true;
    }
    return annotate_reasons(r, row, bench, p);
}

/* "- **bench**: row1 X exits/op (..), row2 Y (..), ..." for every row with
 * exit counters and a profile for bench, skip excluded.  False (nothing
 * written) when no row has one. */
/* " (kicks k, interrupts i per request; ...reasons)" */
static bool annotate_io(struct rep *r, const char *row, const char *bench,
                        const struct exit_profile *p)
{
    char k[32], i[32];
    (void)row;
    (void)bench;
    if (!p->has_io)
        return false;
    fprintf(r->f, " (kicks %s, interrupts %s", fmt_exits(k, sizeof(k), p->notifies_per_op),
            fmt_exits(i, sizeof(i), p->irqs_per_op));
    if (p->n) {
        fputs("; ", r->f);
        put_top_reasons(r->f, p, 3);
    }
    fputc(')', r->f);
    return true;
}

/* What EVENT_IDX saves: kicks and interrupts per request at QD32 with and
 * without it, per row that counts them. */
static bool sentence_event_idx(struct rep *r)
{
    bool first = true, same = true;
    char a[32], b[32], c[32], d[32];
    for (size_t i = 0; i < bench_rows_len; i++) {
        const char *row = bench_rows[i].name;
        const struct exit_profile *on = results_exits(r->res, row, "io.blk_read_iops_qd32");
        const struct exit_profile *off =
            results_exits(r->res, row, "io.blk_read_iops_qd32.noevent");
        if (!on || !off || !on->has_io || !off->has_io)
            continue;
        fprintf(r->f, "%s%s %s → %s kicks, %s → %s interrupts", first
                ? "- **EVENT_IDX** (io.blk_read_iops_qd32, per request, without → with): " : "; ",
                row, fmt_exits(a, sizeof(a), off->notifies_per_op),
                fmt_exits(b, sizeof(b), on->notifies_per_op),
                fmt_exits(c, sizeof(c), off->irqs_per_op), fmt_exits(d, sizeof(d), on->irqs_per_op));
        same &= fabs(on->notifies_per_op - off->notifies_per_op) < 1e-9 &&
                fabs(on->irqs_per_op - off->irqs_per_op) < 1e-9;
        first = false;
    }
    if (!first && same)
        fputs(". The same with and without here: nothing completed that the driver had not "
              "looked at yet.\n", r->f);
    else if (!first)
        fputs(". With the event index the driver says which completion it wants an interrupt "
              "for (used_event), so the completions after it, which it will reap together, "
              "raise none; without it the device raises one each. Kicks fall only where the "
              "device works beside the driver (an I/O thread on a CPU of its own) and can say "
              "it does not need one yet (avail_event).\n", r->f);
    return !first;
}

static bool exits_sentence(struct rep *r, const char *bench, annotate_fn annotate,
                           const char *skip)
{
    bool first = true;
    char num[32];
    for (size_t i = 0; i < bench_rows_len; i++) {
        const char *row = bench_rows[i].name;
        const struct exit_profile *p;
        if (!bench_rows[i].exit_counters || (skip && !strcmp(row, skip)) ||
            !(p = results_exits(r->res, row, bench)))
            continue;
        if (first)
            fprintf(r->f, "- **%s**: ", bench);
        fprintf(r->f, "%s%s %s%s%s", first ? "" : ", ", row, fmt_exits(num, sizeof(num), p->total),
                first ? " " : "", first ? exits_unit(bench) : "");
        if (p->from_kvm)
            fputs(" counted by KVM", r->f);
        if (annotate)
            annotate(r, row, bench, p);
        first = false;
    }
    if (!first)
        fputs(".\n", r->f);
    return !first;
}

/* cpuid reads the CPU's identity but is not a privileged instruction: in
 * ring 3 it does not fault, so a trap-and-emulate monitor never sees it
 * and the guest reads the host's values (Popek and Goldberg's condition
 * fails for x86).  Said only when trap-emulate's profile shows no exit. */
static bool sentence_cpuid(struct rep *r)
{
    const struct exit_profile *te = results_exits(r->res, "trap-emulate", "exit.cpuid");
    char num[32];
    if (!te)
        return exits_sentence(r, "exit.cpuid", annotate_reasons, NULL);
    fprintf(r->f, "- **exit.cpuid**: trap-emulate %s exits/op", fmt_exits(num, sizeof(num),
                                                                          te->total));
    if (te->total < 0.005) {
        fputs(" — cpuid is not privileged, so in ring 3 it runs natively and returns the host's "
              "values: the Popek–Goldberg violation", r->f);
    } else {
        fputs(" — cpuid traps to the monitor on this host (", r->f);
        put_top_reasons(r->f, te, 2);
        fputs(")", r->f);
    }
    bool first = true, told = false;
    for (size_t i = 0; i < bench_rows_len; i++) {
        const struct exit_profile *p;
        const char *row = bench_rows[i].name;
        if (!bench_rows[i].exit_counters || !strcmp(row, "trap-emulate") ||
            !(p = results_exits(r->res, row, "exit.cpuid")))
            continue;
        fprintf(r->f, "%s%s %s", first ? "; " : ", ", row, fmt_exits(num, sizeof(num), p->total));
        if (p->total >= 0.5 && !told) {     /* said once, for the first row it applies to */
            fputs(" (cpuid exits to the hypervisor, which answers with the guest's values)", r->f);
            told = true;
        }
        first = false;
    }
    fputs(".\n", r->f);
    return true;
}

/* Page-table updates: trap-and-emulate write-protects the guest's page
 * tables and takes a fault per write; paravirt batches them into
 * mmu_update hypercalls.  The batching note needs the data to name it. */
static bool sentence_pt_update(struct rep *r)
{
    const char *b = "mem.pt_update";
    const struct exit_profile *te = results_exits(r->res, "trap-emulate", b),
                              *pv = results_exits(r->res, "paravirt", b);
    char n1[32], n2[32], rt[32];
    if (!te || !pv)
        return exits_sentence(r, b, annotate_reasons, NULL);
    fprintf(r->f, "- **%s**: %s exits/page on trap-emulate vs %s on paravirt", b,
            fmt_exits(n1, sizeof(n1), te->total), fmt_exits(n2, sizeof(n2), pv->total));
    bool batched = pv->n && (strstr(pv->by_reason[0].reason, "mmu_update") ||
                             strstr(pv->by_reason[0].reason, "multicall"));
    if (batched)
        fputs(" (batched mmu_update)", r->f);
    if (te->total > 0 && pv->total > 0 && te->total / pv->total >= 1.5)
        fprintf(r->f, ": %s fewer exits", fmt_ratio(rt, sizeof(rt), te->total / pv->total));
    else if (te->total > 0 && pv->total > 0 && pv->total / te->total >= 1.5)
        fprintf(r->f, ": %s more exits on paravirt", fmt_ratio(rt, sizeof(rt),
                                                               pv->total / te->total));
    if (te->n) {
        fputs("; trap-emulate's are ", r->f);
        put_top_reasons(r->f, te, 2);
    }
    for (size_t i = 0; i < bench_rows_len; i++) {
        const struct exit_profile *p;
        const char *row = bench_rows[i].name;
        if (!bench_rows[i].exit_counters || !strcmp(row, "trap-emulate") ||
            !strcmp(row, "paravirt") || !(p = results_exits(r->res, row, b)))
            continue;
        fprintf(r->f, "; %s %s", row, fmt_exits(n1, sizeof(n1), p->total));
        if (p->total < 0.005)
            fputs(" (no exit: the guest writes its own page tables)", r->f);
    }
    fputs(".\n", r->f);
    return true;
}

/* Pointer chase: the ratio to native at the smallest and the largest 4 KiB
 * working set both rows ran, and what 2 MiB pages change. */
static bool sentences_chase(struct rep *r)
{
    static const char *const rows[] = {"container", "trap-emulate", "paravirt", "hwassist",
                                       "qemu-kvm", "qemu-tcg"};
    char a[32], b[32];
    bool any = false;
    for (size_t i = 0; ran(r, "native") && i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct bench_def *lo = NULL, *hi = NULL;
        for (size_t k = 0; k < bench_catalogue_len; k++) {
            const struct bench_def *d = &bench_catalogue[k];
            if (strncmp(d->name, "mem.chase_4k.", 13) || !isfinite(med(r, rows[i], d->name)) ||
                !isfinite(med(r, "native", d->name)))
                continue;
            if (!lo)
                lo = d;
            hi = d;
        }
        if (!lo || lo == hi)
            continue;
        double rl = med(r, rows[i], lo->name) / med(r, "native", lo->name);
        double rh = med(r, rows[i], hi->name) / med(r, "native", hi->name);
        fprintf(r->f, "%s%s %s (%s) → %s (%s)",
                any ? "; " : "- Pointer chase, 4 KiB pages, ratio to native from the smallest to "
                             "the largest working set measured: ",
                rows[i], fmt_ratio(a, sizeof(a), rl), lo->name + 13,
                fmt_ratio(b, sizeof(b), rh), hi->name + 13);
        if (rh > rl * 1.2 && rh > 1.1)
            fputs(", the gap widening with the working set (more TLB misses, each a longer "
                  "page walk)", r->f);
        any = true;
    }
    if (any)
        fputs(".\n", r->f);

    bool any2 = false;
    for (size_t i = 0; i < r->n_ran; i++) {
        const char *row = r->ran[i];
        const char *at = NULL;
        double q = NAN;
        for (size_t k = 0; k < bench_catalogue_len; k++) {
            const char *n = bench_catalogue[k].name;
            char other[BENCH_NAME_MAX];
            if (strncmp(n, "mem.chase_4k.", 13))
                continue;
            snprintf(other, sizeof(other), "mem.chase_2m.%s", n + 13);
            double v4 = med(r, row, n), v2 = med(r, row, other);
            if (isfinite(v4) && isfinite(v2)) {
                at = n + 13;
                q = v2 / v4;
            }
        }
        if (!at)
            continue;
        fprintf(r->f, "%s%s %s at %s", any2 ? "; " : "- 2 MiB pages instead of 4 KiB, at the "
                                                    "largest working set measured with both "
                                                    "(time with 2 MiB / time with 4 KiB): ",
                row, fmt_ratio(a, sizeof(a), q), at);
        any2 = true;
    }
    if (any2)
        fputs(".\n", r->f);
    return any || any2;
}

static void section_summary(struct rep *r)
{
    static const struct {
        const char *group, *title;
    } groups[] = {{"exit", "Exit latency (exit.*)"}, {"mem", "Memory translation (mem.*)"},
                  {"io", "Virtio block I/O (io.*)"}};
    fputs("## Summary\n\n", r->f);
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        const char *group = groups[g].group;
        fprintf(r->f, "### %s\n\n", groups[g].title);
        bool any = summary_wins(r, group);
        any |= summary_vs_native(r, group);
        if (!strcmp(group, "exit")) {
            any |= exits_sentence(r, "exit.cli_sti", annotate_cli_sti, NULL);
            any |= sentence_cpuid(r);
            any |= exits_sentence(r, "exit.syscall", annotate_reasons, NULL);
            any |= exits_sentence(r, "exit.pagefault", annotate_reasons, NULL);
        } else if (!strcmp(group, "mem")) {
            any |= sentences_chase(r);
            any |= sentence_pt_update(r);
            any |= exits_sentence(r, "mem.first_touch", annotate_reasons, NULL);
        } else {
            any |= exits_sentence(r, "io.blk_read_lat_qd1", annotate_io, NULL);
            any |= exits_sentence(r, "io.blk_read_iops_qd32", annotate_io, NULL);
            any |= sentence_event_idx(r);
        }
        if (!any)
            fputs("No results to compare in this group.\n", r->f);
        fputc('\n', r->f);
    }
}

/* ---- 3. tables ----------------------------------------------------------------- */

struct notes {
    const char *text[MAX_NOTES];
    size_t n;
};

/* The 1-based number of a reason in the table's notes, added when new. */
static size_t note_of(struct notes *ns, const char *reason)
{
    for (size_t i = 0; i < ns->n; i++)
        if (!strcmp(ns->text[i], reason))
            return i + 1;
    if (ns->n == MAX_NOTES)
        return 0;
    ns->text[ns->n++] = reason;
    return ns->n;
}

static void put_na(struct rep *r, struct notes *ns, const struct bench_result *e)
{
    size_t k = e ? note_of(ns, e->reason) : 0;
    if (k)
        fprintf(r->f, "n/a (%zu)", k);
    else
        fputs("n/a", r->f);
}

/* The io group's figures beside the time per request: IOPS (1e9 / ns) or
 * MB/s (bytes x 1000 / ns), and the single requests' p50/p99. */
static void put_io_figures(struct rep *r, const struct bench_result *e)
{
    const struct bench_def *d = bench_find(e->bench);
    char a[32], b[32];
    if (!d || !d->io_bytes || !(e->median > 0))
        return;
    if (strstr(d->name, "_mbps")) {
        double mb = d->io_bytes * 1e3 / e->median;       /* bytes/ns x 1e9 / 1e6 */
        text_fmt_g(a, sizeof(a), 3, mb >= 1000 ? mb / 1000 : mb);
        fprintf(r->f, " = **%s %s**", a, mb >= 1000 ? "GB/s" : "MB/s");
    } else {
        double iops = 1e9 / e->median;
        text_fmt_g(a, sizeof(a), 3, iops >= 1e6 ? iops / 1e6 : iops >= 1e3 ? iops / 1e3 : iops);
        fprintf(r->f, " = **%s%s IOPS**", a, iops >= 1e6 ? " M" : iops >= 1e3 ? " k" : "");
    }
    if (e->n_pct)
        fprintf(r->f, ", p50 %s p99 %s", fmt_time(a, sizeof(a), e->p50_median),
                fmt_time(b, sizeof(b), e->p99_median));
}

static void put_time_cell(struct rep *r, struct notes *ns, const char *row, const char *bench)
{
    const struct bench_result *e = results_find_ok(r->res, row, bench);
    char a[32], b[32], c[32];
    if (!e) {
        put_na(r, ns, results_find(r->res, row, bench));
        return;
    }
    struct scale s = pick_scale(e->median);
    fprintf(r->f, "%s", fmt_time(a, sizeof(a), e->median));
    double nat = med(r, "native", bench);
    /* no ratio for hwassist-svm: its times are emulated, a ratio would
     * invite a comparison that means nothing */
    if (strcmp(row, "native") && !row_times_emulated(row) && isfinite(nat))
        fprintf(r->f, " %s", fmt_ratio(a, sizeof(a), e->median / nat));
    fmt_in(b, sizeof(b), e->min, s);
    fmt_in(c, sizeof(c), e->max, s);
    if (e->runs > 1 && strcmp(b, c))
        fprintf(r->f, " [%s–%s]", b, c);
    put_io_figures(r, e);
}

static void put_notes(struct rep *r, const struct notes *ns)
{
    if (!ns->n)
        return;
    fputs("\nn/a:\n", r->f);
    for (size_t i = 0; i < ns->n; i++) {
        fprintf(r->f, "%zu. ", i + 1);
        md(r->f, ns->text[i]);
        fputc('\n', r->f);
    }
}

static void table_times(struct rep *r, const char *group, const char *title)
{
    FILE *f = r->f;
    struct notes ns = {0};
    bool any = false;
    fprintf(f, "### %s\n\n", title);
    for (size_t b = 0; b < bench_catalogue_len && !any; b++)
        for (size_t i = 0; i < r->n_ran && !any; i++)
            any = in_group(&bench_catalogue[b], group) &&
                  results_find_ok(r->res, r->ran[i], bench_catalogue[b].name);
    if (!any) {
        fputs("No benchmark of this group has results.\n", f);
        for (size_t b = 0; b < bench_catalogue_len; b++)
            for (size_t i = 0; i < r->n_ran; i++) {
                const struct bench_result *e = results_find(r->res, r->ran[i],
                                                            bench_catalogue[b].name);
                if (in_group(&bench_catalogue[b], group) && e && e->na)
                    note_of(&ns, e->reason);
            }
        put_notes(r, &ns);
        fputc('\n', f);
        return;
    }
    if (!strcmp(group, "io"))
        fputs("Each cell: median time per request, ×ratio to native's (a cost: above 1 is "
              "slower), [min–max] over the runs, then the throughput it means (IOPS = 1e9 / "
              "ns, MB/s = bytes x 1000 / ns) and, for the latency benchmarks, the median "
              "run's p50 and p99 of single requests.  `.noevent`: VIRTIO_F_EVENT_IDX not "
              "negotiated.\n\n| benchmark | unit |", f);
    else
        fputs("Each cell: median time per operation, ×ratio to native where native ran it, "
              "[min–max] over the runs.\n\n| benchmark | unit |", f);
    for (size_t i = 0; i < r->n_ran; i++)
        fprintf(f, " %s |", r->ran[i]);
    fputs("\n|---|---|", f);
    for (size_t i = 0; i < r->n_ran; i++)
        fputs("---:|", f);
    fputc('\n', f);
    const char *left[64];
    size_t n_left = 0;
    for (size_t b = 0; b < bench_catalogue_len; b++) {
        const struct bench_def *d = &bench_catalogue[b];
        bool has = false;
        if (!in_group(d, group))
            continue;
        for (size_t i = 0; i < r->n_ran && !has; i++)
            has = results_find_ok(r->res, r->ran[i], d->name) != NULL;
        if (!has) {
            if (n_left < 64)
                left[n_left++] = d->name;
            continue;
        }
        fprintf(f, "| %s | %s |", d->name, d->unit);
        for (size_t i = 0; i < r->n_ran; i++) {
            fputc(' ', f);
            put_time_cell(r, &ns, r->ran[i], d->name);
            fputs(" |", f);
        }
        fputc('\n', f);
    }
    if (n_left) {
        /* each such benchmark's notes ("1, 3"), then one list per distinct set */
        char sets[64][48];
        bool done[64] = {false};
        for (size_t k = 0; k < n_left; k++) {
            size_t len = 0;
            sets[k][0] = '\0';
            size_t seen[MAX_ROWS], n_seen = 0;
            for (size_t i = 0; i < r->n_ran; i++) {
                const struct bench_result *e = results_find(r->res, r->ran[i], left[k]);
                size_t note = e ? note_of(&ns, e->reason) : 0;
                bool dup = !note;
                for (size_t j = 0; j < n_seen && !dup; j++)
                    dup = seen[j] == note;
                if (dup)
                    continue;
                seen[n_seen++] = note;
                int w = snprintf(sets[k] + len, sizeof(sets[k]) - len, "%s%zu", n_seen > 1 ? ", "
                                                                                       : "", note);
                if (w > 0 && (size_t)w < sizeof(sets[k]) - len)
                    len += (size_t)w;
            }
        }
        fputs("\nNot measured on any row: ", f);
        bool first_set = true;
        for (size_t k = 0; k < n_left; k++) {
            if (done[k])
                continue;
            fputs(first_set ? "" : "; ", f);
            for (size_t j = k, c = 0; j < n_left; j++)
                if (!done[j] && !strcmp(sets[j], sets[k])) {
                    fprintf(f, "%s%s", c++ ? ", " : "", left[j]);
                    done[j] = true;
                }
            fprintf(f, sets[k][0] ? ": n/a (%s)" : ": n/a%s", sets[k]);
            first_set = false;
        }
        fputs(".\n", f);
    }
    put_notes(r, &ns);
    fputc('\n', f);
}

static void table_exits(struct rep *r, const char *group)
{
    FILE *f = r->f;
    const char *rows[MAX_ROWS];
    bool kvm[MAX_ROWS] = {false};
    size_t nr = 0;
    char num[32];
    for (size_t i = 0; i < bench_rows_len && nr < MAX_ROWS; i++) {
        bool any = false;
        if (!bench_rows[i].exit_counters)
            continue;
        for (size_t b = 0; b < bench_catalogue_len; b++) {
            const struct exit_profile *p;
            if (!in_group(&bench_catalogue[b], group) ||
                !(p = results_exits(r->res, bench_rows[i].name, bench_catalogue[b].name)))
                continue;
            any = true;
            kvm[nr] |= p->from_kvm;
        }
        if (any)
            rows[nr++] = bench_rows[i].name;
    }
    if (!nr)
        return;
    fprintf(f, "Exits per operation (%s group), from the run with the median time: the measured "
               "bracket minus a bracket around the same code with 0 operations, divided by the "
               "operations; the largest reasons follow each total.", group);
    for (size_t i = 0; i < nr; i++)
        if (kvm[i])
            fprintf(f, " %s: counted by KVM (every VM exit, those KVM handles in the kernel "
                       "included; \"other exits handled in KVM\" is what its exit counters do not "
                       "name).", rows[i]);
    fputs("\n\n| benchmark |", f);
    for (size_t i = 0; i < nr; i++)
        fprintf(f, " %s |", rows[i]);
    fputs("\n|---|", f);
    for (size_t i = 0; i < nr; i++)
        fputs("---|", f);
    fputc('\n', f);
    for (size_t b = 0; b < bench_catalogue_len; b++) {
        const struct bench_def *d = &bench_catalogue[b];
        bool has = false;
        if (!in_group(d, group))
            continue;
        for (size_t i = 0; i < nr && !has; i++)
            has = results_exits(r->res, rows[i], d->name) != NULL;
        if (!has)
            continue;
        fprintf(f, "| %s |", d->name);
        for (size_t i = 0; i < nr; i++) {
            const struct exit_profile *p = results_exits(r->res, rows[i], d->name);
            if (p) {
                fprintf(f, " **%s**", fmt_exits(num, sizeof(num), p->total));
                if (p->n) {
                    fputs(": ", f);
                    put_top_reasons(f, p, 3);
                }
                if (p->has_io) {
                    char k[32];
                    fprintf(f, "; kicks %s, interrupts %s",
                            fmt_exits(k, sizeof(k), p->notifies_per_op),
                            fmt_exits(num, sizeof(num), p->irqs_per_op));
                }
            } else {
                fputs(results_find_ok(r->res, rows[i], d->name) ? " –" : " n/a", f);
            }
            fputs(" |", f);
        }
        fputc('\n', f);
    }
    fputc('\n', f);
}

static void section_tables(struct rep *r)
{
    fputs("## Results\n\n", r->f);
    table_times(r, "exit", "Exit latency");
    table_exits(r, "exit");
    table_times(r, "mem", "Memory translation");
    table_exits(r, "mem");
    table_times(r, "io", "Virtio block I/O");
    table_exits(r, "io");
}

/* ---- 4. decision guide ---------------------------------------------------------- */

struct ranking {
    const char *row[N_COMPARED];
    double rel[N_COMPARED];             /* geometric mean of time / fastest's time */
    size_t nr;
    const char *bench[32];
    size_t nb;
};

/* Ranks rows on a set of benchmarks: only benchmarks every ranked row ran
 * count (a row missing most of them is dropped rather than judged on one),
 * and the score is the geometric mean of the row's time over the fastest
 * row's time, so that a 16 ns and a 16 µs benchmark weigh the same. */
static bool rank_rows(const struct rep *r, const char *const *benches, size_t nbench,
                      const char *const *rows, size_t nrows, struct ranking *out)
{
    memset(out, 0, sizeof(*out));
    size_t cover[N_COMPARED];
    for (size_t i = 0; i < nrows && out->nr < N_COMPARED; i++) {
        size_t c = 0;
        for (size_t b = 0; b < nbench; b++)
            c += isfinite(med(r, rows[i], benches[b]));
        if (c) {
            cover[out->nr] = c;
            out->row[out->nr++] = rows[i];
        }
    }
    for (;;) {
        out->nb = 0;
        for (size_t b = 0; b < nbench && out->nb < 32; b++) {
            bool all = true;
            for (size_t i = 0; i < out->nr && all; i++)
                all = isfinite(med(r, out->row[i], benches[b]));
            if (all)
                out->bench[out->nb++] = benches[b];
        }
        if (out->nb || out->nr < 2)
            break;
        size_t worst = 0;               /* drop the row that ran the fewest */
        for (size_t i = 1; i < out->nr; i++)
            if (cover[i] <= cover[worst])
                worst = i;
        for (size_t i = worst; i + 1 < out->nr; i++) {
            out->row[i] = out->row[i + 1];
            cover[i] = cover[i + 1];
        }
        out->nr--;
    }
    if (out->nr < 2 || !out->nb)
        return false;
    for (size_t i = 0; i < out->nr; i++)
        out->rel[i] = 0;
    for (size_t b = 0; b < out->nb; b++) {
        double best = INFINITY;
        for (size_t i = 0; i < out->nr; i++)
            best = fmin(best, med(r, out->row[i], out->bench[b]));
        for (size_t i = 0; i < out->nr; i++)
            out->rel[i] += log(med(r, out->row[i], out->bench[b]) / best);
    }
    for (size_t i = 0; i < out->nr; i++)
        out->rel[i] = exp(out->rel[i] / (double)out->nb);
    for (size_t i = 1; i < out->nr; i++)    /* best first */
        for (size_t j = i; j > 0 && out->rel[j] < out->rel[j - 1]; j--) {
            double t = out->rel[j];
            const char *s = out->row[j];
            out->rel[j] = out->rel[j - 1];
            out->row[j] = out->row[j - 1];
            out->rel[j - 1] = t;
            out->row[j - 1] = s;
        }
    return true;
}

/* "- **Title** (examples): X is fastest (b1 t1, b2 t2); relative to it over
 *   N benchmarks (geometric mean): Y ×a, Z ×b." */
static bool guide_bullet(struct rep *r, const char *title, const char *const *benches,
                         size_t nbench, const char *exclude, const char *note)
{
    const char *rows[N_COMPARED];
    size_t nr = 0;
    struct ranking k;
    char t[32];
    for (size_t i = 0; i < N_COMPARED; i++)
        if (ran(r, compared_rows[i]) && (!exclude || strcmp(exclude, compared_rows[i])))
            rows[nr++] = compared_rows[i];
    if (!rank_rows(r, benches, nbench, rows, nr, &k))
        return false;
    fprintf(r->f, "- **%s**: %s is fastest (", title, k.row[0]);
    for (size_t b = 0; b < k.nb && b < 3; b++)
        fprintf(r->f, "%s%s %s", b ? ", " : "", k.bench[b],
                fmt_time(t, sizeof(t), med(r, k.row[0], k.bench[b])));
    fprintf(r->f, "%s); the others, over these %zu benchmark%s (geometric mean of the time "
                  "ratios): ", k.nb > 3 ? ", …" : "", k.nb, k.nb == 1 ? "" : "s");
    for (size_t i = 1; i < k.nr; i++)
        fprintf(r->f, "%s%s %s", i > 1 ? ", " : "", k.row[i],
                fmt_ratio(t, sizeof(t), k.rel[i] / k.rel[0]));
    if (k.rel[1] / k.rel[0] < 1.1)
        fprintf(r->f, " — %s and %s are within 10%%: either will do", k.row[0], k.row[1]);
    if (note)
        fprintf(r->f, ". %s", note);
    fputs(".\n", r->f);
    return true;
}

static void section_guide(struct rep *r)
{
    static const char *const process[] = {"exit.syscall", "exit.as_switch", "exit.pagefault",
                                          "exit.ptemod", "mem.pt_update", "mem.first_touch"};
    static const char *const io[] = {"exit.pio_out", "exit.pio_in", "exit.mmio_read",
                                     "exit.mmio_write", "exit.timer_irq", "exit.hlt_wakeup",
                                     "exit.hypercall"};
    static const char *const kernel[] = {"exit.cli_sti", "exit.rdtsc", "exit.rdmsr",
                                         "exit.wrmsr", "exit.cr8_write", "exit.cpuid"};
    static const char *const bigmem[] = {"mem.chase_4k.64M", "mem.chase_4k.256M",
                                         "mem.chase_2m.64M", "mem.chase_2m.256M"};
    const char *exits[32];
    size_t ne = 0;
    char t[32];
    bool any = false;
    FILE *f = r->f;
    for (size_t b = 0; b < bench_catalogue_len && ne < 32; b++)
        if (in_group(&bench_catalogue[b], "exit"))
            exits[ne++] = bench_catalogue[b].name;

    fputs("## Decision guide\n\nFrom the numbers above (rows that run the guest kernel; "
          "hwassist-svm's times are emulated and left out).", f);
    if (ran(r, "qemu-tcg"))
        fputs(" qemu-tcg never leaves its process for a privileged instruction — it emulates it "
              "inline in translated code — so it is fast on the exit benchmarks and pays on every "
              "ordinary instruction instead: read the exit bullets with *Ordinary code between "
              "exits*.", f);
    fputs("\n\n", f);
    any |= guide_bullet(r, "Many system calls, context switches and page-table updates",
                        process, sizeof(process) / sizeof(process[0]), NULL,
                        "Process-heavy workloads (builds, shells, fork-heavy servers) pay these "
                        "on every task switch and mapping change");
    any |= guide_bullet(r, "Device access and interrupts", io, sizeof(io) / sizeof(io[0]), NULL,
                        "I/O-heavy guests (storage, network) pay one of these per request or "
                        "notification");
    static const char *const storage[] = {"io.blk_read_lat_qd1", "io.blk_read_iops_qd32",
                                          "io.blk_write_iops_qd32", "io.blk_seq_read_mbps"};
    any |= guide_bullet(r, "Storage through a paravirtual disk (virtio-blk)", storage,
                        sizeof(storage) / sizeof(storage[0]), NULL,
                        "Each request costs a kick, an interrupt and their exits: batching "
                        "(queue depth) divides them among requests");
    any |= guide_bullet(r, "Kernel code that masks interrupts, reads timers or MSRs", kernel,
                        sizeof(kernel) / sizeof(kernel[0]), NULL, NULL);
    /* Most of a guest's time is spent between exits: the chase at every
     * working set measured is plain loads, no exits on any technique. */
    const char *chase[16];
    size_t nc = 0;
    for (size_t b = 0; b < bench_catalogue_len && nc < 16; b++)
        if (!strncmp(bench_catalogue[b].name, "mem.chase_", 10))
            chase[nc++] = bench_catalogue[b].name;
    any |= guide_bullet(r, "Ordinary code between exits (loads and stores)", chase, nc, NULL,
                        "Compute- and memory-bound work spends most of its time here, so a "
                        "technique that is fast on exits but slow here (an emulator) loses on it");
    if (guide_bullet(r, "Large working sets (databases, JVMs, analytics)", bigmem,
                     sizeof(bigmem) / sizeof(bigmem[0]), NULL, NULL)) {
        any = true;
        /* and against native, where it ran */
        bool first = true;
        for (size_t i = 0; i < N_COMPARED; i++) {
            double v[4];
            size_t n = 0;
            for (size_t b = 0; b < sizeof(bigmem) / sizeof(bigmem[0]); b++) {
                double x = med(r, compared_rows[i], bigmem[b]), y = med(r, "native", bigmem[b]);
                if (isfinite(x) && isfinite(y))
                    v[n++] = x / y;
            }
            if (!n)
                continue;
            fprintf(f, "%s%s %s", first ? "  Against native on the same working sets (median "
                                          "ratio): " : ", ",
                    compared_rows[i], fmt_ratio(t, sizeof(t), stats_median(v, n)));
            first = false;
        }
        if (!first)
            fputs(".\n", f);
    }
    if (ran(r, "paravirt") &&
        guide_bullet(r, "An unmodified guest kernel", exits, ne, "paravirt",
                     "Measured on the exit benchmarks; paravirt is left out: it needs a guest "
                     "ported to its hypercalls"))
        any = true;
    double ratio;
    size_t n;
    if (median_ratio(r, NULL, "container", "native", &ratio, &n)) {
        fprintf(f, "- **Isolation without a guest kernel**: the container row runs at a median "
                   "%s of native over %zu benchmark%s", fmt_ratio(t, sizeof(t), ratio), n,
                n == 1 ? "" : "s");
        if (ratio < 1.1)
            fputs(": namespaces add no measurable cost per operation; what a container gives "
                  "up is a kernel of its own, not speed", f);
        fputs(".\n", f);
        any = true;
    }
    if (r->res->software_kvm && (ran(r, "hwassist") || ran(r, "qemu-kvm"))) {
        fputs("- **Before choosing hardware-assisted virtualization on these numbers**: the "
              "hwassist and qemu-kvm rows ran on a software KVM backend; rerun on VT-x/AMD-V "
              "hardware.\n", f);
        any = true;
    }
    if (!any)
        fputs("Not enough rows ran to compare techniques.\n", f);
    fputc('\n', f);
}

/* ---- 5. plots, 6. machine ------------------------------------------------------- */

static void section_plots(struct rep *r, char made[][64], size_t n_made, const char *problem)
{
    static const struct {
        const char *file, *alt;
    } titles[] = {
        {"exit_latency.png", "Exit latency per row (ns/op, log scale)"},
        {"mem_chase.png", "Pointer chase: ns per access vs working set"},
        {"exits_per_op.png", "Exits per operation"},
    };
    fputs("## Plots\n\n", r->f);
    for (size_t i = 0; made && i < n_made; i++) {
        const char *alt = made[i];
        for (size_t k = 0; k < sizeof(titles) / sizeof(titles[0]); k++)
            if (!strcmp(made[i], titles[k].file))
                alt = titles[k].alt;
        fputs("![", r->f);
        md(r->f, alt);
        fputs("](", r->f);
        /* a file name in a link: spaces and parentheses would end it */
        for (const char *p = made[i]; *p; p++)
            if (*p == ' ' || *p == '(' || *p == ')')
                fprintf(r->f, "%%%02X", (unsigned char)*p);
            else
                fputc(*p, r->f);
        fputs(")\n\n", r->f);
    }
    if (problem && *problem) {
        fputs(n_made ? "Note: " : "No plots: ", r->f);
        md(r->f, problem);
        fputs("\n\n", r->f);
    } else if (!n_made) {
        fputs("No plots were made.\n\n", r->f);
    }
}

static void kv_table(FILE *f, const struct kv *kv, size_t n)
{
    fputs("| key | value |\n|---|---|\n", f);
    for (size_t i = 0; i < n; i++) {
        fputs("| ", f);
        md(f, kv[i].key);
        fputs(" | ", f);
        md(f, kv[i].value);
        fputs(" |\n", f);
    }
    fputc('\n', f);
}

static void section_machine(struct rep *r)
{
    fputs("## Machine\n\n", r->f);
    if (r->res->n_machine)
        kv_table(r->f, r->res->machine, r->res->n_machine);
    else
        fputs("Not recorded.\n\n", r->f);
    fputs("## Configuration\n\n", r->f);
    if (r->res->n_config)
        kv_table(r->f, r->res->config, r->res->n_config);
    else
        fputs("Not recorded.\n\n", r->f);
}

int report_write_md(const struct results *res, FILE *f, char made[][64], size_t n_made,
                    const char *plots_problem)
{
    struct rep r = {.res = res, .f = f};
    int saved = errno;
    errno = 0;
    for (size_t i = 0; i < bench_rows_len && r.n_ran < MAX_ROWS; i++)
        for (size_t b = 0; b < bench_catalogue_len; b++)
            if (results_find_ok(res, bench_rows[i].name, bench_catalogue[b].name)) {
                r.ran[r.n_ran++] = bench_rows[i].name;
                break;
            }
    section_intro(&r);
    section_summary(&r);
    section_tables(&r);
    section_guide(&r);
    section_plots(&r, made, n_made, plots_problem);
    section_machine(&r);
    return text_finish_write(f, saved);
}
