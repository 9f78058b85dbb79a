/*
 * entry.S - the 64-bit entry point (the ELF e_entry) used by every hvlab
 * monitor.  The state we rely on is the one abi/hvlab_abi.h promises
 * ("64-bit entry state"):
 *   - 64-bit mode, CPL 0, RFLAGS = 0x2 (interrupts off, DF = 0);
 *   - paging on, CR3 = monitor tables identity-mapping [0, 4 GiB), so the
 *     kernel (linked at its physical address) runs where it was loaded;
 *   - RDI = boot info physical address, RSI = HVLAB_BOOT_MAGIC;
 *   - RSP = a small monitor stack in the scratch area.
 * We use nothing else of the monitor's (its GDT, TSS and page tables are
 * replaced during init), and switch to the kernel's own stack at once.
 */
#include "layout.h"

        .section .text.entry, "ax"
        .code64
        .globl _start
        .type _start, @function
_start:
        /* RDI and RSI stay untouched: they are kernel_entry64's arguments. */
        leaq    kernel_stack_top(%rip), %rsp
        xorl    %ebp, %ebp              /* end of the frame-pointer chain */
        cld
        call    kernel_entry64          /* never returns */
1:      cli
        hlt
        jmp     1b
        .size _start, . - _start

/* The boot stack, in BSS: loaders zero-fill BSS, the kernel never clears it. */
        .section .bss.stack, "aw", @nobits
        .balign 4096
        .globl kernel_stack, kernel_stack_top
kernel_stack:
        .skip   KERNEL_STACK_SIZE
kernel_stack_top:
