/*
 * pvh.c - from Xen/QEMU's struct hvm_start_info to hvlab's boot info.
 *
 * pvh_entry.S got us to 64-bit mode; here we translate what the PVH loader
 * told us (xen/include/public/arch-x86/hvm/start_info.h) into the struct
 * hvlab_boot_info that every other entry path provides, and continue on the
 * common path.  Everything is copied before any memory is allocated: the
 * start info, command line and memory map lie in RAM that the map itself
 * calls usable.
 */
#include "kernel.h"

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;           /* 0, or 1 with the memory map fields */
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;     /* NUL-terminated, 0 if none */
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;      /* version >= 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_memmap_entry {       /* e820 style */
    uint64_t addr;
    uint64_t size;
    uint32_t type;              /* 1 = RAM, others reserved/ACPI/... */
    uint32_t reserved;
};

#define E820_RAM 1

/* The boot info lives in the kernel's BSS (zero-filled by QEMU's loader). */
static struct hvlab_boot_info pvh_boot_info;

void pvh_main(const struct hvm_start_info *si) NORETURN;

static void copy_cmdline(struct hvlab_boot_info *bi, const struct hvm_start_info *si)
{
    const char *src = (const char *)(uintptr_t)si->cmdline_paddr;
    size_t n = src ? strnlen(src, HVLAB_CMDLINE_MAX - 1) : 0;
    memcpy(bi->cmdline, src, n);
    bi->cmdline[n] = '\0';
    bi->cmdline_len = (uint32_t)n;
}

/*
 * e820 RAM becomes USABLE, everything else RESERVED.  ram_size is the end of
 * the highest RAM range, capped at HVLAB_RAM_MAX (the kernel identity-maps
 * RAM below the MMIO window only; RAM above 4 GiB is ignored).
 */
static void copy_memmap(struct hvlab_boot_info *bi, const struct hvm_start_info *si)
{
    const struct hvm_memmap_entry *e =
        (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
    uint32_t n = si->memmap_entries;

    if (si->version < 1 || !e || n == 0)
        panic("PVH start info (version %u) has no memory map", si->version);
    if (n > HVLAB_MAX_MEM_RANGES)
        n = HVLAB_MAX_MEM_RANGES;
    for (uint32_t i = 0; i < n; i++) {
        bi->mem[i].base = e[i].addr;
        bi->mem[i].size = e[i].size;
        bi->mem[i].type = e[i].type == E820_RAM ? HVLAB_MEM_USABLE : HVLAB_MEM_RESERVED;
        if (e[i].type == E820_RAM && e[i].addr + e[i].size > bi->ram_size)
            bi->ram_size = e[i].addr + e[i].size;
    }
    bi->n_mem = n;
    if (bi->ram_size > HVLAB_RAM_MAX)
        bi->ram_size = HVLAB_RAM_MAX;
}

void pvh_main(const struct hvm_start_info *si)
{
    struct hvlab_boot_info *bi = &pvh_boot_info;

    if (si->magic != HVM_START_MAGIC)
        panic("PVH entry: start info magic is 0x%x, not 0x%x", si->magic, HVM_START_MAGIC);

    bi->magic = HVLAB_BOOT_MAGIC;
    bi->version = HVLAB_ABI_VERSION;
    bi->size = sizeof(*bi);
    bi->platform = HVLAB_PLATFORM_NATIVE;
    bi->monitor = HVLAB_MONITOR_NONE;
    bi->kvm_backend = HVLAB_KVM_NONE;
    bi->flags = 0;              /* RAM is NOT known to be zero: zero on allocation */
    bi->quirks = 0;
    bi->tsc_khz = 0;            /* unknown: calibrate against the PIT */
    copy_cmdline(bi, si);
    copy_memmap(bi, si);

    const char *problem = boot_info_problem(bi, HVLAB_BOOT_MAGIC);
    if (problem)
        panic("PVH entry: boot info built from the start info is bad: %s", problem);
    kernel_main(bi);
}
