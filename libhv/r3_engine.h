/*
 * The ring-3 engine (DESIGN.md §4): runs guest code natively but
 * deprivileged, in CPU ring 3, inside a separate, traced, sandboxed child
 * process.  Shared by hv-trap-emulate and hv-paravirt; this is only the
 * mechanism — the virtual CPU, shadow page tables and exception delivery
 * into the guest IDT belong to the monitors.
 *
 * The walls between guest code and the host:
 *   - a separate process (hvlab-r3-stub, no libc) whose address space holds
 *     only the stub (in the hypervisor hole) and the guest RAM memfd pages
 *     the monitor maps there: the guest cannot see monitor memory;
 *   - PTRACE_SYSEMU: a guest `syscall` or `int $0x80` stops in the tracer
 *     and never reaches the host kernel (reported as R3_EXIT_SYSCALL /
 *     R3_EXIT_INT80);
 *   - a seccomp filter (second wall): from the child, only mmap (fd 3,
 *     MAP_SHARED|MAP_FIXED), munmap, mprotect below the hole and exit, and
 *     only from the stub's two syscall instructions; anything else kills it;
 *   - PTRACE_O_EXITKILL and PR_SET_PDEATHSIG: the child dies with its tracer.
 *
 * Threads: ptrace binds the child to the thread that created it.  Call every
 * function but r3_kick() from that thread; r3_kick() may be called from any
 * thread or a signal handler.  The creating thread is pinned to the child's
 * CPU (MACHINE-NOTES.md: a round trip across CPUs is 10-20x slower).
 */
#ifndef LIBHV_R3_ENGINE_H
#define LIBHV_R3_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libhv/guestmem.h"

struct r3_child;

struct r3_config {
    const char *stub_path; /* NULL: $HVLAB_R3_STUB, else hvlab-r3-stub found
                              next to /proc/self/exe, ../lib/, ../../lib/  */
    int cpu;               /* CPU for monitor thread and child; -1: current */
    bool fast_faults;      /* true: SIGSEGV/SIGBUS described from siginfo
                              only (one stop; error code partial, see
                              r3_exit.precise); false (default): the stub's
                              handler hands over the kernel's own trapno,
                              error code and CR2 (one more stop)           */
    bool fast_gp;          /* true: only a general-protection fault (#GP,
                              SIGSEGV with SI_KERNEL) is described from
                              siginfo (error code 0, one stop); page faults
                              stay precise.  For monitors that decode the
                              faulting instruction anyway                  */
};

/* Guest register state: what ring-3 code can see.  CS/SS are the host's
 * user selectors (0x33/0x2b), DS/ES/FS/GS selectors 0; RFLAGS.IF always
 * reads 1 and IOPL 0 (the host keeps them: the monitor virtualizes IF). */
struct r3_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags, fs_base, gs_base;
};

enum r3_exit_kind {
    R3_EXIT_FAULT = 1, /* a CPU exception, seen as a signal; not delivered  */
    R3_EXIT_SYSCALL,   /* `syscall` executed (SYSEMU stop), not performed:
                          rip is past it, rax = the guest's rax, rcx/r11
                          hold what the CPU put there (rip, rflags)        */
    R3_EXIT_INT80,     /* `int $0x80` (a 32-bit syscall), not performed     */
    R3_EXIT_HOLE,      /* rip reached the hypervisor hole (or beyond): a
                          jump to the stub; nothing there was executed past
                          the first instruction that stops                  */
    R3_EXIT_INTERRUPT, /* r3_kick() or another signal; not delivered        */
    R3_EXIT_DEAD,      /* the child exited or was killed: status            */
};

struct r3_exit {
    enum r3_exit_kind kind;
    int signo;           /* FAULT/INTERRUPT/HOLE: the signal              */
    int si_code;
    int trapno;          /* FAULT: x86 vector (0 #DE, 1 #DB, 3 #BP, 6 #UD,
                            13 #GP, 14 #PF, 17 #AC...), -1 unknown        */
    uint64_t error_code; /* FAULT: the x86 error code (#GP, #PF...)      */
    uint64_t fault_addr; /* FAULT: CR2 for #PF, else si_addr             */
    bool precise;        /* trapno/error_code/fault_addr are the kernel's
                            own (sigcontext); false: derived from siginfo
                            (#PF W and I/D bits unknown, #GP error 0)     */
    uint64_t sysno;      /* SYSCALL/INT80: the guest's rax (orig_rax)     */
    int status;          /* DEAD: the waitpid status                      */
};

struct r3_stats {
    uint64_t runs;        /* r3_run calls that resumed guest code           */
    uint64_t stops;       /* every ptrace stop waited for (round trips)     */
    uint64_t stub_calls;  /* round trips into the stub (batches, injections) */
    uint64_t ops;         /* map/unmap/protect ops executed by the stub      */
};

/* Forks and execs the stub with guest RAM (gm->fd) as fd 3, waits for it to
 * be ready (seccomp installed, stopped).  0, or -1 with a reason in err, or
 * R3_NOT_PERMITTED when the host forbids what the engine needs (ptrace of a
 * child, the seccomp filter): the technique cannot run on this host. */
#define R3_NOT_PERMITTED (-2)
int r3_child_create(struct r3_child **out, const struct guest_mem *gm,
                    const struct r3_config *cfg, char *err, size_t errlen);

/* SIGKILL + waitpid; no process is left.  NULL is fine. */
void r3_child_destroy(struct r3_child *c);

pid_t r3_child_pid(const struct r3_child *c);
int r3_child_cpu(const struct r3_child *c);
void r3_get_stats(const struct r3_child *c, struct r3_stats *st);

/* Shadow mappings.  The three calls queue an op (nothing happens in the
 * child yet) after checking it: page-aligned gva/gpa/len, len > 0, the whole
 * [gva, gva + len) below HVLAB_HOLE_BASE (so canonical and out of the hole),
 * [gpa, gpa + len) inside guest RAM, prot only PROT_READ|WRITE|EXEC.
 * Return 0, or -EINVAL (refused: nothing queued).  A full queue is flushed
 * first (that may return its error).  r3_run() flushes before running. */
int r3_map(struct r3_child *c, uint64_t gva, uint64_t len, uint64_t gpa, int prot);
int r3_unmap(struct r3_child *c, uint64_t gva, uint64_t len);
int r3_protect(struct r3_child *c, uint64_t gva, uint64_t len, int prot);
unsigned r3_pending_ops(const struct r3_child *c);

/* Executes the queued ops in one round trip into the stub (the stub loops
 * over them with its own syscall instruction).  0; -errno of the first op
 * that failed (the ops before it took effect, those after it did not; the
 * queue is empty either way; *failed_index says which, may be NULL);
 * -ESRCH if the child died. */
int r3_flush(struct r3_child *c, unsigned *failed_index);

/* One syscall injected through the stub's gadget (one round trip): the
 * seccomp filter decides, so anything but the mapping calls kills the
 * child.  For diagnostics and tests.  0 with *ret, or -ESRCH (child died). */
int r3_inject_syscall(struct r3_child *c, long nr, const uint64_t args[6], int64_t *ret);

/* Runs guest code from *regs until the next exit; *regs is updated to the
 * state at the exit.  0, or -errno (the regs were not accepted: -EIO; the
 * child is gone: -ESRCH; a flush failed: its error).  Signals from faults
 * are never delivered to the child. */
int r3_run(struct r3_child *c, struct r3_regs *regs, struct r3_exit *ex);

/* Makes the current or next r3_run return R3_EXIT_INTERRUPT (a signal to
 * the child).  Async-signal-safe. */
int r3_kick(struct r3_child *c);

/* The engine's kick signal (its delivery to the child is always suppressed). */
#define R3_KICK_SIGNAL 10 /* SIGUSR1 */

const char *r3_exit_kind_name(enum r3_exit_kind k);

#endif
