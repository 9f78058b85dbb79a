/*
 * uapi.h - the guest's own system-call interface between its ring-3 tasks
 * and its kernel (not the guest<->hypervisor ABI, which is abi/hvlab_abi.h).
 *
 * Calling convention (both gates, see syscall.c):
 *   RAX = number, RDI, RSI, RDX = arguments; result in RAX (negative = -errno).
 *   Every other register is preserved, except RCX and R11, which the
 *   `syscall` instruction itself overwrites (user RIP and RFLAGS).
 */
#ifndef GUEST_UAPI_H
#define GUEST_UAPI_H

#define SYS_EXIT    0   /* exit(code): ends the task */
#define SYS_WRITE   1   /* write(buf, len): to the console; returns len */
#define SYS_GETPID  2   /* getpid(): the null system call */
#define SYS_BENCH_MARK 3 /* bench_mark(op, ops, cycles): a benchmark bracket (bench.c) */

#define EFAULT      14
#define EINVAL      22
#define ENOSYS      38

#endif
