/* Unit tests: the device bus and the platform devices (libhv/bus.c,
 * uart.c, control.c, fw_cfg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "abi/hvlab_abi.h"
#include "libhv/machine.h"

static struct hv_machine *new_machine(void)
{
    struct hv_machine *m = test_calloc(1, sizeof(*m));
    char err[256];
    m->prog = "test";
    assert_int_equal(guest_mem_create(&m->mem, HVLAB_RAM_MIN, err, sizeof(err)), 0);
    assert_int_equal(hv_add_platform_devices(m), 0);
    return m;
}

static void free_machine(struct hv_machine *m)
{
    guest_mem_destroy(&m->mem);
    test_free(m);
}

static uint64_t pio(struct hv_machine *m, uint16_t port, bool write, unsigned size, uint64_t v)
{
    bus_access(m, HV_SPACE_PIO, port, write, size, &v);
    return v;
}

static void bus_rejects_overlapping_regions(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    static const struct hv_device_ops ops = {0};
    assert_int_equal(bus_register(m, HV_SPACE_PIO, 0x3fa, 2, "overlap", &ops, NULL), -1);
    /* the same range in the other space is a different address */
    assert_int_equal(bus_register(m, HV_SPACE_MMIO, 0x3f8, 8, "mmio at 0x3f8", &ops, NULL), 0);
    assert_int_equal(bus_register(m, HV_SPACE_PIO, 0x10, 0, "empty", &ops, NULL), -1);
    assert_int_equal(bus_register(m, HV_SPACE_PIO, UINT64_MAX, 2, "wraps", &ops, NULL), -1);
    free_machine(m);
}

static void unclaimed_port_reads_all_ones_and_keeps_running(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    assert_int_equal(pio(m, 0x80, false, 1, 0), 0xff);
    assert_int_equal(pio(m, 0x80, false, 2, 0), 0xffff);
    assert_int_equal(pio(m, 0x80, false, 4, 0), 0xffffffffu);
    pio(m, 0x80, true, 1, 0x12);
    assert_false(m->stopped);
    free_machine(m);
}

static void access_straddling_a_region_end_is_not_routed(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    /* the UART is 0x3f8..0x3ff; a 4-byte read at 0x3fe would cross 0x400 */
    assert_int_equal(pio(m, 0x3fe, false, 4, 0), 0xffffffffu);
    free_machine(m);
}

static void mmio_to_nothing_stops_guest_with_rule_status(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    uint64_t v = 0;
    bus_access(m, HV_SPACE_MMIO, 0xC0000000ull, false, 4, &v);
    assert_true(m->stopped);
    assert_int_equal(m->status, HV_STATUS_GUEST_RULE);
    assert_non_null(strstr(m->why, "0xc0000000"));
    free_machine(m);
}

static uint64_t fixed_rip(struct hv_machine *m)
{
    (void)m;
    return 0x101234;
}

static void rule_violation_names_the_guest_rip(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    m->guest_rip = fixed_rip;
    uint64_t v = 1;
    bus_access(m, HV_SPACE_MMIO, 0xC0000000ull, true, 4, &v);
    assert_int_equal(m->status, HV_STATUS_GUEST_RULE);
    assert_non_null(strstr(m->why, "(guest rip 0x101234)"));
    free_machine(m);
}

static void null_mmio_reads_zero_and_counts_an_exit(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    uint64_t v = 123;
    bus_access(m, HV_SPACE_MMIO, HVLAB_MMIO_NULL_PADDR + 8, false, 8, &v);
    assert_int_equal(v, 0);
    assert_false(m->stopped);
    assert_int_equal(m->stats.count[stats_reason(&m->stats, "mmio null")], 1);
    free_machine(m);
}

static void uncounted_access_reaches_the_device_but_no_exit_reason(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    uint64_t v = 123;
    assert_int_equal(bus_access_uncounted(m, HV_SPACE_MMIO, HVLAB_MMIO_NULL_PADDR, false, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(m->stats.count[stats_reason(&m->stats, "mmio null")], 0);
    /* nothing there: refused, not floated, not stopped */
    assert_int_equal(bus_access_uncounted(m, HV_SPACE_PIO, 0x1234, false, 1, &v), -1);
    assert_int_equal(bus_access_uncounted(m, HV_SPACE_MMIO, 0x90000000, true, 4, &v), -1);
    assert_false(m->stopped);
    free_machine(m);
}

static void uart_lsr_reports_transmitter_empty(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    assert_int_equal(pio(m, HVLAB_PORT_UART + 5, false, 1, 0) & 0x60, 0x60);
    free_machine(m);
}

static void control_exit_port_ends_guest_with_its_code(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    pio(m, HVLAB_PORT_EXIT, true, 4, 7);
    assert_true(m->stopped);
    assert_int_equal(m->status, 7);
    assert_string_equal(m->why, "");
    free_machine(m);
}

static void control_exit_code_out_of_range_is_a_rule_violation(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    pio(m, HVLAB_PORT_EXIT, true, 4, HVLAB_GUEST_EXIT_MAX + 1);
    assert_int_equal(m->status, HV_STATUS_GUEST_RULE);
    free_machine(m);
}

static void control_exit_code_2_is_the_usage_status_and_refused(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    pio(m, HVLAB_PORT_EXIT, true, 4, HV_STATUS_USAGE);
    assert_int_equal(m->status, HV_STATUS_GUEST_RULE);
    free_machine(m);
}

static void control_exit_port_refuses_byte_writes(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    pio(m, HVLAB_PORT_EXIT, true, 1, 0);
    assert_int_equal(m->status, HV_STATUS_GUEST_RULE);
    free_machine(m);
}

static void debug_exit_gives_qemu_status(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    pio(m, HVLAB_PORT_QEMU_EXIT, true, 1, 5);
    assert_true(m->stopped);
    assert_int_equal(m->status, 11); /* (5 << 1) | 1 */
    free_machine(m);
}

static void write_mark(struct hv_machine *m, uint64_t gpa, uint32_t op, const char *name,
                       uint64_t iters)
{
    struct hvlab_bench_mark mk = {.op = op, .iterations = iters};
    strncpy(mk.name, name, sizeof(mk.name) - 1);
    assert_int_equal(gm_write(&m->mem, gpa, &mk, sizeof(mk)), 0);
    pio(m, HVLAB_PORT_BENCH, true, 4, gpa);
}

static void bench_bracket_counts_exits_per_operation(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    write_mark(m, 0x200000, HVLAB_BENCH_BEGIN, "exit.pio_out", 0);
    for (int i = 0; i < 10; i++)
        pio(m, HVLAB_PORT_NULL, true, 1, 0);
    write_mark(m, 0x200000, HVLAB_BENCH_END, "exit.pio_out", 10);
    assert_false(m->stopped);
    assert_int_equal(m->stats.n_bench, 1);
    const struct hv_bench_record *r = &m->stats.bench[0];
    assert_string_equal(r->name, "exit.pio_out");
    assert_int_equal(r->iterations, 10);
    assert_int_equal(r->exits[stats_reason(&m->stats, "pio null")], 10);
    /* the END write itself is an exit of the control port, counted once */
    assert_int_equal(r->exits[stats_reason(&m->stats, "pio control")], 1);
    free_machine(m);
}

static void bench_mark_outside_ram_stops_guest(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    pio(m, HVLAB_PORT_BENCH, true, 4, m->mem.size - 8);
    assert_int_equal(m->status, HV_STATUS_GUEST_RULE);
    free_machine(m);
}

static void bench_mark_with_unterminated_name_stops_guest(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    struct hvlab_bench_mark mk = {.op = HVLAB_BENCH_BEGIN};
    memset(mk.name, 'x', sizeof(mk.name));
    gm_write(&m->mem, 0x200000, &mk, sizeof(mk));
    pio(m, HVLAB_PORT_BENCH, true, 4, 0x200000);
    assert_int_equal(m->status, HV_STATUS_GUEST_RULE);
    free_machine(m);
}

static void bench_end_with_other_name_stops_guest(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    write_mark(m, 0x200000, HVLAB_BENCH_BEGIN, "a", 0);
    write_mark(m, 0x200000, HVLAB_BENCH_END, "b", 1);
    assert_int_equal(m->status, HV_STATUS_GUEST_RULE);
    assert_non_null(strstr(m->why, "another benchmark"));
    free_machine(m);
}

static uint64_t fw_cfg_read_item(struct hv_machine *m, uint16_t key, unsigned len)
{
    uint64_t v = 0;
    pio(m, 0x510, true, 2, key);
    for (unsigned i = 0; i < len; i++)
        v |= pio(m, 0x511, false, 1, 0) << (8 * i);
    return v;
}

static void fw_cfg_reports_one_cpu_and_ram_size(void **state)
{
    (void)state;
    struct hv_machine *m = new_machine();
    assert_int_equal(fw_cfg_read_item(m, 0x00, 4), 0x554d4551); /* "QEMU" */
    assert_int_equal(fw_cfg_read_item(m, 0x05, 2), 1);
    assert_int_equal(fw_cfg_read_item(m, 0x03, 8), m->mem.size);
    assert_int_equal(fw_cfg_read_item(m, 0x1234, 4), 0);
    free_machine(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bus_rejects_overlapping_regions),
        cmocka_unit_test(unclaimed_port_reads_all_ones_and_keeps_running),
        cmocka_unit_test(access_straddling_a_region_end_is_not_routed),
        cmocka_unit_test(mmio_to_nothing_stops_guest_with_rule_status),
        cmocka_unit_test(rule_violation_names_the_guest_rip),
        cmocka_unit_test(null_mmio_reads_zero_and_counts_an_exit),
        cmocka_unit_test(uncounted_access_reaches_the_device_but_no_exit_reason),
        cmocka_unit_test(uart_lsr_reports_transmitter_empty),
        cmocka_unit_test(control_exit_port_ends_guest_with_its_code),
        cmocka_unit_test(control_exit_code_out_of_range_is_a_rule_violation),
        cmocka_unit_test(control_exit_code_2_is_the_usage_status_and_refused),
        cmocka_unit_test(control_exit_port_refuses_byte_writes),
        cmocka_unit_test(debug_exit_gives_qemu_status),
        cmocka_unit_test(bench_bracket_counts_exits_per_operation),
        cmocka_unit_test(bench_mark_outside_ram_stops_guest),
        cmocka_unit_test(bench_mark_with_unterminated_name_stops_guest),
        cmocka_unit_test(bench_end_with_other_name_stops_guest),
        cmocka_unit_test(fw_cfg_reports_one_cpu_and_ram_size),
    };
    return cmocka_run_group_tests_name("bus and platform devices", tests, NULL, NULL);
}
