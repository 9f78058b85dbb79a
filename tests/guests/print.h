/*
 * Strings and numbers for the small test guests' consoles (hostile,
 * pvhostile): the includer defines `static void putc(char c)` — a UART byte
 * or a buffered console hypercall — before including this file.
 */
#ifndef TESTS_GUESTS_PRINT_H
#define TESTS_GUESTS_PRINT_H

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

#endif
