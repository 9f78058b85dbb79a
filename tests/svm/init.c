/* /init of the SVM test's initramfs (tests/svm/run.sh).
 *
 * Runs as PID 1 in Debian's kernel under `qemu-system-x86_64 -accel tcg
 * -cpu EPYC,+svm,+npt` (MACHINE-NOTES.md, "True AMD-V for KVM"):
 *   1. mounts /proc, /sys, /dev (devtmpfs) and /tmp (tmpfs);
 *   2. loads /modules/{irqbypass,kvm,ccp,kvm-amd}.ko with finit_module(2)
 *      (ccp may fail: reported, not fatal); module parameters are taken from
 *      the kernel command line as modprobe would (e.g. kvm_amd.npt=0);
 *   3. prints "svm-init: kvm_amd npt=<value>" and fails unless it is the
 *      expected value (Y, or hvlab.npt=N|any on the command line);
 *   4. makes sure /dev/kvm exists (mknod c 10 232 otherwise);
 *   5. runs the commands of /commands (or hvlab.commands=PATH) one after the
 *      other and prints "svm-init: command N exit status S" for each;
 *   6. reports the outcome through isa-debug-exit (port 0xf4): 0 when every
 *      command's status was the expected one, 1 when one was not, 2 when the
 *      set-up (modules, npt, /dev/kvm, the command list) failed; QEMU then
 *      exits with (value << 1) | 1.  Power-off is the fallback.
 *
 * /commands: one command a line, '#' starts a comment line.  Fields are
 * separated by single spaces and %-encoded (%20 space, %25 '%', %09 tab,
 * %0A newline; "%-" alone is the empty argument):
 *     EXPECT TIMEOUT ARG0 [ARG1 ...]
 *   EXPECT   the expected exit status (0-255), or "any"
 *   TIMEOUT  seconds before the command's process group is killed (status
 *            124, as timeout(1)); 0 means no limit
 *   ARG0     a path; without '/' it is looked up in /bin, then in /.
 * A command killed by signal S reports status 128+S.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h> /* ioperm, iopl, outb(value, port) */
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEBUG_EXIT_PORT 0xf4
#define MAX_ARGS 256
#define CMDLINE_MAX 4096

enum outcome { OUT_OK = 0, OUT_MISMATCH = 1, OUT_SETUP = 2 };

static char cmdline[CMDLINE_MAX];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    /* one write per line: keeps lines whole between processes */
    ssize_t w = write(STDOUT_FILENO, "svm-init: ", 10);
    w = write(STDOUT_FILENO, buf, (size_t)n);
    (void)w;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void finish(enum outcome o) __attribute__((noreturn));
static void finish(enum outcome o)
{
    static const char *const names[] = {"PASS", "FAIL (a command's status was not the expected one)",
                                        "FAIL (set-up)"};
    say("result: %s; isa-debug-exit value %d", names[o], (int)o);
    /* let the UART drain before QEMU goes away */
    tcdrain(STDOUT_FILENO);
    sync();
    if (ioperm(DEBUG_EXIT_PORT, 4, 1) == 0 || iopl(3) == 0)
        outb((unsigned char)o, DEBUG_EXIT_PORT);
    else
        say("ioperm(0x%x) failed: %s; powering off", DEBUG_EXIT_PORT, strerror(errno));
    reboot(RB_POWER_OFF);
    say("reboot(POWER_OFF) failed: %s", strerror(errno));
    for (;;)
        pause();
}

/* ---- kernel command line ------------------------------------------------ */

static void read_cmdline(void)
{
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    if (n < 0)
        n = 0;
    cmdline[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if (cmdline[i] == '\n')
            cmdline[i] = ' ';
}

/* The next space-separated word of the kernel command line after *cursor:
 * returns its start and length and advances *cursor, or NULL at the end. */
static const char *next_word(const char **cursor, size_t *len)
{
    const char *p = *cursor;
    while (*p == ' ')
        p++;
    if (!*p)
        return NULL;
    const char *e = strchr(p, ' ');
    if (!e)
        e = p + strlen(p);
    *len = (size_t)(e - p);
    *cursor = e;
    return p;
}

/* Value of "key=value" on the kernel command line (copied), or NULL. */
static const char *param(const char *key, char *out, size_t outsz)
{
    size_t kl = strlen(key), n;
    const char *cur = cmdline, *p;
    while ((p = next_word(&cur, &n))) {
        if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = n - kl - 1;
            if (vl >= outsz)
                vl = outsz - 1;
            memcpy(out, p + kl + 1, vl);
            out[vl] = '\0';
            return out;
        }
    }
    return NULL;
}

/* Module parameters "mod.x=y" from the command line, as "x=y x2=y2".
 * mod uses '_' ("kvm_amd"); the command line may use '-' as well. */
static void module_params(const char *mod, char *out, size_t outsz)
{
    size_t ml = strlen(mod), used = 0, n;
    const char *cur = cmdline, *p;
    out[0] = '\0';
    while ((p = next_word(&cur, &n))) {
        int match = n > ml + 1 && p[ml] == '.';
        for (size_t i = 0; match && i < ml; i++)
            match = (p[i] == '-' ? '_' : p[i]) == mod[i];
        if (match) {
            size_t l = n - ml - 1;
            if (used + l + 2 < outsz) {
                if (used)
                    out[used++] = ' ';
                memcpy(out + used, p + ml + 1, l);
                used += l;
                out[used] = '\0';
            }
        }
    }
}

/* ---- set-up ------------------------------------------------------------- */

static int do_mount(const char *src, const char *dir, const char *type, const char *data)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        say("mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    if (mount(src, dir, type, MS_NOSUID, data) < 0 && errno != EBUSY) {
        say("mount %s on %s: %s", type, dir, strerror(errno));
        return -1;
    }
    return 0;
}

static void console_fds(void)
{
    if (fcntl(STDOUT_FILENO, F_GETFD) >= 0 && fcntl(STDERR_FILENO, F_GETFD) >= 0)
        return;
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return;
    for (int i = 0; i < 3; i++)
        if (fcntl(i, F_GETFD) < 0)
            dup2(fd, i);
    if (fd > 2)
        close(fd);
}

static int read_small(const char *path, char *buf, size_t sz)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sz - 1);
    close(fd);
    if (n < 0)
        return -1;
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    return 0;
}

/* 0 loaded (or already there), -1 failed */
static int load_module(const char *file, const char *name)
{
    char path[256], params[CMDLINE_MAX];
    snprintf(path, sizeof path, "/modules/%s", file);
    module_params(name, params, sizeof params);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say("module %s: open %s: %s", name, path, strerror(errno));
        return -1;
    }
    double t0 = now_s();
    long r = syscall(SYS_finit_module, fd, params, 0);
    int err = errno;
    close(fd);
    if (r < 0 && err != EEXIST) {
        say("module %s: finit_module: %s", name, strerror(err));
        return -1;
    }
    say("module %s: %s%s%s (%.3f s)", name, r < 0 ? "already loaded" : "loaded",
        params[0] ? ", parameters: " : "", params, now_s() - t0);
    return 0;
}

static int ensure_dev_kvm(void)
{
    struct stat st;
    if (stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode))
        return 0;
    unsigned maj = 10, min = 232;
    char buf[64];
    if (read_small("/sys/class/misc/kvm/dev", buf, sizeof buf) == 0)
        sscanf(buf, "%u:%u", &maj, &min);
    unlink("/dev/kvm");
    if (mknod("/dev/kvm", S_IFCHR | 0666, makedev(maj, min)) < 0) {
        say("mknod /dev/kvm c %u %u: %s", maj, min, strerror(errno));
        return -1;
    }
    say("created /dev/kvm (c %u %u)", maj, min);
    return 0;
}

/* ---- commands ----------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* in-place %-decoding; -1 on a malformed escape */
static int pct_decode(char *s)
{
    char *o = s;
    if (strcmp(s, "%-") == 0) { /* the empty argument */
        s[0] = '\0';
        return 0;
    }
    for (char *p = s; *p; p++) {
        if (*p == '%') {
            int h = hexval((unsigned char)p[1]), l = h < 0 ? -1 : hexval((unsigned char)p[2]);
            if (h < 0 || l < 0)
                return -1;
            *o++ = (char)(h * 16 + l);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return 0;
}

static void exec_cmd(char **argv)
{
    static char *const envp[] = {"PATH=/bin:/", "HOME=/", "TERM=dumb", "LC_ALL=C", NULL};
    char path[512];
    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, envp);
    } else {
        snprintf(path, sizeof path, "/bin/%s", argv[0]);
        execve(path, argv, envp);
        snprintf(path, sizeof path, "/%s", argv[0]);
        execve(path, argv, envp);
    }
    fprintf(stderr, "svm-init: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Runs argv with a timeout (0 = none); returns the status as a shell would
 * (exit code, 128+signal, 124 on timeout), or -1 if it could not start. */
static int run_cmd(char **argv, unsigned timeout_s, int *timed_out)
{
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    *timed_out = 0;

    pid_t pid = fork();
    if (pid < 0) {
        say("fork: %s", strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        setpgid(0, 0);
        exec_cmd(argv);
    }
    setpgid(pid, pid);

    double deadline = timeout_s ? now_s() + timeout_s : 0;
    int status = 0;
    for (;;) {
        /* reap: the command, and any orphan re-parented to us */
        pid_t w;
        int st;
        int done = 0;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0)
            if (w == pid) {
                status = st;
                done = 1;
            }
        if (done)
            break;
        if (w < 0 && errno == ECHILD) {
            status = 127 << 8;
            break;
        }
        struct timespec ts = {1, 0};
        if (deadline) {
            double left = deadline - now_s();
            if (left <= 0) {
                if (!*timed_out) {
                    say("command timed out after %u s: killing it", timeout_s);
                    kill(-pid, SIGKILL);
                    kill(pid, SIGKILL);
                    *timed_out = 1;
                }
                left = 1;
            }
            if (left < 1) {
                ts.tv_sec = 0;
                ts.tv_nsec = (long)(left * 1e9);
            }
        }
        sigtimedwait(&chld, NULL, &ts);
    }
    kill(-pid, SIGKILL); /* leftovers of its process group */
    sigprocmask(SIG_SETMASK, &old, NULL);

    if (*timed_out)
        return 124;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
        say("command killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        return 128 + WTERMSIG(status);
    }
    return -1;
}

static enum outcome run_commands(const char *file)
{
    FILE *f = fopen(file, "re");
    if (!f) {
        say("no command list %s: %s", file, strerror(errno));
        return OUT_SETUP;
    }
    char *line = NULL;
    size_t cap = 0;
    int n = 0, bad = 0, lineno = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        char *tok[MAX_ARGS + 3];
        int nt = 0;
        for (char *s = strtok(line, " "); s && nt < MAX_ARGS + 2; s = strtok(NULL, " "))
            tok[nt++] = s;
        tok[nt] = NULL;
        int expect = -1;
        char *end;
        if (nt < 3) {
            say("%s:%d: malformed line (need EXPECT TIMEOUT ARG0 ...)", file, lineno);
            fclose(f);
            return OUT_SETUP;
        }
        for (int i = 0; i < nt; i++)
            if (pct_decode(tok[i]) < 0) {
                say("%s:%d: bad %%-escape in field %d", file, lineno, i + 1);
                fclose(f);
                return OUT_SETUP;
            }
        if (strcmp(tok[0], "any") != 0) {
            long e = strtol(tok[0], &end, 10);
            if (*end || e < 0 || e > 255) {
                say("%s:%d: bad expected status '%s'", file, lineno, tok[0]);
                fclose(f);
                return OUT_SETUP;
            }
            expect = (int)e;
        }
        unsigned long to = strtoul(tok[1], &end, 10);
        if (*end) {
            say("%s:%d: bad timeout '%s'", file, lineno, tok[1]);
            fclose(f);
            return OUT_SETUP;
        }
        char **argv = tok + 2;

        n++;
        char shown[1024];
        size_t used = 0;
        shown[0] = '\0';
        for (char **a = argv; *a && used < sizeof shown - 1; a++)
            used += (size_t)snprintf(shown + used, sizeof shown - used, "%s%s", a == argv ? "" : " ", *a);
        say("command %d: %s", n, shown);
        tcdrain(STDOUT_FILENO);

        double t0 = now_s();
        int timed_out;
        int st = run_cmd(argv, (unsigned)to, &timed_out);
        double dt = now_s() - t0;
        int ok = st >= 0 && (expect < 0 || st == expect);
        if (!ok)
            bad++;
        char exp[16];
        if (expect < 0)
            snprintf(exp, sizeof exp, "any");
        else
            snprintf(exp, sizeof exp, "%d", expect);
        say("command %d exit status %d (expected %s%s) %s in %.3f s", n, st, exp,
            timed_out ? ", timed out" : "", ok ? "ok" : "MISMATCH", dt);
    }
    free(line);
    fclose(f);
    if (n == 0) {
        say("%s lists no command", file);
        return OUT_SETUP;
    }
    say("%d command(s), %d with an unexpected status", n, bad);
    return bad ? OUT_MISMATCH : OUT_OK;
}

int main(void)
{
    if (getpid() != 1)
        fprintf(stderr, "svm-init: warning: not PID 1\n");
    /* devtmpfs first: /dev/console for the standard fds */
    int setup_ok = do_mount("devtmpfs", "/dev", "devtmpfs", "mode=0755") == 0;
    console_fds();
    setup_ok &= do_mount("proc", "/proc", "proc", NULL) == 0;
    setup_ok &= do_mount("sysfs", "/sys", "sysfs", NULL) == 0;
    do_mount("tmpfs", "/tmp", "tmpfs", "mode=1777");
    read_cmdline();

    char up[64] = "?";
    if (read_small("/proc/uptime", up, sizeof up) == 0)
        up[strcspn(up, " ")] = '\0';
    char kver[128] = "?";
    read_small("/proc/sys/kernel/osrelease", kver, sizeof kver);
    say("started, kernel %s, uptime %s s", kver, up);
    if (!setup_ok)
        finish(OUT_SETUP);

    static const struct { const char *file, *name; int optional; } mods[] = {
        {"irqbypass.ko", "irqbypass", 0},
        {"kvm.ko", "kvm", 0},
        {"ccp.ko", "ccp", 1},
        {"kvm-amd.ko", "kvm_amd", 0},
    };
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        if (load_module(mods[i].file, mods[i].name) < 0) {
            if (mods[i].optional) {
                say("module %s is optional: continuing", mods[i].name);
                continue;
            }
            finish(OUT_SETUP);
        }

    char npt[16] = "?", want[16];
    read_small("/sys/module/kvm_amd/parameters/npt", npt, sizeof npt);
    say("kvm_amd npt=%s", npt);
    if (!param("hvlab.npt", want, sizeof want))
        strcpy(want, "Y");
    if (strcmp(want, "any") != 0 && strcmp(npt, want) != 0) {
        say("kvm_amd npt is %s, expected %s", npt, want);
        finish(OUT_SETUP);
    }
    if (ensure_dev_kvm() < 0)
        finish(OUT_SETUP);

    if (read_small("/proc/uptime", up, sizeof up) == 0)
        up[strcspn(up, " ")] = '\0';
    say("ready at uptime %s s", up);

    char file[256];
    if (!param("hvlab.commands", file, sizeof file))
        strcpy(file, "/commands");
    finish(run_commands(file));
}
