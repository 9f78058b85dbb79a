/*
 * Virtio constants both sides use: the virtio-mmio register file, status and
 * feature bits, split-ring flags, and the block device's request types
 * (virtio 1.2: §2, §4.2, §5.2).  Numbers fixed by the specification, shared
 * by the device models (libhv/virtio_*.c) and the guest's driver
 * (guestkernel/virtio*.c), so that the two cannot disagree.
 */
#ifndef HVLAB_VIRTIO_H
#define HVLAB_VIRTIO_H

#include <stdint.h>

/* Register offsets (§4.2.2, table "MMIO Device Register Layout"). */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000 /* "virt" */
#define VIRTIO_MMIO_VERSION             0x004 /* 2: virtio 1.x ("modern") */
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC  0x74726976u /* "virt", little-endian */
#define VIRTIO_MMIO_VENDOR 0x564c4148u /* "HALV": hvlab's vendor id */

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        1u
#define VIRTIO_STATUS_DRIVER             2u
#define VIRTIO_STATUS_DRIVER_OK          4u
#define VIRTIO_STATUS_FEATURES_OK        8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED             128u

/* InterruptStatus bits (§4.2.2). */
#define VIRTIO_MMIO_INT_VRING  1u    /* a used buffer was returned        */
#define VIRTIO_MMIO_INT_CONFIG 2u    /* configuration changed (or NEEDS_RESET) */

/* Reserved feature bits (§6). */
#define VIRTIO_F_EVENT_IDX  29
#define VIRTIO_F_VERSION_1  32

/* Descriptor flags (§2.7.5). */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u /* device-writable (else device-readable) */
#define VIRTQ_DESC_F_INDIRECT 4u /* not offered by hvlab's devices         */

/* Ring flags (§2.7.6, §2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY     1u

#define VIRTIO_ID_BLOCK 2u

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

#define VIRTIO_BLK_T_IN     0u
#define VIRTIO_BLK_T_OUT    1u
#define VIRTIO_BLK_T_FLUSH  4u
#define VIRTIO_BLK_T_GET_ID 8u

#define VIRTIO_BLK_S_OK     0u
#define VIRTIO_BLK_S_IOERR  1u
#define VIRTIO_BLK_S_UNSUPP 2u

#define VIRTIO_BLK_SECTOR   512u
#define VIRTIO_BLK_ID_BYTES 20u

/* Split-ring layouts (§2.7.5, §2.7.8), little-endian, as both sides see
 * them in guest RAM: descriptor table entries and used-ring elements.  The
 * rings' headers are two le16 (flags, idx) before their entries. */
struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
struct virtq_used_elem {
    uint32_t id;                 /* head of the chain                      */
    uint32_t len;                /* bytes the device wrote                 */
};

/* The header of every block request (§5.2.6), device-readable. */
struct virtio_blk_req_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem is 8 bytes");
_Static_assert(sizeof(struct virtio_blk_req_header) == 16, "the block request header is 16 bytes");

#endif
