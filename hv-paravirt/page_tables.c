/*
 * Direct paging with validation (Xen PV's model; compare shadow paging in
 * hv-trap-emulate/shadow.c).
 *
 * The guest owns its page tables: they are ordinary guest RAM, and the guest
 * reads them directly.  But it may not WRITE them: a page becomes a page
 * table by being pinned (HVC_PIN_TABLE), and from then on every change is an
 * entry of an HVC_MMU_UPDATE batch that this file checks before applying:
 *
 *   - the entry maps guest RAM only (the whole page), never the hypervisor
 *     hole or the upper half (level-4 entries 254..511 stay empty);
 *   - no writable leaf maps a pinned table, and no page that some pinned
 *     table maps writable can be pinned: page tables stay read-only to the
 *     guest, so this file is the only writer (Xen's page "types");
 *   - a non-leaf entry points at a table pinned exactly one level lower,
 *     which translates one place of the guest-virtual space only (it is
 *     placed by its first link; hvlab's simplification, which lets this file
 *     know for every table which addresses it translates);
 *   - no 1 GiB pages, no PAT bit, no reserved bits.
 * A refused entry is an error code for the guest, never a crash.
 *
 * The host side.  The guest runs in a host process whose mappings belong to
 * Linux, as in hv-trap-emulate.  There, the guest's tables are unknown until
 * it faults (shadow paging fills host mappings lazily, fault by fault, and
 * must trap the guest's TLB invalidations to notice changes).  Here every
 * change arrives announced and checked, so it is applied EAGERLY: an
 * updated entry of a table that is live (reachable from the current base
 * pointer) is unmapped and mapped again in the host process at once, and a
 * new base pointer remaps the level-4 slots that differ.  A host page fault
 * therefore always means the guest's own tables forbid the access, and the
 * TLB flush hypercall has nothing left to do.
 *
 * Two host processes, as with hv-trap-emulate's per-mode shadows: [0] holds
 * every translation (guest kernel mode), [1] only the user-accessible ones
 * (guest user mode), so that a guest user task cannot touch kernel pages.
 *
 * Before the guest's first HVC_NEW_BASEPTR it runs in the boot address
 * space: all of RAM identity-mapped by the monitor, with no guest table
 * behind it; a page pinned meanwhile is made read-only there too.
 */
#include "hv-paravirt/pv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"
#include "libhv/pt_walk.h"

#define SIZE_4K 0x1000ull
#define SIZE_2M 0x200000ull
#define FIRST_HOLE_SLOT (HVLAB_HOLE_BASE >> 39)   /* 254 */
#define ENTRY_RESERVED  0x7ff0000000000000ull     /* bits 62:52 */
#define PROT_ALL (PROT_READ | PROT_WRITE | PROT_EXEC)

/* Access rights accumulated down a walk: the AND of all levels (SDM Vol. 3A
 * §4.6.1), as the host mapping must grant them. */
struct perm {
    bool user, write, exec;
};
static const struct perm PERM_ALL = {true, true, true};

static uint64_t span(unsigned level)
{
    return 1ull << (12 + 9 * (level - 1));
}

static bool is_leaf(unsigned level, uint64_t e)
{
    return level == 1 || (level == 2 && (e & PTE_PS));
}

static struct perm perm_and(struct perm p, uint64_t e)
{
    return (struct perm){p.user && (e & PTE_U), p.write && (e & PTE_W),
                         p.exec && !(e & PTE_NX)};
}

static struct pv_frame *frame_at(struct pv_vcpu *v, uint64_t gpa)
{
    return &v->frames[gpa >> 12];
}

static bool page_in_ram(const struct pv_vcpu *v, uint64_t gpa)
{
    return !(gpa & (SIZE_4K - 1)) && gm_range_ok(&v->m->mem, gpa, SIZE_4K);
}

/* The 512 entries of a table (guest RAM, checked once at pin time). */
static const uint64_t *table_entries(struct pv_vcpu *v, uint64_t gpa)
{
    return gm_ptr(&v->m->mem, gpa, SIZE_4K);
}

static void check_host(struct pv_vcpu *v, int rc, const char *what, uint64_t va)
{
    if (rc && !v->m->stopped)
        hv_stop(v->m, HV_STATUS_MONITOR, "host %s at guest-virtual 0x%llx failed: %s", what,
                (unsigned long long)va, strerror(-rc));
}

/* ---- host mappings ---------------------------------------------------------------- */

/* Leaves next to each other in both spaces and with the same rights become
 * one host mmap (the identity map of RAM is then a single mapping). */
struct map_run {
    uint64_t va, gpa, len;
    int prot;
    bool user;
};

static void run_flush(struct pv_vcpu *v, struct map_run *r)
{
    if (!r->len)
        return;
    check_host(v, r3_map(v->child[0], r->va, r->len, r->gpa, r->prot), "map", r->va);
    if (r->user)
        check_host(v, r3_map(v->child[1], r->va, r->len, r->gpa, r->prot), "map", r->va);
    stats_inc(&v->m->stats, v->slot.host_map);
    r->len = 0;
}

static void run_add(struct pv_vcpu *v, struct map_run *r, uint64_t va, uint64_t gpa,
                    uint64_t len, struct perm p)
{
    int prot = PROT_READ | (p.write ? PROT_WRITE : 0) | (p.exec ? PROT_EXEC : 0);
    if (r->len && r->va + r->len == va && r->gpa + r->len == gpa && r->prot == prot &&
        r->user == p.user) {
        r->len += len;
        return;
    }
    run_flush(v, r);
    *r = (struct map_run){va, gpa, len, prot, p.user};
}

/* Maps everything entry e (at `level`, translating va) leads to. */
static void map_entry(struct pv_vcpu *v, struct map_run *run, unsigned level, uint64_t e,
                      uint64_t va, struct perm p)
{
    if (!(e & PTE_P))
        return;
    p = perm_and(p, e);
    if (is_leaf(level, e)) {
        run_add(v, run, va, e & PTE_ADDR, level == 2 ? SIZE_2M : SIZE_4K, p);
        return;
    }
    const uint64_t *t = table_entries(v, e & PTE_ADDR);
    for (unsigned i = 0; i < 512; i++)
        map_entry(v, run, level - 1, t[i], va + i * span(level - 1), p);
}

static void map_subtree(struct pv_vcpu *v, unsigned level, uint64_t e, uint64_t va,
                        struct perm p)
{
    struct map_run run = {0};
    map_entry(v, &run, level, e, va, p);
    run_flush(v, &run);
}

static void unmap_range(struct pv_vcpu *v, uint64_t va, uint64_t len)
{
    for (unsigned i = 0; i < 2; i++)
        check_host(v, r3_unmap(v->child[i], va, len), "unmap", va);
}

/* In the boot space a pinned page is made read-only (and writable again
 * when unpinned): guest page tables are never writable by the guest. */
static void boot_protect(struct pv_vcpu *v, uint64_t gpa, int prot)
{
    if (!v->base)
        check_host(v, r3_protect(v->child[0], gpa, SIZE_4K, prot), "mprotect", gpa);
}

/* Is table t live, i.e. reachable from the current base pointer at its
 * place?  Then *p gets the rights of the levels above it. */
static bool table_live(struct pv_vcpu *v, uint64_t t_gpa, struct perm *p)
{
    const struct pv_frame *t = frame_at(v, t_gpa);
    *p = PERM_ALL;
    if (!v->base)
        return false;
    if (t->level == 4)
        return t_gpa == v->base;
    if (!t->placed)
        return false;
    uint64_t table = v->base;
    for (unsigned level = 4; level > t->level; level--) {
        uint64_t e = table_entries(v, table)[(t->link_va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & PTE_P) || is_leaf(level, e))
            return false;
        *p = perm_and(*p, e);
        table = e & PTE_ADDR;
    }
    return table == t_gpa;
}

/* ---- the rules ------------------------------------------------------------------------ */

static bool maps_pinned(const struct pv_vcpu *v, uint64_t gpa, uint64_t size)
{
    return size == SIZE_2M ? v->pinned_2m[gpa >> 21] != 0 : v->frames[gpa >> 12].level != 0;
}

/* Where a table translates: a level-4 table from 0, others once placed. */
static bool table_place(const struct pv_frame *t, uint64_t *va)
{
    *va = t->level == 4 ? 0 : t->link_va;
    return t->level == 4 || t->placed;
}

/* 0 when e may be written at `index` of table t, else -HV_E*. */
static int64_t check_entry(struct pv_vcpu *v, const struct pv_frame *t, unsigned index,
                           uint64_t e)
{
    unsigned level = t->level;
    if (!(e & PTE_P))
        return 0;
    if (e & ENTRY_RESERVED)
        return -HV_EINVAL;
    if ((e & PTE_PS) && level != 2) /* the PAT bit in a PTE; 1 GiB and larger pages */
        return -HV_EINVAL;
    uint64_t a = e & PTE_ADDR;
    if (level == 2 && (e & PTE_PS) && (a & (SIZE_2M - 1))) /* bits 20:13 reserved, 12 PAT */
        return -HV_EINVAL;
    if (level == 4 && index >= FIRST_HOLE_SLOT)
        return -HV_EXDEV;
    if (is_leaf(level, e)) {
        uint64_t size = level == 2 ? SIZE_2M : SIZE_4K;
        if (!gm_range_ok(&v->m->mem, a, size))
            return -HV_EXDEV;
        if ((e & PTE_W) && maps_pinned(v, a, size))
            return -HV_EXDEV;
        return 0;
    }
    if (!page_in_ram(v, a) || frame_at(v, a)->level != level - 1)
        return -HV_EXDEV;
    uint64_t t_va, child_va;
    if (!table_place(t, &t_va))
        return -HV_EXDEV; /* link a table into place before giving it children */
    child_va = t_va + index * span(level);
    const struct pv_frame *c = frame_at(v, a);
    if (c->placed && c->link_va != child_va)
        return -HV_EXDEV;
    return 0;
}

/* What an entry of a pinned table holds: links and writable mappings. */
static void count_entry(struct pv_vcpu *v, unsigned level, uint64_t e, int delta)
{
    if (!(e & PTE_P))
        return;
    uint64_t a = e & PTE_ADDR;
    if (!is_leaf(level, e))
        frame_at(v, a)->links += (uint32_t)delta;
    else if (e & PTE_W) {
        if (level == 2)
            v->writable_2m[a >> 21] += (uint32_t)delta;
        else
            frame_at(v, a)->writable += (uint32_t)delta;
    }
}

/* ---- the hypercalls ----------------------------------------------------------------- */

int64_t pt_pin(struct pv_vcpu *v, uint64_t gpa, uint64_t level)
{
    if (!page_in_ram(v, gpa) || level < 1 || level > 4)
        return -HV_EINVAL;
    struct pv_frame *f = frame_at(v, gpa);
    if (f->level)
        return -HV_EBUSY;
    if (gpa == HVLAB_PV_SHARED_PADDR || f->writable || v->writable_2m[gpa >> 21])
        return -HV_EXDEV;
    /* An empty table: every entry arrives through pt_update(), the one
     * place where entries are checked (Xen validates a filled page here). */
    if (gm_zero(&v->m->mem, gpa, SIZE_4K))
        return -HV_EINVAL;
    *f = (struct pv_frame){.level = (uint8_t)level};
    v->pinned_2m[gpa >> 21]++;
    boot_protect(v, gpa, PROT_READ | PROT_EXEC);
    return 0;
}

int64_t pt_unpin(struct pv_vcpu *v, uint64_t gpa)
{
    if (!page_in_ram(v, gpa))
        return -HV_EINVAL;
    struct pv_frame *f = frame_at(v, gpa);
    if (!f->level)
        return -HV_ENOENT;
    if (gpa == v->base || f->links)
        return -HV_EBUSY;
    /* The entries stay in the page (the guest may read them to free the
     * tables below) but no longer count: children lose this link. */
    const uint64_t *t = table_entries(v, gpa);
    for (unsigned i = 0; i < 512; i++)
        count_entry(v, f->level, t[i], -1);
    *f = (struct pv_frame){0};
    v->pinned_2m[gpa >> 21]--;
    boot_protect(v, gpa, PROT_ALL);
    return 0;
}

int64_t pt_update(struct pv_vcpu *v, uint64_t ptr, uint64_t val)
{
    if (ptr & 7)
        return -HV_EINVAL;
    uint64_t t_gpa = ptr & ~(SIZE_4K - 1);
    if (!page_in_ram(v, t_gpa) || !frame_at(v, t_gpa)->level)
        return -HV_ENOENT;
    struct pv_frame *t = frame_at(v, t_gpa);
    unsigned level = t->level, index = (unsigned)((ptr & (SIZE_4K - 1)) >> 3);
    int64_t rc = check_entry(v, t, index, val);
    if (rc)
        return rc;

    uint64_t *slot = gm_ptr(&v->m->mem, ptr, 8), old = *slot, t_va;
    count_entry(v, level, old, -1);
    count_entry(v, level, val, +1);
    if ((val & PTE_P) && !is_leaf(level, val) && table_place(t, &t_va)) {
        struct pv_frame *c = frame_at(v, val & PTE_ADDR);
        c->placed = true;
        c->link_va = t_va + index * span(level);
    }
    *slot = val;

    struct perm p;
    if (table_live(v, t_gpa, &p)) {
        table_place(t, &t_va);
        uint64_t va = t_va + index * span(level);
        if (old & PTE_P)
            unmap_range(v, va, span(level));
        map_subtree(v, level, val, va, p);
    }
    return 0;
}

int64_t pt_new_baseptr(struct pv_vcpu *v, uint64_t gpa)
{
    if (!page_in_ram(v, gpa))
        return -HV_EINVAL;
    const struct pv_frame *f = frame_at(v, gpa);
    if (!f->level)
        return -HV_ENOENT;
    if (f->level != 4)
        return -HV_EINVAL;
    const uint64_t *new = table_entries(v, gpa);
    const uint64_t *old = v->base ? table_entries(v, v->base) : NULL;
    if (!old) /* leaving the boot space for good */
        unmap_range(v, 0, v->m->mem.size);
    /* A slot whose entry is unchanged leads to the same tables, whose host
     * mappings are already current (updates to live tables are eager). */
    for (unsigned i = 0; i < FIRST_HOLE_SLOT; i++) {
        if (old && old[i] == new[i])
            continue;
        if (old && (old[i] & PTE_P))
            unmap_range(v, (uint64_t)i << 39, 1ull << 39);
        map_subtree(v, 4, new[i], (uint64_t)i << 39, PERM_ALL);
    }
    v->base = gpa;
    return 0;
}

/* ---- faults and the monitor's own accesses ------------------------------------------------ */

static struct pt_walk_ctx walk_ctx(const struct pv_vcpu *v)
{
    /* The virtual CPU's fixed CR0.WP and EFER.NXE (HVLAB_PV_CR0/EFER). */
    return (struct pt_walk_ctx){.cr3 = v->base, .wp = true, .nxe = true, .no_1g_pages = true};
}

int64_t pt_fault_error(struct pv_vcpu *v, uint64_t va, uint32_t host_error)
{
    bool user = v->cpl == 3;
    if (!v->base) {
        bool present = va < v->m->mem.size && !user;
        if (present && !((host_error & PF_W) && frame_at(v, va)->level))
            return -1;
        return (present ? PF_P : 0) | (host_error & (PF_W | PF_I)) | (user ? PF_U : 0);
    }
    enum pt_access acc = (host_error & PF_I) ? PT_FETCH : (host_error & PF_W) ? PT_WRITE
                                                                              : PT_READ;
    struct pt_walk_ctx ctx = walk_ctx(v);
    struct pt_walk_result r;
    if (pt_walk(&v->m->mem, &ctx, va, acc, user, false, &r) == PT_WALK_PF)
        return r.pf_error;
    return -1;
}

/* One page of a kernel-mode access: 0 with *gpa, or -HV_EFAULT. */
static int translate(struct pv_vcpu *v, uint64_t va, enum pt_access acc, bool user,
                     uint64_t *gpa)
{
    if (!v->base) {
        if (user || va >= v->m->mem.size)
            return -HV_EFAULT;
        *gpa = va;
    } else {
        struct pt_walk_ctx ctx = walk_ctx(v);
        struct pt_walk_result r;
        if (pt_walk(&v->m->mem, &ctx, va, acc, user, false, &r) != PT_WALK_OK || !r.in_ram)
            return -HV_EFAULT;
        *gpa = r.gpa;
    }
    /* Never write a page table on the guest's behalf (a confused deputy):
     * the tables' own mappings are read-only, this is the second wall. */
    if (acc == PT_WRITE && frame_at(v, *gpa)->level)
        return -HV_EFAULT;
    return 0;
}

static int gva_copy(struct pv_vcpu *v, uint64_t va, void *buf, uint64_t len, enum pt_access acc,
                    bool user)
{
    uint8_t *p = buf;
    /* Check every page before touching any: a refused write changes nothing. */
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t off = 0; off < len;) {
            uint64_t n = SIZE_4K - ((va + off) & (SIZE_4K - 1)), gpa;
            if (n > len - off)
                n = len - off;
            if (translate(v, va + off, acc, user, &gpa))
                return -HV_EFAULT;
            if (pass == 1 && (acc == PT_WRITE ? gm_write(&v->m->mem, gpa, p + off, n)
                                              : gm_read(&v->m->mem, gpa, p + off, n)))
                return -HV_EFAULT;
            off += n;
        }
    }
    return 0;
}

int gva_read(struct pv_vcpu *v, uint64_t va, void *dst, uint64_t len)
{
    return gva_copy(v, va, dst, len, PT_READ, false);
}

int gva_write(struct pv_vcpu *v, uint64_t va, const void *src, uint64_t len)
{
    return gva_copy(v, va, (void *)src, len, PT_WRITE, false);
}

int gva_fetch(struct pv_vcpu *v, uint64_t va, void *dst, uint64_t len)
{
    return gva_copy(v, va, dst, len, PT_FETCH, v->cpl == 3);
}

/* ---- set-up ----------------------------------------------------------------------------- */

int pt_init(struct pv_vcpu *v, char *err, size_t errlen)
{
    uint64_t ram = v->m->mem.size;
    v->nframes = ram >> 12;
    v->frames = calloc(v->nframes, sizeof(*v->frames));
    v->pinned_2m = calloc((ram >> 21) + 1, sizeof(*v->pinned_2m));
    v->writable_2m = calloc((ram >> 21) + 1, sizeof(*v->writable_2m));
    if (!v->frames || !v->pinned_2m || !v->writable_2m) {
        snprintf(err, errlen, "out of memory for the page-table state of %llu frames",
                 (unsigned long long)v->nframes);
        return -1;
    }
    for (unsigned i = 0; i < 2; i++) {
        int rc = r3_child_create(&v->child[i], &v->m->mem, &v->r3cfg, err, errlen);
        if (rc)
            return rc;
    }
    /* The boot space: RAM at va == pa, kernel mode only. */
    int rc = r3_map(v->child[0], 0, ram, 0, PROT_ALL);
    if (rc) {
        snprintf(err, errlen, "cannot map guest RAM in the guest's process: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

void pt_destroy(struct pv_vcpu *v)
{
    for (unsigned i = 0; i < 2; i++) {
        r3_child_destroy(v->child[i]);
        v->child[i] = NULL;
    }
    free(v->frames);
    free(v->pinned_2m);
    free(v->writable_2m);
    v->frames = NULL, v->pinned_2m = v->writable_2m = NULL;
}

struct r3_child *pt_current_child(struct pv_vcpu *v)
{
    return v->child[v->cpl == 3];
}
