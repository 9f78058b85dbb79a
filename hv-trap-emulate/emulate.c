/*
 * Emulation of the privileged instructions the guest kernel executes.
 *
 * In ring 3 each of them raises #GP (the host sends SIGSEGV; the ring-3
 * engine reports a fault with trapno 13).  The monitor fetches the bytes at
 * the guest's RIP (gva.c), decodes them (libhv/x86_decode.c) and, if the
 * virtual CPL is 0, does to the virtual CPU what the instruction would have
 * done to the real one, then moves RIP past it.  At virtual CPL 3 the same
 * instruction is a guest error: the guest gets the #GP(0) the CPU would
 * have raised (a deprivileged guest user task cannot tell the difference).
 */
#include "hv-trap-emulate/vcpu.h"

#include <stdio.h>
#include <string.h>

#include "abi/x86_arch.h"

#define CR0_TS  (1ull << 3)
#define CR0_EM  (1ull << 2)
#define CR0_AM  (1ull << 18)
#define CR0_NW  (1ull << 29)
#define CR0_CD  (1ull << 30)
#define CR0_WRITABLE (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
                      CR0_NW | CR0_CD | CR0_PG)
/* CR4 bits this virtual CPU implements: VME PVI TSD DE PSE PAE MCE PGE PCE
 * OSFXSR OSXMMEXCPT.  The rest (SMEP, SMAP, PCIDE, LA57, PKE, ...) raise
 * #GP, as on a CPU without the feature. */
#define CR4_WRITABLE 0x7ffull

/* ---- operands --------------------------------------------------------------- */

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t read_gpr(struct vcpu *v, const struct x86_operand *o)
{
    uint64_t r = *vcpu_gpr(v, o->reg);
    if (o->high8)
        return (r >> 8) & 0xff;
    return r & size_mask(o->size);
}

/* SDM Vol. 1 §3.4.1.1: a 32-bit result zero-extends into the whole 64-bit
 * register; 8- and 16-bit results leave the other bits alone. */
static void write_gpr(struct vcpu *v, const struct x86_operand *o, uint64_t value)
{
    uint64_t *r = vcpu_gpr(v, o->reg);
    if (o->high8)
        *r = (*r & ~0xff00ull) | ((value & 0xff) << 8);
    else if (o->size == 4)
        *r = value & 0xffffffffull;
    else if (o->size == 8)
        *r = value;
    else
        *r = (*r & ~size_mask(o->size)) | (value & size_mask(o->size));
}

/* The linear address of a memory operand: FS and GS add their base, the
 * other segments have base 0 in 64-bit mode (SDM Vol. 1 §3.4.2.1). */
static uint64_t operand_address(struct vcpu *v, const struct x86_insn *in)
{
    uint64_t gpr[16];
    vcpu_gprs(v, gpr);
    uint64_t a = x86_mem_address(in, gpr, v->regs.rip);
    if (in->mem.seg == X86_SEG_FS)
        a += v->regs.fs_base;
    else if (in->mem.seg == X86_SEG_GS)
        a += v->regs.gs_base;
    return in->addr_size == 4 ? a & 0xffffffffull : a;
}

static void next_insn(struct vcpu *v, const struct x86_insn *in)
{
    v->regs.rip += in->length;
}

/* ---- control registers (SDM Vol. 3A §2.5, Vol. 2B MOV CR) ------------------- */

static int write_cr0(struct vcpu *v, uint64_t value)
{
    if (value & ~CR0_WRITABLE)
        return -1;
    if (!(value & CR0_PG) || !(value & CR0_PE)) {
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "mov cr0 at 0x%llx turns paging off: this virtual "
                "CPU runs only in long mode", (unsigned long long)v->regs.rip);
        return 0;
    }
    bool wp_changed = (value ^ v->cr0) & CR0_WP;
    v->cr0 = value | CR0_ET;
    if (wp_changed) /* supervisor write rights of every mapping change */
        shadow_flush_all(v);
    return 0;
}

static int write_cr4(struct vcpu *v, uint64_t value)
{
    if ((value & ~CR4_WRITABLE) || !(value & CR4_PAE))
        return -1;
    bool paging_changed = (value ^ v->cr4) & (CR4_PGE | (1ull << 4) /* PSE */);
    v->cr4 = value;
    /* §4.10.4.1: a change of CR4.PGE invalidates every TLB entry. */
    if (paging_changed)
        shadow_flush_all(v);
    return 0;
}

/* MOV to CR3 (§4.10.4.1): loads a new PML4 address and invalidates every
 * non-global TLB entry.  The shadow is the TLB here, so it is emptied but
 * for global pages; the new tables are walked lazily, one host page fault
 * at a time. */
static int write_cr3(struct vcpu *v, uint64_t value)
{
    if (value >> 52) /* bits above MAXPHYADDR; bit 63 only with CR4.PCIDE */
        return -1;
    v->cr3 = value;
    shadow_flush_nonglobal(v);
    return 0;
}

static void emulate_mov_cr(struct vcpu *v, const struct x86_insn *in)
{
    bool to_cr = in->op == X86_OP_MOV_TO_CR;
    const struct x86_operand *cr = &in->opnd[to_cr ? 0 : 1], *gpr = &in->opnd[to_cr ? 1 : 0];
    if (!to_cr) {
        uint64_t value = 0;
        switch (cr->reg) {
        case 0: value = v->cr0; break;
        case 2: value = v->cr2; break;
        case 3: value = v->cr3; break;
        case 4: value = v->cr4; break;
        case 8: value = v->apic.tpr >> 4; break; /* CR8 = TPR[7:4] (SDM Vol. 3A,
                                                    "Task Priority in IA-32e Mode") */
        }
        *vcpu_gpr(v, gpr->reg) = value;
        next_insn(v, in);
        return;
    }
    uint64_t value = *vcpu_gpr(v, gpr->reg);
    int rc = 0;
    switch (cr->reg) {
    case 0: rc = write_cr0(v, value); break;
    case 2: v->cr2 = value; break;
    case 3: rc = write_cr3(v, value); break;
    case 4: rc = write_cr4(v, value); break;
    case 8:
        if (value > 15)
            rc = -1;
        else
            vapic_set_tpr(v, (uint32_t)value << 4);
        break;
    }
    if (rc)
        raise_gp0(v);
    else
        next_insn(v, in);
}

/* ---- descriptor tables (SDM Vol. 2A LGDT/LIDT, Vol. 2B LTR) ----------------- */

static void emulate_lgdt_lidt(struct vcpu *v, const struct x86_insn *in)
{
    uint8_t raw[10];
    struct xfault f;
    if (gva_read(v, operand_address(v, in), raw, sizeof(raw), PT_READ, false, &f)) {
        raise_fault(v, &f);
        return;
    }
    struct dtr d;
    memcpy(&d.limit, raw, 2);
    memcpy(&d.base, raw + 2, 8);
    if (!pt_va_canonical(d.base)) {
        raise_gp0(v);
        return;
    }
    if (in->op == X86_OP_LGDT)
        v->gdtr = d;
    else
        v->idtr = d;
    next_insn(v, in);
}

/* LTR: the selector must name an available 64-bit TSS in the GDT; its
 * 16-byte descriptor gives base and limit, and the CPU marks it busy. */
static void emulate_ltr(struct vcpu *v, const struct x86_insn *in)
{
    uint16_t sel;
    struct xfault f;
    if (in->opnd[0].kind == X86_OPND_MEM) {
        if (gva_read(v, operand_address(v, in), &sel, 2, PT_READ, false, &f)) {
            raise_fault(v, &f);
            return;
        }
    } else {
        sel = (uint16_t)*vcpu_gpr(v, in->opnd[0].reg);
    }
    uint64_t d[2];
    unsigned index = sel & ~7u;
    if ((sel & 4) || index == 0 || index + 15 > v->gdtr.limit) {
        raise_exception(v, X86_GP, true, sel & ~3u);
        return;
    }
    if (gva_read(v, v->gdtr.base + index, d, 16, PT_READ, false, &f)) {
        raise_fault(v, &f);
        return;
    }
    unsigned type = (unsigned)(d[0] >> 40) & 0x1f; /* S=0, type 9: available TSS */
    if (type != 0x09) {
        raise_exception(v, X86_GP, true, sel & ~3u);
        return;
    }
    if (!((d[0] >> 47) & 1)) {
        raise_exception(v, X86_NP, true, sel & ~3u);
        return;
    }
    v->tr = sel;
    v->tr_base = ((d[0] >> 16) & 0xffffff) | (((d[0] >> 56) & 0xff) << 24) | (d[1] << 32);
    v->tr_limit = (uint32_t)((d[0] & 0xffff) | (((d[0] >> 48) & 0xf) << 16));
    d[0] |= 1ull << 41; /* busy */
    if (gva_write(v, v->gdtr.base + index, d, 8, false, &f)) {
        raise_fault(v, &f);
        return;
    }
    next_insn(v, in);
}

/* MOV to a segment register.  The host faults on the guest's selectors
 * (its GDT is not the guest's); in 64-bit mode DS/ES/SS have no base, and
 * loading FS or GS with a selector loads the descriptor's 32-bit base. */
static void emulate_mov_sreg(struct vcpu *v, const struct x86_insn *in)
{
    uint16_t sel;
    struct xfault f;
    if (in->opnd[1].kind == X86_OPND_MEM) {
        if (gva_read(v, operand_address(v, in), &sel, 2, PT_READ, v->cpl == 3, &f)) {
            raise_fault(v, &f);
            return;
        }
    } else {
        sel = (uint16_t)*vcpu_gpr(v, in->opnd[1].reg);
    }
    unsigned seg = in->opnd[0].reg;
    uint64_t desc = 0;
    if ((sel & ~3u) != 0) {
        if (read_descriptor(v, sel, &desc, &f)) {
            raise_fault(v, &f);
            return;
        }
        unsigned dpl = (unsigned)(desc >> 45) & 3;
        bool data = ((desc >> 44) & 1) && !((desc >> 43) & 1);
        if (!((desc >> 47) & 1) || (seg == X86_SEG_SS && (!data || dpl != v->cpl)) ||
            (seg != X86_SEG_SS && dpl < v->cpl)) {
            raise_exception(v, X86_GP, true, sel & ~3u);
            return;
        }
    } else if (seg == X86_SEG_SS && v->cpl == 3) {
        raise_gp0(v); /* a null SS is allowed only at CPL < 3 in 64-bit mode */
        return;
    }
    uint64_t base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24);
    switch (seg) {
    case X86_SEG_SS: v->ss = sel; v->irq_shadow = true; break; /* MOV SS blocks IRQs */
    case X86_SEG_FS: v->regs.fs_base = base; break;
    case X86_SEG_GS: v->regs.gs_base = base; break;
    case X86_SEG_CS: raise_exception(v, X86_UD, false, 0); return;
    default: break;
    }
    next_insn(v, in);
}

/* ---- port I/O (SDM Vol. 1 §19.5: at CPL > IOPL without an I/O bitmap the
 * instruction raises #GP; the virtual IOPL is 0) ----------------------------- */

static void emulate_port_io(struct vcpu *v, const struct x86_insn *in)
{
    bool out = in->op == X86_OP_OUT;
    const struct x86_operand *port_op = &in->opnd[out ? 0 : 1];
    const struct x86_operand *acc = &in->opnd[out ? 1 : 0];
    uint16_t port = port_op->kind == X86_OPND_IMM ? (uint16_t)in->imm
                                                  : (uint16_t)v->regs.rdx;
    uint64_t value = out ? read_gpr(v, acc) : 0;
    next_insn(v, in); /* a device may stop the guest; RIP is past it either way */
    bus_access(v->m, HV_SPACE_PIO, port, out, acc->size, &value);
    if (!out)
        write_gpr(v, acc, value);
}

/* ---- MMIO ------------------------------------------------------------------- */

/* A load or store to a guest-physical address with no RAM behind it: the
 * shadow has no host page to map there, so the access faults every time
 * and is performed here, on the device bus, then RIP moves on. */
void emulate_mmio(struct vcpu *v, uint64_t va, uint64_t gpa)
{
    struct x86_insn in;
    uint8_t bytes[X86_MAX_INSN_LEN];
    struct xfault f;
    int rc = fetch_insn(v, &in, bytes, &f);
    if (rc) {
        if (rc == -1)
            raise_fault(v, &f);
        return;
    }
    int mem = -1;
    for (int i = 0; i < in.nopnd; i++)
        if (in.opnd[i].kind == X86_OPND_MEM)
            mem = i;
    bool is_move = in.op == X86_OP_MOV || in.op == X86_OP_MOVZX || in.op == X86_OP_MOVSX ||
                   in.op == X86_OP_MOVSXD;
    char text[64], hex[48];
    if (!is_move || mem < 0) {
        x86_format(&in, text, sizeof(text));
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "unsupported MMIO access by '%s' (%s) at 0x%llx "
                "to 0x%llx", text, insn_text(&in, bytes, hex, sizeof(hex)),
                (unsigned long long)v->regs.rip, (unsigned long long)va);
        return;
    }
    bool write = mem == 0;
    unsigned size = in.opnd[mem].size;
    /* The operand is the access that faulted (shadow_fault() walked it, with
     * its access rights and A/D flags); one that is elsewhere, or spans the
     * end of the page, is not one device register. */
    uint64_t addr = operand_address(v, &in);
    if (addr != va || (gpa & 4095) + size > 4096) {
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "MMIO access at 0x%llx to 0x%llx: the operand is "
                "not one device register (size %u, fault at 0x%llx)",
                (unsigned long long)v->regs.rip, (unsigned long long)addr, size,
                (unsigned long long)va);
        return;
    }
    uint64_t value = 0;
    if (write)
        value = in.opnd[1].kind == X86_OPND_IMM ? in.imm : read_gpr(v, &in.opnd[1]);
    next_insn(v, &in);
    bus_access(v->m, HV_SPACE_MMIO, gpa, write, size, &value);
    if (write)
        return;
    value &= size_mask(size);
    if (in.op == X86_OP_MOVSX || in.op == X86_OP_MOVSXD)
        value = (uint64_t)((int64_t)(value << (64 - 8 * size)) >> (64 - 8 * size));
    write_gpr(v, &in.opnd[0], value);
}

/* ---- the dispatcher ---------------------------------------------------------- */

static bool allowed_at_cpl3(enum x86_op op)
{
    /* These fault in ring 3 only because the host's GDT/IDT is not the
     * guest's; for the guest they may be perfectly legal at CPL 3. */
    return op == X86_OP_IRET || op == X86_OP_LRET || op == X86_OP_MOV_TO_SREG ||
           op == X86_OP_INT;
}

static void emulate_msr(struct vcpu *v, const struct x86_insn *in)
{
    uint32_t msr = (uint32_t)v->regs.rcx;
    if (in->op == X86_OP_RDMSR) {
        uint64_t value;
        if (msr_read(v, msr, &value)) {
            raise_gp0(v);
            return;
        }
        v->regs.rax = value & 0xffffffffull;
        v->regs.rdx = value >> 32;
    } else {
        uint64_t value = (v->regs.rax & 0xffffffffull) | (v->regs.rdx << 32);
        if (msr_write(v, msr, value)) {
            raise_gp0(v);
            return;
        }
    }
    if (!v->m->stopped)
        next_insn(v, in);
}

static void emulate_system(struct vcpu *v, const struct x86_insn *in, const uint8_t *bytes)
{
    char text[64], hex[48];
    switch (in->op) {
    case X86_OP_HLT:
        next_insn(v, in);
        v->halted = true;
        return;
    case X86_OP_CLI:
        v->sys_rflags &= ~RFLAGS_IF;
        next_insn(v, in);
        return;
    case X86_OP_STI:
        /* STI: interrupts are recognised only after the NEXT instruction
         * (SDM Vol. 2B STI), which makes `sti; hlt` race-free. */
        if (!vcpu_if(v))
            v->irq_shadow = true;
        v->sys_rflags |= RFLAGS_IF;
        next_insn(v, in);
        return;
    case X86_OP_SWAPGS: {
        uint64_t t = v->regs.gs_base;
        v->regs.gs_base = v->kernel_gs_base;
        v->kernel_gs_base = t;
        next_insn(v, in);
        return;
    }
    case X86_OP_INVLPG:
        shadow_invlpg(v, operand_address(v, in));
        next_insn(v, in);
        return;
    case X86_OP_CLTS:
        v->cr0 &= ~CR0_TS;
        next_insn(v, in);
        return;
    case X86_OP_WBINVD: case X86_OP_INVD:
        next_insn(v, in); /* no caches to write back: guest RAM is coherent */
        return;
    case X86_OP_LLDT:
        if (in->opnd[0].kind == X86_OPND_GPR && (*vcpu_gpr(v, in->opnd[0].reg) & 0xfffc) == 0) {
            next_insn(v, in); /* a null LDT: hvlab guests have none */
            return;
        }
        break;
    case X86_OP_VMCALL: case X86_OP_VMMCALL:
        /* This virtual CPU has no VMX/SVM: the instruction is #UD, as on a
         * CPU without them.  (hv-paravirt uses `syscall` for hypercalls.) */
        raise_exception(v, X86_UD, false, 0);
        return;
    default:
        break;
    }
    x86_format(in, text, sizeof(text));
    hv_stop(v->m, HV_STATUS_GUEST_RULE, "unsupported instruction %s (%s) at 0x%llx",
            insn_text(in, bytes, hex, sizeof(hex)), text, (unsigned long long)v->regs.rip);
}

/* One exit reason per emulated instruction ("emulate wrmsr"); port I/O is
 * counted by the device bus under the device's name instead. */
static void count_insn(struct vcpu *v, enum x86_op op)
{
    static char names[X86_OP_COUNT][32];
    unsigned *slot = &v->slot.insn[op];
    if (op == X86_OP_IN || op == X86_OP_OUT)
        return;
    if (*slot == SLOT_UNSET) {
        /* the mov forms share a mnemonic; the table keeps them apart */
        const char *what = op == X86_OP_MOV_TO_CR ? "mov to cr"
                         : op == X86_OP_MOV_FROM_CR ? "mov from cr"
                         : op == X86_OP_MOV_TO_SREG ? "mov to sreg"
                         : op == X86_OP_MOV_TO_DR ? "mov to dr"
                         : op == X86_OP_MOV_FROM_DR ? "mov from dr" : x86_mnemonic(op);
        snprintf(names[op], sizeof(names[op]), "emulate %s", what);
        *slot = stats_reason(&v->m->stats, names[op]);
    }
    stats_inc(&v->m->stats, *slot);
}

void emulate_privileged(struct vcpu *v, const struct x86_insn *in, const uint8_t *bytes)
{
    if (v->cpl != 0 && !allowed_at_cpl3(in->op)) {
        stats_inc(&v->m->stats, v->slot.exception);
        raise_gp0(v); /* what the CPU does to a user task trying it */
        return;
    }
    count_insn(v, in->op);
    switch (in->op) {
    case X86_OP_IN: case X86_OP_OUT: emulate_port_io(v, in); return;
    case X86_OP_MOV_FROM_CR: case X86_OP_MOV_TO_CR: emulate_mov_cr(v, in); return;
    case X86_OP_RDMSR: case X86_OP_WRMSR: emulate_msr(v, in); return;
    case X86_OP_LGDT: case X86_OP_LIDT: emulate_lgdt_lidt(v, in); return;
    case X86_OP_LTR: emulate_ltr(v, in); return;
    case X86_OP_MOV_TO_SREG: emulate_mov_sreg(v, in); return;
    case X86_OP_IRET: emulate_iret(v, in); return;
    case X86_OP_LRET: emulate_lret(v, in); return;
    case X86_OP_SYSRET: emulate_sysret(v, in); return;
    case X86_OP_INT:
        next_insn(v, in);
        emulate_int(v, (unsigned)in->imm, in->length);
        return;
    default: emulate_system(v, in, bytes); return;
    }
}
