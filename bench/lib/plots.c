/*
 * The report's plots: gnuplot data (.dat) and scripts (.gp) under dir, then
 * `gnuplot NAME.gp` run in dir for each (docs/benchmarks.md §6).
 *
 *   exit_latency.png  exit latency per row: clustered bars, log y (ns/op)
 *   mem_chase.png     pointer chase ns/access vs working set, log x; one
 *                     colour per row, solid 4 KiB pages, dashed 2 MiB pages
 *   exits_per_op.png  exits per operation for the rows with exit counters
 *
 * PNG because a report.md viewer shows it inline.  The script picks the
 * terminal itself (pngcairo when this gnuplot has it, else the libgd png
 * terminal); both work without X, and Debian's gnuplot-nox has both.
 * The .dat and .gp files stay next to the images, so a reader can re-plot
 * them with other settings.  n/a values are "NaN", which the scripts
 * declare missing: no bar, no point.  A plot without any data is not made
 * and the reason goes to err (the return value is still the plots made);
 * -1 means gnuplot could not run or failed, with its first error line.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/lib/catalogue.h"
#include "bench/lib/results.h"
#include "bench/lib/text.h"

#define PATH_LEN 4096

struct plot_ctx {
    const struct results *res;
    const char *dir;
    char *err;
    size_t errlen;
    char notes[512];            /* why a plot was not made */
};

static void note(struct plot_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct plot_ctx *c, const char *fmt, ...)
{
    size_t k = strlen(c->notes);
    if (k && k + 2 < sizeof(c->notes)) {
        memcpy(c->notes + k, "; ", 3);
        k += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->notes + k, sizeof(c->notes) - k, fmt, ap);
    va_end(ap);
}

static int fail(struct plot_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct plot_ctx *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static FILE *open_in_dir(struct plot_ctx *c, const char *name)
{
    char path[PATH_LEN];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->dir, name) >= sizeof(path)) {
        fail(c, "plots: the directory name is too long");
        return NULL;
    }
    FILE *f = fopen(path, "w");
    if (!f)
        fail(c, "plots: cannot write %s: %s", path, strerror(errno));
    return f;
}

static int close_checked(struct plot_ctx *c, FILE *f, const char *name)
{
    int bad = ferror(f);
    if (fclose(f) || bad)
        return fail(c, "plots: writing %s/%s failed", c->dir, name);
    return 0;
}

static void put_value(FILE *f, double v)
{
    char buf[40];
    if (!isfinite(v)) {
        fputs(" NaN", f);
        return;
    }
    text_fmt_g(buf, sizeof(buf), 10, v);
    fprintf(f, " %s", buf);
}

/* The script's common head: the terminal, the output, missing values. */
static void put_head(FILE *f, const char *png, const char *title)
{
    fputs("# written by hvlab-bench (bench/lib/plots.c); run: gnuplot THIS_FILE\n"
          "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
          "    set terminal pngcairo size 1200,650 noenhanced font \",10\"\n"
          "} else {\n"
          "    set terminal png size 1200,650 noenhanced\n"
          "}\n", f);
    fprintf(f, "set output '%s'\nset title '%s'\nset datafile missing \"NaN\"\n"
               "set key outside right top\nset grid ytics\n", png, title);
}

/* gnuplot, run in dir on script; 0, or -1 with the first line that says
 * what went wrong (its "\"x.gp\" line N: ..." line when there is one). */
static int run_gnuplot(struct plot_ctx *c, const char *script, const char *png)
{
    const char *prog = getenv("GNUPLOT");
    if (!prog || !*prog)
        prog = "gnuplot";
    int pfd[2];
    if (pipe(pfd))
        return fail(c, "plots: pipe: %s", strerror(errno));
    fflush(NULL);   /* no stdio buffer may be written twice by the child */
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return fail(c, "plots: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        dup2(pfd[1], 2);
        close(pfd[0]);
        if (chdir(c->dir)) {
            dprintf(2, "cannot enter %s: %s\n", c->dir, strerror(errno));
            _exit(126);
        }
        execlp(prog, prog, script, (char *)NULL);
        dprintf(2, "cannot run %s: %s (install gnuplot-nox)\n", prog, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    char out[4096];
    size_t n = 0;
    for (;;) {
        char sink[512];
        ssize_t r = n < sizeof(out) - 1 ? read(pfd[0], out + n, sizeof(out) - 1 - n)
                                         : read(pfd[0], sink, sizeof(sink));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (n < sizeof(out) - 1)
            n += (size_t)r;     /* beyond 4 KiB, drained and dropped */
    }
    out[n] = '\0';
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return fail(c, "plots: waitpid: %s", strerror(errno));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        char path[PATH_LEN];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", c->dir, png);
        if (stat(path, &sb) == 0 && sb.st_size > 0)
            return 0;
        return fail(c, "plots: gnuplot %s made no %s", script, png);
    }
    /* the most telling line: gnuplot's `"file.gp" line N: message` */
    const char *pick = NULL, *pos = out, *line;
    size_t len, pick_len = 0;
    while (text_next_line(&pos, &line, &len)) {
        if (len && *line == '"' && (!pick || *pick != '"')) {
            pick = line;
            pick_len = len;
        } else if (len && !pick) {
            pick = line;
            pick_len = len;
        }
    }
    char first[200];
    text_copy(first, sizeof(first), pick ? pick : "", pick ? pick_len : 0);
    if (WIFEXITED(st))
        return fail(c, "plots: %s %s failed (exit %d): %s", prog, script, WEXITSTATUS(st),
                    first[0] ? first : "no message");
    return fail(c, "plots: %s %s killed by signal %d", prog, script,
                WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* A row's key title: hwassist-svm's times are QEMU TCG's, and say so. */
static const char *row_label(const char *row)
{
    if (!strcmp(row, "hwassist-svm"))
        return "hwassist-svm (emulated times)";
    return strcmp(row, "hwassist-svm-ioeventfd") ? row : "hwassist-svm-ioeventfd (emulated)";
}

/* ---- plot 1: exit latencies ------------------------------------------------ */
static bool group_row_has_data(const struct results *res, const char *row, const char *group)
{
    for (size_t b = 0; b < bench_catalogue_len; b++)
        if (!strcmp(bench_catalogue[b].group, group) &&
            results_find_ok(res, row, bench_catalogue[b].name))
            return true;
    return false;
}

/* The benchmark name without its group ("exit.cpuid" -> "cpuid"). */
static const char *short_name(const char *name)
{
    const char *dot = strchr(name, '.');
    return dot ? dot + 1 : name;
}

static int plot_exit_latency(struct plot_ctx *c, bool *made)
{
    const struct results *res = c->res;
    const char *rows[16];
    size_t nr = 0;
    for (size_t r = 0; r < bench_rows_len && nr < 16; r++)
        if (group_row_has_data(res, bench_rows[r].name, "exit"))
            rows[nr++] = bench_rows[r].name;
    *made = false;
    if (!nr) {
        note(c, "exit latency: no row has exit benchmark results");
        return 0;
    }
    FILE *f = open_in_dir(c, "exit_latency.dat");
    if (!f)
        return -1;
    fputs("# exit latency, median ns/op; columns: benchmark", f);
    for (size_t r = 0; r < nr; r++)
        fprintf(f, " %s", rows[r]);
    fputs("; NaN = n/a\n", f);
    for (size_t b = 0; b < bench_catalogue_len; b++) {
        const struct bench_def *d = &bench_catalogue[b];
        bool any = false;
        if (strcmp(d->group, "exit"))
            continue;
        for (size_t r = 0; r < nr; r++)
            any |= results_find_ok(res, rows[r], d->name) != NULL;
        if (!any)
            continue;
        fprintf(f, "\"%s\"", short_name(d->name));
        for (size_t r = 0; r < nr; r++) {
            const struct bench_result *e = results_find_ok(res, rows[r], d->name);
            /* log scale: a value <= 0 cannot be drawn */
            put_value(f, e && e->median > 0 ? e->median : NAN);
        }
        fputc('\n', f);
    }
    if (close_checked(c, f, "exit_latency.dat"))
        return -1;

    f = open_in_dir(c, "exit_latency.gp");
    if (!f)
        return -1;
    put_head(f, "exit_latency.png", "Exit latency per row (median, ns per operation, log scale)");
    fputs("set style data histograms\nset style histogram clustered gap 1\n"
          "set style fill solid 0.85 border -1\nset logscale y\nset ylabel 'ns/op'\n"
          "set xtics rotate by 45 right\nset bmargin 7\n", f);
    fputs("plot ", f);
    for (size_t r = 0; r < nr; r++)
        fprintf(f, "%s'exit_latency.dat' using %zu%s title '%s'", r ? ", \\\n     " : "", r + 2,
                r ? "" : ":xtic(1)", row_label(rows[r]));
    fputc('\n', f);
    if (close_checked(c, f, "exit_latency.gp") ||
        run_gnuplot(c, "exit_latency.gp", "exit_latency.png"))
        return -1;
    *made = true;
    return 0;
}

/* ---- plot 2: pointer chase ---------------------------------------------------- */
/* "mem.chase_4k.256K" -> page "4k", working set in bytes; false otherwise. */
static bool chase_point(const char *name, char page[4], double *bytes)
{
    static const char pre[] = "mem.chase_";
    if (strncmp(name, pre, sizeof(pre) - 1))
        return false;
    const char *p = name + sizeof(pre) - 1, *dot = strchr(p, '.');
    if (!dot || dot - p != 2)
        return false;
    memcpy(page, p, 2);
    page[2] = '\0';
    char *end;
    double v = strtod(dot + 1, &end);
    double mul = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : *end == 'G' ? 1073741824.0 : 0;
    if (!(v > 0) || !mul || end[1])
        return false;
    *bytes = v * mul;
    return true;
}

static int plot_mem_chase(struct plot_ctx *c, bool *made)
{
    const struct results *res = c->res;
    static const char *const pages[] = {"4k", "2m"};
    *made = false;
    FILE *f = NULL;
    char plot[4096] = "";
    size_t blocks = 0, pl = 0;
    for (size_t r = 0; r < bench_rows_len; r++) {
        for (size_t pg = 0; pg < 2; pg++) {
            size_t points = 0;
            for (size_t b = 0; b < bench_catalogue_len; b++) {
                char page[4];
                double bytes;
                const struct bench_result *e;
                if (!chase_point(bench_catalogue[b].name, page, &bytes) ||
                    strcmp(page, pages[pg]) ||
                    !(e = results_find_ok(res, bench_rows[r].name, bench_catalogue[b].name)) ||
                    !(e->median > 0))
                    continue;
                if (!f && !(f = open_in_dir(c, "mem_chase.dat")))
                    return -1;
                if (!points)
                    fprintf(f, "%s# %s, %s pages: bytes ns/access\n", blocks ? "\n\n" : "",
                            bench_rows[r].name, pages[pg]);
                fprintf(f, "%.0f", bytes);
                put_value(f, e->median);
                fputc('\n', f);
                points++;
            }
            if (!points)
                continue;
            int k = snprintf(plot + pl, sizeof(plot) - pl,
                             "%s'mem_chase.dat' index %zu using 1:2 with linespoints lc %zu "
                             "dt %d pt %d title '%s, %s pages'",
                             blocks ? ", \\\n     " : "", blocks, r + 1, pg ? 2 : 1, pg ? 6 : 7,
                             row_label(bench_rows[r].name), pg ? "2 MiB" : "4 KiB");
            if (k > 0 && (size_t)k < sizeof(plot) - pl)
                pl += (size_t)k;
            blocks++;
        }
    }
    if (!blocks) {
        note(c, "pointer chase: no row has pointer-chase results");
        return 0;
    }
    if (close_checked(c, f, "mem_chase.dat"))
        return -1;
    f = open_in_dir(c, "mem_chase.gp");
    if (!f)
        return -1;
    put_head(f, "mem_chase.png",
             "Pointer chase: ns per access vs working set (solid: 4 KiB pages, dashed: 2 MiB)");
    fputs("set logscale x 2\nset logscale y\nset xlabel 'working set'\nset ylabel 'ns/access'\n"
          "set xtics ('16K' 16384, '256K' 262144, '4M' 4194304, '64M' 67108864, "
          "'256M' 268435456)\nset grid xtics\n"
          "set xrange [8192:536870912]\n", f);   /* room for the end labels */
    fprintf(f, "plot %s\n", plot);
    if (close_checked(c, f, "mem_chase.gp") || run_gnuplot(c, "mem_chase.gp", "mem_chase.png"))
        return -1;
    *made = true;
    return 0;
}

/* ---- plot 3: exits per operation ------------------------------------------- */
static int plot_exits(struct plot_ctx *c, bool *made)
{
    const struct results *res = c->res;
    const char *rows[16];
    size_t nr = 0;
    *made = false;
    for (size_t r = 0; r < bench_rows_len && nr < 16; r++) {
        bool any = false;
        if (!bench_rows[r].exit_counters)
            continue;
        for (size_t b = 0; b < bench_catalogue_len && !any; b++)
            any = results_exits(res, bench_rows[r].name, bench_catalogue[b].name) != NULL;
        if (any)
            rows[nr++] = bench_rows[r].name;
    }
    if (!nr) {
        note(c, "exits per operation: no row with exit counters has exit profiles");
        return 0;
    }
    /* Log scale only when the values span more than two decades: a linear
     * axis keeps 0.00 and 2.00 exits/op (the cli_sti lesson) side by side. */
    double lo = INFINITY, hi = 0;
    for (size_t b = 0; b < bench_catalogue_len; b++)
        for (size_t r = 0; r < nr; r++) {
            const struct exit_profile *p = results_exits(res, rows[r], bench_catalogue[b].name);
            if (p && p->total > 0) {
                lo = p->total < lo ? p->total : lo;
                hi = p->total > hi ? p->total : hi;
            }
        }
    bool logy = hi > 0 && hi / lo > 100;
    FILE *f = open_in_dir(c, "exits_per_op.dat");
    if (!f)
        return -1;
    fputs("# exits per operation (median run); columns: benchmark", f);
    for (size_t r = 0; r < nr; r++)
        fprintf(f, " %s", rows[r]);
    fputs("; NaN = n/a or no profile\n", f);
    for (size_t b = 0; b < bench_catalogue_len; b++) {
        bool any = false;
        for (size_t r = 0; r < nr; r++)
            any |= results_exits(res, rows[r], bench_catalogue[b].name) != NULL;
        if (!any)
            continue;
        fprintf(f, "\"%s\"", bench_catalogue[b].name);
        for (size_t r = 0; r < nr; r++) {
            const struct exit_profile *p = results_exits(res, rows[r], bench_catalogue[b].name);
            put_value(f, p && (!logy || p->total > 0) ? p->total : NAN);
        }
        fputc('\n', f);
    }
    if (close_checked(c, f, "exits_per_op.dat"))
        return -1;
    f = open_in_dir(c, "exits_per_op.gp");
    if (!f)
        return -1;
    put_head(f, "exits_per_op.png",
             logy ? "Exits per operation (median run; log scale, 0 shows no bar)"
                  : "Exits per operation (median run)");
    fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.85 border -1\nset ylabel 'exits/op'\n"
               "set xtics rotate by 45 right\nset bmargin 9\n%s\n",
            logy ? "set logscale y\nset format y '%g'" : "set yrange [0:*]");
    fputs("plot ", f);
    for (size_t r = 0; r < nr; r++)
        fprintf(f, "%s'exits_per_op.dat' using %zu%s title '%s'", r ? ", \\\n     " : "", r + 2,
                r ? "" : ":xtic(1)", rows[r]);
    fputc('\n', f);
    if (close_checked(c, f, "exits_per_op.gp") ||
        run_gnuplot(c, "exits_per_op.gp", "exits_per_op.png"))
        return -1;
    *made = true;
    return 0;
}

int plots_write(const struct results *res, const char *dir, char made[][64], size_t max_made,
                char *err, size_t errlen)
{
    struct plot_ctx c = {.res = res, .dir = dir && *dir ? dir : ".", .err = err,
                         .errlen = errlen};
    static const struct {
        int (*fn)(struct plot_ctx *, bool *);
        const char *png;
    } plots[] = {
        {plot_exit_latency, "exit_latency.png"},
        {plot_mem_chase, "mem_chase.png"},
        {plot_exits, "exits_per_op.png"},
    };
    int n = 0;
    if (err && errlen)
        err[0] = '\0';
    for (size_t i = 0; i < sizeof(plots) / sizeof(plots[0]); i++) {
        bool ok = false;
        if (plots[i].fn(&c, &ok))
            return -1;
        if (ok) {
            if ((size_t)n < max_made)
                snprintf(made[n], 64, "%s", plots[i].png);
            n++;
        }
    }
    if (err && errlen)
        snprintf(err, errlen, "%s", c.notes);
    return (size_t)n < max_made ? n : (int)max_made;
}
