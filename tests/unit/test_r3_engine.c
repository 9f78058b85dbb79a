/*
 * libhv ring-3 engine (r3_*): a real stub child under ptrace + seccomp runs
 * hand-assembled guest code from guest RAM.  These tests fork processes.
 * The stub is found next to this binary (build/lib/hvlab-r3-stub via
 * ../../lib) or through $HVLAB_R3_STUB.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "abi/hvlab_abi.h"
#include "libhv/guestmem.h"
#include "libhv/r3_engine.h"
#include "libhv/r3_layout.h"

#define CODE_PA 0x200000ull
#define CODE_VA 0x400000ull
#define DATA_PA 0x300000ull
#define DATA_VA 0x600000ull
#define RO_PA   0x301000ull
#define RO_VA   0x601000ull

struct fx {
    struct guest_mem gm;
    struct r3_child *c;
};

static int fx_setup_cfg(void **state, bool fast, bool fast_gp)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    if (!f || guest_mem_create(&f->gm, HVLAB_RAM_MIN, err, sizeof(err)))
        return -1;
    struct r3_config cfg = {.cpu = -1, .fast_faults = fast, .fast_gp = fast_gp};
    if (r3_child_create(&f->c, &f->gm, &cfg, err, sizeof(err))) {
        fprintf(stderr, "r3_child_create: %s\n", err);
        return -1;
    }
    if (r3_map(f->c, CODE_VA, 4096, CODE_PA, PROT_READ | PROT_EXEC) ||
        r3_map(f->c, DATA_VA, 4096, DATA_PA, PROT_READ | PROT_WRITE) ||
        r3_map(f->c, RO_VA, 4096, RO_PA, PROT_READ) || r3_flush(f->c, NULL))
        return -1;
    *state = f;
    return 0;
}
static int fx_setup(void **state) { return fx_setup_cfg(state, false, false); }
static int fx_setup_fast(void **state) { return fx_setup_cfg(state, true, false); }
static int fx_setup_fast_gp(void **state) { return fx_setup_cfg(state, false, true); }

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    r3_child_destroy(f->c);
    guest_mem_destroy(&f->gm);
    free(f);
    return 0;
}

static void load(struct fx *f, const void *code, size_t len, struct r3_regs *r)
{
    memset(f->gm.host + CODE_PA, 0xf4, 4096); /* hlt after the code */
    memcpy(f->gm.host + CODE_PA, code, len);
    memset(r, 0, sizeof(*r));
    r->rip = CODE_VA;
    r->rflags = 0x202;
}

static bool alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* ---- faults ------------------------------------------------------------ */

static void r3_hlt_is_gp_fault(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0x90, 0xf4}; /* nop; hlt */
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
    assert_int_equal(ex.signo, SIGSEGV);
    assert_int_equal(ex.si_code, SI_KERNEL);
    assert_int_equal(ex.trapno, 13);
    assert_int_equal(ex.error_code, 0);
    assert_true(ex.precise);
    assert_int_equal(r.rip, CODE_VA + 1);
}

static void r3_unmapped_read_is_pf(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0x48, 0x8b, 0x18}; /* mov (%rax),%rbx */
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    r.rax = 0x12345678;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
    assert_int_equal(ex.signo, SIGSEGV);
    assert_int_equal(ex.si_code, SEGV_MAPERR);
    assert_int_equal(ex.trapno, 14);
    assert_int_equal(ex.error_code, 4);             /* U, read, not present */
    assert_int_equal(ex.fault_addr, 0x12345678);
    assert_int_equal(r.rip, CODE_VA);
}

static void r3_write_to_readonly_is_pf(void **state)
{
    struct fx *f = *state;
    /* mov %rbx,(%rax) on a page the child never touched: the HOST page
     * table has no entry yet (memfd pages are mapped lazily), so the error
     * code says not-present: U|W.  The error code describes host PTEs;
     * a monitor computes the guest's from its own page tables. */
    static const uint8_t code[] = {0x48, 0x89, 0x18};
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    r.rax = RO_VA + 0x20;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 14);
    assert_int_equal(ex.error_code, 6);             /* U, W */
    assert_int_equal(ex.fault_addr, RO_VA + 0x20);
    /* mov (%rax),%rcx; mov %rbx,(%rax): after the read, it is a protection fault */
    static const uint8_t code2[] = {0x48, 0x8b, 0x08, 0x48, 0x89, 0x18};
    load(f, code2, sizeof(code2), &r);
    r.rax = RO_VA + 0x20;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 14);
    assert_int_equal(ex.error_code, 7);             /* U, W, P */
    assert_int_equal(r.rip, CODE_VA + 3);
}

static void r3_fetch_from_noexec_is_pf(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0xff, 0xe0}; /* jmp *%rax */
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    r.rax = DATA_VA;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 14);
    assert_int_equal(ex.error_code, 0x15);          /* U, I/D, P */
    assert_int_equal(ex.fault_addr, DATA_VA);
    assert_int_equal(r.rip, DATA_VA);
}

static void r3_fast_mode_faults(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0xf4};
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
    assert_int_equal(ex.trapno, 13);
    assert_false(ex.precise);
    static const uint8_t rd[] = {0x48, 0x8b, 0x18};
    load(f, rd, sizeof(rd), &r);
    r.rax = 0x777000;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 14);
    assert_int_equal(ex.error_code & 5, 4);        /* U, not present */
    assert_int_equal(ex.fault_addr, 0x777000);
    static const uint8_t i80[] = {0xb8, 1, 0, 0, 0, 0xcd, 0x80}; /* int $0x80 */
    load(f, i80, sizeof(i80), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_INT80);
    assert_int_equal(ex.sysno, 1);
    assert_int_equal(r.rip, CODE_VA + 7);
}

/* fast_gp: #GP costs one stop (no error code), page faults stay precise. */
static void r3_fast_gp_mode_keeps_precise_page_faults(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0xf4};
    struct r3_regs r;
    struct r3_exit ex;
    struct r3_stats before, after;
    load(f, code, sizeof(code), &r);
    r3_get_stats(f->c, &before);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    r3_get_stats(f->c, &after);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
    assert_int_equal(ex.trapno, 13);
    assert_false(ex.precise);
    assert_int_equal(after.stops - before.stops, 1);
    static const uint8_t wr[] = {0x48, 0x89, 0x18}; /* mov %rbx,(%rax) */
    load(f, wr, sizeof(wr), &r);
    r.rax = RO_VA + 8;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 14);
    assert_true(ex.precise);
    assert_int_equal(ex.error_code & 6, 6);         /* U, W (P: the host's own state) */
    assert_int_equal(ex.fault_addr, RO_VA + 8);
}

static void r3_int3_is_sigtrap(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0xcc};
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
    assert_int_equal(ex.signo, SIGTRAP);
    assert_int_equal(ex.trapno, 3);
    assert_int_equal(r.rip, CODE_VA + 1);           /* already past it */
}

static void r3_ud2_is_sigill(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0x0f, 0x0b};
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
    assert_int_equal(ex.signo, SIGILL);
    assert_int_equal(ex.trapno, 6);
    assert_int_equal(r.rip, CODE_VA);
}

static void r3_divide_error_is_sigfpe(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0x48, 0xf7, 0xf1}; /* div %rcx */
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.signo, SIGFPE);
    assert_int_equal(ex.trapno, 0);
    assert_int_equal(r.rip, CODE_VA);
}

/* ---- memory ------------------------------------------------------------ */

static void r3_store_is_visible_in_ram(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0x48, 0x89, 0x18, 0xf4}; /* mov %rbx,(%rax); hlt */
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    r.rax = DATA_VA + 8;
    r.rbx = 0x1122334455667788ull;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 13);
    uint64_t v;
    memcpy(&v, f->gm.host + DATA_PA + 8, 8);
    assert_int_equal(v, 0x1122334455667788ull);
}

static void r3_fs_base_is_set(void **state)
{
    struct fx *f = *state;
    /* mov %fs:0x10,%rax; hlt */
    static const uint8_t code[] = {0x64, 0x48, 0x8b, 0x04, 0x25, 0x10, 0, 0, 0, 0xf4};
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    uint64_t v = 0xcafef00d12345678ull;
    memcpy(f->gm.host + DATA_PA + 0x10, &v, 8);
    r.fs_base = DATA_VA;
    r.gs_base = 0x1234000;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 13);
    assert_int_equal(r.rax, v);
    assert_int_equal(r.fs_base, DATA_VA);
    assert_int_equal(r.gs_base, 0x1234000);
}

static void r3_map_refuses_hole_and_bad_ranges(void **state)
{
    struct fx *f = *state;
    struct r3_child *c = f->c;
    unsigned before = r3_pending_ops(c);
    const int rw = PROT_READ | PROT_WRITE;
    assert_int_equal(r3_map(c, HVLAB_HOLE_BASE, 4096, 0, rw), -EINVAL);
    assert_int_equal(r3_map(c, HVLAB_HOLE_BASE - 4096, 8192, 0, rw), -EINVAL);
    assert_int_equal(r3_map(c, R3_STUB_BASE, 4096, 0, rw), -EINVAL);
    assert_int_equal(r3_map(c, 0x800000000000ull, 4096, 0, rw), -EINVAL);       /* non-canonical */
    assert_int_equal(r3_map(c, 0xffffffff80000000ull, 4096, 0, rw), -EINVAL);   /* upper half */
    assert_int_equal(r3_map(c, 0xfffffffffffff000ull, 0x2000, 0, rw), -EINVAL); /* wraps */
    assert_int_equal(r3_map(c, 0x1000000, 4096, f->gm.size, rw), -EINVAL);      /* past RAM */
    assert_int_equal(r3_map(c, 0x1000000, 8192, f->gm.size - 4096, rw), -EINVAL);
    assert_int_equal(r3_map(c, 0x1000000, 4096, UINT64_MAX & ~0xfffull, rw), -EINVAL);
    assert_int_equal(r3_map(c, 0x1000800, 4096, 0, rw), -EINVAL);               /* unaligned */
    assert_int_equal(r3_map(c, 0x1000000, 100, 0, rw), -EINVAL);
    assert_int_equal(r3_map(c, 0x1000000, 0, 0, rw), -EINVAL);
    assert_int_equal(r3_map(c, 0x1000000, 4096, 0, rw | PROT_GROWSDOWN), -EINVAL);
    assert_int_equal(r3_unmap(c, HVLAB_HOLE_BASE, 4096), -EINVAL);
    assert_int_equal(r3_unmap(c, 0, HVLAB_HOLE_END), -EINVAL);
    assert_int_equal(r3_protect(c, R3_STUB_BASE, 4096, PROT_READ), -EINVAL);
    assert_int_equal(r3_pending_ops(c), before);
    /* the largest legal range is accepted (and split for the filter) */
    assert_int_equal(r3_unmap(c, 0x40000000000ull, HVLAB_HOLE_BASE - 0x40000000000ull), 0);
    assert_true(r3_pending_ops(c) > before + 1);
    assert_int_equal(r3_flush(c, NULL), 0);
}

static void r3_flush_reports_failed_op(void **state)
{
    struct fx *f = *state;
    unsigned idx = 99;
    assert_int_equal(r3_map(f->c, 0x5000000, 4096, 0, PROT_READ), 0);
    assert_int_equal(r3_protect(f->c, 0x7000000, 4096, PROT_READ), 0); /* nothing there */
    assert_int_equal(r3_map(f->c, 0x5001000, 4096, 0, PROT_READ), 0);
    assert_int_equal(r3_flush(f->c, &idx), -ENOMEM);
    assert_int_equal(idx, 1);
    assert_int_equal(r3_pending_ops(f->c), 0);
    assert_true(alive(r3_child_pid(f->c)));
}

static void r3_batch_map_64_pages(void **state)
{
    struct fx *f = *state;
    struct r3_stats s0, s1, s2;
    const uint64_t va = 0x10000000, pa = 0x400000;
    r3_get_stats(f->c, &s0);
    for (unsigned i = 0; i < 64; i++) { /* one round trip each */
        uint64_t args[6] = {va + 2 * i * 4096, 4096, PROT_READ, MAP_SHARED | MAP_FIXED,
                            R3_RAM_FD, pa + i * 4096};
        int64_t ret;
        assert_int_equal(r3_inject_syscall(f->c, SYS_mmap, args, &ret), 0);
        assert_int_equal(ret, (int64_t)args[0]);
    }
    r3_get_stats(f->c, &s1);
    for (unsigned i = 0; i < 64; i++) /* scattered: one VMA each */
        assert_int_equal(r3_map(f->c, va + 0x1000000 + 2 * i * 4096, 4096,
                                pa + 64 * 4096 + i * 4096, PROT_READ), 0);
    assert_int_equal(r3_flush(f->c, NULL), 0);
    r3_get_stats(f->c, &s2);
    print_message("r3: 64 single maps: %llu stub round trips; 64 batched: %llu\n",
                  (unsigned long long)(s1.stub_calls - s0.stub_calls),
                  (unsigned long long)(s2.stub_calls - s1.stub_calls));
    assert_int_equal(s1.stub_calls - s0.stub_calls, 64);
    assert_int_equal(s2.stub_calls - s1.stub_calls, 1);
    assert_int_equal(s2.ops - s1.ops, 64);
    /* the last batched page reads what the monitor wrote there */
    static const uint8_t code[] = {0x48, 0x8b, 0x18, 0xf4}; /* mov (%rax),%rbx; hlt */
    struct r3_regs r;
    struct r3_exit ex;
    uint64_t v = 0xabcdef0123ull;
    memcpy(f->gm.host + pa + 127 * 4096 + 16, &v, 8);
    load(f, code, sizeof(code), &r);
    r.rax = va + 0x1000000 + 2 * 63 * 4096 + 16;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 13);
    assert_int_equal(r.rbx, v);
}

/* ---- syscalls never reach the host -------------------------------------- */

static void r3_syscall_is_an_exit(void **state)
{
    struct fx *f = *state;
    /* mov $39,%eax (getpid); syscall; hlt */
    static const uint8_t code[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xf4};
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    r.rax = 0xffffffff00000000ull;
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_SYSCALL);
    assert_int_equal(ex.sysno, 39);
    assert_int_equal(r.rax, 39);                    /* intact */
    assert_int_equal(r.rip, CODE_VA + 7);
    assert_int_equal(r.rcx, CODE_VA + 7);           /* what the CPU does */
    r.rax = 4242;                                    /* the "hypercall" result */
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
    assert_int_equal(r.rip, CODE_VA + 7);
    assert_int_equal(r.rax, 4242);                  /* not the child's pid */
}

static void r3_syscall_exit_is_not_performed(void **state)
{
    struct fx *f = *state;
    /* mov $231,%eax (exit_group); mov $42,%edi; syscall; hlt */
    static const uint8_t code[] = {0xb8, 231, 0, 0, 0, 0xbf, 42, 0, 0, 0, 0x0f, 0x05, 0xf4};
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_SYSCALL);
    assert_int_equal(ex.sysno, 231);
    assert_true(alive(r3_child_pid(f->c)));
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
}

static void r3_int80_is_reported_not_executed(void **state)
{
    struct fx *f = *state;
    /* mov $1,%eax (i386 exit); mov $42,%ebx; int $0x80; hlt */
    static const uint8_t code[] = {0xb8, 1, 0, 0, 0, 0xbb, 42, 0, 0, 0, 0xcd, 0x80, 0xf4};
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_INT80);
    assert_int_equal(ex.sysno, 1);
    assert_int_equal(r.rax, 1);
    assert_int_equal(r.rip, CODE_VA + 12);
    assert_true(alive(r3_child_pid(f->c)));
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT);
    assert_int_equal(r.rip, CODE_VA + 12);
}

/* ---- the stub is out of reach --------------------------------------------- */

static void r3_jump_into_hole_is_not_stub_execution(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0xff, 0xe3}; /* jmp *%rbx */
    const uint64_t targets[] = {R3_STUB_GADGET, R3_STUB_BATCH, R3_STUB_START,
                                R3_STUB_SIGHANDLER, HVLAB_HOLE_BASE, R3_STUB_BASE + 0x10};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        struct r3_regs r;
        struct r3_exit ex;
        load(f, code, sizeof(code), &r);
        r.rbx = targets[i];
        r.rax = 231;  /* exit_group(7), in case anything ran it */
        r.rdi = 7;
        r.r12 = 1;    /* one op for the batch loop */
        assert_int_equal(r3_run(f->c, &r, &ex), 0);
        assert_int_equal(ex.kind, R3_EXIT_HOLE);
        assert_true(alive(r3_child_pid(f->c)));
    }
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    r.rip = R3_STUB_GADGET;                  /* the monitor itself refuses */
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_HOLE);
    static const uint8_t hlt[] = {0xf4};
    load(f, hlt, sizeof(hlt), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.trapno, 13);          /* still a working child */
}

static void r3_child_layout_and_seccomp(void **state)
{
    struct fx *f = *state;
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)r3_child_pid(f->c));
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    int mode = -1;
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "Seccomp: %d", &mode) == 1)
            break;
    fclose(fp);
    assert_int_equal(mode, 2);                /* SECCOMP_MODE_FILTER */
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)r3_child_pid(f->c));
    fp = fopen(path, "r");
    assert_non_null(fp);
    unsigned below = 0;
    while (fgets(line, sizeof(line), fp)) {
        unsigned long long lo, hi;
        assert_int_equal(sscanf(line, "%llx-%llx", &lo, &hi), 2);
        if (lo < HVLAB_HOLE_BASE) {
            /* only guest RAM mappings below the hole */
            assert_non_null(strstr(line, "hvlab-guest-ram"));
            below++;
        } else if (!strstr(line, "[vsyscall]")) { /* the kernel's, upper half, --x */
            /* above it only the stub's own pages: no host stack, vDSO or vvar
             * that guest code could read, write or call */
            assert_true(lo >= R3_STUB_BASE && hi <= R3_STUB_KEEP_END);
            assert_null(strstr(line, "[vdso]"));
            assert_null(strstr(line, "[stack]"));
        }
    }
    fclose(fp);
    assert_true(below >= 3);
}

static void r3_seccomp_kills_other_syscalls(void **state)
{
    struct fx *f = *state;
    uint64_t args[6] = {0};
    int64_t ret = 0;
    pid_t pid = r3_child_pid(f->c);
    /* getpid from the stub's own gadget: not on the list */
    assert_int_equal(r3_inject_syscall(f->c, SYS_getpid, args, &ret), -ESRCH);
    assert_false(alive(pid));
    struct r3_regs r = {.rip = CODE_VA};
    struct r3_exit ex;
    assert_int_equal(r3_run(f->c, &r, &ex), -ESRCH);
    assert_int_equal(ex.kind, R3_EXIT_DEAD);
    assert_true(WIFSIGNALED(ex.status));
    assert_int_equal(WTERMSIG(ex.status), SIGSYS);
}

static void r3_seccomp_kills_map_into_hole(void **state)
{
    struct fx *f = *state;
    uint64_t args[6] = {R3_STUB_BASE, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, R3_RAM_FD, 0};
    int64_t ret = 0;
    assert_int_equal(r3_inject_syscall(f->c, SYS_mmap, args, &ret), -ESRCH);
    assert_false(alive(r3_child_pid(f->c)));
}

static void r3_seccomp_kills_anonymous_map(void **state)
{
    struct fx *f = *state;
    uint64_t args[6] = {0x9000000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                        (uint64_t)-1, 0};
    int64_t ret = 0;
    assert_int_equal(r3_inject_syscall(f->c, SYS_mmap, args, &ret), -ESRCH);
}

/* ---- interrupts and lifetime ---------------------------------------------- */

static void *kicker(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    r3_kick(arg);
    return NULL;
}

static void r3_kick_interrupts_guest_loop(void **state)
{
    struct fx *f = *state;
    static const uint8_t code[] = {0xeb, 0xfe}; /* jmp . */
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, sizeof(code), &r);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kicker, f->c), 0);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    pthread_join(t, NULL);
    assert_int_equal(ex.kind, R3_EXIT_INTERRUPT);
    assert_int_equal(ex.signo, R3_KICK_SIGNAL);
    assert_int_equal(r.rip, CODE_VA);
    static const uint8_t hlt[] = {0xf4};
    load(f, hlt, sizeof(hlt), &r);
    assert_int_equal(r3_run(f->c, &r, &ex), 0);
    assert_int_equal(ex.kind, R3_EXIT_FAULT); /* the kick was not delivered */
}

static void r3_destroy_leaves_no_child(void **state)
{
    (void)state;
    struct guest_mem gm;
    char err[256];
    assert_int_equal(guest_mem_create(&gm, HVLAB_RAM_MIN, err, sizeof(err)), 0);
    struct r3_child *c;
    struct r3_config cfg = {.cpu = -1};
    assert_int_equal(r3_child_create(&c, &gm, &cfg, err, sizeof(err)), 0);
    pid_t pid = r3_child_pid(c);
    assert_true(alive(pid));
    r3_child_destroy(c);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    guest_mem_destroy(&gm);
}

static void r3_child_dies_with_monitor(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t helper = fork();
    assert_true(helper >= 0);
    if (helper == 0) {              /* a "monitor" that dies holding a child */
        struct guest_mem gm;
        struct r3_child *c;
        char err[256];
        struct r3_config cfg = {.cpu = -1};
        pid_t pid = -1;
        if (guest_mem_create(&gm, HVLAB_RAM_MIN, err, sizeof(err)) == 0 &&
            r3_child_create(&c, &gm, &cfg, err, sizeof(err)) == 0)
            pid = r3_child_pid(c);
        if (write(p[1], &pid, sizeof(pid)) != sizeof(pid))
            _exit(2);
        _exit(0);
    }
    close(p[1]);
    pid_t pid = -1;
    assert_int_equal(read(p[0], &pid, sizeof(pid)), sizeof(pid));
    close(p[0]);
    int st;
    assert_int_equal(waitpid(helper, &st, 0), helper);
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &st, 0), pid); /* reparented to us */
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void r3_missing_stub_is_an_error(void **state)
{
    (void)state;
    struct guest_mem gm;
    char err[256] = "";
    assert_int_equal(guest_mem_create(&gm, HVLAB_RAM_MIN, err, sizeof(err)), 0);
    struct r3_child *c = (void *)1;
    struct r3_config cfg = {.stub_path = "/nonexistent/hvlab-r3-stub", .cpu = -1};
    assert_int_equal(r3_child_create(&c, &gm, &cfg, err, sizeof(err)), -1);
    assert_null(c);
    assert_non_null(strstr(err, "hvlab-r3-stub"));
    guest_mem_destroy(&gm);
}

/* ---- costs (printed, never asserted) -------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    return v[n / 2];
}

#define N_RT 1000
static uint64_t time_exits(struct fx *f, const uint8_t *code, size_t len)
{
    static uint64_t t[N_RT];
    struct r3_regs r;
    struct r3_exit ex;
    load(f, code, len, &r);
    for (size_t i = 0; i < N_RT; i++) {
        r.rip = CODE_VA;
        uint64_t t0 = now_ns();
        if (r3_run(f->c, &r, &ex))
            return 0;
        t[i] = now_ns() - t0;
    }
    return median(t, N_RT);
}

static void r3_measure_costs(void **state)
{
    struct fx *f = *state;
    static const uint8_t hlt[] = {0xf4};
    static const uint8_t sys[] = {0x0f, 0x05};
    static const uint8_t pf[] = {0x48, 0x8b, 0x18};
    static const uint8_t brk[] = {0xcc};
    uint64_t gp_precise = time_exits(f, hlt, sizeof(hlt));
    uint64_t sc = time_exits(f, sys, sizeof(sys));
    uint64_t bp = time_exits(f, brk, sizeof(brk));
    uint64_t pfp = time_exits(f, pf, sizeof(pf)); /* rax = 0: unmapped */
    f->c = (r3_child_destroy(f->c), NULL);
    struct r3_config cfg = {.cpu = -1, .fast_faults = true};
    char err[256];
    assert_int_equal(r3_child_create(&f->c, &f->gm, &cfg, err, sizeof(err)), 0);
    assert_int_equal(r3_map(f->c, CODE_VA, 4096, CODE_PA, PROT_READ | PROT_EXEC), 0);
    uint64_t gp_fast = time_exits(f, hlt, sizeof(hlt));

    enum { B = 64, ROUNDS = 50 };
    static uint64_t single[ROUNDS], batch[ROUNDS];
    for (unsigned k = 0; k < ROUNDS; k++) {
        uint64_t base = 0x20000000 + (uint64_t)k * 0x200000;
        uint64_t t0 = now_ns();
        for (unsigned i = 0; i < 16; i++) {
            uint64_t a[6] = {base + 2 * i * 4096, 4096, PROT_READ, MAP_SHARED | MAP_FIXED,
                             R3_RAM_FD, i * 4096};
            int64_t ret;
            assert_int_equal(r3_inject_syscall(f->c, SYS_mmap, a, &ret), 0);
        }
        single[k] = (now_ns() - t0) / 16;
        base += 0x100000;
        t0 = now_ns();
        for (unsigned i = 0; i < B; i++)
            assert_int_equal(r3_map(f->c, base + 2 * i * 4096, 4096, i * 4096, PROT_READ), 0);
        assert_int_equal(r3_flush(f->c, NULL), 0);
        batch[k] = (now_ns() - t0) / B;
    }
    print_message("r3 costs (median, monitor and child pinned to CPU %d):\n", r3_child_cpu(f->c));
    print_message("  #GP (hlt) -> resume, precise fault info: %8llu ns\n", (unsigned long long)gp_precise);
    print_message("  #GP (hlt) -> resume, fast (siginfo only): %8llu ns\n", (unsigned long long)gp_fast);
    print_message("  #PF (unmapped read) -> resume, precise:   %8llu ns\n", (unsigned long long)pfp);
    print_message("  #BP (int3) -> resume:                     %8llu ns\n", (unsigned long long)bp);
    print_message("  syscall (SYSEMU) -> resume:               %8llu ns\n", (unsigned long long)sc);
    print_message("  injected mmap, one per round trip:        %8llu ns/page\n", (unsigned long long)median(single, ROUNDS));
    print_message("  batched mmap, %d per round trip:          %8llu ns/page\n", B, (unsigned long long)median(batch, ROUNDS));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(r3_hlt_is_gp_fault),
        T(r3_unmapped_read_is_pf),
        T(r3_write_to_readonly_is_pf),
        T(r3_fetch_from_noexec_is_pf),
        cmocka_unit_test_setup_teardown(r3_fast_mode_faults, fx_setup_fast, fx_teardown),
        cmocka_unit_test_setup_teardown(r3_fast_gp_mode_keeps_precise_page_faults, fx_setup_fast_gp,
                                        fx_teardown),
        T(r3_int3_is_sigtrap),
        T(r3_ud2_is_sigill),
        T(r3_divide_error_is_sigfpe),
        T(r3_store_is_visible_in_ram),
        T(r3_fs_base_is_set),
        T(r3_map_refuses_hole_and_bad_ranges),
        T(r3_flush_reports_failed_op),
        T(r3_batch_map_64_pages),
        T(r3_syscall_is_an_exit),
        T(r3_syscall_exit_is_not_performed),
        T(r3_int80_is_reported_not_executed),
        T(r3_jump_into_hole_is_not_stub_execution),
        T(r3_child_layout_and_seccomp),
        T(r3_seccomp_kills_other_syscalls),
        T(r3_seccomp_kills_map_into_hole),
        T(r3_seccomp_kills_anonymous_map),
        T(r3_kick_interrupts_guest_loop),
        cmocka_unit_test(r3_destroy_leaves_no_child),
        cmocka_unit_test(r3_child_dies_with_monitor),
        cmocka_unit_test(r3_missing_stub_is_an_error),
        T(r3_measure_costs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
