/*
 * Host time for the ring-3 monitors (hv-trap-emulate, hv-paravirt): the
 * clock their virtual timers run on, the host TSC rate their guests see
 * (rdtsc does not trap in ring 3, so the guest's TSC is the host's), and a
 * one-shot host timer that kicks the guest's child process out of guest
 * code at a deadline (a virtual timer interrupt, or --timeout).
 */
#ifndef LIBHV_R3_TIMER_H
#define LIBHV_R3_TIMER_H

#include <stdint.h>

#include "libhv/r3_engine.h"

/* CLOCK_MONOTONIC in ns. */
uint64_t host_now_ns(void);

/* The host's TSC rate in kHz: /sys/.../tsc_freq_khz where the kernel has
 * it, else measured against CLOCK_MONOTONIC over 20 ms. */
uint64_t host_tsc_khz(void);

/* Installs the SIGALRM handler and creates the timer.  0, or -1. */
int r3_timer_init(void);

/* Arms the timer for CLOCK_MONOTONIC time when_ns (0 disarms); a no-op if
 * it is already armed for that time.  When it fires, the child named by
 * r3_timer_target() (if any) is kicked: its r3_run returns
 * R3_EXIT_INTERRUPT (or the next one does). */
void r3_timer_arm(uint64_t when_ns);

/* The child to kick: set it around r3_run(), NULL otherwise. */
void r3_timer_target(struct r3_child *c);

struct hv_machine;

/* One stretch of guest code in child c: the timer armed for wake_ns (0:
 * none), then r3_run().  0 with *ex (R3_EXIT_DEAD included), or -1 after
 * ending the guest (status 125) because the host refused the registers. */
int r3_run_until(struct hv_machine *m, struct r3_child *c, struct r3_regs *regs,
                 uint64_t wake_ns, struct r3_exit *ex);

#endif
