/*
 * libhv/multiboot: header search (Multiboot 0.6.96 §3.1.1-3.1.2), the a.out
 * kludge (§3.1.3), the ELF32 path, and the information structure (§3.3).
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/guest_ram_fixture.h"

#include "abi/hvlab_abi.h"
#include "libhv/guestmem.h"
#include "libhv/multiboot.h"

#define RAM HVLAB_RAM_MIN
#define LOAD 0x200000u

struct mbimg {
    uint8_t bytes[0x4000];
    size_t len;
};

/* A header at `off`: magic, flags, checksum, then the §3.1.3 fields. */
struct aout_fields {
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static void put_header(struct mbimg *im, size_t off, uint32_t flags, const struct aout_fields *a)
{
    uint32_t w[8] = {MB_HEADER_MAGIC, flags, (uint32_t)-(MB_HEADER_MAGIC + flags)};
    if (a)
        memcpy(&w[3], a, sizeof(*a));
    memcpy(im->bytes + off, w, a ? 32 : 12);
}

/* The reference a.out kludge image: a flat 0x2000-byte file loaded at LOAD,
 * header at offset 0x40, BSS up to LOAD + 0x5000, entry LOAD + 0x100. */
static struct aout_fields aout_reference(struct mbimg *im)
{
    for (size_t i = 0; i < sizeof(im->bytes); i++)
        im->bytes[i] = (uint8_t)(i * 13 + 5);
    im->len = 0x2000;
    return (struct aout_fields){LOAD + 0x40, LOAD, LOAD + 0x2000, LOAD + 0x5000, LOAD + 0x100};
}

static void aout_build(struct mbimg *im, const struct aout_fields *a)
{
    put_header(im, 0x40, MB_HF_AOUT_KLUDGE | MB_HF_PAGE_ALIGN | MB_HF_MEMORY_INFO, a);
}

/* An ELF32 i386 multiboot kernel: one RX PT_LOAD of 0x400 file bytes at
 * 0x100000 (memsz 0x2000) from file offset 0x1000, which starts with the
 * header; entry 0x100020.  `is64` makes the same thing ELF64 (refused). */
static void elf32_image(struct mbimg *im, bool is64)
{
    memset(im, 0, sizeof(*im));
    im->len = 0x1400;
    if (is64) {
        Elf64_Ehdr e = {.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
                        .e_entry = 0x100020, .e_phoff = sizeof(Elf64_Ehdr),
                        .e_ehsize = sizeof(e), .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1};
        memcpy(e.e_ident, ELFMAG "\2\1\1", 7);
        memcpy(im->bytes, &e, sizeof(e));
    } else {
        Elf32_Ehdr e = {.e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
                        .e_entry = 0x100020, .e_phoff = sizeof(Elf32_Ehdr),
                        .e_ehsize = sizeof(e), .e_phentsize = sizeof(Elf32_Phdr), .e_phnum = 1};
        memcpy(e.e_ident, ELFMAG "\1\1\1", 7);
        memcpy(im->bytes, &e, sizeof(e));
        Elf32_Phdr p = {PT_LOAD, 0x1000, 0x100000, 0x100000, 0x400, 0x2000, PF_R | PF_X, 0x1000};
        memcpy(im->bytes + sizeof(e), &p, sizeof(p));
    }
    for (size_t i = 0x1010; i < 0x1400; i++)
        im->bytes[i] = (uint8_t)i;
    put_header(im, 0x1000, MB_HF_PAGE_ALIGN | MB_HF_MEMORY_INFO, NULL);
}

static char err[256];
static struct mb_boot_info out;

static int load_with(struct guest_mem *gm, const struct mbimg *im, size_t len, const char *cmdline,
                     const struct mb_module *mods, unsigned n)
{
    struct mb_boot_options opt = {"test.mb", cmdline, mods, n};
    err[0] = '\0';
    return multiboot_load(gm, im->bytes, len, &opt, &out, err, sizeof(err));
}

static int load(struct guest_mem *gm, const struct mbimg *im)
{
    return load_with(gm, im, im->len, "test.mb exit=5", NULL, 0);
}

static void expect_reject(struct guest_mem *gm, const struct mbimg *im, const char *want)
{
    assert_int_equal(load(gm, im), -1);
    if (!strstr(err, want))
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    assert_non_null(strstr(err, "test.mb: "));
}

static void multiboot_finds_header_at_aligned_offset(void **state)
{
    (void)state;
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    aout_build(&im, &a);
    struct mb_header h;
    uint32_t off;
    assert_int_equal(multiboot_find_header(im.bytes, im.len, "t", &h, &off, err, sizeof(err)), 0);
    assert_int_equal(off, 0x40);
    assert_int_equal(h.load_addr, LOAD);
    assert_int_equal(h.entry_addr, LOAD + 0x100);
    assert_true(multiboot_detect(im.bytes, im.len));
}

static void multiboot_ignores_unaligned_header(void **state)
{
    (void)state;
    struct mbimg im;
    memset(&im, 0, sizeof(im));
    put_header(&im, 0x42, 0, NULL);
    assert_int_equal(multiboot_find_header(im.bytes, 0x100, "t.mb", &(struct mb_header){0},
                                           &(uint32_t){0}, err, sizeof(err)), -1);
    assert_string_equal(err, "t.mb: no multiboot header (magic 0x1BADB002) in the first 8192 "
                             "bytes");
    assert_false(multiboot_detect(im.bytes, 0x100));
}

static void multiboot_rejects_bad_checksum(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    aout_build(&im, &a);
    im.bytes[0x40 + 8] ^= 1;
    expect_reject(*state, &im, "multiboot header at offset 0x40 has a bad checksum");
    assert_false(multiboot_detect(im.bytes, im.len));
}

static void multiboot_rejects_header_beyond_8k(void **state)
{
    (void)state;
    struct mbimg im;
    memset(&im, 0, sizeof(im));
    struct mb_header h;
    uint32_t off;
    put_header(&im, 8192, 0, NULL);
    assert_int_equal(multiboot_find_header(im.bytes, sizeof(im.bytes), "t", &h, &off, err,
                                           sizeof(err)), -1);
    assert_non_null(strstr(err, "no multiboot header"));
    put_header(&im, 8192 - 12, 0, NULL);         /* the last place it fits */
    assert_int_equal(multiboot_find_header(im.bytes, sizeof(im.bytes), "t", &h, &off, err,
                                           sizeof(err)), 0);
    assert_int_equal(off, 8180);
}

static void multiboot_rejects_kludge_fields_past_8k(void **state)
{
    (void)state;
    struct mbimg im;
    memset(&im, 0, sizeof(im));
    struct mb_header h;
    uint32_t off;
    put_header(&im, 8192 - 16, MB_HF_AOUT_KLUDGE, NULL);  /* magic fits, addresses do not */
    assert_int_equal(multiboot_find_header(im.bytes, sizeof(im.bytes), "t", &h, &off, err,
                                           sizeof(err)), -1);
    assert_non_null(strstr(err, "end past the first 8192 bytes"));
}

static void multiboot_rejects_video_mode_request(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    put_header(&im, 0x40, MB_HF_AOUT_KLUDGE | MB_HF_VIDEO_MODE, &a);
    expect_reject(*state, &im, "requests a video mode (flag bit 2)");
}

static void multiboot_rejects_unknown_required_flag(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    put_header(&im, 0x40, MB_HF_AOUT_KLUDGE | (1u << 5), &a);
    expect_reject(*state, &im, "flag bits 0x20");
}

static void multiboot_ignores_unknown_optional_flag(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    put_header(&im, 0x40, MB_HF_AOUT_KLUDGE | (1u << 20), &a);
    assert_int_equal(load(*state, &im), 0);
}

static void multiboot_loads_aout_kludge_image(void **state)
{
    struct guest_mem *gm = *state;
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    aout_build(&im, &a);
    memset(gm->host + LOAD + 0x2000, 0xcc, 0x3000);  /* BSS must come out zero */
    assert_int_equal(load(gm, &im), 0);
    assert_true(out.aout_kludge);
    assert_int_equal(out.entry, LOAD + 0x100);
    assert_int_equal(out.kernel_lowest, LOAD);
    assert_int_equal(out.kernel_highest, LOAD + 0x5000);
    assert_int_equal(out.header_offset, 0x40);
    assert_memory_equal(gm->host + LOAD, im.bytes, 0x2000);
    for (uint32_t i = 0x2000; i < 0x5000; i++)
        assert_int_equal(gm->host[LOAD + i], 0);
}

static void multiboot_aout_load_end_zero_means_whole_file(void **state)
{
    struct guest_mem *gm = *state;
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a.load_end_addr = 0;
    a.bss_end_addr = 0;
    im.len = 0x1800;
    aout_build(&im, &a);
    assert_int_equal(load(gm, &im), 0);
    assert_int_equal(out.kernel_highest, LOAD + 0x1800);
    assert_memory_equal(gm->host + LOAD, im.bytes, 0x1800);
}

static void multiboot_aout_header_addr_offsets_the_file(void **state)
{
    struct guest_mem *gm = *state;
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    /* The file's first 0x20 bytes are not loaded: load_addr is 0x20 bytes
     * into the file (header_offset - (header_addr - load_addr)). */
    a.header_addr = LOAD + 0x20;
    a.load_end_addr = LOAD + 0x1000;
    aout_build(&im, &a);
    assert_int_equal(load(gm, &im), 0);
    assert_memory_equal(gm->host + LOAD, im.bytes + 0x20, 0x1000);
}

static void multiboot_rejects_aout_load_addr_above_header_addr(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a.load_addr = a.header_addr + 4;
    aout_build(&im, &a);
    expect_reject(*state, &im, "before the start of the file");
}

static void multiboot_rejects_aout_image_starting_before_file(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a.header_addr = LOAD + 0x80;                 /* header 0x80 in, but found at 0x40 */
    aout_build(&im, &a);
    expect_reject(*state, &im, "before the start of the file");
}

static void multiboot_rejects_aout_load_end_below_load_addr(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a.load_end_addr = LOAD - 1;
    aout_build(&im, &a);
    expect_reject(*state, &im, "load_end_addr 0x1fffff is below load_addr");
}

static void multiboot_rejects_aout_load_end_beyond_file(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a.load_end_addr = LOAD + 0x2001;
    a.bss_end_addr = 0;
    aout_build(&im, &a);
    expect_reject(*state, &im, "a.out kludge image (offset 0x0, 0x2001 bytes) lies outside the "
                               "8192-byte file");
}

static void multiboot_rejects_aout_bss_end_below_load_end(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a.bss_end_addr = LOAD + 0x1000;
    aout_build(&im, &a);
    expect_reject(*state, &im, "bss_end_addr 0x201000 is below the end of the loaded image");
}

static void multiboot_rejects_aout_image_beyond_ram(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a.bss_end_addr = 0xFFFFFFFF;
    aout_build(&im, &a);
    expect_reject(*state, &im, "does not fit in 16 MiB of guest RAM");
}

static void multiboot_rejects_aout_image_below_1mib(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a = (struct aout_fields){0x8040, 0x8000, 0xa000, 0, 0x8100};
    aout_build(&im, &a);
    expect_reject(*state, &im, "starts below 0x100000");
}

static void multiboot_rejects_aout_entry_outside_image(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    a.entry_addr = LOAD + 0x5000;
    aout_build(&im, &a);
    expect_reject(*state, &im, "entry point 0x205000");
}

static void multiboot_loads_elf32_kernel(void **state)
{
    struct guest_mem *gm = *state;
    struct mbimg im;
    elf32_image(&im, false);
    assert_int_equal(load(gm, &im), 0);
    assert_false(out.aout_kludge);
    assert_int_equal(out.entry, 0x100020);
    assert_int_equal(out.kernel_lowest, 0x100000);
    assert_int_equal(out.kernel_highest, 0x102000);
    assert_int_equal(out.header_offset, 0x1000);
    assert_memory_equal(gm->host + 0x100000, im.bytes + 0x1000, 0x400);
}

static void multiboot_rejects_elf64_without_kludge(void **state)
{
    struct mbimg im;
    elf32_image(&im, true);
    expect_reject(*state, &im, "is ELF64 x86-64 and has no a.out kludge");
}

static void multiboot_rejects_flat_image_without_kludge(void **state)
{
    struct mbimg im;
    memset(&im, 0, sizeof(im));
    im.len = 0x100;
    put_header(&im, 0, 0, NULL);
    expect_reject(*state, &im, "is not ELF and has no a.out kludge");
}

static void multiboot_info_describes_memory_and_strings(void **state)
{
    struct guest_mem *gm = *state;
    struct mbimg im;
    elf32_image(&im, false);
    assert_int_equal(load(gm, &im), 0);
    assert_int_equal(out.mbi_paddr, MB_INFO_PADDR);
    assert_true(out.mbi_paddr >= HVLAB_SCRATCH_END && out.mbi_paddr < 0xA0000);

    struct mb_info mbi;
    memcpy(&mbi, gm->host + out.mbi_paddr, sizeof(mbi));
    assert_int_equal(mbi.flags, MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS |
                                    MB_INFO_MEM_MAP | MB_INFO_BOOT_LOADER_NAME);
    assert_int_equal(mbi.mem_lower, 639);
    assert_int_equal(mbi.mem_upper, (RAM - 0x100000) / 1024);
    assert_string_equal((char *)gm->host + mbi.cmdline, "test.mb exit=5");
    assert_string_equal((char *)gm->host + mbi.boot_loader_name, "hvlab");
    assert_int_equal(mbi.mods_count, 0);
    assert_true(mbi.mods_addr >= MB_INFO_PADDR && mbi.mods_addr < MB_INFO_END);

    /* §3.3: each entry's size counts the bytes after it; mmap_addr points at it. */
    assert_int_equal(mbi.mmap_length, 3 * 24);
    struct mb_mmap_entry e[3];
    memcpy(e, gm->host + mbi.mmap_addr, sizeof(e));
    const struct { uint64_t base, len; uint32_t type; } want[3] = {
        {0, 0x9FC00, MB_MEMORY_AVAILABLE},
        {0xF0000, 0x10000, MB_MEMORY_RESERVED},
        {0x100000, RAM - 0x100000, MB_MEMORY_AVAILABLE},
    };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(e[i].size, 20);
        assert_true(e[i].base_addr == want[i].base);
        assert_true(e[i].length == want[i].len);
        assert_int_equal(e[i].type, want[i].type);
    }
}

static void multiboot_places_modules_page_aligned_after_kernel(void **state)
{
    struct guest_mem *gm = *state;
    struct mbimg im;
    static uint8_t m0[5000], m1[10];
    memset(m0, 0xa0, sizeof(m0));
    memset(m1, 0xa1, sizeof(m1));
    const struct mb_module mods[] = {{m0, sizeof(m0), "initrd.img arg"}, {m1, sizeof(m1), NULL}};
    struct aout_fields a = aout_reference(&im);
    a.bss_end_addr = LOAD + 0x5123;              /* kernel ends off a page boundary */
    aout_build(&im, &a);
    assert_int_equal(load_with(gm, &im, im.len, NULL, mods, 2), 0);

    struct mb_info mbi;
    memcpy(&mbi, gm->host + out.mbi_paddr, sizeof(mbi));
    assert_int_equal(mbi.mods_count, 2);
    assert_string_equal((char *)gm->host + mbi.cmdline, "");
    struct mb_module_entry list[2];
    memcpy(list, gm->host + mbi.mods_addr, sizeof(list));
    assert_int_equal(list[0].mod_start, LOAD + 0x6000);
    assert_int_equal(list[0].mod_end, LOAD + 0x6000 + 5000);
    assert_int_equal(list[1].mod_start, LOAD + 0x8000);
    assert_int_equal(list[1].mod_end, LOAD + 0x8000 + 10);
    assert_int_equal(list[0].mod_start % 4096, 0);
    assert_int_equal(list[1].mod_start % 4096, 0);
    assert_memory_equal(gm->host + list[0].mod_start, m0, sizeof(m0));
    assert_memory_equal(gm->host + list[1].mod_start, m1, sizeof(m1));
    assert_string_equal((char *)gm->host + list[0].string, "initrd.img arg");
    assert_string_equal((char *)gm->host + list[1].string, "");
    assert_int_equal(out.modules_end, LOAD + 0x8000 + 10);
}

static void multiboot_rejects_module_beyond_ram(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    aout_build(&im, &a);
    static uint8_t big[1];
    /* The size is the caller's (trusted, but still checked); no byte is read. */
    const struct mb_module mods[] = {{big, RAM, "huge"}};
    assert_int_equal(load_with(*state, &im, im.len, "", mods, 1), -1);
    assert_non_null(strstr(err, "test.mb: module 0"));
    assert_non_null(strstr(err, "does not fit in guest RAM"));
}

static void multiboot_rejects_cmdline_too_long_for_info_area(void **state)
{
    struct mbimg im;
    struct aout_fields a = aout_reference(&im);
    aout_build(&im, &a);
    char *huge = malloc(70000);
    memset(huge, 'x', 69999);
    huge[69999] = '\0';
    assert_int_equal(load_with(*state, &im, im.len, huge, NULL, 0), -1);
    free(huge);
    assert_non_null(strstr(err, "does not fit in its 64 KiB"));
}

static void multiboot_survives_every_truncated_prefix(void **state)
{
    struct guest_mem *gm = *state;
    struct mbimg im;
    elf32_image(&im, false);
    for (size_t len = 0; len < im.len; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, im.bytes, len);
        struct mb_boot_options opt = {"t", "", NULL, 0};
        err[0] = '\0';
        int rc = multiboot_load(gm, copy, len, &opt, &out, err, sizeof(err));
        free(copy);
        if (rc != -1 || !err[0])
            fail_msg("prefix of %zu bytes: rc %d, err \"%s\"", len, rc, err);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, guest_ram_setup, guest_ram_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multiboot_finds_header_at_aligned_offset),
        cmocka_unit_test(multiboot_ignores_unaligned_header),
        T(multiboot_rejects_bad_checksum),
        cmocka_unit_test(multiboot_rejects_header_beyond_8k),
        cmocka_unit_test(multiboot_rejects_kludge_fields_past_8k),
        T(multiboot_rejects_video_mode_request),
        T(multiboot_rejects_unknown_required_flag),
        T(multiboot_ignores_unknown_optional_flag),
        T(multiboot_loads_aout_kludge_image),
        T(multiboot_aout_load_end_zero_means_whole_file),
        T(multiboot_aout_header_addr_offsets_the_file),
        T(multiboot_rejects_aout_load_addr_above_header_addr),
        T(multiboot_rejects_aout_image_starting_before_file),
        T(multiboot_rejects_aout_load_end_below_load_addr),
        T(multiboot_rejects_aout_load_end_beyond_file),
        T(multiboot_rejects_aout_bss_end_below_load_end),
        T(multiboot_rejects_aout_image_beyond_ram),
        T(multiboot_rejects_aout_image_below_1mib),
        T(multiboot_rejects_aout_entry_outside_image),
        T(multiboot_loads_elf32_kernel),
        T(multiboot_rejects_elf64_without_kludge),
        T(multiboot_rejects_flat_image_without_kludge),
        T(multiboot_info_describes_memory_and_strings),
        T(multiboot_places_modules_page_aligned_after_kernel),
        T(multiboot_rejects_module_beyond_ram),
        T(multiboot_rejects_cmdline_too_long_for_info_area),
        T(multiboot_survives_every_truncated_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
