/*
 * ELF executable loader (see elf.h).  References: System V gABI, chapter 4
 * ("ELF Header", "Program Header", "Note Section"); psABI x86-64 §4.1;
 * Xen public/elfnote.h for the PVH entry note.
 *
 * ELF32 and ELF64 headers differ only in field widths and order, so both are
 * first converted into the class-neutral structs below; every check after
 * that is written once.
 */
#include "libhv/elf.h"

#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Xen public/elfnote.h: "Physical entry point into the kernel in 32-bit
 * protected mode" — the PVH entry QEMU's -kernel uses for ELF64 images. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct elf_header {
    unsigned ehsize;             /* minimum size of this class's header   */
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff;
    uint16_t phentsize, phnum;
};

struct elf_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static const char *const kind_names[] = {
    [ELF_KIND_NOT_ELF] = "not ELF",
    [ELF_KIND_ELF64_X86_64] = "ELF64 x86-64",
    [ELF_KIND_ELF32_I386] = "ELF32 i386",
    [ELF_KIND_OTHER_ELF] = "ELF for another class, byte order or machine",
};

const char *elf_kind_name(enum elf_kind kind)
{
    return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "?";
}

/* e_machine sits at offset 18 in both classes (gABI "ELF Header"). */
enum elf_kind elf_identify(const void *image, size_t len)
{
    const uint8_t *p = image;
    if (len < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG))
        return ELF_KIND_NOT_ELF;
    if (len < 20 || p[EI_DATA] != ELFDATA2LSB)
        return ELF_KIND_OTHER_ELF;
    uint16_t machine = (uint16_t)(p[18] | p[19] << 8);
    if (p[EI_CLASS] == ELFCLASS64 && machine == EM_X86_64)
        return ELF_KIND_ELF64_X86_64;
    if (p[EI_CLASS] == ELFCLASS32 && machine == EM_386)
        return ELF_KIND_ELF32_I386;
    return ELF_KIND_OTHER_ELF;
}

/* [off, off + size) inside a file of len bytes, without computing a sum
 * that could wrap. */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

static void format_ram(char *buf, size_t n, uint64_t bytes)
{
    if (bytes % (1u << 20) == 0)
        snprintf(buf, n, "%" PRIu64 " MiB", bytes >> 20);
    else
        snprintf(buf, n, "%" PRIu64 " KiB", bytes >> 10);
}

static void read_header(const uint8_t *p, struct elf_header *h)
{
    if (p[EI_CLASS] == ELFCLASS64) {
        Elf64_Ehdr e;
        memcpy(&e, p, sizeof(e));
        *h = (struct elf_header){sizeof(e), e.e_type, e.e_machine, e.e_version,
                                 e.e_entry, e.e_phoff, e.e_phentsize, e.e_phnum};
    } else {
        Elf32_Ehdr e;
        memcpy(&e, p, sizeof(e));
        *h = (struct elf_header){sizeof(e), e.e_type, e.e_machine, e.e_version,
                                 e.e_entry, e.e_phoff, e.e_phentsize, e.e_phnum};
    }
}

static void read_phdr(const uint8_t *p, bool is64, struct elf_phdr *ph)
{
    if (is64) {
        Elf64_Phdr e;
        memcpy(&e, p, sizeof(e));
        *ph = (struct elf_phdr){e.p_type, e.p_flags, e.p_offset, e.p_vaddr,
                                e.p_paddr, e.p_filesz, e.p_memsz, e.p_align};
    } else {
        Elf32_Phdr e;
        memcpy(&e, p, sizeof(e));
        *ph = (struct elf_phdr){e.p_type, e.p_flags, e.p_offset, e.p_vaddr,
                                e.p_paddr, e.p_filesz, e.p_memsz, e.p_align};
    }
}

/* e_ident checks, in the order a reader would look (gABI "ELF Identification"). */
static int check_ident(const uint8_t *p, size_t len, const char *name, enum elf_kind want,
                       char *err, size_t errlen)
{
    bool want64 = want == ELF_KIND_ELF64_X86_64;
    if (len < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG)) {
        snprintf(err, errlen, "%s: not an ELF file (no \\177ELF magic)", name);
        return -1;
    }
    if (p[EI_CLASS] != (want64 ? ELFCLASS64 : ELFCLASS32)) {
        snprintf(err, errlen, "%s: ELF class %u, want %s", name, p[EI_CLASS],
                 want64 ? "ELFCLASS64 (2)" : "ELFCLASS32 (1)");
        return -1;
    }
    if (p[EI_DATA] != ELFDATA2LSB) {
        snprintf(err, errlen, "%s: ELF data encoding %u, want little-endian (ELFDATA2LSB)",
                 name, p[EI_DATA]);
        return -1;
    }
    if (p[EI_VERSION] != EV_CURRENT) {
        snprintf(err, errlen, "%s: ELF ident version %u, want EV_CURRENT (1)", name,
                 p[EI_VERSION]);
        return -1;
    }
    size_t need = want64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (len < need) {
        snprintf(err, errlen, "%s: %zu bytes, shorter than an ELF header (%zu bytes)", name,
                 len, need);
        return -1;
    }
    return 0;
}

static int check_header(const struct elf_header *h, size_t len, const char *name,
                        enum elf_kind want, char *err, size_t errlen)
{
    bool want64 = want == ELF_KIND_ELF64_X86_64;
    unsigned machine = want64 ? EM_X86_64 : EM_386;
    size_t phentsize = want64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (h->machine != machine) {
        snprintf(err, errlen, "%s: e_machine %u, want %s (%u)", name, h->machine,
                 want64 ? "EM_X86_64" : "EM_386", machine);
    } else if (h->type != ET_EXEC) {
        snprintf(err, errlen, "%s: e_type %u is not ET_EXEC (2); only static executables load",
                 name, h->type);
    } else if (h->version != EV_CURRENT) {
        snprintf(err, errlen, "%s: e_version %u, want EV_CURRENT (1)", name, h->version);
    } else if (h->phentsize != phentsize) {
        snprintf(err, errlen, "%s: e_phentsize %u, want %zu", name, h->phentsize, phentsize);
    } else if (h->phnum == 0) {
        snprintf(err, errlen, "%s: no program headers (e_phnum 0)", name);
    } else if (h->phnum == PN_XNUM) {
        snprintf(err, errlen, "%s: extended program header numbering (PN_XNUM) is not supported",
                 name);
    } else if (!in_file(h->phoff, (uint64_t)h->phnum * h->phentsize, len)) {
        snprintf(err, errlen,
                 "%s: program header table (offset 0x%" PRIx64 ", %u entries) lies outside "
                 "the %zu-byte file",
                 name, h->phoff, h->phnum, len);
    } else {
        return 0;
    }
    return -1;
}

/*
 * Walks the notes of one PT_NOTE segment (gABI "Note Section": namesz,
 * descsz, type, then name and desc each padded to the alignment: 4 bytes,
 * or 8 when the segment says p_align 8, as .note.gnu.property does).
 * Records a Xen PHYS32_ENTRY note; its desc is 4 or 8 bytes (Linux writes
 * an _ASM_PTR) and must hold a 32-bit address.
 */
static int scan_notes(const uint8_t *image, const struct elf_phdr *ph, unsigned index,
                      const char *name, struct elf_image_info *info, char *err, size_t errlen)
{
    uint64_t align = ph->align == 8 ? 8 : 4;
    uint64_t pos = 0, end = ph->filesz;
    while (pos <= end && end - pos >= 12) {
        uint32_t w[3];
        memcpy(w, image + ph->offset + pos, sizeof(w));
        uint64_t namesz = w[0], descsz = w[1], type = w[2];
        /* Offsets from the segment start; 32-bit sizes cannot overflow them.
         * The desc starts at the next aligned offset after the name (for an
         * 8-aligned note that is 16 when namesz is 4, not 12 + 8). */
        uint64_t body = pos + 12;
        uint64_t desc_off = (body + namesz + align - 1) & ~(align - 1);
        if (desc_off > end || descsz > end - desc_off) {
            snprintf(err, errlen, "%s: note at offset 0x%" PRIx64 " of segment %u runs past "
                     "its end", name, pos, index);
            return -1;
        }
        const uint8_t *nm = image + ph->offset + body, *desc = image + ph->offset + desc_off;
        if (namesz == 4 && !memcmp(nm, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY) {
            uint64_t entry = 0;
            if (descsz != 4 && descsz != 8) {
                snprintf(err, errlen, "%s: Xen PVH entry note has a %" PRIu64 "-byte value, "
                         "want 4 or 8", name, descsz);
                return -1;
            }
            memcpy(&entry, desc, descsz);
            if (entry > UINT32_MAX) {
                snprintf(err, errlen, "%s: Xen PVH entry 0x%" PRIx64 " is above 4 GiB", name,
                         entry);
                return -1;
            }
            info->has_pvh_entry = true;
            info->pvh_entry = (uint32_t)entry;
        }
        pos = (desc_off + descsz + align - 1) & ~(align - 1);
    }
    return 0;
}

static void segment_from_phdr(const struct elf_phdr *ph, unsigned index, struct elf_segment *s)
{
    snprintf(s->label, sizeof(s->label), "segment %u", index);
    s->offset = ph->offset;
    s->filesz = ph->filesz;
    s->vaddr = ph->vaddr;
    s->paddr = ph->paddr;
    s->memsz = ph->memsz;
    s->exec = ph->flags & PF_X;
}

/* Collects the PT_LOAD segments (empty ones carry nothing and are skipped,
 * as the gABI allows) and scans PT_NOTE segments for the PVH entry. */
static int collect_segments(const uint8_t *image, size_t len, const struct elf_header *h,
                            bool is64, const char *name, struct elf_segment *segs,
                            unsigned *n, struct elf_image_info *info, char *err, size_t errlen)
{
    *n = 0;
    for (unsigned i = 0; i < h->phnum; i++) {
        struct elf_phdr ph;
        read_phdr(image + h->phoff + (uint64_t)i * h->phentsize, is64, &ph);
        if (ph.type == PT_NOTE) {
            if (!in_file(ph.offset, ph.filesz, len)) {
                snprintf(err, errlen, "%s: note segment %u (offset 0x%" PRIx64 ", 0x%" PRIx64
                         " bytes) lies outside the %zu-byte file", name, i, ph.offset,
                         ph.filesz, len);
                return -1;
            }
            if (scan_notes(image, &ph, i, name, info, err, errlen))
                return -1;
        }
        if (ph.type != PT_LOAD || (ph.memsz == 0 && ph.filesz == 0))
            continue;
        if (*n == ELF_MAX_LOAD_SEGMENTS) {
            snprintf(err, errlen, "%s: more than %u PT_LOAD segments", name,
                     ELF_MAX_LOAD_SEGMENTS);
            return -1;
        }
        segment_from_phdr(&ph, i, &segs[(*n)++]);
    }
    return 0;
}

int elf_load(struct guest_mem *gm, const void *image, size_t len, const char *name,
             enum elf_kind want, struct elf_image_info *info, char *err, size_t errlen)
{
    const uint8_t *p = image;
    struct elf_header h;
    struct elf_segment segs[ELF_MAX_LOAD_SEGMENTS];
    unsigned n;

    memset(info, 0, sizeof(*info));
    if (want != ELF_KIND_ELF64_X86_64 && want != ELF_KIND_ELF32_I386) {
        snprintf(err, errlen, "%s: the loader handles only ELF64 x86-64 and ELF32 i386", name);
        return -1;
    }
    if (check_ident(p, len, name, want, err, errlen))
        return -1;
    read_header(p, &h);
    if (check_header(&h, len, name, want, err, errlen) ||
        collect_segments(p, len, &h, want == ELF_KIND_ELF64_X86_64, name, segs, &n, info, err,
                         errlen))
        return -1;
    return elf_place_segments(gm, image, len, name, segs, n, h.entry, info, err, errlen);
}

/* One segment on its own: file bytes, sizes, address range. */
static int check_segment(const struct guest_mem *gm, size_t len, const char *name,
                         const struct elf_segment *s, char *err, size_t errlen)
{
    char ram[32];
    format_ram(ram, sizeof(ram), gm->size);
    if (s->filesz > s->memsz) {
        snprintf(err, errlen, "%s: %s has 0x%" PRIx64 " file bytes but only 0x%" PRIx64
                 " bytes in memory (p_filesz > p_memsz)", name, s->label, s->filesz, s->memsz);
    } else if (!in_file(s->offset, s->filesz, len)) {
        snprintf(err, errlen, "%s: %s (offset 0x%" PRIx64 ", 0x%" PRIx64 " bytes) lies "
                 "outside the %zu-byte file", name, s->label, s->offset, s->filesz, len);
    } else if (s->paddr > UINT64_MAX - s->memsz) {
        snprintf(err, errlen, "%s: %s at 0x%" PRIx64 " with 0x%" PRIx64 " bytes wraps around "
                 "the address space", name, s->label, s->paddr, s->memsz);
    } else if (s->paddr < ELF_LOWEST_PADDR) {
        snprintf(err, errlen, "%s: %s [0x%" PRIx64 ", 0x%" PRIx64 ") starts below 0x%llx, "
                 "where the boot info and scratch area live", name, s->label, s->paddr,
                 s->paddr + s->memsz, ELF_LOWEST_PADDR);
    } else if (!gm_range_ok(gm, s->paddr, s->memsz)) {
        snprintf(err, errlen, "%s: %s [0x%" PRIx64 ", 0x%" PRIx64 ") does not fit in %s of "
                 "guest RAM", name, s->label, s->paddr, s->paddr + s->memsz, ram);
    } else {
        return 0;
    }
    return -1;
}

/* Both ranges are known not to wrap (check_segment ran first). */
static bool overlap(const struct elf_segment *a, const struct elf_segment *b)
{
    return a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz;
}

static int check_segments(const struct guest_mem *gm, size_t len, const char *name,
                          const struct elf_segment *segs, unsigned n, char *err, size_t errlen)
{
    if (n == 0) {
        snprintf(err, errlen, "%s: no PT_LOAD segment to load", name);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (check_segment(gm, len, name, &segs[i], err, errlen))
            return -1;
        for (unsigned j = 0; j < i; j++) {
            if (overlap(&segs[i], &segs[j])) {
                snprintf(err, errlen, "%s: %s [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps %s [0x%"
                         PRIx64 ", 0x%" PRIx64 ")", name, segs[i].label, segs[i].paddr,
                         segs[i].paddr + segs[i].memsz, segs[j].label, segs[j].paddr,
                         segs[j].paddr + segs[j].memsz);
                return -1;
            }
        }
    }
    return 0;
}

/* The entry point is a linked (virtual) address: find the executable
 * segment that holds it and translate it to where that segment lands. */
static int find_entry(const char *name, const struct elf_segment *segs, unsigned n,
                      uint64_t entry_vaddr, uint64_t *entry, char *err, size_t errlen)
{
    for (unsigned i = 0; i < n; i++) {
        const struct elf_segment *s = &segs[i];
        if (s->exec && entry_vaddr >= s->vaddr && entry_vaddr - s->vaddr < s->memsz) {
            *entry = entry_vaddr - s->vaddr + s->paddr;
            return 0;
        }
    }
    snprintf(err, errlen, "%s: entry point 0x%" PRIx64 " is not inside an executable (PF_X) "
             "loaded segment", name, entry_vaddr);
    return -1;
}

int elf_place_segments(struct guest_mem *gm, const void *image, size_t len, const char *name,
                       const struct elf_segment *segs, unsigned n, uint64_t entry_vaddr,
                       struct elf_image_info *info, char *err, size_t errlen)
{
    uint64_t entry;
    if (check_segments(gm, len, name, segs, n, err, errlen) ||
        find_entry(name, segs, n, entry_vaddr, &entry, err, errlen))
        return -1;

    info->entry = entry;
    info->lowest_paddr = UINT64_MAX;
    info->highest_paddr = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct elf_segment *s = &segs[i];
        /* Cannot fail: every range was checked above. */
        gm_write(gm, s->paddr, (const uint8_t *)image + s->offset, s->filesz);
        gm_zero(gm, s->paddr + s->filesz, s->memsz - s->filesz);
        if (s->paddr < info->lowest_paddr)
            info->lowest_paddr = s->paddr;
        if (s->paddr + s->memsz > info->highest_paddr)
            info->highest_paddr = s->paddr + s->memsz;
    }
    info->n_segments = n;
    return 0;
}
