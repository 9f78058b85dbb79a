/*
 * mem.chase_4k.<WS> and mem.chase_2m.<WS>: memory latency through the
 * address translation, with 4 KiB pages and with 2 MiB pages.
 *
 * A buffer of WS bytes holds one pointer per 64-byte cache line; the
 * pointers form ONE random cycle over all lines (Sattolo's algorithm, a
 * fixed xorshift seed: the same cycle on every run and in every row), so
 * each load depends on the one before and lands on an unpredictable line,
 * usually of another page: the prefetchers cannot help, and once the pages
 * outgrow the TLB every access also walks the page tables.  With 2 MiB
 * pages one TLB entry covers 512 times as much, which is what the 2m rows
 * show.  The guest does the same in its own page tables; under a monitor
 * with nested paging (EPT/NPT) a TLB miss walks two levels of tables, and
 * on a cloud VM that is true of this "native" row too.
 *
 * The container row runs the same code: a namespace does not change the
 * page tables, so the numbers should match the native row.
 */
#include "bench/native/native.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LINE 64u
#define HUGE_2M ((size_t)2 << 20)

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT) /* log2(2 MiB) in bits 26..31 */
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1 */
#endif

#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"

/*
 * Writes the cycle into buf: line i points to line perm[i], perm being a
 * cyclic permutation of the lines.  Sattolo's variant of the Fisher-Yates
 * shuffle (j drawn from [0, i), never i itself) yields a single cycle of
 * length n, so the chase visits every line before it repeats.  These
 * writes are the buffer's first touches: its page faults happen here, not
 * in the timed loop.
 */
static bool build_chain(char *buf, size_t size, struct result *r)
{
    size_t lines = size / LINE;
    uint32_t *perm = malloc(lines * sizeof(*perm));
    if (!perm) {
        result_na(r, "no memory for the permutation of %zu lines", lines);
        return false;
    }
    for (size_t i = 0; i < lines; i++)
        perm[i] = (uint32_t)i;
    uint64_t x = 0x9e3779b97f4a7c15u; /* fixed seed: the same chain every run */
    for (size_t i = lines - 1; i > 0; i--) {
        x ^= x << 13; /* xorshift64 (Marsaglia 2003) */
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(((x >> 32) * (uint64_t)i) >> 32); /* in [0, i) */
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < lines; i++)
        *(void **)(buf + i * LINE) = buf + (size_t)perm[i] * LINE;
    free(perm);
    return true;
}

/*
 * The chase goes on from where the last run stopped, so the measured run
 * loads lines the calibration runs did not just bring into the cache (on a
 * 256 MiB buffer they cover a small part of the cycle).
 */
struct chase {
    void **cur;
};

static uint64_t chase_loop(void *state, uint64_t n)
{
    struct chase *c = state;
    void **p = c->cur;
    uint64_t t0 = tsc_start();
    for (uint64_t i = 0; i < n; i++)
        p = *p;
    uint64_t t1 = tsc_stop();
    c->cur = p;
    return t1 - t0;
}

/*
 * Before the timed loop, one read of every 4 KiB page, in order.  On bare
 * metal this changes nothing that the calibration runs do not (the chain's
 * writes already faulted every page in).  Under a hypervisor that shadows
 * the guest's page tables it matters: this project's development machine is
 * a guest of PVM (a software KVM backend with shadow paging), and there
 * the first random reads after the chain was written cost ~4 us each on a
 * 256 MiB buffer in 3 runs out of 5 -- the hypervisor filling its shadow
 * entries, counted as memory latency -- and ~200 ns in every run after
 * this pass.
 */
static void chase(const struct env *e, char *buf, size_t size, struct result *r)
{
    struct chase c = {.cur = (void **)buf};
    const volatile char *v = buf;
    for (size_t off = 0; off < size; off += 4096)
        (void)v[off];
    measure(e, chase_loop, &c, 1, r);
}

void bench_chase_4k(const struct env *e, size_t size, struct result *r)
{
    char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        result_na(r, "mmap of %zu KiB: %s", size >> 10, strerror(errno));
        return;
    }
    /* 4 KiB pages only: no THP, and no multi-size THP folios (Linux >= 6.8),
     * whatever /sys/kernel/mm/transparent_hugepage says. */
    if (madvise(buf, size, MADV_NOHUGEPAGE)) {
        result_na(r, "madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
    } else if (build_chain(buf, size, r)) {
        chase(e, buf, size, r);
    }
    munmap(buf, size);
}

/* ---- 2 MiB pages ---------------------------------------------------------- */

long smaps_kb(const void *addr, const char *field)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[4096];
    bool inside = false;
    long kb = -1;
    size_t flen = strlen(field);
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char c;
        /* A mapping's header is "start-end perms ...": two hex numbers
         * around a '-' and then a space, which no "Field:" line has. */
        if (sscanf(line, "%lx-%lx%c", &lo, &hi, &c) == 3 && c == ' ') {
            inside = lo <= a && a < hi;
            continue;
        }
        if (inside && !strncmp(line, field, flen) && line[flen] == ':' &&
            sscanf(line + flen + 1, "%ld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

/* Whether THP can be asked for: "always" or "madvise" is selected in
 * /sys/kernel/mm/transparent_hugepage/enabled ("[madvise]"). */
static bool thp_available(void)
{
    char s[128] = "";
    FILE *f = fopen(THP_ENABLED, "r");
    if (!f)
        return false;
    bool ok = fgets(s, sizeof(s), f) && (strstr(s, "[always]") || strstr(s, "[madvise]"));
    fclose(f);
    return ok;
}

/*
 * A 2 MiB-aligned anonymous buffer backed by transparent huge pages,
 * chained; false with r set to n/a when THP does not back all of it.
 * MADV_HUGEPAGE makes the first touch of each 2 MiB region allocate a huge
 * page directly (with compaction if needed, under the default defrag
 * setting "madvise"); if memory was too fragmented for some of them,
 * MADV_COLLAPSE (Linux 6.1) asks the kernel to collapse the range now.
 * smaps is the proof: AnonHugePages counts the bytes mapped by huge PMDs.
 */
static char *thp_buffer(size_t len, size_t *map_len, char **map, struct result *r)
{
    *map_len = len + HUGE_2M;
    *map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*map == MAP_FAILED) {
        result_na(r, "mmap of %zu KiB: %s", *map_len >> 10, strerror(errno));
        return NULL;
    }
    /* Trim to a 2 MiB-aligned range: a huge page needs a 2 MiB-aligned
     * virtual address as well as a 2 MiB-aligned frame. */
    char *buf = (char *)(((uintptr_t)*map + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
    size_t head = (size_t)(buf - *map), tail = *map_len - head - len;
    if (head)
        munmap(*map, head);
    if (tail)
        munmap(buf + len, tail);
    *map = buf;
    *map_len = len;
    if (madvise(buf, len, MADV_HUGEPAGE)) {
        result_na(r, "madvise(MADV_HUGEPAGE): %s (a kernel without transparent huge pages?)",
                  strerror(errno));
        return NULL;
    }
    return buf;
}

static bool thp_backed(char *buf, size_t len, struct result *r)
{
    long want = (long)(len >> 10), kb = smaps_kb(buf, "AnonHugePages");
    if (kb >= 0 && kb < want) {
        madvise(buf, len, MADV_COLLAPSE); /* may fail: then smaps says how much */
        kb = smaps_kb(buf, "AnonHugePages");
    }
    if (kb < 0) {
        result_na(r, "cannot read AnonHugePages in /proc/self/smaps to check that transparent "
                     "huge pages back the buffer");
        return false;
    }
    if (kb < want) {
        result_na(r, "transparent huge pages back only %ld of the buffer's %ld KiB "
                     "(AnonHugePages in /proc/self/smaps): memory too fragmented for 2 MiB pages",
                  kb, want);
        return false;
    }
    return true;
}

void bench_chase_2m(const struct env *e, size_t size, struct result *r)
{
    size_t len = (size + HUGE_2M - 1) & ~(HUGE_2M - 1); /* 16 KiB uses one 2 MiB page */
    size_t map_len = len;
    /* hugetlbfs pages first: reserved at boot or in
     * /proc/sys/vm/nr_hugepages, guaranteed 2 MiB, reserved by this mmap. */
    char *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
    char *buf = map;
    bool thp = false;
    if (map == MAP_FAILED) {
        if (!thp_available()) {
            result_na(r, "no 2 MiB pages available (no hugetlb pages reserved and transparent "
                         "huge pages are off: " THP_ENABLED ")");
            return;
        }
        thp = true;
        buf = thp_buffer(len, &map_len, &map, r);
        if (!buf) {
            if (map != MAP_FAILED)
                munmap(map, map_len);
            return;
        }
    }
    if (build_chain(buf, size, r) && (!thp || thp_backed(buf, len, r)))
        chase(e, buf, size, r);
    munmap(map, map_len);
}
