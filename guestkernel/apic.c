/*
 * apic.c - the local APIC timer (native platform).
 *
 * Register map: Intel SDM Vol. 3A 11.4.1 (table 11-1).  Two ways to reach
 * the registers (SDM Vol. 3A 11.12):
 *   xAPIC   memory-mapped, 4 KiB page at the address in IA32_APIC_BASE
 *           (0xFEE00000 by default), mapped uncached;
 *   x2APIC  MSR 0x800 + (xAPIC offset >> 4), enabled with IA32_APIC_BASE
 *           bits 10 (EXTD) and 11 (EN); CPUID.1:ECX[21] says it exists.
 * QEMU 7.2's TCG has no x2APIC; KVM (hv-hwassist) has both.
 *
 * The timer (SDM Vol. 3A 11.5.4) counts the initial count down at the bus
 * clock / divide configuration and interrupts at 0 (one-shot mode, LVT timer
 * bits 18:17 = 00).  Its clock rate is not architectural, so apic_timer_init
 * measures it against the TSC.
 */
#include "kernel.h"
#include "mm.h"
#include "native.h"
#include "timer.h"

#define APIC_EOI        0x0b0
#define APIC_SVR        0x0f0           /* spurious vector; bit 8 = APIC enable */
#define APIC_LVT_TIMER  0x320
#define APIC_LVT_LINT0  0x350
#define APIC_LVT_LINT1  0x360
#define APIC_LVT_ERROR  0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3e0

#define APIC_BASE_EXTD  (1ull << 10)    /* x2APIC mode */
#define APIC_BASE_EN    (1ull << 11)    /* APIC global enable */
#define APIC_BASE_ADDR  0x000ffffffffff000ull
#define LVT_MASKED      (1u << 16)
#define SVR_ENABLE      (1u << 8)
#define DIVIDE_BY_1     0xb             /* SDM figure 11-10 */
#define CALIBRATE_NS    2000000u        /* 2 ms */

static bool x2apic;
static volatile uint32_t *xapic;
static uint64_t counts_per_ms;

static uint32_t apic_read(unsigned reg)
{
    if (x2apic)
        return (uint32_t)native_rdmsr(MSR_X2APIC_BASE + (reg >> 4));
    return xapic[reg / 4];
}

static void apic_write(unsigned reg, uint32_t value)
{
    if (x2apic)
        native_wrmsr(MSR_X2APIC_BASE + (reg >> 4), value);
    else
        xapic[reg / 4] = value;
}

static int enable_apic(void)
{
    struct cpuid_regs r;
    native_cpuid(1, 0, &r);
    x2apic = (r.ecx & CPUID1_ECX_X2APIC) != 0;

    uint64_t base = native_rdmsr(MSR_APIC_BASE);
    /* x2APIC can only be entered from the enabled xAPIC state (SDM 11.12.5). */
    if (!(base & APIC_BASE_EN))
        native_wrmsr(MSR_APIC_BASE, base |= APIC_BASE_EN);
    if (x2apic) {
        native_wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
        return 0;
    }
    uint64_t pa = base & APIC_BASE_ADDR;
    if (map_page(&kernel_aspace, pa, pa, PTE_W | PTE_PCD | PTE_PWT | PTE_NX) < 0)
        return -1;
    xapic = (volatile uint32_t *)pa;
    return 0;
}

/* Count down from the maximum for CALIBRATE_NS of TSC time, masked. */
static uint64_t measure_timer_rate(void)
{
    apic_write(APIC_TIMER_DIV, DIVIDE_BY_1);
    apic_write(APIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
    apic_write(APIC_TIMER_INIT, 0xffffffffu);
    uint64_t t0 = rdtsc(), cycles = ns_to_tsc(CALIBRATE_NS);
    while (rdtsc() - t0 < cycles)
        cpu_relax();
    uint32_t left = apic_read(APIC_TIMER_CUR);
    uint64_t elapsed_ns = (rdtsc() - t0) * 1000000u / tsc_khz();
    apic_write(APIC_TIMER_INIT, 0);
    if (!elapsed_ns)
        return 0;
    return (uint64_t)(0xffffffffu - left) * 1000000u / elapsed_ns;
}

int apic_timer_init(void)
{
    if (enable_apic() < 0)
        return -1;
    apic_write(APIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
    /* No legacy wiring: LINT0 (ExtINT from an 8259) and LINT1 (NMI) off. */
    apic_write(APIC_LVT_LINT0, LVT_MASKED);
    apic_write(APIC_LVT_LINT1, LVT_MASKED);
    apic_write(APIC_LVT_ERROR, LVT_MASKED);
    counts_per_ms = measure_timer_rate();
    return counts_per_ms ? 0 : -1;
}

void apic_timer_oneshot(uint64_t ns)
{
    uint64_t count = ns * counts_per_ms / 1000000u;
    if (count == 0)
        count = 1;
    if (count > 0xffffffffu)
        count = 0xffffffffu;
    apic_write(APIC_LVT_TIMER, TIMER_VECTOR);        /* one-shot, unmasked */
    apic_write(APIC_TIMER_INIT, (uint32_t)count);    /* starts the countdown */
}

void apic_timer_cancel(void)
{
    apic_write(APIC_TIMER_INIT, 0);
    apic_write(APIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
}

void apic_eoi(void)
{
    apic_write(APIC_EOI, 0);
}

const char *apic_timer_name(void)
{
    return x2apic ? "x2APIC one-shot" : "xAPIC one-shot";
}
