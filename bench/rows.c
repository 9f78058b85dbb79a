/*
 * The rows (docs/benchmarks.md §1): how each one runs the same suite, how its
 * output is read, and why it cannot run on a given machine.  A row that
 * cannot run, and a benchmark a run did not report, become n/a entries with
 * the reason: nothing is dropped silently.
 */
#include "bench/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/lib/catalogue.h"
#include "bench/lib/parse.h"
#include "bench/native/tsc_rate.h"

#define MAX_ARGV 64
#define GUEST_MAX_WORDS 14   /* the guest splits its command line into 16 words */

struct argv_builder {
    char *v[MAX_ARGV + 1];
    int n;
    char store[MAX_ARGV][256];
};

static void arg(struct argv_builder *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv_builder *a, const char *fmt, ...)
{
    if (a->n == MAX_ARGV)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->store[a->n], sizeof(a->store[0]), fmt, ap);
    va_end(ap);
    a->v[a->n] = a->store[a->n];
    a->v[++a->n] = NULL;
}

/* ---- what to ask for ------------------------------------------------------ */

static bool selected(const struct bench_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_benches; i++)
        if (!strcmp(c->benches[i], name))
            return true;
    return false;
}

/* The selection as guest words: a group's name when all of it is selected
 * (the guest's command line holds 16 words), else the names. */
static void add_selection(struct argv_builder *a, const struct bench_config *c)
{
    static const char *groups[] = {"exit", "mem", "io"};
    for (size_t g = 0; g < 3; g++) {
        bool all = true;
        for (size_t i = 0; i < bench_catalogue_len; i++)
            if (!strcmp(bench_catalogue[i].group, groups[g]) && !selected(c, bench_catalogue[i].name))
                all = false;
        if (all) {
            arg(a, "%s", groups[g]);
            continue;
        }
        for (size_t i = 0; i < bench_catalogue_len; i++)
            if (!strcmp(bench_catalogue[i].group, groups[g]) && selected(c, bench_catalogue[i].name))
                arg(a, "%s", bench_catalogue[i].name);
    }
}

/* The guest command line as one string, for QEMU's -append. */
static void guest_cmdline(const struct bench_config *c, char *buf, size_t len)
{
    struct argv_builder a = {0};
    const char *src;
    add_selection(&a, c);
    /* microvm (the qemu rows with a disk) has no PIT channel 2 the guest
     * could count the TSC against: tell it the host's rate, which is the
     * guest's under KVM and under TCG (rdtsc reads the host's counter). */
    int used = c->disk ? snprintf(buf, len, "tsc_khz=%llu bench min_ms=%u",
                                  (unsigned long long)host_tsc_khz(&src), c->min_ms)
                       : snprintf(buf, len, "bench min_ms=%u", c->min_ms);
    for (int i = 0; i < a.n && used > 0 && (size_t)used < len; i++)
        used += snprintf(buf + used, len - (size_t)used, " %s", a.v[i]);
}

/* A full run of the slowest row takes about a minute on hvlab's 2-core
 * development VM (hv-trap-emulate: ~20 s; hwassist-svm: ~30 s): the limits
 * leave room for a machine several times slower, and bound what a hang
 * costs (main.c gives up on a row after one). */
static unsigned guest_timeout(const struct bench_config *c)
{
    return c->quick ? 240 : 480;
}

/* ---- where things are ------------------------------------------------------- */

static bool find_in_path(const char *prog, char *out, size_t len)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t dl = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, len, "%.*s/%s", (int)dl, path, prog);
        if (access(out, X_OK) == 0)
            return true;
        path += dl + (colon ? 1 : 0);
    }
    return false;
}

static bool kvm_usable(char *why, size_t len)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return true;
    }
    if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
        snprintf(why, len, "no /dev/kvm on this machine (KVM is not available)");
    else
        snprintf(why, len, "/dev/kvm: %s", strerror(errno));
    return false;
}

static bool file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

void row_check(const struct bench_config *c, const char *row, struct row_plan *p)
{
    char path[512];
    memset(p, 0, sizeof(*p));
    p->row = row;
    p->available = true;
    /* First guesses for the progress line, from hvlab's 2-core development
     * VM (full run: native 3 s, trap-emulate 20 s, hwassist-svm 40 s); each
     * row's first run replaces its guess. */
    static const struct {
        const char *row;
        double quick, full;
    } guess[] = {{"native", 2, 5},         {"container", 2, 5},    {"trap-emulate", 3, 25},
                 {"paravirt", 2, 12},      {"hwassist", 3, 20},    {"qemu-tcg", 3, 15},
                 {"qemu-kvm", 3, 15},      {"hwassist-svm", 8, 45}, {"hwassist-ioeventfd", 2, 5},
                 {"hwassist-svm-ioeventfd", 6, 15}};
    p->est_seconds = c->quick ? 10 : 60;
    for (size_t i = 0; i < sizeof(guess) / sizeof(guess[0]); i++)
        if (!strcmp(guess[i].row, row))
            p->est_seconds = c->quick ? guess[i].quick : guess[i].full;
    if (!strcmp(row, "hwassist") || !strcmp(row, "qemu-kvm") || !strcmp(row, "hwassist-ioeventfd"))
        p->available = kvm_usable(p->why_not, sizeof(p->why_not));
    const struct row_def *rd = row_find(row);
    if (p->available && rd && rd->io_only) {
        bool any_io = false;
        for (size_t i = 0; i < c->n_benches; i++)
            any_io |= !strncmp(c->benches[i], "io.", 3);
        if (!any_io || !c->disk) {
            p->available = false;
            snprintf(p->why_not, sizeof(p->why_not), "%s",
                     !any_io ? "no io benchmark selected (the row runs only the io group)"
                             : "no disk image for the io group");
        }
    }
    if (p->available && !strncmp(row, "qemu-", 5) &&
        !find_in_path("qemu-system-x86_64", path, sizeof(path))) {
        p->available = false;
        snprintf(p->why_not, sizeof(p->why_not),
                 "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
    }
    if (p->available && !strncmp(row, "hwassist-svm", 12)) {
        snprintf(path, sizeof(path), "%s/bin/hv-hwassist.static", c->build);
        if (!file_exists(path)) {
            p->available = false;
            snprintf(p->why_not, sizeof(p->why_not), "%.200s is not built (make test-build)", path);
        }
    }
}

/* ---- running one row once ---------------------------------------------------- */

struct row_cmd {
    struct argv_builder a;
    int expect_status;            /* the status of a run that went well */
    bool stats_in_console;        /* the stats block is in the console log */
};

static void monitor_cmd(const struct bench_config *c, const char *mon, bool ioeventfd,
                        const char *stats_path, struct row_cmd *r)
{
    arg(&r->a, "%s/bin/%s", c->build, mon);
    arg(&r->a, "--mem");
    arg(&r->a, "%u", c->guest_mem_mib);
    arg(&r->a, "--timeout");
    arg(&r->a, "%u", guest_timeout(c));
    arg(&r->a, "--stats-file");
    arg(&r->a, "%s", stats_path);
    if (c->disk) {
        arg(&r->a, "--disk");
        arg(&r->a, "%s", c->disk);
    }
    if (ioeventfd)
        arg(&r->a, "--ioeventfd");
    arg(&r->a, "%s/guest/guestkernel.elf", c->build);
    arg(&r->a, "bench");
    arg(&r->a, "min_ms=%u", c->min_ms);
    add_selection(&r->a, c);
}

static void qemu_cmd(const struct bench_config *c, bool kvm, struct row_cmd *r)
{
    char path[512], cmdline[512];
    find_in_path("qemu-system-x86_64", path, sizeof(path));
    guest_cmdline(c, cmdline, sizeof(cmdline));
    const char *fixed[] = {"-cpu", kvm ? "host" : "max", "-display", "none", "-serial", "stdio",
                           "-monitor", "none", "-no-reboot", "-device",
                           "isa-debug-exit,iobase=0xf4,iosize=0x04"};
    arg(&r->a, "%s", path);
    arg(&r->a, "-accel");
    arg(&r->a, "%s", kvm ? "kvm" : "tcg");
    arg(&r->a, "-m");
    arg(&r->a, "%u", c->guest_mem_mib);
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        arg(&r->a, "%s", fixed[i]);
    /* The io group: QEMU's own virtio-blk on the microvm machine, whose
     * virtio-mmio windows the guest finds by their magic (virtio.c); a
     * modern (version 2) transport, as the hvlab monitors give. */
    if (c->disk) {
        const char *io[] = {"-M", "microvm", "-global", "virtio-mmio.force-legacy=false",
                            "-device", "virtio-blk-device,drive=d0"};
        for (size_t i = 0; i < sizeof(io) / sizeof(io[0]); i++)
            arg(&r->a, "%s", io[i]);
        arg(&r->a, "-drive");
        arg(&r->a, "file=%s,if=none,id=d0,format=raw", c->disk);
    }
    arg(&r->a, "-kernel");
    arg(&r->a, "%s/guest/guestkernel.elf", c->build);
    arg(&r->a, "-append");
    arg(&r->a, "%s", cmdline);
    r->expect_status = 1; /* isa-debug-exit: (0 << 1) | 1 */
}

/* hv-hwassist inside QEMU TCG with AMD-V + NPT (tests/svm/run.sh); its
 * statistics file goes to stderr, which the VM's console carries. */
static void svm_cmd(const struct bench_config *c, bool ioeventfd, const char *log_path,
                    struct row_cmd *r)
{
    unsigned t = guest_timeout(c);
    arg(&r->a, "/bin/sh");
    arg(&r->a, "tests/svm/run.sh");
    arg(&r->a, "--timeout");
    arg(&r->a, "%u", t);
    arg(&r->a, "--qemu-timeout");
    arg(&r->a, "%u", t + 60);
    arg(&r->a, "--mem");
    arg(&r->a, "%u", c->guest_mem_mib + 1024 + (c->disk ? BENCH_DISK_MIB : 0));
    arg(&r->a, "--log");
    arg(&r->a, "%s", log_path);
    if (c->disk) {               /* the image travels in the VM's initramfs */
        arg(&r->a, "--file");
        arg(&r->a, "%s:/disk.img", c->disk);
    }
    arg(&r->a, "--");
    arg(&r->a, "/hv-hwassist");
    arg(&r->a, "--mem");
    arg(&r->a, "%u", c->guest_mem_mib);
    if (c->disk) {
        arg(&r->a, "--disk");
        arg(&r->a, "/disk.img");
    }
    if (ioeventfd)
        arg(&r->a, "--ioeventfd");
    arg(&r->a, "--stats-file");
    arg(&r->a, "-");
    arg(&r->a, "/guestkernel.elf");
    arg(&r->a, "bench");
    arg(&r->a, "min_ms=%u", c->min_ms);
    add_selection(&r->a, c);
    r->stats_in_console = true;
}

/* Why a whole run produced nothing usable, in one line. */
static void run_failure(const struct row_cmd *rc, const struct spawn_result *sr, const char *out,
                        const char *errp, char *why, size_t len)
{
    char line[300];
    if (sr->timed_out) {
        snprintf(why, len, "the run did not finish within %.0f s", sr->seconds);
        return;
    }
    /* A row that cannot run here says so (status 77) in its last line, or in
     * a "bench: unavailable" / "SKIP:" line. */
    char *text = slurp(out);
    const char *u = strstr(text, "bench: unavailable ");
    const char *s = strstr(text, "SKIP: ");
    if (u || s) {
        const char *from = u ? u + strlen("bench: unavailable ") : s + strlen("SKIP: ");
        snprintf(why, len, "%.*s", (int)strcspn(from, "\r\n"), from);
        free(text);
        return;
    }
    free(text);
    last_line(errp, line, sizeof(line));
    snprintf(why, len, "the run failed (exit status %d, expected %d)%s%.180s", sr->status,
             rc->expect_status, line[0] ? ": " : "", line);
}

/* Adds what one run reported for every selected benchmark. */
static void collect(const struct bench_config *c, const char *row, const struct console_run *con,
                    const struct stats_file *sf, const char *failed, struct results *res)
{
    for (size_t i = 0; i < c->n_benches; i++) {
        const char *name = c->benches[i];
        const struct bench_def *d = bench_find(name);
        const struct console_line *l = con ? console_find(con, name) : NULL;
        char why[BENCH_REASON_MAX];
        if (l && l->na) {
            results_set_na(res, row, name, l->reason);
            continue;
        }
        if (!l) {
            snprintf(why, sizeof(why), "%s", failed ? failed : "the run printed no result for it");
            results_set_na(res, row, name, why);
            continue;
        }
        struct exit_profile ep;
        const struct exit_profile *pp = NULL;
        if (sf && !stats_exit_profile(sf, name, &ep, why, sizeof(why)))
            pp = &ep;
        results_add_sample(res, row, name, d ? d->unit : l->unit, console_value_ns(l), pp);
        if (l->p50_ns && l->p99_ns)
            results_add_percentiles(res, row, name, (double)l->p50_ns, (double)l->p99_ns);
    }
}

double row_run(const struct bench_config *c, const char *row, unsigned run, const char *log_dir,
               struct results *res, bool *timed_out)
{
    char out[600], errp[600], stats[600], why[BENCH_REASON_MAX], perr[300];
    snprintf(out, sizeof(out), "%s/%s.run%u.console", log_dir, row, run);
    snprintf(errp, sizeof(errp), "%s/%s.run%u.stderr", log_dir, row, run);
    snprintf(stats, sizeof(stats), "%s/%s.run%u.stats", log_dir, row, run);

    struct row_cmd rc = {0};
    const struct row_def *rd = row_find(row);
    bool counters = rd && rd->exit_counters;
    /* An io-only row runs the io benchmarks selected; the rest are the
     * plain row's. */
    struct bench_config io_c;
    const char *io_names[256];
    if (rd && rd->io_only) {
        io_c = *c;
        io_c.benches = io_names;
        io_c.n_benches = 0;
        for (size_t i = 0; i < c->n_benches; i++) {
            if (!strncmp(c->benches[i], "io.", 3) && io_c.n_benches < 256)
                io_names[io_c.n_benches++] = c->benches[i];
            else
                results_set_na(res, row, c->benches[i], IO_ONLY_REASON);
        }
        c = &io_c;
    }
    if (!strcmp(row, "native") || !strcmp(row, "container")) {
        arg(&rc.a, "%s/bin/hvlab-native", c->build);
        if (!strcmp(row, "container"))
            arg(&rc.a, "--container");
        arg(&rc.a, "--min-ms");
        arg(&rc.a, "%u", c->min_ms);
        if (c->disk) {
            arg(&rc.a, "--disk");
            arg(&rc.a, "%s", c->disk);
        }
        add_selection(&rc.a, c);
    } else if (!strcmp(row, "trap-emulate")) {
        monitor_cmd(c, "hv-trap-emulate", false, stats, &rc);
    } else if (!strcmp(row, "paravirt")) {
        monitor_cmd(c, "hv-paravirt", false, stats, &rc);
    } else if (!strcmp(row, "hwassist") || !strcmp(row, "hwassist-ioeventfd")) {
        monitor_cmd(c, "hv-hwassist", !strcmp(row, "hwassist-ioeventfd"), stats, &rc);
    } else if (!strcmp(row, "qemu-tcg") || !strcmp(row, "qemu-kvm")) {
        qemu_cmd(c, !strcmp(row, "qemu-kvm"), &rc);
    } else if (!strncmp(row, "hwassist-svm", 12)) {
        char svmlog[600];
        snprintf(svmlog, sizeof(svmlog), "%s/%s.run%u.serial", log_dir, row, run);
        svm_cmd(c, !strcmp(row, "hwassist-svm-ioeventfd"), svmlog, &rc);
    }

    struct spawn_result sr;
    *timed_out = false;
    if (spawn_run(rc.a.v, out, errp, guest_timeout(c) + 90.0, &sr, perr, sizeof(perr))) {
        snprintf(why, sizeof(why), "could not start the run: %.200s", perr);
        collect(c, row, NULL, NULL, why, res);
        return 0;
    }
    const char *failed = NULL;
    *timed_out = sr.timed_out;
    if (sr.timed_out || sr.status != rc.expect_status) {
        run_failure(&rc, &sr, out, errp, why, sizeof(why));
        failed = why;
    }

    char *text = slurp(out);
    struct console_run con = {0};
    struct stats_file sf = {0};
    bool have_con = !parse_console(text, &con, perr, sizeof(perr));
    if (!have_con && !failed) {
        snprintf(why, sizeof(why), "unreadable output: %.200s", perr);
        failed = why;
    }
    bool have_stats = false;
    if (counters) {
        char *st = rc.stats_in_console ? NULL : slurp(stats);
        have_stats = !parse_stats_file(st ? st : text, &sf, perr, sizeof(perr));
        if (!have_stats && !failed)
            fprintf(stderr, PROG ": %s run %u: no exit counts (%s)\n", row, run, perr);
        free(st);
    }
    collect(c, row, have_con ? &con : NULL, have_stats ? &sf : NULL, failed, res);
    if (have_con)
        console_run_free(&con);
    if (have_stats)
        stats_file_free(&sf);
    free(text);
    return sr.seconds;
}
