/*
 * layout.h - the guest kernel's fixed numbers: segment selectors, interrupt
 * vectors and the virtual address layout.  Only #defines, so that both C and
 * assembly (.S) files include it.  linker.ld repeats USER_TEXT_VA and
 * KERNEL_PADDR (ld cannot include C headers); user_init() checks they agree.
 *
 * Virtual address layout (4-level paging, 512 GiB per PML4 slot):
 *
 *   PML4[0]   0x0000_0000_0000 .. 0x007f_ffff_ffff   kernel, supervisor only
 *               [0, RAM)            identity map of RAM (page 0 left unmapped)
 *               0xfee0_0000         xAPIC registers, uncached (only if xAPIC)
 *               0x40_0000_0000      VMAP: kernel test/scratch mappings (4 KiB)
 *   PML4[1]   0x0080_0000_0000 .. 0x00ff_ffff_ffff   user region, one per
 *               address space (user text, user data, user stack)
 *   PML4[254..255] 0x7f00_0000_0000 ..                the hypervisor hole:
 *               never mapped (abi/hvlab_abi.h HVLAB_HOLE_BASE/END)
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define KERNEL_PADDR      0x100000      /* == HVLAB_KERNEL_PADDR */
#define PAGE_SIZE         4096
#define PAGE_SHIFT        12

/*
 * GDT selectors.  The order is dictated by SYSCALL/SYSRET (Intel SDM Vol. 2B
 * "SYSRET", AMD APM Vol. 2 6.1.1): SYSCALL loads CS = STAR[47:32] and
 * SS = STAR[47:32] + 8; 64-bit SYSRET loads SS = STAR[63:48] + 8 and
 * CS = STAR[63:48] + 16, both with RPL 3.  With STAR[63:48] = 0x10 the user
 * data segment must sit at 0x18 and the user code segment at 0x20.
 */
#define GDT_KERNEL_CS     0x08          /* == HVLAB_ENTRY_CS */
#define GDT_KERNEL_DS     0x10          /* == HVLAB_ENTRY_DS */
#define GDT_USER_DS       0x1b          /* 0x18 | RPL 3 */
#define GDT_USER_CS       0x23          /* 0x20 | RPL 3 */
#define GDT_TSS           0x28          /* 16-byte system descriptor */
#define STAR_SYSRET_BASE  0x10          /* STAR[63:48] */

/* Interrupt vectors (0..31 are the CPU's exceptions). */
#define TIMER_VECTOR      0x20
#define SPURIOUS_VECTOR   0xff
#define SYSCALL_PSEUDO_VECTOR 0x100     /* marks a trap frame built by `syscall` */

/* Virtual addresses. */
#define VMAP_BASE         0x0000004000000000 /* kernel scratch mappings */
#define VMAP_END          0x0000004040000000 /* 1 GiB of it */
#define USER_BASE         0x0000008000000000 /* PML4[1] */
#define USER_END          0x0000010000000000
#define USER_TEXT_VA      0x0000008000000000 /* the .user section's VMA */
#define USER_DATA_VA      0x0000008000100000 /* one private data page */
#define USER_STACK_TOP    0x0000008000200000 /* stack page just below */

#define KERNEL_STACK_SIZE 16384

#endif
