/*
 * The hvlab boot info (struct hvlab_boot_info, abi/hvlab_abi.h): what every
 * hvlab monitor tells the guest kernel at entry.  The three monitors call
 * bootinfo_write() with the same options struct so that they describe the
 * machine identically; only platform/monitor/backend/quirks differ.
 *
 * Memory map (sorted, non-overlapping, covering [0, ram_size) exactly):
 *   RESERVED [0, 1 MiB)                 boot info, scratch, legacy PC hole
 *   USABLE   [1 MiB, kernel start)      only when the image starts above 1 MiB
 *   KERNEL   [kernel start, kernel end) the loaded image, widened to 4 KiB pages
 *   USABLE   [kernel end, ram_size)     only when not empty
 *
 * Command line: the guest argv joined with single spaces.  Only printable
 * ASCII (0x20-0x7e) is accepted, and no empty word: the guest parses words
 * separated by spaces and prints the line on a serial console, so a control
 * byte or an empty word would change the meaning of what the user typed.
 * Longer than HVLAB_CMDLINE_MAX - 1 bytes is refused, never truncated.
 */
#ifndef LIBHV_BOOTINFO_H
#define LIBHV_BOOTINFO_H

#include <stddef.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "libhv/guestmem.h"

struct bootinfo_options {
    enum hvlab_platform platform;
    enum hvlab_monitor monitor;
    enum hvlab_kvm_backend kvm_backend;
    uint64_t quirks;             /* HVLAB_QUIRK_*                          */
    uint64_t tsc_khz;            /* 0: unknown                             */
    uint64_t kernel_lowest;      /* the loaded image [lowest, highest),    */
    uint64_t kernel_highest;     /* from elf_load()                        */
    int argc;                    /* the guest command line, as words       */
    char *const *argv;
    const struct hvlab_device *devices; /* at most HVLAB_MAX_DEVICES       */
    unsigned n_devices;
};

/* Joins argv[0..argc) with single spaces into dst (NUL-terminated; at most
 * HVLAB_CMDLINE_MAX - 1 characters).  Returns the length, or -1 with a
 * reason in err. */
int bootinfo_join_cmdline(char dst[HVLAB_CMDLINE_MAX], int argc, char *const *argv, char *err,
                          size_t errlen);

/* Fills the memory map of bi for ram_size bytes with the kernel at
 * [lowest, highest).  0, or -1 with a reason. */
int bootinfo_set_memory_map(struct hvlab_boot_info *bi, uint64_t ram_size, uint64_t lowest,
                            uint64_t highest, char *err, size_t errlen);

/* Appends one device; refuses more than HVLAB_MAX_DEVICES and a range that
 * wraps or overlaps RAM (bi->ram_size must be set). 0, or -1 + err. */
int bootinfo_add_device(struct hvlab_boot_info *bi, const struct hvlab_device *dev, char *err,
                        size_t errlen);

/* Builds the whole boot info in *bi (host memory) for ram_size bytes of RAM. */
int bootinfo_build(struct hvlab_boot_info *bi, const struct bootinfo_options *opt,
                   uint64_t ram_size, char *err, size_t errlen);

/* Builds it and writes it to guest RAM at HVLAB_BOOTINFO_PADDR. */
int bootinfo_write(struct guest_mem *gm, const struct bootinfo_options *opt, char *err,
                   size_t errlen);

#endif
