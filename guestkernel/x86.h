/*
 * x86.h - architectural constants and the raw instructions.
 *
 * The native_* wrappers execute the real privileged instructions.  Only the
 * native platform (native.c, apic.c) may call them: every other part of the
 * kernel goes through `platform->...` (platform.h) so that a paravirtual
 * platform can replace each privileged operation by a hypercall, as Linux's
 * pv_ops do.  Unprivileged instructions (rdtsc, pause, str, sgdt) are here
 * too and may be used anywhere.
 */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdint.h>

/* CR0 bits (Intel SDM Vol. 3A 2.5). */
#define CR0_PE  (1ull << 0)
#define CR0_MP  (1ull << 1)
#define CR0_ET  (1ull << 4)
#define CR0_NE  (1ull << 5)
#define CR0_WP  (1ull << 16)
#define CR0_PG  (1ull << 31)
/* CR4 bits. */
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)

/* RFLAGS bits (SDM Vol. 1 3.4.3). */
#define RFLAGS_FIXED (1ull << 1)     /* bit 1 always reads 1 */
#define RFLAGS_TF    (1ull << 8)
#define RFLAGS_IF    (1ull << 9)
#define RFLAGS_DF    (1ull << 10)
#define RFLAGS_IOPL  (3ull << 12)
#define RFLAGS_NT    (1ull << 14)
#define RFLAGS_AC    (1ull << 18)

/* MSRs (SDM Vol. 4). */
#define MSR_APIC_BASE       0x0000001b
#define MSR_TSC_DEADLINE    0x000006e0
#define MSR_X2APIC_BASE     0x00000800
#define MSR_EFER            0xc0000080
#define MSR_STAR            0xc0000081
#define MSR_LSTAR           0xc0000082
#define MSR_SFMASK          0xc0000084
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_KERNEL_GS_BASE  0xc0000102

#define EFER_SCE (1ull << 0)         /* SYSCALL/SYSRET enable */
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)        /* execute-disable bit in PTEs */

/* CPUID.1:ECX feature bits (SDM Vol. 2A CPUID, table 3-10). */
#define CPUID1_ECX_X2APIC       (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

/* Exception vectors (SDM Vol. 3A 6.3.1, table 6-1). */
enum {
    X86_DE = 0, X86_DB = 1, X86_NMI = 2, X86_BP = 3, X86_OF = 4, X86_BR = 5,
    X86_UD = 6, X86_NM = 7, X86_DF = 8, X86_TS = 10, X86_NP = 11,
    X86_SS = 12, X86_GP = 13, X86_PF = 14, X86_MF = 16, X86_AC = 17,
    X86_MC = 18, X86_XM = 19, X86_VE = 20, X86_CP = 21,
};

/* Page-fault error code bits (SDM Vol. 3A 4.7). */
#define PF_P    (1u << 0)   /* 0: not present, 1: protection violation */
#define PF_W    (1u << 1)   /* the access was a write */
#define PF_U    (1u << 2)   /* the access came from CPL 3 */
#define PF_RSVD (1u << 3)
#define PF_I    (1u << 4)   /* instruction fetch (only with NXE/SMEP) */

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

/* ---- unprivileged instructions ------------------------------------------ */

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

static inline uint16_t read_tr(void)
{
    uint16_t sel;
    __asm__ volatile("str %0" : "=r"(sel));
    return sel;
}

static inline void read_gdtr(struct desc_ptr *d)
{
    __asm__ volatile("sgdt %0" : "=m"(*d));
}

static inline void read_idtr(struct desc_ptr *d)
{
    __asm__ volatile("sidt %0" : "=m"(*d));
}

static inline uint16_t read_cs(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs;
}

/* ---- privileged instructions: native platform only ---------------------- */

static inline void native_cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void native_sti(void) { __asm__ volatile("sti" ::: "memory"); }

/*
 * `sti; hlt`: STI delays interrupt recognition until after the next
 * instruction (SDM Vol. 2B "STI"), so no interrupt can slip in between the
 * caller's last check and the HLT: the classic race-free idle.
 */
static inline void native_safe_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

static inline uint64_t native_read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static inline uint64_t native_read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline uint64_t native_read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline void native_write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" :: "r"(v) : "memory");
}

static inline uint64_t native_read_cr4(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static inline void native_invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory");
}

static inline uint64_t native_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void native_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                     : "memory");
}

static inline void native_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    __asm__ volatile("cpuid"
                     : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
                     : "a"(leaf), "c"(sub));
}

static inline void native_outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port));
}

static inline uint8_t native_inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void native_outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port));
}

static inline uint32_t native_inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void native_lgdt(const struct desc_ptr *d)
{
    __asm__ volatile("lgdt %0" :: "m"(*d));
}

static inline void native_lidt(const struct desc_ptr *d)
{
    __asm__ volatile("lidt %0" :: "m"(*d));
}

static inline void native_ltr(uint16_t sel)
{
    __asm__ volatile("ltr %0" :: "r"(sel));
}

#endif
