/*
 * virtio.h - the guest's virtio driver core: the virtio-mmio transport
 * (virtio.c: find a device in the boot info, negotiate features, set up a
 * queue, kick it) and the driver side of a split virtqueue (vring.c).
 * The numbers are abi/virtio.h's, shared with the device models.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/virtio.h"

#define VRING_MAX 256u           /* ring entries this driver uses at most  */

struct virtio_dev {
    uint64_t base;               /* guest-physical register window        */
    unsigned slot;               /* virtio-mmio slot (the PV doorbell)    */
    unsigned irq;                /* interrupt vector, 0: none             */
    uint32_t device_id;
    uint64_t features;           /* negotiated                            */
};

/* One buffer of a request: guest-physical, identity-mapped in the kernel. */
struct vbuf {
    uint64_t addr;
    uint32_t len;
};

struct vring {
    uint16_t size;
    bool event_idx;
    struct virtq_desc *desc;
    volatile uint16_t *avail;    /* flags, idx, ring[size], used_event    */
    volatile uint16_t *used_hdr; /* flags, idx                            */
    volatile struct virtq_used_elem *used;
    volatile uint16_t *avail_event;
    uint16_t avail_idx;          /* the driver's copy of avail->idx       */
    uint16_t last_used;          /* next used entry to read               */
    uint16_t kicked_idx;         /* avail_idx at the last kick            */
    uint16_t free_head, num_free;
    uint16_t chain_len[VRING_MAX]; /* descriptors per in-flight head      */
    uint64_t kicks, kicks_saved; /* notifications sent / suppressed       */
};

/* ---- virtio.c: the transport ---------------------------------------------- */

/* The first device of `device_id` in the boot info's table; 0, or -1 with
 * *why (no such device, or its registers do not say virtio-mmio v2). */
int virtio_find(uint32_t device_id, struct virtio_dev *d, const char **why);
/* Reset, ACKNOWLEDGE, DRIVER, features = offered & wanted (VERSION_1 is
 * required), FEATURES_OK checked.  0, or -1 with *why. */
int virtio_negotiate(struct virtio_dev *d, uint64_t wanted, const char **why);
/* Queue q with up to `size` entries (capped by QueueNumMax and VRING_MAX)
 * in VRING_PAGES fresh pages.  0, or -1 with *why. */
int virtio_queue_setup(struct virtio_dev *d, unsigned q, uint16_t size, struct vring *vr,
                       const char **why);
void virtio_driver_ok(struct virtio_dev *d);
uint32_t virtio_config_read32(const struct virtio_dev *d, unsigned offset);
uint32_t virtio_status(const struct virtio_dev *d);
/* InterruptStatus, acknowledged (the interrupt handler's read-and-ack). */
uint32_t virtio_ack_interrupt(const struct virtio_dev *d);
/* Kicks queue q if the device asked for it (EVENT_IDX: avail_event passed;
 * else unless NO_NOTIFY).  -1 when the hypervisor refused the kick. */
int virtio_kick(const struct virtio_dev *d, unsigned q, struct vring *vr);
void virtio_reset(const struct virtio_dev *d);
/* Interrupts: the handler of slot `slot` (NULL: none), called with
 * interrupts off from the vector's ISR (or the paravirtual event upcall),
 * before the EOI. */
void virtio_set_irq_handler(unsigned slot, void (*fn)(void *arg), void *arg);
void virtio_interrupt(unsigned slot);

/* ---- vring.c: the split ring, driver side --------------------------------- */

/* Lays the ring out in the two pages at `pages` (guest-physical = kernel
 * va): VRING_PAGES of them. */
#define VRING_PAGES 2u
void vring_init(struct vring *vr, uint64_t pages, uint16_t size, bool event_idx);
/* Adds a chain: n_out device-readable buffers, then n_in device-writable
 * ones.  The head, or -1 when there are not enough free descriptors. */
int vring_add(struct vring *vr, const struct vbuf *bufs, unsigned n_out, unsigned n_in);
/* Publishes what vring_add added (a release fence, then avail->idx). */
void vring_publish(struct vring *vr);
/* Whether the device asked to be kicked for what was published since the
 * last kick (§2.7.10); records the kick. */
bool vring_should_kick(struct vring *vr);
/* The next completed chain: 1 with *head and *len, its descriptors freed;
 * 0 when none is pending. */
int vring_pop_used(struct vring *vr, uint16_t *head, uint32_t *len);
/* Asks for an interrupt after the next completion (EVENT_IDX: used_event
 * = last_used; else clears NO_INTERRUPT), or for none (suppress). */
void vring_want_interrupt(struct vring *vr, bool want);

/* ---- blk.c: the virtio-blk driver's commands ------------------------------ */
int cmd_blkcrc(int argc, char **argv);
int cmd_blkcopy(int argc, char **argv);

#endif
