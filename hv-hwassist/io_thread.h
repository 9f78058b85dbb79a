/*
 * hv-hwassist --ioeventfd (io_thread.c): virtio kicks by KVM ioeventfd to
 * an I/O thread, completions by irqfd.
 */
#ifndef HV_HWASSIST_IO_THREAD_H
#define HV_HWASSIST_IO_THREAD_H

#include "hv-hwassist/kvm.h"

/* Wires every attached virtio device (an ioeventfd on its QueueNotify, an
 * MSI route and an irqfd for its vector) and starts the I/O thread.  0, or
 * an exit status with one line on stderr (HV_STATUS_SKIP when /dev/kvm
 * lacks ioeventfd, irqfd or IRQ routing). */
int io_thread_start(struct kvm_vm *vm, struct hv_machine *m);

#endif
