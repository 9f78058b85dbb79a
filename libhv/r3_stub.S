/*
 * hvlab-r3-stub: the ring-3 engine's child process (DESIGN.md §4).
 *
 * No libc, no data, no stack use after set-up: the monitor fork+execs this
 * under ptrace (PTRACE_TRACEME, then EXITKILL|TRACESYSGOOD) and from then on
 * the process is only an address space in which guest code runs under
 * PTRACE_SYSEMU.  Everything is at a fixed address (libhv/r3_layout.h,
 * linked by libhv/r3_stub.ld), because the seccomp filter and the monitor
 * check instruction pointers against these addresses.
 *
 * Set-up (before the first stop; each failure exits with 100 + step):
 *   1. map the control memfd (fd 4): ops read-only, signal stack read-write
 *   2. close fd 4 (the monitor keeps its own mapping)
 *   3. sigaltstack on the signal stack; SIGSEGV/SIGBUS handlers = int3, so
 *      the monitor can read trapno/error code/cr2 from the kernel's frame
 *   4. unmap the rest of the host's user address space above the stub (the
 *      initial stack, [vdso], [vvar]): guest code must find nothing there
 *   5. no_new_privs, then the seccomp filter the monitor left at R3_CTL_VA
 *   6. int3: "ready" — the tracer takes over and never lets it run on.
 */
#include "libhv/r3_layout.h"

#define SYS_close        3
#define SYS_mmap         9
#define SYS_munmap       11
#define SYS_rt_sigaction 13
#define SYS_sigaltstack  131
#define SYS_prctl        157
#define SYS_exit_group   231
#define SYS_seccomp      317
#define PR_SET_NO_NEW_PRIVS 38
#define SECCOMP_SET_MODE_FILTER 1
#define SIGBUS  7
#define SIGSEGV 11
#define SA_FLAGS 0x4C000004 /* SA_SIGINFO|SA_ONSTACK|SA_RESTORER|SA_NODEFER */

        .section .text, "ax", @progbits
        .globl r3_stub_start

/* +0x000: the injection gadget.  The tracer sets RIP here and the syscall
 * registers, PTRACE_CONTs, and gets the SIGTRAP of the int3. */
r3_stub_gadget:
        syscall
        int3
        ud2

/* +0x040: SIGSEGV/SIGBUS handler.  rsi = siginfo, rdx = ucontext on the
 * signal stack; the tracer reads them from its own mapping of the memfd. */
        .org 0x40, 0xcc
r3_stub_sighandler:
        int3
        ud2

/* +0x080: the batch loop.  rbx = first op, r12 = number of ops.  Stops at
 * the first failing op; at the int3, r13 = ops done, rax = last result. */
        .org 0x80, 0xcc
r3_stub_batch:
        xor     %r13d, %r13d
1:      cmp     %r12, %r13
        jae     9f
        mov     0(%rbx), %rax
        mov     8(%rbx), %rdi
        mov     16(%rbx), %rsi
        mov     24(%rbx), %rdx
        mov     32(%rbx), %r10
        mov     40(%rbx), %r8
        mov     48(%rbx), %r9
        jmp     2f
        .org 0xc0, 0xcc
2:      syscall
        cmp     $-4095, %rax
        jae     9f
        add     $R3_OP_SIZE, %rbx
        inc     %r13
        jmp     1b
        .org 0xf0, 0xcc
9:      int3
        ud2

/* +0x100: entry. */
        .org 0x100, 0xcc
r3_stub_start:
        /* 1a. ops area, read-only */
        mov     $SYS_mmap, %eax
        movabs  $R3_CTL_VA, %rdi
        mov     $R3_CTL_OPS_SIZE, %esi
        mov     $1, %edx                /* PROT_READ */
        mov     $0x11, %r10d            /* MAP_SHARED|MAP_FIXED */
        mov     $R3_CTL_FD, %r8d
        xor     %r9d, %r9d
        syscall
        mov     $1, %ebp
        cmp     %rdi, %rax
        jne     fail
        /* 1b. signal stack, read-write */
        mov     $SYS_mmap, %eax
        movabs  $R3_ALT_VA, %rdi
        mov     $R3_ALT_SIZE, %esi
        mov     $3, %edx                /* PROT_READ|PROT_WRITE */
        mov     $0x11, %r10d
        mov     $R3_CTL_FD, %r8d
        mov     $R3_ALT_OFF, %r9d
        syscall
        mov     $2, %ebp
        cmp     %rdi, %rax
        jne     fail
        /* 2. close the control fd */
        mov     $SYS_close, %eax
        mov     $R3_CTL_FD, %edi
        syscall
        mov     $3, %ebp
        test    %rax, %rax
        jnz     fail
        /* 3. signal stack and handlers */
        mov     $SYS_sigaltstack, %eax
        lea     altstack(%rip), %rdi
        xor     %esi, %esi
        syscall
        mov     $4, %ebp
        test    %rax, %rax
        jnz     fail
        mov     $SYS_rt_sigaction, %eax
        mov     $SIGSEGV, %edi
        lea     sigact(%rip), %rsi
        xor     %edx, %edx
        mov     $8, %r10d
        syscall
        mov     $5, %ebp
        test    %rax, %rax
        jnz     fail
        mov     $SYS_rt_sigaction, %eax
        mov     $SIGBUS, %edi
        lea     sigact(%rip), %rsi
        xor     %edx, %edx
        mov     $8, %r10d
        syscall
        mov     $6, %ebp
        test    %rax, %rax
        jnz     fail
        /* 4. nothing of the host above the stub: the stack (unused from
         * here on), [vdso] and [vvar] go */
        mov     $SYS_munmap, %eax
        movabs  $R3_STUB_KEEP_END, %rdi
        movabs  $(R3_USER_TOP - R3_STUB_KEEP_END), %rsi
        syscall
        mov     $9, %ebp
        test    %rax, %rax
        jnz     fail
        /* 5. the second wall */
        mov     $SYS_prctl, %eax
        mov     $PR_SET_NO_NEW_PRIVS, %edi
        mov     $1, %esi
        xor     %edx, %edx
        xor     %r10d, %r10d
        xor     %r8d, %r8d
        syscall
        mov     $7, %ebp
        test    %rax, %rax
        jnz     fail
        mov     $SYS_seccomp, %eax
        mov     $SECCOMP_SET_MODE_FILTER, %edi
        xor     %esi, %esi
        movabs  $(R3_CTL_VA + R3_FPROG_OFF), %rdx
        syscall
        mov     $8, %ebp
        test    %rax, %rax
        jnz     fail
        jmp     ready
fail:   mov     $SYS_exit_group, %eax
        lea     R3_STUB_FAIL_BASE(%rbp), %edi
        syscall
        ud2

        .p2align 3
altstack:                               /* stack_t */
        .quad   R3_ALT_VA               /* ss_sp    */
        .quad   0                       /* ss_flags */
        .quad   R3_ALT_SIZE             /* ss_size  */
sigact:                                 /* struct kernel_sigaction */
        .quad   R3_STUB_SIGHANDLER      /* handler  */
        .quad   SA_FLAGS
        .quad   R3_STUB_SIGHANDLER      /* restorer: never used */
        .quad   0                       /* mask     */

/* +0x400: ready.  The tracer always sets RIP before resuming. */
        .org 0x400, 0xcc
ready:  int3
        jmp     ready

        .section .note.GNU-stack, "", @progbits
