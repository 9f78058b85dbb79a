/*
 * gpr_frame.h - saving and restoring the fifteen general registers of a
 * struct trap_frame (traps.h), in its order: RAX pushed first, R15 last, so
 * that R15 sits at the lowest address.  Shared by the exception stubs
 * (isr.S) and the system-call entry (user_entry.S): both build the same
 * frame, so one C view (struct trap_frame) serves both.
 */
#ifndef GUESTKERNEL_GPR_FRAME_H
#define GUESTKERNEL_GPR_FRAME_H

#ifdef __ASSEMBLY__
.macro PUSH_GPRS
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
.endm

.macro POP_GPRS
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
.endm

/* A system call from ring 3, once the interrupt-style frame (ss, rsp,
 * rflags, cs, rip) is on the kernel stack — pushed by syscall_entry itself
 * on native, by the hypervisor on paravirt: the rest of struct trap_frame
 * (error code 0, SYSCALL_PSEUDO_VECTOR from layout.h, the registers), the C
 * dispatcher (frame->rax = result), and the frame back down to rip. */
.macro SYSCALL_DISPATCH
        pushq   $0                              /* error code */
        pushq   $SYSCALL_PSEUDO_VECTOR          /* vector */
        PUSH_GPRS
        movq    %rsp, %rdi
        cld
        call    syscall_from_user
        POP_GPRS
        addq    $16, %rsp                       /* vector, error code */
.endm
#endif

#endif
