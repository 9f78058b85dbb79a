/*
 * The exit loop of hv-paravirt.  Example, the guest kernel writing a line
 * to the console:
 *
 *   guest (ring 3 in the child)   mov $HVC_CONSOLE_WRITE, %eax; syscall
 *     -> PTRACE_SYSEMU stops the child at the system-call entry: the host
 *        kernel never runs it;
 *   r3_run() (libhv/r3_run.c) returns R3_EXIT_SYSCALL;
 *   handle_exit(): the virtual CPL is 0, so this is a hypercall;
 *   hypercall() (hypercalls.c) checks the number and calls
 *   hc_console_write(), which copies the buffer through the guest's page
 *   tables (gva_read, page_tables.c) and prints it; RAX = its length;
 *   the loop comes round: a timer event that became pending is delivered
 *   if the shared page's mask allows it (events.c); r3_run() resumes the
 *   child after the `syscall`.
 * One exit for the whole line, where the native platform under
 * hv-trap-emulate takes two per byte (a trapped `in` of the UART's status
 * register and a trapped `out` of the byte).
 *
 * The same `syscall` in virtual user mode is the guest's own system call,
 * bounced to its kernel.  A privileged instruction traps as under
 * trap-and-emulate (#GP in ring 3) but is not emulated: a paravirtual
 * kernel promised never to execute one.
 */
#include "hv-paravirt/pv.h"

#include <stdio.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"
#include "libhv/x86_decode.h"

/* ---- faults --------------------------------------------------------------------- */

/* The instruction at RIP, fetched as the CPU would (one page, then the
 * next only if the decoder needs it).  0 with *in, else -1. */
static int decode_at_rip(struct pv_vcpu *v, struct x86_insn *in)
{
    uint8_t bytes[X86_MAX_INSN_LEN];
    uint64_t rip = v->regs.rip, have = 4096 - (rip & 4095);
    if (have > X86_MAX_INSN_LEN)
        have = X86_MAX_INSN_LEN;
    if (gva_fetch(v, rip, bytes, have))
        return -1;
    int rc = x86_decode(bytes, have, in);
    if (rc == X86_DECODE_TRUNCATED && have < X86_MAX_INSN_LEN &&
        !gva_fetch(v, rip + have, bytes + have, X86_MAX_INSN_LEN - have))
        rc = x86_decode(bytes, X86_MAX_INSN_LEN, in);
    return rc == X86_DECODE_OK ? 0 : -1;
}

/* #GP in ring 3: a privileged instruction — a guest bug in kernel mode, the
 * user task's #GP in user mode — or a #GP of the guest's own making (a
 * non-canonical address), which it gets as on hardware. */
static void handle_gp(struct pv_vcpu *v)
{
    struct x86_insn in;
    char text[64];
    bool decoded = decode_at_rip(v, &in) == 0;
    if (decoded && x86_op_needs_cpl0(in.op) && in.op != X86_OP_INT && v->cpl == 0) {
        stats_inc(&v->m->stats, v->slot.privileged);
        x86_format(&in, text, sizeof(text));
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "privileged instruction %s at 0x%llx in a "
                "paravirtual guest", text, (unsigned long long)v->regs.rip);
        return;
    }
    stats_inc(&v->m->stats, v->slot.exception);
    if (decoded && in.op == X86_OP_INT) {
        /* int n through a gate the guest cannot reach: #GP(vector*8+2),
         * the IDT flag in the error code (SDM Vol. 3A §6.13). */
        deliver_exception(v, X86_GP, true, ((in.imm & 0xff) << 3) | 2);
        return;
    }
    deliver_exception(v, X86_GP, true, 0);
}

static void handle_page_fault(struct pv_vcpu *v, const struct r3_exit *ex)
{
    int64_t error = pt_fault_error(v, ex->fault_addr, (uint32_t)ex->error_code);
    if (error < 0) {
        hv_stop(v->m, HV_STATUS_MONITOR, "host page fault at 0x%llx (rip 0x%llx, error 0x%llx) "
                "although the guest's page tables allow the access: host mappings out of sync",
                (unsigned long long)ex->fault_addr, (unsigned long long)v->regs.rip,
                (unsigned long long)ex->error_code);
        return;
    }
    stats_inc(&v->m->stats, v->slot.page_fault);
    v->shared->cr2 = ex->fault_addr; /* Xen keeps CR2 in the vcpu_info too */
    deliver_exception(v, X86_PF, true, (uint64_t)error);
}

static void handle_fault(struct pv_vcpu *v, const struct r3_exit *ex)
{
    switch (ex->trapno) {
    case X86_PF:
        handle_page_fault(v, ex);
        return;
    case X86_GP:
        handle_gp(v);
        return;
    case X86_DE: case X86_DB: case X86_BP: case X86_OF: case X86_BR: case X86_UD:
    case X86_NM: case X86_MF: case X86_XM:
        /* int3's RIP is already past it, as the frame of a trap wants. */
        stats_inc(&v->m->stats, v->slot.exception);
        deliver_exception(v, (unsigned)ex->trapno, false, 0);
        return;
    case X86_AC:
        stats_inc(&v->m->stats, v->slot.exception);
        deliver_exception(v, X86_AC, true, 0);
        return;
    }
    hv_stop(v->m, HV_STATUS_MONITOR, "unexpected host signal %d (si_code %d, trap %d) at guest "
            "rip 0x%llx", ex->signo, ex->si_code, ex->trapno, (unsigned long long)v->regs.rip);
}

static void handle_exit(struct pv_vcpu *v, const struct r3_exit *ex)
{
    if (v->m->opt.trace)
        fprintf(stderr, "hv-paravirt: exit %-9s trap %2d err 0x%04llx addr 0x%llx rip 0x%llx "
                "cpl %u\n", r3_exit_kind_name(ex->kind), ex->trapno,
                (unsigned long long)ex->error_code, (unsigned long long)ex->fault_addr,
                (unsigned long long)v->regs.rip, v->cpl);
    switch (ex->kind) {
    case R3_EXIT_FAULT:
        handle_fault(v, ex);
        return;
    case R3_EXIT_SYSCALL:
        if (v->cpl == 0)
            hypercall(v);
        else
            deliver_user_syscall(v);
        return;
    case R3_EXIT_INT80:
        /* The engine stops after the 2-byte `int $0x80`; the #GP of a gate
         * the guest cannot reach is a fault, reported at the instruction. */
        stats_inc(&v->m->stats, v->slot.exception);
        v->regs.rip -= 2;
        deliver_exception(v, X86_GP, true, (0x80 << 3) | 2);
        return;
    case R3_EXIT_HOLE:
        stats_inc(&v->m->stats, v->slot.hole);
        hv_stop_hole(v->m);
        return;
    case R3_EXIT_INTERRUPT:
        stats_inc(&v->m->stats, v->slot.kick);
        return;
    case R3_EXIT_DEAD:
        hv_stop_dead_child(v->m, ex->status);
        return;
    }
}

/* ---- the loop --------------------------------------------------------------------- */

static bool timed_out(struct pv_vcpu *v)
{
    if (!v->timeout_ns || host_now_ns() < v->timeout_ns)
        return false;
    hv_stop(v->m, HV_STATUS_TIMEOUT, "timed out after %g s (guest rip 0x%llx, CPL %u)",
            v->m->opt.timeout_sec, (unsigned long long)v->regs.rip, v->cpl);
    return true;
}

/* The host timer kicks the guest out for its timer event (masked or not:
 * a masked one must still become visible in event_pending) or --timeout. */
static uint64_t next_wakeup(const struct pv_vcpu *v)
{
    uint64_t d = v->timer_host_ns;
    if (v->timeout_ns && (!d || v->timeout_ns < d))
        d = v->timeout_ns;
    return d;
}

int run_guest(struct pv_vcpu *v)
{
    struct hv_machine *m = v->m;
    if (r3_timer_init()) {
        hv_stop(m, HV_STATUS_MONITOR, "cannot create the host timer");
        return m->status;
    }
    if (m->opt.timeout_sec > 0)
        v->timeout_ns = host_now_ns() + (uint64_t)(m->opt.timeout_sec * 1e9);
    while (!m->stopped && !timed_out(v)) {
        timer_poll(v);
        deliver_pending_event(v);
        if (m->stopped)
            break;
        struct r3_exit ex;
        if (r3_run_until(m, pt_current_child(v), &v->regs, next_wakeup(v), &ex))
            break;
        v->exits++;
        handle_exit(v, &ex);
    }
    r3_timer_arm(0);
    return m->status;
}
