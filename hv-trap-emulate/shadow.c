/*
 * Shadow paging.
 *
 * The guest kernel builds 4-level page tables in its RAM and loads CR3, as
 * on hardware; but the host MMU never sees them: the guest runs in a host
 * process whose page tables belong to Linux.  So the monitor keeps that
 * process's address space — the *shadow* — consistent with the guest's
 * tables, the way a TLB is consistent with them:
 *
 *   - lazily: nothing is mapped at first; a guest access to an unmapped
 *     address is a host page fault; shadow_fault() walks the guest's tables
 *     for that address in software (libhv/pt_walk.c, which also sets the
 *     Accessed/Dirty flags the CPU would set) and either installs a host
 *     mapping of the guest-physical page (an mmap of the guest-RAM memfd at
 *     that guest-virtual address, libhv/r3_engine.h), or, if the guest's own
 *     tables forbid the access, injects the #PF the CPU would raise, with
 *     the same error code and CR2;
 *   - the dirty flag: a page whose D flag is clear is mapped read-only even
 *     if the guest's PTE allows writes, so that the first write faults and
 *     D is set exactly when the CPU would set it (SDM Vol. 3A §4.8);
 *   - invalidation: the guest must tell the CPU when it changes a
 *     translation (INVLPG for one page, a CR3 load for all non-global ones,
 *     §4.10.4); those instructions trap, and the monitor unmaps what the TLB
 *     would have dropped.  A change the guest does not announce is one the
 *     CPU may also ignore, so the shadow may ignore it too.
 *
 * Two privilege levels, one host address space?  A guest user task must not
 * reach pages the guest mapped supervisor-only, but the host runs guest
 * kernel and guest user code both in ring 3, where every mapping is
 * reachable.  Two answers, selectable (HVLAB_SHADOW=per-mode|flush):
 *   per-mode  two shadows, i.e. two child processes: one holds what the
 *             guest kernel may touch, the other only the guest's user
 *             (U/S=1) pages.  A change of privilege switches the process
 *             that runs the guest's registers; nothing is unmapped.
 *   flush     one shadow, emptied whenever the privilege level changes (and
 *             refilled fault by fault).
 * docs/trap-and-emulate.md has the measurement that chose per-mode.
 */
#include "hv-trap-emulate/vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"

#define SIZE_4K 0x1000ull
#define SIZE_2M 0x200000ull
#define SIZE_1G 0x40000000ull

/* ---- the set of mapped pages (open addressing, linear probing) ------------- *
 * key = page address | KEY_USED | (KEY_2M for a 2 MiB mapping) | (KEY_GLOBAL
 * for a global translation); 0 is an empty slot and KEY_GONE a deleted one.
 * Lookups by address try both values of KEY_GLOBAL. */
#define KEY_USED   2ull
#define KEY_2M     1ull
#define KEY_GLOBAL 4ull
#define KEY_GONE   1ull

static uint64_t hash_key(uint64_t k)
{
    k ^= k >> 29;
    k *= 0xbf58476d1ce4e5b9ull;
    return k ^ (k >> 32);
}

static int set_grow(struct shadow *s)
{
    uint64_t ncap = s->cap ? s->cap * 2 : 4096, *old = s->pages, ocap = s->cap;
    uint64_t *n = calloc(ncap, sizeof(*n));
    if (!n)
        return -1;
    s->pages = n, s->cap = ncap, s->count = 0;
    for (uint64_t i = 0; i < ocap; i++) {
        if (old[i] & KEY_USED) {
            uint64_t j = hash_key(old[i]) & (ncap - 1);
            while (n[j])
                j = (j + 1) & (ncap - 1);
            n[j] = old[i], s->count++;
        }
    }
    free(old);
    return 0;
}

static uint64_t *set_find(struct shadow *s, uint64_t key)
{
    if (!s->cap)
        return NULL;
    for (uint64_t j = hash_key(key) & (s->cap - 1), n = 0; n < s->cap; j = (j + 1) & (s->cap - 1), n++) {
        if (s->pages[j] == key)
            return &s->pages[j];
        if (!s->pages[j])
            return NULL;
    }
    return NULL;
}

static int set_add(struct shadow *s, uint64_t key)
{
    if (set_find(s, key))
        return 0;
    if ((s->count + 1) * 2 > s->cap && set_grow(s))
        return -1;
    uint64_t j = hash_key(key) & (s->cap - 1);
    while (s->pages[j] & KEY_USED)
        j = (j + 1) & (s->cap - 1);
    s->pages[j] = key, s->count++;
    return 0;
}

static bool set_remove(struct shadow *s, uint64_t key)
{
    uint64_t *slot = set_find(s, key & ~KEY_GLOBAL);
    if (!slot)
        slot = set_find(s, key | KEY_GLOBAL);
    if (!slot)
        return false;
    *slot = KEY_GONE, s->count--;
    return true;
}

/* ---- set-up ---------------------------------------------------------------- */

const char *shadow_policy_name(enum shadow_policy p)
{
    return p == SHADOW_FLUSH ? "flush on mode change" : "one shadow per mode";
}

static unsigned n_shadows(const struct vcpu *v)
{
    return v->policy == SHADOW_PER_MODE ? 2 : 1;
}

int shadow_init(struct vcpu *v, char *err, size_t errlen)
{
    for (unsigned i = 0; i < n_shadows(v); i++) {
        int rc = r3_child_create(&v->shadow[i].child, &v->m->mem, &v->r3cfg, err, errlen);
        if (rc)
            return rc;
        if (set_grow(&v->shadow[i])) {
            snprintf(err, errlen, "out of memory for the shadow page set");
            return -1;
        }
    }
    return 0;
}

void shadow_destroy(struct vcpu *v)
{
    for (unsigned i = 0; i < 2; i++) {
        r3_child_destroy(v->shadow[i].child);
        free(v->shadow[i].pages);
        v->shadow[i] = (struct shadow){0};
    }
}

struct shadow *shadow_current(struct vcpu *v)
{
    return &v->shadow[v->policy == SHADOW_PER_MODE && v->cpl == 3 ? 1 : 0];
}

static void check_queue(struct vcpu *v, int rc, const char *what, uint64_t va)
{
    if (rc && !v->m->stopped)
        hv_stop(v->m, HV_STATUS_MONITOR, "shadow %s at 0x%llx failed: %s", what,
                (unsigned long long)va, strerror(-rc));
}

/* ---- invalidation ----------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Unmaps a shadow's pages — all of them, or all but the global ones: the
 * pages sorted and merged into runs, one munmap per run, all in one batch
 * (one round trip).  Kept pages go back into the emptied set. */
static void flush_one(struct vcpu *v, struct shadow *s, bool keep_global)
{
    if (!s->count)
        return;
    uint64_t *keys = malloc(s->count * sizeof(*keys)), n = 0, kept = 0;
    if (!keys) {
        hv_stop(v->m, HV_STATUS_MONITOR, "out of memory flushing the shadow");
        return;
    }
    for (uint64_t i = 0; i < s->cap; i++)
        if (s->pages[i] & KEY_USED)
            keys[n++] = s->pages[i];
    qsort(keys, n, sizeof(*keys), cmp_u64);
    uint64_t start = 0, end = 0;
    for (uint64_t i = 0; i <= n; i++) {
        if (i < n && keep_global && (keys[i] & KEY_GLOBAL)) {
            keys[kept++] = keys[i];
            continue;
        }
        uint64_t va = i < n ? keys[i] & ~0xfffull : 0;
        uint64_t len = i < n && (keys[i] & KEY_2M) ? SIZE_2M : SIZE_4K;
        if (i < n && end && va <= end) {
            if (va + len > end)
                end = va + len;
            continue;
        }
        if (end)
            check_queue(v, r3_unmap(s->child, start, end - start), "unmap", start);
        start = va, end = va + len;
    }
    memset(s->pages, 0, s->cap * sizeof(*s->pages));
    s->count = 0;
    for (uint64_t i = 0; i < kept; i++)
        set_add(s, keys[i]);
    free(keys);
}

void shadow_flush_all(struct vcpu *v)
{
    stats_inc(&v->m->stats, v->slot.flush);
    for (unsigned i = 0; i < n_shadows(v); i++)
        flush_one(v, &v->shadow[i], false);
}

/* MOV to CR3 (§4.10.4.1) invalidates the translations of every page but
 * the global ones (PTE.G with CR4.PGE set). */
void shadow_flush_nonglobal(struct vcpu *v)
{
    stats_inc(&v->m->stats, v->slot.flush);
    for (unsigned i = 0; i < n_shadows(v); i++)
        flush_one(v, &v->shadow[i], (v->cr4 & CR4_PGE) != 0);
}

/* INVLPG (§4.10.4.1): invalidates the TLB entries for the page containing
 * va, whatever their page size — so a 2 MiB mapping around va goes too. */
void shadow_invlpg(struct vcpu *v, uint64_t va)
{
    uint64_t p4 = va & ~(SIZE_4K - 1), p2 = va & ~(SIZE_2M - 1);
    if (va >= HVLAB_HOLE_BASE)
        return;
    for (unsigned i = 0; i < n_shadows(v); i++) {
        struct shadow *s = &v->shadow[i];
        if (set_remove(s, p4 | KEY_USED))
            check_queue(v, r3_unmap(s->child, p4, SIZE_4K), "unmap", p4);
        if (set_remove(s, p2 | KEY_USED | KEY_2M))
            check_queue(v, r3_unmap(s->child, p2, SIZE_2M), "unmap", p2);
    }
}

void shadow_mode_change(struct vcpu *v, unsigned old_cpl, unsigned new_cpl)
{
    (void)old_cpl, (void)new_cpl;
    stats_inc(&v->m->stats, v->slot.mode_switch);
    if (v->policy == SHADOW_FLUSH)
        flush_one(v, &v->shadow[0], false);
}

/* ---- filling ------------------------------------------------------------------ */

/* Host protection for a translation.  Supervisor writes ignore R/W when
 * CR0.WP is 0 (§4.6.1); a clean page stays read-only until its first write
 * (the write fault sets D). */
static int mapping_prot(const struct vcpu *v, const struct pt_walk_result *r, bool user)
{
    int prot = PROT_READ;
    bool writable = r->writable || (!user && !(v->cr0 & CR0_WP));
    if (writable && r->dirty)
        prot |= PROT_WRITE;
    if (r->executable)
        prot |= PROT_EXEC;
    return prot;
}

/* Installs the host mapping for a successful walk: a 2 MiB guest page as
 * one 2 MiB host mapping, a 1 GiB guest page as the 2 MiB piece around the
 * address (the host mapping is then no bigger than a 2 MiB page), else the
 * 4 KiB page. */
static void install(struct vcpu *v, struct shadow *s, uint64_t va, const struct pt_walk_result *r)
{
    uint64_t size = r->page_size == SIZE_4K ? SIZE_4K : SIZE_2M;
    uint64_t base = va & ~(size - 1);
    uint64_t gpa = r->page_gpa + (base - (va & ~(r->page_size - 1)));
    if (!gm_range_ok(&v->m->mem, gpa, size)) { /* a large page running past RAM's end */
        size = SIZE_4K, base = va & ~(SIZE_4K - 1);
        gpa = r->gpa & ~(SIZE_4K - 1);
    }
    if (va >= HVLAB_HOLE_END) {
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "the guest maps guest-virtual 0x%llx in the upper "
                "half, which a host process cannot hold (hvlab guests are lower-half kernels)",
                (unsigned long long)va);
        return;
    }
    if (base + size > HVLAB_HOLE_BASE) {
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "the guest's page tables map guest-virtual 0x%llx "
                "(guest-physical 0x%llx) inside the hypervisor hole [0x%llx, 0x%llx)",
                (unsigned long long)va, (unsigned long long)r->gpa,
                (unsigned long long)HVLAB_HOLE_BASE, (unsigned long long)HVLAB_HOLE_END);
        return;
    }
    int prot = mapping_prot(v, r, v->cpl == 3);
    check_queue(v, r3_map(s->child, base, size, gpa, prot), "map", base);
    if (size == SIZE_2M) /* 4 KiB mappings it replaced (MAP_FIXED) */
        for (uint64_t p = base; p < base + size; p += SIZE_4K)
            set_remove(s, p | KEY_USED);
    bool global = (v->cr4 & CR4_PGE) && (r->pte[r->level - 1] & PTE_G);
    /* Already mapped: a write to a clean page, now dirty (read-only -> RW). */
    bool upgrade = set_remove(s, base | KEY_USED | (size == SIZE_2M ? KEY_2M : 0));
    stats_inc(&v->m->stats, upgrade ? v->slot.shadow_wp : v->slot.shadow_fault);
    if (set_add(s, base | KEY_USED | (size == SIZE_2M ? KEY_2M : 0) | (global ? KEY_GLOBAL : 0)))
        hv_stop(v->m, HV_STATUS_MONITOR, "out of memory for the shadow page set");
}

/* A guest that faults on the same address at the same instruction again and
 * again although each walk succeeds is making no progress: the host and
 * the shadow disagree (a monitor bug or a host limit such as
 * vm.max_map_count).  Stop instead of spinning. */
static bool no_progress(struct vcpu *v, uint64_t va)
{
    if (v->last_fault_va == (va & ~0xfffull) && v->last_fault_rip == v->regs.rip)
        return ++v->repeat_faults > 16;
    v->last_fault_va = va & ~0xfffull, v->last_fault_rip = v->regs.rip;
    v->repeat_faults = 0;
    return false;
}

void shadow_fault(struct vcpu *v, uint64_t va, uint32_t host_error)
{
    enum pt_access acc = (host_error & PF_I) ? PT_FETCH : (host_error & PF_W) ? PT_WRITE
                                                                              : PT_READ;
    bool user = v->cpl == 3;
    struct pt_walk_ctx ctx = vcpu_walk_ctx(v);
    struct pt_walk_result r;
    switch (pt_walk(&v->m->mem, &ctx, va, acc, user, true, &r)) {
    case PT_WALK_PF:
        stats_inc(&v->m->stats, v->slot.guest_pf);
        raise_exception(v, X86_PF, true, r.pf_error);
        v->pending.cr2 = va;
        return;
    case PT_WALK_GP:
        stats_inc(&v->m->stats, v->slot.exception);
        raise_gp0(v);
        return;
    case PT_WALK_RETRY:
        return;
    case PT_WALK_BAD: {
        char why[200];
        pt_walk_format_rule(&r, why, sizeof(why));
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "%s", why);
        return;
    }
    default:
        break;
    }
    if (!r.in_ram) {
        emulate_mmio(v, va, r.gpa);
        return;
    }
    if (no_progress(v, va)) {
        hv_stop(v->m, HV_STATUS_MONITOR, "host page fault at 0x%llx (rip 0x%llx) repeats "
                "although the guest maps the page: shadow out of sync",
                (unsigned long long)va, (unsigned long long)v->regs.rip);
        return;
    }
    install(v, shadow_current(v), va, &r);
}
