/* Unit tests: the harness's parsers (bench/lib/parse_console.c,
 * parse_stats.c, exit_profile.c), with fixed texts only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/lib/parse.h"

/* ---- console lines ------------------------------------------------------- */

static const char serial_log[] =
    "SeaBIOS (version 1.16)\r\n"
    "hvlab guest kernel: platform native, tsc 2994000 kHz\r\n"
    "bench: begin tsc_khz=2994000 tsc_source=boot-info platform=native monitor=hv-trap-emulate "
    "min_ms=20 future_key=x\r\n"
    "[kernel] timer calibrated\r\n"
    "bench: exit.cpuid ops=65536 cycles=123456789 tsc_khz=2994000 unit=ns/op value=629.123\r\n"
    "bench: exit.rdmsr n/a a paravirtual guest has no MSRs (its timer and system calls are "
    "hypercalls)\r\n"
    "  bench: exit.fake ops=1 cycles=1 tsc_khz=1\r\n"
    "benchmark: exit.other ops=1\r\n"
    "bench:exit.glued ops=1\r\n"
    "bench: mem.chase_4k.16K ops=1000 cycles=2994 tsc_khz=2994000 unit=ns/access\r\n"
    "bench: exit.ptemod failed: the page was still mapped after invlpg\r\n"
    "bench: done ok=2 na=1 failed=1\r\n"
    "hvlab: guest exited with 0\r\n";

static void console_reads_good_and_na_lines_among_kernel_noise(void **state)
{
    (void)state;
    struct console_run r;
    char err[256];
    assert_int_equal(parse_console(serial_log, &r, err, sizeof(err)), 0);
    assert_true(r.saw_begin);
    assert_true(r.saw_done);
    assert_int_equal(r.tsc_khz, 2994000);
    assert_int_equal(r.min_ms, 20);
    assert_string_equal(r.platform, "native");
    assert_string_equal(r.monitor, "hv-trap-emulate");
    assert_string_equal(r.tsc_source, "boot-info");
    assert_int_equal(r.done_ok, 2);
    assert_int_equal(r.done_na, 1);
    assert_int_equal(r.done_failed, 1);
    assert_false(r.unavailable);
    assert_int_equal(r.n, 4);   /* the indented, renamed and glued lines are not ours */

    const struct console_line *l = console_find(&r, "exit.cpuid");
    assert_non_null(l);
    assert_false(l->na);
    assert_int_equal(l->ops, 65536);
    assert_int_equal(l->cycles, 123456789);
    assert_int_equal(l->tsc_khz, 2994000);
    assert_string_equal(l->unit, "ns/op");

    l = console_find(&r, "exit.rdmsr");
    assert_non_null(l);
    assert_true(l->na);
    assert_string_equal(l->reason, "a paravirtual guest has no MSRs (its timer and system calls "
                                   "are hypercalls)");
    assert_false(l->failed);

    /* a failed benchmark is an n/a entry whose reason says it failed */
    l = console_find(&r, "exit.ptemod");
    assert_non_null(l);
    assert_true(l->na);
    assert_true(l->failed);
    assert_string_equal(l->reason, "failed: the page was still mapped after invlpg");
    assert_null(console_find(&r, "exit.fake"));
    assert_null(console_find(&r, "exit.other"));
    assert_null(console_find(&r, "exit.glued"));
    console_run_free(&r);
}

static void console_value_is_cycles_times_1e6_over_khz_times_ops(void **state)
{
    (void)state;
    struct console_line l = {.ops = 65536, .cycles = 123456789, .tsc_khz = 2994000};
    /* 123456789 cycles at 2.994 GHz = 41234.7 µs; / 65536 ops = 629.19 ns */
    assert_float_equal(console_value_ns(&l), 123456789.0 * 1e6 / (2994000.0 * 65536.0), 1e-9);
    assert_float_equal(console_value_ns(&l), 629.1916, 1e-3);
    /* products beyond 64 bits are computed in double, not wrapped */
    struct console_line big = {.ops = UINT64_MAX, .cycles = UINT64_MAX, .tsc_khz = UINT64_MAX};
    assert_float_equal(console_value_ns(&big), 1e6 / 18446744073709551615.0, 1e-25);
    struct console_line na = {.na = true};
    assert_true(console_value_ns(&na) != console_value_ns(&na));    /* NaN */
}

static void console_reads_optional_percentiles_once(void **state)
{
    (void)state;
    struct console_run run;
    char err[256];
    const char *text =
        "bench: begin tsc_khz=1000000 tsc_source=x platform=native monitor=m min_ms=1\n"
        "bench: io.blk_read_lat_qd1 ops=10 cycles=5000 tsc_khz=1000000 unit=ns/req "
        "value=500.000 p50=480 p99=910\n"
        "bench: io.blk_read_iops_qd1 ops=10 cycles=5000 tsc_khz=1000000 unit=ns/req value=500\n"
        "bench: done ok=2 na=0\n";
    assert_int_equal(parse_console(text, &run, err, sizeof(err)), 0);
    const struct console_line *l = console_find(&run, "io.blk_read_lat_qd1");
    assert_non_null(l);
    assert_int_equal(l->p50_ns, 480);
    assert_int_equal(l->p99_ns, 910);
    l = console_find(&run, "io.blk_read_iops_qd1");
    assert_int_equal(l->p50_ns, 0);        /* optional: absent is 0, not an error */
    console_run_free(&run);
    /* given twice: two lines ran together */
    assert_int_equal(parse_console("bench: x ops=1 cycles=1 tsc_khz=1 unit=ns/req p50=1 p50=2\n",
                                   &run, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "p50= given twice"));
}

static void console_reports_unavailable_with_its_reason(void **state)
{
    (void)state;
    struct console_run r;
    char err[256];
    const char *text = "bench: unavailable this guest was built without the bench command\n";
    assert_int_equal(parse_console(text, &r, err, sizeof(err)), 0);
    assert_true(r.unavailable);
    assert_string_equal(r.unavailable_reason, "this guest was built without the bench command");
    assert_false(r.saw_begin);
    assert_int_equal(r.done_ok, -1);
    console_run_free(&r);
}

static void console_text_without_bench_lines_is_empty_not_an_error(void **state)
{
    (void)state;
    struct console_run r;
    char err[256];
    assert_int_equal(parse_console("hello\nworld", &r, err, sizeof(err)), 0);
    assert_int_equal(r.n, 0);
    assert_false(r.saw_begin);
    assert_int_equal(parse_console("", &r, err, sizeof(err)), 0);
    assert_int_equal(parse_console(NULL, &r, err, sizeof(err)), -1);
}

/* Each malformed line is an error whose message contains the given words. */
static void console_rejects_malformed_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"bench: exit.cpuid cycles=1 tsc_khz=1 unit=ns/op\n", "missing ops="},
        {"bench: exit.cpuid ops=1 tsc_khz=1\n", "missing cycles="},
        {"bench: exit.cpuid ops=1 cycles=1\n", "missing tsc_khz="},
        {"bench: exit.cpuid ops=0 cycles=1 tsc_khz=1\n", "ops=0"},
        {"bench: exit.cpuid ops=1 cycles=0 tsc_khz=1\n", "cycles=0"},
        {"bench: exit.cpuid ops=1 cycles=1 tsc_khz=0\n", "tsc_khz=0"},
        {"bench: exit.cpuid ops=-1 cycles=1 tsc_khz=1\n", "not a number"},
        {"bench: exit.cpuid ops=12x cycles=1 tsc_khz=1\n", "not a number"},
        {"bench: exit.cpuid ops= cycles=1 tsc_khz=1\n", "not a number"},
        {"bench: exit.cpuid ops=1 cycles=1 tsc_khz=1 ops=2\n", "given twice"},
        {"bench: exit.cpuid ops=1 cycles=1 tsc_khz=1 garbage\n", "not key=value"},
        {"bench: exit.cpuid ops=1 cycles=1 tsc_khz=1 =5\n", "not key=value"},
        {"bench: exit.cpuid n/a\n", "without a reason"},
        {"bench: exit.cpuid failed:\n", "failed without a reason"},
        {"bench: exit.cpuid n/a    \n", "without a reason"},
        {"bench: \n", "no benchmark name"},
        {"bench:  exit.cpuid ops=1 cycles=1 tsc_khz=1\n", "no benchmark name"},
        {"bench: exit.cp\"uid ops=1 cycles=1 tsc_khz=1\n", "character"},
        {"bench: unavailable\n", "without a reason"},
        {"bench: begin tsc_khz=abc\n", "tsc_khz"},
        {"bench: begin\nbench: begin\n", "second"},
        {"bench: done ok=lots\n", "not a count"},
        {"bench: exit.cpuid ops=1 cycles=1 tsc_khz=1 unit=ns/op/very/long/unit\n", "unit"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct console_run r;
        char err[256] = "";
        int rc = parse_console(bad[i].text, &r, err, sizeof(err));
        if (rc != -1 || !strstr(err, bad[i].why))
            fail_msg("case %zu (%s): rc %d, err \"%s\", expected \"%s\"", i, bad[i].text, rc, err,
                     bad[i].why);
        assert_null(r.lines);   /* nothing left to free after an error */
        assert_true(strstr(err, "console line ") == err);
    }
}

static void console_rejects_numbers_beyond_64_bits(void **state)
{
    (void)state;
    struct console_run r;
    char err[256];
    /* 2^64 - 1 fits, 2^64 does not; a 400-digit number neither */
    assert_int_equal(parse_console("bench: a ops=18446744073709551615 cycles=1 tsc_khz=1\n", &r,
                                   err, sizeof(err)), 0);
    assert_int_equal(r.lines[0].ops, UINT64_MAX);
    console_run_free(&r);
    assert_int_equal(parse_console("bench: a ops=18446744073709551616 cycles=1 tsc_khz=1\n", &r,
                                   err, sizeof(err)), -1);
    assert_non_null(strstr(err, "64 bits"));
    char line[600] = "bench: a ops=1 cycles=";
    memset(line + strlen(line), '9', 400);
    strcat(line, " tsc_khz=1\n");
    assert_int_equal(parse_console(line, &r, err, sizeof(err)), -1);
}

static void console_rejects_a_duplicate_benchmark(void **state)
{
    (void)state;
    struct console_run r;
    char err[256];
    const char *text = "bench: exit.cpuid ops=1 cycles=1 tsc_khz=1\n"
                       "noise\n"
                       "bench: exit.cpuid n/a second try\n";
    assert_int_equal(parse_console(text, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "console line 3"));
    assert_non_null(strstr(err, "second line"));
}

static void console_handles_lines_of_any_length(void **state)
{
    (void)state;
    struct console_run r;
    char err[128];
    size_t big = 1 << 20;
    char *text = malloc(big + 200);
    assert_non_null(text);
    /* a 1 MiB noise line, then a name of 1 MiB: noise is skipped, the name
     * is an error (not an overflow), and the error message stays bounded */
    memset(text, 'x', big);
    strcpy(text + big, "\nbench: exit.cpuid ops=1 cycles=1 tsc_khz=1\n");
    assert_int_equal(parse_console(text, &r, err, sizeof(err)), 0);
    assert_int_equal(r.n, 1);
    console_run_free(&r);
    strcpy(text, "bench: ");
    memset(text + 7, 'n', big);
    strcpy(text + 7 + big, " ops=1 cycles=1 tsc_khz=1\n");
    assert_int_equal(parse_console(text, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longer than 63"));
    /* a reason of 1 MiB is cut to fit */
    strcpy(text, "bench: exit.cpuid n/a ");
    memset(text + 22, 'r', big);
    text[22 + big] = '\0';
    assert_int_equal(parse_console(text, &r, err, sizeof(err)), 0);
    assert_int_equal(strlen(r.lines[0].reason), BENCH_REASON_MAX - 1);
    console_run_free(&r);
    free(text);
}

static void console_reason_control_characters_become_spaces(void **state)
{
    (void)state;
    struct console_run r;
    char err[128];
    assert_int_equal(parse_console("bench: x n/a bad\x1b[31mred\x7f end\n", &r, err, sizeof(err)),
                     0);
    assert_string_equal(r.lines[0].reason, "bad [31mred  end");
    console_run_free(&r);
}

static void console_many_lines_grow_the_array(void **state)
{
    (void)state;
    struct console_run r;
    char err[128];
    size_t cap = 300 * 64;
    char *text = malloc(cap), *p = text;
    for (int i = 0; i < 300; i++)
        p += sprintf(p, "bench: b%d ops=%d cycles=1000 tsc_khz=1000\n", i, i + 1);
    assert_int_equal(parse_console(text, &r, err, sizeof(err)), 0);
    assert_int_equal(r.n, 300);
    assert_int_equal(console_find(&r, "b299")->ops, 300);
    console_run_free(&r);
    free(text);
}

/* ---- statistics file -------------------------------------------------------- */

static const char stats_te[] =
    "hv-trap-emulate: guest console follows\n"
    "# hvlab-stats 1\n"
    "monitor\thv-trap-emulate\n"
    "backend\tring-3 engine (ptrace)\n"
    "exit\temulate cli\t200010\n"
    "exit\temulate sti\t200010\n"
    "event\tprivilege change (CPL 0 <-> 3)\t42\n"
    "future-record\twhatever\t1\n"
    "bench\t0\texit.cli_sti\t100000\t5000000\n"
    "bench-exit\t0\temulate cli\t100003\n"
    "bench-exit\t0\temulate sti\t100002\n"
    "bench-exit\t0\tcontrol port\t2\n"
    "bench-event\t0\tprivilege change (CPL 0 <-> 3)\t4\n"
    "bench\t1\texit.cli_sti\t0\t900\n"
    "bench-exit\t1\temulate cli\t3\n"
    "bench-exit\t1\temulate sti\t2\n"
    "bench-exit\t1\tcontrol port\t5\n"
    "bench\t2\texit.cpuid\t1000\t30000\n"
    "bench-exit\t2\tcontrol port\t2\n"
    "bench\t3\texit.cpuid\t0\t200\n"
    "bench-exit\t3\tcontrol port\t2\n"
    "# end hvlab-stats\n"
    "hv-trap-emulate: guest exited with 0\n";

static void stats_reads_totals_and_brackets(void **state)
{
    (void)state;
    struct stats_file f;
    char err[256];
    assert_int_equal(parse_stats_file(stats_te, &f, err, sizeof(err)), 0);
    assert_string_equal(f.monitor, "hv-trap-emulate");
    assert_string_equal(f.backend, "ring-3 engine (ptrace)");
    assert_int_equal(f.n_totals, 3);
    assert_int_equal(f.totals[0].kind, STATS_EXIT);
    assert_string_equal(f.totals[0].reason, "emulate cli");
    assert_int_equal(f.totals[0].count, 200010);
    assert_int_equal(f.totals[2].kind, STATS_EVENT);
    assert_int_equal(f.n_b, 4);
    assert_string_equal(f.b[0].name, "exit.cli_sti");
    assert_int_equal(f.b[0].iterations, 100000);
    assert_int_equal(f.b[0].cycles, 5000000);
    assert_int_equal(f.b[0].n, 4);
    assert_int_equal(f.b[1].iterations, 0);
    assert_string_equal(f.b[3].name, "exit.cpuid");
    assert_int_equal(f.b[3].c[0].count, 2);
    stats_file_free(&f);
    assert_null(f.b);
}

static void stats_counts_may_come_before_their_bench_line(void **state)
{
    (void)state;
    struct stats_file f;
    char err[256];
    const char *text = "# hvlab-stats 1\n"
                       "bench-exit\t1\tx\t7\n"
                       "bench\t1\tb\t0\t1\n"
                       "bench\t0\tb\t10\t1\n"
                       "# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(f.n_b, 2);
    assert_int_equal(f.b[0].iterations, 10);    /* in INDEX order, not line order */
    assert_int_equal(f.b[1].n, 1);
    assert_int_equal(f.b[1].c[0].count, 7);
    stats_file_free(&f);
}

static void stats_reads_kvm_lines(void **state)
{
    (void)state;
    struct stats_file f;
    char err[256];
    const char *text = "# hvlab-stats 1\n"
                       "monitor\thv-hwassist\n"
                       "backend\tkvm_pvm\n"
                       "exit\tport I/O\t12\n"
                       "kvm\texits\t5000\n"
                       "bench\t0\texit.cpuid\t100\t1\n"
                       "bench-kvm\t0\texits\t104\n"
                       "bench-kvm\t0\tio_exits\t2\n"
                       "# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(f.n_totals, 2);
    assert_int_equal(f.totals[1].kind, STATS_KVM);
    assert_int_equal(f.b[0].c[0].kind, STATS_KVM);
    assert_string_equal(f.b[0].c[1].reason, "io_exits");
    stats_file_free(&f);
}

static void stats_rejects_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"no block here\n", "no \"# hvlab-stats 1\" block"},
        {"# hvlab-stats 2\n# end hvlab-stats\n", "unknown statistics format version"},
        {"# hvlab-stats 1\nexit\tx\t1\n", "no \"# end hvlab-stats\" line"},
        {"# hvlab-stats 1\nbench\t0\tb\t1\t1\nbench-exit\t1\tx\t1\n# end hvlab-stats\n",
         "INDEX 1, which has no bench line"},
        {"# hvlab-stats 1\nbench-exit\t0\tx\t1\n# end hvlab-stats\n", "no bench line"},
        {"# hvlab-stats 1\nbench\t1\tb\t1\t1\n# end hvlab-stats\n", "out of range"},
        {"# hvlab-stats 1\nbench\t0\tb\t1\t1\nbench\t0\tb\t1\t1\n# end hvlab-stats\n",
         "given twice"},
        {"# hvlab-stats 1\nbench\tx\tb\t1\t1\n# end hvlab-stats\n", "INDEX is not a number"},
        {"# hvlab-stats 1\nbench\t0\tb\t-1\t1\n# end hvlab-stats\n", "ITERATIONS"},
        {"# hvlab-stats 1\nexit\tx\t18446744073709551616\n# end hvlab-stats\n", "64 bits"},
        {"# hvlab-stats 1\nexit\tx\n# end hvlab-stats\n", "too few"},
        {"# hvlab-stats 1\nexit\t\t1\n# end hvlab-stats\n", "empty name"},
        {"# hvlab-stats 1\nbench\t0\t\t1\t1\n# end hvlab-stats\n", "NAME is empty"},
        {"# hvlab-stats 1\nexit\tx\t18446744073709551615\nexit\tx\t1\n# end hvlab-stats\n",
         "overflows"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct stats_file f;
        char err[256] = "";
        int rc = parse_stats_file(bad[i].text, &f, err, sizeof(err));
        if (rc != -1 || !strstr(err, bad[i].why))
            fail_msg("case %zu: rc %d, err \"%s\", expected \"%s\"", i, rc, err, bad[i].why);
        assert_null(f.b);
        assert_null(f.totals);
    }
}

static void stats_ignores_unknown_records_and_extra_fields(void **state)
{
    (void)state;
    struct stats_file f;
    char err[256];
    const char *text = "# hvlab-stats 1\r\n"
                       "\r\n"
                       "# a comment\r\n"
                       "histogram\t1\t2\t3\r\n"
                       "exit\tx\t5\textra field\r\n"
                       "# end hvlab-stats  \r\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(f.n_totals, 1);
    assert_int_equal(f.totals[0].count, 5);
    assert_int_equal(f.n_b, 0);
    stats_file_free(&f);
}

static void stats_reads_only_the_first_block(void **state)
{
    (void)state;
    struct stats_file f;
    char err[256];
    const char *text = "# hvlab-stats 1\nexit\ta\t1\n# end hvlab-stats\n"
                       "# hvlab-stats 1\nexit\tb\t1\n# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(f.n_totals, 1);
    assert_string_equal(f.totals[0].reason, "a");
    stats_file_free(&f);
}

static void stats_sums_a_repeated_reason(void **state)
{
    (void)state;
    struct stats_file f;
    char err[256];
    const char *text = "# hvlab-stats 1\nexit\ta\t1\nexit\ta\t2\nevent\ta\t4\n# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(f.n_totals, 2);    /* the event is another kind */
    assert_int_equal(f.totals[0].count, 3);
    stats_file_free(&f);
}

/* ---- exit profile ---------------------------------------------------------- */

static void profile_subtracts_the_base_bracket(void **state)
{
    (void)state;
    struct stats_file f;
    struct exit_profile p;
    char err[256];
    assert_int_equal(parse_stats_file(stats_te, &f, err, sizeof(err)), 0);
    assert_int_equal(stats_exit_profile(&f, "exit.cli_sti", &p, err, sizeof(err)), 0);
    assert_false(p.from_kvm);
    /* cli 100003-3, sti 100002-2, control port 2-5 < 0 -> 0; events left out */
    assert_float_equal(p.total, 2.0, 1e-12);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.by_reason[0].reason, "emulate cli");  /* ties by name */
    assert_float_equal(p.by_reason[0].per_op, 1.0, 1e-12);
    assert_string_equal(p.by_reason[1].reason, "emulate sti");

    /* cpuid: the bracket's own exits cancel out: 0 exits per operation */
    assert_int_equal(stats_exit_profile(&f, "exit.cpuid", &p, err, sizeof(err)), 0);
    assert_float_equal(p.total, 0.0, 0);
    assert_int_equal(p.n, 0);
    stats_file_free(&f);
}

static void profile_counts_virtio_kicks_and_interrupts_per_op(void **state)
{
    (void)state;
    static const char text[] =
        "# hvlab-stats 1\n"
        "bench\t0\tio.blk_read_iops_qd32\t64\t1000\n"
        "bench-exit\t0\tvirtio-blk\t6\n"
        "bench-event\t0\tvirtio queue notified\t2\n"
        "bench-event\t0\tvirtio interrupt raised\t2\n"
        "bench-event\t0\tvirtio request served\t64\n"
        "bench\t1\tio.blk_read_iops_qd32\t0\t10\n"
        "bench-exit\t1\tvirtio-blk\t1\n"
        "bench\t2\texit.cpuid\t10\t10\n"
        "bench\t3\texit.cpuid\t0\t10\n"
        "# end hvlab-stats\n";
    struct stats_file f;
    struct exit_profile p;
    char err[256];
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(stats_exit_profile(&f, "io.blk_read_iops_qd32", &p, err, sizeof(err)), 0);
    assert_true(p.has_io);
    assert_float_equal(p.total, 5.0 / 64, 1e-12);           /* events are not exits */
    assert_float_equal(p.notifies_per_op, 2.0 / 64, 1e-12);
    assert_float_equal(p.irqs_per_op, 2.0 / 64, 1e-12);
    assert_int_equal(stats_exit_profile(&f, "exit.cpuid", &p, err, sizeof(err)), 0);
    assert_false(p.has_io);
    stats_file_free(&f);
}

static void profile_clamps_negative_differences_and_sorts_largest_first(void **state)
{
    (void)state;
    struct stats_file f;
    struct exit_profile p;
    char err[256];
    const char *text = "# hvlab-stats 1\n"
                       "bench\t0\tb\t0\t1\n"
                       "bench-exit\t0\ttick\t9\n"
                       "bench-exit\t0\tsmall\t1\n"
                       "bench\t1\tb\t4\t1\n"
                       "bench-exit\t1\ttick\t1\n"
                       "bench-exit\t1\tsmall\t3\n"
                       "bench-exit\t1\tbig\t8\n"
                       "bench-exit\t1\tzero\t0\n"
                       "# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    /* the base bracket before the measured one is used when none follows */
    assert_int_equal(stats_exit_profile(&f, "b", &p, err, sizeof(err)), 0);
    assert_float_equal(p.total, 2.5, 1e-12);      /* (8 + 2 + 0) / 4 */
    assert_int_equal(p.n, 2);
    assert_string_equal(p.by_reason[0].reason, "big");
    assert_float_equal(p.by_reason[0].per_op, 2.0, 1e-12);
    assert_string_equal(p.by_reason[1].reason, "small");
    assert_float_equal(p.by_reason[1].per_op, 0.5, 1e-12);
    stats_file_free(&f);
}

static void profile_kvm_variant_has_other_exits(void **state)
{
    (void)state;
    struct stats_file f;
    struct exit_profile p;
    char err[256];
    const char *text = "# hvlab-stats 1\n"
                       "monitor\thv-hwassist\n"
                       "exit\tport I/O\t40\n"
                       "bench\t0\texit.cpuid\t1000\t1\n"
                       "bench-exit\t0\tport I/O\t2\n"
                       "bench-kvm\t0\texits\t1012\n"
                       "bench-kvm\t0\tio_exits\t2\n"
                       "bench-kvm\t0\tirq_exits\t6\n"
                       "bench-kvm\t0\tpf_fixed\t500\n"
                       "bench\t1\texit.cpuid\t0\t1\n"
                       "bench-exit\t1\tport I/O\t2\n"
                       "bench-kvm\t1\texits\t10\n"
                       "bench-kvm\t1\tio_exits\t2\n"
                       "bench-kvm\t1\tirq_exits\t1\n"
                       "# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(stats_exit_profile(&f, "exit.cpuid", &p, err, sizeof(err)), 0);
    assert_true(p.from_kvm);
    /* exits 1002 over 1000 ops; irq_exits 5; pf_fixed is not an exit
     * counter; other = 1002 - 5 = 997 */
    assert_float_equal(p.total, 1.002, 1e-12);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.by_reason[0].reason, "other exits handled in KVM");
    assert_float_equal(p.by_reason[0].per_op, 0.997, 1e-12);
    assert_string_equal(p.by_reason[1].reason, "irq_exits");
    assert_float_equal(p.by_reason[1].per_op, 0.005, 1e-12);
    stats_file_free(&f);
}

static void profile_kvm_other_is_clamped_at_zero(void **state)
{
    (void)state;
    struct stats_file f;
    struct exit_profile p;
    char err[256];
    /* KVM's listed counters can exceed "exits" (they are read a moment apart) */
    const char *text = "# hvlab-stats 1\n"
                       "bench\t0\tb\t10\t1\n"
                       "bench-kvm\t0\texits\t10\n"
                       "bench-kvm\t0\tio_exits\t8\n"
                       "bench-kvm\t0\thalt_exits\t5\n"
                       "bench\t1\tb\t0\t1\n"
                       "# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(stats_exit_profile(&f, "b", &p, err, sizeof(err)), 0);
    assert_true(p.from_kvm);
    assert_float_equal(p.total, 1.0, 1e-12);
    assert_int_equal(p.n, 2);
    for (size_t i = 0; i < p.n; i++)
        assert_string_not_equal(p.by_reason[i].reason, "other exits handled in KVM");
    stats_file_free(&f);
}

static void profile_errors_name_the_problem(void **state)
{
    (void)state;
    struct stats_file f;
    struct exit_profile p;
    char err[256];
    const char *text = "# hvlab-stats 1\n"
                       "bench\t0\tonly_measured\t5\t1\n"
                       "bench\t1\tonly_base\t0\t1\n"
                       "# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(stats_exit_profile(&f, "missing", &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no bracket"));
    assert_int_equal(stats_exit_profile(&f, "only_measured", &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no base bracket"));
    assert_int_equal(stats_exit_profile(&f, "only_base", &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "iterations 0"));
    stats_file_free(&f);
}

static void profile_uses_the_last_measured_bracket_and_the_base_after_it(void **state)
{
    (void)state;
    struct stats_file f;
    struct exit_profile p;
    char err[256];
    const char *text = "# hvlab-stats 1\n"
                       "bench\t0\tb\t10\t1\n"      /* a calibration run */
                       "bench-exit\t0\tx\t100\n"
                       "bench\t1\tb\t0\t1\n"
                       "bench\t2\tb\t100\t1\n"
                       "bench-exit\t2\tx\t103\n"
                       "bench\t3\tb\t0\t1\n"
                       "bench-exit\t3\tx\t3\n"
                       "# end hvlab-stats\n";
    assert_int_equal(parse_stats_file(text, &f, err, sizeof(err)), 0);
    assert_int_equal(stats_exit_profile(&f, "b", &p, err, sizeof(err)), 0);
    assert_float_equal(p.total, 1.0, 1e-12);
    stats_file_free(&f);
}

/* ---- robustness ---------------------------------------------------------- */

/* Deterministic mutations (a fixed-seed generator) of the sample texts:
 * every result is 0 or -1 and leaves nothing to free on -1; under
 * AddressSanitizer this is a check that no input reads or writes out of
 * bounds. */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void parsers_survive_mutated_input(void **state)
{
    (void)state;
    static const char *const seeds[] = {serial_log, stats_te};
    static const char alphabet[] = "\t\n\r =#0123456789abench:-/na\x80\xc3\xff";
    uint64_t s = 12345;
    for (int round = 0; round < 4000; round++) {
        const char *src = seeds[round % 2];
        size_t len = strlen(src);
        char *t = malloc(len + 1);
        memcpy(t, src, len + 1);
        int edits = 1 + (int)(lcg(&s) % 8);
        for (int e = 0; e < edits; e++) {
            size_t at = lcg(&s) % len;
            switch (lcg(&s) % 3) {
            case 0: t[at] = alphabet[lcg(&s) % (sizeof(alphabet) - 1)]; break;
            case 1: t[at] = '\0'; len = at ? at : 1; break;    /* truncation */
            default: t[at] = (char)(lcg(&s) & 0xff) ? (char)(lcg(&s) & 0xff) : 'x'; break;
            }
            if (len <= 1)
                break;
        }
        struct console_run r;
        struct stats_file f;
        char err[128];
        int rc = parse_console(t, &r, err, sizeof(err));
        assert_true(rc == 0 || rc == -1);
        if (rc == 0) {
            for (size_t i = 0; i < r.n; i++)
                (void)console_value_ns(&r.lines[i]);
            console_run_free(&r);
        } else {
            assert_null(r.lines);
        }
        rc = parse_stats_file(t, &f, err, sizeof(err));
        assert_true(rc == 0 || rc == -1);
        if (rc == 0) {
            struct exit_profile p;
            for (size_t i = 0; i < f.n_b; i++)
                (void)stats_exit_profile(&f, f.b[i].name, &p, err, sizeof(err));
            stats_file_free(&f);
        }
        free(t);
    }
}

int main(void)
{
    const struct CMUnitTest console[] = {
        cmocka_unit_test(console_reads_good_and_na_lines_among_kernel_noise),
        cmocka_unit_test(console_value_is_cycles_times_1e6_over_khz_times_ops),
        cmocka_unit_test(console_reads_optional_percentiles_once),
        cmocka_unit_test(console_reports_unavailable_with_its_reason),
        cmocka_unit_test(console_text_without_bench_lines_is_empty_not_an_error),
        cmocka_unit_test(console_rejects_malformed_lines),
        cmocka_unit_test(console_rejects_numbers_beyond_64_bits),
        cmocka_unit_test(console_rejects_a_duplicate_benchmark),
        cmocka_unit_test(console_handles_lines_of_any_length),
        cmocka_unit_test(console_reason_control_characters_become_spaces),
        cmocka_unit_test(console_many_lines_grow_the_array),
    };
    const struct CMUnitTest stats[] = {
        cmocka_unit_test(stats_reads_totals_and_brackets),
        cmocka_unit_test(stats_counts_may_come_before_their_bench_line),
        cmocka_unit_test(stats_reads_kvm_lines),
        cmocka_unit_test(stats_rejects_bad_files),
        cmocka_unit_test(stats_ignores_unknown_records_and_extra_fields),
        cmocka_unit_test(stats_reads_only_the_first_block),
        cmocka_unit_test(stats_sums_a_repeated_reason),
    };
    const struct CMUnitTest profile[] = {
        cmocka_unit_test(profile_subtracts_the_base_bracket),
        cmocka_unit_test(profile_counts_virtio_kicks_and_interrupts_per_op),
        cmocka_unit_test(profile_clamps_negative_differences_and_sorts_largest_first),
        cmocka_unit_test(profile_kvm_variant_has_other_exits),
        cmocka_unit_test(profile_kvm_other_is_clamped_at_zero),
        cmocka_unit_test(profile_errors_name_the_problem),
        cmocka_unit_test(profile_uses_the_last_measured_bracket_and_the_base_after_it),
    };
    const struct CMUnitTest robust[] = {
        cmocka_unit_test(parsers_survive_mutated_input),
    };
    int failed = cmocka_run_group_tests_name("bench console lines", console, NULL, NULL);
    failed += cmocka_run_group_tests_name("bench statistics file", stats, NULL, NULL);
    failed += cmocka_run_group_tests_name("bench exit profile", profile, NULL, NULL);
    failed += cmocka_run_group_tests_name("bench parser robustness", robust, NULL, NULL);
    return failed ? 1 : 0;
}
