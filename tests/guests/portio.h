/*
 * Fixed-width types and port I/O for the small test guests (mb-hello,
 * mb-long, hostile).  Freestanding: no headers, so the 32-bit Multiboot
 * guest can use it too.  `in`/`out` with DX or an imm8 port (SDM Vol. 2A
 * "IN", Vol. 2B "OUT").
 */
#ifndef TESTS_GUESTS_PORTIO_H
#define TESTS_GUESTS_PORTIO_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

#endif
