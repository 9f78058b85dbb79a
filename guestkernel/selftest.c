/*
 * selftest.c - conformance checks: does the machine under the kernel (a CPU,
 * QEMU, or one of hvlab's monitors) behave like x86-64?
 *
 * Each check prints `ok NAME` or `FAIL NAME: reason`; the run ends with
 * `selftest: N passed, M failed`.  Kernel-mode faults are provoked through
 * the probes of probe.S (exception table + last_fault), user-mode ones by
 * tasks that get killed.  Every wait is bounded, so a missing interrupt is a
 * FAIL line and never a hang; every check does little ring-0 work, because
 * on a software KVM backend ring 0 is emulated ~1000x slower.
 */
#include "kernel.h"
#include "mm.h"
#include "pv.h"
#include "selftest.h"
#include "task.h"
#include "timer.h"
#include "traps.h"

#define MS 1000000ull                   /* nanoseconds */

/* Kernel scratch addresses for the paging checks (VMAP, kernel-only). */
#define T_UNMAPPED  (VMAP_BASE + 0x10000)
#define T_READONLY  (VMAP_BASE + 0x20000)
#define T_NX        (VMAP_BASE + 0x30000)
#define T_MAP       (VMAP_BASE + 0x40000)
#define T_REMAP     (VMAP_BASE + 0x50000)
#define T_DEMAND    (VMAP_BASE + 0x100000)
#define T_BATCH     (VMAP_BASE + 0x400000)  /* 2 MiB aligned: its own, new page table */
#define BATCH_PAGES 512                     /* one page table's worth */
#define MASK_PAIRS  100000
#define T_ASPACE    (USER_BASE + 0x300000)  /* user region, per address space */
#define NONCANONICAL 0x0000800000000000ull  /* bit 47 set, bits 63:48 clear */

static char why[200];                   /* reason of the current FAIL */
static char note[160];                  /* detail shown after an ok */
static bool timer_works;
static uint64_t kernel_secret = 0x5ec7e7;
static struct task task_a, task_b;

#define FAIL(...) do { snprintf(why, sizeof(why), __VA_ARGS__); return false; } while (0)
#define NOTE(...) snprintf(note, sizeof(note), __VA_ARGS__)

static uint64_t tsc_to_us(uint64_t cycles)
{
    return cycles * 1000 / tsc_khz();
}

/* After a probe: was exactly this exception recorded? */
static bool expect_fault(const char *what, uint64_t vector)
{
    if (last_fault.vector == ~0ull)
        FAIL("%s: no exception", what);
    if (last_fault.vector != vector)
        FAIL("%s: got %s (vector %lu), expected %s", what,
             exception_mnemonic(last_fault.vector), last_fault.vector,
             exception_mnemonic(vector));
    return true;
}

static bool expect_page_fault(const char *what, uint64_t cr2, uint64_t error)
{
    if (!expect_fault(what, X86_PF))
        return false;
    if (last_fault.cr2 != cr2)
        FAIL("%s: cr2=0x%lx, expected 0x%lx", what, last_fault.cr2, cr2);
    if (last_fault.error != error)
        FAIL("%s: error=0x%lx, expected 0x%lx", what, last_fault.error, error);
    return true;
}

/* ---- console, boot info, descriptor tables, control registers ------------ */

static bool check_console(void)
{
    char buf[64];
    const char *want = "  -42|ab  |0000beef|z|abc|7|0x10";
    snprintf(buf, sizeof(buf), "%5d|%-4s|%08lx|%c|%x|%u|%p", -42, "ab", 0xbeeful, 'z',
             0xabcu, 7u, (void *)0x10);
    if (strcmp(buf, want) != 0)
        FAIL("printf gave \"%s\", expected \"%s\"", buf, want);
    NOTE("console through %s ops", platform->name);
    return true;
}

static bool check_bootinfo(void)
{
    const struct hvlab_boot_info *bi = boot_info;
    const char *problem = boot_info_problem(bi, HVLAB_BOOT_MAGIC);

    if (problem)
        FAIL("%s", problem);
    if ((uint64_t)__kernel_start != HVLAB_KERNEL_PADDR)
        FAIL("kernel linked at 0x%lx, not HVLAB_KERNEL_PADDR", (uint64_t)__kernel_start);
    if (strlen(bi->cmdline) != bi->cmdline_len)
        FAIL("cmdline_len %u but the string has %lu bytes", bi->cmdline_len,
             (uint64_t)strlen(bi->cmdline));
    if (pmm_free_pages() == 0)
        FAIL("no usable RAM above the kernel");
    NOTE("monitor %s, %lu MiB, %u ranges", monitor_name(bi->monitor), bi->ram_size >> 20,
         bi->n_mem);
    return true;
}

/*
 * HVLAB_QUIRK_DEPRIVILEGED: the kernel runs in CPU ring 3 (trap-and-emulate).
 * SGDT, SIDT, STR and MOV from CS are sensitive but not privileged (SDM Vol.
 * 3A 2.8, table 2-3): at CPL 3 they do not trap (SDM Vol. 2B "SGDT": only
 * CR4.UMIP = 1 makes the first three #GP there, and hvlab's host has no
 * UMIP), so they read the host's registers, never the ones the kernel
 * loaded.  What is true there: CS.RPL, the CPL (SDM Vol. 3A 5.5), is 3, and
 * GDTR/IDTR are not the kernel's tables.  `sensitive` (sensitive.c) shows
 * the rest.
 */
static bool check_gdt_tss_deprivileged(void)
{
    struct desc_ptr gdtr;
    uint16_t cs = read_cs(), tr = read_tr();

    read_gdtr(&gdtr);
    if ((cs & 3) != 3)
        FAIL("CS is 0x%x (RPL %u), but HVLAB_QUIRK_DEPRIVILEGED says the kernel runs in ring 3",
             cs, cs & 3u);
    if (gdtr.base == gdt_base())
        FAIL("SGDT shows the kernel's own GDT 0x%lx although the kernel runs deprivileged",
             gdtr.base);
    NOTE("deprivileged: sgdt shows the host's GDTR 0x%lx/%u; str 0x%x; cs 0x%x "
         "(sensitive, unprivileged: not trapped)", gdtr.base, gdtr.limit, tr, cs);
    return true;
}

static bool check_gdt_tss(void)
{
    if (quirk(HVLAB_QUIRK_DEPRIVILEGED))
        return check_gdt_tss_deprivileged();
    struct desc_ptr gdtr;
    read_gdtr(&gdtr);
    if (gdtr.base != gdt_base() || gdtr.limit != gdt_limit())
        FAIL("GDTR is 0x%lx/%u, expected 0x%lx/%u", gdtr.base, gdtr.limit, gdt_base(),
             gdt_limit());
    if (read_tr() != GDT_TSS)
        FAIL("task register is 0x%x, expected 0x%x", read_tr(), GDT_TSS);
    if (read_cs() != GDT_KERNEL_CS)
        FAIL("CS is 0x%x, expected 0x%x", read_cs(), GDT_KERNEL_CS);
    return true;
}

static bool check_idt(void)
{
    struct desc_ptr idtr;
    read_idtr(&idtr);
    if (quirk(HVLAB_QUIRK_DEPRIVILEGED)) {
        if (idtr.base == idt_base())
            FAIL("SIDT shows the kernel's own IDT 0x%lx although the kernel runs deprivileged",
                 idtr.base);
        NOTE("deprivileged: sidt shows the host's IDTR 0x%lx/%u (sensitive, unprivileged: "
             "not trapped)", idtr.base, idtr.limit);
        return true;
    }
    if (idtr.base != idt_base() || idtr.limit != idt_limit())
        FAIL("IDTR is 0x%lx/%u, expected 0x%lx/%u", idtr.base, idtr.limit, idt_base(),
             idt_limit());
    return true;
}

static bool check_control_registers(void)
{
    uint64_t cr0 = platform->read_cr0(), cr4 = platform->read_cr4();
    uint64_t efer = platform->rdmsr(MSR_EFER);

    if ((cr0 & (CR0_PE | CR0_PG | CR0_WP)) != (CR0_PE | CR0_PG | CR0_WP))
        FAIL("CR0=0x%lx lacks PE, PG or WP", cr0);
    if (!(cr4 & CR4_PAE))
        FAIL("CR4=0x%lx lacks PAE", cr4);
    if ((efer & (EFER_LME | EFER_LMA | EFER_SCE)) != (EFER_LME | EFER_LMA | EFER_SCE))
        FAIL("EFER=0x%lx lacks LME, LMA or SCE", efer);
    NOTE("CR0=0x%lx CR4=0x%lx EFER=0x%lx", cr0, cr4, efer);
    return true;
}

/* ---- exceptions in ring 0 ---------------------------------------------------- */

static bool check_divide_error(void)
{
    probe_arm();
    if (probe_divide_error() != PROBE_FAULTED)
        FAIL("1/0 did not fault");
    return expect_fault("div by zero", X86_DE);
}

static bool check_invalid_opcode(void)
{
    probe_arm();
    if (probe_ud2() != PROBE_FAULTED)
        FAIL("ud2 did not fault");
    return expect_fault("ud2", X86_UD);
}

static bool check_gp_noncanonical(void)
{
    uint64_t v;
    probe_arm();
    if (probe_read64(NONCANONICAL, &v) != PROBE_FAULTED)
        FAIL("read of non-canonical 0x%llx succeeded", NONCANONICAL);
    if (!expect_fault("non-canonical read", X86_GP))
        return false;
    if (last_fault.error != 0)
        FAIL("error code 0x%lx, expected 0", last_fault.error);
    return true;
}

static bool check_pf_read(void)
{
    uint64_t v, addr = T_UNMAPPED + 0x128;
    unmap_page(&kernel_aspace, T_UNMAPPED);
    probe_arm();
    if (probe_read64(addr, &v) != PROBE_FAULTED)
        FAIL("read of unmapped 0x%lx succeeded", addr);
    return expect_page_fault("read", addr, 0);          /* not present, read, CPL 0 */
}

static bool check_pf_write(void)
{
    uint64_t v = 0, frame = pmm_alloc();
    if (!frame)
        FAIL("out of memory");
    *(uint64_t *)frame = 0x1234;
    map_page(&kernel_aspace, T_READONLY, frame, PTE_NX);   /* read-only */
    probe_arm();
    int read = probe_read64(T_READONLY, &v);
    int wrote = probe_write64(T_READONLY + 8, 1);
    unmap_page(&kernel_aspace, T_READONLY);
    uint64_t after = ((uint64_t *)frame)[1];
    pmm_free(frame);

    if (read != PROBE_OK || v != 0x1234)
        FAIL("read of the read-only page failed");
    if (wrote != PROBE_FAULTED || after != 0)
        FAIL("write to a read-only page succeeded (CR0.WP off?)");
    return expect_page_fault("write", T_READONLY + 8, PF_P | PF_W);
}

static bool check_pf_nx_fetch(void)
{
    if (!pte_nx) {
        NOTE("n/a: EFER.NXE is off");
        return true;
    }
    uint64_t frame = pmm_alloc();
    if (!frame)
        FAIL("out of memory");
    *(uint8_t *)frame = 0xc3;                           /* ret */
    map_page(&kernel_aspace, T_NX, frame, PTE_NX);
    probe_arm();
    int nx_call = probe_call(T_NX);
    struct fault_info f = last_fault;
    map_page(&kernel_aspace, T_NX, frame, 0);           /* now executable */
    int x_call = probe_call(T_NX);
    unmap_page(&kernel_aspace, T_NX);
    pmm_free(frame);

    last_fault = f;
    if (nx_call != PROBE_FAULTED)
        FAIL("executed code on an NX page");
    if (!expect_page_fault("fetch", T_NX, PF_P | PF_I))
        return false;
    if (x_call != PROBE_OK)
        FAIL("the page still faults after clearing NX");
    return true;
}

static bool check_pf_recovery(void)
{
    volatile uint64_t *p = (volatile uint64_t *)(T_DEMAND + 0x2008);
    uint64_t before = demand_faults;

    paging_set_demand_region(T_DEMAND, T_DEMAND + 0x10000);
    *p = 0xfeedface;                    /* faults; the handler maps; retried */
    uint64_t v = *p;
    paging_set_demand_region(0, 0);
    uint64_t frame = unmap_page(&kernel_aspace, T_DEMAND + 0x2000);
    uint64_t in_frame = frame ? ((uint64_t *)frame)[1] : 0;
    if (frame)
        pmm_free(frame);

    if (demand_faults != before + 1)
        FAIL("%lu page faults handled, expected 1", demand_faults - before);
    if (v != 0xfeedface || in_frame != 0xfeedface)
        FAIL("retried access lost the value (read 0x%lx, frame 0x%lx)", v, in_frame);
    return true;
}

/* ---- physical memory and paging ---------------------------------------------- */

static bool frame_is_zero(uint64_t pa)
{
    static const unsigned offsets[] = { 0, 8, 1024, 2048, 4088 };
    for (size_t i = 0; i < ARRAY_SIZE(offsets); i++)
        if (*(uint64_t *)(pa + offsets[i]) != 0)
            return false;
    return true;
}

static bool check_pmm_alloc(void)
{
    uint64_t p[3];
    for (int i = 0; i < 3; i++)
        if (!(p[i] = pmm_alloc()))
            FAIL("out of memory");
    bool distinct = p[0] != p[1] && p[1] != p[2] && p[0] != p[2];
    bool good = true;
    for (int i = 0; i < 3; i++)
        good &= (p[i] & (PAGE_SIZE - 1)) == 0 && pmm_owns(p[i]) &&
                p[i] >= (uint64_t)__kernel_end && frame_is_zero(p[i]);
    for (int i = 0; i < 3; i++)
        pmm_free(p[i]);
    if (!distinct)
        FAIL("the same frame twice: 0x%lx 0x%lx 0x%lx", p[0], p[1], p[2]);
    if (!good)
        FAIL("a frame is unaligned, outside usable RAM, or not zero: 0x%lx 0x%lx 0x%lx",
             p[0], p[1], p[2]);
    NOTE("%lu frames free", pmm_free_pages());
    return true;
}

static bool check_pmm_reuse(void)
{
    uint64_t a = pmm_alloc();
    if (!a)
        FAIL("out of memory");
    ((uint64_t *)a)[2] = 0xdead;
    pmm_free(a);
    uint64_t b = pmm_alloc();
    bool zero = b && frame_is_zero(b) && ((uint64_t *)b)[2] == 0;
    if (b)
        pmm_free(b);
    if (b != a)
        FAIL("freed frame 0x%lx not reused (got 0x%lx)", a, b);
    if (!zero)
        FAIL("reused frame 0x%lx was not zeroed", b);
    return true;
}

static bool check_map_unmap(void)
{
    uint64_t v = 0, frame = pmm_alloc();
    if (!frame)
        FAIL("out of memory");
    *(uint64_t *)frame = 0x1111;
    if (map_page(&kernel_aspace, T_MAP, frame, PTE_W | PTE_NX) < 0) {
        pmm_free(frame);
        FAIL("map_page failed");
    }
    int r1 = probe_read64(T_MAP, &v);
    int w1 = probe_write64(T_MAP + 8, 0x2222);
    uint64_t old = unmap_page(&kernel_aspace, T_MAP);
    uint64_t written = ((uint64_t *)frame)[1], v2;
    probe_arm();
    int r2 = probe_read64(T_MAP, &v2);
    pmm_free(frame);

    if (r1 != PROBE_OK || v != 0x1111 || w1 != PROBE_OK || written != 0x2222)
        FAIL("mapped page not accessible (read 0x%lx, frame holds 0x%lx)", v, written);
    if (old != frame)
        FAIL("unmap returned 0x%lx, expected 0x%lx", old, frame);
    if (r2 != PROBE_FAULTED)
        FAIL("read after unmap succeeded");
    return expect_page_fault("read after unmap", T_MAP, 0);
}

static bool check_pte_change_invlpg(void)
{
    uint64_t a = pmm_alloc(), b = pmm_alloc(), v1 = 0, v2 = 0;
    if (!a || !b)
        FAIL("out of memory");
    *(uint64_t *)a = 0xaaaa;
    *(uint64_t *)b = 0xbbbb;
    map_page(&kernel_aspace, T_REMAP, a, PTE_NX);
    probe_read64(T_REMAP, &v1);         /* the TLB now caches T_REMAP -> a */
    map_page(&kernel_aspace, T_REMAP, b, PTE_NX);  /* set_pte + invlpg */
    probe_read64(T_REMAP, &v2);
    unmap_page(&kernel_aspace, T_REMAP);
    pmm_free(a);
    pmm_free(b);

    if (v1 != 0xaaaa)
        FAIL("first mapping read 0x%lx", v1);
    if (v2 != 0xbbbb)
        FAIL("after the PTE change the old frame is still seen (0x%lx): TLB not flushed", v2);
    return true;
}

static bool check_aspace_switch(void)
{
    struct aspace x, y;
    uint64_t fx = pmm_alloc(), fy = pmm_alloc(), vx = 0, vy = 0, vk;
    if (!fx || !fy || aspace_create(&x) < 0 || aspace_create(&y) < 0)
        FAIL("out of memory");
    *(uint64_t *)fx = 0x1;
    *(uint64_t *)fy = 0x2;
    map_page(&x, T_ASPACE, fx, PTE_W | PTE_NX);
    map_page(&y, T_ASPACE, fy, PTE_W | PTE_NX);

    aspace_switch(&x);
    probe_read64(T_ASPACE, &vx);
    aspace_switch(&y);
    probe_read64(T_ASPACE, &vy);
    aspace_switch(&kernel_aspace);
    int rk = probe_read64(T_ASPACE, &vk);
    aspace_destroy(&x);
    aspace_destroy(&y);
    pmm_free(fx);
    pmm_free(fy);

    if (vx != 1 || vy != 2)
        FAIL("same VA read 0x%lx and 0x%lx, expected 1 and 2", vx, vy);
    if (rk != PROBE_FAULTED)
        FAIL("the kernel address space sees a private mapping");
    return true;
}

/* ---- ring 3 -------------------------------------------------------------------- */

static bool start_task(struct task *t, uint64_t main, uint64_t arg)
{
    if (task_create(t, main, arg) < 0)
        FAIL("cannot create a task (out of memory?)");
    return true;
}

static bool task_failed(const struct task *t, const char *what)
{
    if (t->killed)
        FAIL("%s: task killed by %s error=0x%lx rip=0x%lx cr2=0x%lx", what,
             exception_mnemonic(t->fault.vector), t->fault.error, t->fault.rip,
             t->fault.cr2);
    return false;
}

static bool user_entry_check(enum task_entry how, uint64_t code)
{
    if (!start_task(&task_a, USER_SYMBOL(user_main_report_cpl), code))
        return false;
    task_run(&task_a, how);
    struct task t = task_a;
    task_destroy(&task_a);
    if (t.killed)
        return task_failed(&t, "entry");
    if (t.exit_code == -1)
        FAIL("user code did not run at CPL 3");
    if (t.exit_code != (int64_t)code)
        FAIL("exit code %ld, expected %lu", t.exit_code, code);
    return true;
}

static bool check_user_iretq(void)
{
    return user_entry_check(TASK_ENTER_IRETQ, 42);
}

static bool check_user_sysretq(void)
{
    if (!user_entry_check(TASK_ENTER_SYSRETQ, 43))
        return false;
    if (!platform->has_sysret)
        NOTE("no sysretq on a paravirtual CPU: entered through HVC_IRET");
    return true;
}

static bool check_syscall_roundtrip(void)
{
    if (!start_task(&task_a, USER_SYMBOL(user_main_regcheck), 0))
        return false;
    task_a.arg = (uint64_t)task_a.pid;  /* what getpid must return */
    task_run(&task_a, TASK_ENTER_SYSRETQ);
    struct task t = task_a;
    task_destroy(&task_a);
    NOTE("via %s", syscall_gate_name());
    if (t.killed)
        return task_failed(&t, "getpid");
    if (t.exit_code & REGCHECK_BAD_PID)
        FAIL("getpid returned a wrong value");
    if (t.exit_code)
        FAIL("registers changed across the call, mask 0x%lx (bit 0 rbx, 1 rbp, 2-5 "
             "r12-r15, 6 rdi, 7 rsi, 8 rdx, 9-11 r8-r10)", t.exit_code);
    return true;
}

static bool check_syscall_write(void)
{
    if (!start_task(&task_a, USER_SYMBOL(user_main_write), (uint64_t)&kernel_secret))
        return false;
    task_run(&task_a, TASK_ENTER_IRETQ);
    struct task t = task_a;
    task_destroy(&task_a);
    if (t.killed)
        return task_failed(&t, "write");
    if (t.exit_code & WRITE_BAD_LEN)
        FAIL("write(user buffer) did not return its length");
    if (t.exit_code & WRITE_KERNEL_OK)
        FAIL("write(kernel address) was accepted");
    if (t.exit_code & WRITE_UNMAPPED_OK)
        FAIL("write(unmapped user page) did not return -EFAULT");
    return true;
}

/* Two tasks use the same VA, USER_DATA_VA; each must see only its own page. */
static bool check_user_isolation(void)
{
    int64_t seen[4];
    if (!start_task(&task_a, USER_SYMBOL(user_main_swap_data), 0x11))
        return false;
    if (!start_task(&task_b, USER_SYMBOL(user_main_swap_data), 0x22)) {
        task_destroy(&task_a);
        return false;
    }
    task_run(&task_a, TASK_ENTER_SYSRETQ);
    seen[0] = task_a.exit_code;
    task_run(&task_b, TASK_ENTER_SYSRETQ);
    seen[1] = task_b.exit_code;
    task_a.arg = 0x33;
    task_run(&task_a, TASK_ENTER_IRETQ);
    seen[2] = task_a.exit_code;
    task_b.arg = 0x44;
    task_run(&task_b, TASK_ENTER_IRETQ);
    seen[3] = task_b.exit_code;
    uint64_t in_a = *(uint64_t *)task_a.data_pa, in_b = *(uint64_t *)task_b.data_pa;
    bool killed = task_a.killed || task_b.killed;
    task_destroy(&task_a);
    task_destroy(&task_b);

    if (killed)
        FAIL("a task was killed");
    if (seen[0] != 0 || seen[1] != 0 || seen[2] != 0x11 || seen[3] != 0x22)
        FAIL("tasks saw 0x%lx 0x%lx 0x%lx 0x%lx, expected 0 0 0x11 0x22",
             seen[0], seen[1], seen[2], seen[3]);
    if (in_a != 0x33 || in_b != 0x44)
        FAIL("data frames hold 0x%lx and 0x%lx, expected 0x33 and 0x44", in_a, in_b);
    return true;
}

/* Runs main(arg), expects the task to be killed by `vector` (and for #PF the
 * given error code and CR2), then shows that the kernel carries on by running
 * a well-behaved task. */
static bool expect_task_killed(uint64_t main, uint64_t arg, uint64_t vector,
                               uint64_t error, uint64_t cr2)
{
    if (!start_task(&task_a, main, arg))
        return false;
    task_run(&task_a, TASK_ENTER_IRETQ);
    struct task t = task_a;
    task_destroy(&task_a);

    if (!t.killed)
        FAIL("the task was not stopped (exit code %ld)", t.exit_code);
    last_fault = t.fault;
    if (!expect_fault("user access", vector))
        return false;
    if (t.fault.error != error)
        FAIL("error=0x%lx, expected 0x%lx", t.fault.error, error);
    if (vector == X86_PF && t.fault.cr2 != cr2)
        FAIL("cr2=0x%lx, expected 0x%lx", t.fault.cr2, cr2);
    if (!user_entry_check(TASK_ENTER_SYSRETQ, 7)) {
        char inner[sizeof(why)];
        memcpy(inner, why, sizeof(inner));
        FAIL("after the kill, a new task failed: %s", inner);
    }
    NOTE("%s error=0x%lx, task killed, kernel continues", exception_mnemonic(vector), error);
    return true;
}

static bool check_user_read_supervisor(void)
{
    uint64_t addr = (uint64_t)&kernel_secret;
    return expect_task_killed(USER_SYMBOL(user_main_read), addr, X86_PF, PF_P | PF_U, addr);
}

static bool check_user_write_supervisor(void)
{
    uint64_t addr = (uint64_t)&kernel_secret;
    return expect_task_killed(USER_SYMBOL(user_main_write_to), addr, X86_PF, PF_P | PF_W | PF_U, addr);
}

static bool check_user_privileged(void)
{
    return expect_task_killed(USER_SYMBOL(user_main_hlt), 0, X86_GP, 0, 0);
}

/* ---- MSRs, TSC, timer --------------------------------------------------------- */

static bool check_msr_roundtrip(void)
{
    if (platform_is_paravirt()) {
        NOTE("n/a: a paravirtual guest has no MSRs (the hypervisor owns them)");
        return true;
    }
    const uint64_t pattern = 0x0000123456789abcull;
    uint64_t old = platform->rdmsr(MSR_KERNEL_GS_BASE);
    platform->wrmsr(MSR_KERNEL_GS_BASE, pattern);
    uint64_t v = platform->rdmsr(MSR_KERNEL_GS_BASE);
    platform->wrmsr(MSR_KERNEL_GS_BASE, old);
    uint64_t lstar = platform->rdmsr(MSR_LSTAR);

    if (v != pattern)
        FAIL("KERNEL_GS_BASE read back 0x%lx, wrote 0x%lx", v, pattern);
    if (lstar != (uint64_t)syscall_entry)
        FAIL("LSTAR is 0x%lx, expected 0x%lx", lstar, (uint64_t)syscall_entry);
    return true;
}

static bool check_tsc_monotonic(void)
{
    uint64_t first = rdtsc(), prev = first;
    for (int i = 0; i < 64; i++) {
        uint64_t t = rdtsc();
        if (t < prev)
            FAIL("TSC went back from 0x%lx to 0x%lx", prev, t);
        prev = t;
    }
    if (prev == first)
        FAIL("TSC does not advance");
    NOTE("%lu kHz from %s", tsc_khz(), tsc_source());
    return true;
}

static bool check_timer_oneshot(void)
{
    if (timer_setup() < 0)
        FAIL("no usable timer (%s)", platform->timer_name());
    uint64_t ticks = timer_ticks, t0 = rdtsc();
    timer_arm(2 * MS, 0);
    if (!timer_wait_spinning(ticks + 1, 500 * MS)) {
        timer_disarm();
        FAIL("%s: no interrupt within 500 ms", platform->timer_name());
    }
    timer_works = true;
    NOTE("%s, 2 ms timer fired after %lu us", platform->timer_name(), tsc_to_us(rdtsc() - t0));
    return true;
}

static bool check_timer_ticks(void)
{
    if (!timer_works)
        FAIL("not tried: the one-shot timer does not interrupt");
    uint64_t ticks = timer_ticks;
    timer_arm(1 * MS, 4);               /* 5 interrupts, re-armed by the handler */
    if (!timer_wait_halting(ticks + 5, 1000 * MS)) {
        timer_disarm();
        FAIL("%lu of 5 ticks within 1 s", timer_ticks - ticks);
    }
    return true;
}

static bool check_hlt_wakeup(void)
{
    if (!timer_works)
        FAIL("not tried: the one-shot timer does not interrupt");
    uint64_t ticks = timer_ticks, t0 = rdtsc();
    timer_arm(3 * MS, 0);
    bool woke = timer_wait_halting(ticks + 1, 1000 * MS);
    uint64_t us = tsc_to_us(rdtsc() - t0);
    if (!woke) {
        timer_disarm();
        FAIL("hlt did not end with the timer interrupt within 1 s");
    }
    if (us < 1000)
        FAIL("woke after %lu us, before the 3 ms timer could fire", us);
    NOTE("woke after %lu us", us);
    return true;
}

/* ---- paravirtualization: what the technique promises ------------------------- */

/*
 * Masking and unmasking events are stores into the shared page: no exit.
 * Between two HVC_GET_STATS the hypervisor must count exactly one exit,
 * the second call itself.  No timer is armed, so no event is pending.
 */
static bool check_pv_irq_mask_no_exits(void)
{
    struct hvlab_pv_stats before, after;

    if (!platform_is_paravirt()) {
        NOTE("n/a: paravirtual platform only");
        return true;
    }
    if (pv_get_stats(&before) < 0)
        FAIL("HVC_GET_STATS refused");
    for (unsigned i = 0; i < MASK_PAIRS; i++) {
        platform->irq_disable();
        platform->irq_enable();
    }
    int64_t rc = pv_get_stats(&after);
    platform->irq_disable();            /* the kernel's state outside waits */
    if (rc < 0)
        FAIL("HVC_GET_STATS refused");
    uint64_t exits = after.exits - before.exits;
    if (exits != 1)
        FAIL("%u mask/unmask pairs and one HVC_GET_STATS took %lu exits, expected 1 "
             "(the HVC_GET_STATS)", MASK_PAIRS, exits);
    NOTE("%u mask/unmask pairs: 0 exits", MASK_PAIRS);
    return true;
}

/* The hypercalls made between two snapshots, the second HVC_GET_STATS
 * left out; `list` names them ("pin_table 1, mmu_update 2"). */
static uint64_t hypercalls_between(const struct hvlab_pv_stats *a,
                                   const struct hvlab_pv_stats *b, char *list, size_t size)
{
    uint64_t total = 0;
    size_t len = 0;

    list[0] = '\0';
    for (unsigned nr = 0; nr < HVC_COUNT; nr++) {
        uint64_t n = b->hypercalls[nr] - a->hypercalls[nr] - (nr == HVC_GET_STATS);
        if (!n)
            continue;
        total += n;
        if (len < size)
            len += (size_t)snprintf(list + len, size - len, "%s%s %lu", len ? ", " : "",
                                    pv_hypercall_name(nr), n);
    }
    return total;
}

#define BATCH_LAST ((BATCH_PAGES - 1) * PAGE_SIZE)   /* offset of the last page */

/* The first and the last page of the batch each hold their frame's address. */
static bool batch_readable(uint64_t frames)
{
    uint64_t v0 = 0, v1 = 0;
    probe_arm();
    if (probe_read64(T_BATCH, &v0) != PROBE_OK ||
        probe_read64(T_BATCH + BATCH_LAST, &v1) != PROBE_OK)
        FAIL("a mapped page faults (%s)", exception_mnemonic(last_fault.vector));
    if (v0 != frames || v1 != frames + BATCH_LAST)
        FAIL("the pages show 0x%lx and 0x%lx, expected 0x%lx and 0x%lx", v0, v1, frames,
             frames + BATCH_LAST);
    return true;
}

/*
 * 512 mappings and the page table they need, made in lazy MMU mode: a
 * handful of hypercalls (pin the table, link it, one batch of 512), where
 * trap-and-emulate takes a fault per entry.  Each frame holds its own
 * address, so the reads show that every mapping points where it should.
 */
static bool check_pv_map_512_batched(void)
{
    struct hvlab_pv_stats before, after;
    char calls[96];

    if (!platform_is_paravirt()) {
        NOTE("n/a: paravirtual platform only");
        return true;
    }
    if (pte_lookup(&kernel_aspace, T_BATCH))
        FAIL("the page table for 0x%lx exists already", (uint64_t)T_BATCH);
    uint64_t frames = pmm_alloc_run(BATCH_PAGES);
    if (!frames)
        FAIL("no %u contiguous free frames", BATCH_PAGES);
    *(uint64_t *)frames = frames;
    *(uint64_t *)(frames + BATCH_LAST) = frames + BATCH_LAST;

    bool counted = pv_get_stats(&before) == 0;
    int mapped = map_pages(&kernel_aspace, T_BATCH, frames, BATCH_PAGES, PTE_NX);
    counted &= pv_get_stats(&after) == 0;
    uint64_t n = counted ? hypercalls_between(&before, &after, calls, sizeof(calls)) : 0;
    bool readable = mapped == 0 && batch_readable(frames);
    uint64_t removed = unmap_pages(&kernel_aspace, T_BATCH, BATCH_PAGES);
    for (uint64_t i = 0; i < BATCH_PAGES; i++)
        pmm_free(frames + i * PAGE_SIZE);

    if (!counted)
        FAIL("HVC_GET_STATS refused");
    if (mapped < 0)
        FAIL("map_pages failed");
    if (!readable)
        return false;
    if (removed != BATCH_PAGES)
        FAIL("unmap_pages removed %lu pages, expected %u", removed, BATCH_PAGES);
    if (n > 6)
        FAIL("%u mappings took %lu hypercalls (%s), expected at most 6", BATCH_PAGES, n, calls);
    NOTE("%u pages mapped with %lu hypercalls: %s", BATCH_PAGES, n, calls);
    return true;
}

/* ---- the list ----------------------------------------------------------------- */

struct check {
    const char *name;
    bool (*run)(void);
};

static const struct check checks[] = {
    { "console", check_console },
    { "bootinfo", check_bootinfo },
    { "gdt_tss_loaded", check_gdt_tss },
    { "idt_loaded", check_idt },
    { "control_registers", check_control_registers },
    { "exception_de", check_divide_error },
    { "exception_ud", check_invalid_opcode },
    { "gp_noncanonical", check_gp_noncanonical },
    { "pf_read_not_present", check_pf_read },
    { "pf_write_read_only", check_pf_write },
    { "pf_nx_fetch", check_pf_nx_fetch },
    { "pf_recovery", check_pf_recovery },
    { "pmm_alloc", check_pmm_alloc },
    { "pmm_free_reuse", check_pmm_reuse },
    { "map_unmap", check_map_unmap },
    { "pte_change_invlpg", check_pte_change_invlpg },
    { "aspace_switch", check_aspace_switch },
    { "user_entry_iretq", check_user_iretq },
    { "user_entry_sysretq", check_user_sysretq },
    { "syscall_roundtrip", check_syscall_roundtrip },
    { "syscall_write", check_syscall_write },
    { "user_isolation", check_user_isolation },
    { "user_read_supervisor", check_user_read_supervisor },
    { "user_write_supervisor", check_user_write_supervisor },
    { "user_privileged_insn", check_user_privileged },
    { "msr_roundtrip", check_msr_roundtrip },
    { "tsc_monotonic", check_tsc_monotonic },
    { "timer_oneshot", check_timer_oneshot },
    { "timer_ticks", check_timer_ticks },
    { "hlt_wakeup", check_hlt_wakeup },
    { "pv_irq_mask_no_exits", check_pv_irq_mask_no_exits },
    { "pv_map_512_batched", check_pv_map_512_batched },
};

int selftest_run(void)
{
    unsigned passed = 0, failed = 0;

    kprintf("selftest: %lu checks, system calls via %s\n", (uint64_t)ARRAY_SIZE(checks),
            syscall_gate_name());
    for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
        why[0] = note[0] = '\0';
        if (checks[i].run()) {
            passed++;
            if (note[0])
                kprintf("ok %s (%s)\n", checks[i].name, note);
            else
                kprintf("ok %s\n", checks[i].name);
        } else {
            failed++;
            kprintf("FAIL %s: %s\n", checks[i].name, why);
        }
    }
    kprintf("selftest: %u passed, %u failed\n", passed, failed);
    return failed ? HVLAB_GUEST_EXIT_FAIL : 0;
}
