/*
 * blk_hostile.c - `blkhostile`: the guest turns hostile towards its own
 * virtio-blk device, to show that the monitor's device model survives it.
 *
 * Each case writes one malformed chain (or avail index) straight into the
 * ring, publishes it and kicks the queue, then checks what a careful device
 * must do (virtio 1.2 §2.1.2, §2.7): set DEVICE_NEEDS_RESET and leave the
 * queue alone — not hang, not crash, not read or write outside guest RAM.
 * A request that is well formed but asks for something impossible (a
 * sector past the end) must instead complete with VIRTIO_BLK_S_IOERR.
 * After every case the driver resets the device and, at the end, reads
 * sector 0 to show that it still works.  On paravirt one more case aims a
 * read at a pinned page table.  Prints one line per case and "blkhostile:
 * N cases, all refused; the device works after each reset"; exit code 1 if
 * any case was not.
 */
#include "kernel.h"
#include "blk.h"
#include "mm.h"
#include "platform.h"

struct hostile_case {
    const char *name;
    /* Lays out the chain at head 0 (descriptors 0.. of a fresh ring) and
     * returns the avail index to publish (normally 1). */
    uint16_t (*build)(struct blk *b, uint64_t buf);
};

static void put(struct vring *vr, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                uint16_t next)
{
    vr->desc[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

static uint64_t header(struct blk *b, uint32_t type, uint64_t sector)
{
    b->slots[0].h = (struct virtio_blk_req_header){.type = type, .sector = sector};
    return (uint64_t)(uintptr_t)&b->slots[0].h;
}

static uint64_t status_byte(struct blk *b)
{
    return (uint64_t)(uintptr_t)&b->slots[0].status;
}

/* A chain that is well formed apart from what each case changes:
 * header -> data -> status. */
static void good_chain(struct blk *b, uint64_t buf, uint64_t sector)
{
    put(&b->vr, 0, header(b, VIRTIO_BLK_T_IN, sector), 16, VIRTQ_DESC_F_NEXT, 1);
    put(&b->vr, 1, buf, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    put(&b->vr, 2, status_byte(b), 1, VIRTQ_DESC_F_WRITE, 0);
}

/* All device-readable, so that nothing but the cycle is wrong:
 * 0 -> 1 -> 2 -> 0 -> ... */
static uint16_t loop(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    for (uint16_t i = 0; i < 3; i++)
        b->vr.desc[i].flags = VIRTQ_DESC_F_NEXT;
    b->vr.desc[2].next = 0;
    return 1;
}

static uint16_t next_out_of_range(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    b->vr.desc[1].next = 500;
    return 1;
}

static uint16_t head_out_of_range(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    b->vr.avail[2] = 300;
    return 1;
}

static uint16_t index_jump(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    return 1000;                                 /* 1000 new entries in a 64-entry ring */
}

static uint16_t buffer_outside_ram(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    b->vr.desc[1].addr = boot_info->ram_size;    /* the first byte past RAM */
    return 1;
}

static uint16_t address_wraps(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    b->vr.desc[1].addr = 0xfffffffffffff000ull;  /* + 512 wraps past 2^64 */
    b->vr.desc[1].len = 0x2000;
    return 1;
}

static uint16_t huge_length(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    b->vr.desc[1].len = 0xffffffffu;             /* 4 GiB from a RAM page */
    return 1;
}

static uint16_t readable_after_writable(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    b->vr.desc[2].flags &= (uint16_t)~VIRTQ_DESC_F_WRITE;
    return 1;
}

static uint16_t no_status_byte(struct blk *b, uint64_t buf)
{
    (void)buf;
    put(&b->vr, 0, header(b, VIRTIO_BLK_T_FLUSH, 0), 16, 0, 0);
    return 1;
}

static uint16_t short_header(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    b->vr.desc[0].len = 8;
    return 1;
}

static uint16_t indirect(struct blk *b, uint64_t buf)
{
    good_chain(b, buf, 0);
    b->vr.desc[0].flags |= VIRTQ_DESC_F_INDIRECT;
    return 1;
}

/* 65 descriptors, each legal, linked without a loop: longer than any
 * request the device takes (VIRTQ_MAX_SEGS, 64). */
static uint16_t oversized_chain(struct blk *b, uint64_t buf)
{
    put(&b->vr, 0, header(b, VIRTIO_BLK_T_IN, 0), 16, VIRTQ_DESC_F_NEXT, 1);
    for (uint16_t i = 1; i < 64; i++)
        put(&b->vr, i, buf + (i - 1) * 8u, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
            (uint16_t)(i + 1));
    put(&b->vr, 64, status_byte(b), 1, VIRTQ_DESC_F_WRITE, 0);
    return 1;
}

static const struct hostile_case reset_cases[] = {
    {"descriptor-loop", loop},
    {"next-out-of-range", next_out_of_range},
    {"head-out-of-range", head_out_of_range},
    {"avail-index-jump", index_jump},
    {"buffer-outside-ram", buffer_outside_ram},
    {"address-wraps", address_wraps},
    {"huge-length", huge_length},
    {"oversized-chain", oversized_chain},
    {"readable-after-writable", readable_after_writable},
    {"no-status-byte", no_status_byte},
    {"short-header", short_header},
    {"indirect-not-offered", indirect},
};

/* Publishes the crafted chain (head 0 at ring entry 0 unless the case
 * changed it) and kicks; the device answers inside the kick's exit. */
static void publish_and_kick(struct blk *b, uint16_t idx)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    b->vr.avail[1] = idx;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    platform->queue_notify(b->dev.base, b->dev.slot, 0);
}

/* NEEDS_RESET is set inside the kick's exit; poll a little for a monitor
 * that serves its queue on another thread. */
static bool needs_reset_soon(struct blk *b)
{
    for (int i = 0; i < 100000; i++) {
        if (virtio_status(&b->dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
            return true;
        __asm__ volatile("pause");
    }
    return false;
}

static bool run_reset_case(const struct hostile_case *c, uint64_t buf)
{
    struct blk b;
    const char *why;
    if (blk_open(&b, true, false, &why)) {
        kprintf("FAIL %s: the device did not start: %s\n", c->name, why);
        return false;
    }
    uint16_t old_used = b.vr.used_hdr[1];
    publish_and_kick(&b, c->build(&b, buf));
    bool reset = needs_reset_soon(&b);
    bool untouched = b.vr.used_hdr[1] == old_used;
    blk_close(&b);
    if (!reset || !untouched) {
        kprintf("FAIL %s: %s\n", c->name,
                !reset ? "the device did not set DEVICE_NEEDS_RESET"
                       : "the device returned the malformed request as used");
        return false;
    }
    kprintf("ok %s: DEVICE_NEEDS_RESET, nothing returned\n", c->name);
    return true;
}

/* Well formed, impossible: a read of the sector past the end. */
static bool run_ioerr_case(uint64_t buf)
{
    struct blk b;
    const char *why;
    if (blk_open(&b, true, false, &why)) {
        kprintf("FAIL sector-past-the-end: the device did not start: %s\n", why);
        return false;
    }
    int st = blk_request(&b, VIRTIO_BLK_T_IN, b.capacity, buf, 512, &why);
    bool reset = virtio_status(&b.dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    blk_close(&b);
    if (st != VIRTIO_BLK_S_IOERR || reset) {
        kprintf("FAIL sector-past-the-end: status %d%s, expected IOERR\n", st,
                reset ? " and DEVICE_NEEDS_RESET" : "");
        return false;
    }
    kprintf("ok sector-past-the-end: VIRTIO_BLK_S_IOERR\n");
    return true;
}

/*
 * Paravirtual only: a disk read aimed at one of the guest's own page
 * tables.  The guest may not write a pinned table (every entry goes
 * through HVC_MMU_UPDATE and is validated), so neither may a device on its
 * behalf: the read must fail and leave the table as it was.  (Natively the
 * tables are the guest's to write: there the same read is legal.)
 */
static bool run_pinned_table_case(void)
{
    struct blk b;
    const char *why = "";
    uint64_t table = platform->alloc_table(1);
    if (!table) {
        kprintf("FAIL read-into-pinned-table: no page table\n");
        return false;
    }
    int st = blk_open(&b, true, false, &why) ? -1
             : blk_request(&b, VIRTIO_BLK_T_IN, 0, table, 512, &why);
    bool reset = virtio_status(&b.dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    blk_close(&b);
    bool untouched = true;
    for (unsigned i = 0; i < 512 / 8; i++)
        untouched &= ((const uint64_t *)(uintptr_t)table)[i] == 0;
    platform->free_table(table);
    if (!untouched || (st != VIRTIO_BLK_S_IOERR && !reset)) {
        kprintf("FAIL read-into-pinned-table: status %d, the table %s\n", st,
                untouched ? "untouched" : "WRITTEN");
        return false;
    }
    kprintf("ok read-into-pinned-table: %s, the table untouched\n",
            reset ? "DEVICE_NEEDS_RESET" : "VIRTIO_BLK_S_IOERR");
    return true;
}

static bool still_works(uint64_t buf)
{
    struct blk b;
    const char *why = "";
    int st = blk_open(&b, true, true, &why) ? -1
             : blk_request(&b, VIRTIO_BLK_T_IN, 0, buf, 512, &why);
    blk_close(&b);
    if (st != VIRTIO_BLK_S_OK) {
        kprintf("FAIL after-reset: reading sector 0 failed (%d): %s\n", st, why);
        return false;
    }
    kprintf("ok after-reset: sector 0 read, interrupt-driven\n");
    return true;
}

int cmd_blkhostile(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        kprintf("usage: blkhostile\n");
        return HVLAB_GUEST_EXIT_USAGE;
    }
    struct blk probe;
    const char *why;
    if (blk_open(&probe, true, false, &why)) {
        kprintf("blkhostile: %s\n", why);
        return HVLAB_GUEST_EXIT_FAIL;
    }
    blk_close(&probe);
    uint64_t buf = pmm_alloc();
    if (!buf) {
        kprintf("blkhostile: no free page\n");
        return HVLAB_GUEST_EXIT_FAIL;
    }
    unsigned n = 0, refused = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(reset_cases); i++, n++)
        refused += run_reset_case(&reset_cases[i], buf);
    refused += run_ioerr_case(buf);
    n++;
    if (platform_is_paravirt()) {
        refused += run_pinned_table_case();
        n++;
    }
    bool works = still_works(buf);
    if (refused != n || !works) {
        kprintf("blkhostile: %u of %u cases refused%s\n", refused, n,
                works ? "" : "; the device does not work after a reset");
        return HVLAB_GUEST_EXIT_FAIL;
    }
    kprintf("blkhostile: %u cases, all refused; the device works after each reset\n", n);
    return 0;
}
