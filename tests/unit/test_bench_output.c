/* Unit tests: the harness's writers, results.json, report.md and the plots
 * (bench/lib/json.c, report.c, plots.c), from one fixed results set.
 *
 * HVLAB_SAMPLE_DIR=DIR makes the report test also leave the fixture's
 * report.md and plots in DIR: the sample shown in docs/benchmarks.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "bench/lib/catalogue.h"
#include "bench/lib/results.h"

/* ---- the fixture ------------------------------------------------------------- */

#define NA (-1.0)

static struct exit_profile prof(double total, bool kvm, const char *r1, double v1, const char *r2,
                                double v2)
{
    struct exit_profile p;
    memset(&p, 0, sizeof(p));
    p.total = total;
    p.from_kvm = kvm;
    if (r1) {
        snprintf(p.by_reason[p.n].reason, sizeof(p.by_reason[0].reason), "%s", r1);
        p.by_reason[p.n++].per_op = v1;
    }
    if (r2) {
        snprintf(p.by_reason[p.n].reason, sizeof(p.by_reason[0].reason), "%s", r2);
        p.by_reason[p.n++].per_op = v2;
    }
    return p;
}

/* Three runs around a median: value * 0.98, value, value * 1.05. */
static void add3(struct results *res, const char *row, const char *bench, double v,
                 const struct exit_profile *p)
{
    static const double k[] = {1.0, 0.98, 1.05};
    for (int i = 0; i < 3; i++)
        assert_int_equal(results_add_sample(res, row, bench, NULL, v * k[i], p), 0);
}

#define N_BENCH 41      /* exit 19, mem 12, io 10 */

struct row_values {
    const char *row;
    double v[N_BENCH];  /* catalogue order; NA: n/a */
};

static const struct row_values times[] = {
    {"native", {NA, NA, NA, NA, NA, 28, 9, NA, NA, NA, NA, NA, 62, 480, 310, NA, NA, NA, NA,
                1.3, 1.4, 4.1, 11, 19, 1.3, 1.4, 3.6, 7.5, 9.8, 240, NA,
                2300, 2300, 1200, 5000, 1600, NA, NA, NA, NA, NA}},
    {"container", {NA, NA, NA, NA, NA, 28.5, 9, NA, NA, NA, NA, NA, 64, 490, 315, NA, NA, NA, NA,
                   1.3, 1.4, 4.1, 11.2, 19.4, 1.3, 1.4, 3.6, 7.6, 9.9, 245, NA,
                2320, 2310, 1210, 5050, 1610, NA, NA, NA, NA, NA}},
    {"trap-emulate", {NA, 3100, 3150, 4200, 4100, 27, 9.5, 2600, 2700, 5200, 2500, 9100, 6300,
                      5600, 7400, 8200, 15300, 9400, 21000, 1.3, 1.45, 4.3, 11.8, 21, NA, NA, NA,
                      NA, NA, 9200, 6100,
                300000, 298000, 12000, 310000, 14000, 310000, 305000, 11500, 320000, 11000}},
    {"paravirt", {1500, 1700, 1750, 1900, 1950, 27, 9.5, NA, NA, 3.1, 2400, 2100, 3600, 3100,
                  3500, 2250, 4100, 4600, 12500, 1.3, 1.45, 4.25, 11.6, 20.5, NA, NA, NA, NA, NA,
                  3100, 210,
                80000, 80500, 4300, 87000, 4300, 93000, 80000, 4310, 87500, 4400}},
    {"hwassist", {900, 2500, 2550, 2700, 2650, 820, 12, 700, 760, 40, 35, 300, 70, 650, 420, 380,
                  520, 3300, 5200, 1.35, 1.5, 4.6, 15.5, 31, 1.35, 1.5, 3.8, 8.2, 10.5, 1600,
                  120,
                30000, 30500, 2000, 35000, 2200, 31000, 30800, 2050, 35200, 2250}},
    {"qemu-tcg", {22000, 25000, 25500, 26000, 26500, 350, 60, 300, 320, 45, 40, 2500, 900,
                  5200, 4100, 3800, 6100, 40000, 52000, 9.5, 11, 24, 60, 110, 9.5, 10.5, 20, 38,
                  55, 21000, 3100,
                NA, NA, NA, NA, NA, NA, NA, NA, NA, NA}},
    {"hwassist-svm", {450000, 600000, 610000, 640000, 650000, 520000, NA, NA, NA, 9000, NA, NA,
                      60000, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA, NA,
                      NA,
                NA, NA, NA, NA, NA, NA, NA, NA, NA, NA}},
};

static const char *na_reason(const char *row, const char *bench)
{
    if (!strcmp(row, "native") || !strcmp(row, "container"))
        return "needs ring 0: a Linux process cannot run it";
    if (!strcmp(row, "paravirt") && strstr(bench, "msr"))
        return "a paravirtual guest has no MSRs (its timer and system calls are hypercalls)";
    if (!strcmp(row, "trap-emulate") && !strcmp(bench, "exit.hypercall"))
        return "trap-and-emulate runs the unmodified guest: it makes no hypercalls";
    if (strstr(bench, "chase_2m"))
        return "this monitor maps guest memory with 4 KiB pages only";
    if (!strcmp(row, "hwassist-svm"))
        return "not in hwassist-svm's short set (the run is emulated: \"slow\")";
    return "not measured";
}

static void add_exits(struct results *res)
{
    struct exit_profile p;
    p = prof(2, false, "emulate cli", 1, "emulate sti", 1);
    add3(res, "trap-emulate", "exit.cli_sti", 5200, &p);
    p = prof(0, false, NULL, 0, NULL, 0);
    add3(res, "paravirt", "exit.cli_sti", 3.1, &p);
    p = prof(0.0004, true, "irq_exits", 0.0004, NULL, 0);
    add3(res, "hwassist", "exit.cli_sti", 40, &p);
    p = prof(0, false, NULL, 0, NULL, 0);
    add3(res, "hwassist-svm", "exit.cli_sti", 9000, &p);

    p = prof(0, false, NULL, 0, NULL, 0);
    add3(res, "trap-emulate", "exit.cpuid", 27, &p);
    add3(res, "paravirt", "exit.cpuid", 27, &p);
    p = prof(1.0, true, "other exits handled in KVM", 1.0, NULL, 0);
    add3(res, "hwassist", "exit.cpuid", 820, &p);
    p = prof(1.0, false, "cpuid", 1.0, NULL, 0);
    add3(res, "hwassist-svm", "exit.cpuid", 520000, &p);

    p = prof(2, false, "syscall (guest system call)", 1, "emulate sysret", 1);
    add3(res, "trap-emulate", "exit.syscall", 6300, &p);
    p = prof(2, false, "user system call (bounced to the guest)", 1, "hypercall iret", 1);
    add3(res, "paravirt", "exit.syscall", 3600, &p);
    p = prof(0, true, NULL, 0, NULL, 0);
    add3(res, "hwassist", "exit.syscall", 70, &p);

    p = prof(1.0, false, "shadow refault, page mapped (first write: D)", 1.0, NULL, 0);
    add3(res, "trap-emulate", "mem.pt_update", 6100, &p);
    p = prof(0.0156, false, "hypercall mmu_update", 0.0156, NULL, 0);
    add3(res, "paravirt", "mem.pt_update", 210, &p);
    p = prof(0, true, NULL, 0, NULL, 0);
    add3(res, "hwassist", "mem.pt_update", 120, &p);

    p = prof(2.0, false, "shadow page fault (mapping installed)", 1.0,
             "guest page fault (#PF injected)", 1.0);
    add3(res, "trap-emulate", "mem.first_touch", 9200, &p);
    p = prof(1.02, false, "guest page fault (#PF delivered)", 1.0, "hypercall mmu_update", 0.02);
    add3(res, "paravirt", "mem.first_touch", 3100, &p);

    /* io: kicks and interrupts per request, and the latency percentiles */
    p = prof(9.0, false, "virtio-blk", 3.0, "emulate cli", 2.0);
    p.has_io = true, p.notifies_per_op = 1.0, p.irqs_per_op = 1.0;
    add3(res, "trap-emulate", "io.blk_read_lat_qd1", 300000, &p);
    for (int i = 0; i < 3; i++)
        assert_int_equal(results_add_percentiles(res, "trap-emulate", "io.blk_read_lat_qd1",
                                                 290000 + 1000 * i, 380000 + 1000 * i), 0);
    p = prof(0.29, false, "virtio-blk", 0.09, "emulate cli", 0.06);
    p.has_io = true, p.notifies_per_op = 1.0 / 32, p.irqs_per_op = 1.0 / 32;
    add3(res, "trap-emulate", "io.blk_read_iops_qd32", 12000, &p);
    p.notifies_per_op = 0.5, p.irqs_per_op = 0.25;
    add3(res, "trap-emulate", "io.blk_read_iops_qd32.noevent", 11500, &p);
}

static void fixture(struct results *res)
{
    results_init(res);
    results_machine(res, "cpu", "AMD EPYC 7B13 | \"quoted\"");
    results_machine(res, "kvm_backend", "kvm_pvm");
    results_machine(res, "kernel", "6.1");
    results_config(res, "quick", "false");
    results_config(res, "runs", "3");
    results_config(res, "min_ms", "20");
    results_config(res, "note", "line one\nline two");
    res->software_kvm = true;
    add_exits(res);
    for (size_t r = 0; r < sizeof(times) / sizeof(times[0]); r++)
        for (size_t b = 0; b < bench_catalogue_len; b++) {
            const char *row = times[r].row, *bench = bench_catalogue[b].name;
            if (results_find(res, row, bench))
                continue;       /* added with its exits */
            if (times[r].v[b] == NA)
                results_set_na(res, row, bench, na_reason(row, bench));
            else
                add3(res, row, bench, times[r].v[b], NULL);
        }
    results_finish(res, "qemu-system-x86_64 -accel kvm: KVM is not usable by QEMU here");
}

/* ---- helpers ------------------------------------------------------------------- */

/* What a writer printed, as a malloc'd string (through a temporary file:
 * the writers take a FILE *). */
static char *to_text(int (*write)(const struct results *, FILE *, void *), const struct results *res,
                     void *arg)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(write(res, f, arg), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static int write_json(const struct results *res, FILE *f, void *arg)
{
    (void)arg;
    return results_write_json(res, f);
}

struct report_args {
    char (*made)[64];
    size_t n_made;
    const char *problem;
};

static int write_report(const struct results *res, FILE *f, void *arg)
{
    struct report_args *a = arg;
    return report_write_md(res, f, a ? a->made : NULL, a ? a->n_made : 0,
                           a ? a->problem : "gnuplot is not installed");
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The line of text that contains needle (a fresh string), or NULL. */
static char *line_with(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    const char *s = p, *e = p;
    while (s > text && s[-1] != '\n')
        s--;
    while (*e && *e != '\n')
        e++;
    return strndup(s, (size_t)(e - s));
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void json_has_schema_machine_config_and_every_pair(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *j = to_text(write_json, &res, NULL);
    assert_true(strncmp(j, "{\n  \"schema\": 1,\n  \"machine\": {\n", 32) == 0);
    /* machine values are strings even when they look like numbers; config
     * literals are typed as the schema shows */
    assert_non_null(strstr(j, "\"kernel\": \"6.1\""));
    assert_non_null(strstr(j, "\"quick\": false"));
    assert_non_null(strstr(j, "\"runs\": 3,"));
    assert_non_null(strstr(j, "\"min_ms\": 20"));
    /* one line per result, every (row, bench) pair */
    assert_int_equal(count(j, "\n    {\"row\": "), bench_rows_len * bench_catalogue_len);
    for (size_t r = 0; r < bench_rows_len; r++)
        for (size_t b = 0; b < bench_catalogue_len; b++) {
            char key[160];
            snprintf(key, sizeof(key), "{\"row\": \"%s\", \"bench\": \"%s\", \"unit\": \"%s\"",
                     bench_rows[r].name, bench_catalogue[b].name, bench_catalogue[b].unit);
            assert_int_equal(count(j, key), 1);
        }
    assert_string_equal(j + strlen(j) - 8, "}\n  ]\n}\n");
    free(j);
    results_free(&res);
}

static void json_ok_entry_has_numbers_samples_and_exits(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *j = to_text(write_json, &res, NULL);
    char *l = line_with(j, "\"row\": \"trap-emulate\", \"bench\": \"exit.cli_sti\"");
    assert_non_null(l);
    assert_string_equal(l, "    {\"row\": \"trap-emulate\", \"bench\": \"exit.cli_sti\", "
                           "\"unit\": \"ns/op\", \"median\": 5200, \"min\": 5096, \"max\": 5460, "
                           "\"runs\": 3, \"samples\": [5200, 5096, 5460], \"exits_per_op\": "
                           "{\"total\": 2, \"by_reason\": {\"emulate cli\": 1, \"emulate sti\": "
                           "1}, \"counted_by\": \"monitor\"}, \"status\": \"ok\", \"reason\": \"\"},");
    free(l);
    l = line_with(j, "\"row\": \"hwassist\", \"bench\": \"exit.cpuid\"");
    assert_non_null(strstr(l, "\"counted_by\": \"kvm\""));
    free(l);
    /* rows without counters: exits_per_op null */
    l = line_with(j, "\"row\": \"native\", \"bench\": \"exit.cpuid\"");
    assert_non_null(strstr(l, "\"exits_per_op\": null, \"status\": \"ok\""));
    free(l);
    free(j);
    results_free(&res);
}

static void json_io_entry_has_percentiles_kicks_and_interrupts(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *j = to_text(write_json, &res, NULL);
    char *l = line_with(j, "\"row\": \"trap-emulate\", \"bench\": \"io.blk_read_lat_qd1\"");
    assert_non_null(l);
    assert_non_null(strstr(l, "\"unit\": \"ns/req\""));
    assert_non_null(strstr(l, "\"p50\": 291000, \"p99\": 381000"));  /* medians of the runs */
    assert_non_null(strstr(l, "\"counted_by\": \"monitor\", \"notifications\": 1, "
                              "\"interrupts\": 1}"));
    free(l);
    /* no percentiles where none were given, no io counts where the profile has none */
    l = line_with(j, "\"row\": \"trap-emulate\", \"bench\": \"exit.cli_sti\"");
    assert_null(strstr(l, "\"p50\""));
    assert_null(strstr(l, "\"notifications\""));
    free(l);
    free(j);
    results_free(&res);
}

static void report_io_table_shows_throughput_percentiles_kicks_and_event_idx(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *md = to_text(write_report, &res, NULL);
    assert_non_null(strstr(md, "### Virtio block I/O (io.*)"));
    assert_non_null(strstr(md, "### Virtio block I/O\n"));
    /* 1e9 / 300000 ns = 3333 IOPS; 65536 B x 1000 / 5000 ns = 13107 MB/s;
     * 65536 x 1000 / 310000 ns = 211 MB/s */
    assert_non_null(strstr(md, "300 µs ×130 [294–315] = **3.33 k IOPS**, p50 291 µs p99 381 µs"));
    assert_non_null(strstr(md, "5.00 µs [4.90–5.25] = **13.1 GB/s**"));
    assert_non_null(strstr(md, "310 µs ×62.0 [304–326] = **211 MB/s**"));
    assert_non_null(strstr(md, "; kicks 1.00, interrupts 1.00 |"));
    assert_non_null(strstr(md, "- **io.blk_read_lat_qd1**: trap-emulate 9.00 exits/request "
                               "(kicks 1.00, interrupts 1.00; virtio-blk 3.00, emulate cli "
                               "2.00)"));
    assert_non_null(strstr(md, "- **EVENT_IDX** (io.blk_read_iops_qd32, per request, without → "
                               "with): trap-emulate 0.50 → 0.03 kicks, 0.25 → 0.03 interrupts. "
                               "With the event index the driver says"));
    assert_non_null(strstr(md, "- **Storage through a paravirtual disk (virtio-blk)**: "));
    free(md);
    results_free(&res);
}

static void json_na_entry_has_nulls_and_reason(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *j = to_text(write_json, &res, NULL);
    char *l = line_with(j, "\"row\": \"paravirt\", \"bench\": \"exit.rdmsr\"");
    assert_string_equal(l, "    {\"row\": \"paravirt\", \"bench\": \"exit.rdmsr\", \"unit\": "
                           "\"ns/op\", \"median\": null, \"min\": null, \"max\": null, \"runs\": "
                           "0, \"samples\": [], \"exits_per_op\": null, \"status\": \"n/a\", "
                           "\"reason\": \"a paravirtual guest has no MSRs (its timer and system "
                           "calls are hypercalls)\"},");
    free(l);
    assert_null(strstr(j, "nan"));
    assert_null(strstr(j, "inf"));
    free(j);
    results_free(&res);
}

static void json_escapes_quotes_newlines_control_and_bad_utf8(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    results_machine(&res, "cpu", "a \"b\" \\ c");
    /* results_machine turns control characters into spaces; write some
     * directly into a reason to check the writer's own escaping */
    results_set_na(&res, "native", "exit.cpuid", "x");
    struct bench_result *e = &res.r[0];
    snprintf(e->reason, sizeof(e->reason), "q\"b\\s\nn\tt\rr\x01u\x1f" "é\xff\xc3" "end");
    char *j = to_text(write_json, &res, NULL);
    assert_non_null(strstr(j, "\"cpu\": \"a \\\"b\\\" \\\\ c\""));
    assert_non_null(strstr(j, "\"reason\": \"q\\\"b\\\\s\\nn\\tt\\rr\\u0001u\\u001f"
                              "é\\ufffd\\ufffdend\""));
    free(j);
    results_free(&res);
}

static void json_numbers_keep_precision_and_never_print_nan(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    assert_int_equal(results_add_sample(&res, "native", "exit.cpuid", NULL, 629.1916123456789,
                                        NULL), 0);
    assert_int_equal(results_add_sample(&res, "native", "exit.rdtsc", NULL, 1e-7, NULL), 0);
    assert_int_equal(results_add_sample(&res, "native", "exit.syscall", NULL, 0.1, NULL), 0);
    struct exit_profile p;
    memset(&p, 0, sizeof(p));
    p.total = NAN;
    assert_int_equal(results_add_sample(&res, "trap-emulate", "exit.cpuid", NULL, 1, &p), 0);
    results_finish(&res, "not run");
    char *j = to_text(write_json, &res, NULL);
    assert_non_null(strstr(j, "\"median\": 629.1916123456789,"));
    assert_non_null(strstr(j, "\"median\": 1e-07,"));
    assert_non_null(strstr(j, "\"median\": 0.1,"));
    assert_non_null(strstr(j, "{\"total\": null, \"by_reason\": {}, \"counted_by\": \"monitor\"}"));
    free(j);
    results_free(&res);
}

static void json_of_an_empty_set_is_valid(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    char *j = to_text(write_json, &res, NULL);
    assert_string_equal(j, "{\n  \"schema\": 1,\n  \"machine\": {},\n  \"config\": {},\n"
                           "  \"results\": []\n}\n");
    free(j);
}

static void json_write_error_is_reported(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    assert_int_equal(results_write_json(&res, f), -1);
    fclose(f);
    results_free(&res);
}

/* ---- report.md ------------------------------------------------------------------------- */

static void report_starts_with_the_software_kvm_warning(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *md = to_text(write_report, &res, NULL);
    const char *title = "# hvlab benchmark report\n\n";
    assert_true(strncmp(md, title, strlen(title)) == 0);
    assert_true(strncmp(md + strlen(title), "**Warning: the KVM backend", 26) == 0);
    char *l = line_with(md, "**Warning");
    assert_non_null(strstr(l, "kvm\\_pvm") ? strstr(l, "kvm\\_pvm") : strstr(l, "kvm_pvm"));
    assert_non_null(strstr(l, "software backend"));
    assert_non_null(strstr(l, "do not show VT-x/EPT (or AMD-V/NPT) costs"));
    free(l);
    /* hwassist-svm ran: its note comes next, before what was run */
    const char *svm = strstr(md, "**hwassist-svm: its exits/op are what AMD-V hardware");
    const char *what = strstr(md, "This report compares");
    assert_non_null(svm);
    assert_non_null(what);
    assert_true(svm < what);
    assert_non_null(strstr(what, "the full catalogue (41 benchmarks), 3 runs per row"));
    assert_non_null(strstr(what, "Not run: qemu-kvm, hwassist-ioeventfd, hwassist-svm-ioeventfd "
                                 "(qemu-system-x86\\_64") ||
                    strstr(what, "Not run: qemu-kvm, hwassist-ioeventfd, hwassist-svm-ioeventfd "
                                 "(qemu-system-x86_64"));
    free(md);

    res.software_kvm = false;
    md = to_text(write_report, &res, NULL);
    assert_null(strstr(md, "Warning"));
    free(md);
    results_free(&res);
}

static void report_has_a_table_row_per_benchmark_with_ratio_and_spread(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *md = to_text(write_report, &res, NULL);
    for (size_t b = 0; b < bench_catalogue_len; b++) {
        char key[96];
        snprintf(key, sizeof(key), "\n| %s | %s |", bench_catalogue[b].name,
                 bench_catalogue[b].unit);
        if (count(md, key) != 1)
            fail_msg("no single table row for %s", bench_catalogue[b].name);
    }
    /* header: the rows that ran, in catalogue order; qemu-kvm did not run */
    assert_non_null(strstr(md, "| benchmark | unit | native | container | trap-emulate | "
                               "paravirt | hwassist | qemu-tcg | hwassist-svm |"));
    char *l = line_with(md, "| exit.syscall | ns/op |");
    /* trap-emulate: 6.30 µs, ×101.6 of native's 62 ns, spread 6.17–6.62 */
    assert_non_null(strstr(l, "| 6.30 µs ×102 [6.17–6.62] |"));
    assert_non_null(strstr(l, "| 62.0 ns [60.8–65.1] |"));
    free(l);
    l = line_with(md, "| mem.chase_4k.16K | ns/access |");
    assert_non_null(strstr(l, "1.30 ns [1.27–1.37]"));
    free(l);
    free(md);
    results_free(&res);
}

static void report_lists_na_reasons_once_as_notes(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *md = to_text(write_report, &res, NULL);
    char *l = line_with(md, "| exit.rdmsr | ns/op |");
    assert_non_null(strstr(l, "| n/a ("));
    free(l);
    /* the notes under the exit table: each reason once */
    const char *exit_tab = strstr(md, "### Exit latency\n");
    const char *mem_tab = strstr(md, "### Memory translation\n");
    assert_non_null(exit_tab);
    assert_non_null(mem_tab);
    char *section = strndup(exit_tab, (size_t)(mem_tab - exit_tab));
    assert_int_equal(count(section, ". a paravirtual guest has no MSRs (its timer and system "
                                    "calls are hypercalls)\n"), 1);
    assert_int_equal(count(section, ". needs ring 0: a Linux process cannot run it\n"), 1);
    /* markdown in a reason is escaped */
    assert_non_null(strstr(md, "hwassist-svm's short set (the run is emulated: \"slow\")"));
    free(section);
    free(md);
    results_free(&res);
}

static void report_has_the_signature_sentences(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char *md = to_text(write_report, &res, NULL);
    char *l = line_with(md, "- **exit.cli_sti**: ");
    assert_non_null(l);
    assert_non_null(strstr(l, "trap-emulate 2.00 exits/op (emulate cli 1.00, emulate sti 1.00)"));
    assert_non_null(strstr(l, "paravirt 0.00 (the shared-page mask"));
    assert_non_null(strstr(l, "hwassist 0.0004 counted by KVM"));
    free(l);
    l = line_with(md, "- **exit.cpuid**: ");
    assert_non_null(l);
    assert_non_null(strstr(l, "trap-emulate 0.00 exits/op — cpuid is not privileged, so in "
                              "ring 3 it runs natively and returns the host's values: the "
                              "Popek–Goldberg violation"));
    assert_non_null(strstr(l, "hwassist 1.00 (cpuid exits to the hypervisor"));
    free(l);
    l = line_with(md, "- **mem.pt\\_update**: ") ? line_with(md, "- **mem.pt\\_update**: ")
                                                 : line_with(md, "- **mem.pt_update**: ");
    assert_non_null(l);
    assert_non_null(strstr(l, "1.00 exits/page on trap-emulate vs 0.02 on paravirt (batched "
                              "mmu_update): ×64.1 fewer exits"));
    assert_non_null(strstr(l, "hwassist 0.00 (no exit: the guest writes its own page tables)"));
    free(l);
    /* wins, computed from the fixture's times (hwassist-svm left out) */
    l = line_with(md, "is fastest on");
    assert_non_null(l);
    assert_non_null(strstr(l, "**hwassist** is fastest on 10 of 19 exit benchmarks that at least two of "
                              "them ran (paravirt on 5, trap-emulate on 2, qemu-tcg on 2)"));
    free(l);
    assert_non_null(strstr(md, "- Median ratio paravirt/hwassist = ×1.67 over 17 benchmarks; "
                               "trap-emulate/hwassist = ×3.88 over 18 benchmarks"));
    free(md);
    results_free(&res);
}

static void report_leaves_out_sentences_whose_data_is_na(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    assert_int_equal(results_add_sample(&res, "native", "exit.cpuid", NULL, 30, NULL), 0);
    results_finish(&res, "not run");
    char *md = to_text(write_report, &res, NULL);
    assert_null(strstr(md, "**exit.cli_sti**"));
    assert_null(strstr(md, "**exit.cpuid**"));
    assert_null(strstr(md, "pt_update**"));
    assert_null(strstr(md, "pt\\_update**"));
    assert_null(strstr(md, "is fastest"));
    assert_null(strstr(md, "Warning"));
    assert_non_null(strstr(md, "Not enough rows ran to compare techniques."));
    assert_non_null(strstr(md, "No plots: gnuplot is not installed"));
    assert_non_null(strstr(md, "the quick set of benchmarks"));
    free(md);
    results_free(&res);
}

static void report_has_exits_tables_guide_plots_and_machine(void **state)
{
    (void)state;
    struct results res;
    fixture(&res);
    char made[3][64] = {"exit_latency.png", "mem_chase.png", "exits_per_op.png"};
    struct report_args a = {made, 3, NULL};
    char *md = to_text(write_report, &res, &a);
    const char *order[] = {"## Summary", "## Results", "| benchmark | trap-emulate | paravirt |",
                           "## Decision guide", "## Plots", "## Machine", "## Configuration"};
    const char *prev = md;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *p = strstr(prev, order[i]);
        if (!p)
            fail_msg("\"%s\" missing or out of order", order[i]);
        prev = p;
    }
    assert_non_null(strstr(md, "![Exit latency per row (ns/op, log scale)](exit_latency.png)"));
    assert_non_null(strstr(md, "](exits_per_op.png)"));
    assert_null(strstr(md, "No plots"));
    /* the exits table: KVM-counted rows say so */
    assert_non_null(strstr(md, "hwassist: counted by KVM"));
    char *l = line_with(md, "| exit.cli_sti | **2.00**");
    assert_non_null(l);
    free(l);
    /* the decision guide cites measured ratios */
    l = line_with(md, "- **Many system calls, context switches and page-table updates**");
    assert_non_null(l);
    assert_non_null(strstr(l, "hwassist is fastest"));
    free(l);
    assert_non_null(strstr(md, "- **An unmodified guest kernel**"));
    assert_non_null(strstr(md, "- **Isolation without a guest kernel**: the container row runs "
                               "at a median ×1.0"));
    /* machine values are escaped for the table */
    assert_non_null(strstr(md, "| cpu | AMD EPYC 7B13 \\| \"quoted\" |"));
    assert_non_null(strstr(md, "| note | line one line two |"));
    free(md);
    results_free(&res);
}

/* ---- plots ------------------------------------------------------------------------------ */

static bool have_gnuplot(void)
{
    return system("gnuplot --version >/dev/null 2>&1") == 0;
}

static void plots_are_made_by_gnuplot(void **state)
{
    (void)state;
    if (!have_gnuplot()) {
        print_message("gnuplot is not installed (apt-get install gnuplot-nox): skipped\n");
        skip();
    }
    char dir[] = "/tmp/hvlab-plots-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct results res;
    fixture(&res);
    char made[4][64], err[256];
    int n = plots_write(&res, dir, made, 4, err, sizeof(err));
    if (n < 0)
        fail_msg("plots_write: %s", err);
    assert_int_equal(n, 3);
    assert_string_equal(made[0], "exit_latency.png");
    assert_string_equal(made[1], "mem_chase.png");
    assert_string_equal(made[2], "exits_per_op.png");
    assert_string_equal(err, "");
    for (int i = 0; i < n; i++) {
        char path[512];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
        assert_int_equal(stat(path, &sb), 0);
        assert_true(sb.st_size > 1000);
    }
    const char *keep = getenv("HVLAB_SAMPLE_DIR");
    if (keep && *keep) {
        char cmd[2048];
        snprintf(cmd, sizeof(cmd), "mkdir -p '%.500s' && cp %s/*.png %s/*.dat %s/*.gp '%.500s'/",
                 keep, dir, dir, dir, keep);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "%.500s/report.md", keep);
        FILE *f = fopen(cmd, "w");
        assert_non_null(f);
        assert_int_equal(report_write_md(&res, f, made, (size_t)n, err), 0);
        fclose(f);
        snprintf(cmd, sizeof(cmd), "%.500s/results.json", keep);
        f = fopen(cmd, "w");
        assert_non_null(f);
        assert_int_equal(results_write_json(&res, f), 0);
        fclose(f);
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    results_free(&res);
}

static void plots_without_data_are_not_made_and_say_why(void **state)
{
    (void)state;
    if (!have_gnuplot()) {
        print_message("gnuplot is not installed (apt-get install gnuplot-nox): skipped\n");
        skip();
    }
    char dir[] = "/tmp/hvlab-plots-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct results res;
    results_init(&res);
    assert_int_equal(results_add_sample(&res, "native", "mem.chase_4k.16K", NULL, 1.3, NULL), 0);
    results_finish(&res, "not run");
    char made[4][64], err[256];
    assert_int_equal(plots_write(&res, dir, made, 4, err, sizeof(err)), 1);
    assert_string_equal(made[0], "mem_chase.png");
    assert_non_null(strstr(err, "exit latency: no row has exit benchmark results"));
    assert_non_null(strstr(err, "exits per operation: no row with exit counters"));
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    results_free(&res);
}

static void plots_report_a_missing_gnuplot(void **state)
{
    (void)state;
    char dir[] = "/tmp/hvlab-plots-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct results res;
    fixture(&res);
    char made[4][64], err[256];
    setenv("GNUPLOT", "/nonexistent/gnuplot", 1);
    assert_int_equal(plots_write(&res, dir, made, 4, err, sizeof(err)), -1);
    unsetenv("GNUPLOT");
    assert_non_null(strstr(err, "cannot run /nonexistent/gnuplot"));
    /* a failing gnuplot: its error line is the reason */
    setenv("GNUPLOT", "false", 1);
    assert_int_equal(plots_write(&res, dir, made, 4, err, sizeof(err)), -1);
    unsetenv("GNUPLOT");
    assert_non_null(strstr(err, "failed (exit 1)"));
    assert_int_equal(plots_write(&res, "/nonexistent-dir", made, 4, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot write /nonexistent-dir/exit_latency.dat"));
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    results_free(&res);
}

int main(void)
{
    const struct CMUnitTest json[] = {
        cmocka_unit_test(json_has_schema_machine_config_and_every_pair),
        cmocka_unit_test(json_ok_entry_has_numbers_samples_and_exits),
        cmocka_unit_test(json_na_entry_has_nulls_and_reason),
        cmocka_unit_test(json_io_entry_has_percentiles_kicks_and_interrupts),
        cmocka_unit_test(json_escapes_quotes_newlines_control_and_bad_utf8),
        cmocka_unit_test(json_numbers_keep_precision_and_never_print_nan),
        cmocka_unit_test(json_of_an_empty_set_is_valid),
        cmocka_unit_test(json_write_error_is_reported),
    };
    const struct CMUnitTest report[] = {
        cmocka_unit_test(report_starts_with_the_software_kvm_warning),
        cmocka_unit_test(report_has_a_table_row_per_benchmark_with_ratio_and_spread),
        cmocka_unit_test(report_lists_na_reasons_once_as_notes),
        cmocka_unit_test(report_has_the_signature_sentences),
        cmocka_unit_test(report_leaves_out_sentences_whose_data_is_na),
        cmocka_unit_test(report_has_exits_tables_guide_plots_and_machine),
        cmocka_unit_test(report_io_table_shows_throughput_percentiles_kicks_and_event_idx),
    };
    const struct CMUnitTest plots[] = {
        cmocka_unit_test(plots_are_made_by_gnuplot),
        cmocka_unit_test(plots_without_data_are_not_made_and_say_why),
        cmocka_unit_test(plots_report_a_missing_gnuplot),
    };
    int failed = cmocka_run_group_tests_name("bench results.json", json, NULL, NULL);
    failed += cmocka_run_group_tests_name("bench report.md", report, NULL, NULL);
    failed += cmocka_run_group_tests_name("bench plots", plots, NULL, NULL);
    return failed ? 1 : 0;
}
