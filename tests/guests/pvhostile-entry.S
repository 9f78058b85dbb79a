/*
 * pvhostile: the assembly half of the hostile test guest of hv-paravirt
 * (pvhostile.c says what it does and why).
 *
 * One entry, the hvlab 64-bit one (the ELF e_entry): hv-paravirt enters it
 * at virtual CPL 0 with RDI = boot info, RSI = HVLAB_BOOT_MAGIC and RSP on a
 * small stack at the end of the scratch area (abi/hvlab_abi.h).  The guest
 * switches to its own stack at once.
 *
 * Also here, because C cannot say them: the exception entry stubs the trap
 * table names, HVC_IRET with a frame of the guest's choosing at RSP, and
 * one small routine per privileged instruction, with a label ON the
 * instruction so that the C code can print the address the monitor must
 * name in its "privileged instruction ... at 0x<rip>" line.
 */

#define HVC_IRET 7
#define IRET_ACCEPTED_MARK 0x1e7accef7edull  /* pvhostile.c: a bad frame was taken */

/* ---- the hvlab 64-bit entry ----------------------------------------------- */
        .section .text.entry, "ax"
        .code64
        .globl _start
        .type _start, @function
_start:
        leaq    stack_top(%rip), %rsp   /* off the monitor's scratch stack */
        xorl    %ebp, %ebp
        cld
        call    pvhostile_main          /* (boot info, magic): never returns */
        ud2                             /* no trap table yet: the monitor ends us (120) */
        .size _start, . - _start

/* ---- exception entry -------------------------------------------------------- *
 * The monitor pushes the hardware's 64-bit frame (struct hvlab_pv_frame),
 * below it an error code for the vectors that have one, on the interrupted
 * stack aligned down to 16.  Each stub makes the frame uniform (a dummy
 * error code where there is none, then the vector) and calls
 * pvhostile_trap(frame), which never returns: every exception ends this
 * guest, through its own HVC_SHUTDOWN. */
        .text
        .macro TRAP_STUB vec
        .balign 16
trap_stub_\vec:
        .if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
        /* the monitor pushed an error code */
        .else
        pushq   $0
        .endif
        pushq   $\vec
        jmp     trap_common
        .endm

        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        TRAP_STUB \v
        .endr

trap_common:
        movq    %rsp, %rdi              /* struct trap_frame: vector, error, then the frame */
        andq    $-16, %rsp              /* the C calling convention's alignment */
        cld
        call    pvhostile_trap
        ud2

        .section .rodata
        .balign 8
        .globl trap_stubs
trap_stubs:                             /* vectors 0..31 */
        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad   trap_stub_\v
        .endr

/* ---- HVC_IRET with a chosen frame ------------------------------------------- *
 * s64 iret_probe(const struct hvlab_iret_frame *f): makes HVC_IRET with RSP
 * at f (the call pops the frame at RSP).  A refused frame returns to the
 * instruction after the `syscall` with RAX = the error and RSP unchanged;
 * the caller's stack comes back from iret_saved_rsp.  A frame the monitor
 * wrongly TOOK lands where its rip says: the C code points the bad frames at
 * iret_landed, which returns IRET_ACCEPTED_MARK to the caller instead. */
        .text
        .globl iret_probe, iret_landed
        .type iret_probe, @function
iret_probe:
        movq    %rsp, iret_saved_rsp(%rip)
        movq    %rdi, %rsp
        movl    $HVC_IRET, %eax
        syscall
        movq    iret_saved_rsp(%rip), %rsp
        ret
iret_landed:
        movq    iret_saved_rsp(%rip), %rsp
        movabsq $IRET_ACCEPTED_MARK, %rax
        ret
        .size iret_probe, . - iret_probe

/* ---- privileged instructions ------------------------------------------------- *
 * void priv_X(u64 arg): executes one privileged instruction, at the label
 * priv_X_insn.  Under hv-paravirt the guest kernel runs in CPU ring 3, where
 * each of them raises #GP; the monitor must end the guest (status 122) and
 * name the instruction and its address.  Each routine returns only if the
 * instruction did not stop the guest (pvhostile.c then reports it). */
        .macro PRIV name
        .globl priv_\name, priv_\name\()_insn
        .type priv_\name, @function
priv_\name:
        .endm
        .macro PRIV_END name
        ret
        .size priv_\name, . - priv_\name
        .endm

        PRIV cli                        /* mask the host's interrupts */
priv_cli_insn:
        cli
        PRIV_END cli

        PRIV sti
priv_sti_insn:
        sti
        PRIV_END sti

        PRIV hlt                        /* stop the host CPU */
priv_hlt_insn:
        hlt
        PRIV_END hlt

        PRIV out                        /* arg: port; writes AL = 0 */
        movl    %edi, %edx
        xorl    %eax, %eax
priv_out_insn:
        outb    %al, %dx
        PRIV_END out

        PRIV in                         /* arg: port */
        movl    %edi, %edx
priv_in_insn:
        inb     %dx, %al
        PRIV_END in

        PRIV mov_cr3                    /* arg: the new CR3 */
priv_mov_cr3_insn:
        movq    %rdi, %cr3
        PRIV_END mov_cr3

        PRIV wrmsr                      /* arg: the value; MSR IA32_LSTAR (0xc0000082) */
        movl    $0xc0000082, %ecx
        movl    %edi, %eax
        movq    %rdi, %rdx
        shrq    $32, %rdx
priv_wrmsr_insn:
        wrmsr
        PRIV_END wrmsr

        PRIV rdmsr                      /* MSR IA32_LSTAR: where the host's syscalls land */
        movl    $0xc0000082, %ecx
priv_rdmsr_insn:
        rdmsr
        PRIV_END rdmsr

        PRIV lgdt                       /* arg: a 10-byte pseudo-descriptor */
priv_lgdt_insn:
        lgdt    (%rdi)
        PRIV_END lgdt

        PRIV invlpg                     /* arg: the address */
priv_invlpg_insn:
        invlpg  (%rdi)
        PRIV_END invlpg

        /* iretq to a ring-0 frame (CS 0x08, SS 0x10): the native kernel's
         * way back, which a paravirtual kernel must replace with HVC_IRET.
         * arg: where the frame would return to. */
        PRIV iretq
        movq    %rsp, %rax
        pushq   $0x10                   /* ss */
        pushq   %rax                    /* rsp */
        pushq   $0x2                    /* rflags */
        pushq   $0x08                   /* cs: ring 0 */
        pushq   %rdi                    /* rip */
priv_iretq_insn:
        iretq
        PRIV_END iretq

/* ---- data ------------------------------------------------------------------- */
        .bss
        .balign 16
iret_saved_rsp: .skip 8
        .balign 16
stack:  .skip   16384
stack_top:

        .section .note.GNU-stack, "", @progbits
