/*
 * mb-long: a Multiboot v1 test kernel that follows the boot contract of
 * kvm-unit-tests' x86_64 binaries (written for hvlab from that contract; no
 * code is shared with kvm-unit-tests, guestkernel/ or libhv/):
 *
 *   - an ELF32 i386 image (x86-64 code linked at 4 MiB, converted with
 *     `objcopy -O elf32-i386`) with a multiboot v1 header; 32-bit entry with
 *     EAX = 0x2BADB002, EBX = information structure (mb-long-entry.S), which
 *     switches to long mode with its own page tables and GDT;
 *   - a 16550 driver at 0x3f8 that programs the divisor and line control
 *     and polls LSR.THRE before every byte;
 *   - QEMU fw_cfg over the legacy ports (key to 0x510, data from 0x511):
 *     signature "QEMU", FW_CFG_NB_CPUS, FW_CFG_RAM_SIZE;
 *   - arguments from the multiboot command line (first word = program
 *     path, as QEMU passes it), environment (KEY=VALUE lines) from the
 *     first multiboot module;
 *   - checks in long mode printed as `PASS: name` / `FAIL: name`, then
 *     `SUMMARY: N tests, M unexpected failures`, and an exit through
 *     isa-debug-exit (port 0xf4) with 0 (all passed) or 1.
 *
 * An environment variable EXPECT_NB_CPUS=N adds a check that fw_cfg reports
 * N CPUs.  Multiboot field offsets: The Multiboot Specification 0.6.96 §3.3.
 */
#include "portio.h"

#define MB_BOOTLOADER_MAGIC 0x2BADB002u
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)

struct mb_info {
    u32 flags;                   /* 0  */
    u32 mem_lower, mem_upper;    /* 4, 8 */
    u32 boot_device;             /* 12 */
    u32 cmdline;                 /* 16 */
    u32 mods_count, mods_addr;   /* 20, 24 */
};

struct mb_module {
    u32 mod_start, mod_end, string, reserved;
};

/* What exc_common (mb-long-entry.S) pushes, lowest address first, followed
 * by the CPU's interrupt frame. */
struct mb_long_frame {
    u64 r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
    u64 vector, error_code;
    u64 rip, cs, rflags, rsp, ss;
};

void mb_long_main(u32 magic, u32 mbi_paddr);
void mb_long_exception(struct mb_long_frame *f);
extern const u64 mb_long_exc_stubs[32];
extern u64 pdpt[512];

/* ---- 16550 UART (PC16550D register map) --------------------------------- */

#define UART 0x3f8
#define UART_THR 0               /* DLAB=0 write; DLL when DLAB=1 */
#define UART_IER 1               /* DLAB=0; DLM when DLAB=1 */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_LSR_THRE 0x20

static void uart_init(void)
{
    outb(UART + UART_LCR, UART_LCR_DLAB);
    outb(UART + UART_THR, 1);    /* divisor 1: 115200 baud */
    outb(UART + UART_IER, 0);
    outb(UART + UART_LCR, UART_LCR_8N1);
    outb(UART + UART_IER, 0);    /* no interrupts */
    outb(UART + UART_FCR, 0);    /* no FIFOs */
    outb(UART + UART_MCR, 0x03); /* DTR, RTS */
}

/* Like a real driver: wait (without bound) for the transmit holding
 * register to be empty before every byte. */
static void putc(char c)
{
    while (!(inb(UART + UART_LSR) & UART_LSR_THRE))
        ;
    outb(UART + UART_THR, (u8)c);
}

static void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

static void putn(const char *s, u32 n)
{
    for (u32 i = 0; i < n; i++)
        putc(s[i]);
}

static void putu(u64 v)
{
    char buf[21];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc(buf[--n]);
}

static void puthex(u64 v)
{
    int shift = 60;
    puts("0x");
    while (shift > 0 && !((v >> shift) & 0xf))
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

/* ---- exit: isa-debug-exit, process status (code << 1) | 1 ---------------- */

#define DEBUG_EXIT_PORT 0xf4

static __attribute__((noreturn)) void debug_exit(u32 code)
{
    outl(DEBUG_EXIT_PORT, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- fw_cfg, legacy port interface (QEMU docs/specs/fw_cfg.rst) --------- */

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05

static void fw_cfg_read(u16 key, u8 *buf, u32 len)
{
    outw(FW_CFG_PORT_SEL, key);
    for (u32 i = 0; i < len; i++)
        buf[i] = inb(FW_CFG_PORT_DATA);
}

static u64 fw_cfg_u64(u16 key, u32 len)
{
    u8 b[8] = {0};
    u64 v = 0;
    fw_cfg_read(key, b, len);
    for (int i = (int)len - 1; i >= 0; i--)
        v = v << 8 | b[i];   /* fw_cfg numbers are little-endian */
    return v;
}

/* ---- small string helpers ----------------------------------------------- */

static int streq_n(const char *a, const char *b, u32 n)
{
    for (u32 i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static u32 slen(const char *s)
{
    u32 n = 0;
    while (s[n])
        n++;
    return n;
}

/* ---- test bookkeeping (kvm-unit-tests style report) --------------------- */

static u32 tests, failures;

static void report(int ok, const char *name)
{
    tests++;
    if (!ok)
        failures++;
    puts(ok ? "PASS: " : "FAIL: ");
    puts(name);
    putc('\n');
}

/* ---- exceptions ---------------------------------------------------------- */

struct idt_entry {
    u16 off0, sel;
    u8 ist, type;
    u16 off1;
    u32 off2, zero;
};

static struct idt_entry idt[256] __attribute__((aligned(16)));

/* One expected exception at a time: its vector and where to resume. */
static volatile u64 expect_vector = ~0ull, fixup_rip, seen_vector = ~0ull, seen_rip, seen_cr2;

static void idt_init(void)
{
    for (int v = 0; v < 32; v++) {
        u64 a = mb_long_exc_stubs[v];
        idt[v] = (struct idt_entry){.off0 = (u16)a, .sel = 0x08, .ist = 0, .type = 0x8e,
                                    .off1 = (u16)(a >> 16), .off2 = (u32)(a >> 32)};
    }
    struct __attribute__((packed)) { u16 limit; u64 base; } d = {sizeof(idt) - 1, (u64)idt};
    __asm__ volatile("lidt %0" : : "m"(d));
}

void mb_long_exception(struct mb_long_frame *f)
{
    if (f->vector == expect_vector) {
        u64 cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        seen_vector = f->vector;
        seen_rip = f->rip;
        seen_cr2 = cr2;
        expect_vector = ~0ull;
        f->rip = fixup_rip;
        return;
    }
    puts("mb-long: unexpected exception ");
    putu(f->vector);
    puts(" at rip ");
    puthex(f->rip);
    puts(", error code ");
    puthex(f->error_code);
    putc('\n');
    report(0, "no unexpected exception");
    puts("SUMMARY: ");
    putu(tests);
    puts(" tests, ");
    putu(failures);
    puts(" unexpected failures\n");
    debug_exit(1);
}

/* ---- the checks ---------------------------------------------------------- */

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (u64)hi << 32 | lo;
}

static void check_long_mode(void)
{
    u64 efer = rdmsr(0xC0000080), cr0, cr4;
    u16 cs;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    report((efer & (1u << 10)) && (cr0 & (1ull << 31)) && (cr4 & (1u << 5)) && cs == 0x08,
           "long mode (EFER.LMA, CR0.PG, CR4.PAE, 64-bit CS)");
}

static void check_cpuid(void)
{
    u32 a, b, c, d, max_ext;
    char vendor[13];
    cpuid(0, &a, &b, &c, &d);
    *(u32 *)&vendor[0] = b;
    *(u32 *)&vendor[4] = d;
    *(u32 *)&vendor[8] = c;
    vendor[12] = 0;
    puts("mb-long: cpuid vendor \"");
    puts(vendor);
    puts("\", max leaf ");
    putu(a);
    putc('\n');
    report(a >= 1, "cpuid leaf 0");
    cpuid(0x80000000, &max_ext, &b, &c, &d);
    d = 0;
    if (max_ext >= 0x80000001)
        cpuid(0x80000001, &a, &b, &c, &d);
    report(d & (1u << 29), "cpuid reports long mode (80000001h EDX.LM)");
}

static void check_ud(void)
{
    expect_vector = 6;
    seen_vector = ~0ull;
    u64 at;
    __asm__ volatile("lea 2f(%%rip), %%rax\n\t"
                     "mov %%rax, %1\n\t"
                     "lea 1f(%%rip), %0\n\t"
                     "1: ud2\n\t"
                     "2:"
                     : "=&r"(at), "=m"(fixup_rip)
                     : : "rax", "memory");
    report(seen_vector == 6 && seen_rip == at, "#UD caught by own IDT and resumed");
}

/* The second GiB of virtual memory, mapped by 4 KiB pages in tables built
 * here: page 0 aliases `target`, page 1 is not present. */
#define ALIAS_VA 0x40000000ull
static u64 alias_pd[512] __attribute__((aligned(4096)));
static u64 alias_pt[512] __attribute__((aligned(4096)));
static volatile u64 target[512] __attribute__((aligned(4096)));

static void check_paging(void)
{
    alias_pt[0] = (u64)target | 3;
    alias_pt[1] = 0;
    alias_pd[0] = (u64)alias_pt | 3;
    pdpt[1] = (u64)alias_pd | 3;
    __asm__ volatile("invlpg (%0)" : : "r"(ALIAS_VA) : "memory");
    __asm__ volatile("invlpg (%0)" : : "r"(ALIAS_VA + 4096) : "memory");

    volatile u64 *alias = (volatile u64 *)ALIAS_VA;
    alias[3] = 0x1122334455667788ull;
    int ok = target[3] == 0x1122334455667788ull;
    target[5] = 0xcafef00dull;
    ok = ok && alias[5] == 0xcafef00dull;
    report(ok, "write/read through own page tables (4 KiB alias)");

    /* a read of the non-present page faults with CR2 = its address */
    expect_vector = 14;
    seen_vector = ~0ull;
    u64 v = 0;
    __asm__ volatile("lea 1f(%%rip), %%rax\n\t"
                     "mov %%rax, %1\n\t"
                     "mov (%2), %0\n\t"
                     "1:"
                     : "+r"(v), "=m"(fixup_rip)
                     : "r"(ALIAS_VA + 4096 + 8) : "rax", "memory");
    report(seen_vector == 14 && seen_cr2 == ALIAS_VA + 4096 + 8,
           "#PF on a non-present page, CR2 right");
}

static u8 bss_probe[4096];

static void check_bss(void)
{
    u32 nonzero = 0;
    for (u32 i = 0; i < sizeof(bss_probe); i++)
        nonzero |= bss_probe[i];
    report(!nonzero, "bss zeroed by the loader");
}

/* ---- command line and environment ---------------------------------------- */

#define MAX_ARGS 16
#define MAX_ENV 32

static const char *argv[MAX_ARGS];
static u32 argv_len[MAX_ARGS];
static u32 argc;
static const char *envp[MAX_ENV];
static u32 env_len[MAX_ENV];
static u32 envc;

static void parse_cmdline(const char *s)
{
    while (*s && argc < MAX_ARGS) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        argv[argc] = s;
        while (*s && *s != ' ')
            s++;
        argv_len[argc] = (u32)(s - argv[argc]);
        argc++;
    }
}

/* KEY=VALUE lines; others (blank, comments, no '=') are skipped. */
static void parse_env(const char *s, const char *end)
{
    while (s < end && envc < MAX_ENV) {
        const char *line = s;
        while (s < end && *s != '\n' && *s)
            s++;
        u32 n = (u32)(s - line);
        if (n && line[n - 1] == '\r')
            n--;
        int has_eq = 0;
        for (u32 i = 1; i < n; i++)
            if (line[i] == '=')
                has_eq = 1;
        if (has_eq && line[0] != '#') {
            envp[envc] = line;
            env_len[envc] = n;
            envc++;
        }
        if (s < end && !*s)
            break;
        s++;
    }
}

/* The value of environment variable `key`, or 0 (its length in *len). */
static const char *getenv(const char *key, u32 *len)
{
    u32 k = slen(key);
    for (u32 i = 0; i < envc; i++)
        if (env_len[i] > k && envp[i][k] == '=' && streq_n(envp[i], key, k)) {
            *len = env_len[i] - k - 1;
            return envp[i] + k + 1;
        }
    return 0;
}

static u64 parse_u64(const char *s, u32 n)
{
    u64 v = 0;
    for (u32 i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (u64)(s[i] - '0');
    return v;
}

/* ---- main ---------------------------------------------------------------- */

void mb_long_main(u32 magic, u32 mbi_paddr)
{
    uart_init();
    idt_init();
    puts("mb-long: long mode reached\n");
    if (magic != MB_BOOTLOADER_MAGIC) {
        puts("mb-long: EAX at entry was ");
        puthex(magic);
        puts(", not 0x2badb002\n");
        report(0, "multiboot magic in EAX");
        puts("SUMMARY: 1 tests, 1 unexpected failures\n");
        debug_exit(1);
    }
    report(1, "multiboot magic in EAX");
    const struct mb_info *mbi = (const struct mb_info *)(u64)mbi_paddr;

    if (mbi->flags & MB_INFO_CMDLINE)
        parse_cmdline((const char *)(u64)mbi->cmdline);
    puts("mb-long: argc ");
    putu(argc);
    for (u32 i = 0; i < argc; i++) {
        puts(", argv[");
        putu(i);
        puts("] \"");
        putn(argv[i], argv_len[i]);
        putc('"');
    }
    putc('\n');

    if ((mbi->flags & MB_INFO_MODS) && mbi->mods_count) {
        const struct mb_module *mod = (const struct mb_module *)(u64)mbi->mods_addr;
        parse_env((const char *)(u64)mod->mod_start, (const char *)(u64)mod->mod_end);
        puts("mb-long: environment from module 0 (");
        putu(mod->mod_end - mod->mod_start);
        puts(" bytes), ");
        putu(envc);
        puts(" variable(s)\n");
        for (u32 i = 0; i < envc; i++) {
            puts("mb-long: env ");
            putn(envp[i], env_len[i]);
            putc('\n');
        }
    } else {
        puts("mb-long: no multiboot module: empty environment\n");
    }

    char sig[5] = {0};
    fw_cfg_read(FW_CFG_SIGNATURE, (u8 *)sig, 4);
    u64 nb_cpus = fw_cfg_u64(FW_CFG_NB_CPUS, 2);
    u64 ram = fw_cfg_u64(FW_CFG_RAM_SIZE, 8);
    puts("mb-long: fw_cfg signature \"");
    for (int i = 0; i < 4; i++)
        putc(sig[i] >= 0x20 && sig[i] < 0x7f ? sig[i] : '?');
    puts("\"\n");
    puts("mb-long: fw_cfg nb_cpus ");
    putu(nb_cpus);
    putc('\n');
    puts("mb-long: fw_cfg ram_size ");
    putu(ram);
    puts(" bytes (");
    putu(ram >> 20);
    puts(" MiB)\n");
    report(streq_n(sig, "QEMU", 4), "fw_cfg signature");
    report(nb_cpus >= 1 && nb_cpus < 0xffff, "fw_cfg nb_cpus");
    u32 n;
    const char *want = getenv("EXPECT_NB_CPUS", &n);
    if (want)
        report(nb_cpus == parse_u64(want, n), "fw_cfg nb_cpus == EXPECT_NB_CPUS");
    if (mbi->flags & MB_INFO_MEMORY) {
        /* RAM from 1 MiB up is at least mem_upper KiB (fw_cfg counts all) */
        u64 upper = (u64)mbi->mem_upper * 1024;
        puts("mb-long: multiboot mem_upper ");
        putu(mbi->mem_upper);
        puts(" KiB\n");
        report(ram >= upper + (1u << 20), "fw_cfg ram_size covers multiboot mem_upper");
    }

    check_bss();
    check_long_mode();
    check_cpuid();
    check_ud();
    check_paging();

    puts("SUMMARY: ");
    putu(tests);
    puts(" tests, ");
    putu(failures);
    puts(" unexpected failures\n");
    debug_exit(failures ? 1 : 0);
}
