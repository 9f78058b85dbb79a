/*
 * Table-driven x86-64 decoder for the instructions a ring-3-deprivileged
 * guest kernel faults on (see x86_decode.h).
 *
 * Instruction format (SDM Vol. 2A §2.1, Figure 2-1):
 *   [legacy prefixes] [REX] opcode(1-3) [ModR/M] [SIB] [disp 1/4] [imm 1/2/4]
 * at most 15 bytes in all (§2.3.11: a longer instruction raises #GP).
 *
 * Decoding is: prefixes -> opcode map lookup (one-byte, 0F, 0F 38) -> for a
 * group opcode, ModR/M.reg (and for 0F 01 mod=11, ModR/M.rm) picks the entry
 * -> prefix rules of the entry -> ModR/M memory form, SIB, displacement ->
 * immediate -> operands from the entry's form.  Every byte is fetched through
 * fetch(), which enforces the 15-byte limit before the caller's `avail`, so a
 * valid instruction cut short always answers TRUNCATED and nothing beyond
 * bytes[avail - 1] is ever read.
 */
#include "libhv/x86_decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- table entries ------------------------------------------------------ */

enum entry_kind {
    K_UNSUPP = 0,   /* default of every entry not listed: valid or not, we don't do it */
    K_INVALID,      /* #UD in 64-bit mode                                     */
    K_OP,           /* a supported instruction                                */
    K_GROUP,        /* ModR/M.reg selects (op = group id)                     */
};

/* Entry flags. */
#define F_MODRM   0x0001u /* a ModR/M byte follows the opcode                   */
#define F_IMM8    0x0002u /* imm8                                               */
#define F_IMMZ    0x0004u /* imm16 (66) or imm32, sign-extended to 64 with REX.W */
#define F_MOFFS   0x0008u /* an address-size offset (8 bytes, 4 with 67)       */
#define F_MODREG  0x0010u /* mod is ignored: always a register (mov cr/dr)     */
#define F_MEMONLY 0x0020u /* mod=11 is #UD                                     */
#define F_66_OS   0x0040u /* 0F maps: 66 is the operand-size prefix            */
#define F_66_IGN  0x0080u /* 0F maps: 66 is accepted and has no effect         */
#define F_NEED_66 0x0100u /* 0F maps: 66 is a mandatory prefix                 */
#define F_NEED_F3 0x0200u /* 0F maps: F3 is a mandatory prefix                 */
#define F_IMM16   0x0400u /* imm16 (ret/lret imm16), whatever the operand size  */

/* Operand-size classes (SDM Vol. 2D §A.2.2 operand-type codes). */
enum size_class {
    SZ_NONE = 0,
    SZ_B,     /* b: byte                                                       */
    SZ_W,     /* w: word                                                       */
    SZ_V,     /* v: word/dword/qword: 66 -> 2, REX.W -> 8 (wins over 66), else 4 */
    SZ_Z,     /* z as in/out use it: 66 -> 2, else 4; REX.W is ignored (no 64-bit port I/O) */
    SZ_D64,   /* d64: default 64 in 64-bit mode, 66 -> 2 (pushf/popf)         */
    SZ_Q,     /* q: qword                                                      */
    SZ_DQ_W,  /* REX.W -> 8, else 4 (sysret)                                   */
    SZ_MW_RV, /* Mw/Rv: a memory operand is a word, a register one is v        */
    SZ_VD,    /* movsxd's source: word with 66, else dword                    */
    SZ_MW_RZ, /* lar/lsl's selector: a word in memory, r16 or r32 in a register
                 (SDM LAR: "LAR reg, r32/m16"); only its low 16 bits count    */
    SZ_DT,    /* m16&64 pseudo-descriptor of lgdt/sgdt in 64-bit mode: 10     */
    SZ_DQ,    /* m128 (invpcid's descriptor)                                   */
    SZ_M,     /* m: an address with no size (invlpg): 0                        */
};

/* Operand forms: what opnd[0] (destination) and opnd[1] are.  E = ModR/M
 * r/m, G = ModR/M reg, I = immediate, acc = AL/AX/EAX/RAX, DX = port. */
enum form {
    FM_NONE = 0,
    FM_E,        /* E                                                          */
    FM_EG,       /* E <- G                                                     */
    FM_GE,       /* G <- E                                                     */
    FM_EI,       /* E <- I                                                     */
    FM_ACC_MOFFS,/* acc <- [moffs]                                             */
    FM_MOFFS_ACC,/* [moffs] <- acc                                             */
    FM_ACC_I8,   /* in acc, imm8                                               */
    FM_I8_ACC,   /* out imm8, acc                                              */
    FM_ACC_DX,   /* in acc, dx                                                 */
    FM_DX_ACC,   /* out dx, acc                                                */
    FM_I8,       /* int imm8                                                   */
    FM_I16,      /* lret imm16                                                 */
    FM_R_CR,     /* r64 <- crN                                                 */
    FM_CR_R,     /* crN <- r64                                                 */
    FM_R_DR,
    FM_DR_R,
    FM_E_SREG,   /* E <- sreg                                                  */
    FM_SREG_E,   /* sreg <- E                                                  */
    FM_G_M,      /* G (r64), M (invpcid)                                       */
    FM_R,        /* ModR/M.rm register only (rdpid)                            */
};

struct entry {
    uint8_t kind;   /* enum entry_kind                                        */
    uint8_t op;     /* enum x86_op, or a group id                             */
    uint8_t form;   /* enum form                                              */
    uint8_t sz;     /* size class of the main operand (sets insn.op_size)     */
    uint8_t sz2;    /* size class of the second operand; 0: same as sz        */
    uint16_t flags;
};

#define OP(o, fm, s, fl)        { K_OP, X86_OP_##o, fm, s, 0, fl }
#define OP2(o, fm, s, s2, fl)   { K_OP, X86_OP_##o, fm, s, s2, fl }
#define INVALID                 { K_INVALID, 0, 0, 0, 0, 0 }
#define GROUP(g)                { K_GROUP, g, 0, 0, 0, F_MODRM }

enum group_id { G_NONE = 0, G_GRP6, G_GRP7, G_GRP9, G_GRP11_B, G_GRP11_V, G_COUNT };

/* ---- one-byte opcode map (SDM Vol. 2D Table A-2) ------------------------ *
 * Legacy prefixes and REX (26 2E 36 3E 40-4F 64 65 66 67 F0 F2 F3) never get
 * here: the prefix loop consumes them.  0F is the escape to the two-byte map.
 * Invalid in 64-bit mode ("i64" in the map): push/pop es/cs/ss/ds, daa/das/
 * aaa/aas, pusha/popa, 82 (alias of 80), far call/jmp ptr16:32, into, aam,
 * aad, salc.  62 (EVEX; bound is i64), C4/C5 (VEX; les/lds are i64) and 8F
 * with reg != 0 (XOP) begin vector encodings: unsupported, not invalid.
 * 40-4F are REX, not inc/dec (§2.2.1). */
static const struct entry map1[256] = {
    [0x06] = INVALID, [0x07] = INVALID, [0x0E] = INVALID,
    [0x16] = INVALID, [0x17] = INVALID, [0x1E] = INVALID, [0x1F] = INVALID,
    [0x27] = INVALID, [0x2F] = INVALID, [0x37] = INVALID, [0x3F] = INVALID,
    [0x60] = INVALID, [0x61] = INVALID, [0x82] = INVALID, [0x9A] = INVALID,
    [0xCE] = INVALID, [0xD4] = INVALID, [0xD5] = INVALID, [0xD6] = INVALID,
    [0xEA] = INVALID,

    /* movsxd Gv, Ed: with REX.W sign-extends a dword; without it, a plain move */
    [0x63] = OP2(MOVSXD, FM_GE, SZ_V, SZ_VD, F_MODRM),

    [0x6C] = OP(INS, FM_NONE, SZ_B, 0),
    [0x6D] = OP(INS, FM_NONE, SZ_Z, 0),
    [0x6E] = OP(OUTS, FM_NONE, SZ_B, 0),
    [0x6F] = OP(OUTS, FM_NONE, SZ_Z, 0),

    [0x88] = OP(MOV, FM_EG, SZ_B, F_MODRM),
    [0x89] = OP(MOV, FM_EG, SZ_V, F_MODRM),
    [0x8A] = OP(MOV, FM_GE, SZ_B, F_MODRM),
    [0x8B] = OP(MOV, FM_GE, SZ_V, F_MODRM),
    /* mov Ev, Sw: a store to memory is always 16 bits; a register destination
     * takes the operand size, zero-extended (SDM MOV, "Operation") */
    [0x8C] = OP(MOV_FROM_SREG, FM_E_SREG, SZ_MW_RV, F_MODRM),
    [0x8E] = OP(MOV_TO_SREG, FM_SREG_E, SZ_W, F_MODRM),

    [0x9C] = OP(PUSHF, FM_NONE, SZ_D64, 0),
    [0x9D] = OP(POPF, FM_NONE, SZ_D64, 0),

    [0xA0] = OP(MOV, FM_ACC_MOFFS, SZ_B, F_MOFFS),
    [0xA1] = OP(MOV, FM_ACC_MOFFS, SZ_V, F_MOFFS),
    [0xA2] = OP(MOV, FM_MOFFS_ACC, SZ_B, F_MOFFS),
    [0xA3] = OP(MOV, FM_MOFFS_ACC, SZ_V, F_MOFFS),
    [0xA4] = OP(MOVS, FM_NONE, SZ_B, 0),
    [0xA5] = OP(MOVS, FM_NONE, SZ_V, 0),
    [0xAA] = OP(STOS, FM_NONE, SZ_B, 0),
    [0xAB] = OP(STOS, FM_NONE, SZ_V, 0),
    [0xAC] = OP(LODS, FM_NONE, SZ_B, 0),
    [0xAD] = OP(LODS, FM_NONE, SZ_V, 0),

    [0xC6] = GROUP(G_GRP11_B),
    [0xC7] = GROUP(G_GRP11_V),
    /* far return: default operand size 32 in 64-bit mode, REX.W lretq (SDM
     * RET, "Far return ... in 64-bit mode"); CA releases imm16 more bytes */
    [0xCA] = OP(LRET, FM_I16, SZ_V, F_IMM16),
    [0xCB] = OP(LRET, FM_NONE, SZ_V, 0),
    [0xCC] = OP(INT3, FM_NONE, SZ_NONE, 0),
    [0xCD] = OP(INT, FM_I8, SZ_NONE, F_IMM8),
    /* iret: default operand size 32 (iretd), REX.W iretq, 66 iretw */
    [0xCF] = OP(IRET, FM_NONE, SZ_V, 0),

    [0xE4] = OP(IN, FM_ACC_I8, SZ_B, F_IMM8),
    [0xE5] = OP(IN, FM_ACC_I8, SZ_Z, F_IMM8),
    [0xE6] = OP(OUT, FM_I8_ACC, SZ_B, F_IMM8),
    [0xE7] = OP(OUT, FM_I8_ACC, SZ_Z, F_IMM8),
    [0xEC] = OP(IN, FM_ACC_DX, SZ_B, 0),
    [0xED] = OP(IN, FM_ACC_DX, SZ_Z, 0),
    [0xEE] = OP(OUT, FM_DX_ACC, SZ_B, 0),
    [0xEF] = OP(OUT, FM_DX_ACC, SZ_Z, 0),

    [0xF4] = OP(HLT, FM_NONE, SZ_NONE, 0),
    [0xFA] = OP(CLI, FM_NONE, SZ_NONE, 0),
    [0xFB] = OP(STI, FM_NONE, SZ_NONE, 0),
};

/* ---- two-byte opcode map, 0F xx (SDM Vol. 2D Table A-3) ----------------- *
 * In the 0F maps 66/F2/F3 may be part of the opcode (mandatory prefixes:
 * F3 0F 09 is wbnoinvd, F3 0F C7 /7 rdpid, 66 0F 38 82 invpcid).  So an
 * entry accepts 66/F2/F3 only where its flags say so; any other combination
 * may be a different instruction and is reported unsupported. */
#define SYS 0 /* no-operand system instructions: no prefix 66/F2/F3 (F3 0F 09 is wbnoinvd) */
static const struct entry map2[256] = {
    [0x00] = GROUP(G_GRP6),
    [0x01] = GROUP(G_GRP7),
    [0x02] = OP2(LAR, FM_GE, SZ_V, SZ_MW_RZ, F_MODRM | F_66_OS),
    [0x03] = OP2(LSL, FM_GE, SZ_V, SZ_MW_RZ, F_MODRM | F_66_OS),
    [0x04] = INVALID,
    [0x05] = OP(SYSCALL, FM_NONE, SZ_NONE, SYS),
    [0x06] = OP(CLTS, FM_NONE, SZ_NONE, SYS),
    [0x07] = OP(SYSRET, FM_NONE, SZ_DQ_W, SYS),
    [0x08] = OP(INVD, FM_NONE, SZ_NONE, SYS),
    [0x09] = OP(WBINVD, FM_NONE, SZ_NONE, SYS),
    [0x0A] = INVALID,
    [0x0B] = OP(UD2, FM_NONE, SZ_NONE, SYS),
    [0x0C] = INVALID,
    /* mov to/from control and debug registers (SDM MOV—Move to/from Control
     * Registers): operand size is always 64 in 64-bit mode, "the 2 bits in
     * the mod field are ignored" (always a register, no SIB/displacement);
     * 66 cannot change the size and is accepted; REX.R extends the cr/dr number (cr8), REX.B the general register. */
    [0x20] = OP(MOV_FROM_CR, FM_R_CR, SZ_Q, F_MODRM | F_MODREG | F_66_IGN),
    [0x21] = OP(MOV_FROM_DR, FM_R_DR, SZ_Q, F_MODRM | F_MODREG | F_66_IGN),
    [0x22] = OP(MOV_TO_CR, FM_CR_R, SZ_Q, F_MODRM | F_MODREG | F_66_IGN),
    [0x23] = OP(MOV_TO_DR, FM_DR_R, SZ_Q, F_MODRM | F_MODREG | F_66_IGN),
    /* 0F 24/26: mov to/from test registers, gone since the Pentium: #UD */
    [0x24] = INVALID, [0x25] = INVALID, [0x26] = INVALID, [0x27] = INVALID,
    [0x30] = OP(WRMSR, FM_NONE, SZ_NONE, SYS),
    [0x31] = OP(RDTSC, FM_NONE, SZ_NONE, SYS),
    [0x32] = OP(RDMSR, FM_NONE, SZ_NONE, SYS),
    [0x33] = OP(RDPMC, FM_NONE, SZ_NONE, SYS),
    [0xA2] = OP(CPUID, FM_NONE, SZ_NONE, SYS),
    [0xB6] = OP2(MOVZX, FM_GE, SZ_V, SZ_B, F_MODRM | F_66_OS),
    [0xB7] = OP2(MOVZX, FM_GE, SZ_V, SZ_W, F_MODRM | F_66_OS),
    [0xBE] = OP2(MOVSX, FM_GE, SZ_V, SZ_B, F_MODRM | F_66_OS),
    [0xBF] = OP2(MOVSX, FM_GE, SZ_V, SZ_W, F_MODRM | F_66_OS),
    [0xC7] = GROUP(G_GRP9),
};

/* ---- three-byte map 0F 38 xx (SDM Vol. 2D Table A-4) -------------------- */
static const struct entry map3_38[256] = {
    /* 66 0F 38 82 /r INVPCID r64, m128: register operand always 64-bit in
     * 64-bit mode, a register "memory" operand is #UD */
    [0x82] = OP2(INVPCID, FM_G_M, SZ_Q, SZ_DQ, F_MODRM | F_MEMONLY | F_NEED_66),
};

/* ---- groups (SDM Vol. 2D Table A-6, opcode extensions by ModR/M.reg) ---- */

/* Group 6, 0F 00: sldt/str store a word to memory, or the operand size to a
 * register (zero-extended); lldt/ltr/verr/verw take a word. */
static const struct entry grp6_mem[8] = {
    [0] = OP(SLDT, FM_E, SZ_W, F_66_OS), [1] = OP(STR, FM_E, SZ_W, F_66_OS),
    [2] = OP(LLDT, FM_E, SZ_W, F_66_OS), [3] = OP(LTR, FM_E, SZ_W, F_66_OS),
    [4] = OP(VERR, FM_E, SZ_W, F_66_OS), [5] = OP(VERW, FM_E, SZ_W, F_66_OS),
};
static const struct entry grp6_reg[8] = {
    [0] = OP(SLDT, FM_E, SZ_V, F_66_OS), [1] = OP(STR, FM_E, SZ_V, F_66_OS),
    [2] = OP(LLDT, FM_E, SZ_W, F_66_OS), [3] = OP(LTR, FM_E, SZ_W, F_66_OS),
    [4] = OP(VERR, FM_E, SZ_W, F_66_OS), [5] = OP(VERW, FM_E, SZ_W, F_66_OS),
};

/* Group 7, 0F 01, memory forms.  In 64-bit mode the pseudo-descriptor of
 * lgdt/lidt/sgdt/sidt is 2 + 8 bytes whatever the operand size (SDM LGDT). */
static const struct entry grp7_mem[8] = {
    [0] = OP(SGDT, FM_E, SZ_DT, F_66_IGN), [1] = OP(SIDT, FM_E, SZ_DT, F_66_IGN),
    [2] = OP(LGDT, FM_E, SZ_DT, F_66_IGN), [3] = OP(LIDT, FM_E, SZ_DT, F_66_IGN),
    [4] = OP(SMSW, FM_E, SZ_W, F_66_IGN),
    /* /5 memory: rstorssp (F3) */
    [6] = OP(LMSW, FM_E, SZ_W, F_66_IGN), [7] = OP(INVLPG, FM_E, SZ_M, F_66_IGN),
};
/* Group 7, 0F 01 with mod=11: indexed by ModR/M & 0x3F (the byte after 0F 01
 * minus 0xC0).  /4 and /6 are the register forms of smsw/lmsw; the others
 * are whole instructions.  No prefix is accepted on these (F3 0F 01 E8 is
 * setssbsy, F2 0F 01 ... others): anything with one is unsupported. */
#define G7R(o) OP(o, FM_NONE, SZ_NONE, 0)
static const struct entry grp7_reg[64] = {
    [0x01] = G7R(VMCALL),  /* C1 */
    [0x0A] = G7R(CLAC),    /* CA */
    [0x0B] = G7R(STAC),    /* CB */
    [0x10] = G7R(XGETBV),  /* D0 */
    [0x11] = G7R(XSETBV),  /* D1 */
    [0x19] = G7R(VMMCALL), /* D9 */
    [0x20] = OP(SMSW, FM_E, SZ_V, F_66_OS), [0x21] = OP(SMSW, FM_E, SZ_V, F_66_OS),
    [0x22] = OP(SMSW, FM_E, SZ_V, F_66_OS), [0x23] = OP(SMSW, FM_E, SZ_V, F_66_OS),
    [0x24] = OP(SMSW, FM_E, SZ_V, F_66_OS), [0x25] = OP(SMSW, FM_E, SZ_V, F_66_OS),
    [0x26] = OP(SMSW, FM_E, SZ_V, F_66_OS), [0x27] = OP(SMSW, FM_E, SZ_V, F_66_OS),
    [0x30] = OP(LMSW, FM_E, SZ_W, F_66_IGN), [0x31] = OP(LMSW, FM_E, SZ_W, F_66_IGN),
    [0x32] = OP(LMSW, FM_E, SZ_W, F_66_IGN), [0x33] = OP(LMSW, FM_E, SZ_W, F_66_IGN),
    [0x34] = OP(LMSW, FM_E, SZ_W, F_66_IGN), [0x35] = OP(LMSW, FM_E, SZ_W, F_66_IGN),
    [0x36] = OP(LMSW, FM_E, SZ_W, F_66_IGN), [0x37] = OP(LMSW, FM_E, SZ_W, F_66_IGN),
    [0x38] = G7R(SWAPGS),  /* F8 */
    [0x39] = G7R(RDTSCP),  /* F9 */
};

/* Group 9, 0F C7: only F3 0F C7 /7 mod=11, rdpid r64 (without F3 it is
 * rdseed; the memory forms are cmpxchg8b/16b, xrstors, ...). */
static const struct entry grp9_mem[8] = { 0 };
static const struct entry grp9_reg[8] = {
    [7] = OP(RDPID, FM_R, SZ_Q, F_NEED_F3),
};

/* Group 11, C6/C7: /0 is mov Eb,Ib / Ev,Iz; C6 F8 / C7 F8 are xabort/xbegin. */
static const struct entry grp11b[8] = { [0] = OP(MOV, FM_EI, SZ_B, F_IMM8) };
static const struct entry grp11v[8] = { [0] = OP(MOV, FM_EI, SZ_V, F_IMMZ) };

struct group {
    const struct entry *mem;  /* mod != 11, by reg                             */
    const struct entry *reg;  /* mod == 11, by reg, or by modrm & 0x3F         */
    bool reg_by_rm;
};

static const struct group groups[G_COUNT] = {
    [G_GRP6] = { grp6_mem, grp6_reg, false },
    [G_GRP7] = { grp7_mem, grp7_reg, true },
    [G_GRP9] = { grp9_mem, grp9_reg, false },
    [G_GRP11_B] = { grp11b, grp11b, false },
    [G_GRP11_V] = { grp11v, grp11v, false },
};

/* ---- byte fetching ------------------------------------------------------- */

struct cursor {
    const uint8_t *bytes;
    size_t avail;
    size_t pos;
};

/* The 15-byte limit comes first: a byte at offset 15 or later can never be
 * part of an instruction (#GP), whatever the caller fetched (§2.3.11). */
static int fetch(struct cursor *c, uint8_t *v)
{
    if (c->pos >= X86_MAX_INSN_LEN)
        return X86_DECODE_INVALID;
    if (c->pos >= c->avail)
        return X86_DECODE_TRUNCATED;
    *v = c->bytes[c->pos++];
    return 0;
}

/* n little-endian bytes, sign-extended from n*8 bits when `sign`. */
static int fetch_le(struct cursor *c, unsigned n, bool sign, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t b;
        int rc = fetch(c, &b);
        if (rc)
            return rc;
        x |= (uint64_t)b << (8 * i);
    }
    if (sign && n < 8 && (x >> (8 * n - 1)) & 1)
        x |= ~(uint64_t)0 << (8 * n);
    *v = x;
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static unsigned size_of(enum size_class sc, const struct x86_insn *in, bool is_mem)
{
    bool o16 = in->prefixes & X86_PFX_OPSIZE;
    bool w = in->rex & X86_REX_W;
    switch (sc) {
    case SZ_B: return 1;
    case SZ_W: return 2;
    case SZ_V: return w ? 8 : o16 ? 2 : 4;   /* §2.2.1.2: REX.W wins over 66 */
    case SZ_Z: return o16 ? 2 : 4;
    case SZ_D64: return (o16 && !w) ? 2 : 8;
    case SZ_Q: return 8;
    case SZ_DQ_W: return w ? 8 : 4;
    case SZ_MW_RV: return is_mem ? 2 : (w ? 8 : o16 ? 2 : 4);
    case SZ_VD: return (o16 && !w) ? 2 : 4;
    case SZ_MW_RZ: return (is_mem || (o16 && !w)) ? 2 : 4;
    case SZ_DT: return 10;
    case SZ_DQ: return 16;
    case SZ_M:
    case SZ_NONE:
    default: return 0;
    }
}

/* A general-register operand.  §2.2.1.2 / Table 3-1: for byte registers,
 * encodings 4-7 are AH, CH, DH, BH without any REX prefix and SPL, BPL, SIL,
 * DIL with one (even a REX of 0x40). */
static struct x86_operand gpr(unsigned reg, unsigned size, uint8_t rex)
{
    struct x86_operand o = { X86_OPND_GPR, (uint8_t)reg, (uint8_t)size, false };
    if (size == 1 && rex == 0 && reg >= 4 && reg <= 7) {
        o.high8 = true;
        o.reg = (uint8_t)(reg - 4);
    }
    return o;
}

/* The r/m operand: a register for mod=11, else insn->mem. */
static struct x86_operand rm_operand(const struct x86_insn *in, unsigned size)
{
    if (in->has_mem) {
        struct x86_operand o = { X86_OPND_MEM, 0, (uint8_t)size, false };
        return o;
    }
    return gpr(in->rm | ((in->rex & X86_REX_B) ? 8u : 0u), size, in->rex);
}

/* ModR/M memory forms, 64-bit (and with 67, 32-bit) addressing: SDM Vol. 2A
 * Table 2-2 (ModR/M), Table 2-3 (SIB), Table 2-5 (REX special cases). */
static int decode_mem(struct cursor *c, struct x86_insn *in)
{
    struct x86_mem *m = &in->mem;
    unsigned disp_size = 0;
    int rc;

    in->has_mem = true;
    m->base = X86_REG_NONE;
    m->index = X86_REG_NONE;
    m->scale = 1;

    if (in->rm == 4) {
        /* rm=100 (also with REX.B, i.e. r12): a SIB byte follows.  So r12 as
         * a base always needs a SIB (Table 2-5). */
        if ((rc = fetch(c, &in->sib)))
            return rc;
        in->has_sib = true;
        in->sib_scale = in->sib >> 6;
        in->sib_index = (in->sib >> 3) & 7;
        in->sib_base = in->sib & 7;
        m->scale = (uint8_t)(1u << in->sib_scale);
        /* index=100 without REX.X: no index (the scale is then unused);
         * with REX.X it is r12, a real index. */
        unsigned idx = in->sib_index | ((in->rex & X86_REX_X) ? 8u : 0u);
        if (idx != 4)
            m->index = (uint8_t)idx;
        if (in->sib_base == 5 && in->mod == 0) {
            /* base=101 with mod=00: no base, disp32 (Table 2-3 note 1);
             * REX.B does not matter: r13 is not the base either. */
            disp_size = 4;
        } else {
            m->base = (uint8_t)(in->sib_base | ((in->rex & X86_REX_B) ? 8u : 0u));
        }
    } else if (in->rm == 5 && in->mod == 0) {
        /* §2.2.1.6: mod=00 rm=101 is RIP-relative disp32 in 64-bit mode (was
         * disp32 alone in 32-bit mode), also with REX.B: rbp and r13 as a base
         * need mod=01 with a disp8 of 0.  The displacement is relative to the
         * address of the NEXT instruction (the immediate comes in between). */
        m->rip_relative = true;
        disp_size = 4;
    } else {
        m->base = (uint8_t)(in->rm | ((in->rex & X86_REX_B) ? 8u : 0u));
    }
    if (in->mod == 1)
        disp_size = 1;
    else if (in->mod == 2)
        disp_size = 4;

    if (disp_size) {
        uint64_t d;
        if ((rc = fetch_le(c, disp_size, true, &d)))
            return rc;
        in->disp_size = (uint8_t)disp_size;
        in->disp = (int64_t)d;
        m->disp = (int64_t)d;
    }
    return 0;
}

/* ---- the decoder ------------------------------------------------------- */

static bool is_legacy_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xF0: case 0xF2: case 0xF3:
        return true;
    default:
        return false;
    }
}

static void note_prefix(struct x86_insn *in, uint8_t b)
{
    switch (b) {
    case 0x66: in->prefixes |= X86_PFX_OPSIZE; break;
    case 0x67: in->prefixes |= X86_PFX_ADDRSIZE; break;
    case 0xF0: in->prefixes |= X86_PFX_LOCK; break;
    /* F2 and F3 are one group (§2.1.1); when both appear the last one is
     * the one that counts, as real processors do for mandatory prefixes. */
    case 0xF2: in->prefixes |= X86_PFX_REPNE; in->rep = b; break;
    case 0xF3: in->prefixes |= X86_PFX_REP; in->rep = b; break;
    /* Segment overrides: the last one wins.  In 64-bit mode ES/CS/SS/DS have
     * base 0 (§3.2.4 of Vol. 1); only FS and GS add a base. */
    case 0x26: in->prefixes |= X86_PFX_SEG; in->seg = X86_SEG_ES; break;
    case 0x2E: in->prefixes |= X86_PFX_SEG; in->seg = X86_SEG_CS; break;
    case 0x36: in->prefixes |= X86_PFX_SEG; in->seg = X86_SEG_SS; break;
    case 0x3E: in->prefixes |= X86_PFX_SEG; in->seg = X86_SEG_DS; break;
    case 0x64: in->prefixes |= X86_PFX_SEG; in->seg = X86_SEG_FS; break;
    case 0x65: in->prefixes |= X86_PFX_SEG; in->seg = X86_SEG_GS; break;
    default: break;
    }
}

/* The prefix rules of an entry of the 0F maps (see map2's comment). */
static bool prefixes_ok_0f(const struct x86_insn *in, uint16_t flags)
{
    bool p66 = in->prefixes & X86_PFX_OPSIZE;
    bool f3 = in->prefixes & X86_PFX_REP;
    bool f2 = in->prefixes & X86_PFX_REPNE;
    if (flags & F_NEED_66)
        return p66 && !f2 && !f3;
    if (flags & F_NEED_F3)
        return f3 && !f2 && !p66;
    if (f2 || f3)
        return false;
    return !p66 || (flags & (F_66_OS | F_66_IGN));
}

int x86_decode(const uint8_t *bytes, size_t avail, struct x86_insn *out)
{
    struct cursor c = { bytes, avail, 0 };
    struct x86_insn in;
    uint8_t b;
    int rc;

    memset(&in, 0, sizeof(in));
    in.addr_size = 8;

    /* Prefixes.  Legacy prefixes come in any order and may repeat (only the
     * 15-byte limit bounds them).  §2.2.1: a REX prefix counts only when it
     * immediately precedes the opcode (or the 0F escape): a REX followed by
     * a legacy prefix or by another REX is ignored. */
    for (;;) {
        if ((rc = fetch(&c, &b)))
            return rc;
        if (is_legacy_prefix(b)) {
            note_prefix(&in, b);
            in.rex = 0;
        } else if ((b & 0xF0) == 0x40) {
            in.rex = b;
        } else {
            break;
        }
    }
    if (in.prefixes & X86_PFX_ADDRSIZE)
        in.addr_size = 4;

    /* Opcode. */
    const struct entry *e;
    bool map0f = false;
    in.opcode[0] = b;
    in.opcode_len = 1;
    if (b == 0x0F) {
        map0f = true;
        if ((rc = fetch(&c, &b)))
            return rc;
        in.opcode[1] = b;
        in.opcode_len = 2;
        if (b == 0x38) {
            if ((rc = fetch(&c, &b)))
                return rc;
            in.opcode[2] = b;
            in.opcode_len = 3;
            e = &map3_38[b];
        } else {
            /* 0F 3A (three-byte map with imm8) and 0F 0F (3DNow!) are
             * unsupported: e is the all-zero K_UNSUPP entry of map2. */
            e = &map2[b];
        }
    } else {
        e = &map1[b];
    }

    if (e->kind == K_INVALID)
        return X86_DECODE_INVALID;
    if (e->kind == K_UNSUPP)
        return X86_DECODE_UNSUPPORTED;

    /* ModR/M (mod 7:6, reg 5:3, rm 2:0; §2.1.3). */
    if (e->flags & F_MODRM) {
        if ((rc = fetch(&c, &in.modrm)))
            return rc;
        in.has_modrm = true;
        in.mod = in.modrm >> 6;
        in.reg = (in.modrm >> 3) & 7;
        in.rm = in.modrm & 7;
    }
    if (e->kind == K_GROUP) {
        const struct group *g = &groups[e->op];
        if (in.mod != 3)
            e = &g->mem[in.reg];
        else
            e = g->reg_by_rm ? &g->reg[in.modrm & 0x3F] : &g->reg[in.reg];
        if (e->kind == K_INVALID)
            return X86_DECODE_INVALID;
        if (e->kind != K_OP)
            return X86_DECODE_UNSUPPORTED;
    }

    if (map0f && !prefixes_ok_0f(&in, e->flags))
        return X86_DECODE_UNSUPPORTED;
    /* §2.1.1 / LOCK: lock is allowed only on read-modify-write instructions
     * with a memory destination (add, xchg, cmpxchg, ...); none of the
     * supported ones is, so lock hlt, lock mov ... raise #UD.  (AMD's
     * "lock mov cr0" alias of cr8 is not supported: it is #UD on Intel.) */
    if (in.prefixes & X86_PFX_LOCK)
        return X86_DECODE_INVALID;

    if (in.has_modrm) {   /* the group entries inherit the ModR/M of the opcode */
        if (in.mod == 3 && (e->flags & F_MEMONLY))
            return X86_DECODE_INVALID;
        if (in.mod != 3 && !(e->flags & F_MODREG)) {
            if ((rc = decode_mem(&c, &in)))
                return rc;
        }
    }

    in.op = (enum x86_op)e->op;
    in.op_size = (uint8_t)size_of((enum size_class)e->sz, &in, in.has_mem);
    unsigned size2 = e->sz2 ? size_of((enum size_class)e->sz2, &in, in.has_mem) : in.op_size;

    /* Immediates (after any displacement: Figure 2-1). */
    if (e->flags & F_IMM8) {
        uint64_t v;
        if ((rc = fetch_le(&c, 1, false, &v)))
            return rc;
        in.imm_size = 1;
        in.imm = v;
    } else if (e->flags & F_IMM16) {
        uint64_t v;
        if ((rc = fetch_le(&c, 2, false, &v)))
            return rc;
        in.imm_size = 2;
        in.imm = v;
    } else if (e->flags & F_IMMZ) {
        /* Iz: imm16 with 66, else imm32; with REX.W the imm32 is
         * sign-extended to 64 bits (there is no imm64 form of C7). */
        unsigned n = in.op_size == 2 ? 2 : 4;
        uint64_t v;
        if ((rc = fetch_le(&c, n, in.op_size == 8, &v)))
            return rc;
        in.imm_size = (uint8_t)n;
        in.imm = v;
    } else if (e->flags & F_MOFFS) {
        /* A0-A3: the offset has the address size, 8 bytes in 64-bit mode (4
         * with 67, zero-extended); no ModR/M, no base or index (§2.2.1.4). */
        unsigned n = in.addr_size;
        uint64_t v;
        if ((rc = fetch_le(&c, n, false, &v)))
            return rc;
        in.disp_size = (uint8_t)n;
        in.disp = (int64_t)v;
        in.has_mem = true;
        in.mem.base = X86_REG_NONE;
        in.mem.index = X86_REG_NONE;
        in.mem.scale = 1;
        in.mem.moffs = true;
        in.mem.disp = (int64_t)v;
    }

    if (in.has_mem) {
        /* Default segment DS, or SS for an rSP/rBP base (§3.7.4 of Vol. 1);
         * in 64-bit mode only an FS/GS override changes the address. */
        if (in.prefixes & X86_PFX_SEG)
            in.mem.seg = in.seg;
        else if (in.mem.base == X86_RSP || in.mem.base == X86_RBP)
            in.mem.seg = X86_SEG_SS;
        else
            in.mem.seg = X86_SEG_DS;
    }

    unsigned regx = in.reg | ((in.rex & X86_REX_R) ? 8u : 0u);
    unsigned rmx = in.rm | ((in.rex & X86_REX_B) ? 8u : 0u);
    struct x86_operand *o = in.opnd;
    const struct x86_operand imm = { X86_OPND_IMM, 0, (uint8_t)in.op_size, false };
    const struct x86_operand mem = { X86_OPND_MEM, 0, (uint8_t)in.op_size, false };

    switch ((enum form)e->form) {
    case FM_NONE:
        break;
    case FM_E:
        o[0] = rm_operand(&in, in.op_size);
        in.nopnd = 1;
        break;
    case FM_EG:
        o[0] = rm_operand(&in, in.op_size);
        o[1] = gpr(regx, in.op_size, in.rex);
        in.nopnd = 2;
        break;
    case FM_GE:
        o[0] = gpr(regx, in.op_size, in.rex);
        o[1] = rm_operand(&in, size2);
        in.nopnd = 2;
        break;
    case FM_EI:
        o[0] = rm_operand(&in, in.op_size);
        o[1] = imm;
        in.nopnd = 2;
        break;
    case FM_ACC_MOFFS:
        o[0] = gpr(X86_RAX, in.op_size, in.rex);
        o[1] = mem;
        in.nopnd = 2;
        break;
    case FM_MOFFS_ACC:
        o[0] = mem;
        o[1] = gpr(X86_RAX, in.op_size, in.rex);
        in.nopnd = 2;
        break;
    case FM_ACC_I8:
        o[0] = gpr(X86_RAX, in.op_size, in.rex);
        o[1] = imm;
        o[1].size = 1;
        in.nopnd = 2;
        break;
    case FM_I8_ACC:
        o[0] = imm;
        o[0].size = 1;
        o[1] = gpr(X86_RAX, in.op_size, in.rex);
        in.nopnd = 2;
        break;
    case FM_ACC_DX:
        o[0] = gpr(X86_RAX, in.op_size, in.rex);
        o[1] = gpr(X86_RDX, 2, in.rex);
        in.nopnd = 2;
        break;
    case FM_DX_ACC:
        o[0] = gpr(X86_RDX, 2, in.rex);
        o[1] = gpr(X86_RAX, in.op_size, in.rex);
        in.nopnd = 2;
        break;
    case FM_I8:
        o[0] = imm;
        o[0].size = 1;
        in.nopnd = 1;
        break;
    case FM_I16:
        o[0] = imm;
        o[0].size = 2;
        in.nopnd = 1;
        break;
    case FM_R_CR:
    case FM_CR_R:
        /* Only cr0, cr2, cr3, cr4 and (with REX.R) cr8 exist: #UD otherwise. */
        if (regx != 0 && regx != 2 && regx != 3 && regx != 4 && regx != 8)
            return X86_DECODE_INVALID;
        {
            struct x86_operand cr = { X86_OPND_CR, (uint8_t)regx, 8, false };
            struct x86_operand r = gpr(rmx, 8, in.rex);
            o[0] = e->form == FM_R_CR ? r : cr;
            o[1] = e->form == FM_R_CR ? cr : r;
        }
        in.nopnd = 2;
        break;
    case FM_R_DR:
    case FM_DR_R:
        /* dr0-dr7; REX.R (dr8-dr15) is #UD.  dr4/dr5 are decoded: whether
         * they alias dr6/dr7 or fault depends on CR4.DE, the monitor's call. */
        if (regx > 7)
            return X86_DECODE_INVALID;
        {
            struct x86_operand dr = { X86_OPND_DR, (uint8_t)regx, 8, false };
            struct x86_operand r = gpr(rmx, 8, in.rex);
            o[0] = e->form == FM_R_DR ? r : dr;
            o[1] = e->form == FM_R_DR ? dr : r;
        }
        in.nopnd = 2;
        break;
    case FM_E_SREG:
    case FM_SREG_E: {
        /* The sreg field is ModR/M.reg alone (REX.R does not extend it);
         * 6 and 7 are #UD, and so is a mov to CS (SDM MOV). */
        if (in.reg > X86_SEG_GS || (e->form == FM_SREG_E && in.reg == X86_SEG_CS))
            return X86_DECODE_INVALID;
        struct x86_operand s = { X86_OPND_SREG, in.reg, 2, false };
        if (e->form == FM_E_SREG) {
            o[0] = rm_operand(&in, in.op_size);
            o[1] = s;
        } else {
            o[0] = s;
            o[1] = rm_operand(&in, 2);
        }
        in.nopnd = 2;
        break;
    }
    case FM_G_M:
        o[0] = gpr(regx, in.op_size, in.rex);
        o[1] = rm_operand(&in, size2);
        in.nopnd = 2;
        break;
    case FM_R:
        o[0] = gpr(rmx, in.op_size, in.rex);
        in.nopnd = 1;
        break;
    }

    in.length = (uint8_t)c.pos;
    *out = in;
    return X86_DECODE_OK;
}

/* ---- names and formatting ------------------------------------------------ */

static const char *const mnemonics[X86_OP_COUNT] = {
    [X86_OP_NONE] = "?",
    [X86_OP_HLT] = "hlt", [X86_OP_CLI] = "cli", [X86_OP_STI] = "sti",
    [X86_OP_IN] = "in", [X86_OP_OUT] = "out", [X86_OP_INS] = "ins", [X86_OP_OUTS] = "outs",
    [X86_OP_MOV_FROM_CR] = "mov", [X86_OP_MOV_TO_CR] = "mov",
    [X86_OP_MOV_FROM_DR] = "mov", [X86_OP_MOV_TO_DR] = "mov",
    [X86_OP_LGDT] = "lgdt", [X86_OP_LIDT] = "lidt", [X86_OP_SGDT] = "sgdt", [X86_OP_SIDT] = "sidt",
    [X86_OP_LLDT] = "lldt", [X86_OP_LTR] = "ltr", [X86_OP_SLDT] = "sldt", [X86_OP_STR] = "str",
    [X86_OP_LMSW] = "lmsw", [X86_OP_SMSW] = "smsw", [X86_OP_INVLPG] = "invlpg",
    [X86_OP_VERR] = "verr", [X86_OP_VERW] = "verw", [X86_OP_LAR] = "lar", [X86_OP_LSL] = "lsl",
    [X86_OP_SWAPGS] = "swapgs", [X86_OP_VMCALL] = "vmcall", [X86_OP_VMMCALL] = "vmmcall",
    [X86_OP_RDTSCP] = "rdtscp", [X86_OP_CLAC] = "clac", [X86_OP_STAC] = "stac",
    [X86_OP_WRMSR] = "wrmsr", [X86_OP_RDMSR] = "rdmsr", [X86_OP_RDTSC] = "rdtsc",
    [X86_OP_RDPMC] = "rdpmc", [X86_OP_CPUID] = "cpuid", [X86_OP_CLTS] = "clts",
    [X86_OP_WBINVD] = "wbinvd", [X86_OP_INVD] = "invd", [X86_OP_IRET] = "iret",
    [X86_OP_LRET] = "lret",
    [X86_OP_SYSRET] = "sysret", [X86_OP_SYSCALL] = "syscall", [X86_OP_INT] = "int",
    [X86_OP_INT3] = "int3", [X86_OP_UD2] = "ud2", [X86_OP_PUSHF] = "pushf", [X86_OP_POPF] = "popf",
    [X86_OP_INVPCID] = "invpcid", [X86_OP_XSETBV] = "xsetbv", [X86_OP_XGETBV] = "xgetbv",
    [X86_OP_RDPID] = "rdpid", [X86_OP_MOV_FROM_SREG] = "mov", [X86_OP_MOV_TO_SREG] = "mov",
    [X86_OP_MOV] = "mov", [X86_OP_MOVZX] = "movzx", [X86_OP_MOVSX] = "movsx",
    [X86_OP_MOVSXD] = "movsxd", [X86_OP_MOVS] = "movs", [X86_OP_STOS] = "stos",
    [X86_OP_LODS] = "lods",
};

const char *x86_mnemonic(enum x86_op op)
{
    if ((unsigned)op >= X86_OP_COUNT || !mnemonics[op])
        return "?";
    return mnemonics[op];
}

const char *x86_decode_strerror(int rc)
{
    switch (rc) {
    case X86_DECODE_OK: return "ok";
    case X86_DECODE_TRUNCATED: return "truncated";
    case X86_DECODE_INVALID: return "invalid";
    case X86_DECODE_UNSUPPORTED: return "unsupported";
    default: return "unknown error";
    }
}

static const char *const reg64[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
static const char *const reg32[16] = {
    "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
    "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d" };
static const char *const reg16[16] = {
    "ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
    "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w" };
static const char *const reg8[16] = {
    "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
    "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b" };
static const char *const reg8h[4] = { "ah", "ch", "dh", "bh" };
static const char *const sregs[6] = { "es", "cs", "ss", "ds", "fs", "gs" };

static const char *gpr_name(unsigned reg, unsigned size, bool high8)
{
    reg &= 15;
    if (high8)
        return reg8h[reg & 3];
    switch (size) {
    case 1: return reg8[reg];
    case 2: return reg16[reg];
    case 4: return reg32[reg];
    default: return reg64[reg];
    }
}

/* A bounded appender with snprintf's "would have written" count. */
struct out {
    char *buf;
    size_t len;
    size_t n;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = o->n < o->len ? o->buf + o->n : NULL;
    size_t room = o->n < o->len ? o->len - o->n : 0;
    int k = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->n += (size_t)k;
}

static void put_mem(struct out *o, const struct x86_insn *in, unsigned size)
{
    const struct x86_mem *m = &in->mem;
    const char *const *names = in->addr_size == 4 ? reg32 : reg64;
    switch (size) {
    case 1: put(o, "byte ptr "); break;
    case 2: put(o, "word ptr "); break;
    case 4: put(o, "dword ptr "); break;
    case 8: put(o, "qword ptr "); break;
    case 16: put(o, "xmmword ptr "); break;
    default: break;
    }
    if (in->prefixes & X86_PFX_SEG)
        put(o, "%s:", sregs[m->seg]);
    put(o, "[");
    bool any = false;
    if (m->rip_relative) {
        put(o, in->addr_size == 4 ? "eip" : "rip");
        any = true;
    } else if (m->base != X86_REG_NONE) {
        put(o, "%s", names[m->base & 15]);
        any = true;
    }
    if (m->index != X86_REG_NONE) {
        put(o, "%s%s*%u", any ? "+" : "", names[m->index & 15], m->scale);
        any = true;
    }
    if (!any) {
        uint64_t a = (uint64_t)m->disp;
        if (in->addr_size == 4)
            a &= 0xffffffffu;
        put(o, "0x%llx", (unsigned long long)a);
    } else if (m->disp > 0) {
        put(o, "+0x%llx", (unsigned long long)m->disp);
    } else if (m->disp < 0) {
        put(o, "-0x%llx", (unsigned long long)(0 - (uint64_t)m->disp));
    }
    put(o, "]");
}

static void put_operand(struct out *o, const struct x86_insn *in, const struct x86_operand *op)
{
    switch (op->kind) {
    case X86_OPND_GPR: put(o, "%s", gpr_name(op->reg, op->size, op->high8)); break;
    case X86_OPND_MEM: put_mem(o, in, op->size); break;
    case X86_OPND_IMM: put(o, "0x%llx", (unsigned long long)in->imm); break;
    case X86_OPND_CR: put(o, "cr%u", op->reg); break;
    case X86_OPND_DR: put(o, "dr%u", op->reg); break;
    case X86_OPND_SREG: put(o, "%s", sregs[op->reg % 6]); break;
    default: put(o, "?"); break;
    }
}

static char size_suffix(unsigned size)
{
    switch (size) {
    case 1: return 'b';
    case 2: return 'w';
    case 4: return 'd';
    default: return 'q';
    }
}

int x86_format(const struct x86_insn *insn, char *buf, size_t len)
{
    struct out o = { buf, len, 0 };
    if (len)
        buf[0] = '\0';

    bool string_op = insn->op == X86_OP_MOVS || insn->op == X86_OP_STOS ||
                     insn->op == X86_OP_LODS || insn->op == X86_OP_INS ||
                     insn->op == X86_OP_OUTS;
    if (string_op && insn->rep)
        put(&o, "%s ", insn->rep == 0xF3 ? "rep" : "repne");
    put(&o, "%s", x86_mnemonic(insn->op));
    switch (insn->op) {
    case X86_OP_MOVS: case X86_OP_STOS: case X86_OP_LODS:
    case X86_OP_INS: case X86_OP_OUTS:
    case X86_OP_IRET: case X86_OP_SYSRET: case X86_OP_LRET:
        put(&o, "%c", size_suffix(insn->op_size));
        break;
    case X86_OP_PUSHF: case X86_OP_POPF:
        put(&o, "%c", insn->op_size == 2 ? 'w' : 'q');
        break;
    default:
        break;
    }
    for (unsigned i = 0; i < insn->nopnd && i < 2; i++) {
        put(&o, i ? ", " : " ");
        put_operand(&o, insn, &insn->opnd[i]);
    }
    return (int)o.n;
}

uint64_t x86_mem_address(const struct x86_insn *insn, const uint64_t gpr_val[16], uint64_t rip)
{
    const struct x86_mem *m = &insn->mem;
    uint64_t a;
    if (m->moffs) {
        a = (uint64_t)m->disp;
    } else {
        if (m->rip_relative)
            a = rip + insn->length;
        else if (m->base != X86_REG_NONE)
            a = gpr_val[m->base & 15];
        else
            a = 0;
        if (m->index != X86_REG_NONE)
            a += gpr_val[m->index & 15] * m->scale;
        a += (uint64_t)m->disp;
    }
    /* With 67 the effective address is computed in 32 bits (§3.3.7 Vol. 1):
     * modular arithmetic, so truncating the 64-bit sum is the same. */
    if (insn->addr_size == 4)
        a &= 0xffffffffu;
    return a;
}

bool x86_op_needs_cpl0(enum x86_op op)
{
    switch (op) {
    case X86_OP_MOV: case X86_OP_MOVZX: case X86_OP_MOVSX: case X86_OP_MOVSXD:
    case X86_OP_MOVS: case X86_OP_STOS: case X86_OP_LODS:
    case X86_OP_CPUID: case X86_OP_RDTSC: case X86_OP_PUSHF: case X86_OP_POPF:
    case X86_OP_SGDT: case X86_OP_SIDT: case X86_OP_SLDT: case X86_OP_STR: case X86_OP_SMSW:
    case X86_OP_MOV_FROM_SREG: case X86_OP_LAR: case X86_OP_LSL: case X86_OP_VERR:
    case X86_OP_VERW: case X86_OP_SYSCALL: case X86_OP_INT3: case X86_OP_UD2:
    case X86_OP_RDPID: case X86_OP_RDTSCP: case X86_OP_XGETBV:
        return false;
    default:
        return true;
    }
}
