/*
 * results.json, schema 1 (docs/benchmarks.md §4).
 *
 * A small writer rather than a library: the document has one fixed shape.
 * What matters is that any reader can load it whatever the text inside:
 *   - strings are escaped per RFC 8259 (quote, backslash, control
 *     characters as \n, \t... or \u00XX) and must be UTF-8: a reason comes
 *     from a guest's console, so a byte that is not valid UTF-8 becomes
 *     U+FFFD instead of making the file unreadable;
 *   - numbers are printed with up to 17 significant digits (the shortest of
 *     %.15g, %.16g, %.17g that reads back as the same double) and '.' as decimal
 *     point whatever the locale; NaN and infinities have no JSON spelling
 *     and are null, which is also how a missing value (n/a) is written.
 * Layout: two-space indentation, one result per line, in the entries'
 * order (results_finish sorts them into catalogue order), so that the file
 * is deterministic and diffs between sessions read line by line.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/results.h"
#include "bench/lib/text.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4
                                                                                         : 0;
    }
    return 0;
}

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        unsigned char c = *p;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                fprintf(f, "\\u%04x", c);
            } else if (c >= 0x80) {
                /* the terminating NUL stops utf8_len at a truncated tail */
                size_t n = utf8_len(p);
                if (!n) {
                    fputs("\\ufffd", f);
                    p++;
                    continue;
                }
                fwrite(p, 1, n, f);
                p += n;
                continue;
            } else {
                fputc(c, f);
            }
        }
        p++;
    }
    fputc('"', f);
}

static void put_num(FILE *f, double v)
{
    char buf[40];
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    /* the fewest digits (15, 16, 17) that read back as the same double:
     * 0.1 stays "0.1", and nothing is lost */
    for (int prec = 15; prec <= 17; prec++) {
        text_fmt_g(buf, sizeof(buf), prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? : RFC 8259's number. */
static bool is_json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* config values that are JSON literals ("false", "5", "20") are written as
 * such, as the schema shows ("quick": false, "runs": 5); machine values are
 * always strings ("kernel": "6.1" is a version, not a number). */
static void put_object(FILE *f, const struct kv *kv, size_t n, bool typed)
{
    if (!n) {
        fputs("{}", f);
        return;
    }
    fputs("{\n", f);
    for (size_t i = 0; i < n; i++) {
        fputs("    ", f);
        put_str(f, kv[i].key);
        fputs(": ", f);
        const char *v = kv[i].value;
        if (typed && (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "null") ||
                      is_json_number(v)))
            fputs(v, f);
        else
            put_str(f, v);
        fputs(i + 1 < n ? ",\n" : "\n", f);
    }
    fputs("  }", f);
}

static void put_exits(FILE *f, const struct exit_profile *p)
{
    fputs("{\"total\": ", f);
    put_num(f, p->total);
    fputs(", \"by_reason\": {", f);
    size_t n = p->n < EXIT_PROFILE_MAX ? p->n : EXIT_PROFILE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        put_str(f, p->by_reason[i].reason);
        fputs(": ", f);
        put_num(f, p->by_reason[i].per_op);
    }
    fputs("}, \"counted_by\": ", f);
    put_str(f, p->from_kvm ? "kvm" : "monitor");
    if (p->has_io) {             /* the virtio device's own counts */
        fputs(", \"notifications\": ", f);
        put_num(f, p->notifies_per_op);
        fputs(", \"interrupts\": ", f);
        put_num(f, p->irqs_per_op);
    }
    fputc('}', f);
}

static void put_result(FILE *f, const struct bench_result *e)
{
    bool ok = !e->na && e->runs > 0;
    fputs("{\"row\": ", f);
    put_str(f, e->row);
    fputs(", \"bench\": ", f);
    put_str(f, e->bench);
    fputs(", \"unit\": ", f);
    put_str(f, e->unit);
    fputs(", \"median\": ", f);
    put_num(f, ok ? e->median : NAN);
    fputs(", \"min\": ", f);
    put_num(f, ok ? e->min : NAN);
    fputs(", \"max\": ", f);
    put_num(f, ok ? e->max : NAN);
    fprintf(f, ", \"runs\": %u, \"samples\": [", ok ? e->runs : 0);
    for (unsigned i = 0; ok && i < e->runs && i < RESULTS_MAX_RUNS; i++) {
        if (i)
            fputs(", ", f);
        put_num(f, e->samples[i]);
    }
    fputc(']', f);
    if (ok && e->n_pct) {        /* latency benchmarks: single requests, ns */
        fputs(", \"p50\": ", f);
        put_num(f, e->p50_median);
        fputs(", \"p99\": ", f);
        put_num(f, e->p99_median);
    }
    fputs(", \"exits_per_op\": ", f);
    if (ok && e->has_exits)
        put_exits(f, &e->exits_median);
    else
        fputs("null", f);
    fputs(", \"status\": ", f);
    put_str(f, ok ? "ok" : "n/a");
    fputs(", \"reason\": ", f);
    put_str(f, ok ? "" : e->reason);
    fputc('}', f);
}

int results_write_json(const struct results *res, FILE *f)
{
    int saved = errno;
    errno = 0;
    fputs("{\n  \"schema\": 1,\n  \"machine\": ", f);
    put_object(f, res->machine, res->n_machine, false);
    fputs(",\n  \"config\": ", f);
    put_object(f, res->config, res->n_config, true);
    fputs(",\n  \"results\": [", f);
    for (size_t i = 0; i < res->n; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        put_result(f, &res->r[i]);
    }
    fputs(res->n ? "\n  ]\n}\n" : "]\n}\n", f);
    return text_finish_write(f, saved);
}
