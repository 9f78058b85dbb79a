/*
 * gdt.c - the Global Descriptor Table and the 64-bit Task State Segment.
 *
 * In 64-bit mode segmentation is almost gone (SDM Vol. 3A 3.2.4): base and
 * limit of CS/DS/ES/SS are ignored, but the descriptors still carry the
 * privilege level (DPL) and the L bit that selects 64-bit code.  Layout
 * (layout.h): null, kernel code 0x08, kernel data 0x10, user data 0x18, user
 * code 0x20 - the order SYSRET demands - then the TSS at 0x28.
 *
 * The TSS no longer switches tasks; in 64-bit mode it only holds stack
 * pointers (SDM Vol. 3A 8.7): RSP0, loaded by the CPU when an interrupt or
 * exception arrives from ring 3, and IST1..7, optional per-vector stacks.
 * We give #DF its own IST stack: a double fault often means the current
 * stack is unusable.
 *
 * On the paravirtual platform load_gdt and load_tr do nothing: the
 * hypervisor owns segmentation (Xen PV's FLAT_KERNEL_CS), its selectors
 * equal these (pv.c checks), and set_kernel_stack replaces TSS.RSP0.  The
 * tables are still built, for the selftest and `sensitive` to compare with.
 */
#include "kernel.h"
#include "native.h"
#include "traps.h"

/* Descriptor bits (SDM Vol. 3A 3.4.5, figure 3-8). */
#define SEG_P      (1ull << 47)          /* present */
#define SEG_S      (1ull << 44)          /* code/data (not system) */
#define SEG_DPL3   (3ull << 45)
#define SEG_CODE   (0xaull << 40)        /* execute/read */
#define SEG_DATA   (0x2ull << 40)        /* read/write */
#define SEG_L      (1ull << 53)          /* 64-bit code */
#define SEG_TSS64  (0x9ull << 40)        /* available 64-bit TSS (type 9) */

struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];            /* RSP0..RSP2 */
    uint64_t reserved1;
    uint64_t ist[7];            /* IST1..IST7 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;        /* >= limit: no I/O bitmap, ring 3 I/O faults */
};
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes");

#define GDT_ENTRIES 7           /* 5 segments + the 16-byte TSS descriptor */
static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t df_stack[4096] __attribute__((aligned(16)));

static void set_tss_descriptor(uint64_t base, uint32_t limit)
{
    gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | SEG_TSS64 |
                       SEG_P | ((uint64_t)((limit >> 16) & 0xf) << 48) |
                       (((base >> 24) & 0xff) << 56);
    gdt[GDT_TSS / 8 + 1] = base >> 32;
}

void gdt_init(void)
{
    gdt[0] = 0;
    gdt[GDT_KERNEL_CS / 8] = SEG_P | SEG_S | SEG_CODE | SEG_L;
    gdt[GDT_KERNEL_DS / 8] = SEG_P | SEG_S | SEG_DATA;
    gdt[(GDT_USER_DS & ~3) / 8] = SEG_P | SEG_S | SEG_DATA | SEG_DPL3;
    gdt[(GDT_USER_CS & ~3) / 8] = SEG_P | SEG_S | SEG_CODE | SEG_L | SEG_DPL3;

    tss.iomap_base = sizeof(tss);
    tss.ist[0] = (uint64_t)(df_stack + sizeof(df_stack));
    set_tss_descriptor((uint64_t)&tss, sizeof(tss) - 1);

    struct desc_ptr gdtr = { sizeof(gdt) - 1, (uint64_t)gdt };
    platform->load_gdt(&gdtr);          /* native: and reloads the segments */
    platform->load_tr(GDT_TSS);
}

/* The native set_kernel_stack: a plain store into the TSS. */
void tss_write_rsp0(uint64_t rsp0)
{
    tss.rsp[0] = rsp0;
}

uint64_t gdt_base(void) { return (uint64_t)gdt; }
uint16_t gdt_limit(void) { return sizeof(gdt) - 1; }
uint64_t tss_rsp0(void) { return tss.rsp[0]; }
