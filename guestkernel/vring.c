/*
 * vring.c - the driver side of a split virtqueue (virtio 1.2 §2.7).
 *
 * Two pages hold the whole ring for up to 256 entries: the descriptor
 * table fills the first (16 bytes each), the available ring starts the
 * second (flags, idx, ring[size], used_event: at most 518 bytes), the used
 * ring follows at 1 KiB into it (flags, idx, {id, len}[size], avail_event:
 * at most 2054 bytes).  The kernel maps RAM at va == pa, so a pointer into
 * the pages is also the guest-physical address the device is given.
 *
 * Ordering (§2.7.13): the driver fills descriptors and the ring entry, then
 * a release fence, then bumps avail->idx; it reads used->idx, then an
 * acquire fence, then the used element.  Before deciding whether to kick,
 * a full fence: the device must see the new avail->idx before the driver
 * reads the device's avail_event (or NO_NOTIFY), or a kick can be lost.
 */
#include "kernel.h"
#include "virtio.h"

#define AVAIL_OFF 4096u
#define USED_OFF  5120u
_Static_assert(VRING_MAX * 16 <= AVAIL_OFF && AVAIL_OFF + 6 + 2 * VRING_MAX <= USED_OFF &&
               USED_OFF + 6 + 8 * VRING_MAX <= VRING_PAGES * 4096, "the ring fits its pages");

void vring_init(struct vring *vr, uint64_t pages, uint16_t size, bool event_idx)
{
    memset(vr, 0, sizeof(*vr));
    vr->size = size;
    vr->event_idx = event_idx;
    vr->desc = (struct virtq_desc *)pages;
    vr->avail = (volatile uint16_t *)(pages + AVAIL_OFF);
    vr->used_hdr = (volatile uint16_t *)(pages + USED_OFF);
    vr->used = (volatile struct virtq_used_elem *)(pages + USED_OFF + 4);
    vr->avail_event = (volatile uint16_t *)(pages + USED_OFF + 4 + 8u * size);
    /* The free descriptors form a list through `next`. */
    for (uint16_t i = 0; i < size; i++)
        vr->desc[i].next = (uint16_t)(i + 1);
    vr->free_head = 0;
    vr->num_free = size;
}

int vring_add(struct vring *vr, const struct vbuf *bufs, unsigned n_out, unsigned n_in)
{
    unsigned n = n_out + n_in;
    if (n == 0 || n > vr->num_free)
        return -1;
    uint16_t head = vr->free_head, i = head, last = head;
    for (unsigned k = 0; k < n; k++) {
        struct virtq_desc *d = &vr->desc[i];
        d->addr = bufs[k].addr;
        d->len = bufs[k].len;
        d->flags = (uint16_t)((k + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
                              (k >= n_out ? VIRTQ_DESC_F_WRITE : 0));
        last = i;
        i = d->next;
    }
    vr->free_head = vr->desc[last].next;
    vr->num_free = (uint16_t)(vr->num_free - n);
    vr->chain_len[head] = (uint16_t)n;
    vr->avail[2 + vr->avail_idx % vr->size] = head;
    vr->avail_idx++;
    return head;
}

void vring_publish(struct vring *vr)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vr->avail[1] = vr->avail_idx;
}

bool vring_should_kick(struct vring *vr)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t old = vr->kicked_idx, now = vr->avail_idx;
    bool kick;
    if (vr->event_idx) {
        uint16_t event = *vr->avail_event;
        kick = (uint16_t)(now - event - 1) < (uint16_t)(now - old);
    } else {
        kick = !(vr->used_hdr[0] & VIRTQ_USED_F_NO_NOTIFY);
    }
    vr->kicked_idx = now;
    if (kick)
        vr->kicks++;
    else
        vr->kicks_saved++;
    return kick;
}

int vring_pop_used(struct vring *vr, uint16_t *head, uint32_t *len)
{
    if (vr->last_used == vr->used_hdr[1])
        return 0;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    volatile struct virtq_used_elem *e = &vr->used[vr->last_used % vr->size];
    uint32_t id = e->id;
    *len = e->len;
    vr->last_used++;
    if (id >= vr->size || !vr->chain_len[id])
        panic("virtio: the device returned descriptor %u, which is not in flight", id);
    /* Back on the free list, whole chain. */
    uint16_t i = (uint16_t)id, n = vr->chain_len[id];
    for (uint16_t k = 1; k < n; k++)
        i = vr->desc[i].next;
    vr->desc[i].next = vr->free_head;
    vr->free_head = (uint16_t)id;
    vr->num_free = (uint16_t)(vr->num_free + n);
    vr->chain_len[id] = 0;
    *head = (uint16_t)id;
    return 1;
}

void vring_want_interrupt(struct vring *vr, bool want)
{
    if (vr->event_idx) {
        /* used_event: interrupt me when used->idx passes this (§2.7.10);
         * far behind (last_used - 1 - 0x8000) means "not soon". */
        vr->avail[2 + vr->size] = want ? vr->last_used : (uint16_t)(vr->last_used - 0x8000);
    } else {
        vr->avail[0] = want ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
