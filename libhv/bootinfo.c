/*
 * The hvlab boot info (see bootinfo.h and abi/hvlab_abi.h).
 */
#include "libhv/bootinfo.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static uint64_t page_down(uint64_t x)
{
    return x & ~(GM_PAGE_SIZE - 1);
}

static uint64_t page_up(uint64_t x)
{
    return page_down(x + GM_PAGE_SIZE - 1);
}

/* A word may hold any printable ASCII byte, spaces included (the guest sees
 * them as separators: the same as `sh` word splitting would have done). */
static int check_word(const char *w, int index, char *err, size_t errlen)
{
    if (!w[0]) {
        snprintf(err, errlen, "guest command line: word %d is empty", index + 1);
        return -1;
    }
    for (size_t i = 0; w[i]; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c < 0x20 || c > 0x7e) {
            snprintf(err, errlen, "guest command line: word %d has byte 0x%02x at offset %zu; "
                     "only printable ASCII is allowed", index + 1, c, i);
            return -1;
        }
    }
    return 0;
}

int bootinfo_join_cmdline(char dst[HVLAB_CMDLINE_MAX], int argc, char *const *argv, char *err,
                          size_t errlen)
{
    size_t len = 0;
    dst[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (check_word(argv[i], i, err, errlen))
            return -1;
        size_t wlen = strlen(argv[i]);
        size_t need = wlen + (i > 0);        /* the separating space */
        if (need > HVLAB_CMDLINE_MAX - 1 - len) {
            snprintf(err, errlen, "guest command line is longer than %u bytes",
                     HVLAB_CMDLINE_MAX - 1);
            dst[0] = '\0';
            return -1;
        }
        if (i > 0)
            dst[len++] = ' ';
        memcpy(dst + len, argv[i], wlen);
        len += wlen;
    }
    dst[len] = '\0';
    return (int)len;
}

static void add_range(struct hvlab_boot_info *bi, uint64_t base, uint64_t end, uint32_t type)
{
    if (end > base)
        bi->mem[bi->n_mem++] = (struct hvlab_mem_range){base, end - base, type, 0};
}

int bootinfo_set_memory_map(struct hvlab_boot_info *bi, uint64_t ram_size, uint64_t lowest,
                            uint64_t highest, char *err, size_t errlen)
{
    if (ram_size < HVLAB_KERNEL_PADDR || ram_size % GM_PAGE_SIZE) {
        snprintf(err, errlen, "boot info: RAM size 0x%" PRIx64 " is below 1 MiB or not a "
                 "multiple of 4 KiB", ram_size);
        return -1;
    }
    if (lowest < HVLAB_KERNEL_PADDR || lowest >= highest || highest > ram_size) {
        snprintf(err, errlen, "boot info: kernel range [0x%" PRIx64 ", 0x%" PRIx64 ") is not "
                 "a non-empty range inside [0x%llx, 0x%" PRIx64 ")", lowest, highest,
                 HVLAB_KERNEL_PADDR, ram_size);
        return -1;
    }
    /* ram_size is page-aligned and >= highest, so page_up(highest) <= ram_size. */
    uint64_t kbase = page_down(lowest), kend = page_up(highest);
    bi->n_mem = 0;
    add_range(bi, 0, HVLAB_KERNEL_PADDR, HVLAB_MEM_RESERVED);
    add_range(bi, HVLAB_KERNEL_PADDR, kbase, HVLAB_MEM_USABLE);
    add_range(bi, kbase, kend, HVLAB_MEM_KERNEL);
    add_range(bi, kend, ram_size, HVLAB_MEM_USABLE);
    return 0;
}

int bootinfo_add_device(struct hvlab_boot_info *bi, const struct hvlab_device *dev, char *err,
                        size_t errlen)
{
    if (bi->n_dev >= HVLAB_MAX_DEVICES) {
        snprintf(err, errlen, "boot info: more than %u devices", HVLAB_MAX_DEVICES);
        return -1;
    }
    if (dev->size == 0 || dev->base > UINT64_MAX - dev->size || dev->base < bi->ram_size) {
        snprintf(err, errlen, "boot info: device %u at 0x%" PRIx64 " (0x%" PRIx64 " bytes) is "
                 "empty, wraps, or overlaps RAM", bi->n_dev, dev->base, dev->size);
        return -1;
    }
    bi->dev[bi->n_dev++] = *dev;
    return 0;
}

int bootinfo_build(struct hvlab_boot_info *bi, const struct bootinfo_options *opt,
                   uint64_t ram_size, char *err, size_t errlen)
{
    memset(bi, 0, sizeof(*bi));
    bi->magic = HVLAB_BOOT_MAGIC;
    bi->version = HVLAB_ABI_VERSION;
    bi->size = sizeof(*bi);
    bi->platform = opt->platform;
    bi->monitor = opt->monitor;
    bi->kvm_backend = opt->kvm_backend;
    bi->flags = HVLAB_BOOT_RAM_ZEROED;
    bi->quirks = opt->quirks;
    bi->tsc_khz = opt->tsc_khz;
    bi->ram_size = ram_size;
    if (opt->n_devices > HVLAB_MAX_DEVICES) {
        snprintf(err, errlen, "boot info: %u devices, at most %u fit", opt->n_devices,
                 HVLAB_MAX_DEVICES);
        return -1;
    }
    for (unsigned i = 0; i < opt->n_devices; i++)
        if (bootinfo_add_device(bi, &opt->devices[i], err, errlen))
            return -1;
    int len = bootinfo_join_cmdline(bi->cmdline, opt->argc, opt->argv, err, errlen);
    if (len < 0)
        return -1;
    bi->cmdline_len = (uint32_t)len;
    return bootinfo_set_memory_map(bi, ram_size, opt->kernel_lowest, opt->kernel_highest, err,
                                   errlen);
}

int bootinfo_write(struct guest_mem *gm, const struct bootinfo_options *opt, char *err,
                   size_t errlen)
{
    struct hvlab_boot_info bi;
    if (bootinfo_build(&bi, opt, gm->size, err, errlen))
        return -1;
    if (gm_write(gm, HVLAB_BOOTINFO_PADDR, &bi, sizeof(bi))) {
        snprintf(err, errlen, "boot info: guest RAM too small for it at 0x%llx",
                 HVLAB_BOOTINFO_PADDR);
        return -1;
    }
    return 0;
}
