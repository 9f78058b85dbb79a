/*
 * Running one row's command: fork, exec, wait with a time limit.  The child
 * gets its own process group so that a time-out kills what it started too
 * (QEMU under tests/svm/run.sh, the container row's inner processes).
 */
#include "bench/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In the child: stdin from /dev/null, stdout/stderr to the files. */
static void child_exec(char *const argv[], const char *out_path, const char *err_path)
{
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int errfd = strcmp(out_path, err_path) ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                                                   0644)
                                            : out;
    if (in < 0 || out < 0 || errfd < 0)
        _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(errfd, 2);
    execv(argv[0], argv);
    dprintf(2, PROG ": cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int spawn_run(char *const argv[], const char *out_path, const char *err_path, double timeout_s,
              struct spawn_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    double t0 = now_s();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        child_exec(argv, out_path, err_path);
    setpgid(pid, pid);
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            snprintf(err, errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
        if (!r->timed_out && now_s() - t0 > timeout_s) {
            r->timed_out = true;
            kill(-pid, SIGKILL);
        }
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    r->seconds = now_s() - t0;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;
    if (f) {
        FILE *m = open_memstream(&buf, &len);
        char chunk[8192];
        size_t n;
        while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            fwrite(chunk, 1, n, m);
        if (m)
            fclose(m);
        fclose(f);
    }
    if (!buf)
        buf = calloc(1, 1);
    return buf;
}

void last_line(const char *path, char *buf, size_t len)
{
    char *text = slurp(path);
    buf[0] = '\0';
    char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        *--end = '\0';
    char *start = end;
    while (start > text && start[-1] != '\n')
        start--;
    snprintf(buf, len, "%s", start);
    free(text);
}
