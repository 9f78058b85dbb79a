/*
 * The platform devices of every hvlab monitor (DESIGN.md §5).  Each attach
 * function registers its device on the machine's bus; 0 on success.
 */
#ifndef LIBHV_DEVICES_H
#define LIBHV_DEVICES_H

#include <stddef.h>

struct hv_machine;

int uart_attach(struct hv_machine *m);       /* 16550 at 0x3f8: guest console on stdout */
void console_output(const char *buf, size_t len); /* the same stdout, a buffer at once */
int control_attach(struct hv_machine *m);    /* hvlab control device: exit, bench, null */
int debug_exit_attach(struct hv_machine *m); /* QEMU isa-debug-exit at 0xf4            */
int null_mmio_attach(struct hv_machine *m);  /* null MMIO register page               */
int fw_cfg_attach(struct hv_machine *m);     /* QEMU fw_cfg at 0x510: CPUs, RAM size  */

#endif
