/*
 * isr.S - the interrupt and exception entry stubs.
 *
 * The CPU pushes SS, RSP, RFLAGS, CS, RIP and, for some exceptions, an error
 * code (SDM Vol. 3A 6.13, 6.14.2).  So that one C function handles every
 * vector, each stub first makes the frame uniform - a dummy error code where
 * the CPU pushes none, then the vector number - and jumps to isr_common,
 * which saves the general registers (struct trap_frame in traps.h) and calls
 * trap_dispatch(frame).  Whatever the handler leaves in the frame (a changed
 * RIP for a fixup, RAX for a system call) is what IRETQ resumes.
 *
 * The paravirtual platform uses the same stubs: the hypervisor delivers an
 * exception through the trap table, and the timer event to isr32, with the
 * very frame the CPU would push (abi/hvlab_hypercall.h struct
 * hvlab_pv_frame), so only the final IRETQ differs (platform_iret).
 *
 * Vectors with an error code (SDM Vol. 3A table 6-1): 8 #DF, 10 #TS, 11 #NP,
 * 12 #SS, 13 #GP, 14 #PF, 17 #AC, 21 #CP, 29 #VC, 30 #SX.
 */
#include "layout.h"
#include "gpr_frame.h"

.macro ISR_NOERR vec
        .balign 16
isr\vec:
        pushq   $0                      /* no error code: keep the frame uniform */
        pushq   $\vec
        jmp     isr_common
.endm

.macro ISR_ERR vec
        .balign 16
isr\vec:
        pushq   $\vec                   /* the CPU already pushed the error code */
        jmp     isr_common
.endm

        .text
        .code64
ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31
ISR_NOERR 32                            /* TIMER_VECTOR */
/* 64..71: the virtio-mmio slots' interrupts, HVLAB_VIRTIO_IRQ_VECTOR(0..7)
 * in abi/hvlab_abi.h. */
ISR_NOERR 64
ISR_NOERR 65
ISR_NOERR 66
ISR_NOERR 67
ISR_NOERR 68
ISR_NOERR 69
ISR_NOERR 70
ISR_NOERR 71
ISR_NOERR 255                           /* SPURIOUS_VECTOR */

        .balign 16
        .globl isr_common
isr_common:
        PUSH_GPRS
        /* 22 quadwords are on the stack and the CPU aligned RSP to 16 before
         * its pushes (SDM Vol. 3A 6.14.2), so RSP is 16-byte aligned here as
         * the C ABI wants at a call. */
        movq    %rsp, %rdi
        cld
        call    trap_dispatch
        POP_GPRS
        addq    $16, %rsp               /* vector and error code */
        jmp     *platform_iret(%rip)    /* native_iret or pv_iret (platform.h) */

/*
 * The native platform's way back: IRETQ pops RIP, CS, RFLAGS, RSP and SS
 * (SDM Vol. 2A "IRET", 64-bit mode).  The paravirtual one, pv_iret, is in
 * pv_entry.S: IRETQ to (virtual) ring 0 is privileged for a kernel that
 * really runs in ring 3.
 */
        .globl native_iret
native_iret:
        iretq

/* Stub addresses for idt.c: exceptions 0..31, timer, spurious, virtio. */
        .section .rodata
        .balign 8
        .globl isr_stub_table, isr_timer_stub, isr_spurious_stub, isr_virtio_stubs
isr_stub_table:
        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad   isr\v
        .endr
isr_timer_stub:
        .quad   isr32
isr_spurious_stub:
        .quad   isr255
isr_virtio_stubs:
        .irp v, 64,65,66,67,68,69,70,71
        .quad   isr\v
        .endr
