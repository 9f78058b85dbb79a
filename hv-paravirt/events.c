/*
 * Events, exceptions and the way back: what replaces the IDT, the TSS, the
 * local APIC and iretq for a paravirtual guest.
 *
 *   The shared page (struct hvlab_pv_shared in guest RAM) holds the virtual
 *   interrupt flag as `event_mask`.  The guest's cli/sti are plain stores
 *   there: no exit.  An event that arrives while the mask is set only sets
 *   `event_pending`; the guest, when it unmasks, sees it and asks for
 *   delivery with HVC_EVENTS_PENDING (Xen's evtchn_upcall_mask/pending).
 *
 *   Delivery is what the CPU does through an interrupt gate (SDM Vol. 3A
 *   §6.14), done by the monitor: pick the stack (the interrupted one in
 *   kernel mode, the registered kernel stack in user mode), align it to 16,
 *   push the hardware's frame (and an error code), enter the handler the
 *   guest registered in kernel mode with events masked.  The guest's entry
 *   stubs are the very ones the native IDT uses.
 *
 *   HVC_IRET is the way back (Xen's iret hypercall): the guest cannot iretq
 *   to kernel mode from ring 3, so it asks, with the frame on its stack.
 *
 *   Time: the page also carries a TSC-to-nanoseconds scale, so the guest
 *   reads the time with rdtsc (which does not trap in ring 3) and no exit;
 *   its one-shot timer deadlines (HVC_SET_TIMER) are in that time.
 */
#include "hv-paravirt/pv.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"

/* ---- the shared page and its clock ---------------------------------------------- */

static uint64_t read_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* ns = ((tsc - tsc_base) * mul) >> shift with mul = 10^6 << shift / kHz:
 * the largest shift <= 32 for which mul still fits 32 bits (Linux's
 * clocks_calc_mult_shift makes the same trade of precision for range). */
void events_init(struct pv_vcpu *v)
{
    struct hvlab_pv_shared *s = v->shared;
    uint32_t shift = 32;
    uint64_t mul = (1000000ull << shift) / v->tsc_khz;
    while (mul > UINT32_MAX) {
        shift--;
        mul = (1000000ull << shift) / v->tsc_khz;
    }
    s->event_mask = 1;
    s->event_pending = 0;
    s->tsc_base = read_tsc();
    s->ns_base = 0;
    s->tsc_mul = (uint32_t)mul;
    s->tsc_shift = shift;
    s->tsc_khz = v->tsc_khz;
}

uint64_t guest_now_ns(const struct pv_vcpu *v)
{
    const struct hvlab_pv_shared *s = v->shared;
    unsigned __int128 d = (unsigned __int128)(read_tsc() - s->tsc_base) * s->tsc_mul;
    return s->ns_base + (uint64_t)(d >> s->tsc_shift);
}

/* A deadline in guest time becomes one in host time: both clocks run from
 * the same TSC, so only the offset between them matters. */
void timer_set(struct pv_vcpu *v, uint64_t deadline_ns)
{
    if (!deadline_ns) {
        v->timer_host_ns = 0;
        return;
    }
    uint64_t now = guest_now_ns(v), host = host_now_ns();
    uint64_t wait = deadline_ns > now ? deadline_ns - now : 0;
    v->timer_host_ns = wait > UINT64_MAX - host ? UINT64_MAX : host + wait; /* never wraps */
}

void timer_poll(struct pv_vcpu *v)
{
    if (v->timer_host_ns && host_now_ns() >= v->timer_host_ns) {
        v->timer_host_ns = 0;
        v->shared->event_pending = 1;
    }
}

/* A device's interrupt becomes an event (Xen's event channel bound to a
 * backend): its source bit in the shared page, and the pending flag that
 * makes the next unmask, or the next return to the guest, deliver it. */
void event_raise_device(struct pv_vcpu *v, unsigned vector)
{
    unsigned slot = vector - HVLAB_VIRTIO_IRQ_VECTOR(0);
    if (slot >= HVLAB_VIRTIO_MMIO_SLOTS)
        return;
    __atomic_fetch_or(&v->shared->event_sources, 1ull << slot, __ATOMIC_SEQ_CST);
    v->shared->event_pending = 1;
}

/* ---- privilege ------------------------------------------------------------------ */

/* The other privilege level is the other host process (page_tables.c); the
 * registers follow the vCPU into whichever process runs next. */
void set_cpl(struct pv_vcpu *v, unsigned cpl)
{
    if (cpl != v->cpl)
        stats_inc(&v->m->stats, v->slot.mode_switch);
    v->cpl = cpl;
}

static uint64_t guest_rflags(const struct pv_vcpu *v)
{
    return (v->regs.rflags & PV_RFLAGS_HOST_OWNED) | RFLAGS_FIXED |
           (v->shared->event_mask ? 0 : RFLAGS_IF);
}

/* ---- delivery -------------------------------------------------------------------- */

/* Enters `handler` in kernel mode as an interrupt gate would: the frame (and
 * an error code) on the kernel stack, events masked unless keep_events.
 * `what` names the event for the message if the frame cannot be pushed
 * (a double fault on hardware; here the guest ends). */
static void deliver(struct pv_vcpu *v, uint64_t handler, bool keep_events, bool has_error,
                    uint64_t error, const char *what)
{
    bool from_user = v->cpl == 3;
    uint64_t rsp = from_user ? v->kernel_stack : v->regs.rsp;
    if (from_user && !rsp) {
        hv_stop(v->m, HV_STATUS_TRIPLE_FAULT, "%s in user mode at 0x%llx, but the guest "
                "registered no kernel stack (HVC_SET_KERNEL_STACK)", what,
                (unsigned long long)v->regs.rip);
        return;
    }
    uint64_t frame[6], n = 0;
    if (has_error)
        frame[n++] = error;
    frame[n++] = v->regs.rip;
    frame[n++] = from_user ? HVLAB_PV_USER_CS : HVLAB_PV_KERNEL_CS;
    frame[n++] = guest_rflags(v);
    frame[n++] = v->regs.rsp;
    frame[n++] = from_user ? HVLAB_PV_USER_SS : HVLAB_PV_KERNEL_SS;
    rsp = (rsp & ~15ull) - n * 8;
    set_cpl(v, 0);
    if (gva_write(v, rsp, frame, n * 8)) {
        hv_stop(v->m, HV_STATUS_TRIPLE_FAULT, "cannot push the frame of %s on the guest kernel "
                "stack at 0x%llx (a double fault on hardware)", what,
                (unsigned long long)rsp);
        return;
    }
    v->regs.rsp = rsp;
    v->regs.rip = handler;
    v->regs.rflags &= ~PV_RFLAGS_TF; /* the CPU clears TF on delivery (§6.12.1.2) */
    if (!keep_events)
        v->shared->event_mask = 1;
}

void deliver_pending_event(struct pv_vcpu *v)
{
    struct hvlab_pv_shared *s = v->shared;
    if (!s->event_pending || s->event_mask || !v->event_entry || v->m->stopped)
        return;
    s->event_pending = 0;
    v->events++;
    stats_inc(&v->m->stats, s->event_sources ? v->slot.device_event : v->slot.event);
    deliver(v, v->event_entry, false, false, 0, "an event");
}

/* Vectors whose exceptions push an error code (SDM Vol. 3A table 6-1). */
static bool has_error_code(unsigned vector)
{
    return vector == X86_DF || (vector >= 10 && vector <= 14) || vector == 17 ||
           vector == 21 || vector == 29 || vector == 30;
}

void deliver_exception(struct pv_vcpu *v, unsigned vector, bool has_error, uint64_t error)
{
    char what[48];
    snprintf(what, sizeof(what), "exception %u", vector);
    if (vector >= 32 || !v->trap_set[vector]) {
        hv_stop(v->m, HV_STATUS_TRIPLE_FAULT, "exception %u (error 0x%llx) at 0x%llx in %s "
                "mode, and the trap table has no handler for it (a triple fault on hardware)",
                vector, (unsigned long long)error, (unsigned long long)v->regs.rip,
                v->cpl == 3 ? "user" : "kernel");
        return;
    }
    const struct hvlab_trap_entry *t = &v->traps[vector];
    deliver(v, t->handler, t->flags & HVLAB_TRAP_KEEP_EVENTS, has_error && has_error_code(vector),
            error, what);
}

/* A `syscall` in user mode is the guest's own system call: into the kernel
 * it registered, RCX/R11 as the instruction left them (SDM Vol. 2B
 * "SYSCALL"), on its kernel stack with the frame HVC_IRET will pop. */
void deliver_user_syscall(struct pv_vcpu *v)
{
    stats_inc(&v->m->stats, v->slot.user_syscall);
    if (!v->syscall_entry) { /* no entry: what EFER.SCE = 0 would do, */
        v->regs.rip -= 2;      /* a #UD at the 2-byte `syscall` itself */
        deliver_exception(v, X86_UD, false, 0);
        return;
    }
    deliver(v, v->syscall_entry, false, false, 0, "a system call");
}

/* ---- the way back ------------------------------------------------------------------ */

int64_t pv_iret(struct pv_vcpu *v)
{
    struct hvlab_iret_frame f;
    if (gva_read(v, v->regs.rsp, &f, sizeof(f)))
        return -HV_EFAULT;
    bool to_kernel = f.cs == HVLAB_PV_KERNEL_CS && f.ss == HVLAB_PV_KERNEL_SS;
    bool to_user = f.cs == HVLAB_PV_USER_CS && f.ss == HVLAB_PV_USER_SS;
    if ((!to_kernel && !to_user) || f.rip >= HVLAB_HOLE_BASE)
        return -HV_EINVAL;
    v->regs.rax = f.rax, v->regs.r11 = f.r11, v->regs.rcx = f.rcx;
    v->regs.rip = f.rip;
    v->regs.rsp = f.rsp;
    v->regs.rflags = (v->regs.rflags & ~PV_RFLAGS_HOST_OWNED) |
                     (f.rflags & PV_RFLAGS_HOST_OWNED);
    v->shared->event_mask = (f.rflags & RFLAGS_IF) ? 0 : 1;
    set_cpl(v, to_user ? 3 : 0);
    return 0;
}

/* HVC_BLOCK: unmask, and sleep until the timer (the only event source)
 * fires; the loop delivers the event before the guest runs again. */
int64_t pv_block(struct pv_vcpu *v)
{
    v->shared->event_mask = 0;
    if (v->shared->event_pending)
        return 0;
    if (!v->timer_host_ns) {
        hv_stop(v->m, HV_STATUS_GUEST_CRASH, "the guest blocked (HVC_BLOCK at 0x%llx) with no "
                "timer armed: nothing can wake it", (unsigned long long)v->regs.rip);
        return 0;
    }
    uint64_t until = v->timer_host_ns;
    if (v->timeout_ns && v->timeout_ns < until)
        until = v->timeout_ns;
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ull),
                          .tv_nsec = (long)(until % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    timer_poll(v);
    return 0;
}
