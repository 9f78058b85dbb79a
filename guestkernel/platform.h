/*
 * platform.h - the table of privileged operations (like Linux pv_ops).
 *
 * Every privileged operation that a paravirtual platform must replace goes
 * through `platform->op(...)`.  The exceptions are the ones a Xen-PV-style
 * guest also keeps: the boot path before the table is chosen (pvh_entry.S),
 * segment reloads (gdt.c), and the returns to ring 3 in assembly (iretq in
 * isr.S and user_entry.S, sysretq in user_entry.S), which the paravirt issue
 * turns into a "return to guest mode" hypercall.
 * The boot info chooses the table once at boot:
 *   native    real instructions: cli/sti, mov cr3, invlpg, wrmsr, in/out,
 *             the local APIC (native.c, apic.c, uart.c);
 *   paravirt  hypercalls and a shared page (not written yet: the kernel stops
 *             with a clear panic line when the boot info asks for it).
 * Keeping the two behind one table is what lets hvlab run the *same* kernel
 * under trap-and-emulate (native ops, each one trapping) and under
 * paravirtualization (the same call sites, turned into hypercalls).
 */
#ifndef GUEST_PLATFORM_H
#define GUEST_PLATFORM_H

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
    void (*set_pte)(uint64_t *ptep, uint64_t pte);

    /* Model-specific registers and CPUID. */
    uint64_t (*rdmsr)(uint32_t msr);
    void (*wrmsr)(uint32_t msr, uint64_t value);
    void (*cpuid)(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r);

    /* Descriptor tables and the ring-0 stack used on entry from ring 3. */
    void (*load_gdt)(const struct desc_ptr *gdtr);
    void (*load_idt)(const struct desc_ptr *idtr);
    void (*load_tr)(uint16_t selector);
    void (*set_kernel_stack)(uint64_t rsp0);   /* TSS.RSP0 */

    /* Port I/O (console, PIT, exit devices). */
    void (*outb)(uint16_t port, uint8_t value);
    uint8_t (*inb)(uint16_t port);
    void (*outl)(uint16_t port, uint32_t value);

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

/* Choose the table the boot info asks for; stops the kernel if unknown. */
void platform_select(const struct hvlab_boot_info *bi);

#endif
