/*
 * libhv/guestmem: size validation, zero fill, bounds checks that cannot be
 * fooled by wrapping arithmetic, guest strings, and the shared memfd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "tests/unit/guest_ram_fixture.h"

#include "abi/hvlab_abi.h"
#include "libhv/guestmem.h"

#define RAM HVLAB_RAM_MIN

static void guestmem_rejects_size_below_minimum(void **state)
{
    (void)state;
    struct guest_mem gm;
    char err[256] = "";
    assert_int_equal(guest_mem_create(&gm, HVLAB_RAM_MIN - 4096, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "outside 16 MiB..3072 MiB"));
    assert_int_equal(gm.fd, -1);
    assert_null(gm.host);
}

static void guestmem_rejects_size_above_maximum(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(guest_mem_check_size(HVLAB_RAM_MAX + 4096, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "outside"));
    assert_int_equal(guest_mem_check_size(UINT64_MAX, err, sizeof(err)), -1);
}

static void guestmem_rejects_size_not_multiple_of_4k(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(guest_mem_check_size(HVLAB_RAM_MIN + 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a multiple of 4 KiB"));
}

static void guestmem_accepts_limits(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(guest_mem_check_size(HVLAB_RAM_MIN, err, sizeof(err)), 0);
    assert_int_equal(guest_mem_check_size(HVLAB_RAM_MAX, err, sizeof(err)), 0);
}

static void guestmem_starts_zero_filled(void **state)
{
    struct guest_mem *gm = *state;
    assert_int_equal(gm->size, RAM);
    assert_true(gm->fd >= 0);
    static const uint8_t zero[4096];
    assert_memory_equal(gm_ptr(gm, 0, 4096), zero, 4096);
    assert_memory_equal(gm_ptr(gm, RAM - 4096, 4096), zero, 4096);
}

static void gm_ptr_accepts_range_ending_at_ram_end(void **state)
{
    struct guest_mem *gm = *state;
    assert_ptr_equal(gm_ptr(gm, RAM - 8, 8), gm->host + RAM - 8);
    assert_ptr_equal(gm_ptr(gm, 0, RAM), gm->host);
    assert_non_null(gm_ptr(gm, RAM, 0));      /* empty range at the end */
}

static void gm_ptr_rejects_range_crossing_ram_end(void **state)
{
    struct guest_mem *gm = *state;
    assert_null(gm_ptr(gm, RAM - 8, 9));
    assert_null(gm_ptr(gm, RAM, 1));
    assert_null(gm_ptr(gm, RAM + 1, 0));
    assert_null(gm_ptr(gm, 0, RAM + 1));
}

static void gm_ptr_rejects_wrapping_ranges(void **state)
{
    struct guest_mem *gm = *state;
    /* gpa + len wraps to a small number: a naive "gpa + len <= size" passes. */
    assert_null(gm_ptr(gm, 0x1000, UINT64_MAX));
    assert_null(gm_ptr(gm, UINT64_MAX, 2));
    assert_null(gm_ptr(gm, UINT64_MAX - 0xfff, 0x2000));
    assert_null(gm_ptr(gm, 8, UINT64_MAX - 7));
    assert_false(gm_range_ok(gm, UINT64_MAX, 1));
}

static void gm_read_write_round_trip(void **state)
{
    struct guest_mem *gm = *state;
    const char msg[] = "hello, guest";
    char back[sizeof(msg)];
    assert_int_equal(gm_write(gm, 0x12345, msg, sizeof(msg)), 0);
    assert_int_equal(gm_read(gm, 0x12345, back, sizeof(back)), 0);
    assert_memory_equal(back, msg, sizeof(msg));
    assert_memory_equal(gm->host + 0x12345, msg, sizeof(msg));
}

static void gm_read_out_of_range_copies_nothing(void **state)
{
    struct guest_mem *gm = *state;
    uint8_t dst[16];
    memset(dst, 0x5a, sizeof(dst));
    assert_int_equal(gm_read(gm, RAM - 8, dst, sizeof(dst)), -1);
    for (size_t i = 0; i < sizeof(dst); i++)
        assert_int_equal(dst[i], 0x5a);
    assert_int_equal(gm_write(gm, RAM - 8, dst, sizeof(dst)), -1);
    assert_int_equal(gm->host[RAM - 8], 0);
}

static void gm_scalars_are_little_endian_and_bounds_checked(void **state)
{
    struct guest_mem *gm = *state;
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    uint16_t v16 = 0;
    uint8_t v8 = 0;
    assert_int_equal(gm_write_u64(gm, 0x2003, 0x1122334455667788ull), 0);
    assert_int_equal(gm->host[0x2003], 0x88);
    assert_int_equal(gm_read_u64(gm, 0x2003, &v64), 0);
    assert_true(v64 == 0x1122334455667788ull);
    assert_int_equal(gm_read_u32(gm, 0x2003, &v32), 0);
    assert_int_equal(v32, 0x55667788);
    assert_int_equal(gm_read_u16(gm, 0x2003, &v16), 0);
    assert_int_equal(v16, 0x7788);
    assert_int_equal(gm_read_u8(gm, 0x200a, &v8), 0);
    assert_int_equal(v8, 0x11);
    assert_int_equal(gm_write_u32(gm, RAM - 4, 0xdeadbeef), 0);
    assert_int_equal(gm_read_u32(gm, RAM - 4, &v32), 0);
    assert_int_equal(v32, 0xdeadbeef);
    assert_int_equal(gm_read_u64(gm, RAM - 4, &v64), -1);
    assert_int_equal(gm_write_u64(gm, RAM - 4, 1), -1);
    assert_int_equal(gm_write_u16(gm, RAM - 1, 1), -1);
    assert_int_equal(gm_write_u8(gm, RAM, 1), -1);
}

static void gm_strnlen_finds_terminated_string(void **state)
{
    struct guest_mem *gm = *state;
    gm_write(gm, 0x3000, "abc", 4);
    assert_int_equal(gm_strnlen(gm, 0x3000, 100), 3);
    assert_int_equal(gm_strnlen(gm, 0x3000, 4), 3);
    assert_int_equal(gm_strnlen(gm, 0x3000, 3), -1);   /* NUL beyond maxlen */
    assert_int_equal(gm_strnlen(gm, 0x3003, 1), 0);
}

static void gm_strnlen_stops_at_ram_end(void **state)
{
    struct guest_mem *gm = *state;
    memset(gm->host + RAM - 16, 'x', 16);               /* unterminated at the end */
    assert_int_equal(gm_strnlen(gm, RAM - 16, UINT64_MAX), -1);
    assert_int_equal(gm_strnlen(gm, RAM, 10), -1);
    assert_int_equal(gm_strnlen(gm, UINT64_MAX, UINT64_MAX), -1);
}

static void gm_read_string_copies_and_terminates(void **state)
{
    struct guest_mem *gm = *state;
    char buf[8];
    gm_write(gm, 0x4000, "hvlab", 6);
    assert_int_equal(gm_read_string(gm, 0x4000, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "hvlab");
    gm_write(gm, 0x4100, "too long for it", 16);
    assert_int_equal(gm_read_string(gm, 0x4100, buf, sizeof(buf)), -1);
    assert_string_equal(buf, "");
}

static void gm_zero_clears_exactly_the_range(void **state)
{
    struct guest_mem *gm = *state;
    uint64_t base = 0x10000, len = 5 * 4096;
    memset(gm->host + base, 0xee, len);
    /* Unaligned at both ends, spanning whole pages in the middle. */
    assert_int_equal(gm_zero(gm, base + 100, len - 300), 0);
    assert_int_equal(gm->host[base + 99], 0xee);
    for (uint64_t a = base + 100; a < base + len - 200; a++)
        if (gm->host[a] != 0)
            fail_msg("byte 0x%llx not cleared", (unsigned long long)a);
    assert_int_equal(gm->host[base + len - 200], 0xee);
    assert_int_equal(gm_zero(gm, base + 10, 5), 0);       /* inside one page */
    assert_int_equal(gm->host[base + 9], 0xee);
    assert_int_equal(gm->host[base + 15], 0xee);
    assert_int_equal(gm_zero(gm, RAM - 10, 11), -1);
}

static void guestmem_is_one_shared_memfd(void **state)
{
    struct guest_mem *gm = *state;
    /* What the ring-3 engine and KVM rely on: another mapping of the fd sees
     * the monitor's writes and the monitor sees its writes. */
    uint8_t *other = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, gm->fd, 0);
    assert_true(other != MAP_FAILED);
    gm_write_u32(gm, 0x5000, 0xcafef00d);
    assert_int_equal(*(uint32_t *)(other + 0x5000), 0xcafef00d);
    other[0x6000] = 0x42;
    assert_int_equal(gm->host[0x6000], 0x42);
    munmap(other, RAM);
}

static void guestmem_destroy_is_idempotent(void **state)
{
    (void)state;
    struct guest_mem gm;
    char err[256];
    assert_int_equal(guest_mem_create(&gm, RAM, err, sizeof(err)), 0);
    guest_mem_destroy(&gm);
    guest_mem_destroy(&gm);
    assert_int_equal(gm.fd, -1);
    assert_null(gm_ptr(&gm, 0, 1));                      /* no RAM, no pointer */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guestmem_rejects_size_below_minimum),
        cmocka_unit_test(guestmem_rejects_size_above_maximum),
        cmocka_unit_test(guestmem_rejects_size_not_multiple_of_4k),
        cmocka_unit_test(guestmem_accepts_limits),
        cmocka_unit_test_setup_teardown(guestmem_starts_zero_filled, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_ptr_accepts_range_ending_at_ram_end, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_ptr_rejects_range_crossing_ram_end, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_ptr_rejects_wrapping_ranges, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_read_write_round_trip, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_read_out_of_range_copies_nothing, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_scalars_are_little_endian_and_bounds_checked, guest_ram_setup,
                                        guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_strnlen_finds_terminated_string, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_strnlen_stops_at_ram_end, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_read_string_copies_and_terminates, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(gm_zero_clears_exactly_the_range, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test_setup_teardown(guestmem_is_one_shared_memfd, guest_ram_setup, guest_ram_teardown),
        cmocka_unit_test(guestmem_destroy_is_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
