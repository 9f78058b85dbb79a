/*
 * syscalls_cmd.c - the `syscalls N` command: one user task makes N null
 * system calls (getpid) and the kernel prints the time per round trip.
 *
 * A quick probe of the most frequent privilege change there is, used to
 * compare the hypervisors' costs by hand and to choose the trap-and-emulate
 * monitor's shadow-paging policy (docs/trap-and-emulate.md); the benchmark
 * suite measures it properly.
 */
#include "kernel.h"
#include "syscalls_cmd.h"
#include "task.h"
#include "timer.h"

int cmd_syscalls(int argc, char **argv)
{
    uint64_t n;
    struct task t;
    if (argc != 2 || !parse_u64(argv[1], &n) || n == 0 || n > 100000000u) {
        kprintf("usage: syscalls N (N null system calls from a user task, 1..100000000)\n");
        return HVLAB_GUEST_EXIT_USAGE;
    }
    if (task_create(&t, USER_SYMBOL(user_main_getpid_loop), n) < 0) {
        kprintf("syscalls: cannot create the user task\n");
        return HVLAB_GUEST_EXIT_FAIL;
    }
    uint64_t t0 = rdtsc();
    int rc = task_run(&t, TASK_ENTER_SYSRETQ);
    uint64_t cycles = rdtsc() - t0;
    task_destroy(&t);
    if (rc < 0 || t.exit_code != 0) {
        kprintf("syscalls: the user task failed\n");
        return HVLAB_GUEST_EXIT_FAIL;
    }
    uint64_t ns = cycles * 1000000u / tsc_khz();
    kprintf("syscalls: %lu round trips via %s in %lu us, %lu ns each\n", n,
            syscall_gate_name(), ns / 1000, ns / n);
    return 0;
}
