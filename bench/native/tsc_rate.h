/*
 * The host's TSC frequency (tsc_rate.c): hvlab-native's console lines, and
 * hvlab-bench's tsc_khz= for a guest under QEMU's microvm.
 */
#ifndef BENCH_NATIVE_TSC_RATE_H
#define BENCH_NATIVE_TSC_RATE_H

#include <stdint.h>

/* In kHz, from the kernel (sysfs) or measured against CLOCK_MONOTONIC_RAW;
 * *source names which; 0 if neither worked. */
uint64_t host_tsc_khz(const char **source);

#endif
