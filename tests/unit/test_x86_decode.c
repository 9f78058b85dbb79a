/* Unit tests: the x86-64 instruction decoder (libhv/x86_decode.c).
 * Byte vectors -> decoded fields.  The expected text of each vector was
 * checked against GNU objdump (Intel syntax) and the SDM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libhv/x86_decode.h"

/* ---- helpers ------------------------------------------------------------- */

/* "0F 22 D8" -> bytes; returns the count. */
static size_t parse_hex(const char *hex, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (*hex) {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        unsigned v;
        int k;
        assert_int_equal(sscanf(hex, "%2x%n", &v, &k), 1);
        assert_true(n < max);
        out[n++] = (uint8_t)v;
        hex += k;
    }
    return n;
}

/* Decode from a heap buffer of exactly `avail` bytes, so that valgrind or
 * ASan catches any read beyond what the caller gave. */
static int decode_exact(const uint8_t *bytes, size_t avail, struct x86_insn *in)
{
    uint8_t *copy = malloc(avail ? avail : 1);
    assert_non_null(copy);
    if (avail)
        memcpy(copy, bytes, avail);
    int rc = x86_decode(copy, avail, in);
    free(copy);
    return rc;
}

static int decode_hex(const char *hex, struct x86_insn *in)
{
    uint8_t b[32];
    size_t n = parse_hex(hex, b, sizeof(b));
    return decode_exact(b, n, in);
}

/* Decodes `hex` (must succeed with length = all its bytes) and returns it. */
static struct x86_insn must_decode(const char *hex)
{
    uint8_t b[32];
    size_t n = parse_hex(hex, b, sizeof(b));
    struct x86_insn in;
    int rc = decode_exact(b, n, &in);
    if (rc != X86_DECODE_OK)
        fail_msg("%s: %s", hex, x86_decode_strerror(rc));
    assert_int_equal(in.length, n);
    return in;
}

static const char *fmt(const struct x86_insn *in)
{
    static char buf[128];
    int n = x86_format(in, buf, sizeof(buf));
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    return buf;
}

/* ---- the supported set, one vector or more each ------------------------- */

struct vec {
    const char *hex;
    enum x86_op op;
    unsigned op_size;
    const char *text;
};

#define OP(x) X86_OP_##x
static const struct vec vectors[] = {
    { "F4", OP(HLT), 0, "hlt" },
    { "FA", OP(CLI), 0, "cli" },
    { "FB", OP(STI), 0, "sti" },
    /* in/out: imm8 port and DX, 8/16/32 bits (REX.W is ignored: no 64-bit I/O) */
    { "E4 60", OP(IN), 1, "in al, 0x60" },
    { "E5 71", OP(IN), 4, "in eax, 0x71" },
    { "66 E5 71", OP(IN), 2, "in ax, 0x71" },
    { "EC", OP(IN), 1, "in al, dx" },
    { "66 ED", OP(IN), 2, "in ax, dx" },
    { "ED", OP(IN), 4, "in eax, dx" },
    { "48 ED", OP(IN), 4, "in eax, dx" },
    { "E6 80", OP(OUT), 1, "out 0x80, al" },
    { "E7 F4", OP(OUT), 4, "out 0xf4, eax" },
    { "66 E7 F4", OP(OUT), 2, "out 0xf4, ax" },
    { "EE", OP(OUT), 1, "out dx, al" },
    { "66 EF", OP(OUT), 2, "out dx, ax" },
    { "EF", OP(OUT), 4, "out dx, eax" },
    { "6C", OP(INS), 1, "insb" },
    { "F3 6D", OP(INS), 4, "rep insd" },
    { "66 F3 6D", OP(INS), 2, "rep insw" },
    { "6E", OP(OUTS), 1, "outsb" },
    { "F3 6E", OP(OUTS), 1, "rep outsb" },
    { "F3 6F", OP(OUTS), 4, "rep outsd" },
    /* control and debug registers */
    { "0F 20 C0", OP(MOV_FROM_CR), 8, "mov rax, cr0" },
    { "0F 20 D0", OP(MOV_FROM_CR), 8, "mov rax, cr2" },
    { "0F 20 D8", OP(MOV_FROM_CR), 8, "mov rax, cr3" },
    { "0F 20 E1", OP(MOV_FROM_CR), 8, "mov rcx, cr4" },
    { "44 0F 20 C1", OP(MOV_FROM_CR), 8, "mov rcx, cr8" },
    { "0F 22 C0", OP(MOV_TO_CR), 8, "mov cr0, rax" },
    { "0F 22 D8", OP(MOV_TO_CR), 8, "mov cr3, rax" },
    { "41 0F 22 DC", OP(MOV_TO_CR), 8, "mov cr3, r12" },
    { "0F 22 E0", OP(MOV_TO_CR), 8, "mov cr4, rax" },
    { "44 0F 22 C0", OP(MOV_TO_CR), 8, "mov cr8, rax" },
    { "0F 21 F8", OP(MOV_FROM_DR), 8, "mov rax, dr7" },
    { "0F 21 F2", OP(MOV_FROM_DR), 8, "mov rdx, dr6" },
    { "0F 23 C0", OP(MOV_TO_DR), 8, "mov dr0, rax" },
    { "0F 23 F9", OP(MOV_TO_DR), 8, "mov dr7, rcx" },
    /* descriptor tables, LDT/TR, MSW, TLB */
    { "0F 01 10", OP(LGDT), 10, "lgdt [rax]" },
    { "0F 01 18", OP(LIDT), 10, "lidt [rax]" },
    { "0F 01 07", OP(SGDT), 10, "sgdt [rdi]" },
    { "0F 01 0E", OP(SIDT), 10, "sidt [rsi]" },
    { "0F 00 D0", OP(LLDT), 2, "lldt ax" },
    { "0F 00 17", OP(LLDT), 2, "lldt word ptr [rdi]" },
    { "0F 00 D8", OP(LTR), 2, "ltr ax" },
    { "0F 00 C0", OP(SLDT), 4, "sldt eax" },
    { "0F 00 00", OP(SLDT), 2, "sldt word ptr [rax]" },
    { "0F 00 08", OP(STR), 2, "str word ptr [rax]" },
    { "48 0F 00 C8", OP(STR), 8, "str rax" },
    { "0F 01 F0", OP(LMSW), 2, "lmsw ax" },
    { "0F 01 30", OP(LMSW), 2, "lmsw word ptr [rax]" },
    { "0F 01 E0", OP(SMSW), 4, "smsw eax" },
    { "0F 01 20", OP(SMSW), 2, "smsw word ptr [rax]" },
    { "0F 01 38", OP(INVLPG), 0, "invlpg [rax]" },
    { "41 0F 01 7C 24 08", OP(INVLPG), 0, "invlpg [r12+0x8]" },
    { "0F 00 E0", OP(VERR), 2, "verr ax" },
    { "0F 00 28", OP(VERW), 2, "verw word ptr [rax]" },
    { "0F 02 C1", OP(LAR), 4, "lar eax, ecx" },
    { "48 0F 03 06", OP(LSL), 8, "lsl rax, word ptr [rsi]" },
    /* 0F 01 with mod=11: whole instructions */
    { "0F 01 F8", OP(SWAPGS), 0, "swapgs" },
    { "0F 01 C1", OP(VMCALL), 0, "vmcall" },
    { "0F 01 D9", OP(VMMCALL), 0, "vmmcall" },
    { "0F 01 F9", OP(RDTSCP), 0, "rdtscp" },
    { "0F 01 CA", OP(CLAC), 0, "clac" },
    { "0F 01 CB", OP(STAC), 0, "stac" },
    { "0F 01 D0", OP(XGETBV), 0, "xgetbv" },
    { "0F 01 D1", OP(XSETBV), 0, "xsetbv" },
    /* MSRs, counters, cpuid, caches */
    { "0F 30", OP(WRMSR), 0, "wrmsr" },
    { "0F 32", OP(RDMSR), 0, "rdmsr" },
    { "0F 31", OP(RDTSC), 0, "rdtsc" },
    { "0F 33", OP(RDPMC), 0, "rdpmc" },
    { "0F A2", OP(CPUID), 0, "cpuid" },
    { "0F 06", OP(CLTS), 0, "clts" },
    { "0F 09", OP(WBINVD), 0, "wbinvd" },
    { "0F 08", OP(INVD), 0, "invd" },
    /* control transfers */
    { "48 CF", OP(IRET), 8, "iretq" },
    { "48 CB", OP(LRET), 8, "lretq" },
    { "CB", OP(LRET), 4, "lretd" },
    { "48 CA 10 00", OP(LRET), 8, "lretq 0x10" },
    { "CF", OP(IRET), 4, "iretd" },
    { "66 CF", OP(IRET), 2, "iretw" },
    { "48 0F 07", OP(SYSRET), 8, "sysretq" },
    { "0F 07", OP(SYSRET), 4, "sysretd" },
    { "0F 05", OP(SYSCALL), 0, "syscall" },
    { "CD 80", OP(INT), 0, "int 0x80" },
    { "CC", OP(INT3), 0, "int3" },
    { "0F 0B", OP(UD2), 0, "ud2" },
    { "9C", OP(PUSHF), 8, "pushfq" },
    { "9D", OP(POPF), 8, "popfq" },
    { "66 9C", OP(PUSHF), 2, "pushfw" },
    { "66 9D", OP(POPF), 2, "popfw" },
    { "66 0F 38 82 01", OP(INVPCID), 8, "invpcid rax, xmmword ptr [rcx]" },
    { "F3 0F C7 F8", OP(RDPID), 8, "rdpid rax" },
    { "F3 41 0F C7 F9", OP(RDPID), 8, "rdpid r9" },
    /* segment registers */
    { "8C D8", OP(MOV_FROM_SREG), 4, "mov eax, ds" },
    { "48 8C E0", OP(MOV_FROM_SREG), 8, "mov rax, fs" },
    { "8C 18", OP(MOV_FROM_SREG), 2, "mov word ptr [rax], ds" },
    { "8E D8", OP(MOV_TO_SREG), 2, "mov ds, ax" },
    { "8E 28", OP(MOV_TO_SREG), 2, "mov gs, word ptr [rax]" },
    { "8E D0", OP(MOV_TO_SREG), 2, "mov ss, ax" },
    /* memory moves (MMIO) */
    { "88 07", OP(MOV), 1, "mov byte ptr [rdi], al" },
    { "89 07", OP(MOV), 4, "mov dword ptr [rdi], eax" },
    { "66 89 07", OP(MOV), 2, "mov word ptr [rdi], ax" },
    { "48 89 07", OP(MOV), 8, "mov qword ptr [rdi], rax" },
    { "8A 07", OP(MOV), 1, "mov al, byte ptr [rdi]" },
    { "8B 47 10", OP(MOV), 4, "mov eax, dword ptr [rdi+0x10]" },
    { "4C 8B 47 F8", OP(MOV), 8, "mov r8, qword ptr [rdi-0x8]" },
    { "C6 07 01", OP(MOV), 1, "mov byte ptr [rdi], 0x1" },
    { "C7 47 04 78 56 34 12", OP(MOV), 4, "mov dword ptr [rdi+0x4], 0x12345678" },
    { "48 C7 07 FF FF FF FF", OP(MOV), 8, "mov qword ptr [rdi], 0xffffffffffffffff" },
    { "66 C7 07 34 12", OP(MOV), 2, "mov word ptr [rdi], 0x1234" },
    { "0F B6 07", OP(MOVZX), 4, "movzx eax, byte ptr [rdi]" },
    { "48 0F B7 07", OP(MOVZX), 8, "movzx rax, word ptr [rdi]" },
    { "66 0F B6 C1", OP(MOVZX), 2, "movzx ax, cl" },
    { "0F BE 07", OP(MOVSX), 4, "movsx eax, byte ptr [rdi]" },
    { "48 0F BF C1", OP(MOVSX), 8, "movsx rax, cx" },
    { "48 63 C1", OP(MOVSXD), 8, "movsxd rax, ecx" },
    { "48 63 07", OP(MOVSXD), 8, "movsxd rax, dword ptr [rdi]" },
    { "A0 00 10 00 00 00 00 00 00", OP(MOV), 1, "mov al, byte ptr [0x1000]" },
    { "A1 30 00 E0 FE 00 00 00 00", OP(MOV), 4, "mov eax, dword ptr [0xfee00030]" },
    { "A2 88 77 66 55 44 33 22 11", OP(MOV), 1, "mov byte ptr [0x1122334455667788], al" },
    { "48 A3 00 00 00 00 00 80 FF FF", OP(MOV), 8, "mov qword ptr [0xffff800000000000], rax" },
    { "A4", OP(MOVS), 1, "movsb" },
    { "F3 48 A5", OP(MOVS), 8, "rep movsq" },
    { "F3 AA", OP(STOS), 1, "rep stosb" },
    { "48 AB", OP(STOS), 8, "stosq" },
    { "AC", OP(LODS), 1, "lodsb" },
    { "66 AD", OP(LODS), 2, "lodsw" },
};
#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

static void decodes_every_supported_instruction_with_length_and_text(void **state)
{
    (void)state;
    bool seen[X86_OP_COUNT] = { false };
    for (size_t i = 0; i < NVEC; i++) {
        struct x86_insn in = must_decode(vectors[i].hex);
        if (in.op != vectors[i].op || in.op_size != vectors[i].op_size ||
            strcmp(fmt(&in), vectors[i].text) != 0)
            fail_msg("%s: got op %s size %u \"%s\", want %s size %u \"%s\"", vectors[i].hex,
                     x86_mnemonic(in.op), in.op_size, fmt(&in), x86_mnemonic(vectors[i].op),
                     vectors[i].op_size, vectors[i].text);
        seen[in.op] = true;
    }
    for (unsigned op = 1; op < X86_OP_COUNT; op++)
        if (!seen[op])
            fail_msg("no vector for op %u (%s)", op, x86_mnemonic((enum x86_op)op));
}

static void truncated_for_every_proper_prefix_of_every_vector(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++) {
        uint8_t b[32];
        size_t n = parse_hex(vectors[i].hex, b, sizeof(b));
        for (size_t k = 0; k < n; k++) {
            struct x86_insn in;
            int rc = decode_exact(b, k, &in);
            if (rc != X86_DECODE_TRUNCATED)
                fail_msg("%s cut to %zu bytes: %s", vectors[i].hex, k, x86_decode_strerror(rc));
        }
    }
}

static void bytes_after_the_instruction_do_not_change_it(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++) {
        uint8_t b[32];
        size_t n = parse_hex(vectors[i].hex, b, sizeof(b));
        memset(b + n, 0xC7, sizeof(b) - n);   /* looks like more opcode bytes */
        struct x86_insn a, z;
        assert_int_equal(decode_exact(b, n, &a), X86_DECODE_OK);
        assert_int_equal(decode_exact(b, sizeof(b), &z), X86_DECODE_OK);
        assert_int_equal(a.length, z.length);
        assert_int_equal(a.op, z.op);
        assert_int_equal(a.imm, z.imm);
        assert_int_equal(a.disp, z.disp);
    }
}

/* ---- prefixes ------------------------------------------------------------ */

static void legacy_prefixes_in_any_order_decode_alike(void **state)
{
    (void)state;
    static const char *const orders[] = {
        "66 67 64 89 00", "67 66 64 89 00", "64 66 67 89 00", "64 67 66 89 00",
    };
    for (size_t i = 0; i < 4; i++) {
        struct x86_insn in = must_decode(orders[i]);
        assert_int_equal(in.op, X86_OP_MOV);
        assert_int_equal(in.op_size, 2);
        assert_int_equal(in.addr_size, 4);
        assert_int_equal(in.prefixes, X86_PFX_OPSIZE | X86_PFX_ADDRSIZE | X86_PFX_SEG);
        assert_int_equal(in.seg, X86_SEG_FS);
        assert_int_equal(in.mem.seg, X86_SEG_FS);
        assert_string_equal(fmt(&in), "mov word ptr fs:[eax], ax");
    }
    /* repeated prefixes are allowed; the last segment override wins */
    struct x86_insn in = must_decode("64 66 66 65 89 00");
    assert_int_equal(in.seg, X86_SEG_GS);
    assert_int_equal(in.op_size, 2);
    /* rep before or after 66 */
    assert_string_equal(fmt((in = must_decode("F3 66 AB"), &in)), "rep stosw");
    assert_string_equal(fmt((in = must_decode("66 F3 AB"), &in)), "rep stosw");
}

static void rex_followed_by_a_legacy_prefix_is_ignored(void **state)
{
    (void)state;
    /* §2.2.1: REX must immediately precede the opcode */
    struct x86_insn in = must_decode("48 66 8B 00");
    assert_int_equal(in.rex, 0);
    assert_int_equal(in.op_size, 2);
    assert_string_equal(fmt(&in), "mov ax, word ptr [rax]");
    in = must_decode("66 48 8B 00");   /* REX.W wins over 66 */
    assert_int_equal(in.rex, 0x48);
    assert_int_equal(in.op_size, 8);
    assert_string_equal(fmt(&in), "mov rax, qword ptr [rax]");
    /* an ignored REX.R does not make cr8 either */
    in = must_decode("44 67 0F 22 C0");
    assert_string_equal(fmt(&in), "mov cr0, rax");
    in = must_decode("44 66 0F 22 C0");
    assert_string_equal(fmt(&in), "mov cr0, rax");
    /* nor SPL..DIL out of AH..BH */
    in = must_decode("40 F3 88 F0");
    assert_string_equal(fmt(&in), "mov al, dh");
}

static void only_the_last_rex_counts(void **state)
{
    (void)state;
    struct x86_insn in = must_decode("48 41 89 C0");
    assert_int_equal(in.rex, 0x41);
    assert_int_equal(in.op_size, 4);
    assert_string_equal(fmt(&in), "mov r8d, eax");
}

static void operand_size_default_32_with_66_and_rexw(void **state)
{
    (void)state;
    struct x86_insn in = must_decode("89 C8");
    assert_int_equal(in.op_size, 4);
    assert_string_equal(fmt(&in), "mov eax, ecx");
    in = must_decode("66 89 C8");
    assert_int_equal(in.op_size, 2);
    assert_string_equal(fmt(&in), "mov ax, cx");
    in = must_decode("48 89 C8");
    assert_int_equal(in.op_size, 8);
    assert_true(in.rex & X86_REX_W);
    assert_string_equal(fmt(&in), "mov rax, rcx");
    in = must_decode("4D 89 C8");   /* REX.WRB */
    assert_string_equal(fmt(&in), "mov r8, r9");
    assert_int_equal(in.reg, 1);    /* raw fields stay 3-bit */
    assert_int_equal(in.rm, 0);
    assert_int_equal(in.opnd[0].reg, 8);
    assert_int_equal(in.opnd[1].reg, 9);
    /* pushf defaults to 64 bits; REX.W changes nothing */
    assert_int_equal((in = must_decode("48 9C"), in.op_size), 8);
}

static void byte_registers_with_and_without_rex(void **state)
{
    (void)state;
    /* 88 F0: mod=11 reg=110 rm=000: mov r/m8 (al) <- r8 (reg 6) */
    struct x86_insn in = must_decode("88 F0");
    assert_string_equal(fmt(&in), "mov al, dh");
    assert_true(in.opnd[1].high8);
    assert_int_equal(in.opnd[1].reg, X86_RDX);
    in = must_decode("40 88 F0");   /* any REX: encoding 6 is SIL */
    assert_string_equal(fmt(&in), "mov al, sil");
    assert_false(in.opnd[1].high8);
    assert_int_equal(in.opnd[1].reg, X86_RSI);
    in = must_decode("44 88 F0");
    assert_string_equal(fmt(&in), "mov al, r14b");
    in = must_decode("0F B6 C4");
    assert_string_equal(fmt(&in), "movzx eax, ah");
    in = must_decode("40 0F B6 C4");
    assert_string_equal(fmt(&in), "movzx eax, spl");
    in = must_decode("41 8A 07");
    assert_string_equal(fmt(&in), "mov al, byte ptr [r15]");
}

/* ---- ModR/M and SIB ----------------------------------------------------- */

struct memvec {
    const char *hex;
    unsigned base, index, scale;
    int64_t disp;
    unsigned disp_size;
    const char *text;
};

static void modrm_and_sib_memory_forms(void **state)
{
    (void)state;
    static const struct memvec mv[] = {
        { "8B 00", X86_RAX, X86_REG_NONE, 1, 0, 0, "mov eax, dword ptr [rax]" },
        { "8B 40 10", X86_RAX, X86_REG_NONE, 1, 0x10, 1, "mov eax, dword ptr [rax+0x10]" },
        { "8B 40 F0", X86_RAX, X86_REG_NONE, 1, -0x10, 1, "mov eax, dword ptr [rax-0x10]" },
        { "8B 80 78 56 34 12", X86_RAX, X86_REG_NONE, 1, 0x12345678, 4,
          "mov eax, dword ptr [rax+0x12345678]" },
        { "8B 80 00 00 00 80", X86_RAX, X86_REG_NONE, 1, -0x80000000LL, 4,
          "mov eax, dword ptr [rax-0x80000000]" },
        /* rsp/r12 as a base need a SIB with index=100 */
        { "8B 04 24", X86_RSP, X86_REG_NONE, 1, 0, 0, "mov eax, dword ptr [rsp]" },
        { "41 8B 04 24", X86_R12, X86_REG_NONE, 1, 0, 0, "mov eax, dword ptr [r12]" },
        { "8B 44 24 08", X86_RSP, X86_REG_NONE, 1, 8, 1, "mov eax, dword ptr [rsp+0x8]" },
        /* rbp/r13 as a base need mod=01 and a disp8 */
        { "8B 45 00", X86_RBP, X86_REG_NONE, 1, 0, 1, "mov eax, dword ptr [rbp]" },
        { "41 8B 45 00", X86_R13, X86_REG_NONE, 1, 0, 1, "mov eax, dword ptr [r13]" },
        /* SIB base=101 mod=00: no base, disp32; also with REX.B */
        { "8B 04 25 78 56 34 12", X86_REG_NONE, X86_REG_NONE, 1, 0x12345678, 4,
          "mov eax, dword ptr [0x12345678]" },
        { "41 8B 04 25 78 56 34 12", X86_REG_NONE, X86_REG_NONE, 1, 0x12345678, 4,
          "mov eax, dword ptr [0x12345678]" },
        { "8B 04 8D 00 10 00 00", X86_REG_NONE, X86_RCX, 4, 0x1000, 4,
          "mov eax, dword ptr [rcx*4+0x1000]" },
        /* SIB base=101 with mod=01: rbp is the base */
        { "8B 44 0D 08", X86_RBP, X86_RCX, 1, 8, 1, "mov eax, dword ptr [rbp+rcx*1+0x8]" },
        /* index=100: none without REX.X (scale unused), r12 with it */
        { "8B 04 A0", X86_RAX, X86_REG_NONE, 4, 0, 0, "mov eax, dword ptr [rax]" },
        { "42 8B 04 A0", X86_RAX, X86_R12, 4, 0, 0, "mov eax, dword ptr [rax+r12*4]" },
        { "4B 8B 44 D5 F8", X86_R13, X86_R10, 8, -8, 1, "mov rax, qword ptr [r13+r10*8-0x8]" },
        { "8B 14 C1", X86_RCX, X86_RAX, 8, 0, 0, "mov edx, dword ptr [rcx+rax*8]" },
        { "67 8B 00", X86_RAX, X86_REG_NONE, 1, 0, 0, "mov eax, dword ptr [eax]" },
        { "67 8B 44 8E 10", X86_RSI, X86_RCX, 4, 0x10, 1, "mov eax, dword ptr [esi+ecx*4+0x10]" },
    };
    for (size_t i = 0; i < sizeof(mv) / sizeof(mv[0]); i++) {
        struct x86_insn in = must_decode(mv[i].hex);
        assert_true(in.has_mem);
        assert_false(in.mem.rip_relative);
        if (in.mem.base != mv[i].base || in.mem.index != mv[i].index ||
            in.mem.scale != mv[i].scale || in.mem.disp != mv[i].disp ||
            in.disp_size != mv[i].disp_size || strcmp(fmt(&in), mv[i].text) != 0)
            fail_msg("%s: base %u index %u scale %u disp %lld/%u \"%s\"", mv[i].hex, in.mem.base,
                     in.mem.index, in.mem.scale, (long long)in.mem.disp, in.disp_size, fmt(&in));
    }
    /* raw SIB fields */
    struct x86_insn in = must_decode("4B 8B 44 D5 F8");
    assert_true(in.has_sib);
    assert_int_equal(in.sib, 0xD5);
    assert_int_equal(in.sib_scale, 3);
    assert_int_equal(in.sib_index, 2);
    assert_int_equal(in.sib_base, 5);
    assert_int_equal(in.mod, 1);
    /* default segment SS for an rsp/rbp base, DS otherwise */
    assert_int_equal((in = must_decode("8B 04 24"), in.mem.seg), X86_SEG_SS);
    assert_int_equal((in = must_decode("8B 45 00"), in.mem.seg), X86_SEG_SS);
    assert_int_equal((in = must_decode("8B 00"), in.mem.seg), X86_SEG_DS);
}

static void rip_relative_is_relative_to_the_next_instruction(void **state)
{
    (void)state;
    uint64_t regs[16] = { 0 };
    struct x86_insn in = must_decode("8B 05 10 00 00 00");
    assert_true(in.mem.rip_relative);
    assert_int_equal(in.mem.base, X86_REG_NONE);
    assert_int_equal(in.mem.index, X86_REG_NONE);
    assert_int_equal(in.mem.disp, 0x10);
    assert_string_equal(fmt(&in), "mov eax, dword ptr [rip+0x10]");
    assert_int_equal(x86_mem_address(&in, regs, 0x100000), 0x100000 + 6 + 0x10);
    /* REX.B does not turn it into r13 */
    in = must_decode("41 8B 05 F0 FF FF FF");
    assert_true(in.mem.rip_relative);
    assert_int_equal(x86_mem_address(&in, regs, 0x100000), 0x100000 + 7 - 0x10);
    /* the immediate lies between the displacement and the next instruction */
    in = must_decode("C7 05 00 01 00 00 01 00 00 00");
    assert_true(in.mem.rip_relative);
    assert_int_equal(in.imm, 1);
    assert_int_equal(x86_mem_address(&in, regs, 0x200000), 0x200000 + 10 + 0x100);
    /* with 67 the address is 32 bits */
    in = must_decode("67 8B 05 00 00 00 00");
    assert_string_equal(fmt(&in), "mov eax, dword ptr [eip]");
    assert_int_equal(x86_mem_address(&in, regs, 0xfffffff0u), (0xfffffff0u + 7) & 0xffffffffu);
}

static void mem_address_adds_base_index_scale_disp(void **state)
{
    (void)state;
    uint64_t regs[16] = { 0 };
    regs[X86_R13] = 0x10000;
    regs[X86_R10] = 3;
    struct x86_insn in = must_decode("4B 8B 44 D5 F8");
    assert_int_equal(x86_mem_address(&in, regs, 0), 0x10000 + 3 * 8 - 8);
    /* moffs: the absolute address */
    in = must_decode("A1 30 00 E0 FE 00 00 00 00");
    assert_int_equal(x86_mem_address(&in, regs, 0x1234), 0xfee00030u);
    /* 32-bit addressing wraps */
    regs[X86_RAX] = 0xfffffffful;
    in = must_decode("67 8B 40 02");
    assert_int_equal(x86_mem_address(&in, regs, 0), 1);
}

/* ---- control / debug / segment registers -------------------------------- */

static void mov_to_cr8_through_rex_r(void **state)
{
    (void)state;
    struct x86_insn in = must_decode("44 0F 22 C0");
    assert_int_equal(in.op, X86_OP_MOV_TO_CR);
    assert_int_equal(in.opnd[0].kind, X86_OPND_CR);
    assert_int_equal(in.opnd[0].reg, 8);
    assert_int_equal(in.opnd[1].kind, X86_OPND_GPR);
    assert_int_equal(in.opnd[1].reg, X86_RAX);
    assert_int_equal(in.opnd[1].size, 8);
    in = must_decode("4D 0F 20 C7");   /* mov r15, cr8 */
    assert_int_equal(in.opnd[0].reg, X86_R15);
    assert_int_equal(in.opnd[1].reg, 8);
    assert_string_equal(fmt(&in), "mov r15, cr8");
}

static void mov_cr_with_mod_other_than_11_is_still_a_register_form(void **state)
{
    (void)state;
    /* "The 2 bits in the mod field are ignored": no SIB, no displacement */
    static const char *const v[] = { "0F 22 18", "0F 22 58", "0F 22 98", "0F 22 D8" };
    for (size_t i = 0; i < 4; i++) {
        struct x86_insn in = must_decode(v[i]);
        assert_int_equal(in.length, 3);
        assert_false(in.has_mem);
        assert_string_equal(fmt(&in), "mov cr3, rax");
    }
    struct x86_insn in = must_decode("0F 20 04");   /* rm=100 is rsp, not a SIB */
    assert_string_equal(fmt(&in), "mov rsp, cr0");
    in = must_decode("0F 21 45");                   /* mod=01: no disp8 */
    assert_string_equal(fmt(&in), "mov rbp, dr0");
}

static void reserved_control_and_debug_registers_are_invalid(void **state)
{
    (void)state;
    struct x86_insn in;
    assert_int_equal(decode_hex("0F 22 C8", &in), X86_DECODE_INVALID);      /* cr1 */
    assert_int_equal(decode_hex("0F 20 E8", &in), X86_DECODE_INVALID);      /* cr5 */
    assert_int_equal(decode_hex("0F 22 F8", &in), X86_DECODE_INVALID);      /* cr7 */
    assert_int_equal(decode_hex("44 0F 22 C8", &in), X86_DECODE_INVALID);   /* cr9 */
    assert_int_equal(decode_hex("44 0F 23 C0", &in), X86_DECODE_INVALID);   /* dr8 */
    /* dr4/dr5 decode; CR4.DE decides at run time */
    assert_int_equal(decode_hex("0F 21 E0", &in), X86_DECODE_OK);
    assert_int_equal(in.opnd[1].reg, 4);
    /* sreg 6/7 and a mov to cs */
    assert_int_equal(decode_hex("8C F0", &in), X86_DECODE_INVALID);
    assert_int_equal(decode_hex("8E C8", &in), X86_DECODE_INVALID);
    assert_int_equal(decode_hex("8C C8", &in), X86_DECODE_OK);   /* from cs is fine */
    /* invpcid with a register "memory" operand */
    assert_int_equal(decode_hex("66 0F 38 82 C1", &in), X86_DECODE_INVALID);
}

/* ---- immediates and moffs ------------------------------------------------ */

static void moffs_is_a_64bit_absolute_address(void **state)
{
    (void)state;
    struct x86_insn in = must_decode("48 A1 08 07 06 05 04 03 02 01");
    assert_int_equal(in.length, 10);
    assert_true(in.has_mem);
    assert_true(in.mem.moffs);
    assert_int_equal(in.mem.base, X86_REG_NONE);
    assert_int_equal(in.mem.disp, 0x0102030405060708LL);
    assert_int_equal(in.disp_size, 8);
    assert_int_equal(in.op_size, 8);
    /* 67: a 32-bit offset */
    in = must_decode("67 A1 00 00 00 F0");
    assert_int_equal(in.length, 6);
    assert_int_equal(in.mem.disp, 0xF0000000LL);
    /* fs override */
    in = must_decode("64 A0 28 00 00 00 00 00 00 00");
    assert_string_equal(fmt(&in), "mov al, byte ptr fs:[0x28]");
    assert_int_equal(in.mem.seg, X86_SEG_FS);
}

static void c7_imm32_is_sign_extended_to_64_with_rexw(void **state)
{
    (void)state;
    struct x86_insn in = must_decode("48 C7 C0 FF FF FF FF");
    assert_int_equal(in.imm, UINT64_MAX);
    assert_int_equal(in.imm_size, 4);
    assert_string_equal(fmt(&in), "mov rax, 0xffffffffffffffff");
    in = must_decode("C7 C0 FF FF FF FF");
    assert_int_equal(in.imm, 0xFFFFFFFFu);
    assert_int_equal(in.op_size, 4);
    in = must_decode("48 C7 00 00 00 00 80");
    assert_int_equal(in.imm, 0xFFFFFFFF80000000ull);
    in = must_decode("48 C7 00 FF FF FF 7F");
    assert_int_equal(in.imm, 0x7FFFFFFFu);
    in = must_decode("66 C7 00 FF FF");
    assert_int_equal(in.imm_size, 2);
    assert_int_equal(in.imm, 0xFFFF);
    /* disp and imm both present: disp comes first */
    in = must_decode("C7 80 00 01 00 00 44 33 22 11");
    assert_int_equal(in.disp, 0x100);
    assert_int_equal(in.imm, 0x11223344);
    /* the port of in/out is zero-extended */
    in = must_decode("E4 FF");
    assert_int_equal(in.imm, 0xFF);
}

/* ---- lengths ------------------------------------------------------------ */

static void fifteen_bytes_is_the_limit(void **state)
{
    (void)state;
    uint8_t b[20];
    struct x86_insn in;
    memset(b, 0x66, sizeof(b));
    b[14] = 0xF4;   /* 14 prefixes + hlt = 15 bytes */
    assert_int_equal(decode_exact(b, 15, &in), X86_DECODE_OK);
    assert_int_equal(in.length, 15);
    b[14] = 0x66;
    b[15] = 0xF4;   /* 15 prefixes + hlt = 16 */
    assert_int_equal(decode_exact(b, 16, &in), X86_DECODE_INVALID);
    assert_int_equal(decode_exact(b, 20, &in), X86_DECODE_INVALID);
    /* 15 bytes of prefixes are invalid even when no more were fetched */
    assert_int_equal(decode_exact(b, 15, &in), X86_DECODE_INVALID);
    /* a displacement and an immediate ending at byte 15, then at byte 16 */
    in = must_decode("64 64 64 64 64 C7 80 00 01 00 00 44 33 22 11");
    assert_int_equal(in.length, 15);
    assert_int_equal(decode_hex("64 64 64 64 64 64 C7 80 00 01 00 00 44 33 22 11", &in),
                     X86_DECODE_INVALID);
    /* ...also when the caller fetched only 15 of its bytes */
    assert_int_equal(decode_hex("64 64 64 64 64 64 C7 80 00 01 00 00 44 33 22", &in),
                     X86_DECODE_INVALID);
}

/* ---- invalid and unsupported -------------------------------------------- */

static void opcodes_invalid_in_64bit_mode(void **state)
{
    (void)state;
    static const char *const v[] = {
        "06", "07", "0E", "16", "17", "1E", "1F", "27", "2F", "37", "3F",
        "60", "61", "82 C0 01", "9A 00 00 00 00 00 00", "CE", "D4 0A", "D5 0A", "D6",
        "EA 00 00 00 00 00 00", "0F 04", "0F 0A", "0F 0C", "0F 24 C0", "0F 26 C0",
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct x86_insn in;
        int rc = decode_hex(v[i], &in);
        if (rc != X86_DECODE_INVALID)
            fail_msg("%s: %s", v[i], x86_decode_strerror(rc));
    }
}

static void lock_on_a_non_lockable_instruction_is_invalid(void **state)
{
    (void)state;
    static const char *const v[] = {
        "F0 F4", "F0 89 00", "F0 0F 22 C0", "F0 C7 00 01 00 00 00", "66 F0 E6 80", "F0 0F 30",
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct x86_insn in;
        assert_int_equal(decode_hex(v[i], &in), X86_DECODE_INVALID);
    }
    /* lock on an unsupported (lockable) instruction is just unsupported */
    struct x86_insn in;
    assert_int_equal(decode_hex("F0 01 00", &in), X86_DECODE_UNSUPPORTED);
}

static void valid_but_unsupported_instructions(void **state)
{
    (void)state;
    static const char *const v[] = {
        "01 C0",             /* add eax, eax                          */
        "90",                /* nop                                   */
        "B8 01 00 00 00",    /* mov eax, imm32: no memory, no fault   */
        "0F 28 C1",          /* movaps                                */
        "C5 F8 77",          /* vzeroupper (VEX)                      */
        "C4 E2 79 18 00",    /* vbroadcastss (VEX)                    */
        "62 F1 7C 48 28 C1", /* EVEX                                  */
        "8F E9 78 E1 C0",    /* XOP                                   */
        "0F 3A 0F C1 08",    /* palignr (0F 3A map)                   */
        "F3 0F 09",          /* wbnoinvd (mandatory prefix)           */
        "0F C7 F8",          /* rdseed (rdpid needs F3)               */
        "0F C7 08",          /* cmpxchg8b                             */
        "0F 01 C8",          /* monitor                               */
        "0F 01 D8",          /* vmrun                                 */
        "66 0F 01 F8",       /* swapgs with a prefix that may select another op */
        "C6 F8 01",          /* xabort                                */
        "C7 F8 00 00 00 00", /* xbegin                                */
        "0F 38 82 01",       /* invpcid without its 66                */
        "0F 34",             /* sysenter                              */
        "F3 0F B8 C1",       /* popcnt                                */
        "C3",                /* near ret                              */
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct x86_insn in;
        int rc = decode_hex(v[i], &in);
        if (rc != X86_DECODE_UNSUPPORTED)
            fail_msg("%s: %s", v[i], x86_decode_strerror(rc));
    }
}

/* ---- formatting and names ----------------------------------------------- */

static void format_writes_intel_syntax(void **state)
{
    (void)state;
    struct x86_insn in = must_decode("0F 22 D8");
    assert_string_equal(fmt(&in), "mov cr3, rax");
    in = must_decode("F3 48 AB");
    assert_string_equal(fmt(&in), "rep stosq");
    in = must_decode("64 C7 40 10 01 00 00 00");
    assert_string_equal(fmt(&in), "mov dword ptr fs:[rax+0x10], 0x1");
    in = must_decode("65 48 8B 04 25 28 00 00 00");
    assert_string_equal(fmt(&in), "mov rax, qword ptr gs:[0x28]");
    /* snprintf semantics */
    char small[8];
    in = must_decode("0F 22 D8");
    assert_int_equal(x86_format(&in, small, sizeof(small)), (int)strlen("mov cr3, rax"));
    assert_string_equal(small, "mov cr3");
    assert_int_equal(x86_format(&in, NULL, 0), (int)strlen("mov cr3, rax"));
}

static void every_op_has_a_mnemonic(void **state)
{
    (void)state;
    for (unsigned op = 1; op < X86_OP_COUNT; op++)
        assert_string_not_equal(x86_mnemonic((enum x86_op)op), "?");
    assert_string_equal(x86_mnemonic(X86_OP_NONE), "?");
    assert_string_equal(x86_mnemonic(X86_OP_COUNT), "?");
    assert_string_equal(x86_mnemonic(X86_OP_MOV_TO_CR), "mov");
    assert_string_equal(x86_decode_strerror(X86_DECODE_TRUNCATED), "truncated");
    assert_string_equal(x86_decode_strerror(X86_DECODE_INVALID), "invalid");
    assert_string_equal(x86_decode_strerror(X86_DECODE_UNSUPPORTED), "unsupported");
}

static void prefix_and_opcode_fields_are_reported(void **state)
{
    (void)state;
    struct x86_insn in = must_decode("F3 67 65 48 AB");
    assert_int_equal(in.prefixes, X86_PFX_REP | X86_PFX_ADDRSIZE | X86_PFX_SEG);
    assert_int_equal(in.rep, 0xF3);
    assert_int_equal(in.seg, X86_SEG_GS);
    assert_int_equal(in.rex, 0x48);
    assert_int_equal(in.addr_size, 4);
    assert_int_equal(in.opcode_len, 1);
    assert_int_equal(in.opcode[0], 0xAB);
    in = must_decode("F2 F3 A4");   /* the last of F2/F3 counts */
    assert_int_equal(in.rep, 0xF3);
    in = must_decode("66 0F 38 82 01");
    assert_int_equal(in.opcode_len, 3);
    assert_int_equal(in.opcode[1], 0x38);
    assert_int_equal(in.opcode[2], 0x82);
    assert_true(in.has_modrm);
    assert_int_equal(in.opnd[1].size, 16);
    in = must_decode("CD 30");
    assert_int_equal(in.imm, 0x30);
    assert_int_equal(in.imm_size, 1);
    assert_false(in.has_modrm);
}

/* ---- fuzz --------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    /* xorshift64*: deterministic */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void random_bytes_never_crash_and_lengths_are_sane(void **state)
{
    (void)state;
    /* Half the bytes come from the ones that steer the decoder (prefixes,
     * escapes, supported opcodes), so that the fuzz reaches deep. */
    static const uint8_t hot[] = {
        0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x64, 0x65, 0x2E, 0x40, 0x41, 0x44, 0x48, 0x4F,
        0x0F, 0x01, 0x00, 0x20, 0x22, 0x38, 0x82, 0xC7, 0xC6, 0x88, 0x89, 0x8B, 0x8C,
        0x8E, 0xA1, 0xA3, 0xE4, 0xEE, 0x6D, 0xAB, 0xB6, 0xCF, 0x04, 0x05, 0x24, 0x25,
        0x44, 0x84, 0xC0, 0xF8,
    };
    unsigned ok = 0, trunc = 0, inval = 0, unsupp = 0;
    for (unsigned iter = 0; iter < 200000; iter++) {
        uint8_t b[24];
        size_t avail = rng() % (sizeof(b) + 1);
        for (size_t i = 0; i < avail; i++) {
            uint64_t r = rng();
            b[i] = (r & 1) ? hot[(r >> 8) % sizeof(hot)] : (uint8_t)(r >> 16);
        }
        struct x86_insn in;
        int rc = decode_exact(b, avail, &in);
        switch (rc) {
        case X86_DECODE_OK: {
            ok++;
            assert_true(in.length >= 1 && in.length <= avail && in.length <= X86_MAX_INSN_LEN);
            assert_true(in.op > X86_OP_NONE && in.op < X86_OP_COUNT);
            assert_true(in.nopnd <= 2);
            for (unsigned k = 0; k < in.nopnd; k++)
                assert_true(in.opnd[k].reg < 16);
            if (in.has_mem) {
                assert_true(in.mem.base < 16 || in.mem.base == X86_REG_NONE);
                assert_true(in.mem.index < 16 || in.mem.index == X86_REG_NONE);
                assert_true(in.mem.scale == 1 || in.mem.scale == 2 || in.mem.scale == 4 ||
                            in.mem.scale == 8);
            }
            char text[128];
            int n = x86_format(&in, text, sizeof(text));
            assert_true(n > 0 && (size_t)n < sizeof(text));
            /* the same with exactly its length, truncated with one less */
            struct x86_insn again;
            assert_int_equal(decode_exact(b, in.length, &again), X86_DECODE_OK);
            assert_int_equal(again.length, in.length);
            assert_int_equal(again.op, in.op);
            char text2[128];
            x86_format(&again, text2, sizeof(text2));
            assert_string_equal(text, text2);
            assert_int_equal(decode_exact(b, in.length - 1u, &again), X86_DECODE_TRUNCATED);
            break;
        }
        case X86_DECODE_TRUNCATED:
            trunc++;
            assert_true(avail < X86_MAX_INSN_LEN);
            break;
        case X86_DECODE_INVALID:
            inval++;
            break;
        case X86_DECODE_UNSUPPORTED:
            unsupp++;
            break;
        default:
            fail_msg("unexpected return %d", rc);
        }
    }
    /* the fuzz must reach every outcome, and a fair number of decodes */
    assert_true(ok > 10000);
    assert_true(trunc > 1000 && inval > 1000 && unsupp > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_every_supported_instruction_with_length_and_text),
        cmocka_unit_test(truncated_for_every_proper_prefix_of_every_vector),
        cmocka_unit_test(bytes_after_the_instruction_do_not_change_it),
        cmocka_unit_test(legacy_prefixes_in_any_order_decode_alike),
        cmocka_unit_test(rex_followed_by_a_legacy_prefix_is_ignored),
        cmocka_unit_test(only_the_last_rex_counts),
        cmocka_unit_test(operand_size_default_32_with_66_and_rexw),
        cmocka_unit_test(byte_registers_with_and_without_rex),
        cmocka_unit_test(modrm_and_sib_memory_forms),
        cmocka_unit_test(rip_relative_is_relative_to_the_next_instruction),
        cmocka_unit_test(mem_address_adds_base_index_scale_disp),
        cmocka_unit_test(mov_to_cr8_through_rex_r),
        cmocka_unit_test(mov_cr_with_mod_other_than_11_is_still_a_register_form),
        cmocka_unit_test(reserved_control_and_debug_registers_are_invalid),
        cmocka_unit_test(moffs_is_a_64bit_absolute_address),
        cmocka_unit_test(c7_imm32_is_sign_extended_to_64_with_rexw),
        cmocka_unit_test(fifteen_bytes_is_the_limit),
        cmocka_unit_test(opcodes_invalid_in_64bit_mode),
        cmocka_unit_test(lock_on_a_non_lockable_instruction_is_invalid),
        cmocka_unit_test(valid_but_unsupported_instructions),
        cmocka_unit_test(format_writes_intel_syntax),
        cmocka_unit_test(every_op_has_a_mnemonic),
        cmocka_unit_test(prefix_and_opcode_fields_are_reported),
        cmocka_unit_test(random_bytes_never_crash_and_lengths_are_sane),
    };
    return cmocka_run_group_tests_name("x86 decoder", tests, NULL, NULL);
}
