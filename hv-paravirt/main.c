/*
 * hv-paravirt: paravirtualization (Xen PV, lguest): the guest kernel knows
 * it is virtualized and cooperates.
 *
 * The same hvlab guest kernel as under the other monitors, told by its boot
 * info to use its paravirtual platform ops, runs deprivileged in ring 3 of
 * a traced child process (libhv's ring-3 engine, as hv-trap-emulate).  It
 * executes no privileged instruction: it makes hypercalls
 * (abi/hvlab_hypercall.h; hypercalls.c), masks events in a page shared with
 * the monitor (no exit; events.c), and changes its page tables through
 * validated batches (page_tables.c).  The exit loop is in exits.c;
 * docs/paravirt.md is the tour.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"
#include "hv-paravirt/pv.h"
#include "libhv/guest_image.h"
#include "libhv/machine.h"

#define PROG "hv-paravirt"

static const struct hv_cli_info cli_info = {
    .prog = PROG,
    .summary = "Runs an hvlab guest by paravirtualization (Xen PV, lguest): the guest kernel "
               "uses its paravirtual ops, runs deprivileged in ring 3 of a traced child "
               "process and asks for privileged work with hypercalls.",
    .details = "Needs no /dev/kvm: only ptrace, seccomp and mmap.  Only 64-bit hvlab guests\n"
               "run here; the boot info tells the guest to use its paravirtual platform.\n"
               "A privileged instruction in the guest kernel ends it (status 122):\n"
               "\"privileged instruction <insn> at <rip> in a paravirtual guest\".\n"
               "--stats adds the exits by reason: each hypercall by name, page faults and\n"
               "exceptions delivered, user system calls bounced to the guest kernel, host\n"
               "timer kicks; and the events: upcalls delivered, privilege changes.\n"
               "Environment: HVLAB_R3_STUB names the ring-3 stub binary (default: found\n"
               "next to this program).",
};

static struct hv_machine machine = {.prog = PROG};
static struct pv_vcpu vcpu;

/* A device writes guest RAM for the guest (a read's data, the used ring):
 * never into a pinned page table, which the guest itself may not write
 * (docs/paravirt.md §7.5) — or a disk read could plant entries that no
 * HVC_MMU_UPDATE validated. */
static bool paravirt_dma_guard(void *ctx, uint64_t gpa, uint64_t len)
{
    const struct pv_vcpu *v = ctx;
    if (!len || !v->frames)
        return true;
    for (uint64_t pfn = gpa >> 12; pfn <= (gpa + len - 1) >> 12; pfn++)
        if (pfn >= v->nframes || v->frames[pfn].level)
            return false;
    return true;
}

static void paravirt_raise_irq(struct hv_machine *m, unsigned vector)
{
    (void)m;
    event_raise_device(&vcpu, vector);
}

static uint64_t paravirt_rip(struct hv_machine *m)
{
    (void)m;
    return vcpu.regs.rip;
}

static void name_exit_reasons(struct pv_vcpu *v)
{
    struct hv_stats *st = &v->m->stats;
    struct pv_slots *s = &v->slot;
    name_hypercalls(v);
    s->page_fault = stats_reason(st, "guest page fault (#PF delivered)");
    s->exception = stats_reason(st, "guest exception delivered (not #PF)");
    s->privileged = stats_reason(st, "privileged instruction (guest ended)");
    s->user_syscall = stats_reason(st, "user system call (bounced to the guest)");
    s->kick = stats_reason(st, "host timer kick");
    s->hole = stats_reason(st, "guest code in the hypervisor hole");
    s->event = stats_event(st, "event upcall delivered (timer)");
    s->device_event = stats_event(st, "event upcall delivered (virtio)");
    s->mode_switch = stats_event(st, "privilege change (CPL 0 <-> 3)");
    s->host_map = stats_event(st, "host mapping installed (eager)");
}

/* Everything that depends only on the input comes first: a bad image is
 * reported (status 2) before any child process exists. */
static int load_input(struct pv_vcpu *v, struct guest_entry *e)
{
    struct hv_machine *m = v->m;
    char err[256];
    if (guest_mem_create(&m->mem, m->opt.mem_bytes, err, sizeof(err))) {
        fprintf(stderr, PROG ": %s\n", err);
        return HV_STATUS_USAGE;
    }
    m->mem.dma_guard = paravirt_dma_guard;
    m->mem.dma_guard_ctx = v;
    if (hv_add_platform_devices(m)) {
        fprintf(stderr, PROG ": cannot register the platform devices\n");
        return HV_STATUS_MONITOR;
    }
    int rc = hv_add_disk(m);
    if (rc)
        return rc;
    v->tsc_khz = host_tsc_khz();
    struct guest_boot_params p = {
        .platform = HVLAB_PLATFORM_PARAVIRT,
        .monitor = HVLAB_MONITOR_PARAVIRT,
        .quirks = HVLAB_QUIRK_DEPRIVILEGED,
        .tsc_khz = v->tsc_khz,
    };
    rc = guest_image_load(m, &p, e);
    if (rc)
        return rc;
    if (e->kind != GUEST_ENTRY_HVLAB64) {
        fprintf(stderr, PROG ": %s: a Multiboot (32-bit) kernel; this monitor runs only 64-bit "
                "hvlab guests with paravirtual ops (use hv-hwassist or QEMU for Multiboot)\n",
                m->opt.guest_path);
        return HV_STATUS_USAGE;
    }
    return 0;
}

/* The hvlab entry state (abi/hvlab_abi.h) as far as a paravirtual guest
 * sees it: kernel mode, events masked, RDI/RSI as always, a stack at the end
 * of the scratch area; the address space is the boot space (page_tables.c). */
static void enter_guest(struct pv_vcpu *v, const struct guest_entry *e)
{
    v->cpl = 0;
    v->regs.rip = e->rip;
    v->regs.rdi = e->arg0;
    v->regs.rsi = e->arg1;
    v->regs.rsp = HVLAB_SCRATCH_END;
    v->regs.rflags = RFLAGS_IF | RFLAGS_FIXED; /* the host's: ring 3 runs with IF=1 */
    v->shared = gm_ptr(&v->m->mem, HVLAB_PV_SHARED_PADDR, sizeof(*v->shared));
    events_init(v);
}

static int setup(struct pv_vcpu *v)
{
    struct guest_entry e;
    char err[256];
    int rc = load_input(v, &e);
    if (rc)
        return rc;
    enter_guest(v, &e);
    name_exit_reasons(v);
    /* #GP needs no error code (the instruction is decoded anyway): one
     * ptrace stop instead of two. */
    v->r3cfg = (struct r3_config){.cpu = -1, .fast_gp = true};
    rc = pt_init(v, err, sizeof(err));
    if (rc == R3_NOT_PERMITTED) {
        fprintf(stderr, PROG ": %s — this host does not let a process trace a sandboxed "
                "child (ptrace, seccomp); paravirtualization cannot run here\n", err);
        return HV_STATUS_SKIP;
    }
    if (rc) {
        fprintf(stderr, PROG ": cannot start the guest's process: %s\n", err);
        return HV_STATUS_MONITOR;
    }
    return 0;
}

static void print_stats(struct pv_vcpu *v)
{
    struct r3_stats rs = {0}, one;
    uint64_t pinned = 0;
    for (unsigned i = 0; i < 2; i++) {
        if (!v->child[i])
            continue;
        r3_get_stats(v->child[i], &one);
        rs.runs += one.runs, rs.stops += one.stops, rs.stub_calls += one.stub_calls;
        rs.ops += one.ops;
    }
    for (uint64_t f = 0; f < v->nframes; f++)
        pinned += v->frames[f].level != 0;
    fflush(stdout);
    fprintf(stderr, PROG ": direct paging: %llu page tables pinned at the end; ring-3 engine: "
            "%llu guest runs, %llu ptrace stops, %llu stub batches with %llu map/unmap ops\n",
            (unsigned long long)pinned, (unsigned long long)rs.runs,
            (unsigned long long)rs.stops, (unsigned long long)rs.stub_calls,
            (unsigned long long)rs.ops);
    stats_print(stderr, &v->m->stats, PROG);
}

int main(int argc, char **argv)
{
    struct hv_machine *m = &machine;
    struct pv_vcpu *v = &vcpu;
    switch (hv_parse_cli(&cli_info, argc, argv, &m->opt)) {
    case HV_CLI_EXIT_OK: return 0;
    case HV_CLI_USAGE: return HV_STATUS_USAGE;
    case HV_CLI_RUN: break;
    }
    v->m = m;
    m->guest_rip = paravirt_rip;
    m->raise_irq = paravirt_raise_irq;
    int rc = setup(v);
    if (rc) {
        pt_destroy(v);
        return rc;
    }
    rc = run_guest(v);
    hv_report_stop(m);
    if (m->opt.stats)
        print_stats(v);
    rc = hv_write_stats_file(m, "ring-3 engine (ptrace), direct paging", rc);
    pt_destroy(v);
    guest_mem_destroy(&m->mem);
    return rc;
}
