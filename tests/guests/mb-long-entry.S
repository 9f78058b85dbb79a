/*
 * mb-long: entry of a Multiboot v1 test kernel that runs its checks in long
 * mode, booted the way kvm-unit-tests' x86_64 binaries are (`qemu -kernel`):
 * the image is linked as x86-64 code at 4 MiB and converted to an ELF32
 * i386 file with `objcopy -O elf32-i386`; the boot loader enters the 32-bit
 * code below in protected mode (Multiboot 0.6.96 §3.2), which switches to
 * long mode itself.  It shares no code with guestkernel/ or libhv/.
 *
 * Memory (all identity mapped, 2 MiB pages over the first 1 GiB):
 *   pml4 -> pdpt[0] -> pd (512 x 2 MiB, PS)
 * pdpt[1] (the second GiB) is left for the C code's alias-mapping check.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003          /* bit 0 page-aligned modules, bit 1 memory info */

#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)

#define SEL_CODE64 0x08
#define SEL_DATA   0x10
#define SEL_CODE32 0x18

/* §3.1.1: 32-bit aligned, within the first 8192 bytes of the file (the
 * linker script puts .init first, right after the ELF headers). */
        .section .init, "ax"
        .balign 4
mb_header:
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

/*
 * §3.2: EAX = 0x2BADB002, EBX = multiboot information, 32-bit protected
 * mode, paging off, interrupts off; the stack and the GDT are ours to set.
 */
        .code32
        .globl _start
_start:
        cli
        movl %eax, mb_magic
        movl %ebx, mb_info
        movl $stack_top, %esp

        /* our own GDT first: the loader's may be anywhere */
        lgdtl gdt_desc
        ljmpl $SEL_CODE32, $1f
1:      movl $SEL_DATA, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        movl %eax, %fs
        movl %eax, %gs

        /* page tables: pd[i] = i * 2 MiB | PS | RW | P, i = 0..511 */
        movl $pd, %edi
        xorl %ecx, %ecx
2:      movl %ecx, %eax
        shll $21, %eax
        orl $0x83, %eax
        movl %eax, (%edi,%ecx,8)
        movl $0, 4(%edi,%ecx,8)
        incl %ecx
        cmpl $512, %ecx
        jne 2b
        movl $pd, %eax
        orl $0x03, %eax
        movl %eax, pdpt
        movl $pdpt, %eax
        orl $0x03, %eax
        movl %eax, pml4

        /* PAE, CR3, EFER.LME, then paging: long mode (compatibility) */
        movl %cr4, %eax
        orl $CR4_PAE, %eax
        movl %eax, %cr4
        movl $pml4, %eax
        movl %eax, %cr3
        movl $MSR_EFER, %ecx
        rdmsr
        orl $EFER_LME, %eax
        wrmsr
        movl %cr0, %eax
        orl $(CR0_PE | CR0_PG), %eax
        movl %eax, %cr0
        ljmpl $SEL_CODE64, $start64

        .code64
start64:
        movl $SEL_DATA, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        movl %eax, %fs
        movl %eax, %gs
        movq $stack_top, %rsp
        movl mb_magic(%rip), %edi
        movl mb_info(%rip), %esi
        call mb_long_main
3:      cli
        hlt
        jmp 3b

/*
 * Exception entry: one stub per vector 0..31 pushes a dummy error code
 * where the CPU pushes none, then the vector, and jumps to the common part,
 * which hands a struct mb_long_frame (mb-long.c) to mb_long_exception and
 * returns with iretq to the (possibly changed) RIP.
 */
        .text
        .macro EXC vec
        .balign 16
exc\vec:
        .if (\vec != 8) && (\vec != 10) && (\vec != 11) && (\vec != 12) && (\vec != 13) && (\vec != 14) && (\vec != 17) && (\vec != 21) && (\vec != 29) && (\vec != 30)
        pushq $0
        .endif
        pushq $\vec
        jmp exc_common
        .endm

        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        EXC \v
        .endr

exc_common:
        pushq %rax
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        movq %rsp, %rdi
        cld
        call mb_long_exception
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rdi
        popq %rsi
        popq %rdx
        popq %rcx
        popq %rax
        addq $16, %rsp                  /* vector and error code */
        iretq

        .section .rodata
        .balign 8
        .globl mb_long_exc_stubs
mb_long_exc_stubs:
        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad exc\v
        .endr

        .data
        .balign 8
gdt:
        .quad 0
        .quad 0x00af9b000000ffff        /* 0x08: 64-bit code, L=1, DPL 0 */
        .quad 0x00cf93000000ffff        /* 0x10: data, 4 GiB, writable   */
        .quad 0x00cf9b000000ffff        /* 0x18: 32-bit code, 4 GiB      */
gdt_end:
gdt_desc:
        .word gdt_end - gdt - 1
        .quad gdt                       /* 32-bit lgdt reads the low 4 bytes */

        .globl mb_magic, mb_info
mb_magic: .long 0
mb_info:  .long 0

        .bss
        .balign 4096
        .globl pml4, pdpt, pd
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096
        .balign 16
stack:  .skip 16384
stack_top:

        .section .note.GNU-stack, "", @progbits
