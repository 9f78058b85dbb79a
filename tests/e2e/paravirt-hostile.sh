#!/bin/sh
# Hostile input to hv-paravirt.  The test guest build/tests/guests/pvhostile.elf
# (tests/guests/pvhostile.c) attacks the monitor through its paravirtual
# interface (abi/hvlab_hypercall.h), one scenario per run:
#
#   refusals           every malformed or forbidden hypercall (unknown numbers,
#                      lengths and counts past the limits, addresses in the
#                      hypervisor hole, beyond RAM or non-canonical, bad exit
#                      codes, trap tables and return frames that lead into the
#                      hole or ring 0, page-table entries that would map a page
#                      table writable or reach outside RAM or into the hole,
#                      device accesses with no device, the confused deputy)
#                      must get exactly the error the ABI names, and the guest
#                      goes on; then it builds its own page tables with one
#                      1024-entry batch, switches to them and writes a line
#                      (the monitor still works).  Guest exit 0, no FAIL line.
#   stats-into-table   HVC_GET_STATS aimed at a pinned page table is refused and
#                      the table is unchanged (the monitor must not write a page
#                      table for the guest).  Guest exit 0.
#   write-pinned(-live) a plain store to a pinned table faults: the guest's #PF
#                      handler sees cr2 == the address, error P|W, and the table
#                      unchanged.  Guest exit 21.
#   priv-*             a privileged instruction in the guest kernel ends it:
#                      status 122 and exactly one stderr line "hv-paravirt:
#                      privileged instruction <insn> at 0x<rip> in a paravirtual
#                      guest", <rip> being the address the guest printed.
#   no-handler         an exception with no trap-table handler: status 120.
#   block-no-timer     HVC_BLOCK with no timer armed (also: armed, then
#                      cancelled): status 121.
# After every run: the status is never 125 (the monitor itself failed), a run
# the guest ended itself leaves stderr empty, a run the monitor stopped says
# why in exactly one line, and no process of the ring-3 stub is left.
#
# Exit status: 0 passed, 77 skipped (ptrace/seccomp not permitted), else failed.
hvpara_from_env=${HVPARA:-}
. "$(dirname "$0")/lib/common.sh"
HVPARA=${hvpara_from_env:-$BUILD/bin/hv-paravirt}
PVHOSTILE=$BUILD/tests/guests/pvhostile.elf
[ -x "$HVPARA" ] || fail "$HVPARA was not built"
[ -f "$PVHOSTILE" ] || fail "$PVHOSTILE was not built (make test-build)"

. "$(dirname "$0")/lib/ring3.sh"
use_private_stub
trap 'rm -rf "$TMP" "$STUBDIR"' EXIT
probe_ring3_monitor "$HVPARA" "$PVHOSTILE" hv-paravirt

# Runs the monitor on one scenario (extra monitor options first, if any),
# then the checks every run gets, whatever its status.
pv_run() { # LABEL [MONITOR OPTIONS...] SCENARIO
    label=$1
    shift
    run timeout -k 5 60 "$HVPARA" --timeout 30 "$@"
    [ "$rc" -ne 125 ] || bad "$label: status 125: the monitor itself failed"
    left=$(leftover_stubs)
    if [ -n "$left" ]; then
        bad "$label: stub process(es) left running:$left"
        for p in $left; do kill -9 "$p" 2>/dev/null; done
    fi
}

# A run the guest ended itself with STATUS: its "pvhostile: exit N: why" line;
# the monitor says nothing on stderr.
guest_ended() { # STATUS
    if [ "$rc" -ne "$1" ]; then
        bad "$label: exit status $rc, expected $1 (the guest's own HVC_SHUTDOWN)"
        return 1
    fi
    [ ! -s "$TMP/err" ] ||
        { bad "$label: the guest ended itself, yet stderr has: $(head -n 1 "$TMP/err")"; return 1; }
    reason=$(sed -n "s/^pvhostile: exit $1: //p" "$TMP/out" | tail -n 1)
    [ -n "$reason" ] || { bad "$label: no 'pvhostile: exit $1:' line"; return 1; }
}

# A run the monitor stopped with STATUS: exactly one stderr line, matching the
# shell pattern PATTERN.
monitor_stopped() { # STATUS PATTERN WHAT
    if [ "$rc" -ne "$1" ]; then
        bad "$label: exit status $rc, expected $1 ($3)"
        return 1
    fi
    n=$(wc -l <"$TMP/err")
    [ "$n" -eq 1 ] || { bad "$label: $n lines on stderr, expected exactly one"; return 1; }
    reason=$(cat "$TMP/err")
    # shellcheck disable=SC2254 # $2 is a pattern on purpose
    case $reason in
    $2) ;;
    *) bad "$label: the stderr line does not say: $3"; return 1 ;;
    esac
}

P=$PVHOSTILE

# ---- refusals: each hostile hypercall gets exactly the ABI's error -------------
echo "CHECK: refusals: every malformed or forbidden hypercall returns exactly the ABI's error" \
     "and the guest goes on; then the guest switches to its own page tables (1024-entry batch)" \
     "and writes a line; guest exit 0, no FAIL line, stderr empty"
pv_run refusals "$P" refusals
if grep -q '^FAIL' "$TMP/out"; then
    grep '^FAIL' "$TMP/out" | sed 's/^/  refused wrongly: /'
    bad "refusals: $(grep -c '^FAIL' "$TMP/out") hypercall(s) did not get the ABI's answer"
fi
for key in unknown-max console-e2big console-hole shutdown-256 callbacks-stub traps-handler-hole \
           multicall-shutdown iret-rip-hole pin-shared-page stats-into-table mmu-done-in-table \
           leaf-onto-self leaf-2m-over-tables link-wrong-level l4-255-stub batch-stops-done \
           batch-1024 pin-mapped-writable unpin-base console-own-tables version-after; do
    grep -q "^ok $key:" "$TMP/out" || bad "refusals: no 'ok $key:' line (the check did not run or failed)"
done
if guest_ended 0; then
    grep -q '^pvhostile: this line was written on the guest.s own page tables$' "$TMP/out" ||
        bad "refusals: the line written on the guest's own page tables is missing"
    echo "RESULT: refusals: $(sed -n 's/^pvhostile: refusals: //p' "$TMP/out") (status 0)"
fi

# The same with the smallest RAM the monitors accept (the limits that depend
# on the end of RAM move with it).
echo "CHECK: refusals --mem 16: the same with 16 MiB of RAM"
pv_run "refusals --mem 16" --mem 16 "$P" refusals
grep -q '^FAIL' "$TMP/out" && bad "refusals --mem 16: $(grep -m 1 '^FAIL' "$TMP/out")"
guest_ended 0 && echo "RESULT: refusals --mem 16: $(sed -n 's/^pvhostile: refusals: //p' "$TMP/out")"

# ---- the confused deputy: HVC_GET_STATS into a page table -----------------------
echo "CHECK: stats-into-table: HVC_GET_STATS into a pinned page table is refused (-HV_EFAULT)" \
     "and the table is unchanged, in the boot address space and on the guest's own tables"
pv_run stats-into-table "$P" stats-into-table
grep -q '^FAIL' "$TMP/out" && bad "stats-into-table: $(grep -m 1 '^FAIL' "$TMP/out")"
guest_ended 0 && echo "RESULT: stats-into-table: status 0, \"$reason\""

# ---- a store to a pinned table faults into the guest ------------------------------
for s in write-pinned write-pinned-live; do
    echo "CHECK: $s: a store to a pinned page table raises #PF in the guest (cr2 = the" \
         "address, error P|W) and leaves the table unchanged: guest exit 21"
    pv_run "$s" "$P" "$s"
    grep -q '^pvhostile: step 3: #PF delivered' "$TMP/out" || bad "$s: the #PF handler never ran"
    guest_ended 21 && echo "RESULT: $s: status 21, \"$reason\""
done

# ---- privileged instructions end the guest: status 122, one line naming it -------
# priv SCENARIO MNEMONIC: the stderr line names MNEMONIC (its start, as the
# decoder prints it) at the address the guest printed before executing it.
priv() {
    label=$1 mn=$2
    echo "CHECK: $1: '$mn' in the guest kernel ends it: status 122 and one stderr line" \
         "'hv-paravirt: privileged instruction $mn... at <its address> in a paravirtual guest'"
    pv_run "$1" "$P" "$1"
    addr=$(sed -n 's/^pvhostile: step 2: executing .* at \(0x[0-9a-f]*\)$/\1/p' "$TMP/out")
    [ -n "$addr" ] || { bad "$1: the guest did not print the instruction's address"; return; }
    monitor_stopped 122 "hv-paravirt: privileged instruction $mn* at $addr in a paravirtual guest*" \
        "privileged instruction $mn... at $addr in a paravirtual guest" || return
    echo "RESULT: $1: status 122, \"$reason\""
}
priv priv-cli cli
priv priv-sti sti
priv priv-hlt hlt
priv priv-out out
priv priv-in in
priv priv-mov-cr3 "mov cr3"
priv priv-wrmsr wrmsr
priv priv-rdmsr rdmsr
priv priv-lgdt lgdt
priv priv-invlpg invlpg
priv priv-iretq iret
priv priv-cli-paged cli

# ---- an exception with no handler, a block nothing can end -------------------------
echo "CHECK: no-handler: ud2 with no trap table ends the guest: status 120, one stderr line"
pv_run no-handler "$P" no-handler
grep -q '^pvhostile: step 1: no trap table' "$TMP/out" || bad "no-handler: the guest did not get to its ud2"
monitor_stopped 120 "hv-paravirt: *" "an exception with no trap-table handler" &&
    echo "RESULT: no-handler: status 120, \"$reason\""

for s in block-no-timer block-cancelled-timer; do
    echo "CHECK: $s: HVC_BLOCK with no timer armed ends the guest: status 121, one stderr line"
    start=$(date +%s)
    pv_run "$s" "$P" "$s"
    took=$(( $(date +%s) - start ))
    grep -q '^pvhostile: step 2: HVC_BLOCK' "$TMP/out" || bad "$s: the guest did not get to HVC_BLOCK"
    [ "$took" -lt 20 ] || bad "$s: took ${took}s: the monitor slept instead of ending the guest"
    monitor_stopped 121 "hv-paravirt: *" "a guest blocked with nothing to wake it" &&
        echo "RESULT: $s: status 121 after ${took}s, \"$reason\""
done

if [ "$failures" -ne 0 ]; then
    echo "paravirt-hostile: $failures failure(s)"
    exit 1
fi
echo "PASS: every hostile hypercall got the ABI's error, page tables stayed read-only to the" \
     "guest and the hypervisor, and every guest-ending case ended with its status and one line"
exit 0
