/* Command-line parsing shared by hv-hwassist, hv-trap-emulate, hv-paravirt. */
#include "libhv/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/hvlab_abi.h"

static void print_help(const struct hv_cli_info *info)
{
    printf("usage: %s [OPTIONS] GUEST.elf [GUEST COMMAND LINE...]\n\n", info->prog);
    printf("%s\n", info->summary);
    if (info->details)
        printf("\n%s\n", info->details);
    printf("\noptions:\n"
           "  --mem MIB       guest RAM in MiB (default %u, %llu..%llu)\n"
           "  --timeout SEC   end the guest after SEC seconds (exit status %d)\n"
           "  --stats         print exit counts by reason when the guest ends\n"
           "  --stats-file F  write them, and each benchmark bracket's, to F as\n"
           "                  tab-separated records for make bench (- = stderr)\n"
           "  --trace         print one line per exit on stderr\n"
           "  --disk FILE     a virtio-blk disk backed by FILE (virtio-mmio slot 0)\n"
           "  --disk-readonly the disk refuses writes (VIRTIO_BLK_F_RO)\n"
           "  --module FILE   a multiboot module (multiboot kernels only; repeatable)\n"
           "%s"
           "  -h, --help      this text\n"
           "\nThe guest console is on stdout.  Exit status: the guest's exit code (0..%u),\n"
           "%d usage or input error, %d this host cannot run the technique, %d triple fault,\n"
           "%d guest crashed, %d guest broke a platform rule, %d timeout, %d monitor failure.\n"
           "GUEST.elf is an hvlab guest (ELF64, 64-bit entry with boot info) or a\n"
           "multiboot v1 kernel (32-bit entry; isa-debug-exit at port 0xf4 gives (v << 1) | 1).\n",
           HV_DEFAULT_MEM_MIB, (unsigned long long)(HVLAB_RAM_MIN >> 20),
           (unsigned long long)(HVLAB_RAM_MAX >> 20), HV_STATUS_TIMEOUT,
           info->extra_options ? info->extra_options : "", HVLAB_GUEST_EXIT_MAX,
           HV_STATUS_USAGE, HV_STATUS_SKIP, HV_STATUS_TRIPLE_FAULT, HV_STATUS_GUEST_CRASH,
           HV_STATUS_GUEST_RULE, HV_STATUS_TIMEOUT, HV_STATUS_MONITOR);
}

static enum hv_cli_result usage_error(const struct hv_cli_info *info, const char *what)
{
    fprintf(stderr, "%s: %s (try --help)\n", info->prog, what);
    return HV_CLI_USAGE;
}

static int parse_mem(const char *s, uint64_t *bytes)
{
    char *end;
    errno = 0;
    unsigned long long mib = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    if (mib < (HVLAB_RAM_MIN >> 20) || mib > (HVLAB_RAM_MAX >> 20))
        return -1;
    *bytes = (uint64_t)mib << 20;
    return 0;
}

static int parse_seconds(const char *s, double *sec)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400.0 * 365)
        return -1;
    *sec = v;
    return 0;
}

enum hv_cli_result hv_parse_cli(const struct hv_cli_info *info, int argc, char **argv,
                                struct hv_options *o)
{
    char msg[512];
    memset(o, 0, sizeof(*o));
    o->mem_bytes = (uint64_t)HV_DEFAULT_MEM_MIB << 20;

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_help(info);
            return HV_CLI_EXIT_OK;
        } else if (!strcmp(a, "--stats")) {
            o->stats = true;
        } else if (!strcmp(a, "--trace")) {
            o->trace = true;
        } else if (!strcmp(a, "--disk-readonly")) {
            o->disk_readonly = true;
        } else if (!strcmp(a, "--ioeventfd") && info->ioeventfd) {
            o->ioeventfd = true;
        } else if (!strcmp(a, "--mem") || !strcmp(a, "--timeout") || !strcmp(a, "--module") ||
                   !strcmp(a, "--stats-file") || !strcmp(a, "--disk")) {
            if (!val) {
                snprintf(msg, sizeof(msg), "%s needs a value", a);
                return usage_error(info, msg);
            }
            i++;
            if (!strcmp(a, "--mem") && parse_mem(val, &o->mem_bytes)) {
                snprintf(msg, sizeof(msg), "--mem %s: want a whole number of MiB from %llu to %llu",
                         val, (unsigned long long)(HVLAB_RAM_MIN >> 20),
                         (unsigned long long)(HVLAB_RAM_MAX >> 20));
                return usage_error(info, msg);
            }
            if (!strcmp(a, "--timeout") && parse_seconds(val, &o->timeout_sec)) {
                snprintf(msg, sizeof(msg), "--timeout %s: want a positive number of seconds", val);
                return usage_error(info, msg);
            }
            if (!strcmp(a, "--stats-file"))
                o->stats_file = val;
            if (!strcmp(a, "--disk"))
                o->disk_path = val;
            if (!strcmp(a, "--module")) {
                if (o->n_modules == HV_MAX_MODULES) {
                    snprintf(msg, sizeof(msg), "at most %u --module options", HV_MAX_MODULES);
                    return usage_error(info, msg);
                }
                o->modules[o->n_modules++] = val;
            }
        } else {
            snprintf(msg, sizeof(msg), "unknown option %s", a);
            return usage_error(info, msg);
        }
    }
    if (i >= argc)
        return usage_error(info, "no guest image given");
    if (o->disk_readonly && !o->disk_path)
        return usage_error(info, "--disk-readonly needs --disk FILE");
    o->guest_path = argv[i];
    o->guest_argc = argc - i - 1;
    o->guest_argv = argv + i + 1;
    return HV_CLI_RUN;
}
