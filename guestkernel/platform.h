/*
 * platform.h - the table of privileged operations (like Linux pv_ops).
 *
 * Every privileged operation that a paravirtual platform must replace goes
 * through `platform->op(...)`, and the returns from an interrupt frame go
 * through `platform_iret`.  The exceptions are the ones a Xen-PV-style guest
 * also keeps: the boot path before the table is chosen (pvh_entry.S) and the
 * native-only SYSCALL/SYSRET path (syscall_entry, the sysretq of
 * user_entry.S), which a platform without `has_sysret` never takes.
 * The boot info chooses the table once at boot:
 *   native    real instructions: cli/sti, mov cr3, invlpg, wrmsr, in/out,
 *             the local APIC (native.c, apic.c, uart.c);
 *   paravirt  hypercalls and a page shared with the hypervisor (pv.c,
 *             pv_entry.S; abi/hvlab_hypercall.h is the contract).
 * Keeping the two behind one table is what lets hvlab run the *same* kernel
 * under trap-and-emulate (native ops, each one trapping) and under
 * paravirtualization (the same call sites, turned into hypercalls).
 */
#ifndef GUEST_PLATFORM_H
#define GUEST_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "x86.h"

struct hvlab_boot_info;

struct platform_ops {
    const char *name;

    /* Interrupt flag.  safe_halt is `sti; hlt`: wait for the next interrupt
     * with no window between the caller's check and the halt. */
    void (*irq_disable)(void);
    void (*irq_enable)(void);
    void (*safe_halt)(void);

    /* Control registers and the TLB. */
    uint64_t (*read_cr0)(void);
    uint64_t (*read_cr2)(void);
    uint64_t (*read_cr3)(void);
    void (*write_cr3)(uint64_t cr3);
    uint64_t (*read_cr4)(void);
    void (*invlpg)(uint64_t va);
    void (*flush_tlb_all)(void);               /* every non-global entry */
    void (*set_pte)(uint64_t *ptep, uint64_t pte);

    /*
     * Lazy MMU mode (Linux's arch_enter/leave_lazy_mmu_mode): between begin
     * and end, set_pte may only queue the entry; end applies the queue, and
     * mmu_flush applies it at once without leaving the mode (for code that
     * is about to read an entry it just wrote).  Native: set_pte is a store,
     * the three are no-ops.
     */
    void (*mmu_lazy_begin)(void);
    void (*mmu_lazy_end)(void);
    void (*mmu_flush)(void);

    /*
     * Page-table frames, level 4 (PML4) down to 1 (PT): a zeroed frame, 0 if
     * none is left.  Native: any pmm frame.  A platform whose page tables
     * must stay read-only to the kernel (paravirt: the hypervisor validates
     * every entry) takes them from a pool of table_pool_bytes (a multiple of
     * 2 MiB) that init_machine carves off the top of the identity map, keeps
     * away from pmm, and paging_init maps read-only and hands over with
     * table_pool_init.  table_pool_bytes 0: no pool, table_pool_init NULL.
     */
    uint64_t (*alloc_table)(int level);
    void (*free_table)(uint64_t pa);
    uint64_t table_pool_bytes;
    void (*table_pool_init)(uint64_t base, uint64_t bytes);

    /* Model-specific registers and CPUID. */
    uint64_t (*rdmsr)(uint32_t msr);
    void (*wrmsr)(uint32_t msr, uint64_t value);
    void (*cpuid)(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r);

    /* Descriptor tables and the ring-0 stack used on entry from ring 3. */
    void (*load_gdt)(const struct desc_ptr *gdtr);
    void (*load_idt)(const struct desc_ptr *idtr);
    void (*load_tr)(uint16_t selector);
    void (*set_kernel_stack)(uint64_t rsp0);   /* TSS.RSP0 */

    /* System calls from ring 3: where `syscall` lands (native: the MSRs
     * STAR, LSTAR, SFMASK and EFER.SCE).  has_sysret: user mode may be
     * entered and left with SYSRETQ; without it every return to ring 3
     * takes platform_iret. */
    void (*syscall_setup)(void);
    bool has_sysret;

    /* Port I/O (console, PIT, exit devices). */
    void (*outb)(uint16_t port, uint8_t value);
    uint8_t (*inb)(uint16_t port);
    void (*outl)(uint16_t port, uint32_t value);
    uint32_t (*inl)(uint16_t port);

    /* One 32-bit device register (the null MMIO page, benchmarks).  Native:
     * a load or store at va == pa, so the caller must have mapped the page
     * there (uncached, map_page with PTE_PCD|PTE_PWT); paravirt: the
     * HVC_DEVICE_READ/WRITE hypercall, no mapping (the hypervisor refuses
     * mappings of anything but RAM). */
    uint32_t (*mmio_read32)(uint64_t paddr);
    void (*mmio_write32)(uint64_t paddr, uint32_t value);

    /* Kick queue `queue` of the virtio-mmio device in `slot` at `base`.
     * Native: a write of the queue index to its QueueNotify register (an
     * MMIO exit, or a trap a monitor decodes); paravirt: HVC_QUEUE_NOTIFY,
     * a doorbell hypercall with no instruction to decode.  0, or -1 when
     * the hypervisor refused it. */
    int (*queue_notify)(uint64_t base, unsigned slot, unsigned queue);

    /* Console output. */
    void (*console_write)(const char *s, size_t n);

    /* Timer: one-shot interrupt on TIMER_VECTOR after `ns` nanoseconds. */
    int (*timer_init)(void);                   /* 0 ok, -1 no timer */
    void (*timer_oneshot)(uint64_t ns);
    void (*timer_cancel)(void);
    void (*irq_eoi)(void);
    const char *(*timer_name)(void);

    /* End the guest with an exit code (never returns). */
    void (*exit)(uint32_t code) __attribute__((noreturn));
};

extern const struct platform_ops *platform;
extern const struct platform_ops native_platform_ops;
extern const struct platform_ops pv_platform_ops;

/*
 * The return from an interrupt, exception or system-call frame: code that
 * isr.S and user_entry.S jump to (`jmp *platform_iret`) with the registers
 * restored and the hardware frame (RIP, CS, RFLAGS, RSP, SS) on the stack.
 * native_iret is `iretq` (isr.S); pv_iret asks the hypervisor with HVC_IRET
 * (pv_entry.S): an IRETQ to virtual ring 0 cannot work from CPU ring 3.
 */
extern const void *platform_iret;
extern const char native_iret[], pv_iret[];

static inline bool platform_is_paravirt(void)
{
    return platform == &pv_platform_ops;
}

/* Choose the table the boot info asks for; stops the kernel if unknown. */
void platform_select(const struct hvlab_boot_info *bi);

#endif
