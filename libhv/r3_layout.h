/*
 * The ring-3 engine's fixed layout inside the hypervisor hole (DESIGN.md §4,
 * abi/hvlab_abi.h HVLAB_HOLE_BASE..HVLAB_HOLE_END).  Shared by the stub
 * (libhv/r3_stub.S, assembled with -D__ASSEMBLY__) and the monitor side
 * (libhv/r3_*.c): plain numbers only, no C in the assembler part.
 *
 * The stub lives in the UPPER half of the hole (>= 0x7F80'0000'0000).  The
 * seccomp filter lets the stub's mmap/munmap/mprotect touch only addresses
 * below HVLAB_HOLE_BASE with a length below 512 GiB, so even a confused
 * monitor cannot map over the stub, its stack or the vDSO (all above
 * 0x7F80'0000'0000 with ADDR_NO_RANDOMIZE, which the engine sets).
 *
 *   R3_STUB_BASE + 0x000  gadget: syscall; int3      (one injected syscall)
 *   R3_STUB_BASE + 0x040  signal handler: int3       (precise fault info)
 *   R3_STUB_BASE + 0x080  batch loop (syscall at +0x0c0, done int3 at +0x0f0)
 *   R3_STUB_BASE + 0x100  entry: set-up, then int3 at +0x400 ("ready")
 *   R3_CTL_VA             shared control memfd: ops (child: read-only)
 *   R3_ALT_VA             the same memfd: signal stack (child: read-write)
 */
#ifndef LIBHV_R3_LAYOUT_H
#define LIBHV_R3_LAYOUT_H

#define R3_STUB_BASE            0x7F8000000000
#define R3_STUB_GADGET          (R3_STUB_BASE + 0x000)
#define R3_STUB_GADGET_SYSRET   (R3_STUB_BASE + 0x002) /* ip after its syscall */
#define R3_STUB_GADGET_TRAPPED  (R3_STUB_BASE + 0x003) /* ip after its int3    */
#define R3_STUB_SIGHANDLER      (R3_STUB_BASE + 0x040)
#define R3_STUB_SIG_TRAPPED     (R3_STUB_BASE + 0x041)
#define R3_STUB_BATCH           (R3_STUB_BASE + 0x080)
#define R3_STUB_BATCH_SYSRET    (R3_STUB_BASE + 0x0c2) /* syscall at +0x0c0   */
#define R3_STUB_BATCH_TRAPPED   (R3_STUB_BASE + 0x0f1) /* int3 at +0x0f0      */
#define R3_STUB_START           (R3_STUB_BASE + 0x100)
#define R3_STUB_READY_TRAPPED   (R3_STUB_BASE + 0x401) /* int3 at +0x400      */

#define R3_CTL_VA               (R3_STUB_BASE + 0x100000)
#define R3_CTL_OPS_SIZE         0x10000  /* 64 KiB: the op array            */
#define R3_ALT_OFF              0x10000  /* signal stack, offset in the fd  */
#define R3_ALT_VA               (R3_CTL_VA + R3_ALT_OFF)
#define R3_ALT_SIZE             0x10000
#define R3_CTL_SIZE             (R3_CTL_OPS_SIZE + R3_ALT_SIZE)

/* Everything the stub keeps ends here; the process's own stack, [vdso] and
 * [vvar] (above it, up to the top of user space) are unmapped during
 * set-up, so that guest code finds nothing of the host in the hole but the
 * stub's code, its read-only op page and its signal stack. */
#define R3_STUB_KEEP_END        (R3_STUB_BASE + 0x200000)
#define R3_USER_TOP             0x7ffffffff000 /* x86-64 TASK_SIZE_MAX */

/* One op = 8 quadwords: nr, a0..a5, unused. */
#define R3_OP_SIZE              64
#define R3_MAX_OPS              (R3_CTL_OPS_SIZE / R3_OP_SIZE)

/* The fds the stub inherits (set up between fork and exec). */
#define R3_RAM_FD               3
#define R3_CTL_FD               4

/* Where the seccomp filter waits for the stub before its first stop: a
 * struct sock_fprog at offset 0 of the ops area, instructions at +64. */
#define R3_FPROG_OFF            0
#define R3_FILTER_OFF           64

/* Stub set-up failures: exit status R3_STUB_FAIL_BASE + step. */
#define R3_STUB_FAIL_BASE       100

#endif
