/*
 * A monitor's statistics file (--stats-file; docs/benchmarks.md §3).
 *
 * The block may sit inside other text (with --stats-file - it shares stderr
 * with the monitor's messages), so we look for the first "# hvlab-stats 1"
 * line and read up to "# end hvlab-stats".  A block without its end line was
 * cut short (the monitor died while writing): its counts would be silently
 * incomplete, so that is an error, as is any number that does not parse.
 * Records with an unknown first field are skipped: the format can grow.
 *
 * The bench-* lines refer to brackets by INDEX.  The writer prints a bench
 * line before its bench-* lines, but nothing in the format promises it, so
 * the brackets are read first (pass 1) and the counts attached after
 * (pass 2).
 */
#include "bench/lib/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/text.h"

#define MAX_FIELDS 6
/* Distinct counters per list: far above what a monitor has (48 reasons),
 * low enough that a hostile file cannot make the de-duplication quadratic. */
#define MAX_COUNTERS 4096

struct fields {
    const char *p[MAX_FIELDS];
    size_t n[MAX_FIELDS];
    size_t count;
};

static int fail(char *err, size_t errlen, size_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, size_t lineno, const char *fmt, ...)
{
    char prefix[40];
    if (lineno)
        snprintf(prefix, sizeof(prefix), "stats line %zu: ", lineno);
    else
        snprintf(prefix, sizeof(prefix), "stats file: ");
    va_list ap;
    va_start(ap, fmt);
    text_vfail(err, errlen, prefix, fmt, ap);
    va_end(ap);
    return -1;
}

static void split_tabs(const char *line, size_t len, struct fields *f)
{
    f->count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && f->count < MAX_FIELDS; i++) {
        if (i == len || line[i] == '\t') {
            f->p[f->count] = line + start;
            f->n[f->count] = i - start;
            f->count++;
            start = i + 1;
        }
    }
}

/* A marker line compared without trailing blanks. */
static bool marker_is(const char *line, size_t len, const char *marker)
{
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    return text_span_is(line, len, marker);
}

static bool is_first(const struct fields *f, const char *word)
{
    return f->count && text_span_is(f->p[0], f->n[0], word);
}

/* Adds count under (kind, reason), summing a repeated reason (the writer
 * never repeats one; if a file does, the sum is the only honest reading). */
static int add_count(struct stats_count **arr, size_t *n, enum stats_kind kind,
                     const char *reason, size_t rlen, uint64_t count, size_t ln, char *err,
                     size_t errlen)
{
    if (rlen == 0)
        return fail(err, errlen, ln, "a counter with an empty name");
    if (rlen >= STATS_REASON_MAX)
        return fail(err, errlen, ln, "a counter name longer than %d characters",
                    STATS_REASON_MAX - 1);
    char name[STATS_REASON_MAX];
    text_copy(name, sizeof(name), reason, rlen);
    for (size_t i = 0; i < *n; i++) {
        struct stats_count *c = &(*arr)[i];
        if (c->kind == kind && !strcmp(c->reason, name)) {
            if (c->count > UINT64_MAX - count)
                return fail(err, errlen, ln, "counter \"%s\" overflows 64 bits", name);
            c->count += count;
            return 0;
        }
    }
    if (*n >= MAX_COUNTERS)
        return fail(err, errlen, ln, "more than %d counters in one list", MAX_COUNTERS);
    /* capacity is implicit: 4, then doubled whenever n reaches a power of two */
    if (*n == 0 || (*n >= 4 && !(*n & (*n - 1)))) {
        size_t cap = *n < 4 ? 4 : *n * 2;
        struct stats_count *na = realloc(*arr, cap * sizeof(*na));
        if (!na)
            return fail(err, errlen, ln, "out of memory");
        *arr = na;
    }
    struct stats_count *c = &(*arr)[(*n)++];
    c->kind = kind;
    memcpy(c->reason, name, sizeof(name));
    c->count = count;
    return 0;
}

static int parse_num(const struct fields *f, size_t i, const char *what, uint64_t *v, size_t ln,
                     char *err, size_t errlen)
{
    if (text_parse_u64(f->p[i], f->n[i], v))
        return fail(err, errlen, ln, "%s is not a number that fits in 64 bits", what);
    return 0;
}

int parse_stats_file(const char *text, struct stats_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    if (!text)
        return fail(err, errlen, 0, "no text");

    /* ---- find the block ---- */
    const char *pos = text, *line, *body = NULL;
    size_t len, ln = 0, body_ln = 0;
    bool ended = false;
    while (text_next_line(&pos, &line, &len)) {
        ln++;
        if (!body) {
            static const char head[] = "# hvlab-stats";
            if (len < sizeof(head) - 1 || memcmp(line, head, sizeof(head) - 1))
                continue;
            if (!marker_is(line, len, "# hvlab-stats 1")) {
                char v[32];
                text_copy(v, sizeof(v), line + sizeof(head) - 1, len - (sizeof(head) - 1));
                return fail(err, errlen, ln, "unknown statistics format version \"%s\"", v);
            }
            body = pos;
            body_ln = ln;
        } else if (marker_is(line, len, "# end hvlab-stats")) {
            ended = true;
            break;
        }
    }
    if (!body)
        return fail(err, errlen, 0, "no \"# hvlab-stats 1\" block");
    if (!ended)
        return fail(err, errlen, 0, "the block that starts on line %zu has no "
                    "\"# end hvlab-stats\" line (cut short?)", body_ln);

    /* ---- pass 1: everything but the bench-* lines ---- */
    struct fields f;
    size_t nb = 0;
    pos = body;
    while (text_next_line(&pos, &line, &len) && !marker_is(line, len, "# end hvlab-stats")) {
        split_tabs(line, len, &f);
        nb += is_first(&f, "bench");
    }
    if (nb) {
        out->b = calloc(nb, sizeof(*out->b));
        if (!out->b)
            return fail(err, errlen, 0, "out of memory");
    }
    bool *defined = calloc(nb ? nb : 1, sizeof(bool));
    if (!defined)
        goto oom;
    out->n_b = nb;

    pos = body;
    ln = body_ln;
    while (text_next_line(&pos, &line, &len) && !marker_is(line, len, "# end hvlab-stats")) {
        ln++;
        split_tabs(line, len, &f);
        if (is_first(&f, "monitor") || is_first(&f, "backend")) {
            if (f.count < 2)
                goto short_line;
            bool mon = is_first(&f, "monitor");
            text_copy(mon ? out->monitor : out->backend,
                      mon ? sizeof(out->monitor) : sizeof(out->backend), f.p[1], f.n[1]);
        } else if (is_first(&f, "exit") || is_first(&f, "event") || is_first(&f, "kvm")) {
            uint64_t v;
            enum stats_kind k = is_first(&f, "exit") ? STATS_EXIT
                              : is_first(&f, "event") ? STATS_EVENT : STATS_KVM;
            if (f.count < 3)
                goto short_line;
            if (parse_num(&f, 2, "the count", &v, ln, err, errlen) ||
                add_count(&out->totals, &out->n_totals, k, f.p[1], f.n[1], v, ln, err, errlen))
                goto bad;
        } else if (is_first(&f, "bench")) {
            uint64_t idx;
            if (f.count < 5)
                goto short_line;
            if (parse_num(&f, 1, "INDEX", &idx, ln, err, errlen))
                goto bad;
            if (idx >= nb || defined[idx]) {
                fail(err, errlen, ln, "bench INDEX %llu is %s", (unsigned long long)idx,
                     idx >= nb ? "out of range (indexes run 0..N-1)" : "given twice");
                goto bad;
            }
            struct stats_bracket *b = &out->b[idx];
            if (f.n[2] == 0 || f.n[2] >= sizeof(b->name)) {
                fail(err, errlen, ln, "bench NAME is empty or longer than %zu characters",
                     sizeof(b->name) - 1);
                goto bad;
            }
            text_copy(b->name, sizeof(b->name), f.p[2], f.n[2]);
            if (parse_num(&f, 3, "ITERATIONS", &b->iterations, ln, err, errlen) ||
                parse_num(&f, 4, "TSC_CYCLES", &b->cycles, ln, err, errlen))
                goto bad;
            defined[idx] = true;
        }
        /* other first fields (and bench-* in this pass): skipped */
    }

    /* ---- pass 2: the bench-* counts, now that every bracket is known ---- */
    pos = body;
    ln = body_ln;
    while (text_next_line(&pos, &line, &len) && !marker_is(line, len, "# end hvlab-stats")) {
        ln++;
        split_tabs(line, len, &f);
        enum stats_kind k;
        if (is_first(&f, "bench-exit"))
            k = STATS_EXIT;
        else if (is_first(&f, "bench-event"))
            k = STATS_EVENT;
        else if (is_first(&f, "bench-kvm"))
            k = STATS_KVM;
        else
            continue;
        uint64_t idx, v;
        if (f.count < 4)
            goto short_line;
        if (parse_num(&f, 1, "INDEX", &idx, ln, err, errlen) ||
            parse_num(&f, 3, "the count", &v, ln, err, errlen))
            goto bad;
        if (idx >= nb) {
            fail(err, errlen, ln, "a bench-* line names INDEX %llu, which has no bench line",
                 (unsigned long long)idx);
            goto bad;
        }
        struct stats_bracket *b = &out->b[idx];
        if (add_count(&b->c, &b->n, k, f.p[2], f.n[2], v, ln, err, errlen))
            goto bad;
    }
    free(defined);
    return 0;

short_line:
    fail(err, errlen, ln, "a \"%.*s\" record with too few tab-separated fields",
         (int)(f.n[0] < 16 ? f.n[0] : 16), f.p[0]);
    goto bad;
oom:
    fail(err, errlen, 0, "out of memory");
bad:
    free(defined);
    stats_file_free(out);
    return -1;
}

void stats_file_free(struct stats_file *f)
{
    if (!f)
        return;
    free(f->totals);
    for (size_t i = 0; i < f->n_b; i++)
        free(f->b[i].c);
    free(f->b);
    f->totals = NULL;
    f->b = NULL;
    f->n_totals = f->n_b = 0;
}
