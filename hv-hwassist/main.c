/*
 * hv-hwassist: hardware-assisted virtualization through Linux KVM.
 *
 * The guest kernel runs in ring 0 of a KVM vCPU.  On VT-x/AMD-V the CPU
 * itself runs it in guest mode and exits to the hypervisor only for what the
 * VMCS/VMCB says must exit; with EPT/NPT the guest's page tables are the
 * CPU's business, not ours.  Most exits are handled inside KVM; what reaches
 * this program is port and MMIO I/O for the device models (run.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "abi/hvlab_abi.h"
#include "hv-hwassist/entry_state.h"
#include "hv-hwassist/io_thread.h"
#include "hv-hwassist/kvm.h"
#include "hv-hwassist/kvm_stats.h"
#include "hv-hwassist/run.h"
#include "libhv/guest_image.h"
#include "libhv/kvm_backend.h"
#include "libhv/machine.h"
#include "libhv/virtio_mmio.h"

static const struct hv_cli_info cli_info = {
    .prog = "hv-hwassist",
    .summary = "Runs an hvlab guest on a KVM vCPU (/dev/kvm): hardware-assisted "
               "virtualization (VT-x/EPT, AMD-V/NPT).",
    .details = "Privileged guest instructions run in ring 0 of the vCPU; only port and MMIO\n"
               "accesses to the device models reach this monitor.  --stats names the KVM\n"
               "backend in use (kvm_intel, kvm_amd or kvm_pvm, a software backend whose\n"
               "numbers are not VT-x/AMD-V numbers).",
    .extra_options = "  --ioeventfd     virtio kicks by KVM ioeventfd to an I/O thread, completions\n"
                     "                  by irqfd: no exit to this monitor per request\n",
    .ioeventfd = true,
};

static struct hv_machine machine = {.prog = "hv-hwassist"};
static struct kvm_vm vm;

static uint64_t hwassist_rip(struct hv_machine *m)
{
    (void)m;
    struct kvm_regs r;
    return ioctl(vm.vcpu_fd, KVM_GET_REGS, &r) ? 0 : r.rip;
}

/* A failed KVM_SIGNAL_MSI loses a completion the driver would wait for
 * forever: end the guest with the reason instead. */
static void hwassist_raise_irq(struct hv_machine *m, unsigned vector)
{
    if (kvm_signal_vector(&vm, vector))
        hv_stop(m, HV_STATUS_MONITOR, "KVM_SIGNAL_MSI (vector 0x%x): %s", vector,
                strerror(errno));
}

static int enter_guest(struct hv_machine *m, const struct guest_entry *e)
{
    if (e->kind == GUEST_ENTRY_MULTIBOOT32)
        return entry_protected_mode(&vm, m, (uint32_t)e->rip, (uint32_t)e->arg0,
                                    (uint32_t)e->arg1);
    return entry_long_mode(&vm, m, e->rip, e->arg0, e->arg1);
}

static void print_stats(struct hv_machine *m, enum hvlab_kvm_backend backend)
{
    fflush(stdout);
    fprintf(stderr, "hv-hwassist: KVM backend: %s — %s\n", kvm_backend_name(backend),
            kvm_backend_meaning(backend));
    stats_print(stderr, &m->stats, "hv-hwassist");
    kvm_stats_print(stderr, &vm, m->prog);
}

/* Everything that depends only on the input comes first, so that a bad
 * image or option is reported (status 2) even on a host without KVM. */
static int load_input(struct hv_machine *m, enum hvlab_kvm_backend backend,
                      struct guest_entry *e)
{
    char err[256];
    if (guest_mem_create(&m->mem, m->opt.mem_bytes, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", m->prog, err);
        return HV_STATUS_USAGE;
    }
    if (hv_add_platform_devices(m)) {
        fprintf(stderr, "%s: cannot register the platform devices\n", m->prog);
        return HV_STATUS_MONITOR;
    }
    int rc = hv_add_disk(m);
    if (rc)
        return rc;
    struct guest_boot_params p = {
        .platform = HVLAB_PLATFORM_NATIVE,
        .monitor = HVLAB_MONITOR_HWASSIST,
        .kvm_backend = backend,
        .quirks = kvm_backend_quirks(backend),
        .tsc_khz = 0, /* known once the vCPU exists: see setup() */
    };
    return guest_image_load(m, &p, e);
}

static int setup(struct hv_machine *m, enum hvlab_kvm_backend backend)
{
    struct guest_entry e;
    int rc = load_input(m, backend, &e);
    if (rc || (rc = kvm_open(&vm, m->prog)) || (rc = kvm_create_machine(&vm, m)))
        return rc;
    /* The TSC frequency is a property of the vCPU (KVM may scale it). */
    if (e.kind == GUEST_ENTRY_HVLAB64 &&
        gm_write_u64(&m->mem, HVLAB_BOOTINFO_PADDR + offsetof(struct hvlab_boot_info, tsc_khz),
                     vm.tsc_khz))
        return HV_STATUS_MONITOR;
    /* KVM's own counters go into every benchmark bracket too: most exits
     * never reach this monitor (docs/hwassist.md). */
    kvm_stats_attach(&m->stats, &vm, m->prog);
    if (m->opt.ioeventfd && (rc = io_thread_start(&vm, m)))
        return rc;
    /* Without --ioeventfd a completion is a KVM_SIGNAL_MSI (main.c). */
    if (virtio_mmio_any(m) && !m->opt.ioeventfd &&
        ioctl(vm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) <= 0) {
        fprintf(stderr, "%s: /dev/kvm lacks KVM_CAP_SIGNAL_MSI, which the disk's interrupts "
                        "need (try --ioeventfd)\n", m->prog);
        return HV_STATUS_SKIP;
    }
    return enter_guest(m, &e);
}

int main(int argc, char **argv)
{
    struct hv_machine *m = &machine;
    switch (hv_parse_cli(&cli_info, argc, argv, &m->opt)) {
    case HV_CLI_EXIT_OK: return 0;
    case HV_CLI_USAGE: return HV_STATUS_USAGE;
    case HV_CLI_RUN: break;
    }
    m->guest_rip = hwassist_rip;
    m->raise_irq = hwassist_raise_irq;
    enum hvlab_kvm_backend backend = kvm_backend_detect();
    int rc = setup(m, backend);
    if (rc) {
        kvm_close(&vm);
        return rc;
    }
    if (m->opt.timeout_sec > 0 && watchdog_start(&vm, m, m->opt.timeout_sec)) {
        fprintf(stderr, "%s: cannot start the --timeout watchdog\n", m->prog);
        return HV_STATUS_MONITOR;
    }
    rc = kvm_run_loop(&vm, m);
    hv_report_stop(m);
    if (m->opt.stats)
        print_stats(m, backend);
    rc = hv_write_stats_file(m, kvm_backend_name(backend), rc);
    kvm_stats_close(&m->stats);
    kvm_close(&vm);
    guest_mem_destroy(&m->mem);
    return rc;
}
