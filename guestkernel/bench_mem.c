/*
 * bench_mem.c - the mem group: what address translation costs.
 *
 *   mem.chase_4k.WS, mem.chase_2m.WS   dependent loads over a random cyclic
 *       permutation of WS bytes (lmbench's lat_mem_rd with a random chain),
 *       mapped with 4 KiB or with 2 MiB pages into a user task.  Once WS
 *       outgrows the TLB's reach every load needs a page walk; under nested
 *       paging each guest level is itself translated through the host's
 *       tables, up to 24 memory references instead of 4 (Bhargava et al.,
 *       "Accelerating Two-Dimensional Page Walks for Virtualized Systems",
 *       ASPLOS 2008); 2 MiB pages remove one level and cover 512 times more
 *       per TLB entry.
 *   mem.first_touch   one write to each of N never-touched pages: who
 *       fills the translation (the host kernel's fault alone, or an exit to
 *       a shadow-paging monitor first).
 *   mem.pt_update     map_pages of 512 pages, one read of each, and
 *       unmap_pages: page-table updates in bulk (native stores, or
 *       paravirt batches) and what making them take effect costs.
 *
 * The chase buffer is one physically contiguous, 2 MiB aligned run of
 * frames (the "arena"), reserved once for the largest working set asked for
 * (bench_mem_reserve) and mapped at BENCH_USER_BUF_VA by every task: with 4
 * KiB pages (map_pages) or with 2 MiB pages (map_pages_2m; a 16K or 256K
 * set lies inside one 2 MiB page).  Contiguous frames at contiguous
 * addresses also let the ring-3 monitors hold the buffer in few host
 * mappings (a scattered one costs a host VMA per page, vm.max_map_count).
 */
#include "kernel.h"
#include "bench.h"
#include "mm.h"
#include "task.h"

#define SIZE_2M (2ull << 20)
#define MIB     (1ull << 20)
#define HEADROOM (8ull << 20)           /* left free after the arena: tasks, tables, first_touch */

static uint64_t arena_pa, arena_bytes;

void bench_mem_reserve(uint64_t *sizes, unsigned n)
{
    for (;;) {
        uint64_t want = 0;
        for (unsigned i = 0; i < n; i++)
            if (sizes[i] > want && sizes[i] > arena_bytes)
                want = sizes[i];
        if (!want)
            return;
        uint64_t bytes = ALIGN_UP(want, SIZE_2M);
        uint64_t pages = bytes / PAGE_SIZE + (SIZE_2M / PAGE_SIZE - 1);  /* room to align */
        if (pmm_free_pages() * PAGE_SIZE >= pages * PAGE_SIZE + HEADROOM) {
            /* The frames before the aligned start and after the end stay
             * unused: at most 2 MiB, once. */
            uint64_t pa = pmm_alloc_run(pages);
            if (pa) {
                arena_pa = ALIGN_UP(pa, SIZE_2M);
                arena_bytes = bytes;
                return;
            }
        }
        for (unsigned i = 0; i < n; i++)        /* does not fit: the next smaller one */
            if (sizes[i] >= want)
                sizes[i] = 0;
    }
}

/* ---- mem.chase_* ------------------------------------------------------------- */

/* What the buffer needs beyond what the rest of the kernel holds now. */
static const char *chase_na(const struct bench *b)
{
    static char why[96];
    if (b->param <= arena_bytes)
        return NULL;
    uint64_t held = arena_bytes ? arena_bytes + SIZE_2M : 0;
    uint64_t used = boot_info->ram_size - pmm_free_pages() * PAGE_SIZE - held;
    uint64_t need = (ALIGN_UP(b->param, SIZE_2M) + SIZE_2M + HEADROOM + used + MIB - 1) / MIB;
    uint64_t mem = 16;
    while (mem < need)
        mem *= 2;
    snprintf(why, sizeof(why), "needs %lu MiB of guest RAM (run with --mem %lu)", need, mem);
    return why;
}

static int chase_map(const struct bench *b, struct aspace *as)
{
    uint64_t flags = PTE_U | PTE_W | PTE_NX;
    if (b->page == SIZE_2M)
        return map_pages_2m(as, BENCH_USER_BUF_VA, arena_pa, ALIGN_UP(b->param, SIZE_2M) / SIZE_2M,
                            flags);
    return map_pages(as, BENCH_USER_BUF_VA, arena_pa, ALIGN_UP(b->param, PAGE_SIZE) / PAGE_SIZE,
                     flags);
}

/*
 * One task does it all: builds the chain (every line's first touch),
 * warms every translation, calibrates, then makes the measured and the base
 * bracket itself (SYS_BENCH_MARK).  A second task would start with cold
 * translations: hv-trap-emulate empties its shadow at each CR3 load, and
 * refilling 65,536 4 KiB mappings costs seconds.
 */
static int chase_measure(const struct bench *b, uint64_t goal, uint64_t *ops, uint64_t *cycles)
{
    struct bench_uparams io = { .n = 256, .goal = goal, .n_max = BENCH_N_MAX,
                                .buf = BENCH_USER_BUF_VA, .bytes = b->param, .build = 1,
                                .brackets = 1 };
    if (bench_user_task(b, USER_SYMBOL(user_bench_chase), &io, 1, chase_map) < 0)
        return -1;
    *ops = io.n;
    *cycles = io.cycles;
    return 0;
}

/* ---- mem.first_touch ------------------------------------------------------------ */

/*
 * Fresh frames: pmm_alloc_run hands out never-used frames only, and does
 * not clear them when the boot info says RAM arrives zero-filled (every
 * hvlab monitor): nobody, guest or host, has touched them in this boot.
 * (Under QEMU's PVH entry the flag is absent and the kernel clears them
 * first, so the host has already touched them there.)  No calibration: a
 * page is fresh once.  The base bracket touches 0 pages.
 */
#define TOUCH_PAGES     4096u
#define TOUCH_PAGES_MIN 64u

static uint64_t touch_pa, touch_n;

static const char *first_touch_na(const struct bench *b)
{
    (void)b;
    if (pmm_free_pages() < 2 * TOUCH_PAGES_MIN)
        return "needs 32 MiB of guest RAM (run with --mem 64)";
    return NULL;
}

static int touch_calibrate(const struct bench *b, uint64_t goal, uint64_t *units)
{
    (void)b;
    (void)goal;
    for (touch_n = TOUCH_PAGES; touch_n >= TOUCH_PAGES_MIN; touch_n /= 2)
        if ((touch_pa = pmm_alloc_run(touch_n)) != 0)
            break;
    if (!touch_pa) {
        bench_fail("no run of %u fresh frames is left", TOUCH_PAGES_MIN);
        return -1;
    }
    *units = touch_n;
    return 0;
}

static uint64_t touch_pages;            /* of the run being mapped */

static int touch_map(const struct bench *b, struct aspace *as)
{
    (void)b;
    if (!touch_pages)
        return 0;
    return map_pages(as, BENCH_USER_BUF_VA, touch_pa, touch_pages, PTE_U | PTE_W | PTE_NX);
}

static int touch_run(const struct bench *b, uint64_t units, uint64_t *cycles)
{
    struct bench_uparams io = { .buf = BENCH_USER_BUF_VA, .bytes = units * PAGE_SIZE };
    touch_pages = units;
    int rc = bench_user_task(b, USER_SYMBOL(user_bench_touch), &io, 1, touch_map);
    *cycles = io.cycles;
    return rc;
}

/* Touched now: back to the allocator (pmm_alloc clears reused frames). */
static void touch_teardown(const struct bench *b)
{
    (void)b;
    for (uint64_t i = 0; touch_pa && i < touch_n; i++)
        pmm_free(touch_pa + i * PAGE_SIZE);
    touch_pa = touch_n = 0;
}

/* ---- mem.pt_update ----------------------------------------------------------------- */

/*
 * One unit = map 512 pages at a kernel address (one page table's worth),
 * read one word of each, and unmap them: map_pages and unmap_pages write
 * every entry through set_pte in lazy MMU mode.  Native: 1024 stores, 512
 * TLB misses and one full TLB flush (unmap); paravirt: the entries go out
 * in HVC_MMU_UPDATE batches (Linux's arch_enter/leave_lazy_mmu_mode, Xen's
 * mmu_update) plus one HVC_TLB_FLUSH.  The page table itself is created
 * once, in the set-up.
 *
 * Why the read: a mapping is made to be used, and where a technique pays
 * for it depends on the technique.  A write-protecting shadow MMU (VMware,
 * KVM's shadow mode) pays at the PTE write; hv-trap-emulate's shadow is a
 * virtual TLB that pays at the first access (a shadow fault); paravirt pays
 * in the batch's validation; EPT/NPT pays nothing extra.  Without the read,
 * a technique that defers the work to first use would look free.
 *
 * The frames mapped are the kernel image's own, [KERNEL_PADDR, +2 MiB),
 * read-only and only read through this alias: always RAM, no memory of its
 * own (the page-table updates are what is measured), and allowed by a
 * validating hypervisor whatever those frames are (a read-only mapping of a
 * page table is legal; a writable one is not).
 */
#define PT_BATCH 512u
#define PT_FLAGS PTE_NX                 /* present, read-only, not executable */

static int pt_update_setup(const struct bench *b)
{
    (void)b;
    if (map_pages(&kernel_aspace, BENCH_PT_UPDATE_VA, KERNEL_PADDR, PT_BATCH, PT_FLAGS) < 0) {
        bench_fail("cannot map %u pages for mem.pt_update", PT_BATCH);
        return -1;
    }
    unmap_pages(&kernel_aspace, BENCH_PT_UPDATE_VA, PT_BATCH);
    return 0;
}

static uint64_t pt_update_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        if (map_pages(&kernel_aspace, BENCH_PT_UPDATE_VA, KERNEL_PADDR, PT_BATCH, PT_FLAGS) < 0) {
            bench_fail("map_pages of %u pages failed", PT_BATCH);
            return 0;
        }
        for (uint64_t p = 0; p < PT_BATCH; p++)
            (void)*(volatile const uint64_t *)(BENCH_PT_UPDATE_VA + p * PAGE_SIZE);
        if (unmap_pages(&kernel_aspace, BENCH_PT_UPDATE_VA, PT_BATCH) != PT_BATCH) {
            bench_fail("map_pages/unmap_pages of %u pages failed", PT_BATCH);
            return 0;
        }
    }
    return rdtsc() - t0;
}

/* ---- the group --------------------------------------------------------------------- */

#define CHASE(pg, pgsize, ws, bytes)                                                     \
    { .name = "mem.chase_" pg "." ws, .unit = "ns/access", .param = (bytes),            \
      .page = (pgsize), .na = chase_na, .measure = chase_measure }

const struct bench bench_mem_group[] = {
    CHASE("4k", PAGE_SIZE, "16K", 16ull << 10),
    CHASE("4k", PAGE_SIZE, "256K", 256ull << 10),
    CHASE("4k", PAGE_SIZE, "4M", 4ull << 20),
    CHASE("4k", PAGE_SIZE, "64M", 64ull << 20),
    CHASE("4k", PAGE_SIZE, "256M", 256ull << 20),
    CHASE("2m", SIZE_2M, "16K", 16ull << 10),
    CHASE("2m", SIZE_2M, "256K", 256ull << 10),
    CHASE("2m", SIZE_2M, "4M", 4ull << 20),
    CHASE("2m", SIZE_2M, "64M", 64ull << 20),
    CHASE("2m", SIZE_2M, "256M", 256ull << 20),
    { .name = "mem.first_touch", .unit = "ns/page", .na = first_touch_na,
      .calibrate = touch_calibrate, .run = touch_run, .teardown = touch_teardown },
    { .name = "mem.pt_update", .unit = "ns/page", .ops_per_unit = PT_BATCH,
      .setup = pt_update_setup, .loop = pt_update_loop },
};
const unsigned bench_mem_count = ARRAY_SIZE(bench_mem_group);
