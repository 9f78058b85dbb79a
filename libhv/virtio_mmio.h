/*
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2 "Virtio Over MMIO"):
 * one 4 KiB register window per device at HVLAB_VIRTIO_MMIO_BASE + slot x
 * 0x1000, announced in the boot info's device table (abi/hvlab_abi.h).
 *
 * The transport owns what every virtio device has — the status state
 * machine (§2.1), feature negotiation (§2.2, §3.1.1), the virtqueue
 * registers (§4.2.3.2), the interrupt status and its acknowledgement, the
 * configuration generation — and hands each request of a queue to the
 * device model (struct virtio_device_ops) when the driver notifies it.
 * The notification arrives by the technique's own path and ends up in
 * virtio_mmio_notify(): a trapped MMIO write to QueueNotify
 * (hv-trap-emulate), a KVM_EXIT_MMIO (hv-hwassist), HVC_QUEUE_NOTIFY or a
 * device-write hypercall (hv-paravirt).  Completions are signalled through
 * the machine's raise_irq hook, which each monitor implements its own way.
 *
 * A driver error (a malformed queue, a status transition the spec forbids)
 * sets DEVICE_NEEDS_RESET and sends a configuration-change interrupt
 * (§2.1.2, §4.2.3.1.1), with one line on stderr saying why; the device then
 * ignores its queues until the driver resets it by writing 0 to Status.  A
 * register access that is not 32 bits wide and aligned (§4.2.2.2) ends the
 * guest (HV_STATUS_GUEST_RULE).
 */
#ifndef LIBHV_VIRTIO_MMIO_H
#define LIBHV_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "abi/virtio.h"
#include "libhv/virtq.h"

struct hv_machine;

#define VIRTIO_MMIO_MAX_QUEUES 4u

struct virtio_mmio;

/* What a device model provides.  handle() serves one request of queue q:
 * it returns 0 with the bytes it wrote into the device-writable buffers in
 * *written, or -1 with a reason when the request is malformed (a driver
 * error: the transport sets DEVICE_NEEDS_RESET). */
struct virtio_device_ops {
    const char *name;            /* "virtio-blk": messages, statistics    */
    uint32_t device_id;          /* §5: 2 = block device                  */
    unsigned num_queues;         /* <= VIRTIO_MMIO_MAX_QUEUES             */
    uint64_t features;           /* offered, VERSION_1 included           */
    uint32_t config_size;        /* bytes of device configuration space   */
    void (*config_read)(void *dev, uint32_t offset, unsigned size, uint64_t *value);
    int (*handle)(struct virtio_mmio *vm, void *dev, unsigned q, const struct virtq_req *req,
                  uint32_t *written, char *why, size_t whylen);
    void (*reset)(void *dev);    /* may be NULL                            */
};

struct virtio_mmio_queue_regs {  /* what the driver wrote, before QueueReady */
    uint32_t num;
    uint64_t desc, driver, device;
};

struct virtio_mmio {
    /* The vCPU thread (register accesses) and, with hv-hwassist
     * --ioeventfd, an I/O thread (notifications) both drive the device:
     * every entry point takes this lock. */
    pthread_mutex_t lock;
    struct hv_machine *m;
    const struct virtio_device_ops *ops;
    void *dev;
    unsigned slot;
    uint64_t base;
    unsigned irq_vector;         /* 0: no interrupt line                   */
    /* Registers. */
    uint32_t status;
    uint32_t device_features_sel, driver_features_sel, queue_sel;
    uint64_t driver_features;    /* as written                             */
    uint64_t features;           /* negotiated (valid once FEATURES_OK)    */
    uint32_t interrupt_status;
    uint32_t config_generation;
    struct virtio_mmio_queue_regs qreg[VIRTIO_MMIO_MAX_QUEUES];
    struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];
    /* Counters (also in --stats as events). */
    uint64_t notifications, requests, interrupts;
    unsigned ev_notify, ev_request, ev_interrupt, ev_reset;
};

/* Registers a device in virtio-mmio slot `slot` (its region on the bus,
 * named after the device) with interrupt vector `irq_vector`.  Returns 0, or
 * -1 when the slot is taken or out of range (a monitor bug). */
int virtio_mmio_attach(struct hv_machine *m, struct virtio_mmio *vm, unsigned slot,
                       unsigned irq_vector, const struct virtio_device_ops *ops, void *dev);

/* The driver notified queue q (QueueNotify, the paravirtual hypercall, or
 * an ioeventfd read by hv-hwassist's I/O thread): serve every request it
 * made available, return them, and raise the interrupt if the driver wants
 * one.  Returns 0, or -1 when q is not a queue of this device (the
 * hypercall then returns an error; through the register it is a driver
 * error).  Takes the device's lock. */
int virtio_mmio_notify(struct virtio_mmio *vm, unsigned q);

/* A driver error: DEVICE_NEEDS_RESET, a configuration-change interrupt,
 * one line on stderr. */
void virtio_mmio_needs_reset(struct virtio_mmio *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether any virtio-mmio slot holds a device. */
bool virtio_mmio_any(const struct hv_machine *m);

/* The devices announced in the boot info (type HVLAB_DEV_VIRTIO_MMIO). */
unsigned virtio_mmio_boot_devices(const struct hv_machine *m, struct hvlab_device *out,
                                  unsigned max);

#endif
