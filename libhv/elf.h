/*
 * ELF loader: places the PT_LOAD segments of an executable image in guest
 * RAM at their physical addresses (p_paddr), as QEMU's -kernel loader does.
 *
 *   - ELF64 x86-64 ET_EXEC: the hvlab guest kernel (the three monitors).
 *   - ELF32 i386 ET_EXEC: multiboot kernels (multiboot.c), e.g. the .flat
 *     images of kvm-unit-tests, which are 64-bit code in an ELF32 wrapper.
 *
 * The image is untrusted input: every header field is checked against the
 * file and the guest RAM before any byte is written, so that a rejected image
 * leaves RAM untouched.  References: System V ABI (gABI) chapter 4 "Object
 * Files" (ELF header, program header, note section), psABI x86-64 §4.1.
 *
 * BSS: the loader copies p_filesz bytes and then explicitly zeroes the tail
 * [p_filesz, p_memsz) with gm_zero(), which frees whole pages of the memfd
 * (free on fresh RAM) and clears only the partial edge pages.  So loading
 * twice into the same RAM is correct too.
 */
#ifndef LIBHV_ELF_H
#define LIBHV_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "libhv/guestmem.h"

/* Where a loaded image may start: below it lie the boot info, the monitor's
 * scratch area and the legacy PC hole (abi/hvlab_abi.h). */
#define ELF_LOWEST_PADDR HVLAB_KERNEL_PADDR

/* A kernel with more PT_LOAD segments than this is refused (hvlab's guest
 * has 2-4; the bound keeps the overlap check cheap and needs no malloc). */
#define ELF_MAX_LOAD_SEGMENTS 32u

enum elf_kind {
    ELF_KIND_NOT_ELF = 0,        /* no \177ELF magic, or shorter than it  */
    ELF_KIND_ELF64_X86_64,       /* ELFCLASS64, LSB, EM_X86_64            */
    ELF_KIND_ELF32_I386,         /* ELFCLASS32, LSB, EM_386               */
    ELF_KIND_OTHER_ELF,          /* ELF, but another class/order/machine  */
};

/* Cheap classification from e_ident and e_machine only (no validation). */
enum elf_kind elf_identify(const void *image, size_t len);

/* "ELF64 x86-64", "ELF32 i386", "not ELF", "ELF for another machine". */
const char *elf_kind_name(enum elf_kind kind);

struct elf_image_info {
    uint64_t entry;              /* physical entry point (see elf_load)   */
    uint64_t lowest_paddr;       /* first loaded byte                     */
    uint64_t highest_paddr;      /* one past the last loaded byte (BSS incl.) */
    unsigned n_segments;         /* PT_LOAD segments placed               */
    bool has_pvh_entry;          /* a Xen PVH note (name "Xen", type 18)  */
    uint32_t pvh_entry;          /* its 32-bit physical entry             */
};

/*
 * Validates `image` (len bytes, named `name` in messages) as an ET_EXEC of
 * kind `want` (ELF_KIND_ELF64_X86_64 or ELF_KIND_ELF32_I386) and loads it.
 * The entry point e_entry must lie inside a PF_X PT_LOAD segment; it is
 * reported translated to physical (e_entry - p_vaddr + p_paddr of that
 * segment; the same number when, as for hvlab's guest, p_vaddr == p_paddr).
 * Returns 0, or -1 with one line in err; nothing is written to RAM on error.
 */
int elf_load(struct guest_mem *gm, const void *image, size_t len, const char *name,
             enum elf_kind want, struct elf_image_info *info, char *err, size_t errlen);

/*
 * The core both loaders share: one range of file bytes to place in RAM.
 * An ELF PT_LOAD is one; the multiboot a.out kludge (Multiboot 0.6.96
 * §3.1.3) is a single one.
 */
struct elf_segment {
    char label[32];              /* "segment 2", for messages             */
    uint64_t offset, filesz;     /* file bytes [offset, offset + filesz)  */
    uint64_t vaddr;              /* linked address (entry translation)    */
    uint64_t paddr, memsz;       /* RAM [paddr, paddr + memsz)            */
    bool exec;                   /* may hold the entry point              */
};

/* Checks every segment (filesz <= memsz, inside the file, inside
 * [ELF_LOWEST_PADDR, RAM size), no two overlapping, at least one, entry_vaddr
 * inside an exec one), then copies them and zeroes their BSS tails.  Fills
 * entry, lowest_paddr, highest_paddr, n_segments of info.  0 or -1 + err. */
int elf_place_segments(struct guest_mem *gm, const void *image, size_t len, const char *name,
                       const struct elf_segment *segs, unsigned n, uint64_t entry_vaddr,
                       struct elf_image_info *info, char *err, size_t errlen);

#endif
