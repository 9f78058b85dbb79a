#!/bin/sh
# How a guest ends under hv-hwassist: its own exit code, a panic on an
# unexpected exception, an unknown command, and --timeout on a guest that
# never ends (it loops with interrupts off).
. "$(dirname "$0")/lib/common.sh"
need_kvm

expect_guest_exit_paths "$HWASSIST"

start=$(date +%s)
run "$HWASSIST" --timeout 3 "$GUEST" hang
took=$(( $(date +%s) - start ))
expect_status 124
expect_err "timed out after 3 s"
[ "$took" -lt 30 ] || fail "--timeout 3 took ${took}s to end the guest"
echo "PASS: exit codes, panic, unknown command and --timeout (${took}s) behave"
