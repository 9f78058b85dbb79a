/*
 * virtio-blk (virtio 1.2 §5.2) backed by a host file: `--disk FILE`,
 * `--disk-readonly`.  One request queue; requests are served in the
 * monitor's thread when the driver notifies it, with pread/pwrite straight
 * into guest RAM (the buffers were checked to lie in RAM by virtq_pop).
 *
 *   IN       read sectors into the device-writable buffers
 *   OUT      write sectors from the device-readable buffers (IOERR when
 *            the disk is read-only: VIRTIO_BLK_F_RO, §5.2.6.2)
 *   FLUSH    fdatasync(2) before the request completes (VIRTIO_BLK_F_FLUSH)
 *   GET_ID   the 20-byte serial number
 *   others   UNSUPP
 *
 * A request's framing is the driver's choice (§2.6.4): the 16-byte header
 * and the data may be split over descriptors any way; the status byte is the
 * last device-writable byte.  A chain without a full header or without a
 * status byte is a driver error (the device needs a reset); an I/O outside
 * the disk, a length that is not whole sectors, or a failed read or write
 * completes with IOERR.
 */
#ifndef LIBHV_VIRTIO_BLK_H
#define LIBHV_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "libhv/virtio_mmio.h"

struct hv_machine;

struct virtio_blk {
    struct virtio_mmio transport;
    struct virtio_device_ops ops; /* blk's, with VIRTIO_BLK_F_RO when read-only */
    int fd;
    bool readonly;
    uint64_t capacity;           /* in 512-byte sectors                    */
    char serial[VIRTIO_BLK_ID_BYTES + 1];
    uint64_t reads, writes, flushes, bytes_read, bytes_written; /* requests */
};

/* Opens FILE (read-only when readonly) and attaches the disk in virtio-mmio
 * slot 0.  Returns 0, or HV_STATUS_USAGE with one line on stderr when the
 * file cannot be used, or HV_STATUS_MONITOR when the slot is taken. */
int virtio_blk_attach(struct hv_machine *m, const char *path, bool readonly);

/* The device model alone, for tests: serve one request of an attached
 * disk.  (The transport calls it through struct virtio_device_ops.) */
int virtio_blk_handle(struct virtio_mmio *vm, void *dev, unsigned q, const struct virtq_req *req,
                      uint32_t *written, char *why, size_t whylen);

#endif
