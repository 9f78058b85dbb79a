/*
 * user.c - ring-3 tasks: their address spaces, entering them, and what
 * happens when they trap.
 *
 * Each task gets its own address space (paging.c) with, in the user region:
 *   USER_TEXT_VA    the .user section: the frames inside the kernel image
 *                   where the loader put it, mapped read-only + user + exec
 *                   (shared by all tasks, never copied);
 *   USER_DATA_VA    one private writable page;
 *   USER_STACK_TOP  one private stack page just below.
 * plus one kernel stack page: TSS.RSP0 (and the syscall entry) point to its
 * top while the task runs, so that traps from ring 3 never land on the stack
 * that task_run saved its own frames on.
 */
#include "kernel.h"
#include "task.h"

struct task *current_task;
static int next_pid = 1;

void user_init(void)
{
    /* linker.ld hard-codes the VMA; make sure it matches layout.h. */
    if (USER_SYMBOL(__user_start) != USER_TEXT_VA)
        panic("linker.ld links .user at 0x%lx, layout.h says 0x%lx",
              USER_SYMBOL(__user_start), (uint64_t)USER_TEXT_VA);
}

/* The gate the kernel hands to every task, see "System-call gates". */
user_gate_t syscall_gate(void)
{
    if (quirk(HVLAB_QUIRK_SYSCALL_BROKEN))
        return USER_SYMBOL(user_gate_ud2);
    return USER_SYMBOL(user_gate_syscall);
}

static int map_user_text(struct aspace *as)
{
    uint64_t pages = (uint64_t)(__user_load_end - __user_load_start) / PAGE_SIZE;
    return map_pages(as, USER_TEXT_VA, (uint64_t)__user_load_start, pages, PTE_U);
}

static uint64_t map_private_page(struct aspace *as, uint64_t va)
{
    uint64_t pa = pmm_alloc();
    if (pa && map_page(as, va, pa, PTE_U | PTE_W | PTE_NX) < 0) {
        pmm_free(pa);
        pa = 0;
    }
    return pa;
}

int task_create(struct task *t, uint64_t main, uint64_t arg)
{
    memset(t, 0, sizeof(*t));
    if (aspace_create(&t->as) < 0)
        return -1;
    t->pid = next_pid++;
    t->main = main;
    t->arg = arg;
    t->stack_pa = map_private_page(&t->as, USER_STACK_TOP - PAGE_SIZE);
    t->data_pa = map_private_page(&t->as, USER_DATA_VA);
    t->kstack_pa = pmm_alloc();
    if (map_user_text(&t->as) < 0 || !t->stack_pa || !t->data_pa || !t->kstack_pa) {
        task_destroy(t);
        return -1;
    }
    return 0;
}

void task_destroy(struct task *t)
{
    if (t->as.pml4)
        aspace_destroy(&t->as);
    if (t->stack_pa)
        pmm_free(t->stack_pa);
    if (t->data_pa)
        pmm_free(t->data_pa);
    if (t->kstack_pa)
        pmm_free(t->kstack_pa);
    t->stack_pa = t->data_pa = t->kstack_pa = 0;
}

/*
 * Runs the task until it exits or faults.  It starts in user_start (ring-3
 * crt0) with RDI = system-call gate, RSI = argument, RDX = main, and
 * RSP = top of its stack - 8, as if `call` had pushed a return address
 * (System V ABI: RSP + 8 is 16-byte aligned at function entry).
 */
int task_run(struct task *t, enum task_entry how)
{
    struct user_entry_regs regs = {
        .rip = USER_SYMBOL(user_start),
        .rsp = USER_STACK_TOP - 8,
        .rdi = syscall_gate(),
        .rsi = t->arg,
        .rdx = t->main,
        /* SYSRETQ needs the SYSCALL MSRs; elsewhere IRETQ's path serves */
        .use_sysret = how == TASK_ENTER_SYSRETQ && platform->has_sysret,
    };
    uint64_t kstack_top = t->kstack_pa + PAGE_SIZE;

    t->killed = false;
    t->exit_code = 0;
    platform->set_kernel_stack(kstack_top);
    syscall_kernel_rsp = kstack_top;
    aspace_switch(&t->as);
    current_task = t;

    user_enter(&t->ctx, &regs);

    current_task = NULL;
    aspace_switch(&kernel_aspace);
    return t->killed ? -1 : 0;
}

void task_exit(int64_t code)
{
    current_task->exit_code = code;
    user_return(&current_task->ctx, 0);
}

/*
 * An exception or interrupt from ring 3 (timer interrupts are handled before
 * we get here).  Either it is the UD2 system-call gate, or the task did
 * something it may not: record why and kill it.  The kernel goes on.
 */
void user_trap(struct trap_frame *f, uint64_t cr2)
{
    struct task *t = current_task;

    if (!t)
        panic("trap from ring 3 (vector %lu, rip 0x%lx) with no current task",
              f->vector, f->rip);
    if (f->vector == X86_UD && f->rip == USER_SYMBOL(user_gate_ud2)) {
        f->rax = (uint64_t)syscall_dispatch(f);
        f->rip += 2;                    /* past the 2-byte UD2 (0f 0b) */
        return;
    }
    t->killed = true;
    t->fault = (struct fault_info){ f->vector, f->error, cr2, f->rip };
    user_return(&t->ctx, -1);
}
