/*
 * The io group as a Linux process does it: plain pread/pwrite on the same
 * disk image the guest rows get (--disk FILE), at the same request sizes
 * and queue depths.  Queue depth 32 is 32 threads, each with one request
 * in flight — what a process without an asynchronous I/O interface (no
 * io_uring, no libaio) has.  Buffered I/O through the page cache, as the
 * monitors' device models do: after the first pass the file is in memory
 * and every row measures its path to it, not the storage.
 *
 * The .noevent variants are n/a here: EVENT_IDX is a virtqueue feature.
 */
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_BLOCK      4096u
#define IO_SEQ_BYTES  65536u
#define IO_THREADS    32u
#define LAT_SAMPLES   1024u

struct io_state {
    int fd;
    uint64_t blocks;             /* of `bytes` in the file */
    uint32_t bytes;
    bool write, sequential, latency;
    unsigned threads;            /* 1: QD1 in this thread */
    uint64_t lcg, seq_next;
    char *buf;                   /* threads x IO_SEQ_BYTES */
    uint64_t lat[LAT_SAMPLES];
    unsigned n_lat;
    char why[REASON_MAX];
};

/* Knuth's MMIX LCG, the guest's sequence: 4 KiB-aligned random offsets. */
static uint64_t next_offset(struct io_state *s, uint64_t *lcg)
{
    if (s->sequential) {
        uint64_t b = s->seq_next;
        s->seq_next = s->seq_next + 1 >= s->blocks ? 0 : s->seq_next + 1;
        return b * s->bytes;
    }
    *lcg = *lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (*lcg >> 33) % s->blocks * s->bytes;
}

static bool one_request(struct io_state *s, char *buf, uint64_t *lcg)
{
    off_t off = (off_t)next_offset(s, lcg);
    ssize_t n = s->write ? pwrite(s->fd, buf, s->bytes, off) : pread(s->fd, buf, s->bytes, off);
    if (n != (ssize_t)s->bytes) {
        snprintf(s->why, sizeof(s->why), "%s of %u bytes at %lld: %s", s->write ? "pwrite" : "pread",
                 s->bytes, (long long)off, n < 0 ? strerror(errno) : "short transfer");
        return false;
    }
    return true;
}

static uint64_t qd1_loop(void *state, uint64_t n)
{
    struct io_state *s = state;
    s->n_lat = 0;
    uint64_t t0 = tsc_start(), t = t0;
    for (uint64_t i = 0; i < n; i++) {
        if (!one_request(s, s->buf, &s->lcg))
            return 0;
        if (s->latency && s->n_lat < LAT_SAMPLES) {
            uint64_t now = tsc_start();
            s->lat[s->n_lat++] = now - t;
            t = now;
        }
    }
    return tsc_stop() - t0;
}

/* ---- queue depth 32: threads ------------------------------------------------------ */

struct worker {
    struct io_state *s;
    unsigned id;
    uint64_t n, lcg;
    pthread_barrier_t *start;
    bool ok;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char *buf = w->s->buf + (size_t)w->id * IO_SEQ_BYTES;
    pthread_barrier_wait(w->start);
    w->ok = true;
    for (uint64_t i = 0; i < w->n && w->ok; i++)
        w->ok = one_request(w->s, buf, &w->lcg);
    return NULL;
}

/* n units of one request per thread, timed from the moment all are
 * ready (measure() counts n x threads operations). */
static uint64_t qd32_loop(void *state, uint64_t units)
{
    struct io_state *s = state;
    struct worker w[IO_THREADS];
    pthread_t tid[IO_THREADS];
    pthread_barrier_t start;
    unsigned t = s->threads;
    uint64_t n = units * t;
    if (pthread_barrier_init(&start, NULL, t + 1)) {
        snprintf(s->why, sizeof(s->why), "pthread_barrier_init failed");
        return 0;
    }
    unsigned made = 0;
    for (; made < t; made++) {
        w[made] = (struct worker){.s = s, .id = made, .n = n / t,
                                  .lcg = s->lcg + made * 7919u, .start = &start};
        if (pthread_create(&tid[made], NULL, worker_main, &w[made]))
            break;
    }
    if (made < t) {
        snprintf(s->why, sizeof(s->why), "cannot start %u threads", t);
        /* the barrier can never open: the started ones are abandoned */
        return 0;
    }
    uint64_t t0 = tsc_start();
    pthread_barrier_wait(&start);
    bool ok = true;
    for (unsigned i = 0; i < t; i++) {
        pthread_join(tid[i], NULL);
        ok &= w[i].ok;
    }
    uint64_t cycles = tsc_stop() - t0;
    pthread_barrier_destroy(&start);
    s->lcg += n;
    return ok ? cycles : 0;
}

/* ---- the benchmarks ----------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool open_disk(const struct env *e, struct io_state *s, struct result *r)
{
    struct stat st;
    if (!e->disk) {
        result_na(r, "no disk image (make bench passes --disk)");
        return false;
    }
    s->fd = open(e->disk, (s->write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (s->fd < 0 || fstat(s->fd, &st)) {
        result_na(r, "%s: %s", e->disk, strerror(errno));
        return false;
    }
    s->blocks = (uint64_t)st.st_size / s->bytes;
    if (s->blocks < 2) {
        result_na(r, "%s is smaller than two %u-byte requests", e->disk, s->bytes);
        return false;
    }
    s->buf = aligned_alloc(4096, (size_t)IO_THREADS * IO_SEQ_BYTES);
    if (!s->buf) {
        result_na(r, "out of memory for the I/O buffers");
        return false;
    }
    memset(s->buf, 0x5a, (size_t)IO_THREADS * IO_SEQ_BYTES);
    s->lcg = 1;
    return true;
}

static void run_io(const struct env *e, struct io_state *s, struct result *r)
{
    s->fd = -1;
    if (open_disk(e, s, r)) {
        loop_fn f = s->threads > 1 ? qd32_loop : qd1_loop;
        if (!measure(e, f, s, s->threads, r))
            result_na(r, "%s", s->why[0] ? s->why : "a request failed");
        else if (s->latency && s->n_lat) {
            qsort(s->lat, s->n_lat, sizeof(s->lat[0]), cmp_u64);
            snprintf(r->extra, sizeof(r->extra), " p50=%llu p99=%llu",
                     (unsigned long long)(s->lat[s->n_lat / 2] * 1000000u / e->tsc_khz),
                     (unsigned long long)(s->lat[s->n_lat * 99 / 100] * 1000000u / e->tsc_khz));
        }
    }
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf);
}

void bench_io(const struct env *e, size_t param, struct result *r)
{
    static struct io_state s;    /* the latency samples: 8 KiB, not on the stack */
    memset(&s, 0, sizeof(s));
    s.bytes = param & IO_SEQ ? IO_SEQ_BYTES : IO_BLOCK;
    s.sequential = param & IO_SEQ;
    s.write = param & IO_WRITE;
    s.latency = param & IO_LATENCY;
    s.threads = param & IO_QD32 ? IO_THREADS : 1;
    run_io(e, &s, r);
}
