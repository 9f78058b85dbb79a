/*
 * The benchmark catalogue and the rows (docs/benchmarks.md §1, §5).
 *
 * This table is the single source of truth for which (row, benchmark) pairs
 * a results.json must contain: results_finish() walks it to fill the pairs a
 * session did not produce, and the report and plots walk it so that their
 * order never depends on the order in which rows happened to run.
 */
#include "bench/lib/catalogue.h"

#include <string.h>

/* Exit latency first (the group the three techniques differ on most), then
 * memory translation, then virtio I/O.  The quick set keeps every exit benchmark (they are
 * short) and one small, one mid-size working set per page size, plus the two
 * page-table benchmarks that show shadow paging vs batched updates. */
#define EXIT(n) {"exit." n, "exit", "ns/op", true}
#define CHASE(pg, ws, q) {"mem.chase_" pg "." ws, "mem", "ns/access", q}
/* The io group: time per request (ns/req); the report shows IOPS (1e9 /
 * time) or MB/s (bytes / time) beside it.  The quick set keeps the latency
 * and the QD32 IOPS, with and without EVENT_IDX. */
#define IO(n, bytes, q) {"io." n, "io", "ns/req", q, bytes}

const struct bench_def bench_catalogue[] = {
    EXIT("hypercall"),
    EXIT("pio_out"),
    EXIT("pio_in"),
    EXIT("mmio_read"),
    EXIT("mmio_write"),
    EXIT("cpuid"),
    EXIT("rdtsc"),
    EXIT("rdmsr"),
    EXIT("wrmsr"),
    EXIT("cli_sti"),
    EXIT("cr8_write"),
    EXIT("cr3_reload"),
    EXIT("syscall"),
    EXIT("divzero"),
    EXIT("pagefault"),
    EXIT("ptemod"),
    EXIT("as_switch"),
    EXIT("timer_irq"),
    EXIT("hlt_wakeup"),
    CHASE("4k", "16K", true),
    CHASE("4k", "256K", false),
    CHASE("4k", "4M", true),
    CHASE("4k", "64M", false),
    CHASE("4k", "256M", false),
    CHASE("2m", "16K", false),
    CHASE("2m", "256K", false),
    CHASE("2m", "4M", true),
    CHASE("2m", "64M", false),
    CHASE("2m", "256M", false),
    {"mem.first_touch", "mem", "ns/page", true},
    {"mem.pt_update", "mem", "ns/page", true},
    IO("blk_read_lat_qd1", 4096, true),
    IO("blk_read_iops_qd1", 4096, false),
    IO("blk_read_iops_qd32", 4096, true),
    IO("blk_seq_read_mbps", 65536, false),
    IO("blk_write_iops_qd32", 4096, false),
    IO("blk_read_lat_qd1.noevent", 4096, true),
    IO("blk_read_iops_qd1.noevent", 4096, false),
    IO("blk_read_iops_qd32.noevent", 4096, true),
    IO("blk_seq_read_mbps.noevent", 65536, false),
    IO("blk_write_iops_qd32.noevent", 4096, false),
};
const size_t bench_catalogue_len = sizeof(bench_catalogue) / sizeof(bench_catalogue[0]);

const struct row_def bench_rows[] = {
    {"native", "native (hvlab-native: the user-mode workloads as a plain Linux process)", false},
    {"container",
     "container (hvlab-native in new user, pid, mount, net, uts and ipc namespaces: "
     "OS-level virtualization)",
     false},
    {"trap-emulate", "trap-and-emulate (hv-trap-emulate: deprivileged ring 3 + shadow paging)",
     true},
    {"paravirt",
     "paravirtualization (hv-paravirt: hypercalls, a shared-page interrupt mask, "
     "validated page-table batches)",
     true},
    {"hwassist", "hardware-assisted (hv-hwassist on this machine's /dev/kvm)", true},
    {"qemu-tcg", "QEMU TCG (qemu-system-x86_64 -accel tcg: pure emulation)", false},
    {"qemu-kvm", "QEMU KVM (qemu-system-x86_64 -accel kvm: the production stack)", false},
    {"hwassist-svm",
     "hardware-assisted on AMD-V + nested paging (hv-hwassist on KVM inside QEMU TCG: "
     "exit counts faithful to hardware, times not)",
     true},
    {"hwassist-ioeventfd",
     "hv-hwassist --ioeventfd on this machine's /dev/kvm: virtio kicks by ioeventfd to an I/O "
     "thread, completions by irqfd (the io group only)",
     true, true},
    {"hwassist-svm-ioeventfd",
     "hv-hwassist --ioeventfd on AMD-V inside QEMU TCG (the io group only; exit counts "
     "faithful, times not)",
     true, true},
};
const size_t bench_rows_len = sizeof(bench_rows) / sizeof(bench_rows[0]);

bool row_times_emulated(const char *row)
{
    return !strncmp(row, "hwassist-svm", 12);
}

int bench_index(const char *name)
{
    for (size_t i = 0; name && i < bench_catalogue_len; i++)
        if (!strcmp(bench_catalogue[i].name, name))
            return (int)i;
    return -1;
}

int row_index(const char *name)
{
    for (size_t i = 0; name && i < bench_rows_len; i++)
        if (!strcmp(bench_rows[i].name, name))
            return (int)i;
    return -1;
}

const struct bench_def *bench_find(const char *name)
{
    int i = bench_index(name);
    return i < 0 ? NULL : &bench_catalogue[i];
}

const struct row_def *row_find(const char *name)
{
    int i = row_index(name);
    return i < 0 ? NULL : &bench_rows[i];
}
