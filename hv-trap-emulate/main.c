/*
 * hv-trap-emulate: classic trap-and-emulate full virtualization (Popek and
 * Goldberg 1974; VMware Workstation and VirtualBox before VT-x).
 *
 * The unmodified guest kernel, with its native platform ops, runs natively
 * but deprivileged in CPU ring 3 of a traced child process (libhv's ring-3
 * engine).  Each privileged instruction faults and is emulated on a virtual
 * CPU (vcpu.h); the guest's page tables are shadowed (shadow.c); exceptions
 * and interrupts are delivered through the guest's own IDT (interrupts.c).
 * The exit loop is in exits.c; docs/trap-and-emulate.md is the tour.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"
#include "hv-trap-emulate/vcpu.h"
#include "libhv/entry_layout.h"
#include "libhv/guest_image.h"
#include "libhv/machine.h"

#define PROG "hv-trap-emulate"

static const struct hv_cli_info cli_info = {
    .prog = PROG,
    .summary = "Runs an hvlab guest by trap-and-emulate: the unmodified kernel runs "
               "deprivileged in ring 3 of a traced child process; privileged instructions "
               "trap and are emulated; page tables are shadowed.",
    .details = "Needs no /dev/kvm: only ptrace, seccomp and mmap.  Only 64-bit hvlab guests\n"
               "(ELF64 with the hvlab entry) run here; Multiboot kernels start in 32-bit\n"
               "protected mode, which this virtual CPU does not model.\n"
               "--stats adds the exits by reason: each emulated instruction, shadow page\n"
               "faults, guest page faults, system calls, timer interrupts, port I/O, MMIO.\n"
               "Environment: HVLAB_SHADOW=per-mode (default: one shadow address space for\n"
               "guest kernel mode and one for guest user mode) or HVLAB_SHADOW=flush (one\n"
               "shadow, emptied on every change of privilege level); HVLAB_R3_STUB names\n"
               "the ring-3 stub binary (default: found next to this program).",
};

static struct hv_machine machine = {.prog = PROG};
static struct vcpu vcpu;

static uint64_t trap_emulate_rip(struct hv_machine *m)
{
    (void)m;
    return vcpu.regs.rip;
}

static void trap_emulate_raise_irq(struct hv_machine *m, unsigned vector)
{
    (void)m;
    vapic_raise(&vcpu, (int)vector);
}

/* One reason per exit (a device's name for port I/O and MMIO, counted by
 * the bus); "events" happen on the way back into the guest and are not
 * exits of their own.  Emulated instructions get their slot on first use
 * (emulate.c), so the table lists only what the guest really executed. */
static void name_exit_reasons(struct vcpu *v)
{
    struct hv_stats *st = &v->m->stats;
    struct exit_slots *s = &v->slot;
    s->shadow_fault = stats_reason(st, "shadow page fault (mapping installed)");
    s->shadow_wp = stats_reason(st, "shadow refault, page mapped (first write: D)");
    s->guest_pf = stats_reason(st, "guest page fault (#PF injected)");
    s->exception = stats_reason(st, "guest exception, int n");
    s->syscall = stats_reason(st, "syscall (guest system call)");
    s->int80 = stats_reason(st, "int 0x80");
    s->interrupt = stats_reason(st, "host timer kick");
    s->timer = stats_event(st, "timer interrupt injected");
    s->device_irq = stats_event(st, "device interrupt injected (virtio)");
    s->flush = stats_event(st, "shadow flush (CR3, CR0.WP, CR4, EFER.NXE)");
    s->mode_switch = stats_event(st, "privilege change (CPL 0 <-> 3)");
    for (unsigned op = 0; op < X86_OP_COUNT; op++)
        s->insn[op] = SLOT_UNSET;
}

static int parse_policy(enum shadow_policy *p)
{
    const char *s = getenv("HVLAB_SHADOW");
    if (!s || !*s || !strcmp(s, "per-mode")) {
        *p = SHADOW_PER_MODE;
        return 0;
    }
    if (!strcmp(s, "flush")) {
        *p = SHADOW_FLUSH;
        return 0;
    }
    fprintf(stderr, PROG ": HVLAB_SHADOW=%s: expected per-mode or flush\n", s);
    return HV_STATUS_USAGE;
}

/* The hvlab 64-bit entry state (abi/hvlab_abi.h), loaded into the virtual
 * CPU instead of KVM_SET_SREGS. */
static int enter_guest(struct vcpu *v, const struct guest_entry *e)
{
    struct entry_layout l;
    int rc = entry_build_long_mode(v->m, &l);
    if (rc)
        return rc;
    v->cpl = 0;
    v->cs = HVLAB_ENTRY_CS;
    v->ss = HVLAB_ENTRY_DS;
    v->cr0 = ENTRY_CR0;
    v->cr3 = l.cr3;
    v->cr4 = ENTRY_CR4;
    v->efer = ENTRY_EFER;
    v->gdtr = (struct dtr){.base = l.gdt_base, .limit = l.gdt_limit};
    v->idtr = (struct dtr){0, 0}; /* any fault before the guest's lidt: triple fault */
    v->tr = l.tr_selector;
    v->tr_base = l.tss_base;
    v->tr_limit = l.tss_limit;
    vcpu_set_rflags(v, RFLAGS_FIXED);
    v->regs.rip = e->rip;
    v->regs.rdi = e->arg0;
    v->regs.rsi = e->arg1;
    v->regs.rsp = l.rsp;
    vapic_reset(&v->apic);
    v->pending.vector = -1;
    return 0;
}

/* Everything that depends only on the input comes first: a bad image is
 * reported (status 2) before any child process exists. */
static int load_input(struct vcpu *v, struct guest_entry *e)
{
    struct hv_machine *m = v->m;
    char err[256];
    int rc = parse_policy(&v->policy);
    if (rc)
        return rc;
    if (guest_mem_create(&m->mem, m->opt.mem_bytes, err, sizeof(err))) {
        fprintf(stderr, PROG ": %s\n", err);
        return HV_STATUS_USAGE;
    }
    if (hv_add_platform_devices(m) || vapic_register_mmio(v)) {
        fprintf(stderr, PROG ": cannot register the platform devices\n");
        return HV_STATUS_MONITOR;
    }
    if ((rc = hv_add_disk(m)))
        return rc;
    v->tsc_khz = host_tsc_khz();
    struct guest_boot_params p = {
        .platform = HVLAB_PLATFORM_NATIVE,
        .monitor = HVLAB_MONITOR_TRAP_EMULATE,
        .quirks = HVLAB_QUIRK_DEPRIVILEGED,
        .tsc_khz = v->tsc_khz,
    };
    if ((rc = guest_image_load(m, &p, e)))
        return rc;
    if (e->kind != GUEST_ENTRY_HVLAB64) {
        fprintf(stderr, PROG ": %s: a Multiboot (32-bit) kernel; this monitor runs only 64-bit "
                "hvlab guests (use hv-hwassist or QEMU for Multiboot)\n", m->opt.guest_path);
        return HV_STATUS_USAGE;
    }
    return 0;
}

static int setup(struct vcpu *v)
{
    struct guest_entry e;
    char err[256];
    int rc = load_input(v, &e);
    if (rc || (rc = enter_guest(v, &e)))
        return rc;
    name_exit_reasons(v);
    /* #GP needs no error code here (the instruction is decoded anyway):
     * one ptrace stop instead of two for every privileged instruction. */
    v->r3cfg = (struct r3_config){.cpu = -1, .fast_gp = true};
    rc = shadow_init(v, err, sizeof(err));
    if (rc == R3_NOT_PERMITTED) {
        fprintf(stderr, PROG ": %s — this host does not let a process trace a sandboxed "
                "child (ptrace, seccomp); trap-and-emulate cannot run here\n", err);
        return HV_STATUS_SKIP;
    }
    if (rc) {
        fprintf(stderr, PROG ": cannot start the guest's process: %s\n", err);
        return HV_STATUS_MONITOR;
    }
    if (timer_start(v)) {
        fprintf(stderr, PROG ": cannot create the host timer for the virtual APIC\n");
        return HV_STATUS_MONITOR;
    }
    return 0;
}

static void print_stats(struct vcpu *v)
{
    struct r3_stats rs = {0}, one;
    for (unsigned i = 0; i < 2; i++) {
        if (!v->shadow[i].child)
            continue;
        r3_get_stats(v->shadow[i].child, &one);
        rs.runs += one.runs, rs.stops += one.stops, rs.stub_calls += one.stub_calls;
        rs.ops += one.ops;
    }
    fflush(stdout);
    fprintf(stderr, PROG ": shadow paging: %s; ring-3 engine: %llu guest runs, %llu ptrace "
            "stops, %llu stub batches with %llu map/unmap ops\n", shadow_policy_name(v->policy),
            (unsigned long long)rs.runs, (unsigned long long)rs.stops,
            (unsigned long long)rs.stub_calls, (unsigned long long)rs.ops);
    stats_print(stderr, &v->m->stats, PROG);
}

int main(int argc, char **argv)
{
    struct hv_machine *m = &machine;
    struct vcpu *v = &vcpu;
    switch (hv_parse_cli(&cli_info, argc, argv, &m->opt)) {
    case HV_CLI_EXIT_OK: return 0;
    case HV_CLI_USAGE: return HV_STATUS_USAGE;
    case HV_CLI_RUN: break;
    }
    v->m = m;
    m->guest_rip = trap_emulate_rip;
    m->raise_irq = trap_emulate_raise_irq;
    int rc = setup(v);
    if (rc) {
        shadow_destroy(v);
        return rc;
    }
    rc = run_guest(v);
    hv_report_stop(m);
    if (m->opt.stats)
        print_stats(v);
    char backend[96];
    snprintf(backend, sizeof(backend), "ring-3 engine (ptrace), shadow paging %s",
             shadow_policy_name(v->policy));
    rc = hv_write_stats_file(m, backend, rc);
    shadow_destroy(v);
    guest_mem_destroy(&m->mem);
    return rc;
}
