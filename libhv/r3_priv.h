/*
 * Internals of the ring-3 engine shared by r3_child.c (process, stub calls),
 * r3_seccomp.c (the filter), r3_mmap.c (batched shadow mappings) and
 * r3_run.c (running guest code, exits).  Not for monitors: r3_engine.h.
 */
#ifndef LIBHV_R3_PRIV_H
#define LIBHV_R3_PRIV_H

#include <signal.h>
#include <stdint.h>
#include <sys/user.h>

#include "libhv/r3_engine.h"
#include "libhv/r3_layout.h"

struct r3_op {                 /* R3_OP_SIZE bytes, read by the stub */
    uint64_t nr;
    uint64_t a[6];
    uint64_t unused;
};

struct r3_child {
    pid_t pid;                 /* 0 once reaped                          */
    int cpu;
    bool fast_faults;
    bool fast_gp;
    bool dead;
    int status;                /* last waitpid status                    */
    volatile sig_atomic_t kicked_pending; /* a kick stop seen in a stub call */
    uint64_t ram_size;
    int ctl_fd;
    uint8_t *ctl;              /* monitor's mapping of the control memfd  */
    struct r3_op *ops;         /* = (struct r3_op *)ctl                   */
    unsigned n_ops;
    struct user_regs_struct stub_regs; /* template: state at "ready"     */
    struct r3_stats stats;
};

/* r3_seccomp.c: writes struct sock_fprog + filter into ctl (offsets in
 * r3_layout.h) for the stub to install.  0, or -1 if it does not fit. */
int r3_seccomp_write(uint8_t *ctl, size_t ctl_size);

/* r3_child.c: resumes the stub with *regs (PTRACE_CONT: its syscalls run,
 * under the seccomp filter) until it stops with SIGTRAP; *regs = the state
 * then.  Other signal stops are swallowed (a kick is remembered).  0, or
 * -ESRCH (the child died: c->dead), -EPROTO (it stopped somewhere else). */
int r3_stub_call(struct r3_child *c, struct user_regs_struct *regs, uint64_t expect_rip);

/* waitpid for the child, counting the stop; marks it dead when it is. */
int r3_wait(struct r3_child *c, int *status);

#endif
