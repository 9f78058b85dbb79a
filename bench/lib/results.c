/*
 * The results of a benchmark session: samples per (row, benchmark), n/a
 * entries, and the completion step that makes results.json whole.
 *
 * Order.  results_finish() sorts the entries into catalogue order, rows
 * first: every benchmark of "native", then every benchmark of "container",
 * and so on (bench_rows, then bench_catalogue order), so that results.json
 * is the same bytes for the same numbers whatever order the rows ran in.
 * Entries for a row or benchmark the catalogue does not know (a runner
 * experimenting with a new one) are kept, after the known ones of their
 * row (or after every known row), in the order they were added.
 *
 * Memory.  A bench_result carries RESULTS_MAX_RUNS exit profiles (about
 * 160 KiB): entries live on the heap only, and the array is sized for the
 * whole catalogue at once; calloc/realloc of that size maps pages lazily,
 * so entries never touched cost nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/catalogue.h"
#include "bench/lib/results.h"
#include "bench/lib/text.h"

void results_init(struct results *res)
{
    memset(res, 0, sizeof(*res));
}

void results_free(struct results *res)
{
    if (!res)
        return;
    free(res->r);
    memset(res, 0, sizeof(*res));
}

/* A key seen again replaces its value (the runner may refine one); past
 * RESULTS_KV_MAX keys, new ones are dropped: the table is for people. */
static void kv_set(struct kv *arr, size_t *n, const char *key, const char *fmt, va_list ap)
{
    char k[sizeof(arr[0].key)], value[sizeof(arr[0].value)];
    struct kv *slot = NULL;
    if (!key || !fmt)
        return;
    text_copy(k, sizeof(k), key, strlen(key));
    vsnprintf(value, sizeof(value), fmt, ap);
    for (size_t i = 0; i < *n && !slot; i++)
        if (!strcmp(arr[i].key, k))
            slot = &arr[i];
    if (!slot) {
        if (*n >= RESULTS_KV_MAX)
            return;
        slot = &arr[(*n)++];
        memcpy(slot->key, k, sizeof(k));
    }
    /* machine strings (CPU model, kernel) come from the system: control
     * characters would break the JSON reader's and the terminal's view */
    text_copy(slot->value, sizeof(slot->value), value, strlen(value));
}

void results_machine(struct results *res, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kv_set(res->machine, &res->n_machine, key, fmt, ap);
    va_end(ap);
}

void results_config(struct results *res, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kv_set(res->config, &res->n_config, key, fmt, ap);
    va_end(ap);
}

static struct bench_result *find_mut(const struct results *res, const char *row,
                                     const char *bench)
{
    for (size_t i = 0; row && bench && i < res->n; i++)
        if (!strcmp(res->r[i].row, row) && !strcmp(res->r[i].bench, bench))
            return &res->r[i];
    return NULL;
}

const struct bench_result *results_find(const struct results *res, const char *row,
                                        const char *bench)
{
    return find_mut(res, row, bench);
}

const struct bench_result *results_find_ok(const struct results *res, const char *row,
                                           const char *bench)
{
    const struct bench_result *e = find_mut(res, row, bench);
    return e && !e->na && e->runs && isfinite(e->median) ? e : NULL;
}

const struct exit_profile *results_exits(const struct results *res, const char *row,
                                         const char *bench)
{
    const struct bench_result *e = results_find_ok(res, row, bench);
    return e && e->has_exits ? &e->exits_median : NULL;
}

static void clear_numbers(struct bench_result *e)
{
    e->runs = 0;
    e->has_exits = false;
    memset(e->run_has_exits, 0, sizeof(e->run_has_exits));
    e->median = e->min = e->max = NAN;
    e->n_pct = 0;
    e->p50_median = e->p99_median = 0;
    memset(&e->exits_median, 0, sizeof(e->exits_median));
}

/* The entry for (row, bench), created empty (ok, no runs) when new; NULL
 * when a name does not fit or memory is short. */
static struct bench_result *find_or_add(struct results *res, const char *row, const char *bench,
                                        const char *unit)
{
    struct bench_result *e = find_mut(res, row, bench);
    if (e || !row || !bench)
        return e;
    if (!*row || !*bench || strlen(row) >= sizeof(e->row) || strlen(bench) >= sizeof(e->bench)) {
        errno = EINVAL;
        return NULL;
    }
    if (res->n == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : bench_rows_len * bench_catalogue_len + 8;
        struct bench_result *nr = realloc(res->r, cap * sizeof(*nr));
        if (!nr)
            return NULL;
        res->r = nr;
        res->cap = cap;
    }
    e = &res->r[res->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->row, row, strlen(row) + 1);
    memcpy(e->bench, bench, strlen(bench) + 1);
    const struct bench_def *d = bench_find(bench);
    const char *u = unit && *unit ? unit : d ? d->unit : "";
    text_copy(e->unit, sizeof(e->unit), u, strlen(u));
    clear_numbers(e);
    return e;
}

int results_add_sample(struct results *res, const char *row, const char *bench, const char *unit,
                       double value, const struct exit_profile *exits)
{
    if (!isfinite(value)) {
        errno = EINVAL;     /* a NaN would poison the median; not a sample */
        return -1;
    }
    struct bench_result *e = find_or_add(res, row, bench, unit);
    if (!e)
        return -1;
    if (e->na)
        return 0;
    if (e->runs >= RESULTS_MAX_RUNS) {
        errno = ENOSPC;
        return -1;
    }
    e->samples[e->runs] = value;
    if (exits) {
        e->exits[e->runs] = *exits;
        e->run_has_exits[e->runs] = true;
        e->has_exits = true;
    }
    e->runs++;
    return 0;
}

void results_set_na(struct results *res, const char *row, const char *bench, const char *reason)
{
    struct bench_result *e = find_or_add(res, row, bench, NULL);
    if (!e || e->na)
        return;     /* the first reason is the cause; later ones are consequences */
    e->na = true;
    if (!reason || !*reason)
        reason = "no reason given";
    text_copy(e->reason, sizeof(e->reason), reason, strlen(reason));
    clear_numbers(e);
}

/* The run whose sample is the median (for an even count, the lower of the
 * two middle ones: the profile must be one that was measured, not a mean
 * of two).  Runs without a profile are skipped, nearest rank first. */
static int median_run(const struct bench_result *e)
{
    unsigned idx[RESULTS_MAX_RUNS];
    unsigned n = e->runs;
    for (unsigned i = 0; i < n; i++)
        idx[i] = i;
    for (unsigned i = 1; i < n; i++) {      /* insertion sort: n <= 32, stable */
        unsigned k = idx[i], j = i;
        while (j > 0 && e->samples[idx[j - 1]] > e->samples[k]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = k;
    }
    int mid = ((int)n - 1) / 2;
    for (int d = 0; d < (int)n; d++) {
        int lo = mid - d, hi = mid + d;
        if (lo >= 0 && e->run_has_exits[idx[lo]])
            return (int)idx[lo];
        if (hi < (int)n && e->run_has_exits[idx[hi]])
            return (int)idx[hi];
    }
    return -1;
}

struct order_key {
    size_t row, bench, pos;
};

static int by_order(const void *a, const void *b)
{
    const struct order_key *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    if (x->bench != y->bench)
        return x->bench < y->bench ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Reorders res->r into catalogue order in place: the entries are large, so
 * the permutation is applied cycle by cycle through one spare entry. */
static void sort_entries(struct results *res)
{
    size_t n = res->n;
    struct order_key *k = malloc(n * sizeof(*k));
    bool *done = calloc(n, sizeof(*done));
    struct bench_result *tmp = malloc(sizeof(*tmp));
    if (!k || !done || !tmp)
        goto out;   /* out of memory: the order stays as added */
    for (size_t i = 0; i < n; i++) {
        int ri = row_index(res->r[i].row), bi = bench_index(res->r[i].bench);
        k[i].row = ri < 0 ? bench_rows_len : (size_t)ri;
        k[i].bench = bi < 0 ? bench_catalogue_len : (size_t)bi;
        k[i].pos = i;
    }
    qsort(k, n, sizeof(*k), by_order);
    /* new[i] = old[k[i].pos] */
    for (size_t i = 0; i < n; i++) {
        if (done[i] || k[i].pos == i) {
            done[i] = true;
            continue;
        }
        memcpy(tmp, &res->r[i], sizeof(*tmp));
        size_t j = i;
        for (;;) {
            size_t from = k[j].pos;
            done[j] = true;
            if (from == i) {
                memcpy(&res->r[j], tmp, sizeof(*tmp));
                break;
            }
            memcpy(&res->r[j], &res->r[from], sizeof(*tmp));
            j = from;
        }
    }
out:
    free(k);
    free(done);
    free(tmp);
}

int results_add_percentiles(struct results *res, const char *row, const char *bench,
                            double p50, double p99)
{
    struct bench_result *e = find_mut(res, row, bench);
    if (!e || e->na || !e->runs || e->n_pct >= RESULTS_MAX_RUNS || !isfinite(p50) ||
        !isfinite(p99))
        return -1;
    e->p50[e->n_pct] = p50;
    e->p99[e->n_pct] = p99;
    e->n_pct++;
    return 0;
}

void results_finish(struct results *res, const char *missing_reason)
{
    if (!missing_reason || !*missing_reason)
        missing_reason = "not run";
    for (size_t i = 0; i < res->n; i++) {
        struct bench_result *e = &res->r[i];
        if (!e->na && e->runs == 0) {       /* created, never measured */
            e->na = true;
            text_copy(e->reason, sizeof(e->reason), missing_reason, strlen(missing_reason));
        }
        if (e->na) {
            clear_numbers(e);
            continue;
        }
        e->median = stats_median(e->samples, e->runs);
        e->p50_median = e->n_pct ? stats_median(e->p50, e->n_pct) : 0;
        e->p99_median = e->n_pct ? stats_median(e->p99, e->n_pct) : 0;
        e->min = stats_min(e->samples, e->runs);
        e->max = stats_max(e->samples, e->runs);
        int m = e->has_exits ? median_run(e) : -1;
        if (m >= 0)
            e->exits_median = e->exits[m];
        else
            memset(&e->exits_median, 0, sizeof(e->exits_median));
    }
    for (size_t r = 0; r < bench_rows_len; r++)
        for (size_t b = 0; b < bench_catalogue_len; b++)
            if (!find_mut(res, bench_rows[r].name, bench_catalogue[b].name))
                results_set_na(res, bench_rows[r].name, bench_catalogue[b].name, missing_reason);
    sort_entries(res);
}
