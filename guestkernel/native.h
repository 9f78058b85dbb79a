/*
 * native.h - the pieces of the native platform (platform.h) that live in
 * their own files: the UART, the local APIC timer, the TSS and the
 * SYSCALL MSRs.
 */
#ifndef GUEST_NATIVE_H
#define GUEST_NATIVE_H

#include <stddef.h>
#include <stdint.h>
#include "x86.h"

/* uart.c */
void uart_write(const char *s, size_t n);

/* apic.c */
int apic_timer_init(void);
void apic_timer_oneshot(uint64_t ns);
void apic_timer_cancel(void);
void apic_eoi(void);
const char *apic_timer_name(void);

/* gdt.c: the TSS is plain memory to the native platform */
void tss_write_rsp0(uint64_t rsp0);

/* syscall.c: STAR, LSTAR, SFMASK, EFER.SCE */
void native_syscall_setup(void);

#endif
