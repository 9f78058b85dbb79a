/*
 * paging.c - 4-level page tables and address spaces.
 *
 * x86-64 translates a 48-bit virtual address through four tables of 512
 * eight-byte entries (SDM Vol. 3A 4.5): PML4 (bits 47:39), PDPT (38:30),
 * PD (29:21), PT (20:12).  Since every table lives in RAM that the kernel
 * identity-maps, the kernel reaches a table at virtual == physical address.
 *
 * Address spaces (layout.h):
 *   PML4[0]  the kernel, supervisor-only, one set of lower tables *shared* by
 *            every address space (each PML4 copies the same PML4[0] entry),
 *            so a kernel mapping made once is visible everywhere;
 *   PML4[1]  the user region, private to each address space.
 * A user access to PML4[0] faults because PML4[0] lacks the U/S bit: the
 * access rights are the AND of all four levels (SDM Vol. 3A 4.6.1).
 *
 * Every entry is written through platform->set_pte and every TLB shoot-down
 * goes through platform->invlpg or flush_tlb_all: a paravirtual platform
 * turns them into hypercalls, a trap-and-emulate monitor write-protects the
 * tables.  Every table comes from platform->alloc_table and goes back
 * through free_table: the paravirtual platform pins it (Xen PV's direct
 * paging: the hypervisor validates every entry, so tables stay read-only to
 * the kernel and come from a pool the identity map maps read-only).  Runs of
 * entries are written in lazy MMU mode (mmu_lazy_begin/end), which lets the
 * paravirtual platform send hundreds of them in one hypercall.
 */
#include "kernel.h"
#include "mm.h"
#include "traps.h"

#define LARGE_PAGE (2ull << 20)

struct aspace kernel_aspace;
uint64_t pte_nx;
uint64_t demand_faults;

static const struct aspace *current_as;
static uint64_t demand_base, demand_end;
static uint64_t table_pool_base, table_pool_end;   /* empty unless the platform has a pool */

static uint64_t *table_at(uint64_t entry)
{
    return (uint64_t *)(entry & PTE_ADDR);      /* identity-mapped */
}

static unsigned index_at(uint64_t va, int level)  /* level 3 = PML4 ... 0 = PT */
{
    return (va >> (PAGE_SHIFT + 9 * level)) & 511;
}

static bool is_user_va(uint64_t va)
{
    return va >= USER_BASE && va < USER_END;
}

static bool is_mappable_va(uint64_t va)
{
    bool canonical_low = va < (1ull << 47);     /* we only use the lower half */
    bool in_hole = va >= HVLAB_HOLE_BASE && va < HVLAB_HOLE_END;
    return canonical_low && !in_hole;
}

/*
 * A new, empty table of `level` (4 = PML4 ... 1 = PT), linked at *e.  NULL
 * when no frame is left.  The caller goes on with the frame's address, not
 * with *e; but the next walk through *e reads the entry, so in lazy MMU mode
 * the link is applied at once (mmu_flush).
 */
static uint64_t *link_new_table(uint64_t *e, int level, uint64_t flags)
{
    uint64_t pa = platform->alloc_table(level);
    if (!pa)
        return NULL;
    platform->set_pte(e, pa | flags);
    platform->mmu_flush();
    return (uint64_t *)pa;
}

/*
 * Returns the entry for va in the table of level `leaf` (0 = PT, 1 = PD),
 * creating the missing tables above it if asked.  Intermediate entries are
 * writable, and user-accessible for user addresses (the leaf entry decides
 * the final rights).  NULL if a table is missing (and not created) or a
 * large page covers va above that level.
 */
static uint64_t *walk_to(const struct aspace *as, uint64_t va, bool create, int leaf)
{
    uint64_t *table = (uint64_t *)as->pml4;
    uint64_t upper_flags = PTE_P | PTE_W | (is_user_va(va) ? PTE_U : 0);

    for (int level = 3; level > leaf; level--) {
        uint64_t *e = &table[index_at(va, level)];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            /* an entry of the level-(level+1) table links a level-`level` one */
            table = link_new_table(e, level, upper_flags);
            if (!table)
                return NULL;
            continue;
        }
        if (*e & PTE_PS)
            return NULL;
        table = table_at(*e);
    }
    return &table[index_at(va, leaf)];
}

/* The PT entry for va (see walk_to). */
static uint64_t *walk(const struct aspace *as, uint64_t va, bool create)
{
    return walk_to(as, va, create, 0);
}

/* A stale TLB entry survives a PTE change until INVLPG or a CR3 load (SDM
 * Vol. 3A 4.10.4.1).  Kernel mappings are shared by all address spaces. */
static bool mapping_is_live(const struct aspace *as, uint64_t va)
{
    return as == current_as || !is_user_va(va);
}

static void flush_if_live(const struct aspace *as, uint64_t va)
{
    if (mapping_is_live(as, va))
        platform->invlpg(va);
}

/* Writes va's leaf entry, creating tables.  1: it replaced a present entry
 * (whose TLB entry the caller must flush), 0: it did not, -1: error. */
static int set_leaf(struct aspace *as, uint64_t va, uint64_t pa, uint64_t flags)
{
    if (!is_mappable_va(va) || (va | pa) & (PAGE_SIZE - 1))
        return -1;
    uint64_t *pte = walk(as, va, true);
    if (!pte)
        return -1;
    bool was_present = *pte & PTE_P;
    if (!pte_nx)
        flags &= ~PTE_NX;
    platform->set_pte(pte, pa | flags | PTE_P);
    return was_present;
}

int map_page(struct aspace *as, uint64_t va, uint64_t pa, uint64_t flags)
{
    int rc = set_leaf(as, va, pa, flags);
    if (rc > 0)
        flush_if_live(as, va);
    return rc < 0 ? -1 : 0;
}

uint64_t unmap_page(struct aspace *as, uint64_t va)
{
    uint64_t *pte = walk(as, va, false);
    if (!pte || !(*pte & PTE_P))
        return 0;
    uint64_t pa = *pte & PTE_ADDR;
    platform->set_pte(pte, 0);
    flush_if_live(as, va);
    return pa;
}

/* n pages from va to n physically contiguous frames from pa, in lazy MMU
 * mode; replaced entries cost one full TLB flush at the end, not n. */
int map_pages(struct aspace *as, uint64_t va, uint64_t pa, uint64_t n, uint64_t flags)
{
    bool replaced = false;
    int rc = 0;

    platform->mmu_lazy_begin();
    for (uint64_t i = 0; i < n && rc >= 0; i++) {
        rc = set_leaf(as, va + i * PAGE_SIZE, pa + i * PAGE_SIZE, flags);
        replaced |= rc > 0;
    }
    platform->mmu_lazy_end();
    if (replaced && mapping_is_live(as, va))
        platform->flush_tlb_all();
    return rc < 0 ? -1 : 0;
}

/* The pages of [va, va + n pages) that were mapped are unmapped, in lazy
 * MMU mode with one full TLB flush at the end.  Returns how many were. */
uint64_t unmap_pages(struct aspace *as, uint64_t va, uint64_t n)
{
    uint64_t removed = 0;

    platform->mmu_lazy_begin();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t *pte = walk(as, va + i * PAGE_SIZE, false);
        if (pte && (*pte & PTE_P)) {
            platform->set_pte(pte, 0);
            removed++;
        }
    }
    platform->mmu_lazy_end();
    if (removed && mapping_is_live(as, va))
        platform->flush_tlb_all();
    return removed;
}

/*
 * n 2 MiB pages from va to the 2 MiB frames from pa: a PD entry with PS set
 * maps 2 MiB at once, and the walk stops there (SDM Vol. 3A 4.5, table
 * 4-17); one TLB entry covers the whole page.  Both addresses must be 2 MiB
 * aligned (bits 20:13 of a PS entry are reserved, bit 12 is PAT).  A PD
 * entry that links a page table is refused, not replaced (its table would
 * leak).  In lazy MMU mode, with one full flush if entries were replaced.
 */
int map_pages_2m(struct aspace *as, uint64_t va, uint64_t pa, uint64_t n, uint64_t flags)
{
    bool replaced = false;
    int rc = 0;

    if ((va | pa) & (LARGE_PAGE - 1) || !is_mappable_va(va) ||
        !is_mappable_va(va + n * LARGE_PAGE - 1))
        return -1;
    if (!pte_nx)
        flags &= ~PTE_NX;
    platform->mmu_lazy_begin();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t *pde = walk_to(as, va + i * LARGE_PAGE, true, 1);
        if (!pde || ((*pde & PTE_P) && !(*pde & PTE_PS))) {
            rc = -1;
            break;
        }
        replaced |= (*pde & PTE_P) != 0;
        platform->set_pte(pde, (pa + i * LARGE_PAGE) | flags | PTE_P | PTE_PS);
    }
    platform->mmu_lazy_end();
    if (replaced && mapping_is_live(as, va))
        platform->flush_tlb_all();
    return rc;
}

uint64_t *pte_lookup(struct aspace *as, uint64_t va)
{
    return walk(as, va, false);
}

/* ---- the kernel's own address space -------------------------------------- */

static uint64_t *new_table(int level)
{
    uint64_t pa = platform->alloc_table(level);
    if (!pa)
        panic("paging: out of memory for a level-%d page table", level);
    return (uint64_t *)pa;
}

static bool in_range(uint64_t pa, const char *start, const char *end)
{
    return pa >= (uint64_t)start && pa < (uint64_t)end;
}

extern char __rodata_start[], __rodata_end[];

/*
 * The first 2 MiB with 4 KiB pages, so that each part gets its own rights:
 * page 0 unmapped (a NULL dereference faults), kernel text read-only and
 * executable, rodata and the user code's load image read-only, the rest
 * (boot info, scratch, data, BSS) writable; nothing but text executable.
 */
static void map_low_2mib(uint64_t *pd)
{
    uint64_t *pt = new_table(1);
    platform->set_pte(&pd[0], (uint64_t)pt | PTE_P | PTE_W);
    for (uint64_t pa = PAGE_SIZE; pa < LARGE_PAGE; pa += PAGE_SIZE) {
        uint64_t flags = PTE_P | PTE_W | pte_nx;
        if (in_range(pa, __text_start, __text_end))
            flags = PTE_P;
        else if (in_range(pa, __rodata_start, __rodata_end) ||
                 in_range(pa, __user_load_start, __user_load_end))
            flags = PTE_P | pte_nx;
        platform->set_pte(&pt[index_at(pa, 0)], pa | flags);
    }
}

/* A 2 MiB page of the identity map: writable, except the page-table pool,
 * which a paravirtual hypervisor never lets the kernel write (pv.c). */
static uint64_t large_page_entry(uint64_t pa)
{
    bool in_pool = pa >= table_pool_base && pa < table_pool_end;
    return pa | PTE_P | (in_pool ? 0 : PTE_W) | PTE_PS | pte_nx;
}

/* [0, identity_end) of RAM: 2 MiB pages above the first 2 MiB.  Each table
 * is linked before its entries are written, the order a validating
 * hypervisor needs to know where a table sits. */
static void build_identity_map(uint64_t *pml4, uint64_t identity_end)
{
    uint64_t *pdpt = new_table(3);
    platform->set_pte(&pml4[0], (uint64_t)pdpt | PTE_P | PTE_W);   /* no PTE_U */

    for (uint64_t gib = 0; gib * (1ull << 30) < identity_end; gib++) {
        uint64_t *pd = new_table(2);
        platform->set_pte(&pdpt[gib], (uint64_t)pd | PTE_P | PTE_W);
        for (unsigned i = 0; i < 512; i++) {
            uint64_t pa = (gib << 30) + (uint64_t)i * LARGE_PAGE;
            if (pa >= identity_end)
                break;
            if (pa == 0)
                map_low_2mib(pd);
            else
                platform->set_pte(&pd[i], large_page_entry(pa));
        }
    }
}

/*
 * [table_pool, identity_end) is the platform's page-table pool (platform.h),
 * empty on native: kept out of pmm by the caller, mapped read-only here.
 * The identity map's hundreds of entries go out in lazy MMU mode.
 */
void paging_init(uint64_t identity_end, uint64_t table_pool)
{
    if ((uint64_t)__kernel_end > LARGE_PAGE)
        panic("paging: the kernel image ends above 2 MiB (0x%lx)", (uint64_t)__kernel_end);
    pte_nx = (platform->rdmsr(MSR_EFER) & EFER_NXE) ? PTE_NX : 0;
    if (table_pool < identity_end) {
        if (table_pool & (LARGE_PAGE - 1))
            panic("paging: the page-table pool at 0x%lx is not 2 MiB aligned", table_pool);
        table_pool_base = table_pool;
        table_pool_end = identity_end;
        platform->table_pool_init(table_pool, identity_end - table_pool);
    }

    uint64_t *pml4 = new_table(4);
    kernel_aspace.pml4 = (uint64_t)pml4;
    platform->mmu_lazy_begin();
    build_identity_map(pml4, identity_end);
    platform->mmu_lazy_end();
    aspace_switch(&kernel_aspace);
}

/* ---- more address spaces --------------------------------------------------- */

int aspace_create(struct aspace *as)
{
    uint64_t pa = platform->alloc_table(4);
    if (!pa)
        return -1;
    uint64_t *pml4 = (uint64_t *)pa;
    uint64_t *kpml4 = (uint64_t *)kernel_aspace.pml4;
    platform->set_pte(&pml4[0], kpml4[0]);      /* share the kernel half */
    as->pml4 = pa;
    return 0;
}

/*
 * Frees a table and the tables below it, top-down: the parent before its
 * children, because a validating hypervisor refuses to unpin a table that a
 * pinned table still links (HV_EBUSY), and unpinning the parent drops those
 * links; the page keeps its entries, so they can still be read.  A native
 * free puts the free-list link into the frame's first 8 bytes: entry 0 is
 * read before.  Nothing allocates meanwhile, so the rest stays intact.
 */
static void free_table_tree(uint64_t pa, int level)
{
    const uint64_t *table = (const uint64_t *)pa;
    uint64_t first = table[0];

    platform->free_table(pa);
    for (unsigned i = 0; i < 512 && level > 1; i++) {
        uint64_t e = i == 0 ? first : table[i];
        if ((e & PTE_P) && !(e & PTE_PS))
            free_table_tree(e & PTE_ADDR, level - 1);
    }
}

/* Frees the private page tables (PML4[1..]); the frames they mapped belong
 * to whoever mapped them.  PML4[0] links the kernel's shared tables, which
 * stay.  A base pointer in use cannot be unpinned: switch away first. */
void aspace_destroy(struct aspace *as)
{
    if (as == current_as)
        aspace_switch(&kernel_aspace);
    const uint64_t *pml4 = (const uint64_t *)as->pml4;
    platform->free_table(as->pml4);
    for (unsigned i = 1; i < 512; i++)
        if (pml4[i] & PTE_P)
            free_table_tree(pml4[i] & PTE_ADDR, 3);
    as->pml4 = 0;
}

/* Loading CR3 also flushes every non-global TLB entry (SDM Vol. 3A 4.10.4.1). */
void aspace_switch(const struct aspace *as)
{
    platform->write_cr3(as->pml4);
    current_as = as;
}

const struct aspace *aspace_current(void)
{
    return current_as;
}

/* ---- demand paging -------------------------------------------------------- */

void paging_set_demand_region(uint64_t base, uint64_t end)
{
    demand_base = base;
    demand_end = end;
}

/* A not-present kernel fault inside the demand region: map a fresh zeroed
 * frame and let the faulting instruction run again (IRETQ resumes at the
 * faulting RIP: #PF is a fault, SDM Vol. 3A 6.5). */
bool paging_demand_fault(uint64_t cr2, uint64_t error)
{
    if ((error & PF_P) || cr2 < demand_base || cr2 >= demand_end)
        return false;
    uint64_t pa = pmm_alloc();
    if (!pa || map_page(&kernel_aspace, ALIGN_DOWN(cr2, PAGE_SIZE), pa, PTE_W | PTE_NX) < 0)
        return false;
    demand_faults++;
    return true;
}
