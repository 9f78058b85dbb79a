/*
 * libhv/elf: every header field of an untrusted image is checked before a
 * byte reaches guest RAM.  The images are built in memory by the tests.
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
#include "libhv/elf.h"
#include "libhv/guestmem.h"

#define RAM HVLAB_RAM_MIN
#define IMG_MAX 0x3000

/* One program header, class-neutral. */
struct seg {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* A test image: headers and segments, turned into bytes by build(). */
struct image {
    bool is32;
    uint16_t type, machine, phentsize;
    uint64_t entry, phoff;
    unsigned nseg;
    struct seg seg[40];
    uint8_t bytes[IMG_MAX];
    size_t len;
};

static uint8_t pattern(uint64_t offset)
{
    return (uint8_t)(offset * 7 + 1);
}

/*
 * The reference image: text [0x100000, 0x100200) RX from file 0x1000,
 * data [0x101000, 0x104000) RW with 0x100 file bytes from 0x1200 (the rest
 * is BSS), entry 0x100010, 0x1300 bytes of file.
 */
static void reference(struct image *im, bool is32)
{
    memset(im, 0, sizeof(*im));
    im->is32 = is32;
    im->type = ET_EXEC;
    im->machine = is32 ? EM_386 : EM_X86_64;
    im->phentsize = is32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr);
    im->phoff = is32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr);
    im->entry = 0x100010;
    im->nseg = 2;
    im->seg[0] = (struct seg){PT_LOAD, PF_R | PF_X, 0x1000, 0x100000, 0x100000, 0x200, 0x200,
                              0x1000};
    im->seg[1] = (struct seg){PT_LOAD, PF_R | PF_W, 0x1200, 0x101000, 0x101000, 0x100, 0x3000,
                              0x1000};
    im->len = 0x1300;
}

static void put_phdr(struct image *im, unsigned i)
{
    const struct seg *s = &im->seg[i];
    uint8_t *at = im->bytes + im->phoff + (uint64_t)i * im->phentsize;
    if (im->is32) {
        Elf32_Phdr p = {s->type, (uint32_t)s->offset, (uint32_t)s->vaddr, (uint32_t)s->paddr,
                        (uint32_t)s->filesz, (uint32_t)s->memsz, s->flags, (uint32_t)s->align};
        memcpy(at, &p, sizeof(p));
    } else {
        Elf64_Phdr p = {s->type, s->flags, s->offset, s->vaddr, s->paddr, s->filesz, s->memsz,
                        s->align};
        memcpy(at, &p, sizeof(p));
    }
}

/* Writes the headers into bytes[]; segment contents are a known pattern
 * (written first, so that notes placed by a test afterwards survive). */
static void build(struct image *im)
{
    for (size_t i = 0; i < sizeof(im->bytes); i++)
        im->bytes[i] = pattern(i);
    Elf64_Ehdr e = {0};
    memcpy(e.e_ident, ELFMAG, SELFMAG);
    e.e_ident[EI_CLASS] = im->is32 ? ELFCLASS32 : ELFCLASS64;
    e.e_ident[EI_DATA] = ELFDATA2LSB;
    e.e_ident[EI_VERSION] = EV_CURRENT;
    e.e_type = im->type;
    e.e_machine = im->machine;
    e.e_version = EV_CURRENT;
    if (im->is32) {
        Elf32_Ehdr h = {0};
        memcpy(h.e_ident, e.e_ident, EI_NIDENT);
        h.e_type = e.e_type;
        h.e_machine = e.e_machine;
        h.e_version = EV_CURRENT;
        h.e_entry = (uint32_t)im->entry;
        h.e_phoff = (uint32_t)im->phoff;
        h.e_ehsize = sizeof(h);
        h.e_phentsize = im->phentsize;
        h.e_phnum = (uint16_t)im->nseg;
        memcpy(im->bytes, &h, sizeof(h));
    } else {
        e.e_entry = im->entry;
        e.e_phoff = im->phoff;
        e.e_ehsize = sizeof(e);
        e.e_phentsize = im->phentsize;
        e.e_phnum = (uint16_t)im->nseg;
        memcpy(im->bytes, &e, sizeof(e));
    }
    /* A test may point e_phoff anywhere: write only what fits in bytes[]. */
    for (unsigned i = 0; i < im->nseg; i++)
        if (im->phoff <= sizeof(im->bytes) &&
            (uint64_t)(i + 1) * im->phentsize <= sizeof(im->bytes) - im->phoff)
            put_phdr(im, i);
}

static char err[256];
static struct elf_image_info info;

static int load(struct guest_mem *gm, const struct image *im, size_t len)
{
    err[0] = '\0';
    return elf_load(gm, im->bytes, len, "test.elf",
                    im->is32 ? ELF_KIND_ELF32_I386 : ELF_KIND_ELF64_X86_64, &info, err,
                    sizeof(err));
}

/* The load must fail with a message containing `want`. */
static void expect_reject(struct guest_mem *gm, struct image *im, const char *want)
{
    build(im);
    assert_int_equal(load(gm, im, im->len), -1);
    if (!strstr(err, want))
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    assert_non_null(strstr(err, "test.elf: "));
    assert_null(strchr(err, '\n'));
}

static void elf_loads_reference_image_and_reports_entry_and_range(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    build(&im);
    assert_int_equal(load(gm, &im, im.len), 0);
    assert_true(info.entry == 0x100010);
    assert_true(info.lowest_paddr == 0x100000);
    assert_true(info.highest_paddr == 0x104000);
    assert_int_equal(info.n_segments, 2);
    assert_false(info.has_pvh_entry);
    assert_memory_equal(gm->host + 0x100000, im.bytes + 0x1000, 0x200);
    assert_memory_equal(gm->host + 0x101000, im.bytes + 0x1200, 0x100);
    for (uint64_t a = 0x101100; a < 0x104000; a++)
        assert_int_equal(gm->host[a], 0);
    assert_int_equal(gm->host[0x100200], 0);     /* nothing past p_memsz */
}

static void elf_zeroes_bss_when_memory_was_used(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    build(&im);
    memset(gm->host + 0x100000, 0xcc, 0x5000);
    assert_int_equal(load(gm, &im, im.len), 0);
    for (uint64_t a = 0x101100; a < 0x104000; a++)
        if (gm->host[a])
            fail_msg("BSS byte 0x%llx is 0x%x", (unsigned long long)a, gm->host[a]);
    assert_int_equal(gm->host[0x104000], 0xcc);  /* past the image: untouched */
}

static void elf_loads_elf32_i386_image(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, true);
    build(&im);
    assert_int_equal(load(gm, &im, im.len), 0);
    assert_true(info.entry == 0x100010);
    assert_true(info.highest_paddr == 0x104000);
    assert_memory_equal(gm->host + 0x100000, im.bytes + 0x1000, 0x200);
}

static void elf_translates_virtual_entry_to_physical(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    im.seg[0].vaddr = 0xffffffff80100000ull;
    im.entry = 0xffffffff80100020ull;
    build(&im);
    assert_int_equal(load(gm, &im, im.len), 0);
    assert_true(info.entry == 0x100020);
}

static void elf_rejects_every_truncated_prefix(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    build(&im);
    /* The data segment ends at the end of the file: every shorter prefix
     * must be refused, from a heap copy of exactly that size. */
    for (size_t len = 0; len < im.len; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, im.bytes, len);
        err[0] = '\0';
        int rc = elf_load(gm, copy, len, "test.elf", ELF_KIND_ELF64_X86_64, &info, err,
                          sizeof(err));
        free(copy);
        if (rc != -1 || !err[0])
            fail_msg("prefix of %zu bytes: rc %d, err \"%s\"", len, rc, err);
    }
}

static void elf_survives_random_header_corruption(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    im.nseg = 3;
    im.seg[2] = (struct seg){PT_NOTE, PF_R, 0x40 + 3 * 56, 0, 0, 0x40, 0x40, 4};
    srand(1234);
    for (int round = 0; round < 20000; round++) {
        build(&im);
        /* Flip bytes of the ELF header, the program headers and the notes. */
        for (int k = 0; k < 1 + rand() % 4; k++)
            im.bytes[rand() % (0x40 + 3 * 56 + 0x40)] = (uint8_t)rand();
        int rc = load(gm, &im, im.len);
        assert_true(rc == 0 || (rc == -1 && err[0]));
        if (rc == 0)
            assert_true(info.lowest_paddr >= HVLAB_KERNEL_PADDR && info.highest_paddr <= RAM);
    }
}

static void elf_rejects_non_elf(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    build(&im);
    memcpy(im.bytes, "#!/bin/sh\n", 10);
    assert_int_equal(load(gm, &im, im.len), -1);
    assert_string_equal(err, "test.elf: not an ELF file (no \\177ELF magic)");
}

static void elf_rejects_wrong_class(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, true);
    build(&im);
    err[0] = '\0';
    assert_int_equal(elf_load(gm, im.bytes, im.len, "test.elf", ELF_KIND_ELF64_X86_64, &info,
                              err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ELF class 1, want ELFCLASS64"));
}

static void elf_rejects_big_endian(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    build(&im);
    im.bytes[EI_DATA] = ELFDATA2MSB;
    assert_int_equal(load(gm, &im, im.len), -1);
    assert_non_null(strstr(err, "little-endian"));
}

static void elf_rejects_wrong_machine(void **state)
{
    struct image im;
    reference(&im, false);
    im.machine = EM_AARCH64;
    expect_reject(*state, &im, "e_machine 183, want EM_X86_64");
}

static void elf_rejects_non_executable_type(void **state)
{
    struct image im;
    reference(&im, false);
    im.type = ET_DYN;
    expect_reject(*state, &im, "is not ET_EXEC");
}

static void elf_rejects_wrong_phentsize(void **state)
{
    struct image im;
    reference(&im, false);
    im.phentsize = 32;
    expect_reject(*state, &im, "e_phentsize 32, want 56");
}

static void elf_rejects_phoff_outside_file(void **state)
{
    struct image im;
    reference(&im, false);
    im.phoff = 0x1300;
    expect_reject(*state, &im, "program header table");
    reference(&im, false);
    im.phoff = UINT64_MAX - 8;                   /* phoff + size wraps */
    expect_reject(*state, &im, "lies outside the 4864-byte file");
}

static void elf_rejects_phnum_beyond_file(void **state)
{
    struct image im;
    reference(&im, false);
    im.phoff = 0x1300 - 56;                      /* room for one header, not two */
    expect_reject(*state, &im, "program header table");
}

static void elf_rejects_image_without_program_headers(void **state)
{
    struct image im;
    reference(&im, false);
    im.nseg = 0;
    expect_reject(*state, &im, "no program headers");
}

static void elf_rejects_image_without_load_segment(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[0].type = PT_NULL;
    im.seg[1].type = PT_GNU_STACK;
    expect_reject(*state, &im, "no PT_LOAD segment");
}

static void elf_rejects_filesz_larger_than_memsz(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[1].filesz = 0x100;
    im.seg[1].memsz = 0x80;
    expect_reject(*state, &im, "segment 1 has 0x100 file bytes but only 0x80 bytes in memory");
}

static void elf_rejects_segment_offset_near_uint64_max(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[1].offset = UINT64_MAX - 0x10;        /* offset + filesz wraps to 0xef */
    expect_reject(*state, &im, "segment 1 (offset 0xffffffffffffffef, 0x100 bytes) lies "
                               "outside the 4864-byte file");
}

static void elf_rejects_segment_extending_past_file(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[1].filesz = 0x101;
    expect_reject(*state, &im, "lies outside the 4864-byte file");
}

static void elf_rejects_segment_wrapping_address_space(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[1].paddr = UINT64_MAX - 0xfff;
    expect_reject(*state, &im, "wraps around the address space");
}

static void elf_rejects_segment_beyond_ram(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[1].paddr = RAM - 0x1000;              /* 0x100 bytes + BSS past the end */
    expect_reject(*state, &im, "segment 1 [0xfff000, 0x1002000) does not fit in 16 MiB of "
                               "guest RAM");
    reference(&im, false);
    im.seg[1].paddr = 0x80000000;                /* entirely beyond */
    expect_reject(*state, &im, "does not fit in 16 MiB");
}

static void elf_rejects_image_too_large_for_ram(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[1].memsz = RAM;                       /* a huge BSS */
    expect_reject(*state, &im, "segment 1 [0x101000, 0x1101000) does not fit");
}

static void elf_rejects_segment_below_1mib(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[0].paddr = 0x1000;                    /* over the boot info page */
    im.seg[0].vaddr = 0x1000;
    im.entry = 0x1010;
    expect_reject(*state, &im, "segment 0 [0x1000, 0x1200) starts below 0x100000");
}

static void elf_rejects_overlapping_segments(void **state)
{
    struct image im;
    reference(&im, false);
    im.seg[1].paddr = 0x1001ff;                  /* last byte of text */
    expect_reject(*state, &im, "segment 1 [0x1001ff, 0x1031ff) overlaps segment 0 [0x100000, "
                               "0x100200)");
}

static void elf_rejects_entry_outside_executable_segment(void **state)
{
    struct image im;
    reference(&im, false);
    im.entry = 0x101010;                         /* in the data segment, not PF_X */
    expect_reject(*state, &im, "entry point 0x101010 is not inside an executable");
    reference(&im, false);
    im.entry = 0x100200;                         /* one past the text */
    expect_reject(*state, &im, "entry point 0x100200");
    reference(&im, false);
    im.entry = 0;
    expect_reject(*state, &im, "entry point 0x0");
}

static void elf_rejects_too_many_load_segments(void **state)
{
    struct image im;
    reference(&im, false);
    im.nseg = ELF_MAX_LOAD_SEGMENTS + 1;
    for (unsigned i = 0; i < im.nseg; i++)
        im.seg[i] = (struct seg){PT_LOAD, PF_R | PF_X, 0x1000, 0x100000 + i * 0x1000,
                                 0x100000 + i * 0x1000, 0x10, 0x10, 0x1000};
    expect_reject(*state, &im, "more than 32 PT_LOAD segments");
}

static void elf_leaves_ram_untouched_when_rejecting(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    im.seg[1].paddr = RAM;                       /* the second segment is bad */
    expect_reject(gm, &im, "does not fit");
    static const uint8_t zero[0x200];
    assert_memory_equal(gm->host + 0x100000, zero, sizeof(zero));
}

static void elf_skips_empty_load_segments(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    im.nseg = 3;
    im.seg[2] = (struct seg){PT_LOAD, PF_R, 0, 0, 0, 0, 0, 0};  /* at address 0, but empty */
    build(&im);
    assert_int_equal(load(gm, &im, im.len), 0);
    assert_int_equal(info.n_segments, 2);
}

/* A PT_NOTE at file offset 0x100 holding a GNU note then the Xen note. */
static void add_notes(struct image *im, uint32_t xen_descsz, uint64_t value)
{
    uint8_t *p = im->bytes + 0x100;
    uint32_t gnu[] = {4, 4, 1};
    memcpy(p, gnu, 12);
    memcpy(p + 12, "GNU\0", 4);
    memset(p + 16, 0, 4);
    uint32_t xen[] = {4, xen_descsz, 18};
    memcpy(p + 20, xen, 12);
    memcpy(p + 32, "Xen\0", 4);
    memcpy(p + 36, &value, 8);
    im->seg[im->nseg++] = (struct seg){PT_NOTE, PF_R, 0x100, 0, 0, 36 + xen_descsz, 0, 4};
}

static void elf_reports_xen_pvh_entry_note(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    im.nseg = 3;                                 /* reserve the slot, then fill it */
    build(&im);
    im.nseg = 2;
    add_notes(&im, 4, 0x100040);
    put_phdr(&im, 2);
    assert_int_equal(load(gm, &im, im.len), 0);
    assert_true(info.has_pvh_entry);
    assert_int_equal(info.pvh_entry, 0x100040);

    /* Linux writes the value as a pointer-sized (8-byte) word. */
    reference(&im, false);
    im.nseg = 3;
    build(&im);
    im.nseg = 2;
    add_notes(&im, 8, 0x100080);
    put_phdr(&im, 2);
    assert_int_equal(load(gm, &im, im.len), 0);
    assert_int_equal(info.pvh_entry, 0x100080);
}

/* An 8-aligned PT_NOTE as gcc/glibc emit for .note.gnu.property: namesz 4,
 * so the desc starts at 16 (the next 8-aligned offset), not at 12 + 8. */
static void elf_accepts_8_byte_aligned_gnu_property_note(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    im.nseg = 3;
    build(&im);
    im.nseg = 2;
    uint8_t *p = im.bytes + 0x100;
    uint32_t hdr[] = {4, 16, 5};                 /* NT_GNU_PROPERTY_TYPE_0 */
    memcpy(p, hdr, 12);
    memcpy(p + 12, "GNU\0", 4);
    memset(p + 16, 0, 16);
    im.seg[im.nseg++] = (struct seg){PT_NOTE, PF_R, 0x100, 0, 0, 32, 0, 8};
    put_phdr(&im, 2);
    assert_int_equal(load(gm, &im, im.len), 0);
    assert_false(info.has_pvh_entry);
}

static void elf_rejects_truncated_note(void **state)
{
    struct guest_mem *gm = *state;
    struct image im;
    reference(&im, false);
    im.nseg = 3;
    build(&im);
    im.nseg = 2;
    add_notes(&im, 4, 0x100040);
    im.seg[2].filesz = 38;                       /* desc cut in half */
    put_phdr(&im, 2);
    assert_int_equal(load(gm, &im, im.len), -1);
    assert_non_null(strstr(err, "runs past its end"));
    im.seg[2].offset = 0x1300 - 8;               /* the note segment leaves the file */
    put_phdr(&im, 2);
    assert_int_equal(load(gm, &im, im.len), -1);
    assert_non_null(strstr(err, "note segment 2"));
}

static void elf_identify_classifies_buffers(void **state)
{
    (void)state;
    struct image im;
    reference(&im, false);
    build(&im);
    assert_int_equal(elf_identify(im.bytes, im.len), ELF_KIND_ELF64_X86_64);
    reference(&im, true);
    build(&im);
    assert_int_equal(elf_identify(im.bytes, im.len), ELF_KIND_ELF32_I386);
    im.machine = EM_AARCH64;
    build(&im);
    assert_int_equal(elf_identify(im.bytes, im.len), ELF_KIND_OTHER_ELF);
    assert_int_equal(elf_identify("\177ELF", 4), ELF_KIND_NOT_ELF);   /* too short */
    assert_int_equal(elf_identify("MZ\x90\0 not an elf file at all", 26), ELF_KIND_NOT_ELF);
    assert_int_equal(elf_identify(NULL, 0), ELF_KIND_NOT_ELF);
    assert_string_equal(elf_kind_name(ELF_KIND_ELF32_I386), "ELF32 i386");
}

#define T(f) cmocka_unit_test_setup_teardown(f, guest_ram_setup, guest_ram_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(elf_loads_reference_image_and_reports_entry_and_range),
        T(elf_zeroes_bss_when_memory_was_used),
        T(elf_loads_elf32_i386_image),
        T(elf_translates_virtual_entry_to_physical),
        T(elf_rejects_every_truncated_prefix),
        T(elf_survives_random_header_corruption),
        T(elf_rejects_non_elf),
        T(elf_rejects_wrong_class),
        T(elf_rejects_big_endian),
        T(elf_rejects_wrong_machine),
        T(elf_rejects_non_executable_type),
        T(elf_rejects_wrong_phentsize),
        T(elf_rejects_phoff_outside_file),
        T(elf_rejects_phnum_beyond_file),
        T(elf_rejects_image_without_program_headers),
        T(elf_rejects_image_without_load_segment),
        T(elf_rejects_filesz_larger_than_memsz),
        T(elf_rejects_segment_offset_near_uint64_max),
        T(elf_rejects_segment_extending_past_file),
        T(elf_rejects_segment_wrapping_address_space),
        T(elf_rejects_segment_beyond_ram),
        T(elf_rejects_image_too_large_for_ram),
        T(elf_rejects_segment_below_1mib),
        T(elf_rejects_overlapping_segments),
        T(elf_rejects_entry_outside_executable_segment),
        T(elf_rejects_too_many_load_segments),
        T(elf_leaves_ram_untouched_when_rejecting),
        T(elf_skips_empty_load_segments),
        T(elf_reports_xen_pvh_entry_note),
        T(elf_accepts_8_byte_aligned_gnu_property_note),
        T(elf_rejects_truncated_note),
        cmocka_unit_test(elf_identify_classifies_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
