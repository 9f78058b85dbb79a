/*
 * The hypercall table (lguest's hypercalls.c, Xen's hypercall_table).
 *
 * A hypercall is the guest kernel's `syscall` at virtual CPL 0: the ring-3
 * engine stops the child before the host kernel sees it (PTRACE_SYSEMU), and
 * exits.c hands it here with the registers as the guest left them: RAX the
 * call number, RDI RSI RDX R10 R8 R9 the arguments (abi/hvlab_hypercall.h).
 *
 * Every argument is the guest's and untrusted: addresses are translated
 * through the guest's own page tables (page_tables.c gva_*: never a host
 * pointer, never a page table written for the guest), lengths and counts
 * are bounded before anything is copied, and a bad one returns a negated
 * HV_E* code in RAX.  Only what the guest cannot recover from ends it.
 */
#include "hv-paravirt/pv.h"

#include <stdio.h>
#include <string.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"
#include "libhv/devices.h"
#include "libhv/virtio_mmio.h"

typedef int64_t (*hypercall_fn)(struct pv_vcpu *v, const uint64_t a[6]);

static bool guest_code_address(uint64_t va)
{
    return va < HVLAB_HOLE_BASE;
}

/* ---- console, time, idle, shutdown ----------------------------------------------- */

static int64_t hc_version(struct pv_vcpu *v, const uint64_t a[6])
{
    (void)v, (void)a;
    return HVLAB_HYPERCALL_VERSION;
}

static int64_t hc_console_write(struct pv_vcpu *v, const uint64_t a[6])
{
    char buf[HVLAB_MAX_CONSOLE];
    uint64_t len = a[1];
    if (len > sizeof(buf))
        return -HV_E2BIG;
    if (gva_read(v, a[0], buf, len))
        return -HV_EFAULT;
    /* Where the native guest's UART bytes go, one port exit each: here one
     * hypercall carries the whole line. */
    console_output(buf, len);
    return (int64_t)len;
}

static int64_t hc_set_timer(struct pv_vcpu *v, const uint64_t a[6])
{
    timer_set(v, a[0]);
    return 0;
}

static int64_t hc_block(struct pv_vcpu *v, const uint64_t a[6])
{
    (void)a;
    return pv_block(v);
}

static int64_t hc_shutdown(struct pv_vcpu *v, const uint64_t a[6])
{
    if (a[0] > HVLAB_GUEST_EXIT_MAX || a[0] == HV_STATUS_USAGE)
        return -HV_EINVAL;
    hv_guest_exit(v->m, (int)a[0]);
    return 0;
}

/* ---- callbacks, traps, return, kernel stack ---------------------------------------- */

static int64_t hc_set_callbacks(struct pv_vcpu *v, const uint64_t a[6])
{
    if (!guest_code_address(a[0]) || !guest_code_address(a[1]))
        return -HV_EINVAL;
    v->event_entry = a[0];
    v->syscall_entry = a[1];
    return 0;
}

static int64_t hc_set_trap_table(struct pv_vcpu *v, const uint64_t a[6])
{
    struct hvlab_trap_entry t[32];
    uint64_t count = a[1];
    if (count > 32)
        return -HV_E2BIG;
    if (gva_read(v, a[0], t, count * sizeof(t[0])))
        return -HV_EFAULT;
    for (uint64_t i = 0; i < count; i++)
        if (t[i].vector >= 32 || !guest_code_address(t[i].handler) ||
            (t[i].flags & ~HVLAB_TRAP_KEEP_EVENTS))
            return -HV_EINVAL;
    memset(v->trap_set, 0, sizeof(v->trap_set));
    for (uint64_t i = 0; i < count; i++) {
        v->traps[t[i].vector] = t[i];
        v->trap_set[t[i].vector] = true;
    }
    return 0;
}

static int64_t hc_iret(struct pv_vcpu *v, const uint64_t a[6])
{
    (void)a;
    return pv_iret(v);
}

static int64_t hc_set_kernel_stack(struct pv_vcpu *v, const uint64_t a[6])
{
    if (!guest_code_address(a[0]))
        return -HV_EINVAL;
    v->kernel_stack = a[0];
    return 0;
}

/* ---- paging ------------------------------------------------------------------------------ */

/* Xen's mmu_update: the batch is copied in chunks, each entry checked and
 * applied in order; the first refused one ends the call with its error. */
static int64_t hc_mmu_update(struct pv_vcpu *v, const uint64_t a[6])
{
    struct hvlab_mmu_update chunk[64];
    uint64_t count = a[1], done = 0, zero = 0;
    int64_t rc = 0;
    if (count > HVLAB_MAX_BATCH)
        return -HV_E2BIG;
    if (a[2] && gva_write(v, a[2], &zero, sizeof(zero)))
        return -HV_EFAULT;
    while (done < count && !rc) {
        uint64_t n = count - done < 64 ? count - done : 64;
        if (gva_read(v, a[0] + done * sizeof(chunk[0]), chunk, n * sizeof(chunk[0]))) {
            rc = -HV_EFAULT;
            break;
        }
        for (uint64_t i = 0; i < n && !rc; i++) {
            rc = pt_update(v, chunk[i].ptr, chunk[i].val);
            if (!rc)
                done++;
        }
    }
    if (a[2])
        gva_write(v, a[2], &done, sizeof(done));
    return rc ? rc : (int64_t)done;
}

static int64_t hc_pin_table(struct pv_vcpu *v, const uint64_t a[6])
{
    return pt_pin(v, a[0], a[1]);
}

static int64_t hc_unpin_table(struct pv_vcpu *v, const uint64_t a[6])
{
    return pt_unpin(v, a[0]);
}

static int64_t hc_new_baseptr(struct pv_vcpu *v, const uint64_t a[6])
{
    return pt_new_baseptr(v, a[0]);
}

/* Host mappings follow every accepted update at once (page_tables.c), so
 * there is never a stale translation to drop: the call only checks. */
static int64_t hc_tlb_flush(struct pv_vcpu *v, const uint64_t a[6])
{
    (void)v;
    return a[1] > HVLAB_FLUSH_ALL ? -HV_EINVAL : 0;
}

/* ---- devices --------------------------------------------------------------------------- */

static int64_t device_access(struct pv_vcpu *v, const uint64_t a[6], bool write)
{
    uint64_t space = a[0], addr = a[1], size = a[2], value = write ? a[3] : 0;
    if (space > HVLAB_SPACE_MMIO || (size != 1 && size != 2 && size != 4) ||
        (space == HVLAB_SPACE_PIO && addr > 0xffff))
        return -HV_EINVAL;
    enum hv_space s = space == HVLAB_SPACE_PIO ? HV_SPACE_PIO : HV_SPACE_MMIO;
    if (bus_access_uncounted(v->m, s, addr, write, (unsigned)size, &value))
        return -HV_ENOENT;
    return write ? 0 : (int64_t)value;
}

static int64_t hc_device_read(struct pv_vcpu *v, const uint64_t a[6])
{
    return device_access(v, a, false);
}

static int64_t hc_device_write(struct pv_vcpu *v, const uint64_t a[6])
{
    return device_access(v, a, true);
}

/* The paravirtual doorbell (Xen's event-channel send to a backend): the
 * notification the native driver gives with a trapped write to QueueNotify,
 * as one explicit call that needs no instruction decoding. */
static int64_t hc_queue_notify(struct pv_vcpu *v, const uint64_t a[6])
{
    if (a[0] >= HVLAB_VIRTIO_MMIO_SLOTS || a[1] > UINT32_MAX)
        return -HV_EINVAL;
    struct virtio_mmio *vm = v->m->virtio[a[0]];
    if (!vm)
        return -HV_ENOENT;
    return virtio_mmio_notify(vm, (unsigned)a[1]) ? -HV_EINVAL : 0;
}

/* ---- batches, statistics, events ------------------------------------------------------- */

static int64_t dispatch(struct pv_vcpu *v, uint64_t nr, const uint64_t a[6]);

static int64_t hc_multicall(struct pv_vcpu *v, const uint64_t a[6])
{
    struct hvlab_multicall calls[HVLAB_MAX_MULTICALL];
    uint64_t count = a[1];
    if (count > HVLAB_MAX_MULTICALL)
        return -HV_E2BIG;
    if (gva_read(v, a[0], calls, count * sizeof(calls[0])))
        return -HV_EFAULT;
    for (uint64_t i = 0; i < count && !v->m->stopped; i++) {
        uint64_t nr = calls[i].nr;
        bool control_flow = nr == HVC_IRET || nr == HVC_BLOCK || nr == HVC_SHUTDOWN ||
                            nr == HVC_MULTICALL;
        calls[i].result = control_flow ? -HV_EINVAL : dispatch(v, nr, calls[i].args);
    }
    if (gva_write(v, a[0], calls, count * sizeof(calls[0])))
        return -HV_EFAULT;
    return 0;
}

static int64_t hc_get_stats(struct pv_vcpu *v, const uint64_t a[6])
{
    struct hvlab_pv_stats st;
    memcpy(st.hypercalls, v->calls, sizeof(st.hypercalls));
    st.exits = v->exits;
    st.events = v->events;
    return gva_write(v, a[0], &st, sizeof(st)) ? -HV_EFAULT : 0;
}

/* Nothing to do here: the loop delivers a pending event (now unmasked)
 * before the guest runs again, on top of this call's return. */
static int64_t hc_events_pending(struct pv_vcpu *v, const uint64_t a[6])
{
    (void)v, (void)a;
    return 0;
}

/* ---- the table --------------------------------------------------------------------------- */

static const struct {
    const char *name;
    hypercall_fn fn;
} table[HVC_COUNT] = {
    [HVC_VERSION] = {"version", hc_version},
    [HVC_CONSOLE_WRITE] = {"console_write", hc_console_write},
    [HVC_SET_TIMER] = {"set_timer", hc_set_timer},
    [HVC_BLOCK] = {"block", hc_block},
    [HVC_SHUTDOWN] = {"shutdown", hc_shutdown},
    [HVC_SET_CALLBACKS] = {"set_callbacks", hc_set_callbacks},
    [HVC_SET_TRAP_TABLE] = {"set_trap_table", hc_set_trap_table},
    [HVC_IRET] = {"iret", hc_iret},
    [HVC_MMU_UPDATE] = {"mmu_update", hc_mmu_update},
    [HVC_PIN_TABLE] = {"pin_table", hc_pin_table},
    [HVC_UNPIN_TABLE] = {"unpin_table", hc_unpin_table},
    [HVC_NEW_BASEPTR] = {"new_baseptr", hc_new_baseptr},
    [HVC_TLB_FLUSH] = {"tlb_flush", hc_tlb_flush},
    [HVC_SET_KERNEL_STACK] = {"set_kernel_stack", hc_set_kernel_stack},
    [HVC_DEVICE_READ] = {"device_read", hc_device_read},
    [HVC_DEVICE_WRITE] = {"device_write", hc_device_write},
    [HVC_QUEUE_NOTIFY] = {"queue_notify", hc_queue_notify},
    [HVC_MULTICALL] = {"multicall", hc_multicall},
    [HVC_GET_STATS] = {"get_stats", hc_get_stats},
    [HVC_EVENTS_PENDING] = {"events_pending", hc_events_pending},
};

const char *hypercall_name(uint64_t nr)
{
    return nr < HVC_COUNT ? table[nr].name : "unknown";
}

void name_hypercalls(struct pv_vcpu *v)
{
    static char names[HVC_COUNT][48];
    for (unsigned nr = 0; nr < HVC_COUNT; nr++) {
        snprintf(names[nr], sizeof(names[nr]), "hypercall %s", table[nr].name);
        v->slot.hypercall[nr] = stats_reason(&v->m->stats, names[nr]);
    }
    v->slot.bad_hypercall = stats_reason(&v->m->stats, "hypercall with an unknown number");
}

static int64_t dispatch(struct pv_vcpu *v, uint64_t nr, const uint64_t a[6])
{
    if (nr >= HVC_COUNT)
        return -HV_ENOSYS;
    v->calls[nr]++;
    return table[nr].fn(v, a);
}

void hypercall(struct pv_vcpu *v)
{
    struct r3_regs *r = &v->regs;
    const uint64_t args[6] = {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9};
    uint64_t nr = r->rax;
    stats_inc(&v->m->stats, nr < HVC_COUNT ? v->slot.hypercall[nr] : v->slot.bad_hypercall);
    if (v->m->opt.trace)
        fprintf(stderr, "hv-paravirt: hypercall %s (%llu) 0x%llx 0x%llx 0x%llx\n",
                hypercall_name(nr), (unsigned long long)nr, (unsigned long long)args[0],
                (unsigned long long)args[1], (unsigned long long)args[2]);
    int64_t rc = dispatch(v, nr, args);
    /* A successful HVC_IRET has loaded RAX from its frame already. */
    if (!(nr == HVC_IRET && rc == 0))
        r->rax = (uint64_t)rc;
}
