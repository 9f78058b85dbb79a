/*
 * tsc.c - the time stamp counter's frequency.
 *
 * hvlab monitors put the frequency in the boot info (tsc_khz).  Otherwise we
 * measure it against the 8254 PIT, whose input clock is a fixed 1.193182 MHz:
 * channel 2 is the one whose gate (port 0x61 bit 0) and output (port 0x61
 * bit 5) software can reach (Intel 8254 data sheet; the IBM PC speaker
 * wiring).  In mode 0 ("interrupt on terminal count") OUT2 goes high when the
 * count reaches zero, so counting TSC ticks until then gives the rate.
 */
#include "kernel.h"
#include "timer.h"

#define PIT_HZ          1193182u
#define PIT_CAL_MS      10u
#define PIT_PORT_CH2    0x42
#define PIT_PORT_MODE   0x43
#define PORT_B          0x61            /* bit 0: gate 2, bit 1: speaker, bit 5: OUT2 */
#define PIT_SPIN_LIMIT  50000000u
#define FALLBACK_KHZ    1000000u        /* 1 GHz, if nothing better is known */

static uint64_t khz;
static const char *source = "none";

static uint64_t pit_calibrate(void)
{
    const struct platform_ops *p = platform;
    uint16_t latch = PIT_HZ / (1000 / PIT_CAL_MS);

    p->outb(PORT_B, (p->inb(PORT_B) & ~0x02) | 0x01);   /* gate on, speaker off */
    p->outb(PIT_PORT_MODE, 0xb0);       /* channel 2, lo/hi byte, mode 0, binary */
    p->outb(PIT_PORT_CH2, latch & 0xff);
    p->outb(PIT_PORT_CH2, latch >> 8);  /* writing the count starts it */

    uint64_t t0 = rdtsc();
    uint32_t spins = 0;
    while (!(p->inb(PORT_B) & 0x20) && spins < PIT_SPIN_LIMIT)
        spins++;
    uint64_t cycles = rdtsc() - t0;

    /* No PIT (OUT2 high at once) or a stuck one: the result is meaningless. */
    if (spins == 0 || spins == PIT_SPIN_LIMIT || cycles < 1000 * PIT_CAL_MS)
        return 0;
    return cycles / PIT_CAL_MS;
}

/* The kernel option tsc_khz=N (main.c): the one who started us knows the
 * rate — hvlab-bench under QEMU's microvm, which has no port 0x61 and so no
 * PIT channel 2 to count against. */
void tsc_set_khz(uint64_t k)
{
    khz = k;
    source = "command line";
}

uint64_t tsc_khz(void)
{
    if (khz)
        return khz;
    if (boot_info && boot_info->tsc_khz) {
        khz = boot_info->tsc_khz;
        source = "boot info";
    } else if ((khz = pit_calibrate()) != 0) {
        source = "PIT";
    } else {
        khz = FALLBACK_KHZ;
        source = "guess";
    }
    return khz;
}

const char *tsc_source(void)
{
    tsc_khz();
    return source;
}

uint64_t ns_to_tsc(uint64_t ns)
{
    return ns * tsc_khz() / 1000000u;
}
