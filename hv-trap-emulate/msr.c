/*
 * rdmsr / wrmsr.  Both are privileged (#GP at CPL > 0, SDM Vol. 2B), so
 * every access traps and lands here with ECX = the MSR number.  An MSR this
 * virtual CPU does not have raises #GP(0), as on a CPU that lacks it.
 */
#include "hv-trap-emulate/vcpu.h"

#include <x86intrin.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"

#define MSR_TSC      0x00000010
#define MSR_PAT      0x00000277
#define MSR_CSTAR    0xc0000083
#define MSR_TSC_AUX  0xc0000103
#define EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

static uint64_t pat = 0x0007040600070406ull; /* power-on PAT (SDM Vol. 3A, "PAT") */

/* EFER: LME/LMA cannot change while paging is on (SDM Vol. 3A,
 * "Initializing IA-32e Mode": #GP); NXE
 * changes what a PTE's bit 63 means, so every shadow mapping is stale. */
static int write_efer(struct vcpu *v, uint64_t value)
{
    if ((value & ~EFER_WRITABLE) || ((value ^ v->efer) & EFER_LME))
        return -1;
    value = (value & ~EFER_LMA) | (v->efer & EFER_LMA);
    bool nxe_changed = (value ^ v->efer) & EFER_NXE;
    v->efer = value;
    if (nxe_changed)
        shadow_flush_all(v);
    return 0;
}

/* IA32_APIC_BASE (§11.4.4, §11.12.5): EN and EXTD; x2APIC may only be
 * entered from the enabled xAPIC state, and EXTD without EN is invalid. */
static int write_apic_base(struct vcpu *v, uint64_t value)
{
    const uint64_t en = 1ull << 11, extd = 1ull << 10, bsp = 1ull << 8;
    uint64_t old = v->apic.base_msr;
    if ((value & ~(0xfffff000ull | en | extd | bsp)) || ((value & extd) && !(value & en)))
        return -1;
    if ((value & extd) && !(old & extd) && !(old & en))
        return -1;
    if (!(value & extd) && (old & extd) && (value & en))
        return -1; /* x2APIC -> xAPIC needs a disable first */
    v->apic.base_msr = (value & ~bsp) | bsp;
    return 0;
}

int msr_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
    if (msr >= MSR_X2APIC_BASE && msr < MSR_X2APIC_BASE + 0x100)
        return vapic_msr_read(v, msr, value);
    switch (msr) {
    case MSR_TSC: *value = __rdtsc(); return 0;
    case MSR_APIC_BASE: *value = v->apic.base_msr; return 0;
    case MSR_TSC_DEADLINE: *value = v->apic.tsc_deadline; return 0;
    case MSR_PAT: *value = pat; return 0;
    case MSR_EFER: *value = v->efer; return 0;
    case MSR_STAR: *value = v->star; return 0;
    case MSR_LSTAR: *value = v->lstar; return 0;
    case MSR_CSTAR: *value = v->cstar; return 0;
    case MSR_SFMASK: *value = v->sfmask; return 0;
    case MSR_FS_BASE: *value = v->regs.fs_base; return 0;
    case MSR_GS_BASE: *value = v->regs.gs_base; return 0;
    case MSR_KERNEL_GS_BASE: *value = v->kernel_gs_base; return 0;
    case MSR_TSC_AUX: *value = v->tsc_aux; return 0;
    }
    return -1;
}

int msr_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
    if (msr >= MSR_X2APIC_BASE && msr < MSR_X2APIC_BASE + 0x100)
        return vapic_msr_write(v, msr, value);
    switch (msr) {
    case MSR_TSC:
        /* The guest reads the TSC with rdtsc, which does not trap here, so
         * an offset could never be applied: refuse rather than lie. */
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "wrmsr IA32_TSC at 0x%llx: the TSC cannot be "
                "virtualized by trap-and-emulate (rdtsc does not trap)",
                (unsigned long long)v->regs.rip);
        return 0;
    case MSR_APIC_BASE: return write_apic_base(v, value);
    case MSR_TSC_DEADLINE: return vapic_tsc_deadline_write(v, value);
    case MSR_PAT: pat = value; return 0;
    case MSR_EFER: return write_efer(v, value);
    case MSR_STAR: v->star = value; return 0;
    case MSR_CSTAR: v->cstar = value; return 0;
    case MSR_SFMASK: v->sfmask = value & 0xffffffffull; return 0;
    case MSR_TSC_AUX: v->tsc_aux = value & 0xffffffffull; return 0;
    }
    /* The rest hold addresses: #GP(0) if not canonical. */
    if (!pt_va_canonical(value))
        return -1;
    if (value >= HVLAB_HOLE_END && msr != MSR_LSTAR) {
        /* Legal on a CPU, but FS/GS bases end up in the host process's
         * registers, and Linux refuses a user FS/GS base in the upper half. */
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "wrmsr 0x%x at 0x%llx: an FS/GS base in the upper "
                "half (0x%llx) cannot be given to a host process",
                msr, (unsigned long long)v->regs.rip, (unsigned long long)value);
        return 0;
    }
    switch (msr) {
    case MSR_LSTAR: v->lstar = value; return 0;
    case MSR_FS_BASE: v->regs.fs_base = value; return 0;
    case MSR_GS_BASE: v->regs.gs_base = value; return 0;
    case MSR_KERNEL_GS_BASE: v->kernel_gs_base = value; return 0;
    }
    return -1;
}
