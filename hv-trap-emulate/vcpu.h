/*
 * The virtual CPU of hv-trap-emulate.
 *
 * The guest kernel's instructions run natively in CPU ring 3 of a traced
 * child process (libhv/r3_engine.h).  Everything ring 3 cannot hold lives
 * here instead, in the monitor: the privilege level the guest believes it
 * has (virtual CPL), the interrupt flag, the control registers, the
 * descriptor-table registers, the MSRs and a local APIC.  A privileged
 * instruction faults in ring 3; the monitor decodes it and applies it to
 * this structure (emulate.c), exactly as the CPU would have applied it to
 * its own registers.
 *
 * The files of this monitor, in the order one VM exit meets them:
 *   exits.c       the exit loop: r3_run(), then one handler per kind of exit
 *   shadow.c      host page faults: shadow paging (the guest's page tables
 *                 walked in software, host mappings installed lazily)
 *   emulate.c     privileged instructions (#GP in ring 3): decode, emulate
 *   msr.c         rdmsr/wrmsr
 *   vapic.c       the local APIC (x2APIC registers, one-shot/TSC-deadline
 *                 timer on a host timer)
 *   interrupts.c  exception and interrupt delivery through the guest IDT,
 *                 iretq, the guest's syscall/sysretq
 *   gva.c         the monitor's own accesses to guest-virtual memory
 */
#ifndef HV_TRAP_EMULATE_VCPU_H
#define HV_TRAP_EMULATE_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "libhv/machine.h"
#include "libhv/pt_walk.h"
#include "libhv/r3_engine.h"
#include "libhv/r3_timer.h"
#include "libhv/x86_decode.h"

/* RFLAGS bits that ring-3 code really owns: the arithmetic flags, DF, and
 * TF (single-stepping works natively in ring 3: the host's #DB is the
 * guest's).  All the others (IF, IOPL, AC, NT, ID...) are virtual: ring 3
 * cannot set them, or they would mean something else for the host. */
#define RFLAGS_HOST_OWNED 0x0DD5ull /* CF PF AF ZF SF TF DF OF */
#define RFLAGS_DEFINED    0x3F7FD7ull
#define RFLAGS_VM         (1ull << 17)
#define RFLAGS_RF         (1ull << 16)

/* A descriptor-table register (GDTR, IDTR). */
struct dtr {
    uint64_t base;
    uint16_t limit;
};

/* The fault an access or an instruction raises in the guest. */
struct xfault {
    int vector;          /* -1: none */
    bool has_error;
    uint32_t error;
    uint64_t cr2;        /* #PF only */
};

/* The local APIC, as much of it as the guest uses (SDM Vol. 3A ch. 11). */
struct vapic {
    uint64_t base_msr;       /* IA32_APIC_BASE                              */
    bool x2apic;             /* EXTD set: registers are MSRs 0x800..        */
    uint32_t tpr, svr, lvt_timer, lvt_lint0, lvt_lint1, lvt_error, esr;
    uint32_t timer_init, timer_divide;
    uint64_t timer_start_ns; /* host CLOCK_MONOTONIC when init was written  */
    uint64_t deadline_ns;    /* when the armed timer fires; 0: not armed    */
    uint64_t tsc_deadline;   /* IA32_TSC_DEADLINE                           */
    uint32_t irr[8], isr[8]; /* 256 bits each                               */
};

enum shadow_policy {
    SHADOW_PER_MODE,   /* one shadow (one child process) for supervisor
                          mode and one for user mode                        */
    SHADOW_FLUSH,      /* one shadow, emptied on every change of mode       */
};

/* One host address space that mirrors the guest's translations: a child
 * process and the set of guest-virtual pages mapped in it. */
struct shadow {
    struct r3_child *child;
    uint64_t *pages;         /* open-addressing set of mapped page keys     */
    uint64_t cap, count;
};

#define SLOT_UNSET 0xffffffffu
struct exit_slots {
    unsigned shadow_fault, shadow_wp, guest_pf, exception, syscall, int80,
        timer, device_irq, flush, interrupt, mode_switch;
    unsigned insn[X86_OP_COUNT];
};

struct vcpu {
    struct hv_machine *m;
    struct r3_regs regs;     /* GPRs, RIP, host-owned RFLAGS, FS/GS base    */
    uint64_t sys_rflags;     /* virtual system flags (IF, IOPL, AC, ...)    */
    unsigned cpl;            /* 0 or 3                                      */
    uint16_t cs, ss;         /* virtual selectors (what frames record)      */
    uint64_t cr0, cr2, cr3, cr4, efer;
    struct dtr gdtr, idtr;
    uint16_t tr;
    uint64_t tr_base;
    uint32_t tr_limit;
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux;
    uint64_t tsc_khz;
    bool halted;
    bool irq_shadow;         /* after sti/mov ss: no interrupt before the
                                next instruction (SDM Vol. 2B "STI")        */
    uint64_t irq_shadow_rip; /* that next instruction, and the runs so far */
    unsigned irq_shadow_runs; /* (interrupts.c deliver_events)             */
    struct xfault pending;   /* exception to deliver before resuming        */
    struct vapic apic;

    /* shadow paging */
    enum shadow_policy policy;
    struct shadow shadow[2]; /* [0] supervisor (or the only one), [1] user  */
    struct r3_config r3cfg;
    uint64_t last_fault_va, last_fault_rip;
    unsigned repeat_faults;

    struct exit_slots slot;
};

/* ---- vcpu.c ---- */
uint64_t vcpu_rflags(const struct vcpu *v);          /* as the guest sees it */
void vcpu_set_rflags(struct vcpu *v, uint64_t value);
bool vcpu_if(const struct vcpu *v);
uint64_t *vcpu_gpr(struct vcpu *v, unsigned hw_index); /* enum x86_gpr order */
void vcpu_gprs(const struct vcpu *v, uint64_t out[16]);
struct pt_walk_ctx vcpu_walk_ctx(const struct vcpu *v);

/* ---- gva.c: guest-virtual accesses made by the monitor ---- */
/* Read/write len bytes at guest-virtual va as the guest's access of kind
 * acc from user mode (CPL 3) or supervisor mode, setting A/D bits as the
 * CPU would.  0, or -1 with *f the fault the guest takes (#PF, #GP); a
 * page-table rule break stops the guest (then *f.vector is -1). */
int gva_read(struct vcpu *v, uint64_t va, void *dst, uint64_t len, enum pt_access acc,
             bool user, struct xfault *f);
int gva_write(struct vcpu *v, uint64_t va, const void *src, uint64_t len, bool user,
              struct xfault *f);
/* Fetch and decode the instruction at the guest's RIP.  0 with *insn; -1
 * with *f to inject (a fetch fault); -2 after stopping the guest
 * (undecodable or unsupported). */
int fetch_insn(struct vcpu *v, struct x86_insn *insn, uint8_t bytes[X86_MAX_INSN_LEN],
               struct xfault *f);

/* ---- interrupts.c ---- */
void raise_exception(struct vcpu *v, int vector, bool has_error, uint32_t error);
void raise_fault(struct vcpu *v, const struct xfault *f);
void raise_gp0(struct vcpu *v);
void deliver_events(struct vcpu *v);   /* pending exception, else an IRQ */
/* int n / int3 / int $0x80 from the guest: RIP is past the instruction of
 * `len` bytes (a failed gate check reports the fault at the instruction). */
void emulate_int(struct vcpu *v, unsigned vector, unsigned len);
void emulate_iret(struct vcpu *v, const struct x86_insn *insn);
void emulate_lret(struct vcpu *v, const struct x86_insn *insn);
void emulate_syscall(struct vcpu *v);
void emulate_sysret(struct vcpu *v, const struct x86_insn *insn);
void set_cpl(struct vcpu *v, unsigned cpl);
/* The 8-byte GDT descriptor of selector sel: 0, or -1 with *f the fault a
 * descriptor load raises (#GP(sel) beyond GDTR.limit or an LDT selector, a
 * #PF reading the table). */
int read_descriptor(struct vcpu *v, uint16_t sel, uint64_t *desc, struct xfault *f);

/* ---- emulate.c ---- */
void emulate_privileged(struct vcpu *v, const struct x86_insn *insn, const uint8_t *bytes);
/* va: the faulting guest-virtual address; gpa: where the shadow fault's
 * walk translated it (no RAM there). */
void emulate_mmio(struct vcpu *v, uint64_t va, uint64_t gpa);
const char *insn_text(const struct x86_insn *insn, const uint8_t *bytes, char *buf, size_t len);

/* ---- msr.c ---- */
int msr_read(struct vcpu *v, uint32_t msr, uint64_t *value);   /* 0, or -1: #GP */
int msr_write(struct vcpu *v, uint32_t msr, uint64_t value);

/* ---- vapic.c ---- */
void vapic_reset(struct vapic *a);
int vapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *value);
int vapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t value);
void vapic_tick(struct vcpu *v);            /* timer expired? -> IRR     */
void vapic_raise(struct vcpu *v, int vector); /* a device's vector -> IRR */
int vapic_pending_vector(const struct vcpu *v); /* deliverable, or -1   */
void vapic_accept(struct vcpu *v, int vector);  /* IRR -> ISR           */
uint64_t vapic_next_deadline_ns(const struct vcpu *v); /* 0: none      */
void vapic_set_tpr(struct vcpu *v, uint32_t tpr);
int vapic_tsc_deadline_write(struct vcpu *v, uint64_t value);
int vapic_register_mmio(struct vcpu *v);     /* the xAPIC page on the bus */

/* ---- shadow.c ---- */
/* 0; -1, or R3_NOT_PERMITTED when the host forbids ptrace/seccomp. */
int shadow_init(struct vcpu *v, char *err, size_t errlen);
void shadow_destroy(struct vcpu *v);
struct shadow *shadow_current(struct vcpu *v);
void shadow_fault(struct vcpu *v, uint64_t va, uint32_t host_error);
void shadow_invlpg(struct vcpu *v, uint64_t va);
void shadow_flush_all(struct vcpu *v);
void shadow_flush_nonglobal(struct vcpu *v);   /* a CR3 load */
void shadow_mode_change(struct vcpu *v, unsigned old_cpl, unsigned new_cpl);
const char *shadow_policy_name(enum shadow_policy p);

/* ---- exits.c ---- */
int run_guest(struct vcpu *v);
int timer_start(struct vcpu *v);

#endif
