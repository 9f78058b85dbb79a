/*
 * hvlab guest <-> hypervisor contract (ABI version 1).
 *
 * This is the only header that both the guest kernel (freestanding) and the
 * monitors (hosted C11) include.  It fixes:
 *   - the guest-physical memory map and the reserved hypervisor hole,
 *   - the 64-bit entry state every hvlab monitor establishes,
 *   - the boot-info structure handed to the guest,
 *   - the I/O ports and MMIO windows of the hvlab platform,
 *   - the exit statuses of the monitors.
 * docs/abi.md is the prose version of this file; keep them in step.
 */
#ifndef HVLAB_ABI_H
#define HVLAB_ABI_H

#include <stdint.h>

#define HVLAB_ABI_VERSION 1u

/* ------------------------------------------------------------------------
 * Guest-physical memory map.  Guest RAM starts at physical address 0 and is
 * handed over zero-filled (fresh memfd/mmap pages): the guest may rely on
 * that and must not clear RAM or its BSS itself (on a software KVM backend a
 * ring-0 clear of one 4 KiB page costs ~6 ms).
 * ---------------------------------------------------------------------- */
#define HVLAB_BOOTINFO_PADDR   0x00001000ull /* struct hvlab_boot_info, one page */
#define HVLAB_SCRATCH_PADDR    0x00002000ull /* monitor scratch: entry page tables, GDT, TSS, stack */
#define HVLAB_SCRATCH_END      0x00010000ull
#define HVLAB_KERNEL_PADDR     0x00100000ull /* guest kernel load address (1 MiB)   */
#define HVLAB_RAM_MIN          (16ull << 20) /* smallest --mem the monitors accept  */
#define HVLAB_RAM_MAX          (3ull << 30)  /* RAM must end below the MMIO window  */

/* hvlab MMIO window, above RAM and below 4 GiB. */
#define HVLAB_MMIO_BASE        0xD0000000ull
#define HVLAB_MMIO_NULL_PADDR  0xD0000000ull /* null register page (benchmarks)    */
#define HVLAB_VIRTIO_MMIO_BASE 0xD0001000ull /* virtio-mmio slot i at BASE + i*SIZE */
#define HVLAB_VIRTIO_MMIO_SIZE 0x1000ull
#define HVLAB_VIRTIO_MMIO_SLOTS 8u
/* The interrupt vector of virtio-mmio slot i (also in the device table). */
#define HVLAB_VIRTIO_IRQ_VECTOR(i) (0x40u + (i))
#define HVLAB_MMIO_END         0xD0100000ull

/*
 * The hypervisor hole: the top 1 TiB of the lower canonical half.  Like Xen
 * PV's reserved range, no guest ever maps anything there; the ring-3 engine
 * of the software monitors keeps its stub there.
 */
#define HVLAB_HOLE_BASE        0x00007F0000000000ull
#define HVLAB_HOLE_END         0x0000800000000000ull

/* ------------------------------------------------------------------------
 * 64-bit entry state (all hvlab monitors).  The ELF entry point is entered
 *   - in 64-bit long mode, CPL 0, interrupts disabled (RFLAGS = 0x2);
 *   - CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE, EFER = SCE|LME|LMA|NXE;
 *   - CR3 = monitor-built tables identity-mapping [0, 4 GiB) with 2 MiB
 *     pages, supervisor, writable (they live in the scratch area);
 *   - CS = HVLAB_ENTRY_CS (64-bit code), DS=ES=SS=FS=GS = HVLAB_ENTRY_DS;
 *   - RDI = HVLAB_BOOTINFO_PADDR, RSI = HVLAB_BOOT_MAGIC, RSP = a small
 *     stack in the scratch area (the guest should switch to its own).
 * A paravirtual guest (hv-paravirt) sees less: no GDT, IDT or CR3 of its
 * own at entry, only the "boot address space" (RAM at va == pa) until its
 * first HVC_NEW_BASEPTR, events masked (abi/hvlab_hypercall.h).
 * A guest loaded by stock QEMU enters instead through its 32-bit PVH entry
 * (Xen ELF note 18) and builds a boot info itself with monitor = NONE.
 * ---------------------------------------------------------------------- */
#define HVLAB_ENTRY_CS 0x08u
#define HVLAB_ENTRY_DS 0x10u

/* ------------------------------------------------------------------------
 * Boot info.
 * ---------------------------------------------------------------------- */
#define HVLAB_BOOT_MAGIC 0x48564C41u /* "HVLA" */

enum hvlab_platform {            /* which platform ops the guest must use */
    HVLAB_PLATFORM_NATIVE = 1,   /* real privileged instructions          */
    HVLAB_PLATFORM_PARAVIRT = 2, /* hypercalls and a shared page          */
};

enum hvlab_monitor {             /* who loaded the guest                  */
    HVLAB_MONITOR_NONE = 0,      /* stock QEMU or other: isa-debug-exit   */
    HVLAB_MONITOR_HWASSIST = 1,
    HVLAB_MONITOR_TRAP_EMULATE = 2,
    HVLAB_MONITOR_PARAVIRT = 3,
};

enum hvlab_kvm_backend {         /* the KVM module behind /dev/kvm        */
    HVLAB_KVM_NONE = 0,
    HVLAB_KVM_INTEL = 1,         /* kvm_intel: VT-x, EPT                  */
    HVLAB_KVM_AMD = 2,           /* kvm_amd: AMD-V (SVM), NPT             */
    HVLAB_KVM_PVM = 3,           /* kvm_pvm: software backend             */
    HVLAB_KVM_UNKNOWN = 4,
};

/*
 * Backend quirk bits: facts about the platform the guest runs on that it
 * cannot probe safely itself.  A monitor sets them; the guest adapts
 * (fallback gates, shorter ring-0 loops, "n/a on this backend").
 */
#define HVLAB_QUIRK_SYSCALL_BROKEN   (1ull << 0) /* ring-3 `syscall` does not reach ring 0: use the UD2 gate  */
#define HVLAB_QUIRK_RING0_EMULATED   (1ull << 1) /* ring-0 code is emulated (~1000x slower): keep it short     */
#define HVLAB_QUIRK_INTN_RING0_BROKEN (1ull << 2) /* int3 / int n in ring 0 kill the vCPU                      */
#define HVLAB_QUIRK_NO_PCID          (1ull << 3) /* PCID, CR3 no-flush bit and invpcid unusable               */
#define HVLAB_QUIRK_NO_1G_PAGES      (1ull << 4)
#define HVLAB_QUIRK_NO_RDTSCP        (1ull << 5) /* rdtscp, rdpid, TSC_AUX unusable                           */
#define HVLAB_QUIRK_VMCALL_HANGS     (1ull << 6) /* vmcall/vmmcall in ring 0 never return                     */
#define HVLAB_QUIRK_LATE_IRQ         (1ull << 7) /* pending IRQs delivered only every ~1 ms while ring 0 runs */
/*
 * The kernel runs deprivileged in CPU ring 3 (trap-and-emulate, paravirt):
 * sensitive unprivileged instructions (sgdt, sidt, sldt, str, smsw, mov from
 * cs/ss, pushf, popf, cpuid, lar, lsl, rdpid) see or change the host's
 * state, not the virtual CPU's.
 */
#define HVLAB_QUIRK_DEPRIVILEGED     (1ull << 8)

/* Boot-info flags. */
#define HVLAB_BOOT_RAM_ZEROED (1u << 0) /* all usable RAM is zero-filled at entry */

enum hvlab_mem_type {
    HVLAB_MEM_USABLE = 1,
    HVLAB_MEM_RESERVED = 2,      /* boot info, scratch, firmware          */
    HVLAB_MEM_KERNEL = 3,        /* the loaded guest image                */
};

struct hvlab_mem_range {
    uint64_t base;
    uint64_t size;
    uint32_t type;               /* enum hvlab_mem_type                   */
    uint32_t reserved;
};

enum hvlab_device_type {
    HVLAB_DEV_NONE = 0,
    HVLAB_DEV_NULL_MMIO = 1,     /* reads 0, writes ignored: exit.mmio_*  */
    HVLAB_DEV_VIRTIO_MMIO = 2,   /* virtio-mmio v2 transport              */
};

struct hvlab_device {
    uint32_t type;               /* enum hvlab_device_type                */
    uint32_t irq;                /* interrupt vector, 0 if none           */
    uint64_t base;               /* guest-physical                        */
    uint64_t size;
};

#define HVLAB_MAX_MEM_RANGES 16u
#define HVLAB_MAX_DEVICES    16u
#define HVLAB_CMDLINE_MAX    1024u

struct hvlab_boot_info {
    uint32_t magic;              /* HVLAB_BOOT_MAGIC                      */
    uint16_t version;            /* HVLAB_ABI_VERSION                     */
    uint16_t size;               /* sizeof(struct hvlab_boot_info)        */
    uint32_t platform;           /* enum hvlab_platform                   */
    uint32_t monitor;            /* enum hvlab_monitor                    */
    uint32_t kvm_backend;        /* enum hvlab_kvm_backend                */
    uint32_t flags;              /* HVLAB_BOOT_*                          */
    uint64_t quirks;             /* HVLAB_QUIRK_*                         */
    uint64_t tsc_khz;            /* 0: unknown, the guest calibrates      */
    uint64_t ram_size;           /* bytes of RAM from physical 0          */
    uint32_t n_mem;
    uint32_t n_dev;
    struct hvlab_mem_range mem[HVLAB_MAX_MEM_RANGES];
    struct hvlab_device dev[HVLAB_MAX_DEVICES];
    uint32_t cmdline_len;        /* bytes, without the terminating NUL    */
    uint32_t reserved;
    char cmdline[HVLAB_CMDLINE_MAX]; /* NUL-terminated                    */
};

_Static_assert(sizeof(struct hvlab_boot_info) <= 4096, "boot info must fit its page");

/* ------------------------------------------------------------------------
 * I/O ports.
 * ---------------------------------------------------------------------- */
#define HVLAB_PORT_UART        0x3F8u /* 16550 THR/LSR; transmit only          */
#define HVLAB_PORT_QEMU_EXIT   0x0F4u /* isa-debug-exit: status (v << 1) | 1   */

/* hvlab control device (32-bit accesses). */
#define HVLAB_PORT_EXIT        0x700u /* outl CODE: guest ends, monitor exits CODE */
#define HVLAB_PORT_BENCH       0x704u /* outl PADDR of a struct hvlab_bench_mark  */
#define HVLAB_PORT_NULL        0x708u /* null device: out ignored, in reads 0     */

/* A guest exit code reported through HVLAB_PORT_EXIT must be 0..HVLAB_GUEST_EXIT_MAX. */
#define HVLAB_GUEST_EXIT_MAX   119u
#define HVLAB_GUEST_EXIT_FAIL  1u     /* selftest had failures                  */
#define HVLAB_GUEST_EXIT_PANIC 3u     /* unexpected exception / kernel panic    */
#define HVLAB_GUEST_EXIT_USAGE 4u     /* unknown guest command                  */

enum hvlab_bench_op {
    HVLAB_BENCH_BEGIN = 1,       /* start attaching exit counters to name */
    HVLAB_BENCH_END = 2,         /* stop; iterations = operations timed    */
};

struct hvlab_bench_mark {
    uint32_t op;                 /* enum hvlab_bench_op                   */
    uint32_t reserved;
    uint64_t iterations;         /* with END: operations in the bracket   */
    uint64_t tsc_cycles;         /* with END: TSC cycles measured         */
    char name[48];               /* NUL-terminated benchmark name         */
};

/* ------------------------------------------------------------------------
 * Monitor process exit statuses (hv-hwassist, hv-trap-emulate, hv-paravirt).
 * 0..HVLAB_GUEST_EXIT_MAX: the guest's own exit code (2 is never reported
 * by hvlab's guest, so that it stays the usage error).
 * ---------------------------------------------------------------------- */
#define HV_STATUS_USAGE        2   /* bad command line or input file        */
#define HV_STATUS_SKIP         77  /* the technique cannot run on this host */
#define HV_STATUS_TRIPLE_FAULT 120 /* guest shut down (triple fault)        */
#define HV_STATUS_GUEST_CRASH  121 /* guest stopped in a state it cannot leave */
#define HV_STATUS_GUEST_RULE   122 /* guest broke a rule of the platform    */
#define HV_STATUS_TIMEOUT      124 /* --timeout expired (as timeout(1))     */
#define HV_STATUS_MONITOR      125 /* the monitor itself failed             */

#endif /* HVLAB_ABI_H */
