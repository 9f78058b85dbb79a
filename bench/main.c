/*
 * hvlab-bench: runs the benchmark suite under every row that can run here,
 * several times, and writes reports/<timestamp>/{results.json, report.md,
 * plots, raw/} with reports/latest pointing at it (docs/benchmarks.md).
 *
 * Runs are interleaved (run 1 of every row, then run 2 ...) so that a slow
 * drift of the machine (another tenant, thermal state) spreads over all rows
 * instead of biasing the one that happened to run last.
 */
#include "bench/bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/lib/catalogue.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [OPTIONS]\n\n"
            "Runs hvlab's benchmark suite under every row this machine can run (native,\n"
            "container, trap-emulate, paravirt, hwassist, qemu-tcg, qemu-kvm, hwassist-svm,\n"
            "and for the io group hwassist-ioeventfd, hwassist-svm-ioeventfd) and writes\n"
            "reports/<timestamp>/results.json, report.md and plots, with\n"
            "reports/latest pointing at the newest.  A row or benchmark that cannot run is\n"
            "reported as n/a with the reason.  `make bench` runs this.\n\n"
            "options:\n"
            "  --quick         one run of the reduced set (make bench QUICK=1)\n"
            "  --runs N        runs of every row (default 5; 1 with --quick)\n"
            "  --min-ms N      each timed loop lasts at least N ms (default 20; 5 with --quick)\n"
            "  --rows LIST     comma-separated rows to run (default: all)\n"
            "  --bench LIST    comma-separated benchmarks or groups (exit, mem, io) to run\n"
            "                  (default: all; with --quick the reduced set)\n"
            "  --mem MIB       guest RAM for the guest-kernel rows (default 1024)\n"

            "  --build DIR     where make put the binaries (default build)\n"
            "  --out DIR       where reports go (default reports)\n"
            "  --no-pin        do not pin the runs to one CPU\n"
            "  -h, --help      this text\n\n"
            "The io group reads and writes a %u MiB image made for the session in $TMPDIR\n"
            "(deleted at the end); every row gets the same file.\n\n"
            "Exit status: 0 report written, 1 the report could not be written, 2 usage error.\n",
            BENCH_DISK_MIB);
}

static int usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (try --help)\n");
    return 2;
}

static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return false;
    *out = (unsigned)v;
    return true;
}

static bool in_list(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, word, n))
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

/* Every word of a comma list must name something: a typo is an error, not an
 * empty report. */
static const char *unknown_word(const char *list, bool rows)
{
    static char word[80];
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        snprintf(word, sizeof(word), "%.*s", (int)len, p);
        bool ok = rows ? row_find(word) != NULL
                       : bench_find(word) || !strcmp(word, "exit") || !strcmp(word, "mem") ||
                         !strcmp(word, "io");
        if (!ok)
            return word;
        p += len + (p[len] == ',');
    }
    return NULL;
}

static void select_benches(struct bench_config *c, const char *list)
{
    static const char *chosen[256];
    c->benches = chosen;
    c->n_benches = 0;
    for (size_t i = 0; i < bench_catalogue_len && c->n_benches < 256; i++) {
        const struct bench_def *d = &bench_catalogue[i];
        bool take = list ? in_list(list, d->name) || in_list(list, d->group)
                         : !c->quick || d->quick;
        if (take)
            chosen[c->n_benches++] = d->name;
    }
}

static int parse_args(int argc, char **argv, struct bench_config *c, const char **bench_list)
{
    unsigned runs = 0, min_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quick")) {
            c->quick = true;
        } else if (!strcmp(a, "--no-pin")) {
            c->pin = false;
        } else if (!v) {
            return usage_error("%s needs a value or is unknown", a);
        } else if (!strcmp(a, "--runs")) {
            if (!parse_uint(v, 1, RESULTS_MAX_RUNS, &runs))
                return usage_error("--runs %s: want 1..32", v);
            i++;
        } else if (!strcmp(a, "--min-ms")) {
            if (!parse_uint(v, 1, 10000, &min_ms))
                return usage_error("--min-ms %s: want 1..10000", v);
            i++;
        } else if (!strcmp(a, "--mem")) {
            if (!parse_uint(v, 64, 65536, &c->guest_mem_mib))
                return usage_error("--mem %s: want 64..65536 MiB", v);
            i++;
        } else if (!strcmp(a, "--rows")) {
            const char *bad = unknown_word(v, true);
            if (bad)
                return usage_error("--rows: no row named \"%s\"", bad);
            c->only_rows = v;
            i++;
        } else if (!strcmp(a, "--bench")) {
            const char *bad = unknown_word(v, false);
            if (bad)
                return usage_error("--bench: no benchmark or group named \"%s\"", bad);
            *bench_list = v;
            i++;
        } else if (!strcmp(a, "--build")) {
            c->build = v;
            i++;
        } else if (!strcmp(a, "--out")) {
            c->out_root = v;
            i++;
        } else {
            return usage_error("unknown option %s", a);
        }
    }
    c->runs = runs ? runs : c->quick ? 1 : 5;
    c->min_ms = min_ms ? min_ms : c->quick ? 5 : 20;
    return -1;
}

/* ---- progress ----------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_duration(double s, char *buf, size_t len)
{
    if (s < 0)
        s = 0;
    unsigned t = (unsigned)(s + 0.5);
    if (t >= 60)
        snprintf(buf, len, "%um%02us", t / 60, t % 60);
    else
        snprintf(buf, len, "%us", t);
}

/* ---- the session ------------------------------------------------------------------ */

static int make_dirs(const struct bench_config *c, char *dir, size_t len, char *stamp, size_t slen)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, slen, "%Y%m%d-%H%M%S", &tm);
    snprintf(dir, len, "%s/%s", c->out_root, stamp);
    char raw[700];
    snprintf(raw, sizeof(raw), "%s/raw", dir);
    if ((mkdir(c->out_root, 0755) && errno != EEXIST) || (mkdir(dir, 0755) && errno != EEXIST) ||
        (mkdir(raw, 0755) && errno != EEXIST)) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", raw, strerror(errno));
        return -1;
    }
    return 0;
}

/* reports/latest -> <stamp>, replaced atomically (symlink, then rename). */
static void point_latest(const struct bench_config *c, const char *stamp)
{
    char tmp[600], latest[600];
    snprintf(tmp, sizeof(tmp), "%s/.latest.%d", c->out_root, (int)getpid());
    snprintf(latest, sizeof(latest), "%s/latest", c->out_root);
    unlink(tmp);
    if (symlink(stamp, tmp) || rename(tmp, latest))
        fprintf(stderr, PROG ": cannot point %s at %s: %s\n", latest, stamp, strerror(errno));
}

static void record_config(struct results *res, const struct bench_config *c)
{
    results_config(res, "mode", "%s", c->quick ? "quick (make bench QUICK=1)" : "full");
    results_config(res, "runs", "%u", c->runs);
    results_config(res, "min_ms", "%u", c->min_ms);
    results_config(res, "guest_mem_mib", "%u", c->guest_mem_mib);
    results_config(res, "benchmarks", "%zu of %zu in the catalogue", c->n_benches,
                   bench_catalogue_len);
}

static void mark_row_na(struct results *res, const struct bench_config *c, const char *row,
                        const char *why)
{
    for (size_t i = 0; i < c->n_benches; i++)
        results_set_na(res, row, c->benches[i], why);
}

static void run_session(const struct bench_config *c, struct results *res, const char *raw)
{
    struct row_plan plan[16];
    size_t n = 0;
    double left = 0;
    for (size_t i = 0; i < bench_rows_len && n < 16; i++) {
        const char *row = bench_rows[i].name;
        if (c->only_rows && !in_list(c->only_rows, row))
            continue;
        row_check(c, row, &plan[n]);
        if (!plan[n].available) {
            fprintf(stderr, PROG ": %-13s n/a: %s\n", row, plan[n].why_not);
            mark_row_na(res, c, row, plan[n].why_not);
            continue;
        }
        left += plan[n].est_seconds * c->runs;
        n++;
    }
    unsigned total = (unsigned)n * c->runs, done = 0;
    double t0 = now_s();
    bool gave_up[16] = {false};
    for (unsigned run = 1; run <= c->runs; run++) {
        for (size_t i = 0; i < n; i++) {
            char el[32], lf[32];
            if (gave_up[i]) {
                done++;
                continue;
            }
            fmt_duration(now_s() - t0, el, sizeof(el));
            fmt_duration(left, lf, sizeof(lf));
            fprintf(stderr, PROG ": [%2u/%u] %-13s run %u/%u  (elapsed %s, about %s left)\n",
                    done + 1, total, plan[i].row, run, c->runs, el, lf);
            bool timed_out;
            double s = row_run(c, plan[i].row, run, raw, res, &timed_out);
            left -= plan[i].est_seconds;
            if (timed_out && run < c->runs) {
                /* A hang is not noise: the next run would hang too, and
                 * each costs the whole time limit.  Its n/a reasons stand. */
                fprintf(stderr, PROG ": %s run %u timed out: its remaining %u run(s) are skipped\n",
                        plan[i].row, run, c->runs - run);
                left -= plan[i].est_seconds * (c->runs - run);
                gave_up[i] = true;
                done++;
                continue;
            }
            /* Better guesses for this row's remaining runs. */
            left += (s - plan[i].est_seconds) * (c->runs - run);
            plan[i].est_seconds = s;
            done++;
        }
    }
    char el[32];
    fmt_duration(now_s() - t0, el, sizeof(el));
    fprintf(stderr, PROG ": %u runs in %s\n", total, el);
}

static int write_outputs(const struct results *res, const char *dir)
{
    char path[700], err[300] = "", made[8][64] = {{0}};
    snprintf(path, sizeof(path), "%s/results.json", dir);
    FILE *f = fopen(path, "w");
    if (!f || results_write_json(res, f) || fclose(f)) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    /* A failed gnuplot costs the plots, not the report: the report says why
     * in their place.  err also names plots left out for want of data. */
    int nplots = plots_write(res, dir, made, 8, err, sizeof(err));
    size_t n_made = 0;
    while (n_made < 8 && made[n_made][0])
        n_made++;
    if (nplots < 0)
        fprintf(stderr, PROG ": plots: %s\n", err);
    snprintf(path, sizeof(path), "%s/report.md", dir);
    f = fopen(path, "w");
    if (!f || report_write_md(res, f, made, n_made, err) || fclose(f)) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_config c = {.build = "build", .out_root = "reports", .pin = true,
                             .guest_mem_mib = 1024};
    const char *bench_list = NULL;
    int rc = parse_args(argc, argv, &c, &bench_list);
    if (rc >= 0)
        return rc;
    select_benches(&c, bench_list);

    char dir[600], stamp[64], raw[700];
    if (make_dirs(&c, dir, sizeof(dir), stamp, sizeof(stamp)))
        return 1;
    snprintf(raw, sizeof(raw), "%s/raw", dir);

    struct results res;
    results_init(&res);
    record_config(&res, &c);
    machine_describe(&res);
    topology_describe_and_pin(&res, c.pin);
    fprintf(stderr, PROG ": %s mode, %u run(s) per row, %zu benchmark(s); raw output in %s\n",
            c.quick ? "quick" : "full", c.runs, c.n_benches, raw);

    bool want_disk = false;
    for (size_t i = 0; i < c.n_benches; i++)
        want_disk |= !strncmp(c.benches[i], "io.", 3);
    char derr[300];
    if (want_disk && !(c.disk = disk_create(derr, sizeof(derr))))
        fprintf(stderr, PROG ": %s; the io benchmarks will be n/a\n", derr);
    run_session(&c, &res, raw);
    disk_remove(c.disk);
    for (size_t i = 0; i < bench_rows_len; i++)
        if (c.only_rows && !in_list(c.only_rows, bench_rows[i].name))
            mark_row_na(&res, &c, bench_rows[i].name, "row not selected (--rows)");
    results_finish(&res, c.quick ? "not in the reduced set of make bench QUICK=1 (make bench runs it)"
                                 : "benchmark not selected (--bench)");
    rc = write_outputs(&res, dir);
    results_free(&res);
    if (rc)
        return rc;
    point_latest(&c, stamp);
    printf("%s/report.md\n", dir);
    return 0;
}
