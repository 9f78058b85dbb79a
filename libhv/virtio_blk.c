/*
 * virtio-blk backed by a host file (see virtio_blk.h).  One request, from
 * the chain virtq_pop checked to the status byte:
 *   read the 16-byte header out of the device-readable bytes (one copy:
 *   the guest may change it meanwhile), check type, sector and length,
 *   move the data between the file and guest RAM with pread/pwrite, write
 *   the status byte, and tell the transport how many bytes were written.
 */
#include "libhv/virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libhv/machine.h"

/* ---- the request's bytes ----------------------------------------------------------- */

/*
 * The request's device-readable bytes (or its device-writable ones) form
 * one byte string however the driver split it over descriptors; each_span
 * calls fn on the host memory of [from, from + len) of that string, piece
 * by piece.  virtq_pop checked every segment to lie in RAM, so gm_ptr
 * succeeds; it is asked anyway, so that a mistake here cannot reach
 * outside guest RAM.
 */
typedef int (*span_fn)(void *ctx, uint8_t *host, uint32_t len);

static int each_span(const struct guest_mem *gm, const struct virtq_req *req, bool writable,
                     uint64_t from, uint64_t len, span_fn fn, void *ctx)
{
    for (unsigned i = 0; i < req->n && len; i++) {
        const struct virtq_seg *s = &req->seg[i];
        if (s->device_writes != writable)
            continue;
        if (from >= s->len) {
            from -= s->len;
            continue;
        }
        uint32_t chunk = (uint32_t)(s->len - from < len ? s->len - from : len);
        uint8_t *host = gm_ptr(gm, s->gpa + from, chunk);
        /* A write for the guest may only land where the guest could write
         * itself (gm_dma_write_ok: not in hv-paravirt's pinned tables). */
        if (!host || (writable && !gm_dma_write_ok(gm, s->gpa + from, chunk)) ||
            fn(ctx, host, chunk))
            return -1;
        len -= chunk;
        from = 0;
    }
    return len ? -1 : 0;
}

struct copy_ctx {
    uint8_t *buf;
    bool to_guest;
};

static int copy_span(void *ctx, uint8_t *host, uint32_t len)
{
    struct copy_ctx *c = ctx;
    if (c->to_guest)
        memcpy(host, c->buf, len);
    else
        memcpy(c->buf, host, len);
    c->buf += len;
    return 0;
}

struct file_ctx {
    int fd;
    uint64_t offset;             /* in the file */
    bool to_guest;               /* pread (IN) or pwrite (OUT) */
    uint64_t done;
};

/* A short read means the file shrank under us: an I/O error, not zeros. */
static int file_span(void *ctx, uint8_t *host, uint32_t len)
{
    struct file_ctx *c = ctx;
    while (len) {
        ssize_t n = c->to_guest ? pread(c->fd, host, len, (off_t)c->offset)
                                : pwrite(c->fd, host, len, (off_t)c->offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        host += n;
        len -= (uint32_t)n;
        c->offset += (uint64_t)n;
        c->done += (uint64_t)n;
    }
    return 0;
}

/* ---- the requests ---------------------------------------------------------------- */

/* The data of an IN or OUT: whole sectors, inside the disk. */
static bool io_range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
    return bytes % VIRTIO_BLK_SECTOR == 0 && sector <= b->capacity &&
           bytes / VIRTIO_BLK_SECTOR <= b->capacity - sector;
}

static uint8_t blk_read(struct virtio_blk *b, const struct virtq_req *req, uint64_t sector,
                        uint64_t *written)
{
    uint64_t bytes = req->in_bytes - 1;
    struct file_ctx c = {.fd = b->fd, .offset = sector * VIRTIO_BLK_SECTOR, .to_guest = true};
    if (!io_range_ok(b, sector, bytes))
        return VIRTIO_BLK_S_IOERR;
    int rc = each_span(&b->transport.m->mem, req, true, 0, bytes, file_span, &c);
    *written = c.done;
    b->reads++;
    b->bytes_read += c.done;
    return rc ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static uint8_t blk_write(struct virtio_blk *b, const struct virtq_req *req, uint64_t sector)
{
    uint64_t bytes = req->out_bytes - sizeof(struct virtio_blk_req_header);
    struct file_ctx c = {.fd = b->fd, .offset = sector * VIRTIO_BLK_SECTOR, .to_guest = false};
    if (b->readonly || !io_range_ok(b, sector, bytes))
        return VIRTIO_BLK_S_IOERR; /* §5.2.6.2: nothing written when RO */
    int rc = each_span(&b->transport.m->mem, req, false, sizeof(struct virtio_blk_req_header), bytes,
                       file_span, &c);
    b->writes++;
    b->bytes_written += c.done;
    return rc ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* §5.2.6.2: the data must be on stable storage before FLUSH completes. */
static uint8_t blk_flush(struct virtio_blk *b)
{
    b->flushes++;
    if (b->readonly)
        return VIRTIO_BLK_S_OK;  /* nothing can be dirty */
    return fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* The serial, NUL-padded to 20 bytes; a shorter buffer gets what fits. */
static uint8_t blk_get_id(struct virtio_blk *b, const struct virtq_req *req, uint64_t *written)
{
    uint8_t id[VIRTIO_BLK_ID_BYTES] = {0};
    uint64_t room = req->in_bytes - 1;
    uint64_t n = room < sizeof(id) ? room : sizeof(id);
    memcpy(id, b->serial, strlen(b->serial));
    struct copy_ctx c = {.buf = id, .to_guest = true};
    if (each_span(&b->transport.m->mem, req, true, 0, n, copy_span, &c))
        return VIRTIO_BLK_S_IOERR;
    *written = n;
    return VIRTIO_BLK_S_OK;
}

int virtio_blk_handle(struct virtio_mmio *vm, void *dev, unsigned q, const struct virtq_req *req,
                      uint32_t *written, char *why, size_t whylen)
{
    struct virtio_blk *b = dev;
    struct virtio_blk_req_header h;
    (void)vm;
    (void)q;
    if (req->out_bytes < sizeof(h) || req->in_bytes < 1) {
        snprintf(why, whylen, "a block request needs a 16-byte header and a status byte "
                 "(%llu readable, %llu writable bytes)", (unsigned long long)req->out_bytes,
                 (unsigned long long)req->in_bytes);
        return -1;
    }
    struct copy_ctx hc = {.buf = (uint8_t *)&h, .to_guest = false};
    if (each_span(&vm->m->mem, req, false, 0, sizeof(h), copy_span, &hc)) {
        snprintf(why, whylen, "the request header is not in guest RAM");
        return -1;
    }
    uint64_t data_written = 0;
    uint8_t status;
    switch (h.type) {
    case VIRTIO_BLK_T_IN: status = blk_read(b, req, h.sector, &data_written); break;
    case VIRTIO_BLK_T_OUT: status = blk_write(b, req, h.sector); break;
    case VIRTIO_BLK_T_FLUSH: status = blk_flush(b); break;
    case VIRTIO_BLK_T_GET_ID: status = blk_get_id(b, req, &data_written); break;
    default: status = VIRTIO_BLK_S_UNSUPP; break;
    }
    struct copy_ctx sc = {.buf = &status, .to_guest = true};
    if (each_span(&vm->m->mem, req, true, req->in_bytes - 1, 1, copy_span, &sc)) {
        snprintf(why, whylen, "the status byte is not in guest RAM");
        return -1;
    }
    *written = (uint32_t)(data_written + 1);
    return 0;
}

/* ---- configuration space and features -------------------------------------------- */

/* struct virtio_blk_config (§5.2.4), the fields this device offers:
 * capacity at 0, size_max at 8 (not offered), seg_max at 12, geometry at
 * 16 (not offered), blk_size at 20. */
#define BLK_CONFIG_SIZE 24u

static void blk_config_read(void *dev, uint32_t offset, unsigned size, uint64_t *value)
{
    const struct virtio_blk *b = dev;
    uint8_t cfg[BLK_CONFIG_SIZE] = {0};
    uint32_t seg_max = VIRTQ_MAX_SEGS - 2, blk_size = VIRTIO_BLK_SECTOR; /* header, status */
    memcpy(cfg + 0, &b->capacity, 8);
    memcpy(cfg + 12, &seg_max, 4);
    memcpy(cfg + 20, &blk_size, 4);
    *value = 0;
    memcpy(value, cfg + offset, size); /* the transport checked the range */
}

static const struct virtio_device_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX |
                1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                1ull << VIRTIO_BLK_F_FLUSH,
    .config_size = BLK_CONFIG_SIZE,
    .config_read = blk_config_read,
    .handle = virtio_blk_handle,
};

/* ---- attaching ---------------------------------------------------------------------- */

static struct virtio_blk the_disk;  /* one disk per monitor: --disk */

static int open_disk(struct hv_machine *m, struct virtio_blk *b, const char *path, bool ro)
{
    struct stat st = {0};
    b->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (b->fd < 0) {
        fprintf(stderr, "%s: --disk %s: %s%s\n", m->prog, path, strerror(errno),
                errno == EACCES || errno == EROFS ? " (try --disk-readonly)" : "");
        return HV_STATUS_USAGE;
    }
    if (fstat(b->fd, &st) || !S_ISREG(st.st_mode) || st.st_size < (off_t)VIRTIO_BLK_SECTOR) {
        fprintf(stderr, "%s: --disk %s: %s\n", m->prog, path,
                !st.st_mode ? strerror(errno)
                : !S_ISREG(st.st_mode) ? "not a regular file"
                                       : "smaller than one 512-byte sector");
        close(b->fd);
        b->fd = -1;
        return HV_STATUS_USAGE;
    }
    /* A tail shorter than a sector is not part of the disk. */
    b->capacity = (uint64_t)st.st_size / VIRTIO_BLK_SECTOR;
    b->readonly = ro;
    snprintf(b->serial, sizeof(b->serial), "hvlab-%lx", (unsigned long)st.st_ino);
    return 0;
}

/* Device interrupts use vector HVLAB_VIRTIO_IRQ_VECTOR(slot). */
int virtio_blk_attach(struct hv_machine *m, const char *path, bool readonly)
{
    struct virtio_blk *b = &the_disk;
    if (m->virtio[0]) {          /* before touching the disk that may be there */
        fprintf(stderr, "%s: cannot attach the disk: virtio-mmio slot 0 is taken\n", m->prog);
        return HV_STATUS_MONITOR;
    }
    memset(b, 0, sizeof(*b));
    int rc = open_disk(m, b, path, readonly);
    if (rc)
        return rc;
    b->ops = blk_ops;
    if (readonly)
        b->ops.features |= 1ull << VIRTIO_BLK_F_RO;
    if (virtio_mmio_attach(m, &b->transport, 0, HVLAB_VIRTIO_IRQ_VECTOR(0), &b->ops, b)) {
        fprintf(stderr, "%s: cannot attach the disk: virtio-mmio slot 0 is taken\n", m->prog);
        return HV_STATUS_MONITOR;
    }
    return 0;
}
