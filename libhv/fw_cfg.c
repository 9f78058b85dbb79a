/*
 * A minimal QEMU fw_cfg device, legacy port interface (QEMU
 * docs/specs/fw_cfg.rst): write a 16-bit key to the selector port 0x510,
 * then read the item byte by byte from the data port 0x511.
 *
 * Why: public KVM test kernels (kvm-unit-tests) ask fw_cfg how many CPUs
 * and how much RAM the machine has before they start.  On an empty bus the
 * answer would be all ones (65535 CPUs).  hvlab offers the few numeric
 * items they read, for one vCPU; every other key reads as zeros.
 */
#include <string.h>

#include "libhv/devices.h"
#include "libhv/machine.h"

#define FW_CFG_PORT_SEL  0x510u
#define FW_CFG_SIGNATURE 0x00u /* "QEMU"                      */
#define FW_CFG_ID        0x01u /* feature bits: 1 = traditional interface */
#define FW_CFG_RAM_SIZE  0x03u /* bytes, 64-bit little-endian */
#define FW_CFG_NB_CPUS   0x05u /* 16-bit                      */
#define FW_CFG_MAX_CPUS  0x0fu /* 16-bit                      */

struct fw_cfg {
    uint16_t key;
    uint32_t offset;             /* next byte of the selected item        */
};

static struct fw_cfg the_fw_cfg;

/* The item's bytes (little-endian, as fw_cfg stores numbers). */
static unsigned fw_cfg_item(const struct hv_machine *m, uint16_t key, uint8_t buf[8])
{
    uint64_t v;
    unsigned len;
    switch (key) {
    case FW_CFG_SIGNATURE: memcpy(buf, "QEMU", 4); return 4;
    case FW_CFG_ID: v = 1; len = 4; break;
    case FW_CFG_RAM_SIZE: v = m->mem.size; len = 8; break;
    case FW_CFG_NB_CPUS:
    case FW_CFG_MAX_CPUS: v = 1; len = 2; break;
    default: return 0;
    }
    memcpy(buf, &v, len); /* x86 hosts are little-endian, like fw_cfg */
    return len;
}

static void fw_cfg_write(struct hv_machine *m, void *dev, uint64_t off, unsigned size, uint64_t v)
{
    struct fw_cfg *f = dev;
    (void)m;
    if (off == 0 && size == 2) {
        f->key = (uint16_t)v;
        f->offset = 0;
    }
}

static void fw_cfg_read(struct hv_machine *m, void *dev, uint64_t off, unsigned size, uint64_t *v)
{
    struct fw_cfg *f = dev;
    uint8_t buf[8] = {0};
    if (off != 1 || size != 1)
        return; /* reads 0 */
    unsigned len = fw_cfg_item(m, f->key, buf);
    *v = f->offset < len ? buf[f->offset] : 0;
    f->offset++;
}

int fw_cfg_attach(struct hv_machine *m)
{
    static const struct hv_device_ops ops = {.read = fw_cfg_read, .write = fw_cfg_write};
    return bus_register(m, HV_SPACE_PIO, FW_CFG_PORT_SEL, 2, "pio fw_cfg", &ops, &the_fw_cfg);
}
