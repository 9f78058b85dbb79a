/*
 * blk.c - the virtio-blk driver (virtio 1.2 §5.2) and the commands that
 * use it:
 *   blkcrc [poll] [noevent]   CRC-32 (as zlib computes it) of the whole
 *                             disk: "blkcrc: sectors=N crc32=XXXXXXXX"
 *   blkcopy [poll] [noevent]  copies the first half of the disk onto the
 *                             second half, flushes, "blkcopy: ok (N sectors
 *                             copied)"
 * `noevent` leaves VIRTIO_F_EVENT_IDX out of the negotiation; `poll` waits
 * for completions by polling the used ring instead of for interrupts.
 *
 * A request is three descriptors: the 16-byte header (device-readable),
 * the data (readable for OUT, writable for IN), the status byte
 * (writable).  Headers and status bytes live in one page, indexed by the
 * chain's head, so a completion finds its request without a search.
 *
 * Completion, two ways.  Interrupt-driven (the default): the driver asks
 * for an interrupt (used_event, or no NO_INTERRUPT flag), sleeps in
 * `sti; hlt` (HVC_BLOCK on paravirt), and the handler acknowledges
 * InterruptStatus; the used ring is read after the interrupt.  Polled:
 * interrupts suppressed, the driver reads the used ring until the entry
 * appears.  Under the hvlab monitors a request completes inside the kick's
 * exit, so the interrupt is already pending when the driver halts.
 */
#include "kernel.h"
#include "mm.h"
#include "platform.h"
#include "timer.h"
#include "blk.h"
#include "virtio.h"
#include "x86.h"

#define CHUNK_SECTORS 128u                          /* 64 KiB per request */
#define CHUNK_BYTES   (CHUNK_SECTORS * VIRTIO_BLK_SECTOR)
#define WAIT_MS       10000u
#define BLK_SLOT_PAGES (VRING_MAX * sizeof(struct blk_slot) / PAGE_SIZE)

static void blk_irq(void *arg)
{
    struct blk *b = arg;
    virtio_ack_interrupt(&b->dev);
    b->irqs++;
}

/* ---- the device ---------------------------------------------------------------- */

int blk_open(struct blk *b, bool event_idx, bool use_irq, const char **why)
{
    memset(b, 0, sizeof(*b));            /* blk_close after a failed open frees nothing */
    uint64_t want = 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_RO |
                    1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_SEG_MAX |
                    (event_idx ? 1ull << VIRTIO_F_EVENT_IDX : 0);
    if (virtio_find(VIRTIO_ID_BLOCK, &b->dev, why)) {
        memset(&b->dev, 0, sizeof(b->dev));  /* nothing for blk_close to reset */
        return -1;
    }
    if (virtio_negotiate(&b->dev, want, why) ||
        virtio_queue_setup(&b->dev, 0, VRING_MAX, &b->vr, why))
        return -1;
    b->slots = (struct blk_slot *)pmm_alloc_run(BLK_SLOT_PAGES);
    if (!b->slots) {
        *why = "no free page for the request headers";
        return -1;
    }
    /* struct virtio_blk_config: capacity, a le64 at 0 (§5.2.4). */
    b->capacity = virtio_config_read32(&b->dev, 0) |
                  (uint64_t)virtio_config_read32(&b->dev, 4) << 32;
    b->readonly = b->dev.features >> VIRTIO_BLK_F_RO & 1;
    b->use_irq = use_irq && b->dev.irq;
    /* The interrupt controller (native: the local APIC, enabled by the
     * timer's set-up) must be on before an interrupt can be taken and
     * acknowledged. */
    if (b->use_irq && timer_setup() < 0) {
        *why = "the interrupt controller could not be set up (try: poll)";
        return -1;
    }
    b->irqs = 0;
    vring_want_interrupt(&b->vr, b->use_irq);
    if (b->use_irq)
        virtio_set_irq_handler(b->dev.slot, blk_irq, b);
    virtio_driver_ok(&b->dev);
    return 0;
}

void blk_close(struct blk *b)
{
    if (!b->dev.base)
        return;                          /* blk_open found no device */
    virtio_set_irq_handler(b->dev.slot, NULL, NULL);
    virtio_reset(&b->dev);
    /* After the reset the device no longer touches the ring or the request
     * headers (§2.4): their pages go back to the allocator. */
    for (unsigned i = 0; b->vr.desc && i < VRING_PAGES; i++)
        pmm_free((uint64_t)(uintptr_t)b->vr.desc + i * PAGE_SIZE);
    for (unsigned i = 0; b->slots && i < BLK_SLOT_PAGES; i++)
        pmm_free((uint64_t)(uintptr_t)b->slots + i * PAGE_SIZE);
    b->vr.desc = NULL;
    b->slots = NULL;
}

/* Sleeps until the next interrupt of the device (or any other: the caller
 * looks at the used ring again). */
static void blk_wait_interrupt(struct blk *b)
{
    uint64_t seen = b->irqs;
    platform->irq_disable();
    while (b->irqs == seen) {
        platform->safe_halt();
        platform->irq_disable();
    }
}

/* ---- requests: submit, kick, reap ------------------------------------------------ */

int blk_submit(struct blk *b, uint32_t type, uint64_t sector, uint64_t buf, uint32_t bytes)
{
    struct vbuf bufs[3];
    unsigned n = 0;
    int head = b->vr.free_head;
    if (b->vr.num_free < 3)
        return -1;
    struct blk_slot *s = &b->slots[head];
    s->h = (struct virtio_blk_req_header){.type = type, .sector = sector};
    s->status = 0xff;
    bufs[n++] = (struct vbuf){(uint64_t)(uintptr_t)&s->h, sizeof(s->h)};
    if (bytes)
        bufs[n++] = (struct vbuf){buf, bytes};
    bufs[n++] = (struct vbuf){(uint64_t)(uintptr_t)&s->status, 1};
    unsigned n_out = type == VIRTIO_BLK_T_IN ? 1 : n - 1;
    return vring_add(&b->vr, bufs, n_out, n - n_out);
}

int blk_kick(struct blk *b)
{
    b->irqs_at_kick = b->irqs;
    /* used_event = the first completion the driver has not seen: with
     * EVENT_IDX, completions after it raise no more interrupts until the
     * driver has reaped and asks again (blk_reap). */
    if (b->use_irq)
        vring_want_interrupt(&b->vr, true);
    vring_publish(&b->vr);
    return virtio_kick(&b->dev, 0, &b->vr);
}

/*
 * Waits for completions and takes every one there is (at most max).
 * Interrupt-driven, nothing is looked at before an interrupt came after
 * the last kick, even where the device has already completed the request:
 * the completion is what the interrupt announces.  Polled: the used ring
 * is read for up to 10 s.  Returns how many were taken, or -1 with *why.
 */
int blk_reap(struct blk *b, uint16_t *heads, unsigned max, const char **why)
{
    uint64_t deadline = rdtsc() + (uint64_t)WAIT_MS * tsc_khz();
    if (b->use_irq && b->irqs == b->irqs_at_kick)
        blk_wait_interrupt(b);
    for (;;) {
        unsigned n = 0;
        uint32_t len;
        while (n < max && vring_pop_used(&b->vr, &heads[n], &len))
            n++;
        if (n)
            return (int)n;
        if (virtio_status(&b->dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
            *why = "the device needs a reset (it found the request malformed)";
            return -1;
        }
        if (b->use_irq) {
            vring_want_interrupt(&b->vr, true);
            if (b->vr.last_used == b->vr.used_hdr[1])
                blk_wait_interrupt(b);
            continue;
        }
        if (rdtsc() > deadline) {
            *why = "no completion within 10 s";
            return -1;
        }
        __asm__ volatile("pause");
    }
}

int blk_request(struct blk *b, uint32_t type, uint64_t sector, uint64_t buf, uint32_t bytes,
                const char **why)
{
    int head = blk_submit(b, type, sector, buf, bytes);
    uint16_t done;
    if (head < 0) {
        *why = "no free descriptors";
        return -1;
    }
    if (blk_kick(b) < 0) {
        *why = "the hypervisor refused the notification";
        return -1;
    }
    int n = blk_reap(b, &done, 1, why);
    if (n < 0)
        return -1;
    if (done != head) {
        *why = "the device completed a request that was not asked for";
        return -1;
    }
    return b->slots[head].status;
}

static const char *status_name(int status)
{
    switch (status) {
    case VIRTIO_BLK_S_OK: return "ok";
    case VIRTIO_BLK_S_IOERR: return "I/O error";
    case VIRTIO_BLK_S_UNSUPP: return "unsupported";
    default: return "no status written";
    }
}

/* ---- the commands ----------------------------------------------------------------- */

/* zlib's CRC-32: reflected polynomial 0xEDB88320, initial and final XOR
 * with all ones; one table lookup per byte. */
static uint32_t crc_table[256];

static void crc32_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, uint64_t n)
{
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* The command's options, and the device opened with them. */
static int blk_command_open(const char *cmd, int argc, char **argv, struct blk *b, uint64_t *buf)
{
    bool event_idx = true, use_irq = true;
    const char *why;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "noevent") == 0) {
            event_idx = false;
        } else if (strcmp(argv[i], "poll") == 0) {
            use_irq = false;
        } else {
            kprintf("usage: %s [poll] [noevent]\n", cmd);
            return HVLAB_GUEST_EXIT_USAGE;
        }
    }
    if (blk_open(b, event_idx, use_irq, &why)) {
        kprintf("%s: %s\n", cmd, why);
        return HVLAB_GUEST_EXIT_FAIL;
    }
    *buf = pmm_alloc_run(CHUNK_BYTES / PAGE_SIZE);
    if (!*buf) {
        kprintf("%s: no room for a %u KiB buffer\n", cmd, CHUNK_BYTES / 1024);
        return HVLAB_GUEST_EXIT_FAIL;
    }
    return 0;
}

/* One chunk from the disk, or a line saying why not. */
static bool blk_io(struct blk *b, const char *cmd, uint32_t type, uint64_t sector, uint64_t buf,
                   uint64_t sectors)
{
    const char *why = "";
    int st = blk_request(b, type, sector, buf, (uint32_t)(sectors * VIRTIO_BLK_SECTOR), &why);
    if (st == VIRTIO_BLK_S_OK)
        return true;
    if (type == VIRTIO_BLK_T_FLUSH)
        kprintf("%s: flush failed: ", cmd);
    else
        kprintf("%s: %s of sectors %lu..%lu failed: ", cmd,
                type == VIRTIO_BLK_T_IN ? "read" : "write", sector, sector + sectors - 1);
    kprintf("%s%s\n", st < 0 ? why : status_name(st),
            st == VIRTIO_BLK_S_IOERR && type == VIRTIO_BLK_T_OUT && b->readonly
                ? " (the disk is read-only)" : "");
    return false;
}

int cmd_blkcrc(int argc, char **argv)
{
    struct blk b;
    uint64_t buf;
    int rc = blk_command_open("blkcrc", argc, argv, &b, &buf);
    if (rc)
        return rc;
    crc32_init();
    uint32_t crc = 0;
    for (uint64_t s = 0; s < b.capacity; s += CHUNK_SECTORS) {
        uint64_t n = b.capacity - s < CHUNK_SECTORS ? b.capacity - s : CHUNK_SECTORS;
        if (!blk_io(&b, "blkcrc", VIRTIO_BLK_T_IN, s, buf, n))
            return HVLAB_GUEST_EXIT_FAIL;
        crc = crc32_update(crc, (const uint8_t *)(uintptr_t)buf, n * VIRTIO_BLK_SECTOR);
    }
    kprintf("blkcrc: sectors=%lu crc32=%08x\n", b.capacity, crc);
    blk_close(&b);
    return 0;
}

int cmd_blkcopy(int argc, char **argv)
{
    struct blk b;
    uint64_t buf;
    int rc = blk_command_open("blkcopy", argc, argv, &b, &buf);
    if (rc)
        return rc;
    uint64_t half = b.capacity / 2;
    for (uint64_t s = 0; s < half; s += CHUNK_SECTORS) {
        uint64_t n = half - s < CHUNK_SECTORS ? half - s : CHUNK_SECTORS;
        if (!blk_io(&b, "blkcopy", VIRTIO_BLK_T_IN, s, buf, n) ||
            !blk_io(&b, "blkcopy", VIRTIO_BLK_T_OUT, half + s, buf, n))
            return HVLAB_GUEST_EXIT_FAIL;
    }
    if (!blk_io(&b, "blkcopy", VIRTIO_BLK_T_FLUSH, 0, 0, 0))
        return HVLAB_GUEST_EXIT_FAIL;
    kprintf("blkcopy: ok (%lu sectors copied)\n", half);
    blk_close(&b);
    return 0;
}
