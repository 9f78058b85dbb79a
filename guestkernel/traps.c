/*
 * traps.c - where every interrupt and exception ends up (from isr.S).
 *
 * The order of the questions matters:
 *   1. timer and spurious interrupts;
 *   2. anything from ring 3 belongs to the current user task (user.c): the
 *      UD2 system-call gate, or a fault that kills the task;
 *   3. a kernel page fault in a demand-paged region is resolved and the
 *      access retried (paging.c);
 *   4. a kernel fault at an instruction of the exception table resumes at its
 *      fixup (probe.S);
 *   5. anything else in ring 0 is a kernel bug: one panic line, then exit.
 */
#include "kernel.h"
#include "mm.h"
#include "task.h"
#include "timer.h"
#include "traps.h"
#include "pv.h"
#include "virtio.h"

struct extable_entry {
    uint64_t insn;
    uint64_t fixup;
};
extern const struct extable_entry __extable_start[], __extable_end[];

/* probe.S */
extern uint64_t probe_call_target;
extern char probe_call_return[], probe_call_fixup[];

struct fault_info last_fault;

static const char *const mnemonics[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
    "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
    "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

const char *exception_mnemonic(uint64_t vector)
{
    if (vector < 32)
        return mnemonics[vector];
    if (vector == TIMER_VECTOR)
        return "timer";
    return "irq";
}

void probe_arm(void)
{
    memset(&last_fault, 0, sizeof(last_fault));
    last_fault.vector = ~0ull;          /* "nothing recorded" */
}

static void record_fault(const struct trap_frame *f, uint64_t cr2)
{
    last_fault.vector = f->vector;
    last_fault.error = f->error;
    last_fault.cr2 = cr2;
    last_fault.rip = f->rip;
}

static bool extable_fixup(struct trap_frame *f, uint64_t cr2)
{
    for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
        if (e->insn == f->rip) {
            record_fault(f, cr2);
            f->rip = e->fixup;
            return true;
        }
    }
    /* A fetch fault at the target of probe_call: act as the callee's RET. */
    if (probe_call_target && f->rip == probe_call_target &&
        *(uint64_t *)f->rsp == (uint64_t)probe_call_return) {
        record_fault(f, cr2);
        f->rsp += 8;
        f->rip = (uint64_t)probe_call_fixup;
        return true;
    }
    return false;
}

static NORETURN void panic_exception(const struct trap_frame *f, uint64_t cr2)
{
    panic("exception %s (vector %lu) error=0x%lx rip=0x%lx cr2=0x%lx cs=0x%lx rsp=0x%lx",
          exception_mnemonic(f->vector), f->vector, f->error, f->rip, cr2, f->cs, f->rsp);
}

void trap_dispatch(struct trap_frame *f)
{
    /* CR2 first: nothing may fault (and overwrite it) before we read it. */
    uint64_t cr2 = f->vector == X86_PF ? platform->read_cr2() : 0;

    if (f->vector == TIMER_VECTOR) {
        /* On paravirt every event arrives here, the devices' too. */
        if (platform_is_paravirt())
            pv_event_upcall();
        else
            timer_interrupt();
        return;
    }
    if (f->vector >= HVLAB_VIRTIO_IRQ_VECTOR(0) &&
        f->vector < HVLAB_VIRTIO_IRQ_VECTOR(HVLAB_VIRTIO_MMIO_SLOTS)) {
        virtio_interrupt((unsigned)(f->vector - HVLAB_VIRTIO_IRQ_VECTOR(0)));
        platform->irq_eoi();
        return;
    }
    if (f->vector == SPURIOUS_VECTOR)
        return;                 /* no EOI for a spurious interrupt (SDM Vol. 3A 11.9) */
    if (trap_from_user(f)) {
        user_trap(f, cr2);
        return;
    }
    if (f->vector == X86_PF && paging_demand_fault(cr2, f->error))
        return;
    if (extable_fixup(f, cr2))
        return;
    panic_exception(f, cr2);
}
