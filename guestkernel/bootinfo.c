/*
 * bootinfo.c - checking the struct hvlab_boot_info a monitor hands over
 * (abi/hvlab_abi.h).  A kernel that trusts a malformed boot info fails much
 * later in a confusing way; this one says at once what is wrong.
 */
#include "kernel.h"

const struct hvlab_boot_info *boot_info;
uint64_t kernel_quirks;

static const char *check_mem_map(const struct hvlab_boot_info *bi)
{
    if (bi->n_mem == 0 || bi->n_mem > HVLAB_MAX_MEM_RANGES)
        return "n_mem is 0 or larger than HVLAB_MAX_MEM_RANGES";
    for (uint32_t i = 0; i < bi->n_mem; i++) {
        const struct hvlab_mem_range *r = &bi->mem[i];
        if (r->base + r->size < r->base)
            return "a memory range wraps around";
        if (r->type < HVLAB_MEM_USABLE || r->type > HVLAB_MEM_KERNEL)
            return "a memory range has an unknown type";
    }
    return NULL;
}

/* Returns NULL when the boot info is good, else one phrase saying why not. */
const char *boot_info_problem(const struct hvlab_boot_info *bi, uint64_t magic)
{
    if (magic != HVLAB_BOOT_MAGIC)
        return "RSI is not HVLAB_BOOT_MAGIC (entered by something that is not an hvlab monitor?)";
    if (!bi)
        return "RDI (boot info address) is 0";
    if (bi->magic != HVLAB_BOOT_MAGIC)
        return "boot info magic is not HVLAB_BOOT_MAGIC";
    if (bi->version != HVLAB_ABI_VERSION)
        return "boot info version is not HVLAB_ABI_VERSION (monitor and guest built from different ABIs)";
    if (bi->size != sizeof(struct hvlab_boot_info))
        return "boot info size is not sizeof(struct hvlab_boot_info)";
    if (bi->n_dev > HVLAB_MAX_DEVICES)
        return "n_dev is larger than HVLAB_MAX_DEVICES";
    if (bi->cmdline_len >= HVLAB_CMDLINE_MAX || bi->cmdline[bi->cmdline_len] != '\0')
        return "cmdline is not NUL-terminated at cmdline_len";
    if (bi->ram_size < HVLAB_RAM_MIN || bi->ram_size > HVLAB_RAM_MAX)
        return "ram_size is outside [HVLAB_RAM_MIN, HVLAB_RAM_MAX]";
    return check_mem_map(bi);
}

/* Does [base, end) lie inside one USABLE range of the memory map? */
bool boot_info_usable(const struct hvlab_boot_info *bi, uint64_t base, uint64_t end)
{
    for (uint32_t i = 0; i < bi->n_mem; i++) {
        const struct hvlab_mem_range *r = &bi->mem[i];
        if (r->type == HVLAB_MEM_USABLE && base >= r->base && end <= r->base + r->size)
            return true;
    }
    return false;
}

const char *monitor_name(uint32_t monitor)
{
    switch (monitor) {
    case HVLAB_MONITOR_NONE: return "none (stock QEMU or firmware)";
    case HVLAB_MONITOR_HWASSIST: return "hv-hwassist";
    case HVLAB_MONITOR_TRAP_EMULATE: return "hv-trap-emulate";
    case HVLAB_MONITOR_PARAVIRT: return "hv-paravirt";
    default: return "unknown";
    }
}
