/*
 * Strings and numbers for the small test guests' consoles (hostile,
 * pvhostile): the includer defines `static void putc(char c)` — a UART byte
 * or a buffered console hypercall — before including this file, and
 * `static bool print_extra(char conv, va_list *ap)` for its own %
 * conversions (false: not one of them).
 */
#ifndef TESTS_GUESTS_PRINT_H
#define TESTS_GUESTS_PRINT_H

#include <stdarg.h>
#include <stdbool.h>

static void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

/* base 16 (with "0x") or 10. */
static void putnum(u64 v, unsigned base)
{
    char buf[24];
    int n = 0;
    if (base == 16)
        puts("0x");
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        putc(buf[--n]);
}

static bool print_extra(char conv, va_list *ap);

/* A tiny printf: %s, %c, %x / %u of a u64 argument (always u64), and the
 * includer's print_extra conversions. */
static void pr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%' || !fmt[1]) {
            putc(*fmt);
            continue;
        }
        switch (*++fmt) {
        case 's': puts(va_arg(ap, const char *)); break;
        case 'c': putc((char)va_arg(ap, int)); break;
        case 'x': putnum(va_arg(ap, u64), 16); break;
        case 'u': putnum(va_arg(ap, u64), 10); break;
        default:
            if (!print_extra(*fmt, &ap)) {
                putc('%');
                putc(*fmt);
            }
            break;
        }
    }
    va_end(ap);
}

#endif
