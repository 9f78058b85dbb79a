/*
 * Host time and the kick timer of the ring-3 monitors (r3_timer.h).
 *
 * A guest that spins in ring 3 never exits on its own, so a virtual timer
 * needs a host timer: a POSIX timer on CLOCK_MONOTONIC whose SIGALRM
 * handler calls r3_kick() (async-signal-safe) on the child that is running.
 * SA_RESTART lets the monitor's waitpid() resume after the handler; the
 * kick itself makes it return.  MACHINE-NOTES.md: ~40 us from expiry to the
 * monitor seeing the exit here.
 */
#include "libhv/r3_timer.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "libhv/machine.h"

static struct r3_child *volatile kick_target;
static timer_t host_timer;
static uint64_t armed_ns;

uint64_t host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Constant/invariant TSC assumed, as on every x86 CPU of the last 15 years
 * (CPUID.80000007H:EDX[8]). */
uint64_t host_tsc_khz(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/tsc_freq_khz", "r");
    unsigned long long khz = 0;
    if (f) {
        if (fscanf(f, "%llu", &khz) != 1)
            khz = 0;
        fclose(f);
        if (khz)
            return khz;
    }
    uint64_t t0 = host_now_ns(), c0 = __rdtsc(), t1, c1;
    do {
        t1 = host_now_ns();
        c1 = __rdtsc();
    } while (t1 - t0 < 20000000ull);
    return (c1 - c0) * 1000000ull / (t1 - t0);
}

static void on_host_timer(int sig)
{
    (void)sig;
    struct r3_child *c = kick_target;
    if (c)
        r3_kick(c);
}

int r3_timer_init(void)
{
    struct sigaction sa = {.sa_handler = on_host_timer, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
    if (sigaction(SIGALRM, &sa, NULL) || timer_create(CLOCK_MONOTONIC, &sev, &host_timer))
        return -1;
    armed_ns = 0;
    return 0;
}

void r3_timer_arm(uint64_t when_ns)
{
    if (when_ns == armed_ns)
        return;
    struct itimerspec its = {0};
    if (when_ns) {
        its.it_value.tv_sec = (time_t)(when_ns / 1000000000ull);
        its.it_value.tv_nsec = (long)(when_ns % 1000000000ull);
    }
    timer_settime(host_timer, TIMER_ABSTIME, &its, NULL);
    armed_ns = when_ns;
}

void r3_timer_target(struct r3_child *c)
{
    kick_target = c;
}

int r3_run_until(struct hv_machine *m, struct r3_child *c, struct r3_regs *regs,
                 uint64_t wake_ns, struct r3_exit *ex)
{
    r3_timer_arm(wake_ns);
    r3_timer_target(c);
    int rc = r3_run(c, regs, ex);
    r3_timer_target(NULL);
    if (rc && ex->kind != R3_EXIT_DEAD) {
        hv_stop(m, HV_STATUS_MONITOR, "cannot resume the guest at 0x%llx: %s (register state "
                "refused by the host?)", (unsigned long long)regs->rip, strerror(-rc));
        return -1;
    }
    return 0;
}
