/*
 * The ring-3 engine's run loop: guest registers in, PTRACE_SYSEMU, one exit
 * out.  No signal a guest causes is ever delivered to it; no `syscall` or
 * `int $0x80` it executes is ever performed (SYSEMU skips it; seccomp would
 * kill the process if one got through).
 *
 * Fault details.  PTRACE_GETSIGINFO gives the signal, si_code and si_addr but
 * not the x86 vector or error code.  By default (precise mode) the engine
 * lets SIGSEGV/SIGBUS reach the stub's handler, on a signal stack in the
 * control memfd; the handler is a single int3, and the monitor reads trapno,
 * error code and CR2 from the kernel's sigcontext in its own mapping of that
 * memfd (one more stop).  With fast_faults they are derived from siginfo:
 * trapno 14 for SEGV_MAPERR/ACCERR/PKUERR (error code U, P, PK only), 13 for
 * SI_KERNEL (error code 0).  SIGILL, SIGTRAP, SIGFPE always take the fast
 * path: their vector follows from the signal.
 *
 * `int $0x80` is reported as R3_EXIT_INT80 whichever way the host treats it:
 * a 32-bit syscall (SYSEMU stop, arch AUDIT_ARCH_I386 from
 * PTRACE_GET_SYSCALL_INFO) or a #GP (hosts without an int 0x80 gate); both
 * leave rip past the instruction and rax as the guest set it.
 */
#include "libhv/r3_priv.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <linux/audit.h>

#include "abi/hvlab_abi.h"

#define PF_P 1u
#define PF_U 4u
#define PF_PK 0x20u

const char *r3_exit_kind_name(enum r3_exit_kind k)
{
    switch (k) {
    case R3_EXIT_FAULT: return "fault";
    case R3_EXIT_SYSCALL: return "syscall";
    case R3_EXIT_INT80: return "int80";
    case R3_EXIT_HOLE: return "hole";
    case R3_EXIT_INTERRUPT: return "interrupt";
    case R3_EXIT_DEAD: return "dead";
    }
    return "?";
}

static void to_user(const struct r3_regs *g, const struct user_regs_struct *tmpl,
                     struct user_regs_struct *u)
{
    *u = *tmpl; /* cs, ss, selectors of the stub */
    u->rax = g->rax; u->rbx = g->rbx; u->rcx = g->rcx; u->rdx = g->rdx;
    u->rsi = g->rsi; u->rdi = g->rdi; u->rbp = g->rbp; u->rsp = g->rsp;
    u->r8 = g->r8; u->r9 = g->r9; u->r10 = g->r10; u->r11 = g->r11;
    u->r12 = g->r12; u->r13 = g->r13; u->r14 = g->r14; u->r15 = g->r15;
    u->rip = g->rip; u->eflags = g->rflags;
    u->fs_base = g->fs_base; u->gs_base = g->gs_base;
    u->orig_rax = (unsigned long long)-1; /* never restart a "syscall" */
}

static void from_user(const struct user_regs_struct *u, struct r3_regs *g)
{
    g->rax = u->rax; g->rbx = u->rbx; g->rcx = u->rcx; g->rdx = u->rdx;
    g->rsi = u->rsi; g->rdi = u->rdi; g->rbp = u->rbp; g->rsp = u->rsp;
    g->r8 = u->r8; g->r9 = u->r9; g->r10 = u->r10; g->r11 = u->r11;
    g->r12 = u->r12; g->r13 = u->r13; g->r14 = u->r14; g->r15 = u->r15;
    g->rip = u->rip; g->rflags = u->eflags;
    g->fs_base = u->fs_base; g->gs_base = u->gs_base;
}

static void fast_fault(struct r3_exit *ex, const siginfo_t *si)
{
    ex->precise = false;
    ex->trapno = -1;
    ex->error_code = 0;
    ex->fault_addr = (uint64_t)(uintptr_t)si->si_addr;
    switch (si->si_signo) {
    case SIGSEGV:
        if (si->si_code == SEGV_MAPERR)
            ex->trapno = 14, ex->error_code = PF_U;
        else if (si->si_code == SEGV_ACCERR)
            ex->trapno = 14, ex->error_code = PF_U | PF_P;
        else if (si->si_code == SEGV_PKUERR)
            ex->trapno = 14, ex->error_code = PF_U | PF_P | PF_PK;
        else if (si->si_code == SI_KERNEL)
            ex->trapno = 13;
        break;
    case SIGBUS:
        if (si->si_code == BUS_ADRALN)
            ex->trapno = 17;
        else if (si->si_code == BUS_ADRERR)
            ex->trapno = 14, ex->error_code = PF_U | PF_P;
        break;
    case SIGILL:
        ex->trapno = 6;
        ex->precise = true;
        break;
    case SIGTRAP:
        ex->trapno = si->si_code == SI_KERNEL ? 3 : 1;
        ex->precise = true;
        break;
    case SIGFPE:
        ex->trapno = si->si_code == FPE_INTDIV || si->si_code == FPE_INTOVF ? 0 : 16;
        ex->precise = ex->trapno == 0;
        break;
    }
}

/* Lets the stub's handler take the signal and reads the kernel's frame.
 * 0 (ex filled in), 1 (fall back to fast: ex untouched), -ESRCH. */
static int precise_fault(struct r3_child *c, int sig, struct r3_exit *ex)
{
    if (ptrace(PTRACE_SYSEMU, c->pid, 0, sig))
        return 1;
    for (;;) {
        int st;
        int r = r3_wait(c, &st);
        if (r)
            return r;
        int s = WSTOPSIG(st);
        if (s == SIGTRAP)
            break;
        if (s == SIGSEGV || s == SIGBUS || s == (SIGTRAP | 0x80))
            return -EPROTO;
        if (s == R3_KICK_SIGNAL)
            c->kicked_pending = 1;
        if (ptrace(PTRACE_SYSEMU, c->pid, 0, 0))
            return -errno;
    }
    errno = 0;
    long rip = ptrace(PTRACE_PEEKUSER, c->pid, offsetof(struct user_regs_struct, rip), 0);
    long uc = ptrace(PTRACE_PEEKUSER, c->pid, offsetof(struct user_regs_struct, rdx), 0);
    if (errno || (uint64_t)rip != R3_STUB_SIG_TRAPPED)
        return -EPROTO;
    const size_t greg_end = offsetof(ucontext_t, uc_mcontext.gregs) + sizeof(gregset_t);
    if ((uint64_t)uc < R3_ALT_VA || (uint64_t)uc > R3_ALT_VA + R3_ALT_SIZE - greg_end)
        return -EPROTO;
    const uint8_t *frame = c->ctl + R3_ALT_OFF + ((uint64_t)uc - R3_ALT_VA);
    greg_t g[NGREG];
    memcpy(g, frame + offsetof(ucontext_t, uc_mcontext.gregs), sizeof(g));
    ex->trapno = (int)g[REG_TRAPNO];
    ex->error_code = (uint64_t)g[REG_ERR];
    if (ex->trapno == 14)
        ex->fault_addr = (uint64_t)g[REG_CR2];
    ex->precise = true;
    return 0;
}

/* Where the host has no 32-bit syscall gate (IA32 emulation off, or a PVM
 * host kernel like this project's VMs), `int $0x80` is a #GP with error
 * code (0x80 << 3) | 2 (IDT).  Report it as the same int80 exit. */
static bool is_int80_gp(struct r3_child *c, const struct r3_exit *ex, uint64_t rip)
{
    if (ex->precise)
        return ex->trapno == 13 && ex->error_code == ((0x80u << 3) | 2u);
    errno = 0;
    long w = ptrace(PTRACE_PEEKTEXT, c->pid, rip, 0);
    return errno == 0 && (w & 0xffff) == 0x80cd;
}

static int syscall_exit(struct r3_child *c, struct user_regs_struct *u, struct r3_exit *ex)
{
    struct __ptrace_syscall_info info;
    memset(&info, 0, sizeof(info));
    if (ptrace(PTRACE_GET_SYSCALL_INFO, c->pid, sizeof(info), &info) <= 0)
        return -errno;
    if (ptrace(PTRACE_GETREGS, c->pid, 0, u))
        return -errno;
    ex->sysno = u->orig_rax;
    u->rax = u->orig_rax; /* the guest's rax; the kernel put -ENOSYS there */
    /* `syscall` and `int $0x80` are both 2 bytes: the instruction starts at
     * rip - 2.  Anything but the x86-64 ABI (int $0x80: i386) is int80. */
    if (u->rip - 2 >= HVLAB_HOLE_BASE)
        ex->kind = R3_EXIT_HOLE, ex->signo = SIGSYS;
    else if (info.arch == AUDIT_ARCH_X86_64)
        ex->kind = R3_EXIT_SYSCALL;
    else
        ex->kind = R3_EXIT_INT80;
    return 0;
}

int r3_run(struct r3_child *c, struct r3_regs *regs, struct r3_exit *ex)
{
    memset(ex, 0, sizeof(*ex));
    ex->trapno = -1;
    if (c->dead) {
        ex->kind = R3_EXIT_DEAD;
        ex->status = c->status;
        return -ESRCH;
    }
    int e = r3_flush(c, NULL);
    if (e)
        return e;
    if (c->kicked_pending) {
        c->kicked_pending = 0;
        ex->kind = R3_EXIT_INTERRUPT;
        ex->signo = R3_KICK_SIGNAL;
        return 0;
    }
    if (regs->rip >= HVLAB_HOLE_BASE) { /* never resume inside the stub */
        ex->kind = R3_EXIT_HOLE;
        return 0;
    }
    struct user_regs_struct u;
    to_user(regs, &c->stub_regs, &u);
    if (ptrace(PTRACE_SETREGS, c->pid, 0, &u))
        return -errno;
    if (ptrace(PTRACE_SYSEMU, c->pid, 0, 0))
        return -errno;
    c->stats.runs++;

    int st;
    if (r3_wait(c, &st)) {
        ex->kind = R3_EXIT_DEAD;
        ex->status = st;
        return 0;
    }
    int sig = WSTOPSIG(st);
    if (sig == (SIGTRAP | 0x80)) {
        e = syscall_exit(c, &u, ex);
        if (e)
            return e;
        from_user(&u, regs);
        return 0;
    }
    if (ptrace(PTRACE_GETREGS, c->pid, 0, &u))
        return -errno;
    from_user(&u, regs);
    ex->signo = sig;
    if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGTRAP && sig != SIGFPE) {
        ex->kind = R3_EXIT_INTERRUPT; /* the kick, or any other signal */
        return 0;
    }
    siginfo_t si;
    if (ptrace(PTRACE_GETSIGINFO, c->pid, 0, &si))
        return -errno;
    ex->si_code = si.si_code;
    ex->kind = u.rip >= HVLAB_HOLE_BASE ? R3_EXIT_HOLE : R3_EXIT_FAULT;
    fast_fault(ex, &si);
    /* Precise mode, unless the guest's rsp is in the hole (it could sit on
     * the signal stack and make the frame overflow it). */
    bool fast = c->fast_faults || (c->fast_gp && sig == SIGSEGV && si.si_code == SI_KERNEL);
    if (ex->kind == R3_EXIT_FAULT && !fast && (sig == SIGSEGV || sig == SIGBUS) &&
        u.rsp < HVLAB_HOLE_BASE) {
        e = precise_fault(c, sig, ex);
        if (e < 0) {
            if (c->dead) {
                ex->kind = R3_EXIT_DEAD;
                ex->status = c->status;
                return 0;
            }
            return e;
        }
    }
    if (ex->kind == R3_EXIT_FAULT && sig == SIGSEGV && si.si_code == SI_KERNEL &&
        is_int80_gp(c, ex, u.rip)) {
        ex->kind = R3_EXIT_INT80;  /* same state as after the SYSEMU stop */
        ex->sysno = u.rax;
        regs->rip = u.rip + 2;
    }
    return 0;
}
