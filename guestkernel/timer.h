/*
 * timer.h - the time stamp counter (tsc.c) and timer interrupts (timer.c).
 */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include <stdbool.h>
#include <stdint.h>

/* tsc.c */
uint64_t tsc_khz(void);                 /* boot info value, else PIT-calibrated */
const char *tsc_source(void);           /* "boot info", "command line", "PIT", "guess" */
void tsc_set_khz(uint64_t khz);          /* the kernel option tsc_khz=N */
uint64_t ns_to_tsc(uint64_t ns);

/* timer.c: one-shot interrupts on TIMER_VECTOR through the platform. */
extern volatile uint64_t timer_ticks;
int timer_setup(void);                  /* 0 ok, -1 no usable timer */
void timer_arm(uint64_t ns, unsigned repeats);  /* fire after ns, then `repeats` more */
void timer_disarm(void);
void timer_interrupt(void);             /* from trap_dispatch */
bool timer_wait_spinning(uint64_t ticks, uint64_t timeout_ns);
bool timer_wait_halting(uint64_t ticks, uint64_t timeout_ns);

#endif
