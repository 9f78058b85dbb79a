/*
 * hvlab's paravirtual interface: the hypercalls a guest kernel running under
 * hv-paravirt makes instead of privileged instructions, and the page it
 * shares with the hypervisor.  Shared by the guest kernel (guestkernel/) and
 * the monitor (hv-paravirt/); docs/paravirt.md documents each call with its
 * Xen and lguest counterpart.
 *
 * Versioning: HVLAB_HYPERCALL_VERSION changes whenever a call's meaning or
 * an argument changes; calls are only ever added at the end.  A guest asks
 * with HVC_VERSION and refuses to run on a version it does not know.
 *
 * Making a hypercall (from virtual CPL 0 only):
 *     RAX = call number, arguments in RDI, RSI, RDX, R10, R8, R9
 *     `syscall`
 *     RAX = result: >= 0 success, < 0 a negated HV_E* error code
 *     RCX and R11 are clobbered (the instruction writes them), every other
 *     register is preserved.
 * The same `syscall` executed in virtual CPL 3 is the guest's OWN system
 * call: the hypervisor delivers it to the syscall entry the kernel
 * registered (HVC_SET_CALLBACKS), as Xen PV and PVM do.  Any privileged
 * instruction (cli, mov cr3, wrmsr, in/out, ...) in a paravirtual guest is
 * a bug and ends the guest.
 */
#ifndef HVLAB_HYPERCALL_H
#define HVLAB_HYPERCALL_H

#include <stdint.h>

#define HVLAB_HYPERCALL_VERSION 1u

enum hvlab_hypercall {
    HVC_VERSION = 0,           /* () -> HVLAB_HYPERCALL_VERSION                    */
    HVC_CONSOLE_WRITE = 1,     /* (gva buf, len) -> len written                   */
    HVC_SET_TIMER = 2,         /* (deadline_ns) one-shot event at shared-page time
                                  deadline_ns; 0 cancels                          */
    HVC_BLOCK = 3,             /* () unmask events and sleep until one arrives     */
    HVC_SHUTDOWN = 4,          /* (exit code) never returns                        */
    HVC_SET_CALLBACKS = 5,     /* (event_entry, syscall_entry)                     */
    HVC_SET_TRAP_TABLE = 6,    /* (gva of struct hvlab_trap_entry[], count)        */
    HVC_IRET = 7,              /* () return from an event, exception or syscall:
                                  pops the struct hvlab_pv_frame at RSP            */
    HVC_MMU_UPDATE = 8,        /* (gva of struct hvlab_mmu_update[], count) ->
                                  count applied; stops at the first refused one     */
    HVC_PIN_TABLE = 9,         /* (gpa, level 1..4) the page becomes a page table   */
    HVC_UNPIN_TABLE = 10,      /* (gpa) it becomes an ordinary page again           */
    HVC_NEW_BASEPTR = 11,      /* (gpa of a pinned level-4 table) switch address space */
    HVC_TLB_FLUSH = 12,        /* (va, HVLAB_FLUSH_*)                               */
    HVC_SET_KERNEL_STACK = 13, /* (rsp0) stack for events taken in user mode       */
    HVC_DEVICE_READ = 14,      /* (space, address, size) -> value                  */
    HVC_DEVICE_WRITE = 15,     /* (space, address, size, value)                    */
    HVC_QUEUE_NOTIFY = 16,     /* (virtio slot, queue index)                       */
    HVC_MULTICALL = 17,        /* (gva of struct hvlab_multicall[], count)          */
    HVC_GET_STATS = 18,        /* (gva of struct hvlab_pv_stats) exit counters     */
    HVC_EVENTS_PENDING = 19,   /* () deliver what became pending while masked       */
    HVC_COUNT
};

/* Error codes (returned negated in RAX). */
#define HV_EPERM    1   /* not allowed (e.g. a hypercall from user mode)          */
#define HV_ENOENT   2   /* no such thing (device, pinned table)                   */
#define HV_EFAULT   14  /* a guest address argument cannot be read or written     */
#define HV_EBUSY    16  /* still in use (unpin of the current base pointer)       */
#define HV_EINVAL   22  /* a malformed argument                                    */
#define HV_E2BIG    7   /* a batch longer than HVLAB_MAX_BATCH                    */
#define HV_ENOSYS   38  /* unknown hypercall number                               */
#define HV_EXDEV    18  /* an entry refused by the page-table rules                */

#define HVLAB_MAX_BATCH 1024u

/* HVC_SET_TRAP_TABLE: like Xen's trap_info.  flags bit 0: keep events
 * unmasked on entry (a trap gate); else masked (an interrupt gate). */
struct hvlab_trap_entry {
    uint32_t vector;             /* 0..31                                     */
    uint32_t flags;
    uint64_t handler;            /* guest-virtual entry point                 */
};
#define HVLAB_TRAP_KEEP_EVENTS 1u

/* What the hypervisor pushes on the guest kernel stack when it delivers an
 * exception, an event or a user system call (lowest address first) — the
 * hardware's 64-bit interrupt frame, so one set of entry stubs serves both
 * platforms.  `error` is present only for exceptions that have one (and the
 * handler pops it before HVC_IRET, as after iretq).  HVC_IRET pops rip, cs,
 * rflags, rsp, ss; rflags.IF there sets the event mask. */
struct hvlab_pv_frame {
    uint64_t rip, cs, rflags, rsp, ss;
};

/* HVC_MMU_UPDATE: like Xen's mmu_update.  `ptr` is the guest-physical
 * address of the page-table entry (8-byte aligned, in a pinned table),
 * `val` its new value.  Rules (docs/paravirt.md): the entry's target must
 * be guest RAM; a writable leaf must not map a pinned table; a non-leaf
 * entry must point at a table pinned one level lower; nothing may map the
 * hypervisor hole. */
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

/* HVC_MULTICALL: several hypercalls in one exit (Xen's multicall). */
struct hvlab_multicall {
    uint64_t nr;
    uint64_t args[6];
    int64_t result;              /* written by the hypervisor                 */
};

/*
 * The shared page (one per vCPU), at HVLAB_PV_SHARED_PADDR: read and written
 * by both sides without an exit.
 *   event_mask     1: events are masked (the guest's cli); 0: unmasked.
 *   event_pending  set by the hypervisor when an event arrives while masked;
 *                  the guest, on unmasking, calls HVC_EVENTS_PENDING only if
 *                  it is set — so masking and unmasking cost no exit.
 *   time           TSC-to-time scale: ns = ((tsc - tsc_base) * mul) >> shift
 *                  + ns_base, so the guest reads time with rdtsc, no exit.
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
    uint64_t reserved1[8];
};

#define HVLAB_PV_SHARED_PADDR 0xF000ull /* in the monitor's scratch area */

/* HVC_GET_STATS. */
struct hvlab_pv_stats {
    uint64_t hypercalls[HVC_COUNT];  /* per call number, since boot           */
    uint64_t exits;                  /* every exit to the hypervisor           */
    uint64_t events;                 /* events delivered                       */
};

#endif
