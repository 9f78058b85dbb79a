/* Unit tests: the benchmark catalogue, statistics and the results set
 * (bench/lib/catalogue.c, statistics.c, results.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "bench/lib/catalogue.h"
#include "bench/lib/results.h"

/* ---- catalogue ------------------------------------------------------------ */

static void catalogue_lists_rows_in_the_documented_order(void **state)
{
    (void)state;
    static const char *const rows[] = {"native", "container", "trap-emulate", "paravirt",
                                       "hwassist", "qemu-tcg", "qemu-kvm", "hwassist-svm",
                                       "hwassist-ioeventfd", "hwassist-svm-ioeventfd"};
    assert_int_equal(bench_rows_len, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_string_equal(bench_rows[i].name, rows[i]);
        assert_true(strlen(bench_rows[i].title) > 0);
        bool counters = !strcmp(rows[i], "trap-emulate") || !strcmp(rows[i], "paravirt") ||
                        !strncmp(rows[i], "hwassist", 8);
        assert_int_equal(bench_rows[i].exit_counters, counters);
        assert_int_equal(bench_rows[i].io_only, strstr(rows[i], "-ioeventfd") != NULL);
        assert_int_equal(row_times_emulated(rows[i]), !strncmp(rows[i], "hwassist-svm", 12));
        assert_ptr_equal(row_find(rows[i]), &bench_rows[i]);
        assert_int_equal(row_index(rows[i]), (int)i);
    }
    assert_string_equal(bench_rows[2].title,
                        "trap-and-emulate (hv-trap-emulate: deprivileged ring 3 + shadow paging)");
    assert_null(row_find("vmware"));
    assert_null(row_find(NULL));
}

static void catalogue_lists_benchmarks_units_and_quick_set(void **state)
{
    (void)state;
    static const char *const names[] = {
        "exit.hypercall", "exit.pio_out", "exit.pio_in", "exit.mmio_read", "exit.mmio_write",
        "exit.cpuid", "exit.rdtsc", "exit.rdmsr", "exit.wrmsr", "exit.cli_sti", "exit.cr8_write",
        "exit.cr3_reload", "exit.syscall", "exit.divzero", "exit.pagefault", "exit.ptemod",
        "exit.as_switch", "exit.timer_irq", "exit.hlt_wakeup",
        "mem.chase_4k.16K", "mem.chase_4k.256K", "mem.chase_4k.4M", "mem.chase_4k.64M",
        "mem.chase_4k.256M", "mem.chase_2m.16K", "mem.chase_2m.256K", "mem.chase_2m.4M",
        "mem.chase_2m.64M", "mem.chase_2m.256M", "mem.first_touch", "mem.pt_update",
        "io.blk_read_lat_qd1", "io.blk_read_iops_qd1", "io.blk_read_iops_qd32",
        "io.blk_seq_read_mbps", "io.blk_write_iops_qd32", "io.blk_read_lat_qd1.noevent",
        "io.blk_read_iops_qd1.noevent", "io.blk_read_iops_qd32.noevent",
        "io.blk_seq_read_mbps.noevent", "io.blk_write_iops_qd32.noevent"};
    static const char *const quick[] = {"mem.chase_4k.16K", "mem.chase_4k.4M",
                                        "mem.chase_2m.4M", "mem.first_touch", "mem.pt_update",
                                        "io.blk_read_lat_qd1", "io.blk_read_iops_qd32",
                                        "io.blk_read_lat_qd1.noevent",
                                        "io.blk_read_iops_qd32.noevent"};
    assert_int_equal(bench_catalogue_len, sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < bench_catalogue_len; i++) {
        const struct bench_def *d = &bench_catalogue[i];
        assert_string_equal(d->name, names[i]);
        assert_ptr_equal(bench_find(names[i]), d);
        bool is_exit = !strncmp(d->name, "exit.", 5), is_io = !strncmp(d->name, "io.", 3);
        assert_string_equal(d->group, is_exit ? "exit" : is_io ? "io" : "mem");
        assert_string_equal(d->unit, is_exit ? "ns/op"
                                     : is_io ? "ns/req"
                                     : !strncmp(d->name, "mem.chase", 9) ? "ns/access"
                                                                         : "ns/page");
        assert_int_equal(d->io_bytes, !is_io ? 0 : strstr(d->name, "mbps") ? 65536 : 4096);
        bool q = is_exit;
        for (size_t k = 0; k < sizeof(quick) / sizeof(quick[0]); k++)
            q |= !strcmp(quick[k], d->name);
        assert_int_equal(d->quick, q);
    }
    assert_null(bench_find("exit.nothing"));
    assert_int_equal(bench_index("exit.nothing"), -1);
}

/* ---- statistics --------------------------------------------------------------- */

static void median_of_odd_count_is_the_middle_value(void **state)
{
    (void)state;
    double v[] = {5, 1, 4, 2, 3};
    assert_float_equal(stats_median(v, 5), 3, 0);
    assert_float_equal(v[0], 5, 0);     /* the input is not sorted in place */
    double one[] = {7.5};
    assert_float_equal(stats_median(one, 1), 7.5, 0);
}

static void median_of_even_count_is_the_mean_of_the_middle_two(void **state)
{
    (void)state;
    double v[] = {10, 1, 4, 2};
    assert_float_equal(stats_median(v, 4), 3, 0);
    double two[] = {1, 2};
    assert_float_equal(stats_median(two, 2), 1.5, 0);
}

static void min_and_max(void **state)
{
    (void)state;
    double v[] = {3, -1, 9, 2};
    assert_float_equal(stats_min(v, 4), -1, 0);
    assert_float_equal(stats_max(v, 4), 9, 0);
    assert_true(isnan(stats_min(v, 0)));
    assert_true(isnan(stats_median(v, 0)));
}

/* ---- results ----------------------------------------------------------------- */

static struct exit_profile profile(double total, const char *reason)
{
    struct exit_profile p;
    memset(&p, 0, sizeof(p));
    p.total = total;
    if (reason) {
        p.n = 1;
        snprintf(p.by_reason[0].reason, sizeof(p.by_reason[0].reason), "%s", reason);
        p.by_reason[0].per_op = total;
    }
    return p;
}

static void results_compute_median_min_max_per_entry(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    double s[] = {30, 10, 20, 40};
    for (int i = 0; i < 4; i++)
        assert_int_equal(results_add_sample(&res, "paravirt", "exit.cpuid", NULL, s[i], NULL), 0);
    results_finish(&res, "not run");
    const struct bench_result *e = results_find(&res, "paravirt", "exit.cpuid");
    assert_non_null(e);
    assert_false(e->na);
    assert_int_equal(e->runs, 4);
    assert_float_equal(e->median, 25, 0);
    assert_float_equal(e->min, 10, 0);
    assert_float_equal(e->max, 40, 0);
    assert_string_equal(e->unit, "ns/op");      /* from the catalogue when not given */
    assert_false(e->has_exits);
    assert_ptr_equal(results_find_ok(&res, "paravirt", "exit.cpuid"), e);
    assert_null(results_exits(&res, "paravirt", "exit.cpuid"));
    results_free(&res);
}

static void results_na_keeps_the_first_reason_and_drops_samples(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    struct exit_profile p = profile(2, "cli");
    assert_int_equal(results_add_sample(&res, "trap-emulate", "exit.cli_sti", "ns/op", 5, &p), 0);
    results_set_na(&res, "trap-emulate", "exit.cli_sti", "run 2: the guest crashed");
    results_set_na(&res, "trap-emulate", "exit.cli_sti", "run 3: another reason");
    /* a later sample does not revive it */
    assert_int_equal(results_add_sample(&res, "trap-emulate", "exit.cli_sti", "ns/op", 6, &p), 0);
    results_finish(&res, "not run");
    const struct bench_result *e = results_find(&res, "trap-emulate", "exit.cli_sti");
    assert_true(e->na);
    assert_string_equal(e->reason, "run 2: the guest crashed");
    assert_int_equal(e->runs, 0);
    assert_false(e->has_exits);
    assert_true(isnan(e->median));
    assert_null(results_find_ok(&res, "trap-emulate", "exit.cli_sti"));
    results_free(&res);
}

static void results_finish_fills_every_catalogue_pair_in_row_order(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    /* added out of order, plus one row and one benchmark the catalogue lacks */
    assert_int_equal(results_add_sample(&res, "qemu-tcg", "mem.pt_update", NULL, 1, NULL), 0);
    assert_int_equal(results_add_sample(&res, "experimental", "exit.cpuid", NULL, 1, NULL), 0);
    assert_int_equal(results_add_sample(&res, "native", "exit.new_thing", "ns/op", 1, NULL), 0);
    assert_int_equal(results_add_sample(&res, "native", "exit.cpuid", NULL, 1, NULL), 0);
    results_set_na(&res, "paravirt", "exit.rdmsr", "a paravirtual guest has no MSRs");
    results_finish(&res, "this row did not run");
    assert_int_equal(res.n, bench_rows_len * bench_catalogue_len + 2);
    size_t i = 0;
    for (size_t r = 0; r < bench_rows_len; r++) {
        for (size_t b = 0; b < bench_catalogue_len; b++, i++) {
            assert_string_equal(res.r[i].row, bench_rows[r].name);
            assert_string_equal(res.r[i].bench, bench_catalogue[b].name);
            assert_string_equal(res.r[i].unit, bench_catalogue[b].unit);
        }
        if (r == 0) {   /* native's unknown benchmark right after its known ones */
            assert_string_equal(res.r[i].bench, "exit.new_thing");
            i++;
        }
    }
    assert_string_equal(res.r[i].row, "experimental");
    assert_false(results_find(&res, "native", "exit.cpuid")->na);
    assert_false(results_find(&res, "qemu-tcg", "mem.pt_update")->na);
    assert_string_equal(results_find(&res, "paravirt", "exit.rdmsr")->reason,
                        "a paravirtual guest has no MSRs");
    const struct bench_result *e = results_find(&res, "hwassist", "mem.chase_2m.64M");
    assert_true(e->na);
    assert_string_equal(e->reason, "this row did not run");
    /* finishing twice changes nothing */
    results_finish(&res, "again");
    assert_int_equal(res.n, bench_rows_len * bench_catalogue_len + 2);
    assert_string_equal(results_find(&res, "hwassist", "mem.chase_2m.64M")->reason,
                        "this row did not run");
    results_free(&res);
}

static void results_median_run_gives_the_exit_profile(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    double t[] = {300, 100, 200};
    double x[] = {3.0, 1.0, 2.0};
    for (int i = 0; i < 3; i++) {
        struct exit_profile p = profile(x[i], "r");
        assert_int_equal(results_add_sample(&res, "hwassist", "exit.pio_out", NULL, t[i], &p), 0);
    }
    /* even count: the lower middle run (200 of 100, 200, 300, 400) */
    double t2[] = {400, 100, 300, 200};
    for (int i = 0; i < 4; i++) {
        struct exit_profile p = profile(t2[i] / 100, NULL);
        assert_int_equal(results_add_sample(&res, "paravirt", "exit.pio_out", NULL, t2[i], &p),
                         0);
    }
    results_finish(&res, NULL);
    assert_float_equal(results_exits(&res, "hwassist", "exit.pio_out")->total, 2.0, 0);
    assert_float_equal(results_exits(&res, "paravirt", "exit.pio_out")->total, 2.0, 0);
    assert_float_equal(results_find(&res, "paravirt", "exit.pio_out")->median, 250, 0);
    /* a missing_reason of NULL still gives a reason */
    assert_string_equal(results_find(&res, "native", "exit.cpuid")->reason, "not run");
    results_free(&res);
}

static void results_refuse_too_many_runs_and_non_finite_values(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    for (int i = 0; i < RESULTS_MAX_RUNS; i++)
        assert_int_equal(results_add_sample(&res, "native", "exit.cpuid", NULL, i, NULL), 0);
    assert_int_equal(results_add_sample(&res, "native", "exit.cpuid", NULL, 1, NULL), -1);
    assert_int_equal(results_add_sample(&res, "native", "exit.rdtsc", NULL, NAN, NULL), -1);
    assert_int_equal(results_add_sample(&res, "native", "exit.rdtsc", NULL, INFINITY, NULL), -1);
    char longname[80];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(results_add_sample(&res, longname, "exit.cpuid", NULL, 1, NULL), -1);
    assert_null(results_find(&res, "native", "exit.rdtsc"));
    results_free(&res);
}

static void results_machine_and_config_keep_order_and_replace_keys(void **state)
{
    (void)state;
    struct results res;
    results_init(&res);
    results_machine(&res, "cpu", "%s", "Some CPU\x1b[0m");
    results_machine(&res, "kvm_backend", "%s", "kvm_pvm");
    results_machine(&res, "cpu", "%s @ %d MHz", "Other CPU", 3000);
    results_config(&res, "runs", "%d", 5);
    assert_int_equal(res.n_machine, 2);
    assert_string_equal(res.machine[0].key, "cpu");
    assert_string_equal(res.machine[0].value, "Other CPU @ 3000 MHz");
    assert_string_equal(res.machine[1].value, "kvm_pvm");
    assert_string_equal(res.config[0].value, "5");
    for (int i = 0; i < RESULTS_KV_MAX + 5; i++)
        results_config(&res, "k", "%d", i), results_config(&res, i % 2 ? "a" : "b", "x");
    char key[16];
    for (int i = 0; i < RESULTS_KV_MAX + 5; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        results_config(&res, key, "v");
    }
    assert_int_equal(res.n_config, RESULTS_KV_MAX);     /* the rest dropped, no overflow */
    results_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(catalogue_lists_rows_in_the_documented_order),
        cmocka_unit_test(catalogue_lists_benchmarks_units_and_quick_set),
        cmocka_unit_test(median_of_odd_count_is_the_middle_value),
        cmocka_unit_test(median_of_even_count_is_the_mean_of_the_middle_two),
        cmocka_unit_test(min_and_max),
        cmocka_unit_test(results_compute_median_min_max_per_entry),
        cmocka_unit_test(results_na_keeps_the_first_reason_and_drops_samples),
        cmocka_unit_test(results_finish_fills_every_catalogue_pair_in_row_order),
        cmocka_unit_test(results_median_run_gives_the_exit_profile),
        cmocka_unit_test(results_refuse_too_many_runs_and_non_finite_values),
        cmocka_unit_test(results_machine_and_config_keep_order_and_replace_keys),
    };
    return cmocka_run_group_tests_name("bench catalogue, statistics, results", tests, NULL, NULL);
}
