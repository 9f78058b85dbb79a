#include "libhv/kvm_backend.h"

#include <stdio.h>
#include <sys/stat.h>

static int module_loaded(const char *name)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "/sys/module/%s", name);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

enum hvlab_kvm_backend kvm_backend_detect(void)
{
    /* PVM first: a host can have kvm_pvm next to a vendor module. */
    if (module_loaded("kvm_pvm"))
        return HVLAB_KVM_PVM;
    if (module_loaded("kvm_intel"))
        return HVLAB_KVM_INTEL;
    if (module_loaded("kvm_amd"))
        return HVLAB_KVM_AMD;
    return module_loaded("kvm") ? HVLAB_KVM_UNKNOWN : HVLAB_KVM_NONE;
}

const char *kvm_backend_name(enum hvlab_kvm_backend b)
{
    switch (b) {
    case HVLAB_KVM_INTEL: return "kvm_intel";
    case HVLAB_KVM_AMD: return "kvm_amd";
    case HVLAB_KVM_PVM: return "kvm_pvm";
    case HVLAB_KVM_UNKNOWN: return "unknown";
    case HVLAB_KVM_NONE: break;
    }
    return "none";
}

const char *kvm_backend_meaning(enum hvlab_kvm_backend b)
{
    switch (b) {
    case HVLAB_KVM_INTEL:
        return "hardware virtualization (Intel VT-x, EPT)";
    case HVLAB_KVM_AMD:
        return "hardware virtualization (AMD-V/SVM, NPT when kvm_amd npt=Y)";
    case HVLAB_KVM_PVM:
        return "software backend: no VT-x/AMD-V, ring-0 guest code is emulated and "
               "shadow-paged; these are not hardware-virtualization numbers";
    case HVLAB_KVM_UNKNOWN:
        return "unknown KVM backend";
    case HVLAB_KVM_NONE: break;
    }
    return "no KVM";
}

uint64_t kvm_backend_quirks(enum hvlab_kvm_backend b)
{
    if (b != HVLAB_KVM_PVM)
        return 0;
    return HVLAB_QUIRK_SYSCALL_BROKEN | HVLAB_QUIRK_RING0_EMULATED |
           HVLAB_QUIRK_INTN_RING0_BROKEN | HVLAB_QUIRK_NO_PCID | HVLAB_QUIRK_NO_1G_PAGES |
           HVLAB_QUIRK_NO_RDTSCP | HVLAB_QUIRK_VMCALL_HANGS | HVLAB_QUIRK_LATE_IRQ;
}
