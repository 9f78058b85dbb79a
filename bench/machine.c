/*
 * The machine section of the report (DESIGN.md §7): what the numbers were
 * measured on.  The CPU and its virtualization features come from libcpuid;
 * the few bits libcpuid 0.6 does not name are read from its raw CPUID dump
 * (UMIP, PKU: leaf 7 ECX bits 2 and 3, Intel SDM Vol. 2A "CPUID"; NPT: leaf
 * 0x8000000A EDX bit 0, AMD APM Vol. 3 "CPUID Fn8000_000A").  EPT is not a
 * CPUID bit at all (it is in the VMX capability MSRs, SDM Vol. 3 App. A.10),
 * so it is taken from the kernel's "vmx flags" line in /proc/cpuinfo.
 */
#include "bench/bench.h"

#include <libcpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "libhv/kvm_backend.h"

static const char *yes_no(int v)
{
    return v ? "yes" : "no";
}

/* Whether the kernel's "vmx flags" line in /proc/cpuinfo lists `flag`. */
static bool vmx_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "vmx flags", 9))
            continue;
        for (char *t = strtok(strchr(line, ':') ? strchr(line, ':') + 1 : line, " \n"); t;
             t = strtok(NULL, " \n"))
            if (!strcmp(t, flag))
                found = true;
        break;
    }
    if (f)
        fclose(f);
    return found;
}

static void describe_cpu(struct results *res)
{
    struct cpu_raw_data_t raw;
    struct cpu_id_t id;
    if (cpuid_get_raw_data(&raw) < 0 || cpu_identify(&raw, &id) < 0) {
        results_machine(res, "cpu", "unknown (libcpuid: %s)", cpuid_error());
        return;
    }
    /* The brand string is padded to 48 bytes, with spaces on some CPUs. */
    size_t len = strlen(id.brand_str);
    while (len && id.brand_str[len - 1] == ' ')
        len--;
    results_machine(res, "cpu", "%.*s", (int)len, id.brand_str);
    results_machine(res, "cpu_vendor", "%s (family %d, model %d, stepping %d)", id.vendor_str,
                    id.ext_family, id.ext_model, id.stepping);
    results_machine(res, "cpu_cores", "%d cores, %d logical CPUs per package", id.num_cores,
                    id.num_logical_cpus);
    int hv = id.flags[CPU_FEATURE_HYPERVISOR];
    results_machine(res, "running_under_hypervisor",
                    "%s", hv ? "yes (CPUID.1:ECX[31]): this machine is itself a virtual machine"
                             : "no (bare metal)");
    results_machine(res, "vmx", "%s", yes_no(id.flags[CPU_FEATURE_VMX]));
    results_machine(res, "svm", "%s", yes_no(id.flags[CPU_FEATURE_SVM]));
    results_machine(res, "ept", "%s", yes_no(vmx_flag("ept")));
    bool npt = id.flags[CPU_FEATURE_SVM] && (raw.ext_cpuid[0xA][3] & 1u);
    results_machine(res, "npt", "%s", yes_no(npt));
    results_machine(res, "umip", "%s", yes_no((raw.basic_cpuid[7][2] >> 2) & 1u));
    results_machine(res, "pku", "%s", yes_no((raw.basic_cpuid[7][2] >> 3) & 1u));
    results_machine(res, "x2apic", "%s", yes_no(id.flags[CPU_FEATURE_X2APIC]));
    results_machine(res, "constant_tsc", "%s", yes_no(id.flags[CPU_FEATURE_CONSTANT_TSC]));
}

static void describe_kernel(struct results *res)
{
    struct utsname u;
    if (!uname(&u))
        results_machine(res, "kernel", "%s %s %s", u.sysname, u.release, u.machine);
}

/* The KVM backend behind /dev/kvm, and what it means for the numbers. */
static void describe_kvm(struct results *res)
{
    enum hvlab_kvm_backend b = kvm_backend_detect();
    results_machine(res, "kvm_backend", "%s", kvm_backend_name(b));
    results_machine(res, "kvm_backend_meaning", "%s", kvm_backend_meaning(b));
    results_machine(res, "dev_kvm", "%s",
                    access("/dev/kvm", F_OK) ? "absent (the hwassist and qemu-kvm rows cannot run)"
                                             : "present");
    res->software_kvm = b == HVLAB_KVM_PVM;
}

void machine_describe(struct results *res)
{
    describe_cpu(res);
    describe_kernel(res);
    describe_kvm(res);
}
