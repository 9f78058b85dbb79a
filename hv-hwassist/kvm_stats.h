#ifndef HV_HWASSIST_KVM_STATS_H
#define HV_HWASSIST_KVM_STATS_H

#include <stdio.h>

#include "hv-hwassist/kvm.h"

/* Prints KVM's own per-vCPU exit counters (KVM_GET_STATS_FD): the exits KVM
 * handled in the kernel as well as those it passed to us.  Says so in one
 * line when this KVM has no binary statistics. */
void kvm_stats_print(FILE *f, const struct kvm_vm *vm, const char *prog);

#endif
