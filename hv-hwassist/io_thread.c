/*
 * --ioeventfd: virtio notifications that never reach this monitor's vCPU
 * loop, and completions that need no ioctl from it (KVM api.rst
 * "KVM_IOEVENTFD", "KVM_IRQFD", "KVM_SET_GSI_ROUTING").
 *
 *   kick:  the guest writes QueueNotify -> VM exit -> KVM matches the
 *          address against its ioeventfds, signals the eventfd and resumes
 *          the guest at once (an exit handled in the kernel, not a
 *          KVM_EXIT_MMIO to user space);
 *   serve: the I/O thread, blocked in poll(2) on the eventfds, wakes and
 *          runs the queue (virtio_mmio_notify) beside the vCPU;
 *   done:  it writes the device's irqfd; KVM injects the MSI routed to
 *          that GSI into the in-kernel local APIC.
 *
 * This is how QEMU's ioeventfd=on and vhost split the work: the vCPU thread
 * no longer carries the device, so a guest that keeps adding requests is
 * not stopped to have them served, and the device can tell the driver not
 * to kick while it is busy (used->flags / EVENT_IDX, virtio_mmio.c).
 * Register reads and writes other than QueueNotify still exit to user
 * space; the device's lock orders them with the I/O thread.
 */
#include "hv-hwassist/io_thread.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "abi/virtio.h"
#include "libhv/virtio_mmio.h"

/* GSIs above the in-kernel IOAPIC's 24 pins: ours alone (the routing table
 * below replaces the default one, which only the unused IOAPIC and PIC
 * need). */
#define FIRST_GSI 24u

/* Per virtio slot: the eventfd KVM signals on a kick, the one we signal
 * for a completion; -1 where no device is (io_thread_start sets them). */
static struct {
    int kick[HVLAB_VIRTIO_MMIO_SLOTS], irq[HVLAB_VIRTIO_MMIO_SLOTS];
} io;

static int fail(struct hv_machine *m, const char *what)
{
    fprintf(stderr, "%s: --ioeventfd: %s: %s\n", m->prog, what, strerror(errno));
    return HV_STATUS_MONITOR;
}

/* Completion: one write to the irqfd, from whichever thread served. */
static void irqfd_raise(struct hv_machine *m, unsigned vector)
{
    unsigned slot = vector - HVLAB_VIRTIO_IRQ_VECTOR(0);
    uint64_t one = 1;
    if (slot >= HVLAB_VIRTIO_MMIO_SLOTS || io.irq[slot] < 0)
        return;
    if (write(io.irq[slot], &one, sizeof(one)) != sizeof(one))
        hv_stop(m, HV_STATUS_MONITOR, "--ioeventfd: irqfd write for vector 0x%x: %s", vector,
                strerror(errno));
}

static void *io_thread_main(void *arg)
{
    struct hv_machine *m = arg;
    struct pollfd pfd[HVLAB_VIRTIO_MMIO_SLOTS];
    unsigned slot_of[HVLAB_VIRTIO_MMIO_SLOTS], n = 0;
    for (unsigned s = 0; s < HVLAB_VIRTIO_MMIO_SLOTS; s++)
        if (io.kick[s] >= 0) {
            pfd[n] = (struct pollfd){.fd = io.kick[s], .events = POLLIN};
            slot_of[n++] = s;
        }
    while (!m->stopped) {
        if (poll(pfd, n, 100) < 0 && errno != EINTR)
            break;
        for (unsigned i = 0; i < n; i++) {
            uint64_t kicks;
            if (!(pfd[i].revents & POLLIN) ||
                read(pfd[i].fd, &kicks, sizeof(kicks)) != sizeof(kicks))
                continue;
            /* One pass serves every request made available, however many
             * kicks the counter gathered. */
            virtio_mmio_notify(m->virtio[slot_of[i]], 0);
        }
    }
    return NULL;
}

static int route_msi(struct kvm_vm *vm, struct hv_machine *m)
{
    struct {
        struct kvm_irq_routing r;
        struct kvm_irq_routing_entry e[HVLAB_VIRTIO_MMIO_SLOTS];
    } table;
    memset(&table, 0, sizeof(table));
    for (unsigned s = 0; s < HVLAB_VIRTIO_MMIO_SLOTS; s++) {
        if (!m->virtio[s])
            continue;
        struct kvm_irq_routing_entry *e = &table.r.entries[table.r.nr++];
        e->gsi = FIRST_GSI + s;
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = KVM_MSI_ADDRESS_APIC0;   /* fixed, physical, APIC 0 */
        e->u.msi.data = m->virtio[s]->irq_vector;
    }
    return ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &table) ? fail(m, "KVM_SET_GSI_ROUTING") : 0;
}

static int wire_slot(struct kvm_vm *vm, struct hv_machine *m, unsigned s)
{
    io.kick[s] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    io.irq[s] = eventfd(0, EFD_CLOEXEC);
    if (io.kick[s] < 0 || io.irq[s] < 0)
        return fail(m, "eventfd");
    /* Data match 0: a kick of queue 0 (the only queue) stays in the
     * kernel; any other value still exits to user space, where the
     * transport calls it the driver error it is. */
    struct kvm_ioeventfd kick = {.addr = m->virtio[s]->base + VIRTIO_MMIO_QUEUE_NOTIFY,
                                 .len = 4, .fd = io.kick[s], .datamatch = 0,
                                 .flags = KVM_IOEVENTFD_FLAG_DATAMATCH};
    if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &kick))
        return fail(m, "KVM_IOEVENTFD on QueueNotify");
    struct kvm_irqfd irq = {.fd = (uint32_t)io.irq[s], .gsi = FIRST_GSI + s};
    if (ioctl(vm->vm_fd, KVM_IRQFD, &irq))
        return fail(m, "KVM_IRQFD");
    return 0;
}

int io_thread_start(struct kvm_vm *vm, struct hv_machine *m)
{
    static const struct {
        int cap;
        const char *name;
    } caps[] = {{KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"}, {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
                {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"}};
    for (unsigned s = 0; s < HVLAB_VIRTIO_MMIO_SLOTS; s++)
        io.kick[s] = io.irq[s] = -1;
    if (!virtio_mmio_any(m)) {
        fprintf(stderr, "%s: --ioeventfd needs a virtio device (--disk FILE)\n", m->prog);
        return HV_STATUS_USAGE;
    }
    for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
            fprintf(stderr, "%s: --ioeventfd: /dev/kvm lacks %s\n", m->prog, caps[i].name);
            return HV_STATUS_SKIP;
        }
    int rc = route_msi(vm, m);
    for (unsigned s = 0; s < HVLAB_VIRTIO_MMIO_SLOTS && !rc; s++)
        if (m->virtio[s])
            rc = wire_slot(vm, m, s);
    if (rc)
        return rc;
    m->raise_irq = irqfd_raise;
    pthread_t t;
    if ((errno = pthread_create(&t, NULL, io_thread_main, m)))
        return fail(m, "starting the I/O thread");
    pthread_detach(t);           /* it ends with the guest (m->stopped) */
    return 0;
}
