/*
 * printf.c - a small vsnprintf: %d %i %u %x %X %p %c %s %%, the flags '-',
 * '0' and '#', a field width (number or '*'), and the length modifiers
 * l, ll, z.  No floating point (the kernel has no FPU state at all).
 */
#include "kernel.h"

struct out {
    char *buf;
    size_t size;    /* capacity including the NUL */
    size_t len;     /* characters produced so far (may exceed size) */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

struct spec {
    bool left, zero, alt;
    int width;
};

static void put_string(struct out *o, const struct spec *sp, const char *s)
{
    int n = (int)strlen(s);
    if (!sp->left)
        pad(o, ' ', sp->width - n);
    while (*s)
        put(o, *s++);
    if (sp->left)
        pad(o, ' ', sp->width - n);
}

static void put_number(struct out *o, const struct spec *sp, uint64_t v,
                       unsigned base, bool negative, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);

    const char *prefix = negative ? "-" : (sp->alt && base == 16) ? "0x" : "";
    int plen = (int)strlen(prefix);
    int fill = sp->width - n - plen;

    if (!sp->left && !sp->zero)
        pad(o, ' ', fill);
    for (const char *p = prefix; *p; p++)
        put(o, *p);
    if (!sp->left && sp->zero)
        pad(o, '0', fill);
    while (n)
        put(o, tmp[--n]);
    if (sp->left)
        pad(o, ' ', fill);
}

/* Reads flags and width; returns the format pointer after them. */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    for (;; f++) {
        if (*f == '-')
            sp->left = true;
        else if (*f == '0')
            sp->zero = true;
        else if (*f == '#')
            sp->alt = true;
        else
            break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        f++;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (*f++ - '0');
    return f;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
    struct out o = { buf, size, 0 };
    va_list ap;
    va_copy(ap, ap_in);

    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        struct spec sp = { 0 };
        f = parse_spec(f + 1, &sp, &ap);

        int longs = 0;
        while (*f == 'l' || *f == 'z') {
            longs += (*f == 'z') ? 2 : 1;
            f++;
        }

        uint64_t u;
        switch (*f) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_number(&o, &sp, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
            u = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            put_number(&o, &sp, u, *f == 'u' ? 10 : 16, false, *f == 'X');
            break;
        case 'p':
            sp.alt = true;
            put_number(&o, &sp, (uintptr_t)va_arg(ap, void *), 16, false, false);
            break;
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            put_string(&o, &sp, s ? s : "(null)");
            break;
        }
        case '%':
            put(&o, '%');
            break;
        case '\0':
            f--;            /* a lone '%' at the end: stop */
            break;
        default:
            put(&o, '%');
            put(&o, *f);
            break;
        }
    }
    va_end(ap);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
