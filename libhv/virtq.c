/*
 * Split virtqueues, device side (see virtq.h; virtio 1.2 §2.7).
 *
 * The driver owns the descriptor table and the available ring, the device
 * owns the used ring; both sides only ever move their own free-running
 * 16-bit index forward (§2.7.6, §2.7.8).  The device keeps its private
 * copies of the two indexes (last_avail, used_idx) in struct virtq and never
 * reads them back from guest RAM, so a driver that scribbles on the used
 * ring cannot make the device lose track.
 *
 * Ordering (§2.7.13, §2.7.10):
 *   driver writes ring[] then avail->idx  ->  device reads avail->idx, then
 *       an acquire fence, then ring[] and the descriptors (virtq_pop);
 *   device writes used->ring[] then used->idx, with a release fence between
 *       them (virtq_push);
 *   before deciding whether to interrupt (used_event / avail->flags) or
 *       after publishing when to be notified (avail_event / used->flags),
 *       a full fence: the store must be visible before the other side's
 *       field is read, or both sides can go to sleep waiting for each other.
 *
 * Guest-controlled input: every ring field and descriptor is copied out once
 * with the bounds-checked guest_mem accessors and only the copy is checked
 * and used.  Addresses inside the rings are computed with field_gpa(), which
 * refuses to wrap around 2^64, so even a transport that skipped
 * virtq_check_layout cannot make these functions touch the wrong bytes.
 * A chain walk visits each descriptor at most once (a bitmap of the ones it
 * has seen) and at most VIRTQ_MAX_SEGS + 1 of them, so no guest data can
 * make it loop.
 */
#include "libhv/virtq.h"

#include <stdarg.h>
#include <stdio.h>

/* Offsets inside the rings (§2.7.5, §2.7.6, §2.7.8). */
#define DESC_SIZE        16u
#define AVAIL_IDX        2u
#define AVAIL_RING       4u
#define USED_FLAGS       0u
#define USED_IDX         2u
#define USED_RING        4u
#define USED_ELEM_SIZE   8u

/* The layouts are abi/virtio.h's (little-endian, like the host). */
_Static_assert(sizeof(struct virtq_desc) == DESC_SIZE, "descriptor layout");
_Static_assert(sizeof(struct virtq_used_elem) == USED_ELEM_SIZE, "used element layout");

/* base + off, or UINT64_MAX (never RAM: RAM is far smaller) when the sum
 * wraps; the accessors then refuse it instead of reading low memory. */
static uint64_t field_gpa(uint64_t base, uint64_t off)
{
    return base + off < base ? UINT64_MAX : base + off;
}

static bool size_valid(uint16_t size)
{
    return size != 0 && size <= VIRTQ_MAX_SIZE && (size & (size - 1)) == 0;
}

/* Sizes of the three areas (§2.7): the trailing event field of each ring
 * only has to exist when EVENT_IDX was negotiated. */
static uint64_t desc_bytes(uint16_t size)
{
    return (uint64_t)DESC_SIZE * size;
}

static uint64_t avail_bytes(uint16_t size, bool event_idx)
{
    return AVAIL_RING + 2ull * size + (event_idx ? 2 : 0);
}

static uint64_t used_bytes(uint16_t size, bool event_idx)
{
    return USED_RING + (uint64_t)USED_ELEM_SIZE * size + (event_idx ? 2 : 0);
}

/* used_event sits right after avail->ring[], avail_event after used->ring[]
 * (§2.7.6, §2.7.8). */
static uint64_t used_event_gpa(const struct virtq *vq)
{
    return field_gpa(vq->avail_gpa, AVAIL_RING + 2ull * vq->size);
}

static uint64_t avail_event_gpa(const struct virtq *vq)
{
    return field_gpa(vq->used_gpa, USED_RING + (uint64_t)USED_ELEM_SIZE * vq->size);
}

/* Records a malformed queue: the reason, and broken so that the device
 * leaves the queue alone until the driver resets it (§2.1.2). */
__attribute__((format(printf, 4, 5)))
static int queue_broken(struct virtq *vq, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    vq->broken = true;
    return -1;
}

void virtq_reset(struct virtq *vq)
{
    vq->last_avail = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_valid = false;
    vq->broken = false;
}

/* ---- layout -------------------------------------------------------------- */

static int check_area(const struct guest_mem *gm, const char *name, uint64_t gpa,
                      uint64_t bytes, uint64_t align, char *why, size_t whylen)
{
    if (gpa % align) {
        snprintf(why, whylen, "%s at 0x%llx is not %llu-byte aligned", name,
                 (unsigned long long)gpa, (unsigned long long)align);
        return -1;
    }
    if (!gm_range_ok(gm, gpa, bytes)) {
        snprintf(why, whylen, "%s at 0x%llx (%llu bytes) is not in guest RAM", name,
                 (unsigned long long)gpa, (unsigned long long)bytes);
        return -1;
    }
    return 0;
}

int virtq_check_layout(const struct guest_mem *gm, const struct virtq *vq, char *why,
                       size_t whylen)
{
    uint16_t size = vq->size;
    if (size == 0 || size > VIRTQ_MAX_SIZE) {
        snprintf(why, whylen, "queue size %u is outside 1..%u", size, VIRTQ_MAX_SIZE);
        return -1;
    }
    if (!size_valid(size)) {
        snprintf(why, whylen, "queue size %u is not a power of two", size);
        return -1;
    }
    if (check_area(gm, "descriptor table", vq->desc_gpa, desc_bytes(size), 16, why, whylen) ||
        check_area(gm, "available ring", vq->avail_gpa, avail_bytes(size, vq->event_idx), 2,
                   why, whylen) ||
        check_area(gm, "used ring", vq->used_gpa, used_bytes(size, vq->event_idx), 4, why,
                   whylen))
        return -1;
    return 0;
}

/* ---- taking a chain (§2.7.13.2 in reverse) -------------------------------- */

/* A buffer must be RAM byte for byte.  The wrap is reported on its own
 * because "not in RAM" would hide that the length was chosen to overflow. */
static int check_buffer(struct virtq *vq, uint16_t i, const struct virtq_desc *d,
                        const struct guest_mem *gm, char *why, size_t whylen)
{
    if (d->len && d->addr + d->len - 1 < d->addr)
        return queue_broken(vq, why, whylen,
                            "descriptor %u: buffer at 0x%llx (%u bytes) wraps around the "
                            "end of the address space",
                            i, (unsigned long long)d->addr, d->len);
    if (!gm_range_ok(gm, d->addr, d->len))
        return queue_broken(vq, why, whylen,
                            "descriptor %u: buffer at 0x%llx (%u bytes) is not in guest RAM",
                            i, (unsigned long long)d->addr, d->len);
    return 0;
}

/* Appends descriptor i (a checked copy) to req.  Readable buffers must all
 * come before writable ones (§2.7.4.2): devices hand the first n_out
 * segments to the request parser and the rest to the reply, and a mixed
 * order would let a driver make the device write into a "request" buffer. */
static int add_segment(struct virtq *vq, struct virtq_req *req, uint16_t i,
                       const struct virtq_desc *d, char *why, size_t whylen)
{
    bool device_writes = d->flags & VIRTQ_DESC_F_WRITE;
    if (!device_writes && req->n > req->n_out)
        return queue_broken(vq, why, whylen,
                            "descriptor %u is device-readable but follows a device-writable "
                            "one in the chain from head %u",
                            i, req->head);
    struct virtq_seg *s = &req->seg[req->n++];
    s->gpa = d->addr;
    s->len = d->len;
    s->device_writes = device_writes;
    if (device_writes) {
        req->in_bytes += d->len;
    } else {
        req->n_out++;
        req->out_bytes += d->len;
    }
    return 0;
}

/* Walks the chain from head (already < size) into req.  A zero-length
 * descriptor is legal (§2.7.5 sets no minimum) and becomes a zero-length
 * segment, so that segment i is always descriptor i of the chain. */
static int read_chain(const struct guest_mem *gm, struct virtq *vq, uint16_t head,
                      struct virtq_req *req, char *why, size_t whylen)
{
    req->head = head;
    req->n = 0;
    req->n_out = 0;
    req->out_bytes = 0;
    req->in_bytes = 0;

    uint16_t i = head;
    /* One bit per descriptor of the table: a chain that comes back to a
     * descriptor it has visited loops, whatever the chain length limit. */
    uint64_t visited[VIRTQ_MAX_SIZE / 64] = {0};
    for (unsigned count = 1;; count++) {
        if (visited[i / 64] >> (i % 64) & 1)
            return queue_broken(vq, why, whylen,
                                "descriptor chain from head %u loops: it comes back to "
                                "descriptor %u",
                                head, i);
        visited[i / 64] |= 1ull << (i % 64);
        if (count > VIRTQ_MAX_SEGS)
            return queue_broken(vq, why, whylen,
                                "descriptor chain from head %u has more than %u descriptors",
                                head, VIRTQ_MAX_SEGS);

        struct virtq_desc d;
        uint64_t gpa = field_gpa(vq->desc_gpa, (uint64_t)DESC_SIZE * i);
        if (gm_read(gm, gpa, &d, sizeof(d)))
            return queue_broken(vq, why, whylen, "descriptor %u at 0x%llx is not in guest RAM",
                                i, (unsigned long long)gpa);
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return queue_broken(vq, why, whylen,
                                "descriptor %u has INDIRECT set, which was not offered", i);
        if (check_buffer(vq, i, &d, gm, why, whylen) ||
            add_segment(vq, req, i, &d, why, whylen))
            return -1;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (d.next >= vq->size)
            return queue_broken(vq, why, whylen,
                                "descriptor %u links to descriptor %u, outside the queue size %u",
                                i, d.next, vq->size);
        i = d.next;
    }
}

/* A broken queue answers -1 (with the reason repeated generically) until
 * virtq_reset, as the header promises.  A queue that is not ready answers 0:
 * the driver has not enabled it, so there is nothing to take, and that is
 * not the driver's fault (a notification for a disabled queue is ignored). */
int virtq_pop(const struct guest_mem *gm, struct virtq *vq, struct virtq_req *req, char *why,
              size_t whylen)
{
    if (vq->broken) {
        snprintf(why, whylen, "queue is broken and waits for a reset");
        return -1;
    }
    if (!vq->ready)
        return 0;
    /* The transport checks the layout when the queue is enabled; checking
     * the size again keeps the modulo below defined whatever it did. */
    if (!size_valid(vq->size))
        return queue_broken(vq, why, whylen, "queue size %u is not a power of two in 1..%u",
                            vq->size, VIRTQ_MAX_SIZE);

    uint16_t avail_idx;
    uint64_t idx_gpa = field_gpa(vq->avail_gpa, AVAIL_IDX);
    if (gm_read_u16(gm, idx_gpa, &avail_idx))
        return queue_broken(vq, why, whylen, "available index at 0x%llx is not in guest RAM",
                            (unsigned long long)idx_gpa);
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
    if (pending > vq->size)
        return queue_broken(vq, why, whylen,
                            "available index jumped from %u to %u, more than the queue size %u",
                            vq->last_avail, avail_idx, vq->size);
    if (pending == 0)
        return 0;
    /* The driver wrote ring[] and the descriptors before avail->idx
     * (§2.7.13.3.1); do not let our reads of them move before the read of
     * the index. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);

    uint16_t slot = vq->last_avail & (uint16_t)(vq->size - 1);
    uint64_t slot_gpa = field_gpa(vq->avail_gpa, AVAIL_RING + 2ull * slot);
    uint16_t head;
    if (gm_read_u16(gm, slot_gpa, &head))
        return queue_broken(vq, why, whylen,
                            "available ring entry %u at 0x%llx is not in guest RAM", slot,
                            (unsigned long long)slot_gpa);
    if (head >= vq->size)
        return queue_broken(vq, why, whylen,
                            "available ring entry %u names head %u, outside the queue size %u",
                            slot, head, vq->size);
    if (read_chain(gm, vq, head, req, why, whylen))
        return -1;
    vq->last_avail++;
    return 1;
}

/* ---- returning a chain (§2.7.8) ------------------------------------------ */

/* A push to a broken queue is refused without a write: the queue is no longer
 * ours to use.  A push after the queue was disabled (a reset while the request
 * was in flight) is refused too, and does not mark it broken: the driver did
 * nothing wrong, the completion simply has nowhere to go. */
/* The whole used ring (with avail_event when negotiated): every device
 * write to the ring goes through gm_dma_write_ok, which a monitor may
 * narrow. */
static bool used_ring_writable(const struct guest_mem *gm, const struct virtq *vq)
{
    return gm_dma_write_ok(gm, vq->used_gpa, used_bytes(vq->size, vq->event_idx));
}

int virtq_push(struct guest_mem *gm, struct virtq *vq, uint16_t head, uint32_t written,
               char *why, size_t whylen)
{
    if (vq->broken) {
        snprintf(why, whylen, "queue is broken and waits for a reset");
        return -1;
    }
    if (!vq->ready) {
        snprintf(why, whylen, "queue is not enabled: completion of head %u dropped", head);
        return -1;
    }
    if (!size_valid(vq->size))
        return queue_broken(vq, why, whylen, "queue size %u is not a power of two in 1..%u",
                            vq->size, VIRTQ_MAX_SIZE);
    /* Only a device bug gets here (heads come from virtq_pop), but the used
     * ring is the driver's view of the world: never put a bad id in it. */
    if (head >= vq->size)
        return queue_broken(vq, why, whylen, "device returned head %u, outside the queue size %u",
                            head, vq->size);

    if (!used_ring_writable(gm, vq))
        return queue_broken(vq, why, whylen, "the used ring at 0x%llx is %s",
                            (unsigned long long)vq->used_gpa,
                            gm_range_ok(gm, vq->used_gpa, used_bytes(vq->size, vq->event_idx))
                                ? "in memory the device may not write (a page the hypervisor "
                                  "protects from the guest)"
                                : "not in guest RAM");
    uint16_t slot = vq->used_idx & (uint16_t)(vq->size - 1);
    uint64_t elem_gpa = field_gpa(vq->used_gpa, USED_RING + (uint64_t)USED_ELEM_SIZE * slot);
    struct virtq_used_elem e = { .id = head, .len = written };
    if (gm_write(gm, elem_gpa, &e, sizeof(e)))
        return queue_broken(vq, why, whylen, "used ring entry %u at 0x%llx is not in guest RAM",
                            slot, (unsigned long long)elem_gpa);
    /* The driver reads used->idx, then the element: it must never see the
     * new index with the old element (§2.7.13 device requirements). */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    uint64_t idx_gpa = field_gpa(vq->used_gpa, USED_IDX);
    if (gm_write_u16(gm, idx_gpa, (uint16_t)(vq->used_idx + 1)))
        return queue_broken(vq, why, whylen, "used index at 0x%llx is not in guest RAM",
                            (unsigned long long)idx_gpa);
    vq->used_idx++;
    return 0;
}

/* ---- event suppression (§2.7.7, §2.7.10) --------------------------------- */

/* Reads the driver's wish once.  A ring that left RAM is a malformed queue;
 * there is no reason string to fill here, so it is marked broken and the
 * next pop or push reports it. */
static bool driver_wants_interrupt(const struct guest_mem *gm, struct virtq *vq)
{
    if (vq->event_idx) {
        uint16_t used_event;
        if (gm_read_u16(gm, used_event_gpa(vq), &used_event)) {
            vq->broken = true;
            return false;
        }
        return !vq->signalled_valid ||
               virtq_need_event(used_event, vq->used_idx, vq->signalled_used);
    }
    uint16_t flags;
    if (gm_read_u16(gm, vq->avail_gpa, &flags)) {
        vq->broken = true;
        return false;
    }
    return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_need_interrupt(const struct guest_mem *gm, struct virtq *vq)
{
    if (vq->broken || !vq->ready || !size_valid(vq->size))
        return false;
    /* Nothing pushed since the driver was last told: nothing to tell. */
    if (vq->signalled_valid && vq->used_idx == vq->signalled_used)
        return false;
    /* Our used->idx store must be visible before we read used_event or
     * flags: otherwise the driver may re-enable interrupts, re-check
     * used->idx, see the old value and sleep while we read its old request
     * to stay quiet — a lost interrupt (§2.7.10). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!driver_wants_interrupt(gm, vq))
        return false;
    vq->signalled_used = vq->used_idx;
    vq->signalled_valid = true;
    return true;
}

/* With EVENT_IDX there is no "stop" value: the driver notifies when avail->idx
 * passes avail_event.  To suppress, we leave avail_event where it was — at or
 * behind last_avail, so already passed, so the driver stays quiet until the
 * index wraps all the way around (the same trick as other virtio devices);
 * to re-enable we move it to last_avail, the next entry we will take. */
void virtq_set_notify(struct guest_mem *gm, struct virtq *vq, bool suppress)
{
    if (vq->broken || !vq->ready || !size_valid(vq->size))
        return;
    int rc = 0;
    if (!used_ring_writable(gm, vq))
        rc = -1;
    else if (vq->event_idx && !suppress)
        rc = gm_write_u16(gm, avail_event_gpa(vq), vq->last_avail);
    else if (!vq->event_idx)
        rc = gm_write_u16(gm, field_gpa(vq->used_gpa, USED_FLAGS),
                          suppress ? VIRTQ_USED_F_NO_NOTIFY : 0);
    if (rc)
        vq->broken = true;
    /* The device re-checks avail->idx after this: the store must be visible
     * first, or a driver adding a buffer meanwhile may read the old value,
     * skip the notification, and the buffer waits forever (§2.7.10). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
