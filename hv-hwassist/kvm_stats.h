#ifndef HV_HWASSIST_KVM_STATS_H
#define HV_HWASSIST_KVM_STATS_H

#include <stdio.h>

#include "hv-hwassist/kvm.h"
#include "libhv/stats.h"

/* Prints KVM's own per-vCPU exit counters (KVM_GET_STATS_FD): the exits KVM
 * handled in the kernel as well as those it passed to us.  Says so in one
 * line when this KVM has no binary statistics. */
void kvm_stats_print(FILE *f, const struct kvm_vm *vm, const char *prog);

/* Attaches the same counters to the benchmark brackets of st (a bracket then
 * records how many exits of each kind KVM counted inside it); a KVM without
 * binary statistics leaves st as it is, with one line on stderr. */
void kvm_stats_attach(struct hv_stats *st, const struct kvm_vm *vm, const char *prog);
void kvm_stats_close(struct hv_stats *st);

#endif
