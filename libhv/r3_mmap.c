/*
 * The ring-3 engine's shadow mappings: guest RAM (the memfd, fd 3 in the
 * child) mapped at guest-virtual addresses in the child, in batches.
 *
 * One injected syscall costs a full ptrace round trip (~45 us here,
 * MACHINE-NOTES.md); so r3_map/r3_unmap/r3_protect only validate and append
 * an op to the shared control page, and r3_flush() runs them all in ONE
 * round trip: the stub loops over the page with its own syscall instruction
 * (the only one besides the gadget that the seccomp filter accepts).
 *
 * What is refused here (first wall; the filter is the second): ranges that
 * are empty, unaligned, wrap, touch [HVLAB_HOLE_BASE, 2^64) — the hole and
 * everything non-canonical above it — and RAM ranges outside guest RAM.
 */
#include "libhv/r3_priv.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "abi/hvlab_abi.h"

#define R3_PAGE_OFF (GM_PAGE_SIZE - 1)
/* munmap/mprotect of huge ranges are split: the filter wants len < 512 GiB. */
#define R3_MAX_CHUNK (256ull << 30)

static bool gva_range_ok(uint64_t gva, uint64_t len)
{
    return len && !(gva & R3_PAGE_OFF) && !(len & R3_PAGE_OFF) &&
           gva < HVLAB_HOLE_BASE && len <= HVLAB_HOLE_BASE - gva;
}

static bool prot_ok(int prot)
{
    return !(prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC));
}

static int queue(struct r3_child *c, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
                 uint64_t a3, uint64_t a4, uint64_t a5)
{
    if (c->n_ops == R3_MAX_OPS) {
        int e = r3_flush(c, NULL);
        if (e)
            return e;
    }
    struct r3_op op = {.nr = (uint64_t)nr, .a = {a0, a1, a2, a3, a4, a5}};
    memcpy(&c->ops[c->n_ops++], &op, sizeof(op));
    return 0;
}

int r3_map(struct r3_child *c, uint64_t gva, uint64_t len, uint64_t gpa, int prot)
{
    if (!gva_range_ok(gva, len) || !prot_ok(prot) || (gpa & R3_PAGE_OFF) ||
        gpa > c->ram_size || len > c->ram_size - gpa)
        return -EINVAL;
    return queue(c, SYS_mmap, gva, len, (uint64_t)prot, MAP_SHARED | MAP_FIXED,
                 R3_RAM_FD, gpa);
}

static int chunked(struct r3_child *c, long nr, uint64_t gva, uint64_t len, int prot)
{
    while (len) {
        uint64_t n = len < R3_MAX_CHUNK ? len : R3_MAX_CHUNK;
        int e = queue(c, nr, gva, n, (uint64_t)prot, 0, 0, 0);
        if (e)
            return e;
        gva += n;
        len -= n;
    }
    return 0;
}

int r3_unmap(struct r3_child *c, uint64_t gva, uint64_t len)
{
    if (!gva_range_ok(gva, len))
        return -EINVAL;
    return chunked(c, SYS_munmap, gva, len, 0);
}

int r3_protect(struct r3_child *c, uint64_t gva, uint64_t len, int prot)
{
    if (!gva_range_ok(gva, len) || !prot_ok(prot))
        return -EINVAL;
    return chunked(c, SYS_mprotect, gva, len, prot);
}

unsigned r3_pending_ops(const struct r3_child *c)
{
    return c->n_ops;
}

int r3_flush(struct r3_child *c, unsigned *failed_index)
{
    unsigned n = c->n_ops;
    if (failed_index)
        *failed_index = n;
    if (!n)
        return 0;
    c->n_ops = 0;
    struct user_regs_struct r = c->stub_regs;
    r.rip = R3_STUB_BATCH;
    r.rbx = R3_CTL_VA;
    r.r12 = n;
    int e = r3_stub_call(c, &r, R3_STUB_BATCH_TRAPPED);
    if (e)
        return e;
    unsigned done = r.r13 < n ? (unsigned)r.r13 : n;
    c->stats.ops += done;
    if (done == n)
        return 0;
    if (failed_index)
        *failed_index = done;
    int64_t rv = (int64_t)r.rax;
    return rv < 0 && rv >= -4095 ? (int)rv : -EPROTO;
}
