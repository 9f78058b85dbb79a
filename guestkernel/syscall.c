/*
 * syscall.c - the guest kernel's system calls and the two gates into them.
 *
 * ==== System-call gates ====================================================
 * A ring-3 task never executes the gate instruction inline: it calls a tiny
 * stub in the user text whose address the kernel hands it in RDI at entry
 * (usercode.h user_syscall; the stubs are in user_gate.S).  The register
 * convention is the same for both gates (uapi.h): RAX = number, RDI, RSI,
 * RDX = arguments, result in RAX, everything else preserved except RCX/R11.
 *
 *   syscall gate (default)   `syscall; ret`.  SYSCALL loads CS/SS from
 *       MSR_STAR, RIP from MSR_LSTAR (syscall_entry), masks RFLAGS with
 *       MSR_SFMASK and saves RIP/RFLAGS in RCX/R11 (Intel SDM Vol. 2B
 *       "SYSCALL", AMD APM Vol. 3).  The kernel returns with SYSRETQ.
 *       Paravirtual platform: the same instruction in virtual ring 3 is
 *       bounced by the hypervisor to pv_syscall_entry (pv_entry.S) on the
 *       kernel stack, with the frame an exception would push (Xen PV and
 *       PVM do the same), and the kernel returns with HVC_IRET.
 *
 *   UD2 gate (fallback)      `ud2; ret`, used when the boot info sets
 *       HVLAB_QUIRK_SYSCALL_BROKEN (or the command line says
 *       quirk-syscall-gate).  On the kvm_pvm backend `syscall` from ring 3
 *       stays at CPL 3 and `int 0x80` raises #UD, but exceptions do reach the
 *       guest IDT.  UD2 raises #UD (vector 6) through the IDT with a stack
 *       switch to TSS.RSP0; the #UD handler treats it as a system call if and
 *       only if
 *           the trap came from CPL 3 (CS.RPL == 3)  and
 *           RIP == the address of the UD2 in user_gate_ud2,
 *       which lives in the kernel-provided, read-only user text, so a task
 *       cannot forge another "gate".  The handler runs the system call on the
 *       trap frame, stores the result in the frame's RAX, sets RIP += 2 (the
 *       length of UD2, 0F 0B) and returns with IRETQ to the stub's RET.  Any
 *       other #UD from ring 3 kills the task as usual.
 * ==========================================================================
 */
#include "kernel.h"
#include "native.h"
#include "task.h"
#include "bench.h"

void syscall_from_user(struct trap_frame *f);

/* The native platform's syscall_setup: the SYSCALL MSRs. */
void native_syscall_setup(void)
{
    uint64_t star = ((uint64_t)STAR_SYSRET_BASE << 48) | ((uint64_t)GDT_KERNEL_CS << 32);

    native_wrmsr(MSR_STAR, star);
    native_wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    /* In the kernel: interrupts off (until it re-enables them), DF clear as
     * the C ABI wants, no single-stepping, no AC, IOPL 0, NT clear. */
    native_wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC |
                             RFLAGS_IOPL | RFLAGS_NT);
    native_wrmsr(MSR_EFER, native_rdmsr(MSR_EFER) | EFER_SCE);
}

/* Native: the MSRs above.  Paravirt: the hypervisor bounces a ring-3
 * `syscall` to the entry registered with HVC_SET_CALLBACKS (pv.c). */
void syscall_init(void)
{
    platform->syscall_setup();
}

const char *syscall_gate_name(void)
{
    return quirk(HVLAB_QUIRK_SYSCALL_BROKEN) ? "ud2 gate" : "syscall";
}

/* The buffer must lie entirely inside the user region (no wrap-around). */
static bool user_range_ok(uint64_t addr, uint64_t len)
{
    return addr >= USER_BASE && addr < USER_END && len <= USER_END - addr;
}

static int64_t sys_write(uint64_t buf, uint64_t len)
{
    char chunk[128];

    if (!user_range_ok(buf, len))
        return -EFAULT;
    for (uint64_t done = 0; done < len;) {
        uint64_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
        /* The range is user memory, but a page may be unmapped: copy with
         * an exception-table fixup rather than dereference it. */
        if (copy_from_user(chunk, buf + done, n) != 0)
            return -EFAULT;
        platform->console_write(chunk, n);
        done += n;
    }
    return (int64_t)len;
}

int64_t syscall_dispatch(struct trap_frame *f)
{
    switch (f->rax) {
    case SYS_EXIT:
        task_exit((int64_t)f->rdi);
    case SYS_WRITE:
        return sys_write(f->rdi, f->rsi);
    case SYS_GETPID:
        return current_task->pid;
    case SYS_BENCH_MARK:
        return bench_user_mark(f->rdi, f->rsi, f->rdx);
    default:
        return -ENOSYS;
    }
}

/* From syscall_entry (user_entry.S). */
void syscall_from_user(struct trap_frame *f)
{
    f->rax = (uint64_t)syscall_dispatch(f);
}
