/*
 * task.h - ring-3 user tasks (user.c, user_entry.S) and system calls
 * (syscall.c).
 *
 * A task run is synchronous, like setjmp/longjmp: task_run saves the kernel's
 * callee-saved registers and stack pointer, drops to ring 3, and "returns"
 * when the task exits or is killed by a fault.  No scheduler is needed.
 */
#ifndef GUEST_TASK_H
#define GUEST_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include "mm.h"
#include "traps.h"
#include "usercode.h"

/* What user_enter saves and user_return restores (System V callee-saved). */
struct kernel_context {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp;
};

/* The registers a task starts with (user_entry.S reads these offsets). */
struct user_entry_regs {
    uint64_t rip, rsp, rdi, rsi, rdx;
    uint64_t use_sysret;        /* 0: enter with IRETQ, 1: with SYSRETQ */
};

enum task_entry {
    TASK_ENTER_IRETQ = 0,
    TASK_ENTER_SYSRETQ = 1,
};

struct task {
    int pid;
    struct aspace as;
    uint64_t stack_pa, data_pa, kstack_pa;     /* private frames */
    uint64_t main;              /* user VA of the task body */
    uint64_t arg;
    /* Result of the last run. */
    int64_t exit_code;
    bool killed;
    struct fault_info fault;    /* why it was killed */
    struct kernel_context ctx;
};

extern struct task *current_task;

/* user.c */
void user_init(void);
int task_create(struct task *t, uint64_t main, uint64_t arg);  /* main: USER_SYMBOL(fn) */
int task_run(struct task *t, enum task_entry how);     /* 0 exited, -1 killed */
void task_destroy(struct task *t);
void user_trap(struct trap_frame *f, uint64_t cr2);
NORETURN void task_exit(int64_t code);
user_gate_t syscall_gate(void);

/* user_entry.S */
int64_t user_enter(struct kernel_context *ctx, const struct user_entry_regs *regs);
NORETURN void user_return(struct kernel_context *ctx, int64_t value);
void syscall_entry(void);
extern uint64_t syscall_kernel_rsp;

/* syscall.c */
void syscall_init(void);
int64_t syscall_dispatch(struct trap_frame *f);
const char *syscall_gate_name(void);

#endif
