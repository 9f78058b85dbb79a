/*
 * Small accessors of the virtual CPU: the guest-visible RFLAGS assembled
 * from host-owned and virtual bits, general registers in hardware order,
 * the page-walk context of the current control registers.
 */
#include "hv-trap-emulate/vcpu.h"

#include <stddef.h>

#include "abi/x86_arch.h"

/* Ring 3 keeps the arithmetic flags and DF; the CPU forces IF=1 and IOPL=0
 * there (popf cannot change them at CPL 3, SDM Vol. 1 §3.4.3), so those live
 * in sys_rflags and are merged whenever the guest can see RFLAGS: exception
 * frames, pushes by `syscall` into R11. */
uint64_t vcpu_rflags(const struct vcpu *v)
{
    return (v->regs.rflags & RFLAGS_HOST_OWNED) | v->sys_rflags | RFLAGS_FIXED;
}

void vcpu_set_rflags(struct vcpu *v, uint64_t value)
{
    value &= RFLAGS_DEFINED & ~RFLAGS_VM;
    v->regs.rflags = (value & RFLAGS_HOST_OWNED) | RFLAGS_IF | RFLAGS_FIXED;
    v->sys_rflags = value & ~RFLAGS_HOST_OWNED & ~RFLAGS_FIXED;
}

bool vcpu_if(const struct vcpu *v)
{
    return (v->sys_rflags & RFLAGS_IF) != 0;
}

/* struct r3_regs follows the kernel's user_regs_struct naming, not the
 * encoding order of the ModR/M reg field (SDM Vol. 2A Table 2-2). */
uint64_t *vcpu_gpr(struct vcpu *v, unsigned hw)
{
    struct r3_regs *r = &v->regs;
    uint64_t *order[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
                           &r->rsi, &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11,
                           &r->r12, &r->r13, &r->r14, &r->r15};
    return order[hw & 15];
}

void vcpu_gprs(const struct vcpu *v, uint64_t out[16])
{
    for (unsigned i = 0; i < 16; i++)
        out[i] = *vcpu_gpr((struct vcpu *)v, i);
}

struct pt_walk_ctx vcpu_walk_ctx(const struct vcpu *v)
{
    return (struct pt_walk_ctx){
        .cr3 = v->cr3,
        .wp = (v->cr0 & CR0_WP) != 0,
        .nxe = (v->efer & EFER_NXE) != 0,
        .ac = (v->sys_rflags & RFLAGS_AC) != 0,
        /* The guest sees the host's CPUID (it cannot be trapped here), so
         * its 1 GiB-page bit is the host's; the walker honours such pages. */
    };
}
