#ifndef HV_HWASSIST_ENTRY_STATE_H
#define HV_HWASSIST_ENTRY_STATE_H

#include <stdint.h>

#include "hv-hwassist/kvm.h"

/* The hvlab 64-bit entry state (abi/hvlab_abi.h): long mode with
 * monitor-built identity page tables, a GDT and a TSS in the scratch area. */
int entry_long_mode(struct kvm_vm *vm, struct hv_machine *m, uint64_t rip, uint64_t rdi,
                    uint64_t rsi);

/* The Multiboot v1 machine state (spec 0.6.96 §3.2): 32-bit protected mode,
 * flat segments, paging off, EAX = magic, EBX = information structure. */
int entry_protected_mode(struct kvm_vm *vm, struct hv_machine *m, uint32_t eip, uint32_t eax,
                         uint32_t ebx);

#endif
