/*
 * libhv/virtq: the device side of split virtqueues (virtio 1.2 §2.7) driven
 * by a tiny test "driver" that lays out the rings in guest RAM: taking and
 * returning chains, free-running index wrap, every malformed-queue rule,
 * the layout check, event suppression, and a random-rings fuzz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/guest_ram_fixture.h"

#include "abi/hvlab_abi.h"
#include "libhv/guestmem.h"
#include "libhv/virtq.h"

#define RAM   FIXTURE_RAM
#define DESC  0x10000ull   /* descriptor table (16-aligned)              */
#define AVAIL 0x20000ull   /* available ring                             */
#define USED  0x30000ull   /* used ring                                  */
#define BUF   0x100000ull  /* buffers: one 4 KiB page per descriptor     */
#define SEG_LEN 100u       /* first buffer length; the k-th is SEG_LEN+k */

/* ---- a tiny driver -------------------------------------------------------- */

struct drv {
    struct guest_mem *gm;
    struct virtq vq;
    uint16_t avail_idx;      /* the driver's shadow of avail->idx       */
    uint16_t next_desc;      /* next free descriptor (handed out in a ring) */
    char why[256];
};

static void drv_init(struct drv *d, struct guest_mem *gm, uint16_t size, bool event_idx)
{
    memset(d, 0, sizeof(*d));
    d->gm = gm;
    assert_int_equal(gm_zero(gm, 0, BUF + VIRTQ_MAX_SIZE * 0x1000ull), 0);
    d->vq.size = size;
    d->vq.desc_gpa = DESC;
    d->vq.avail_gpa = AVAIL;
    d->vq.used_gpa = USED;
    d->vq.event_idx = event_idx;
    virtq_reset(&d->vq);
    assert_int_equal(virtq_check_layout(gm, &d->vq, d->why, sizeof(d->why)), 0);
    d->vq.ready = true;
}

static uint64_t buf_gpa(uint16_t i)
{
    return BUF + 0x1000ull * i;
}

static void drv_desc(struct drv *d, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint64_t g = DESC + 16ull * i;
    assert_int_equal(gm_write_u64(d->gm, g, addr), 0);
    assert_int_equal(gm_write_u32(d->gm, g + 8, len), 0);
    assert_int_equal(gm_write_u16(d->gm, g + 12, flags), 0);
    assert_int_equal(gm_write_u16(d->gm, g + 14, next), 0);
}

static void drv_set_avail_idx(struct drv *d, uint16_t idx)
{
    d->avail_idx = idx;
    assert_int_equal(gm_write_u16(d->gm, AVAIL + 2, idx), 0);
}

/* Makes head available: ring entry first, then the index (§2.7.13). */
static void drv_publish(struct drv *d, uint16_t head)
{
    uint16_t slot = d->avail_idx % d->vq.size;
    assert_int_equal(gm_write_u16(d->gm, AVAIL + 4 + 2ull * slot, head), 0);
    drv_set_avail_idx(d, (uint16_t)(d->avail_idx + 1));
}

/* Adds a chain of n_out device-readable then n_in device-writable buffers
 * taken from the next free descriptors; returns its head. */
static uint16_t drv_add(struct drv *d, unsigned n_out, unsigned n_in)
{
    uint16_t size = d->vq.size, head = d->next_desc;
    unsigned n = n_out + n_in;
    for (unsigned k = 0; k < n; k++) {
        uint16_t i = (uint16_t)((head + k) % size);
        uint16_t flags = (uint16_t)((k < n_out ? 0 : VIRTQ_DESC_F_WRITE) |
                                    (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        drv_desc(d, i, buf_gpa(i), SEG_LEN + k, flags, (uint16_t)((head + k + 1) % size));
    }
    d->next_desc = (uint16_t)((head + n) % size);
    drv_publish(d, head);
    return head;
}

static uint16_t used_idx_in_ram(struct drv *d)
{
    uint16_t v;
    assert_int_equal(gm_read_u16(d->gm, USED + 2, &v), 0);
    return v;
}

static void assert_used_elem(struct drv *d, uint16_t slot, uint32_t id, uint32_t len)
{
    uint32_t got_id, got_len;
    assert_int_equal(gm_read_u32(d->gm, USED + 4 + 8ull * slot, &got_id), 0);
    assert_int_equal(gm_read_u32(d->gm, USED + 8 + 8ull * slot, &got_len), 0);
    assert_int_equal(got_id, id);
    assert_int_equal(got_len, len);
}

static int pop(struct drv *d, struct virtq_req *r)
{
    return virtq_pop(d->gm, &d->vq, r, d->why, sizeof(d->why));
}

static int push(struct drv *d, uint16_t head, uint32_t written)
{
    return virtq_push(d->gm, &d->vq, head, written, d->why, sizeof(d->why));
}

static void assert_why_has(const char *why, const char *reason)
{
    if (!strstr(why, reason))
        fail_msg("reason \"%s\" does not mention \"%s\"", why, reason);
}

/* The pop fails, marks the queue broken, takes nothing, says why. */
static void assert_pop_rejects(struct drv *d, const char *reason)
{
    struct virtq_req r;
    uint16_t last = d->vq.last_avail;
    d->why[0] = '\0';
    assert_int_equal(pop(d, &r), -1);
    assert_true(d->vq.broken);
    assert_int_equal(d->vq.last_avail, last);
    assert_why_has(d->why, reason);
}

static void assert_layout_rejected(struct guest_mem *gm, const struct virtq *vq,
                                   const char *reason)
{
    char why[256] = "";
    assert_int_equal(virtq_check_layout(gm, vq, why, sizeof(why)), -1);
    assert_why_has(why, reason);
}

static uint16_t avail_event_in_ram(struct drv *d)
{
    uint16_t v;
    assert_int_equal(gm_read_u16(d->gm, USED + 4 + 8ull * d->vq.size, &v), 0);
    return v;
}

static void drv_set_used_event(struct drv *d, uint16_t v)
{
    assert_int_equal(gm_write_u16(d->gm, AVAIL + 4 + 2ull * d->vq.size, v), 0);
}

/* ---- taking chains --------------------------------------------------------- */

static void pop_returns_nothing_when_avail_idx_unchanged(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    assert_int_equal(pop(&d, &r), 0);
    assert_int_equal(d.vq.last_avail, 0);
    drv_add(&d, 1, 0);
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(pop(&d, &r), 0);                  /* taken once only */
    assert_int_equal(d.vq.last_avail, 1);
    assert_false(d.vq.broken);
}

static void pop_returns_nothing_when_queue_not_ready(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    drv_add(&d, 1, 0);
    d.vq.ready = false;
    assert_int_equal(pop(&d, &r), 0);
    assert_int_equal(d.vq.last_avail, 0);
    assert_false(d.vq.broken);
    d.vq.ready = true;
    assert_int_equal(pop(&d, &r), 1);
}

static void pop_reads_a_readable_then_writable_chain(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    d.next_desc = 6;                                   /* chain 6 -> 7 -> 0 */
    uint16_t head = drv_add(&d, 2, 1);
    assert_int_equal(head, 6);
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(r.head, 6);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.n_out, 2);
    assert_int_equal(r.out_bytes, SEG_LEN + SEG_LEN + 1);
    assert_int_equal(r.in_bytes, SEG_LEN + 2);
    const uint16_t desc[3] = { 6, 7, 0 };
    for (unsigned k = 0; k < 3; k++) {
        assert_int_equal(r.seg[k].gpa, buf_gpa(desc[k]));
        assert_int_equal(r.seg[k].len, SEG_LEN + k);
        assert_int_equal(r.seg[k].device_writes, k == 2);
    }
    assert_int_equal(d.vq.last_avail, 1);
}

static void pop_takes_chains_in_available_order(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    uint16_t a = drv_add(&d, 1, 1), b = drv_add(&d, 0, 3), c = drv_add(&d, 2, 0);
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(r.head, a);
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(r.head, b);
    assert_int_equal(r.n_out, 0);                      /* all writable is fine */
    assert_int_equal(r.in_bytes, 3 * SEG_LEN + 3);
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(r.head, c);
    assert_int_equal(r.n_out, 2);
    assert_int_equal(r.in_bytes, 0);                   /* all readable is fine */
    assert_int_equal(pop(&d, &r), 0);
}

static void pop_records_zero_length_descriptor_as_segment(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    drv_desc(&d, 0, buf_gpa(0), 0, VIRTQ_DESC_F_NEXT, 1);
    drv_desc(&d, 1, buf_gpa(1), 8, VIRTQ_DESC_F_WRITE, 0);
    drv_publish(&d, 0);
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.n_out, 1);
    assert_int_equal(r.seg[0].len, 0);
    assert_int_equal(r.out_bytes, 0);
    assert_int_equal(r.in_bytes, 8);
}

static void pop_accepts_a_full_ring(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    for (int k = 0; k < 8; k++)
        drv_add(&d, 1, 0);                             /* avail->idx - 0 == size */
    for (int k = 0; k < 8; k++) {
        assert_int_equal(pop(&d, &r), 1);
        assert_int_equal(r.head, k);
    }
    assert_int_equal(pop(&d, &r), 0);
}

/* ---- returning chains ------------------------------------------------------ */

static void push_publishes_used_element_then_index(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    drv_add(&d, 1, 1);
    uint16_t second = drv_add(&d, 1, 1);
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(pop(&d, &r), 1);
    /* Completed out of order: the used ring carries the ids, not slots. */
    assert_int_equal(push(&d, second, 42), 0);
    assert_used_elem(&d, 0, second, 42);
    assert_int_equal(used_idx_in_ram(&d), 1);
    assert_int_equal(d.vq.used_idx, 1);
    assert_int_equal(push(&d, 0, 7), 0);
    assert_used_elem(&d, 1, 0, 7);
    assert_int_equal(used_idx_in_ram(&d), 2);
    assert_int_equal(d.vq.used_idx, 2);
    assert_false(d.vq.broken);
}

static void push_rejects_head_out_of_range(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    assert_int_equal(push(&d, 8, 1), -1);
    assert_why_has(d.why, "head 8");
    assert_true(d.vq.broken);
    assert_int_equal(d.vq.used_idx, 0);
    assert_int_equal(used_idx_in_ram(&d), 0);
    assert_used_elem(&d, 0, 0, 0);                     /* nothing written */
}

static void push_fails_when_used_ring_left_ram(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    d.vq.used_gpa = RAM - 4;                           /* idx fits, ring does not */
    assert_int_equal(push(&d, 0, 1), -1);
    assert_why_has(d.why, "not in guest RAM");
    assert_true(d.vq.broken);
    assert_int_equal(d.vq.used_idx, 0);
}

/* A monitor's guard (hv-paravirt: its pinned page tables) covers the used
 * ring: the device writes nothing there and breaks the queue. */
static uint64_t guarded_page;
static bool guard_one_page(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)ctx;
    return gpa + len <= guarded_page || gpa >= guarded_page + GM_PAGE_SIZE;
}

static void push_refuses_a_used_ring_the_monitor_protects(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    guarded_page = USED & ~(GM_PAGE_SIZE - 1);
    d.gm->dma_guard = guard_one_page;
    assert_int_equal(push(&d, 0, 1), -1);
    d.gm->dma_guard = NULL;
    assert_why_has(d.why, "may not write");
    assert_true(d.vq.broken);
    assert_int_equal(used_idx_in_ram(&d), 0);
    /* and gm_dma_write_ok itself: RAM and the guard both count */
    d.gm->dma_guard = guard_one_page;
    assert_false(gm_dma_write_ok(d.gm, guarded_page + 100, 1));
    assert_true(gm_dma_write_ok(d.gm, guarded_page + GM_PAGE_SIZE, 1));
    assert_false(gm_dma_write_ok(d.gm, RAM - 1, 2));
    d.gm->dma_guard = NULL;
}

static void push_refuses_when_queue_not_ready(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    d.vq.ready = false;
    assert_int_equal(push(&d, 0, 1), -1);
    assert_why_has(d.why, "not enabled");
    assert_false(d.vq.broken);
    assert_int_equal(used_idx_in_ram(&d), 0);
}

static void free_running_indexes_wrap_at_65536(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, true);
    d.vq.last_avail = d.vq.used_idx = 65534;
    d.vq.signalled_used = 65534;
    d.vq.signalled_valid = true;
    drv_set_avail_idx(&d, 65534);
    drv_set_used_event(&d, 1);                         /* interrupt when entry 1 is used */
    uint16_t heads[4];
    for (int k = 0; k < 4; k++)
        heads[k] = drv_add(&d, 1, 1);
    const uint16_t slots[4] = { 6, 7, 0, 1 };
    const uint16_t used_after[4] = { 65535, 0, 1, 2 };
    for (int k = 0; k < 4; k++) {
        assert_int_equal(pop(&d, &r), 1);
        assert_int_equal(r.head, heads[k]);
        assert_int_equal(push(&d, r.head, 10 + k), 0);
        assert_used_elem(&d, slots[k], heads[k], 10 + k);
        assert_int_equal(used_idx_in_ram(&d), used_after[k]);
        /* used->idx passes used_event (1 -> 2) only with the last push. */
        assert_int_equal(virtq_need_interrupt(d.gm, &d.vq), k == 3);
    }
    assert_int_equal(d.vq.last_avail, 2);
    assert_int_equal(pop(&d, &r), 0);
}

/* ---- malformed queues ------------------------------------------------------ */

static void pop_rejects_avail_index_jump(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    drv_set_avail_idx(&d, 9);                          /* 9 new entries in an 8-entry ring */
    assert_pop_rejects(&d, "available index jumped from 0 to 9, more than the queue size 8");

    drv_init(&d, *state, 8, false);                    /* backwards is a jump of 65535 */
    d.vq.last_avail = 5;
    drv_set_avail_idx(&d, 4);
    assert_pop_rejects(&d, "jumped from 5 to 4");
}

static void pop_rejects_head_out_of_range(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    drv_publish(&d, 8);
    assert_pop_rejects(&d, "head 8, outside the queue size 8");
}

static void pop_rejects_next_out_of_range(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    drv_desc(&d, 0, buf_gpa(0), 16, VIRTQ_DESC_F_NEXT, 8);
    drv_publish(&d, 0);
    assert_pop_rejects(&d, "links to descriptor 8");
}

static void pop_rejects_descriptor_loop(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    drv_desc(&d, 0, buf_gpa(0), 16, VIRTQ_DESC_F_NEXT, 1);
    drv_desc(&d, 1, buf_gpa(1), 16, VIRTQ_DESC_F_NEXT, 0);
    drv_publish(&d, 0);
    assert_pop_rejects(&d, "loops");

    drv_init(&d, *state, 1, false);                    /* a one-entry self-loop */
    drv_desc(&d, 0, buf_gpa(0), 16, VIRTQ_DESC_F_NEXT, 0);
    drv_publish(&d, 0);
    assert_pop_rejects(&d, "loops");
}

static void pop_rejects_chain_longer_than_max_segs(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 128, false);
    drv_add(&d, 32, VIRTQ_MAX_SEGS - 32);              /* exactly the maximum: fine */
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(r.n, VIRTQ_MAX_SEGS);
    drv_add(&d, 32, VIRTQ_MAX_SEGS + 1 - 32);
    assert_pop_rejects(&d, "more than 64 descriptors");
}

static void pop_rejects_buffer_outside_ram(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    drv_desc(&d, 0, RAM - 0x20, 0x20, 0, 0);           /* ends exactly at the end: fine */
    drv_publish(&d, 0);
    assert_int_equal(pop(&d, &r), 1);
    drv_desc(&d, 1, RAM - 0x10, 0x20, 0, 0);           /* 16 bytes past the end */
    drv_publish(&d, 1);
    assert_pop_rejects(&d, "buffer at 0xfffff0 (32 bytes) is not in guest RAM");
}

static void pop_rejects_buffer_wrapping_address(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    drv_desc(&d, 0, buf_gpa(0), 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    drv_desc(&d, 1, 0xfffffffffffff000ull, 0x2000, VIRTQ_DESC_F_WRITE, 0);
    drv_publish(&d, 0);
    assert_pop_rejects(&d, "wraps around");
}

static void pop_rejects_readable_after_writable(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    drv_desc(&d, 0, buf_gpa(0), 8, VIRTQ_DESC_F_NEXT, 1);
    drv_desc(&d, 1, buf_gpa(1), 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    drv_desc(&d, 2, buf_gpa(2), 8, 0, 0);
    drv_publish(&d, 0);
    assert_pop_rejects(&d, "descriptor 2 is device-readable but follows a device-writable");
}

static void pop_rejects_indirect(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    drv_desc(&d, 3, buf_gpa(3), 32, VIRTQ_DESC_F_INDIRECT, 0);
    drv_publish(&d, 3);
    assert_pop_rejects(&d, "INDIRECT");
}

static void pop_rejects_avail_ring_outside_ram(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, false);
    d.vq.avail_gpa = UINT64_MAX - 1;                   /* + 2 would wrap to 0 */
    assert_pop_rejects(&d, "not in guest RAM");
}

static void broken_queue_stays_broken(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    drv_set_avail_idx(&d, 100);
    assert_pop_rejects(&d, "jumped");
    drv_set_avail_idx(&d, 0);                          /* the driver "fixes" it */
    drv_add(&d, 1, 0);
    assert_int_equal(pop(&d, &r), -1);
    assert_int_equal(push(&d, 0, 0), -1);
    assert_int_equal(used_idx_in_ram(&d), 0);
    assert_false(virtq_need_interrupt(d.gm, &d.vq));
    assert_true(d.vq.broken);
    virtq_reset(&d.vq);                                /* the driver resets the device */
    assert_int_equal(pop(&d, &r), 1);
}

static void reset_zeroes_device_state_and_keeps_layout(void **state)
{
    struct drv d;
    drv_init(&d, *state, 16, true);
    d.vq.last_avail = 3;
    d.vq.used_idx = 4;
    d.vq.signalled_used = 5;
    d.vq.signalled_valid = true;
    d.vq.broken = true;
    virtq_reset(&d.vq);
    assert_int_equal(d.vq.last_avail, 0);
    assert_int_equal(d.vq.used_idx, 0);
    assert_int_equal(d.vq.signalled_used, 0);
    assert_false(d.vq.signalled_valid);
    assert_false(d.vq.broken);
    assert_int_equal(d.vq.size, 16);
    assert_int_equal(d.vq.desc_gpa, DESC);
    assert_int_equal(d.vq.avail_gpa, AVAIL);
    assert_int_equal(d.vq.used_gpa, USED);
    assert_true(d.vq.event_idx);
    assert_true(d.vq.ready);
}

/* ---- layout ---------------------------------------------------------------- */

static struct virtq good_queue(uint16_t size, bool event_idx)
{
    struct virtq vq = { .size = size, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED,
                        .event_idx = event_idx };
    return vq;
}

static void check_layout_accepts_every_power_of_two_size(void **state)
{
    char why[256];
    for (unsigned size = 1; size <= VIRTQ_MAX_SIZE; size *= 2) {
        struct virtq vq = good_queue((uint16_t)size, size & 1);
        assert_int_equal(virtq_check_layout(*state, &vq, why, sizeof(why)), 0);
    }
}

static void check_layout_rejects_size_zero_and_above_max(void **state)
{
    struct virtq vq = good_queue(0, false);
    assert_layout_rejected(*state, &vq, "queue size 0 is outside 1..256");
    vq.size = 512;
    assert_layout_rejected(*state, &vq, "queue size 512 is outside 1..256");
}

static void check_layout_rejects_non_power_of_two(void **state)
{
    struct virtq vq = good_queue(12, false);
    assert_layout_rejected(*state, &vq, "queue size 12 is not a power of two");
    vq.size = 255;
    assert_layout_rejected(*state, &vq, "not a power of two");
}

static void check_layout_rejects_misaligned_rings(void **state)
{
    struct virtq vq = good_queue(8, false);
    vq.desc_gpa = 0x1008;
    assert_layout_rejected(*state, &vq, "descriptor table at 0x1008 is not 16-byte aligned");
    vq = good_queue(8, false);
    vq.avail_gpa = AVAIL + 1;
    assert_layout_rejected(*state, &vq, "available ring at 0x20001 is not 2-byte aligned");
    vq = good_queue(8, false);
    vq.used_gpa = USED + 2;
    assert_layout_rejected(*state, &vq, "used ring at 0x30002 is not 4-byte aligned");
}

static void check_layout_rejects_rings_outside_ram(void **state)
{
    struct virtq vq = good_queue(8, false);
    vq.desc_gpa = RAM - 0x40;                          /* 128 bytes do not fit */
    assert_layout_rejected(*state, &vq, "descriptor table at 0xffffc0 (128 bytes) is not in "
                                        "guest RAM");
    vq = good_queue(8, false);
    vq.desc_gpa = UINT64_MAX - 15;                     /* aligned, and would wrap */
    assert_layout_rejected(*state, &vq, "descriptor table");
    vq = good_queue(8, false);
    vq.avail_gpa = RAM;
    assert_layout_rejected(*state, &vq, "available ring at 0x1000000 (20 bytes)");
    vq = good_queue(8, false);
    vq.used_gpa = RAM + 0x1000;
    assert_layout_rejected(*state, &vq, "used ring at 0x1001000 (68 bytes) is not in guest RAM");
}

static void check_layout_rejects_event_fields_outside_ram_with_event_idx(void **state)
{
    char why[256];
    /* Both rings end exactly at the end of RAM without their event field. */
    struct virtq vq = good_queue(8, false);
    vq.avail_gpa = RAM - (4 + 2 * 8);
    assert_int_equal(virtq_check_layout(*state, &vq, why, sizeof(why)), 0);
    vq.event_idx = true;
    assert_layout_rejected(*state, &vq, "available ring");

    vq = good_queue(8, false);
    vq.used_gpa = RAM - (4 + 8 * 8);
    assert_int_equal(virtq_check_layout(*state, &vq, why, sizeof(why)), 0);
    vq.event_idx = true;
    assert_layout_rejected(*state, &vq, "used ring");
}

/* ---- event suppression ----------------------------------------------------- */

static void need_interrupt_with_event_idx_follows_used_event(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, true);
    for (int k = 0; k < 5; k++)
        drv_add(&d, 1, 0);
    for (int k = 0; k < 5; k++)
        assert_int_equal(pop(&d, &r), 1);

    drv_set_used_event(&d, 100);                       /* far away, but first time */
    assert_int_equal(push(&d, 0, 0), 0);
    assert_true(virtq_need_interrupt(d.gm, &d.vq));    /* nothing signalled yet */
    assert_false(virtq_need_interrupt(d.gm, &d.vq));   /* nothing new */

    drv_set_used_event(&d, 3);                         /* "tell me once entry 3 is used" */
    assert_int_equal(push(&d, 1, 0), 0);               /* used->idx 2 */
    assert_false(virtq_need_interrupt(d.gm, &d.vq));
    assert_int_equal(push(&d, 2, 0), 0);               /* used->idx 3 */
    assert_false(virtq_need_interrupt(d.gm, &d.vq));
    assert_int_equal(push(&d, 3, 0), 0);               /* used->idx 4: passed 3 */
    assert_true(virtq_need_interrupt(d.gm, &d.vq));
    assert_int_equal(d.vq.signalled_used, 4);
    assert_false(virtq_need_interrupt(d.gm, &d.vq));
    /* Interrupts do not depend on the flags with EVENT_IDX. */
    assert_int_equal(gm_write_u16(d.gm, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT), 0);
    drv_set_used_event(&d, 4);
    assert_int_equal(push(&d, 4, 0), 0);
    assert_true(virtq_need_interrupt(d.gm, &d.vq));
}

static void need_interrupt_without_event_idx_honours_no_interrupt_flag(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    for (int k = 0; k < 3; k++)
        drv_add(&d, 1, 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(push(&d, 0, 0), 0);
    assert_true(virtq_need_interrupt(d.gm, &d.vq));
    assert_false(virtq_need_interrupt(d.gm, &d.vq));   /* nothing pushed since */

    assert_int_equal(gm_write_u16(d.gm, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT), 0);
    assert_int_equal(push(&d, 1, 0), 0);
    assert_false(virtq_need_interrupt(d.gm, &d.vq));
    assert_int_equal(gm_write_u16(d.gm, AVAIL, 0), 0); /* still owed for entry 1 */
    assert_true(virtq_need_interrupt(d.gm, &d.vq));
    assert_int_equal(d.vq.signalled_used, 2);
    assert_false(virtq_need_interrupt(d.gm, &d.vq));
}

static void set_notify_writes_avail_event(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, true);
    drv_add(&d, 1, 0);
    drv_add(&d, 1, 0);
    assert_int_equal(pop(&d, &r), 1);
    assert_int_equal(pop(&d, &r), 1);
    virtq_set_notify(d.gm, &d.vq, false);
    assert_int_equal(avail_event_in_ram(&d), 2);
    uint16_t flags;
    assert_int_equal(gm_read_u16(d.gm, USED, &flags), 0);
    assert_int_equal(flags, 0);                        /* flags unused with EVENT_IDX */
    assert_false(d.vq.broken);
}

static void set_notify_with_event_idx_suppress_leaves_avail_event(void **state)
{
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, true);
    virtq_set_notify(d.gm, &d.vq, false);              /* avail_event = 0 */
    drv_add(&d, 1, 0);
    assert_int_equal(pop(&d, &r), 1);
    virtq_set_notify(d.gm, &d.vq, true);
    assert_int_equal(avail_event_in_ram(&d), 0);       /* already passed: no notify */
    virtq_set_notify(d.gm, &d.vq, false);
    assert_int_equal(avail_event_in_ram(&d), 1);
}

static void set_notify_writes_used_flags(void **state)
{
    struct drv d;
    uint16_t flags;
    drv_init(&d, *state, 8, false);
    virtq_set_notify(d.gm, &d.vq, true);
    assert_int_equal(gm_read_u16(d.gm, USED, &flags), 0);
    assert_int_equal(flags, VIRTQ_USED_F_NO_NOTIFY);
    virtq_set_notify(d.gm, &d.vq, false);
    assert_int_equal(gm_read_u16(d.gm, USED, &flags), 0);
    assert_int_equal(flags, 0);
    assert_false(d.vq.broken);
}

static void set_notify_marks_broken_when_ring_left_ram(void **state)
{
    struct drv d;
    drv_init(&d, *state, 8, true);
    d.vq.used_gpa = RAM - 4 - 8 * 8;                   /* avail_event just past the end */
    virtq_set_notify(d.gm, &d.vq, false);
    assert_true(d.vq.broken);
}

/* ---- fuzz ------------------------------------------------------------------ */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    /* A 64-bit LCG (Knuth's MMIX constants); the high bits are the good ones. */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 16;
}

static void fill_random(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    uint8_t *p = gm_ptr(gm, gpa, len);
    assert_non_null(p);
    for (uint64_t k = 0; k < len; k++)
        p[k] = (uint8_t)rnd();
}

/* Mostly plausible descriptors, so that chains get past the first check;
 * every field sometimes crosses a limit. */
static void random_descriptor(struct drv *d, uint16_t i)
{
    uint16_t size = d->vq.size;
    if (rnd() % 4 == 0) {
        fill_random(d->gm, DESC + 16ull * i, 16);
        return;
    }
    uint64_t addr = rnd() % 16 == 0 ? ((rnd() << 16) ^ rnd()) : rnd() % (RAM + 0x4000);
    uint32_t len = rnd() % 16 == 0 ? (uint32_t)rnd() : (uint32_t)(rnd() % 0x2000);
    uint16_t flags = (uint16_t)(rnd() % 4);
    if (rnd() % 32 == 0)
        flags |= VIRTQ_DESC_F_INDIRECT;
    uint16_t next = (uint16_t)(rnd() % (size + 1u));
    drv_desc(d, i, addr, len, flags, next);
}

static void assert_request_sane(struct drv *d, const struct virtq_req *r)
{
    assert_true(r->head < d->vq.size);
    assert_true(r->n >= 1 && r->n <= VIRTQ_MAX_SEGS && r->n <= d->vq.size);
    assert_true(r->n_out <= r->n);
    uint64_t out = 0, in = 0;
    for (unsigned k = 0; k < r->n; k++) {
        const struct virtq_seg *s = &r->seg[k];
        assert_true(gm_range_ok(d->gm, s->gpa, s->len));
        assert_int_equal(s->device_writes, k >= r->n_out);
        *(s->device_writes ? &in : &out) += s->len;
    }
    assert_int_equal(out, r->out_bytes);
    assert_int_equal(in, r->in_bytes);
}

static void pop_fuzz_random_rings_never_escape_ram(void **state)
{
    unsigned counts[3] = { 0 };                        /* -1, 0, 1 */
    struct drv d;
    struct virtq_req r;
    drv_init(&d, *state, 8, false);
    for (int iter = 0; iter < 20000; iter++) {
        uint16_t size = (uint16_t)(1u << (rnd() % 9));
        d.vq.size = size;
        d.vq.event_idx = rnd() & 1;
        virtq_reset(&d.vq);
        d.vq.last_avail = (uint16_t)rnd();
        assert_int_equal(virtq_check_layout(d.gm, &d.vq, d.why, sizeof(d.why)), 0);
        for (uint16_t i = 0; i < size; i++)
            random_descriptor(&d, i);
        fill_random(d.gm, AVAIL, 6 + 2ull * size);
        fill_random(d.gm, USED, 6 + 8ull * size);
        for (uint16_t s = 0; s < size; s++)            /* heads: mostly in range */
            assert_int_equal(gm_write_u16(d.gm, AVAIL + 4 + 2ull * s,
                                          (uint16_t)(rnd() % (size + 1u))), 0);
        if (rnd() % 8)                                 /* index: mostly plausible */
            drv_set_avail_idx(&d, (uint16_t)(d.vq.last_avail + rnd() % (size + 2u)));

        for (unsigned take = 0; take <= size; take++) {
            d.why[0] = '\0';
            int rc = pop(&d, &r);
            assert_true(rc >= -1 && rc <= 1);
            counts[rc + 1]++;
            if (rc == -1) {
                assert_true(d.vq.broken);
                assert_true(d.why[0] != '\0');
                assert_int_equal(pop(&d, &r), -1);
                break;
            }
            if (rc == 0)
                break;
            assert_request_sane(&d, &r);
            assert_int_equal(push(&d, r.head, (uint32_t)r.in_bytes), 0);
            virtq_need_interrupt(d.gm, &d.vq);
            virtq_set_notify(d.gm, &d.vq, rnd() & 1);
            assert_false(d.vq.broken);
        }
    }
    for (int k = 0; k < 3; k++)
        assert_true(counts[k] > 100);
    print_message("virtq fuzz: malformed %u, empty %u, taken %u\n", counts[0], counts[1],
                  counts[2]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, guest_ram_setup, guest_ram_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(pop_returns_nothing_when_avail_idx_unchanged),
        T(pop_returns_nothing_when_queue_not_ready),
        T(pop_reads_a_readable_then_writable_chain),
        T(pop_takes_chains_in_available_order),
        T(pop_records_zero_length_descriptor_as_segment),
        T(pop_accepts_a_full_ring),
        T(push_publishes_used_element_then_index),
        T(push_rejects_head_out_of_range),
        T(push_fails_when_used_ring_left_ram),
        T(push_refuses_a_used_ring_the_monitor_protects),
        T(push_refuses_when_queue_not_ready),
        T(free_running_indexes_wrap_at_65536),
        T(pop_rejects_avail_index_jump),
        T(pop_rejects_head_out_of_range),
        T(pop_rejects_next_out_of_range),
        T(pop_rejects_descriptor_loop),
        T(pop_rejects_chain_longer_than_max_segs),
        T(pop_rejects_buffer_outside_ram),
        T(pop_rejects_buffer_wrapping_address),
        T(pop_rejects_readable_after_writable),
        T(pop_rejects_indirect),
        T(pop_rejects_avail_ring_outside_ram),
        T(broken_queue_stays_broken),
        T(reset_zeroes_device_state_and_keeps_layout),
        T(check_layout_accepts_every_power_of_two_size),
        T(check_layout_rejects_size_zero_and_above_max),
        T(check_layout_rejects_non_power_of_two),
        T(check_layout_rejects_misaligned_rings),
        T(check_layout_rejects_rings_outside_ram),
        T(check_layout_rejects_event_fields_outside_ram_with_event_idx),
        T(need_interrupt_with_event_idx_follows_used_event),
        T(need_interrupt_without_event_idx_honours_no_interrupt_flag),
        T(set_notify_writes_avail_event),
        T(set_notify_with_event_idx_suppress_leaves_avail_event),
        T(set_notify_writes_used_flags),
        T(set_notify_marks_broken_when_ring_left_ram),
        T(pop_fuzz_random_rings_never_escape_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
