/*
 * uart.c - transmit side of a 16550 UART at HVLAB_PORT_UART (COM1).
 *
 * Before writing a byte to the Transmit Holding Register (offset 0) the
 * driver waits for LSR bit 5, "THR empty" (National Semiconductor PC16550D
 * data sheet, Line Status Register).  The wait is bounded: with no UART
 * behind the port (reads give 0xff, which has THRE set anyway) or a stuck
 * one, output is dropped instead of hanging the kernel.  Part of the native
 * platform: the port accesses are real in/out instructions.
 */
#include "kernel.h"
#include "native.h"

#define UART_THR 0          /* transmit holding register (write) */
#define UART_LSR 5          /* line status register (read)       */
#define LSR_THRE (1u << 5)  /* transmitter holding register empty */
#define UART_SPIN_LIMIT 100000

static bool uart_wait_thre(void)
{
    for (int i = 0; i < UART_SPIN_LIMIT; i++) {
        if (native_inb(HVLAB_PORT_UART + UART_LSR) & LSR_THRE)
            return true;
        cpu_relax();
    }
    return false;
}

void uart_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!uart_wait_thre())
            return;
        native_outb(HVLAB_PORT_UART + UART_THR, (uint8_t)s[i]);
    }
}
