/*
 * The local APIC (Intel SDM Vol. 3A ch. 11), in both of its modes: x2APIC,
 * where registers are MSRs 0x800 + (xAPIC offset >> 4) (§11.12.1) reached
 * through rdmsr/wrmsr, which trap in ring 3; and xAPIC, the same registers
 * on a 4 KiB MMIO page (see vapic_register_mmio: the mode the guest picks
 * on a host whose CPUID hides the x2APIC).  Only what a uniprocessor guest
 * kernel uses: the
 * timer (one-shot, periodic, TSC-deadline; §11.5.4), the task priority, the
 * in-service/request registers and EOI, the spurious-vector register and
 * the local vector table entries (stored, LINT/error never fire).
 *
 * Timer clock: the bus clock of a real APIC is not architectural (the guest
 * measures it against the TSC); this one counts at 1 GHz before the divide
 * configuration, on the host's CLOCK_MONOTONIC.  The monitor arms a host
 * timer for the deadline (exits.c); when it fires the child is kicked out
 * of guest code and the interrupt is delivered on the next entry.
 */
#include "hv-trap-emulate/vcpu.h"

#include <x86intrin.h>

#include "libhv/bus.h"

#include "abi/x86_arch.h"

#define X2APIC_ID       0x802
#define X2APIC_VERSION  0x803
#define X2APIC_TPR      0x808
#define X2APIC_PPR      0x80a
#define X2APIC_EOI      0x80b
#define X2APIC_LDR      0x80d
#define X2APIC_SVR      0x80f
#define X2APIC_ISR0     0x810
#define X2APIC_TMR0     0x818
#define X2APIC_IRR0     0x820
#define X2APIC_ESR      0x828
#define X2APIC_LVT_TIMER 0x832
#define X2APIC_LVT_LINT0 0x835
#define X2APIC_LVT_LINT1 0x836
#define X2APIC_LVT_ERROR 0x837
#define X2APIC_TIMER_INIT 0x838
#define X2APIC_TIMER_CUR 0x839
#define X2APIC_TIMER_DIV 0x83e

#define LVT_MASKED       (1u << 16)
#define LVT_MODE(l)      (((l) >> 17) & 3)
#define LVT_ONESHOT      0
#define LVT_PERIODIC     1
#define LVT_TSC_DEADLINE 2
#define XAPIC_DEFAULT_BASE 0xfee00000ull
#define APIC_VERSION     0x00050014u /* version 0x14, 6 LVT entries (max LVT 5) */

void vapic_reset(struct vapic *a)
{
    *a = (struct vapic){
        .base_msr = XAPIC_DEFAULT_BASE | (1ull << 8) | (1ull << 11), /* BSP, enabled (xAPIC) */
        .svr = 0xff,
        .lvt_timer = LVT_MASKED, .lvt_lint0 = LVT_MASKED, .lvt_lint1 = LVT_MASKED,
        .lvt_error = LVT_MASKED,
    };
}

/* §11.5.4 Figure 11-10: bits 0, 1 and 3 encode 2^(n+1), 111b is 1. */
static uint64_t divisor(const struct vapic *a)
{
    unsigned n = (a->timer_divide & 3) | ((a->timer_divide >> 1) & 4);
    return n == 7 ? 1 : 2ull << n;
}

static void arm_count(struct vapic *a, uint64_t now)
{
    a->timer_start_ns = now;
    a->deadline_ns = a->timer_init ? now + (uint64_t)a->timer_init * divisor(a) : 0;
}

static void arm_tsc_deadline(struct vcpu *v, uint64_t now)
{
    struct vapic *a = &v->apic;
    if (!a->tsc_deadline || LVT_MODE(a->lvt_timer) != LVT_TSC_DEADLINE) {
        a->deadline_ns = 0;
        return;
    }
    /* The guest's TSC is the host's (rdtsc does not trap). */
    uint64_t tsc = __rdtsc();
    uint64_t delta = a->tsc_deadline > tsc ? a->tsc_deadline - tsc : 0;
    a->deadline_ns = now + delta * 1000000ull / (v->tsc_khz ? v->tsc_khz : 1) + 1;
}

static void set_bit256(uint32_t *bits, int vec) { bits[vec >> 5] |= 1u << (vec & 31); }
static void clear_bit256(uint32_t *bits, int vec) { bits[vec >> 5] &= ~(1u << (vec & 31)); }

static int highest_bit256(const uint32_t *bits)
{
    for (int i = 7; i >= 0; i--)
        if (bits[i])
            return i * 32 + 31 - __builtin_clz(bits[i]);
    return -1;
}

void vapic_tick(struct vcpu *v)
{
    struct vapic *a = &v->apic;
    if (!a->deadline_ns)
        return;
    uint64_t now = host_now_ns();
    if (now < a->deadline_ns)
        return;
    if (!(a->lvt_timer & LVT_MASKED) && (a->lvt_timer & 0xff) >= 16)
        set_bit256(a->irr, a->lvt_timer & 0xff);
    if (LVT_MODE(a->lvt_timer) == LVT_PERIODIC && a->timer_init)
        arm_count(a, now);
    else
        a->deadline_ns = 0, a->tsc_deadline = 0;
}

/* A device's interrupt (virtio-mmio): the vector goes into IRR, as a
 * message from the I/O APIC or an MSI would put it there (SDM Vol. 3A
 * 11.5.1, 11.8.4); deliver_events takes it like the timer's. */
void vapic_raise(struct vcpu *v, int vector)
{
    if (vector >= 16 && vector < 256)
        set_bit256(v->apic.irr, vector);
}

uint64_t vapic_next_deadline_ns(const struct vcpu *v)
{
    return v->apic.deadline_ns;
}

/* §11.8.3.1: the processor priority is the higher of TPR and the class of
 * the highest in-service vector; a request is delivered only if its class
 * is above it. */
int vapic_pending_vector(const struct vcpu *v)
{
    const struct vapic *a = &v->apic;
    int irr = highest_bit256(a->irr);
    if (irr < 0 || !(a->base_msr & (1ull << 11)))
        return -1;
    int isr = highest_bit256(a->isr);
    unsigned ppr = a->tpr >> 4;
    if (isr >= 0 && (unsigned)(isr >> 4) > ppr)
        ppr = (unsigned)isr >> 4;
    return ((unsigned)irr >> 4) > ppr ? irr : -1;
}

void vapic_accept(struct vcpu *v, int vector)
{
    clear_bit256(v->apic.irr, vector);
    set_bit256(v->apic.isr, vector);
}

void vapic_set_tpr(struct vcpu *v, uint32_t tpr)
{
    v->apic.tpr = tpr & 0xff;
}

static bool x2apic_enabled(const struct vapic *a)
{
    return (a->base_msr & (3ull << 10)) == (3ull << 10);
}

/* A register by its x2APIC MSR number (the xAPIC offset is (msr - 0x800)
 * << 4); -1 for write-only or reserved registers. */
static int reg_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
    struct vapic *a = &v->apic;
    if (msr >= X2APIC_ISR0 && msr < X2APIC_ISR0 + 8) {
        *value = a->isr[msr - X2APIC_ISR0];
        return 0;
    }
    if (msr >= X2APIC_TMR0 && msr < X2APIC_TMR0 + 8) {
        *value = 0;
        return 0;
    }
    if (msr >= X2APIC_IRR0 && msr < X2APIC_IRR0 + 8) {
        vapic_tick(v);
        *value = a->irr[msr - X2APIC_IRR0];
        return 0;
    }
    switch (msr) {
    case X2APIC_ID: *value = 0; return 0;
    case X2APIC_VERSION: *value = APIC_VERSION; return 0;
    case X2APIC_TPR: *value = a->tpr; return 0;
    case X2APIC_PPR: { /* §11.8.3.1: max(TPR, class of the highest ISR) */
        int isr = highest_bit256(a->isr);
        uint32_t isrv = isr >= 0 ? (uint32_t)isr & 0xf0 : 0;
        *value = (a->tpr & 0xf0) >= isrv ? a->tpr : isrv;
        return 0;
    }
    case X2APIC_LDR: *value = 1; return 0; /* cluster 0, bit 0 (§11.12.10.2) */
    case X2APIC_SVR: *value = a->svr; return 0;
    case X2APIC_ESR: *value = a->esr; return 0;
    case X2APIC_LVT_TIMER: *value = a->lvt_timer; return 0;
    case X2APIC_LVT_LINT0: *value = a->lvt_lint0; return 0;
    case X2APIC_LVT_LINT1: *value = a->lvt_lint1; return 0;
    case X2APIC_LVT_ERROR: *value = a->lvt_error; return 0;
    case X2APIC_TIMER_INIT: *value = a->timer_init; return 0;
    case X2APIC_TIMER_DIV: *value = a->timer_divide; return 0;
    case X2APIC_TIMER_CUR: {
        uint64_t now = host_now_ns();
        bool counting = a->deadline_ns && LVT_MODE(a->lvt_timer) != LVT_TSC_DEADLINE &&
                        now < a->deadline_ns;
        *value = counting ? (a->deadline_ns - now) / divisor(a) : 0;
        return 0;
    }
    }
    return -1;
}

static int reg_write(struct vcpu *v, uint32_t msr, uint32_t val)
{
    struct vapic *a = &v->apic;
    switch (msr) {
    case X2APIC_TPR: vapic_set_tpr(v, val); return 0;
    case X2APIC_EOI: {
        /* §11.8.5: EOI retires the highest-priority in-service vector;
         * x2APIC requires a write of 0 (§11.12.9). */
        if (val)
            return -1;
        int isr = highest_bit256(a->isr);
        if (isr >= 0)
            clear_bit256(a->isr, isr);
        return 0;
    }
    case X2APIC_SVR: a->svr = val & 0x1ff; return 0;
    case X2APIC_ESR: a->esr = 0; return 0;
    case X2APIC_LVT_TIMER: {
        bool was_deadline = LVT_MODE(a->lvt_timer) == LVT_TSC_DEADLINE;
        a->lvt_timer = val & (0xff | LVT_MASKED | (3u << 17));
        if (was_deadline != (LVT_MODE(a->lvt_timer) == LVT_TSC_DEADLINE))
            a->deadline_ns = 0, a->timer_init = 0, a->tsc_deadline = 0; /* §11.5.4.1 */
        return 0;
    }
    case X2APIC_LVT_LINT0: a->lvt_lint0 = val; return 0;
    case X2APIC_LVT_LINT1: a->lvt_lint1 = val; return 0;
    case X2APIC_LVT_ERROR: a->lvt_error = val; return 0;
    case X2APIC_TIMER_INIT:
        if (LVT_MODE(a->lvt_timer) == LVT_TSC_DEADLINE)
            return 0; /* ignored in TSC-deadline mode */
        a->timer_init = val;
        arm_count(a, host_now_ns());
        return 0;
    case X2APIC_TIMER_DIV: a->timer_divide = val & 0xb; return 0;
    }
    return -1;
}

/* x2APIC mode: rdmsr/wrmsr of 0x800..0x8ff; #GP when the APIC is not in
 * x2APIC mode (§11.12.1.2) or the upper half of a write is not 0. */
int vapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
    return x2apic_enabled(&v->apic) ? reg_read(v, msr, value) : -1;
}

int vapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
    if (!x2apic_enabled(&v->apic) || (value >> 32))
        return -1;
    return reg_write(v, msr, (uint32_t)value);
}

/* xAPIC mode (§11.4.1): the same registers as 32-bit words at 16-byte
 * offsets of a 4 KiB MMIO page.  This is the path the guest takes here:
 * it asks CPUID whether an x2APIC exists, CPUID does not trap, and this
 * host's CPUID says no.  The guest's mov to the page faults (no RAM behind
 * it), emulate_mmio() decodes it and the bus brings it here.  Accesses
 * that are not aligned dwords, or to reserved registers, are ignored
 * (reads as 0), as the hardware does not define them. */
static void xapic_read(struct hv_machine *m, void *dev, uint64_t off, unsigned size,
                       uint64_t *value)
{
    (void)m;
    struct vcpu *v = dev;
    *value = 0;
    if (size == 4 && !(off & 15) && !x2apic_enabled(&v->apic) &&
        reg_read(v, MSR_X2APIC_BASE + (uint32_t)(off >> 4), value))
        *value = 0;
}

static void xapic_write(struct hv_machine *m, void *dev, uint64_t off, unsigned size,
                        uint64_t value)
{
    (void)m;
    struct vcpu *v = dev;
    if (size == 4 && !(off & 15) && !x2apic_enabled(&v->apic)) {
        uint32_t msr = MSR_X2APIC_BASE + (uint32_t)(off >> 4);
        /* xAPIC's EOI takes any value (x2APIC insists on 0). */
        reg_write(v, msr, msr == X2APIC_EOI ? 0 : (uint32_t)value);
    }
}

int vapic_register_mmio(struct vcpu *v)
{
    static const struct hv_device_ops ops = {.read = xapic_read, .write = xapic_write};
    return bus_register(v->m, HV_SPACE_MMIO, XAPIC_DEFAULT_BASE, 0x1000,
                        "local APIC (xAPIC MMIO)", &ops, v);
}

int vapic_tsc_deadline_write(struct vcpu *v, uint64_t value)
{
    v->apic.tsc_deadline = value;
    arm_tsc_deadline(v, host_now_ns());
    return 0;
}
