/*
 * The vCPU's first state.  A real CPU starts in 16-bit real mode at
 * 0xfffffff0 and firmware walks it up to long mode; a hypervisor can skip
 * all that and load the destination state directly through KVM_SET_SREGS and
 * KVM_SET_REGS, as long as it is a state the CPU could have reached (SDM
 * Vol. 3A §9.8.5 "Initializing IA-32e Mode", AMD APM Vol. 2 §14.6): paging
 * structures in memory before CR0.PG, EFER.LMA consistent with CR0.PG and
 * EFER.LME, a 64-bit code segment, a busy TSS in TR.
 */
#include "hv-hwassist/entry_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"

/* Scratch-area layout used by hv-hwassist (inside HVLAB_SCRATCH_PADDR..END). */
#define ENTRY_PML4   0x2000ull
#define ENTRY_PDPT   0x3000ull
#define ENTRY_PD     0x4000ull /* four page directories: 4 GiB of 2 MiB pages */
#define ENTRY_GDT    0x8000ull
#define ENTRY_TSS    0x8100ull
#define ENTRY_STACK  HVLAB_SCRATCH_END

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
 * descriptor (SDM Vol. 3A §7.2.3) whose TSS has no stacks yet: the guest
 * installs its own GDT and TSS before it takes any interrupt. */
static int build_gdt(struct hv_machine *m, uint64_t code)
{
    uint64_t gdt[5] = {0, code, GDT_DATA, 0, 0};
    uint64_t base = ENTRY_TSS, limit = TSS64_SIZE - 1;
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
             (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;
    uint8_t tss[TSS64_SIZE] = {0};
    tss[102] = TSS64_SIZE; /* I/O map base beyond the limit: no I/O bitmap */
    int rc = write_guest(m, ENTRY_GDT, gdt, sizeof(gdt));
    return rc ? rc : write_guest(m, ENTRY_TSS, tss, sizeof(tss));
}

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, int code64)
{
    return (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
        .dpl = 0, .db = code64 ? 0 : 1, .s = 1, .l = code64 ? 1 : 0, .g = 1,
    };
}

static int set_state(struct kvm_vm *vm, struct hv_machine *m, struct kvm_sregs *s,
                     struct kvm_regs *r)
{
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, s)) {
        fprintf(stderr, "%s: KVM_SET_SREGS: %s\n", m->prog, strerror(errno));
        return HV_STATUS_MONITOR;
    }
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, r)) {
        fprintf(stderr, "%s: KVM_SET_REGS: %s\n", m->prog, strerror(errno));
        return HV_STATUS_MONITOR;
    }
    return 0;
}

static int get_sregs(struct kvm_vm *vm, struct hv_machine *m, struct kvm_sregs *s)
{
    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, s)) {
        fprintf(stderr, "%s: KVM_GET_SREGS: %s\n", m->prog, strerror(errno));
        return HV_STATUS_MONITOR;
    }
    return 0;
}

int entry_long_mode(struct kvm_vm *vm, struct hv_machine *m, uint64_t rip, uint64_t rdi,
                    uint64_t rsi)
{
    struct kvm_sregs s;
    int rc = build_identity_tables(m);
    if (rc || (rc = build_gdt(m, GDT_CODE64)) || (rc = get_sregs(vm, m, &s)))
        return rc;
    s.cs = flat_segment(HVLAB_ENTRY_CS, 0xb, 1);  /* execute/read, accessed */
    s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(HVLAB_ENTRY_DS, 0x3, 0);
    s.tr = (struct kvm_segment){.base = ENTRY_TSS, .limit = TSS64_SIZE - 1, .selector = 0x18,
                                .type = 0xb /* busy 64-bit TSS */, .present = 1};
    s.gdt = (struct kvm_dtable){.base = ENTRY_GDT, .limit = 5 * 8 - 1};
    s.idt = (struct kvm_dtable){.base = 0, .limit = 0}; /* any fault now: triple fault */
    s.cr3 = ENTRY_PML4;
    s.cr4 = CR4_PAE;
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    struct kvm_regs r = {.rip = rip, .rdi = rdi, .rsi = rsi, .rsp = ENTRY_STACK,
                         .rflags = 0x2};
    return set_state(vm, m, &s, &r);
}

int entry_protected_mode(struct kvm_vm *vm, struct hv_machine *m, uint32_t eip, uint32_t eax,
                         uint32_t ebx)
{
    struct kvm_sregs s;
    int rc = build_gdt(m, GDT_CODE32);
    if (rc || (rc = get_sregs(vm, m, &s)))
        return rc;
    s.cs = flat_segment(HVLAB_ENTRY_CS, 0xb, 0);
    s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(HVLAB_ENTRY_DS, 0x3, 0);
    s.gdt = (struct kvm_dtable){.base = ENTRY_GDT, .limit = 3 * 8 - 1};
    s.idt = (struct kvm_dtable){.base = 0, .limit = 0};
    s.cr0 = CR0_PE | CR0_ET; /* "CR0: PG cleared, PE set" (Multiboot §3.2) */
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
    struct kvm_regs r = {.rip = eip, .rax = eax, .rbx = ebx, .rflags = 0x2};
    return set_state(vm, m, &s, &r);
}
