/*
 * timer.c - timer interrupts, independent of the hardware behind them.
 *
 * The platform programs one-shot interrupts (platform->timer_oneshot); this
 * file counts them, re-arms a short series, and waits for them.  Two ways to
 * wait, both bounded:
 *   spinning  interrupts enabled, poll the tick count and a TSC deadline.  On
 *             a software KVM backend pending interrupts are delivered only
 *             every ~1 ms while ring 0 is busy, so the bound must be long.
 *   halting   `sti; hlt` until the tick arrives - the right way to idle.  HLT
 *             only ends with an interrupt, so we halt only while a timer is
 *             armed; selftest halts only after a spinning wait has shown that
 *             an armed timer does interrupt.
 */
#include "kernel.h"
#include "timer.h"

#define SPIN_LIMIT 20000000u

volatile uint64_t timer_ticks;
static volatile bool timer_armed;
static volatile unsigned repeats_left;
static uint64_t period_ns;
static int setup_result = 1;            /* 1: not tried yet */

int timer_setup(void)
{
    if (setup_result == 1)
        setup_result = platform->timer_init();
    return setup_result;
}

void timer_arm(uint64_t ns, unsigned repeats)
{
    period_ns = ns;
    repeats_left = repeats;
    timer_armed = true;
    platform->timer_oneshot(ns);
}

void timer_disarm(void)
{
    repeats_left = 0;
    timer_armed = false;
    platform->timer_cancel();
}

void timer_interrupt(void)
{
    timer_ticks++;
    timer_armed = false;
    if (repeats_left) {
        repeats_left--;
        timer_armed = true;
        platform->timer_oneshot(period_ns);
    }
    platform->irq_eoi();
}

bool timer_wait_spinning(uint64_t ticks, uint64_t timeout_ns)
{
    uint64_t deadline = rdtsc() + ns_to_tsc(timeout_ns);

    platform->irq_enable();
    for (uint32_t i = 0; i < SPIN_LIMIT && timer_ticks < ticks; i++) {
        if (rdtsc() > deadline)
            break;
        cpu_relax();
    }
    platform->irq_disable();
    return timer_ticks >= ticks;
}

bool timer_wait_halting(uint64_t ticks, uint64_t timeout_ns)
{
    uint64_t deadline = rdtsc() + ns_to_tsc(timeout_ns);

    for (;;) {
        platform->irq_disable();
        if (timer_ticks >= ticks)
            return true;
        if (!timer_armed || rdtsc() > deadline)
            return false;
        platform->safe_halt();          /* returns after the interrupt, IF=1 */
    }
}
