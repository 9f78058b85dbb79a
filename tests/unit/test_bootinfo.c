/*
 * libhv/bootinfo: the struct hvlab_boot_info every monitor hands the guest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "abi/hvlab_abi.h"
#include "libhv/bootinfo.h"
#include "libhv/guestmem.h"

#define RAM (64ull << 20)

static char err[256];
static struct hvlab_boot_info bi;

static struct bootinfo_options options(int argc, char **argv)
{
    return (struct bootinfo_options){
        .platform = HVLAB_PLATFORM_PARAVIRT,
        .monitor = HVLAB_MONITOR_PARAVIRT,
        .kvm_backend = HVLAB_KVM_PVM,
        .quirks = HVLAB_QUIRK_SYSCALL_BROKEN | HVLAB_QUIRK_LATE_IRQ,
        .tsc_khz = 2400000,
        .kernel_lowest = 0x100000,
        .kernel_highest = 0x180000,
        .argc = argc,
        .argv = argv,
    };
}

static void bootinfo_fills_header_fields(void **state)
{
    (void)state;
    struct bootinfo_options o = options(0, NULL);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), 0);
    assert_int_equal(bi.magic, HVLAB_BOOT_MAGIC);
    assert_int_equal(bi.version, HVLAB_ABI_VERSION);
    assert_int_equal(bi.size, sizeof(struct hvlab_boot_info));
    assert_int_equal(bi.platform, HVLAB_PLATFORM_PARAVIRT);
    assert_int_equal(bi.monitor, HVLAB_MONITOR_PARAVIRT);
    assert_int_equal(bi.kvm_backend, HVLAB_KVM_PVM);
    assert_true(bi.quirks == (HVLAB_QUIRK_SYSCALL_BROKEN | HVLAB_QUIRK_LATE_IRQ));
    assert_int_equal(bi.flags, HVLAB_BOOT_RAM_ZEROED);
    assert_true(bi.tsc_khz == 2400000);
    assert_true(bi.ram_size == RAM);
    assert_int_equal(bi.n_dev, 0);
    assert_int_equal(bi.cmdline_len, 0);
    assert_string_equal(bi.cmdline, "");
}

static void bootinfo_joins_argv_with_single_spaces(void **state)
{
    (void)state;
    char *argv[] = {"bench", "exit.cpuid", "--iterations=100"};
    struct bootinfo_options o = options(3, argv);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), 0);
    assert_string_equal(bi.cmdline, "bench exit.cpuid --iterations=100");
    assert_int_equal(bi.cmdline_len, strlen("bench exit.cpuid --iterations=100"));
}

static void bootinfo_accepts_cmdline_of_maximum_length(void **state)
{
    (void)state;
    static char a[600], b[HVLAB_CMDLINE_MAX];
    memset(a, 'a', 511);                         /* 511 + 1 space + 511 = 1023 */
    memset(b, 'b', 511);
    char *argv[] = {a, b};
    struct bootinfo_options o = options(2, argv);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), 0);
    assert_int_equal(bi.cmdline_len, HVLAB_CMDLINE_MAX - 1);
    assert_int_equal(bi.cmdline[511], ' ');
    assert_int_equal(bi.cmdline[HVLAB_CMDLINE_MAX - 1], '\0');
}

static void bootinfo_rejects_cmdline_one_byte_too_long(void **state)
{
    (void)state;
    static char a[600], b[600];
    memset(a, 'a', 511);
    memset(b, 'b', 512);                         /* 1024 bytes joined */
    char *argv[] = {a, b};
    struct bootinfo_options o = options(2, argv);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), -1);
    assert_string_equal(err, "guest command line is longer than 1023 bytes");
    char *one[] = {b, b, b};                     /* also when a later word overflows */
    char dst[HVLAB_CMDLINE_MAX];
    assert_int_equal(bootinfo_join_cmdline(dst, 3, one, err, sizeof(err)), -1);
    assert_string_equal(dst, "");
}

static void bootinfo_rejects_control_bytes_in_cmdline(void **state)
{
    (void)state;
    char *argv[] = {"selftest", "bad\nword"};
    struct bootinfo_options o = options(2, argv);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), -1);
    assert_string_equal(err, "guest command line: word 2 has byte 0x0a at offset 3; only "
                             "printable ASCII is allowed");
    char *high[] = {"caf\xc3\xa9"};
    o = options(1, high);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), -1);
}

static void bootinfo_rejects_empty_word(void **state)
{
    (void)state;
    char *argv[] = {"bench", ""};
    struct bootinfo_options o = options(2, argv);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), -1);
    assert_string_equal(err, "guest command line: word 2 is empty");
}

static void expect_range(unsigned i, uint64_t base, uint64_t size, uint32_t type)
{
    if (bi.mem[i].base != base || bi.mem[i].size != size || bi.mem[i].type != type)
        fail_msg("range %u is [0x%llx +0x%llx type %u], want [0x%llx +0x%llx type %u]", i,
                 (unsigned long long)bi.mem[i].base, (unsigned long long)bi.mem[i].size,
                 bi.mem[i].type, (unsigned long long)base, (unsigned long long)size, type);
}

static void bootinfo_splits_memory_map_around_kernel_at_1mib(void **state)
{
    (void)state;
    struct bootinfo_options o = options(0, NULL);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), 0);
    assert_int_equal(bi.n_mem, 3);
    expect_range(0, 0, 0x100000, HVLAB_MEM_RESERVED);
    expect_range(1, 0x100000, 0x80000, HVLAB_MEM_KERNEL);
    expect_range(2, 0x180000, RAM - 0x180000, HVLAB_MEM_USABLE);
}

static void bootinfo_rounds_kernel_range_to_pages_and_keeps_gap_usable(void **state)
{
    (void)state;
    struct bootinfo_options o = options(0, NULL);
    o.kernel_lowest = 0x200123;
    o.kernel_highest = 0x234001;
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), 0);
    assert_int_equal(bi.n_mem, 4);
    expect_range(0, 0, 0x100000, HVLAB_MEM_RESERVED);
    expect_range(1, 0x100000, 0x100000, HVLAB_MEM_USABLE);
    expect_range(2, 0x200000, 0x35000, HVLAB_MEM_KERNEL);
    expect_range(3, 0x235000, RAM - 0x235000, HVLAB_MEM_USABLE);
    /* The map covers RAM exactly, in order, with no gap. */
    uint64_t at = 0;
    for (unsigned i = 0; i < bi.n_mem; i++) {
        assert_true(bi.mem[i].base == at);
        at += bi.mem[i].size;
    }
    assert_true(at == RAM);
}

static void bootinfo_omits_empty_usable_range_when_kernel_fills_ram(void **state)
{
    (void)state;
    struct bootinfo_options o = options(0, NULL);
    o.kernel_highest = RAM;
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), 0);
    assert_int_equal(bi.n_mem, 2);
    expect_range(1, 0x100000, RAM - 0x100000, HVLAB_MEM_KERNEL);
}

static void bootinfo_rejects_kernel_range_outside_ram(void **state)
{
    (void)state;
    struct bootinfo_options o = options(0, NULL);
    o.kernel_lowest = 0xff000;                   /* below 1 MiB */
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "kernel range [0xff000, 0x180000)"));
    o = options(0, NULL);
    o.kernel_highest = RAM + 1;
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), -1);
    o = options(0, NULL);
    o.kernel_highest = o.kernel_lowest;          /* empty */
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), -1);
}

static void bootinfo_accepts_device_table_up_to_limit(void **state)
{
    (void)state;
    struct hvlab_device devs[HVLAB_MAX_DEVICES + 1];
    for (unsigned i = 0; i <= HVLAB_MAX_DEVICES; i++)
        devs[i] = (struct hvlab_device){HVLAB_DEV_VIRTIO_MMIO, 32 + i,
                                        HVLAB_VIRTIO_MMIO_BASE + i * HVLAB_VIRTIO_MMIO_SIZE,
                                        HVLAB_VIRTIO_MMIO_SIZE};
    struct bootinfo_options o = options(0, NULL);
    o.devices = devs;
    o.n_devices = HVLAB_MAX_DEVICES;
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), 0);
    assert_int_equal(bi.n_dev, HVLAB_MAX_DEVICES);
    assert_true(bi.dev[3].base == HVLAB_VIRTIO_MMIO_BASE + 3 * HVLAB_VIRTIO_MMIO_SIZE);
    assert_int_equal(bi.dev[3].irq, 35);

    /* One more through either door is refused. */
    assert_int_equal(bootinfo_add_device(&bi, &devs[HVLAB_MAX_DEVICES], err, sizeof(err)), -1);
    assert_string_equal(err, "boot info: more than 16 devices");
    o.n_devices = HVLAB_MAX_DEVICES + 1;
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "17 devices"));
}

static void bootinfo_rejects_device_overlapping_ram_or_wrapping(void **state)
{
    (void)state;
    struct bootinfo_options o = options(0, NULL);
    assert_int_equal(bootinfo_build(&bi, &o, RAM, err, sizeof(err)), 0);
    struct hvlab_device in_ram = {HVLAB_DEV_NULL_MMIO, 0, RAM - 0x1000, 0x1000};
    assert_int_equal(bootinfo_add_device(&bi, &in_ram, err, sizeof(err)), -1);
    struct hvlab_device wraps = {HVLAB_DEV_NULL_MMIO, 0, UINT64_MAX - 0xfff, 0x2000};
    assert_int_equal(bootinfo_add_device(&bi, &wraps, err, sizeof(err)), -1);
    struct hvlab_device ok = {HVLAB_DEV_NULL_MMIO, 0, HVLAB_MMIO_NULL_PADDR, 0x1000};
    assert_int_equal(bootinfo_add_device(&bi, &ok, err, sizeof(err)), 0);
    assert_int_equal(bi.n_dev, 1);
}

static void bootinfo_write_places_it_at_bootinfo_paddr(void **state)
{
    (void)state;
    struct guest_mem gm;
    assert_int_equal(guest_mem_create(&gm, RAM, err, sizeof(err)), 0);
    char *argv[] = {"selftest"};
    struct bootinfo_options o = options(1, argv);
    assert_int_equal(bootinfo_write(&gm, &o, err, sizeof(err)), 0);
    struct hvlab_boot_info in_guest;
    assert_int_equal(gm_read(&gm, HVLAB_BOOTINFO_PADDR, &in_guest, sizeof(in_guest)), 0);
    assert_int_equal(in_guest.magic, HVLAB_BOOT_MAGIC);
    assert_true(in_guest.ram_size == RAM);
    assert_string_equal(in_guest.cmdline, "selftest");
    assert_int_equal(gm.host[HVLAB_BOOTINFO_PADDR - 1], 0);  /* nothing before it */
    guest_mem_destroy(&gm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bootinfo_fills_header_fields),
        cmocka_unit_test(bootinfo_joins_argv_with_single_spaces),
        cmocka_unit_test(bootinfo_accepts_cmdline_of_maximum_length),
        cmocka_unit_test(bootinfo_rejects_cmdline_one_byte_too_long),
        cmocka_unit_test(bootinfo_rejects_control_bytes_in_cmdline),
        cmocka_unit_test(bootinfo_rejects_empty_word),
        cmocka_unit_test(bootinfo_splits_memory_map_around_kernel_at_1mib),
        cmocka_unit_test(bootinfo_rounds_kernel_range_to_pages_and_keeps_gap_usable),
        cmocka_unit_test(bootinfo_omits_empty_usable_range_when_kernel_fills_ram),
        cmocka_unit_test(bootinfo_rejects_kernel_range_outside_ram),
        cmocka_unit_test(bootinfo_accepts_device_table_up_to_limit),
        cmocka_unit_test(bootinfo_rejects_device_overlapping_ram_or_wrapping),
        cmocka_unit_test(bootinfo_write_places_it_at_bootinfo_paddr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
