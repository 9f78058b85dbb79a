/*
 * probe.S - memory accesses and instructions that are allowed to fault.
 *
 * Each instruction that may fault on purpose is listed in the exception
 * table (section __extable, pairs of {faulting instruction, fixup}), the
 * mechanism Linux uses for copy_from_user.  When an exception hits a listed
 * instruction in ring 0, trap_dispatch records vector, error code and CR2 in
 * last_fault and resumes at the fixup instead of panicking.  The selftest
 * then checks that the *expected* vector, error code and CR2 were recorded.
 * Any fault anywhere else in ring 0 is a kernel bug and a panic.
 */
#define PROBE_FAULTED 1

.macro EXTABLE insn, fixup
        .pushsection __extable, "a"
        .balign 8
        .quad   \insn, \fixup
        .popsection
.endm

        .text
        .code64

/* int probe_read64(uint64_t addr, uint64_t *value) */
        .globl probe_read64
probe_read64:
1:      movq    (%rdi), %rax
        movq    %rax, (%rsi)
        xorl    %eax, %eax
        ret
2:      movl    $PROBE_FAULTED, %eax
        ret
        EXTABLE 1b, 2b

/* int probe_write64(uint64_t addr, uint64_t value) */
        .globl probe_write64
probe_write64:
1:      movq    %rsi, (%rdi)
        xorl    %eax, %eax
        ret
2:      movl    $PROBE_FAULTED, %eax
        ret
        EXTABLE 1b, 2b

/* int probe_divide_error(void): 1 / 0 raises #DE (SDM Vol. 2A "DIV"). */
        .globl probe_divide_error
probe_divide_error:
        xorl    %ecx, %ecx
        movl    $1, %eax
        xorl    %edx, %edx
1:      divl    %ecx
        xorl    %eax, %eax
        ret
2:      movl    $PROBE_FAULTED, %eax
        ret
        EXTABLE 1b, 2b

/* int probe_ud2(void): UD2 always raises #UD (SDM Vol. 2B "UD"). */
        .globl probe_ud2
probe_ud2:
1:      ud2
        xorl    %eax, %eax
        ret
2:      movl    $PROBE_FAULTED, %eax
        ret
        EXTABLE 1b, 2b

/*
 * Sensitive but unprivileged instructions that store a system register
 * (sensitive.c).  At CPL 0 they never fault.  At CPL > 0 they fault only
 * where CR4.UMIP = 1 (SDM Vol. 2B "SGDT": #GP(0) if CR4.UMIP = 1 and
 * CPL > 0; the same for SIDT, SLDT, SMSW and STR), which is how a
 * deprivileging monitor on a UMIP host could catch them.
 *   int probe_sgdt(struct desc_ptr *d), probe_sidt(d): 10 bytes
 *   int probe_sldt(uint16_t *sel), probe_str(sel), probe_smsw(uint16_t *msw)
 */
.macro PROBE_STORE name, insn
        .globl \name
\name:
1:      \insn  (%rdi)
        xorl    %eax, %eax
        ret
2:      movl    $PROBE_FAULTED, %eax
        ret
        EXTABLE 1b, 2b
.endm

        PROBE_STORE probe_sgdt, sgdt
        PROBE_STORE probe_sidt, sidt
        PROBE_STORE probe_sldt, sldtw
        PROBE_STORE probe_str, strw
        PROBE_STORE probe_smsw, smsww

/*
 * int probe_rdpid(uint64_t *value): RDPID reads IA32_TSC_AUX at any CPL, and
 * raises #UD where CPUID.(EAX=7,ECX=0):ECX.RDPID[bit 22] is 0 (SDM Vol. 2B
 * "RDPID").
 */
        .globl probe_rdpid
probe_rdpid:
1:      rdpid   %rax
        movq    %rax, (%rdi)
        xorl    %eax, %eax
        ret
2:      movl    $PROBE_FAULTED, %eax
        ret
        EXTABLE 1b, 2b

/*
 * int probe_call(uint64_t addr): calls addr, where the caller placed a RET.
 * A fetch fault is taken with RIP = addr, which cannot be in the table, so
 * trap_dispatch recognises it by probe_call_target and "returns" for the
 * callee: it pops probe_call_return off the stack and resumes at the fixup.
 */
        .globl probe_call, probe_call_target, probe_call_return, probe_call_fixup
probe_call:
        movq    %rdi, probe_call_target(%rip)
        call    *%rdi
probe_call_return:
        movq    $0, probe_call_target(%rip)
        xorl    %eax, %eax
        ret
probe_call_fixup:
        movq    $0, probe_call_target(%rip)
        movl    $PROBE_FAULTED, %eax
        ret

/*
 * int copy_from_user(void *dst, uint64_t user_src, uint64_t len)
 * The caller has checked that [user_src, user_src + len) lies in the user
 * region; a page there may still be unmapped, and then REP MOVSB faults with
 * RIP on itself (RCX tells how far it got) and the fixup returns failure.
 */
        .globl copy_from_user
copy_from_user:
        movq    %rdx, %rcx
1:      rep movsb
        xorl    %eax, %eax
        ret
2:      movl    $PROBE_FAULTED, %eax
        ret
        EXTABLE 1b, 2b

        .bss
        .balign 8
probe_call_target:
        .quad   0
