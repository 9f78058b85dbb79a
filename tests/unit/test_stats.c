/* libhv/stats: exit counters, benchmark brackets with external (KVM)
 * counters, and the --stats-file format that make bench reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libhv/stats.h"

static uint64_t fake_kvm[2];
static int fake_kvm_fails;

static int read_fake_kvm(void *ctx, uint64_t *values)
{
    (void)ctx;
    if (fake_kvm_fails)
        return -1;
    values[0] = fake_kvm[0];
    values[1] = fake_kvm[1];
    return 0;
}

static char *write_to_string(const struct hv_stats *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(stats_write_file(f, st, "hv-test", "test\tbackend"), 0);
    fclose(f);
    return buf;
}

static void test_bracket_records_only_exits_inside_it(void **state)
{
    (void)state;
    static struct hv_stats st;
    memset(&st, 0, sizeof(st));
    unsigned io = stats_reason(&st, "pio null");
    unsigned ev = stats_event(&st, "timer interrupt injected");
    stats_inc(&st, io);
    assert_null(stats_bench_begin(&st, "exit.pio_out"));
    for (int i = 0; i < 10; i++)
        stats_inc(&st, io);
    stats_inc(&st, ev);
    assert_null(stats_bench_end(&st, "exit.pio_out", 10, 12345));
    stats_inc(&st, io);
    assert_int_equal(st.n_bench, 1);
    assert_int_equal(st.bench[0].exits[io], 10);
    assert_int_equal(st.bench[0].exits[ev], 1);
    assert_int_equal(stats_total(&st), 12); /* the event is not an exit */
}

static void test_bracket_protocol_errors_are_named(void **state)
{
    (void)state;
    static struct hv_stats st;
    memset(&st, 0, sizeof(st));
    assert_non_null(stats_bench_end(&st, "x", 1, 1));
    assert_null(stats_bench_begin(&st, "a"));
    assert_non_null(stats_bench_begin(&st, "b"));
    assert_non_null(stats_bench_end(&st, "b", 1, 1));
    assert_null(stats_bench_end(&st, "a", 1, 1));
}

static void test_external_counters_attach_their_delta(void **state)
{
    (void)state;
    static struct hv_stats st;
    memset(&st, 0, sizeof(st));
    st.ext.name[0] = "exits";
    st.ext.name[1] = "io_exits";
    st.ext.n = 2;
    st.ext.read = read_fake_kvm;
    fake_kvm[0] = 100, fake_kvm[1] = 7, fake_kvm_fails = 0;
    assert_null(stats_bench_begin(&st, "exit.cpuid"));
    fake_kvm[0] = 164, fake_kvm[1] = 8;
    assert_null(stats_bench_end(&st, "exit.cpuid", 64, 1000));
    assert_int_equal(st.bench[0].external[0], 64);
    assert_int_equal(st.bench[0].external[1], 1);
    /* Unreadable counters give 0, never a wrapped difference. */
    fake_kvm_fails = 1;
    assert_null(stats_bench_begin(&st, "exit.cpuid"));
    fake_kvm_fails = 0;
    assert_null(stats_bench_end(&st, "exit.cpuid", 0, 10));
    assert_int_equal(st.bench[1].external[0], 164);
}

static void test_stats_file_has_every_record_in_order(void **state)
{
    (void)state;
    static struct hv_stats st;
    memset(&st, 0, sizeof(st));
    unsigned io = stats_reason(&st, "pio null");
    unsigned ev = stats_event(&st, "privilege change (CPL 0 <-> 3)");
    st.ext.name[0] = "exits";
    st.ext.n = 1;
    st.ext.read = read_fake_kvm;
    fake_kvm[0] = 5, fake_kvm_fails = 0;
    assert_null(stats_bench_begin(&st, "exit.pio_out"));
    stats_inc(&st, io);
    stats_inc(&st, io);
    stats_inc(&st, ev);
    fake_kvm[0] = 9;
    assert_null(stats_bench_end(&st, "exit.pio_out", 2, 777));
    assert_null(stats_bench_begin(&st, "exit.pio_out"));
    assert_null(stats_bench_end(&st, "exit.pio_out", 0, 3));
    char *text = write_to_string(&st);
    const char *want =
        "# hvlab-stats 1\n"
        "monitor\thv-test\n"
        "backend\ttest backend\n" /* a tab inside a field becomes a space */
        "exit\tpio null\t2\n"
        "event\tprivilege change (CPL 0 <-> 3)\t1\n"
        "kvm\texits\t9\n"
        "bench\t0\texit.pio_out\t2\t777\n"
        "bench-exit\t0\tpio null\t2\n"
        "bench-event\t0\tprivilege change (CPL 0 <-> 3)\t1\n"
        "bench-kvm\t0\texits\t4\n"
        "bench\t1\texit.pio_out\t0\t3\n"
        "# end hvlab-stats\n";
    assert_string_equal(text, want);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bracket_records_only_exits_inside_it),
        cmocka_unit_test(test_bracket_protocol_errors_are_named),
        cmocka_unit_test(test_external_counters_attach_their_delta),
        cmocka_unit_test(test_stats_file_has_every_record_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
