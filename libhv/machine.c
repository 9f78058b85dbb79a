/* Ending a guest, and the platform every hvlab monitor offers. */
#include "libhv/machine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "abi/hvlab_abi.h"
#include "libhv/devices.h"
#include "libhv/virtio_blk.h"

void hv_stop(struct hv_machine *m, int status, const char *fmt, ...)
{
    if (m->stopped)
        return;
    m->stopped = true;
    m->status = status;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->why, sizeof(m->why), fmt, ap);
    va_end(ap);
    /* A broken rule is the guest's doing: say where it was (unless the
     * message already does). */
    char rip[32];
    if (status != HV_STATUS_GUEST_RULE || !m->guest_rip || n <= 0 || (size_t)n >= sizeof(m->why))
        return;
    snprintf(rip, sizeof(rip), "0x%llx", (unsigned long long)m->guest_rip(m));
    if (!strstr(m->why, rip))
        snprintf(m->why + n, sizeof(m->why) - (size_t)n, " (guest rip %s)", rip);
}

int hv_add_platform_devices(struct hv_machine *m)
{
    return uart_attach(m) || control_attach(m) || debug_exit_attach(m) || null_mmio_attach(m) ||
           fw_cfg_attach(m);
}

int hv_add_disk(struct hv_machine *m)
{
    if (!m->opt.disk_path)
        return 0;
    return virtio_blk_attach(m, m->opt.disk_path, m->opt.disk_readonly);
}

void hv_guest_exit(struct hv_machine *m, int status)
{
    if (m->stopped)
        return;
    m->stopped = true;
    m->status = status;
    m->why[0] = '\0';
}

void hv_stop_hole(struct hv_machine *m)
{
    /* The guest RIP hv_stop appends is where the stub's code stopped, not
     * the jump's target. */
    hv_stop(m, HV_STATUS_GUEST_RULE, "the guest's code ran outside guest memory, in the "
            "hypervisor hole (where the monitor's stub lives) or the upper half");
}

void hv_stop_dead_child(struct hv_machine *m, int wait_status)
{
    hv_stop(m, HV_STATUS_MONITOR, "the guest's host process died (wait status 0x%x)",
            wait_status);
}

void hv_report_stop(const struct hv_machine *m)
{
    fflush(stdout);
    /* A guest that reported its own exit code ended normally: nothing to say
     * beyond what it printed.  Anything else gets one line on stderr. */
    if (m->why[0])
        fprintf(stderr, "%s: %s\n", m->prog, m->why);
}

int hv_write_stats_file(const struct hv_machine *m, const char *backend, int rc)
{
    const char *path = m->opt.stats_file;
    if (!path)
        return rc;
    bool to_stderr = !strcmp(path, "-");
    FILE *f = to_stderr ? stderr : fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: --stats-file %s: %s\n", m->prog, path, strerror(errno));
        return HV_STATUS_MONITOR;
    }
    fflush(stdout);
    int bad = stats_write_file(f, &m->stats, m->prog, backend);
    if (!to_stderr && fclose(f))
        bad = -1;
    if (bad) {
        fprintf(stderr, "%s: --stats-file %s: write failed: %s\n", m->prog, path,
                strerror(errno));
        return HV_STATUS_MONITOR;
    }
    return rc;
}
