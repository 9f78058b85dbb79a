/*
 * sensitive.c - the `sensitive` command: x86's sensitive but unprivileged
 * instructions, run in (virtual) ring 0, and what they show.
 *
 * Popek and Goldberg (1974): a machine can be virtualized by trap-and-emulate
 * if every *sensitive* instruction (one that reads or changes the machine's
 * control state) is *privileged* (faults outside the most privileged mode),
 * so that a monitor running the guest kernel deprivileged sees each one.
 * x86 before VT-x/AMD-V breaks that rule.  SDM Vol. 3A 2.8 ("System
 * Instruction Summary", table 2-3) marks SGDT, SIDT, SLDT, STR, SMSW, LAR and
 * LSL "protected from application: no"; reading CS/SS gives away the CPL
 * (SDM Vol. 3A 5.5); PUSHF shows the real IF and POPF silently ignores what
 * the CPL does not allow (SDM Vol. 2B "POPF"); CPUID and RDPID answer from
 * the CPU the code really runs on.  In CPU ring 3 all of these execute
 * without a fault (RDPID aside, on a CPU without it) and report the *host's*
 * state, which is what HVLAB_QUIRK_DEPRIVILEGED tells the kernel.
 *
 * Each line is `sensitive: INSN: SEEN — VERDICT`, comparing what the
 * instruction showed with what the kernel knows its (virtual) CPU holds:
 *   virtualized     equal, and the kernel runs in (virtual) ring 0
 *   host's view     something else: under trap-and-emulate, the host's state
 *   matches, but untrapped ...  equal, yet HVLAB_QUIRK_DEPRIVILEGED says the
 *                   instruction ran untrapped in ring 3: host and guest agree
 *   #UD (...), #GP (...)  the instruction faulted (caught by a probe.S probe)
 * A demonstration, not a test: the exit code is 0 whatever it shows.  Only
 * general-purpose registers are used, and interrupts stay disabled.
 */
#include "kernel.h"
#include "sensitive.h"
#include "traps.h"

/* Not (yet) in abi/x86_arch.h. */
#define CR4_OSXSAVE         (1ull << 18)    /* XSETBV/XGETBV enabled (SDM Vol. 3A 2.5) */
#define CPUID1_ECX_XSAVE    (1u << 26)
#define CPUID1_ECX_OSXSAVE  (1u << 27)      /* a copy of CR4.OSXSAVE */
#define CPUID1_ECX_HV       (1u << 31)      /* set by hypervisors (AMD APM Vol. 3, CPUID Fn1) */
#define CPUID7_ECX_RDPID    (1u << 22)
#define CPUID81_EDX_RDTSCP  (1u << 27)      /* CPUID.80000001H:EDX */
#define CPUID_HV_LEAF       0x40000000u     /* hypervisor leaves 0x40000000..0x400000ff */
#define MSR_TSC_AUX         0xc0000103u     /* what RDPID and RDTSCP read */
#define LAR_MASK            0x00f0ff00u     /* bits 19:16 of LAR's result are undefined */

static unsigned n_insns, n_host;

/* One line per instruction: SEEN is printf-formatted. */
static void PRINTF_LIKE(3, 4) show(const char *insn, const char *verdict, const char *fmt, ...)
{
    char seen[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(seen, sizeof(seen), fmt, ap);
    va_end(ap);
    n_insns++;
    kprintf("sensitive: %s: %s — %s\n", insn, seen, verdict);
}

/* The verdict on a value the instruction returned: does it match the kernel's? */
static const char *judge(bool matches)
{
    if (!matches) {
        n_host++;
        return "host's view";
    }
    if (quirk(HVLAB_QUIRK_DEPRIVILEGED))
        return "matches, but untrapped: host and guest agree";
    return "virtualized";
}

/* The verdict on a probe that faulted (last_fault, traps.c). */
static const char *fault_verdict(void)
{
    static char buf[64];

    if (last_fault.vector == X86_UD)
        return "#UD (not supported on this CPU)";
    if (last_fault.vector == X86_GP)
        return "#GP (CR4.UMIP: trapped outside ring 0)";
    snprintf(buf, sizeof(buf), "%s (vector %lu)", exception_mnemonic(last_fault.vector),
             last_fault.vector);
    return buf;
}

/* ---- CPUID ------------------------------------------------------------------ */

/*
 * The raw instruction, deliberately not platform->cpuid: what matters here is
 * what CPUID itself returns where the kernel runs.  CPUID never faults at
 * CPL 3 unless the host enables CPUID faulting (an Intel MSR feature; SDM
 * Vol. 4, MSR_MISC_FEATURES_ENABLES bit 0).
 */
static void raw_cpuid(uint32_t leaf, struct cpuid_regs *r)
{
    __asm__ volatile("cpuid"
                     : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
                     : "a"(leaf), "c"(0));
}

/* Twelve ASCII bytes from three registers, as CPUID returns a signature. */
static void signature(char out[13], uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t regs[3] = { a, b, c };

    memcpy(out, regs, 12);
    out[12] = '\0';
    for (int i = 0; i < 12; i++)
        if (out[i] && (out[i] < 0x20 || out[i] > 0x7e))
            out[i] = '.';
}

/*
 * Vendor (leaf 0: EBX, EDX, ECX), the hypervisor bit CPUID.1:ECX[31] and the
 * hypervisor's signature (leaf 0x40000000: EBX, ECX, EDX; SDM Vol. 2A "CPUID":
 * no CPU returns information in 0x40000000-0x4fffffff).  None of them says
 * whose answer it is.  CPUID.1:ECX.OSXSAVE[bit 27] does: it is a copy of the
 * *current* CR4.OSXSAVE of the CPU that executes CPUID.  The kernel never sets
 * CR4.OSXSAVE, a Linux host always does, so a 1 there is the host's CR4.
 */
static void show_cpuid(void)
{
    struct cpuid_regs r;
    char vendor[13], hv[13] = "";

    raw_cpuid(0, &r);
    signature(vendor, r.ebx, r.edx, r.ecx);
    raw_cpuid(1, &r);
    uint32_t ecx1 = r.ecx;
    bool hv_bit = ecx1 & CPUID1_ECX_HV;
    if (hv_bit) {
        raw_cpuid(CPUID_HV_LEAF, &r);
        signature(hv, r.ebx, r.ecx, r.edx);
    }
    bool osxsave = ecx1 & CPUID1_ECX_OSXSAVE;
    bool cr4_osxsave = platform->read_cr4() & CR4_OSXSAVE;

    show("cpuid", judge(osxsave == cr4_osxsave),
         "vendor \"%s\", hypervisor bit %d, leaf 0x40000000 \"%s\", XSAVE %d, "
         "OSXSAVE %d with CR4.OSXSAVE %d", vendor, hv_bit, hv_bit ? hv : "(not asked)",
         (ecx1 & CPUID1_ECX_XSAVE) != 0, osxsave, cr4_osxsave);
}

/* ---- the interrupt flag: PUSHF, POPF ------------------------------------------ */

static uint64_t read_rflags(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0" : "=r"(f) :: "memory");
    return f;
}

/* POPF `want`, then PUSHF: what RFLAGS really became. */
static uint64_t popf_pushf(uint64_t want)
{
    uint64_t seen;
    __asm__ volatile("pushq %1; popfq; pushfq; popq %0"
                     : "=r"(seen) : "r"(want) : "memory", "cc");
    return seen;
}

#define IF_OF(f)   (((f) & RFLAGS_IF) != 0)
#define IOPL_OF(f) ((unsigned)(((f) & RFLAGS_IOPL) >> 12))

/*
 * PUSHF copies the real RFLAGS at any CPL (SDM Vol. 2B "PUSHF").  After CLI
 * (platform->irq_disable) the virtual IF is 0; a deprivileged kernel runs in
 * a host process, whose IF is always 1.
 */
static void show_pushf(void)
{
    platform->irq_disable();
    uint64_t f = read_rflags();
    show("pushf", judge(!IF_OF(f) && IOPL_OF(f) == 0),
         "after cli RFLAGS 0x%lx: IF %d IOPL %u, the kernel's IF 0 IOPL 0", f, IF_OF(f),
         IOPL_OF(f));
}

/*
 * POPF changes IF only if CPL <= IOPL, and IOPL only at CPL 0; otherwise it
 * leaves them alone *without a fault* (SDM Vol. 2B "POPF", table 4-16): the
 * classic sensitive instruction that does not trap.  Set IF and IOPL 3, read
 * back, clear both, read back; at CPL 0 both changes take effect.  No
 * interrupt source is armed here (PICs masked, APIC timer not started), so
 * nothing is delivered in the two instructions that IF is really 1; the
 * kernel's state (IF 0, IOPL 0) is restored at once.
 */
static void show_popf(void)
{
    platform->irq_disable();
    uint64_t base = read_rflags() & ~(RFLAGS_IF | RFLAGS_IOPL);
    uint64_t on = popf_pushf(base | RFLAGS_IF | RFLAGS_IOPL);
    uint64_t off = popf_pushf(base);
    platform->irq_disable();

    bool took = IF_OF(on) && IOPL_OF(on) == 3 && !IF_OF(off) && IOPL_OF(off) == 0;
    show("popf", judge(took), "set IF+IOPL 3: read IF %d IOPL %u; clear: read IF %d IOPL %u",
         IF_OF(on), IOPL_OF(on), IF_OF(off), IOPL_OF(off));
}

/* ---- descriptor-table registers, MSW ------------------------------------------ */

/*
 * SGDT and SIDT store GDTR and IDTR at any CPL (SDM Vol. 2B "SGDT": only
 * CR4.UMIP = 1 makes them #GP(0) at CPL > 0).  A deprivileged kernel sees the
 * host's tables, at addresses it never loaded.
 */
static void show_dtr(const char *insn, int (*probe)(struct desc_ptr *), uint64_t base,
                     uint16_t limit)
{
    struct desc_ptr d = { 0, 0 };

    probe_arm();
    if (probe(&d) != PROBE_OK) {
        show(insn, fault_verdict(), "no value");
        return;
    }
    show(insn, judge(d.base == base && d.limit == limit),
         "base 0x%lx limit 0x%x, the kernel loaded 0x%lx/0x%x", d.base, d.limit, base, limit);
}

/* SLDT and STR store a selector (SDM Vol. 3A 3.4.2: index, TI, RPL). */
static void show_selector_store(const char *insn, int (*probe)(uint16_t *), uint16_t want,
                                const char *what)
{
    uint16_t sel = 0xffff;

    probe_arm();
    if (probe(&sel) != PROBE_OK) {
        show(insn, fault_verdict(), "no value");
        return;
    }
    show(insn, judge(sel == want), "0x%x, the kernel's %s 0x%x", sel, what, want);
}

/*
 * SMSW stores CR0[15:0] (PE, MP, EM, TS, ET, NE) at any CPL (SDM Vol. 2B
 * "SMSW"), where MOV from CR0 would #GP.  The virtual CR0 comes from the
 * platform (which traps or hypercalls for it).
 */
static void show_smsw(void)
{
    uint16_t msw = 0;
    uint16_t want = (uint16_t)platform->read_cr0();

    probe_arm();
    if (probe_smsw(&msw) != PROBE_OK) {
        show("smsw", fault_verdict(), "no value");
        return;
    }
    show("smsw", judge(msw == want), "0x%x, the kernel's CR0[15:0] 0x%x", msw, want);
}

/* ---- segment registers: the CPL shows ------------------------------------------ */

static uint16_t read_ss(void)
{
    uint16_t ss;
    __asm__ volatile("mov %%ss, %0" : "=r"(ss));
    return ss;
}

/*
 * The CPL is CS.RPL (and SS.RPL) (SDM Vol. 3A 5.5), and MOV from a segment
 * register is allowed at any CPL: a deprivileged kernel reads 0x33/0x2b, the
 * host's 64-bit user selectors, not its own 0x08/0x10.
 */
static void show_cs(void)
{
    uint16_t cs = read_cs();
    show("mov cs", judge(cs == GDT_KERNEL_CS), "0x%x (RPL %u), the kernel's CS 0x%x", cs,
         cs & 3u, GDT_KERNEL_CS);
}

/* A null SS is legal in 64-bit ring 0: an interrupt from ring 3 loads one
 * (SDM Vol. 3A 6.14.4), and a task's return to the kernel keeps it. */
static void show_ss(void)
{
    uint16_t ss = read_ss();
    show("mov ss", judge(ss == GDT_KERNEL_DS || ss == 0), "0x%x (RPL %u), the kernel's SS 0x%x",
         ss, ss & 3u, GDT_KERNEL_DS);
}

/* ---- LAR, LSL: descriptors as the current CPL sees them ------------------------ */

static uint64_t gdt_descriptor(uint16_t sel)
{
    return ((const uint64_t *)gdt_base())[sel >> 3];
}

/*
 * LSL and LAR read a descriptor of the current GDT or LDT at any CPL and set
 * ZF; they clear ZF, without a fault, if the descriptor is not visible at the
 * current CPL: for a non-conforming code segment, DPL < CPL (SDM Vol. 3A
 * 5.10.1, 5.10.3; Vol. 2A "LAR", "LSL").  From ring 3 the kernel's DPL-0 code
 * selector names a host descriptor the CPU refuses to show.
 */
static void show_lsl(uint16_t sel)
{
    uint64_t d = gdt_descriptor(sel);
    uint32_t want = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
    uint32_t limit = 0;
    bool zf;

    if (d & (1ull << 55))               /* G: the limit counts 4 KiB units */
        want = (want << 12) | 0xfff;
    __asm__ volatile("lsl %2, %0" : "+r"(limit), "=@ccz"(zf) : "r"((uint32_t)sel));
    if (!zf)
        show("lsl", judge(false), "selector 0x%x not visible (ZF 0), the kernel's GDT says "
             "limit 0x%x", sel, want);
    else
        show("lsl", judge(limit == want), "limit 0x%x of selector 0x%x, the kernel's GDT says "
             "0x%x", limit, sel, want);
}

static void show_lar(uint16_t sel)
{
    uint32_t want = (uint32_t)(gdt_descriptor(sel) >> 32) & LAR_MASK;
    uint32_t rights = 0;
    bool zf;

    __asm__ volatile("lar %2, %0" : "+r"(rights), "=@ccz"(zf) : "r"((uint32_t)sel));
    if (!zf)
        show("lar", judge(false), "selector 0x%x not visible (ZF 0), the kernel's GDT says "
             "rights 0x%x", sel, want);
    else
        show("lar", judge((rights & LAR_MASK) == want), "rights 0x%x of selector 0x%x, the "
             "kernel's GDT says 0x%x", rights & LAR_MASK, sel, want);
}

/* ---- RDPID ------------------------------------------------------------------- */

/* Does CPUID list an instruction that reads IA32_TSC_AUX (RDPID or RDTSCP)? */
static bool cpuid_lists_tsc_aux(bool *rdpid)
{
    struct cpuid_regs r;

    raw_cpuid(0, &r);
    *rdpid = false;
    if (r.eax >= 7) {
        raw_cpuid(7, &r);
        *rdpid = r.ecx & CPUID7_ECX_RDPID;
    }
    raw_cpuid(0x80000000u, &r);
    bool rdtscp = false;
    if (r.eax >= 0x80000001u) {
        raw_cpuid(0x80000001u, &r);
        rdtscp = r.edx & CPUID81_EDX_RDTSCP;
    }
    return *rdpid || rdtscp;
}

/*
 * RDPID returns IA32_TSC_AUX at any CPL, which an OS sets to the CPU number:
 * a deprivileged kernel learns which host CPU it runs on.  Where the CPU lacks
 * RDPID it raises #UD, which the probe catches.  The virtual TSC_AUX is read
 * through the platform (RDMSR is privileged), and only if CPUID says the MSR
 * exists; a CPU may run RDPID although CPUID hides it (a hypervisor under the
 * host masked the bit), and then the value cannot be the virtual CPU's.  A
 * paravirtual CPU has no MSRs at all (the hypervisor owns them, and its
 * rdmsr op stops the kernel): whatever RDPID returns there is the host's.
 */
static void show_rdpid(void)
{
    uint64_t v = 0;
    bool listed;

    if (quirk(HVLAB_QUIRK_NO_RDTSCP)) {
        show("rdpid", "not tried", "HVLAB_QUIRK_NO_RDTSCP: rdpid is unusable here");
        return;
    }
    bool has_aux = cpuid_lists_tsc_aux(&listed);

    probe_arm();
    if (probe_rdpid(&v) != PROBE_OK) {
        show("rdpid", fault_verdict(), "no value, CPUID.(7,0):ECX.RDPID %d", listed);
        return;
    }
    if (!has_aux) {
        show("rdpid", judge(false), "0x%lx, but CPUID lists neither RDPID nor RDTSCP", v);
        return;
    }
    if (platform_is_paravirt()) {
        show("rdpid", judge(false), "0x%lx, but a paravirtual CPU has no IA32_TSC_AUX", v);
        return;
    }
    uint64_t aux = platform->rdmsr(MSR_TSC_AUX);
    show("rdpid", judge(v == aux), "0x%lx, the kernel's IA32_TSC_AUX 0x%lx", v, aux);
}

/* ---- the command --------------------------------------------------------------- */

int sensitive_run(void)
{
    n_insns = n_host = 0;
    platform->irq_disable();
    kprintf("sensitive: sensitive, unprivileged instructions at the kernel's (virtual) CPL 0; "
            "monitor: %s; HVLAB_QUIRK_DEPRIVILEGED: %s\n", monitor_name(boot_info->monitor),
            quirk(HVLAB_QUIRK_DEPRIVILEGED) ? "set" : "not set");

    show_cpuid();
    show_pushf();
    show_popf();
    show_dtr("sgdt", probe_sgdt, gdt_base(), gdt_limit());
    show_dtr("sidt", probe_sidt, idt_base(), idt_limit());
    show_selector_store("sldt", probe_sldt, 0, "LDTR (no LDT)");
    show_selector_store("str", probe_str, GDT_TSS, "TR");
    show_smsw();
    show_cs();
    show_ss();
    show_lar(GDT_KERNEL_CS);
    show_lsl(GDT_KERNEL_CS);
    show_rdpid();

    kprintf("sensitive: %u instructions, %u show the host's view\n", n_insns, n_host);
    return 0;
}
