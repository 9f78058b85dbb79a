/*
 * traps.h - descriptor tables, the trap frame, and how the kernel survives
 * faults it expects.
 */
#ifndef GUEST_TRAPS_H
#define GUEST_TRAPS_H

#include <stdbool.h>
#include <stdint.h>

struct desc_ptr;                /* x86.h */

/*
 * What isr.S (and the syscall entry in user_entry.S) push: the general
 * registers, then vector and error code, then the frame the CPU pushed on
 * the interrupt (SDM Vol. 3A 6.14.2, figure 6-9: in 64-bit mode always
 * SS:RSP, RFLAGS, CS:RIP).  Lowest address first.
 */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error;             /* 0 for vectors without an error code */
    uint64_t rip, cs, rflags, rsp, ss;
};

static inline bool trap_from_user(const struct trap_frame *f)
{
    return (f->cs & 3) == 3;
}

/* Details of one exception, recorded for the code that expected it. */
struct fault_info {
    uint64_t vector;
    uint64_t error;
    uint64_t cr2;               /* page faults only */
    uint64_t rip;
};

/*
 * A 64-bit IDT gate (SDM Vol. 3A 6.14.1, figure 6-8): 16 bytes.  In
 * traps.h because two readers need it: idt.c writes the gates, and the
 * paravirtual load_idt (pv.c) turns them into a trap table, as Xen's
 * xen_load_idt does.
 */
struct __attribute__((packed)) idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;                /* bits 0-2: IST index, 0 = none */
    uint8_t type_attr;          /* P, DPL, type */
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");

#define GATE_INTERRUPT 0xe      /* the CPU clears RFLAGS.IF on entry */
#define GATE_TRAP      0xf      /* IF stays as it was */
#define GATE_TYPE_MASK 0xf
#define GATE_PRESENT   0x80

static inline uint64_t idt_gate_offset(const struct idt_gate *g)
{
    return g->offset_low | ((uint64_t)g->offset_mid << 16) | ((uint64_t)g->offset_high << 32);
}

/* isr.S: the entry stubs */
extern const uint64_t isr_stub_table[32];
extern const uint64_t isr_timer_stub, isr_spurious_stub;
extern const uint64_t isr_virtio_stubs[8];

/* gdt.c */
void gdt_init(void);
uint64_t gdt_base(void);        /* for the selftest */
uint16_t gdt_limit(void);
uint64_t tss_rsp0(void);

/* idt.c */
void idt_init(void);
uint64_t idt_base(void);
uint16_t idt_limit(void);

/* traps.c */
void trap_dispatch(struct trap_frame *f);
const char *exception_mnemonic(uint64_t vector);
extern struct fault_info last_fault;     /* filled by an exception-table fixup */

/*
 * probe.S: accesses that may fault on purpose.  Each faulting instruction has
 * an entry in the exception table (__extable); on any exception at that
 * instruction, trap_dispatch records it in last_fault and resumes at the
 * entry's fixup, which makes the probe return PROBE_FAULTED.
 */
#define PROBE_OK       0
#define PROBE_FAULTED  1
int probe_read64(uint64_t addr, uint64_t *value);
int probe_write64(uint64_t addr, uint64_t value);
int probe_divide_error(void);           /* div by zero: #DE */
int probe_ud2(void);                    /* ud2 in ring 0: #UD */
int probe_call(uint64_t addr);          /* call addr (which should `ret`) */
int copy_from_user(void *dst, uint64_t user_src, uint64_t len);  /* 0 or PROBE_FAULTED */
/* Sensitive, unprivileged: fault only with CR4.UMIP at CPL > 0 (sensitive.c). */
int probe_sgdt(struct desc_ptr *gdtr);
int probe_sidt(struct desc_ptr *idtr);
int probe_sldt(uint16_t *selector);
int probe_str(uint16_t *selector);
int probe_smsw(uint16_t *msw);          /* CR0[15:0] */
int probe_rdpid(uint64_t *value);       /* IA32_TSC_AUX; #UD without RDPID */
void probe_arm(void);                   /* clears last_fault */

#endif
