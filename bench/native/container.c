/*
 * --container: the `container` row, OS-level virtualization (OpenVZ, LXC,
 * Docker, and the namespaces under them).  There is no monitor and no
 * second kernel: the workloads stay an ordinary process of the host kernel,
 * which just gives it its own view of the system:
 *   user  its own uid/gid mapping: root (uid 0) inside, our uid outside
 *   pid   its own process numbers: the workload runs as PID 1
 *   mnt   its own mount table (propagation private: nothing leaks back)
 *   net   its own network stack (only a loopback device, left down)
 *   uts   its own hostname;  ipc  its own System V IPC and POSIX queues
 * A namespace is a pointer in the task's nsproxy/cred that the kernel
 * follows when it resolves a name (a pid, a path, an interface, a key); the
 * instructions, system calls, faults, context switches and page walks that
 * hvlab measures take the same path with or without it.  So the point of
 * this row is that it costs ~nothing compared with `native`: isolation
 * without an exit.  (What it does not give is a kernel of one's own: a
 * container cannot do what exit.cli_sti and friends measure any more than a
 * process can.)
 *
 * The same steps as `unshare --user --map-root-user --pid --fork --mount
 * --net --uts --ipc`, one at a time so that a refusal names its namespace.
 */
#include "bench/native/native.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The first line of a /proc/sys file, or "" (no trailing newline). */
static void read_sysctl(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (!fgets(buf, (int)len, f))
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

/* Whether a seccomp filter is installed on this process ("Seccomp:" in
 * /proc/self/status: 0 none, 1 strict, 2 filter). */
static bool under_seccomp_filter(void)
{
    char line[256];
    bool filtered = false;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return false;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "Seccomp:", 8))
            filtered = atoi(line + 8) == 2;
    fclose(f);
    return filtered;
}

/* 1 when our root directory is not init's (a chroot), 0 when it is, -1 when
 * /proc cannot tell (not mounted, as in most chroots). */
static int chrooted(void)
{
    struct stat ours, init;
    if (stat("/", &ours) || stat("/proc/1/root/", &init))
        return -1;
    return ours.st_dev != init.st_dev || ours.st_ino != init.st_ino;
}

/*
 * Why unshare(CLONE_NEWUSER) failed, in the words of the setting behind it
 * (user_namespaces(7), unshare(2)).
 */
static void why_no_userns(int err, char *why, size_t len)
{
    char v[64];
    const char *e = strerror(err);
    if (err == EINVAL) {
        snprintf(why, len, "unshare(CLONE_NEWUSER): %s — this kernel has no user namespaces "
                           "(built without CONFIG_USER_NS)", e);
    } else if (err == ENOSPC) {
        read_sysctl("/proc/sys/user/max_user_namespaces", v, sizeof(v));
        snprintf(why, len, "unshare(CLONE_NEWUSER): %s — the limit on user namespaces is reached "
                           "(sysctl user.max_user_namespaces=%s)", e, v[0] ? v : "?");
    } else if (err == EUSERS) {
        snprintf(why, len, "unshare(CLONE_NEWUSER): %s — user namespaces are nested 32 deep "
                           "already (the kernel's limit)", e);
    } else if (err == EPERM) {
        read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", v, sizeof(v));
        if (geteuid() != 0 && !strcmp(v, "0")) {
            snprintf(why, len, "unshare(CLONE_NEWUSER): %s — user namespaces are disabled "
                               "(sysctl kernel.unprivileged_userns_clone=0)", e);
        } else if (under_seccomp_filter()) {
            snprintf(why, len, "unshare(CLONE_NEWUSER): %s — a seccomp filter refuses it "
                               "(Seccomp: 2 in /proc/self/status; a container runtime's default "
                               "profile blocks unshare)", e);
        } else if (chrooted() == 1) {
            snprintf(why, len, "unshare(CLONE_NEWUSER): %s — this process runs in a chroot "
                               "(its root is not its mount namespace's root: unshare(2) refuses)",
                     e);
        } else {
            snprintf(why, len, "unshare(CLONE_NEWUSER): %s — refused by a security module, or "
                               "this process runs in a chroot (user namespaces refuse both)", e);
        }
    } else {
        snprintf(why, len, "unshare(CLONE_NEWUSER): %s", e);
    }
}

/* Writes s to a /proc file; false with why set when it cannot. */
static bool write_proc(const char *path, const char *s, char *why, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n = -1;
    if (fd >= 0) {
        n = write(fd, s, strlen(s));
        int err = errno;
        close(fd);
        errno = err;
    }
    if (n == (ssize_t)strlen(s))
        return true;
    snprintf(why, len, "writing '%.*s' to %s: %s", (int)strcspn(s, "\n"), s, path,
             strerror(errno));
    return false;
}

/* The other namespaces: one unshare each, so that a refusal names it. */
static const struct {
    int flag;
    const char *flag_name, *config, *sysctl;
} namespaces[] = {
    {CLONE_NEWNS, "CLONE_NEWNS", "CONFIG_NAMESPACES", "max_mnt_namespaces"},
    {CLONE_NEWPID, "CLONE_NEWPID", "CONFIG_PID_NS", "max_pid_namespaces"},
    {CLONE_NEWNET, "CLONE_NEWNET", "CONFIG_NET_NS", "max_net_namespaces"},
    {CLONE_NEWUTS, "CLONE_NEWUTS", "CONFIG_UTS_NS", "max_uts_namespaces"},
    {CLONE_NEWIPC, "CLONE_NEWIPC", "CONFIG_IPC_NS", "max_ipc_namespaces"},
};

static bool unshare_one(size_t i, char *why, size_t len)
{
    char path[96], v[64];
    if (unshare(namespaces[i].flag) == 0)
        return true;
    int err = errno;
    const char *e = strerror(err);
    if (err == EINVAL) {
        snprintf(why, len, "unshare(%s): %s — this kernel was built without %s",
                 namespaces[i].flag_name, e, namespaces[i].config);
    } else if (err == ENOSPC) {
        snprintf(path, sizeof(path), "/proc/sys/user/%s", namespaces[i].sysctl);
        read_sysctl(path, v, sizeof(v));
        snprintf(why, len, "unshare(%s): %s — the limit is reached (sysctl user.%s=%s)",
                 namespaces[i].flag_name, e, namespaces[i].sysctl, v[0] ? v : "?");
    } else if (err == EPERM) {
        snprintf(why, len, "unshare(%s): %s — no CAP_SYS_ADMIN in the new user namespace "
                           "(a security module such as AppArmor's "
                           "kernel.apparmor_restrict_unprivileged_userns=1 takes it away)",
                 namespaces[i].flag_name, e);
    } else {
        snprintf(why, len, "unshare(%s): %s", namespaces[i].flag_name, e);
    }
    return false;
}

/* In PID 1 of a pid namespace, a signal with no handler is ignored when it
 * comes from inside or from an ancestor namespace (only SIGKILL and SIGSTOP
 * from an ancestor are forced: pid_namespaces(7)).  Handlers make Ctrl-C and
 * a harness's SIGTERM end the workload as they would end `native`. */
static void on_stop_signal(int sig)
{
    _exit(128 + sig);
}

int container_enter(char *why, size_t len)
{
    /* Who we are outside, read before the new user namespace maps it. */
    unsigned uid = (unsigned)geteuid(), gid = (unsigned)getegid();
    char map[64];

    /* 1. user: first, so that it owns the namespaces created after it and
     *    this process holds every capability in it (user_namespaces(7)). */
    if (unshare(CLONE_NEWUSER)) {
        why_no_userns(errno, why, len);
        return -1;
    }
    /* Root inside = our uid outside, one id each way.  An unprivileged
     * writer may map only its own ids, and for gids only after setgroups(2)
     * is denied in the namespace (Linux 3.19, CVE-2014-8989); no file before
     * that kernel, so ENOENT is fine. */
    snprintf(map, sizeof(map), "0 %u 1\n", uid);
    if (!write_proc("/proc/self/uid_map", map, why, len))
        return -1;
    if (access("/proc/self/setgroups", F_OK) == 0 &&
        !write_proc("/proc/self/setgroups", "deny\n", why, len))
        return -1;
    snprintf(map, sizeof(map), "0 %u 1\n", gid);
    if (!write_proc("/proc/self/gid_map", map, why, len))
        return -1;

    /* 2. mnt, pid, net, uts, ipc.  CLONE_NEWPID applies to the children we
     *    create from now on: the fork below makes the namespace's PID 1. */
    for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
        if (!unshare_one(i, why, len))
            return -1;
    /* The mount table was copied from the host with its propagation (shared
     * on systemd hosts): make every mount private, so that no mount or
     * unmount in here propagates back to the host's peers. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
        snprintf(why, len, "mount(\"/\", MS_REC|MS_PRIVATE): %s", strerror(errno));
        return -1;
    }

    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, len, "fork into the new pid namespace: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The kernel kills this process (SIGKILL, forced from the parent's
         * namespace) if the original one dies first. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        static const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
        for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
            signal(stops[i], on_stop_signal);
        if (getpid() != 1) {
            fprintf(stderr, PROG ": in the new pid namespace the workload is pid %d, not 1\n",
                    (int)getpid());
            _exit(1);
        }
        /* A /proc of the new pid namespace, as every container runtime
         * mounts: there this process is 1.  Not needed by the workloads
         * (/proc/self of the host's /proc still names this process), so a
         * refusal (a container runtime's masked /proc makes mounting a new
         * one "too revealing") is only a note. */
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
            fprintf(stderr, PROG ": note: mounting a new /proc in the container: %s; the "
                            "host's /proc stays\n", strerror(errno));
        return 0;
    }

    /* The original process: wait for PID 1 and end as it ended. */
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, PROG ": waitpid for the container's PID 1: %s\n", strerror(errno));
            exit(1);
        }
    }
    if (WIFEXITED(status))
        exit(WEXITSTATUS(status));
    fprintf(stderr, PROG ": the container's PID 1 was killed by signal %d (%s)\n",
            WTERMSIG(status), strsignal(WTERMSIG(status)));
    exit(128 + WTERMSIG(status));
}
