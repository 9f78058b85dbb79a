/*
 * lib.c - the few C library functions a freestanding kernel needs.
 *
 * GCC may emit calls to memset/memcpy/memmove/memcmp even with -fno-builtin
 * (struct copies, large initialisers), so they must exist.  They are written
 * with the string instructions in inline asm: a C loop here could itself be
 * "optimised" by GCC into a call to memset, i.e. into itself.
 *
 * Cost note: on a software KVM backend ring-0 code is emulated instruction by
 * instruction (on the kvm_pvm backend, docs/hwassist.md), and each iteration of a REP string
 * instruction costs about one emulated instruction.  Hence page_zero uses
 * REP STOSQ (512 iterations per page), not REP STOSB (4096).
 */
#include "kernel.h"

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) :: "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    if ((uintptr_t)dst <= (uintptr_t)src || (uintptr_t)dst >= (uintptr_t)src + n)
        return memcpy(dst, src, n);
    /* Overlap with dst above src: copy backwards (DF=1), then restore DF=0
     * as the System V ABI requires at every call boundary. */
    char *d = (char *)dst + n - 1;
    const char *s = (const char *)src + n - 1;
    __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

void page_zero(void *page)
{
    size_t n = PAGE_SIZE / 8;
    __asm__ volatile("rep stosq" : "+D"(page), "+c"(n) : "a"(0ull) : "memory");
}

static int digit_value(char c, unsigned base)
{
    unsigned v;
    if (c >= '0' && c <= '9')
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    else
        return -1;
    return v < base ? (int)v : -1;
}

/* Parses a whole string as decimal or 0x-prefixed hex; false on junk or
 * overflow. */
bool parse_u64(const char *s, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        int d = digit_value(*s, base);
        if (d < 0 || v > (UINT64_MAX - (uint64_t)d) / base)
            return false;
        v = v * base + (uint64_t)d;
    }
    *out = v;
    return true;
}
