#!/bin/sh
# End-to-end: boot the guest kernel under stock QEMU (TCG, the reference x86)
# through its PVH entry and run its conformance selftest, once with the
# `syscall` gate and once with the UD2 fallback gate forced on.  Also checks
# that an unexpected kernel page fault gives the one-line panic.
#
# QEMU exits 0 even when the guest fails, so the guest reports through
# isa-debug-exit (port 0xf4): QEMU's status is then (code << 1) | 1, i.e. 1
# for a guest exit code of 0.
#
# Exit status: 0 passed, 77 skipped (no QEMU), anything else failed.
set -u
. "$(dirname "$0")/lib/common.sh"
KERNEL=$GUEST
need_qemu
log=$TMP/log
failures=0

# boot CMDLINE: runs the guest, shows its output, leaves QEMU's status in $status.
boot() {
    echo "== qemu-system-x86_64 -kernel $KERNEL -append \"$1\""
    timeout 120 qemu-system-x86_64 -accel tcg -cpu max -m 256 -display none \
        -serial stdio -monitor none -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$KERNEL" -append "$1" >"$log" 2>&1 </dev/null
    status=$?
    cat "$log"
    echo "== QEMU exit status $status"
}

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# selftest_case CMDLINE GATE: the run must report >= 20 checks, 0 failed, use
# the named system-call gate, and exit 0 (QEMU status 1).
selftest_case() {
    boot "$1"
    summary=$(grep -E '^selftest: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    passed=$(echo "$summary" | sed -n 's/^selftest: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    failed=$(echo "$summary" | sed -n 's/^selftest: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$summary" ]; then
        fail "\"$1\": no 'selftest: N passed, M failed' line"
    elif [ "$failed" -ne 0 ] || [ "$passed" -lt 20 ]; then
        fail "\"$1\": $summary (need >= 20 passed, 0 failed)"
    fi
    grep -q "^ok syscall_roundtrip (via $2)" "$log" ||
        fail "\"$1\": syscall_roundtrip did not pass via $2"
    [ "$status" -eq 1 ] || fail "\"$1\": QEMU exit status $status, expected 1 (guest exit 0)"
}

selftest_case "selftest" "syscall"
selftest_case "selftest quirk-syscall-gate" "ud2 gate"

# An unhandled kernel #PF: one panic line, guest exit 3 (QEMU status 7).
boot "fault"
grep -q '^panic: exception #PF (vector 14) error=0x0 rip=0x[0-9a-f]* cr2=0xdeadbeef000 ' "$log" ||
    fail "\"fault\": no panic line for the #PF"
[ "$status" -eq 7 ] || fail "\"fault\": QEMU exit status $status, expected 7 (guest exit 3)"

if [ "$failures" -ne 0 ]; then
    echo "qemu-selftest: $failures failure(s)"
    exit 1
fi
echo "qemu-selftest: passed"
exit 0
