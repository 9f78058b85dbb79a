/*
 * hostile: a small test guest that tries to break out of hv-trap-emulate
 * (issue 4, "isolation tests").  It shares no code with guestkernel/ or
 * libhv/: only the ABI headers.
 *
 * The guest command line picks one scenario (first word; some take an
 * address or a path as the next words).  The guest prints one line per step
 * on the UART (port 0x3f8) and ends through the hvlab exit port 0x700 (under
 * stock QEMU, booted through its PVH entry, through isa-debug-exit at port
 * 0xf4).  Each scenario either ends the guest itself with the code that says
 * "the guest saw what a real CPU would show it" (21-27), or must be stopped
 * by the monitor; when a hostile action was NOT stopped the guest goes on
 * and reports a failure code (41-54), so that the test
 * (tests/e2e/trap-emulate-isolation.sh) fails:
 *
 *   host-syscall        `syscall` with Linux's registers for write(1, "ESCAPED\n", 8)
 *                       and mkdir(PATH): must reach the guest's own IA32_LSTAR   21
 *   host-syscall-nosce  the same with EFER.SCE clear: must raise #UD in the guest 22
 *   int80               `int $0x80` with Linux's i386 write/mkdir registers: must
 *                       be delivered through the guest's IDT (a DPL-0 gate)      23
 *   jump-stub [ADDR [PATH]]  calls ADDR (default the ring-3 stub, 0x7F8000000000)
 *                       with registers for mkdir(PATH): the monitor stops the
 *                       guest (122)
 *   pte-outside-ram     a PDE points at a page table beyond RAM; reading through
 *                       it: the monitor stops the guest (122)
 *   map-outside-ram     a PTE maps a guest-physical page with neither RAM nor a
 *                       device; writing to it: stopped (122)
 *   map-hole [ADDR]     a PTE maps ADDR (default 0x7F0000000000, the hypervisor
 *                       hole) to a RAM page; writing to it: stopped (122)
 *   fault-loop          the #PF handler returns without fixing anything, then an
 *                       unmapped read: faults forever (the test uses --timeout)
 *   triple-fault        no IDT, ud2: #UD -> #GP -> #DF -> shutdown (120)
 * Probes of the hole and of what ring 3 does natively (on a real CPU each
 * ends in the guest with the code shown; where hv-trap-emulate differs, the
 * e2e test prints a KNOWN GAP line; align-check is not in it):
 *   read-hole [ADDR]    reads ADDR (default the stub), never mapped by the
 *                       guest: #PF expected                                      24
 *   write-hole [ADDR]   the same with a write                                    24
 *   hole-ret [START [END]]  looks for a readable ELF image (the host's vDSO) in
 *                       [START, END) of the hole, then calls a `ret` byte in it
 *   sysenter            `sysenter` in 64-bit mode with no SYSENTER MSRs: #UD
 *                       (AMD) or #GP(0) (Intel) expected                         25
 *   trap-flag           popf sets RFLAGS.TF: exactly one #DB, and its handler
 *                       runs with TF clear                                       26
 *   align-check         popf sets RFLAGS.AC, then a misaligned load: no #AC at
 *                       CPL 0 (CR0.AM is clear)                                  27
 */
#include <stdarg.h>
#include <stdint.h>

#include "abi/hvlab_abi.h"
#include "abi/x86_arch.h"

#include "portio.h"

/* ---- exit codes (the e2e test knows them) ----------------------------------- */
#define EXIT_UNEXPECTED_TRAP 3   /* an exception no scenario expected             */
#define EXIT_USAGE           4   /* unknown scenario or bad argument              */
/* The guest saw what a real CPU would have shown it: */
#define EXIT_SYSCALL_LSTAR   21  /* host-syscall: the guest's LSTAR got both      */
#define EXIT_SYSCALL_UD      22  /* host-syscall-nosce: #UD at the syscall        */
#define EXIT_INT80_IDT       23  /* int80: both reached the guest's IDT gate      */
#define EXIT_HOLE_PF         24  /* read-/write-hole: #PF                         */
#define EXIT_SYSENTER_FAULT  25  /* sysenter: #UD or #GP(0)                       */
#define EXIT_SINGLE_STEP     26  /* trap-flag: one #DB, handler ran with TF clear */
#define EXIT_NO_ALIGN_CHECK  27  /* align-check: no #AC at CPL 0                  */
/* A hostile action was not stopped, or the guest saw something else: */
#define EXIT_SYSCALL_LOST    41  /* syscall came back without reaching LSTAR      */
#define EXIT_NOSCE_RAN       42  /* syscall with EFER.SCE = 0 did not #UD         */
#define EXIT_INT80_LOST      43  /* int $0x80 came back without the guest IDT     */
#define EXIT_HOLE_RETURNED   44  /* a call into the hole came back                */
#define EXIT_BAD_PTE_USED    45  /* an access through a table beyond RAM worked   */
#define EXIT_NO_RAM_WRITTEN  46  /* a write beyond RAM completed                  */
#define EXIT_HOLE_WRITTEN    47  /* a write through a mapping of the hole worked  */
#define EXIT_LOOP_ENDED      48  /* the endless fault loop ended                  */
#define EXIT_NO_SHUTDOWN     49  /* ud2 without an IDT came back                  */
#define EXIT_HOLE_READ       50  /* the guest read the hole without mapping it    */
#define EXIT_HOLE_NOTHING    51  /* hole-ret: no ELF image found to try           */
#define EXIT_SYSENTER_RAN    52  /* sysenter came back without a fault            */
#define EXIT_HOLE_WRITE      53  /* the guest wrote the hole without mapping it   */
#define EXIT_STEP_WRONG      54  /* trap-flag: no #DB, or #DB inside the handler  */

#define SEL_CODE64   0x08u
#define SYSCALL_MARK 0x600d5ca11ull          /* hostile-entry.S: the guest handler's answer */
#define NOT_RAM_GPA  0xC0000000ull           /* >= HVLAB_RAM_MAX, below the MMIO window:
                                                never RAM, never a device */
#define TEST_VA      0x0000008000000000ull   /* PML4[1]: free for the scenarios' tables */
#define UNMAPPED_VA  0x0000010000000000ull   /* PML4[2]: never mapped */
#define STUB_VA      0x00007F8000000000ull   /* libhv/r3_layout.h R3_STUB_BASE */
#define LINUX_WRITE_64 1
#define LINUX_MKDIR_64 83
#define LINUX_WRITE_32 4
#define LINUX_MKDIR_32 39

enum { ENTRY_HVLAB = 0, ENTRY_PVH = 1 };

/* What trap_common (hostile-entry.S) pushes, lowest address first, then the
 * CPU's frame. */
struct trap_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error;
    u64 rip, cs, rflags, rsp, ss;
};

/* hostile-entry.S */
extern const u64 trap_stubs[33];
extern char syscall_entry[], raw_syscall_insn[], raw_int80_insn[];
extern char probe_read_insn[], probe_read_fixup[], probe_write_insn[], probe_write_fixup[];
extern volatile u64 syscall_count, syscall_last_nr, syscall_last_arg0;
u64 raw_syscall(u64 nr, u64 a0, u64 a1, u64 a2);
u64 raw_int80(u32 nr, u32 a0, u32 a1, u32 a2);
void call_addr(u64 addr);
void hole_call(u64 addr, u64 nr, u64 a0, u64 a1, u64 ops, u64 n_ops);
int probe_read(u64 addr, u64 *out);
int probe_write(u64 addr, u64 value);

void hostile_main(u64 entry, u64 info, u64 magic) __attribute__((noreturn));
void hostile_trap(struct trap_frame *f);

/* The string a host write(2) would print.  Never printed by the guest. */
static const char escaped[] = "ESCAPED\n";

/* ---- port I/O, control registers, MSRs ----------------------------------------- */

static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (u64)hi << 32 | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline u64 read_cr2(void)
{
    u64 v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void invlpg(u64 va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

struct __attribute__((packed)) dtr {
    u16 limit;
    u64 base;
};

static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt %0" : : "m"(*d)); }

/* ---- console: a 16550 at 0x3f8, polled ----------------------------------------- */

#define UART     0x3f8
#define UART_LSR 5
#define LSR_THRE 0x20

static void putc(char c)
{
    while (!(inb(UART + UART_LSR) & LSR_THRE))
        ;
    outb(UART, (u8)c);
}

#include "print.h"

/* No conversions beyond print.h's. */
static bool print_extra(char conv, va_list *ap)
{
    (void)conv, (void)ap;
    return false;
}

static int entry_kind;

/* Ends the guest with code: hvlab's exit port, or QEMU's isa-debug-exit
 * (process status (code << 1) | 1) when booted through the PVH entry. */
static __attribute__((noreturn)) void finish(u32 code, const char *why)
{
    pr("hostile: exit %u: %s\n", (u64)code, why);
    if (entry_kind == ENTRY_PVH)
        outl(HVLAB_PORT_QEMU_EXIT, code);
    else
        outl(HVLAB_PORT_EXIT, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- paging: our own identity map, and tables for the scenarios ---------------- */

/* [0, 4 GiB) in 2 MiB pages, like the entry tables (the PVH entry fills
 * them with the same values before paging is on). */
u64 ident_pml4[512] __attribute__((aligned(4096)));
u64 ident_pdpt[512] __attribute__((aligned(4096)));
u64 ident_pd[4 * 512] __attribute__((aligned(4096)));

#define POOL_PAGES 8
static u64 pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pool_used;
static u8 ram_page[4096] __attribute__((aligned(4096))); /* what map-hole maps */

static void paging_init(void)
{
    ident_pml4[0] = (u64)(uintptr_t)ident_pdpt | PTE_P | PTE_W;
    for (u64 g = 0; g < 4; g++)
        ident_pdpt[g] = (u64)(uintptr_t)&ident_pd[g * 512] | PTE_P | PTE_W;
    for (u64 i = 0; i < 4 * 512; i++)
        ident_pd[i] = (i << 21) | PTE_P | PTE_W | PTE_PS;
    write_cr3((u64)(uintptr_t)ident_pml4);
}

/* The entry that maps va at level (4 = PML4E ... 1 = PTE), creating the
 * tables above it from the pool.  The tables are identity mapped. */
static u64 *pt_entry(u64 va, int level)
{
    u64 *table = ident_pml4;
    for (int l = 4;; l--) {
        u64 *e = &table[(va >> (12 + 9 * (l - 1))) & 511];
        if (l == level)
            return e;
        if (*e & PTE_PS)
            finish(EXIT_USAGE, "that address is inside a large page of the identity map");
        if (!(*e & PTE_P)) {
            if (pool_used == POOL_PAGES)
                finish(EXIT_USAGE, "out of page-table pages");
            *e = (u64)(uintptr_t)pool[pool_used++] | PTE_P | PTE_W;
        }
        table = (u64 *)(uintptr_t)(*e & PTE_ADDR);
    }
}

/* ---- IDT: vectors 0..31 and 0x80, 64-bit interrupt gates, DPL 0 ---------------- */

struct gate {
    u16 off0, sel;
    u8 ist, type;
    u16 off1;
    u32 off2, zero;
};
static struct gate idt[256] __attribute__((aligned(16)));

static void set_gate(unsigned vec, u64 handler)
{
    idt[vec] = (struct gate){
        .off0 = (u16)handler, .sel = SEL_CODE64, .ist = 0,
        .type = 0x8E, /* P, DPL 0, 64-bit interrupt gate */
        .off1 = (u16)(handler >> 16), .off2 = (u32)(handler >> 32),
    };
}

static void idt_init(void)
{
    for (unsigned v = 0; v < 32; v++)
        set_gate(v, trap_stubs[v]);
    set_gate(0x80, trap_stubs[32]);
    struct dtr d = {sizeof(idt) - 1, (u64)(uintptr_t)idt};
    lidt(&d);
    pr("hostile: IDT loaded at %x: vectors 0-31 and 0x80, DPL-0 interrupt gates\n",
       (u64)(uintptr_t)idt);
}

/* ---- scenarios ----------------------------------------------------------------- */

enum scenario_id {
    S_HOST_SYSCALL, S_NOSCE, S_INT80, S_JUMP_STUB, S_PTE_OUTSIDE, S_MAP_OUTSIDE,
    S_MAP_HOLE, S_FAULT_LOOP, S_TRIPLE, S_READ_HOLE, S_WRITE_HOLE, S_HOLE_RET, S_SYSENTER,
    S_TRAP_FLAG, S_ALIGN_CHECK,
};

static enum scenario_id scenario;
static char arg1[256], arg2[64];

/* What the trap handler saw (scenarios read it). */
static volatile u64 int80_count, int80_last_nr, int80_last_ebx;
static volatile u64 pf_count, last_cr2, last_error;

static const char *word_or(const char *w, const char *dflt) { return w[0] ? w : dflt; }

static u64 parse_u64(const char *s)
{
    u64 v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    if (!*s)
        finish(EXIT_USAGE, "bad number");
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (*s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            d = 99;
        if (d >= base)
            finish(EXIT_USAGE, "bad number");
        v = v * base + d;
    }
    return v;
}

static void set_up_syscall(u64 efer_sce)
{
    u64 efer = rdmsr(MSR_EFER);
    wrmsr(MSR_EFER, efer_sce ? efer | EFER_SCE : efer & ~EFER_SCE);
    wrmsr(MSR_STAR, (u64)SEL_CODE64 << 32);          /* SYSCALL: CS 0x08, SS 0x10 */
    wrmsr(MSR_LSTAR, (u64)(uintptr_t)syscall_entry);
    wrmsr(MSR_SFMASK, 0);
    pr("hostile: step 1: EFER.SCE %s, IA32_LSTAR = %x (the guest's own handler)\n",
       efer_sce ? "set" : "clear", (u64)(uintptr_t)syscall_entry);
}

/* One guest `syscall`: it must land in the guest's handler. */
static void syscall_to_lstar(unsigned step, u64 nr, u64 a0, u64 a1, u64 a2, const char *what)
{
    u64 before = syscall_count;
    pr("hostile: step %u: syscall with Linux's registers for %s (rax %u)\n", (u64)step, what, nr);
    u64 r = raw_syscall(nr, a0, a1, a2);
    if (syscall_count != before + 1 || syscall_last_nr != nr || syscall_last_arg0 != a0 ||
        r != SYSCALL_MARK) {
        pr("hostile: syscall returned %x; the guest handler ran %u times\n", r,
           syscall_count - before);
        finish(EXIT_SYSCALL_LOST, "syscall came back without reaching the guest's IA32_LSTAR");
    }
    pr("hostile: step %u: the guest's handler got rax %u and answered %x\n", (u64)step + 1,
       syscall_last_nr, r);
}

static void host_syscall(void)
{
    const char *path = word_or(arg1, "/tmp/hvlab-escaped-by-hostile-guest");
    set_up_syscall(1);
    syscall_to_lstar(2, LINUX_WRITE_64, 1, (u64)(uintptr_t)escaped, sizeof(escaped) - 1,
                     "write(1, buf, 8)");
    pr("hostile: (mkdir path: %s)\n", path);
    syscall_to_lstar(4, LINUX_MKDIR_64, (u64)(uintptr_t)path, 0755, 0, "mkdir(path, 0755)");
    finish(EXIT_SYSCALL_LSTAR, "both system calls reached the guest's own IA32_LSTAR handler");
}

static void host_syscall_nosce(void)
{
    idt_init();
    set_up_syscall(0);
    pr("hostile: step 2: syscall at %x with Linux's registers for write(1, buf, 8): "
       "expecting #UD\n", (u64)(uintptr_t)raw_syscall_insn);
    u64 r = raw_syscall(LINUX_WRITE_64, 1, (u64)(uintptr_t)escaped, sizeof(escaped) - 1);
    pr("hostile: syscall returned %x; the guest handler ran %u times\n", r, syscall_count);
    finish(EXIT_NOSCE_RAN, "syscall with EFER.SCE clear did not raise #UD");
}

static void int80_call(unsigned step, u32 nr, u32 a0, u32 a1, u32 a2, const char *what)
{
    u64 before = int80_count;
    pr("hostile: step %u: int $0x80 with Linux's i386 registers for %s (eax %u)\n", (u64)step,
       what, (u64)nr);
    u64 r = raw_int80(nr, a0, a1, a2);
    if (int80_count != before + 1 || int80_last_nr != nr || int80_last_ebx != a0 ||
        r != SYSCALL_MARK) {
        pr("hostile: int $0x80 returned %x; the guest's gate ran %u times\n", r,
           int80_count - before);
        finish(EXIT_INT80_LOST, "int $0x80 came back without reaching the guest's IDT");
    }
    pr("hostile: step %u: the guest's vector 0x80 handler got eax %u and answered %x\n",
       (u64)step + 1, int80_last_nr, r);
}

static void int80(void)
{
    const char *path = word_or(arg1, "/tmp/hvlab-escaped-by-hostile-guest");
    idt_init();
    int80_call(1, LINUX_WRITE_32, 1, (u32)(uintptr_t)escaped, sizeof(escaped) - 1,
               "write(1, buf, 8)");
    pr("hostile: (mkdir path: %s)\n", path);
    int80_call(3, LINUX_MKDIR_32, (u32)(uintptr_t)path, 0755, 0, "mkdir(path, 0755)");
    finish(EXIT_INT80_IDT, "both int $0x80 calls were delivered through the guest's IDT");
}

/* The stub's code runs whatever system call its registers describe: its
 * gadget (+0x00) `syscall` with RAX, RDI, RSI...; its batch loop (+0x80) the
 * ops at RBX (struct of 8 quadwords: nr, a0..a5, unused), R12 of them.  So
 * the guest loads both with mkdir(PATH) and write(1, "ESCAPED\n", 8) before
 * it jumps: if the stub's system calls ever reached the host, the directory
 * would appear. */
static u64 fake_ops[2][8];

static void jump_stub(void)
{
    u64 target = arg1[0] ? parse_u64(arg1) : STUB_VA;
    const char *path = word_or(arg2, "/tmp/hvlab-escaped-by-hostile-guest");
    idt_init();
    fake_ops[0][0] = LINUX_MKDIR_64;
    fake_ops[0][1] = (u64)(uintptr_t)path;
    fake_ops[0][2] = 0755;
    fake_ops[1][0] = LINUX_WRITE_64;
    fake_ops[1][1] = 1;
    fake_ops[1][2] = (u64)(uintptr_t)escaped;
    fake_ops[1][3] = sizeof(escaped) - 1;
    pr("hostile: step 1: registers: mkdir(\"%s\", 0755) for a syscall, and a batch of 2 ops "
       "at %x (mkdir, write) for the stub's loop\n", path, (u64)(uintptr_t)fake_ops);
    pr("hostile: step 2: calling %x in the hypervisor hole (the monitor's stub is at %x)\n",
       target, STUB_VA);
    hole_call(target, LINUX_MKDIR_64, (u64)(uintptr_t)path, 0755, (u64)(uintptr_t)fake_ops, 2);
    finish(EXIT_HOLE_RETURNED, "the call into the hypervisor hole came back");
}

static void pte_outside_ram(void)
{
    idt_init();
    u64 *pde = pt_entry(TEST_VA, 2);
    *pde = NOT_RAM_GPA | PTE_P | PTE_W;
    invlpg(TEST_VA);
    pr("hostile: step 1: the PDE for %x (at GPA %x) points at a page table at GPA %x, "
       "outside RAM\n", TEST_VA, (u64)(uintptr_t)pde, NOT_RAM_GPA);
    pr("hostile: step 2: reading %x through it\n", TEST_VA);
    u64 v = *(volatile u64 *)(uintptr_t)TEST_VA;
    pr("hostile: read %x\n", v);
    finish(EXIT_BAD_PTE_USED, "a read through a page table outside RAM completed");
}

static void map_outside_ram(void)
{
    u64 va = TEST_VA + 0x1000;
    idt_init();
    u64 *pte = pt_entry(va, 1);
    *pte = NOT_RAM_GPA | PTE_P | PTE_W;
    invlpg(va);
    pr("hostile: step 1: the PTE for %x maps guest-physical %x (neither RAM nor a device)\n",
       va, NOT_RAM_GPA);
    pr("hostile: step 2: writing 4 bytes to %x\n", va);
    *(volatile u32 *)(uintptr_t)va = 0x0badf00du;
    finish(EXIT_NO_RAM_WRITTEN, "a write to a guest-physical page beyond RAM completed");
}

static void map_hole(void)
{
    u64 va = arg1[0] ? parse_u64(arg1) : HVLAB_HOLE_BASE;
    idt_init();
    u64 *pte = pt_entry(va, 1);
    *pte = (u64)(uintptr_t)ram_page | PTE_P | PTE_W;
    invlpg(va);
    pr("hostile: step 1: the PTE for %x (in the hypervisor hole [%x, %x)) maps the RAM page "
       "at %x\n", va, HVLAB_HOLE_BASE, HVLAB_HOLE_END, (u64)(uintptr_t)ram_page);
    pr("hostile: step 2: writing 8 bytes to %x\n", va);
    *(volatile u64 *)(uintptr_t)va = 0x686f6c65686f6c65ull;
    pr("hostile: the RAM page now holds %x\n", *(volatile u64 *)(uintptr_t)ram_page);
    finish(EXIT_HOLE_WRITTEN, "a write through a guest mapping of the hypervisor hole completed");
}

static void fault_loop(void)
{
    idt_init();
    pr("hostile: step 1: the #PF handler returns without fixing anything\n");
    pr("hostile: step 2: reading unmapped %x: the same fault, forever\n", UNMAPPED_VA);
    u64 v = *(volatile u64 *)(uintptr_t)UNMAPPED_VA;
    pr("hostile: read %x after %u faults\n", v, pf_count);
    finish(EXIT_LOOP_ENDED, "the endless fault loop ended");
}

static void triple_fault(void)
{
    if (entry_kind == ENTRY_PVH) { /* QEMU leaves the reset IDTR (limit 0xffff) */
        struct dtr d = {0, 0};
        lidt(&d);
    }
    pr("hostile: step 1: no IDT (IDTR.limit 0); ud2: #UD, #GP, #DF, then shutdown\n");
    __asm__ volatile("ud2");
    finish(EXIT_NO_SHUTDOWN, "ud2 with no IDT came back");
}

/* Probes: the hole as the guest sees it without mapping any of it. */

static void read_hole(void)
{
    u64 va = arg1[0] ? parse_u64(arg1) : STUB_VA, v = 0;
    idt_init();
    pr("hostile: step 1: reading %x, which the guest's page tables do not map\n", va);
    if (probe_read(va, &v) == 0) {
        pr("hostile: read %x from %x\n", v, va);
        finish(EXIT_HOLE_READ, "the guest read the hypervisor hole without mapping it");
    }
    if (last_cr2 != va) {
        pr("hostile: #PF with cr2 %x, not %x\n", last_cr2, va);
        finish(EXIT_UNEXPECTED_TRAP, "#PF at the wrong address");
    }
    pr("hostile: step 2: #PF error %x cr2 %x, delivered through the guest's IDT\n", last_error,
       last_cr2);
    finish(EXIT_HOLE_PF, "reading an unmapped address of the hole raised #PF, as on hardware");
}

static void write_hole(void)
{
    u64 va = arg1[0] ? parse_u64(arg1) : STUB_VA;
    idt_init();
    pr("hostile: step 1: writing 8 bytes to %x, which the guest's page tables do not map\n", va);
    if (probe_write(va, 0x686f73746c6521ull) == 0)
        finish(EXIT_HOLE_WRITE, "the guest wrote to the hypervisor hole without mapping it");
    if (last_cr2 != va) {
        pr("hostile: #PF with cr2 %x, not %x\n", last_cr2, va);
        finish(EXIT_UNEXPECTED_TRAP, "#PF at the wrong address");
    }
    pr("hostile: step 2: #PF error %x cr2 %x, delivered through the guest's IDT\n", last_error,
       last_cr2);
    finish(EXIT_HOLE_PF, "writing an unmapped address of the hole raised #PF, as on hardware");
}

static void hole_ret(void)
{
    u64 start = arg1[0] ? parse_u64(arg1) : 0x00007ffff7000000ull;
    u64 end = arg2[0] ? parse_u64(arg2) : 0x00007ffff8000000ull;
    idt_init();
    pr("hostile: step 1: looking for a readable ELF image in [%x, %x)\n", start, end);
    u64 readable = 0;
    for (u64 va = start & ~0xfffull; va < end; va += 0x1000) {
        u64 w;
        if (probe_read(va, &w))
            continue;
        readable++;
        if ((w & 0xffffffffu) != 0x464c457fu) /* "\x7fELF" */
            continue;
        pr("hostile: step 2: an ELF image at %x (%u readable pages so far)\n", va, readable);
        for (u64 p = va + 64; p < va + 0x2000; p++) {
            u64 b;
            if (probe_read(p, &b))
                break;
            if ((b & 0xff) == 0xc3) {
                pr("hostile: step 3: calling the `ret` byte at %x\n", p);
                call_addr(p);
                pr("hostile: came back from %x\n", p);
                finish(EXIT_HOLE_RETURNED, "host code in the hypervisor hole ran and returned "
                       "to the guest");
            }
        }
    }
    pr("hostile: %u readable pages, no ELF image\n", readable);
    finish(EXIT_HOLE_NOTHING, "no ELF image found in the range");
}

static void sysenter(void)
{
    idt_init();
    pr("hostile: step 1: sysenter (64-bit mode, no IA32_SYSENTER_* MSRs): expecting #UD or "
       "#GP(0)\n");
    __asm__ volatile("sysenter" : : "a"(LINUX_WRITE_32), "b"(1),
                     "c"((u32)(uintptr_t)escaped), "d"(8) : "memory");
    finish(EXIT_SYSENTER_RAN, "sysenter came back without a fault");
}

/* RFLAGS.TF set with popf (which ring 3 may do): the CPU raises one #DB
 * after the next instruction, and clears TF while it delivers it (SDM Vol. 3A
 * §6.12.1.2 / §17.3.1.4), so the handler runs normally. */
static volatile u64 db_count, db_in_handler;

static void trap_flag(void)
{
    idt_init();
    pr("hostile: step 1: popf with RFLAGS.TF set, then nop: expecting one #DB\n");
    __asm__ volatile("pushfq\n\t"
                     "orq $0x100, (%%rsp)\n\t"
                     "popfq\n\t"
                     "nop\n\t"
                     "nop" : : : "memory", "cc");
    pr("hostile: step 3: back with %u #DB\n", db_count);
    if (db_count != 1 || db_in_handler)
        finish(EXIT_STEP_WRONG, "single-stepping did not raise exactly one #DB");
    finish(EXIT_SINGLE_STEP, "one #DB, delivered with TF clear");
}

/* RFLAGS.AC set with popf: alignment checking applies only at CPL 3 with
 * CR0.AM set (SDM Vol. 3A §6.15 "#AC"); the guest kernel runs at CPL 0 with
 * CR0.AM clear, so a misaligned load must not fault. */
static void align_check(void)
{
    static u8 buf[16] __attribute__((aligned(16)));
    idt_init();
    pr("hostile: step 1: popf with RFLAGS.AC set, then a misaligned 8-byte load at CPL 0\n");
    u64 v;
    __asm__ volatile("pushfq\n\t"
                     "orq $0x40000, (%%rsp)\n\t"
                     "popfq\n\t"
                     "movq 1(%1), %0\n\t"
                     "pushfq\n\t"
                     "andq $~0x40000, (%%rsp)\n\t"
                     "popfq" : "=r"(v) : "r"(buf) : "memory", "cc");
    pr("hostile: step 2: the load gave %x, no #AC\n", v);
    finish(EXIT_NO_ALIGN_CHECK, "no #AC at CPL 0, as on hardware");
}

struct scenario {
    const char *name;
    enum scenario_id id;
    void (*run)(void);
};

static const struct scenario scenarios[] = {
    {"host-syscall", S_HOST_SYSCALL, host_syscall},
    {"host-syscall-nosce", S_NOSCE, host_syscall_nosce},
    {"int80", S_INT80, int80},
    {"jump-stub", S_JUMP_STUB, jump_stub},
    {"pte-outside-ram", S_PTE_OUTSIDE, pte_outside_ram},
    {"map-outside-ram", S_MAP_OUTSIDE, map_outside_ram},
    {"map-hole", S_MAP_HOLE, map_hole},
    {"fault-loop", S_FAULT_LOOP, fault_loop},
    {"triple-fault", S_TRIPLE, triple_fault},
    {"read-hole", S_READ_HOLE, read_hole},
    {"write-hole", S_WRITE_HOLE, write_hole},
    {"hole-ret", S_HOLE_RET, hole_ret},
    {"sysenter", S_SYSENTER, sysenter},
    {"trap-flag", S_TRAP_FLAG, trap_flag},
    {"align-check", S_ALIGN_CHECK, align_check},
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* ---- traps --------------------------------------------------------------------- */

void hostile_trap(struct trap_frame *f)
{
    if (f->vector == X86_PF) {
        last_cr2 = read_cr2();
        last_error = f->error;
        if (f->rip == (u64)(uintptr_t)probe_read_insn) {
            f->rip = (u64)(uintptr_t)probe_read_fixup;
            return;
        }
        if (f->rip == (u64)(uintptr_t)probe_write_insn) {
            f->rip = (u64)(uintptr_t)probe_write_fixup;
            return;
        }
    }
    switch (scenario) {
    case S_NOSCE:
        if (f->vector == X86_UD && f->rip == (u64)(uintptr_t)raw_syscall_insn) {
            pr("hostile: step 3: #UD at the syscall instruction (rip %x); the guest handler ran "
               "%u times\n", f->rip, syscall_count);
            finish(syscall_count ? EXIT_NOSCE_RAN : EXIT_SYSCALL_UD,
                   "syscall with EFER.SCE clear raised #UD in the guest");
        }
        break;
    case S_INT80:
        if (f->vector == 0x80 && f->rip == (u64)(uintptr_t)raw_int80_insn + 2) {
            int80_count++;
            int80_last_nr = f->rax & 0xffffffffu;
            int80_last_ebx = f->rbx & 0xffffffffu;
            f->rax = SYSCALL_MARK;
            return;
        }
        break;
    case S_FAULT_LOOP:
        if (f->vector == X86_PF) {
            u64 n = ++pf_count;
            if (n == 1 || n == 1000 || n == 100000)
                pr("hostile: #PF %u: cr2 %x error %x rip %x; returning without a fix\n", n,
                   last_cr2, f->error, f->rip);
            return;
        }
        break;
    case S_TRAP_FLAG:
        if (f->vector == X86_DB) {
            if (++db_count > 1) {
                db_in_handler = 1;
                pr("hostile: #DB %u at rip %x: the handler is being single-stepped\n", db_count,
                   f->rip);
                finish(EXIT_STEP_WRONG, "TF stayed set in the #DB handler");
            }
            pr("hostile: step 2: #DB at rip %x, rflags %x in the frame\n", f->rip, f->rflags);
            f->rflags &= ~RFLAGS_TF;
            return;
        }
        break;
    case S_SYSENTER:
        if ((f->vector == X86_UD || (f->vector == X86_GP && f->error == 0))) {
            pr("hostile: step 2: %s at rip %x, delivered through the guest's IDT\n",
               f->vector == X86_UD ? "#UD" : "#GP(0)", f->rip);
            finish(EXIT_SYSENTER_FAULT, "sysenter faulted in the guest, as on hardware");
        }
        break;
    default:
        break;
    }
    pr("hostile: unexpected exception: vector %u error %x rip %x cs %x rsp %x cr2 %x\n",
       f->vector, f->error, f->rip, f->cs, f->rsp, f->vector == X86_PF ? last_cr2 : 0);
    finish(EXIT_UNEXPECTED_TRAP, "unexpected exception");
}

/* ---- entry --------------------------------------------------------------------- */

/* struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h): magic at
 * 0, cmdline_paddr at 24. */
#define HVM_START_MAGIC 0x336ec578u

static const char *boot_cmdline(u64 info, u64 magic)
{
    if (entry_kind == ENTRY_PVH) {
        const u32 *si = (const u32 *)(uintptr_t)info;
        if (!si || si[0] != HVM_START_MAGIC)
            finish(EXIT_USAGE, "no PVH start info");
        u64 p = *(const u64 *)(uintptr_t)(info + 24);
        return p ? (const char *)(uintptr_t)p : "";
    }
    const struct hvlab_boot_info *bi = (const struct hvlab_boot_info *)(uintptr_t)info;
    if (magic != HVLAB_BOOT_MAGIC || bi->magic != HVLAB_BOOT_MAGIC ||
        bi->version != HVLAB_ABI_VERSION)
        finish(EXIT_USAGE, "no hvlab boot info");
    pr("hostile: hvlab entry: monitor %u, %u MiB RAM\n", (u64)bi->monitor, bi->ram_size >> 20);
    return bi->cmdline;
}

/* Copies the next space-separated word of *s into buf (at most len - 1). */
static void next_word(const char **s, char *buf, unsigned len)
{
    const char *p = *s;
    unsigned n = 0;
    while (*p == ' ')
        p++;
    while (*p && *p != ' ') {
        if (n + 1 < len)
            buf[n++] = *p;
        p++;
    }
    buf[n] = '\0';
    *s = p;
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

void hostile_main(u64 entry, u64 info, u64 magic)
{
    char name[32];
    entry_kind = (int)entry;
    if (entry_kind == ENTRY_PVH)
        pr("hostile: PVH entry (stock QEMU)\n");
    const char *cmd = boot_cmdline(info, magic);
    next_word(&cmd, name, sizeof(name));
    next_word(&cmd, arg1, sizeof(arg1));
    next_word(&cmd, arg2, sizeof(arg2));
    paging_init();
    for (unsigned i = 0; i < N_SCENARIOS; i++) {
        if (streq(name, scenarios[i].name)) {
            scenario = scenarios[i].id;
            pr("hostile: scenario %s\n", name);
            scenarios[i].run();
            finish(EXIT_USAGE, "scenario returned"); /* not reached */
        }
    }
    pr("hostile: unknown scenario \"%s\"; one of:", name);
    for (unsigned i = 0; i < N_SCENARIOS; i++)
        pr(" %s", scenarios[i].name);
    pr("\n");
    finish(EXIT_USAGE, "usage");
}
