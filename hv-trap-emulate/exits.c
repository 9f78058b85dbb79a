/*
 * The exit loop of hv-trap-emulate: one VM exit, from the guest's fault to
 * its resumption.  Example, the guest kernel writing a byte to the UART:
 *
 *   guest (ring 3 in the child)  out %al, (%dx)
 *     -> the CPU raises #GP (I/O at CPL 3 > IOPL 0); the host kernel turns
 *        it into SIGSEGV for the child, which ptrace stops before delivery;
 *   r3_run() (libhv/r3_run.c) returns R3_EXIT_FAULT, trapno 13;
 *   handle_fault() -> handle_gp() fetches the bytes at RIP through the
 *   guest's page tables (fetch_insn, gva.c) and decodes them: "out dx, al";
 *   emulate_privileged() (emulate.c) checks the virtual CPL is 0 and calls
 *   emulate_port_io(), which moves RIP past the instruction and hands the
 *   byte to the UART model on the device bus (libhv/uart.c);
 *   the loop comes round: deliver_events() (interrupts.c) injects a pending
 *   timer interrupt if the virtual IF allows it; the host timer is re-armed
 *   for the next virtual APIC deadline; r3_run() resumes the child with
 *   the updated registers.
 */
#include "hv-trap-emulate/vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"

/* ---- the host timer (libhv/r3_timer.c) and --timeout ----------------------- */

static uint64_t timeout_ns;

int timer_start(struct vcpu *v)
{
    if (r3_timer_init())
        return -1;
    if (v->m->opt.timeout_sec > 0)
        timeout_ns = host_now_ns() + (uint64_t)(v->m->opt.timeout_sec * 1e9);
    return 0;
}

/* When the host timer must kick the guest out: the APIC deadline, the
 * --timeout, or — an interrupt already requested and deliverable but held
 * back one instruction by sti's shadow — right after the guest has run a
 * little (the guest may not exit on its own for a long time). */
#define SHADOW_KICK_NS 20000u
static uint64_t next_wakeup(const struct vcpu *v)
{
    uint64_t d = vapic_next_deadline_ns(v);
    /* Each run that was kicked before the shadowed instruction ran waits
     * twice as long (interrupts.c deliver_events): resuming the child can
     * take longer than SHADOW_KICK_NS on a loaded host. */
    if (vcpu_if(v) && vapic_pending_vector(v) >= 0)
        d = host_now_ns() + ((uint64_t)SHADOW_KICK_NS << (v->irq_shadow ? v->irq_shadow_runs : 0));
    if (timeout_ns && (!d || timeout_ns < d))
        d = timeout_ns;
    return d;
}

static bool timed_out(struct vcpu *v)
{
    if (!timeout_ns || host_now_ns() < timeout_ns)
        return false;
    hv_stop(v->m, HV_STATUS_TIMEOUT, "timed out after %g s (guest rip 0x%llx, CPL %u)",
            v->m->opt.timeout_sec, (unsigned long long)v->regs.rip, v->cpl);
    return true;
}

/* HLT: the virtual CPU sleeps until the next interrupt.  With IF clear or
 * no timer armed nothing can ever wake it (the virtio devices complete
 * inside the exit that kicked them, so their interrupts are already in IRR
 * and deliver_events has taken them): say so instead of sleeping forever. */
static void wait_for_interrupt(struct vcpu *v)
{
    uint64_t deadline = vapic_next_deadline_ns(v);
    if (!vcpu_if(v) || !deadline) {
        hv_stop(v->m, HV_STATUS_GUEST_CRASH, "the guest halted at 0x%llx with %s: nothing can "
                "wake it", (unsigned long long)v->regs.rip,
                !vcpu_if(v) ? "interrupts disabled" : "no timer armed");
        return;
    }
    uint64_t until = next_wakeup(v);
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ull),
                          .tv_nsec = (long)(until % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* ---- faults ------------------------------------------------------------------- */

/* #GP: a privileged instruction (emulate it), or the guest's own #GP (a
 * non-canonical address, say), which it gets back unchanged. */
static void handle_gp(struct vcpu *v)
{
    struct x86_insn in;
    uint8_t bytes[X86_MAX_INSN_LEN];
    struct xfault f;
    int rc = fetch_insn(v, &in, bytes, &f);
    if (rc == -1)
        raise_fault(v, &f);
    if (rc)
        return;
    if (x86_op_needs_cpl0(in.op)) {
        emulate_privileged(v, &in, bytes);
        return;
    }
    stats_inc(&v->m->stats, v->slot.exception);
    raise_gp0(v); /* e.g. a non-canonical address: #GP(0) on any CPU */
}

static void handle_fault(struct vcpu *v, const struct r3_exit *ex)
{
    switch (ex->trapno) {
    case X86_PF:
        shadow_fault(v, ex->fault_addr, (uint32_t)ex->error_code);
        return;
    case X86_GP:
        handle_gp(v);
        return;
    }
    stats_inc(&v->m->stats, v->slot.exception);
    switch (ex->trapno) {
    case X86_BP:
        emulate_int(v, X86_BP, 1); /* int3: RIP is already past it */
        return;
    case X86_DB:
        raise_exception(v, X86_DB, false, 0);
        return;
    case X86_DE: case X86_OF: case X86_BR: case X86_UD: case X86_NM: case X86_MF:
    case X86_XM:
        raise_exception(v, ex->trapno, false, 0);
        return;
    case X86_AC:
        raise_exception(v, X86_AC, true, 0);
        return;
    }
    hv_stop(v->m, HV_STATUS_MONITOR, "unexpected host signal %d (si_code %d, trap %d) at guest "
            "rip 0x%llx", ex->signo, ex->si_code, ex->trapno, (unsigned long long)v->regs.rip);
}

static void trace_exit(const struct vcpu *v, const struct r3_exit *ex)
{
    fprintf(stderr, "hv-trap-emulate: exit %-9s trap %2d err 0x%04llx addr 0x%llx rip 0x%llx "
            "cpl %u\n", r3_exit_kind_name(ex->kind), ex->trapno,
            (unsigned long long)ex->error_code, (unsigned long long)ex->fault_addr,
            (unsigned long long)v->regs.rip, v->cpl);
}

static void handle_exit(struct vcpu *v, const struct r3_exit *ex)
{
    if (v->m->opt.trace)
        trace_exit(v, ex);
    switch (ex->kind) {
    case R3_EXIT_FAULT:
        handle_fault(v, ex);
        return;
    case R3_EXIT_SYSCALL:
        stats_inc(&v->m->stats, v->slot.syscall);
        emulate_syscall(v);
        return;
    case R3_EXIT_INT80:
        stats_inc(&v->m->stats, v->slot.int80);
        emulate_int(v, 0x80, 2);
        return;
    case R3_EXIT_HOLE:
        hv_stop_hole(v->m);
        return;
    case R3_EXIT_INTERRUPT:
        stats_inc(&v->m->stats, v->slot.interrupt);
        return;
    case R3_EXIT_DEAD:
        hv_stop_dead_child(v->m, ex->status);
        return;
    }
}

/* ---- the loop -------------------------------------------------------------------- */

int run_guest(struct vcpu *v)
{
    struct hv_machine *m = v->m;
    while (!m->stopped && !timed_out(v)) {
        deliver_events(v);
        if (m->stopped)
            break;
        if (v->halted) {
            wait_for_interrupt(v);
            continue;
        }
        struct r3_exit ex;
        if (r3_run_until(m, shadow_current(v)->child, &v->regs, next_wakeup(v), &ex))
            break;
        handle_exit(v, &ex);
    }
    r3_timer_arm(0);
    return m->status;
}
