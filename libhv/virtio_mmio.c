/*
 * The virtio-mmio transport, version 2 (see virtio_mmio.h).
 *
 * Reading order: mmio_read/mmio_write (the register file), then
 * status_write (the §2.1 state machine and §3.1.1 negotiation), then
 * queue_ready_write (a queue goes live), then virtio_mmio_notify (one
 * notification, from the driver's kick to the interrupt).
 */
#include "libhv/virtio_mmio.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "libhv/machine.h"

/* ---- driver errors ------------------------------------------------------------- */

/* InterruptStatus gets the reason bits, and the machine's interrupt path
 * (if it has one and the device a vector) the vector. */
static void raise_interrupt(struct virtio_mmio *vm, uint32_t bits)
{
    vm->interrupt_status |= bits;
    if (vm->m->raise_irq && vm->irq_vector)
        vm->m->raise_irq(vm->m, vm->irq_vector);
}

void virtio_mmio_needs_reset(struct virtio_mmio *vm, const char *fmt, ...)
{
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (vm->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return;                  /* said once; the driver must reset first */
    fprintf(stderr, "%s: %s (virtio-mmio slot %u): %s; the device needs a reset\n", vm->m->prog,
            vm->ops->name, vm->slot, why);
    stats_inc(&vm->m->stats, vm->ev_reset);
    vm->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    /* §4.2.3.1.1 / §2.1.2: a modern device tells the driver with a
     * configuration-change notification. */
    raise_interrupt(vm, VIRTIO_MMIO_INT_CONFIG);
}

static bool needs_reset(const struct virtio_mmio *vm)
{
    return vm->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* ---- reset ---------------------------------------------------------------------- */

/* Writing 0 to Status (§2.4): back to the state after power-on. */
static void device_reset(struct virtio_mmio *vm)
{
    vm->status = 0;
    vm->device_features_sel = vm->driver_features_sel = vm->queue_sel = 0;
    vm->driver_features = vm->features = 0;
    vm->interrupt_status = 0;
    memset(vm->qreg, 0, sizeof(vm->qreg));
    memset(vm->vq, 0, sizeof(vm->vq));
    if (vm->ops->reset)
        vm->ops->reset(vm->dev);
}

/* ---- the status state machine and feature negotiation ------------------------- */

/*
 * §2.1, §3.1.1: the driver sets ACKNOWLEDGE, DRIVER, writes its features,
 * sets FEATURES_OK — which the device keeps only if it accepts them: a
 * subset of what it offered, with VERSION_1 (a version-2 transport has no
 * legacy interface) — sets up its queues, then sets DRIVER_OK.  Bits are
 * only ever added; 0 resets.
 */
static void status_write(struct virtio_mmio *vm, uint32_t v)
{
    if (v == 0) {
        device_reset(vm);
        return;
    }
    uint32_t kept = VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if ((vm->status & ~kept) & ~v) {
        virtio_mmio_needs_reset(vm, "the driver cleared status bits (0x%x -> 0x%x) without a reset",
                                vm->status, v);
        return;
    }
    v &= ~kept;                  /* NEEDS_RESET is the device's to set     */
    uint32_t added = v & ~vm->status;
    if (added & VIRTIO_STATUS_FEATURES_OK) {
        uint64_t want = vm->driver_features;
        bool ok = !(want & ~vm->ops->features) && (want >> VIRTIO_F_VERSION_1 & 1);
        if (!ok)
            v &= ~VIRTIO_STATUS_FEATURES_OK; /* the driver re-reads and sees no */
        else
            vm->features = want;
    }
    if ((v & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK)) {
        virtio_mmio_needs_reset(vm, "DRIVER_OK set without FEATURES_OK (§3.1.1)");
        return;
    }
    vm->status = (vm->status & kept) | v;
}

static void driver_features_write(struct virtio_mmio *vm, uint32_t v)
{
    if (vm->status & VIRTIO_STATUS_FEATURES_OK) {
        virtio_mmio_needs_reset(vm, "DriverFeatures written after FEATURES_OK (§3.1.1)");
        return;
    }
    if (vm->driver_features_sel == 0)
        vm->driver_features = (vm->driver_features & 0xffffffff00000000ull) | v;
    else if (vm->driver_features_sel == 1)
        vm->driver_features = (vm->driver_features & 0xffffffffull) | (uint64_t)v << 32;
    /* other banks: no features there (§4.2.2), nothing to store */
}

static uint32_t device_features_read(const struct virtio_mmio *vm)
{
    if (vm->device_features_sel > 1)
        return 0;
    return (uint32_t)(vm->ops->features >> (32 * vm->device_features_sel));
}

/* ---- queues ---------------------------------------------------------------------- */

static struct virtio_mmio_queue_regs *selected_regs(struct virtio_mmio *vm)
{
    return vm->queue_sel < vm->ops->num_queues ? &vm->qreg[vm->queue_sel] : NULL;
}

static struct virtq *selected_vq(struct virtio_mmio *vm)
{
    return vm->queue_sel < vm->ops->num_queues ? &vm->vq[vm->queue_sel] : NULL;
}

/* QueueReady 1 (§4.2.3.2): the queue goes live with the layout the driver
 * wrote; it is checked once, here, so that virtq_pop can rely on it. */
static void queue_ready_write(struct virtio_mmio *vm, uint32_t v)
{
    struct virtio_mmio_queue_regs *r = selected_regs(vm);
    struct virtq *vq = selected_vq(vm);
    char why[200];
    if (!r)
        return;                  /* no such queue: QueueNumMax read 0     */
    if (!v) {
        memset(vq, 0, sizeof(*vq));
        return;
    }
    if (!(vm->status & VIRTIO_STATUS_FEATURES_OK)) {
        virtio_mmio_needs_reset(vm, "queue %u enabled before FEATURES_OK (§3.1.1)", vm->queue_sel);
        return;
    }
    *vq = (struct virtq){
        .size = (uint16_t)r->num, .desc_gpa = r->desc, .avail_gpa = r->driver,
        .used_gpa = r->device, .event_idx = vm->features >> VIRTIO_F_EVENT_IDX & 1,
    };
    if (r->num > VIRTQ_MAX_SIZE ||
        virtq_check_layout(&vm->m->mem, vq, why, sizeof(why))) {
        if (r->num > VIRTQ_MAX_SIZE)
            snprintf(why, sizeof(why), "queue size %u is above QueueNumMax %u", r->num,
                     VIRTQ_MAX_SIZE);
        memset(vq, 0, sizeof(*vq));
        virtio_mmio_needs_reset(vm, "queue %u: %s", vm->queue_sel, why);
        return;
    }
    vq->ready = true;
}

/* QueueNum and the ring addresses may change only while the queue is off
 * (§4.2.3.2: the driver writes them, then QueueReady). */
static void queue_reg_write(struct virtio_mmio *vm, uint64_t off, uint32_t v)
{
    struct virtio_mmio_queue_regs *r = selected_regs(vm);
    if (!r)
        return;
    if (vm->vq[vm->queue_sel].ready) {
        virtio_mmio_needs_reset(vm, "queue %u: register 0x%03llx written while the queue is ready",
                                vm->queue_sel, (unsigned long long)off);
        return;
    }
    uint64_t *addr = NULL;
    switch (off & ~7ull) {
    case VIRTIO_MMIO_QUEUE_DESC_LOW: addr = &r->desc; break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW: addr = &r->driver; break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW: addr = &r->device; break;
    default: r->num = v; return; /* VIRTIO_MMIO_QUEUE_NUM */
    }
    if (off & 4)
        *addr = (*addr & 0xffffffffull) | (uint64_t)v << 32;
    else
        *addr = (*addr & 0xffffffff00000000ull) | v;
}

/* ---- one notification ----------------------------------------------------------- */

static void raise_vring_interrupt(struct virtio_mmio *vm)
{
    vm->interrupts++;
    stats_inc(&vm->m->stats, vm->ev_interrupt);
    raise_interrupt(vm, VIRTIO_MMIO_INT_VRING);
}

/* Serves what is available now.  1: served at least one request. */
static int serve_available(struct virtio_mmio *vm, unsigned q)
{
    struct virtq *vq = &vm->vq[q];
    struct virtq_req req;
    char why[300];
    int served = 0, rc;
    while ((rc = virtq_pop(&vm->m->mem, vq, &req, why, sizeof(why))) == 1) {
        uint32_t written = 0;
        if (vm->ops->handle(vm, vm->dev, q, &req, &written, why, sizeof(why)) ||
            virtq_push(&vm->m->mem, vq, req.head, written, why, sizeof(why))) {
            vq->broken = true;
            virtio_mmio_needs_reset(vm, "queue %u: request at descriptor %u: %s", q, req.head, why);
            return served;
        }
        vm->requests++;
        stats_inc(&vm->m->stats, vm->ev_request);
        served = 1;
    }
    if (rc < 0)
        virtio_mmio_needs_reset(vm, "queue %u: %s", q, why);
    return served;
}

/*
 * From the driver's kick to the interrupt.  With EVENT_IDX the device
 * publishes avail_event (notify me when you pass this) and then looks at
 * the ring once more: a request made available between the last pop and
 * that store would otherwise wait for a kick the driver will not send
 * (§2.7.10, the same re-check as Linux's virtqueue_enable_cb).
 */
static int notify_locked(struct virtio_mmio *vm, unsigned q)
{
    if (q >= vm->ops->num_queues)
        return -1;
    vm->notifications++;
    stats_inc(&vm->m->stats, vm->ev_notify);
    struct virtq *vq = &vm->vq[q];
    if (!(vm->status & VIRTIO_STATUS_DRIVER_OK) || needs_reset(vm) || !vq->ready || vq->broken)
        return 0;                /* §3.1.1: nothing is served before DRIVER_OK */
    bool served = false;
    /* While it serves, the device asks not to be kicked (used->flags
     * NO_NOTIFY; with EVENT_IDX avail_event stays behind): a driver on
     * another CPU adding requests meanwhile need not exit to say so. */
    virtq_set_notify(&vm->m->mem, vq, true);
    for (unsigned round = 0; round < 2 && !vq->broken; round++) {
        served |= serve_available(vm, q);
        virtq_set_notify(&vm->m->mem, vq, false);
    }
    if (served && !vq->broken && virtq_need_interrupt(&vm->m->mem, vq))
        raise_vring_interrupt(vm);
    return 0;
}

int virtio_mmio_notify(struct virtio_mmio *vm, unsigned q)
{
    pthread_mutex_lock(&vm->lock);
    int rc = notify_locked(vm, q);
    pthread_mutex_unlock(&vm->lock);
    return rc;
}

/* ---- the register file -------------------------------------------------------------- */

static bool register_access_ok(struct virtio_mmio *vm, uint64_t off, unsigned size, bool write)
{
    if (off >= VIRTIO_MMIO_CONFIG || (size == 4 && !(off & 3)))
        return true;
    hv_stop(vm->m, HV_STATUS_GUEST_RULE,
            "%s (virtio-mmio slot %u): %u-byte %s of register 0x%03llx; the registers take "
            "aligned 32-bit accesses only (virtio 1.2 §4.2.2.2)",
            vm->ops->name, vm->slot, size, write ? "write" : "read", (unsigned long long)off);
    return false;
}

static void config_read(struct virtio_mmio *vm, uint64_t off, unsigned size, uint64_t *value)
{
    uint64_t c = off - VIRTIO_MMIO_CONFIG;
    *value = 0;
    /* Outside the device's configuration space: reads as zero, as on
     * QEMU's transport. */
    if (c < vm->ops->config_size && size <= vm->ops->config_size - c)
        vm->ops->config_read(vm->dev, (uint32_t)c, size, value);
}

static void mmio_read_locked(struct virtio_mmio *vm, uint64_t off, unsigned size,
                             uint64_t *value);
static void mmio_write_locked(struct virtio_mmio *vm, uint64_t off, unsigned size, uint64_t value);

static void mmio_read(struct hv_machine *m, void *dev, uint64_t off, unsigned size,
                      uint64_t *value)
{
    struct virtio_mmio *vm = dev;
    (void)m;
    pthread_mutex_lock(&vm->lock);
    mmio_read_locked(vm, off, size, value);
    pthread_mutex_unlock(&vm->lock);
}

static void mmio_write(struct hv_machine *m, void *dev, uint64_t off, unsigned size,
                       uint64_t value)
{
    struct virtio_mmio *vm = dev;
    (void)m;
    pthread_mutex_lock(&vm->lock);
    mmio_write_locked(vm, off, size, value);
    pthread_mutex_unlock(&vm->lock);
}

static void mmio_read_locked(struct virtio_mmio *vm, uint64_t off, unsigned size,
                             uint64_t *value)
{
    if (!register_access_ok(vm, off, size, false)) {
        *value = 0;
        return;
    }
    if (off >= VIRTIO_MMIO_CONFIG) {
        config_read(vm, off, size, value);
        return;
    }
    struct virtio_mmio_queue_regs *r = selected_regs(vm);
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE: *value = VIRTIO_MMIO_MAGIC; break;
    case VIRTIO_MMIO_VERSION: *value = 2; break;
    case VIRTIO_MMIO_DEVICE_ID: *value = vm->ops->device_id; break;
    case VIRTIO_MMIO_VENDOR_ID: *value = VIRTIO_MMIO_VENDOR; break;
    case VIRTIO_MMIO_DEVICE_FEATURES: *value = device_features_read(vm); break;
    case VIRTIO_MMIO_QUEUE_NUM_MAX: *value = r ? VIRTQ_MAX_SIZE : 0; break;
    case VIRTIO_MMIO_QUEUE_READY: *value = r ? vm->vq[vm->queue_sel].ready : 0; break;
    case VIRTIO_MMIO_INTERRUPT_STATUS: *value = vm->interrupt_status; break;
    case VIRTIO_MMIO_STATUS: *value = vm->status; break;
    case VIRTIO_MMIO_CONFIG_GENERATION: *value = vm->config_generation; break;
    default: *value = 0; break;  /* write-only or reserved */
    }
}

static void mmio_write_locked(struct virtio_mmio *vm, uint64_t off, unsigned size, uint64_t value)
{
    uint32_t v = (uint32_t)value;
    if (!register_access_ok(vm, off, size, true) || off >= VIRTIO_MMIO_CONFIG)
        return;                  /* blk's configuration is read-only */
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: vm->device_features_sel = v; break;
    case VIRTIO_MMIO_DRIVER_FEATURES: driver_features_write(vm, v); break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: vm->driver_features_sel = v; break;
    case VIRTIO_MMIO_QUEUE_SEL: vm->queue_sel = v; break;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW: case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW: case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        queue_reg_write(vm, off, v);
        break;
    case VIRTIO_MMIO_QUEUE_READY: queue_ready_write(vm, v); break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (notify_locked(vm, v))
            virtio_mmio_needs_reset(vm, "QueueNotify for queue %u, which does not exist", v);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK: vm->interrupt_status &= ~v; break;
    case VIRTIO_MMIO_STATUS: status_write(vm, v); break;
    default: break;              /* read-only or reserved: ignored */
    }
}

static const struct hv_device_ops virtio_mmio_ops = {.read = mmio_read, .write = mmio_write};

/* ---- attaching ------------------------------------------------------------------------ */

int virtio_mmio_attach(struct hv_machine *m, struct virtio_mmio *vm, unsigned slot,
                       unsigned irq_vector, const struct virtio_device_ops *ops, void *dev)
{
    if (slot >= HVLAB_VIRTIO_MMIO_SLOTS || m->virtio[slot] ||
        ops->num_queues > VIRTIO_MMIO_MAX_QUEUES)
        return -1;
    *vm = (struct virtio_mmio){.m = m, .ops = ops, .dev = dev, .slot = slot,
                               .base = HVLAB_VIRTIO_MMIO_BASE + slot * HVLAB_VIRTIO_MMIO_SIZE,
                               .irq_vector = irq_vector};
    pthread_mutex_init(&vm->lock, NULL);
    /* Events, not exits (the exit is the MMIO write or the hypercall that
     * carried the kick); the statistics keep the names, so static ones. */
    vm->ev_notify = stats_event(&m->stats, "virtio queue notified");
    vm->ev_request = stats_event(&m->stats, "virtio request served");
    vm->ev_interrupt = stats_event(&m->stats, "virtio interrupt raised");
    vm->ev_reset = stats_event(&m->stats, "virtio device needs reset");
    if (bus_register(m, HV_SPACE_MMIO, vm->base, HVLAB_VIRTIO_MMIO_SIZE, ops->name,
                     &virtio_mmio_ops, vm))
        return -1;
    m->virtio[slot] = vm;
    return 0;
}

bool virtio_mmio_any(const struct hv_machine *m)
{
    for (unsigned s = 0; s < HVLAB_VIRTIO_MMIO_SLOTS; s++)
        if (m->virtio[s])
            return true;
    return false;
}

unsigned virtio_mmio_boot_devices(const struct hv_machine *m, struct hvlab_device *out,
                                  unsigned max)
{
    unsigned n = 0;
    for (unsigned s = 0; s < HVLAB_VIRTIO_MMIO_SLOTS && n < max; s++)
        if (m->virtio[s])
            out[n++] = (struct hvlab_device){.type = HVLAB_DEV_VIRTIO_MMIO,
                                             .irq = m->virtio[s]->irq_vector,
                                             .base = m->virtio[s]->base,
                                             .size = HVLAB_VIRTIO_MMIO_SIZE};
    return n;
}
