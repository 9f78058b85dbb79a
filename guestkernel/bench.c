/*
 * bench.c - the guest command `bench [min_ms=N] [NAME|GROUP]...`: runs the
 * benchmark catalogue (bench_exit.c, bench_mem.c), brackets each timed run
 * for the monitor and prints one line per benchmark (docs/benchmarks.md §2,
 * the contract with the harness):
 *
 *   bench: begin tsc_khz=2994000 tsc_source=boot-info platform=native monitor=hv-trap-emulate min_ms=20
 *   bench: exit.cpuid ops=65536 cycles=123456789 tsc_khz=2994000 unit=ns/op value=629.123
 *   bench: exit.rdmsr n/a a paravirtual guest has no MSRs (...)
 *   bench: done ok=28 na=2
 *
 * A benchmark that breaks prints `bench: NAME failed: REASON`, the footer
 * counts it (failed=K) and the command exits HVLAB_GUEST_EXIT_FAIL.
 *
 * The brackets.  `outl PADDR` of a struct hvlab_bench_mark to
 * HVLAB_PORT_BENCH (abi/hvlab_abi.h): BEGIN attaches the monitor's exit
 * counters to the name, END closes it with the operations and cycles.  The
 * record is in the kernel's BSS, which is identity-mapped (va == pa), so its
 * address is the guest-physical one the monitor reads.  The write goes
 * through platform->outl: an exit of its own everywhere (a device hypercall
 * on paravirt), the same in both brackets, so the harness's subtraction
 * removes it.  Under QEMU nothing listens at the port and the writes are
 * dropped like any write to an empty ISA port.
 *
 * No floating point in this kernel (-mgeneral-regs-only): value =
 * cycles * 1e6 / (tsc_khz * ops) ns is computed in thousandths with one
 * 128-by-64-bit DIV (SDM Vol. 2A "DIV": RDX:RAX / r/m64; #DE if the quotient
 * does not fit 64 bits, which the caller rules out first).
 */
#include "kernel.h"
#include "bench.h"
#include "task.h"
#include "timer.h"

#define MIN_MS_DEFAULT 20u
#define MIN_MS_MAX     10000u

/* ---- the brackets ------------------------------------------------------- */

static struct hvlab_bench_mark mark __attribute__((aligned(64)));
static const char *bracket_name;        /* NULL while calibrating */
static bool bracket_open;

static void send_mark(uint32_t op, uint64_t ops, uint64_t cycles)
{
    size_t len = strnlen(bracket_name, sizeof(mark.name) - 1);

    mark.op = op;
    mark.reserved = 0;
    mark.iterations = ops;
    mark.tsc_cycles = cycles;
    memset(mark.name, 0, sizeof(mark.name));
    memcpy(mark.name, bracket_name, len);
    /* The monitor reads the record while this vCPU is stopped in the port
     * exit: program order suffices, the barrier keeps the compiler's. */
    __asm__ volatile("" ::: "memory");
    platform->outl(HVLAB_PORT_BENCH, (uint32_t)(uint64_t)&mark);
}

/* Called right before the timed part of a measured or base run; nothing
 * during calibration. */
void bench_open(void)
{
    if (!bracket_name || bracket_open)
        return;
    bracket_open = true;
    send_mark(HVLAB_BENCH_BEGIN, 0, 0);
}

void bench_close(uint64_t ops, uint64_t cycles)
{
    if (!bracket_name || !bracket_open)
        return;
    bracket_open = false;
    send_mark(HVLAB_BENCH_END, ops, cycles);
}

int64_t bench_user_mark(uint64_t op, uint64_t ops, uint64_t cycles)
{
    if (op == HVLAB_BENCH_BEGIN)
        bench_open();
    else if (op == HVLAB_BENCH_END)
        bench_close(ops, cycles);
    else
        return -EINVAL;
    return 0;
}

/* ---- failures ------------------------------------------------------------- */

static char fail_reason[160];
static bool failed;

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    if (failed)
        return;                         /* the first reason is the real one */
    va_start(ap, fmt);
    vsnprintf(fail_reason, sizeof(fail_reason), fmt, ap);
    va_end(ap);
    failed = true;
}

/* ---- user tasks ----------------------------------------------------------------- */

int bench_user_task(const struct bench *b, uint64_t main, struct bench_uparams *io,
                    uint64_t ops_per_n, int (*map)(const struct bench *b, struct aspace *as))
{
    struct task t;

    if (task_create(&t, main, 0) < 0) {
        bench_fail("cannot create a user task (guest RAM or page tables exhausted)");
        return -1;
    }
    if (map && map(b, &t.as) < 0) {
        task_destroy(&t);
        bench_fail("cannot map the benchmark's buffer into the user task");
        return -1;
    }
    struct bench_uparams *page = (struct bench_uparams *)t.data_pa;   /* identity-mapped */
    *page = *io;
    bool brackets_itself = io->brackets != 0;
    if (!brackets_itself)
        bench_open();
    int rc = task_run(&t, TASK_ENTER_SYSRETQ);
    *io = *page;
    if (!brackets_itself)
        bench_close(io->n * ops_per_n, io->cycles);
    task_destroy(&t);
    if (rc < 0) {
        bench_fail("the user task was killed by %s (error 0x%lx) at rip 0x%lx, cr2 0x%lx",
                   exception_mnemonic(t.fault.vector), t.fault.error, t.fault.rip, t.fault.cr2);
        return -1;
    }
    if (t.exit_code != 0) {
        bench_fail("the user task exited with %ld", t.exit_code);
        return -1;
    }
    return 0;
}

/* ---- measuring one benchmark ------------------------------------------------- */

static uint64_t ops_per_unit(const struct bench *b)
{
    return b->ops_per_unit ? b->ops_per_unit : 1;
}

/* Like kvm-unit-tests' vmexit: double the count until the loop lasts the
 * goal.  Each step costs about as much as all before it together, so the
 * calibration takes about twice the goal. */
static int calibrate_loop(const struct bench *b, uint64_t goal, uint64_t *units)
{
    uint64_t n = b->n_start ? b->n_start : 1;
    for (;;) {
        uint64_t cycles = b->loop(b, n);
        if (failed)
            return -1;
        if (cycles >= goal || n >= BENCH_N_MAX / 2)
            break;
        n *= 2;
    }
    *units = n;
    return 0;
}

static int run_once(const struct bench *b, uint64_t units, uint64_t *cycles)
{
    int rc = 0;
    if (b->loop) {
        bench_open();
        *cycles = b->loop(b, units);
        bench_close(units * ops_per_unit(b), *cycles);
        rc = failed ? -1 : 0;
    } else {
        rc = b->run(b, units, cycles);
        if (failed)
            rc = -1;
    }
    bench_close(0, 0);                  /* a run that failed half-way */
    return rc;
}

/* 0 with *ops and *cycles of the measured run, or -1 (fail_reason). */
static int measure(const struct bench *b, uint64_t goal, uint64_t *ops, uint64_t *cycles)
{
    uint64_t units = 0, base_cycles = 0;
    int rc = -1;

    if (b->setup && b->setup(b) < 0)
        goto out;
    if (b->measure) {
        bracket_name = b->name;
        rc = b->measure(b, goal, ops, cycles);
        bench_close(0, 0);              /* a task that died inside a bracket */
        if (failed)
            rc = -1;
        goto out;
    }
    if ((b->loop ? calibrate_loop(b, goal, &units) : b->calibrate(b, goal, &units)) < 0)
        goto out;
    bracket_name = b->name;
    if (run_once(b, units, cycles) < 0 || run_once(b, 0, &base_cycles) < 0)
        goto out;
    *ops = units * ops_per_unit(b);
    rc = 0;
out:
    bracket_name = NULL;
    if (b->teardown)
        b->teardown(b);
    if (rc == 0 && (*ops == 0 || *cycles == 0)) {
        bench_fail("the measured run timed %lu operations in %lu cycles", *ops, *cycles);
        rc = -1;
    }
    return rc;
}

/* ---- output ------------------------------------------------------------------- */

/* (hi:lo) / den for hi < den, so that the quotient fits 64 bits. */
static uint64_t div128(uint64_t hi, uint64_t lo, uint64_t den)
{
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(den));
    return q;
}

/* cycles * 1e6 / (khz * ops) nanoseconds, in thousandths, rounded. */
static uint64_t value_milli(uint64_t cycles, uint64_t khz, uint64_t ops)
{
    unsigned __int128 den = (unsigned __int128)khz * ops;
    unsigned __int128 num = (unsigned __int128)cycles * 1000000000u;
    while (den >> 64) {                 /* > 2^64: not with real counts */
        den >>= 1;
        num >>= 1;
    }
    num += (uint64_t)den / 2;
    if ((uint64_t)(num >> 64) >= (uint64_t)den)
        return UINT64_MAX;
    return div128((uint64_t)(num >> 64), (uint64_t)num, (uint64_t)den);
}

/* A console value without spaces ("boot info" -> "boot-info"); only the
 * first word of a name that explains itself ("none (stock QEMU ...)"). */
static void one_word(char *dst, size_t size, const char *src, bool first_word_only)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++) {
        if (src[i] == ' ' && first_word_only)
            break;
        dst[i] = src[i] == ' ' ? '-' : src[i];
    }
    dst[i] = '\0';
}

/* ---- the command ---------------------------------------------------------------- */

enum { GROUP_EXIT, GROUP_MEM, GROUP_IO, N_GROUPS };
static const char *const group_names[N_GROUPS] = { "exit", "mem", "io" };

struct entry {
    const struct bench *b;
    unsigned group;
};

#define MAX_BENCHES 64
static struct entry catalogue[MAX_BENCHES];
static unsigned n_catalogue;
static bool selected[MAX_BENCHES];

static void build_catalogue(void)
{
    n_catalogue = 0;
    for (unsigned i = 0; i < bench_exit_count && n_catalogue < MAX_BENCHES; i++)
        catalogue[n_catalogue++] = (struct entry){ &bench_exit_group[i], GROUP_EXIT };
    for (unsigned i = 0; i < bench_mem_count && n_catalogue < MAX_BENCHES; i++)
        catalogue[n_catalogue++] = (struct entry){ &bench_mem_group[i], GROUP_MEM };
    for (unsigned i = 0; i < bench_io_count && n_catalogue < MAX_BENCHES; i++)
        catalogue[n_catalogue++] = (struct entry){ &bench_io_group[i], GROUP_IO };
}

static int usage(void)
{
    kprintf("usage: bench [min_ms=N] [NAME|GROUP]... (N in 1..%u, default %u; groups: exit mem"
            " io; default: all; names: exit.* mem.* io.*, see docs/benchmarks.md)\n",
            MIN_MS_MAX, MIN_MS_DEFAULT);
    return HVLAB_GUEST_EXIT_USAGE;
}

/* Marks NAME or every benchmark of GROUP; false if it is neither. */
static bool select_word(const char *w)
{
    bool found = false;
    for (unsigned g = 0; g < N_GROUPS; g++)
        if (strcmp(w, group_names[g]) == 0)
            for (unsigned i = 0; i < n_catalogue; i++)
                if (catalogue[i].group == g)
                    selected[i] = found = true;
    for (unsigned i = 0; i < n_catalogue; i++)
        if (strcmp(w, catalogue[i].b->name) == 0)
            selected[i] = found = true;
    return found;
}

/* The pointer-chase buffer is reserved once, for the largest working set
 * asked for that fits (bench_mem.c), before any other memory is taken. */
static void reserve_memory(void)
{
    uint64_t sizes[MAX_BENCHES];
    unsigned n = 0;
    for (unsigned i = 0; i < n_catalogue; i++)
        if (selected[i] && catalogue[i].b->param)
            sizes[n++] = catalogue[i].b->param;
    bench_mem_reserve(sizes, n);
}

int cmd_bench(int argc, char **argv)
{
    uint64_t min_ms = MIN_MS_DEFAULT;
    bool any = false;
    unsigned ok = 0, na = 0, nfailed = 0;
    char source[32], monitor[32];

    build_catalogue();
    memset(selected, 0, sizeof(selected));
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (strlen(w) > 7 && memcmp(w, "min_ms=", 7) == 0) {
            if (!parse_u64(w + 7, &min_ms) || min_ms < 1 || min_ms > MIN_MS_MAX) {
                kprintf("error: bench: bad %s\n", w);
                return usage();
            }
            continue;
        }
        if (!select_word(w)) {
            kprintf("error: bench: unknown benchmark or group \"%s\"\n", w);
            return usage();
        }
        any = true;
    }
    if (!any)
        for (unsigned i = 0; i < n_catalogue; i++)
            selected[i] = true;

    uint64_t khz = tsc_khz();
    uint64_t goal = min_ms * khz;       /* TSC cycles; <= 10^4 * 2^32, no overflow */
    one_word(source, sizeof(source), tsc_source(), false);
    one_word(monitor, sizeof(monitor), monitor_name(boot_info->monitor), true);
    kprintf("bench: begin tsc_khz=%lu tsc_source=%s platform=%s monitor=%s min_ms=%lu\n",
            khz, source, platform->name, monitor, min_ms);
    reserve_memory();

    for (unsigned i = 0; i < n_catalogue; i++) {
        const struct bench *b = catalogue[i].b;
        if (!selected[i])
            continue;
        const char *why = b->na ? b->na(b) : NULL;
        if (why) {
            kprintf("bench: %s n/a %s\n", b->name, why);
            na++;
            continue;
        }
        uint64_t ops = 0, cycles = 0;
        failed = false;
        if (measure(b, goal, &ops, &cycles) < 0) {
            kprintf("bench: %s failed: %s\n", b->name, failed ? fail_reason : "no reason given");
            nfailed++;
            continue;
        }
        uint64_t v = value_milli(cycles, khz, ops);
        char extra[96] = "";
        if (b->extra)
            b->extra(b, extra, sizeof(extra));
        kprintf("bench: %s ops=%lu cycles=%lu tsc_khz=%lu unit=%s value=%lu.%03lu%s\n",
                b->name, ops, cycles, khz, b->unit, v / 1000, v % 1000, extra);
        ok++;
    }
    if (nfailed) {
        kprintf("bench: done ok=%u na=%u failed=%u\n", ok, na, nfailed);
        return HVLAB_GUEST_EXIT_FAIL;
    }
    kprintf("bench: done ok=%u na=%u\n", ok, na);
    return 0;
}
