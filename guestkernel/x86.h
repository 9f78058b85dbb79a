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

#include "abi/x86_arch.h"

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
