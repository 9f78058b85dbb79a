/*
 * user_gate.S - ring-3 code written in assembly (section .user.text, mapped
 * into every address space at USER_TEXT_VA; see usercode.h).
 *
 * The two system-call gates.  The kernel tells each task which one to use
 * (RDI at entry); see the comment block "System-call gates" in syscall.c.
 */
#include "uapi.h"

        .section .user.text, "ax"
        .code64

        .globl user_gate_syscall
user_gate_syscall:
        syscall                         /* RCX <- RIP, R11 <- RFLAGS, to LSTAR */
        ret

        .globl user_gate_ud2
user_gate_ud2:
        ud2                             /* #UD; the kernel resumes at RIP + 2 */
        ret

/*
 * int64_t user_syscall_regcheck(gate, uint64_t *result)
 * Loads a distinct pattern into every register the kernel must preserve,
 * makes SYS_GETPID through the gate, and returns a mask with bit i set for
 * each register that came back changed (0 = all preserved).  *result gets
 * the system call's return value.
 */
.macro LOAD reg, n
        movabsq $(0x5a5a000000000000 + \n * 0x0101010101), %\reg
.endm
.macro CHECK reg, n
        movabsq $(0x5a5a000000000000 + \n * 0x0101010101), %r11
        cmpq    %r11, %\reg
        je      1f
        orl     $(1 << \n), %ecx
1:
.endm

        .globl user_syscall_regcheck
user_syscall_regcheck:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        pushq   %rsi                    /* 8(%rsp): result pointer */
        pushq   %rdi                    /* 0(%rsp): gate */
        LOAD    rbx, 0
        LOAD    rbp, 1
        LOAD    r12, 2
        LOAD    r13, 3
        LOAD    r14, 4
        LOAD    r15, 5
        LOAD    rdi, 6
        LOAD    rsi, 7
        LOAD    rdx, 8
        LOAD    r8, 9
        LOAD    r9, 10
        LOAD    r10, 11
        movl    $SYS_GETPID, %eax
        call    *(%rsp)                 /* the operand is read before the push */
        xorl    %ecx, %ecx              /* RCX, R11: clobbered by `syscall` */
        CHECK   rbx, 0
        CHECK   rbp, 1
        CHECK   r12, 2
        CHECK   r13, 3
        CHECK   r14, 4
        CHECK   r15, 5
        CHECK   rdi, 6
        CHECK   rsi, 7
        CHECK   rdx, 8
        CHECK   r8, 9
        CHECK   r9, 10
        CHECK   r10, 11
        movq    8(%rsp), %r11
        movq    %rax, (%r11)
        movl    %ecx, %eax
        addq    $16, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret
