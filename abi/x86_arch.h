/*
 * x86-64 architectural constants: control-register, EFER and RFLAGS bits,
 * MSR numbers, exception vectors, page-fault error-code and page-table-entry
 * bits.  Facts of the CPU, not of hvlab, shared by the guest kernel and the
 * monitors (which emulate, check or build the same structures).  Pure
 * macros and enums: safe in freestanding and hosted code alike.
 */
#ifndef HVLAB_X86_ARCH_H
#define HVLAB_X86_ARCH_H

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

/* Page-table entry bits (SDM Vol. 3A 4.5, tables 4-15..4-20). */
#define PTE_P    (1ull << 0)            /* present */
#define PTE_W    (1ull << 1)            /* writable */
#define PTE_U    (1ull << 2)            /* user (CPL 3) may access */
#define PTE_PWT  (1ull << 3)            /* write-through */
#define PTE_PCD  (1ull << 4)            /* cache disable */
#define PTE_A    (1ull << 5)
#define PTE_D    (1ull << 6)
#define PTE_PS   (1ull << 7)            /* large page (in a PD or PDPT entry) */
#define PTE_G    (1ull << 8)            /* global: survives CR3 loads (CR4.PGE) */
#define PTE_NX   (1ull << 63)           /* execute-disable (needs EFER.NXE) */
#define PTE_ADDR 0x000ffffffffff000ull

#endif /* HVLAB_X86_ARCH_H */
