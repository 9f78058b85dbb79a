/*
 * Guest-physical RAM as one memfd (see guestmem.h for why).
 */
#include "libhv/guestmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abi/hvlab_abi.h"

int guest_mem_check_size(uint64_t size, char *err, size_t errlen)
{
    if (size < HVLAB_RAM_MIN || size > HVLAB_RAM_MAX) {
        snprintf(err, errlen, "guest RAM of %llu bytes is outside %llu MiB..%llu MiB",
                 (unsigned long long)size, HVLAB_RAM_MIN >> 20, HVLAB_RAM_MAX >> 20);
        return -1;
    }
    if (size % GM_PAGE_SIZE) {
        snprintf(err, errlen, "guest RAM of %llu bytes is not a multiple of 4 KiB",
                 (unsigned long long)size);
        return -1;
    }
    return 0;
}

/* F_SEAL_SHRINK: nobody (not even a confused monitor) can truncate the file
 * under a live mapping, which would turn guest accesses into SIGBUS in the
 * monitor.  F_SEAL_GROW keeps RAM exactly the size the boot info announces. */
static int seal_size(int fd)
{
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
}

int guest_mem_create(struct guest_mem *gm, uint64_t size, char *err, size_t errlen)
{
    gm->fd = -1;
    gm->host = NULL;
    gm->size = 0;
    if (guest_mem_check_size(size, err, errlen))
        return -1;

    /* MFD_CLOEXEC: a monitor hands the fd to its child on purpose (dup2
     * before exec clears the flag), never by accident. */
    int fd = memfd_create("hvlab-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        snprintf(err, errlen, "memfd_create for guest RAM: %s", strerror(errno));
        return -1;
    }
    if (ftruncate(fd, (off_t)size) || seal_size(fd)) {
        snprintf(err, errlen, "sizing guest RAM to %llu MiB: %s",
                 (unsigned long long)(size >> 20), strerror(errno));
        close(fd);
        return -1;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "mapping %llu MiB of guest RAM: %s",
                 (unsigned long long)(size >> 20), strerror(errno));
        close(fd);
        return -1;
    }
    gm->fd = fd;
    gm->host = p;
    gm->size = size;
    return 0;
}

void guest_mem_destroy(struct guest_mem *gm)
{
    if (gm->host)
        munmap(gm->host, gm->size);
    if (gm->fd >= 0)
        close(gm->fd);
    gm->host = NULL;
    gm->fd = -1;
    gm->size = 0;
}

/* Written as gpa <= size && len <= size - gpa so that no sum can wrap. */
bool gm_dma_write_ok(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    return gm_range_ok(gm, gpa, len) &&
           (!gm->dma_guard || gm->dma_guard(gm->dma_guard_ctx, gpa, len));
}

bool gm_range_ok(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    return gm->host && gpa <= gm->size && len <= gm->size - gpa;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    return gm_range_ok(gm, gpa, len) ? gm->host + gpa : NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
    const void *src = gm_ptr(gm, gpa, len);
    if (!src)
        return -1;
    memcpy(dst, src, len);
    return 0;
}

int gm_write(struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
    void *dst = gm_ptr(gm, gpa, len);
    if (!dst)
        return -1;
    memcpy(dst, src, len);
    return 0;
}

int gm_zero(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    uint8_t *p = gm_ptr(gm, gpa, len);
    if (!p)
        return -1;
    uint64_t first_page = (gpa + GM_PAGE_SIZE - 1) & ~(GM_PAGE_SIZE - 1);
    uint64_t end = gpa + len;
    uint64_t last_page = end & ~(GM_PAGE_SIZE - 1);
    if (first_page >= last_page) {          /* no whole page inside */
        memset(p, 0, len);
        return 0;
    }
    memset(p, 0, first_page - gpa);
    memset(gm->host + last_page, 0, end - last_page);
    /* Punching a hole frees the pages; the next access maps a fresh zero
     * page in every mapping of the memfd (monitor, child, KVM slot). */
    if (fallocate(gm->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)first_page,
                  (off_t)(last_page - first_page)))
        memset(gm->host + first_page, 0, last_page - first_page);
    return 0;
}

int gm_read_u8(const struct guest_mem *gm, uint64_t gpa, uint8_t *v)
{
    return gm_read(gm, gpa, v, sizeof(*v));
}

int gm_read_u16(const struct guest_mem *gm, uint64_t gpa, uint16_t *v)
{
    return gm_read(gm, gpa, v, sizeof(*v));
}

int gm_read_u32(const struct guest_mem *gm, uint64_t gpa, uint32_t *v)
{
    return gm_read(gm, gpa, v, sizeof(*v));
}

int gm_read_u64(const struct guest_mem *gm, uint64_t gpa, uint64_t *v)
{
    return gm_read(gm, gpa, v, sizeof(*v));
}

int gm_write_u8(struct guest_mem *gm, uint64_t gpa, uint8_t v)
{
    return gm_write(gm, gpa, &v, sizeof(v));
}

int gm_write_u16(struct guest_mem *gm, uint64_t gpa, uint16_t v)
{
    return gm_write(gm, gpa, &v, sizeof(v));
}

int gm_write_u32(struct guest_mem *gm, uint64_t gpa, uint32_t v)
{
    return gm_write(gm, gpa, &v, sizeof(v));
}

int gm_write_u64(struct guest_mem *gm, uint64_t gpa, uint64_t v)
{
    return gm_write(gm, gpa, &v, sizeof(v));
}

int64_t gm_strnlen(const struct guest_mem *gm, uint64_t gpa, uint64_t maxlen)
{
    if (!gm_range_ok(gm, gpa, 0))
        return -1;
    uint64_t window = gm->size - gpa;       /* bytes of RAM from gpa on */
    if (window > maxlen)
        window = maxlen;
    if (window > INT64_MAX)
        window = INT64_MAX;
    const uint8_t *s = gm->host + gpa;
    const uint8_t *nul = memchr(s, '\0', window);
    return nul ? (int64_t)(nul - s) : -1;
}

int64_t gm_read_string(const struct guest_mem *gm, uint64_t gpa, char *dst, size_t dstlen)
{
    if (dstlen == 0)
        return -1;
    dst[0] = '\0';
    int64_t n = gm_strnlen(gm, gpa, dstlen);
    if (n < 0)
        return -1;
    /* The guest may rewrite the string meanwhile: copy, then terminate our
     * copy ourselves rather than trusting the NUL we saw. */
    memcpy(dst, gm->host + gpa, (size_t)n);
    dst[n] = '\0';
    return n;
}
