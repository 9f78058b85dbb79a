/*
 * Split virtqueues, device side (virtio 1.2 §2.7 "Split Virtqueues").
 *
 * A split virtqueue is three areas in guest RAM that the driver allocates
 * and the device only reads or writes through the bounds-checked guest_mem
 * accessors:
 *   descriptor table  size x 16 bytes, 16-aligned: {addr, len, flags, next}
 *   available ring    flags, idx, ring[size], used_event   (2-aligned)
 *   used ring         flags, idx, ring[size] {id, len}, avail_event (4-aligned)
 * The driver adds chain heads to the available ring and bumps avail->idx;
 * the device takes them in order (virtq_pop), does the work, and returns
 * each head with the number of bytes it wrote (virtq_push), bumping
 * used->idx.  Indexes are free-running 16-bit counters (§2.7.6, §2.7.8).
 *
 * Everything in those areas is guest-controlled and can change at any time:
 * every field is read once into a local copy, then validated, then used.
 * A malformed queue (an index jump, a head or next out of range, a chain
 * that comes back to a descriptor it visited, one longer than
 * VIRTQ_MAX_SEGS, an address outside RAM, a readable
 * descriptor after a writable one, INDIRECT when it was not offered, a
 * ring outside RAM) is reported with a one-line reason; the transport then
 * sets DEVICE_NEEDS_RESET (§2.1.2) and the device stops using the queue.
 * Nothing the guest writes can make these functions loop, read or write
 * outside guest RAM, or crash the monitor.
 *
 * VIRTIO_F_EVENT_IDX (§2.7.7, §2.7.10): when negotiated, the driver asks for
 * an interrupt only when used->idx passes used_event, and the device asks
 * for a notification only when avail->idx passes avail_event.
 */
#ifndef LIBHV_VIRTQ_H
#define LIBHV_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/virtio.h"
#include "libhv/guestmem.h"

#define VIRTQ_MAX_SIZE 256u      /* QueueNumMax this device offers        */
#define VIRTQ_MAX_SEGS 64u       /* longest chain a request may have      */

struct virtq {
    /* Set by the transport from the driver's registers (QueueNum,
     * QueueDesc/Driver/Device) when QueueReady is written 1: */
    uint16_t size;               /* a power of 2, 1..VIRTQ_MAX_SIZE        */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool event_idx;              /* VIRTIO_F_EVENT_IDX was negotiated      */
    bool ready;
    /* Device state (virtq_reset zeroes it): */
    uint16_t last_avail;         /* next available-ring entry to take      */
    uint16_t used_idx;           /* the used->idx the device last published */
    uint16_t signalled_used;     /* used_idx when the driver was last told */
    bool signalled_valid;        /* signalled_used means something         */
    bool broken;                 /* a malformed queue was seen: ignore it  */
};

/* One buffer of a chain, already checked to lie in guest RAM. */
struct virtq_seg {
    uint64_t gpa;
    uint32_t len;
    bool device_writes;          /* VIRTQ_DESC_F_WRITE                      */
};

/* One request: a descriptor chain, in order.  Device-readable segments
 * come first (n_out of them), then device-writable ones (§2.7.4.2). */
struct virtq_req {
    uint16_t head;               /* returned to the driver by virtq_push   */
    unsigned n;                  /* segments                               */
    unsigned n_out;              /* the first n_out are device-readable    */
    uint64_t out_bytes, in_bytes; /* total readable / writable bytes       */
    struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

/* Zeroes the device state (a device reset or a queue re-enabled); keeps the
 * layout fields. */
void virtq_reset(struct virtq *vq);

/* Checks a queue the driver enabled: size a power of two <= VIRTQ_MAX_SIZE,
 * the three areas aligned (16, 2, 4) and entirely in RAM (with the event
 * fields when event_idx).  0, or -1 with a reason in why. */
int virtq_check_layout(const struct guest_mem *gm, const struct virtq *vq, char *why,
                       size_t whylen);

/* Takes the next available chain.  Returns 1 with *req filled, 0 when the
 * driver has made nothing new available, -1 when the queue is malformed
 * (why says how; vq->broken is set and every later call returns -1). */
int virtq_pop(const struct guest_mem *gm, struct virtq *vq, struct virtq_req *req, char *why,
              size_t whylen);

/* Returns a chain to the driver: used->ring[used_idx % size] = {head,
 * written}, then (after a release fence, so the driver sees the element
 * before the index) used->idx = ++used_idx.  0, or -1 when the used ring is
 * no longer in RAM (why set, vq->broken set). */
int virtq_push(struct guest_mem *gm, struct virtq *vq, uint16_t head, uint32_t written,
               char *why, size_t whylen);

/* Whether the driver wants an interrupt for what was pushed since the last
 * time this returned true: with EVENT_IDX, vring_need_event(used_event,
 * used_idx, signalled_used) (§2.7.10); without, unless avail->flags has
 * NO_INTERRUPT.  Records used_idx as signalled when it returns true. */
bool virtq_need_interrupt(const struct guest_mem *gm, struct virtq *vq);

/* Tells the driver when to notify next: with EVENT_IDX, avail_event =
 * last_avail (notify when you make entry last_avail available); without,
 * used->flags = suppress ? NO_NOTIFY : 0.  Call it before the device
 * re-checks the ring for new work, so that no notification is lost. */
void virtq_set_notify(struct guest_mem *gm, struct virtq *vq, bool suppress);

/* vring_need_event (§2.7.10): whether moving the index from old to new_idx
 * passed event_idx, all modulo 2^16. */
static inline bool virtq_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

#endif
