/*
 * pvhostile: a small test guest that attacks hv-paravirt through its
 * paravirtual interface (abi/hvlab_hypercall.h).  It shares no code with
 * guestkernel/ or libhv/: only the ABI headers.
 *
 * A paravirtual guest kernel is trusted with much more than a native one:
 * it hands the hypervisor addresses, lengths, counts, page-table entries,
 * return frames and device addresses, and the hypervisor acts on them with
 * its own privilege.  Every such argument is a way out if one check is
 * missing: a length that overflows a monitor buffer, an address in the
 * hypervisor hole or beyond RAM that the monitor dereferences, a page-table
 * entry that maps a page table writable (after which the guest edits its own
 * tables unchecked and maps anything), a return frame that lands in ring 0
 * or in the hole, a device "access" that is really a write to guest RAM, or
 * a hypercall that makes the monitor write a page table for the guest (the
 * confused deputy).  This guest tries them.
 *
 * All output goes through HVC_CONSOLE_WRITE; the guest ends with
 * HVC_SHUTDOWN.  The command line names one scenario:
 *
 *   refusals          every malformed or forbidden hypercall, each printed as
 *                     `ok <name>: <call> -> <result>` or `FAIL <name>: got X
 *                     expected Y`; then it shows that the monitor still works
 *                     correctly: builds its own level-4/3/2/1 tables (one
 *                     1024-entry batch), switches to them, writes a line.
 *                     Exit 0 if every check passed, 1 otherwise.
 *   stats-into-table  HVC_GET_STATS aimed at a pinned page table (boot space,
 *                     then its own tables): refused, table unchanged.  0 / 1.
 *   write-pinned      a plain store to a pinned table (boot space): the #PF
 *                     handler of its trap table gets cr2 == the address and
 *                     error P|W, and the table is unchanged.                 21
 *   write-pinned-live the same through the guest's own read-only mapping of
 *                     its live level-1 table.                                21
 *   priv-cli, priv-sti, priv-hlt, priv-out, priv-in, priv-mov-cr3,
 *   priv-wrmsr, priv-rdmsr, priv-lgdt, priv-invlpg, priv-iretq
 *                     one privileged instruction in the guest kernel: the
 *                     monitor ends the guest (122) with one stderr line
 *                     naming it and its address (printed first by the guest)
 *   priv-cli-paged    cli after switching to its own page tables (the
 *                     monitor fetches the instruction through them)       122
 *   no-handler        ud2 with no trap table: the guest ends (120)
 *   block-no-timer    HVC_BLOCK with no timer armed: nothing can wake it (121)
 *   block-cancelled-timer  a timer armed, cancelled (deadline 0), then
 *                     HVC_BLOCK: still nothing can wake it                 121
 * When an attack was NOT stopped the guest goes on and reports a code of
 * its own (41-48; 99 if the HVC_SHUTDOWN inside a multicall ran), so that
 * the test (tests/e2e/paravirt-hostile.sh) fails.
 */
#include <stdarg.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "abi/hvlab_hypercall.h"
#include "abi/x86_arch.h"

#include "portio.h"

typedef long long s64;

/* ---- exit codes (the e2e test knows them) ----------------------------------- */
#define EXIT_OK              0   /* refusals / stats-into-table: all checks passed */
#define EXIT_CHECKS_FAILED   1   /* some check printed FAIL                        */
#define EXIT_USAGE           HVLAB_GUEST_EXIT_USAGE /* 4: unknown scenario         */
#define EXIT_PF_AS_EXPECTED  21  /* write-pinned*: #PF, cr2 and error right, table unchanged */
#define EXIT_PRIV_RETURNED   41  /* a privileged instruction came back              */
#define EXIT_PINNED_WRITTEN  42  /* a store to a pinned table completed             */
#define EXIT_PF_WRONG        43  /* the #PF came with the wrong cr2 / error, or the
                                    table changed anyway                            */
#define EXIT_BLOCK_RETURNED  44  /* HVC_BLOCK without a timer came back             */
#define EXIT_UD2_RETURNED    45  /* ud2 without a trap table came back              */
#define EXIT_UNEXPECTED_TRAP 46  /* an exception no scenario expected               */
#define EXIT_SHUTDOWN_FAILED 47  /* HVC_SHUTDOWN(valid code) came back              */
#define EXIT_SETUP_FAILED    48  /* a valid set-up call was refused                 */
#define EXIT_MULTICALL_RAN   99  /* the HVC_SHUTDOWN inside a multicall batch (must
                                    be refused, never run)                          */

/* ---- addresses ----------------------------------------------------------------- */
#define HOLE_VA       HVLAB_HOLE_BASE          /* 0x7F0000000000: the hypervisor hole */
#define STUB_VA       0x00007F8000000000ull    /* the ring-3 stub inside the hole     */
#define NONCANON_VA   0x0000800000000000ull    /* first non-canonical address          */
#define UPPER_VA      0xFFFF800000000000ull    /* the upper (host kernel's) half       */
#define NOT_RAM_GPA   0xC0000000ull            /* >= HVLAB_RAM_MAX, below the MMIO
                                                  window: never RAM, never a device   */
#define NO_DEVICE_MMIO 0x90000000ull
#define NO_DEVICE_PORT 0x1234u
#define IRET_ACCEPTED_MARK 0x1e7accef7edull    /* pvhostile-entry.S iret_landed */

/*
 * The page-table pool: 4 MiB, above the image (which the linker script keeps
 * below 2 MiB), in its own 2 MiB page so that the low 4 MiB can be mapped
 * writable with no table inside, and the pool read-only with one 2 MiB leaf.
 */
#define POOL     0x400000ull
#define PT_L4    (POOL + 0x0000)   /* the level-4 table (the base)           */
#define PT_L3    (POOL + 0x1000)   /* PML4[0] -> this                        */
#define PT_L2    (POOL + 0x2000)   /* PDPT[0] -> this                        */
#define PT_L1    (POOL + 0x3000)   /* PD[0] -> this: [0, 2 MiB) in 4 KiB     */
#define PT_L1B   (POOL + 0x4000)   /* PD[1] -> this: [2 MiB, 4 MiB) in 4 KiB */
#define PT_L3X   (POOL + 0x5000)   /* a level-3 table never linked           */
#define SIZE_2M  0x200000ull
#define UNMAPPED_RAM 0x800000ull   /* RAM that the guest's own tables leave unmapped */

#define FLAT_ENTRY(gpa) ((gpa) | PTE_P | PTE_W)

/* What trap_common (pvhostile-entry.S) passes: vector and error code, then
 * the frame the monitor pushed. */
struct trap_frame {
    u64 vector, error;
    u64 rip, cs, rflags, rsp, ss;
};

/* pvhostile-entry.S */
extern const u64 trap_stubs[32];
extern char iret_landed[];
s64 iret_probe(const struct hvlab_iret_frame *f);
#define PRIV_DECL(n) void priv_##n(u64 arg); extern char priv_##n##_insn[];
PRIV_DECL(cli) PRIV_DECL(sti) PRIV_DECL(hlt) PRIV_DECL(out) PRIV_DECL(in) PRIV_DECL(mov_cr3)
PRIV_DECL(wrmsr) PRIV_DECL(rdmsr) PRIV_DECL(lgdt) PRIV_DECL(invlpg) PRIV_DECL(iretq)

void pvhostile_main(u64 info, u64 magic) __attribute__((noreturn));
void pvhostile_trap(struct trap_frame *f) __attribute__((noreturn));

static const struct hvlab_boot_info *boot;
static struct hvlab_pv_shared *const shared =
    (struct hvlab_pv_shared *)(uintptr_t)HVLAB_PV_SHARED_PADDR;
static u64 ram_size;

/* ---- hypercalls: RAX = nr, RDI RSI RDX R10, `syscall`, RAX = result ---------- */

static inline s64 hcall4(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
    register u64 r10 __asm__("r10") = a3;
    s64 ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}
#define hcall(nr, a0, a1, a2) hcall4(nr, a0, a1, a2, 0)

static __attribute__((noreturn)) void shutdown(u64 code);

/* ---- console: a line buffer flushed with one HVC_CONSOLE_WRITE --------------- */

static char line[256];
static unsigned line_len;

static void flush(void)
{
    if (line_len)
        hcall(HVC_CONSOLE_WRITE, (u64)(uintptr_t)line, line_len, 0);
    line_len = 0;
}

static void putc(char c)
{
    line[line_len++] = c;
    if (c == '\n' || line_len == sizeof(line))
        flush();
}

#include "print.h"

/* A hypercall result: -HV_EXXX for a known error code, else the number. */
static void putres(s64 r)
{
    static const struct { int code; const char *name; } errs[] = {
        {HV_EPERM, "EPERM"}, {HV_ENOENT, "ENOENT"}, {HV_E2BIG, "E2BIG"},
        {HV_EFAULT, "EFAULT"}, {HV_EBUSY, "EBUSY"}, {HV_EXDEV, "EXDEV"},
        {HV_EINVAL, "EINVAL"}, {HV_ENOSYS, "ENOSYS"},
    };
    if (r == (s64)IRET_ACCEPTED_MARK) {
        puts("(the frame was taken)");
        return;
    }
    for (unsigned i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        if (r == -errs[i].code) {
            puts("-HV_");
            puts(errs[i].name);
            return;
        }
    if (r < 0) {
        putc('-');
        putnum((u64)-r, 10);
    } else {
        putnum((u64)r, 10);
    }
}

/* pr's %r: a hypercall result (s64). */
static bool print_extra(char conv, va_list *ap)
{
    if (conv != 'r')
        return false;
    putres(va_arg(*ap, s64));
    return true;
}

static __attribute__((noreturn)) void shutdown(u64 code)
{
    flush();
    hcall(HVC_SHUTDOWN, code, 0, 0);
    /* A valid code never comes back; ud2 with no handler ends us (120), with
     * one it reports the unexpected #UD (46). */
    pr("pvhostile: FAIL: HVC_SHUTDOWN(%u) returned\n", code);
    hcall(HVC_SHUTDOWN, EXIT_SHUTDOWN_FAILED, 0, 0);
    for (;;)
        __asm__ volatile("ud2");
}

static __attribute__((noreturn)) void finish(u64 code, const char *why)
{
    pr("pvhostile: exit %u: %s\n", code, why);
    shutdown(code);
}

/* ---- checks --------------------------------------------------------------------- */

static unsigned n_ok, n_failed;

/* One refusal (or one control call that must succeed): name, the call as
 * text, what it returned, what the ABI says it returns. */
static void check(const char *name, const char *call, s64 got, s64 want)
{
    if (got == want) {
        pr("ok %s: %s -> %r\n", name, call, got);
        n_ok++;
    } else {
        pr("FAIL %s: got %r expected %r (%s)\n", name, got, want, call);
        n_failed++;
    }
}

/* A fact the guest checks itself (a table unchanged, a count written). */
static void check_true(const char *name, const char *what, int cond)
{
    if (cond) {
        pr("ok %s: %s\n", name, what);
        n_ok++;
    } else {
        pr("FAIL %s: not so: %s\n", name, what);
        n_failed++;
    }
}

/* A set-up call that must succeed for the scenario to mean anything. */
static s64 must(const char *what, s64 r)
{
    if (r < 0) {
        pr("pvhostile: set-up call refused: %s -> %r\n", what, r);
        finish(EXIT_SETUP_FAILED, "a valid set-up hypercall was refused");
    }
    return r;
}

static int same_page(const void *a, const void *b)
{
    const u64 *x = a, *y = b;
    for (unsigned i = 0; i < 512; i++)
        if (x[i] != y[i])
            return 0;
    return 1;
}

static void copy_page(void *dst, const void *src)
{
    u64 *d = dst;
    const volatile u64 *s = src;
    for (unsigned i = 0; i < 512; i++)
        d[i] = s[i];
}

#define TABLE(gpa) ((volatile u64 *)(uintptr_t)(gpa))

/* ---- the trap table: every vector to pvhostile_trap() ------------------------- */

static struct hvlab_trap_entry traps[32];

static void set_trap_table(void)
{
    for (unsigned v = 0; v < 32; v++)
        traps[v] = (struct hvlab_trap_entry){.vector = v, .flags = 0, .handler = trap_stubs[v]};
    must("HVC_SET_TRAP_TABLE(all 32 vectors)",
         hcall(HVC_SET_TRAP_TABLE, (u64)(uintptr_t)traps, 32, 0));
}

/* write-pinned*: the address written, the value it held before. */
static volatile u64 pf_target, pf_old_value;

void pvhostile_trap(struct trap_frame *f)
{
    if (f->vector == X86_PF && pf_target) {
        u64 cr2 = shared->cr2, now = *(volatile u64 *)(uintptr_t)pf_target;
        pr("pvhostile: step 3: #PF delivered: cr2 %x error %x rip %x\n", cr2, f->error, f->rip);
        if (cr2 != pf_target)
            finish(EXIT_PF_WRONG, "the #PF's cr2 (shared page) is not the address written");
        if ((f->error & (PF_P | PF_W)) != (PF_P | PF_W))
            finish(EXIT_PF_WRONG, "the #PF's error code lacks P or W (a write, page present)");
        if (now != pf_old_value)
            finish(EXIT_PF_WRONG, "the pinned table changed although the store faulted");
        finish(EXIT_PF_AS_EXPECTED,
               "the store to a pinned page table faulted (#PF, P|W) and left it unchanged");
    }
    pr("pvhostile: unexpected exception: vector %u error %x rip %x cs %x rsp %x cr2 %x\n",
       f->vector, f->error, f->rip, f->cs, f->rsp, shared->cr2);
    finish(EXIT_UNEXPECTED_TRAP, "unexpected exception");
}

/* ---- page tables: a level-4/3/2/1 chain in the pool ------------------------------ */

static struct hvlab_mmu_update batch[HVLAB_MAX_BATCH];
static u64 done;
/* An ordinary page of the image: never pinned, mapped writable by PT_L1. */
static u64 spare[512] __attribute__((aligned(4096)));
static u64 snapshot[3][512];

/* One entry, through a 1-entry batch: the result, *done as the monitor left it. */
static s64 update1(u64 ptr, u64 val)
{
    struct hvlab_mmu_update u = {ptr, val};
    done = 0x5a5a5a5a;
    return hcall(HVC_MMU_UPDATE, (u64)(uintptr_t)&u, 1, (u64)(uintptr_t)&done);
}

#define PTE(table, index) ((table) + 8ull * (index))

static void pin_chain(void)
{
    must("pin PT_L4 at level 4", hcall(HVC_PIN_TABLE, PT_L4, 4, 0));
    must("pin PT_L3 at level 3", hcall(HVC_PIN_TABLE, PT_L3, 3, 0));
    must("pin PT_L2 at level 2", hcall(HVC_PIN_TABLE, PT_L2, 2, 0));
    must("pin PT_L1 at level 1", hcall(HVC_PIN_TABLE, PT_L1, 1, 0));
    must("pin PT_L1B at level 1", hcall(HVC_PIN_TABLE, PT_L1B, 1, 0));
}

/* Top down, each table linked into place before it gets children (a table
 * translates one place only: its first link places it). */
static void link_chain(void)
{
    must("PML4[0] -> PT_L3", update1(PTE(PT_L4, 0), PT_L3 | PTE_P | PTE_W));
    must("PDPT[0] -> PT_L2", update1(PTE(PT_L3, 0), PT_L2 | PTE_P | PTE_W));
    must("PD[0] -> PT_L1", update1(PTE(PT_L2, 0), PT_L1 | PTE_P | PTE_W));
    must("PD[1] -> PT_L1B", update1(PTE(PT_L2, 1), PT_L1B | PTE_P | PTE_W));
    /* The pool, read-only: the guest reads its tables, never writes them. */
    must("PD[2] = the pool, 2 MiB read-only", update1(PTE(PT_L2, 2), POOL | PTE_P | PTE_PS));
}

/* [0, 4 MiB) identity-mapped writable in 4 KiB pages (code, data, stack, boot
 * info, shared page; no table lies there): exactly HVLAB_MAX_BATCH entries. */
static s64 map_low_batch(void)
{
    for (u64 i = 0; i < 512; i++) {
        batch[i] = (struct hvlab_mmu_update){PTE(PT_L1, i), FLAT_ENTRY(i << 12)};
        batch[512 + i] = (struct hvlab_mmu_update){PTE(PT_L1B, i), FLAT_ENTRY(SIZE_2M + (i << 12))};
    }
    done = 0;
    return hcall(HVC_MMU_UPDATE, (u64)(uintptr_t)batch, HVLAB_MAX_BATCH, (u64)(uintptr_t)&done);
}

static void build_and_switch(void)
{
    pin_chain();
    link_chain();
    must("the 1024-entry batch", map_low_batch());
    must("HVC_NEW_BASEPTR(PT_L4)", hcall(HVC_NEW_BASEPTR, PT_L4, 0, 0));
    pr("pvhostile: on its own page tables now (base %x)\n", PT_L4);
}

/* ---- scenario: refusals ------------------------------------------------------------ */

/* HVC_IRET's frame: an aligned buffer the probe points RSP at. */
static struct hvlab_iret_frame iret_frame __attribute__((aligned(16)));

static s64 try_iret(u64 cs, u64 ss, u64 rip)
{
    iret_frame = (struct hvlab_iret_frame){.rax = 0, .rip = rip, .cs = cs, .rflags = 0x2,
                                           .rsp = 0, .ss = ss};
    return iret_probe(&iret_frame);
}

static void refuse_calls(void)
{
    /* Unknown numbers: a table indexed without a bound is a jump anywhere.
     * 1 << 32 is VERSION if the monitor truncates the number to 32 bits. */
    check("unknown-count", "nr HVC_COUNT", hcall(HVC_COUNT, 0, 0, 0), -HV_ENOSYS);
    check("unknown-999", "nr 999", hcall(999, 0, 0, 0), -HV_ENOSYS);
    check("unknown-max", "nr ~0", hcall(~0ull, 0, 0, 0), -HV_ENOSYS);
    check("unknown-truncated", "nr 1 << 32", hcall(1ull << 32, 0, 0, 0), -HV_ENOSYS);
    check("version", "HVC_VERSION (control)", hcall(HVC_VERSION, 0, 0, 0), HVLAB_HYPERCALL_VERSION);

    /* Console: a length past the monitor's buffer (an overflow), buffers it
     * must not read (the hole: its own stub; beyond RAM; across RAM's end). */
    static const char msg[] = "x";
    check("console-e2big", "HVC_CONSOLE_WRITE(buf, 4097)",
          hcall(HVC_CONSOLE_WRITE, (u64)(uintptr_t)msg, HVLAB_MAX_CONSOLE + 1, 0), -HV_E2BIG);
    check("console-huge", "HVC_CONSOLE_WRITE(buf, ~0)",
          hcall(HVC_CONSOLE_WRITE, (u64)(uintptr_t)msg, ~0ull, 0), -HV_E2BIG);
    check("console-hole", "HVC_CONSOLE_WRITE(0x7f0000000000, 8)",
          hcall(HVC_CONSOLE_WRITE, HOLE_VA, 8, 0), -HV_EFAULT);
    check("console-stub", "HVC_CONSOLE_WRITE(0x7f8000000000, 8)",
          hcall(HVC_CONSOLE_WRITE, STUB_VA, 8, 0), -HV_EFAULT);
    check("console-beyond-ram", "HVC_CONSOLE_WRITE(0xc0000000, 8)",
          hcall(HVC_CONSOLE_WRITE, NOT_RAM_GPA, 8, 0), -HV_EFAULT);
    check("console-ram-end", "HVC_CONSOLE_WRITE(ram_size - 8, 16)",
          hcall(HVC_CONSOLE_WRITE, ram_size - 8, 16, 0), -HV_EFAULT);
    check("console-noncanonical", "HVC_CONSOLE_WRITE(0x800000000000, 8)",
          hcall(HVC_CONSOLE_WRITE, NONCANON_VA, 8, 0), -HV_EFAULT);
    check("console-upper-half", "HVC_CONSOLE_WRITE(0xffff800000000000, 8)",
          hcall(HVC_CONSOLE_WRITE, UPPER_VA, 8, 0), -HV_EFAULT);

    /* Shutdown: codes that would fake a monitor status (120-125), the usage
     * error (2), or 0 once truncated to 8 bits (256) or to 32 bits (1 << 32). */
    check("shutdown-120", "HVC_SHUTDOWN(120)", hcall(HVC_SHUTDOWN, 120, 0, 0), -HV_EINVAL);
    check("shutdown-125", "HVC_SHUTDOWN(125)", hcall(HVC_SHUTDOWN, 125, 0, 0), -HV_EINVAL);
    check("shutdown-2", "HVC_SHUTDOWN(2)", hcall(HVC_SHUTDOWN, 2, 0, 0), -HV_EINVAL);
    check("shutdown-256", "HVC_SHUTDOWN(256)", hcall(HVC_SHUTDOWN, 256, 0, 0), -HV_EINVAL);
    check("shutdown-2^32", "HVC_SHUTDOWN(1 << 32)", hcall(HVC_SHUTDOWN, 1ull << 32, 0, 0),
          -HV_EINVAL);
    check("shutdown-max", "HVC_SHUTDOWN(~0)", hcall(HVC_SHUTDOWN, ~0ull, 0, 0), -HV_EINVAL);

    /* Callbacks: an event or syscall entry in the hole (the stub) or the
     * upper half would make the monitor start guest code there. */
    check("callbacks-stub", "HVC_SET_CALLBACKS(0x7f8000000000, 0)",
          hcall(HVC_SET_CALLBACKS, STUB_VA, 0, 0), -HV_EINVAL);
    check("callbacks-syscall-hole", "HVC_SET_CALLBACKS(0, 0x7f0000000000)",
          hcall(HVC_SET_CALLBACKS, 0, HOLE_VA, 0), -HV_EINVAL);
    check("callbacks-noncanonical", "HVC_SET_CALLBACKS(0x800000000000, 0)",
          hcall(HVC_SET_CALLBACKS, NONCANON_VA, 0, 0), -HV_EINVAL);
    check("callbacks-upper-half", "HVC_SET_CALLBACKS(0, ~0)",
          hcall(HVC_SET_CALLBACKS, 0, ~0ull, 0), -HV_EINVAL);
    check("callbacks-none", "HVC_SET_CALLBACKS(0, 0) (control)",
          hcall(HVC_SET_CALLBACKS, 0, 0, 0), 0);

    /* Trap table: a count past the monitor's array (~0 also overflows
     * count * 16), arrays it must not read, handlers in the hole. */
    static struct hvlab_trap_entry t;
    u64 tp = (u64)(uintptr_t)&t;
    check("traps-e2big", "HVC_SET_TRAP_TABLE(ok, 33)", hcall(HVC_SET_TRAP_TABLE, tp, 33, 0),
          -HV_E2BIG);
    check("traps-huge", "HVC_SET_TRAP_TABLE(ok, ~0)", hcall(HVC_SET_TRAP_TABLE, tp, ~0ull, 0),
          -HV_E2BIG);
    check("traps-array-hole", "HVC_SET_TRAP_TABLE(0x7f0000000000, 1)",
          hcall(HVC_SET_TRAP_TABLE, HOLE_VA, 1, 0), -HV_EFAULT);
    check("traps-array-beyond-ram", "HVC_SET_TRAP_TABLE(0xc0000000, 1)",
          hcall(HVC_SET_TRAP_TABLE, NOT_RAM_GPA, 1, 0), -HV_EFAULT);
    t = (struct hvlab_trap_entry){.vector = 32, .handler = trap_stubs[0]};
    check("traps-vector-32", "HVC_SET_TRAP_TABLE({vector 32})",
          hcall(HVC_SET_TRAP_TABLE, tp, 1, 0), -HV_EINVAL);
    t = (struct hvlab_trap_entry){.vector = 0xffffffffu, .handler = trap_stubs[0]};
    check("traps-vector-max", "HVC_SET_TRAP_TABLE({vector 0xffffffff})",
          hcall(HVC_SET_TRAP_TABLE, tp, 1, 0), -HV_EINVAL);
    t = (struct hvlab_trap_entry){.vector = X86_PF, .handler = HOLE_VA};
    check("traps-handler-hole", "HVC_SET_TRAP_TABLE({14, handler 0x7f0000000000})",
          hcall(HVC_SET_TRAP_TABLE, tp, 1, 0), -HV_EINVAL);
    t = (struct hvlab_trap_entry){.vector = X86_PF, .handler = UPPER_VA};
    check("traps-handler-upper", "HVC_SET_TRAP_TABLE({14, handler 0xffff800000000000})",
          hcall(HVC_SET_TRAP_TABLE, tp, 1, 0), -HV_EINVAL);
    t = (struct hvlab_trap_entry){.vector = X86_PF, .flags = 2, .handler = trap_stubs[14]};
    check("traps-flags", "HVC_SET_TRAP_TABLE({14, flags 2})",
          hcall(HVC_SET_TRAP_TABLE, tp, 1, 0), -HV_EINVAL);
    t = (struct hvlab_trap_entry){.vector = X86_PF, .flags = 0x80000001u,
                                  .handler = trap_stubs[14]};
    check("traps-flags-high", "HVC_SET_TRAP_TABLE({14, flags 0x80000001})",
          hcall(HVC_SET_TRAP_TABLE, tp, 1, 0), -HV_EINVAL);

    /* TLB flush and kernel stack. */
    check("tlb-flags-2", "HVC_TLB_FLUSH(0, 2)", hcall(HVC_TLB_FLUSH, 0, 2, 0), -HV_EINVAL);
    check("tlb-flags-max", "HVC_TLB_FLUSH(0, ~0)", hcall(HVC_TLB_FLUSH, 0, ~0ull, 0), -HV_EINVAL);
    check("tlb-one", "HVC_TLB_FLUSH(0x100000, HVLAB_FLUSH_ONE) (control)",
          hcall(HVC_TLB_FLUSH, HVLAB_KERNEL_PADDR, HVLAB_FLUSH_ONE, 0), 0);
    check("kstack-hole", "HVC_SET_KERNEL_STACK(0x7f0000000000)",
          hcall(HVC_SET_KERNEL_STACK, HOLE_VA, 0, 0), -HV_EINVAL);
    check("kstack-upper", "HVC_SET_KERNEL_STACK(~0)", hcall(HVC_SET_KERNEL_STACK, ~0ull, 0, 0),
          -HV_EINVAL);

    /* Devices: malformed accesses, addresses with no device; and an MMIO
     * "write" to guest RAM, which would bypass the page tables' protection
     * if the monitor treated RAM as a device. */
    check("dev-space", "HVC_DEVICE_READ(space 2, 0x3f8, 1)",
          hcall(HVC_DEVICE_READ, 2, HVLAB_PORT_UART, 1), -HV_EINVAL);
    check("dev-space-max", "HVC_DEVICE_WRITE(space ~0, 0x3f8, 1, 0)",
          hcall4(HVC_DEVICE_WRITE, ~0ull, HVLAB_PORT_UART, 1, 0), -HV_EINVAL);
    check("dev-size-0", "HVC_DEVICE_READ(PIO, 0x708, 0)",
          hcall(HVC_DEVICE_READ, HVLAB_SPACE_PIO, HVLAB_PORT_NULL, 0), -HV_EINVAL);
    check("dev-size-3", "HVC_DEVICE_READ(PIO, 0x708, 3)",
          hcall(HVC_DEVICE_READ, HVLAB_SPACE_PIO, HVLAB_PORT_NULL, 3), -HV_EINVAL);
    check("dev-size-8", "HVC_DEVICE_WRITE(MMIO, 0xd0000000, 8, 0)",
          hcall4(HVC_DEVICE_WRITE, HVLAB_SPACE_MMIO, HVLAB_MMIO_NULL_PADDR, 8, 0), -HV_EINVAL);
    check("dev-port-big", "HVC_DEVICE_READ(PIO, 0x10000, 1)",
          hcall(HVC_DEVICE_READ, HVLAB_SPACE_PIO, 0x10000, 1), -HV_EINVAL);
    check("dev-port-huge", "HVC_DEVICE_WRITE(PIO, 0x1000003f8, 1, 0)",
          hcall4(HVC_DEVICE_WRITE, HVLAB_SPACE_PIO, 0x1000003f8ull, 1, 0), -HV_EINVAL);
    check("dev-no-port", "HVC_DEVICE_READ(PIO, 0x1234, 1)",
          hcall(HVC_DEVICE_READ, HVLAB_SPACE_PIO, NO_DEVICE_PORT, 1), -HV_ENOENT);
    check("dev-no-port-write", "HVC_DEVICE_WRITE(PIO, 0x1234, 4, 0)",
          hcall4(HVC_DEVICE_WRITE, HVLAB_SPACE_PIO, NO_DEVICE_PORT, 4, 0), -HV_ENOENT);
    check("dev-no-mmio", "HVC_DEVICE_READ(MMIO, 0x90000000, 4)",
          hcall(HVC_DEVICE_READ, HVLAB_SPACE_MMIO, NO_DEVICE_MMIO, 4), -HV_ENOENT);
    check("dev-mmio-ram", "HVC_DEVICE_READ(MMIO, 0x100000 (guest RAM), 4)",
          hcall(HVC_DEVICE_READ, HVLAB_SPACE_MMIO, HVLAB_KERNEL_PADDR, 4), -HV_ENOENT);
    check("dev-null-port", "HVC_DEVICE_READ(PIO, 0x708 null device, 4) (control)",
          hcall(HVC_DEVICE_READ, HVLAB_SPACE_PIO, HVLAB_PORT_NULL, 4), 0);
    check("dev-null-mmio", "HVC_DEVICE_READ(MMIO, 0xd0000000 null page, 4) (control)",
          hcall(HVC_DEVICE_READ, HVLAB_SPACE_MMIO, HVLAB_MMIO_NULL_PADDR, 4), 0);

    /* Virtio notify: a slot index past the array, and an empty slot. */
    check("notify-slot-8", "HVC_QUEUE_NOTIFY(8, 0)",
          hcall(HVC_QUEUE_NOTIFY, HVLAB_VIRTIO_MMIO_SLOTS, 0, 0), -HV_EINVAL);
    check("notify-slot-max", "HVC_QUEUE_NOTIFY(~0, 0)", hcall(HVC_QUEUE_NOTIFY, ~0ull, 0, 0),
          -HV_EINVAL);
    check("notify-empty", "HVC_QUEUE_NOTIFY(0, 0)", hcall(HVC_QUEUE_NOTIFY, 0, 0, 0), -HV_ENOENT);

    /* Statistics into memory the guest cannot write. */
    static struct hvlab_pv_stats st;
    check("stats-beyond-ram", "HVC_GET_STATS(0xc0000000)", hcall(HVC_GET_STATS, NOT_RAM_GPA, 0, 0),
          -HV_EFAULT);
    check("stats-hole", "HVC_GET_STATS(0x7f8000000000)", hcall(HVC_GET_STATS, STUB_VA, 0, 0),
          -HV_EFAULT);
    check("stats-ram-end", "HVC_GET_STATS(ram_size - 8)", hcall(HVC_GET_STATS, ram_size - 8, 0, 0),
          -HV_EFAULT);
    check("stats", "HVC_GET_STATS(own buffer) (control)",
          hcall(HVC_GET_STATS, (u64)(uintptr_t)&st, 0, 0), 0);
    check_true("stats-counted", "HVC_GET_STATS counted itself (hypercalls[GET_STATS] >= 1)",
               st.hypercalls[HVC_GET_STATS] >= 1 && st.exits >= st.hypercalls[HVC_GET_STATS]);
}

static void refuse_multicall(void)
{
    static struct hvlab_multicall mc[8];
    u64 mp = (u64)(uintptr_t)mc;
    check("multicall-e2big", "HVC_MULTICALL(ok, 65)", hcall(HVC_MULTICALL, mp, 65, 0), -HV_E2BIG);
    check("multicall-huge", "HVC_MULTICALL(ok, ~0)", hcall(HVC_MULTICALL, mp, ~0ull, 0), -HV_E2BIG);
    check("multicall-hole", "HVC_MULTICALL(0x7f0000000000, 1)",
          hcall(HVC_MULTICALL, HOLE_VA, 1, 0), -HV_EFAULT);
    check("multicall-beyond-ram", "HVC_MULTICALL(0xc0000000, 1)",
          hcall(HVC_MULTICALL, NOT_RAM_GPA, 1, 0), -HV_EFAULT);

    /* Calls that change control flow must not run inside a batch: IRET would
     * return from the middle of the monitor's loop, BLOCK sleep in it,
     * SHUTDOWN end the guest (with 99 here, which the test would see),
     * MULTICALL recurse. */
    static const struct { u64 nr, a0; s64 want; const char *name; } calls[] = {
        {HVC_IRET, 0, -HV_EINVAL, "multicall-iret"},
        {HVC_BLOCK, 0, -HV_EINVAL, "multicall-block"},
        {HVC_SHUTDOWN, EXIT_MULTICALL_RAN, -HV_EINVAL, "multicall-shutdown"},
        {HVC_MULTICALL, 0, -HV_EINVAL, "multicall-nested"},
        {999, 0, -HV_ENOSYS, "multicall-unknown"},
        {HVC_VERSION, 0, HVLAB_HYPERCALL_VERSION, "multicall-version-1"},
        {HVC_VERSION, 0, HVLAB_HYPERCALL_VERSION, "multicall-version-2"},
    };
    const unsigned n = sizeof(calls) / sizeof(calls[0]);
    for (unsigned i = 0; i < n; i++)
        mc[i] = (struct hvlab_multicall){.nr = calls[i].nr, .args = {calls[i].a0},
                                         .result = 0x5a5a};
    check("multicall-batch", "HVC_MULTICALL(7 calls)", hcall(HVC_MULTICALL, mp, n, 0), 0);
    for (unsigned i = 0; i < n; i++) {
        char what[40] = "result of call #0 in the batch";
        what[16] = (char)('0' + i);
        check(calls[i].name, what, mc[i].result, calls[i].want);
    }
}

static void refuse_iret(void)
{
    /* A return frame chooses the privilege and the place the guest resumes:
     * only the two virtual (CS, SS) pairs, never the hole or the upper half.
     * The bad-selector frames point at iret_landed: were one taken, the
     * probe returns IRET_ACCEPTED_MARK. */
    u64 land = (u64)(uintptr_t)iret_landed;
    check("iret-kcs-uss", "HVC_IRET(cs 0x08, ss 0x1b)",
          try_iret(HVLAB_PV_KERNEL_CS, HVLAB_PV_USER_SS, land), -HV_EINVAL);
    check("iret-ucs-kss", "HVC_IRET(cs 0x23, ss 0x10)",
          try_iret(HVLAB_PV_USER_CS, HVLAB_PV_KERNEL_SS, land), -HV_EINVAL);
    check("iret-host-user", "HVC_IRET(cs 0x33, ss 0x2b) (Linux's user selectors)",
          try_iret(0x33, 0x2b, land), -HV_EINVAL);
    check("iret-null", "HVC_IRET(cs 0, ss 0)", try_iret(0, 0, land), -HV_EINVAL);
    check("iret-rpl0-user", "HVC_IRET(cs 0x20, ss 0x18) (user segments, RPL 0)",
          try_iret(0x20, 0x18, land), -HV_EINVAL);
    check("iret-rip-hole", "HVC_IRET(kernel, rip 0x7f0000000000)",
          try_iret(HVLAB_PV_KERNEL_CS, HVLAB_PV_KERNEL_SS, HOLE_VA), -HV_EINVAL);
    check("iret-rip-stub", "HVC_IRET(user, rip 0x7f8000000000)",
          try_iret(HVLAB_PV_USER_CS, HVLAB_PV_USER_SS, STUB_VA), -HV_EINVAL);
    check("iret-rip-noncanonical", "HVC_IRET(kernel, rip 0x800000000000)",
          try_iret(HVLAB_PV_KERNEL_CS, HVLAB_PV_KERNEL_SS, NONCANON_VA), -HV_EINVAL);
    check("iret-rip-upper", "HVC_IRET(kernel, rip 0xffff800000000000)",
          try_iret(HVLAB_PV_KERNEL_CS, HVLAB_PV_KERNEL_SS, UPPER_VA), -HV_EINVAL);
}

static void refuse_pin_boot_space(void)
{
    /* Pin: no page table outside RAM or off a page boundary (the monitor
     * would index its frame array with it), no level it cannot walk, never
     * the shared page (the guest writes it directly, so it would be a table
     * the guest can write). */
    check("pin-misaligned", "HVC_PIN_TABLE(PT_L4 + 8, 4)", hcall(HVC_PIN_TABLE, PT_L4 + 8, 4, 0),
          -HV_EINVAL);
    check("pin-ram-end", "HVC_PIN_TABLE(ram_size, 1)", hcall(HVC_PIN_TABLE, ram_size, 1, 0),
          -HV_EINVAL);
    check("pin-beyond-ram", "HVC_PIN_TABLE(0xc0000000, 1)", hcall(HVC_PIN_TABLE, NOT_RAM_GPA, 1, 0),
          -HV_EINVAL);
    check("pin-level-0", "HVC_PIN_TABLE(PT_L4, 0)", hcall(HVC_PIN_TABLE, PT_L4, 0, 0), -HV_EINVAL);
    check("pin-level-5", "HVC_PIN_TABLE(PT_L4, 5)", hcall(HVC_PIN_TABLE, PT_L4, 5, 0), -HV_EINVAL);
    check("pin-level-max", "HVC_PIN_TABLE(PT_L4, ~0)", hcall(HVC_PIN_TABLE, PT_L4, ~0ull, 0),
          -HV_EINVAL);
    check("pin-shared-page", "HVC_PIN_TABLE(0xa000 shared page, 1)",
          hcall(HVC_PIN_TABLE, HVLAB_PV_SHARED_PADDR, 1, 0), -HV_EXDEV);
    check("unpin-not-pinned", "HVC_UNPIN_TABLE(spare page)",
          hcall(HVC_UNPIN_TABLE, (u64)(uintptr_t)spare, 0, 0), -HV_ENOENT);
    check("baseptr-not-pinned", "HVC_NEW_BASEPTR(spare page)",
          hcall(HVC_NEW_BASEPTR, (u64)(uintptr_t)spare, 0, 0), -HV_ENOENT);
}

/* The confused deputy: calls that make the monitor WRITE guest memory,
 * aimed at pinned tables, which the guest itself cannot write.  Were one
 * written, the guest would have put an entry there that no check saw. */
#define BELOW_POOL (POOL - 16)   /* the last 16 bytes of an ordinary page */

static void deputy_checks(const char *when)
{
    static u8 below[16];
    volatile u8 *b = (volatile u8 *)(uintptr_t)BELOW_POOL;
    pr("pvhostile: confused-deputy checks (%s)\n", when);
    copy_page(snapshot[0], (const void *)(uintptr_t)PT_L1);
    copy_page(snapshot[1], (const void *)(uintptr_t)PT_L2);
    copy_page(snapshot[2], (const void *)(uintptr_t)PT_L4);

    check("stats-into-table", "HVC_GET_STATS(PT_L1, a pinned table)",
          hcall(HVC_GET_STATS, PT_L1, 0, 0), -HV_EFAULT);
    check_true("stats-into-table-unchanged", "PT_L1 unchanged after the refused HVC_GET_STATS",
               same_page(snapshot[0], (const void *)(uintptr_t)PT_L1));

    /* A buffer that starts in an ordinary page and ends in the level-4
     * table: the monitor must check every page before it writes any. */
    for (unsigned i = 0; i < 16; i++)
        below[i] = b[i] = (u8)(0xa0 + i);
    check("stats-into-table-straddle", "HVC_GET_STATS(PT_L4 - 16): an ordinary page, then a table",
          hcall(HVC_GET_STATS, BELOW_POOL, 0, 0), -HV_EFAULT);
    check_true("stats-into-table-straddle-unchanged", "PT_L4 unchanged after it",
               same_page(snapshot[2], (const void *)(uintptr_t)PT_L4));
    int part = 0;
    for (unsigned i = 0; i < 16; i++)
        part |= b[i] != below[i];
    pr("note stats-into-table-straddle: the 16 bytes below the table were %s (the ABI does not "
       "say whether a refused call may write part of its buffer)\n",
       part ? "written" : "left unchanged");

    /* mmu_update's done count written into a table. */
    struct hvlab_mmu_update u = {PTE(PT_L1, 1), *TABLE(PTE(PT_L1, 1))};
    check("mmu-done-in-table", "HVC_MMU_UPDATE(ok, 1, done = PT_L1)",
          hcall(HVC_MMU_UPDATE, (u64)(uintptr_t)&u, 1, PT_L1), -HV_EFAULT);
    check_true("mmu-done-in-table-unchanged", "PT_L1 unchanged after it",
               same_page(snapshot[0], (const void *)(uintptr_t)PT_L1));

    /* A multicall array inside a table: readable, but the results are
     * written back.  PT_L2's entries 8..15 are empty, which reads as one
     * struct hvlab_multicall {nr 0 = HVC_VERSION, args 0, result 0}. */
    check("multicall-in-table", "HVC_MULTICALL(&PT_L2[8], 1): results written into a table",
          hcall(HVC_MULTICALL, PTE(PT_L2, 8), 1, 0), -HV_EFAULT);
    check_true("multicall-in-table-unchanged", "PT_L2 unchanged after it",
               same_page(snapshot[1], (const void *)(uintptr_t)PT_L2));

    /* A device "write" at a table's guest-physical address. */
    check("dev-write-table", "HVC_DEVICE_WRITE(MMIO, PT_L1, 4, 0x1007)",
          hcall4(HVC_DEVICE_WRITE, HVLAB_SPACE_MMIO, PT_L1, 4, 0x1007), -HV_ENOENT);
    check_true("dev-write-table-unchanged", "PT_L1 unchanged after it",
               same_page(snapshot[0], (const void *)(uintptr_t)PT_L1));
}

static void refuse_mmu_batches(void)
{
    struct hvlab_mmu_update u = {PTE(PT_L1, 1), *TABLE(PTE(PT_L1, 1))};
    u64 up = (u64)(uintptr_t)&u, dp = (u64)(uintptr_t)&done;
    check("mmu-e2big", "HVC_MMU_UPDATE(ok, 1025, &done)", hcall(HVC_MMU_UPDATE, up, 1025, dp),
          -HV_E2BIG);
    check("mmu-huge", "HVC_MMU_UPDATE(ok, ~0, &done)", hcall(HVC_MMU_UPDATE, up, ~0ull, dp),
          -HV_E2BIG);
    check("mmu-array-hole", "HVC_MMU_UPDATE(0x7f0000000000, 1, &done)",
          hcall(HVC_MMU_UPDATE, HOLE_VA, 1, dp), -HV_EFAULT);
    check("mmu-array-beyond-ram", "HVC_MMU_UPDATE(0xc0000000, 1, &done)",
          hcall(HVC_MMU_UPDATE, NOT_RAM_GPA, 1, dp), -HV_EFAULT);
    check("mmu-done-beyond-ram", "HVC_MMU_UPDATE(ok, 1, done = 0xc0000000)",
          hcall(HVC_MMU_UPDATE, up, 1, NOT_RAM_GPA), -HV_EFAULT);
    check("mmu-done-hole", "HVC_MMU_UPDATE(ok, 1, done = 0x7f8000000000)",
          hcall(HVC_MMU_UPDATE, up, 1, STUB_VA), -HV_EFAULT);
}

/* One refused entry in a 1-entry batch: the error, and *done == 0. */
static void refuse_entry(const char *name, const char *what, u64 ptr, u64 val, s64 want)
{
    u64 before = (ptr & 7) || ptr >= ram_size ? 0 : *TABLE(ptr);
    check(name, what, update1(ptr, val), want);
    if (done != 0) {
        pr("FAIL %s: *done = %u after a refused first entry, expected 0\n", name, done);
        n_failed++;
    }
    if (!(ptr & 7) && ptr < ram_size && *TABLE(ptr) != before) {
        pr("FAIL %s: the entry changed although it was refused\n", name);
        n_failed++;
    }
}

static void refuse_entries(void)
{
    const u64 sp = (u64)(uintptr_t)spare;
    /* Malformed or misplaced pointers. */
    refuse_entry("entry-misaligned", "ptr PT_L1 + 4", PT_L1 + 4, 0, -HV_EINVAL);
    refuse_entry("entry-not-a-table", "ptr = the spare page (not pinned)", sp, 0, -HV_ENOENT);
    refuse_entry("entry-beyond-ram", "ptr 0xc0000000", NOT_RAM_GPA, 0, -HV_ENOENT);
    refuse_entry("entry-ram-end", "ptr ram_size", ram_size, 0, -HV_ENOENT);
    /* Leaves onto memory that is not RAM: the host page behind it would be
     * the monitor's, or nothing. */
    refuse_entry("leaf-ram-end", "PT_L1[400] = ram_size | P", PTE(PT_L1, 400), ram_size | PTE_P,
                 -HV_EXDEV);
    refuse_entry("leaf-beyond-ram", "PT_L1[400] = 0xc0000000 | P | W", PTE(PT_L1, 400),
                 NOT_RAM_GPA | PTE_P | PTE_W, -HV_EXDEV);
    refuse_entry("leaf-2m-ram-end", "PD[5] = ram_size | P | PS", PTE(PT_L2, 5),
                 ram_size | PTE_P | PTE_PS, -HV_EXDEV);
    /* Malformed entries: reserved bits, 1 GiB pages, the PAT bit, a
     * misaligned 2 MiB page (the monitor would map the wrong 2 MiB). */
    refuse_entry("entry-bit-52", "PT_L1[400] = 0x190000 | P | bit 52", PTE(PT_L1, 400),
                 FLAT_ENTRY(400ull << 12) | (1ull << 52), -HV_EINVAL);
    refuse_entry("entry-bit-62", "PT_L1[400] = 0x190000 | P | bit 62", PTE(PT_L1, 400),
                 FLAT_ENTRY(400ull << 12) | (1ull << 62), -HV_EINVAL);
    refuse_entry("entry-1g-page", "PDPT[1] = 0 | P | W | PS (1 GiB)", PTE(PT_L3, 1),
                 PTE_P | PTE_W | PTE_PS, -HV_EINVAL);
    refuse_entry("entry-512g-page", "PML4[1] = 0 | P | PS", PTE(PT_L4, 1), PTE_P | PTE_PS,
                 -HV_EINVAL);
    refuse_entry("entry-pat", "PT_L1[400] = 0x190000 | P | PAT", PTE(PT_L1, 400),
                 FLAT_ENTRY(400ull << 12) | PTE_PS, -HV_EINVAL);
    refuse_entry("entry-2m-misaligned", "PD[3] = 0x601000 | P | PS", PTE(PT_L2, 3),
                 0x601000 | PTE_P | PTE_PS, -HV_EINVAL);
    /* Writable mappings of page tables: with one, the guest writes its own
     * tables unchecked and maps anything (the hole, the monitor). */
    refuse_entry("leaf-onto-l4", "PT_L1[511] = PT_L4 | P | W", PTE(PT_L1, 511), FLAT_ENTRY(PT_L4),
                 -HV_EXDEV);
    refuse_entry("leaf-onto-self", "PT_L1[511] = PT_L1 | P | W (self-map)", PTE(PT_L1, 511),
                 FLAT_ENTRY(PT_L1), -HV_EXDEV);
    refuse_entry("leaf-2m-over-tables", "PD[2] = 0x400000 | P | W | PS", PTE(PT_L2, 2),
                 FLAT_ENTRY(POOL) | PTE_PS, -HV_EXDEV);
    /* Non-leaf entries onto pages that are not tables of the level below. */
    refuse_entry("link-unpinned", "PD[4] -> spare page (not pinned)", PTE(PT_L2, 4),
                 FLAT_ENTRY(sp), -HV_EXDEV);
    refuse_entry("link-wrong-level", "PML4[1] -> PT_L2 (level 2)", PTE(PT_L4, 1),
                 FLAT_ENTRY(PT_L2), -HV_EXDEV);
    refuse_entry("link-self", "PDPT[1] -> PT_L3 itself (recursive)", PTE(PT_L3, 1),
                 FLAT_ENTRY(PT_L3), -HV_EXDEV);
    refuse_entry("link-l4-self", "PML4[1] -> PT_L4 itself (recursive)", PTE(PT_L4, 1),
                 FLAT_ENTRY(PT_L4), -HV_EXDEV);
    refuse_entry("link-twice", "PD[4] -> PT_L1, already linked at PD[0]", PTE(PT_L2, 4),
                 FLAT_ENTRY(PT_L1), -HV_EXDEV);
    /* The hypervisor hole and the upper half stay empty. */
    refuse_entry("l4-254-hole", "PML4[254] -> PT_L3X (the hole)", PTE(PT_L4, 254),
                 FLAT_ENTRY(PT_L3X), -HV_EXDEV);
    refuse_entry("l4-255-stub", "PML4[255] -> PT_L3X (the stub's slot)", PTE(PT_L4, 255),
                 FLAT_ENTRY(PT_L3X), -HV_EXDEV);
    refuse_entry("l4-256-upper", "PML4[256] -> PT_L3X (upper half)", PTE(PT_L4, 256),
                 FLAT_ENTRY(PT_L3X), -HV_EXDEV);
    refuse_entry("l4-511-upper", "PML4[511] -> PT_L3X", PTE(PT_L4, 511), FLAT_ENTRY(PT_L3X),
                 -HV_EXDEV);
}

/* A batch stops at its first refused entry; the ones before it stay. */
static void partial_batch(void)
{
    struct hvlab_mmu_update b[4] = {
        {PTE(PT_L1, 1), FLAT_ENTRY(1ull << 12)},
        {PTE(PT_L1, 2), FLAT_ENTRY(2ull << 12)},
        {PTE(PT_L1, 3), FLAT_ENTRY(3ull << 12) | (1ull << 52)},   /* refused */
        {PTE(PT_L1, 4), FLAT_ENTRY(4ull << 12)},
    };
    done = 0x5a5a;
    check("batch-stops", "HVC_MMU_UPDATE(4 entries, the third malformed)",
          hcall(HVC_MMU_UPDATE, (u64)(uintptr_t)b, 4, (u64)(uintptr_t)&done), -HV_EINVAL);
    check("batch-stops-done", "*done after it", (s64)done, 2);
    check_true("batch-stops-applied", "PT_L1[1] and PT_L1[2] applied, PT_L1[3] and [4] not",
               *TABLE(PTE(PT_L1, 1)) == b[0].val && *TABLE(PTE(PT_L1, 2)) == b[1].val &&
                   *TABLE(PTE(PT_L1, 3)) == 0 && *TABLE(PTE(PT_L1, 4)) == 0);
}

static void scenario_refusals(void)
{
    set_trap_table();
    pr("pvhostile: part 1: malformed and forbidden hypercalls (boot address space)\n");
    refuse_calls();
    refuse_multicall();
    refuse_iret();
    refuse_pin_boot_space();

    pr("pvhostile: part 2: page tables (pool at %x)\n", POOL);
    pin_chain();
    must("pin PT_L3X at level 3", hcall(HVC_PIN_TABLE, PT_L3X, 3, 0));
    check("pin-twice", "HVC_PIN_TABLE(PT_L4, 4) again", hcall(HVC_PIN_TABLE, PT_L4, 4, 0),
          -HV_EBUSY);
    check("pin-twice-other-level", "HVC_PIN_TABLE(PT_L2, 1) (pinned at 2)",
          hcall(HVC_PIN_TABLE, PT_L2, 1, 0), -HV_EBUSY);
    check("baseptr-level-3", "HVC_NEW_BASEPTR(PT_L3, pinned at level 3)",
          hcall(HVC_NEW_BASEPTR, PT_L3, 0, 0), -HV_EINVAL);
    deputy_checks("boot space");
    link_chain();
    refuse_mmu_batches();
    refuse_entries();
    partial_batch();

    /* The 1024-entry batch (the limit itself) is accepted and applied. */
    check("batch-1024", "HVC_MMU_UPDATE(1024 entries: [0, 4 MiB) in 4 KiB pages)",
          map_low_batch(), HVLAB_MAX_BATCH);
    check("batch-1024-done", "*done after it", (s64)done, HVLAB_MAX_BATCH);
    check_true("batch-1024-applied", "PT_L1[5] and PT_L1B[511] hold what the batch wrote",
               *TABLE(PTE(PT_L1, 5)) == FLAT_ENTRY(5ull << 12) &&
                   *TABLE(PTE(PT_L1B, 511)) == FLAT_ENTRY(SIZE_2M + (511ull << 12)));
    /* A page some pinned table maps writable cannot become a table. */
    check("pin-mapped-writable", "HVC_PIN_TABLE(spare page, mapped writable by PT_L1, 1)",
          hcall(HVC_PIN_TABLE, (u64)(uintptr_t)spare, 1, 0), -HV_EXDEV);
    check("pin-mapped-writable-2", "HVC_PIN_TABLE(0x300000, mapped writable by PT_L1B, 2)",
          hcall(HVC_PIN_TABLE, 0x300000, 2, 0), -HV_EXDEV);
    check("unpin-linked", "HVC_UNPIN_TABLE(PT_L3, linked from PML4[0])",
          hcall(HVC_UNPIN_TABLE, PT_L3, 0, 0), -HV_EBUSY);
    check("unpin-linked-l1", "HVC_UNPIN_TABLE(PT_L1, linked from PD[0])",
          hcall(HVC_UNPIN_TABLE, PT_L1, 0, 0), -HV_EBUSY);

    pr("pvhostile: part 3: the monitor still works: switching to the guest's own tables\n");
    check("baseptr", "HVC_NEW_BASEPTR(PT_L4) (control)", hcall(HVC_NEW_BASEPTR, PT_L4, 0, 0), 0);
    static const char hello[] = "pvhostile: this line was written on the guest's own page tables\n";
    flush();
    check("console-own-tables", "HVC_CONSOLE_WRITE(line, its length) (control)",
          hcall(HVC_CONSOLE_WRITE, (u64)(uintptr_t)hello, sizeof(hello) - 1, 0),
          (s64)(sizeof(hello) - 1));
    check("console-unmapped", "HVC_CONSOLE_WRITE(0x800000: RAM the guest's tables leave unmapped)",
          hcall(HVC_CONSOLE_WRITE, UNMAPPED_RAM, 8, 0), -HV_EFAULT);
    check_true("tables-readable", "the guest reads PT_L1[5] through its read-only pool mapping",
               *TABLE(PTE(PT_L1, 5)) == FLAT_ENTRY(5ull << 12));
    deputy_checks("own tables");
    check("unpin-base", "HVC_UNPIN_TABLE(PT_L4, the current base)",
          hcall(HVC_UNPIN_TABLE, PT_L4, 0, 0), -HV_EBUSY);
    check("unpin-unlinked", "HVC_UNPIN_TABLE(PT_L3X, never linked) (control)",
          hcall(HVC_UNPIN_TABLE, PT_L3X, 0, 0), 0);
    check("unpin-again", "HVC_UNPIN_TABLE(PT_L3X) again", hcall(HVC_UNPIN_TABLE, PT_L3X, 0, 0),
          -HV_ENOENT);
    check("version-after", "HVC_VERSION (control)", hcall(HVC_VERSION, 0, 0, 0),
          HVLAB_HYPERCALL_VERSION);

    pr("pvhostile: refusals: %u ok, %u failed\n", (u64)n_ok, (u64)n_failed);
    if (n_failed)
        finish(EXIT_CHECKS_FAILED, "some hostile hypercall was not refused as the ABI says");
    finish(EXIT_OK, "every hostile hypercall was refused as the ABI says; the monitor still works");
}

/* ---- scenario: stats-into-table ------------------------------------------------------ */

static void scenario_stats_into_table(void)
{
    static struct hvlab_pv_stats st;
    set_trap_table();
    pin_chain();
    link_chain();
    must("the 1024-entry batch", map_low_batch());
    check("stats", "HVC_GET_STATS(own buffer) (control: the call works)",
          hcall(HVC_GET_STATS, (u64)(uintptr_t)&st, 0, 0), 0);
    pr("pvhostile: step 1: boot address space, PT_L1 at %x pinned and read-only\n", PT_L1);
    deputy_checks("boot space");
    must("HVC_NEW_BASEPTR(PT_L4)", hcall(HVC_NEW_BASEPTR, PT_L4, 0, 0));
    pr("pvhostile: step 2: on its own tables (PT_L1 mapped read-only by the guest)\n");
    deputy_checks("own tables");
    pr("pvhostile: stats-into-table: %u ok, %u failed\n", (u64)n_ok, (u64)n_failed);
    if (n_failed)
        finish(EXIT_CHECKS_FAILED, "the monitor wrote, or tried to write, a page table");
    finish(EXIT_OK, "HVC_GET_STATS into a page table was refused and the table is unchanged");
}

/* ---- scenarios: write-pinned, privileged instructions, no-handler, block ----------- */

static void write_pinned_at(u64 target)
{
    pf_target = target;
    pf_old_value = *(volatile u64 *)(uintptr_t)target;
    pr("pvhostile: step 2: storing a PTE for 0xc0000000 at %x (a pinned table, old value %x)\n",
       target, pf_old_value);
    *(volatile u64 *)(uintptr_t)target = NOT_RAM_GPA | PTE_P | PTE_W;
    pr("pvhostile: the store went through; the table now holds %x\n",
       *(volatile u64 *)(uintptr_t)target);
    finish(EXIT_PINNED_WRITTEN, "a plain store to a pinned page table completed");
}

static void scenario_write_pinned(void)
{
    set_trap_table();
    must("pin PT_L1 at level 1", hcall(HVC_PIN_TABLE, PT_L1, 1, 0));
    pr("pvhostile: step 1: trap table set, PT_L1 at %x pinned (boot address space)\n", PT_L1);
    write_pinned_at(PTE(PT_L1, 5));
}

static void scenario_write_pinned_live(void)
{
    set_trap_table();
    build_and_switch();
    pr("pvhostile: step 1: trap table set, PT_L1 at %x live, mapped read-only by PD[2]\n", PT_L1);
    write_pinned_at(PTE(PT_L1, 5));
}

static void priv_came_back(void)
{
    finish(EXIT_PRIV_RETURNED, "a privileged instruction came back: it was not stopped");
}

static struct __attribute__((packed)) { u16 limit; u64 base; } fake_gdtr = {0xffff, 0};

struct priv_case {
    const char *name;
    const char *text;            /* the instruction, as the monitor should name it */
    void (*fn)(u64);
    const char *insn_addr;
    u64 arg;
    const char *why;
};

static void run_priv(const struct priv_case *c)
{
    set_trap_table(); /* a #GP the guest could handle itself must not reach it either */
    pr("pvhostile: step 1: %s\n", c->why);
    pr("pvhostile: step 2: executing %s at %x\n", c->text, (u64)(uintptr_t)c->insn_addr);
    flush();
    c->fn(c->arg);
    priv_came_back();
}

/* What each one would do on a real CPU at CPL 0: why it must never run. */
static const struct priv_case priv_cases[] = {
    {"cli", "cli", priv_cli, priv_cli_insn, 0,
     "masking the host CPU's interrupts (a paravirtual kernel writes the shared page)"},
    {"sti", "sti", priv_sti, priv_sti_insn, 0, "unmasking the host CPU's interrupts"},
    {"hlt", "hlt", priv_hlt, priv_hlt_insn, 0, "halting the host CPU (use HVC_BLOCK)"},
    {"out", "out dx, al", priv_out, priv_out_insn, HVLAB_PORT_UART,
     "a real port write (use HVC_DEVICE_WRITE)"},
    {"in", "in al, dx", priv_in, priv_in_insn, HVLAB_PORT_UART + 5,
     "a real port read (use HVC_DEVICE_READ)"},
    {"mov-cr3", "mov cr3, rdi", priv_mov_cr3, priv_mov_cr3_insn, PT_L4,
     "loading CR3 with a table nobody checked (use HVC_NEW_BASEPTR)"},
    {"wrmsr", "wrmsr", priv_wrmsr, priv_wrmsr_insn, HVLAB_KERNEL_PADDR,
     "pointing the host's IA32_LSTAR (every host system call) at guest code"},
    {"rdmsr", "rdmsr", priv_rdmsr, priv_rdmsr_insn, 0,
     "reading the host's IA32_LSTAR (where the host kernel lies)"},
    {"lgdt", "lgdt [rdi]", priv_lgdt, priv_lgdt_insn, 0,
     "loading a GDT of its own, with ring-0 segments"},
    {"invlpg", "invlpg [rdi]", priv_invlpg, priv_invlpg_insn, HVLAB_KERNEL_PADDR,
     "dropping a host TLB entry (use HVC_TLB_FLUSH)"},
    {"iretq", "iretq", priv_iretq, priv_iretq_insn, 0,
     "iretq to a ring-0 frame (use HVC_IRET)"},
};

static void scenario_no_handler(void)
{
    pr("pvhostile: step 1: no trap table registered; ud2 raises #UD\n");
    flush();
    __asm__ volatile("ud2");
    finish(EXIT_UD2_RETURNED, "ud2 with no trap table came back");
}

static void scenario_block(int cancelled)
{
    if (cancelled) {
        must("HVC_SET_TIMER(in one hour)", hcall(HVC_SET_TIMER, 3600ull * 1000000000ull, 0, 0));
        must("HVC_SET_TIMER(0): cancel", hcall(HVC_SET_TIMER, 0, 0, 0));
        pr("pvhostile: step 1: a timer armed, then cancelled (deadline 0)\n");
    } else {
        pr("pvhostile: step 1: no timer armed\n");
    }
    pr("pvhostile: step 2: HVC_BLOCK: nothing can ever wake the guest\n");
    flush();
    s64 r = hcall(HVC_BLOCK, 0, 0, 0);
    pr("pvhostile: HVC_BLOCK returned %r\n", r);
    finish(EXIT_BLOCK_RETURNED, "HVC_BLOCK with no timer armed came back");
}

/* ---- entry ----------------------------------------------------------------------- */

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void scenario_priv_cli_paged(void)
{
    build_and_switch();
    run_priv(&priv_cases[0]);
}

static void scenario_block_plain(void) { scenario_block(0); }
static void scenario_block_cancelled(void) { scenario_block(1); }

static const struct {
    const char *name;
    void (*run)(void);
} scenarios[] = {
    {"refusals", scenario_refusals},
    {"stats-into-table", scenario_stats_into_table},
    {"write-pinned", scenario_write_pinned},
    {"write-pinned-live", scenario_write_pinned_live},
    {"priv-cli-paged", scenario_priv_cli_paged},
    {"no-handler", scenario_no_handler},
    {"block-no-timer", scenario_block_plain},
    {"block-cancelled-timer", scenario_block_cancelled},
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))
#define N_PRIV (sizeof(priv_cases) / sizeof(priv_cases[0]))

void pvhostile_main(u64 info, u64 magic)
{
    char name[40];
    unsigned n = 0;
    boot = (const struct hvlab_boot_info *)(uintptr_t)info;
    if (magic != HVLAB_BOOT_MAGIC || boot->magic != HVLAB_BOOT_MAGIC)
        shutdown(EXIT_USAGE);
    ram_size = boot->ram_size;
    pr("pvhostile: platform %u monitor %u, %u MiB RAM\n", (u64)boot->platform,
       (u64)boot->monitor, ram_size >> 20);
    if (boot->platform != HVLAB_PLATFORM_PARAVIRT || shared->event_mask != 1)
        finish(EXIT_USAGE, "not started as a paravirtual guest with events masked");
    if (ram_size < POOL + 2 * SIZE_2M)
        finish(EXIT_USAGE, "needs at least 8 MiB of RAM");
    for (const char *c = boot->cmdline; *c && *c != ' ' && n + 1 < sizeof(name); c++)
        name[n++] = *c;
    name[n] = '\0';
    for (unsigned i = 0; i < N_SCENARIOS; i++) {
        if (streq(name, scenarios[i].name)) {
            pr("pvhostile: scenario %s\n", name);
            scenarios[i].run();
        }
    }
    for (unsigned i = 0; i < N_PRIV; i++) {
        if (name[0] == 'p' && name[1] == 'r' && name[2] == 'i' && name[3] == 'v' &&
            name[4] == '-' && streq(name + 5, priv_cases[i].name)) {
            pr("pvhostile: scenario %s\n", name);
            struct priv_case c = priv_cases[i];
            if (c.fn == priv_lgdt)
                c.arg = (u64)(uintptr_t)&fake_gdtr;
            if (c.fn == priv_iretq)
                c.arg = (u64)(uintptr_t)priv_came_back;
            run_priv(&c);
        }
    }
    pr("pvhostile: unknown scenario \"%s\"; one of:", name);
    for (unsigned i = 0; i < N_SCENARIOS; i++)
        pr(" %s", scenarios[i].name);
    for (unsigned i = 0; i < N_PRIV; i++)
        pr(" priv-%s", priv_cases[i].name);
    pr("\n");
    finish(EXIT_USAGE, "usage");
}
