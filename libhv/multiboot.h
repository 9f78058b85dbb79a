/*
 * Multiboot v1 loader (The Multiboot Specification, version 0.6.96): the
 * boot protocol of public x86 test kernels (kvm-unit-tests x86 is booted by
 * `qemu -kernel` through it) and of hvlab's own tests/guests/mb-hello.
 *
 * What is supported, by header flag (§3.1.2; bits 0-15 are "required": a
 * boot loader that cannot honour one must refuse the image):
 *   bit 0  modules page-aligned      honoured: modules are always page-aligned
 *   bit 1  memory information        honoured: mem_lower/upper and a memory map
 *                                    are always provided
 *   bit 2  video mode table          REFUSED with a clear message: hvlab has no
 *                                    framebuffer, and a kernel that asked for
 *                                    one would write to memory that is not there
 *   bits 3-15                        refused (unknown required features)
 *   bit 16 a.out kludge              honoured (§3.1.3 address fields)
 *   bits 17-31                       ignored (optional by definition)
 * Without bit 16 the image must be an ELF32 i386 ET_EXEC (loaded by elf.c
 * with the same checks as hvlab's ELF64 kernel).
 *
 * The Multiboot information structure (§3.3) and everything it points to
 * (memory map, module list, strings) are placed in MB_INFO_PADDR..MB_INFO_END,
 * below 640 KiB and apart from the hvlab scratch area (which the monitor
 * still uses for its GDT and stack).
 *
 * The caller then enters the kernel in the machine state of §3.2:
 *   EAX = MB_BOOTLOADER_MAGIC, EBX = mbi_paddr, EIP = entry;
 *   32-bit protected mode, CR0.PE = 1, CR0.PG = 0, EFLAGS.IF = 0, VM = 0;
 *   CS a 32-bit read/execute code segment with base 0 and limit 0xFFFFFFFF;
 *   DS, ES, FS, GS, SS 32-bit read/write data segments with base 0 and limit
 *   0xFFFFFFFF; the kernel sets up its own stack, GDT and IDT.
 */
#ifndef LIBHV_MULTIBOOT_H
#define LIBHV_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libhv/guestmem.h"

#define MB_HEADER_MAGIC     0x1BADB002u /* §3.1.2, in the kernel image      */
#define MB_BOOTLOADER_MAGIC 0x2BADB002u /* §3.2, in EAX at entry            */
#define MB_SEARCH_LIMIT     8192u       /* §3.1.1: header within this many bytes */

/* Header flags (§3.1.2). */
#define MB_HF_PAGE_ALIGN  (1u << 0)
#define MB_HF_MEMORY_INFO (1u << 1)
#define MB_HF_VIDEO_MODE  (1u << 2)
#define MB_HF_AOUT_KLUDGE (1u << 16)
#define MB_HF_SUPPORTED_REQUIRED (MB_HF_PAGE_ALIGN | MB_HF_MEMORY_INFO)

/* Information structure flags (§3.3). */
#define MB_INFO_MEMORY           (1u << 0)
#define MB_INFO_BOOTDEV          (1u << 1)
#define MB_INFO_CMDLINE          (1u << 2)
#define MB_INFO_MODS             (1u << 3)
#define MB_INFO_MEM_MAP          (1u << 6)
#define MB_INFO_BOOT_LOADER_NAME (1u << 9)

/* Memory map entry types (§3.3 "mmap_*"). */
#define MB_MEMORY_AVAILABLE 1u
#define MB_MEMORY_RESERVED  2u

/* Where the information structure and its tables go. */
#define MB_INFO_PADDR 0x10000u
#define MB_INFO_END   0x20000u

#define MB_BOOT_LOADER_NAME "hvlab"
#define MB_MAX_MODULES 64u

/* The header (§3.1.2), with the address fields of §3.1.3 and the graphics
 * fields of §3.1.4 (zero when the image does not have them). */
struct mb_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
    uint32_t mode_type, width, height, depth;
};

/* The information structure (§3.3), 0.6.96 layout (88 bytes); the fields
 * after vbe_* of later drafts are left zero. */
struct mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;  /* KiB below 640 KiB / from 1 MiB up */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
};
_Static_assert(sizeof(struct mb_info) == 88, "Multiboot 0.6.96 §3.3 layout");

/* One memory map entry: `size` (20) counts the bytes after itself, and
 * mmap_addr points at `size`, not at base_addr (§3.3). */
struct mb_mmap_entry {
    uint32_t size;
    uint64_t base_addr, length;
    uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "Multiboot 0.6.96 §3.3 layout");

/* One module list entry (§3.3): [mod_start, mod_end) and its string. */
struct mb_module_entry {
    uint32_t mod_start, mod_end, string, reserved;
};

/* A module to load (the caller has read the file). */
struct mb_module {
    const void *data;
    size_t len;
    const char *cmdline;         /* its string; NULL means ""              */
};

struct mb_boot_options {
    const char *name;            /* image name, for messages               */
    /* The kernel command line, passed verbatim.  QEMU passes
     * "KERNEL-PATH ARGS..." and kvm-unit-tests takes its program name from
     * the first word, so a monitor should do the same.  NULL means "". */
    const char *cmdline;
    const struct mb_module *modules;
    unsigned n_modules;
};

struct mb_boot_info {
    uint32_t entry;              /* EIP at entry                           */
    uint32_t mbi_paddr;          /* EBX at entry                           */
    uint64_t kernel_lowest;      /* the loaded kernel [lowest, highest)    */
    uint64_t kernel_highest;
    uint64_t modules_end;        /* one past the last module (== the page-aligned
                                    kernel end when there are none)       */
    bool aout_kludge;            /* loaded by the §3.1.3 addresses         */
    uint32_t header_offset;      /* where the header was found in the file */
};

/* True when the first 8 KiB hold a valid multiboot header (magic and
 * checksum).  Cheap: monitors use it to pick the boot protocol. */
bool multiboot_detect(const void *image, size_t len);

/* Finds the header (§3.1.1: 4-byte aligned, entirely within the first 8192
 * bytes, magic + flags + checksum == 0).  0, or -1 with a reason. */
int multiboot_find_header(const void *image, size_t len, const char *name,
                          struct mb_header *hdr, uint32_t *offset, char *err, size_t errlen);

/* Loads the kernel and its modules (at most MB_MAX_MODULES) and builds the
 * information structure.  0, or -1 with a one-line reason in err.  The
 * kernel image is validated before anything is written; a failure after
 * that (modules or strings that do not fit) leaves a partial load in RAM,
 * which does not matter to a monitor that then exits. */
int multiboot_load(struct guest_mem *gm, const void *image, size_t len,
                   const struct mb_boot_options *opt, struct mb_boot_info *out, char *err,
                   size_t errlen);

#endif
