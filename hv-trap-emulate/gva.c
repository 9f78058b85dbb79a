/*
 * The monitor's own accesses to guest-virtual memory: fetching the faulting
 * instruction, reading the IDT, GDT and TSS, pushing and popping exception
 * frames.  The CPU would make these accesses through the guest's page
 * tables, so the monitor does too: every page is translated with pt_walk()
 * (which also sets the Accessed/Dirty flags the CPU would set) and then
 * read or written through the bounds-checked guest-RAM accessors.  A
 * translation that fails becomes the fault the guest would have taken.
 */
#include "hv-trap-emulate/vcpu.h"

#include <stdio.h>
#include <string.h>

#include "abi/x86_arch.h"

static void fault_from_walk(const struct pt_walk_result *r, uint64_t va, struct xfault *f)
{
    if (r->status == PT_WALK_PF)
        *f = (struct xfault){.vector = X86_PF, .has_error = true, .error = r->pf_error,
                             .cr2 = va};
    else
        *f = (struct xfault){.vector = X86_GP, .has_error = true, .error = 0};
}

/* Translates one access that does not cross a page.  0 with *gpa; -1 with
 * *f (f->vector -1 when the guest was stopped instead). */
static int translate(struct vcpu *v, uint64_t va, enum pt_access acc, bool user,
                     uint64_t *gpa, struct xfault *f)
{
    struct pt_walk_ctx ctx = vcpu_walk_ctx(v);
    struct pt_walk_result r;
    int st;
    for (int tries = 0; (st = pt_walk(&v->m->mem, &ctx, va, acc, user, true, &r)) ==
                        PT_WALK_RETRY && tries < 8; tries++)
        ;
    if (st == PT_WALK_OK && r.in_ram) {
        *gpa = r.gpa;
        return 0;
    }
    if (st == PT_WALK_PF || st == PT_WALK_GP) {
        fault_from_walk(&r, va, f);
        return -1;
    }
    *f = (struct xfault){.vector = -1};
    if (st == PT_WALK_BAD) {
        char why[160];
        pt_walk_format_rule(&r, why, sizeof(why));
        hv_stop(v->m, HV_STATUS_GUEST_RULE, "%s", why);
    } else if (st == PT_WALK_OK) {
        hv_stop(v->m, HV_STATUS_GUEST_RULE,
                "a descriptor table, stack or instruction at guest-virtual 0x%llx is not in "
                "RAM (guest-physical 0x%llx)", (unsigned long long)va,
                (unsigned long long)r.gpa);
    } else {
        hv_stop(v->m, HV_STATUS_MONITOR, "page walk of 0x%llx kept being raced",
                (unsigned long long)va);
    }
    return -1;
}

static uint64_t chunk_len(uint64_t va, uint64_t left)
{
    uint64_t room = 4096 - (va & 4095);
    return left < room ? left : room;
}

int gva_read(struct vcpu *v, uint64_t va, void *dst, uint64_t len, enum pt_access acc,
             bool user, struct xfault *f)
{
    uint8_t *out = dst;
    while (len) {
        uint64_t n = chunk_len(va, len), gpa;
        if (translate(v, va, acc, user, &gpa, f) || gm_read(&v->m->mem, gpa, out, n))
            return -1;
        va += n, out += n, len -= n;
    }
    return 0;
}

/* A write that crosses a page is checked on both pages before either is
 * written, as the CPU does for one instruction's store (no half-done push). */
int gva_write(struct vcpu *v, uint64_t va, const void *src, uint64_t len, bool user,
              struct xfault *f)
{
    uint64_t gpa[2], n[2] = {chunk_len(va, len), 0};
    n[1] = len - n[0];
    if (len > 4096)
        return -1;
    if (translate(v, va, PT_WRITE, user, &gpa[0], f))
        return -1;
    if (n[1] && translate(v, va + n[0], PT_WRITE, user, &gpa[1], f))
        return -1;
    if (gm_write(&v->m->mem, gpa[0], src, n[0]))
        return -1;
    return n[1] ? gm_write(&v->m->mem, gpa[1], (const uint8_t *)src + n[0], n[1]) : 0;
}

/* "0f 01 f8": n bytes in hex, as far as buf holds them. */
static const char *format_bytes(const uint8_t *bytes, unsigned n, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (unsigned i = 0; i < n && used + 4 < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%02x", i ? " " : "", bytes[i]);
    return buf;
}

const char *insn_text(const struct x86_insn *insn, const uint8_t *bytes, char *buf, size_t len)
{
    return format_bytes(bytes, insn->length, buf, len);
}

/* The instruction's bytes are fetched as the CPU fetches them (an
 * instruction fetch at the current privilege), one page at a time: the
 * second page is read only if the decoder needs it, so an instruction that
 * ends exactly at a page boundary does not fault on the next page. */
int fetch_insn(struct vcpu *v, struct x86_insn *insn, uint8_t bytes[X86_MAX_INSN_LEN],
               struct xfault *f)
{
    uint64_t rip = v->regs.rip, have = chunk_len(rip, X86_MAX_INSN_LEN);
    bool user = v->cpl == 3;
    if (gva_read(v, rip, bytes, have, PT_FETCH, user, f))
        return f->vector < 0 ? -2 : -1;
    int rc = x86_decode(bytes, have, insn);
    if (rc == X86_DECODE_TRUNCATED && have < X86_MAX_INSN_LEN) {
        if (gva_read(v, rip + have, bytes + have, X86_MAX_INSN_LEN - have, PT_FETCH, user, f))
            return f->vector < 0 ? -2 : -1;
        have = X86_MAX_INSN_LEN;
        rc = x86_decode(bytes, have, insn);
    }
    if (rc == X86_DECODE_OK)
        return 0;
    if (rc == X86_DECODE_INVALID) {
        /* The CPU said #GP/#UD for this instruction, and it is invalid in
         * 64-bit mode: the guest gets the #UD it would get on hardware. */
        *f = (struct xfault){.vector = X86_UD};
        return -1;
    }
    char hex[3 * X86_MAX_INSN_LEN + 1];
    hv_stop(v->m, HV_STATUS_GUEST_RULE, "unsupported instruction %s at 0x%llx",
            format_bytes(bytes, have < 8 ? (unsigned)have : 8, hex, sizeof(hex)),
            (unsigned long long)rip);
    return -2;
}
