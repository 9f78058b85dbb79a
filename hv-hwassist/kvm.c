/*
 * Creating the virtual machine through /dev/kvm (Documentation/virt/kvm/api.rst):
 *   /dev/kvm --KVM_CREATE_VM--> VM fd --KVM_CREATE_VCPU--> vCPU fd
 * The VM fd owns guest memory (memory slots) and the interrupt controller;
 * the vCPU fd owns register state and KVM_RUN.
 */
#include "hv-hwassist/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Where KVM on Intel keeps the three pages of its real-mode TSS.  It must
 * not overlap guest RAM or MMIO; 0xfffbd000 is just below the BIOS area,
 * the address QEMU uses too (KVM_SET_TSS_ADDR, api.rst 4.40). */
#define KVM_TSS_ADDR 0xfffbd000ul

static int kvm_fail(const char *prog, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
    return HV_STATUS_MONITOR;
}

static int check_cap(struct kvm_vm *vm, const char *prog, int cap, const char *name)
{
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) > 0)
        return 0;
    fprintf(stderr, "%s: /dev/kvm lacks %s, which hv-hwassist needs\n", prog, name);
    return HV_STATUS_SKIP;
}

int kvm_open(struct kvm_vm *vm, const char *prog)
{
    memset(vm, 0, sizeof(*vm));
    vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
            fprintf(stderr, "%s: /dev/kvm: no such device — KVM is not available on this "
                    "host; hv-hwassist cannot run here\n", prog);
        else if (errno == EACCES || errno == EPERM)
            fprintf(stderr, "%s: /dev/kvm: permission denied — add yourself to the kvm group "
                    "(sudo adduser $USER kvm) and log in again\n", prog);
        else
            fprintf(stderr, "%s: /dev/kvm: %s\n", prog, strerror(errno));
        return HV_STATUS_SKIP;
    }
    int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        fprintf(stderr, "%s: /dev/kvm speaks API version %d, hv-hwassist needs %d\n", prog, api,
                KVM_API_VERSION);
        return HV_STATUS_SKIP;
    }
    int rc;
    if ((rc = check_cap(vm, prog, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY")) ||
        (rc = check_cap(vm, prog, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel local APIC)")))
        return rc;
    /* KVM_CAP_IMMEDIATE_EXIT only closes a race in --timeout (a kick that
     * lands just before KVM_RUN); without it the watchdog's grace period
     * still ends the guest, so it is not required. */
    return 0;
}

/* Give the vCPU everything KVM can virtualize on this host (what QEMU's
 * `-cpu host` does).  The table's size is not known in advance: grow it
 * while KVM says E2BIG. */
static int kvm_setup_cpuid(struct kvm_vm *vm, const char *prog)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (!c)
            return kvm_fail(prog, "calloc");
        c->nent = n;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            int rc = ioctl(vm->vcpu_fd, KVM_SET_CPUID2, c);
            free(c);
            return rc ? kvm_fail(prog, "KVM_SET_CPUID2") : 0;
        }
        free(c);
        if (errno != E2BIG)
            return kvm_fail(prog, "KVM_GET_SUPPORTED_CPUID");
    }
    errno = E2BIG;
    return kvm_fail(prog, "KVM_GET_SUPPORTED_CPUID");
}

static int kvm_add_ram(struct kvm_vm *vm, struct hv_machine *m)
{
    struct kvm_userspace_memory_region slot = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = m->mem.size,
        .userspace_addr = (uintptr_t)m->mem.host,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot))
        return kvm_fail(m->prog, "KVM_SET_USER_MEMORY_REGION (guest RAM)");
    return 0;
}

int kvm_signal_vector(struct kvm_vm *vm, unsigned vector)
{
    struct kvm_msi msi = {.address_lo = KVM_MSI_ADDRESS_APIC0, .data = vector & 0xff};
    return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -1 : 0;
}

int kvm_create_machine(struct kvm_vm *vm, struct hv_machine *m)
{
    int rc;
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        return kvm_fail(m->prog, "KVM_CREATE_VM");
    /* Only VT-x needs this; other backends accept or ignore it. */
    (void)ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
    if ((rc = kvm_add_ram(vm, m)))
        return rc;
    /* The irqchip must exist before the vCPU so that the vCPU gets an
     * in-kernel local APIC: its timer and interrupt delivery then never
     * leave the kernel (no user-space exit per tick). */
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0))
        return kvm_fail(m->prog, "KVM_CREATE_IRQCHIP");
    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0)
        return kvm_fail(m->prog, "KVM_CREATE_VCPU");
    int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz < (int)sizeof(struct kvm_run))
        return kvm_fail(m->prog, "KVM_GET_VCPU_MMAP_SIZE");
    vm->run_size = (size_t)sz;
    vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
    if (vm->run == MAP_FAILED) {
        vm->run = NULL;
        return kvm_fail(m->prog, "mmap of the vCPU's kvm_run page");
    }
    if ((rc = kvm_setup_cpuid(vm, m->prog)))
        return rc;
    int khz = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
    vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
    return 0;
}

void kvm_close(struct kvm_vm *vm)
{
    if (vm->run)
        munmap(vm->run, vm->run_size);
    if (vm->vcpu_fd >= 0)
        close(vm->vcpu_fd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
}
