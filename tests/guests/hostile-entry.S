/*
 * hostile: the assembly half of the isolation test guest (hostile.c says
 * what it does and why).
 *
 * Two entries, like hvlab's guest kernel:
 *   _start        the hvlab 64-bit entry (the ELF e_entry): long mode, CPL 0,
 *                 RDI = boot info, RSI = HVLAB_BOOT_MAGIC (abi/hvlab_abi.h);
 *   pvh_entry32   the 32-bit PVH entry named by a Xen ELF note, so that stock
 *                 QEMU (`-kernel hostile.elf`) boots the same image: 32-bit
 *                 protected mode, paging off, EBX = struct hvm_start_info.
 * Both reach hostile_main(entry kind, pointer, magic) on the guest's stack.
 *
 * Also here, because C cannot say them: the exception entry stubs, the
 * guest's own `syscall` handler (its IA32_LSTAR), and the small routines
 * whose instruction addresses the C code compares with a trap frame's RIP.
 */

#include "guestkernel/gpr_frame.h"  /* PUSH_GPRS / POP_GPRS: the kernel's trap-frame order */
#define SEL_CODE64 0x08
#define SEL_DATA   0x10
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER   0xc0000080
#define SYSCALL_MARK 0x600d5ca11ull    /* what the guest's handler returns */

/* ---- the PVH note (Xen's public/elfnote.h: name "Xen", type 18) ------------ */
        .section .note.Xen, "a", @note
        .balign 4
        .long   4                       /* namesz: "Xen\0" */
        .long   4                       /* descsz: a 32-bit entry address */
        .long   XEN_ELFNOTE_PHYS32_ENTRY
        .asciz  "Xen"
        .long   pvh_entry32

/* ---- the hvlab 64-bit entry ----------------------------------------------- */
        .section .text.entry, "ax"
        .code64
        .globl _start
        .type _start, @function
_start:
        leaq    stack_top(%rip), %rsp   /* off the monitor's scratch stack */
        xorl    %ebp, %ebp
        cld
        movq    %rsi, %rdx              /* magic      */
        movq    %rdi, %rsi              /* boot info  */
        xorl    %edi, %edi              /* ENTRY_HVLAB */
        call    hostile_main
1:      cli
        hlt
        jmp     1b
        .size _start, . - _start

/* ---- the 32-bit PVH entry (stock QEMU) -------------------------------------- *
 * SDM Vol. 3A §10.8.5: page tables, CR4.PAE, CR3, EFER.LME, CR0.PG, then a
 * far jump to a 64-bit code segment.  The tables are the C code's identity
 * map (hostile.c: ident_*): [0, 4 GiB) in 2 MiB pages; hostile.c fills them
 * again with the same values on the 64-bit side. */
        .code32
        .type pvh_entry32, @function
pvh_entry32:
        cli
        cld
        movl    %ebx, %esi              /* hvm_start_info: kept in ESI */

        movl    $ident_pdpt, %eax       /* PML4[0] -> PDPT */
        orl     $3, %eax
        movl    %eax, ident_pml4
        movl    $0, ident_pml4 + 4

        movl    $ident_pd, %eax         /* PDPT[0..3] -> the four PDs */
        orl     $3, %eax
        xorl    %ecx, %ecx
1:      movl    %eax, ident_pdpt(,%ecx,8)
        movl    $0, ident_pdpt + 4(,%ecx,8)
        addl    $4096, %eax
        incl    %ecx
        cmpl    $4, %ecx
        jb      1b

        xorl    %ecx, %ecx              /* PD entry i: i * 2 MiB | PS | W | P */
2:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $0x83, %eax
        movl    %eax, ident_pd(,%ecx,8)
        movl    %ecx, %eax
        shrl    $11, %eax               /* bits 32+ of i * 2 MiB */
        movl    %eax, ident_pd + 4(,%ecx,8)
        incl    %ecx
        cmpl    $2048, %ecx
        jb      2b

        movl    %cr4, %eax              /* CR4.PAE */
        orl     $(1 << 5), %eax
        movl    %eax, %cr4
        movl    $ident_pml4, %eax
        movl    %eax, %cr3
        movl    $MSR_EFER, %ecx         /* EFER.LME only: the scenarios set SCE */
        rdmsr
        orl     $(1 << 8), %eax
        wrmsr
        movl    %cr0, %eax              /* PG | WP | NE | ET | MP | PE */
        orl     $0x80010033, %eax
        movl    %eax, %cr0
        lgdt    gdt_ptr
        ljmp    $SEL_CODE64, $pvh_entry64

        .code64
pvh_entry64:
        movl    $SEL_DATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs
        leaq    stack_top(%rip), %rsp
        xorl    %ebp, %ebp
        movl    %esi, %esi              /* upper halves are undefined after 32-bit code */
        xorl    %edx, %edx
        movl    $1, %edi                /* ENTRY_PVH */
        call    hostile_main
1:      cli
        hlt
        jmp     1b
        .size pvh_entry32, . - pvh_entry32

/* ---- exception entry -------------------------------------------------------- *
 * One stub per vector: a dummy error code where the CPU pushes none, the
 * vector, then the common part saves the GPRs (struct trap_frame in
 * hostile.c), calls hostile_trap() and returns with iretq to the frame's
 * (possibly changed) RIP. */
        .text
        .macro TRAP_STUB vec
        .balign 16
trap_stub_\vec:
        .if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21)
        /* the CPU pushed an error code */
        .else
        pushq   $0
        .endif
        pushq   $\vec
        jmp     trap_common
        .endm

        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
        TRAP_STUB \v
        .endr

trap_common:
        PUSH_GPRS
        movq    %rsp, %rdi
        cld
        call    hostile_trap
        POP_GPRS
        addq    $16, %rsp               /* vector, error code */
        iretq

        .section .rodata
        .balign 8
        .globl trap_stubs
trap_stubs:                             /* vectors 0..31, then 0x80 */
        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
        .quad   trap_stub_\v
        .endr

/* ---- the guest's own system-call handler (its IA32_LSTAR) ------------------ *
 * SYSCALL left the return RIP in RCX and RFLAGS in R11 (SDM Vol. 2B).  The
 * handler records the call (number and first argument), answers with
 * SYSCALL_MARK, a value no host system call returns, and goes back to the
 * caller with `jmp *%rcx`: it stays in ring 0, so no sysret is needed. */
        .text
        .globl syscall_entry
        .type syscall_entry, @function
syscall_entry:
        incq    syscall_count(%rip)
        movq    %rax, syscall_last_nr(%rip)
        movq    %rdi, syscall_last_arg0(%rip)
        movabsq $SYSCALL_MARK, %rax
        jmp     *%rcx
        .size syscall_entry, . - syscall_entry

/* u64 raw_syscall(u64 nr, u64 a0, u64 a1, u64 a2): Linux's x86-64 system
 * call registers (RAX, RDI, RSI, RDX), then `syscall` at raw_syscall_insn. */
        .globl raw_syscall, raw_syscall_insn
        .type raw_syscall, @function
raw_syscall:
        movq    %rdi, %rax
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        movq    %rcx, %rdx
raw_syscall_insn:
        syscall
        ret
        .size raw_syscall, . - raw_syscall

/* u64 raw_int80(u32 nr, u32 a0, u32 a1, u32 a2): Linux's i386 system call
 * registers (EAX, EBX, ECX, EDX), then `int $0x80` at raw_int80_insn. */
        .globl raw_int80, raw_int80_insn
        .type raw_int80, @function
raw_int80:
        pushq   %rbx
        movq    %rcx, %r8
        movl    %edi, %eax
        movl    %esi, %ebx
        movl    %edx, %ecx
        movl    %r8d, %edx
raw_int80_insn:
        int     $0x80
        popq    %rbx
        ret
        .size raw_int80, . - raw_int80

/* void call_addr(u64 addr): calls addr; returns only if the code there does. */
        .globl call_addr
        .type call_addr, @function
call_addr:
        call    *%rdi
        ret
        .size call_addr, . - call_addr

/* void hole_call(u64 addr, u64 nr, u64 a0, u64 a1, u64 ops, u64 n_ops): calls
 * addr with the registers of a system call (RAX = nr, RDI = a0, RSI = a1,
 * RDX = 0) and of the stub's batch loop (RBX = ops, R12 = n_ops), so that
 * whatever system call the code at addr makes is one the guest chose. */
        .globl hole_call
        .type hole_call, @function
hole_call:
        pushq   %rbx
        pushq   %r12
        movq    %rdi, %r11
        movq    %rsi, %rax
        movq    %rdx, %rdi
        movq    %rcx, %rsi
        xorl    %edx, %edx
        movq    %r8, %rbx
        movq    %r9, %r12
        call    *%r11
        popq    %r12
        popq    %rbx
        ret
        .size hole_call, . - hole_call

/* int probe_read(u64 addr, u64 *out): 0 with *out = the quadword at addr, or
 * -1 when the load faulted (hostile_trap() moves a #PF at probe_read_insn
 * to probe_read_fixup). */
        .globl probe_read, probe_read_insn, probe_read_fixup
        .type probe_read, @function
probe_read:
        xorl    %eax, %eax
probe_read_insn:
        movq    (%rdi), %rcx
        movq    %rcx, (%rsi)
        ret
probe_read_fixup:
        movl    $-1, %eax
        ret
        .size probe_read, . - probe_read

/* int probe_write(u64 addr, u64 value): 0 after storing value at addr, or
 * -1 when the store faulted (probe_write_insn -> probe_write_fixup). */
        .globl probe_write, probe_write_insn, probe_write_fixup
        .type probe_write, @function
probe_write:
        xorl    %eax, %eax
probe_write_insn:
        movq    %rsi, (%rdi)
        ret
probe_write_fixup:
        movl    $-1, %eax
        ret
        .size probe_write, . - probe_write

/* ---- data ------------------------------------------------------------------- */
        .data
        .balign 8
gdt:                                    /* the PVH path's GDT (hvlab: the monitor's) */
        .quad   0
        .quad   0x00af9b000000ffff      /* 0x08: 64-bit code, DPL 0 (accessed) */
        .quad   0x00cf93000000ffff      /* 0x10: data, DPL 0 (accessed)        */
gdt_end:
gdt_ptr:
        .word   gdt_end - gdt - 1
        .quad   gdt                     /* a 32-bit lgdt reads 4 bytes of it */

        .globl syscall_count, syscall_last_nr, syscall_last_arg0
syscall_count:     .quad 0
syscall_last_nr:   .quad 0
syscall_last_arg0: .quad 0

        .bss
        .balign 16
stack:  .skip   16384
stack_top:

        .section .note.GNU-stack, "", @progbits
