/*
 * Guest-physical RAM: one memfd, [0, size) of guest-physical address space.
 *
 * Why a memfd and not anonymous memory: the same pages must be visible in
 * three places at once — the monitor (device models, page-table walks, the
 * loaders in this directory), the sandboxed child of the ring-3 engine
 * (which maps the fd at guest-virtual addresses, DESIGN.md §4) and KVM (the
 * host mapping becomes a memory slot).  MAP_SHARED of one fd gives all three
 * the same physical pages without copies.
 *
 * RAM is zero-filled by construction: fresh memfd pages read as zero, so
 * nothing here clears memory (abi/hvlab_abi.h promises HVLAB_BOOT_RAM_ZEROED).
 *
 * Everything the guest controls (addresses, lengths) is untrusted: the
 * accessors below check that every byte of [gpa, gpa + len) lies inside RAM,
 * with arithmetic that cannot wrap.  The guest may change its memory while
 * the monitor reads it (another vCPU, the child process): copy a structure
 * out with gm_read() once, then validate and use the copy, never re-read a
 * field you have already checked.
 */
#ifndef LIBHV_GUESTMEM_H
#define LIBHV_GUESTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_PAGE_SIZE 4096ull

struct guest_mem {
    int fd;                      /* the memfd (close-on-exec); -1 if none  */
    uint8_t *host;               /* monitor mapping of guest-physical 0    */
    uint64_t size;               /* bytes of RAM; multiple of GM_PAGE_SIZE */
    /* Optional: a monitor that keeps some guest pages out of the guest's
     * reach (hv-paravirt's pinned page tables) says whether a device may
     * write [gpa, gpa + len) on the guest's behalf; NULL: any RAM. */
    bool (*dma_guard)(void *ctx, uint64_t gpa, uint64_t len);
    void *dma_guard_ctx;
};

/* Checks a RAM size: HVLAB_RAM_MIN..HVLAB_RAM_MAX and a multiple of 4 KiB.
 * Returns 0, or -1 with a one-line reason in err. */
int guest_mem_check_size(uint64_t size, char *err, size_t errlen);

/* Creates zero-filled RAM of `size` bytes.  Returns 0, or -1 with a reason
 * in err (gm is then left with fd = -1, host = NULL, size = 0). */
int guest_mem_create(struct guest_mem *gm, uint64_t size, char *err, size_t errlen);

/* Unmaps and closes; safe on a zeroed or already destroyed guest_mem. */
void guest_mem_destroy(struct guest_mem *gm);

/* True when every byte of [gpa, gpa + len) is RAM.  len 0 is in range when
 * gpa <= size (an empty range at the end of RAM). */
bool gm_range_ok(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Whether a device model may write [gpa, gpa + len) for the guest (a
 * virtio buffer, a used ring): in RAM, and allowed by dma_guard.  A DMA
 * write must not reach what the guest itself may not write. */
bool gm_dma_write_ok(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Host pointer to [gpa, gpa + len), or NULL when any byte is outside RAM
 * or the range wraps around 2^64. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copies between guest RAM and the monitor.  Return 0, or -1 (nothing is
 * copied) when the range is not entirely RAM. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);

/* Makes [gpa, gpa + len) read as zero.  Whole pages are given back to the
 * memfd (fallocate PUNCH_HOLE: free, and as cheap as fresh memory); partial
 * pages at the edges are cleared with memset.  0, or -1 when out of RAM. */
int gm_zero(struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Little-endian scalars (x86 byte order; the host is x86-64 too, and the
 * copies go through memcpy so that unaligned guest addresses are fine). */
int gm_read_u8(const struct guest_mem *gm, uint64_t gpa, uint8_t *v);
int gm_read_u16(const struct guest_mem *gm, uint64_t gpa, uint16_t *v);
int gm_read_u32(const struct guest_mem *gm, uint64_t gpa, uint32_t *v);
int gm_read_u64(const struct guest_mem *gm, uint64_t gpa, uint64_t *v);
int gm_write_u8(struct guest_mem *gm, uint64_t gpa, uint8_t v);
int gm_write_u16(struct guest_mem *gm, uint64_t gpa, uint16_t v);
int gm_write_u32(struct guest_mem *gm, uint64_t gpa, uint32_t v);
int gm_write_u64(struct guest_mem *gm, uint64_t gpa, uint64_t v);

/* Length of the NUL-terminated guest string at gpa, looking at no more than
 * maxlen bytes and never past the end of RAM.  Returns the length (< maxlen),
 * or -1 when no NUL was found in that window (unterminated, too long, or gpa
 * outside RAM).  Copy the string out with gm_read(len + 1) and use the copy. */
int64_t gm_strnlen(const struct guest_mem *gm, uint64_t gpa, uint64_t maxlen);

/* Copies the guest string at gpa (at most dstlen - 1 characters) into dst,
 * NUL-terminated.  Returns its length, or -1 (dst = "") when it is not
 * terminated within dstlen bytes of RAM. */
int64_t gm_read_string(const struct guest_mem *gm, uint64_t gpa, char *dst, size_t dstlen);

#endif
