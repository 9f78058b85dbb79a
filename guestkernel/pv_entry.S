/*
 * pv_entry.S - the paravirtual platform's entry and exit paths.
 *
 *   pv_iret           platform_iret on paravirt: return from a frame with
 *                     HVC_IRET (Xen's iret hypercall)
 *   pv_syscall_entry  where the hypervisor delivers a ring-3 `syscall`
 *
 * A kernel running in CPU ring 3 cannot IRETQ to its own (virtual) ring 0,
 * nor SYSRETQ at all (both privileged: SDM Vol. 2A "IRET", Vol. 2B
 * "SYSRET"), so every return goes through the hypervisor.  Exceptions and
 * the timer event need no entry here: the hypervisor pushes the hardware's
 * frame and enters isr.S's stubs (abi/hvlab_hypercall.h).
 */
#include "layout.h"
#include "gpr_frame.h"
#include "pv.h"

        .text
        .code64

/*
 * pv_iret: jumped to (never called) with every register restored and the
 * hardware frame RIP, CS, RFLAGS, RSP, SS at RSP.  HVC_IRET pops a struct
 * hvlab_iret_frame, which is that frame with RAX, R11 and RCX below it (RAX
 * lowest): the three registers the hypercall's own `syscall` uses or
 * destroys come back from the frame.  A successful HVC_IRET does not
 * return; a refused frame (a kernel bug) does, and the UD2 turns that into
 * a #UD panic at this address.
 */
        .globl pv_iret
pv_iret:
        pushq   %rcx
        pushq   %r11
        pushq   %rax
        movl    $PV_HVC_IRET, %eax
        syscall
        ud2

/*
 * pv_syscall_entry: a `syscall` in virtual ring 3 is the guest's own system
 * call, which the hypervisor bounces here (HVC_SET_CALLBACKS) on the kernel
 * stack (HVC_SET_KERNEL_STACK), events masked, with struct hvlab_pv_frame
 * already pushed: RIP after the instruction, user CS, RFLAGS, RSP, user SS;
 * RCX and R11 hold RIP and RFLAGS as the instruction left them.  The native
 * syscall_entry has to build that frame itself; from here on both build the
 * same struct trap_frame and call the same C dispatcher.  The hypervisor
 * aligned the stack to 16 before its 5 pushes, so after 22 quadwords RSP is
 * 16-byte aligned at the call, as in isr_common.
 */
        .globl pv_syscall_entry
pv_syscall_entry:
        SYSCALL_DISPATCH
        jmp     pv_iret
