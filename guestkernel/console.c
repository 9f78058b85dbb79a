/*
 * console.c - formatted output and the two ways the kernel stops: panic()
 * and kernel_exit().  The bytes themselves go out through the platform's
 * console_write (the 16550 UART on native, a console hypercall later on
 * paravirt).  Each kprintf is formatted into one buffer and written in one
 * call, so that a line is one console operation: cheaper under a monitor
 * that traps every port access, and lines never interleave.
 */
#include "kernel.h"

void console_puts(const char *s)
{
    platform->console_write(s, strlen(s));
}

static void console_vprintf(const char *fmt, va_list ap)
{
    char buf[256];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n >= (int)sizeof(buf))
        n = sizeof(buf) - 1;        /* truncated: still print what fits */
    platform->console_write(buf, (size_t)n);
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_vprintf(fmt, ap);
    va_end(ap);
}

/*
 * One line, always starting with "panic: ", then the guest ends with
 * HVLAB_GUEST_EXIT_PANIC.  Tests and students grep for that prefix.
 */
void panic(const char *fmt, ...)
{
    va_list ap;
    platform->irq_disable();
    console_puts("panic: ");
    va_start(ap, fmt);
    console_vprintf(fmt, ap);
    va_end(ap);
    console_puts("\n");
    kernel_exit(HVLAB_GUEST_EXIT_PANIC);
}

/*
 * Exit codes are 0..HVLAB_GUEST_EXIT_MAX, and never 2: the monitors reserve
 * that status for their own usage errors (abi/hvlab_abi.h).
 */
void kernel_exit(uint32_t code)
{
    if (code > HVLAB_GUEST_EXIT_MAX || code == HV_STATUS_USAGE) {
        kprintf("panic: exit code %u is not a valid guest exit code\n", code);
        code = HVLAB_GUEST_EXIT_PANIC;
    }
    platform->exit(code);
}
