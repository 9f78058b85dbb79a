/*
 * Guest page-table walk (see pt_walk.h; Intel SDM Vol. 3A ch. 4).
 */
#include "libhv/pt_walk.h"

#include <stdio.h>
#include <string.h>

#include "abi/x86_arch.h"

/* How often the walk restarts when a compare-and-exchange of A/D loses a
 * race with another writer of the entry before giving up (PT_WALK_RETRY). */
#define PT_WALK_MAX_TRIES 8

#define PT_RESTART (-2)           /* internal: an A/D update lost a race  */

#define SZ_4K (1ull << 12)
#define SZ_2M (1ull << 21)
#define SZ_1G (1ull << 30)

/* Bits that must be zero in a large-page entry between the PAT bit (12)
 * and the frame address: 20:13 in a 2 MiB PDE (table 4-18), 29:13 in a
 * 1 GiB PDPTE (table 4-16). */
#define LARGE_2M_RSVD 0x00000000001fe000ull
#define LARGE_1G_RSVD 0x000000003fffe000ull

bool pt_va_canonical(uint64_t va)
{
    /* 4-level paging translates 48 bits; bits 63:47 must be copies of bit
     * 47 (SDM Vol. 1 §3.3.7.1).  An arithmetic shift sign-extends bit 47. */
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

static unsigned eff_maxphyaddr(const struct pt_walk_ctx *ctx)
{
    unsigned m = ctx->maxphyaddr ? ctx->maxphyaddr : 48;
    if (m < 32)
        m = 32;
    if (m > 52)
        m = 52;
    return m;
}

static void reset(struct pt_walk_result *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < 4; i++)
        out->pte_gpa[i] = PT_NO_GPA;
    out->rule_entry_gpa = PT_NO_GPA;
    out->rule_target_gpa = PT_NO_GPA;
}

static int finish(struct pt_walk_result *out, enum pt_walk_status st)
{
    out->status = st;
    out->ok = st == PT_WALK_OK;
    return (int)st;
}

static int bad(struct pt_walk_result *out, const char *rule, uint64_t entry_gpa, uint64_t target)
{
    out->rule = rule;
    out->rule_entry_gpa = entry_gpa;
    out->rule_target_gpa = target;
    return finish(out, PT_WALK_BAD);
}

/* §4.6: is the access allowed, given the rights combined over all levels?
 * user_page = U/S=1 at every level (a "user-mode address"), writable = R/W=1
 * at every level, xd = XD=1 at some level (only counted when NXE=1). */
static bool access_allowed(const struct pt_walk_ctx *ctx, enum pt_access acc, bool user_mode,
                           bool user_page, bool writable, bool xd)
{
    if (user_mode) {
        /* §4.6.1, user-mode access rights: only user-mode addresses; writes
         * need R/W=1 everywhere (CR0.WP plays no part); fetches need XD=0
         * everywhere when NXE=1. */
        if (!user_page)
            return false;
        if (acc == PT_WRITE)
            return writable;
        if (acc == PT_FETCH)
            return !xd;
        return true;
    }
    /* Supervisor-mode access (CPL < 3). */
    switch (acc) {
    case PT_FETCH:
        /* SMEP: no fetch from a user-mode address; otherwise XD rules. */
        if (user_page && ctx->smep)
            return false;
        return !xd;
    case PT_WRITE:
        /* SMAP (explicit access with RFLAGS.AC = 0): no data access to a
         * user-mode address, whatever CR0.WP says.  CR0.WP = 0: writes go
         * to any address with a valid translation, even read-only ones;
         * CR0.WP = 1: R/W=1 needed at every level. */
        if (user_page && ctx->smap && !ctx->ac)
            return false;
        return !ctx->wp || writable;
    case PT_READ:
    default:
        if (user_page && ctx->smap && !ctx->ac)
            return false;
        return true;
    }
}

static int walk_once(struct guest_mem *gm, const struct pt_walk_ctx *ctx, uint64_t va,
                     enum pt_access acc, bool user_mode, bool set_ad,
                     struct pt_walk_result *out)
{
    reset(out);
    if (!pt_va_canonical(va))
        return finish(out, PT_WALK_GP);

    /* The error-code bits that describe the access (§4.7): W/R, U/S, and
     * I/D for a fetch only when NXE or SMEP is on (4-level paging implies
     * CR4.PAE = 1). */
    uint32_t access_bits = 0;
    if (acc == PT_WRITE)
        access_bits |= PF_W;
    if (user_mode)
        access_bits |= PF_U;
    if (acc == PT_FETCH && (ctx->nxe || ctx->smep))
        access_bits |= PF_I;

    const unsigned m = eff_maxphyaddr(ctx);
    const uint64_t phys_limit = 1ull << m;
    const uint64_t addr_mask = (phys_limit - 1) & PTE_ADDR;     /* bits M-1:12 */
    /* Bits 51:M of every entry are reserved (tables 4-15..4-20); so is XD
     * (bit 63) when EFER.NXE = 0. */
    const uint64_t rsvd_common = (PTE_ADDR & ~(phys_limit - 1)) | (ctx->nxe ? 0 : PTE_NX);

    if (ctx->cr3 & PTE_ADDR & ~(phys_limit - 1))
        return bad(out, "CR3 sets bits above MAXPHYADDR", PT_NO_GPA, ctx->cr3);

    uint64_t table = ctx->cr3 & addr_mask;
    uint64_t entry_gpa = PT_NO_GPA;         /* the entry that pointed at `table` */
    uint64_t *ptr[4] = { NULL, NULL, NULL, NULL };
    bool writable = true, user_page = true, xd = false;
    uint64_t page_size = 0;
    int level;

    for (level = 4; level >= 1; level--) {
        /* The next table must be guest RAM.  Real hardware would read
         * whatever is there (MMIO, nothing); hvlab ends the guest instead.
         * RAM is whole 4 KiB pages, so checking the table page is the same
         * as checking the entry. */
        if (!gm_range_ok(gm, table, SZ_4K))
            return bad(out, entry_gpa == PT_NO_GPA ? "CR3 points outside guest RAM"
                                                   : "page-table entry points outside guest RAM",
                       entry_gpa, table);

        const unsigned shift = 12 + 9 * (unsigned)(level - 1);
        entry_gpa = table + ((va >> shift) & 511) * 8;
        ptr[level - 1] = gm_ptr(gm, entry_gpa, 8);
        if (!ptr[level - 1])                                     /* cannot happen */
            return bad(out, "page-table entry points outside guest RAM", entry_gpa, table);
        /* Read the entry once (one 8-byte load, as the CPU does) and use
         * only this copy from here on. */
        const uint64_t e = __atomic_load_n(ptr[level - 1], __ATOMIC_ACQUIRE);
        out->pte_gpa[level - 1] = entry_gpa;
        out->pte[level - 1] = e;
        out->level = level;

        /* P = 0: not present; every other bit is ignored (§4.5.4). */
        if (!(e & PTE_P)) {
            out->pf_error = access_bits;
            return finish(out, PT_WALK_PF);
        }

        const bool ps = (level == 3 || level == 2) && (e & PTE_PS);
        uint64_t rsvd = rsvd_common;
        if (level == 4)
            rsvd |= PTE_PS;                   /* table 4-15: bit 7 reserved     */
        else if (level == 3 && ps)
            rsvd |= ctx->no_1g_pages ? PTE_PS /* no 1 GiB pages: PS reserved    */
                                     : LARGE_1G_RSVD;             /* table 4-16 */
        else if (level == 2 && ps)
            rsvd |= LARGE_2M_RSVD;                                /* table 4-18 */
        /* level 1: bit 7 is PAT (table 4-20), not reserved. */
        if (e & rsvd) {
            out->pf_error = access_bits | PF_P | PF_RSVD;
            return finish(out, PT_WALK_PF);
        }

        /* §4.6: rights combine over all levels. */
        writable = writable && (e & PTE_W);
        user_page = user_page && (e & PTE_U);
        xd = xd || (ctx->nxe && (e & PTE_NX));

        if (level == 1 || ps) {
            page_size = level == 3 ? SZ_1G : level == 2 ? SZ_2M : SZ_4K;
            break;
        }
        table = e & addr_mask;
    }

    const uint64_t leaf = out->pte[level - 1];
    out->page_size = page_size;
    out->page_gpa = leaf & addr_mask & ~(page_size - 1);   /* drops PAT (bit 12) of a large page */
    out->gpa = out->page_gpa | (va & (page_size - 1));
    out->in_ram = gm_range_ok(gm, out->gpa, 1);
    out->writable = writable;
    out->user = user_page;
    out->executable = !xd;
    out->dirty = (leaf & PTE_D) != 0;

    if (!access_allowed(ctx, acc, user_mode, user_page, writable, xd)) {
        out->pf_error = access_bits | PF_P;
        return finish(out, PT_WALK_PF);
    }

    if (set_ad) {
        /* §4.8: A in every entry used, D in the leaf of a write.  Top-down,
         * each with compare-and-exchange against the value the walk used:
         * if the guest changed an entry meanwhile, the walk is stale. */
        for (int l = 4; l >= level; l--) {
            uint64_t expect = out->pte[l - 1];
            uint64_t want = expect | PTE_A;
            if (l == level && acc == PT_WRITE)
                want |= PTE_D;
            if (want == expect)
                continue;
            if (!__atomic_compare_exchange_n(ptr[l - 1], &expect, want, false,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                return PT_RESTART;
            out->pte[l - 1] = want;
        }
        out->dirty = (out->pte[level - 1] & PTE_D) != 0;
    }
    return finish(out, PT_WALK_OK);
}

int pt_walk(struct guest_mem *gm, const struct pt_walk_ctx *ctx, uint64_t va,
            enum pt_access acc, bool user_mode, bool set_ad, struct pt_walk_result *out)
{
    if (!gm || !ctx || !out)
        return -1;
    for (int i = 0; i < PT_WALK_MAX_TRIES; i++) {
        int st = walk_once(gm, ctx, va, acc, user_mode, set_ad, out);
        if (st != PT_RESTART)
            return st;
    }
    reset(out);
    return finish(out, PT_WALK_RETRY);
}

int pt_walk_format_rule(const struct pt_walk_result *r, char *buf, size_t len)
{
    if (!r || r->status != PT_WALK_BAD || !r->rule)
        return snprintf(buf, len, "%s", "");
    if (r->rule_entry_gpa == PT_NO_GPA)
        return snprintf(buf, len, "%s (CR3 = %#llx)", r->rule,
                        (unsigned long long)r->rule_target_gpa);
    return snprintf(buf, len, "page-table entry at GPA %#llx (level %d) points outside guest RAM (%#llx)",
                    (unsigned long long)r->rule_entry_gpa, r->level,
                    (unsigned long long)r->rule_target_gpa);
}
