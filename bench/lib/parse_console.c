/*
 * The guest's (and hvlab-native's) `bench:` console lines
 * (docs/benchmarks.md §2).
 *
 * The text is whatever the row's program printed: a QEMU serial log with
 * kernel messages, a monitor's stdout.  Only lines that start exactly with
 * "bench: " are ours; everything else is skipped.  Our lines are held to the
 * format strictly, because a half-printed or corrupted line that parsed
 * "somehow" would put a wrong number in the report: a missing field, a zero
 * or a number that does not fit in 64 bits is an error naming the line.
 */
#include "bench/lib/parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/text.h"

#define PREFIX "bench: "
#define PREFIX_LEN (sizeof(PREFIX) - 1)

struct span {
    const char *p;
    size_t n;
};

static int fail(char *err, size_t errlen, size_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, size_t lineno, const char *fmt, ...)
{
    char prefix[40];
    snprintf(prefix, sizeof(prefix), "console line %zu: ", lineno);
    va_list ap;
    va_start(ap, fmt);
    text_vfail(err, errlen, prefix, fmt, ap);
    va_end(ap);
    return -1;
}

/* A printable excerpt of untrusted text for an error message. */
static const char *excerpt(char buf[48], struct span s)
{
    if (text_copy(buf, 48, s.p, s.n))
        memcpy(buf + 44, "...", 4);
    return buf;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next blank-separated token of *rest; false when none is left. */
static bool next_token(struct span *rest, struct span *tok)
{
    while (rest->n && is_blank(*rest->p))
        rest->p++, rest->n--;
    if (!rest->n)
        return false;
    tok->p = rest->p;
    while (rest->n && !is_blank(*rest->p))
        rest->p++, rest->n--;
    tok->n = (size_t)(rest->p - tok->p);
    return true;
}

static struct span trim(struct span s)
{
    while (s.n && is_blank(*s.p))
        s.p++, s.n--;
    while (s.n && is_blank(s.p[s.n - 1]))
        s.n--;
    return s;
}

/* key=value: false when the token has no '=' or an empty key. */
static bool split_kv(struct span tok, struct span *key, struct span *val)
{
    const char *eq = memchr(tok.p, '=', tok.n);
    if (!eq || eq == tok.p)
        return false;
    key->p = tok.p;
    key->n = (size_t)(eq - tok.p);
    val->p = eq + 1;
    val->n = tok.n - key->n - 1;
    return true;
}

/* Benchmark names are identifiers ("exit.cpuid", "mem.chase_4k.16K"): a
 * name with other characters is a corrupted line, not a new benchmark. */
static bool valid_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == '+' || c == '/' || c == ':';
}

static int parse_begin(struct span rest, struct console_run *out, size_t ln, char *err,
                       size_t errlen)
{
    struct span tok, key, val;
    char ex[48];
    if (out->saw_begin)
        return fail(err, errlen, ln, "a second \"bench: begin\" line (two runs in one text?)");
    out->saw_begin = true;
    while (next_token(&rest, &tok)) {
        if (!split_kv(tok, &key, &val))
            return fail(err, errlen, ln, "begin: \"%s\" is not key=value", excerpt(ex, tok));
        if (text_span_is(key.p, key.n, "tsc_khz")) {
            if (text_parse_u64(val.p, val.n, &out->tsc_khz) || out->tsc_khz == 0)
                return fail(err, errlen, ln, "begin: tsc_khz=\"%s\" is not a positive number",
                            excerpt(ex, val));
        } else if (text_span_is(key.p, key.n, "min_ms")) {
            if (text_parse_u64(val.p, val.n, &out->min_ms))
                return fail(err, errlen, ln, "begin: min_ms=\"%s\" is not a number",
                            excerpt(ex, val));
        } else if (text_span_is(key.p, key.n, "platform")) {
            /* descriptive values: a long one is cut, not an error */
            text_copy(out->platform, sizeof(out->platform), val.p, val.n);
        } else if (text_span_is(key.p, key.n, "monitor")) {
            text_copy(out->monitor, sizeof(out->monitor), val.p, val.n);
        } else if (text_span_is(key.p, key.n, "tsc_source")) {
            text_copy(out->tsc_source, sizeof(out->tsc_source), val.p, val.n);
        }
        /* other keys: the format may grow; readers ignore them */
    }
    return 0;
}

static int parse_done(struct span rest, struct console_run *out, size_t ln, char *err,
                      size_t errlen)
{
    struct span tok, key, val;
    char ex[48];
    out->saw_done = true;
    while (next_token(&rest, &tok)) {
        uint64_t v;
        if (!split_kv(tok, &key, &val))
            return fail(err, errlen, ln, "done: \"%s\" is not key=value", excerpt(ex, tok));
        static const char *const keys[] = {"ok", "na", "failed"};
        long long *dst[] = {&out->done_ok, &out->done_na, &out->done_failed};
        size_t k = 0;
        while (k < 3 && !text_span_is(key.p, key.n, keys[k]))
            k++;
        if (k == 3)
            continue;
        if (text_parse_u64(val.p, val.n, &v) || v > (uint64_t)1 << 40)
            return fail(err, errlen, ln, "done: %s=\"%s\" is not a count", keys[k],
                        excerpt(ex, val));
        *dst[k] = (long long)v;
    }
    return 0;
}

/* "NAME ops=.. cycles=.. tsc_khz=.. unit=.. value=..", "NAME n/a REASON" or
 * "NAME failed: REASON". */
static int parse_bench(struct span name, struct span rest, struct console_line *l, size_t ln,
                       char *err, size_t errlen)
{
    struct span tok, key, val;
    char ex[48];
    memset(l, 0, sizeof(*l));
    if (name.n >= sizeof(l->name))
        return fail(err, errlen, ln, "benchmark name \"%s\" is longer than %zu characters",
                    excerpt(ex, name), sizeof(l->name) - 1);
    for (size_t i = 0; i < name.n; i++)
        if (!valid_name_char(name.p[i]))
            return fail(err, errlen, ln, "benchmark name \"%s\" has a character outside "
                        "[A-Za-z0-9._-+/:]", excerpt(ex, name));
    memcpy(l->name, name.p, name.n);
    l->name[name.n] = '\0';

    struct span look = rest;
    bool has_first = next_token(&look, &tok);   /* look: what follows the first word */
    if (has_first && text_span_is(tok.p, tok.n, "failed:")) {
        struct span reason = trim(look);
        if (!reason.n)
            return fail(err, errlen, ln, "%s: failed without a reason", l->name);
        /* kept as an n/a entry with the cause: one broken benchmark must not
         * make the other lines of the run unreadable */
        l->na = l->failed = true;
        memcpy(l->reason, "failed: ", 8);
        text_copy(l->reason + 8, sizeof(l->reason) - 8, reason.p, reason.n);
        return 0;
    }
    if (has_first && text_span_is(tok.p, tok.n, "n/a")) {
        struct span reason = trim(look);
        if (!reason.n)
            return fail(err, errlen, ln, "%s: n/a without a reason", l->name);
        l->na = true;
        text_copy(l->reason, sizeof(l->reason), reason.p, reason.n);
        return 0;
    }

    /* Each number at most once: a repeated key means two lines ran
     * together, and picking either value would be a guess.  p50/p99 only
     * come with the latency benchmarks. */
    struct {
        const char *key;
        uint64_t *v;
        bool optional, seen;
    } num[] = {{"ops", &l->ops, false, false}, {"cycles", &l->cycles, false, false},
               {"tsc_khz", &l->tsc_khz, false, false}, {"p50", &l->p50_ns, true, false},
               {"p99", &l->p99_ns, true, false}};
    bool seen_unit = false;
    while (next_token(&rest, &tok)) {
        if (!split_kv(tok, &key, &val))
            return fail(err, errlen, ln, "%s: \"%s\" is not key=value", l->name, excerpt(ex, tok));
        size_t k;
        for (k = 0; k < sizeof(num) / sizeof(num[0]); k++)
            if (text_span_is(key.p, key.n, num[k].key))
                break;
        if (k < sizeof(num) / sizeof(num[0])) {
            if (num[k].seen)
                return fail(err, errlen, ln, "%s: %s= given twice", l->name, num[k].key);
            num[k].seen = true;
            if (text_parse_u64(val.p, val.n, num[k].v))
                return fail(err, errlen, ln, "%s: %s=\"%s\" is not a number that fits in 64 bits",
                            l->name, num[k].key, excerpt(ex, val));
            if (*num[k].v == 0)
                return fail(err, errlen, ln, "%s: %s=0", l->name, num[k].key);
        } else if (text_span_is(key.p, key.n, "unit")) {
            if (seen_unit)
                return fail(err, errlen, ln, "%s: unit= given twice", l->name);
            seen_unit = true;
            if (val.n == 0 || val.n >= sizeof(l->unit))
                return fail(err, errlen, ln, "%s: unit=\"%s\" is empty or too long", l->name,
                            excerpt(ex, val));
            text_copy(l->unit, sizeof(l->unit), val.p, val.n);
        }
        /* value= is for human readers (the harness recomputes it from
         * cycles, ops and tsc_khz); unknown keys are ignored: the format may grow */
    }
    for (size_t k = 0; k < sizeof(num) / sizeof(num[0]); k++)
        if (!num[k].seen && !num[k].optional)
            return fail(err, errlen, ln, "%s: missing %s=", l->name, num[k].key);
    return 0;
}

int parse_console(const char *text, struct console_run *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->done_ok = out->done_na = out->done_failed = -1;
    if (err && errlen)
        err[0] = '\0';
    if (!text)
        return fail(err, errlen, 0, "no console text");

    const char *pos = text, *line;
    size_t len, ln = 0, cap = 0;
    while (text_next_line(&pos, &line, &len)) {
        ln++;
        if (len < PREFIX_LEN || memcmp(line, PREFIX, PREFIX_LEN))
            continue;
        struct span rest = {line + PREFIX_LEN, len - PREFIX_LEN}, name;
        /* "bench:  x" (a blank right after the prefix) has no name */
        if (!rest.n || is_blank(*rest.p) || !next_token(&rest, &name)) {
            fail(err, errlen, ln, "a bench line with no benchmark name");
            goto bad;
        }
        int rc = 0;
        if (text_span_is(name.p, name.n, "begin")) {
            rc = parse_begin(rest, out, ln, err, errlen);
        } else if (text_span_is(name.p, name.n, "done")) {
            rc = parse_done(rest, out, ln, err, errlen);
        } else if (text_span_is(name.p, name.n, "unavailable")) {
            struct span reason = trim(rest);
            if (!reason.n)
                rc = fail(err, errlen, ln, "unavailable without a reason");
            out->unavailable = true;
            text_copy(out->unavailable_reason, sizeof(out->unavailable_reason), reason.p,
                      reason.n);
        } else {
            if (out->n == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                struct console_line *nl = realloc(out->lines, ncap * sizeof(*nl));
                if (!nl) {
                    fail(err, errlen, ln, "out of memory");
                    goto bad;
                }
                out->lines = nl;
                cap = ncap;
            }
            struct console_line *l = &out->lines[out->n];
            rc = parse_bench(name, rest, l, ln, err, errlen);
            if (!rc && console_find(out, l->name))
                rc = fail(err, errlen, ln, "%s: a second line for this benchmark", l->name);
            if (!rc)
                out->n++;
        }
        if (rc)
            goto bad;
    }
    return 0;
bad:
    console_run_free(out);
    return -1;
}

void console_run_free(struct console_run *r)
{
    if (!r)
        return;
    free(r->lines);
    r->lines = NULL;
    r->n = 0;
}

const struct console_line *console_find(const struct console_run *r, const char *name)
{
    for (size_t i = 0; r && name && i < r->n; i++)
        if (!strcmp(r->lines[i].name, name))
            return &r->lines[i];
    return NULL;
}

double console_value_ns(const struct console_line *l)
{
    if (!l || l->na || !l->ops || !l->cycles || !l->tsc_khz)
        return NAN;
    /* tsc_khz ticks per millisecond: cycles / tsc_khz ms = cycles * 1e6 /
     * tsc_khz ns.  In double: the product of two 64-bit values would wrap. */
    return (double)l->cycles * 1e6 / ((double)l->tsc_khz * (double)l->ops);
}
