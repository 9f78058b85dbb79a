/*
 * struct hv_machine: what every monitor has, whatever its technique — guest
 * RAM, the device bus, the exit statistics, the options — and the one way to
 * end a guest: hv_stop() with a process exit status and a one-line reason.
 */
#ifndef LIBHV_MACHINE_H
#define LIBHV_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "libhv/bus.h"
#include "libhv/cli.h"
#include "libhv/guestmem.h"
#include "libhv/stats.h"

struct virtio_mmio;

struct hv_machine {
    const char *prog;            /* "hv-hwassist", for messages           */
    struct hv_options opt;
    struct guest_mem mem;
    struct hv_bus bus;
    struct hv_stats stats;
    volatile bool stopped;       /* set by hv_stop(); the run loop ends   */
    int status;                  /* process exit status when stopped      */
    char why[256];               /* reason, printed unless a clean exit   */
    uint64_t (*guest_rip)(struct hv_machine *m); /* named in rule violations; may be NULL */
    /* Devices raise their interrupt vector through this; each monitor has
     * its own way (a virtual APIC's IRR, an event upcall, KVM).  NULL: the
     * monitor has no device interrupts, drivers poll. */
    void (*raise_irq)(struct hv_machine *m, unsigned vector);
    struct virtio_mmio *virtio[HVLAB_VIRTIO_MMIO_SLOTS]; /* by slot; NULL: empty */
};

/* End the guest: the monitor's run loop returns and the process exits with
 * `status`.  The first call wins (later faults are consequences). */
void hv_stop(struct hv_machine *m, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The guest asked to end with `status` (control port, isa-debug-exit). */
void hv_guest_exit(struct hv_machine *m, int status);

/* Register the platform devices every hvlab monitor has (DESIGN.md §5):
 * UART, hvlab control device, isa-debug-exit, null MMIO register, and a
 * minimal fw_cfg for public multiboot test kernels. */
int hv_add_platform_devices(struct hv_machine *m);

/* --disk FILE: a virtio-blk disk in virtio-mmio slot 0 (libhv/virtio_blk.h).
 * 0 (also without --disk), or an exit status with one line on stderr. */
int hv_add_disk(struct hv_machine *m);

/* The two exits of the ring-3 engine (libhv/r3_engine.h) that no monitor
 * resumes: guest code in the hypervisor hole (R3_EXIT_HOLE, status 122)
 * and a dead guest process (R3_EXIT_DEAD with its wait status, 125). */
void hv_stop_hole(struct hv_machine *m);
void hv_stop_dead_child(struct hv_machine *m, int wait_status);

/* Print the end-of-run line(s): the reason for an abnormal stop on stderr. */
void hv_report_stop(const struct hv_machine *m);

/* --stats-file: writes the statistics file (stats_write_file) with the
 * monitor's name and BACKEND, a short description of how it runs the guest.
 * Returns rc, or HV_STATUS_MONITOR with one line on stderr when the file
 * cannot be written (the benchmark harness would read nothing). */
int hv_write_stats_file(const struct hv_machine *m, const char *backend, int rc);

#endif
