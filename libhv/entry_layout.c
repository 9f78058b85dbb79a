/*
 * The entry state's tables in guest memory.  A real CPU starts in 16-bit
 * real mode and firmware walks it up to long mode; a hypervisor may load the
 * destination state directly as long as it is one the CPU could have
 * reached (SDM Vol. 3A §9.8.5 "Initializing IA-32e Mode", AMD APM Vol. 2
 * §14.6): paging structures in memory before CR0.PG, a 64-bit code segment,
 * a TSS for TR.  The guest installs its own tables within its first
 * instructions; these only have to be right until then.
 */
#include "libhv/entry_layout.h"

#include <stdio.h>

/* Scratch-area layout (inside HVLAB_SCRATCH_PADDR..HVLAB_SCRATCH_END). */
#define ENTRY_PML4   0x2000ull
#define ENTRY_PDPT   0x3000ull
#define ENTRY_PD     0x4000ull /* four page directories: 4 GiB of 2 MiB pages */
#define ENTRY_GDT    0x8000ull
#define ENTRY_TSS    0x8100ull
#define ENTRY_TR     0x18u

/* GDT descriptors (SDM Vol. 3A §3.4.5): flat 4 GiB, present, DPL 0. */
#define GDT_CODE64 0x00AF9A000000FFFFull /* L=1 D=0: 64-bit code          */
#define GDT_CODE32 0x00CF9A000000FFFFull /* D=1: 32-bit code               */
#define GDT_DATA   0x00CF92000000FFFFull /* read/write data                */
#define TSS64_SIZE 104u

static int write_guest(struct hv_machine *m, uint64_t gpa, const void *src, size_t len)
{
    if (gm_write(&m->mem, gpa, src, len)) {
        fprintf(stderr, "%s: entry state does not fit in guest RAM at 0x%llx\n", m->prog,
                (unsigned long long)gpa);
        return HV_STATUS_MONITOR;
    }
    return 0;
}

/* Identity map [0, 4 GiB): PML4[0] -> PDPT, PDPT[0..3] -> four PDs whose
 * entries have PTE_PS set, each mapping a 2 MiB page (SDM Vol. 3A §4.5).
 * 2 MiB rather than 1 GiB pages: not every backend has the latter. */
static int build_identity_tables(struct hv_machine *m)
{
    uint64_t pml4[512] = {0}, pdpt[512] = {0}, pd[512];
    pml4[0] = ENTRY_PDPT | PTE_P | PTE_W;
    int rc = 0;
    for (uint64_t g = 0; g < 4 && !rc; g++) {
        pdpt[g] = (ENTRY_PD + g * 0x1000) | PTE_P | PTE_W;
        for (uint64_t i = 0; i < 512; i++)
            pd[i] = ((g << 30) + (i << 21)) | PTE_P | PTE_W | PTE_PS;
        rc = write_guest(m, ENTRY_PD + g * 0x1000, pd, sizeof(pd));
    }
    if (!rc)
        rc = write_guest(m, ENTRY_PML4, pml4, sizeof(pml4));
    if (!rc)
        rc = write_guest(m, ENTRY_PDPT, pdpt, sizeof(pdpt));
    return rc;
}

/* GDT: null, code (0x08), data (0x10), and at 0x18 a 16-byte 64-bit TSS
 * descriptor (SDM Vol. 3A §7.2.3), type busy (TR is loaded), whose TSS has
 * no stacks yet: the guest installs its own GDT and TSS before it takes any
 * interrupt. */
static int build_gdt(struct hv_machine *m, uint64_t code, struct entry_layout *out)
{
    uint64_t gdt[5] = {0, code, GDT_DATA, 0, 0};
    uint64_t base = ENTRY_TSS, limit = TSS64_SIZE - 1;
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x8bull << 40) |
             (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;
    uint8_t tss[TSS64_SIZE] = {0};
    tss[102] = TSS64_SIZE; /* I/O map base beyond the limit: no I/O bitmap */
    int rc = write_guest(m, ENTRY_GDT, gdt, sizeof(gdt));
    if (!rc)
        rc = write_guest(m, ENTRY_TSS, tss, sizeof(tss));
    *out = (struct entry_layout){
        .gdt_base = ENTRY_GDT, .gdt_limit = sizeof(gdt) - 1, .tr_selector = ENTRY_TR,
        .tss_base = ENTRY_TSS, .tss_limit = TSS64_SIZE - 1, .rsp = HVLAB_SCRATCH_END,
    };
    return rc;
}

int entry_build_long_mode(struct hv_machine *m, struct entry_layout *out)
{
    int rc = build_identity_tables(m);
    if (!rc)
        rc = build_gdt(m, GDT_CODE64, out);
    out->cr3 = ENTRY_PML4;
    return rc;
}

int entry_build_protected_mode(struct hv_machine *m, struct entry_layout *out)
{
    int rc = build_gdt(m, GDT_CODE32, out);
    out->cr3 = 0;
    return rc;
}
