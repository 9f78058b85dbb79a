/*
 * mb-hello: entry of a Multiboot v1 test kernel (The Multiboot Specification
 * 0.6.96).  It shares no code with guestkernel/: it checks hvlab's multiboot
 * loader (and QEMU's) against the specification, not against hvlab itself.
 *
 * §3.1.1: the header lies in the first 8192 bytes, 32-bit aligned; the
 * linker script puts .multiboot first in the first loaded segment.
 * §3.1.2 flags: bit 0 (modules page-aligned) and bit 1 (memory information);
 * no bit 16, so the loader uses the ELF program headers.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003

        .section .multiboot, "a"
        .balign 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

/*
 * §3.2 machine state: 32-bit protected mode, paging off, EAX = 0x2BADB002,
 * EBX = physical address of the information structure, ESP undefined (so
 * we set our own stack before calling C), interrupts off.
 */
        .text
        .code32
        .globl _start
_start:
        cli
        movl $stack_top, %esp
        pushl %ebx                      /* mb_hello_main(magic, info) */
        pushl %eax
        call mb_hello_main
1:      cli
        hlt
        jmp 1b

        .bss
        .balign 16
stack:  .skip 16384
stack_top:

        .section .note.GNU-stack, "", @progbits
