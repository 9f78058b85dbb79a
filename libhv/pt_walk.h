/*
 * Software walk of the guest's x86-64 4-level page tables, as the CPU does it.
 *
 * The trap-and-emulate monitor shadows the guest's page tables: on a host
 * page fault it must translate the guest-virtual address through the
 * GUEST's tables (in guest RAM), decide whether the access is allowed, set
 * the Accessed/Dirty flags the CPU would set, and then either install a host
 * mapping or inject a guest #PF with the error code the CPU would produce.
 * pt_walk() does exactly that and nothing else: it is pure (all the CPU
 * state it needs comes in struct pt_walk_ctx, no globals) and touches guest
 * RAM only through the bounds-checked guestmem accessors.
 *
 * References are to the Intel SDM Vol. 3A, chapter 4:
 *   §4.5   4-level paging; tables 4-15 (PML4E), 4-16 (PDPTE, 1 GiB page),
 *          4-17 (PDPTE -> PD), 4-18 (PDE, 2 MiB page), 4-19 (PDE -> PT),
 *          4-20 (PTE)
 *   §4.6   access rights (U/S, R/W, XD; CR0.WP, CR4.SMEP, CR4.SMAP)
 *   §4.7   page-fault error code
 *   §4.8   accessed and dirty flags
 *
 * Not modelled: 5-level paging (LA57), protection keys (CR4.PKE / PKRU,
 * error-code bit 5), shadow stacks, SGX, and *implicit* supervisor accesses
 * (descriptor-table and TSS reads, which SMAP checks whatever RFLAGS.AC is:
 * the caller walks those with ctx.ac = false).
 */
#ifndef LIBHV_PT_WALK_H
#define LIBHV_PT_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libhv/guestmem.h"

/* The guest CPU state the walk depends on. Zero-initialised fields mean:
 * WP/NXE/SMEP/SMAP off, MAXPHYADDR 48, 1 GiB pages supported. */
struct pt_walk_ctx {
    uint64_t cr3;         /* bits 51:12 locate the PML4; bits 11:0 (PCID/PWT/PCD)
                             and 63:52 are ignored; bits 51:MAXPHYADDR set in
                             CR3 make the walk end with `rule` (MOV CR3 would
                             have #GP'd: only a monitor bug gets here)          */
    bool wp;              /* CR0.WP: supervisor writes honour R/W              */
    bool nxe;             /* EFER.NXE: bit 63 is XD, not reserved              */
    bool smep;            /* CR4.SMEP: no supervisor fetch from user pages     */
    bool smap;            /* CR4.SMAP: no supervisor data access to user pages */
    bool ac;              /* RFLAGS.AC: with SMAP, allows explicit supervisor
                             data accesses to user pages (§4.6.1)              */
    bool no_1g_pages;     /* CPUID.80000001H:EDX.Page1GB = 0: PS in a PDPTE is
                             then a reserved bit                               */
    unsigned maxphyaddr;  /* guest MAXPHYADDR; 0 means 48; clamped to 32..52   */
};

enum pt_access { PT_READ = 0, PT_WRITE = 1, PT_FETCH = 2 };

/* What pt_walk() returns (also in result.status). */
enum pt_walk_status {
    PT_WALK_OK = 0,     /* translated and allowed: result.gpa etc. are valid            */
    PT_WALK_PF = 1,     /* inject #PF: error code result.pf_error, CR2 = the va          */
    PT_WALK_GP = 2,     /* non-canonical va: the CPU raises #GP(0) (#SS(0) for a stack
                           access: the caller knows which), never a #PF (SDM Vol. 1
                           §3.3.7.1); pf_error = 0, no guest memory read                 */
    PT_WALK_BAD = 3,    /* the guest's tables point outside guest RAM: result.rule says
                           why; the monitor ends the guest (pt_walk_format_rule)         */
    PT_WALK_RETRY = 4,  /* the guest kept changing an entry while the walk set its A/D
                           flags: nothing usable; resume the guest, the access faults
                           again (only possible with another vCPU writing the tables)   */
};

/* pte_gpa[] / pte[] slot for a level that the walk did not reach. */
#define PT_NO_GPA UINT64_MAX

struct pt_walk_result {
    enum pt_walk_status status;
    bool ok;                  /* status == PT_WALK_OK                                  */
    uint64_t gpa;             /* guest-physical address of the byte at va              */
    uint64_t page_gpa;        /* the guest page containing it ...                      */
    uint64_t page_size;       /* ... 4 KiB, 2 MiB or 1 GiB                              */
    bool in_ram;              /* gpa is guest RAM (false: MMIO or nothing, for the bus) */
    /* Effective rights of the page, combined over every level used (§4.6):
     * writable = R/W=1 at all levels, user = U/S=1 at all levels,
     * executable = no XD at any level (always true when !nxe).  These are
     * the entries' rights, before CR0.WP / SMEP / SMAP are applied to a
     * particular access.  Valid for PT_WALK_OK and for a #PF with P=1 and
     * RSVD=0 (a protection violation). */
    bool writable, user, executable;
    bool dirty;               /* the leaf's D flag after the walk (and after set_ad)  */
    uint32_t pf_error;        /* PT_WALK_PF: the #PF error code (PF_* bits, §4.7)     */
    int level;                /* level where the walk ended: 4 = PML4E .. 1 = PTE;
                                 0 when no entry was read (non-canonical, bad CR3)    */
    /* Where each level's entry lives and its value as read (after A/D),
     * indexed by level - 1: pte_gpa[3] is the PML4E, pte_gpa[0] the PTE.
     * PT_NO_GPA / 0 for levels not reached.  The monitor write-protects the
     * pages holding them to keep its shadow tables in sync. */
    uint64_t pte_gpa[4];
    uint64_t pte[4];
    /* PT_WALK_BAD: a constant reason, and the offending GPAs. NULL otherwise. */
    const char *rule;
    uint64_t rule_entry_gpa;  /* the entry (CR3 itself: PT_NO_GPA)                    */
    uint64_t rule_target_gpa; /* the table it points to                               */
};

/*
 * Translates va for an access of kind acc, made from user mode (CPL 3) when
 * user_mode, else supervisor mode.  When set_ad, a successful walk sets the
 * Accessed flag in every entry it used and, for a write, the Dirty flag in
 * the leaf, as the CPU would; with set_ad false guest memory is only read
 * (a probe, e.g. for the monitor's own accesses or a debugger).
 *
 * A/D policy: the flags are set only when the translation succeeds and the
 * access is allowed (PT_WALK_OK).  §4.8: the CPU sets A in the entries it
 * "uses as part of linear-address translation", and D on "a write to a
 * linear address"; a faulted write is no write, so D is never set on a
 * fault (that part is architectural).  Whether real CPUs also set A in the
 * upper levels of a walk that then faults is model-specific (paging-
 * structure caches, speculative walks, §4.10.3) and the guest cannot rely
 * on either outcome; like KVM's emulated walker we write nothing on a
 * fault, so a fault never modifies the guest's tables.  The updates use
 * compare-and-exchange on the entry (the CPU's locked update): if another
 * writer changed the entry since it was read, the whole walk restarts.
 *
 * Each entry is read once and only that copy is used (guestmem.h).
 *
 * Returns the status (also in out->status); -1 when an argument is NULL.
 */
int pt_walk(struct guest_mem *gm, const struct pt_walk_ctx *ctx, uint64_t va,
            enum pt_access acc, bool user_mode, bool set_ad, struct pt_walk_result *out);

/* True when va is canonical for 4-level paging (bits 63:47 all equal). */
bool pt_va_canonical(uint64_t va);

/* Formats a PT_WALK_BAD result as one line for the monitor's exit message,
 * e.g. "page-table entry at GPA 0x1ff8 (level 4) points outside guest RAM
 * (0x7ffff000)".  Returns what snprintf returns; "" for other statuses. */
int pt_walk_format_rule(const struct pt_walk_result *r, char *buf, size_t len);

#endif
