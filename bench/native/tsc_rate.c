/*
 * The host's TSC frequency, for hvlab-native's console lines and for
 * hvlab-bench (which tells guests under QEMU, where the guest cannot
 * calibrate against a PIT, with the kernel option tsc_khz=).
 */
#include "bench/native/tsc_rate.h"

#include "bench/native/native.h"

#include <stdio.h>
#include <time.h>

/* ---- the TSC's frequency ------------------------------------------------- */

/* Some kernels export the frequency they calibrated (or read from CPUID
 * leaf 15h / the hypervisor's leaf 4000_0010h): use it when it is there. */
static uint64_t tsc_khz_sysfs(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/tsc_freq_khz", "r");
    unsigned long long khz = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%llu", &khz) != 1)
        khz = 0;
    fclose(f);
    return khz;
}

static uint64_t ns_of(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

/*
 * One reading of CLOCK_MONOTONIC_RAW paired with the TSC: the clock read is
 * bracketed by two TSC reads and matched with their midpoint.  Of several
 * tries the tightest bracket wins: a try that an interrupt, a preemption or
 * (on a VM) a hypervisor exit stretched would be off by that much.
 */
static void clock_and_tsc(uint64_t *ns, double *tsc)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 16; i++) {
        struct timespec t;
        uint64_t a = tsc_start();
        clock_gettime(CLOCK_MONOTONIC_RAW, &t);
        uint64_t b = tsc_stop();
        if (b - a < best) {
            best = b - a;
            *ns = ns_of(&t);
            *tsc = (double)a + (double)(b - a) / 2;
        }
    }
}

/*
 * Counts TSC ticks over ~50 ms of CLOCK_MONOTONIC_RAW (the clocksource's
 * time without NTP slewing).  With tight brackets at both ends the error is
 * well under 1 kHz.  When the kernel's clocksource is the TSC itself (or
 * kvm-clock, which is the host's TSC scaled) this returns the frequency the
 * kernel's own clocks run on.
 */
static uint64_t tsc_khz_measured(void)
{
    uint64_t ns0, ns1;
    double tsc0, tsc1;
    struct timespec t;
    clock_and_tsc(&ns0, &tsc0);
    do {
        clock_gettime(CLOCK_MONOTONIC_RAW, &t);
    } while (ns_of(&t) - ns0 < 50000000u);
    clock_and_tsc(&ns1, &tsc1);
    return (uint64_t)((tsc1 - tsc0) * 1e6 / (double)(ns1 - ns0) + 0.5);
}

uint64_t host_tsc_khz(const char **source)
{
    uint64_t khz = tsc_khz_sysfs();
    *source = "sysfs";
    if (!khz) {
        *source = "monotonic_raw";
        khz = tsc_khz_measured();
    }
    return khz;
}
