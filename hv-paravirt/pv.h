/*
 * The paravirtual CPU of hv-paravirt.
 *
 * Like hv-trap-emulate, the guest kernel runs natively in CPU ring 3 of a
 * traced child process (libhv/r3_engine.h).  Unlike it, the guest KNOWS:
 * its paravirtual platform ops (guestkernel/pv.c) never execute a
 * privileged instruction but make hypercalls (abi/hvlab_hypercall.h), so
 * the monitor decodes nothing and emulates no instruction.  What it keeps
 * for the guest is small: the virtual privilege level, the callbacks and
 * trap table the kernel registered, the kernel stack for events from user
 * mode, a one-shot timer, and the state of direct paging (which pages are
 * page tables, and where they are linked).  The event mask — the virtual
 * interrupt flag — is not even here: it lives in the page shared with the
 * guest (struct hvlab_pv_shared), so that masking costs no exit.
 *
 * The files, in the order one exit meets them (lguest's layout):
 *   exits.c        the exit loop: r3_run(), then one handler per exit kind
 *   hypercalls.c   the hypercall table: argument checks, one function a call
 *   page_tables.c  direct paging: pin/unpin, the validated mmu_update batch,
 *                  the base pointer, host mappings kept equal to the
 *                  guest's tables eagerly; the monitor's own guest-virtual
 *                  accesses
 *   events.c       the shared page and its clock, the timer, delivery of
 *                  events, exceptions and user system calls; HVC_IRET
 */
#ifndef HV_PARAVIRT_PV_H
#define HV_PARAVIRT_PV_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/hvlab_hypercall.h"
#include "libhv/machine.h"
#include "libhv/r3_engine.h"
#include "libhv/r3_timer.h"

/* RFLAGS bits ring-3 code owns (the arithmetic flags, TF, DF); the guest's
 * IF is the shared page's event mask, and nothing else is virtual here. */
#define PV_RFLAGS_HOST_OWNED 0x0DD5ull
#define PV_RFLAGS_TF         (1ull << 8)

/* One 4 KiB frame of guest RAM, as direct paging sees it. */
struct pv_frame {
    uint8_t level;       /* pinned as a level-1..4 table; 0: an ordinary page */
    bool placed;         /* link_va is known (set on the first link)          */
    uint32_t links;      /* non-leaf entries of pinned tables pointing here   */
    uint32_t writable;   /* writable 4 KiB leaves of pinned tables mapping it */
    uint64_t link_va;    /* the guest-virtual address this table translates  */
};

/* Exit-statistics slots ("reasons" and "events", libhv/stats.h). */
struct pv_slots {
    unsigned hypercall[HVC_COUNT], bad_hypercall;
    unsigned page_fault, exception, privileged, user_syscall, kick, hole;
    unsigned event, device_event, mode_switch, host_map;
};

struct pv_vcpu {
    struct hv_machine *m;
    struct r3_regs regs;       /* GPRs, RIP, host-owned RFLAGS              */
    unsigned cpl;              /* virtual privilege: 0 kernel, 3 user        */
    struct hvlab_pv_shared *shared;

    /* what the guest kernel registered */
    uint64_t event_entry, syscall_entry, kernel_stack;
    struct hvlab_trap_entry traps[32];
    bool trap_set[32];

    /* time (events.c) */
    uint64_t tsc_khz;
    uint64_t timer_host_ns;    /* host CLOCK_MONOTONIC deadline; 0: none    */
    uint64_t timeout_ns;       /* --timeout, host time; 0: none              */

    /* direct paging (page_tables.c) */
    struct r3_child *child[2]; /* [0] kernel-mode process, [1] user-mode     */
    struct r3_config r3cfg;
    struct pv_frame *frames;
    uint64_t nframes;
    uint32_t *pinned_2m;       /* pinned tables per 2 MiB of RAM             */
    uint32_t *writable_2m;     /* writable 2 MiB leaves mapping that 2 MiB   */
    uint64_t base;             /* current level-4 table; 0: boot space       */

    /* HVC_GET_STATS */
    uint64_t calls[HVC_COUNT];
    uint64_t exits, events;
    struct pv_slots slot;
};

/* ---- page_tables.c ---- */
int pt_init(struct pv_vcpu *v, char *err, size_t errlen); /* 0, -1, R3_NOT_PERMITTED */
void pt_destroy(struct pv_vcpu *v);
struct r3_child *pt_current_child(struct pv_vcpu *v);
int64_t pt_pin(struct pv_vcpu *v, uint64_t gpa, uint64_t level);
int64_t pt_unpin(struct pv_vcpu *v, uint64_t gpa);
/* One entry of an HVC_MMU_UPDATE batch: 0 or a negated HV_E* error. */
int64_t pt_update(struct pv_vcpu *v, uint64_t ptr, uint64_t val);
int64_t pt_new_baseptr(struct pv_vcpu *v, uint64_t gpa);
/* The guest page-fault error code for a host fault at va (the guest's own
 * tables decide); -1 when the guest's tables allow the access (host and
 * guest disagree: a monitor bug, the guest was stopped). */
int64_t pt_fault_error(struct pv_vcpu *v, uint64_t va, uint32_t host_error);
/* The monitor's accesses to guest-virtual memory in kernel mode, through
 * the guest's current translation: 0, or -HV_EFAULT when a page is not
 * mapped (or not writable, or a page table) there. */
int gva_read(struct pv_vcpu *v, uint64_t va, void *dst, uint64_t len);
int gva_write(struct pv_vcpu *v, uint64_t va, const void *src, uint64_t len);
int gva_fetch(struct pv_vcpu *v, uint64_t va, void *dst, uint64_t len); /* at the CPL */

/* ---- events.c ---- */
void events_init(struct pv_vcpu *v);
uint64_t guest_now_ns(const struct pv_vcpu *v);
void timer_set(struct pv_vcpu *v, uint64_t deadline_ns);
void timer_poll(struct pv_vcpu *v);
void event_raise_device(struct pv_vcpu *v, unsigned vector); /* virtio -> event */        /* deadline passed? -> pending */
void deliver_pending_event(struct pv_vcpu *v);
void deliver_exception(struct pv_vcpu *v, unsigned vector, bool has_error, uint64_t error);
void deliver_user_syscall(struct pv_vcpu *v);
int64_t pv_iret(struct pv_vcpu *v);
int64_t pv_block(struct pv_vcpu *v);
void set_cpl(struct pv_vcpu *v, unsigned cpl);

/* ---- hypercalls.c ---- */
void name_hypercalls(struct pv_vcpu *v);
void hypercall(struct pv_vcpu *v);         /* the `syscall` at virtual CPL 0 */
const char *hypercall_name(uint64_t nr);

/* ---- exits.c ---- */
int run_guest(struct pv_vcpu *v);

#endif
