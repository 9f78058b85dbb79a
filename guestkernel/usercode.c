/*
 * usercode.c - ring-3 task bodies (see usercode.h for the rules user code
 * follows).  Each takes the system-call gate and one argument and returns
 * the task's exit code; user_start turns that into SYS_EXIT.
 */
#include "layout.h"
#include "usercode.h"

const char user_hello[] USER_RODATA __attribute__((used)) = "user: write() from ring 3\n";

USER_TEXT void user_start(user_gate_t gate, uint64_t arg, user_main_t main)
{
    int64_t code = main(gate, arg);
    user_syscall(gate, SYS_EXIT, (uint64_t)code, 0, 0);
    for (;;)
        ;                       /* not reached: exit does not return */
}

/* Returns arg if CS really has RPL 3 (we run at CPL 3), else -1. */
USER_TEXT int64_t user_main_report_cpl(user_gate_t gate, uint64_t arg)
{
    uint16_t cs;
    (void)gate;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return (cs & 3) == 3 ? (int64_t)arg : -1;
}

USER_TEXT int64_t user_main_regcheck(user_gate_t gate, uint64_t expected_pid)
{
    uint64_t pid = 0;
    int64_t mask = user_syscall_regcheck(gate, &pid);
    if (pid != expected_pid)
        mask |= REGCHECK_BAD_PID;
    return mask;
}

USER_TEXT int64_t user_main_write(user_gate_t gate, uint64_t kernel_addr)
{
    uint64_t len = sizeof(user_hello) - 1;
    int64_t result = 0;

    if (user_syscall(gate, SYS_WRITE, USER_SYMBOL(user_hello), len, 0) != (int64_t)len)
        result |= WRITE_BAD_LEN;
    if (user_syscall(gate, SYS_WRITE, kernel_addr, 8, 0) != -EFAULT)
        result |= WRITE_KERNEL_OK;
    /* In the user region but never mapped: the kernel's copy faults. */
    if (user_syscall(gate, SYS_WRITE, USER_DATA_VA + 0x10000, 8, 0) != -EFAULT)
        result |= WRITE_UNMAPPED_OK;
    return result;
}

/* Stores value in this task's data page; returns what was there before. */
USER_TEXT int64_t user_main_swap_data(user_gate_t gate, uint64_t value)
{
    volatile uint64_t *data = (volatile uint64_t *)USER_DATA_VA;
    uint64_t old = *data;
    (void)gate;
    *data = value;
    return (int64_t)old;
}

USER_TEXT int64_t user_main_read(user_gate_t gate, uint64_t addr)
{
    (void)gate;
    return (int64_t)*(volatile uint64_t *)addr;
}

USER_TEXT int64_t user_main_write_to(user_gate_t gate, uint64_t addr)
{
    (void)gate;
    *(volatile uint64_t *)addr = 0x5a;
    return 0;
}

/* HLT is privileged (CPL 0 only, SDM Vol. 2A "HLT"): #GP(0) from ring 3. */
USER_TEXT int64_t user_main_hlt(user_gate_t gate, uint64_t arg)
{
    (void)gate;
    (void)arg;
    __asm__ volatile("hlt");
    return 0;
}

/* n null system calls in a row: the round trip user -> kernel -> user that
 * the `syscalls` command times. */
USER_TEXT int64_t user_main_getpid_loop(user_gate_t gate, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        user_syscall(gate, SYS_GETPID, 0, 0, 0);
    return 0;
}
