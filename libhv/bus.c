/* Port and MMIO dispatch to the device models (see bus.h). */
#include "libhv/bus.h"

#include <stdio.h>

#include "libhv/machine.h"

int bus_register(struct hv_machine *m, enum hv_space space, uint64_t base, uint64_t len,
                 const char *name, const struct hv_device_ops *ops, void *dev)
{
    struct hv_bus *b = &m->bus;
    if (b->n == HV_BUS_MAX_REGIONS || len == 0 || base + len < base)
        return -1;
    for (unsigned i = 0; i < b->n; i++) {
        const struct hv_region *r = &b->regions[i];
        if (r->space == space && base < r->base + r->len && r->base < base + len)
            return -1;
    }
    b->regions[b->n++] = (struct hv_region){
        .space = space, .base = base, .len = len, .name = name, .ops = ops, .dev = dev,
        .stat = stats_reason(&m->stats, name),
    };
    return 0;
}

static struct hv_region *bus_find(struct hv_bus *b, enum hv_space space, uint64_t addr,
                                  unsigned size)
{
    for (unsigned i = 0; i < b->n; i++) {
        struct hv_region *r = &b->regions[i];
        /* The whole access must fall inside the region: a 4-byte read that
         * straddles two devices is not routed to either. */
        if (r->space == space && addr >= r->base && size <= r->len &&
            addr - r->base <= r->len - size)
            return r;
    }
    return NULL;
}

static void trace_access(const struct hv_machine *m, enum hv_space space, uint64_t addr,
                         bool is_write, unsigned size, uint64_t value, const struct hv_region *r)
{
    fprintf(stderr, "%s: %s %s 0x%llx size %u", m->prog, space == HV_SPACE_PIO ? "pio" : "mmio",
            is_write ? "write" : "read", (unsigned long long)addr, size);
    if (is_write)
        fprintf(stderr, " value 0x%llx", (unsigned long long)value);
    fprintf(stderr, " -> %s\n", r ? r->name : "nothing");
}

static void call_device(struct hv_machine *m, const struct hv_region *r, uint64_t addr,
                        bool is_write, unsigned size, uint64_t *value)
{
    if (is_write) {
        if (r->ops->write)
            r->ops->write(m, r->dev, addr - r->base, size, *value);
    } else {
        *value = 0;
        if (r->ops->read)
            r->ops->read(m, r->dev, addr - r->base, size, value);
    }
}

void bus_access(struct hv_machine *m, enum hv_space space, uint64_t addr, bool is_write,
                unsigned size, uint64_t *value)
{
    static const char *const unclaimed[2] = {"pio (unclaimed port)", "mmio (unclaimed)"};
    struct hv_region *r = bus_find(&m->bus, space, addr, size);

    if (m->opt.trace)
        trace_access(m, space, addr, is_write, size, *value, r);
    if (!r) {
        stats_inc(&m->stats, stats_reason(&m->stats, unclaimed[space]));
        if (space == HV_SPACE_MMIO) {
            hv_stop(m, HV_STATUS_GUEST_RULE, "guest %s %u bytes at guest-physical 0x%llx, "
                    "where there is neither RAM nor a device", is_write ? "wrote" : "read", size,
                    (unsigned long long)addr);
            return;
        }
        if (!is_write) /* an ISA bus with nothing on it floats high */
            *value = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
        return;
    }
    stats_inc(&m->stats, r->stat);
    call_device(m, r, addr, is_write, size, value);
}

int bus_access_uncounted(struct hv_machine *m, enum hv_space space, uint64_t addr,
                         bool is_write, unsigned size, uint64_t *value)
{
    struct hv_region *r = bus_find(&m->bus, space, addr, size);
    if (m->opt.trace)
        trace_access(m, space, addr, is_write, size, *value, r);
    if (!r)
        return -1;
    call_device(m, r, addr, is_write, size, value);
    return 0;
}
