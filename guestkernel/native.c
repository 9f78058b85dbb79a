/*
 * native.c - the native platform: every operation is the real instruction.
 *
 * Under hv-hwassist these run in a hardware (or KVM-emulated) ring 0; under
 * hv-trap-emulate the very same instructions run deprivileged in ring 3 and
 * each one traps to the monitor, which emulates it.  That the kernel source
 * is identical in both cases is the point of classic full virtualization.
 */
#include "kernel.h"
#include "mm.h"
#include "native.h"
#include "pv.h"
#include "abi/virtio.h"

static void native_set_pte(uint64_t *ptep, uint64_t pte)
{
    /* One aligned 8-byte store is atomic (SDM Vol. 3A 9.1.1), so the MMU
     * never sees half an entry. */
    *(volatile uint64_t *)ptep = pte;
}

/* A single MOV of the register: hv-trap-emulate decodes and emulates only
 * plain MOVs to a device (docs/trap-and-emulate.md §7.2), and a volatile
 * access through C would leave the instruction to the compiler. */
static uint32_t native_mmio_read32(uint64_t pa)
{
    uint32_t v;
    __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(pa) : "memory");
    return v;
}

static void native_mmio_write32(uint64_t pa, uint32_t v)
{
    __asm__ volatile("movl %0, (%1)" :: "r"(v), "r"(pa) : "memory");
}

static int native_queue_notify(uint64_t base, unsigned slot, unsigned queue)
{
    (void)slot;
    native_mmio_write32(base + VIRTIO_MMIO_QUEUE_NOTIFY, queue);
    return 0;
}

static void native_set_kernel_stack(uint64_t rsp0)
{
    tss_write_rsp0(rsp0);
}

/* Loading CR3 flushes every non-global TLB entry (SDM Vol. 3A 4.10.4.1). */
static void native_flush_tlb_all(void)
{
    native_write_cr3(native_read_cr3());
}

/* Lazy MMU mode: a native set_pte is already the final store. */
static void native_mmu_nop(void)
{
}

/* Page tables are ordinary frames: the MMU reads them, nobody validates. */
static uint64_t native_alloc_table(int level)
{
    (void)level;
    return pmm_alloc();
}

/*
 * After LGDT the segment registers still hold descriptors cached from the
 * old table: reload CS with a far return and the data segments with MOVs.
 * Privileged at CPL 3 (a far return to a DPL-0 segment, MOV to SS), hence
 * native only: a paravirtual CPU's segments belong to the hypervisor.
 */
static void reload_segments(void)
{
    __asm__ volatile("pushq %[cs]\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movl %[ds], %%eax\n\t"
                     "movl %%eax, %%ds\n\t"
                     "movl %%eax, %%es\n\t"
                     "movl %%eax, %%ss\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "movl %%eax, %%fs\n\t"
                     "movl %%eax, %%gs"
                     :: [cs] "i"(GDT_KERNEL_CS), [ds] "i"(GDT_KERNEL_DS)
                     : "rax", "memory");
}

static void native_load_gdt(const struct desc_ptr *gdtr)
{
    native_lgdt(gdtr);
    reload_segments();
}

/*
 * Exit: hvlab monitors own a control device at HVLAB_PORT_EXIT (the monitor's
 * exit status becomes CODE); under stock QEMU the isa-debug-exit device at
 * 0xf4 makes QEMU exit with (CODE << 1) | 1.  Without boot info we do not know
 * who runs us and try both.  If neither stops the CPU, park it.
 */
static NORETURN void native_exit(uint32_t code)
{
    native_cli();
    if (!boot_info || boot_info->monitor != HVLAB_MONITOR_NONE)
        native_outl(HVLAB_PORT_EXIT, code);
    if (!boot_info || boot_info->monitor == HVLAB_MONITOR_NONE)
        native_outl(HVLAB_PORT_QEMU_EXIT, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

const struct platform_ops native_platform_ops = {
    .name = "native",
    .irq_disable = native_cli,
    .irq_enable = native_sti,
    .safe_halt = native_safe_halt,
    .read_cr0 = native_read_cr0,
    .read_cr2 = native_read_cr2,
    .read_cr3 = native_read_cr3,
    .write_cr3 = native_write_cr3,
    .read_cr4 = native_read_cr4,
    .invlpg = native_invlpg,
    .flush_tlb_all = native_flush_tlb_all,
    .set_pte = native_set_pte,
    .mmu_lazy_begin = native_mmu_nop,
    .mmu_lazy_end = native_mmu_nop,
    .mmu_flush = native_mmu_nop,
    .alloc_table = native_alloc_table,
    .free_table = pmm_free,
    .table_pool_bytes = 0,
    .table_pool_init = NULL,
    .rdmsr = native_rdmsr,
    .wrmsr = native_wrmsr,
    .cpuid = native_cpuid,
    .load_gdt = native_load_gdt,
    .load_idt = native_lidt,
    .load_tr = native_ltr,
    .set_kernel_stack = native_set_kernel_stack,
    .syscall_setup = native_syscall_setup,
    .has_sysret = true,
    .outb = native_outb,
    .inb = native_inb,
    .outl = native_outl,
    .inl = native_inl,
    .mmio_read32 = native_mmio_read32,
    .mmio_write32 = native_mmio_write32,
    .queue_notify = native_queue_notify,
    .console_write = uart_write,
    .timer_init = apic_timer_init,
    .timer_oneshot = apic_timer_oneshot,
    .timer_cancel = apic_timer_cancel,
    .irq_eoi = apic_eoi,
    .timer_name = apic_timer_name,
    .exit = native_exit,
};

/* Until platform_select() runs (and if it cannot), output and exit are the
 * native ones: a UART and an exit port are the least a monitor offers. */
const struct platform_ops *platform = &native_platform_ops;
const void *platform_iret = native_iret;

/*
 * Under stock QEMU the firmware (SeaBIOS) leaves the legacy 8259 PICs
 * programmed with IRQ0 (the PIT, 18.2 Hz) on vector 8 - the #DF vector.
 * Mask every PIC line (OCW1, port 0x21/0xa1) so that the first `sti` does
 * not deliver "double faults".  hvlab monitors have no firmware; leave their
 * ports alone.
 */
static void mask_legacy_pic(void)
{
    native_outb(0x21, 0xff);
    native_outb(0xa1, 0xff);
}

void platform_select(const struct hvlab_boot_info *bi)
{
    switch (bi->platform) {
    case HVLAB_PLATFORM_NATIVE:
        platform = &native_platform_ops;
        if (bi->monitor == HVLAB_MONITOR_NONE)
            mask_legacy_pic();
        return;
    case HVLAB_PLATFORM_PARAVIRT:
        platform = &pv_platform_ops;
        platform_iret = pv_iret;
        pv_check_version();
        return;
    default:
        panic("boot info: unknown platform %u", bi->platform);
    }
}
