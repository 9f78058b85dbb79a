/*
 * Multiboot v1 loader (see multiboot.h).  Section numbers refer to The
 * Multiboot Specification version 0.6.96.
 */
#include "libhv/multiboot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "abi/hvlab_abi.h"
#include "libhv/elf.h"

/* The PC memory layout the information structure describes: conventional
 * memory up to the EBDA at 639 KiB, the BIOS area below 1 MiB, then RAM. */
#define PC_LOW_MEM_END  0x9FC00ull
#define PC_BIOS_BASE    0xF0000ull
#define PC_HIGH_MEM     0x100000ull

#define HEADER_MAGIC_BYTES 12u   /* magic, flags, checksum                  */
#define HEADER_ADDR_BYTES  32u   /* ... + the five §3.1.3 address fields    */
#define HEADER_VIDEO_BYTES 48u   /* ... + the four §3.1.4 graphics fields   */

static uint64_t page_align_up(uint64_t x)
{
    return (x + GM_PAGE_SIZE - 1) & ~(GM_PAGE_SIZE - 1);
}

static uint32_t header_bytes(uint32_t flags)
{
    if (flags & MB_HF_VIDEO_MODE)
        return HEADER_VIDEO_BYTES;
    return flags & MB_HF_AOUT_KLUDGE ? HEADER_ADDR_BYTES : HEADER_MAGIC_BYTES;
}

/* Scans 4-byte-aligned offsets; a magic with a bad checksum is remembered
 * (for the message) and the scan goes on, as GRUB does. */
int multiboot_find_header(const void *image, size_t len, const char *name,
                          struct mb_header *hdr, uint32_t *offset, char *err, size_t errlen)
{
    const uint8_t *p = image;
    size_t limit = len < MB_SEARCH_LIMIT ? len : MB_SEARCH_LIMIT;
    long bad_at = -1;
    uint32_t bad_sum = 0;

    for (size_t off = 0; off + HEADER_MAGIC_BYTES <= limit; off += 4) {
        uint32_t w[3];
        memcpy(w, p + off, sizeof(w));
        if (w[0] != MB_HEADER_MAGIC)
            continue;
        if ((uint32_t)(w[0] + w[1] + w[2]) != 0) {
            if (bad_at < 0) {
                bad_at = (long)off;
                bad_sum = w[0] + w[1] + w[2];
            }
            continue;
        }
        if (off + header_bytes(w[1]) > limit) {
            snprintf(err, errlen, "%s: multiboot header at offset 0x%zx has flags 0x%x whose "
                     "fields end past the first %u bytes of the file (or past its end)", name,
                     off, w[1], MB_SEARCH_LIMIT);
            return -1;
        }
        memset(hdr, 0, sizeof(*hdr));
        memcpy(hdr, p + off, header_bytes(w[1]));
        *offset = (uint32_t)off;
        return 0;
    }
    if (bad_at >= 0)
        snprintf(err, errlen, "%s: multiboot header at offset 0x%lx has a bad checksum "
                 "(magic + flags + checksum = 0x%x, want 0)", name, bad_at, bad_sum);
    else
        snprintf(err, errlen, "%s: no multiboot header (magic 0x%X) in the first %u bytes",
                 name, MB_HEADER_MAGIC, MB_SEARCH_LIMIT);
    return -1;
}

bool multiboot_detect(const void *image, size_t len)
{
    struct mb_header h;
    uint32_t off;
    char err[8];
    return multiboot_find_header(image, len, "", &h, &off, err, sizeof(err)) == 0;
}

static int check_flags(uint32_t flags, const char *name, char *err, size_t errlen)
{
    if (flags & MB_HF_VIDEO_MODE) {
        snprintf(err, errlen, "%s: multiboot header requests a video mode (flag bit 2); hvlab "
                 "has no framebuffer", name);
        return -1;
    }
    uint32_t unknown = flags & 0xFFFFu & ~MB_HF_SUPPORTED_REQUIRED;
    if (unknown) {
        snprintf(err, errlen, "%s: multiboot header requires features hvlab does not know "
                 "(flag bits 0x%x of the required bits 0-15)", name, unknown);
        return -1;
    }
    return 0;
}

/*
 * §3.1.3: the file offset of load_addr is header_offset - (header_addr -
 * load_addr); load_end_addr 0 means "to the end of the file", bss_end_addr 0
 * means no BSS.  The result is one segment for the shared ELF placer.
 */
static int aout_segment(const struct mb_header *h, uint32_t hoff, size_t len, const char *name,
                        struct elf_segment *s, char *err, size_t errlen)
{
    if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > hoff) {
        snprintf(err, errlen, "%s: a.out kludge load_addr 0x%x and header_addr 0x%x put the "
                 "start of the image before the start of the file", name, h->load_addr,
                 h->header_addr);
        return -1;
    }
    uint64_t offset = hoff - (h->header_addr - h->load_addr);
    uint64_t filesz = len - offset;
    if (h->load_end_addr) {
        if (h->load_end_addr < h->load_addr) {
            snprintf(err, errlen, "%s: a.out kludge load_end_addr 0x%x is below load_addr "
                     "0x%x", name, h->load_end_addr, h->load_addr);
            return -1;
        }
        filesz = (uint64_t)h->load_end_addr - h->load_addr;
    }
    uint64_t memsz = filesz;
    if (h->bss_end_addr) {
        if (h->bss_end_addr < h->load_addr + filesz) {
            snprintf(err, errlen, "%s: a.out kludge bss_end_addr 0x%x is below the end of the "
                     "loaded image 0x%" PRIx64, name, h->bss_end_addr, h->load_addr + filesz);
            return -1;
        }
        memsz = (uint64_t)h->bss_end_addr - h->load_addr;
    }
    *s = (struct elf_segment){.label = "a.out kludge image", .offset = offset,
                              .filesz = filesz, .vaddr = h->load_addr,
                              .paddr = h->load_addr, .memsz = memsz, .exec = true};
    return 0;
}

static int load_kernel(struct guest_mem *gm, const void *image, size_t len, const char *name,
                       const struct mb_header *h, uint32_t hoff, struct elf_image_info *ki,
                       char *err, size_t errlen)
{
    if (h->flags & MB_HF_AOUT_KLUDGE) {
        struct elf_segment s;
        memset(ki, 0, sizeof(*ki));
        if (aout_segment(h, hoff, len, name, &s, err, errlen))
            return -1;
        return elf_place_segments(gm, image, len, name, &s, 1, h->entry_addr, ki, err, errlen);
    }
    enum elf_kind kind = elf_identify(image, len);
    if (kind == ELF_KIND_ELF32_I386)
        return elf_load(gm, image, len, name, ELF_KIND_ELF32_I386, ki, err, errlen);
    snprintf(err, errlen, "%s: multiboot image is %s and has no a.out kludge (flag bit 16); "
             "want ELF32 i386 or the kludge's load addresses", name, elf_kind_name(kind));
    return -1;
}

/* A bump allocator over [MB_INFO_PADDR, MB_INFO_END): the information
 * structure and everything it points to. */
struct mbi_area {
    struct guest_mem *gm;
    const char *name;            /* the image, for messages                */
    uint64_t next;
};

static uint32_t area_put(struct mbi_area *a, const void *data, size_t len, char *err,
                         size_t errlen)
{
    uint64_t at = (a->next + 7) & ~7ull;     /* 8-byte alignment for every table */
    if (at > MB_INFO_END || len > MB_INFO_END - at || gm_write(a->gm, at, data, len)) {
        snprintf(err, errlen, "%s: multiboot information (command line, module strings) "
                 "does not fit in its %u KiB at 0x%x", a->name,
                 (MB_INFO_END - MB_INFO_PADDR) >> 10, MB_INFO_PADDR);
        return 0;
    }
    a->next = at + len;
    return (uint32_t)at;
}

static uint32_t area_put_string(struct mbi_area *a, const char *s, char *err, size_t errlen)
{
    return area_put(a, s ? s : "", strlen(s ? s : "") + 1, err, errlen);
}

/* §3.3 memory map: what a PC with ram_size bytes of RAM and no firmware
 * tables looks like. */
static uint32_t put_mmap(struct mbi_area *a, uint64_t ram_size, uint32_t *length, char *err,
                         size_t errlen)
{
    const uint32_t sz = sizeof(struct mb_mmap_entry) - sizeof(uint32_t);
    struct mb_mmap_entry map[] = {
        {sz, 0, PC_LOW_MEM_END, MB_MEMORY_AVAILABLE},
        {sz, PC_BIOS_BASE, PC_HIGH_MEM - PC_BIOS_BASE, MB_MEMORY_RESERVED},
        {sz, PC_HIGH_MEM, ram_size - PC_HIGH_MEM, MB_MEMORY_AVAILABLE},
    };
    *length = sizeof(map);
    return area_put(a, map, sizeof(map), err, errlen);
}

/* Modules go page-aligned after the kernel (§3.1.2 bit 0 asks for it; we
 * always do it), one after the other. */
static int load_modules(struct guest_mem *gm, const struct mb_boot_options *opt,
                        struct mbi_area *a, uint64_t start, struct mb_module_entry *list,
                        uint64_t *end, char *err, size_t errlen)
{
    uint64_t at = page_align_up(start);
    *end = at;
    for (unsigned i = 0; i < opt->n_modules; i++) {
        const struct mb_module *m = &opt->modules[i];
        at = page_align_up(*end);
        if (!gm_range_ok(gm, at, m->len)) {
            snprintf(err, errlen, "%s: module %u (%zu bytes, \"%s\") does not fit in guest RAM "
                     "after 0x%" PRIx64, a->name, i, m->len, m->cmdline ? m->cmdline : "",
                     at);
            return -1;
        }
        if (m->len)                             /* an empty module may have no data */
            gm_write(gm, at, m->data, m->len);
        list[i] = (struct mb_module_entry){(uint32_t)at, (uint32_t)(at + m->len), 0, 0};
        list[i].string = area_put_string(a, m->cmdline, err, errlen);
        if (!list[i].string)
            return -1;
        *end = at + m->len;
    }
    return 0;
}

static int build_info(struct guest_mem *gm, const struct mb_boot_options *opt,
                      const char *name, uint64_t kernel_end, struct mb_boot_info *out,
                      char *err, size_t errlen)
{
    struct mbi_area a = {gm, name, MB_INFO_PADDR};
    struct mb_info mbi = {0};
    struct mb_module_entry list[MB_MAX_MODULES];

    /* Reserve the structure itself first so that it sits at MB_INFO_PADDR. */
    uint32_t mbi_at = area_put(&a, &mbi, sizeof(mbi), err, errlen);
    if (!mbi_at || load_modules(gm, opt, &a, kernel_end, list, &out->modules_end, err, errlen))
        return -1;
    mbi.flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MEM_MAP |
                MB_INFO_BOOT_LOADER_NAME;
    mbi.mem_lower = PC_LOW_MEM_END >> 10;
    mbi.mem_upper = (uint32_t)((gm->size - PC_HIGH_MEM) >> 10);
    mbi.cmdline = area_put_string(&a, opt->cmdline, err, errlen);
    mbi.boot_loader_name = area_put_string(&a, MB_BOOT_LOADER_NAME, err, errlen);
    mbi.mmap_addr = put_mmap(&a, gm->size, &mbi.mmap_length, err, errlen);
    mbi.mods_count = opt->n_modules;
    /* mods_addr is valid even with no modules: it points at an empty list. */
    mbi.mods_addr = area_put(&a, list, opt->n_modules * sizeof(list[0]), err, errlen);
    if (!mbi.cmdline || !mbi.boot_loader_name || !mbi.mmap_addr || !mbi.mods_addr)
        return -1;
    gm_write(gm, mbi_at, &mbi, sizeof(mbi));
    out->mbi_paddr = mbi_at;
    return 0;
}

int multiboot_load(struct guest_mem *gm, const void *image, size_t len,
                   const struct mb_boot_options *opt, struct mb_boot_info *out, char *err,
                   size_t errlen)
{
    const char *name = opt->name ? opt->name : "kernel";
    struct mb_header h;
    struct elf_image_info ki;
    uint32_t hoff;

    memset(out, 0, sizeof(*out));
    if (opt->n_modules > MB_MAX_MODULES || (opt->n_modules && !opt->modules)) {
        snprintf(err, errlen, "%s: %u modules, want at most %u and a module list", name,
                 opt->n_modules, MB_MAX_MODULES);
        return -1;
    }
    if (multiboot_find_header(image, len, name, &h, &hoff, err, errlen) ||
        check_flags(h.flags, name, err, errlen) ||
        load_kernel(gm, image, len, name, &h, hoff, &ki, err, errlen))
        return -1;
    out->entry = (uint32_t)ki.entry;     /* RAM ends below 4 GiB (HVLAB_RAM_MAX) */
    out->kernel_lowest = ki.lowest_paddr;
    out->kernel_highest = ki.highest_paddr;
    out->aout_kludge = h.flags & MB_HF_AOUT_KLUDGE;
    out->header_offset = hoff;
    return build_info(gm, opt, name, ki.highest_paddr, out, err, errlen);
}
