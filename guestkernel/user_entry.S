/*
 * user_entry.S - crossing between ring 0 and ring 3 (kernel side).
 *
 *   user_enter   save the kernel context, drop to ring 3 with IRETQ (through
 *                platform_iret: HVC_IRET on paravirt) or SYSRETQ (native only)
 *   user_return  abandon the task, resume the kernel where user_enter was
 *   syscall_entry  the target of the `syscall` instruction (MSR_LSTAR)
 */
#include "layout.h"
#include "gpr_frame.h"

/* struct kernel_context offsets (task.h) */
#define CTX_RBX 0
#define CTX_RBP 8
#define CTX_R12 16
#define CTX_R13 24
#define CTX_R14 32
#define CTX_R15 40
#define CTX_RSP 48
/* struct user_entry_regs offsets (task.h) */
#define UE_RIP 0
#define UE_RSP 8
#define UE_RDI 16
#define UE_RSI 24
#define UE_RDX 32
#define UE_SYSRET 40

#define USER_RFLAGS 0x202               /* IF = 1, bit 1 always set */

/* Argument registers from the struct (RAX points to it); every other
 * register but RCX/R11 cleared so that no kernel value leaks to ring 3. */
.macro LOAD_USER_REGISTERS
        movq    UE_RDI(%rax), %rdi
        movq    UE_RSI(%rax), %rsi
        movq    UE_RDX(%rax), %rdx
        xorl    %eax, %eax
        xorl    %ebx, %ebx
        xorl    %ebp, %ebp
        xorl    %r8d, %r8d
        xorl    %r9d, %r9d
        xorl    %r10d, %r10d
        xorl    %r12d, %r12d
        xorl    %r13d, %r13d
        xorl    %r14d, %r14d
        xorl    %r15d, %r15d
.endm

        .text
        .code64

/*
 * int64_t user_enter(struct kernel_context *ctx, const struct user_entry_regs *r)
 * Saves what a C caller expects preserved plus RSP (which still points at our
 * return address), then enters ring 3.  It "returns" only via user_return.
 */
        .globl user_enter
user_enter:
        movq    %rbx, CTX_RBX(%rdi)
        movq    %rbp, CTX_RBP(%rdi)
        movq    %r12, CTX_R12(%rdi)
        movq    %r13, CTX_R13(%rdi)
        movq    %r14, CTX_R14(%rdi)
        movq    %r15, CTX_R15(%rdi)
        movq    %rsp, CTX_RSP(%rdi)
        movq    %rsi, %rax
        cmpq    $0, UE_SYSRET(%rax)
        jne     .Lenter_sysret

        /* IRETQ to a less privileged level pops RIP, CS, RFLAGS, RSP, SS
         * (SDM Vol. 2A "IRET", 64-bit mode, return to outer privilege). */
        pushq   $GDT_USER_DS
        pushq   UE_RSP(%rax)
        pushq   $USER_RFLAGS
        pushq   $GDT_USER_CS
        pushq   UE_RIP(%rax)
        xorl    %ecx, %ecx
        xorl    %r11d, %r11d
        LOAD_USER_REGISTERS
        jmp     *platform_iret(%rip)    /* iretq, or HVC_IRET on paravirt */

        /* SYSRETQ: RIP = RCX, RFLAGS = R11, CS/SS from STAR[63:48] (SDM Vol.
         * 2B "SYSRET").  RSP is not touched by SYSRET: load it first.  RCX
         * is canonical here; a non-canonical RCX would make Intel CPUs raise
         * #GP in ring 0 on the user stack (the reason Linux checks it). */
.Lenter_sysret:
        movq    UE_RIP(%rax), %rcx
        movq    $USER_RFLAGS, %r11
        movq    UE_RSP(%rax), %rsp      /* IF is 0: nothing runs on it in ring 0 */
        LOAD_USER_REGISTERS
        sysretq

/*
 * void user_return(struct kernel_context *ctx, int64_t value)
 * Called from a system call or trap handler running on the task's kernel
 * stack: that stack is simply abandoned (the next entry from ring 3 starts
 * again at its top), and user_enter returns `value` to its caller.
 */
        .globl user_return
user_return:
        movq    %rsi, %rax
        movq    CTX_RBX(%rdi), %rbx
        movq    CTX_RBP(%rdi), %rbp
        movq    CTX_R12(%rdi), %r12
        movq    CTX_R13(%rdi), %r13
        movq    CTX_R14(%rdi), %r14
        movq    CTX_R15(%rdi), %r15
        movq    CTX_RSP(%rdi), %rsp
        ret

/*
 * syscall_entry: `syscall` from ring 3 lands here (MSR_LSTAR) in ring 0
 * with RCX = user RIP, R11 = user RFLAGS, RFLAGS masked by MSR_SFMASK (IF=0)
 * - and RSP still the *user* stack: SYSCALL does not switch stacks (SDM Vol.
 * 2B "SYSCALL").  So first switch to the task's kernel stack (one CPU: a
 * global; SMP kernels use SWAPGS and per-CPU data), then build the same
 * struct trap_frame an exception would, so that one C dispatcher serves both
 * gates, and return with SYSRETQ.
 */
        .globl syscall_entry
syscall_entry:
        movq    %rsp, syscall_user_rsp(%rip)
        movq    syscall_kernel_rsp(%rip), %rsp
        pushq   $GDT_USER_DS                    /* ss */
        pushq   syscall_user_rsp(%rip)          /* rsp */
        pushq   %r11                            /* rflags */
        pushq   $GDT_USER_CS                    /* cs */
        pushq   %rcx                            /* rip */
        SYSCALL_DISPATCH
        popq    %rcx                            /* RIP for SYSRET */
        addq    $8, %rsp                        /* cs */
        popq    %r11                            /* RFLAGS for SYSRET */
        popq    %rsp                            /* back on the user stack */
        sysretq

        .bss
        .balign 8
        .globl syscall_kernel_rsp
syscall_kernel_rsp:
        .quad   0                               /* top of the task's kernel stack */
syscall_user_rsp:
        .quad   0
