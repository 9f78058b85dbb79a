/*
 * The ring-3 engine's second wall: the seccomp filter of the stub child.
 *
 * PTRACE_SYSEMU already stops every guest `syscall`/`int $0x80` before the
 * host kernel acts on it (and before seccomp runs: seccomp comes after the
 * ptrace entry stop).  The filter catches whatever would slip past the first
 * wall — a monitor bug that resumes guest code with PTRACE_CONT, a guest jump
 * into the stub — and kills the process.  Allowed, and only when the syscall
 * instruction is one of the stub's two (seccomp_data.instruction_pointer is
 * the address after it: R3_STUB_GADGET_SYSRET, R3_STUB_BATCH_SYSRET):
 *   - mmap with (flags & (MAP_TYPE|MAP_FIXED)) == MAP_SHARED|MAP_FIXED and
 *     fd == R3_RAM_FD (guest RAM), munmap, mprotect, all with
 *     addr < HVLAB_HOLE_BASE and len < 512 GiB, so that addr + len stays
 *     below R3_STUB_BASE: the stub, its stack and the vDSO are out of reach;
 *   - exit, exit_group.
 * Everything else, every other instruction pointer, and every non-x86-64
 * syscall ABI (int $0x80, x32) is SECCOMP_RET_KILL_PROCESS.
 */
#include "libhv/r3_priv.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "abi/hvlab_abi.h"

_Static_assert(R3_STUB_BASE >= HVLAB_HOLE_BASE + (0x80ull << 32),
               "the stub must lie above HOLE_BASE + 512 GiB (filter bound)");
_Static_assert((R3_STUB_GADGET_SYSRET >> 32) == (R3_STUB_BATCH_SYSRET >> 32),
               "both stub syscalls in one 4 GiB window");

#define LO(off) (off)
#define HI(off) ((off) + 4)
#define ARG(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define TO(target, here) ((target) - (here) - 1)
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGE(k, t, f) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))

enum { L_NR = 7, L_MMAP = 14, L_RANGE = 19, L_ALLOW = 23, L_KILL = 24 };

int r3_seccomp_write(uint8_t *ctl, size_t ctl_size)
{
    const uint32_t ip_hi = (uint32_t)(R3_STUB_GADGET_SYSRET >> 32);
    const uint32_t ip_gadget = (uint32_t)R3_STUB_GADGET_SYSRET;
    const uint32_t ip_batch = (uint32_t)R3_STUB_BATCH_SYSRET;
    const uint32_t addr_hi_max = (uint32_t)(HVLAB_HOLE_BASE >> 32); /* 0x7f00 */
    const struct sock_filter f[] = {
        /*  0 */ LD(offsetof(struct seccomp_data, arch)),
        /*  1 */ JEQ(AUDIT_ARCH_X86_64, 0, TO(L_KILL, 1)),
        /*  2 */ LD(HI(offsetof(struct seccomp_data, instruction_pointer))),
        /*  3 */ JEQ(ip_hi, 0, TO(L_KILL, 3)),
        /*  4 */ LD(LO(offsetof(struct seccomp_data, instruction_pointer))),
        /*  5 */ JEQ(ip_gadget, TO(L_NR, 5), 0),
        /*  6 */ JEQ(ip_batch, 0, TO(L_KILL, 6)),
        /*  7 */ LD(offsetof(struct seccomp_data, nr)),
        /*  8 */ JEQ(SYS_exit_group, TO(L_ALLOW, 8), 0),
        /*  9 */ JEQ(SYS_exit, TO(L_ALLOW, 9), 0),
        /* 10 */ JEQ(SYS_mmap, TO(L_MMAP, 10), 0),
        /* 11 */ JEQ(SYS_munmap, TO(L_RANGE, 11), 0),
        /* 12 */ JEQ(SYS_mprotect, TO(L_RANGE, 12), 0),
        /* 13 */ RET(SECCOMP_RET_KILL_PROCESS),
        /* 14 */ LD(LO(ARG(3))),
        /* 15 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, MAP_TYPE | MAP_FIXED),
        /* 16 */ JEQ(MAP_SHARED | MAP_FIXED, 0, TO(L_KILL, 16)),
        /* 17 */ LD(LO(ARG(4))),
        /* 18 */ JEQ(R3_RAM_FD, 0, TO(L_KILL, 18)),
        /* 19 */ LD(HI(ARG(0))),
        /* 20 */ JGE(addr_hi_max, TO(L_KILL, 20), 0),
        /* 21 */ LD(HI(ARG(1))),
        /* 22 */ JGE(0x80, TO(L_KILL, 22), 0),
        /* 23 */ RET(SECCOMP_RET_ALLOW),
        /* 24 */ RET(SECCOMP_RET_KILL_PROCESS),
    };
    _Static_assert(sizeof(f) / sizeof(f[0]) == L_KILL + 1, "labels");

    if (R3_FILTER_OFF + sizeof(f) > ctl_size)
        return -1;
    struct sock_fprog prog = {
        .len = (unsigned short)(sizeof(f) / sizeof(f[0])),
        .filter = (struct sock_filter *)(uintptr_t)(R3_CTL_VA + R3_FILTER_OFF),
    };
    memcpy(ctl + R3_FILTER_OFF, f, sizeof(f));
    memcpy(ctl + R3_FPROG_OFF, &prog, sizeof(prog));
    return 0;
}
