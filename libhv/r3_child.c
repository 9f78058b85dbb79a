/*
 * The ring-3 engine's child process: fork + exec of hvlab-r3-stub under
 * ptrace, and the round trips into the stub (injected syscalls, batches).
 *
 * Between fork and exec (async-signal-safe syscalls only, the monitor may be
 * multi-threaded): PR_SET_PDEATHSIG, the CPU pin, ADDR_NO_RANDOMIZE and a
 * finite stack rlimit (so that the stack, vDSO and brk all land at the top
 * of the hole, above the stub: r3_layout.h), guest RAM as fd 3 and the
 * control memfd as fd 4 and nothing else, an empty signal mask, default
 * dispositions, PTRACE_TRACEME.  After exec: PTRACE_O_EXITKILL |
 * PTRACE_O_TRACESYSGOOD, then the stub sets itself up (seccomp last) and
 * stops at R3_STUB_READY_TRAPPED.  Finally every mapping of the child is
 * checked: anything below the hole (there should be none) is unmapped.
 */
#include "libhv/r3_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi/hvlab_abi.h"

#define R3_STUB_NAME "hvlab-r3-stub"
#define R3_STACK_RLIMIT (8ull << 20)

static int find_stub(const struct r3_config *cfg, char *out, size_t n)
{
    const char *p = cfg ? cfg->stub_path : NULL;
    if (!p)
        p = secure_getenv("HVLAB_R3_STUB");
    if (p) {
        if ((size_t)snprintf(out, n, "%s", p) >= n)
            return -1;
        return access(out, X_OK);
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0)
        return -1;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    static const char *const rel[] = {"", "../lib/", "../../lib/"};
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if ((size_t)snprintf(out, n, "%s/%s" R3_STUB_NAME, exe, rel[i]) < n &&
            access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

int r3_wait(struct r3_child *c, int *status)
{
    for (;;) {
        pid_t r = waitpid(c->pid, status, __WALL);
        if (r == c->pid)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        c->dead = true;
        return -ESRCH;
    }
    c->stats.stops++;
    c->status = *status;
    if (WIFEXITED(*status) || WIFSIGNALED(*status)) {
        c->dead = true;
        return -ESRCH;
    }
    return 0;
}

int r3_stub_call(struct r3_child *c, struct user_regs_struct *regs, uint64_t expect_rip)
{
    if (c->dead)
        return -ESRCH;
    regs->orig_rax = (unsigned long long)-1; /* never a syscall restart */
    if (ptrace(PTRACE_SETREGS, c->pid, 0, regs) || ptrace(PTRACE_CONT, c->pid, 0, 0))
        return -errno;
    c->stats.stub_calls++;
    for (;;) {
        int st;
        int r = r3_wait(c, &st);
        if (r)
            return r;
        int sig = WSTOPSIG(st);
        if (sig == SIGTRAP) {
            if (ptrace(PTRACE_GETREGS, c->pid, 0, regs))
                return -errno;
            return regs->rip == expect_rip ? 0 : -EPROTO;
        }
        if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
            sig == (SIGTRAP | 0x80))
            return -EPROTO; /* the stub itself went wrong: never resume it */
        if (sig == R3_KICK_SIGNAL)
            c->kicked_pending = 1;
        if (ptrace(PTRACE_CONT, c->pid, 0, 0))      /* swallow the signal */
            return -errno;
    }
}

int r3_inject_syscall(struct r3_child *c, long nr, const uint64_t args[6], int64_t *ret)
{
    struct user_regs_struct r = c->stub_regs;
    r.rip = R3_STUB_GADGET;
    r.rax = (unsigned long long)nr;
    r.rdi = args[0];
    r.rsi = args[1];
    r.rdx = args[2];
    r.r10 = args[3];
    r.r8 = args[4];
    r.r9 = args[5];
    int e = r3_stub_call(c, &r, R3_STUB_GADGET_TRAPPED);
    if (e)
        return e;
    *ret = (int64_t)r.rax;
    return 0;
}

/* The child, between fork and exec: syscalls only. */
static void child_exec(const char *path, int ram_fd, int ctl_fd, int cpu, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
        _exit(126);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        _exit(126);
    int pers = personality(0xffffffff);
    if (pers == -1 || personality((unsigned long)pers | ADDR_NO_RANDOMIZE) == -1)
        _exit(126);
    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 &&
        (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > R3_STACK_RLIMIT)) {
        rl.rlim_cur = R3_STACK_RLIMIT;
        if (setrlimit(RLIMIT_STACK, &rl))
            _exit(126);
    }
    int ram = fcntl(ram_fd, F_DUPFD, 16);
    int ctl = fcntl(ctl_fd, F_DUPFD, 16);
    if (ram < 0 || ctl < 0 || dup2(ram, R3_RAM_FD) != R3_RAM_FD ||
        dup2(ctl, R3_CTL_FD) != R3_CTL_FD)
        _exit(126);
    if (syscall(SYS_close_range, 0u, 2u, 0u) ||
        syscall(SYS_close_range, (unsigned)R3_CTL_FD + 1, ~0u, 0u))
        _exit(126);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);   /* ignored signals survive exec */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (ptrace(PTRACE_TRACEME, 0, 0, 0))
        _exit(126);
    char *const argv[] = {(char *)R3_STUB_NAME, NULL};
    char *const envp[] = {NULL};
    execve(path, argv, envp);
    _exit(127);
}

/* Unmaps whatever the kernel put below the hole (vDSO/vvar with a legacy
 * layout); afterwards, nothing but guest mappings ever lives there. */
static int clean_lower_half(struct r3_child *c, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)c->pid);
    for (int pass = 0; pass < 2; pass++) {
        FILE *f = fopen(path, "re");
        if (!f) {
            snprintf(err, errlen, "r3: %s: %s", path, strerror(errno));
            return -1;
        }
        char line[512];
        unsigned found = 0;
        while (fgets(line, sizeof(line), f)) {
            unsigned long long lo, hi;
            if (sscanf(line, "%llx-%llx", &lo, &hi) != 2 || lo >= HVLAB_HOLE_BASE)
                continue;
            found++;
            if (pass == 0 && r3_unmap(c, lo, (hi < HVLAB_HOLE_BASE ? hi : HVLAB_HOLE_BASE) - lo))
                found = 1000;
        }
        fclose(f);
        if (!found)
            return 0;
        if (pass == 0 && found < 1000 && r3_flush(c, NULL) == 0)
            continue;
        snprintf(err, errlen, "r3: the stub has mappings below the hypervisor hole");
        return -1;
    }
    return 0;
}

int r3_child_create(struct r3_child **out, const struct guest_mem *gm,
                    const struct r3_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    int rc = -1;
    char path[PATH_MAX];
    if (find_stub(cfg, path, sizeof(path))) {
        snprintf(err, errlen, "r3: cannot find an executable %s (set HVLAB_R3_STUB)",
                 cfg && cfg->stub_path ? cfg->stub_path : R3_STUB_NAME);
        return -1;
    }
    if (!gm || gm->fd < 0 || !gm->size) {
        snprintf(err, errlen, "r3: no guest RAM");
        return -1;
    }
    struct r3_child *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "r3: out of memory");
        return -1;
    }
    c->ctl_fd = -1;
    c->ctl = MAP_FAILED;
    c->ram_size = gm->size;
    c->fast_faults = cfg && cfg->fast_faults;
    c->fast_gp = cfg && cfg->fast_gp;
    c->cpu = cfg && cfg->cpu >= 0 ? cfg->cpu : sched_getcpu();
    if (c->cpu < 0)
        c->cpu = 0;

    c->ctl_fd = memfd_create("hvlab-r3-ctl", MFD_CLOEXEC);
    if (c->ctl_fd < 0 || ftruncate(c->ctl_fd, R3_CTL_SIZE)) {
        snprintf(err, errlen, "r3: control memfd: %s", strerror(errno));
        goto fail;
    }
    c->ctl = mmap(NULL, R3_CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->ctl_fd, 0);
    if (c->ctl == MAP_FAILED) {
        snprintf(err, errlen, "r3: mapping the control memfd: %s", strerror(errno));
        goto fail;
    }
    c->ops = (struct r3_op *)c->ctl;
    if (r3_seccomp_write(c->ctl, R3_CTL_OPS_SIZE)) {
        snprintf(err, errlen, "r3: seccomp filter does not fit");
        goto fail;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c->cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set)) {
        snprintf(err, errlen, "r3: pinning the monitor to CPU %d: %s", c->cpu, strerror(errno));
        goto fail;
    }

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "r3: fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        child_exec(path, gm->fd, c->ctl_fd, c->cpu, parent);
    c->pid = pid;

    int st = 0;
    /* From here on a failure means the host forbids what the engine needs
     * (ptrace, the seccomp filter, the fixed mappings): R3_NOT_PERMITTED. */
    rc = R3_NOT_PERMITTED;
    if (r3_wait(c, &st) || WSTOPSIG(st) != SIGTRAP) {
        snprintf(err, errlen, "r3: %s did not start (%s %d): is ptrace permitted?", path,
                 WIFEXITED(st) ? "exit status" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? WTERMSIG(st) : WSTOPSIG(st));
        goto fail;
    }
    if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD) ||
        ptrace(PTRACE_CONT, pid, 0, 0)) {
        snprintf(err, errlen, "r3: ptrace options: %s", strerror(errno));
        goto fail;
    }
    if (r3_wait(c, &st) || WSTOPSIG(st) != SIGTRAP ||
        ptrace(PTRACE_GETREGS, pid, 0, &c->stub_regs) ||
        c->stub_regs.rip != R3_STUB_READY_TRAPPED) {
        if (c->dead && WIFEXITED(st) && WEXITSTATUS(st) > R3_STUB_FAIL_BASE)
            snprintf(err, errlen, "r3: stub set-up step %d failed",
                     WEXITSTATUS(st) - R3_STUB_FAIL_BASE);
        else
            snprintf(err, errlen, "r3: stub did not reach its ready point");
        goto fail;
    }
    memset(c->ctl, 0, R3_CTL_OPS_SIZE);     /* the filter is installed   */
    rc = -1;
    if (clean_lower_half(c, err, errlen))
        goto fail;
    c->stats = (struct r3_stats){0};
    *out = c;
    return 0;
fail:
    r3_child_destroy(c);
    return rc;
}

void r3_child_destroy(struct r3_child *c)
{
    if (!c)
        return;
    if (c->pid > 0 && !c->dead) {
        kill(c->pid, SIGKILL);
        int st;
        while (waitpid(c->pid, &st, __WALL) == c->pid && !WIFEXITED(st) && !WIFSIGNALED(st))
            ;
    }
    if (c->ctl != MAP_FAILED)
        munmap(c->ctl, R3_CTL_SIZE);
    if (c->ctl_fd >= 0)
        close(c->ctl_fd);
    free(c);
}

pid_t r3_child_pid(const struct r3_child *c) { return c->pid; }
int r3_child_cpu(const struct r3_child *c) { return c->cpu; }
void r3_get_stats(const struct r3_child *c, struct r3_stats *st) { *st = c->stats; }

int r3_kick(struct r3_child *c)
{
    if (c->dead)
        return -ESRCH;
    return kill(c->pid, R3_KICK_SIGNAL) ? -errno : 0;
}
