/* Text helpers for bench/lib (see text.h for why they work on spans). */
#include "bench/lib/text.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>

bool text_next_line(const char **pos, const char **line, size_t *len)
{
    const char *p = *pos;
    if (!p || !*p)
        return false;
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    *pos = nl ? nl + 1 : p + n;
    while (n && p[n - 1] == '\r')
        n--;
    *line = p;
    *len = n;
    return true;
}

int text_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)  /* v * 10 + d would wrap */
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

bool text_copy(char *dst, size_t dstsize, const char *src, size_t len)
{
    if (dstsize == 0)
        return len > 0;
    bool cut = false;
    if (len > dstsize - 1) {
        len = dstsize - 1;
        cut = true;
        /* src[len] is the first byte dropped: while it is a UTF-8
         * continuation byte (10xxxxxx) the character it belongs to started
         * earlier, so back up to that character's lead byte and drop it too. */
        while (len && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    dst[len] = '\0';
    return cut;
}

bool text_span_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && !memcmp(s, word, len);
}

/* printf honours LC_NUMERIC; our outputs are machine formats that need '.'.
 * A ',' can only be the locale's decimal point here (no ' flag is used). */
static void fix_point(char *buf)
{
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
}

void text_fmt_g(char *buf, size_t size, int precision, double v)
{
    snprintf(buf, size, "%.*g", precision, v);
    fix_point(buf);
}

void text_fmt_f(char *buf, size_t size, int decimals, double v)
{
    snprintf(buf, size, "%.*f", decimals, v);
    fix_point(buf);
}

int text_vfail(char *err, size_t errlen, const char *prefix, const char *fmt, va_list ap)
{
    if (!err || !errlen)
        return -1;
    int k = snprintf(err, errlen, "%s", prefix);
    if (k < 0 || (size_t)k >= errlen)
        return -1;
    vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    return -1;
}

int text_finish_write(FILE *f, int saved_errno)
{
    if (fflush(f) || ferror(f)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    errno = saved_errno;
    return 0;
}
