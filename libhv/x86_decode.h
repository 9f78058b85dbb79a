/*
 * x86-64 instruction decoder for the trap-and-emulate monitor.
 *
 * A guest kernel deprivileged to ring 3 faults on every privileged
 * instruction (#GP -> SIGSEGV, #UD -> SIGILL) and on MMIO accesses (#PF on an
 * unmapped guest-physical page).  The host tells the monitor only *that* the
 * instruction faulted, not *what* it was: the monitor fetches up to 15 bytes
 * at the guest RIP and decodes them here, then emulates the instruction on
 * its virtual CPU.
 *
 * Scope: 64-bit mode only, and only what a ring-0 guest kernel executes that
 * faults in ring 3 plus the plain moves a compiled MMIO driver uses (see the
 * list in enum x86_op).  Anything else is X86_DECODE_UNSUPPORTED: the monitor
 * stops the guest with "unsupported instruction <bytes> at <rip>" rather than
 * guessing.  The decoder is pure: no I/O, no state, reads only bytes[0..avail).
 *
 * References are to the Intel SDM: Vol. 2A §2.1 (instruction format), §2.2.1
 * (REX), Tables 2-2/2-3 (ModR/M and SIB), §2.2.1.6 (RIP-relative), Vol. 2D
 * Appendix A (opcode map).
 */
#ifndef LIBHV_X86_DECODE_H
#define LIBHV_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return values of x86_decode(). */
#define X86_DECODE_OK           0
#define X86_DECODE_TRUNCATED  (-1) /* bytes[0..avail) end inside the instruction (and before
                                      byte 15): fetch more (e.g. the next page) and retry */
#define X86_DECODE_INVALID    (-2) /* invalid in 64-bit mode (#UD) or longer than 15 bytes (#GP) */
#define X86_DECODE_UNSUPPORTED (-3) /* a valid (or unknown) instruction outside the supported set */

#define X86_MAX_INSN_LEN 15

enum x86_op {
    X86_OP_NONE = 0,
    /* system / privileged */
    X86_OP_HLT,
    X86_OP_CLI,
    X86_OP_STI,
    X86_OP_IN,          /* in al/ax/eax, imm8|dx                             */
    X86_OP_OUT,         /* out imm8|dx, al/ax/eax                            */
    X86_OP_INS,         /* ins[bwd] es:[rdi], dx  (rep: prefixes)            */
    X86_OP_OUTS,        /* outs[bwd] dx, seg:[rsi]                           */
    X86_OP_MOV_FROM_CR, /* mov r64, crN                                      */
    X86_OP_MOV_TO_CR,   /* mov crN, r64                                      */
    X86_OP_MOV_FROM_DR,
    X86_OP_MOV_TO_DR,
    X86_OP_LGDT,
    X86_OP_LIDT,
    X86_OP_SGDT,
    X86_OP_SIDT,
    X86_OP_LLDT,
    X86_OP_LTR,
    X86_OP_SLDT,
    X86_OP_STR,
    X86_OP_LMSW,
    X86_OP_SMSW,
    X86_OP_INVLPG,
    X86_OP_VERR,
    X86_OP_VERW,
    X86_OP_LAR,
    X86_OP_LSL,
    X86_OP_SWAPGS,
    X86_OP_VMCALL,
    X86_OP_VMMCALL,
    X86_OP_RDTSCP,
    X86_OP_CLAC,
    X86_OP_STAC,
    X86_OP_WRMSR,
    X86_OP_RDMSR,
    X86_OP_RDTSC,
    X86_OP_RDPMC,
    X86_OP_CPUID,
    X86_OP_CLTS,
    X86_OP_WBINVD,
    X86_OP_INVD,
    X86_OP_IRET,        /* op_size 2 (iretw), 4 (iretd), 8 (iretq)           */
    X86_OP_SYSRET,      /* op_size 4 (to compat mode) or 8 (sysretq)         */
    X86_OP_LRET,        /* far return (CB; CA imm16: bytes to release):
                           op_size 4 (lretd) or 8 (REX.W lretq), 2 with 66   */
    X86_OP_SYSCALL,
    X86_OP_INT,         /* int imm8: vector in imm                           */
    X86_OP_INT3,
    X86_OP_UD2,
    X86_OP_PUSHF,       /* op_size 8 (pushfq) or 2 (66: pushfw)              */
    X86_OP_POPF,
    X86_OP_INVPCID,     /* invpcid r64, m128                                 */
    X86_OP_XSETBV,
    X86_OP_XGETBV,
    X86_OP_RDPID,       /* rdpid r64                                         */
    X86_OP_MOV_FROM_SREG, /* mov r/m, sreg                                   */
    X86_OP_MOV_TO_SREG,   /* mov sreg, r/m16                                 */
    /* data moves that may touch MMIO */
    X86_OP_MOV,         /* 88-8B, C6/C7 /0, A0-A3 (moffs)                    */
    X86_OP_MOVZX,       /* 0F B6/B7                                          */
    X86_OP_MOVSX,       /* 0F BE/BF                                          */
    X86_OP_MOVSXD,      /* 63                                                */
    X86_OP_MOVS,        /* movs[bwdq] es:[rdi], seg:[rsi]                    */
    X86_OP_STOS,        /* stos[bwdq] es:[rdi], al/ax/eax/rax                */
    X86_OP_LODS,        /* lods[bwdq] al/ax/eax/rax, seg:[rsi]               */
    X86_OP_COUNT
};

/* Legacy prefixes seen (insn.prefixes). */
#define X86_PFX_OPSIZE   0x01u /* 66 */
#define X86_PFX_ADDRSIZE 0x02u /* 67 */
#define X86_PFX_LOCK     0x04u /* F0 */
#define X86_PFX_REPNE    0x08u /* F2 */
#define X86_PFX_REP      0x10u /* F3 */
#define X86_PFX_SEG      0x20u /* a segment override: see insn.seg */

/* REX bits (insn.rex holds the REX byte in effect, 0 when none). */
#define X86_REX_W 0x08u
#define X86_REX_R 0x04u
#define X86_REX_X 0x02u
#define X86_REX_B 0x01u

/* Segment registers, in the encoding order of the ModR/M sreg field. */
enum x86_seg { X86_SEG_ES = 0, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS };

/* General registers in hardware encoding order (not user_regs_struct order). */
enum x86_gpr {
    X86_RAX = 0, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
    X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15
};
#define X86_REG_NONE 0xffu

/* A memory operand, to evaluate against the guest registers:
 *   address = (rip_relative ? next_rip : base) + index * scale + disp,
 *   truncated to addr_size, plus the base of `seg` (only FS and GS have a
 *   base in 64-bit mode).  x86_mem_address() does all but the segment. */
struct x86_mem {
    uint8_t base;       /* 0-15 or X86_REG_NONE                             */
    uint8_t index;      /* 0-15 or X86_REG_NONE                             */
    uint8_t scale;      /* 1, 2, 4, 8                                        */
    bool rip_relative;  /* disp is relative to the NEXT instruction          */
    bool moffs;         /* A0-A3: disp is the absolute address               */
    uint8_t seg;        /* enum x86_seg: the override, else DS (SS for a RSP/RBP base) */
    int64_t disp;       /* sign-extended displacement, or the moffs address  */
};

enum x86_opnd_kind {
    X86_OPND_NONE = 0,
    X86_OPND_GPR,       /* reg 0-15; with high8 the operand is bits 15:8 of
                           reg 0-3, i.e. AH/CH/DH/BH (no REX, encoding 4-7)  */
    X86_OPND_MEM,       /* insn.mem                                          */
    X86_OPND_IMM,       /* insn.imm                                          */
    X86_OPND_CR,        /* reg: control register number                      */
    X86_OPND_DR,        /* reg: debug register number                        */
    X86_OPND_SREG,      /* reg: enum x86_seg                                 */
};

struct x86_operand {
    uint8_t kind;       /* enum x86_opnd_kind                                */
    uint8_t reg;
    uint8_t size;       /* bytes: 1, 2, 4, 8; 10 for a descriptor-table
                           pseudo-descriptor, 16 for invpcid's m128, 0 for
                           invlpg's m                                        */
    bool high8;
};

struct x86_insn {
    enum x86_op op;
    uint8_t length;         /* total bytes, 1..15                            */
    /* prefixes */
    uint8_t prefixes;       /* X86_PFX_*                                     */
    uint8_t rep;            /* 0, 0xF2 or 0xF3: the last of F2/F3            */
    uint8_t seg;            /* the last segment override, if X86_PFX_SEG     */
    uint8_t rex;            /* REX byte in effect (0: none or ignored)        */
    /* opcode */
    uint8_t opcode[3];      /* e.g. {0x0F, 0x22}                             */
    uint8_t opcode_len;
    /* ModR/M and SIB, raw 3-bit fields (no REX extension) */
    bool has_modrm;
    uint8_t modrm, mod, reg, rm;
    bool has_sib;
    uint8_t sib, sib_scale, sib_index, sib_base;
    /* displacement and immediate as encoded */
    uint8_t disp_size;      /* 0, 1, 4 (8 for a 64-bit moffs)               */
    int64_t disp;
    uint8_t imm_size;       /* 0, 1, 2, 4                                    */
    uint64_t imm;           /* as the instruction uses it: C7 imm32 with
                               REX.W is sign-extended to 64 bits; imm8 port
                               numbers and vectors are zero-extended          */
    uint8_t op_size;        /* operand size in bytes (0 when not meaningful) */
    uint8_t addr_size;      /* 8, or 4 with 67                               */
    bool has_mem;           /* mem is valid (a ModR/M memory form or moffs;
                               string instructions' implicit [rsi]/[rdi] are
                               not described here)                           */
    struct x86_mem mem;
    /* operands, Intel order: opnd[0] is the destination */
    uint8_t nopnd;
    struct x86_operand opnd[2];
};

/* Decode one instruction from bytes[0..avail).  Returns X86_DECODE_OK and
 * fills *out, or a negative X86_DECODE_* (then *out is unspecified).  Never
 * reads bytes[avail] or beyond, nor past byte 15. */
int x86_decode(const uint8_t *bytes, size_t avail, struct x86_insn *out);

/* "hlt", "mov", "in", ... (lower case, Intel); "?" for an unknown op. */
const char *x86_mnemonic(enum x86_op op);

/* True for an instruction that raises #GP in ring 3 because it needs CPL 0
 * (or IOPL >= CPL): the privileged and I/O instructions a deprivileged
 * kernel traps on.  False for the ops the decoder knows for other reasons
 * (memory moves for MMIO, the sensitive but unprivileged ones like cpuid,
 * pushf, sgdt, and syscall/int3/ud2), whose #GP has another cause. */
bool x86_op_needs_cpl0(enum x86_op op);

/* "ok", "truncated", "invalid", "unsupported". */
const char *x86_decode_strerror(int rc);

/* Intel syntax, e.g. "mov cr3, rax", "mov dword ptr fs:[rax+0x10], 0x1",
 * "rep outsb".  snprintf semantics: returns the length of the full text
 * (buf may be shorter; it is always NUL-terminated when len > 0). */
int x86_format(const struct x86_insn *insn, char *buf, size_t len);

/* The linear address of insn->mem without the segment base: base + index *
 * scale + disp (RIP-relative: rip + length + disp), truncated to the address
 * size.  gpr[] in hardware order (enum x86_gpr); rip of this instruction. */
uint64_t x86_mem_address(const struct x86_insn *insn, const uint64_t gpr[16], uint64_t rip);

#endif
