/*
 * kernel.h - what every part of the guest kernel shares: the tiny C library,
 * the console and printf, panic, and the boot information.
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "layout.h"
#include "platform.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)   (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* ---- lib.c -------------------------------------------------------------- */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
size_t strnlen(const char *s, size_t max);
bool parse_u64(const char *s, uint64_t *out);    /* decimal or 0x-hex */
void page_zero(void *page);                      /* one 4 KiB page */

/* ---- printf.c / console.c ------------------------------------------------ */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
void kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void console_puts(const char *s);
NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);
NORETURN void kernel_exit(uint32_t code);

/* ---- bootinfo.c ---------------------------------------------------------- */
extern const struct hvlab_boot_info *boot_info;
extern uint64_t kernel_quirks;      /* boot-info quirks | command-line quirks */
static inline bool quirk(uint64_t bit) { return (kernel_quirks & bit) != 0; }
const char *boot_info_problem(const struct hvlab_boot_info *bi, uint64_t magic);
const char *monitor_name(uint32_t monitor);
bool boot_info_usable(const struct hvlab_boot_info *bi, uint64_t base, uint64_t end);
NORETURN void kernel_main(const struct hvlab_boot_info *bi);

/* Linker-script symbols (addresses are physical == virtual in the kernel). */
extern char __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[];
extern char __user_start[], __user_end[];        /* VMA, in the user region */
extern char __user_load_start[], __user_load_end[];  /* LMA, in the image */
extern char kernel_stack_top[];

#endif
