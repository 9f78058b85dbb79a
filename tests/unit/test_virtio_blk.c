/*
 * libhv/virtio_mmio + libhv/virtio_blk: the virtio-mmio transport and the
 * virtio-blk device model, driven exactly as a guest driver drives them —
 * 32-bit accesses through the device bus at virtio-mmio slot 0, a split
 * virtqueue laid out in guest RAM by a tiny test "driver" — against a
 * temporary disk file filled with known bytes.
 *
 * Covered: identification and configuration registers, feature negotiation
 * and the status state machine, IN/OUT/FLUSH/GET_ID and their I/O errors,
 * malformed requests (DEVICE_NEEDS_RESET, the queue ignored until a reset),
 * the queue register rules, interrupts and event suppression, the register
 * access rule, and attach errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi/hvlab_abi.h"
#include "libhv/bus.h"
#include "libhv/guestmem.h"
#include "libhv/machine.h"
#include "libhv/virtio_blk.h"
#include "libhv/virtio_mmio.h"
#include "libhv/virtq.h"

#define RAM          (16ull << 20)
#define MMIO         HVLAB_VIRTIO_MMIO_BASE          /* slot 0's registers     */
#define VEC          HVLAB_VIRTIO_IRQ_VECTOR(0)
#define SECTOR       512u
#define DISK_SECTORS 128u
#define DISK_BYTES   (DISK_SECTORS * SECTOR)          /* 64 KiB                 */

/* The driver's layout in guest RAM. */
#define QSIZE 16u
#define DESC  0x100000ull
#define AVAIL 0x101000ull
#define USED  0x102000ull
#define USED_EVENT  (AVAIL + 4 + 2ull * QSIZE)        /* with EVENT_IDX         */
#define AVAIL_EVENT (USED + 4 + 8ull * QSIZE)         /* with EVENT_IDX         */
#define HDR   0x200000ull                              /* request header        */
#define DATA  0x210000ull                              /* data buffer           */
#define STAT  0x2ff000ull                              /* status byte           */
#define STAT_SENTINEL 0xeeu                            /* "not written"         */

#define ST_ACK  VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRV  VIRTIO_STATUS_DRIVER
#define ST_FOK  VIRTIO_STATUS_FEATURES_OK
#define ST_DOK  VIRTIO_STATUS_DRIVER_OK
#define ST_NR   VIRTIO_STATUS_DEVICE_NEEDS_RESET

#define BIT(n) (1ull << (n))
#define DEFAULT_FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_FLUSH) | \
                          BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE))

/* ---- the fixture: one machine, one disk file ----------------------------------- */

#define MAX_IRQS 64

static struct fixture {
    struct hv_machine m;
    char path[64];                /* the disk file                         */
    unsigned n_irq;               /* vectors raised through m.raise_irq    */
    unsigned irq[MAX_IRQS];
    uint16_t avail_idx;           /* the driver's shadow of avail->idx     */
    uint16_t next_desc;           /* next free descriptor                  */
} F;

/* The disk's known contents: distinct per byte and per sector. */
static uint8_t pat(uint64_t off)
{
    return (uint8_t)(off * 131u + (off / SECTOR) * 7u + 0x5au);
}

static void record_irq(struct hv_machine *m, unsigned vector)
{
    assert_ptr_equal(m, &F.m);
    if (F.n_irq < MAX_IRQS)
        F.irq[F.n_irq] = vector;
    F.n_irq++;
}

static int make_file(char *path, size_t pathlen, uint64_t bytes)
{
    snprintf(path, pathlen, "/tmp/hvlab-test-vblk-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    uint8_t buf[SECTOR];
    for (uint64_t off = 0; off < bytes; off += sizeof(buf)) {
        size_t n = bytes - off < sizeof(buf) ? (size_t)(bytes - off) : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(off + i);
        if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
            close(fd);
            unlink(path);
            return -1;
        }
    }
    close(fd);
    return 0;
}

/* A fresh machine with RAM and the disk file, no device yet. */
static int setup_bare(void **state)
{
    char err[256];
    (void)state;
    memset(&F, 0, sizeof(F));
    F.m.prog = "test";
    F.m.raise_irq = record_irq;
    if (guest_mem_create(&F.m.mem, RAM, err, sizeof(err)))
        return -1;
    if (make_file(F.path, sizeof(F.path), DISK_BYTES)) {
        guest_mem_destroy(&F.m.mem);
        return -1;
    }
    return 0;
}

/* The attached disk.  The transport is struct virtio_blk's first member, so
 * this does not depend on vm->dev (which a test may see wiped). */
static struct virtio_blk *blk(void)
{
    if (!F.m.virtio[0])
        return NULL;
    return (struct virtio_blk *)(void *)((char *)F.m.virtio[0] -
                                         offsetof(struct virtio_blk, transport));
}

static int teardown(void **state)
{
    (void)state;
    struct virtio_blk *b = blk();
    if (b && b->fd >= 0) {
        close(b->fd);
        b->fd = -1;
    }
    if (F.path[0])
        unlink(F.path);
    guest_mem_destroy(&F.m.mem);
    return 0;
}

static int setup_disk(bool readonly)
{
    if (setup_bare(NULL))
        return -1;
    if (virtio_blk_attach(&F.m, F.path, readonly) || !F.m.virtio[0]) {
        teardown(NULL);
        return -1;
    }
    return 0;
}

static int setup_rw(void **state)
{
    (void)state;
    return setup_disk(false);
}

static int setup_ro(void **state)
{
    (void)state;
    return setup_disk(true);
}

/* ---- the test driver: registers ---------------------------------------------------- */

static uint32_t reg_read(uint64_t off)
{
    uint64_t v = 0xdeadbeefcafef00dull;
    bus_access(&F.m, HV_SPACE_MMIO, MMIO + off, false, 4, &v);
    assert_true(v <= UINT32_MAX);
    return (uint32_t)v;
}

static void reg_write(uint64_t off, uint32_t v)
{
    uint64_t x = v;
    bus_access(&F.m, HV_SPACE_MMIO, MMIO + off, true, 4, &x);
}

static uint64_t cfg_read(uint64_t off, unsigned size)
{
    uint64_t v = 0xdeadbeefcafef00dull;
    bus_access(&F.m, HV_SPACE_MMIO, MMIO + VIRTIO_MMIO_CONFIG + off, false, size, &v);
    return v;
}

static uint64_t device_features(void)
{
    reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t lo = reg_read(VIRTIO_MMIO_DEVICE_FEATURES);
    reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = reg_read(VIRTIO_MMIO_DEVICE_FEATURES);
    return hi << 32 | lo;
}

/* §3.1.1 steps 1-6.  Returns whether the device kept FEATURES_OK. */
static bool driver_init(uint64_t features)
{
    reg_write(VIRTIO_MMIO_STATUS, ST_ACK);
    reg_write(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
    (void)device_features();
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    reg_write(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
    return reg_read(VIRTIO_MMIO_STATUS) & ST_FOK;
}

static void queue_regs(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
    reg_write(VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
    reg_write(VIRTIO_MMIO_QUEUE_NUM, num);
    reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    reg_write(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    reg_write(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    reg_write(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    reg_write(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    reg_write(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
}

static void queue_setup(void)
{
    queue_regs(QSIZE, DESC, AVAIL, USED);
    reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_READY), 1);
}

static void driver_ok(void)
{
    reg_write(VIRTIO_MMIO_STATUS, reg_read(VIRTIO_MMIO_STATUS) | ST_DOK);
}

/* Fresh rings, then the whole initialisation; the device must accept it. */
static void full_init(uint64_t features)
{
    assert_int_equal(gm_zero(&F.m.mem, DESC, 0x3000), 0);
    F.avail_idx = 0;
    F.next_desc = 0;
    assert_true(driver_init(features));
    queue_setup();
    driver_ok();
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK);
}

/* ---- the test driver: the virtqueue -------------------------------------------------- */

struct seg {
    uint64_t gpa;
    uint32_t len;
    bool write;                   /* device-writable                       */
};

static void write_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint64_t g = DESC + 16ull * i;
    assert_int_equal(gm_write_u64(&F.m.mem, g, addr), 0);
    assert_int_equal(gm_write_u32(&F.m.mem, g + 8, len), 0);
    assert_int_equal(gm_write_u16(&F.m.mem, g + 12, flags), 0);
    assert_int_equal(gm_write_u16(&F.m.mem, g + 14, next), 0);
}

/* Writes a chain into the next free descriptors; returns its head. */
static uint16_t put_chain(const struct seg *s, unsigned n)
{
    uint16_t head = F.next_desc;
    for (unsigned k = 0; k < n; k++) {
        uint16_t i = (uint16_t)((head + k) % QSIZE);
        uint16_t flags = (uint16_t)((s[k].write ? VIRTQ_DESC_F_WRITE : 0) |
                                    (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        write_desc(i, s[k].gpa, s[k].len, flags, (uint16_t)((head + k + 1) % QSIZE));
    }
    F.next_desc = (uint16_t)((head + n) % QSIZE);
    return head;
}

/* Ring entry, a release fence, then avail->idx (§2.7.13). */
static void make_available(uint16_t head)
{
    uint16_t slot = F.avail_idx % QSIZE;
    assert_int_equal(gm_write_u16(&F.m.mem, AVAIL + 4 + 2ull * slot, head), 0);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    F.avail_idx++;
    assert_int_equal(gm_write_u16(&F.m.mem, AVAIL + 2, F.avail_idx), 0);
}

static void notify(void)
{
    reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static void set_avail_flags(uint16_t flags)
{
    assert_int_equal(gm_write_u16(&F.m.mem, AVAIL, flags), 0);
}

static uint16_t ram_u16(uint64_t gpa)
{
    uint16_t v;
    assert_int_equal(gm_read_u16(&F.m.mem, gpa, &v), 0);
    return v;
}

static uint16_t used_idx(void)
{
    return ram_u16(USED + 2);
}

static uint8_t status_byte(void)
{
    uint8_t v;
    assert_int_equal(gm_read_u8(&F.m.mem, STAT, &v), 0);
    return v;
}

static void write_header(uint64_t gpa, uint32_t type, uint64_t sector)
{
    assert_int_equal(gm_write_u32(&F.m.mem, gpa, type), 0);
    assert_int_equal(gm_write_u32(&F.m.mem, gpa + 4, 0), 0);
    assert_int_equal(gm_write_u64(&F.m.mem, gpa + 8, sector), 0);
}

static void fill(uint64_t gpa, uint8_t byte, uint64_t len)
{
    uint8_t *p = gm_ptr(&F.m.mem, gpa, len);
    assert_non_null(p);
    memset(p, byte, len);
}

/* header (readable) | data (writable unless OUT) | status (writable).  The
 * status byte is preset to a sentinel. */
static uint16_t simple_req(uint32_t type, uint64_t sector, uint32_t data_len)
{
    struct seg s[3];
    unsigned n = 0;
    write_header(HDR, type, sector);
    assert_int_equal(gm_write_u8(&F.m.mem, STAT, STAT_SENTINEL), 0);
    s[n++] = (struct seg){HDR, 16, false};
    if (data_len)
        s[n++] = (struct seg){DATA, data_len, type != VIRTIO_BLK_T_OUT};
    s[n++] = (struct seg){STAT, 1, true};
    return put_chain(s, n);
}

/* Makes head available and notifies queue 0: the device must return exactly
 * that chain.  Returns the used length. */
static uint32_t submit(uint16_t head)
{
    uint16_t before = used_idx();
    make_available(head);
    notify();
    assert_int_equal(used_idx(), (uint16_t)(before + 1));
    uint32_t id, len;
    uint64_t e = USED + 4 + 8ull * (before % QSIZE);
    assert_int_equal(gm_read_u32(&F.m.mem, e, &id), 0);
    assert_int_equal(gm_read_u32(&F.m.mem, e + 4, &len), 0);
    assert_int_equal(id, head);
    return len;
}

/* Guest RAM at gpa holds the disk's bytes [off, off + len). */
static void assert_guest_has_disk(uint64_t gpa, uint64_t off, uint32_t len)
{
    const uint8_t *p = gm_ptr(&F.m.mem, gpa, len);
    assert_non_null(p);
    for (uint32_t i = 0; i < len; i++)
        if (p[i] != pat(off + i))
            fail_msg("guest 0x%llx: 0x%02x, the disk's byte %llu is 0x%02x",
                     (unsigned long long)(gpa + i), p[i], (unsigned long long)(off + i),
                     pat(off + i));
}

static void assert_guest_filled(uint64_t gpa, uint8_t byte, uint32_t len)
{
    const uint8_t *p = gm_ptr(&F.m.mem, gpa, len);
    assert_non_null(p);
    for (uint32_t i = 0; i < len; i++)
        if (p[i] != byte)
            fail_msg("guest 0x%llx: 0x%02x, expected untouched 0x%02x",
                     (unsigned long long)(gpa + i), p[i], byte);
}

/* The file on the host, read independently of the device. */
static void read_file(uint64_t off, void *buf, size_t len)
{
    int fd = open(F.path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = pread(fd, buf, len, (off_t)off);
    close(fd);
    assert_int_equal(n, (ssize_t)len);
}

static off_t file_size(void)
{
    struct stat st;
    assert_int_equal(stat(F.path, &st), 0);
    return st.st_size;
}

/* The whole file still holds its original bytes. */
static void assert_file_pristine(void)
{
    static uint8_t buf[DISK_BYTES];
    assert_int_equal(file_size(), (off_t)DISK_BYTES);
    read_file(0, buf, sizeof(buf));
    for (uint32_t i = 0; i < DISK_BYTES; i++)
        if (buf[i] != pat(i))
            fail_msg("file byte %u changed: 0x%02x, was 0x%02x", i, buf[i], pat(i));
}

/* The device said NEEDS_RESET with a configuration interrupt, completed
 * nothing; it then ignores the queue; after status 0 and a full
 * re-initialisation requests work again. */
static void assert_needs_reset_then_recovers(uint16_t used_before, unsigned irqs_before)
{
    assert_true(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);
    assert_true(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(F.n_irq, irqs_before + 1);
    assert_int_equal(F.irq[irqs_before], VEC);
    assert_int_equal(used_idx(), used_before);
    assert_false(F.m.stopped);

    /* A valid request, and another kick: ignored. */
    uint16_t head = simple_req(VIRTIO_BLK_T_IN, 0, SECTOR);
    make_available(head);
    notify();
    notify();
    assert_int_equal(used_idx(), used_before);
    assert_int_equal(status_byte(), STAT_SENTINEL);
    assert_int_equal(F.n_irq, irqs_before + 1);

    reg_write(VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    full_init(DEFAULT_FEATURES);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 1, SECTOR)), SECTOR + 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    assert_guest_has_disk(DATA, 1 * SECTOR, SECTOR);
}

/* ---- identification and configuration --------------------------------------------- */

static void identification_registers_say_virtio_blk_over_mmio_v2(void **state)
{
    (void)state;
    assert_int_equal(reg_read(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976u);
    assert_int_equal(reg_read(VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(reg_read(VIRTIO_MMIO_DEVICE_ID), 2);
    assert_int_not_equal(reg_read(VIRTIO_MMIO_VENDOR_ID), 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), 0);
    assert_false(F.m.stopped);
}

static void queue_num_max_is_256_for_queue_0_and_0_for_queue_1(void **state)
{
    (void)state;
    reg_write(VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
    reg_write(VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    reg_write(VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
}

static void config_has_capacity_seg_max_and_blk_size(void **state)
{
    (void)state;
    assert_int_equal(file_size() / 512, DISK_SECTORS);
    assert_int_equal(cfg_read(0x00, 4), DISK_SECTORS);    /* capacity, low */
    assert_int_equal(cfg_read(0x04, 4), 0);               /* capacity, high */
    assert_int_equal(cfg_read(0x00, 8), (uint64_t)file_size() / 512);
    uint64_t seg_max = cfg_read(0x0c, 4);
    assert_true(seg_max >= 1 && seg_max <= VIRTQ_MAX_SEGS - 2);
    assert_int_equal(cfg_read(0x14, 4), 512);             /* blk_size      */
    assert_false(F.m.stopped);
}

static void config_reads_of_1_2_and_8_bytes_work(void **state)
{
    (void)state;
    assert_int_equal(cfg_read(0x00, 1), DISK_SECTORS & 0xff);
    assert_int_equal(cfg_read(0x01, 1), DISK_SECTORS >> 8);
    assert_int_equal(cfg_read(0x00, 2), DISK_SECTORS);
    assert_int_equal(cfg_read(0x14, 2), 512);
    assert_int_equal(cfg_read(0x15, 1), 2);               /* 512 >> 8      */
    assert_int_equal(cfg_read(0x14, 1), 0);
    assert_int_equal(cfg_read(0x00, 8), DISK_SECTORS);
    assert_int_equal(cfg_read(0x10, 8), 512ull << 32);    /* geometry 0, blk_size */
    assert_false(F.m.stopped);
}

static void config_beyond_its_size_reads_zero(void **state)
{
    (void)state;
    assert_int_equal(cfg_read(0x17, 1), 0);               /* last byte: blk_size's top */
    assert_int_equal(cfg_read(0x18, 4), 0);
    assert_int_equal(cfg_read(0x18, 1), 0);
    assert_int_equal(cfg_read(0x16, 4), 0);               /* straddles the end */
    assert_int_equal(cfg_read(0x14, 8), 0);               /* straddles the end */
    assert_int_equal(cfg_read(0x100, 4), 0);
    assert_int_equal(cfg_read(0xefc, 4), 0);              /* the window's last word */
    assert_false(F.m.stopped);
}

/* ---- features and status ------------------------------------------------------------ */

static void device_offers_version_1_event_idx_and_flush(void **state)
{
    (void)state;
    uint64_t f = device_features();
    assert_true(f & BIT(VIRTIO_F_VERSION_1));
    assert_true(f & BIT(VIRTIO_F_EVENT_IDX));
    assert_true(f & BIT(VIRTIO_BLK_F_FLUSH));
    assert_true(f & BIT(VIRTIO_BLK_F_BLK_SIZE));
    assert_true(f & BIT(VIRTIO_BLK_F_SEG_MAX));
    assert_false(f & BIT(VIRTIO_BLK_F_RO));               /* a writable disk */
    assert_false(f & BIT(28));                            /* no INDIRECT     */
    reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    assert_int_equal(reg_read(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void read_only_disk_offers_ro(void **state)
{
    (void)state;
    uint64_t f = device_features();
    assert_true(f & BIT(VIRTIO_BLK_F_RO));
    assert_true(f & BIT(VIRTIO_F_VERSION_1));
    assert_true(driver_init(DEFAULT_FEATURES | BIT(VIRTIO_BLK_F_RO)));
}

static void features_ok_refused_for_a_bit_not_offered(void **state)
{
    (void)state;
    /* RO on a writable disk. */
    assert_false(driver_init(DEFAULT_FEATURES | BIT(VIRTIO_BLK_F_RO)));
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    reg_write(VIRTIO_MMIO_STATUS, 0);
    /* INDIRECT_DESC, not offered. */
    assert_false(driver_init(DEFAULT_FEATURES | BIT(28)));
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    reg_write(VIRTIO_MMIO_STATUS, 0);
    /* A bit in the high half that is not offered. */
    assert_false(driver_init(DEFAULT_FEATURES | BIT(33)));
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    reg_write(VIRTIO_MMIO_STATUS, 0);
    /* The control: what was offered is accepted. */
    assert_true(driver_init(DEFAULT_FEATURES | BIT(VIRTIO_F_EVENT_IDX)));
    assert_int_equal(F.n_irq, 0);
}

static void features_ok_refused_without_version_1(void **state)
{
    (void)state;
    assert_false(driver_init(DEFAULT_FEATURES & ~BIT(VIRTIO_F_VERSION_1)));
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    reg_write(VIRTIO_MMIO_STATUS, 0);
    assert_false(driver_init(0));
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    assert_int_equal(F.n_irq, 0);
    reg_write(VIRTIO_MMIO_STATUS, 0);
    assert_true(driver_init(BIT(VIRTIO_F_VERSION_1)));
}

static void driver_ok_without_features_ok_needs_reset(void **state)
{
    (void)state;
    assert_false(driver_init(0));                         /* refused      */
    reg_write(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_DOK);
    uint32_t st = reg_read(VIRTIO_MMIO_STATUS);
    assert_true(st & ST_NR);
    assert_false(st & ST_DOK);
    assert_true(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(F.n_irq, 1);
    assert_int_equal(F.irq[0], VEC);
    assert_false(F.m.stopped);
}

static void status_zero_resets_everything(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_FLUSH, 0, 0)), 1);
    reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, 5);               /* NEEDS_RESET    */
    assert_int_equal(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS),
                     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    assert_true(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);

    reg_write(VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    reg_write(VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_READY), 0);
    /* Nothing is served now: no DRIVER_OK, no queue. */
    uint16_t used = used_idx();
    make_available(simple_req(VIRTIO_BLK_T_IN, 0, SECTOR));
    notify();
    assert_int_equal(used_idx(), used);
    assert_int_equal(status_byte(), STAT_SENTINEL);
    /* And the device starts over from index 0 after re-initialisation. */
    full_init(DEFAULT_FEATURES);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 0, SECTOR)), SECTOR + 1);
    assert_int_equal(used_idx(), 1);
}

/* ---- requests -------------------------------------------------------------------------- */

static void in_reads_sectors_3_and_4(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    fill(DATA, 0xa5, 2 * SECTOR + 64);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 3, 2 * SECTOR)), 2 * SECTOR + 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    assert_guest_has_disk(DATA, 3 * SECTOR, 2 * SECTOR);
    assert_guest_filled(DATA + 2 * SECTOR, 0xa5, 64);     /* nothing beyond */
    assert_int_equal(F.n_irq, 1);
}

static void in_with_header_and_data_split_oddly(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    const uint64_t h1 = HDR, h2 = HDR + 0x101;            /* 7 + 9 bytes     */
    const uint64_t d1 = DATA + 0x3, d2 = DATA + 0x1001, d3 = DATA + 0x2fff; /* 100 + 412 + 512 */
    uint8_t h[16];
    uint32_t type = VIRTIO_BLK_T_IN, zero = 0;
    uint64_t sector = 5;
    memcpy(h, &type, 4);
    memcpy(h + 4, &zero, 4);
    memcpy(h + 8, &sector, 8);
    assert_int_equal(gm_write(&F.m.mem, h1, h, 7), 0);
    assert_int_equal(gm_write(&F.m.mem, h2, h + 7, 9), 0);
    fill(d1, 0x11, 100);
    fill(d2, 0x22, 412);
    fill(d3, 0x33, 512);
    assert_int_equal(gm_write_u8(&F.m.mem, STAT, STAT_SENTINEL), 0);
    const struct seg s[] = {
        {h1, 7, false}, {h2, 9, false},
        {d1, 100, true}, {d2, 412, true}, {d3, 512, true}, {STAT, 1, true},
    };
    assert_int_equal(submit(put_chain(s, 6)), 1024 + 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    assert_guest_has_disk(d1, 5 * SECTOR, 100);
    assert_guest_has_disk(d2, 5 * SECTOR + 100, 412);
    assert_guest_has_disk(d3, 5 * SECTOR + 512, 512);
}

/* The status byte is the last device-writable byte, wherever it is. */
static void in_status_byte_shares_the_last_data_descriptor(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    write_header(HDR, VIRTIO_BLK_T_IN, 7);
    fill(DATA, 0x77, SECTOR + 2);
    const struct seg s[] = {{HDR, 16, false}, {DATA, SECTOR + 1, true}};
    assert_int_equal(submit(put_chain(s, 2)), SECTOR + 1);
    assert_guest_has_disk(DATA, 7 * SECTOR, SECTOR);
    assert_int_equal(((uint8_t *)gm_ptr(&F.m.mem, DATA + SECTOR, 1))[0], VIRTIO_BLK_S_OK);
    assert_guest_filled(DATA + SECTOR + 1, 0x77, 1);
}

static void out_writes_to_the_file(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    uint8_t *p = gm_ptr(&F.m.mem, DATA, 2 * SECTOR);
    assert_non_null(p);
    for (unsigned i = 0; i < 2 * SECTOR; i++)
        p[i] = (uint8_t)(i * 3 + 1);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_OUT, 10, 2 * SECTOR)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);

    uint8_t got[4 * SECTOR];
    read_file(9 * SECTOR, got, sizeof(got));
    for (unsigned i = 0; i < SECTOR; i++) {                /* sector 9: untouched */
        assert_int_equal(got[i], pat(9 * SECTOR + i));
        assert_int_equal(got[3 * SECTOR + i], pat(12 * SECTOR + i)); /* sector 12 */
    }
    assert_memory_equal(got + SECTOR, p, 2 * SECTOR);
    assert_int_equal(file_size(), (off_t)DISK_BYTES);
}

/* Header and data in one readable descriptor: the data starts at byte 16. */
static void out_with_header_and_data_in_one_descriptor(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    write_header(HDR, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1);
    fill(HDR + 16, 0xc3, SECTOR);
    assert_int_equal(gm_write_u8(&F.m.mem, STAT, STAT_SENTINEL), 0);
    const struct seg s[] = {{HDR, 16 + SECTOR, false}, {STAT, 1, true}};
    assert_int_equal(submit(put_chain(s, 2)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    uint8_t got[SECTOR], want[SECTOR];
    memset(want, 0xc3, sizeof(want));
    read_file((DISK_SECTORS - 1) * SECTOR, got, sizeof(got));
    assert_memory_equal(got, want, SECTOR);
}

static void flush_returns_ok(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_FLUSH, 0, 0)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
}

static void get_id_returns_nul_padded_hvlab_serial(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    fill(DATA, 0xaa, VIRTIO_BLK_ID_BYTES + 4);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES)),
                     VIRTIO_BLK_ID_BYTES + 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    const char *id = gm_ptr(&F.m.mem, DATA, VIRTIO_BLK_ID_BYTES);
    assert_non_null(id);
    assert_memory_equal(id, "hvlab-", 6);
    size_t len = strnlen(id, VIRTIO_BLK_ID_BYTES);
    assert_true(len > 6);
    for (size_t i = 6; i < len; i++)
        assert_non_null(strchr("0123456789abcdef", id[i]));
    for (size_t i = len; i < VIRTIO_BLK_ID_BYTES; i++) /* NUL-padded          */
        assert_int_equal(id[i], 0);
    assert_guest_filled(DATA + VIRTIO_BLK_ID_BYTES, 0xaa, 4);
    /* Deterministic: the same disk answers the same id. */
    char first[VIRTIO_BLK_ID_BYTES];
    memcpy(first, id, sizeof(first));
    fill(DATA, 0xaa, VIRTIO_BLK_ID_BYTES);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES)),
                     VIRTIO_BLK_ID_BYTES + 1);
    assert_memory_equal(id, first, sizeof(first));
}

static void unknown_type_returns_unsupp(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    fill(DATA, 0x5c, SECTOR);
    assert_int_equal(submit(simple_req(99, 0, SECTOR)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_UNSUPP);
    assert_guest_filled(DATA, 0x5c, SECTOR);
    assert_false(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);
}

static void in_past_the_end_of_the_disk_is_ioerr_and_touches_nothing(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    static const struct { uint64_t sector; uint32_t len; } bad[] = {
        {DISK_SECTORS - 1, 2 * SECTOR}, {DISK_SECTORS, SECTOR},
        {UINT64_MAX, SECTOR}, {UINT64_MAX / SECTOR + 1, SECTOR},
        {(1ull << 55), SECTOR},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fill(DATA, 0x3c, bad[i].len);
        assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, bad[i].sector, bad[i].len)), 1);
        assert_int_equal(status_byte(), VIRTIO_BLK_S_IOERR);
        assert_guest_filled(DATA, 0x3c, bad[i].len);
    }
    /* The control: the last two sectors are inside. */
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, DISK_SECTORS - 2, 2 * SECTOR)),
                     2 * SECTOR + 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    assert_guest_has_disk(DATA, (DISK_SECTORS - 2) * SECTOR, 2 * SECTOR);
    assert_file_pristine();
}

static void in_length_not_whole_sectors_is_ioerr(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    static const uint32_t lens[] = {1, 511, 513, 2 * SECTOR - 1};
    for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        fill(DATA, 0x4d, lens[i]);
        assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 0, lens[i])), 1);
        assert_int_equal(status_byte(), VIRTIO_BLK_S_IOERR);
        assert_guest_filled(DATA, 0x4d, lens[i]);
    }
}

static void out_past_the_end_or_not_whole_sectors_is_ioerr_and_file_unchanged(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    fill(DATA, 0xf0, 2 * SECTOR);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 2 * SECTOR)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_IOERR);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_OUT, DISK_SECTORS, SECTOR)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_IOERR);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_OUT, 0, 100)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_IOERR);
    assert_file_pristine();
}

static void out_on_read_only_disk_is_ioerr_and_file_unchanged(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES | BIT(VIRTIO_BLK_F_RO));
    fill(DATA, 0x99, 2 * SECTOR);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_OUT, 0, 2 * SECTOR)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_IOERR);
    assert_file_pristine();
    /* Reads and flushes still work. */
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 0, 2 * SECTOR)), 2 * SECTOR + 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    assert_guest_has_disk(DATA, 0, 2 * SECTOR);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_FLUSH, 0, 0)), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    assert_file_pristine();
}

/* ---- malformed requests ------------------------------------------------------------ */

static void header_shorter_than_16_bytes_needs_reset(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    write_header(HDR, VIRTIO_BLK_T_IN, 0);
    assert_int_equal(gm_write_u8(&F.m.mem, STAT, STAT_SENTINEL), 0);
    const struct seg s[] = {{HDR, 15, false}, {DATA, SECTOR, true}, {STAT, 1, true}};
    make_available(put_chain(s, 3));
    notify();
    assert_int_equal(status_byte(), STAT_SENTINEL);
    assert_needs_reset_then_recovers(0, 0);
}

static void request_without_writable_status_byte_needs_reset(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    write_header(HDR, VIRTIO_BLK_T_OUT, 0);
    fill(DATA, 0x12, SECTOR);
    const struct seg s[] = {{HDR, 16, false}, {DATA, SECTOR, false}};
    make_available(put_chain(s, 2));
    notify();
    assert_needs_reset_then_recovers(0, 0);
    assert_file_pristine();
}

static void descriptor_loop_needs_reset(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    write_header(HDR, VIRTIO_BLK_T_IN, 0);
    write_desc(0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    write_desc(1, DATA, SECTOR, VIRTQ_DESC_F_NEXT, 0);    /* back to 0      */
    F.next_desc = 2;
    make_available(0);
    notify();
    assert_needs_reset_then_recovers(0, 0);
}

static void buffer_outside_guest_ram_needs_reset(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    write_header(HDR, VIRTIO_BLK_T_IN, 0);
    assert_int_equal(gm_write_u8(&F.m.mem, STAT, STAT_SENTINEL), 0);
    const struct seg s[] = {{HDR, 16, false}, {RAM - 256, SECTOR, true}, {STAT, 1, true}};
    make_available(put_chain(s, 3));
    notify();
    assert_int_equal(status_byte(), STAT_SENTINEL);
    assert_needs_reset_then_recovers(0, 0);
}

static void avail_index_jump_needs_reset(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    simple_req(VIRTIO_BLK_T_IN, 0, SECTOR);
    F.avail_idx = QSIZE + 1;
    assert_int_equal(gm_write_u16(&F.m.mem, AVAIL + 2, F.avail_idx), 0);
    notify();
    assert_int_equal(status_byte(), STAT_SENTINEL);
    assert_needs_reset_then_recovers(0, 0);
}

/* A good request completes, then a bad one: the first stays completed. */
static void malformed_request_after_a_good_one_keeps_the_good_completion(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 2, SECTOR)), SECTOR + 1);
    assert_int_equal(F.n_irq, 1);
    reg_write(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    const struct seg s[] = {{HDR, 8, false}, {STAT, 1, true}};
    make_available(put_chain(s, 2));
    notify();
    assert_needs_reset_then_recovers(1, 1);
}

/* ---- queue register rules ------------------------------------------------------------ */

/* The device refuses QueueReady for this layout with NEEDS_RESET; a reset
 * and a valid layout then work. */
static void assert_queue_layout_refused(uint32_t num, uint64_t desc, uint64_t avail,
                                        uint64_t used)
{
    unsigned irqs = F.n_irq;
    reg_write(VIRTIO_MMIO_STATUS, 0);
    assert_true(driver_init(DEFAULT_FEATURES));
    queue_regs(num, desc, avail, used);
    reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_READY), 0);
    assert_true(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);
    assert_true(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(F.n_irq, irqs + 1);
    assert_int_equal(F.irq[irqs], VEC);
    reg_write(VIRTIO_MMIO_STATUS, 0);
}

static void valid_queue_layout_is_accepted(void)
{
    reg_write(VIRTIO_MMIO_STATUS, 0);
    assert_true(driver_init(DEFAULT_FEATURES));
    queue_setup();
    assert_false(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);
    reg_write(VIRTIO_MMIO_STATUS, 0);
}

static void queue_ready_with_non_power_of_2_size_needs_reset(void **state)
{
    (void)state;
    valid_queue_layout_is_accepted();
    assert_queue_layout_refused(3, DESC, AVAIL, USED);
    assert_queue_layout_refused(100, DESC, AVAIL, USED);
    assert_queue_layout_refused(255, DESC, AVAIL, USED);
    assert_queue_layout_refused(0, DESC, AVAIL, USED);
}

static void queue_ready_with_size_above_256_needs_reset(void **state)
{
    (void)state;
    valid_queue_layout_is_accepted();
    assert_queue_layout_refused(512, DESC, AVAIL, USED);
    assert_queue_layout_refused(257, DESC, AVAIL, USED);
    assert_queue_layout_refused(0x10000u + QSIZE, DESC, AVAIL, USED); /* 16 in a u16 */
}

static void queue_ready_with_rings_outside_ram_needs_reset(void **state)
{
    (void)state;
    valid_queue_layout_is_accepted();
    assert_queue_layout_refused(QSIZE, RAM - 0x80, AVAIL, USED);          /* desc crosses end */
    assert_queue_layout_refused(QSIZE, DESC | 1ull << 32, AVAIL, USED);   /* desc high half */
    assert_queue_layout_refused(QSIZE, DESC, RAM + 0x1000, USED);         /* avail past end */
    assert_queue_layout_refused(QSIZE, DESC, AVAIL, RAM - 8);             /* used crosses end */
    assert_queue_layout_refused(QSIZE, DESC, AVAIL, 0xfffffffffffff000ull);
}

static void queue_num_written_while_ready_needs_reset(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    reg_write(VIRTIO_MMIO_QUEUE_NUM, 8);
    assert_true(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);
    assert_int_equal(F.n_irq, 1);
    assert_int_equal(F.irq[0], VEC);
    assert_needs_reset_then_recovers(0, 0);
    /* A ring address is a queue register too. */
    reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(DESC + 0x1000));
    assert_true(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);
}

static void queue_notify_for_queue_5_needs_reset(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, 5);
    assert_needs_reset_then_recovers(0, 0);
}

static void notify_before_driver_ok_completes_nothing(void **state)
{
    (void)state;
    assert_int_equal(gm_zero(&F.m.mem, DESC, 0x3000), 0);
    assert_true(driver_init(DEFAULT_FEATURES));
    queue_setup();
    make_available(simple_req(VIRTIO_BLK_T_IN, 0, SECTOR));
    notify();
    assert_int_equal(used_idx(), 0);
    assert_int_equal(status_byte(), STAT_SENTINEL);
    assert_int_equal(F.n_irq, 0);
    assert_false(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);
    /* DRIVER_OK, a kick: now it is served. */
    driver_ok();
    notify();
    assert_int_equal(used_idx(), 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
    assert_guest_has_disk(DATA, 0, SECTOR);
}

static void queue_ready_before_features_ok_needs_reset(void **state)
{
    (void)state;
    reg_write(VIRTIO_MMIO_STATUS, ST_ACK);
    reg_write(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
    queue_regs(QSIZE, DESC, AVAIL, USED);
    reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_READY), 0);
    assert_true(reg_read(VIRTIO_MMIO_STATUS) & ST_NR);
    assert_int_equal(F.n_irq, 1);
}

/* ---- interrupts -------------------------------------------------------------------- */

static void completion_raises_the_vector_once_and_ack_clears_it(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    assert_int_equal(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 0, SECTOR)), SECTOR + 1);
    assert_int_equal(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(F.n_irq, 1);
    assert_int_equal(F.irq[0], VEC);
    reg_write(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_int_equal(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    /* A kick with nothing new: no interrupt. */
    notify();
    assert_int_equal(F.n_irq, 1);
    assert_int_equal(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

static void no_interrupt_flag_suppresses_the_interrupt_without_event_idx(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES);
    set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 0, SECTOR)), SECTOR + 1);
    assert_int_equal(F.n_irq, 0);
    assert_false(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
    /* The control: flags 0 wants one. */
    set_avail_flags(0);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 1, SECTOR)), SECTOR + 1);
    assert_int_equal(F.n_irq, 1);
    assert_int_equal(F.irq[0], VEC);
}

static void event_idx_interrupts_only_when_used_event_is_passed(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES | BIT(VIRTIO_F_EVENT_IDX));
    /* used->idx 0 -> 1 passes used_event 0. */
    assert_int_equal(gm_write_u16(&F.m.mem, USED_EVENT, 0), 0);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 0, SECTOR)), SECTOR + 1);
    assert_int_equal(F.n_irq, 1);
    reg_write(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    /* 1 -> 2 with used_event far ahead: quiet. */
    assert_int_equal(gm_write_u16(&F.m.mem, USED_EVENT, 0x8000), 0);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 1, SECTOR)), SECTOR + 1);
    assert_int_equal(F.n_irq, 1);
    assert_false(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
    /* 2 -> 3 with used_event 2 (the index just passed): one interrupt,
     * whatever avail->flags says (ignored with EVENT_IDX, §2.7.10). */
    set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_int_equal(gm_write_u16(&F.m.mem, USED_EVENT, 2), 0);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 2, SECTOR)), SECTOR + 1);
    assert_int_equal(F.n_irq, 2);
    assert_int_equal(F.irq[1], VEC);
    assert_true(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
}

static void event_idx_device_writes_avail_event_after_serving(void **state)
{
    (void)state;
    full_init(DEFAULT_FEATURES | BIT(VIRTIO_F_EVENT_IDX));
    assert_int_equal(gm_write_u16(&F.m.mem, AVAIL_EVENT, 0xbeef), 0);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_FLUSH, 0, 0)), 1);
    assert_int_equal(ram_u16(AVAIL_EVENT), 1);
    /* Two at once, one kick. */
    uint16_t used = used_idx();
    make_available(simple_req(VIRTIO_BLK_T_FLUSH, 0, 0));
    make_available(simple_req(VIRTIO_BLK_T_IN, 4, SECTOR));
    notify();
    assert_int_equal(used_idx(), (uint16_t)(used + 2));
    assert_int_equal(ram_u16(AVAIL_EVENT), 3);
    assert_int_equal(ram_u16(AVAIL_EVENT), F.avail_idx);
}

/* ---- register access rules --------------------------------------------------------- */

static void two_byte_read_of_a_register_stops_the_machine(void **state)
{
    (void)state;
    uint64_t v = 0x1234;
    bus_access(&F.m, HV_SPACE_MMIO, MMIO + VIRTIO_MMIO_MAGIC_VALUE, false, 2, &v);
    assert_true(F.m.stopped);
    assert_int_equal(F.m.status, HV_STATUS_GUEST_RULE);
    assert_int_equal(v, 0);
}

static void narrow_or_unaligned_register_write_stops_the_machine_and_is_ignored(void **state)
{
    (void)state;
    uint64_t v = ST_ACK;
    bus_access(&F.m, HV_SPACE_MMIO, MMIO + VIRTIO_MMIO_STATUS, true, 1, &v);
    assert_true(F.m.stopped);
    assert_int_equal(F.m.status, HV_STATUS_GUEST_RULE);
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), 0);
    v = ST_ACK;
    bus_access(&F.m, HV_SPACE_MMIO, MMIO + VIRTIO_MMIO_STATUS + 2, true, 4, &v);
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), 0);
}

/* ---- attach errors ------------------------------------------------------------------ */

/* Runs virtio_blk_attach with stderr captured; returns its status and how
 * many lines it printed (the text in out). */
static int attach_capturing_stderr(const char *path, bool readonly, unsigned *lines, char *out,
                                   size_t outlen)
{
    char tmp[] = "/tmp/hvlab-test-vblk-err-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    unlink(tmp);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) >= 0);
    int rc = virtio_blk_attach(&F.m, path, readonly);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, outlen - 1, 0);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
    *lines = 0;
    for (const char *p = out; *p; p++)
        *lines += *p == '\n';
    return rc;
}

static void assert_no_device(void)
{
    assert_null(F.m.virtio[0]);
    assert_int_equal(F.m.bus.n, 0);
}

static void attach_missing_file_is_usage_error(void **state)
{
    (void)state;
    char out[1024];
    unsigned lines;
    char path[80];
    snprintf(path, sizeof(path), "%s-missing", F.path);
    assert_int_equal(attach_capturing_stderr(path, false, &lines, out, sizeof(out)),
                     HV_STATUS_USAGE);
    assert_int_equal(lines, 1);
    assert_non_null(strstr(out, path));
    assert_no_device();
    assert_int_equal(attach_capturing_stderr(path, true, &lines, out, sizeof(out)),
                     HV_STATUS_USAGE);
    assert_int_equal(lines, 1);
    assert_no_device();
}

static void attach_file_smaller_than_a_sector_is_usage_error(void **state)
{
    (void)state;
    char out[1024];
    unsigned lines;
    assert_int_equal(truncate(F.path, SECTOR - 1), 0);
    assert_int_equal(attach_capturing_stderr(F.path, false, &lines, out, sizeof(out)),
                     HV_STATUS_USAGE);
    assert_int_equal(lines, 1);
    assert_no_device();
    assert_int_equal(truncate(F.path, 0), 0);
    assert_int_equal(attach_capturing_stderr(F.path, true, &lines, out, sizeof(out)),
                     HV_STATUS_USAGE);
    assert_int_equal(lines, 1);
    assert_no_device();
    /* The control: exactly one sector is a disk. */
    assert_int_equal(truncate(F.path, SECTOR), 0);
    assert_int_equal(virtio_blk_attach(&F.m, F.path, false), 0);
    assert_non_null(F.m.virtio[0]);
    assert_int_equal(cfg_read(0, 8), 1);
}

static void attach_directory_is_usage_error(void **state)
{
    (void)state;
    char out[1024];
    unsigned lines;
    assert_int_equal(attach_capturing_stderr("/tmp", false, &lines, out, sizeof(out)),
                     HV_STATUS_USAGE);
    assert_int_equal(lines, 1);
    assert_no_device();
    assert_int_equal(attach_capturing_stderr("/tmp", true, &lines, out, sizeof(out)),
                     HV_STATUS_USAGE);
    assert_int_equal(lines, 1);
    assert_no_device();
}

/* A previous test's device is gone: this fresh machine has nothing in slot
 * 0 until it attaches its own disk, which starts from power-on state. */
static void fresh_machine_has_no_device_until_attach(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_no_device();
    bus_access(&F.m, HV_SPACE_MMIO, MMIO, false, 4, &v); /* nothing there */
    assert_true(F.m.stopped);
    memset(&F.m.why, 0, sizeof(F.m.why));
    F.m.stopped = false;
    F.m.status = 0;
    assert_int_equal(virtio_blk_attach(&F.m, F.path, false), 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_int_equal(reg_read(VIRTIO_MMIO_QUEUE_READY), 0);
    assert_ptr_equal(F.m.virtio[0]->m, &F.m);
}

/* virtio_blk.h: HV_STATUS_MONITOR when the slot is taken — and the disk
 * already there must keep working. */
static void attach_when_slot_taken_is_monitor_error_and_keeps_the_first_disk(void **state)
{
    (void)state;
    char out[1024];
    unsigned lines;
    full_init(DEFAULT_FEATURES);
    int first_fd = blk()->fd;
    int rc = attach_capturing_stderr(F.path, true, &lines, out, sizeof(out));
    /* Whatever happened, close the descriptor the teardown will not. */
    if (blk()->fd != first_fd)
        close(first_fd);
    assert_int_equal(rc, HV_STATUS_MONITOR);
    assert_int_equal(lines, 1);
    /* The attached disk is untouched: its transport, its file, its state
     * (virtio_blk_attach checks the slot before it opens anything). */
    assert_non_null(F.m.virtio[0]->ops);
    assert_ptr_equal(F.m.virtio[0]->m, &F.m);
    assert_int_equal(blk()->fd, first_fd);
    assert_int_equal(reg_read(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK);
    assert_int_equal(submit(simple_req(VIRTIO_BLK_T_IN, 0, SECTOR)), SECTOR + 1);
    assert_int_equal(status_byte(), VIRTIO_BLK_S_OK);
}

int main(void)
{
#define RW(t) cmocka_unit_test_setup_teardown(t, setup_rw, teardown)
#define RO(t) cmocka_unit_test_setup_teardown(t, setup_ro, teardown)
#define BARE(t) cmocka_unit_test_setup_teardown(t, setup_bare, teardown)
    const struct CMUnitTest tests[] = {
        RW(identification_registers_say_virtio_blk_over_mmio_v2),
        RW(queue_num_max_is_256_for_queue_0_and_0_for_queue_1),
        RW(config_has_capacity_seg_max_and_blk_size),
        RW(config_reads_of_1_2_and_8_bytes_work),
        RW(config_beyond_its_size_reads_zero),
        RW(device_offers_version_1_event_idx_and_flush),
        RO(read_only_disk_offers_ro),
        RW(features_ok_refused_for_a_bit_not_offered),
        RW(features_ok_refused_without_version_1),
        RW(driver_ok_without_features_ok_needs_reset),
        RW(status_zero_resets_everything),
        RW(in_reads_sectors_3_and_4),
        RW(in_with_header_and_data_split_oddly),
        RW(in_status_byte_shares_the_last_data_descriptor),
        RW(out_writes_to_the_file),
        RW(out_with_header_and_data_in_one_descriptor),
        RW(flush_returns_ok),
        RW(get_id_returns_nul_padded_hvlab_serial),
        RW(unknown_type_returns_unsupp),
        RW(in_past_the_end_of_the_disk_is_ioerr_and_touches_nothing),
        RW(in_length_not_whole_sectors_is_ioerr),
        RW(out_past_the_end_or_not_whole_sectors_is_ioerr_and_file_unchanged),
        RO(out_on_read_only_disk_is_ioerr_and_file_unchanged),
        RW(header_shorter_than_16_bytes_needs_reset),
        RW(request_without_writable_status_byte_needs_reset),
        RW(descriptor_loop_needs_reset),
        RW(buffer_outside_guest_ram_needs_reset),
        RW(avail_index_jump_needs_reset),
        RW(malformed_request_after_a_good_one_keeps_the_good_completion),
        RW(queue_ready_with_non_power_of_2_size_needs_reset),
        RW(queue_ready_with_size_above_256_needs_reset),
        RW(queue_ready_with_rings_outside_ram_needs_reset),
        RW(queue_num_written_while_ready_needs_reset),
        RW(queue_notify_for_queue_5_needs_reset),
        RW(notify_before_driver_ok_completes_nothing),
        RW(queue_ready_before_features_ok_needs_reset),
        RW(completion_raises_the_vector_once_and_ack_clears_it),
        RW(no_interrupt_flag_suppresses_the_interrupt_without_event_idx),
        RW(event_idx_interrupts_only_when_used_event_is_passed),
        RW(event_idx_device_writes_avail_event_after_serving),
        RW(two_byte_read_of_a_register_stops_the_machine),
        RW(narrow_or_unaligned_register_write_stops_the_machine_and_is_ignored),
        BARE(attach_missing_file_is_usage_error),
        BARE(attach_file_smaller_than_a_sector_is_usage_error),
        BARE(attach_directory_is_usage_error),
        BARE(fresh_machine_has_no_device_until_attach),
        RW(attach_when_slot_taken_is_monitor_error_and_keeps_the_first_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
