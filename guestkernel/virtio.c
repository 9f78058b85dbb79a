/*
 * virtio.c - the virtio-mmio transport, driver side (virtio 1.2 §4.2.3).
 *
 * The device is found in the boot info's device table (no probing of
 * addresses: the monitor says where each virtio-mmio window is), its
 * registers are read and written through the platform's MMIO ops (a mapped
 * uncached page on native, device hypercalls on paravirt), and its queues
 * are kicked through platform->queue_notify (a trapped register write, or
 * the paravirtual doorbell).  The initialization sequence is §3.1.1's.
 */
#include "kernel.h"
#include "mm.h"
#include "platform.h"
#include "virtio.h"

static uint32_t reg_read(const struct virtio_dev *d, unsigned off)
{
    return platform->mmio_read32(d->base + off);
}

static void reg_write(const struct virtio_dev *d, unsigned off, uint32_t v)
{
    platform->mmio_write32(d->base + off, v);
}

/* Native: the window at va == pa, uncached (SDM Vol. 3A 12.3: device
 * registers must not be cached).  Paravirt: nothing to map. */
static int map_window(const struct virtio_dev *d)
{
    if (platform_is_paravirt())
        return 0;
    uint64_t page = ALIGN_DOWN(d->base, PAGE_SIZE);  /* microvm's windows are 512 bytes */
    return map_page(&kernel_aspace, page, page, PTE_W | PTE_PCD | PTE_PWT | PTE_NX);
}

/*
 * Under stock QEMU there is no device table.  QEMU's microvm machine has
 * VIRTIO_NUM_TRANSPORTS (24) virtio-mmio windows of 512 bytes from
 * 0xfeb00000 (hw/i386/microvm.c), a device plugged into some of them; the
 * others read DeviceID 0.  Their interrupts go through the I/O APIC, which
 * this kernel does not program: irq 0, the driver polls.  On other
 * machines nothing answers there and the magic does not match.
 */
#define MICROVM_VIRTIO_BASE  0xfeb00000ull
#define MICROVM_VIRTIO_SIZE  0x200ull
#define MICROVM_VIRTIO_SLOTS 24u

/* Maps d's window and reads who is there: the transport version (0 when
 * the magic is not "virt") with d->device_id, or -1 with *why when the
 * window cannot be mapped. */
static int identify(struct virtio_dev *d, const char **why)
{
    if (map_window(d) < 0) {
        *why = "cannot map the virtio-mmio window";
        return -1;
    }
    if (reg_read(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
        return 0;
    int version = (int)reg_read(d, VIRTIO_MMIO_VERSION);
    d->device_id = reg_read(d, VIRTIO_MMIO_DEVICE_ID);
    return version;
}

static int find_on_microvm(uint32_t device_id, struct virtio_dev *d, const char **why)
{
    *why = "no virtio device of that type (under QEMU: -M microvm with a virtio-blk-device)";
    for (unsigned i = 0; i < MICROVM_VIRTIO_SLOTS; i++) {
        *d = (struct virtio_dev){.base = MICROVM_VIRTIO_BASE + i * MICROVM_VIRTIO_SIZE,
                                 .slot = i};
        int version = identify(d, why);
        if (version <= 0)
            return -1;                  /* unmappable, or not a microvm */
        if (version == 2 && d->device_id == device_id)
            return 0;
    }
    return -1;
}

int virtio_find(uint32_t device_id, struct virtio_dev *d, const char **why)
{
    if (boot_info->monitor == HVLAB_MONITOR_NONE && !platform_is_paravirt())
        return find_on_microvm(device_id, d, why);
    *why = "no virtio-mmio device of that type in the boot info (run the monitor with --disk FILE)";
    for (uint32_t i = 0; i < boot_info->n_dev; i++) {
        const struct hvlab_device *e = &boot_info->dev[i];
        if (e->type != HVLAB_DEV_VIRTIO_MMIO || e->base < HVLAB_VIRTIO_MMIO_BASE ||
            e->base >= HVLAB_VIRTIO_MMIO_BASE + HVLAB_VIRTIO_MMIO_SLOTS * HVLAB_VIRTIO_MMIO_SIZE)
            continue;
        *d = (struct virtio_dev){.base = e->base, .irq = e->irq,
                                 .slot = (unsigned)((e->base - HVLAB_VIRTIO_MMIO_BASE) /
                                                    HVLAB_VIRTIO_MMIO_SIZE)};
        int version = identify(d, why);
        if (version < 0)
            return -1;
        if (version != 2) {
            *why = "the device table names a window that is not virtio-mmio version 2";
            return -1;
        }
        if (d->device_id == device_id)
            return 0;
    }
    return -1;
}

void virtio_reset(const struct virtio_dev *d)
{
    reg_write(d, VIRTIO_MMIO_STATUS, 0);
}

uint32_t virtio_status(const struct virtio_dev *d)
{
    return reg_read(d, VIRTIO_MMIO_STATUS);
}

int virtio_negotiate(struct virtio_dev *d, uint64_t wanted, const char **why)
{
    virtio_reset(d);
    reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered = 0;
    for (uint32_t sel = 0; sel < 2; sel++) {
        reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
        offered |= (uint64_t)reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << (32 * sel);
    }
    if (!(offered >> VIRTIO_F_VERSION_1 & 1)) {
        *why = "the device does not offer VIRTIO_F_VERSION_1";
        return -1;
    }
    d->features = offered & (wanted | 1ull << VIRTIO_F_VERSION_1);
    for (uint32_t sel = 0; sel < 2; sel++) {
        reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
        reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> (32 * sel)));
    }
    uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    reg_write(d, VIRTIO_MMIO_STATUS, s);
    if (!(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
        *why = "the device refused the features (FEATURES_OK did not stay set)";
        return -1;
    }
    return 0;
}

int virtio_queue_setup(struct virtio_dev *d, unsigned q, uint16_t size, struct vring *vr,
                       const char **why)
{
    reg_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
    uint32_t max = reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (!max || reg_read(d, VIRTIO_MMIO_QUEUE_READY)) {
        *why = max ? "the queue is already in use" : "the device has no such queue";
        return -1;
    }
    if (size > VRING_MAX)
        size = VRING_MAX;
    while (size > max)                  /* powers of two */
        size /= 2;
    uint64_t page = pmm_alloc_run(VRING_PAGES);
    if (!page) {
        *why = "no free pages for the ring";
        return -1;
    }
    vring_init(vr, page, size, d->features >> VIRTIO_F_EVENT_IDX & 1);
    uint64_t desc = page, driver = (uint64_t)(uintptr_t)vr->avail,
             device = (uint64_t)(uintptr_t)vr->used_hdr;
    reg_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
    reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    reg_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)driver);
    reg_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(driver >> 32));
    reg_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)device);
    reg_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(device >> 32));
    reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
    if (reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
        *why = "the device refused the queue (DEVICE_NEEDS_RESET)";
        return -1;
    }
    return 0;
}

void virtio_driver_ok(struct virtio_dev *d)
{
    reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                         VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

uint32_t virtio_config_read32(const struct virtio_dev *d, unsigned offset)
{
    return reg_read(d, VIRTIO_MMIO_CONFIG + offset);
}

uint32_t virtio_ack_interrupt(const struct virtio_dev *d)
{
    uint32_t s = reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (s)
        reg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, s);
    return s;
}

int virtio_kick(const struct virtio_dev *d, unsigned q, struct vring *vr)
{
    if (!vring_should_kick(vr))
        return 0;
    return platform->queue_notify(d->base, d->slot, q);
}

/* ---- interrupts ------------------------------------------------------------------ */

static struct {
    void (*fn)(void *arg);
    void *arg;
} irq_handlers[HVLAB_VIRTIO_MMIO_SLOTS];

void virtio_set_irq_handler(unsigned slot, void (*fn)(void *arg), void *arg)
{
    if (slot < HVLAB_VIRTIO_MMIO_SLOTS)
        irq_handlers[slot].fn = fn, irq_handlers[slot].arg = arg;
}

/* An interrupt nobody registered for is dropped: a device raised it after
 * its driver finished (the command reset the device). */
void virtio_interrupt(unsigned slot)
{
    if (slot < HVLAB_VIRTIO_MMIO_SLOTS && irq_handlers[slot].fn)
        irq_handlers[slot].fn(irq_handlers[slot].arg);
}
