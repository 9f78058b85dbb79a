/*
 * bench_io.c - the io group: what a paravirtual block device costs under
 * each technique (DESIGN.md §7, docs/benchmarks.md §3.3).  Every request
 * goes through the guest's virtio-blk driver (blk.c): a descriptor chain,
 * a kick by the technique's own path, an interrupt (or a poll), the used
 * ring.  One op is one request:
 *
 *   io.blk_read_lat_qd1     4 KiB random reads, one at a time; the line
 *                           also carries the median and 99th percentile of
 *                           the single requests (p50= p99=, ns)
 *   io.blk_read_iops_qd1    the same, as throughput (the report shows IOPS)
 *   io.blk_read_iops_qd32   4 KiB random reads, 32 in flight: one more
 *                           submitted (and kicked) for each one completed
 *   io.blk_seq_read_mbps    64 KiB sequential reads, one at a time (MB/s)
 *   io.blk_write_iops_qd32  4 KiB random writes, 32 in flight
 *
 * and each again with `.noevent`: VIRTIO_F_EVENT_IDX left out of the
 * negotiation, so that the report shows what the event index saves (kicks
 * and interrupts per request).  Interrupt-driven completion throughout.
 * The mirrors: fio's randread/randwrite/read jobs at iodepth 1 and 32, the
 * workloads of the virtio and vhost papers.
 *
 * The disk is the one the monitor was given (make bench passes --disk);
 * without one every io benchmark is n/a.  Random offsets come from a fixed
 * LCG, 4 KiB aligned, over the whole disk: the same sequence on every row.
 */
#include "kernel.h"
#include "bench.h"
#include "blk.h"
#include "mm.h"
#include "timer.h"
#include "x86.h"

#define IO_BLOCK      4096u
#define IO_SEQ_BYTES  65536u
#define IO_QD_MAX     32u
#define LAT_SAMPLES   1024u

enum io_kind { IO_RANDOM, IO_SEQUENTIAL };

struct io_spec {
    uint32_t type;               /* VIRTIO_BLK_T_IN / _OUT */
    enum io_kind kind;
    uint32_t bytes;              /* per request */
    unsigned qd;                 /* requests in flight */
    bool event_idx;
    bool latency;                /* record per-request times */
};

static struct blk disk;
static bool disk_open;
static uint64_t buffers;         /* IO_QD_MAX x 64 KiB, contiguous */
static uint64_t lcg = 1;
static uint64_t seq_next;        /* next sector of the sequential read */

static uint64_t io_loop(const struct bench *b, uint64_t n);
static void io_teardown(const struct bench *b);

/* ---- set-up ----------------------------------------------------------------------- */

static const char *io_na(const struct bench *b)
{
    static struct virtio_dev probe;
    const char *why;
    (void)b;
    if (virtio_find(VIRTIO_ID_BLOCK, &probe, &why))
        return "no virtio-blk disk (make bench runs the monitors with --disk)";
    return NULL;
}

static int io_setup(const struct bench *b)
{
    const struct io_spec *s = b->spec;
    const char *why;
    if (!buffers && !(buffers = pmm_alloc_run(IO_QD_MAX * IO_SEQ_BYTES / PAGE_SIZE))) {
        bench_fail("no room for %u KiB of I/O buffers", IO_QD_MAX * IO_SEQ_BYTES / 1024);
        return -1;
    }
    if (blk_open(&disk, s->event_idx, true, &why)) {
        bench_fail("the disk did not start: %s", why);
        return -1;
    }
    if (disk.capacity < 2 * IO_SEQ_BYTES / VIRTIO_BLK_SECTOR) {
        blk_close(&disk);
        bench_fail("the disk is too small (%lu sectors)", disk.capacity);
        return -1;
    }
    if (s->type == VIRTIO_BLK_T_OUT && disk.readonly) {
        blk_close(&disk);
        bench_fail("the disk is read-only");
        return -1;
    }
    disk_open = true;
    lcg = 1;
    seq_next = 0;
    /* Untimed warm-up: the first requests pay for what the host has not
     * touched yet (page cache, the device thread), and a calibration that
     * starts on one such request stops after it. */
    if (!io_loop(b, 2 * s->qd)) {
        io_teardown(b);
        return -1;
    }
    return 0;
}

static void io_teardown(const struct bench *b)
{
    (void)b;
    if (disk_open)
        blk_close(&disk);
    disk_open = false;
}

/* ---- requests ----------------------------------------------------------------------- */

static uint64_t next_sector(const struct io_spec *s)
{
    uint64_t per = s->bytes / VIRTIO_BLK_SECTOR, slots = disk.capacity / per;
    if (s->kind == IO_SEQUENTIAL) {
        uint64_t sec = seq_next;
        seq_next = seq_next + per + per > disk.capacity ? 0 : seq_next + per;
        return sec;
    }
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull; /* Knuth's MMIX LCG */
    return (lcg >> 33) % slots * per;
}

static bool submit_one(const struct io_spec *s, unsigned slot)
{
    uint64_t buf = buffers + (uint64_t)slot * IO_SEQ_BYTES;
    if (blk_submit(&disk, s->type, next_sector(s), buf, s->bytes) < 0) {
        bench_fail("the ring is full");
        return false;
    }
    return true;
}

static bool reap(uint16_t *heads, unsigned *n)
{
    const char *why;
    int got = blk_reap(&disk, heads, IO_QD_MAX, &why);
    if (got < 0) {
        bench_fail("%s", why);
        return false;
    }
    for (int i = 0; i < got; i++)
        if (disk.slots[heads[i]].status != VIRTIO_BLK_S_OK) {
            bench_fail("a request failed with status %u", disk.slots[heads[i]].status);
            return false;
        }
    *n = (unsigned)got;
    return true;
}

/* ---- per-request latency (io.blk_read_lat_qd1) ------------------------------------- */

static uint64_t lat[LAT_SAMPLES];
static unsigned n_lat;

/* Shell sort: a few thousand values, no recursion, no allocation. */
static void sort_u64(uint64_t *v, unsigned n)
{
    for (unsigned gap = n / 2; gap; gap /= 2)
        for (unsigned i = gap; i < n; i++)
            for (unsigned j = i; j >= gap && v[j - gap] > v[j]; j -= gap) {
                uint64_t t = v[j];
                v[j] = v[j - gap];
                v[j - gap] = t;
            }
}

static uint64_t cycles_to_ns(uint64_t c)
{
    return c * 1000000u / tsc_khz();
}

static void latency_extra(const struct bench *b, char *buf, unsigned len)
{
    (void)b;
    if (!n_lat)
        return;
    sort_u64(lat, n_lat);
    snprintf(buf, len, " p50=%lu p99=%lu", cycles_to_ns(lat[n_lat / 2]),
             cycles_to_ns(lat[(n_lat * 99) / 100]));
}

/* ---- the loop ------------------------------------------------------------------------ */

/* One request added and offered to the device: a driver without request
 * plugging kicks after every request, and leaves it to the device to say
 * (EVENT_IDX's avail_event, or NO_NOTIFY while it serves) when a kick is
 * not needed; virtio_kick asks. */
static bool submit_and_kick(const struct io_spec *s, unsigned slot)
{
    if (!submit_one(s, slot))
        return false;
    if (blk_kick(&disk) < 0) {
        bench_fail("the hypervisor refused the notification");
        return false;
    }
    return true;
}

/*
 * n requests with up to qd in flight: qd submitted (each kicked), then for
 * every completion taken one more.  The driver reaps after an interrupt
 * and asks for the next interrupt only then (used_event = what it has
 * seen): with EVENT_IDX a device that completes several requests before
 * the driver looks interrupts once for all of them; without, once per
 * completion the driver did not mask.  QD1 is the same loop with one in
 * flight (and, for the latency benchmark, each request timed on its own).
 */
static uint64_t io_loop(const struct bench *b, uint64_t n)
{
    const struct io_spec *s = b->spec;
    uint16_t heads[IO_QD_MAX];
    uint64_t issued = 0, done = 0;
    if (n)
        n_lat = 0;              /* the base run (n = 0) keeps the measured run's */
    uint64_t t0 = rdtsc(), t_req = t0;
    while (issued < n && issued < s->qd)
        if (!submit_and_kick(s, (unsigned)issued++))
            return 0;
    while (done < n) {
        unsigned got;
        if (!reap(heads, &got))
            return 0;
        done += got;
        if (s->latency && n_lat < LAT_SAMPLES) {
            uint64_t now = rdtsc();
            lat[n_lat++] = now - t_req;
            t_req = now;
        }
        for (unsigned i = 0; i < got && issued < n; i++, issued++)
            if (!submit_and_kick(s, heads[i] % IO_QD_MAX))
                return 0;
    }
    return rdtsc() - t0;
}

/* ---- the group ------------------------------------------------------------------------- */

static const struct io_spec lat_qd1 = {VIRTIO_BLK_T_IN, IO_RANDOM, IO_BLOCK, 1, true, true};
static const struct io_spec rd_qd1 = {VIRTIO_BLK_T_IN, IO_RANDOM, IO_BLOCK, 1, true, false};
static const struct io_spec rd_qd32 = {VIRTIO_BLK_T_IN, IO_RANDOM, IO_BLOCK, 32, true, false};
static const struct io_spec seq = {VIRTIO_BLK_T_IN, IO_SEQUENTIAL, IO_SEQ_BYTES, 1, true, false};
static const struct io_spec wr_qd32 = {VIRTIO_BLK_T_OUT, IO_RANDOM, IO_BLOCK, 32, true, false};
static const struct io_spec lat_qd1_ne = {VIRTIO_BLK_T_IN, IO_RANDOM, IO_BLOCK, 1, false, true};
static const struct io_spec rd_qd1_ne = {VIRTIO_BLK_T_IN, IO_RANDOM, IO_BLOCK, 1, false, false};
static const struct io_spec rd_qd32_ne = {VIRTIO_BLK_T_IN, IO_RANDOM, IO_BLOCK, 32, false, false};
static const struct io_spec seq_ne = {VIRTIO_BLK_T_IN, IO_SEQUENTIAL, IO_SEQ_BYTES, 1, false,
                                      false};
static const struct io_spec wr_qd32_ne = {VIRTIO_BLK_T_OUT, IO_RANDOM, IO_BLOCK, 32, false,
                                          false};

/* qd: the calibration starts with a full queue, so every count it tries
 * is whole rounds of qd requests (the per-request kicks and interrupts of
 * a round then divide exactly). */
#define IO_BENCH(n, s, qd, x)                                                              \
    { .name = "io." n, .unit = "ns/req", .spec = &(s), .na = io_na, .setup = io_setup,      \
      .teardown = io_teardown, .loop = io_loop, .n_start = (qd), .extra = (x) }

const struct bench bench_io_group[] = {
    IO_BENCH("blk_read_lat_qd1", lat_qd1, 1, latency_extra),
    IO_BENCH("blk_read_iops_qd1", rd_qd1, 1, NULL),
    IO_BENCH("blk_read_iops_qd32", rd_qd32, 32, NULL),
    IO_BENCH("blk_seq_read_mbps", seq, 1, NULL),
    IO_BENCH("blk_write_iops_qd32", wr_qd32, 32, NULL),
    IO_BENCH("blk_read_lat_qd1.noevent", lat_qd1_ne, 1, latency_extra),
    IO_BENCH("blk_read_iops_qd1.noevent", rd_qd1_ne, 1, NULL),
    IO_BENCH("blk_read_iops_qd32.noevent", rd_qd32_ne, 32, NULL),
    IO_BENCH("blk_seq_read_mbps.noevent", seq_ne, 1, NULL),
    IO_BENCH("blk_write_iops_qd32.noevent", wr_qd32_ne, 32, NULL),
};
const unsigned bench_io_count = ARRAY_SIZE(bench_io_group);
