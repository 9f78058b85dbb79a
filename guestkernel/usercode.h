/*
 * usercode.h - the ring-3 side: code that runs in user tasks.
 *
 * All of it lives in the .user.text / .user.rodata sections, which linker.ld
 * links at USER_TEXT_VA (in the user region) and loads inside the kernel
 * image; the kernel maps those frames read-only, user, executable into every
 * address space.  User code may use only its own stack, its data page and
 * system calls: every kernel page is supervisor-only and faults from ring 3.
 * So: no string literals (they would land in the kernel's .rodata; use
 * USER_RODATA arrays), no switch jump tables, no calls to kernel functions.
 */
#ifndef GUEST_USERCODE_H
#define GUEST_USERCODE_H

#include <stdint.h>
#include "uapi.h"

#define USER_TEXT   __attribute__((section(".user.text"), noinline))
#define USER_RODATA __attribute__((section(".user.rodata")))

/*
 * The address of a symbol of the user section, for kernel or user code.  The
 * kernel is built with -mcmodel=small, which assumes that every symbol lies
 * below 2 GiB and takes addresses as 32-bit immediates; the user section is
 * linked at USER_TEXT_VA (512 GiB), so its addresses need a 64-bit MOVABS.
 */
#define USER_SYMBOL(sym) \
    ({ uint64_t va_; __asm__("movabsq $" #sym ", %0" : "=r"(va_)); va_; })

/* The gate is the address of a user stub that makes one system call. */
typedef uint64_t user_gate_t;
typedef int64_t (*user_main_t)(user_gate_t gate, uint64_t arg);

/* user_gate.S */
extern char user_gate_syscall[];        /* `syscall; ret` */
extern char user_gate_ud2[];            /* `ud2; ret` (the fallback gate) */
int64_t user_syscall_regcheck(user_gate_t gate, uint64_t *result);

extern const char user_hello[];

/* Entered from the kernel with RDI = gate, RSI = arg, RDX = main. */
void user_start(user_gate_t gate, uint64_t arg, user_main_t main);

/* Task bodies (usercode.c); each returns the task's exit code. */
int64_t user_main_report_cpl(user_gate_t gate, uint64_t arg);
int64_t user_main_regcheck(user_gate_t gate, uint64_t expected_pid);
int64_t user_main_write(user_gate_t gate, uint64_t kernel_addr);
int64_t user_main_swap_data(user_gate_t gate, uint64_t value);
int64_t user_main_read(user_gate_t gate, uint64_t addr);
int64_t user_main_write_to(user_gate_t gate, uint64_t addr);
int64_t user_main_hlt(user_gate_t gate, uint64_t arg);
int64_t user_main_getpid_loop(user_gate_t gate, uint64_t n);

/* Bits of user_main_write's result. */
#define WRITE_BAD_LEN      1    /* write(valid buffer) did not return len */
#define WRITE_KERNEL_OK    2    /* write(kernel address) was not -EFAULT */
#define WRITE_UNMAPPED_OK  4    /* write(unmapped user page) was not -EFAULT */

/* Bit of user_main_regcheck's result beyond the register bits. */
#define REGCHECK_BAD_PID   (1 << 15)

/*
 * One system call through the gate.  An indirect CALL to the stub, which
 * executes the gate instruction and RETs; the kernel preserves everything
 * but RAX, RCX, R11.  (-mno-red-zone: pushing a return address below RSP
 * clobbers nothing.)
 */
static inline __attribute__((always_inline)) int64_t
user_syscall(user_gate_t gate, int64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    int64_t ret = nr;
    __asm__ volatile("call *%[gate]"
                     : "+a"(ret)
                     : [gate] "r"(gate), "D"(a0), "S"(a1), "d"(a2)
                     : "rcx", "r11", "memory");
    return ret;
}

#endif
