/* Unit tests: the monitors' shared command line (libhv/cli.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "abi/hvlab_abi.h"
#include "libhv/cli.h"

static const struct hv_cli_info info = {.prog = "hv-test", .summary = "test monitor"};

static enum hv_cli_result parse(struct hv_options *o, int argc, char **argv)
{
    return hv_parse_cli(&info, argc, argv, o);
}

static void options_before_image_guest_words_after(void **state)
{
    (void)state;
    struct hv_options o;
    char *argv[] = {"hv", "--mem", "64", "--stats", "--timeout", "2.5", "g.elf", "exit", "--stats"};
    assert_int_equal(parse(&o, 9, argv), HV_CLI_RUN);
    assert_int_equal(o.mem_bytes, 64ull << 20);
    assert_true(o.stats);
    assert_false(o.trace);
    assert_true(o.timeout_sec > 2.4 && o.timeout_sec < 2.6);
    assert_string_equal(o.guest_path, "g.elf");
    assert_int_equal(o.guest_argc, 2);
    assert_string_equal(o.guest_argv[1], "--stats"); /* the guest's, not ours */
}

static void defaults_when_no_options(void **state)
{
    (void)state;
    struct hv_options o;
    char *argv[] = {"hv", "g.elf"};
    assert_int_equal(parse(&o, 2, argv), HV_CLI_RUN);
    assert_int_equal(o.mem_bytes, (uint64_t)HV_DEFAULT_MEM_MIB << 20);
    assert_true(o.timeout_sec == 0);
    assert_int_equal(o.guest_argc, 0);
}

static void double_dash_ends_options(void **state)
{
    (void)state;
    struct hv_options o;
    char *argv[] = {"hv", "--", "--weird-name.elf"};
    assert_int_equal(parse(&o, 3, argv), HV_CLI_RUN);
    assert_string_equal(o.guest_path, "--weird-name.elf");
}

static void absurd_mem_values_are_usage_errors(void **state)
{
    (void)state;
    const char *bad[] = {"0", "15", "3073", "abc", "", "-1", "12x", "18446744073709551617"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hv_options o;
        char *argv[] = {"hv", "--mem", (char *)bad[i], "g.elf"};
        assert_int_equal(parse(&o, 4, argv), HV_CLI_USAGE);
    }
}

static void bad_timeouts_are_usage_errors(void **state)
{
    (void)state;
    const char *bad[] = {"0", "-3", "nan", "inf", "1e99", "soon"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hv_options o;
        char *argv[] = {"hv", "--timeout", (char *)bad[i], "g.elf"};
        assert_int_equal(parse(&o, 4, argv), HV_CLI_USAGE);
    }
}

static void missing_value_image_or_unknown_option_are_usage_errors(void **state)
{
    (void)state;
    struct hv_options o;
    char *a1[] = {"hv", "--mem"};
    char *a2[] = {"hv", "--stats"};
    char *a3[] = {"hv", "--bogus", "g.elf"};
    assert_int_equal(parse(&o, 2, a1), HV_CLI_USAGE);
    assert_int_equal(parse(&o, 2, a2), HV_CLI_USAGE);
    assert_int_equal(parse(&o, 3, a3), HV_CLI_USAGE);
}

static void modules_are_collected_up_to_the_limit(void **state)
{
    (void)state;
    struct hv_options o;
    char *argv[2 + 2 * (HV_MAX_MODULES + 1) + 1];
    int n = 0;
    argv[n++] = "hv";
    for (unsigned i = 0; i < HV_MAX_MODULES; i++) {
        argv[n++] = "--module";
        argv[n++] = "m.bin";
    }
    argv[n++] = "k.elf";
    assert_int_equal(parse(&o, n, argv), HV_CLI_RUN);
    assert_int_equal(o.n_modules, HV_MAX_MODULES);
    argv[n - 1] = "--module";
    argv[n++] = "m.bin";
    argv[n++] = "k.elf";
    assert_int_equal(parse(&o, n, argv), HV_CLI_USAGE);
}

static void help_asks_for_a_clean_exit(void **state)
{
    (void)state;
    struct hv_options o;
    char *argv[] = {"hv", "--help"};
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    enum hv_cli_result r = parse(&o, 2, argv);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(r, HV_CLI_EXIT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_before_image_guest_words_after),
        cmocka_unit_test(defaults_when_no_options),
        cmocka_unit_test(double_dash_ends_options),
        cmocka_unit_test(absurd_mem_values_are_usage_errors),
        cmocka_unit_test(bad_timeouts_are_usage_errors),
        cmocka_unit_test(missing_value_image_or_unknown_option_are_usage_errors),
        cmocka_unit_test(modules_are_collected_up_to_the_limit),
        cmocka_unit_test(help_asks_for_a_clean_exit),
    };
    return cmocka_run_group_tests_name("command line", tests, NULL, NULL);
}
