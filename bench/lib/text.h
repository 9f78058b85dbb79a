/*
 * Small text helpers shared by the parsers and the writers of bench/lib.
 * Every input they see is untrusted (a guest's serial console, a monitor's
 * statistics file), so they work on (pointer, length) spans of the caller's
 * buffer: no fixed-size line buffers, nothing that a long line can overflow.
 */
#ifndef BENCH_TEXT_H
#define BENCH_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The next line of *pos: its start and length without "\n" and a trailing
 * "\r" (serial logs end lines with CR LF).  False at the end of the text. */
bool text_next_line(const char **pos, const char **line, size_t *len);

/* A decimal number made of digits only (no sign, no spaces, no suffix) that
 * fits in 64 bits.  Returns 0, or -1 (empty, another character, too large). */
int text_parse_u64(const char *s, size_t len, uint64_t *out);

/* Copies len bytes of src into dst (NUL-terminated).  Control characters
 * become spaces (a console can carry terminal escape sequences); a text
 * longer than dst is cut at a UTF-8 character boundary.  Returns true when
 * it was cut. */
bool text_copy(char *dst, size_t dstsize, const char *src, size_t len);

/* len bytes of s compared with the NUL-terminated word. */
bool text_span_is(const char *s, size_t len, const char *word);

/* printf("%.*g") that always writes '.' as the decimal point, whatever
 * LC_NUMERIC the program set: JSON, gnuplot data and Markdown need '.'. */
void text_fmt_g(char *buf, size_t size, int precision, double v);
/* Fixed-point variant ("%.*f"), same guarantee. */
void text_fmt_f(char *buf, size_t size, int decimals, double v);

/* A parser's error: "PREFIX" then the formatted reason, into err (when
 * given).  Always returns -1, so a parser can `return text_fail(...)`. */
int text_vfail(char *err, size_t errlen, const char *prefix, const char *fmt, va_list ap);

/* The end of a writer: what it wrote reached f (fflush, ferror), else -1
 * with errno set (EIO when the stream did not say); on success errno is
 * put back to saved_errno. */
int text_finish_write(FILE *f, int saved_errno);

#endif
