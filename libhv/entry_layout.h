/*
 * The guest-memory side of the hvlab 64-bit entry state (abi/hvlab_abi.h):
 * identity page tables, a GDT and a TSS that the monitor writes into the
 * scratch area before the first instruction.  Every monitor builds the same
 * structures here; each then loads the registers its own way (KVM_SET_SREGS
 * in hv-hwassist, the virtual CPU in hv-trap-emulate).
 */
#ifndef LIBHV_ENTRY_LAYOUT_H
#define LIBHV_ENTRY_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"
#include "libhv/machine.h"

/* The control registers of the 64-bit entry state. */
#define ENTRY_CR0  (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG)
#define ENTRY_CR4  CR4_PAE
#define ENTRY_EFER (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

/* Where the structures went, for the monitor's registers. */
struct entry_layout {
    uint64_t cr3;                /* PML4 of the identity map (0 without one) */
    uint64_t gdt_base;
    uint16_t gdt_limit;
    uint16_t tr_selector;        /* a 64-bit TSS descriptor in that GDT   */
    uint64_t tss_base;
    uint32_t tss_limit;
    uint64_t rsp;                /* a small stack at the end of scratch   */
};

/* Long mode: identity map of [0, 4 GiB) in 2 MiB pages, GDT with a 64-bit
 * code segment, a data segment and a TSS.  0, or HV_STATUS_MONITOR after a
 * message when guest RAM is too small for the scratch area. */
int entry_build_long_mode(struct hv_machine *m, struct entry_layout *out);

/* 32-bit protected mode (Multiboot): GDT with a 32-bit code segment and a
 * data segment, no page tables. */
int entry_build_protected_mode(struct hv_machine *m, struct entry_layout *out);

#endif
