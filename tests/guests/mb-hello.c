/*
 * mb-hello: a Multiboot v1 test kernel (32-bit, freestanding, no code shared
 * with guestkernel/ or libhv/).  It prints what its boot loader told it,
 *
 *   mb-hello: booted by <boot_loader_name>, cmdline "<cmdline>",
 *             mem_upper <N> KiB, <M> mmap entries          (one line)
 *
 * on the UART at 0x3f8, then exits through QEMU's isa-debug-exit (port 0xf4,
 * process status (code << 1) | 1) with the code of an `exit=N` word of its
 * command line (default 0).  Field offsets: Multiboot 0.6.96 §3.3.
 */
#include "portio.h"

#define MB_BOOTLOADER_MAGIC 0x2BADB002u
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MEM_MAP (1u << 6)
#define MB_INFO_BOOT_LOADER_NAME (1u << 9)

/* §3.3, the fields this kernel reads (offsets in the comments). */
struct mb_info {
    u32 flags;                   /* 0  */
    u32 mem_lower, mem_upper;    /* 4, 8 */
    u32 boot_device;             /* 12 */
    u32 cmdline;                 /* 16 */
    u32 mods_count, mods_addr;   /* 20, 24 */
    u32 syms[4];                 /* 28..40 */
    u32 mmap_length, mmap_addr;  /* 44, 48 */
    u32 drives_length, drives_addr;
    u32 config_table;
    u32 boot_loader_name;        /* 64 */
};

#define UART 0x3f8
#define UART_LSR (UART + 5)
#define UART_LSR_THRE 0x20
#define DEBUG_EXIT_PORT 0xf4

void mb_hello_main(u32 magic, const struct mb_info *mbi);

/* Wait (boundedly: a monitor without a UART model reads 0xff anyway) until
 * the transmit holding register is empty, then send. */
static void putc(char c)
{
    for (int i = 0; i < 100000 && !(inb(UART_LSR) & UART_LSR_THRE); i++)
        ;
    outb(UART, (u8)c);
}

static void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

static void putu(u32 v)
{
    char buf[11];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc(buf[--n]);
}

static void puthex(u32 v)
{
    puts("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

/* §3.3: each entry starts with its size, which does not count itself. */
static u32 count_mmap_entries(const struct mb_info *mbi)
{
    u32 n = 0, at = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;
    while (at < end && n < 1000) {
        n++;
        at += *(const u32 *)at + 4;
    }
    return n;
}

/* The value of the first word "exit=N" (decimal), or 0. */
static u32 exit_code(const char *cmdline)
{
    static const char key[] = "exit=";
    for (const char *w = cmdline; *w; w++) {
        if (w != cmdline && w[-1] != ' ')
            continue;
        int k = 0;
        while (key[k] && w[k] == key[k])
            k++;
        if (key[k])
            continue;
        u32 v = 0;
        for (const char *d = w + k; *d >= '0' && *d <= '9'; d++)
            v = v * 10 + (u32)(*d - '0');
        return v;
    }
    return 0;
}

void mb_hello_main(u32 magic, const struct mb_info *mbi)
{
    if (magic != MB_BOOTLOADER_MAGIC) {
        puts("mb-hello: EAX is ");
        puthex(magic);
        puts(", not the multiboot magic 0x2badb002\n");
        outl(DEBUG_EXIT_PORT, 3);
        return;
    }
    const char *name = mbi->flags & MB_INFO_BOOT_LOADER_NAME
                           ? (const char *)mbi->boot_loader_name : "(no name)";
    const char *cmdline = mbi->flags & MB_INFO_CMDLINE ? (const char *)mbi->cmdline : "";
    puts("mb-hello: booted by ");
    puts(name);
    puts(", cmdline \"");
    puts(cmdline);
    puts("\", mem_upper ");
    putu(mbi->flags & MB_INFO_MEMORY ? mbi->mem_upper : 0);
    puts(" KiB, ");
    putu(mbi->flags & MB_INFO_MEM_MAP ? count_mmap_entries(mbi) : 0);
    puts(" mmap entries\n");
    outl(DEBUG_EXIT_PORT, exit_code(cmdline));
}
