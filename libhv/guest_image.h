/*
 * Loading the guest image, the same way in every monitor: an hvlab guest
 * (ELF64 x86-64: 64-bit entry with a boot info) or a Multiboot v1 kernel
 * (ELF32 or a.out kludge: 32-bit protected-mode entry with a Multiboot
 * information structure).
 */
#ifndef LIBHV_GUEST_IMAGE_H
#define LIBHV_GUEST_IMAGE_H

#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "libhv/machine.h"

/* What the monitor tells an hvlab guest about the platform. */
struct guest_boot_params {
    enum hvlab_platform platform;
    enum hvlab_monitor monitor;
    enum hvlab_kvm_backend kvm_backend;
    uint64_t quirks;
    uint64_t tsc_khz;
};

enum guest_entry_kind {
    GUEST_ENTRY_HVLAB64,         /* rip, RDI = arg0 (boot info), RSI = arg1 (magic) */
    GUEST_ENTRY_MULTIBOOT32,     /* eip, EAX = arg0 (magic), EBX = arg1 (MBI)       */
};

struct guest_entry {
    enum guest_entry_kind kind;
    uint64_t rip, arg0, arg1;
};

/* Reads m->opt.guest_path (and any --module files), loads it into m->mem
 * and writes the boot info or Multiboot information.  On failure prints one
 * line naming the file and the problem and returns HV_STATUS_USAGE. */
int guest_image_load(struct hv_machine *m, const struct guest_boot_params *p,
                     struct guest_entry *e);

#endif
