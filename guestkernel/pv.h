/*
 * pv.h - the paravirtual platform (pv.c, pv_entry.S): what the rest of the
 * kernel may ask of it beyond the platform ops.
 */
#ifndef GUEST_PV_H
#define GUEST_PV_H

/* HVC_IRET for pv_entry.S: the assembler cannot see the C enum of
 * abi/hvlab_hypercall.h (pv.c checks that the two agree). */
#define PV_HVC_IRET 7

#ifndef __ASSEMBLY__
#include <stdint.h>
#include "abi/hvlab_hypercall.h"

/* After platform_select chose pv_platform_ops: stop with a clear panic
 * line unless the hypervisor speaks HVLAB_HYPERCALL_VERSION. */
void pv_check_version(void);

/* HVC_VERSION: HVLAB_HYPERCALL_VERSION (the null hypercall of the benchmarks). */
int64_t pv_version(void);
/* The event callback's dispatch: device sources, then the timer. */
void pv_event_upcall(void);

/* HVC_GET_STATS: the hypervisor's exit counters; 0 or a negated HV_E*. */
int64_t pv_get_stats(struct hvlab_pv_stats *stats);
const char *pv_hypercall_name(unsigned nr);

/* pv_entry.S: where the hypervisor delivers a ring-3 `syscall`. */
void pv_syscall_entry(void);
#endif

#endif
