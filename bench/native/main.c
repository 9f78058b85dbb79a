/*
 * hvlab-native: the guest's benchmarks as a Linux process (the `native`
 * row) or as a process in its own namespaces (`container`), printed in the
 * guest's console format (docs/benchmarks.md §2).  This file: the command
 * line, the catalogue in the guest's order, the TSC frequency, the
 * calibration and the output lines.
 */
#include "bench/native/native.h"

#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)

/* Reasons shared by several n/a entries. */
#define NA_NO_IO "a Linux process has no I/O ports: in/out are privileged at CPL 3 (IOPL 0, no ioperm grant) and there is no null device behind a port"
#define NA_NO_MMIO "a Linux process has no device registers: its memory is RAM, MMIO belongs to the host kernel's drivers"
#define NA_NO_MSR "a Linux process cannot execute rdmsr/wrmsr (privileged at CPL 3)"
#define NA_NO_IRQ "a process has no interrupts to take: the host kernel takes them"
#define NA_NO_VIRTQ "EVENT_IDX is a virtqueue feature: a process reading a file has no virtqueue " \
                    "(the variant with it is the same row's benchmark without .noevent)"

/*
 * The catalogue, in the guest's order (the exit group, then mem).  An entry
 * with fn == NULL is n/a in these rows for the reason given: a process
 * cannot do what the guest kernel measures there.  The container row has
 * the same entries: a container is a process.
 */
struct entry {
    const char *name;
    const char *unit;
    bench_fn fn;
    size_t param;
    const char *na;
};

static const struct entry catalogue[] = {
    {"exit.hypercall", "ns/op", NULL, 0,
     "a Linux process has no hypervisor to call: its call into the kernel is the system call, exit.syscall"},
    {"exit.pio_out", "ns/op", NULL, 0, NA_NO_IO},
    {"exit.pio_in", "ns/op", NULL, 0, NA_NO_IO},
    {"exit.mmio_read", "ns/op", NULL, 0, NA_NO_MMIO},
    {"exit.mmio_write", "ns/op", NULL, 0, NA_NO_MMIO},
    {"exit.cpuid", "ns/op", bench_cpuid, 0, NULL},
    {"exit.rdtsc", "ns/op", bench_rdtsc, 0, NULL},
    {"exit.rdmsr", "ns/op", NULL, 0, NA_NO_MSR},
    {"exit.wrmsr", "ns/op", NULL, 0, NA_NO_MSR},
    {"exit.cli_sti", "ns/op", NULL, 0,
     "a Linux process cannot execute cli/sti (privileged at CPL 3 with IOPL 0)"},
    {"exit.cr8_write", "ns/op", NULL, 0,
     "a Linux process cannot write CR8 (privileged at CPL 3): task priority belongs to the kernel"},
    {"exit.cr3_reload", "ns/op", NULL, 0,
     "a process cannot load CR3 (privileged at CPL 3): the address-space switch is measured as exit.as_switch"},
    {"exit.syscall", "ns/op", bench_syscall, 0, NULL},
    {"exit.divzero", "ns/op", bench_divzero, 0, NULL},
    {"exit.pagefault", "ns/op", bench_pagefault, 0, NULL},
    {"exit.ptemod", "ns/op", NULL, 0,
     "a process cannot write its page-table entries or execute invlpg (privileged at CPL 3): page-table updates through the kernel are measured as mem.pt_update"},
    {"exit.as_switch", "ns/op", bench_as_switch, 0, NULL},
    {"exit.timer_irq", "ns/op", NULL, 0, NA_NO_IRQ},
    {"exit.hlt_wakeup", "ns/op", NULL, 0,
     "a process cannot execute hlt (privileged at CPL 3) and " NA_NO_IRQ},
    {"mem.chase_4k.16K", "ns/access", bench_chase_4k, 16 * KIB, NULL},
    {"mem.chase_4k.256K", "ns/access", bench_chase_4k, 256 * KIB, NULL},
    {"mem.chase_4k.4M", "ns/access", bench_chase_4k, 4 * MIB, NULL},
    {"mem.chase_4k.64M", "ns/access", bench_chase_4k, 64 * MIB, NULL},
    {"mem.chase_4k.256M", "ns/access", bench_chase_4k, 256 * MIB, NULL},
    {"mem.chase_2m.16K", "ns/access", bench_chase_2m, 16 * KIB, NULL},
    {"mem.chase_2m.256K", "ns/access", bench_chase_2m, 256 * KIB, NULL},
    {"mem.chase_2m.4M", "ns/access", bench_chase_2m, 4 * MIB, NULL},
    {"mem.chase_2m.64M", "ns/access", bench_chase_2m, 64 * MIB, NULL},
    {"mem.chase_2m.256M", "ns/access", bench_chase_2m, 256 * MIB, NULL},
    {"mem.first_touch", "ns/page", bench_first_touch, 0, NULL},
    {"mem.pt_update", "ns/page", bench_pt_update, 0, NULL},
    {"io.blk_read_lat_qd1", "ns/req", bench_io, IO_LATENCY, NULL},
    {"io.blk_read_iops_qd1", "ns/req", bench_io, 0, NULL},
    {"io.blk_read_iops_qd32", "ns/req", bench_io, IO_QD32, NULL},
    {"io.blk_seq_read_mbps", "ns/req", bench_io, IO_SEQ, NULL},
    {"io.blk_write_iops_qd32", "ns/req", bench_io, IO_WRITE | IO_QD32, NULL},
    {"io.blk_read_lat_qd1.noevent", "ns/req", NULL, 0, NA_NO_VIRTQ},
    {"io.blk_read_iops_qd1.noevent", "ns/req", NULL, 0, NA_NO_VIRTQ},
    {"io.blk_read_iops_qd32.noevent", "ns/req", NULL, 0, NA_NO_VIRTQ},
    {"io.blk_seq_read_mbps.noevent", "ns/req", NULL, 0, NA_NO_VIRTQ},
    {"io.blk_write_iops_qd32.noevent", "ns/req", NULL, 0, NA_NO_VIRTQ},
};
#define N_ENTRIES (sizeof(catalogue) / sizeof(catalogue[0]))

static const char *const groups[] = {"exit", "mem", "io"};

/* ---- results ---------------------------------------------------------------- */

void result_na(struct result *r, const char *fmt, ...)
{
    va_list ap;
    r->ok = false;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

/* Past this many units a loop is broken (a unit that takes no time), not
 * short: stop doubling rather than run forever. */
#define MAX_UNITS ((uint64_t)1 << 40)

bool measure(const struct env *e, loop_fn f, void *state, uint64_t ops_per_unit,
             struct result *r)
{
    uint64_t n = 1, cycles;
    for (;;) {
        cycles = f(state, n);
        if (!cycles)
            return false;
        if (cycles >= e->min_cycles || n >= MAX_UNITS)
            break;
        n *= 2;
    }
    cycles = f(state, n);
    if (!cycles)
        return false;
    r->ok = true;
    r->ops = n * ops_per_unit;
    r->cycles = cycles;
    return true;
}

/* ---- the TSC's frequency: tsc_rate.c ---------------------------------------- */

/* Whether the TSC ticks at one rate in every P- and C-state (CPUID
 * 8000_0007h EDX bit 8, "invariant TSC"): without it cycles are not time. */
static bool tsc_invariant(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return false;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    return (d >> 8) & 1;
}

/* ---- command line ---------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [--container] [--min-ms N] [--disk FILE] [--help] [NAME|GROUP]...\n"
            "\n"
            "Runs hvlab's benchmarks as a plain Linux process (the native row) or, with\n"
            "--container, inside new user, pid, mount, net, uts and ipc namespaces (the\n"
            "container row: OS-level virtualization, as OpenVZ, LXC and Docker do it), and\n"
            "prints them in the guest kernel's format (docs/benchmarks.md):\n"
            "  bench: begin tsc_khz=K tsc_source=S platform=linux monitor=native|container min_ms=N\n"
            "  bench: NAME ops=N cycles=C tsc_khz=K unit=U value=V [p50=NS p99=NS]\n"
            "  bench: NAME n/a REASON\n"
            "  bench: done ok=N na=M\n"
            "\n"
            "  --container  run the workloads as PID 1 of new namespaces; when they cannot\n"
            "               be created, print 'bench: unavailable REASON' and exit 77\n"
            "  --min-ms N   calibrate each loop to last at least N ms (default 20)\n"
            "  --disk FILE  the io group's disk image (pread/pwrite; without it io is n/a)\n"
            "  --help       this text\n"
            "\n"
            "Groups: exit, mem, io.  Benchmarks (default: all, in this order):\n");
    for (size_t i = 0; i < N_ENTRIES; i++)
        fprintf(f, "  %-30s %s\n", catalogue[i].name, catalogue[i].fn ? catalogue[i].unit : "n/a here");
    fprintf(f, "\nExit status: 0 ran (each benchmark ok or n/a), 2 usage error, 77 --container\n"
               "cannot create namespaces here, 1 another failure.\n");
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (" PROG " --help lists the options and benchmarks)\n", stderr);
    exit(2);
}

static unsigned parse_min_ms(const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 60000 || s[0] == '-')
        usage_error("--min-ms wants a number of milliseconds from 1 to 60000, not '%s'", s);
    return (unsigned)v;
}

/* Marks NAME (a benchmark or a group) selected; false when unknown. */
static bool select_name(const char *name, bool *sel)
{
    bool found = false;
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        if (strcmp(name, groups[g]))
            continue;
        size_t len = strlen(groups[g]);
        for (size_t i = 0; i < N_ENTRIES; i++)
            if (!strncmp(catalogue[i].name, groups[g], len) && catalogue[i].name[len] == '.')
                sel[i] = found = true;
    }
    for (size_t i = 0; i < N_ENTRIES; i++)
        if (!strcmp(name, catalogue[i].name))
            sel[i] = found = true;
    return found;
}

int main(int argc, char **argv)
{
    bool container = false, any = false;
    bool sel[N_ENTRIES] = {false};
    unsigned min_ms = 20;
    const char *disk = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--container")) {
            container = true;
        } else if (!strcmp(a, "--min-ms")) {
            if (i + 1 == argc)
                usage_error("--min-ms needs a number of milliseconds");
            min_ms = parse_min_ms(argv[++i]);
        } else if (!strncmp(a, "--min-ms=", 9)) {
            min_ms = parse_min_ms(a + 9);
        } else if (!strcmp(a, "--disk")) {
            if (i + 1 == argc)
                usage_error("--disk needs a file (the io group's disk image)");
            disk = argv[++i];
        } else if (a[0] == '-') {
            usage_error("unknown option '%s'", a);
        } else if (select_name(a, sel)) {
            any = true;
        } else {
            usage_error("unknown benchmark '%s' (groups: exit, mem, io)", a);
        }
    }
    if (!any)
        for (size_t i = 0; i < N_ENTRIES; i++)
            sel[i] = true;

    const char *tsc_source;
    uint64_t tsc_khz = host_tsc_khz(&tsc_source);
    if (!tsc_khz) {
        fprintf(stderr, PROG ": could not measure the TSC's frequency\n");
        return 1;
    }
    if (!tsc_invariant())
        fprintf(stderr, PROG ": warning: the CPU does not report an invariant TSC (CPUID "
                        "8000_0007h EDX[8]): cycles may not convert to time at %" PRIu64 " kHz\n",
                tsc_khz);

    if (container) {
        char why[REASON_MAX];
        /* Only the process that runs the workloads returns. */
        if (container_enter(why, sizeof(why))) {
            fprintf(stderr, PROG ": %s; the container row is n/a\n", why);
            printf("bench: unavailable %s\n", why);
            fflush(stdout);
            return 77;
        }
    }

    printf("bench: begin tsc_khz=%" PRIu64 " tsc_source=%s platform=linux monitor=%s min_ms=%u%s\n",
           tsc_khz, tsc_source, container ? "container" : "native", min_ms,
           container ? " namespaces=" CONTAINER_NAMESPACES : "");
    fflush(stdout);

    struct env e = {.min_cycles = (uint64_t)min_ms * tsc_khz, .tsc_khz = tsc_khz, .disk = disk};
    unsigned ok = 0, na = 0;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        if (!sel[i])
            continue;
        const struct entry *en = &catalogue[i];
        struct result r = {0};
        if (en->fn)
            en->fn(&e, en->param, &r);
        else
            result_na(&r, "%s", en->na);
        if (r.ok && r.ops && r.cycles) {
            double ns = (double)r.cycles * 1e6 / ((double)tsc_khz * (double)r.ops);
            printf("bench: %s ops=%" PRIu64 " cycles=%" PRIu64 " tsc_khz=%" PRIu64
                   " unit=%s value=%.3f%s\n",
                   en->name, r.ops, r.cycles, tsc_khz, en->unit, ns, r.extra);
            ok++;
        } else {
            printf("bench: %s n/a %s\n", en->name, r.why[0] ? r.why : "the benchmark reported nothing");
            na++;
        }
        fflush(stdout);
    }
    printf("bench: done ok=%u na=%u\n", ok, na);
    return fflush(stdout) ? 1 : 0;
}
