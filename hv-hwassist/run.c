/*
 * The exit loop: one VM exit, from the guest's instruction to its resumption.
 *
 *   guest executes `out %al, $0x3f8`
 *     -> the CPU leaves guest mode (VM exit, SDM Vol. 3C §27 / #VMEXIT, APM
 *        Vol. 2 §15.6) with the exit reason "I/O instruction" and the port,
 *        size and direction in the exit qualification;
 *     -> KVM looks for an in-kernel handler (ioeventfd, in-kernel PIC/PIT);
 *        there is none for this port, so it fills kvm_run->io and KVM_RUN
 *        returns to us with exit_reason KVM_EXIT_IO;
 *   handle_io() routes the access to the device model on the bus (uart.c
 *   prints the byte) and, for an IN, leaves the value in the kvm_run page;
 *     -> the next KVM_RUN completes the instruction (KVM copies IN data into
 *        RAX and advances RIP) and re-enters guest mode (VMRESUME / VMRUN).
 *
 * Exits KVM handles itself (page faults with EPT/NPT, the local APIC, HLT
 * with an in-kernel irqchip, CPUID, most MSRs) never come here; that is the
 * point of hardware-assisted virtualization.
 */
#include "hv-hwassist/run.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "abi/hvlab_abi.h"

struct exit_slots {
    unsigned mmio_other, hlt, shutdown, intr, internal, fail_entry, system_event, other;
};
static struct exit_slots slots;

static uint64_t vcpu_rip(struct kvm_vm *vm)
{
    struct kvm_regs r;
    return ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) ? 0 : r.rip;
}

/* KVM_EXIT_IO: port I/O.  `count` > 1 for rep ins/outs; the data for all
 * repetitions sits at run + data_offset (api.rst "KVM_EXIT_IO"). */
static void handle_io(struct kvm_vm *vm, struct hv_machine *m)
{
    struct kvm_run *run = vm->run;
    unsigned size = run->io.size, count = run->io.count;
    if ((size != 1 && size != 2 && size != 4) ||
        run->io.data_offset + (uint64_t)size * count > vm->run_size) {
        hv_stop(m, HV_STATUS_MONITOR, "KVM reported a malformed I/O exit (size %u count %u)",
                size, count);
        return;
    }
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    for (unsigned i = 0; i < count && !m->stopped; i++) {
        uint64_t v = 0;
        if (is_write)
            memcpy(&v, data + i * size, size);
        bus_access(m, HV_SPACE_PIO, run->io.port, is_write, size, &v);
        if (!is_write)
            memcpy(data + i * size, &v, size);
    }
}

/* KVM_EXIT_MMIO: a guest access to a guest-physical address that is not in
 * any memory slot.  KVM has decoded the instruction for us. */
static void handle_mmio(struct kvm_vm *vm, struct hv_machine *m)
{
    struct kvm_run *run = vm->run;
    unsigned len = run->mmio.len;
    if (len == 0 || len > 8) {
        hv_stop(m, HV_STATUS_MONITOR, "KVM reported an MMIO exit of %u bytes", len);
        return;
    }
    uint64_t v = 0;
    if (run->mmio.is_write)
        memcpy(&v, run->mmio.data, len);
    bus_access(m, HV_SPACE_MMIO, run->mmio.phys_addr, run->mmio.is_write, len, &v);
    if (!run->mmio.is_write)
        memcpy(run->mmio.data, &v, len);
}

static const char *internal_error_name(uint32_t sub)
{
    switch (sub) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
    default: return "unexpected exit";
    }
}

static void handle_internal_error(struct kvm_vm *vm, struct hv_machine *m)
{
    hv_stop(m, HV_STATUS_GUEST_CRASH,
            "KVM internal error %u (%s) at rip 0x%llx — on kvm_pvm this is what `int n` "
            "in ring 0 gives",
            vm->run->internal.suberror, internal_error_name(vm->run->internal.suberror),
            (unsigned long long)vcpu_rip(vm));
}

static void handle_exit(struct kvm_vm *vm, struct hv_machine *m)
{
    struct kvm_run *run = vm->run;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(vm, m);
        break;
    case KVM_EXIT_MMIO:
        handle_mmio(vm, m);
        break;
    case KVM_EXIT_HLT: /* only without an in-kernel irqchip; we always have one */
        stats_inc(&m->stats, slots.hlt);
        hv_stop(m, HV_STATUS_GUEST_CRASH, "guest halted at rip 0x%llx with nothing to wake it",
                (unsigned long long)vcpu_rip(vm));
        break;
    case KVM_EXIT_SHUTDOWN: /* triple fault: SDM Vol. 3A §6.15, "Double Fault" */
        stats_inc(&m->stats, slots.shutdown);
        hv_stop(m, HV_STATUS_TRIPLE_FAULT, "guest triple-faulted (shutdown) at rip 0x%llx",
                (unsigned long long)vcpu_rip(vm));
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        stats_inc(&m->stats, slots.internal);
        handle_internal_error(vm, m);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        stats_inc(&m->stats, slots.fail_entry);
        hv_stop(m, HV_STATUS_GUEST_CRASH, "VM entry failed (hardware reason 0x%llx)",
                (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        stats_inc(&m->stats, slots.system_event);
        hv_stop(m, HV_STATUS_TRIPLE_FAULT, "guest system event %u (reset or shutdown)",
                run->system_event.type);
        break;
    default:
        stats_inc(&m->stats, slots.other);
        hv_stop(m, HV_STATUS_MONITOR, "unexpected KVM exit reason %u at rip 0x%llx",
                run->exit_reason, (unsigned long long)vcpu_rip(vm));
    }
}

static void trace_exit(struct kvm_vm *vm, struct hv_machine *m)
{
    /* Port and MMIO exits are traced by the bus, with their device. */
    if (vm->run->exit_reason != KVM_EXIT_IO && vm->run->exit_reason != KVM_EXIT_MMIO)
        fprintf(stderr, "%s: exit reason %u at rip 0x%llx\n", m->prog, vm->run->exit_reason,
                (unsigned long long)vcpu_rip(vm));
}

int kvm_run_loop(struct kvm_vm *vm, struct hv_machine *m)
{
    slots.hlt = stats_reason(&m->stats, "hlt");
    slots.shutdown = stats_reason(&m->stats, "shutdown");
    slots.intr = stats_reason(&m->stats, "signal (kick)");
    slots.internal = stats_reason(&m->stats, "internal error");
    slots.fail_entry = stats_reason(&m->stats, "failed entry");
    slots.system_event = stats_reason(&m->stats, "system event");
    slots.other = stats_reason(&m->stats, "other");

    while (!m->stopped) {
        if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                stats_inc(&m->stats, slots.intr);
                vm->run->immediate_exit = 0;
                if (watchdog_fired())
                    hv_stop(m, HV_STATUS_TIMEOUT, "guest timed out after %g s (--timeout)",
                            m->opt.timeout_sec);
                continue;
            }
            hv_stop(m, HV_STATUS_MONITOR, "KVM_RUN: %s", strerror(errno));
            break;
        }
        if (m->opt.trace)
            trace_exit(vm, m);
        handle_exit(vm, m);
    }
    return m->status;
}

/* ---- --timeout ----------------------------------------------------------
 * A signal to the vCPU thread makes KVM_RUN return EINTR; immediate_exit
 * covers the race where the signal lands just before KVM_RUN (api.rst
 * "immediate_exit").  Some backends can be stuck where no signal helps
 * (MACHINE-NOTES.md: vmcall on kvm_pvm), so the watchdog gives the vCPU a
 * grace period and then ends the process itself. */
#define WATCHDOG_GRACE_SEC 3

static struct {
    struct kvm_vm *vm;
    struct hv_machine *m;
    pthread_t vcpu_thread;
    double seconds;
    volatile sig_atomic_t fired;
} watchdog;

static void kick_handler(int sig)
{
    (void)sig;
    if (watchdog.vm && watchdog.vm->run)
        watchdog.vm->run->immediate_exit = 1;
}

int watchdog_fired(void)
{
    return watchdog.fired;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    sleep_seconds(watchdog.seconds);
    watchdog.fired = 1;
    pthread_kill(watchdog.vcpu_thread, SIGUSR1);
    sleep_seconds(WATCHDOG_GRACE_SEC);
    /* The vCPU never came back out of KVM_RUN. */
    fflush(stdout);
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "%s: guest timed out after %g s (--timeout); KVM_RUN "
                     "did not return, ending the process\n", watchdog.m->prog, watchdog.seconds);
    if (n > 0 && write(2, msg, (size_t)n) < 0)
        _exit(HV_STATUS_TIMEOUT);
    _exit(HV_STATUS_TIMEOUT);
}

int watchdog_start(struct kvm_vm *vm, struct hv_machine *m, double seconds)
{
    struct sigaction sa = {.sa_handler = kick_handler};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL))
        return -1;
    watchdog.vm = vm;
    watchdog.m = m;
    watchdog.seconds = seconds;
    watchdog.vcpu_thread = pthread_self();
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog_main, NULL))
        return -1;
    pthread_detach(t);
    return 0;
}
