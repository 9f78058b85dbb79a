/*
 * A 16550-compatible UART, transmit side only: enough for a guest console.
 * Register layout from the National Semiconductor PC16550D datasheet:
 * offset 0 THR (write, DLAB=0) / divisor latch low (DLAB=1), 3 LCR (bit 7 is
 * DLAB), 5 LSR (bit 5 THRE, bit 6 TEMT: always set here, the "wire" is
 * infinitely fast).
 */
#include <stdio.h>
#include <string.h>

#include "abi/hvlab_abi.h"
#include "libhv/devices.h"
#include "libhv/machine.h"

#define UART_THR 0
#define UART_LCR 3
#define UART_LSR 5
#define UART_LCR_DLAB 0x80u
#define UART_LSR_THRE 0x20u
#define UART_LSR_TEMT 0x40u

struct uart {
    uint8_t lcr;
};

static struct uart the_uart;

static void uart_write(struct hv_machine *m, void *dev, uint64_t off, unsigned size, uint64_t v)
{
    struct uart *u = dev;
    (void)m;
    (void)size;
    if (off == UART_LCR)
        u->lcr = (uint8_t)v;
    else if (off == UART_THR && !(u->lcr & UART_LCR_DLAB)) {
        putchar((int)(v & 0xff));
        if ((v & 0xff) == '\n')
            fflush(stdout); /* line-buffer even into a pipe: tests read it live */
    }
}

static void uart_read(struct hv_machine *m, void *dev, uint64_t off, unsigned size, uint64_t *v)
{
    struct uart *u = dev;
    (void)m;
    (void)size;
    if (off == UART_LSR)
        *v = UART_LSR_THRE | UART_LSR_TEMT;
    else if (off == UART_LCR)
        *v = u->lcr;
}

/* The paravirtual console (HVC_CONSOLE_WRITE): the same output as the
 * UART's transmit register, a whole buffer per call instead of a byte per
 * port write. */
void console_output(const char *buf, size_t len)
{
    fwrite(buf, 1, len, stdout);
    if (memchr(buf, '\n', len))
        fflush(stdout);
}

int uart_attach(struct hv_machine *m)
{
    static const struct hv_device_ops ops = {.read = uart_read, .write = uart_write};
    return bus_register(m, HV_SPACE_PIO, HVLAB_PORT_UART, 8, "pio uart", &ops, &the_uart);
}
