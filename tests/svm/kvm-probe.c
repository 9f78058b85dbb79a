/* kvm-probe: the smallest KVM user, to prove the SVM harness works without
 * hv-hwassist (tests/svm/run.sh -- /kvm-probe).
 *
 * Opens /dev/kvm, prints the API version and the backend (kvm_amd with its
 * npt parameter, kvm_intel, or the kvm_pvm software backend), creates a VM
 * and one vCPU and runs a 16-bit real-mode guest of 7 bytes at 0x1000:
 *     mov $0x3f8,%dx ; mov $'K',%al ; out %al,(%dx) ; hlt
 * It expects KVM_EXIT_IO (out, port 0x3f8, 1 byte, 'K') and then
 * KVM_EXIT_HLT, prints every exit, and exits 0 only when it saw exactly that.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_MEM 0x10000
#define CODE_AT 0x1000

static const char *exit_name(uint32_t r)
{
    switch (r) {
    case KVM_EXIT_UNKNOWN: return "UNKNOWN";
    case KVM_EXIT_EXCEPTION: return "EXCEPTION";
    case KVM_EXIT_IO: return "IO";
    case KVM_EXIT_HLT: return "HLT";
    case KVM_EXIT_MMIO: return "MMIO";
    case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
    case KVM_EXIT_INTR: return "INTR";
    case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
    default: return "other";
    }
}

static void read_line(const char *path, char *buf, size_t sz)
{
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (!f)
        return;
    if (fgets(buf, (int)sz, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((x) < 0) {                                                                             \
            fprintf(stderr, "kvm-probe: %s: %s\n", #x, strerror(errno));                           \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "kvm-probe: KVM_RUN did not return within 20 s\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char npt[16];
    if (access("/sys/module/kvm_amd", F_OK) == 0) {
        read_line("/sys/module/kvm_amd/parameters/npt", npt, sizeof npt);
        printf("kvm-probe: backend kvm_amd (AMD-V), npt=%s\n", npt);
    } else if (access("/sys/module/kvm_intel", F_OK) == 0) {
        read_line("/sys/module/kvm_intel/parameters/ept", npt, sizeof npt);
        printf("kvm-probe: backend kvm_intel (VT-x), ept=%s\n", npt);
    } else if (access("/sys/module/kvm_pvm", F_OK) == 0) {
        printf("kvm-probe: backend kvm_pvm (software, no hardware virtualization)\n");
    } else {
        printf("kvm-probe: backend unknown\n");
    }

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    CHECK(kvm);
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    CHECK(api);
    printf("kvm-probe: KVM_GET_API_VERSION %d\n", api);
    if (api != KVM_API_VERSION) {
        fprintf(stderr, "kvm-probe: expected API %d\n", KVM_API_VERSION);
        return 1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    CHECK(vm);

    uint8_t *mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("kvm-probe: mmap");
        return 1;
    }
    static const uint8_t code[] = {
        0xba, 0xf8, 0x03, /* mov $0x3f8, %dx */
        0xb0, 'K',        /* mov $'K', %al */
        0xee,             /* out %al, (%dx) */
        0xf4,             /* hlt */
    };
    memcpy(mem + CODE_AT, code, sizeof code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM, .userspace_addr = (uintptr_t)mem,
    };
    CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region));

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    CHECK(vcpu);
    int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    CHECK(runsz);
    struct kvm_run *run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) {
        perror("kvm-probe: mmap kvm_run");
        return 1;
    }

    struct kvm_sregs sregs;
    CHECK(ioctl(vcpu, KVM_GET_SREGS, &sregs));
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    CHECK(ioctl(vcpu, KVM_SET_SREGS, &sregs));
    struct kvm_regs regs = {.rip = CODE_AT, .rflags = 0x2};
    CHECK(ioctl(vcpu, KVM_SET_REGS, &regs));

    signal(SIGALRM, on_alarm);
    int saw_io = 0, saw_hlt = 0, nexits = 0, ok = 1;
    while (!saw_hlt && nexits < 16) {
        alarm(20);
        double t0 = now_us();
        int r = ioctl(vcpu, KVM_RUN, 0);
        double dt = now_us() - t0;
        alarm(0);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "kvm-probe: KVM_RUN: %s\n", strerror(errno));
            return 1;
        }
        nexits++;
        printf("kvm-probe: exit %d: KVM_EXIT_%s (%u) after %.0f us", nexits, exit_name(run->exit_reason),
               run->exit_reason, dt);
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t *data = (uint8_t *)run + run->io.data_offset;
            printf(": %s port 0x%x size %u count %u data 0x%02x ('%c')\n",
                   run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port, run->io.size,
                   run->io.count, data[0], data[0] >= 0x20 && data[0] < 0x7f ? data[0] : '?');
            if (saw_io || run->io.direction != KVM_EXIT_IO_OUT || run->io.port != 0x3f8 ||
                run->io.size != 1 || run->io.count != 1 || data[0] != 'K')
                ok = 0;
            saw_io = 1;
            break;
        }
        case KVM_EXIT_HLT:
            printf("\n");
            saw_hlt = 1;
            break;
        case KVM_EXIT_FAIL_ENTRY:
            printf(": hardware_entry_failure_reason 0x%llx\n",
                   (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            return 1;
        case KVM_EXIT_INTERNAL_ERROR:
            printf(": suberror %u\n", run->internal.suberror);
            return 1;
        default:
            printf("\n");
            ok = 0;
            if (run->exit_reason != KVM_EXIT_INTR)
                return 1;
        }
    }
    CHECK(ioctl(vcpu, KVM_GET_REGS, &regs));
    printf("kvm-probe: final rip 0x%llx\n", (unsigned long long)regs.rip);
    if (!ok || !saw_io || !saw_hlt || regs.rip != CODE_AT + sizeof code) {
        printf("kvm-probe: FAIL: expected KVM_EXIT_IO (out 0x3f8 'K') then KVM_EXIT_HLT at rip 0x%zx\n",
               CODE_AT + sizeof code);
        return 1;
    }
    printf("kvm-probe: PASS: KVM_EXIT_IO then KVM_EXIT_HLT\n");
    return 0;
}
