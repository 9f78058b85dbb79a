/*
 * hv-hwassist's view of Linux KVM: one VM, one vCPU, guest RAM as one
 * memory slot, the local APIC emulated in the kernel.
 */
#ifndef HV_HWASSIST_KVM_H
#define HV_HWASSIST_KVM_H

#include <linux/kvm.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "libhv/machine.h"

struct kvm_vm {
    int kvm_fd, vm_fd, vcpu_fd;
    struct kvm_run *run;         /* the vCPU's shared exit page           */
    size_t run_size;
    uint32_t tsc_khz;            /* 0 if KVM_GET_TSC_KHZ is unsupported   */
};

/* Opens /dev/kvm and checks the API version and capabilities hv-hwassist
 * needs.  On failure prints one specific line and returns the exit status
 * (HV_STATUS_SKIP when KVM is simply not there). */
int kvm_open(struct kvm_vm *vm, const char *prog);

/* VM with RAM, in-kernel irqchip and one vCPU with KVM's supported CPUID. */
int kvm_create_machine(struct kvm_vm *vm, struct hv_machine *m);

/* MSI address 0xFEE0_0000 | (destination APIC ID << 12): physical mode,
 * APIC 0; the data is the vector, delivery mode fixed (000), edge (SDM
 * Vol. 3A 11.11.1, 11.11.2). */
#define KVM_MSI_ADDRESS_APIC0 0xfee00000u

/* A device's interrupt: an MSI to local APIC 0 with the vector, fixed
 * delivery, edge (SDM Vol. 3A 11.11, "Message Signalled Interrupts"),
 * through KVM_SIGNAL_MSI; the in-kernel APIC queues it like any other.
 * 0, or -1 (errno set). */
int kvm_signal_vector(struct kvm_vm *vm, unsigned vector);

void kvm_close(struct kvm_vm *vm);

#endif
