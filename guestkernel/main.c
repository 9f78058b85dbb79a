/*
 * main.c - from the entry to the command on the kernel command line.
 *
 *   _start (entry.S, hvlab monitors)   pvh_start32 (pvh_entry.S, stock QEMU)
 *        |                                  |
 *   kernel_entry64: check boot info    pvh_main: build boot info
 *        \________________  ________________/
 *                         kernel_main: platform, descriptor tables, memory,
 *                         system calls; then run the command and exit.
 *
 * The command line is "COMMAND [ARGS...]"; words listed in kernel_options
 * may appear anywhere and are taken out first.
 */
#include "kernel.h"
#include "bench.h"
#include "mm.h"
#include "selftest.h"
#include "sensitive.h"
#include "syscalls_cmd.h"
#include "task.h"
#include "timer.h"
#include "traps.h"
#include "blk.h"
#include "virtio.h"

#define MAX_ARGS 16
#define FAULT_ADDRESS 0x00000deadbeef000ull    /* canonical, never mapped */

void kernel_entry64(const struct hvlab_boot_info *bi, uint64_t magic) NORETURN;

void kernel_entry64(const struct hvlab_boot_info *bi, uint64_t magic)
{
    const char *problem;

    if ((uint64_t)bi > (4ull << 30) - sizeof(*bi))
        problem = "RDI (boot info address) is outside the identity-mapped 4 GiB";
    else
        problem = boot_info_problem(bi, magic);
    if (problem) {
        /* boot_info stays NULL: native exit tries both exit ports. */
        kprintf("panic: bad boot info at 0x%lx: %s\n", (uint64_t)bi, problem);
        kernel_exit(HVLAB_GUEST_EXIT_PANIC);
    }
    kernel_main(bi);
}

/* ---- command line --------------------------------------------------------- */

static char cmdline_copy[HVLAB_CMDLINE_MAX];

/* Returns the word count, or -1 when there are more than max words: a
 * dropped word could be an option the user meant (quirk-syscall-gate). */
static int split_words(char *s, char **argv, int max)
{
    int argc = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (!*s)
            break;
        if (argc == max)
            return -1;
        argv[argc++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    return argc;
}

/* Kernel options: quirk-syscall-gate forces the UD2 system-call gate, so that
 * the fallback path is tested on machines where `syscall` works; tsc_khz=N
 * gives the TSC's rate where the guest cannot measure it (QEMU's microvm). */
static int take_kernel_options(char **argv, int argc)
{
    int out = 0;
    uint64_t khz;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "quirk-syscall-gate") == 0)
            kernel_quirks |= HVLAB_QUIRK_SYSCALL_BROKEN;
        else if (strlen(argv[i]) > 8 && memcmp(argv[i], "tsc_khz=", 8) == 0 &&
                 parse_u64(argv[i] + 8, &khz) && khz >= 1000 && khz <= 100000000)
            tsc_set_khz(khz);
        else
            argv[out++] = argv[i];
    }
    return out;
}

/* ---- commands ------------------------------------------------------------- */

static int cmd_selftest(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return selftest_run();
}

static int cmd_sensitive(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return sensitive_run();
}

static int cmd_hello(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kprintf("hello from the hvlab guest kernel\n");
    return 0;
}

static int cmd_exit(int argc, char **argv)
{
    uint64_t code;
    if (argc != 2 || !parse_u64(argv[1], &code) || code > HVLAB_GUEST_EXIT_MAX ||
        code == HV_STATUS_USAGE) {
        kprintf("usage: exit N (N in 0..%u, not %u: that status means a usage error)\n",
                HVLAB_GUEST_EXIT_MAX, HV_STATUS_USAGE);
        return HVLAB_GUEST_EXIT_USAGE;
    }
    return (int)code;
}

/* For the monitors' --timeout: never exits, never halts, never interrupts. */
static int cmd_hang(int argc, char **argv)
{
    (void)argc;
    kprintf("%s: looping forever with interrupts off\n", argv[0]);
    platform->irq_disable();
    for (;;)
        cpu_relax();
    return HVLAB_GUEST_EXIT_PANIC;      /* not reached */
}

static int cmd_fault(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kprintf("fault: reading unmapped address 0x%llx\n", FAULT_ADDRESS);
    return (int)*(volatile uint64_t *)FAULT_ADDRESS;    /* panics: #PF */
}

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    { "selftest", cmd_selftest },
    { "sensitive", cmd_sensitive },
    { "syscalls", cmd_syscalls },
    { "bench", cmd_bench },
    { "blkcrc", cmd_blkcrc },
    { "blkcopy", cmd_blkcopy },
    { "blkhostile", cmd_blkhostile },
    { "hello", cmd_hello },
    { "exit", cmd_exit },
    { "hang", cmd_hang },
    { "fault", cmd_fault },
};

static int run_command(int argc, char **argv)
{
    if (argc == 0) {
        kprintf("error: empty command line (commands: selftest sensitive syscalls bench hello exit hang fault)\n");
        return HVLAB_GUEST_EXIT_USAGE;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(argv[0], commands[i].name) == 0)
            return commands[i].run(argc, argv);
    kprintf("error: unknown command \"%s\" (commands: selftest sensitive syscalls bench hello exit hang fault)\n",
            argv[0]);
    return HVLAB_GUEST_EXIT_USAGE;
}

/* ---- boot ----------------------------------------------------------------- */

/* The top of the identity map, if the platform keeps its page tables in a
 * pool (platform.h table_pool_bytes; 0 on native: the pool is empty). */
static uint64_t reserve_table_pool(const struct hvlab_boot_info *bi, uint64_t identity_end)
{
    uint64_t bytes = platform->table_pool_bytes;
    uint64_t base = identity_end - bytes;

    if (bytes && (bytes > identity_end || !boot_info_usable(bi, base, identity_end)))
        panic("the page-table pool [0x%lx, 0x%lx) is not usable RAM", base, identity_end);
    return base;
}

static void init_machine(const struct hvlab_boot_info *bi)
{
    /* The identity map uses 2 MiB pages; RAM beyond the last whole one is
     * left out, and the allocator stays inside the map, below the pool. */
    uint64_t identity_end = ALIGN_DOWN(bi->ram_size, 2ull << 20);
    uint64_t table_pool = reserve_table_pool(bi, identity_end);

    gdt_init();
    idt_init();
    pmm_init(bi, table_pool);
    paging_init(identity_end, table_pool);
    syscall_init();
    user_init();
}

void kernel_main(const struct hvlab_boot_info *bi)
{
    char *argv[MAX_ARGS];

    boot_info = bi;
    kernel_quirks = bi->quirks;
    platform_select(bi);

    memcpy(cmdline_copy, bi->cmdline, bi->cmdline_len + 1);
    int nwords = split_words(cmdline_copy, argv, MAX_ARGS);
    if (nwords < 0) {
        kprintf("error: the command line has more than %d words\n", MAX_ARGS);
        kernel_exit(HVLAB_GUEST_EXIT_USAGE);
    }
    int argc = take_kernel_options(argv, nwords);

    kprintf("hvlab guest: monitor %s, platform %s, %lu MiB RAM, quirks 0x%lx, cmdline \"%s\"\n",
            monitor_name(bi->monitor), platform->name, bi->ram_size >> 20,
            kernel_quirks, bi->cmdline);
    init_machine(bi);

    int code = run_command(argc, argv);
    kernel_exit((uint32_t)code);
}
