/*
 * libhv/pt_walk: the guest page-table walk against the rules of Intel SDM
 * Vol. 3A ch. 4 (§4.5 formats, §4.6 rights, §4.7 error code, §4.8 A/D),
 * plus a random-tables fuzz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/guest_ram_fixture.h"

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"
#include "libhv/guestmem.h"
#include "libhv/pt_walk.h"

#define RAM FIXTURE_RAM
#define TABLES 0x10000ull /* page tables are allocated upwards from here */

/* ---- a tiny page-table builder ------------------------------------------ */

struct pt {
    struct guest_mem *gm;
    uint64_t cr3;
    uint64_t next;
};

#define DIR (PTE_P | PTE_W | PTE_U) /* permissive intermediate entries */

static struct pt pt_new(struct guest_mem *gm)
{
    struct pt b = { gm, TABLES, TABLES + 0x1000 };
    return b;
}

static uint64_t idx(uint64_t va, int level)
{
    return (va >> (12 + 9 * (level - 1))) & 511;
}

/* Host pointer to the entry for va at level (4..1); creates missing
 * intermediate tables with DIR rights. */
static uint64_t *slot(struct pt *b, uint64_t va, int level)
{
    uint64_t table = b->cr3 & PTE_ADDR;
    for (int l = 4;; l--) {
        uint64_t *e = gm_ptr(b->gm, table + idx(va, l) * 8, 8);
        assert_non_null(e);
        if (l == level)
            return e;
        if (!(*e & PTE_P)) {
            *e = b->next | DIR;
            b->next += 0x1000;
        }
        table = *e & PTE_ADDR;
    }
}

static uint64_t slot_gpa(struct pt *b, uint64_t va, int level)
{
    return (uint64_t)((uint8_t *)slot(b, va, level) - b->gm->host);
}

/* Maps va to gpa with a leaf at `level` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB). */
static void map(struct pt *b, uint64_t va, uint64_t gpa, int level, uint64_t flags)
{
    *slot(b, va, level) = gpa | flags | (level > 1 ? PTE_PS : 0);
}

static void set_bits(struct pt *b, uint64_t va, int level, uint64_t set, uint64_t clear)
{
    uint64_t *e = slot(b, va, level);
    *e = (*e | set) & ~clear;
}

static struct pt_walk_result walk(struct pt *b, const struct pt_walk_ctx *c, uint64_t va,
                                  enum pt_access acc, bool user)
{
    struct pt_walk_ctx ctx = *c;
    ctx.cr3 = b->cr3;
    struct pt_walk_result r;
    int rc = pt_walk(b->gm, &ctx, va, acc, user, false, &r);
    assert_int_equal(rc, r.status);
    assert_int_equal(r.ok, rc == PT_WALK_OK);
    return r;
}

static struct pt_walk_result walk_ad(struct pt *b, const struct pt_walk_ctx *c, uint64_t va,
                                     enum pt_access acc, bool user)
{
    struct pt_walk_ctx ctx = *c;
    ctx.cr3 = b->cr3;
    struct pt_walk_result r;
    int rc = pt_walk(b->gm, &ctx, va, acc, user, true, &r);
    assert_int_equal(rc, r.status);
    return r;
}

static void assert_pf(struct pt_walk_result r, uint32_t err)
{
    assert_int_equal(r.status, PT_WALK_PF);
    assert_false(r.ok);
    assert_int_equal(r.pf_error, err);
    assert_null(r.rule);
}

static const struct pt_walk_ctx CTX_DEFAULT = { .wp = true, .nxe = true };

#define VA_USER   0x00007f1234567000ull
#define VA_KERNEL 0xffff800000201000ull

/* ---- translation -------------------------------------------------------- */

static void walk_translates_4k_page_with_offset_and_rights(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER + 0xabc, PT_READ, true);
    assert_int_equal(r.status, PT_WALK_OK);
    assert_true(r.ok);
    assert_int_equal(r.gpa, 0x200abc);
    assert_int_equal(r.page_gpa, 0x200000);
    assert_int_equal(r.page_size, 4096);
    assert_true(r.in_ram);
    assert_true(r.writable);
    assert_true(r.user);
    assert_true(r.executable);
    assert_false(r.dirty);
    assert_int_equal(r.level, 1);
    assert_null(r.rule);
    for (int l = 1; l <= 4; l++) {
        assert_int_equal(r.pte_gpa[l - 1], slot_gpa(&b, VA_USER, l));
        assert_int_equal(r.pte[l - 1], *slot(&b, VA_USER, l));
    }

    /* A kernel-half (canonical, bit 47 set) read-only supervisor page. */
    map(&b, VA_KERNEL, 0x300000, 1, PTE_P);
    r = walk(&b, &CTX_DEFAULT, VA_KERNEL + 0xfff, PT_READ, false);
    assert_true(r.ok);
    assert_int_equal(r.gpa, 0x300fff);
    assert_false(r.writable);
    assert_false(r.user);
}

static void walk_translates_2m_page_with_offset(void **state)
{
    struct pt b = pt_new(*state);
    uint64_t va = 0x40000000ull + 0x600000;   /* 2 MiB aligned */
    /* PAT (bit 12 of a large-page entry) is not an address bit. */
    map(&b, va, 0x400000, 2, PTE_P | PTE_W | (1ull << 12));
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, va + 0x12345, PT_WRITE, false);
    assert_true(r.ok);
    assert_int_equal(r.page_size, 2ull << 20);
    assert_int_equal(r.page_gpa, 0x400000);
    assert_int_equal(r.gpa, 0x412345);
    assert_int_equal(r.level, 2);
    assert_int_equal(r.pte_gpa[0], PT_NO_GPA);   /* no PTE level used */
    assert_true(r.in_ram);
}

static void walk_translates_1g_page_with_offset(void **state)
{
    struct pt b = pt_new(*state);
    uint64_t va = 0x0000008000000000ull + (3ull << 30);
    map(&b, va, 0, 3, PTE_P | PTE_U);
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, va + 0x123456, PT_READ, true);
    assert_true(r.ok);
    assert_int_equal(r.page_size, 1ull << 30);
    assert_int_equal(r.page_gpa, 0);
    assert_int_equal(r.gpa, 0x123456);
    assert_int_equal(r.level, 3);
    assert_true(r.in_ram);

    /* Past the end of RAM inside the same 1 GiB page: translated, not RAM. */
    r = walk(&b, &CTX_DEFAULT, va + RAM + 8, PT_READ, true);
    assert_true(r.ok);
    assert_int_equal(r.gpa, RAM + 8);
    assert_false(r.in_ram);
}

static void walk_translates_leaf_outside_ram_for_mmio(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_KERNEL, HVLAB_MMIO_NULL_PADDR, 1, PTE_P | PTE_W | PTE_PCD);
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_KERNEL + 8, PT_WRITE, false);
    assert_true(r.ok);
    assert_int_equal(r.gpa, HVLAB_MMIO_NULL_PADDR + 8);
    assert_false(r.in_ram);
    assert_null(r.rule);
}

/* ---- not present -------------------------------------------------------- */

static void walk_not_present_at_each_level_faults_with_p_clear(void **state)
{
    for (int level = 4; level >= 1; level--) {
        struct guest_mem *gm = *state;
        gm_zero(gm, 0, 1 << 20);
        struct pt b = pt_new(gm);
        map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
        /* Not present: all other bits are ignored, even reserved ones. */
        set_bits(&b, VA_USER, level, (1ull << 51) | PTE_PS, PTE_P);
        struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, false);
        assert_pf(r, 0);
        assert_int_equal(r.level, level);
        assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, false), PF_W);
        assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true), PF_U);
        assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, true), PF_W | PF_U);
        assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_FETCH, true), PF_U | PF_I);
    }
}

static void walk_fetch_sets_i_bit_only_with_nxe_or_smep(void **state)
{
    struct pt b = pt_new(*state);   /* empty PML4: nothing present */
    struct pt_walk_ctx c = { 0 };
    assert_pf(walk(&b, &c, VA_USER, PT_FETCH, false), 0);
    c.nxe = true;
    assert_pf(walk(&b, &c, VA_USER, PT_FETCH, false), PF_I);
    c.nxe = false;
    c.smep = true;
    assert_pf(walk(&b, &c, VA_USER, PT_FETCH, true), PF_U | PF_I);
    assert_pf(walk(&b, &c, VA_USER, PT_READ, true), PF_U);
}

/* ---- access rights (§4.6) ----------------------------------------------- */

static void walk_user_access_to_supervisor_page_faults_p_u(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W);           /* U/S = 0 in the PTE */
    assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true), PF_P | PF_U);
    assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, true), PF_P | PF_W | PF_U);
    assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_FETCH, true), PF_P | PF_U | PF_I);
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, false);
    assert_true(r.ok);
    assert_false(r.user);
}

static void walk_write_to_read_only_page_honours_wp(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_U);            /* R/W = 0 */
    struct pt_walk_ctx c = CTX_DEFAULT;
    assert_true(walk(&b, &c, VA_USER, PT_READ, true).ok);
    assert_pf(walk(&b, &c, VA_USER, PT_WRITE, true), PF_P | PF_W | PF_U);
    c.wp = true;
    assert_pf(walk(&b, &c, VA_USER, PT_WRITE, false), PF_P | PF_W);
    c.wp = false;
    struct pt_walk_result r = walk(&b, &c, VA_USER, PT_WRITE, false);
    assert_true(r.ok);                 /* CR0.WP = 0: supervisor writes anywhere */
    assert_false(r.writable);          /* ... but the page itself is read-only  */
    /* WP never helps a user-mode write. */
    assert_pf(walk(&b, &c, VA_USER, PT_WRITE, true), PF_P | PF_W | PF_U);
}

static void walk_rights_combine_across_levels(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
    set_bits(&b, VA_USER, 2, 0, PTE_W);                      /* read-only PDE */
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true);
    assert_true(r.ok);
    assert_false(r.writable);
    assert_true(r.user);
    assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, true), PF_P | PF_W | PF_U);
    assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, false), PF_P | PF_W);

    set_bits(&b, VA_USER, 2, PTE_W, 0);
    set_bits(&b, VA_USER, 4, 0, PTE_U);                      /* supervisor PML4E */
    r = walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, false);
    assert_true(r.ok);
    assert_true(r.writable);
    assert_false(r.user);
    assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true), PF_P | PF_U);
}

static void walk_nx_at_any_level_faults_fetch_with_i_bit(void **state)
{
    for (int level = 4; level >= 1; level--) {
        struct guest_mem *gm = *state;
        gm_zero(gm, 0, 1 << 20);
        struct pt b = pt_new(gm);
        map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
        set_bits(&b, VA_USER, level, PTE_NX, 0);
        struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true);
        assert_true(r.ok);
        assert_false(r.executable);
        assert_true(walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, false).ok);
        assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_FETCH, true), PF_P | PF_U | PF_I);
        assert_pf(walk(&b, &CTX_DEFAULT, VA_USER, PT_FETCH, false), PF_P | PF_I);
    }
}

static void walk_nx_bit_is_reserved_without_nxe(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
    struct pt_walk_ctx c = { .wp = true, .nxe = false };
    struct pt_walk_result r = walk(&b, &c, VA_USER, PT_FETCH, false);
    assert_true(r.ok);
    assert_true(r.executable);
    set_bits(&b, VA_USER, 3, PTE_NX, 0);
    /* No I bit: NXE = 0 and SMEP = 0. Reads fault too: no translation. */
    assert_pf(walk(&b, &c, VA_USER, PT_FETCH, false), PF_P | PF_RSVD);
    assert_pf(walk(&b, &c, VA_USER, PT_READ, true), PF_P | PF_U | PF_RSVD);
    assert_int_equal(walk(&b, &c, VA_USER, PT_READ, true).level, 3);
}

static void walk_smep_blocks_supervisor_fetch_from_user_page(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_U);
    map(&b, VA_KERNEL, 0x300000, 1, PTE_P);
    struct pt_walk_ctx c = CTX_DEFAULT;
    assert_true(walk(&b, &c, VA_USER, PT_FETCH, false).ok);
    c.smep = true;
    assert_pf(walk(&b, &c, VA_USER, PT_FETCH, false), PF_P | PF_I);
    assert_true(walk(&b, &c, VA_USER, PT_READ, false).ok);    /* data: not SMEP's business */
    assert_true(walk(&b, &c, VA_USER, PT_FETCH, true).ok);    /* user fetch: fine */
    assert_true(walk(&b, &c, VA_KERNEL, PT_FETCH, false).ok); /* supervisor page: fine */
    c.nxe = false;                                             /* I bit from SMEP alone */
    assert_pf(walk(&b, &c, VA_USER, PT_FETCH, false), PF_P | PF_I);
}

static void walk_smap_blocks_supervisor_data_access_to_user_page(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
    map(&b, VA_KERNEL, 0x300000, 1, PTE_P | PTE_W);
    struct pt_walk_ctx c = CTX_DEFAULT;
    c.smap = true;
    assert_pf(walk(&b, &c, VA_USER, PT_READ, false), PF_P);
    assert_pf(walk(&b, &c, VA_USER, PT_WRITE, false), PF_P | PF_W);
    c.wp = false;                                  /* WP = 0 does not bypass SMAP */
    assert_pf(walk(&b, &c, VA_USER, PT_WRITE, false), PF_P | PF_W);
    assert_true(walk(&b, &c, VA_USER, PT_FETCH, false).ok);   /* fetch: SMEP's business */
    assert_true(walk(&b, &c, VA_USER, PT_WRITE, true).ok);    /* user access: fine */
    assert_true(walk(&b, &c, VA_KERNEL, PT_WRITE, false).ok); /* supervisor page: fine */
    c.ac = true;                                               /* stac */
    assert_true(walk(&b, &c, VA_USER, PT_READ, false).ok);
    assert_true(walk(&b, &c, VA_USER, PT_WRITE, false).ok);
}

/* ---- reserved bits (§4.5 tables 4-15..4-20) ----------------------------- */

static void walk_bits_above_maxphyaddr_are_reserved(void **state)
{
    for (int level = 4; level >= 1; level--) {
        struct guest_mem *gm = *state;
        gm_zero(gm, 0, 1 << 20);
        struct pt b = pt_new(gm);
        map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
        set_bits(&b, VA_USER, level, 1ull << 50, 0);
        struct pt_walk_ctx c = CTX_DEFAULT;              /* maxphyaddr 0: 48 */
        struct pt_walk_result r = walk(&b, &c, VA_USER, PT_WRITE, true);
        assert_pf(r, PF_P | PF_RSVD | PF_W | PF_U);
        assert_int_equal(r.level, level);
        c.maxphyaddr = 52;
        r = walk(&b, &c, VA_USER, PT_READ, false);
        if (level == 1) {                                /* an address bit now */
            assert_true(r.ok);
            assert_int_equal(r.gpa, (1ull << 50) | 0x200000);
            assert_false(r.in_ram);
        } else {                                         /* a table out of RAM */
            assert_int_equal(r.status, PT_WALK_BAD);
        }
    }
    /* Bit 40 is an address bit at 48 and reserved at 36. */
    gm_zero(*state, 0, 1 << 20);
    struct pt b = pt_new(*state);
    map(&b, VA_KERNEL, (1ull << 40) | 0x5000, 1, PTE_P);
    struct pt_walk_ctx c = CTX_DEFAULT;
    struct pt_walk_result r = walk(&b, &c, VA_KERNEL, PT_READ, false);
    assert_true(r.ok);
    assert_int_equal(r.gpa, (1ull << 40) | 0x5000);
    c.maxphyaddr = 36;
    assert_pf(walk(&b, &c, VA_KERNEL, PT_READ, false), PF_P | PF_RSVD);
}

static void walk_ps_in_pml4e_is_reserved(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_U);
    set_bits(&b, VA_USER, 4, PTE_PS, 0);
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true);
    assert_pf(r, PF_P | PF_RSVD | PF_U);
    assert_int_equal(r.level, 4);
}

static void walk_large_page_low_address_bits_are_reserved(void **state)
{
    struct pt b = pt_new(*state);
    uint64_t va2m = 0x40000000ull, va1g = 0x80000000ull;
    map(&b, va2m, 0x400000, 2, PTE_P | PTE_W | (1ull << 12));   /* PAT only: fine */
    map(&b, va1g, 0, 3, PTE_P | PTE_W | (1ull << 12));
    assert_true(walk(&b, &CTX_DEFAULT, va2m, PT_READ, false).ok);
    assert_true(walk(&b, &CTX_DEFAULT, va1g, PT_READ, false).ok);
    for (int bit = 13; bit <= 20; bit++) {
        set_bits(&b, va2m, 2, 1ull << bit, 0);
        assert_pf(walk(&b, &CTX_DEFAULT, va2m, PT_READ, false), PF_P | PF_RSVD);
        set_bits(&b, va2m, 2, 0, 1ull << bit);
    }
    for (int bit = 13; bit <= 29; bit++) {
        set_bits(&b, va1g, 3, 1ull << bit, 0);
        assert_pf(walk(&b, &CTX_DEFAULT, va1g, PT_WRITE, false), PF_P | PF_RSVD | PF_W);
        set_bits(&b, va1g, 3, 0, 1ull << bit);
    }
    /* Without 1 GiB page support, PS in a PDPTE is itself reserved. */
    struct pt_walk_ctx c = CTX_DEFAULT;
    c.no_1g_pages = true;
    assert_pf(walk(&b, &c, va1g, PT_READ, false), PF_P | PF_RSVD);
    assert_true(walk(&b, &c, va2m, PT_READ, false).ok);
}

static void walk_pat_bit_in_pte_is_not_reserved(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_U | PTE_PS /* PAT */ | (0x7ffull << 52));
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER + 1, PT_READ, true);
    assert_true(r.ok);                   /* bits 62:52 are ignored too */
    assert_int_equal(r.gpa, 0x200001);
    assert_int_equal(r.page_size, 4096);
}

static void walk_reserved_fault_stops_before_lower_levels(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_U);
    set_bits(&b, VA_USER, 1, 0, PTE_P);            /* leaf not present ...     */
    set_bits(&b, VA_USER, 3, 1ull << 49, 0);       /* ... but the PDPTE is bad */
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true);
    assert_pf(r, PF_P | PF_RSVD | PF_U);
    assert_int_equal(r.level, 3);
    assert_int_equal(r.pte_gpa[1], PT_NO_GPA);
}

/* ---- accessed and dirty (§4.8) ------------------------------------------ */

static void walk_sets_accessed_on_all_levels_and_dirty_only_on_write(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
    struct pt_walk_result r = walk_ad(&b, &CTX_DEFAULT, VA_USER, PT_READ, true);
    assert_true(r.ok);
    assert_false(r.dirty);
    for (int l = 1; l <= 4; l++) {
        assert_true(*slot(&b, VA_USER, l) & PTE_A);
        assert_false(*slot(&b, VA_USER, l) & PTE_D);
        assert_int_equal(r.pte[l - 1], *slot(&b, VA_USER, l));
    }
    r = walk_ad(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, true);
    assert_true(r.ok);
    assert_true(r.dirty);
    assert_true(*slot(&b, VA_USER, 1) & PTE_D);
    for (int l = 2; l <= 4; l++)
        assert_false(*slot(&b, VA_USER, l) & PTE_D);     /* D only in the leaf */
    /* Sticky: a later read leaves D set and reports it. */
    r = walk_ad(&b, &CTX_DEFAULT, VA_USER, PT_READ, true);
    assert_true(r.dirty);
}

static void walk_sets_dirty_in_large_page_leaf(void **state)
{
    struct pt b = pt_new(*state);
    uint64_t va = 0x40000000ull;
    map(&b, va, 0x400000, 2, PTE_P | PTE_W);
    struct pt_walk_result r = walk_ad(&b, &CTX_DEFAULT, va + 0x1234, PT_WRITE, false);
    assert_true(r.ok);
    assert_true(r.dirty);
    assert_int_equal(*slot(&b, va, 2), 0x400000 | PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D);
    assert_int_equal(*slot(&b, va, 3) & (PTE_A | PTE_D), PTE_A);
    assert_int_equal(*slot(&b, va, 4) & (PTE_A | PTE_D), PTE_A);
}

static void walk_sets_nothing_without_set_ad(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_W | PTE_U);
    uint8_t before[0x5000];
    memcpy(before, gm_ptr(b.gm, TABLES, sizeof(before)), sizeof(before));
    struct pt_walk_result r = walk(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, true);
    assert_true(r.ok);
    assert_false(r.dirty);
    assert_memory_equal(gm_ptr(b.gm, TABLES, sizeof(before)), before, sizeof(before));
}

static void walk_sets_nothing_when_the_access_faults(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_U);      /* read-only */
    uint8_t before[0x5000];
    memcpy(before, gm_ptr(b.gm, TABLES, sizeof(before)), sizeof(before));
    assert_pf(walk_ad(&b, &CTX_DEFAULT, VA_USER, PT_WRITE, true), PF_P | PF_W | PF_U);
    assert_memory_equal(gm_ptr(b.gm, TABLES, sizeof(before)), before, sizeof(before));
    set_bits(&b, VA_USER, 1, 0, PTE_P);
    memcpy(before, gm_ptr(b.gm, TABLES, sizeof(before)), sizeof(before));
    assert_pf(walk_ad(&b, &CTX_DEFAULT, VA_USER, PT_READ, true), PF_U);
    assert_memory_equal(gm_ptr(b.gm, TABLES, sizeof(before)), before, sizeof(before));
}

/* A self-referencing PML4 entry (the "recursive mapping" trick) makes one
 * entry serve at several levels: after the first compare-and-exchange sets
 * its A flag, the next level's exchange sees a changed entry and the walk
 * restarts, as the CPU's locked update would re-read it. */
static void walk_recursive_mapping_sets_accessed_once_per_entry(void **state)
{
    struct pt b = pt_new(*state);
    uint64_t *pml4 = gm_ptr(b.gm, TABLES, 4096);
    pml4[5] = TABLES | PTE_P | PTE_W | PTE_U;
    pml4[7] = 0x200000 | PTE_P | PTE_W | PTE_U;
    uint64_t va = (5ull << 39) | (5ull << 30) | (5ull << 21) | (7ull << 12) | 0x10;
    struct pt_walk_result r = walk_ad(&b, &CTX_DEFAULT, va, PT_WRITE, true);
    assert_int_equal(r.status, PT_WALK_OK);
    assert_int_equal(r.gpa, 0x200010);
    assert_true(r.dirty);
    for (int l = 4; l >= 2; l--)
        assert_int_equal(r.pte_gpa[l - 1], TABLES + 5 * 8);
    assert_int_equal(r.pte_gpa[0], TABLES + 7 * 8);
    assert_int_equal(pml4[5], TABLES | PTE_P | PTE_W | PTE_U | PTE_A);
    assert_int_equal(pml4[7], 0x200000 | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
}

/* ---- malformed tables and addresses ------------------------------------- */

static void walk_next_table_outside_ram_ends_guest_with_rule(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, VA_USER, 0x200000, 1, PTE_P | PTE_U);
    uint64_t pdpte_gpa = slot_gpa(&b, VA_USER, 3);
    *slot(&b, VA_USER, 3) = HVLAB_MMIO_BASE | DIR;     /* PD "in" the MMIO window */
    struct pt_walk_result r = walk_ad(&b, &CTX_DEFAULT, VA_USER, PT_READ, true);
    assert_int_equal(r.status, PT_WALK_BAD);
    assert_false(r.ok);
    assert_non_null(r.rule);
    assert_int_equal(r.rule_entry_gpa, pdpte_gpa);
    assert_int_equal(r.rule_target_gpa, HVLAB_MMIO_BASE);
    assert_int_equal(r.level, 3);
    char msg[160];
    pt_walk_format_rule(&r, msg, sizeof(msg));
    char want[160];
    snprintf(want, sizeof(want),
             "page-table entry at GPA %#llx (level 3) points outside guest RAM (0xd0000000)",
             (unsigned long long)pdpte_gpa);
    assert_string_equal(msg, want);
    assert_false(*slot(&b, VA_USER, 4) & PTE_A);       /* nothing written */

    /* A table just past the end of RAM, and the largest possible address. */
    *slot(&b, VA_USER, 3) = RAM | DIR;
    assert_int_equal(walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true).status, PT_WALK_BAD);
    *slot(&b, VA_USER, 3) = (PTE_ADDR & ((1ull << 48) - 1)) | DIR;
    assert_int_equal(walk(&b, &CTX_DEFAULT, VA_USER, PT_READ, true).status, PT_WALK_BAD);

    /* CR3 itself outside RAM, or with bits above MAXPHYADDR. */
    struct pt_walk_ctx c = CTX_DEFAULT;
    c.cr3 = RAM;
    assert_int_equal(pt_walk(b.gm, &c, VA_USER, PT_READ, false, true, &r), PT_WALK_BAD);
    assert_int_equal(r.rule_entry_gpa, PT_NO_GPA);
    assert_int_equal(r.level, 0);
    pt_walk_format_rule(&r, msg, sizeof(msg));
    assert_string_equal(msg, "CR3 points outside guest RAM (CR3 = 0x1000000)");
    c.cr3 = TABLES | (1ull << 50);
    assert_int_equal(pt_walk(b.gm, &c, VA_USER, PT_READ, false, true, &r), PT_WALK_BAD);
    assert_non_null(r.rule);
}

static void walk_non_canonical_va_is_gp_not_pf(void **state)
{
    struct pt b = pt_new(*state);
    map(&b, 0x00007ffffffff000ull, 0x200000, 1, PTE_P | PTE_U);
    map(&b, 0xffff800000000000ull, 0x201000, 1, PTE_P);
    static const uint64_t bad_va[] = {
        0x0000800000000000ull, 0xffff7fffffffffffull, 0x8000000000000000ull,
        0x00ff000000001000ull, 0x7fffffffffffffffull,
    };
    for (size_t i = 0; i < sizeof(bad_va) / sizeof(bad_va[0]); i++) {
        struct pt_walk_result r = walk_ad(&b, &CTX_DEFAULT, bad_va[i], PT_READ, false);
        assert_int_equal(r.status, PT_WALK_GP);
        assert_false(r.ok);
        assert_int_equal(r.pf_error, 0);
        assert_null(r.rule);
        assert_int_equal(r.level, 0);
        for (int l = 0; l < 4; l++)
            assert_int_equal(r.pte_gpa[l], PT_NO_GPA);
        assert_false(pt_va_canonical(bad_va[i]));
    }
    assert_true(walk(&b, &CTX_DEFAULT, 0x00007fffffffffffull, PT_READ, true).ok);
    assert_true(walk(&b, &CTX_DEFAULT, 0xffff800000000000ull, PT_READ, false).ok);
}

static void walk_rejects_null_arguments(void **state)
{
    struct pt_walk_ctx c = CTX_DEFAULT;
    struct pt_walk_result r;
    assert_int_equal(pt_walk(NULL, &c, 0, PT_READ, false, false, &r), -1);
    assert_int_equal(pt_walk(*state, NULL, 0, PT_READ, false, false, &r), -1);
    assert_int_equal(pt_walk(*state, &c, 0, PT_READ, false, false, NULL), -1);
}

/* ---- fuzz --------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    /* xorshift64*: reproducible, no libc state */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

#define FUZZ_TABLES 8
#define FUZZ_BASE   0x100000ull

static uint64_t random_entry(const struct guest_mem *gm)
{
    uint64_t r = rnd(), kind = r % 100, addr;
    if (kind < 70)
        addr = FUZZ_BASE + (rnd() % FUZZ_TABLES) * 0x1000;
    else if (kind < 80)
        addr = (rnd() % (gm->size / 0x1000)) * 0x1000;
    else if (kind < 90)
        addr = rnd() & PTE_ADDR;
    else
        return rnd();                                  /* anything at all */
    uint64_t e = addr | (rnd() & 0xfff);
    if (rnd() % 100 < 85)
        e |= PTE_P;
    if (rnd() % 4 == 0)
        e |= PTE_NX;
    if (rnd() % 8 == 0)
        e |= rnd() & (0x7ffull << 52);
    if (rnd() % 2)                      /* PS in 1 entry of 4 */
        e &= ~PTE_PS;
    return e;
}

static void fill_tables(struct guest_mem *gm)
{
    for (uint64_t t = 0; t < FUZZ_TABLES; t++)
        for (uint64_t i = 0; i < 512; i++)
            assert_int_equal(gm_write_u64(gm, FUZZ_BASE + t * 0x1000 + i * 8, random_entry(gm)), 0);
}

static void walk_fuzz_random_tables_never_crash_or_escape_ram(void **state)
{
    struct guest_mem *gm = *state;
    static const unsigned maxphy[] = { 0, 36, 39, 46, 48, 52 };
    unsigned counts[5] = { 0 };
    for (int i = 0; i < 100000; i++) {
        if (i % 5000 == 0)
            fill_tables(gm);
        struct pt_walk_ctx c = {
            .wp = rnd() & 1, .nxe = rnd() & 1, .smep = rnd() & 1, .smap = rnd() & 1,
            .ac = rnd() & 1, .no_1g_pages = rnd() % 4 == 0,
            .maxphyaddr = maxphy[rnd() % 6],
        };
        c.cr3 = rnd() % 16 ? (FUZZ_BASE + (rnd() % FUZZ_TABLES) * 0x1000) | (rnd() & 0xfff) : rnd();
        uint64_t va = rnd();
        if (rnd() % 10)
            va = (uint64_t)((int64_t)(va << 16) >> 16);            /* canonical */
        enum pt_access acc = (enum pt_access)(rnd() % 3);
        bool user = rnd() & 1, set_ad = rnd() & 1;
        struct pt_walk_result r;
        int rc = pt_walk(gm, &c, va, acc, user, set_ad, &r);
        assert_true(rc >= PT_WALK_OK && rc <= PT_WALK_RETRY);
        assert_int_equal(rc, r.status);
        assert_int_equal(r.ok, rc == PT_WALK_OK);
        counts[rc]++;
        assert_int_equal(rc == PT_WALK_GP, !pt_va_canonical(va));
        assert_int_not_equal(rc, PT_WALK_RETRY);          /* nobody races us here */
        assert_int_equal(r.rule != NULL, rc == PT_WALK_BAD);
        for (int l = r.level; l >= 1 && l <= 4; l++)      /* every entry read was RAM */
            assert_true(gm_range_ok(gm, r.pte_gpa[l - 1], 8));
        if (rc == PT_WALK_OK) {
            unsigned m = c.maxphyaddr ? c.maxphyaddr : 48;
            assert_true(r.gpa < (1ull << m));
            assert_true(r.page_size == 1ull << 12 || r.page_size == 1ull << 21 ||
                        r.page_size == 1ull << 30);
            assert_int_equal(r.page_gpa % r.page_size, 0);
            assert_int_equal(r.gpa, r.page_gpa | (va & (r.page_size - 1)));
            /* never a gpa outside RAM reported as RAM (nor the reverse) */
            assert_int_equal(r.in_ram, r.gpa < gm->size);
            assert_int_equal(r.in_ram, gm_range_ok(gm, r.gpa, 1));
            for (int l = 4; l >= r.level; l--) {
                uint64_t e;
                assert_int_equal(gm_read_u64(gm, r.pte_gpa[l - 1], &e), 0);
                assert_true(e & PTE_P);
                if (set_ad) {
                    assert_true(e & PTE_A);
                    if (l == r.level && acc == PT_WRITE)
                        assert_true(e & PTE_D);
                }
            }
            if (user)
                assert_true(r.user);
            if (acc == PT_WRITE && (user || c.wp))
                assert_true(r.writable);
            if (acc == PT_FETCH)
                assert_true(r.executable);
        } else if (rc == PT_WALK_PF) {
            assert_int_equal(r.pf_error & ~0x1fu, 0);
            assert_int_equal(!!(r.pf_error & PF_W), acc == PT_WRITE);
            assert_int_equal(!!(r.pf_error & PF_U), user);
            assert_int_equal(!!(r.pf_error & PF_I), acc == PT_FETCH && (c.nxe || c.smep));
            if (r.pf_error & PF_RSVD)
                assert_true(r.pf_error & PF_P);
        } else if (rc == PT_WALK_BAD) {
            char msg[160];
            assert_true(pt_walk_format_rule(&r, msg, sizeof(msg)) > 0);
        }
    }
    /* The fuzz must reach every outcome but RETRY, or it tests little. */
    for (int s = PT_WALK_OK; s <= PT_WALK_BAD; s++)
        assert_true(counts[s] > 100);
    print_message("pt_walk fuzz: ok %u, #PF %u, #GP %u, bad %u\n",
                  counts[0], counts[1], counts[2], counts[3]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, guest_ram_setup, guest_ram_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(walk_translates_4k_page_with_offset_and_rights),
        T(walk_translates_2m_page_with_offset),
        T(walk_translates_1g_page_with_offset),
        T(walk_translates_leaf_outside_ram_for_mmio),
        T(walk_not_present_at_each_level_faults_with_p_clear),
        T(walk_fetch_sets_i_bit_only_with_nxe_or_smep),
        T(walk_user_access_to_supervisor_page_faults_p_u),
        T(walk_write_to_read_only_page_honours_wp),
        T(walk_rights_combine_across_levels),
        T(walk_nx_at_any_level_faults_fetch_with_i_bit),
        T(walk_nx_bit_is_reserved_without_nxe),
        T(walk_smep_blocks_supervisor_fetch_from_user_page),
        T(walk_smap_blocks_supervisor_data_access_to_user_page),
        T(walk_bits_above_maxphyaddr_are_reserved),
        T(walk_ps_in_pml4e_is_reserved),
        T(walk_large_page_low_address_bits_are_reserved),
        T(walk_pat_bit_in_pte_is_not_reserved),
        T(walk_reserved_fault_stops_before_lower_levels),
        T(walk_sets_accessed_on_all_levels_and_dirty_only_on_write),
        T(walk_sets_dirty_in_large_page_leaf),
        T(walk_sets_nothing_without_set_ad),
        T(walk_sets_nothing_when_the_access_faults),
        T(walk_recursive_mapping_sets_accessed_once_per_entry),
        T(walk_next_table_outside_ram_ends_guest_with_rule),
        T(walk_non_canonical_va_is_gp_not_pf),
        T(walk_rejects_null_arguments),
        T(walk_fuzz_random_tables_never_crash_or_escape_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
