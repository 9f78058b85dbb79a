/*
 * pv.c - the paravirtual platform: the platform ops (platform.h) as
 * hypercalls and a page shared with the hypervisor (abi/hvlab_hypercall.h,
 * version 1), for a kernel that runs deprivileged in CPU ring 3 under
 * hv-paravirt and must never execute a privileged instruction.
 *
 * Where the native op executes an instruction, this file
 *   - masks events with a store into the shared page (Xen's
 *     evtchn_upcall_mask): no exit, the cheapest op becomes cheaper still;
 *   - reads the virtual CPU's fixed CR0/CR4/EFER from the ABI, CR2 from the
 *     shared page, and the time from rdtsc and the page's scale;
 *   - queues page-table entries and hands them over in batches
 *     (HVC_MMU_UPDATE, Xen's mmu_update), inside Linux's lazy MMU mode;
 *   - keeps page tables in a pool of frames that the kernel maps read-only
 *     and pins (HVC_PIN_TABLE): direct paging, Xen PV's model;
 *   - turns the IDT into a trap table, the TSS's RSP0 into
 *     HVC_SET_KERNEL_STACK, port I/O into device hypercalls, the UART into
 *     HVC_CONSOLE_WRITE, the APIC timer into HVC_SET_TIMER, sti;hlt into
 *     HVC_BLOCK, and IRETQ into HVC_IRET (pv_entry.S).
 * What stays the same: cpuid and rdtsc (unprivileged), the entry stubs of
 * isr.S (the hypervisor pushes the hardware's frame), every caller.
 */
#include "kernel.h"
#include "pv.h"
#include "timer.h"
#include "virtio.h"
#include "traps.h"

/* One set of entry stubs and one user_enter serve both platforms because
 * the virtual CPU's selectors are the GDT's (abi/hvlab_hypercall.h). */
_Static_assert(HVLAB_PV_KERNEL_CS == GDT_KERNEL_CS, "kernel CS differs from the PV CPU's");
_Static_assert(HVLAB_PV_KERNEL_SS == GDT_KERNEL_DS, "kernel SS differs from the PV CPU's");
_Static_assert(HVLAB_PV_USER_CS == GDT_USER_CS, "user CS differs from the PV CPU's");
_Static_assert(HVLAB_PV_USER_SS == GDT_USER_DS, "user SS differs from the PV CPU's");
_Static_assert(PV_HVC_IRET == HVC_IRET, "pv.h's PV_HVC_IRET is not HVC_IRET");
_Static_assert(sizeof(struct hvlab_iret_frame) == 8 * 8,
               "pv_iret pushes RCX, R11, RAX on the 5-word hardware frame");

/* The page-table pool: one 2 MiB page of the identity map, read-only. */
#define TABLE_POOL_BYTES (2ull << 20)
#define TABLE_POOL_PAGES (TABLE_POOL_BYTES / PAGE_SIZE)

/* Identity-mapped and writable in the kernel's map (va == pa). */
static struct hvlab_pv_shared *const shared = (struct hvlab_pv_shared *)HVLAB_PV_SHARED_PADDR;

static inline void compiler_barrier(void)
{
    __asm__ volatile("" ::: "memory");
}

/* ---- hypercalls ------------------------------------------------------------- */

/*
 * `syscall` at virtual CPL 0 with RAX = nr, arguments in RDI, RSI, RDX,
 * R10; the result comes back in RAX (negative: -HV_E*).  The instruction
 * itself writes RCX and R11 (SDM Vol. 2B "SYSCALL"); the hypervisor may read
 * and write guest memory through pointer arguments, hence "memory".
 */
static int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t r10 __asm__("r10") = a3;
    int64_t result;

    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                     : "rcx", "r11", "memory");
    return result;
}

static const char *const error_names[] = {
    [HV_EPERM] = "HV_EPERM (not allowed here)",
    [HV_ENOENT] = "HV_ENOENT (no such thing)",
    [HV_E2BIG] = "HV_E2BIG (batch or buffer too long)",
    [HV_EFAULT] = "HV_EFAULT (guest address unreadable or unwritable)",
    [HV_EBUSY] = "HV_EBUSY (still in use)",
    [HV_EXDEV] = "HV_EXDEV (refused by the page-table rules)",
    [HV_EINVAL] = "HV_EINVAL (malformed argument)",
    [HV_ENOSYS] = "HV_ENOSYS (unknown hypercall)",
};

static const char *error_name(int64_t rc)
{
    uint64_t e = (uint64_t)-rc;
    if (rc < 0 && e < ARRAY_SIZE(error_names) && error_names[e])
        return error_names[e];
    return "unknown error";
}

static const char *const hypercall_names[HVC_COUNT] = {
    [HVC_VERSION] = "version", [HVC_CONSOLE_WRITE] = "console_write",
    [HVC_SET_TIMER] = "set_timer", [HVC_BLOCK] = "block", [HVC_SHUTDOWN] = "shutdown",
    [HVC_SET_CALLBACKS] = "set_callbacks", [HVC_SET_TRAP_TABLE] = "set_trap_table",
    [HVC_IRET] = "iret", [HVC_MMU_UPDATE] = "mmu_update", [HVC_PIN_TABLE] = "pin_table",
    [HVC_UNPIN_TABLE] = "unpin_table", [HVC_NEW_BASEPTR] = "new_baseptr",
    [HVC_TLB_FLUSH] = "tlb_flush", [HVC_SET_KERNEL_STACK] = "set_kernel_stack",
    [HVC_DEVICE_READ] = "device_read", [HVC_DEVICE_WRITE] = "device_write",
    [HVC_QUEUE_NOTIFY] = "queue_notify", [HVC_MULTICALL] = "multicall",
    [HVC_GET_STATS] = "get_stats", [HVC_EVENTS_PENDING] = "events_pending",
};

const char *pv_hypercall_name(unsigned nr)
{
    return nr < HVC_COUNT && hypercall_names[nr] ? hypercall_names[nr] : "unknown";
}

/* For calls that cannot fail in a correct kernel: a refusal is a bug here. */
static void hypercall_or_panic(const char *what, uint64_t nr, uint64_t a0, uint64_t a1,
                               uint64_t a2, uint64_t a3)
{
    int64_t rc = hypercall(nr, a0, a1, a2, a3);
    if (rc < 0)
        panic("paravirt: %s (HVC %s) refused: %s", what, pv_hypercall_name((unsigned)nr),
              error_name(rc));
}

void pv_check_version(void)
{
    int64_t version = hypercall(HVC_VERSION, 0, 0, 0, 0);
    if (version != HVLAB_HYPERCALL_VERSION)
        panic("paravirt: the hypervisor speaks hypercall interface version %ld, this kernel "
              "only version %u (abi/hvlab_hypercall.h)", version, HVLAB_HYPERCALL_VERSION);
}

/* The null hypercall (exit.hypercall): the cheapest call there is. */
int64_t pv_version(void)
{
    return hypercall(HVC_VERSION, 0, 0, 0, 0);
}

int64_t pv_get_stats(struct hvlab_pv_stats *stats)
{
    return hypercall(HVC_GET_STATS, (uint64_t)stats, 0, 0, 0);
}

/* ---- the event mask: the virtual interrupt flag ------------------------------- */

/*
 * cli and sti become stores into the shared page: no exit.  The hypervisor
 * reads and writes the page only while this vCPU is stopped in an exit, so
 * program order is all the ordering needed; the compiler barriers keep the
 * critical section's memory accesses between the two stores.
 */
static void pv_irq_disable(void)
{
    shared->event_mask = 1;
    compiler_barrier();
}

/* An event that arrived while masked only set event_pending (Xen's
 * evtchn_upcall_pending); ask for it only then, so unmasking is free too. */
static void pv_irq_enable(void)
{
    compiler_barrier();
    shared->event_mask = 0;
    compiler_barrier();
    if (shared->event_pending)
        hypercall(HVC_EVENTS_PENDING, 0, 0, 0, 0);
}

/* `sti; hlt` without a window: HVC_BLOCK unmasks and sleeps in one call,
 * and the event is delivered before the call returns. */
static void pv_safe_halt(void)
{
    hypercall_or_panic("block until the next event", HVC_BLOCK, 0, 0, 0, 0);
}

/* ---- control registers ------------------------------------------------------- */

static uint64_t base_pointer;          /* the last HVC_NEW_BASEPTR: the "CR3" */

static uint64_t pv_read_cr0(void) { return HVLAB_PV_CR0; }
static uint64_t pv_read_cr4(void) { return HVLAB_PV_CR4; }
static uint64_t pv_read_cr3(void) { return base_pointer; }

/* The hypervisor stores the faulting address of each #PF it delivers in the
 * shared page (Xen keeps CR2 in vcpu_info too). */
static uint64_t pv_read_cr2(void)
{
    return shared->cr2;
}

/* ---- page-table updates: the queue and lazy MMU mode --------------------------- */

static struct hvlab_mmu_update mmu_queue[HVLAB_MAX_BATCH];
static unsigned mmu_queued;
static unsigned lazy_depth;

static NORETURN void mmu_update_refused(int64_t rc, uint64_t done, unsigned n)
{
    const struct hvlab_mmu_update *u = &mmu_queue[done < n ? done : n - 1];
    panic("paravirt: mmu_update entry %lu of %u (ptr 0x%lx val 0x%lx) refused: %s",
          done + 1, n, u->ptr, u->val, error_name(rc));
}

/* Applies the queue in one HVC_MMU_UPDATE; the hypervisor applies the
 * entries in order and stops at the first one its rules refuse. */
static void mmu_queue_flush(void)
{
    unsigned n = mmu_queued;
    uint64_t done = 0;

    if (!n)
        return;
    int64_t rc = hypercall(HVC_MMU_UPDATE, (uint64_t)mmu_queue, n, (uint64_t)&done, 0);
    mmu_queued = 0;
    if (rc < 0)
        mmu_update_refused(rc, done, n);
}

/* Kernel page tables are identity-mapped, so a PTE's virtual address is the
 * guest-physical one that HVC_MMU_UPDATE wants. */
static void pv_set_pte(uint64_t *ptep, uint64_t pte)
{
    mmu_queue[mmu_queued++] = (struct hvlab_mmu_update){ (uint64_t)ptep, pte };
    if (!lazy_depth || mmu_queued == HVLAB_MAX_BATCH)
        mmu_queue_flush();
}

static void pv_mmu_lazy_begin(void)
{
    lazy_depth++;
}

static void pv_mmu_lazy_end(void)
{
    if (!lazy_depth)
        panic("paravirt: mmu_lazy_end without mmu_lazy_begin");
    if (--lazy_depth == 0)
        mmu_queue_flush();
}

/* Every op below that depends on the tables' current state flushes the
 * queue first: the hypervisor must see the entries before it switches,
 * flushes or unpins. */
static void pv_write_cr3(uint64_t pa)
{
    mmu_queue_flush();
    hypercall_or_panic("switch to a new base pointer", HVC_NEW_BASEPTR, pa, 0, 0, 0);
    base_pointer = pa;
}

static void pv_invlpg(uint64_t va)
{
    mmu_queue_flush();
    hypercall_or_panic("flush one TLB entry", HVC_TLB_FLUSH, va, HVLAB_FLUSH_ONE, 0, 0);
}

static void pv_flush_tlb_all(void)
{
    mmu_queue_flush();
    hypercall_or_panic("flush the TLB", HVC_TLB_FLUSH, 0, HVLAB_FLUSH_ALL, 0, 0);
}

/* ---- the page-table pool --------------------------------------------------------- */

/*
 * A pinned table must never be mapped writable (the hypervisor refuses both
 * orders: a writable mapping of a pinned page, a pin of a page mapped
 * writable), and the identity map maps RAM with writable 2 MiB pages.  So
 * the tables live in one 2 MiB page of RAM that the identity map maps
 * read-only and pmm never sees.  The free/used state is a bitmap here: the
 * pool's pages are read-only, so no free list can live inside them.
 */
static uint64_t pool_base;
static uint64_t pool_used[TABLE_POOL_PAGES / 64];

static void pv_table_pool_init(uint64_t base, uint64_t bytes)
{
    if (bytes != TABLE_POOL_BYTES || (base & (TABLE_POOL_BYTES - 1)))
        panic("paravirt: page-table pool 0x%lx+0x%lx is not one aligned 2 MiB page",
              base, bytes);
    pool_base = base;
}

static uint64_t pool_take(void)
{
    for (unsigned w = 0; w < ARRAY_SIZE(pool_used); w++) {
        if (pool_used[w] == ~0ull)
            continue;
        unsigned bit = (unsigned)__builtin_ctzll(~pool_used[w]);
        pool_used[w] |= 1ull << bit;
        return pool_base + (w * 64ull + bit) * PAGE_SIZE;
    }
    return 0;
}

static void pool_give_back(uint64_t pa)
{
    uint64_t page = (pa - pool_base) / PAGE_SIZE;
    if (pa < pool_base || page >= TABLE_POOL_PAGES || (pa & (PAGE_SIZE - 1)) ||
        !(pool_used[page / 64] & (1ull << (page % 64))))
        panic("paravirt: free_table(0x%lx): not a page table of the pool", pa);
    pool_used[page / 64] &= ~(1ull << (page % 64));
}

/* HVC_PIN_TABLE makes the frame an empty table of that level: the
 * hypervisor clears it, so a reused pool page needs no clearing here. */
static uint64_t pv_alloc_table(int level)
{
    uint64_t pa = pool_take();
    if (!pa)
        return 0;
    int64_t rc = hypercall(HVC_PIN_TABLE, pa, (uint64_t)level, 0, 0);
    if (rc < 0)
        panic("paravirt: pin of 0x%lx as a level-%d table refused: %s", pa, level,
              error_name(rc));
    return pa;
}

/* A queued update may still drop a link to this table: apply it first, or
 * the unpin is refused with HV_EBUSY. */
static void pv_free_table(uint64_t pa)
{
    mmu_queue_flush();
    int64_t rc = hypercall(HVC_UNPIN_TABLE, pa, 0, 0, 0);
    if (rc < 0)
        panic("paravirt: unpin of page table 0x%lx refused: %s", pa, error_name(rc));
    pool_give_back(pa);
}

/* ---- MSRs and CPUID ----------------------------------------------------------------- */

/* The hypervisor owns every MSR; only EFER has a fixed virtual value,
 * which paging_init reads for NXE. */
static uint64_t pv_rdmsr(uint32_t msr)
{
    if (msr == MSR_EFER)
        return HVLAB_PV_EFER;
    panic("paravirt: rdmsr 0x%x: a paravirtual guest has no MSRs", msr);
}

static void pv_wrmsr(uint32_t msr, uint64_t value)
{
    panic("paravirt: wrmsr 0x%x (0x%lx): a paravirtual guest has no MSRs", msr, value);
}

/* ---- descriptor tables, kernel stack, callbacks ----------------------------------- */

/* The hypervisor owns segmentation (Xen PV's FLAT_KERNEL_CS): no GDT, no
 * TSS; frames carry the HVLAB_PV_* selectors, equal to the GDT's. */
static void pv_load_gdt(const struct desc_ptr *gdtr)
{
    (void)gdtr;
}

static void pv_load_tr(uint16_t selector)
{
    (void)selector;
}

/*
 * Like Linux's xen_load_idt, which converts the IDT into a trap table: the
 * 32 exception gates become HVC_SET_TRAP_TABLE entries, a trap gate (type
 * 0xF) keeping events unmasked on entry as it keeps IF, an interrupt gate
 * masking them as it clears IF.  The timer vector is not an exception: it
 * is the event entry (pv_syscall_setup).
 */
static void pv_load_idt(const struct desc_ptr *idtr)
{
    const struct idt_gate *idt = (const struct idt_gate *)idtr->base;
    unsigned gates = (idtr->limit + 1u) / sizeof(*idt), n = 0;
    struct hvlab_trap_entry table[32];

    for (unsigned v = 0; v < 32 && v < gates; v++) {
        if (!(idt[v].type_attr & GATE_PRESENT))
            continue;
        bool trap_gate = (idt[v].type_attr & GATE_TYPE_MASK) == GATE_TRAP;
        table[n++] = (struct hvlab_trap_entry){
            .vector = v,
            .flags = trap_gate ? HVLAB_TRAP_KEEP_EVENTS : 0,
            .handler = idt_gate_offset(&idt[v]),
        };
    }
    hypercall_or_panic("set the trap table", HVC_SET_TRAP_TABLE, (uint64_t)table, n, 0, 0);
}

/* TSS.RSP0's job: the stack for events and system calls from user mode. */
static void pv_set_kernel_stack(uint64_t rsp0)
{
    hypercall_or_panic("set the kernel stack", HVC_SET_KERNEL_STACK, rsp0, 0, 0, 0);
}

/* Events (the timer, the only source) enter the timer vector's stub, so
 * trap_dispatch sees TIMER_VECTOR as on native; user `syscall`s enter
 * pv_syscall_entry. */
static void pv_syscall_setup(void)
{
    hypercall_or_panic("register the event and syscall entries", HVC_SET_CALLBACKS,
                       isr_timer_stub, (uint64_t)pv_syscall_entry, 0, 0);
}

/* ---- port I/O and the console --------------------------------------------------------- */

/* HV_ENOENT: no device answers the port.  An ISA bus with nothing on it
 * reads all ones and drops writes; do the same.  Anything else is a bug. */
static uint64_t pv_port_read(uint16_t port, unsigned size)
{
    int64_t rc = hypercall(HVC_DEVICE_READ, HVLAB_SPACE_PIO, port, size, 0);
    if (rc == -HV_ENOENT)
        return ~0ull;
    if (rc < 0)
        panic("paravirt: read of port 0x%x (%u bytes) refused: %s", port, size,
              error_name(rc));
    return (uint64_t)rc;
}

static void pv_port_write(uint16_t port, unsigned size, uint32_t value)
{
    int64_t rc = hypercall(HVC_DEVICE_WRITE, HVLAB_SPACE_PIO, port, size, value);
    if (rc < 0 && rc != -HV_ENOENT)
        panic("paravirt: write of 0x%x to port 0x%x (%u bytes) refused: %s", value, port,
              size, error_name(rc));
}

static void pv_outb(uint16_t port, uint8_t value) { pv_port_write(port, 1, value); }
static void pv_outl(uint16_t port, uint32_t value) { pv_port_write(port, 4, value); }
static uint8_t pv_inb(uint16_t port) { return (uint8_t)pv_port_read(port, 1); }
static uint32_t pv_inl(uint16_t port) { return (uint32_t)pv_port_read(port, 4); }

/* A device register without a mapping: the hypervisor performs the access
 * on its bus (Xen PV guests reach emulated devices the same way, through
 * the hypervisor, never through a mapping of non-RAM). */
static uint32_t pv_mmio_read32(uint64_t pa)
{
    int64_t rc = hypercall(HVC_DEVICE_READ, HVLAB_SPACE_MMIO, pa, 4, 0);
    if (rc == -HV_ENOENT)
        return ~0u;
    if (rc < 0)
        panic("paravirt: read of MMIO 0x%lx refused: %s", pa, error_name(rc));
    return (uint32_t)rc;
}

static void pv_mmio_write32(uint64_t pa, uint32_t value)
{
    int64_t rc = hypercall(HVC_DEVICE_WRITE, HVLAB_SPACE_MMIO, pa, 4, value);
    if (rc < 0 && rc != -HV_ENOENT)
        panic("paravirt: write of 0x%x to MMIO 0x%lx refused: %s", value, pa, error_name(rc));
}

static int pv_queue_notify(uint64_t base, unsigned slot, unsigned queue)
{
    (void)base;
    return hypercall(HVC_QUEUE_NOTIFY, slot, queue, 0, 0) < 0 ? -1 : 0;
}

/* One hypercall per chunk, where the native UART costs one port access per
 * byte.  A console that refuses has nowhere to report it: stop writing. */
static void pv_console_write(const char *s, size_t n)
{
    while (n) {
        size_t chunk = n < HVLAB_MAX_CONSOLE ? n : HVLAB_MAX_CONSOLE;
        if (hypercall(HVC_CONSOLE_WRITE, (uint64_t)s, chunk, 0, 0) < 0)
            return;
        s += chunk;
        n -= chunk;
    }
}

/* ---- time and the timer -------------------------------------------------------------- */

/* The shared page's clock: ns = ns_base + ((tsc - tsc_base) * mul) >> shift,
 * the product in 128 bits (Xen's pvclock does the same); rdtsc does not
 * trap in ring 3, so reading the time costs no exit. */
static uint64_t pv_now_ns(void)
{
    unsigned __int128 scaled = (unsigned __int128)(rdtsc() - shared->tsc_base) * shared->tsc_mul;
    return shared->ns_base + (uint64_t)(scaled >> shared->tsc_shift);
}

static int pv_timer_init(void)
{
    return 0;
}

/* The deadline of the armed timer, 0 when none: the event upcall tells a
 * timer event from a device's by it (pv_event_upcall). */
static volatile uint64_t timer_deadline;

/* A deadline of 0 would cancel; 1 ns is just as much in the past. */
static void pv_timer_oneshot(uint64_t ns)
{
    uint64_t deadline = pv_now_ns() + ns;
    timer_deadline = deadline ? deadline : 1;
    hypercall_or_panic("arm the timer", HVC_SET_TIMER, deadline ? deadline : 1, 0, 0, 0);
}

static void pv_timer_cancel(void)
{
    timer_deadline = 0;
    hypercall_or_panic("cancel the timer", HVC_SET_TIMER, 0, 0, 0, 0);
}

/*
 * Every event enters at the one callback (isr32, HVC_SET_CALLBACKS), as
 * Xen's upcall does; the shared page says which sources fired
 * (event_sources, one bit per virtio slot, taken with an atomic exchange so
 * that a bit set meanwhile is not lost) and the clock says whether the
 * timer did.  An upcall with no source bit is the timer's.  The hypervisor
 * turns the guest deadline into a host one; 1 us of slack covers its
 * rounding.
 */
void pv_event_upcall(void)
{
    uint64_t sources = __atomic_exchange_n(&shared->event_sources, 0, __ATOMIC_SEQ_CST);
    for (unsigned slot = 0; sources >> slot; slot++)
        if (sources >> slot & 1)
            virtio_interrupt(slot);
    uint64_t deadline = timer_deadline;
    if (!sources || (deadline && pv_now_ns() + 1000 >= deadline)) {
        timer_deadline = 0;
        timer_interrupt();
    }
}

/* An event is acknowledged by its delivery: there is no APIC to tell. */
static void pv_irq_eoi(void)
{
}

static const char *pv_timer_name(void)
{
    return "paravirtual timer (HVC_SET_TIMER)";
}

/* ---- the end ----------------------------------------------------------------------------- */

/* HVC_SHUTDOWN refuses only a code outside 0..119 or 2, which kernel_exit
 * never passes; should it come back, spin until the monitor's --timeout
 * (HVC_BLOCK with no timer armed would be reported as a crash instead). */
static NORETURN void pv_exit(uint32_t code)
{
    hypercall(HVC_SHUTDOWN, code, 0, 0, 0);
    for (;;)
        cpu_relax();
}

const struct platform_ops pv_platform_ops = {
    .name = "paravirt",
    .irq_disable = pv_irq_disable,
    .irq_enable = pv_irq_enable,
    .safe_halt = pv_safe_halt,
    .read_cr0 = pv_read_cr0,
    .read_cr2 = pv_read_cr2,
    .read_cr3 = pv_read_cr3,
    .write_cr3 = pv_write_cr3,
    .read_cr4 = pv_read_cr4,
    .invlpg = pv_invlpg,
    .flush_tlb_all = pv_flush_tlb_all,
    .set_pte = pv_set_pte,
    .mmu_lazy_begin = pv_mmu_lazy_begin,
    .mmu_lazy_end = pv_mmu_lazy_end,
    .mmu_flush = mmu_queue_flush,
    .alloc_table = pv_alloc_table,
    .free_table = pv_free_table,
    .table_pool_bytes = TABLE_POOL_BYTES,
    .table_pool_init = pv_table_pool_init,
    .rdmsr = pv_rdmsr,
    .wrmsr = pv_wrmsr,
    .cpuid = native_cpuid,              /* unprivileged: runs as is */
    .load_gdt = pv_load_gdt,
    .load_idt = pv_load_idt,
    .load_tr = pv_load_tr,
    .set_kernel_stack = pv_set_kernel_stack,
    .syscall_setup = pv_syscall_setup,
    .has_sysret = false,
    .outb = pv_outb,
    .inb = pv_inb,
    .outl = pv_outl,
    .inl = pv_inl,
    .mmio_read32 = pv_mmio_read32,
    .queue_notify = pv_queue_notify,
    .mmio_write32 = pv_mmio_write32,
    .console_write = pv_console_write,
    .timer_init = pv_timer_init,
    .timer_oneshot = pv_timer_oneshot,
    .timer_cancel = pv_timer_cancel,
    .irq_eoi = pv_irq_eoi,
    .timer_name = pv_timer_name,
    .exit = pv_exit,
};
