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

#define NSHOWN (sizeof(shown) / sizeof(shown[0]))

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

/* Where each shown counter lives in the stats file (KVM_STATS_TYPE_CUMULATIVE
 * ones only): data_offset + desc->offset; found[k] 0 when this KVM lacks it. */
static void find_counters(int fd, const struct kvm_stats_header *h, uint64_t *where, int *found)
{
    size_t dsz = sizeof(struct kvm_stats_desc) + h->name_size;
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
        where[k] = h->data_offset + d->offset;
        found[k] = 1;
    }
    free(d);
}

/* The vCPU's stats file and its header; -1 with a one-line reason. */
static int open_stats(const struct kvm_vm *vm, struct kvm_stats_header *h, const char **why)
{
    int fd = ioctl(vm->vcpu_fd, KVM_GET_STATS_FD, NULL);
    if (fd < 0) {
        *why = "not available (KVM_GET_STATS_FD needs Linux 5.14+)";
        return -1;
    }
    if (read_at(fd, h, sizeof(*h), 0) || h->name_size == 0 || h->name_size > 4096) {
        *why = "unreadable statistics header";
        close(fd);
        return -1;
    }
    return fd;
}

void kvm_stats_print(FILE *f, const struct kvm_vm *vm, const char *prog)
{
    struct kvm_stats_header h;
    const char *why;
    int fd = open_stats(vm, &h, &why);
    if (fd < 0) {
        fprintf(f, "%s: KVM's own counters: %s\n", prog, why);
        return;
    }
    fprintf(f, "%s: KVM's own counters for the vCPU (KVM_GET_STATS_FD), in-kernel exits included\n",
            prog);
    uint64_t where[NSHOWN];
    int found[NSHOWN] = {0};
    find_counters(fd, &h, where, found);
    for (size_t k = 0; k < NSHOWN; k++) {
        uint64_t v;
        if (found[k] && !read_at(fd, &v, sizeof(v), where[k]))
            fprintf(f, "  %-28s %12llu  %s\n", shown[k].name, (unsigned long long)v,
                    shown[k].meaning);
    }
    close(fd);
}

/* ---- the same counters inside benchmark brackets --------------------------- */
static struct {
    int fd;
    uint64_t where[NSHOWN];
} attached = {.fd = -1};

static int read_attached(void *ctx, uint64_t *values)
{
    (void)ctx;
    for (size_t k = 0, i = 0; k < NSHOWN; k++) {
        if (attached.where[k] == UINT64_MAX)
            continue;
        if (read_at(attached.fd, &values[i++], sizeof(uint64_t), attached.where[k]))
            return -1;
    }
    return 0;
}

void kvm_stats_attach(struct hv_stats *st, const struct kvm_vm *vm, const char *prog)
{
    struct kvm_stats_header h;
    const char *why;
    int fd = open_stats(vm, &h, &why);
    if (fd < 0) {
        /* Benchmarks still run; their exits per operation are then only the
         * ones that reached this monitor, and the file says so by lacking
         * kvm lines. */
        if (st->ext.n == 0 && vm->vcpu_fd >= 0 && prog)
            fprintf(stderr, "%s: KVM's own counters: %s; benchmark brackets count only the exits "
                    "that reach user space\n", prog, why);
        return;
    }
    int found[NSHOWN] = {0};
    find_counters(fd, &h, attached.where, found);
    st->ext.n = 0;
    for (size_t k = 0; k < NSHOWN; k++) {
        if (!found[k]) {
            attached.where[k] = UINT64_MAX;
            continue;
        }
        st->ext.name[st->ext.n++] = shown[k].name;
    }
    attached.fd = fd;
    st->ext.read = read_attached;
    st->ext.ctx = NULL;
}

void kvm_stats_close(struct hv_stats *st)
{
    if (attached.fd >= 0)
        close(attached.fd);
    attached.fd = -1;
    st->ext.n = 0;
}
