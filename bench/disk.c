/*
 * The io group's disk: one image for the whole session, so that every row
 * reads and writes the same bytes.  Pseudo-random content (not zeros: a
 * file of holes would be read without touching any page), written once;
 * after the first pass it sits in the host's page cache, so the io
 * benchmarks measure the virtualization path — notifications, exits,
 * interrupts, copies — not the host's storage.
 */
#include "bench/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[96];

static int fill(int fd, char *err, size_t errlen)
{
    static uint64_t block[8192];          /* 64 KiB */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned chunk = 0; chunk < BENCH_DISK_MIB * 16; chunk++) {
        for (size_t i = 0; i < sizeof(block) / sizeof(block[0]); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;   /* xorshift64 */
            block[i] = x;
        }
        if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
            snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

const char *disk_create(char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%.40s/hvlab-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "cannot make a directory for the disk image (%s): %s", dir,
                 strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/disk.img", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        rmdir(dir);
        return NULL;
    }
    int rc = fill(fd, err, errlen);
    if (close(fd) || rc) {
        disk_remove(path);
        return NULL;
    }
    return path;
}

void disk_remove(const char *p)
{
    if (!p)
        return;
    unlink(p);
    rmdir(dir);
}
