/*
 * hv-trap-emulate's virtual CPU without a guest process: the local APIC
 * (x2APIC and xAPIC registers, timer, priorities, EOI), exception delivery
 * through an IDT in guest RAM (frame, stack switch, IF, CR2), the
 * double/triple-fault rules, iretq, and the guest's syscall/sysretq.
 * Linked with hv-trap-emulate's objects (all but main.o).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"
#include "hv-trap-emulate/vcpu.h"
#include "libhv/entry_layout.h"

/* Guest-physical (= virtual: the entry identity map) layout of the test. */
#define GDT_VA   0x20000ull
#define TSS_VA   0x21000ull
#define IDT_VA   0x22000ull
#define RSP0     0x30000ull
#define USER_RSP 0x40000ull
#define HANDLER  0x123456ull
#define LSTAR    0x200000ull

struct fx {
    struct hv_machine m;
    struct vcpu v;
};

static void set_gate(struct fx *f, unsigned vec, uint64_t offset, unsigned type, unsigned dpl)
{
    uint64_t g[2];
    g[0] = (offset & 0xffff) | (0x08ull << 16) | ((uint64_t)type << 40) |
           ((uint64_t)dpl << 45) | (1ull << 47) | ((offset >> 16 & 0xffff) << 48);
    g[1] = offset >> 32;
    assert_int_equal(gm_write(&f->m.mem, IDT_VA + vec * 16, g, 16), 0);
}

/* A CPU in long mode at CPL 0 with the hvlab GDT layout (kernel code 0x08,
 * data 0x10, user data 0x18, user code 0x20), a TSS with RSP0, an IDT. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[128];
    struct entry_layout l;
    if (!f || guest_mem_create(&f->m.mem, HVLAB_RAM_MIN, err, sizeof(err)))
        return -1;
    f->m.prog = "test";
    if (entry_build_long_mode(&f->m, &l))
        return -1;
    uint64_t gdt[7] = {0, 0x00AF9A000000FFFFull, 0x00CF92000000FFFFull,
                       0x00CFF2000000FFFFull, 0x00AFFA000000FFFFull, 0, 0};
    gdt[5] = 103 | ((TSS_VA & 0xffffff) << 16) | (0x89ull << 40);
    gm_write(&f->m.mem, GDT_VA, gdt, sizeof(gdt));
    gm_write_u64(&f->m.mem, TSS_VA + 4, RSP0);
    struct vcpu *v = &f->v;
    v->m = &f->m;
    v->policy = SHADOW_PER_MODE;
    v->cr0 = ENTRY_CR0, v->cr3 = l.cr3, v->cr4 = ENTRY_CR4, v->efer = ENTRY_EFER;
    v->gdtr = (struct dtr){GDT_VA, sizeof(gdt) - 1};
    v->idtr = (struct dtr){IDT_VA, 256 * 16 - 1};
    v->tr = 0x28, v->tr_base = TSS_VA, v->tr_limit = 103;
    v->cs = 0x08, v->ss = 0x10;
    v->pending.vector = -1;
    v->tsc_khz = 1000000;
    vcpu_set_rflags(v, RFLAGS_FIXED | RFLAGS_IF);
    vapic_reset(&v->apic);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    guest_mem_destroy(&f->m.mem);
    free(f);
    return 0;
}

static void enable_x2apic(struct vcpu *v)
{
    assert_int_equal(msr_write(v, MSR_APIC_BASE, 0xfee00000ull | (1 << 11) | (1 << 10)), 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- local APIC ------------------------------------------------------------ */

static void x2apic_registers_need_x2apic_mode(void **state)
{
    struct fx *f = *state;
    uint64_t v;
    assert_int_equal(msr_read(&f->v, 0x808, &v), -1);    /* xAPIC mode: #GP */
    /* EXTD without EN is an invalid state (SDM Vol. 3A §11.12.5). */
    assert_int_equal(msr_write(&f->v, MSR_APIC_BASE, 0xfee00000ull | (1 << 10)), -1);
    enable_x2apic(&f->v);
    assert_int_equal(msr_read(&f->v, 0x808, &v), 0);
    assert_int_equal(msr_write(&f->v, 0x80b, 1), -1);    /* x2APIC EOI must be 0 */
}

static void oneshot_timer_fires_after_its_count(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    uint64_t cur;
    enable_x2apic(v);
    msr_write(v, 0x83e, 0xb);                /* divide by 1: 1 count = 1 ns here */
    msr_write(v, 0x832, 0x20);               /* one-shot, vector 0x20 */
    msr_write(v, 0x838, 3000000);            /* 3 ms */
    vapic_tick(v);
    assert_int_equal(vapic_pending_vector(v), -1);
    msr_read(v, 0x839, &cur);
    assert_true(cur > 0 && cur <= 3000000);
    assert_true(vapic_next_deadline_ns(v) > host_now_ns());
    sleep_ms(5);
    vapic_tick(v);
    assert_int_equal(vapic_pending_vector(v), 0x20);
    assert_int_equal(vapic_next_deadline_ns(v), 0); /* one-shot: disarmed */
    msr_read(v, 0x839, &cur);
    assert_int_equal(cur, 0);
}

static void masked_timer_raises_nothing(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    enable_x2apic(v);
    msr_write(v, 0x83e, 0xb);
    msr_write(v, 0x832, 0x20 | (1 << 16));
    msr_write(v, 0x838, 1000);
    sleep_ms(1);
    vapic_tick(v);
    assert_int_equal(vapic_pending_vector(v), -1);
}

static void tpr_and_isr_gate_delivery_and_eoi_retires(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    enable_x2apic(v);
    msr_write(v, 0x83e, 0xb);
    msr_write(v, 0x832, 0x20);
    msr_write(v, 0x838, 1);
    sleep_ms(1);
    vapic_tick(v);
    vapic_set_tpr(v, 0x20);                  /* class 2 blocks vector 0x20 */
    assert_int_equal(vapic_pending_vector(v), -1);
    vapic_set_tpr(v, 0x10);
    assert_int_equal(vapic_pending_vector(v), 0x20);
    vapic_accept(v, 0x20);
    uint64_t isr;
    msr_read(v, 0x811, &isr);                /* ISR bits 32..63 */
    assert_int_equal(isr, 1);
    assert_int_equal(msr_write(v, 0x80b, 0), 0);
    msr_read(v, 0x811, &isr);
    assert_int_equal(isr, 0);
}

static void xapic_mmio_page_reaches_the_same_registers(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    uint64_t val = 0x1ff;
    assert_int_equal(vapic_register_mmio(v), 0);
    bus_access(&f->m, HV_SPACE_MMIO, 0xfee000f0, true, 4, &val);   /* SVR */
    val = 0;
    bus_access(&f->m, HV_SPACE_MMIO, 0xfee000f0, false, 4, &val);
    assert_int_equal(val, 0x1ff);
    bus_access(&f->m, HV_SPACE_MMIO, 0xfee00030, false, 4, &val);  /* version */
    assert_int_equal(val & 0xff, 0x14);
    assert_false(f->m.stopped);
}

static void tsc_deadline_mode_fires(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    enable_x2apic(v);
    msr_write(v, 0x832, 0x21 | (2u << 17));  /* TSC-deadline mode */
    v->tsc_khz = host_tsc_khz();
    uint64_t now = __builtin_ia32_rdtsc();
    msr_write(v, MSR_TSC_DEADLINE, now + v->tsc_khz * 2);   /* 2 ms of TSC */
    vapic_tick(v);
    assert_int_equal(vapic_pending_vector(v), -1);
    sleep_ms(4);
    vapic_tick(v);
    assert_int_equal(vapic_pending_vector(v), 0x21);
}

/* ---- exception delivery ---------------------------------------------------- */

static void page_fault_from_user_switches_to_rsp0(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    set_gate(f, X86_PF, HANDLER, 0xE, 0);
    v->cpl = 3, v->cs = 0x23, v->ss = 0x1b;
    v->regs.rip = 0x8000001234ull, v->regs.rsp = USER_RSP;
    raise_exception(v, X86_PF, true, PF_U | PF_W);
    v->pending.cr2 = 0xdead000;
    deliver_events(v);
    assert_false(f->m.stopped);
    assert_int_equal(v->cpl, 0);
    assert_int_equal(v->regs.rip, HANDLER);
    assert_int_equal(v->cs, 0x08);
    assert_int_equal(v->cr2, 0xdead000);
    assert_false(vcpu_if(v));                /* interrupt gate */
    assert_int_equal(v->regs.rsp, RSP0 - 6 * 8);
    uint64_t fr[6];
    gm_read(&f->m.mem, RSP0 - 48, fr, sizeof(fr));
    assert_int_equal(fr[0], PF_U | PF_W);    /* error code */
    assert_int_equal(fr[1], 0x8000001234ull);
    assert_int_equal(fr[2], 0x23);
    assert_true(fr[3] & RFLAGS_IF);          /* RFLAGS as it was */
    assert_int_equal(fr[4], USER_RSP);
    assert_int_equal(fr[5], 0x1b);
}

static void trap_gate_keeps_if_and_same_level_aligns_stack(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    set_gate(f, X86_UD, HANDLER, 0xF, 0);
    v->regs.rsp = 0x50008;                   /* not 16-byte aligned */
    raise_exception(v, X86_UD, false, 0);
    deliver_events(v);
    assert_true(vcpu_if(v));
    assert_int_equal(v->regs.rsp, 0x50000 - 5 * 8); /* aligned down, no error code */
}

static void missing_gate_becomes_double_then_triple_fault(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    v->idtr.limit = 0;                       /* like the entry state */
    raise_exception(v, X86_GP, true, 0);
    deliver_events(v);
    assert_true(f->m.stopped);
    assert_int_equal(f->m.status, HV_STATUS_TRIPLE_FAULT);
    assert_non_null(strstr(f->m.why, "triple fault"));
}

static void double_fault_is_delivered_with_error_zero(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    set_gate(f, X86_DF, HANDLER + 0x10, 0xE, 0); /* #GP has no gate, #DF has */
    v->regs.rsp = 0x50000;
    raise_exception(v, X86_GP, true, 0);
    deliver_events(v);
    assert_false(f->m.stopped);
    assert_int_equal(v->regs.rip, HANDLER + 0x10);
    uint64_t err;
    gm_read_u64(&f->m.mem, v->regs.rsp, &err);
    assert_int_equal(err, 0);
}

static void software_int_checks_gate_dpl(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    set_gate(f, 0x80, HANDLER, 0xF, 0);      /* DPL 0: not for user code */
    set_gate(f, X86_GP, HANDLER + 0x40, 0xE, 0);
    v->cpl = 3, v->cs = 0x23, v->ss = 0x1b, v->regs.rsp = USER_RSP;
    v->regs.rip = 0x8000000102ull;           /* past `int $0x80` at ...100 */
    emulate_int(v, 0x80, 2);
    assert_int_equal(v->regs.rip, HANDLER + 0x40); /* #GP(0x80 * 8 + 2) instead */
    uint64_t fr[2];
    gm_read(&f->m.mem, v->regs.rsp, fr, sizeof(fr));
    assert_int_equal(fr[0], 0x80 * 8 + 2);
    assert_int_equal(fr[1], 0x8000000100ull); /* a fault: reported at the int */
}

static void iretq_returns_to_user_mode(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    uint64_t fr[5] = {0x8000000100ull, 0x23, RFLAGS_FIXED | RFLAGS_IF | 1 /* CF */,
                      USER_RSP, 0x1b};
    v->regs.rsp = 0x50000;
    vcpu_set_rflags(v, RFLAGS_FIXED);        /* IF clear in the kernel */
    gm_write(&f->m.mem, 0x50000, fr, sizeof(fr));
    struct x86_insn in = {.op = X86_OP_IRET, .op_size = 8, .length = 2};
    emulate_iret(v, &in);
    assert_int_equal(v->pending.vector, -1);
    assert_int_equal(v->cpl, 3);
    assert_int_equal(v->regs.rip, 0x8000000100ull);
    assert_int_equal(v->regs.rsp, USER_RSP);
    assert_true(vcpu_if(v));
    assert_int_equal(vcpu_rflags(v) & 1, 1);
}

/* Makes the first 2 MiB of the entry identity map user-accessible (U/S at
 * every level: PML4[0], PDPT[0], PD[0] of libhv/entry_layout.c). */
static void user_first_2m(struct fx *f, uint64_t cr3)
{
    uint64_t pml4e, pdpte, pde;
    gm_read_u64(&f->m.mem, cr3, &pml4e);
    gm_write_u64(&f->m.mem, cr3, pml4e | PTE_U);
    gm_read_u64(&f->m.mem, pml4e & PTE_ADDR, &pdpte);
    gm_write_u64(&f->m.mem, pml4e & PTE_ADDR, pdpte | PTE_U);
    gm_read_u64(&f->m.mem, pdpte & PTE_ADDR, &pde);
    gm_write_u64(&f->m.mem, pdpte & PTE_ADDR, pde | PTE_U);
}

static void iretq_to_a_kernel_selector_from_user_is_gp(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    user_first_2m(f, v->cr3);
    uint64_t fr[5] = {HANDLER, 0x08, RFLAGS_FIXED, USER_RSP, 0x10};
    v->cpl = 3, v->regs.rsp = USER_RSP;
    gm_write(&f->m.mem, USER_RSP, fr, sizeof(fr));
    struct x86_insn in = {.op = X86_OP_IRET, .op_size = 8, .length = 2};
    emulate_iret(v, &in);
    assert_int_equal(v->pending.vector, X86_GP);
    assert_int_equal(v->pending.error, 0x08);
    assert_int_equal(v->cpl, 3);
}

static void syscall_and_sysretq_round_trip(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    msr_write(v, MSR_STAR, (0x10ull << 48) | (0x08ull << 32));
    msr_write(v, MSR_LSTAR, LSTAR);
    msr_write(v, MSR_SFMASK, RFLAGS_IF);
    v->cpl = 3, v->cs = 0x23, v->ss = 0x1b;
    v->regs.rip = 0x8000000202ull;           /* past the syscall, as SYSEMU leaves it */
    emulate_syscall(v);
    assert_int_equal(v->cpl, 0);
    assert_int_equal(v->regs.rip, LSTAR);
    assert_int_equal(v->regs.rcx, 0x8000000202ull);
    assert_true(v->regs.r11 & RFLAGS_IF);
    assert_false(vcpu_if(v));                /* SFMASK cleared it */
    assert_int_equal(v->cs, 0x08);
    struct x86_insn in = {.op = X86_OP_SYSRET, .op_size = 8, .length = 3};
    emulate_sysret(v, &in);
    assert_int_equal(v->cpl, 3);
    assert_int_equal(v->regs.rip, 0x8000000202ull);
    assert_int_equal(v->cs, 0x23);
    assert_int_equal(v->ss, 0x1b);
    assert_true(vcpu_if(v));
}

static void syscall_without_efer_sce_is_ud(void **state)
{
    struct fx *f = *state;
    struct vcpu *v = &f->v;
    msr_write(v, MSR_EFER, v->efer & ~EFER_SCE);
    v->regs.rip = 0x100002;
    emulate_syscall(v);
    assert_int_equal(v->pending.vector, X86_UD);
    assert_int_equal(v->regs.rip, 0x100000); /* a fault: RIP of the syscall */
}

static void efer_lme_cannot_change_and_unknown_msr_is_gp(void **state)
{
    struct fx *f = *state;
    uint64_t val;
    assert_int_equal(msr_write(&f->v, MSR_EFER, f->v.efer & ~EFER_LME), -1);
    assert_int_equal(msr_read(&f->v, 0x12345678, &val), -1);
    assert_int_equal(msr_write(&f->v, MSR_LSTAR, 0x0000800000000000ull), -1); /* non-canonical */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(x2apic_registers_need_x2apic_mode),
        T(oneshot_timer_fires_after_its_count),
        T(masked_timer_raises_nothing),
        T(tpr_and_isr_gate_delivery_and_eoi_retires),
        T(xapic_mmio_page_reaches_the_same_registers),
        T(tsc_deadline_mode_fires),
        T(page_fault_from_user_switches_to_rsp0),
        T(trap_gate_keeps_if_and_same_level_aligns_stack),
        T(missing_gate_becomes_double_then_triple_fault),
        T(double_fault_is_delivered_with_error_zero),
        T(software_int_checks_gate_dpl),
        T(iretq_returns_to_user_mode),
        T(iretq_to_a_kernel_selector_from_user_is_gp),
        T(syscall_and_sysretq_round_trip),
        T(syscall_without_efer_sce_is_ud),
        T(efer_lme_cannot_change_and_unknown_msr_is_gp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
