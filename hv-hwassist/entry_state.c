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
#include "libhv/entry_layout.h"

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, int code64)
{
    return (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
        .dpl = 0, .db = code64 ? 0 : 1, .s = 1, .l = code64 ? 1 : 0, .g = 1,
    };
}

static struct kvm_segment tss_segment(const struct entry_layout *l)
{
    return (struct kvm_segment){.base = l->tss_base, .limit = l->tss_limit,
                                .selector = l->tr_selector, .type = 0xb /* busy TSS */,
                                .present = 1};
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
    struct entry_layout l;
    int rc = entry_build_long_mode(m, &l);
    if (rc || (rc = get_sregs(vm, m, &s)))
        return rc;
    s.cs = flat_segment(HVLAB_ENTRY_CS, 0xb, 1);  /* execute/read, accessed */
    s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(HVLAB_ENTRY_DS, 0x3, 0);
    s.tr = tss_segment(&l);
    s.gdt = (struct kvm_dtable){.base = l.gdt_base, .limit = l.gdt_limit};
    s.idt = (struct kvm_dtable){.base = 0, .limit = 0}; /* any fault now: triple fault */
    s.cr3 = l.cr3;
    s.cr4 = ENTRY_CR4;
    s.cr0 = ENTRY_CR0;
    s.efer = ENTRY_EFER;
    struct kvm_regs r = {.rip = rip, .rdi = rdi, .rsi = rsi, .rsp = l.rsp, .rflags = 0x2};
    return set_state(vm, m, &s, &r);
}

int entry_protected_mode(struct kvm_vm *vm, struct hv_machine *m, uint32_t eip, uint32_t eax,
                         uint32_t ebx)
{
    struct kvm_sregs s;
    struct entry_layout l;
    int rc = entry_build_protected_mode(m, &l);
    if (rc || (rc = get_sregs(vm, m, &s)))
        return rc;
    s.cs = flat_segment(HVLAB_ENTRY_CS, 0xb, 0);
    s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(HVLAB_ENTRY_DS, 0x3, 0);
    s.tr = tss_segment(&l);
    s.gdt = (struct kvm_dtable){.base = l.gdt_base, .limit = l.gdt_limit};
    s.idt = (struct kvm_dtable){.base = 0, .limit = 0};
    s.cr0 = CR0_PE | CR0_ET; /* "CR0: PG cleared, PE set" (Multiboot §3.2) */
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
    struct kvm_regs r = {.rip = eip, .rax = eax, .rbx = ebx, .rflags = 0x2};
    return set_state(vm, m, &s, &r);
}
