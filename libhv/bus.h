/*
 * The device bus: how a monitor routes a guest's port or MMIO access to the
 * device model that owns the address.  All three monitors deliver their exits
 * here (a KVM_EXIT_IO / KVM_EXIT_MMIO, a trapped in/out or mov, a device
 * hypercall), so a device model is written once and behaves identically
 * under every technique.
 */
#ifndef LIBHV_BUS_H
#define LIBHV_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct hv_machine;

/* A device's handlers.  `offset` is relative to the region base; `size` is
 * 1, 2, 4 or 8.  Reads fill *value (zero-extended).  A handler may end the
 * guest through hv_stop(). */
struct hv_device_ops {
    void (*read)(struct hv_machine *m, void *dev, uint64_t offset, unsigned size, uint64_t *value);
    void (*write)(struct hv_machine *m, void *dev, uint64_t offset, unsigned size, uint64_t value);
};

enum hv_space { HV_SPACE_PIO = 0, HV_SPACE_MMIO = 1 };

struct hv_region {
    enum hv_space space;
    uint64_t base, len;
    const char *name;            /* also the exit-statistics reason       */
    const struct hv_device_ops *ops;
    void *dev;
    unsigned stat;               /* exit-statistics slot                  */
};

#define HV_BUS_MAX_REGIONS 32

struct hv_bus {
    struct hv_region regions[HV_BUS_MAX_REGIONS];
    unsigned n;
};

/* Returns 0, or -1 when the region overlaps another one or the bus is full
 * (a programming error in the monitor, not a guest error). */
int bus_register(struct hv_machine *m, enum hv_space space, uint64_t base, uint64_t len,
                 const char *name, const struct hv_device_ops *ops, void *dev);

/* Dispatch one access.  Unclaimed ports read as all ones and ignore writes,
 * as on a PC; unclaimed MMIO ends the guest (there is nothing at that
 * guest-physical address). */
void bus_access(struct hv_machine *m, enum hv_space space, uint64_t addr, bool is_write,
                unsigned size, uint64_t *value);

/* The same access for a caller that counts its own exit (a paravirtual
 * device hypercall is one exit, already counted under its call): not
 * counted again under the device.  -1 and nothing done when no device owns
 * the whole access (the caller refuses it instead of floating the bus). */
int bus_access_uncounted(struct hv_machine *m, enum hv_space space, uint64_t addr,
                         bool is_write, unsigned size, uint64_t *value);

#endif
