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
 * goes through platform->invlpg: a paravirtual platform turns them into
 * hypercalls, a trap-and-emulate monitor write-protects the tables.
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
 * Returns the PT entry for va, creating missing PDPT/PD/PT tables if asked.
 * Intermediate entries are writable, and user-accessible for user addresses
 * (the leaf entry decides the final rights).  NULL if a table is missing (and
 * not created) or a large page covers va.
 */
static uint64_t *walk(const struct aspace *as, uint64_t va, bool create)
{
    uint64_t *table = (uint64_t *)as->pml4;
    uint64_t upper_flags = PTE_P | PTE_W | (is_user_va(va) ? PTE_U : 0);

    for (int level = 3; level > 0; level--) {
        uint64_t *e = &table[index_at(va, level)];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            uint64_t pa = pmm_alloc();
            if (!pa)
                return NULL;
            platform->set_pte(e, pa | upper_flags);
        } else if (*e & PTE_PS) {
            return NULL;
        }
        table = table_at(*e);
    }
    return &table[index_at(va, 0)];
}

/* A stale TLB entry survives a PTE change until INVLPG or a CR3 load (SDM
 * Vol. 3A 4.10.4.1).  Kernel mappings are shared by all address spaces. */
static void flush_if_live(const struct aspace *as, uint64_t va)
{
    if (as == current_as || !is_user_va(va))
        platform->invlpg(va);
}

int map_page(struct aspace *as, uint64_t va, uint64_t pa, uint64_t flags)
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
    if (was_present)
        flush_if_live(as, va);
    return 0;
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

uint64_t *pte_lookup(struct aspace *as, uint64_t va)
{
    return walk(as, va, false);
}

/* ---- the kernel's own address space -------------------------------------- */

static uint64_t *new_table(void)
{
    uint64_t pa = pmm_alloc();
    if (!pa)
        panic("paging: out of memory for page tables");
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
    uint64_t *pt = new_table();
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

/* [0, identity_end) of RAM: 2 MiB pages above the first 2 MiB. */
static void build_identity_map(uint64_t *pml4, uint64_t identity_end)
{
    uint64_t *pdpt = new_table();
    platform->set_pte(&pml4[0], (uint64_t)pdpt | PTE_P | PTE_W);   /* no PTE_U */

    for (uint64_t gib = 0; gib * (1ull << 30) < identity_end; gib++) {
        uint64_t *pd = new_table();
        platform->set_pte(&pdpt[gib], (uint64_t)pd | PTE_P | PTE_W);
        for (unsigned i = 0; i < 512; i++) {
            uint64_t pa = (gib << 30) + (uint64_t)i * LARGE_PAGE;
            if (pa >= identity_end)
                break;
            if (pa == 0)
                map_low_2mib(pd);
            else
                platform->set_pte(&pd[i], pa | PTE_P | PTE_W | PTE_PS | pte_nx);
        }
    }
}

void paging_init(uint64_t identity_end)
{
    if ((uint64_t)__kernel_end > LARGE_PAGE)
        panic("paging: the kernel image ends above 2 MiB (0x%lx)", (uint64_t)__kernel_end);
    pte_nx = (platform->rdmsr(MSR_EFER) & EFER_NXE) ? PTE_NX : 0;

    uint64_t *pml4 = new_table();
    kernel_aspace.pml4 = (uint64_t)pml4;
    build_identity_map(pml4, identity_end);
    aspace_switch(&kernel_aspace);
}

/* ---- more address spaces --------------------------------------------------- */

int aspace_create(struct aspace *as)
{
    uint64_t *pml4 = (uint64_t *)pmm_alloc();
    if (!pml4)
        return -1;
    uint64_t *kpml4 = (uint64_t *)kernel_aspace.pml4;
    platform->set_pte(&pml4[0], kpml4[0]);      /* share the kernel half */
    as->pml4 = (uint64_t)pml4;
    return 0;
}

/* Frees the private page tables (PML4[1..]); the frames they mapped belong
 * to whoever mapped them. */
static void free_tables(uint64_t *table, int level)
{
    for (unsigned i = 0; i < 512 && level > 0; i++) {
        if (table[i] & PTE_P) {
            free_tables(table_at(table[i]), level - 1);
            pmm_free(table[i] & PTE_ADDR);
        }
    }
}

void aspace_destroy(struct aspace *as)
{
    if (as == current_as)
        aspace_switch(&kernel_aspace);
    uint64_t *pml4 = (uint64_t *)as->pml4;
    for (unsigned i = 1; i < 512; i++) {
        if (pml4[i] & PTE_P) {
            free_tables(table_at(pml4[i]), 2);
            pmm_free(pml4[i] & PTE_ADDR);
        }
    }
    pmm_free(as->pml4);
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
