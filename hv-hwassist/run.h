#ifndef HV_HWASSIST_RUN_H
#define HV_HWASSIST_RUN_H

#include "hv-hwassist/kvm.h"

/* Runs the vCPU until the guest ends (m->stopped); returns m->status. */
int kvm_run_loop(struct kvm_vm *vm, struct hv_machine *m);

/* Arms --timeout: after `seconds` the vCPU is kicked out of KVM_RUN and the
 * guest ends with HV_STATUS_TIMEOUT, even if KVM_RUN never returns. */
int watchdog_start(struct kvm_vm *vm, struct hv_machine *m, double seconds);
int watchdog_fired(void);

#endif
