/*
 * bench_exit.c - the exit group: what one privileged or trapping operation
 * costs.  These are the nanobenchmarks of Adams & Agesen (ASPLOS 2006, "A
 * Comparison of Software and Hardware Techniques for x86 Virtualization":
 * syscall, in, cr8wr, call/ret, pgfault, divzero, ptemod) and of
 * kvm-unit-tests' x86/vmexit.c (cpuid, vmcall, mov_to_cr8, inl_pmtimer,
 * ipi, ple...), run the same way under every monitor so that each line
 * compares techniques.  They run in kernel mode, where the operation is
 * legal, except exit.syscall (a user task) - and the kernel's "kernel mode"
 * is CPU ring 3 under hv-trap-emulate and hv-paravirt, where the very same
 * call sites trap or become hypercalls.
 *
 * Every loop goes through the platform op a kernel would use (platform->),
 * so the paravirtual row measures the paravirtual op, not the instruction
 * it replaced.  docs/benchmarks.md describes what each isolates.
 */
#include "kernel.h"
#include "bench.h"
#include "mm.h"
#include "pv.h"
#include "timer.h"
#include "traps.h"

/* Time n iterations of BODY with the TSC. */
#define TIMED_LOOP(n, body)                                 \
    ({                                                      \
        uint64_t t0_ = rdtsc();                             \
        for (uint64_t i_ = 0; i_ < (n); i_++) {             \
            (void)i_;                                       \
            body;                                           \
        }                                                   \
        rdtsc() - t0_;                                      \
    })

static bool is_native_platform(void)
{
    return !platform_is_paravirt();
}

/* ---- exit.hypercall ------------------------------------------------------ */

/*
 * The platform's null hypercall.  paravirt: HVC_VERSION through the gate
 * (`syscall` at virtual CPL 0, pv.c).  Under KVM (hv-hwassist, QEMU with
 * KVM): VMCALL on Intel, VMMCALL on AMD (SDM Vol. 2B "VMCALL"; AMD APM Vol.
 * 3 "VMMCALL": each is #UD on the other vendor's CPU, and KVM would then
 * patch the instruction in guest memory), with RAX = a number KVM does not
 * know: its kvm_emulate_hypercall() returns -KVM_ENOSYS (-1000) in RAX,
 * the cheapest round trip through KVM's hypercall path.  Who answers is
 * told by CPUID leaf 0x40000000 (the hypervisor's signature; KVM's is
 * "KVMKVMKVM\0\0\0", QEMU TCG's "TCGTCGTCGTCG").
 */
#define KVM_ENOSYS         1000
#define CPUID1_ECX_HYPERVISOR (1u << 31)  /* "a hypervisor is present" */
#define KVM_UNKNOWN_HCALL  0x7fff0000ull

enum hcall_kind { HCALL_PV, HCALL_VMCALL, HCALL_VMMCALL };
static enum hcall_kind hcall_kind;

static void cpuid_string(uint32_t leaf, char out[13], bool vendor_order)
{
    struct cpuid_regs r;
    platform->cpuid(leaf, 0, &r);
    /* leaf 0: EBX, EDX, ECX ("GenuineIntel"); 0x40000000: EBX, ECX, EDX */
    uint32_t w[3] = { r.ebx, vendor_order ? r.edx : r.ecx, vendor_order ? r.ecx : r.edx };
    memcpy(out, w, 12);
    out[12] = '\0';
    for (int i = 0; i < 12; i++)        /* for a reason line: printable only */
        if (out[i] && (out[i] < ' ' || out[i] > '~'))
            out[i] = '?';
}

static const char *hypercall_na(const struct bench *b)
{
    static char why[120];
    char sig[13], vendor[13];
    struct cpuid_regs r;
    (void)b;

    if (platform_is_paravirt()) {
        hcall_kind = HCALL_PV;
        return NULL;
    }
    if (boot_info->monitor == HVLAB_MONITOR_TRAP_EMULATE)
        return "an unmodified guest has no hypercall interface (trap-and-emulate)";
    if (quirk(HVLAB_QUIRK_VMCALL_HANGS))
        return "vmcall/vmmcall never returns on this KVM backend (kvm_pvm)";
    platform->cpuid(0x40000000, 0, &r);
    memcpy(sig, (uint32_t[3]){ r.ebx, r.ecx, r.edx }, 12);
    if (memcmp(sig, "KVMKVMKVM\0\0\0", 12) != 0) {
        cpuid_string(0x40000000, sig, false);
        platform->cpuid(1, 0, &r);
        if (memcmp(sig, "TCGTCGTCGTCG", 12) == 0)
            return "no hypervisor to call: pure emulation (vmcall is #UD)";
        if (!(r.ecx & CPUID1_ECX_HYPERVISOR))
            return "no hypervisor to call: CPUID.1:ECX[31] is clear (vmcall is #UD)";
        snprintf(why, sizeof(why), "the hypervisor is not KVM (CPUID 0x40000000 \"%s\"): "
                 "no known hypercall", sig);
        return why;
    }
    cpuid_string(0, vendor, true);
    bool amd = memcmp(vendor, "AuthenticAMD", 12) == 0 || memcmp(vendor, "HygonGenuine", 12) == 0;
    hcall_kind = amd ? HCALL_VMMCALL : HCALL_VMCALL;
    return NULL;
}

static inline int64_t kvm_vmcall(uint64_t nr)
{
    int64_t ret;
    __asm__ volatile("vmcall" : "=a"(ret) : "a"(nr) : "memory");
    return ret;
}

static inline int64_t kvm_vmmcall(uint64_t nr)
{
    int64_t ret;
    __asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr) : "memory");
    return ret;
}

/* One call first: a wrong answer means the premise (who answers) is wrong. */
static int hypercall_setup(const struct bench *b)
{
    (void)b;
    int64_t got, want;
    switch (hcall_kind) {
    case HCALL_PV: got = pv_version(); want = HVLAB_HYPERCALL_VERSION; break;
    case HCALL_VMCALL: got = kvm_vmcall(KVM_UNKNOWN_HCALL); want = -KVM_ENOSYS; break;
    default: got = kvm_vmmcall(KVM_UNKNOWN_HCALL); want = -KVM_ENOSYS; break;
    }
    if (got != want) {
        bench_fail("the null hypercall returned %ld, expected %ld", got, want);
        return -1;
    }
    return 0;
}

static uint64_t hypercall_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    switch (hcall_kind) {
    case HCALL_PV: return TIMED_LOOP(n, pv_version());
    case HCALL_VMCALL: return TIMED_LOOP(n, kvm_vmcall(KVM_UNKNOWN_HCALL));
    default: return TIMED_LOOP(n, kvm_vmmcall(KVM_UNKNOWN_HCALL));
    }
}

/* ---- port I/O and MMIO to the null devices -------------------------------- */

/* HVLAB_PORT_NULL: writes ignored, reads 0 - the cheapest exit to the
 * monitor's device model (kvm-unit-tests' inl_from_pmtimer, Adams &
 * Agesen's "in").  Under QEMU nothing answers: an empty ISA port. */
static uint64_t pio_out_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, platform->outl(HVLAB_PORT_NULL, 0));
}

static uint64_t pio_in_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, (void)platform->inl(HVLAB_PORT_NULL));
}

/*
 * The null register page at HVLAB_MMIO_NULL_PADDR (docs/abi.md).  Native:
 * mapped uncached at va == pa, like the xAPIC page (an MMIO register must
 * not be cached: SDM Vol. 3A 12.3, UC memory type), once; every access is
 * an exit where a monitor emulates it (no RAM behind the address: KVM's
 * KVM_EXIT_MMIO, hv-trap-emulate's emulate_mmio).  Paravirt: a device
 * hypercall, nothing to map.
 */
static int mmio_setup(const struct bench *b)
{
    static bool mapped;
    (void)b;
    if (mapped || !is_native_platform())
        return 0;
    if (map_page(&kernel_aspace, HVLAB_MMIO_NULL_PADDR, HVLAB_MMIO_NULL_PADDR,
                 PTE_W | PTE_PCD | PTE_PWT | PTE_NX) < 0) {
        bench_fail("cannot map the null MMIO page at 0x%llx", HVLAB_MMIO_NULL_PADDR);
        return -1;
    }
    mapped = true;
    return 0;
}

static uint64_t mmio_read_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, (void)platform->mmio_read32(HVLAB_MMIO_NULL_PADDR));
}

static uint64_t mmio_write_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, platform->mmio_write32(HVLAB_MMIO_NULL_PADDR, 0));
}

/* ---- CPUID, RDTSC, MSRs ------------------------------------------------------ */

/* CPUID leaf 0.  Under VT-x/AMD-V it always exits (SDM Vol. 3C 26.1.2:
 * CPUID exits unconditionally); under trap-and-emulate and paravirt it runs
 * natively in ring 3 and returns the host's answer (DESIGN.md §4). */
static uint64_t cpuid_loop(const struct bench *b, uint64_t n)
{
    struct cpuid_regs r;
    (void)b;
    return TIMED_LOOP(n, platform->cpuid(0, 0, &r));
}

/* Exits only if the hypervisor asks (RDTSC exiting, SDM Vol. 3C 25.1.3);
 * CR4.TSD is 0, so it never faults in ring 3 either. */
static uint64_t rdtsc_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, (void)rdtsc());
}

/* IA32_APIC_BASE (0x1b): benign, present on every x86-64 CPU and every
 * hvlab monitor; written back with the value read (no change of state). */
static const char *msr_na(const struct bench *b)
{
    (void)b;
    if (platform_is_paravirt())
        return "a paravirtual guest has no MSRs (its timer and system calls are hypercalls)";
    return NULL;
}

static uint64_t apic_base_value;

static int wrmsr_setup(const struct bench *b)
{
    (void)b;
    apic_base_value = platform->rdmsr(MSR_APIC_BASE);
    return 0;
}

static uint64_t rdmsr_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, (void)platform->rdmsr(MSR_APIC_BASE));
}

static uint64_t wrmsr_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, platform->wrmsr(MSR_APIC_BASE, apic_base_value));
}

/* ---- the interrupt flag, CR8, CR3 ----------------------------------------------- */

/* One op = the pair.  Native: CLI and STI (privileged: each traps in ring 3,
 * SDM Vol. 2A "CLI": #GP if CPL > IOPL); paravirt: two stores into the
 * shared page, and a hypercall only if an event came meanwhile.  The
 * kernel runs with interrupts off: the loop leaves them off. */
static uint64_t cli_sti_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    uint64_t cycles = TIMED_LOOP(n, { platform->irq_disable(); platform->irq_enable(); });
    platform->irq_disable();
    return cycles;
}

/* MOV to CR8 (the task-priority register, SDM Vol. 3A 11.8.6), with 0:
 * native only, so no platform op; kvm-unit-tests' mov_to_cr8. */
static const char *cr8_na(const struct bench *b)
{
    (void)b;
    if (platform_is_paravirt())
        return "a paravirtual guest has no CR8: it masks events in the shared page";
    return NULL;
}

static uint64_t cr8_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, __asm__ volatile("mov %0, %%cr8" :: "r"(0ull) : "memory"));
}

/* A CR3 load with the current value: flushes every non-global TLB entry
 * (SDM Vol. 3A 4.10.4.1), so a shadow-paging monitor drops its shadow. */
static uint64_t cr3_reload_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, platform->write_cr3(platform->read_cr3()));
}

/* ---- exit.syscall: a user task's null system call ---------------------------------- */

static int syscall_calibrate(const struct bench *b, uint64_t goal, uint64_t *units)
{
    struct bench_uparams io = { .n = 1, .goal = goal, .n_max = BENCH_N_MAX };
    if (bench_user_task(b, USER_SYMBOL(user_bench_getpid), &io, 1, NULL) < 0)
        return -1;
    *units = io.n;
    return 0;
}

static int syscall_run(const struct bench *b, uint64_t units, uint64_t *cycles)
{
    struct bench_uparams io = { .n = units };
    if (bench_user_task(b, USER_SYMBOL(user_bench_getpid), &io, 1, NULL) < 0)
        return -1;
    *cycles = io.cycles;
    return 0;
}

/* ---- exceptions: #DE and #PF round trips ------------------------------------------ */

/* probe.S's exception-table fixups (Linux's _ASM_EXTABLE, kvm-unit-tests'
 * ASM_TRY): the handler resumes after the faulting instruction. */
static int divzero_setup(const struct bench *b)
{
    (void)b;
    probe_arm();
    if (probe_divide_error() != PROBE_FAULTED || last_fault.vector != X86_DE) {
        bench_fail("a divide by zero did not raise #DE (vector %lu)", last_fault.vector);
        return -1;
    }
    return 0;
}

static uint64_t divzero_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    return TIMED_LOOP(n, (void)probe_divide_error());
}

/* A load from BENCH_PF_VA, which nothing maps: #PF error 0 (not present,
 * read, supervisor; SDM Vol. 3A 4.7).  Nothing is mapped by the handler:
 * the next op faults again. */
static int pagefault_setup(const struct bench *b)
{
    uint64_t v;
    (void)b;
    probe_arm();
    if (probe_read64(BENCH_PF_VA, &v) != PROBE_FAULTED || last_fault.vector != X86_PF ||
        last_fault.cr2 != BENCH_PF_VA) {
        bench_fail("a load from unmapped 0x%llx did not raise #PF there (vector %lu, cr2 0x%lx)",
                   BENCH_PF_VA, last_fault.vector, last_fault.cr2);
        return -1;
    }
    return 0;
}

static uint64_t pagefault_loop(const struct bench *b, uint64_t n)
{
    uint64_t v;
    (void)b;
    return TIMED_LOOP(n, (void)probe_read64(BENCH_PF_VA, &v));
}

/* ---- page tables: one PTE, one address-space switch --------------------------------- */

/*
 * One PTE of a mapped kernel page, rewritten to point at the other of two
 * frames, then INVLPG (SDM Vol. 3A 4.10.4.1: a changed translation needs
 * it).  Outside lazy MMU mode: on paravirt each set_pte is one
 * HVC_MMU_UPDATE and the INVLPG one HVC_TLB_FLUSH.  Nothing touches the
 * page afterwards: the cost of refilling a translation is mem.*'s.
 */
static uint64_t ptemod_frame[2];
static uint64_t *ptemod_pte;

static int ptemod_setup(const struct bench *b)
{
    uint64_t v;
    (void)b;
    ptemod_frame[0] = pmm_alloc();
    ptemod_frame[1] = pmm_alloc();
    if (!ptemod_frame[0] || !ptemod_frame[1] ||
        map_page(&kernel_aspace, BENCH_PTEMOD_VA, ptemod_frame[0], PTE_W | PTE_NX) < 0 ||
        !(ptemod_pte = pte_lookup(&kernel_aspace, BENCH_PTEMOD_VA))) {
        bench_fail("cannot map a page for exit.ptemod");
        return -1;
    }
    probe_read64(BENCH_PTEMOD_VA, &v);  /* the translation is in use */
    return 0;
}

static void ptemod_teardown(const struct bench *b)
{
    (void)b;
    unmap_page(&kernel_aspace, BENCH_PTEMOD_VA);
    for (int i = 0; i < 2; i++)
        if (ptemod_frame[i])
            pmm_free(ptemod_frame[i]);
    ptemod_frame[0] = ptemod_frame[1] = 0;
}

static uint64_t ptemod_loop(const struct bench *b, uint64_t n)
{
    uint64_t flags = PTE_P | PTE_W | pte_nx;
    uint64_t pte[2] = { ptemod_frame[0] | flags, ptemod_frame[1] | flags };
    (void)b;
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        platform->set_pte(ptemod_pte, pte[(i + 1) & 1]);
        platform->invlpg(BENCH_PTEMOD_VA);
    }
    uint64_t cycles = rdtsc() - t0;
    platform->set_pte(ptemod_pte, pte[0]);
    platform->invlpg(BENCH_PTEMOD_VA);
    return cycles;
}

/*
 * Two address spaces that share the kernel (PML4[0]) and differ in one
 * user page, as two processes do; one op = one CR3 load (aspace_switch).
 * On paravirt the base-pointer hypercall also remaps the user half that
 * differs in the host process.
 */
static struct aspace as_pair[2];
static uint64_t as_frame[2];

static void as_switch_teardown(const struct bench *b)
{
    (void)b;
    for (int i = 0; i < 2; i++) {
        if (as_pair[i].pml4)
            aspace_destroy(&as_pair[i]);
        if (as_frame[i])
            pmm_free(as_frame[i]);
        as_frame[i] = 0;
    }
}

static int as_switch_setup(const struct bench *b)
{
    for (int i = 0; i < 2; i++) {
        as_frame[i] = pmm_alloc();
        if (!as_frame[i] || aspace_create(&as_pair[i]) < 0 ||
            map_page(&as_pair[i], USER_DATA_VA, as_frame[i], PTE_U | PTE_W | PTE_NX) < 0) {
            as_switch_teardown(b);
            bench_fail("cannot build two address spaces for exit.as_switch");
            return -1;
        }
    }
    return 0;
}

static uint64_t as_switch_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    uint64_t cycles = TIMED_LOOP(n, aspace_switch(&as_pair[i_ & 1]));
    aspace_switch(&kernel_aspace);
    return cycles;
}

/* ---- the timer: interrupt latency and HLT wake-up ----------------------------------- */

#define TIMER_WAIT_NS   1000000000ull   /* per op; kvm_pvm delivers only every ~1 ms */
#define TIMER_SPINS     20000000u
#define HALTS_PER_OP    16u

static const char *timer_na(const struct bench *b)
{
    (void)b;
    if (timer_setup() < 0)
        return "no usable timer (the platform's timer_init failed)";
    return NULL;
}

static void timer_teardown(const struct bench *b)
{
    (void)b;
    timer_disarm();
    platform->irq_disable();
}

/* Spins with interrupts on until the tick count passes `before`. */
static bool spin_for_tick(uint64_t before)
{
    uint64_t deadline = rdtsc() + ns_to_tsc(TIMER_WAIT_NS);
    for (uint32_t i = 0; i < TIMER_SPINS && timer_ticks == before; i++) {
        if (rdtsc() > deadline)
            break;
        cpu_relax();
    }
    return timer_ticks != before;
}

/*
 * One op = arm the one-shot timer to expire at once (0 ns: the APIC's
 * smallest count, 1; on paravirt a deadline of "now") -> the interrupt ->
 * its handler (EOI) -> back in the loop, interrupts enabled throughout.
 * kvm-unit-tests' vmexit has the same idea for an IPI to self.
 */
static uint64_t timer_irq_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    platform->irq_enable();
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t before = timer_ticks;
        timer_arm(0, 0);
        if (!spin_for_tick(before)) {
            platform->irq_disable();
            bench_fail("the timer interrupt did not arrive within %llu ms",
                       TIMER_WAIT_NS / 1000000);
            return 0;
        }
    }
    uint64_t cycles = rdtsc() - t0;
    platform->irq_disable();
    return cycles;
}

/*
 * One op = arm the timer to expire at once, then `sti; hlt` (safe_halt;
 * HVC_BLOCK on paravirt) until its interrupt wakes the CPU (SDM Vol. 2A
 * "HLT": an interrupt resumes execution after HLT), interrupts off again.
 * HLT has no timeout: the timer was just armed, and the count of halts per
 * op is bounded.
 */
static uint64_t hlt_wakeup_loop(const struct bench *b, uint64_t n)
{
    (void)b;
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t before = timer_ticks;
        timer_arm(0, 0);
        for (unsigned h = 0; h < HALTS_PER_OP && timer_ticks == before; h++) {
            platform->safe_halt();      /* returns with interrupts on */
            platform->irq_disable();
        }
        if (timer_ticks == before) {
            bench_fail("%u halts did not see the timer interrupt", HALTS_PER_OP);
            return 0;
        }
    }
    return rdtsc() - t0;
}

/* ---- the group -------------------------------------------------------------------- */

#define EXIT_BENCH(nm, ...) { .name = "exit." nm, .unit = "ns/op", __VA_ARGS__ }

const struct bench bench_exit_group[] = {
    EXIT_BENCH("hypercall", .na = hypercall_na, .setup = hypercall_setup, .loop = hypercall_loop),
    EXIT_BENCH("pio_out", .loop = pio_out_loop),
    EXIT_BENCH("pio_in", .loop = pio_in_loop),
    EXIT_BENCH("mmio_read", .setup = mmio_setup, .loop = mmio_read_loop),
    EXIT_BENCH("mmio_write", .setup = mmio_setup, .loop = mmio_write_loop),
    EXIT_BENCH("cpuid", .loop = cpuid_loop),
    EXIT_BENCH("rdtsc", .loop = rdtsc_loop, .n_start = 1024),
    EXIT_BENCH("rdmsr", .na = msr_na, .loop = rdmsr_loop),
    EXIT_BENCH("wrmsr", .na = msr_na, .setup = wrmsr_setup, .loop = wrmsr_loop),
    EXIT_BENCH("cli_sti", .loop = cli_sti_loop),
    EXIT_BENCH("cr8_write", .na = cr8_na, .loop = cr8_loop),
    EXIT_BENCH("cr3_reload", .loop = cr3_reload_loop),
    EXIT_BENCH("syscall", .calibrate = syscall_calibrate, .run = syscall_run),
    EXIT_BENCH("divzero", .setup = divzero_setup, .loop = divzero_loop),
    EXIT_BENCH("pagefault", .setup = pagefault_setup, .loop = pagefault_loop),
    EXIT_BENCH("ptemod", .setup = ptemod_setup, .teardown = ptemod_teardown, .loop = ptemod_loop),
    EXIT_BENCH("as_switch", .setup = as_switch_setup, .teardown = as_switch_teardown,
               .loop = as_switch_loop),
    EXIT_BENCH("timer_irq", .na = timer_na, .teardown = timer_teardown, .loop = timer_irq_loop),
    EXIT_BENCH("hlt_wakeup", .na = timer_na, .teardown = timer_teardown, .loop = hlt_wakeup_loop),
};
const unsigned bench_exit_count = ARRAY_SIZE(bench_exit_group);
