/*
 * Exceptions and interrupts, delivered into the guest's IDT exactly as the
 * CPU delivers them in 64-bit mode (Intel SDM Vol. 3A §6.14, AMD APM Vol. 2
 * §8.9), and the instructions that leave or enter the kernel: iretq, a far
 * return, the guest's `syscall` and `sysretq`.
 *
 * The host never delivers anything to the guest: a fault in the child stops
 * it (libhv/r3_run.c) and the monitor decides what the guest sees.  To
 * deliver vector N the monitor does, in software, what the CPU's microcode
 * does:
 *   1. read the 16-byte gate IDT[N] (IDTR.base + 16 N, within IDTR.limit);
 *      it must be a present 64-bit interrupt or trap gate, and for a
 *      software `int N` its DPL must be >= CPL;
 *   2. pick the stack: the IST entry of the TSS if the gate names one, else
 *      TSS.RSP0 when the privilege level changes (CPL 3 -> 0), else the
 *      current RSP; align it down to 16 bytes;
 *   3. push SS, RSP, RFLAGS, CS, RIP and, for some exceptions, an error code;
 *   4. load CS:RIP from the gate, clear TF/NT/RF, and IF too for an
 *      interrupt gate; CPL becomes 0.
 * A fault in steps 1-3 is a nested fault; the double-fault rules of
 * SDM Vol. 3A §6.15 (Table 6-5) turn it into #DF, and a fault while
 * delivering #DF into a triple fault (the CPU shuts down: exit status 120).
 */
#include "hv-trap-emulate/vcpu.h"

#include <stdio.h>
#include <string.h>

#include "abi/x86_arch.h"

#define GATE_INTR 0xE /* 64-bit interrupt gate: clears IF */
#define GATE_TRAP 0xF /* 64-bit trap gate                 */

static const char *const vector_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9", "#TS",
    "#NP", "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static const char *vector_name(int vec, char *buf, size_t len)
{
    if (vec >= 0 && vec < 32 && vector_names[vec])
        return vector_names[vec];
    snprintf(buf, len, "vector 0x%x", (unsigned)vec);
    return buf;
}

/* SDM Vol. 3A §6.3.1: exceptions that push an error code. */
static bool pushes_error(int vec)
{
    return vec == X86_DF || vec == X86_TS || vec == X86_NP || vec == X86_SS ||
           vec == X86_GP || vec == X86_PF || vec == X86_AC || vec == X86_CP;
}

void set_cpl(struct vcpu *v, unsigned cpl)
{
    unsigned old = v->cpl;
    v->cpl = cpl;
    if (old != cpl)
        shadow_mode_change(v, old, cpl);
}

void raise_exception(struct vcpu *v, int vector, bool has_error, uint32_t error)
{
    v->pending = (struct xfault){.vector = vector, .has_error = has_error, .error = error};
}

void raise_fault(struct vcpu *v, const struct xfault *f)
{
    if (f->vector < 0)
        return;
    v->pending = *f;
    v->pending.has_error = pushes_error(f->vector);
}

void raise_gp0(struct vcpu *v)
{
    raise_exception(v, X86_GP, true, 0);
}

/* ---- reading descriptors ------------------------------------------------ */

/* Implicit supervisor-mode reads of system structures (SDM Vol. 3A
 * §4.6.1: descriptor-table and TSS accesses are supervisor accesses even
 * at CPL 3). */
static int read_sys(struct vcpu *v, uint64_t va, void *dst, size_t len, struct xfault *f)
{
    return gva_read(v, va, dst, len, PT_READ, false, f);
}

/* The 8-byte GDT descriptor of a code or data selector, or -1 with a #GP
 * naming the selector (index beyond GDTR.limit, LDT selectors: hvlab
 * guests have no LDT). */
int read_descriptor(struct vcpu *v, uint16_t sel, uint64_t *desc, struct xfault *f)
{
    unsigned index = sel & ~7u;
    if ((sel & 4) || index + 7 > v->gdtr.limit) {
        *f = (struct xfault){.vector = X86_GP, .has_error = true, .error = sel & ~3u};
        return -1;
    }
    return read_sys(v, v->gdtr.base + index, desc, 8, f);
}

#define DESC_P       (1ull << 47)
#define DESC_S       (1ull << 44)
#define DESC_CODE    (1ull << 43)
#define DESC_L       (1ull << 53)
#define DESC_DPL(d)  ((unsigned)((d) >> 45) & 3)

/* A selector that may be loaded into CS for 64-bit code at privilege cpl. */
static int check_code_selector(struct vcpu *v, uint16_t sel, unsigned cpl, struct xfault *f)
{
    uint64_t d;
    if ((sel & ~3u) == 0) {
        *f = (struct xfault){.vector = X86_GP, .has_error = true, .error = 0};
        return -1;
    }
    if (read_descriptor(v, sel, &d, f))
        return -1;
    if (!(d & DESC_S) || !(d & DESC_CODE) || !(d & DESC_L) || DESC_DPL(d) != cpl) {
        *f = (struct xfault){.vector = X86_GP, .has_error = true, .error = sel & ~3u};
        return -1;
    }
    if (!(d & DESC_P)) {
        *f = (struct xfault){.vector = X86_NP, .has_error = true, .error = sel & ~3u};
        return -1;
    }
    return 0;
}

/* ---- delivery ------------------------------------------------------------- */

struct gate {
    uint64_t offset;
    uint16_t selector;
    unsigned type, dpl, ist;
    bool present;
};

static void decode_gate(const uint64_t raw[2], struct gate *g)
{
    g->offset = (raw[0] & 0xffff) | ((raw[0] >> 32) & 0xffff0000ull) | (raw[1] << 32);
    g->selector = (uint16_t)(raw[0] >> 16);
    g->ist = (unsigned)(raw[0] >> 32) & 7;
    g->type = (unsigned)(raw[0] >> 40) & 0xf;
    g->dpl = (unsigned)(raw[0] >> 45) & 3;
    g->present = (raw[0] >> 47) & 1;
}

/* Step 2: the stack the frame goes on (SDM Vol. 3A §6.14.4, §6.14.5). */
static int pick_stack(struct vcpu *v, const struct gate *g, uint64_t *rsp, struct xfault *f)
{
    unsigned off = 0;
    if (g->ist)
        off = 36 + (g->ist - 1) * 8; /* IST1 at offset 0x24 of the 64-bit TSS */
    else if (v->cpl != 0)
        off = 4;                     /* RSP0 */
    if (!off) {
        *rsp = v->regs.rsp;
    } else {
        if (off + 7 > v->tr_limit || !v->tr) {
            *f = (struct xfault){.vector = X86_TS, .has_error = true, .error = v->tr & ~3u};
            return -1;
        }
        if (read_sys(v, v->tr_base + off, rsp, 8, f))
            return -1;
    }
    if (!pt_va_canonical(*rsp)) {
        *f = (struct xfault){.vector = X86_SS, .has_error = true, .error = 0};
        return -1;
    }
    *rsp &= ~0xfull;
    return 0;
}

/* Delivers one event.  external: an interrupt or an exception raised by
 * the CPU (the EXT bit of a resulting error code is 1); software: int n,
 * int3 (the gate's DPL is checked against CPL). */
static int deliver(struct vcpu *v, int vec, bool has_error, uint32_t error, bool software,
                   struct xfault *f)
{
    uint32_t ext = software ? 0 : 1;
    uint32_t idt_err = (uint32_t)vec * 8 + 2 + ext; /* IDT bit = 2 (§6.13) */
    uint64_t raw[2];
    struct gate g;

    if ((uint64_t)vec * 16 + 15 > v->idtr.limit) {
        *f = (struct xfault){.vector = X86_GP, .has_error = true, .error = idt_err};
        return -1;
    }
    if (read_sys(v, v->idtr.base + (uint64_t)vec * 16, raw, 16, f))
        return -1;
    decode_gate(raw, &g);
    if ((g.type != GATE_INTR && g.type != GATE_TRAP) || (software && g.dpl < v->cpl)) {
        *f = (struct xfault){.vector = X86_GP, .has_error = true, .error = idt_err};
        return -1;
    }
    if (!g.present) {
        *f = (struct xfault){.vector = X86_NP, .has_error = true, .error = idt_err};
        return -1;
    }
    /* Handlers run in ring 0 here (the guest kernel has no other kind). */
    if (check_code_selector(v, g.selector, 0, f))
        return -1;
    if (!pt_va_canonical(g.offset)) {
        *f = (struct xfault){.vector = X86_GP, .has_error = true, .error = 0};
        return -1;
    }

    uint64_t rsp;
    if (pick_stack(v, &g, &rsp, f))
        return -1;
    /* Step 3: SS, RSP, RFLAGS, CS, RIP, [error], highest address first. */
    uint64_t frame[6];
    unsigned n = 0;
    if (has_error)
        frame[n++] = error;
    frame[n++] = v->regs.rip;
    frame[n++] = v->cs;
    frame[n++] = vcpu_rflags(v);
    frame[n++] = v->regs.rsp;
    frame[n++] = v->ss;
    rsp -= 8ull * n;
    if (gva_write(v, rsp, frame, 8ull * n, false, f))
        return -1;

    /* Step 4.  On a change of privilege SS becomes a null selector with
     * RPL = the new CPL (§6.14.4). */
    if (v->cpl != 0)
        v->ss = 0;
    v->cs = g.selector;
    v->regs.rsp = rsp;
    v->regs.rip = g.offset;
    v->regs.rflags &= ~RFLAGS_TF; /* the handler is not single-stepped */
    v->sys_rflags &= ~(RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
    if (g.type == GATE_INTR)
        v->sys_rflags &= ~RFLAGS_IF;
    v->halted = false;
    set_cpl(v, 0);
    return 0;
}

/* SDM Vol. 3A Table 6-4: benign, contributory, page fault. */
enum exc_class { BENIGN, CONTRIBUTORY, PAGE_FAULT, DOUBLE_FAULT };

static enum exc_class classify(int vec)
{
    switch (vec) {
    case X86_DE: case X86_TS: case X86_NP: case X86_SS: case X86_GP: return CONTRIBUTORY;
    case X86_PF: return PAGE_FAULT;
    case X86_DF: return DOUBLE_FAULT;
    default: return BENIGN;
    }
}

/* Table 6-5: which (first, second) pairs become a double fault. */
static bool makes_double_fault(int first, int second)
{
    enum exc_class a = classify(first), b = classify(second);
    if (a == CONTRIBUTORY)
        return b == CONTRIBUTORY;
    if (a == PAGE_FAULT)
        return b == CONTRIBUTORY || b == PAGE_FAULT;
    return false;
}

static void triple_fault(struct vcpu *v, int first, const struct xfault *second)
{
    char a[24], b[24];
    hv_stop(v->m, HV_STATUS_TRIPLE_FAULT,
            "triple fault: %s while delivering %s (IDTR 0x%llx/%u) at rip 0x%llx",
            vector_name(second->vector, b, sizeof(b)), vector_name(first, a, sizeof(a)),
            (unsigned long long)v->idtr.base, v->idtr.limit,
            (unsigned long long)v->regs.rip);
}

/* An exception, with the nested-fault rules applied until one delivery
 * succeeds or the CPU would shut down.  soft_len: the length of the int n
 * being delivered (0 for anything else); RIP is past it, and goes back to
 * it if the delivery itself faults (a fault, reported at the instruction). */
static void deliver_exception(struct vcpu *v, struct xfault ev, unsigned soft_len)
{
    struct xfault f;
    bool software = soft_len != 0;
    for (int depth = 0; depth < 4; depth++) {
        if (ev.vector == X86_PF)
            v->cr2 = ev.cr2;
        if (deliver(v, ev.vector, ev.has_error, ev.error, software, &f) == 0)
            return;
        if (f.vector < 0 || v->m->stopped)
            return;
        if (software)
            v->regs.rip -= soft_len;
        software = false;
        if (ev.vector == X86_DF && classify(f.vector) != BENIGN) {
            triple_fault(v, ev.vector, &f);
            return;
        }
        f.has_error = pushes_error(f.vector);
        if (makes_double_fault(ev.vector, f.vector))
            ev = (struct xfault){.vector = X86_DF, .has_error = true, .error = 0};
        else
            ev = f;
    }
    triple_fault(v, ev.vector, &f);
}

#define SHADOW_MAX_RUNS 10u

void deliver_events(struct vcpu *v)
{
    if (v->pending.vector >= 0) {
        struct xfault ev = v->pending;
        v->pending.vector = -1;
        deliver_exception(v, ev, 0);
        return;
    }
    /*
     * The shadow ends when the instruction after STI (or MOV SS) has run.
     * The run that should execute it may be kicked out before it did (the
     * kick for a pending interrupt comes SHADOW_KICK_NS after the resume,
     * which can be too soon on a loaded host): while RIP is still on that
     * instruction, keep holding the interrupt back, for at most
     * SHADOW_MAX_RUNS runs, each kicked twice as late as the one before
     * (exits.c next_wakeup; a `sti; jmp .` never moves RIP, its interrupt
     * comes some 40 ms late).  Delivering it early breaks `sti; hlt`: the
     * handler runs before the HLT, which then sleeps with nothing left to
     * wake it (the guest's exit.hlt_wakeup benchmark hit this).
     */
    if (v->irq_shadow) {
        if (v->irq_shadow_runs == 0) {
            v->irq_shadow_rip = v->regs.rip;
            v->irq_shadow_runs = 1;
            return;
        }
        if (v->regs.rip == v->irq_shadow_rip && v->irq_shadow_runs++ < SHADOW_MAX_RUNS)
            return;
        v->irq_shadow = false;
        v->irq_shadow_runs = 0;
    }
    vapic_tick(v);
    if (!vcpu_if(v))
        return;
    int vec = vapic_pending_vector(v);
    if (vec < 0)
        return;
    vapic_accept(v, vec);
    stats_inc(&v->m->stats, vec >= (int)HVLAB_VIRTIO_IRQ_VECTOR(0) &&
                                    vec < (int)HVLAB_VIRTIO_IRQ_VECTOR(HVLAB_VIRTIO_MMIO_SLOTS)
                                ? v->slot.device_irq
                                : v->slot.timer);
    deliver_exception(v, (struct xfault){.vector = vec}, 0);
}

/* int n / int3 / int $0x80: RIP is already past the instruction (a trap). */
void emulate_int(struct vcpu *v, unsigned vector, unsigned len)
{
    deliver_exception(v, (struct xfault){.vector = (int)vector}, len);
}

/* ---- leaving the kernel --------------------------------------------------- */

static int pop_qwords(struct vcpu *v, uint64_t *out, unsigned n, unsigned size,
                      struct xfault *f)
{
    uint64_t rsp = v->regs.rsp;
    for (unsigned i = 0; i < n; i++, rsp += size) {
        out[i] = 0;
        if (gva_read(v, rsp, &out[i], size, PT_READ, v->cpl == 3, f))
            return -1;
    }
    return 0;
}

/* IRETQ in 64-bit mode (SDM Vol. 2A IRET, "IA-32e mode"): pops RIP, CS,
 * RFLAGS, RSP and SS, always all five.  Returning to an outer level (CPL 0
 * -> 3) loads the user's CS and SS; IF and IOPL change only when the old
 * CPL is 0 (CPL <= IOPL for IF). */
void emulate_iret(struct vcpu *v, const struct x86_insn *insn)
{
    uint64_t fr[5];
    struct xfault f;
    if (insn->op_size != 8) {
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "iret with a %u-byte frame at 0x%llx: only iretq "
                "is supported", insn->op_size, (unsigned long long)v->regs.rip);
        return;
    }
    if (pop_qwords(v, fr, 5, 8, &f)) {
        raise_fault(v, &f);
        return;
    }
    uint16_t cs = (uint16_t)fr[1], ss = (uint16_t)fr[4];
    unsigned rpl = cs & 3;
    if (rpl < v->cpl || (rpl != 0 && rpl != 3)) {
        raise_exception(v, X86_GP, true, cs & ~3u);
        return;
    }
    if (check_code_selector(v, cs, rpl, &f)) {
        raise_fault(v, &f);
        return;
    }
    if (rpl == 3 && (ss & 3) != 3) {
        raise_exception(v, X86_GP, true, ss & ~3u);
        return;
    }
    if (!pt_va_canonical(fr[0])) {
        raise_gp0(v);
        return;
    }
    uint64_t rflags = fr[2];
    /* At CPL 3 IF and IOPL are kept (IF changes only if CPL <= IOPL; this
     * virtual CPU treats the guest's IOPL as 0 for that, as it does for
     * cli/sti/in/out at CPL 3, which always raise #GP here). */
    if (v->cpl != 0)
        rflags = (rflags & ~(RFLAGS_IF | RFLAGS_IOPL)) | (v->sys_rflags & (RFLAGS_IF | RFLAGS_IOPL));
    vcpu_set_rflags(v, rflags);
    v->regs.rip = fr[0];
    v->regs.rsp = fr[3];
    v->cs = cs;
    v->ss = ss;
    set_cpl(v, rpl);
}

/* A far return to the same privilege level (SDM Vol. 2B RET, "far return
 * to same privilege"): pops RIP and CS; imm16 more bytes are released.  The
 * guest kernel uses `lretq` to reload CS after lgdt. */
void emulate_lret(struct vcpu *v, const struct x86_insn *insn)
{
    uint64_t fr[2];
    struct xfault f;
    unsigned size = insn->op_size;
    if (pop_qwords(v, fr, 2, size, &f)) {
        raise_fault(v, &f);
        return;
    }
    uint16_t cs = (uint16_t)fr[1];
    if ((cs & 3) != v->cpl) {
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "far return to another privilege level (CS 0x%x "
                "from CPL %u) at 0x%llx is not supported", cs, v->cpl,
                (unsigned long long)v->regs.rip);
        return;
    }
    if (check_code_selector(v, cs, v->cpl, &f)) {
        raise_fault(v, &f);
        return;
    }
    v->regs.rip = fr[0];
    v->regs.rsp += 2ull * size + insn->imm;
    v->cs = cs;
}

/* SYSCALL (SDM Vol. 2B; AMD APM Vol. 3): RCX <- RIP of the next
 * instruction, R11 <- RFLAGS, RFLAGS &= ~IA32_FMASK, CS <- STAR[47:32],
 * SS <- STAR[47:32] + 8, CPL 0, RIP <- IA32_LSTAR.  #UD when EFER.SCE is 0.
 * The host stopped the child before its own kernel saw the instruction
 * (PTRACE_SYSEMU); RIP is already past it and the CPU has put RIP into RCX
 * and the host's RFLAGS into R11. */
void emulate_syscall(struct vcpu *v)
{
    if (!(v->efer & EFER_SCE)) {
        v->regs.rip -= 2; /* #UD is a fault: RIP of the syscall itself */
        raise_exception(v, X86_UD, false, 0);
        return;
    }
    uint64_t rflags = vcpu_rflags(v);
    v->regs.rcx = v->regs.rip;
    v->regs.r11 = rflags;
    vcpu_set_rflags(v, rflags & ~v->sfmask);
    v->cs = (uint16_t)(v->star >> 32) & 0xfffc;
    v->ss = (uint16_t)(v->cs + 8);
    v->regs.rip = v->lstar;
    set_cpl(v, 0);
}

/* SYSRETQ: RIP <- RCX (#GP(0) if not canonical), RFLAGS <- R11,
 * CS <- STAR[63:48] + 16 | 3, SS <- STAR[63:48] + 8 | 3, CPL 3.  #GP(0) at
 * CPL != 0, #UD with EFER.SCE clear. */
void emulate_sysret(struct vcpu *v, const struct x86_insn *insn)
{
    if (!(v->efer & EFER_SCE)) {
        raise_exception(v, X86_UD, false, 0);
        return;
    }
    if (v->cpl != 0 || !pt_va_canonical(v->regs.rcx)) {
        raise_gp0(v);
        return;
    }
    if (insn->op_size != 8) {
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "sysretl to compatibility mode at 0x%llx is not "
                "supported", (unsigned long long)v->regs.rip);
        return;
    }
    uint16_t base = (uint16_t)(v->star >> 48);
    vcpu_set_rflags(v, (v->regs.r11 & ~(RFLAGS_RF | RFLAGS_VM)) | RFLAGS_FIXED);
    v->regs.rip = v->regs.rcx;
    v->cs = (uint16_t)((base + 16) | 3);
    v->ss = (uint16_t)((base + 8) | 3);
    set_cpl(v, 3);
}
