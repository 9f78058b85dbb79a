/*
 * hv-paravirt's direct paging (hv-paravirt/page_tables.c): the rules of
 * HVC_PIN_TABLE, HVC_MMU_UPDATE, HVC_UNPIN_TABLE and HVC_NEW_BASEPTR, each
 * refusal with its error code, the page-fault error codes the guest's own
 * tables give, and the monitor's guest-virtual accesses (never a write
 * into a page table).  Linked with hv-paravirt's objects (all but main.o);
 * the two guest processes of the ring-3 engine are real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "abi/hvlab_abi.h"
#include "abi/hvlab_hypercall.h"
#include "abi/x86_arch.h"
#include "hv-paravirt/pv.h"

/* Guest-physical layout of the test (RAM is HVLAB_RAM_MIN, 16 MiB). */
#define L4   0x400000ull
#define L3   0x401000ull
#define L2   0x402000ull
#define L1   0x403000ull
#define PAGE 0x500000ull   /* an ordinary page */
#define VA   0x1000ull     /* what L4/L3/L2/L1 translate for PAGE */

struct fx {
    struct hv_machine m;
    struct pv_vcpu v;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[160];
    if (!f || guest_mem_create(&f->m.mem, HVLAB_RAM_MIN, err, sizeof(err)))
        return -1;
    f->m.prog = "test";
    f->v.m = &f->m;
    f->v.r3cfg = (struct r3_config){.cpu = -1};
    if (pt_init(&f->v, err, sizeof(err))) {
        print_error("pt_init: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    pt_destroy(&f->v);
    guest_mem_destroy(&f->m.mem);
    free(f);
    return 0;
}

static int64_t update(struct fx *f, uint64_t table, unsigned index, uint64_t val)
{
    return pt_update(&f->v, table + index * 8, val);
}

/* L4[0] -> L3[0] -> L2[0] -> L1, all pinned and linked at va 0. */
static void build_chain(struct fx *f)
{
    assert_int_equal(pt_pin(&f->v, L4, 4), 0);
    assert_int_equal(pt_pin(&f->v, L3, 3), 0);
    assert_int_equal(pt_pin(&f->v, L2, 2), 0);
    assert_int_equal(pt_pin(&f->v, L1, 1), 0);
    assert_int_equal(update(f, L4, 0, L3 | PTE_P | PTE_W | PTE_U), 0);
    assert_int_equal(update(f, L3, 0, L2 | PTE_P | PTE_W | PTE_U), 0);
    assert_int_equal(update(f, L2, 0, L1 | PTE_P | PTE_W | PTE_U), 0);
}

static void test_pin_gives_an_empty_table_and_checks_its_arguments(void **state)
{
    struct fx *f = *state;
    uint64_t junk = 0x1234567, got;
    gm_write(&f->m.mem, L1 + 16, &junk, 8);
    assert_int_equal(pt_pin(&f->v, L1 + 8, 1), -HV_EINVAL);        /* unaligned */
    assert_int_equal(pt_pin(&f->v, HVLAB_RAM_MIN, 1), -HV_EINVAL); /* beyond RAM */
    assert_int_equal(pt_pin(&f->v, L1, 0), -HV_EINVAL);
    assert_int_equal(pt_pin(&f->v, L1, 5), -HV_EINVAL);
    assert_int_equal(pt_pin(&f->v, HVLAB_PV_SHARED_PADDR, 1), -HV_EXDEV);
    assert_int_equal(pt_pin(&f->v, L1, 1), 0);
    assert_int_equal(pt_pin(&f->v, L1, 1), -HV_EBUSY);
    gm_read_u64(&f->m.mem, L1 + 16, &got);
    assert_int_equal(got, 0);
}

static void test_update_refuses_malformed_entries(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    assert_int_equal(pt_update(&f->v, L1 + 3, PAGE | PTE_P), -HV_EINVAL); /* unaligned ptr */
    assert_int_equal(update(f, PAGE, 0, PAGE | PTE_P), -HV_ENOENT);       /* not a table */
    assert_int_equal(pt_update(&f->v, HVLAB_RAM_MIN, 0), -HV_ENOENT);     /* beyond RAM */
    assert_int_equal(update(f, L1, 1, PAGE | PTE_P | (1ull << 52)), -HV_EINVAL);
    assert_int_equal(update(f, L1, 1, PAGE | PTE_P | PTE_PS), -HV_EINVAL);   /* PAT bit */
    assert_int_equal(update(f, L3, 1, 0x40000000ull | PTE_P | PTE_PS), -HV_EINVAL); /* 1G */
    assert_int_equal(update(f, L2, 1, 0x201000ull | PTE_P | PTE_PS), -HV_EINVAL); /* unaligned 2M */
    assert_int_equal(update(f, L1, 1, HVLAB_RAM_MIN | PTE_P), -HV_EXDEV);  /* beyond RAM */
    assert_int_equal(update(f, L2, 8, (HVLAB_RAM_MIN - 0x200000) | PTE_P | PTE_PS), 0);
    assert_int_equal(update(f, L1, 1, PAGE | PTE_P | PTE_W | PTE_NX), 0);
    assert_int_equal(update(f, L1, 1, 0), 0);                              /* not present */
}

static void test_page_tables_are_never_writable_to_the_guest(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    assert_int_equal(update(f, L1, 2, L2 | PTE_P | PTE_W), -HV_EXDEV);
    assert_int_equal(update(f, L1, 2, L2 | PTE_P), 0);                     /* read-only: fine */
    /* a 2 MiB writable page around a table */
    assert_int_equal(update(f, L2, 2, 0x400000ull | PTE_P | PTE_W | PTE_PS), -HV_EXDEV);
    assert_int_equal(update(f, L2, 2, 0x400000ull | PTE_P | PTE_PS), 0);
    /* and a page mapped writable cannot become a table */
    assert_int_equal(update(f, L1, 3, PAGE | PTE_P | PTE_W), 0);
    assert_int_equal(pt_pin(&f->v, PAGE, 1), -HV_EXDEV);
    assert_int_equal(update(f, L1, 3, PAGE | PTE_P), 0);
    assert_int_equal(pt_pin(&f->v, PAGE, 1), 0);
    /* nor a page inside a writable 2 MiB leaf */
    assert_int_equal(update(f, L2, 3, 0x600000ull | PTE_P | PTE_W | PTE_PS), 0);
    assert_int_equal(pt_pin(&f->v, 0x601000ull, 1), -HV_EXDEV);
}

static void test_links_go_one_level_down_to_one_place(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    assert_int_equal(update(f, L2, 1, PAGE | PTE_P | PTE_W), -HV_EXDEV);  /* PAGE not pinned */
    assert_int_equal(update(f, L3, 1, L1 | PTE_P | PTE_W), -HV_EXDEV);    /* L1 under L3 */
    assert_int_equal(update(f, L2, 1, L1 | PTE_P | PTE_W), -HV_EXDEV);    /* a second place */
    assert_int_equal(update(f, L4, 254, L3 | PTE_P), -HV_EXDEV);          /* the hole */
    assert_int_equal(update(f, L4, 300, L3 | PTE_P), -HV_EXDEV);          /* upper half */
    /* a table that is placed nowhere yet gets no children */
    assert_int_equal(pt_pin(&f->v, PAGE, 2), 0);
    assert_int_equal(pt_pin(&f->v, PAGE + 0x1000, 1), 0);
    assert_int_equal(update(f, PAGE, 0, (PAGE + 0x1000) | PTE_P), -HV_EXDEV);
    assert_int_equal(update(f, L3, 5, PAGE | PTE_P), 0);
    assert_int_equal(update(f, PAGE, 0, (PAGE + 0x1000) | PTE_P), 0);
    /* the same table again at the same place (another L4): fine */
    assert_int_equal(pt_pin(&f->v, PAGE + 0x2000, 4), 0);
    assert_int_equal(update(f, PAGE + 0x2000, 0, L3 | PTE_P | PTE_W), 0);
    assert_int_equal(update(f, PAGE + 0x2000, 1, L3 | PTE_P | PTE_W), -HV_EXDEV);
}

static void test_unpin_and_baseptr_rules(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    assert_int_equal(pt_unpin(&f->v, PAGE), -HV_ENOENT);
    assert_int_equal(pt_unpin(&f->v, L1), -HV_EBUSY);            /* L2 links it */
    assert_int_equal(pt_new_baseptr(&f->v, PAGE), -HV_ENOENT);
    assert_int_equal(pt_new_baseptr(&f->v, L3), -HV_EINVAL);
    assert_int_equal(pt_new_baseptr(&f->v, L4), 0);
    assert_int_equal(pt_unpin(&f->v, L4), -HV_EBUSY);            /* the current base */
    assert_int_equal(pt_pin(&f->v, PAGE, 4), 0);
    assert_int_equal(pt_new_baseptr(&f->v, PAGE), 0);
    /* top-down: each unpin drops the links of the table below */
    assert_int_equal(pt_unpin(&f->v, L4), 0);
    assert_int_equal(pt_unpin(&f->v, L3), 0);
    assert_int_equal(pt_unpin(&f->v, L2), 0);
    assert_int_equal(pt_unpin(&f->v, L1), 0);
}

static void test_page_fault_error_codes_come_from_the_guest_tables(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    assert_int_equal(update(f, L1, 1, PAGE | PTE_P | PTE_NX), 0);           /* VA: kernel, RO */
    assert_int_equal(update(f, L1, 2, PAGE | PTE_P | PTE_U | PTE_W), 0);    /* user, RW */
    assert_int_equal(pt_new_baseptr(&f->v, L4), 0);
    assert_int_equal(pt_fault_error(&f->v, VA, PF_W), PF_P | PF_W);
    assert_int_equal(pt_fault_error(&f->v, VA, PF_I), PF_P | PF_I);
    assert_int_equal(pt_fault_error(&f->v, 0x5000, 0), 0);                  /* not present */
    assert_int_equal(pt_fault_error(&f->v, VA, 0), -1);   /* allowed: host out of sync */
    f->v.cpl = 3;
    assert_int_equal(pt_fault_error(&f->v, VA, 0), PF_P | PF_U);
    assert_int_equal(pt_fault_error(&f->v, 0x2000, PF_W), -1);
}

static void test_monitor_never_writes_a_table_for_the_guest(void **state)
{
    struct fx *f = *state;
    uint64_t v = 0x55, before, after;
    assert_int_equal(pt_pin(&f->v, L1, 1), 0);
    /* the boot space: RAM at va == pa, tables excepted for writes */
    assert_int_equal(gva_write(&f->v, PAGE, &v, 8), 0);
    assert_int_equal(gva_read(&f->v, L1, &before, 8), 0);
    assert_int_equal(gva_write(&f->v, L1, &v, 8), -HV_EFAULT);
    assert_int_equal(gva_read(&f->v, HVLAB_RAM_MIN - 4, &v, 8), -HV_EFAULT); /* runs past RAM */
    gm_read_u64(&f->m.mem, L1, &after);
    assert_int_equal(before, after);
    /* through the guest's tables: a read-only mapping of a table */
    assert_int_equal(pt_unpin(&f->v, L1), 0);
    build_chain(f);
    assert_int_equal(update(f, L1, 1, L1 | PTE_P), 0);
    assert_int_equal(update(f, L1, 2, PAGE | PTE_P | PTE_W), 0);
    assert_int_equal(pt_new_baseptr(&f->v, L4), 0);
    assert_int_equal(gva_read(&f->v, VA, &v, 8), 0);
    assert_int_equal(gva_write(&f->v, VA, &v, 8), -HV_EFAULT);
    assert_int_equal(gva_write(&f->v, 0x2000, &v, 8), 0);
    assert_int_equal(gva_read(&f->v, 0x3000, &v, 8), -HV_EFAULT);          /* not mapped */
    assert_int_equal(gva_write(&f->v, 0x2ffc, &v, 8), -HV_EFAULT);         /* crosses into it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pin_gives_an_empty_table_and_checks_its_arguments,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_refuses_malformed_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_tables_are_never_writable_to_the_guest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_links_go_one_level_down_to_one_place, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unpin_and_baseptr_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_fault_error_codes_come_from_the_guest_tables,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_never_writes_a_table_for_the_guest, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
