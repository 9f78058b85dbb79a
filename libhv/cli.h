/*
 * The command line shared by the three monitors (DESIGN.md §6):
 *   hv-<technique> [--mem MIB] [--timeout SEC] [--stats] [--stats-file FILE] [--trace]
 *                  [--disk FILE [--disk-readonly]] [--module FILE]...
 *                  GUEST.elf [GUEST COMMAND LINE...]
 */
#ifndef LIBHV_CLI_H
#define LIBHV_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define HV_DEFAULT_MEM_MIB 256u
#define HV_MAX_MODULES 8u

struct hv_options {
    uint64_t mem_bytes;          /* guest RAM                              */
    double timeout_sec;          /* 0: none                                */
    bool stats;                  /* exit counts by reason at the end       */
    const char *stats_file;      /* --stats-file: machine-readable counts  */
    bool trace;                  /* one stderr line per exit               */
    const char *disk_path;       /* --disk: virtio-blk backing file        */
    bool disk_readonly;          /* --disk-readonly                        */
    bool ioeventfd;              /* --ioeventfd (hv-hwassist only)         */
    const char *guest_path;
    int guest_argc;              /* the guest command line, as words      */
    char **guest_argv;
    const char *modules[HV_MAX_MODULES]; /* multiboot modules              */
    unsigned n_modules;
};

/* What a monitor says about itself in --help. */
struct hv_cli_info {
    const char *prog;            /* "hv-hwassist"                          */
    const char *summary;         /* one line: the technique                */
    const char *details;         /* a paragraph; may be NULL               */
    const char *extra_options;   /* more lines for --help's option list    */
    bool ioeventfd;              /* the monitor accepts --ioeventfd        */
};

enum hv_cli_result { HV_CLI_RUN = 0, HV_CLI_EXIT_OK = 1, HV_CLI_USAGE = 2 };

/* Parses argv.  Prints --help to stdout (HV_CLI_EXIT_OK) or one clear error
 * line to stderr (HV_CLI_USAGE: the monitor exits with HV_STATUS_USAGE).
 * Options end at the guest image; everything after it is the guest's. */
enum hv_cli_result hv_parse_cli(const struct hv_cli_info *info, int argc, char **argv,
                                struct hv_options *out);

#endif
