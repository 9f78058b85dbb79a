/*
 * Which KVM module is behind /dev/kvm.  The answer changes what the numbers
 * mean: kvm_intel and kvm_amd run the guest under VT-x/AMD-V with EPT/NPT;
 * kvm_pvm (this project's CI machines) has no hardware virtualization and
 * emulates ring-0 guest code instruction by instruction.
 */
#ifndef LIBHV_KVM_BACKEND_H
#define LIBHV_KVM_BACKEND_H

#include <stdint.h>

#include "abi/hvlab_abi.h"

enum hvlab_kvm_backend kvm_backend_detect(void);
const char *kvm_backend_name(enum hvlab_kvm_backend b);
/* One sentence for reports and --stats: what this backend's numbers show. */
const char *kvm_backend_meaning(enum hvlab_kvm_backend b);
/* The HVLAB_QUIRK_* bits a guest needs on this backend (MACHINE-NOTES.md). */
uint64_t kvm_backend_quirks(enum hvlab_kvm_backend b);

#endif
