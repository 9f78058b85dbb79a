/*
 * idt.c - the Interrupt Descriptor Table.
 *
 * 256 sixteen-byte gate descriptors (SDM Vol. 3A 6.14.1, figure 6-8).  We
 * install the 32 exception vectors, the timer and the APIC spurious vector,
 * all as *interrupt* gates (type 0xE: the CPU clears RFLAGS.IF on entry, so
 * a handler is never interrupted) with DPL 0, so that `int n` from ring 3
 * raises #GP instead of entering a handler.  Vector 8 (#DF) runs on IST1.
 * The paravirtual platform loads no IDT: its load_idt registers the 32
 * exception gates with the hypervisor as a trap table (pv.c).
 */
#include "kernel.h"
#include "traps.h"

static struct idt_gate idt[256] __attribute__((aligned(16)));

static void set_gate(unsigned vector, uint64_t handler, unsigned ist)
{
    struct idt_gate *g = &idt[vector];
    g->offset_low = handler & 0xffff;
    g->selector = GDT_KERNEL_CS;
    g->ist = ist;
    g->type_attr = GATE_PRESENT | GATE_INTERRUPT;   /* DPL 0 */
    g->offset_mid = (handler >> 16) & 0xffff;
    g->offset_high = handler >> 32;
    g->reserved = 0;
}

void idt_init(void)
{
    for (unsigned v = 0; v < 32; v++)
        set_gate(v, isr_stub_table[v], v == X86_DF ? 1 : 0);
    set_gate(TIMER_VECTOR, isr_timer_stub, 0);
    set_gate(SPURIOUS_VECTOR, isr_spurious_stub, 0);
    for (unsigned i = 0; i < HVLAB_VIRTIO_MMIO_SLOTS; i++)
        set_gate(HVLAB_VIRTIO_IRQ_VECTOR(i), isr_virtio_stubs[i], 0);

    struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)idt };
    platform->load_idt(&idtr);
}

uint64_t idt_base(void) { return (uint64_t)idt; }
uint16_t idt_limit(void) { return sizeof(idt) - 1; }
