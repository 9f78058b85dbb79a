/*
 * pvh_entry.S - the 32-bit PVH entry, so that stock QEMU boots the kernel
 * with `qemu-system-x86_64 -kernel guestkernel.elf` (the x86/HVM direct boot
 * ABI, Xen's docs/misc/pvh.pandoc).
 *
 * QEMU finds the entry through an ELF note: name "Xen", type 18
 * (XEN_ELFNOTE_PHYS32_ENTRY), desc = the entry's physical address.  It then
 * enters here in 32-bit protected mode, paging off, interrupts off, flat 4 GiB
 * code/data segments, with EBX = physical address of struct hvm_start_info.
 *
 * To reach 64-bit mode (Intel SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode",
 * AMD APM Vol. 2 14.6): build page tables, set CR4.PAE, load CR3, set
 * EFER.LME, set CR0.PG (the CPU now sets EFER.LMA), then far-jump to a 64-bit
 * code segment.  The temporary tables identity-map the first 4 GiB with 2 MiB
 * pages, like the tables hvlab monitors build, so that both entries reach the
 * common C code in the same state.
 */
#include "layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/*
 * The note.  QEMU computes the position of desc as if the PT_NOTE segment's
 * alignment were the note alignment, so keep this section 4-byte aligned.
 */
        .section .note.Xen, "a", @note
        .balign 4
        .long   2f - 1f                 /* namesz */
        .long   4f - 3f                 /* descsz: 4 */
        .long   XEN_ELFNOTE_PHYS32_ENTRY
1:      .asciz  "Xen"
2:      .balign 4
3:      .long   pvh_start32
4:      .balign 4

        .section .text.entry, "ax"
        .code32
        .globl pvh_start32
        .type pvh_start32, @function
pvh_start32:
        cli
        cld
        movl    %ebx, %edi              /* hvm_start_info: becomes RDI */
        movl    $kernel_stack_top, %esp

        /* 1. Page tables (in BSS, zero-filled by the loader).
         *    PML4[0] -> PDPT, PDPT[0..3] -> four PDs, PD entries: 2 MiB pages.
         *    Entry bits: P (0), R/W (1), PS (7) = large page. */
        movl    $pvh_pdpt, %eax
        orl     $0x3, %eax
        movl    %eax, pvh_pml4

        movl    $pvh_pd, %eax
        orl     $0x3, %eax
        xorl    %ecx, %ecx
1:      movl    %eax, pvh_pdpt(,%ecx,8)
        addl    $4096, %eax
        incl    %ecx
        cmpl    $4, %ecx
        jb      1b

        movl    $0x83, %eax             /* low half: address | PS | R/W | P */
        xorl    %edx, %edx              /* high half: address bits 32+ */
        xorl    %ecx, %ecx
2:      movl    %eax, pvh_pd(,%ecx,8)
        movl    %edx, pvh_pd+4(,%ecx,8)
        addl    $0x200000, %eax
        adcl    $0, %edx
        incl    %ecx
        cmpl    $2048, %ecx
        jb      2b

        /* 2. CR4.PAE (bit 5): 64-bit paging is PAE paging with four levels. */
        movl    %cr4, %eax
        orl     $(1 << 5), %eax
        movl    %eax, %cr4

        /* 3. CR3 = the PML4. */
        movl    $pvh_pml4, %eax
        movl    %eax, %cr3

        /* 4. EFER: LME (bit 8) and SCE (bit 0, SYSCALL); NXE (bit 11) only
         *    if CPUID.80000001h:EDX.NX[20] says the CPU has it (setting an
         *    unsupported EFER bit is a #GP). */
        movl    $0x80000001, %eax
        cpuid
        xorl    %esi, %esi
        btl     $20, %edx
        jnc     3f
        movl    $(1 << 11), %esi
3:      movl    $0xc0000080, %ecx
        rdmsr
        orl     $((1 << 8) | (1 << 0)), %eax
        orl     %esi, %eax
        wrmsr

        /* 5. CR0: PG (31), WP (16: ring 0 honours read-only pages), NE (5),
         *    ET (4), MP (1), PE (0) - the value hvlab monitors use. */
        movl    %cr0, %eax
        orl     $0x80010033, %eax
        movl    %eax, %cr0

        /* 6. Now in IA-32e compatibility mode; load a GDT with a 64-bit code
         *    segment and jump to it. */
        lgdt    pvh_gdt_ptr
        ljmp    $GDT_KERNEL_CS, $pvh_start64
        .size pvh_start32, . - pvh_start32

        .code64
pvh_start64:
        movl    $GDT_KERNEL_DS, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs
        /* The upper halves of the GPRs are undefined after the switch from
         * 32-bit mode (SDM Vol. 1 3.4.1.1): zero-extend the pointer. */
        movl    %edi, %edi
        leaq    kernel_stack_top(%rip), %rsp
        xorl    %ebp, %ebp
        call    pvh_main                /* never returns */
1:      cli
        hlt
        jmp     1b

/* Temporary GDT: null, 64-bit code at GDT_KERNEL_CS, data at GDT_KERNEL_DS.
 * gdt.c installs the real one. */
        .section .rodata
        .balign 8
pvh_gdt:
        .quad   0
        .quad   0x00af9a000000ffff      /* code: P, DPL 0, exec/read, L=1 */
        .quad   0x00cf92000000ffff      /* data: P, DPL 0, read/write */
pvh_gdt_end:
pvh_gdt_ptr:
        .word   pvh_gdt_end - pvh_gdt - 1
        .long   pvh_gdt

        .section .bss.pvh, "aw", @nobits
        .balign 4096
pvh_pml4:
        .skip   4096
pvh_pdpt:
        .skip   4096
pvh_pd:
        .skip   4 * 4096
