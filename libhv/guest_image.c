#include "libhv/guest_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libhv/bootinfo.h"
#include "libhv/elf.h"
#include "libhv/multiboot.h"
#include "libhv/virtio_mmio.h"

struct file_buf {
    void *data;
    size_t len;
};

/* Reads a whole file, refusing anything that could not fit in guest RAM. */
static int read_file(struct hv_machine *m, const char *path, struct file_buf *f)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (!fp) {
        fprintf(stderr, "%s: %s: %s\n", m->prog, path, strerror(errno));
        return HV_STATUS_USAGE;
    }
    if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "%s: %s: not a regular file\n", m->prog, path);
        fclose(fp);
        return HV_STATUS_USAGE;
    }
    if ((uint64_t)st.st_size > m->mem.size) {
        fprintf(stderr, "%s: %s: %lld bytes do not fit in %llu MiB of guest RAM (--mem)\n",
                m->prog, path, (long long)st.st_size,
                (unsigned long long)(m->mem.size >> 20));
        fclose(fp);
        return HV_STATUS_USAGE;
    }
    f->len = (size_t)st.st_size;
    f->data = malloc(f->len ? f->len : 1);
    if (!f->data || fread(f->data, 1, f->len, fp) != f->len) {
        fprintf(stderr, "%s: %s: cannot read the file\n", m->prog, path);
        fclose(fp);
        free(f->data);
        return HV_STATUS_USAGE;
    }
    fclose(fp);
    return 0;
}

static int load_hvlab(struct hv_machine *m, const struct guest_boot_params *p,
                      const struct file_buf *img, struct guest_entry *e)
{
    char err[320];
    struct elf_image_info info;
    if (m->opt.n_modules) {
        fprintf(stderr, "%s: --module is for multiboot kernels; %s is an hvlab guest\n",
                m->prog, m->opt.guest_path);
        return HV_STATUS_USAGE;
    }
    if (elf_load(&m->mem, img->data, img->len, m->opt.guest_path, ELF_KIND_ELF64_X86_64, &info,
                 err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", m->prog, err);
        return HV_STATUS_USAGE;
    }
    struct hvlab_device devices[HVLAB_MAX_DEVICES] = {
        {.type = HVLAB_DEV_NULL_MMIO, .base = HVLAB_MMIO_NULL_PADDR, .size = 0x1000},
    };
    unsigned n_devices = 1 + virtio_mmio_boot_devices(m, devices + 1, HVLAB_MAX_DEVICES - 1);
    struct bootinfo_options bo = {
        .platform = p->platform, .monitor = p->monitor, .kvm_backend = p->kvm_backend,
        .quirks = p->quirks, .tsc_khz = p->tsc_khz, .kernel_lowest = info.lowest_paddr,
        .kernel_highest = info.highest_paddr, .argc = m->opt.guest_argc,
        .argv = m->opt.guest_argv, .devices = devices, .n_devices = n_devices,
    };
    if (bootinfo_write(&m->mem, &bo, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", m->prog, err);
        return HV_STATUS_USAGE;
    }
    *e = (struct guest_entry){.kind = GUEST_ENTRY_HVLAB64, .rip = info.entry,
                              .arg0 = HVLAB_BOOTINFO_PADDR, .arg1 = HVLAB_BOOT_MAGIC};
    return 0;
}

/* Multiboot kernels get "IMAGE-PATH ARGS..." as their command line, as QEMU
 * gives them: kvm-unit-tests takes its program name from the first word. */
static int load_multiboot(struct hv_machine *m, const struct file_buf *img,
                          struct guest_entry *e)
{
    char err[320], cmdline[HVLAB_CMDLINE_MAX];
    char *words[1 + 256];
    struct file_buf mods[HV_MAX_MODULES] = {0};
    struct mb_module mb_mods[HV_MAX_MODULES];
    int rc = 0;

    if (m->opt.guest_argc > 256) {
        fprintf(stderr, "%s: too many guest command-line words\n", m->prog);
        return HV_STATUS_USAGE;
    }
    words[0] = (char *)m->opt.guest_path;
    memcpy(words + 1, m->opt.guest_argv, sizeof(char *) * (size_t)m->opt.guest_argc);
    if (bootinfo_join_cmdline(cmdline, m->opt.guest_argc + 1, words, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", m->prog, err);
        return HV_STATUS_USAGE;
    }
    for (unsigned i = 0; i < m->opt.n_modules && !rc; i++) {
        rc = read_file(m, m->opt.modules[i], &mods[i]);
        mb_mods[i] = (struct mb_module){.data = mods[i].data, .len = mods[i].len,
                                        .cmdline = m->opt.modules[i]};
    }
    struct mb_boot_options mo = {.name = m->opt.guest_path, .cmdline = cmdline,
                                 .modules = mb_mods, .n_modules = m->opt.n_modules};
    struct mb_boot_info info;
    if (!rc && multiboot_load(&m->mem, img->data, img->len, &mo, &info, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", m->prog, err);
        rc = HV_STATUS_USAGE;
    }
    for (unsigned i = 0; i < m->opt.n_modules; i++)
        free(mods[i].data);
    if (!rc)
        *e = (struct guest_entry){.kind = GUEST_ENTRY_MULTIBOOT32, .rip = info.entry,
                                  .arg0 = MB_BOOTLOADER_MAGIC, .arg1 = info.mbi_paddr};
    return rc;
}

int guest_image_load(struct hv_machine *m, const struct guest_boot_params *p,
                     struct guest_entry *e)
{
    struct file_buf img;
    int rc = read_file(m, m->opt.guest_path, &img);
    if (rc)
        return rc;
    enum elf_kind kind = elf_identify(img.data, img.len);
    if (kind == ELF_KIND_ELF64_X86_64)
        rc = load_hvlab(m, p, &img, e);
    else if (multiboot_detect(img.data, img.len))
        rc = load_multiboot(m, &img, e);
    else {
        fprintf(stderr, "%s: %s: %s, and no multiboot header in its first %u bytes: not an "
                "hvlab guest (ELF64 x86-64) nor a multiboot v1 kernel\n", m->prog,
                m->opt.guest_path, elf_kind_name(kind), MB_SEARCH_LIMIT);
        rc = HV_STATUS_USAGE;
    }
    free(img.data);
    return rc;
}
