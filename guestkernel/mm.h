/*
 * mm.h - physical page allocator (pmm.c) and 4-level paging (paging.c).
 */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include <stdbool.h>
#include <stdint.h>

struct hvlab_boot_info;

/* ---- pmm.c --------------------------------------------------------------- */
void pmm_init(const struct hvlab_boot_info *bi, uint64_t limit);
uint64_t pmm_alloc(void);               /* a zeroed 4 KiB frame, 0 if none left */
uint64_t pmm_alloc_run(uint64_t n);     /* n contiguous zeroed frames (freed one by one) */
void pmm_free(uint64_t pa);
bool pmm_owns(uint64_t pa);             /* pa lies in memory the allocator manages */
uint64_t pmm_free_pages(void);          /* never-used pages + the free list */

/* ---- paging.c ------------------------------------------------------------ */
struct aspace {
    uint64_t pml4;                      /* physical address = the CR3 value */
};

extern struct aspace kernel_aspace;
extern uint64_t pte_nx;                 /* PTE_NX if EFER.NXE is on, else 0 */

/* Builds and loads kernel_aspace: [0, identity_end) identity-mapped, with
 * [table_pool, identity_end) the platform's page-table pool (platform.h). */
void paging_init(uint64_t identity_end, uint64_t table_pool);
int aspace_create(struct aspace *as);
void aspace_destroy(struct aspace *as);
void aspace_switch(const struct aspace *as);
const struct aspace *aspace_current(void);

/* flags: PTE_W, PTE_U, PTE_NX, PTE_PCD...; PTE_P is implied.  Replacing a
 * present entry flushes its TLB entry.  0 on success, -1 on error. */
int map_page(struct aspace *as, uint64_t va, uint64_t pa, uint64_t flags);
uint64_t unmap_page(struct aspace *as, uint64_t va);   /* old frame, 0 if none */
/* Runs of pages in lazy MMU mode (a batch of updates on paravirt): n pages
 * at va to the contiguous frames from pa; unmap returns how many were
 * mapped.  One full TLB flush at the end where entries were replaced. */
int map_pages(struct aspace *as, uint64_t va, uint64_t pa, uint64_t n, uint64_t flags);
uint64_t unmap_pages(struct aspace *as, uint64_t va, uint64_t n);
/* n 2 MiB pages (PD entries with PS), va and pa 2 MiB aligned; 0 or -1. */
int map_pages_2m(struct aspace *as, uint64_t va, uint64_t pa, uint64_t n, uint64_t flags);
uint64_t *pte_lookup(struct aspace *as, uint64_t va);  /* leaf PTE or NULL */

/* Demand paging of one kernel region: a not-present fault there gets a fresh
 * frame mapped and the access is retried. */
void paging_set_demand_region(uint64_t base, uint64_t end);
bool paging_demand_fault(uint64_t cr2, uint64_t error);
extern uint64_t demand_faults;

#endif
