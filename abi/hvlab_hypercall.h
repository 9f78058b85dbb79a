/*
 * hvlab's paravirtual interface: the hypercalls a guest kernel running under
 * hv-paravirt makes instead of privileged instructions, and the page it
 * shares with the hypervisor.  Shared by the guest kernel (guestkernel/pv.c)
 * and the monitor (hv-paravirt/); docs/paravirt.md documents each call with
 * its errors and its Xen and lguest counterpart.
 *
 * Versioning: HVLAB_HYPERCALL_VERSION changes whenever a call's meaning or
 * an argument changes; calls are only ever added at the end.  A guest asks
 * with HVC_VERSION and refuses to run on a version it does not know.
 *
 * Making a hypercall (from virtual CPL 0 only):
 *     RAX = call number, arguments in RDI, RSI, RDX, R10, R8, R9
 *     `syscall`
 *     RAX = result: >= 0 success, < 0 a negated HV_E* error code
 *     RCX and R11 are clobbered (the instruction itself writes them: SDM
 *     Vol. 2B "SYSCALL"), every other register is preserved.
 * The same `syscall` executed in virtual CPL 3 is the guest's OWN system
 * call: the hypervisor delivers it to the syscall entry the kernel
 * registered (HVC_SET_CALLBACKS), as Xen PV and PVM do.  A privileged
 * instruction (cli, mov cr3, wrmsr, in/out, lgdt, iretq to ring 0, ...)
 * executed by a paravirtual guest kernel is a bug: hv-paravirt ends the
 * guest with "privileged instruction <mnemonic> at <rip> in a paravirtual
 * guest" (status 122).
 */
#ifndef HVLAB_HYPERCALL_H
#define HVLAB_HYPERCALL_H

#include <stdint.h>

#define HVLAB_HYPERCALL_VERSION 1u

enum hvlab_hypercall {
    HVC_VERSION = 0,           /* () -> HVLAB_HYPERCALL_VERSION                    */
    HVC_CONSOLE_WRITE = 1,     /* (gva buf, len <= 4096) -> len written           */
    HVC_SET_TIMER = 2,         /* (deadline_ns) one event when shared-page time
                                  reaches deadline_ns; 0 cancels; a deadline in
                                  the past fires at once                           */
    HVC_BLOCK = 3,             /* () unmask events and sleep until one arrives;
                                  the event is delivered before the call returns 0;
                                  with no timer armed nothing can wake the guest:
                                  it ends (status 121)                              */
    HVC_SHUTDOWN = 4,          /* (exit code 0..119, not 2) never returns          */
    HVC_SET_CALLBACKS = 5,     /* (event_entry, syscall_entry)                     */
    HVC_SET_TRAP_TABLE = 6,    /* (gva of struct hvlab_trap_entry[], count <= 32)
                                  replaces the whole table                         */
    HVC_IRET = 7,              /* () return from an event, exception or system call:
                                  pops the struct hvlab_iret_frame at RSP; does not
                                  return to the caller when it succeeds            */
    HVC_MMU_UPDATE = 8,        /* (gva of struct hvlab_mmu_update[], count,
                                  gva of a uint64_t for the number applied or 0)
                                  -> count; stops at the first refused entry and
                                  returns its error                                */
    HVC_PIN_TABLE = 9,         /* (gpa, level 1..4) the page becomes an EMPTY page
                                  table of that level (the hypervisor clears it);
                                  -HV_EBUSY if pinned already, -HV_EXDEV if a pinned
                                  table maps it writable (also through a 2 MiB
                                  page) or it is the shared page                    */
    HVC_UNPIN_TABLE = 10,      /* (gpa) it becomes an ordinary page again; its
                                  entries stay in it (readable, so the guest can
                                  free the tables below) but stop counting;
                                  -HV_EBUSY while a pinned table links it or it
                                  is the current base                               */
    HVC_NEW_BASEPTR = 11,      /* (gpa of a pinned level-4 table) switch address
                                  space (Xen's MMUEXT_NEW_BASEPTR, the CR3 load)   */
    HVC_TLB_FLUSH = 12,        /* (va, HVLAB_FLUSH_*)                               */
    HVC_SET_KERNEL_STACK = 13, /* (rsp0) stack for events taken in user mode       */
    HVC_DEVICE_READ = 14,      /* (space, address, size 1/2/4) -> value;
                                  -HV_ENOENT where no device answers               */
    HVC_DEVICE_WRITE = 15,     /* (space, address, size 1/2/4, value)              */
    HVC_QUEUE_NOTIFY = 16,     /* (virtio slot, queue index): serve the queue now;
                                  -HV_ENOENT: no device in the slot; -HV_EINVAL:
                                  no such slot or queue                            */
    HVC_MULTICALL = 17,        /* (gva of struct hvlab_multicall[], count <= 64)    */
    HVC_GET_STATS = 18,        /* (gva of struct hvlab_pv_stats) exit counters     */
    HVC_EVENTS_PENDING = 19,   /* () deliver what became pending while masked       */
    HVC_COUNT
};

/* Error codes (returned negated in RAX). */
#define HV_EPERM    1   /* not allowed here                                       */
#define HV_ENOENT   2   /* no such thing (device, pinned table)                   */
#define HV_E2BIG    7   /* a batch or buffer longer than the call allows          */
#define HV_EFAULT   14  /* a guest address argument cannot be read or written     */
#define HV_EBUSY    16  /* still in use (unpin of a linked table or the base)     */
#define HV_EXDEV    18  /* an entry or a pin refused by the page-table rules      */
#define HV_EINVAL   22  /* a malformed argument                                    */
#define HV_ENOSYS   38  /* unknown hypercall number                               */

#define HVLAB_MAX_BATCH     1024u /* HVC_MMU_UPDATE entries per call              */
#define HVLAB_MAX_MULTICALL 64u
#define HVLAB_MAX_CONSOLE   4096u

/*
 * Segment selectors of the virtual CPU.  A paravirtual guest loads no GDT
 * (the hypervisor owns segmentation, as in Xen PV's FLAT_KERNEL_CS); these
 * are the values frames carry, and the values HVC_IRET accepts: kernel
 * (CS, SS) or user (CS, SS), nothing else.  They equal the hvlab guest's own
 * GDT layout so that one set of entry stubs serves both platforms.
 */
#define HVLAB_PV_KERNEL_CS 0x08u
#define HVLAB_PV_KERNEL_SS 0x10u
#define HVLAB_PV_USER_SS   0x1bu
#define HVLAB_PV_USER_CS   0x23u

/* The control registers of the virtual CPU, fixed: long mode, paging with
 * write protection, NX.  A paravirtual guest reads them, never writes them
 * (CR3 is HVC_NEW_BASEPTR, CR2 is in the shared page). */
#define HVLAB_PV_CR0  0x80010033ull /* PE MP ET NE WP PG */
#define HVLAB_PV_CR4  0x00000020ull /* PAE               */
#define HVLAB_PV_EFER 0x00000d01ull /* SCE LME LMA NXE   */

/* HVC_SET_TRAP_TABLE: like Xen's trap_info.  flags bit 0: keep events
 * unmasked on entry (a trap gate); else masked (an interrupt gate).  A
 * vector without an entry ends the guest when it is raised (status 120). */
struct hvlab_trap_entry {
    uint32_t vector;             /* 0..31                                     */
    uint32_t flags;
    uint64_t handler;            /* guest-virtual entry point                 */
};
#define HVLAB_TRAP_KEEP_EVENTS 1u

/*
 * What the hypervisor pushes on the guest kernel stack when it delivers an
 * exception, an event or a user system call (lowest address first) — the
 * hardware's 64-bit interrupt frame (SDM Vol. 3A §6.14.2), so one set of
 * entry stubs serves both platforms: below it the error code for the
 * exceptions that have one (8, 10-14, 17, 21, 29, 30).  The stack is the
 * interrupted one (kernel mode) or the HVC_SET_KERNEL_STACK one (user mode),
 * aligned down to 16 bytes first.  rflags.IF in the frame is the event mask
 * before delivery, inverted; events are masked on entry unless the trap
 * entry says HVLAB_TRAP_KEEP_EVENTS.  For a system call from user mode RCX
 * and R11 hold the user RIP and RFLAGS, as the instruction left them.
 */
struct hvlab_pv_frame {
    uint64_t rip, cs, rflags, rsp, ss;
};

/* HVC_IRET pops this (Xen's iret frame): the registers the `syscall` of the
 * hypercall itself destroys (RCX, R11) or uses (RAX) come back from the
 * frame, then rip, cs, rflags, rsp, ss as iretq would load them.  rflags.IF
 * there sets the event mask (IF=1: unmasked). */
struct hvlab_iret_frame {
    uint64_t rax, r11, rcx;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* HVC_MMU_UPDATE: like Xen's mmu_update.  `ptr` is the guest-physical
 * address of the page-table entry (8-byte aligned, in a pinned table),
 * `val` its new value.  The rules (docs/paravirt.md):
 *   - a present entry points into guest RAM (a leaf: its whole page);
 *   - a writable leaf must not map a pinned table (page tables stay
 *     read-only to the guest: every change comes through this call);
 *   - a non-leaf entry points at a table pinned one level lower, which is
 *     linked at no other guest-virtual address; and it may only be written
 *     into a table that is itself in place (a level-4 table, or one already
 *     linked): trees are built top-down, so that the hypervisor always
 *     knows which addresses a table translates;
 *   - only level-2 entries may be large (2 MiB) pages; 1 GiB pages and the
 *     PAT bit are refused;
 *   - level-4 entries 254..511 stay empty: nothing maps the hypervisor hole
 *     (abi/hvlab_abi.h) or the upper half.
 * A refused entry returns -HV_EINVAL (malformed: checked first), -HV_EXDEV
 * (a rule) or -HV_ENOENT (ptr not in a pinned table); the entries before
 * it stay, and their number is written to the count pointer.  Apart from
 * that count, a refused call writes nothing into the guest's buffers. */
struct hvlab_mmu_update {
    uint64_t ptr;
    uint64_t val;
};

/* HVC_TLB_FLUSH flags. */
#define HVLAB_FLUSH_ONE 0u   /* the page containing va */
#define HVLAB_FLUSH_ALL 1u

/* HVC_DEVICE_READ/WRITE space. */
#define HVLAB_SPACE_PIO  0u
#define HVLAB_SPACE_MMIO 1u

/* HVC_MULTICALL: several hypercalls in one exit (Xen's multicall).  Calls
 * that change control flow (IRET, BLOCK, SHUTDOWN, MULTICALL) are refused
 * inside a batch with -HV_EINVAL in their result. */
struct hvlab_multicall {
    uint64_t nr;
    uint64_t args[6];
    int64_t result;              /* written by the hypervisor                 */
};

/*
 * The shared page (one per vCPU), at HVLAB_PV_SHARED_PADDR: read and written
 * by both sides without an exit (Xen's vcpu_info + shared_info).
 *   event_mask     1: events are masked (the guest's cli); 0: unmasked.
 *   event_pending  set by the hypervisor when an event arrives while masked;
 *                  the guest, on unmasking, calls HVC_EVENTS_PENDING only if
 *                  it is set — so masking and unmasking cost no exit.
 *   cr2            the faulting address of the last #PF delivered.
 *   event_sources  bit i: virtio-mmio slot i raised its interrupt (set by
 *                  the hypervisor with event_pending; the guest's event
 *                  handler clears the bits it serves with an atomic AND).
 *                  The timer has no bit: the handler compares the time.
 *   time           TSC-to-time scale: ns = ns_base +
 *                  (((tsc - tsc_base) * tsc_mul) >> tsc_shift), the product
 *                  taken in 128 bits; the guest reads time with rdtsc and no
 *                  exit.  HVC_SET_TIMER deadlines are in this time.  The
 *                  hypervisor sets these fields before the guest starts and
 *                  never changes them (one vCPU, one TSC: no version counter
 *                  as in Xen's pvclock is needed).
 */
struct hvlab_pv_shared {
    volatile uint8_t event_mask;
    volatile uint8_t event_pending;
    uint8_t reserved0[6];
    uint64_t tsc_base;
    uint64_t ns_base;
    uint32_t tsc_mul;
    uint32_t tsc_shift;
    uint64_t tsc_khz;
    volatile uint64_t cr2;
    volatile uint64_t event_sources;
    uint64_t reserved1[6];
};

#define HVLAB_PV_SHARED_PADDR 0xA000ull /* a scratch-area page (not the entry stack) */

/* HVC_GET_STATS. */
struct hvlab_pv_stats {
    uint64_t hypercalls[HVC_COUNT];  /* per call number, since boot (calls
                                        inside a multicall included)          */
    uint64_t exits;                  /* every exit to the hypervisor,
                                        this call's own included              */
    uint64_t events;                 /* events delivered                       */
};

#endif
