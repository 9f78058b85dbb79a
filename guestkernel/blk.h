/*
 * blk.h - the guest's virtio-blk driver (blk.c), for its commands and for
 * the hostile-queue command (blk_hostile.c), which builds malformed
 * requests on the same ring.
 */
#ifndef GUEST_BLK_H
#define GUEST_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

struct blk_slot {
    struct virtio_blk_req_header h;
    uint8_t status;
    uint8_t pad[15];
};

struct blk {
    struct virtio_dev dev;
    struct vring vr;
    uint64_t capacity;                   /* sectors */
    bool readonly;
    bool use_irq;
    volatile uint64_t irqs;              /* interrupts taken */
    uint64_t irqs_at_kick;
    struct blk_slot *slots;              /* [VRING_MAX], by head */
};

/* Finds, negotiates and starts the disk (§3.1.1).  0, or -1 with *why. */
int blk_open(struct blk *b, bool event_idx, bool use_irq, const char **why);
/* Resets the device and drops its interrupt handler. */
void blk_close(struct blk *b);
/* One request, waited for.  Returns the status byte (VIRTIO_BLK_S_*), or
 * -1 with *why when the transport failed. */
int blk_request(struct blk *b, uint32_t type, uint64_t sector, uint64_t buf, uint32_t bytes,
                const char **why);

/* Several in flight: blk_submit adds a request (its head, or -1 when the
 * ring is full; the status byte is b->slots[head].status once it is
 * done), blk_kick publishes and notifies, blk_reap waits and takes up to
 * max completions (their heads; -1 with *why). */
int blk_submit(struct blk *b, uint32_t type, uint64_t sector, uint64_t buf, uint32_t bytes);
int blk_kick(struct blk *b);
int blk_reap(struct blk *b, uint16_t *heads, unsigned max, const char **why);

int cmd_blkhostile(int argc, char **argv);

#endif
