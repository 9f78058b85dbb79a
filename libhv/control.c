/*
 * The hvlab control device (abi/hvlab_abi.h, docs/abi.md):
 *   HVLAB_PORT_EXIT   outl CODE   the guest ends; the monitor exits with CODE
 *   HVLAB_PORT_BENCH  outl PADDR  a struct hvlab_bench_mark in guest RAM
 *   HVLAB_PORT_NULL   out/in      does nothing: the cheapest user-space exit
 * and QEMU's isa-debug-exit (port 0xf4), and the null MMIO register page.
 */
#include <string.h>

#include "abi/hvlab_abi.h"
#include "libhv/devices.h"
#include "libhv/machine.h"

static void control_exit(struct hv_machine *m, uint64_t code)
{
    if (code > HVLAB_GUEST_EXIT_MAX || code == HV_STATUS_USAGE) {
        hv_stop(m, HV_STATUS_GUEST_RULE, "guest reported exit code %llu, outside 0..%u or %u "
                "(the monitors' usage status)", (unsigned long long)code, HVLAB_GUEST_EXIT_MAX,
                HV_STATUS_USAGE);
        return;
    }
    hv_guest_exit(m, (int)code);
}

/* The guest hands us a guest-physical address: read the record through the
 * bounds-checked accessor and check that the name is a terminated string. */
static void control_bench(struct hv_machine *m, uint64_t paddr)
{
    struct hvlab_bench_mark mark;
    if (gm_read(&m->mem, paddr, &mark, sizeof(mark))) {
        hv_stop(m, HV_STATUS_GUEST_RULE, "benchmark mark at 0x%llx is outside guest RAM",
                (unsigned long long)paddr);
        return;
    }
    if (!memchr(mark.name, '\0', sizeof(mark.name)) || !mark.name[0]) {
        hv_stop(m, HV_STATUS_GUEST_RULE, "benchmark mark at 0x%llx has no valid name",
                (unsigned long long)paddr);
        return;
    }
    const char *err = NULL;
    if (mark.op == HVLAB_BENCH_BEGIN)
        err = stats_bench_begin(&m->stats, mark.name);
    else if (mark.op == HVLAB_BENCH_END)
        err = stats_bench_end(&m->stats, mark.name, mark.iterations, mark.tsc_cycles);
    else
        err = "unknown benchmark mark operation";
    if (err)
        hv_stop(m, HV_STATUS_GUEST_RULE, "%s (benchmark \"%s\")", err, mark.name);
}

static void control_write(struct hv_machine *m, void *dev, uint64_t off, unsigned size, uint64_t v)
{
    (void)dev;
    if (size != 4) {
        hv_stop(m, HV_STATUS_GUEST_RULE, "control port 0x%llx written with %u bytes, not 4",
                (unsigned long long)(HVLAB_PORT_EXIT + off), size);
        return;
    }
    if (off == 0)
        control_exit(m, v);
    else if (off == HVLAB_PORT_BENCH - HVLAB_PORT_EXIT)
        control_bench(m, v);
}

int control_attach(struct hv_machine *m)
{
    static const struct hv_device_ops ops = {.write = control_write}; /* reads give 0 */
    static const struct hv_device_ops null_ops = {0};
    return bus_register(m, HV_SPACE_PIO, HVLAB_PORT_EXIT, 8, "pio control", &ops, NULL) ||
           bus_register(m, HV_SPACE_PIO, HVLAB_PORT_NULL, 4, "pio null", &null_ops, NULL);
}

/* isa-debug-exit, as QEMU implements it (hw/misc/debugexit.c): writing V
 * ends the machine with process status (V << 1) | 1, so that a test kernel
 * can never fake a clean 0.  Statuses wrap at 8 bits like any exit(3). */
static void debug_exit_write(struct hv_machine *m, void *dev, uint64_t off, unsigned size,
                             uint64_t v)
{
    (void)dev;
    (void)off;
    (void)size;
    hv_guest_exit(m, (int)(((v << 1) | 1) & 0xff));
}

int debug_exit_attach(struct hv_machine *m)
{
    static const struct hv_device_ops ops = {.write = debug_exit_write};
    return bus_register(m, HV_SPACE_PIO, HVLAB_PORT_QEMU_EXIT, 4, "pio isa-debug-exit", &ops,
                        NULL);
}

int null_mmio_attach(struct hv_machine *m)
{
    static const struct hv_device_ops ops = {0}; /* reads 0, writes ignored */
    return bus_register(m, HV_SPACE_MMIO, HVLAB_MMIO_NULL_PADDR, 0x1000, "mmio null", &ops, NULL);
}
