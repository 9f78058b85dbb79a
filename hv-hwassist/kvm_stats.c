/*
 * KVM's binary statistics (Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD";
 * Linux 5.14+).  The vCPU stats file is laid out as
 *     header | id string | descriptors (each followed by its name) | data
 * and every value is a u64 at data_offset + desc->offset.  We read it once,
 * after the guest has ended.
 *
 * Why it matters for a student: user-space exits (our --stats table) are only
 * the visible part.  With an in-kernel APIC, EPT/NPT and KVM's own emulator,
 * most exits never leave the kernel; these counters show them.
 */
#include "hv-hwassist/kvm_stats.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The counters worth showing, with what they count (arch/x86/kvm/x86.c). */
static const struct {
    const char *name, *meaning;
} shown[] = {
    {"exits", "all VM exits"},
    {"io_exits", "port I/O exits passed to user space"},
    {"mmio_exits", "MMIO exits passed to user space"},
    {"halt_exits", "hlt exits"},
    {"halt_wakeup", "wake-ups from hlt"},
    {"irq_window_exits", "interrupt-window exits"},
    {"irq_exits", "exits for host interrupts"},
    {"irq_injections", "interrupts injected"},
    {"exception_injections", "exceptions injected"},
    {"insn_emulation", "instructions emulated by KVM"},
    {"insn_emulation_fail", "instructions KVM failed to emulate"},
    {"pf_taken", "guest page faults taken by KVM"},
    {"pf_fixed", "page faults fixed by KVM (mapping built)"},
    {"tlb_flush", "TLB flushes"},
    {"hypercalls", "hypercalls"},
    {"signal_exits", "exits for a pending signal"},
    {"request_irq_exits", "exits to request an interrupt window"},
    {"nmi_window_exits", "NMI-window exits"},
};

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static long shown_index(const char *name)
{
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
        if (!strcmp(shown[i].name, name))
            return (long)i;
    return -1;
}

static void print_counters(FILE *f, int fd, const struct kvm_stats_header *h)
{
    size_t dsz = sizeof(struct kvm_stats_desc) + h->name_size;
    uint64_t values[sizeof(shown) / sizeof(shown[0])];
    int found[sizeof(shown) / sizeof(shown[0])] = {0};
    struct kvm_stats_desc *d = malloc(dsz);
    if (!d)
        return;
    for (uint32_t i = 0; i < h->num_desc; i++) {
        if (read_at(fd, d, dsz, h->desc_offset + (uint64_t)i * dsz))
            break;
        d->name[h->name_size - 1] = '\0';
        long k = shown_index(d->name);
        if (k < 0 || (d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE)
            continue;
        if (!read_at(fd, &values[k], sizeof(uint64_t), h->data_offset + d->offset))
            found[k] = 1;
    }
    free(d);
    for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++)
        if (found[k])
            fprintf(f, "  %-28s %12llu  %s\n", shown[k].name, (unsigned long long)values[k],
                    shown[k].meaning);
}

void kvm_stats_print(FILE *f, const struct kvm_vm *vm, const char *prog)
{
    int fd = ioctl(vm->vcpu_fd, KVM_GET_STATS_FD, NULL);
    struct kvm_stats_header h;
    if (fd < 0) {
        fprintf(f, "%s: KVM's own counters: not available (KVM_GET_STATS_FD needs Linux 5.14+)\n",
                prog);
        return;
    }
    if (read_at(fd, &h, sizeof(h), 0) || h.name_size == 0 || h.name_size > 4096) {
        fprintf(f, "%s: KVM's own counters: unreadable statistics header\n", prog);
        close(fd);
        return;
    }
    fprintf(f, "%s: KVM's own counters for the vCPU (KVM_GET_STATS_FD), in-kernel exits included\n",
            prog);
    print_counters(f, fd, &h);
    close(fd);
}
