/*
 * pmm.c - the physical page allocator.
 *
 * It hands out 4 KiB frames from the USABLE ranges of the boot-info memory
 * map, only above the end of the kernel image (so never the boot info, the
 * monitor's scratch area or the kernel itself) and below the limit
 * init_machine gives: the end of the kernel's identity map, less the
 * platform's page-table pool (paravirt).  Two sources, in this order:
 *   1. the free list: frames given back by pmm_free, linked through their
 *      first 8 bytes;
 *   2. a bump pointer through the ranges: frames never handed out before.
 *
 * Zeroing policy (the expensive part on a software KVM backend, where a
 * ring-0 clear of one page costs milliseconds): a frame from the free list is
 * always zeroed again; a never-used frame is zeroed only if the boot info
 * does not promise HVLAB_BOOT_RAM_ZEROED (stock QEMU gives no such promise).
 */
#include "kernel.h"
#include "mm.h"

struct range {
    uint64_t next;              /* next never-used frame */
    uint64_t start, end;
};

static struct range ranges[HVLAB_MAX_MEM_RANGES];
static unsigned n_ranges, cur_range;
static uint64_t free_list;      /* physical address of a free frame, 0 = empty */
static uint64_t free_list_len;
static bool fresh_frames_are_zero;

void pmm_init(const struct hvlab_boot_info *bi, uint64_t limit)
{
    uint64_t floor = ALIGN_UP((uint64_t)__kernel_end, PAGE_SIZE);

    for (uint32_t i = 0; i < bi->n_mem; i++) {
        const struct hvlab_mem_range *m = &bi->mem[i];
        if (m->type != HVLAB_MEM_USABLE)
            continue;
        uint64_t start = ALIGN_UP(m->base, PAGE_SIZE);
        uint64_t end = ALIGN_DOWN(m->base + m->size, PAGE_SIZE);
        if (start < floor)
            start = floor;
        if (end > limit)
            end = limit;
        if (start >= end)
            continue;
        ranges[n_ranges++] = (struct range){ start, start, end };
    }
    fresh_frames_are_zero = (bi->flags & HVLAB_BOOT_RAM_ZEROED) != 0;
    if (n_ranges == 0)
        panic("pmm: the memory map has no usable RAM above the kernel (end 0x%lx)", floor);
}

static uint64_t take_fresh_frame(void)
{
    while (cur_range < n_ranges) {
        struct range *r = &ranges[cur_range];
        if (r->next < r->end) {
            uint64_t pa = r->next;
            r->next += PAGE_SIZE;
            return pa;
        }
        cur_range++;
    }
    return 0;
}

uint64_t pmm_alloc(void)
{
    if (free_list) {
        uint64_t pa = free_list;
        free_list = *(uint64_t *)pa;
        free_list_len--;
        page_zero((void *)pa);          /* it held data (and the list link) */
        return pa;
    }
    uint64_t pa = take_fresh_frame();
    if (pa && !fresh_frames_are_zero)
        page_zero((void *)pa);
    return pa;
}

/*
 * n contiguous frames, from the never-used ones only: the free list holds
 * single frames in no order.  Zeroed as pmm_alloc zeroes a fresh frame;
 * each frame goes back with pmm_free.  0 when no range has n left.
 */
uint64_t pmm_alloc_run(uint64_t n)
{
    for (unsigned i = cur_range; i < n_ranges; i++) {
        struct range *r = &ranges[i];
        if (n == 0 || (r->end - r->next) / PAGE_SIZE < n)
            continue;
        uint64_t pa = r->next;
        r->next += n * PAGE_SIZE;
        for (uint64_t off = 0; !fresh_frames_are_zero && off < n * PAGE_SIZE; off += PAGE_SIZE)
            page_zero((void *)(pa + off));
        return pa;
    }
    return 0;
}

void pmm_free(uint64_t pa)
{
    if (!pmm_owns(pa) || (pa & (PAGE_SIZE - 1)))
        panic("pmm_free: 0x%lx is not a frame of the allocator", pa);
    *(uint64_t *)pa = free_list;
    free_list = pa;
    free_list_len++;
}

bool pmm_owns(uint64_t pa)
{
    for (unsigned i = 0; i < n_ranges; i++)
        if (pa >= ranges[i].start && pa < ranges[i].end)
            return true;
    return false;
}

uint64_t pmm_free_pages(void)
{
    uint64_t n = free_list_len;
    for (unsigned i = cur_range; i < n_ranges; i++)
        n += (ranges[i].end - ranges[i].next) / PAGE_SIZE;
    return n;
}
