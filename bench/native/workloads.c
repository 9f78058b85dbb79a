/*
 * The measured loops of the exit group and of mem.first_touch and
 * mem.pt_update, as a Linux process can run them.
 *
 * What the guest measures as "an exit" is a privileged event leaving the
 * guest for its monitor.  A process's nearest counterparts are its trips
 * into the host kernel: a system call, an exception delivered as a signal,
 * a switch to another process.  These numbers are the floor the monitors
 * are compared with.  The container row runs this same code inside new
 * namespaces: namespaces change what the kernel lets a process *see*
 * (which pids, mounts, network devices, hostname, IPC objects, uid
 * mapping), not the path an instruction, a system call or a fault takes,
 * so OS-level virtualization (OpenVZ, LXC, Docker) costs ~nothing here.
 */
#include "bench/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define PAGE 4096u

/* ---- exit.syscall ---------------------------------------------------------- */

/*
 * A null system call: getppid does no work beyond reading one pointer, and
 * glibc has never cached it (unlike getpid in glibc < 2.25).  The syscall
 * instruction is issued directly, as the guest's user task does, so that no
 * libc wrapper is timed: one op is syscall -> entry (with this kernel's
 * Spectre/Meltdown mitigations) -> sys_getppid -> sysret.  In a new pid
 * namespace getppid of PID 1 returns 0 (its parent is outside), by the same
 * code path.
 */
static uint64_t syscall_loop(void *state, uint64_t n)
{
    (void)state;
    uint64_t t0 = tsc_start();
    for (uint64_t i = 0; i < n; i++) {
        long ret;
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"((long)SYS_getppid)
                         : "rcx", "r11", "memory"); /* syscall clobbers rcx (RIP) and r11 (RFLAGS) */
        (void)ret;
    }
    return tsc_stop() - t0;
}

void bench_syscall(const struct env *e, size_t param, struct result *r)
{
    (void)param;
    measure(e, syscall_loop, NULL, 1, r);
}

/* ---- exit.cpuid ------------------------------------------------------------ */

/*
 * cpuid leaf 0.  On bare metal it is an ordinary (serializing) instruction of
 * ~100-200 cycles.  But CPUID always causes a VM exit under VT-x (Intel SDM
 * Vol. 3C 26.1.2, "instructions that cause VM exits unconditionally") and
 * KVM intercepts it under AMD-V: when the host running hvlab is itself a
 * virtual machine (a cloud VM; the CPU's hypervisor bit, CPUID.1:ECX[31],
 * says so) this number is the *cloud* hypervisor's exit round trip, and it
 * is no faster in the native row than in a guest.  (hvlab's development
 * machine is such a VM, a PVM guest: ~6 us here.)
 */
static uint64_t cpuid_loop(void *state, uint64_t n)
{
    (void)state;
    uint64_t t0 = tsc_start();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t a = 0, b, c = 0, d;
        __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
    }
    return tsc_stop() - t0;
}

void bench_cpuid(const struct env *e, size_t param, struct result *r)
{
    (void)param;
    measure(e, cpuid_loop, NULL, 1, r);
}

/* ---- exit.rdtsc ------------------------------------------------------------ */

/*
 * rdtsc back to back.  CR4.TSD is clear on Linux (unless a process asks for
 * prctl(PR_SET_TSC, PR_TSC_SIGSEGV)), so it runs at CPL 3 without a fault; a
 * hypervisor normally leaves it unintercepted too (TSC offsetting/scaling),
 * so this is the instruction's own throughput.
 */
static uint64_t rdtsc_loop(void *state, uint64_t n)
{
    (void)state;
    uint64_t t0 = tsc_start();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    }
    return tsc_stop() - t0;
}

void bench_rdtsc(const struct env *e, size_t param, struct result *r)
{
    (void)param;
    measure(e, rdtsc_loop, NULL, 1, r);
}

/* ---- exit.divzero and exit.pagefault: exceptions as signals ---------------- */

/*
 * The guest takes #DE and #PF in its own kernel.  A process cannot: the CPU
 * delivers the exception to the host kernel, which turns it into a signal
 * (#DE -> SIGFPE/FPE_INTDIV, a #PF on a page the process may not read ->
 * SIGSEGV/SEGV_ACCERR), builds a signal frame on the user stack (with the
 * FPU/AVX state: XSAVE), runs the handler, and restores everything in
 * rt_sigreturn.  One op is that whole round trip, like lmbench's lat_sig.
 *
 * The faulting instructions are in assembly with labels on both sides, so
 * the handler need not decode anything: it checks that RIP is at the
 * instruction it expects and moves RIP to the label after it.  "divl %ecx"
 * is F7 F1 (2 bytes), "movl (%rdi),%eax" is 8B 07 (2 bytes).  Any other
 * fault is a real bug: the handler puts back the default action and returns,
 * and the instruction faults again and kills the process with a core.
 */
__asm__(".text\n"
        ".globl hvn_divzero_once\n"
        ".hidden hvn_divzero_once\n"
        ".type hvn_divzero_once, @function\n"
        "hvn_divzero_once:\n"
        "    xorl %edx, %edx\n"
        "    movl $1, %eax\n"
        "    xorl %ecx, %ecx\n"
        ".globl hvn_div_fault\n"
        ".hidden hvn_div_fault\n"
        "hvn_div_fault:\n"
        "    divl %ecx\n" /* edx:eax / 0 -> #DE */
        ".globl hvn_div_resume\n"
        ".hidden hvn_div_resume\n"
        "hvn_div_resume:\n"
        "    ret\n"
        ".size hvn_divzero_once, . - hvn_divzero_once\n"
        ".globl hvn_load_once\n"
        ".hidden hvn_load_once\n"
        ".type hvn_load_once, @function\n"
        "hvn_load_once:\n"
        ".globl hvn_load_fault\n"
        ".hidden hvn_load_fault\n"
        "hvn_load_fault:\n"
        "    movl (%rdi), %eax\n" /* a PROT_NONE page -> #PF -> SIGSEGV */
        ".globl hvn_load_resume\n"
        ".hidden hvn_load_resume\n"
        "hvn_load_resume:\n"
        "    ret\n"
        ".size hvn_load_once, . - hvn_load_once\n");

#define HIDDEN __attribute__((visibility("hidden")))
HIDDEN void hvn_divzero_once(void);
HIDDEN void hvn_load_once(const volatile void *p);
HIDDEN extern const char hvn_div_fault[], hvn_div_resume[];
HIDDEN extern const char hvn_load_fault[], hvn_load_resume[];

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    greg_t *rip = &uc->uc_mcontext.gregs[REG_RIP];
    (void)si;
    if (sig == SIGFPE && *rip == (greg_t)(uintptr_t)hvn_div_fault) {
        *rip = (greg_t)(uintptr_t)hvn_div_resume;
        return;
    }
    if (sig == SIGSEGV && *rip == (greg_t)(uintptr_t)hvn_load_fault) {
        *rip = (greg_t)(uintptr_t)hvn_load_resume;
        return;
    }
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(sig, &dfl, NULL); /* async-signal-safe */
}

static bool catch_signal(int sig, struct sigaction *old, struct result *r)
{
    struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, old) == 0)
        return true;
    result_na(r, "sigaction(%s): %s", sig == SIGFPE ? "SIGFPE" : "SIGSEGV", strerror(errno));
    return false;
}

static uint64_t divzero_loop(void *state, uint64_t n)
{
    (void)state;
    uint64_t t0 = tsc_start();
    for (uint64_t i = 0; i < n; i++)
        hvn_divzero_once();
    return tsc_stop() - t0;
}

void bench_divzero(const struct env *e, size_t param, struct result *r)
{
    struct sigaction old;
    (void)param;
    if (!catch_signal(SIGFPE, &old, r))
        return;
    measure(e, divzero_loop, NULL, 1, r);
    sigaction(SIGFPE, &old, NULL);
}

static uint64_t pagefault_loop(void *state, uint64_t n)
{
    const volatile void *page = state;
    uint64_t t0 = tsc_start();
    for (uint64_t i = 0; i < n; i++)
        hvn_load_once(page);
    return tsc_stop() - t0;
}

/*
 * A load from a PROT_NONE page (lmbench "lat_sig prot"): the #PF reaches
 * the kernel's fault handler, which finds the VMA, sees the access is not
 * allowed and sends SIGSEGV; nothing is ever mapped, so every load faults
 * the same way.  The guest's exit.pagefault is its kernel's own #PF round
 * trip; here the round trip goes through the host kernel and a signal.
 */
void bench_pagefault(const struct env *e, size_t param, struct result *r)
{
    struct sigaction old;
    (void)param;
    void *page = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        result_na(r, "mmap of one PROT_NONE page: %s", strerror(errno));
        return;
    }
    if (catch_signal(SIGSEGV, &old, r)) {
        measure(e, pagefault_loop, page, 1, r);
        sigaction(SIGSEGV, &old, NULL);
    }
    munmap(page, PAGE);
}

/* ---- exit.as_switch ---------------------------------------------------------- */

/*
 * lmbench's lat_ctx with 2 processes and 0 KiB of working set: two
 * processes on ONE CPU pass a byte back and forth through two pipes.  Each
 * read blocks, so every hand-over is a context switch by the scheduler,
 * with the switch of address space (a CR3 load: the two processes have
 * different page tables; with PCID the TLB entries survive it).  One op is
 * one switch, half a round trip, and includes the pipe write and read that
 * cause it (lat_ctx reports this figure before subtracting its separately
 * measured pipe overhead).  The guest's exit.as_switch is its kernel
 * switching between two user address spaces.
 */
struct pingpong {
    int to_child, from_child;      /* the parent's ends */
    pid_t child;
    bool failed;
    char why[REASON_MAX];
};

static uint64_t pingpong_loop(void *state, uint64_t n)
{
    struct pingpong *pp = state;
    char b = 'x';
    uint64_t t0 = tsc_start();
    for (uint64_t i = 0; i < n; i++) {
        if (write(pp->to_child, &b, 1) != 1 || read(pp->from_child, &b, 1) != 1) {
            snprintf(pp->why, sizeof(pp->why), "the ping-pong through pipes failed: %s",
                     errno ? strerror(errno) : "the other process is gone");
            return 0;
        }
    }
    return tsc_stop() - t0;
}

void bench_as_switch(const struct env *e, size_t param, struct result *r)
{
    (void)param;
    cpu_set_t old, one;
    int cpu = sched_getcpu();
    if (cpu < 0) {
        result_na(r, "sched_getcpu: %s", strerror(errno));
        return;
    }
    if (sched_getaffinity(0, sizeof(old), &old)) {
        result_na(r, "sched_getaffinity: %s", strerror(errno));
        return;
    }
    /* Both processes on the CPU this one runs on: a switch, not a wake-up
     * of another CPU by IPI.  The child inherits the mask across fork. */
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one)) {
        result_na(r, "sched_setaffinity to CPU %d (both processes on one CPU): %s", cpu,
                  strerror(errno));
        return;
    }
    int p2c[2], c2p[2];
    if (pipe(p2c)) {
        result_na(r, "pipe: %s", strerror(errno));
        goto restore;
    }
    if (pipe(c2p)) {
        result_na(r, "pipe: %s", strerror(errno));
        close(p2c[0]);
        close(p2c[1]);
        goto restore;
    }
    fflush(stdout); /* the child must not inherit unwritten output */
    pid_t pid = fork();
    if (pid < 0) {
        result_na(r, "fork: %s", strerror(errno));
        close(p2c[0]);
        close(p2c[1]);
        close(c2p[0]);
        close(c2p[1]);
        goto restore;
    }
    if (pid == 0) {
        char b;
        close(p2c[1]);
        close(c2p[0]);
        while (read(p2c[0], &b, 1) == 1)
            if (write(c2p[1], &b, 1) != 1)
                break;
        _exit(0); /* EOF: the parent is done */
    }
    close(p2c[0]);
    close(c2p[1]);
    struct pingpong pp = {.to_child = p2c[1], .from_child = c2p[0], .child = pid};
    errno = 0;
    /* one round trip first: the child has run and blocks in read */
    bool ran = pingpong_loop(&pp, 1) && measure(e, pingpong_loop, &pp, 2, r);
    if (!ran)
        result_na(r, "%s", pp.why);
    close(pp.to_child); /* the child reads EOF and exits */
    close(pp.from_child);
    waitpid(pid, NULL, 0);
restore:
    sched_setaffinity(0, sizeof(old), &old);
}

/* ---- mem.first_touch ------------------------------------------------------- */

/*
 * The cost of the first write to a page: a #PF into the host kernel, which
 * allocates a page, zeroes it (4 KiB of stores), maps it and returns.  Fixed
 * size, one pass, no calibration: a page can only be touched first once.
 * MADV_NOHUGEPAGE keeps every fault a 4 KiB one (THP, and the multi-size
 * THP of Linux >= 6.8, would otherwise map 64 KiB..2 MiB per fault).  The
 * page-table pages the range needs are allocated by the same faults, as in
 * the guest.
 */
#define FIRST_TOUCH_PAGES 4096u

void bench_first_touch(const struct env *e, size_t param, struct result *r)
{
    (void)e;
    (void)param;
    size_t len = (size_t)FIRST_TOUCH_PAGES * PAGE;
    volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        result_na(r, "mmap of %u pages: %s", FIRST_TOUCH_PAGES, strerror(errno));
        return;
    }
    if (madvise((void *)p, len, MADV_NOHUGEPAGE)) {
        result_na(r, "madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
        munmap((void *)p, len);
        return;
    }
    uint64_t t0 = tsc_start();
    for (size_t off = 0; off < len; off += PAGE)
        p[off] = 1;
    uint64_t t1 = tsc_stop();
    munmap((void *)p, len);
    r->ok = true;
    r->ops = FIRST_TOUCH_PAGES;
    r->cycles = t1 - t0;
}

/* ---- mem.pt_update ---------------------------------------------------------- */

/*
 * Page-table update throughput: mmap 512 pages with MAP_POPULATE, read one
 * word of each (as the guest's pt_update does: a mapping is made to be
 * used), munmap them; one op is one page mapped, read and unmapped.  The pages are those of a
 * 2 MiB memfd (shmem) allocated once, before timing: every mmap then only
 * points 512 PTEs at page-cache pages that exist (the read faults of
 * MAP_POPULATE on a shared file mapping, 16 PTEs per fault with the
 * kernel's fault-around), and munmap clears them and flushes the TLB.
 * Nothing is allocated or zeroed (mem.first_touch measures that): this is
 * what the guest's pt_update does, writing PTEs for frames that exist and
 * invalidating them.  The mmap/munmap calls and their VMA are shared by the
 * 512 pages.  (An anonymous read-only mapping would do the same with the
 * shared zero page on most kernels, but not where the zero page is turned
 * off, as on hvlab's PVM development VM, booted with pvm_no_zero_page=1:
 * there every PTE would get a freshly zeroed page.)
 *
 * 4 KiB entries only: PR_SET_THP_DISABLE keeps this process's mappings from
 * THP while it runs, and smaps is checked for a shmem page mapped by a PMD
 * (shmem's own THP setting, /sys/kernel/mm/transparent_hugepage/shmem_enabled,
 * is "never" by default).
 */
#define PT_BATCH_PAGES 512u

struct pt_state {
    int fd;
    char why[REASON_MAX];
};

static uint64_t pt_loop(void *state, uint64_t n)
{
    struct pt_state *st = state;
    size_t len = (size_t)PT_BATCH_PAGES * PAGE;
    uint64_t t0 = tsc_start();
    for (uint64_t i = 0; i < n; i++) {
        void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, st->fd, 0);
        if (p == MAP_FAILED) {
            snprintf(st->why, sizeof(st->why), "mmap of %u memfd pages with MAP_POPULATE: %s",
                     PT_BATCH_PAGES, strerror(errno));
            return 0;
        }
        for (size_t off = 0; off < len; off += PAGE)
            (void)*(volatile const uint64_t *)((const char *)p + off);
        munmap(p, len);
    }
    return tsc_stop() - t0;
}

/* Whether a populated mapping of the memfd uses 4 KiB entries only. */
static bool pt_small_pages(struct pt_state *st, struct result *r)
{
    size_t len = (size_t)PT_BATCH_PAGES * PAGE;
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, st->fd, 0);
    if (p == MAP_FAILED) {
        result_na(r, "mmap of %u memfd pages with MAP_POPULATE: %s", PT_BATCH_PAGES,
                  strerror(errno));
        return false;
    }
    long pmd = smaps_kb(p, "ShmemPmdMapped");
    munmap(p, len);
    if (pmd > 0) {
        result_na(r, "the memfd is mapped with 2 MiB entries (shmem THP: "
                     "/sys/kernel/mm/transparent_hugepage/shmem_enabled), not 512 PTEs");
        return false;
    }
    return true;
}

void bench_pt_update(const struct env *e, size_t param, struct result *r)
{
    (void)param;
    struct pt_state st = {.fd = -1};
    /* Already disabled (by whoever started us): leave it as it is. */
    int was_disabled = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    if (was_disabled < 0) {
        result_na(r, "prctl(PR_GET_THP_DISABLE): %s", strerror(errno));
        return;
    }
    if (!was_disabled && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) {
        result_na(r, "prctl(PR_SET_THP_DISABLE): %s", strerror(errno));
        return;
    }
    st.fd = memfd_create("hvlab-pt_update", MFD_CLOEXEC);
    if (st.fd < 0) {
        result_na(r, "memfd_create: %s", strerror(errno));
    } else if (fallocate(st.fd, 0, 0, (off_t)PT_BATCH_PAGES * PAGE)) {
        result_na(r, "fallocate of %u pages in a memfd: %s", PT_BATCH_PAGES, strerror(errno));
    } else if (pt_small_pages(&st, r) && !measure(e, pt_loop, &st, PT_BATCH_PAGES, r)) {
        result_na(r, "%s", st.why);
    }
    if (st.fd >= 0)
        close(st.fd);
    if (!was_disabled)
        prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0); /* mem.chase_2m may come after */
}
