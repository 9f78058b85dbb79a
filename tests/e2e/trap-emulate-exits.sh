#!/bin/sh
# How a guest ends under hv-trap-emulate: its own exit code, a panic on an
# unexpected exception, an unknown command, --timeout on a guest that loops
# with interrupts off, and input it refuses before starting anything.
. "$(dirname "$0")/lib/common.sh"
[ -x "$TRAPEMU" ] || fail "$TRAPEMU was not built"

expect_guest_exit_paths "$TRAPEMU"

start=$(date +%s)
run "$TRAPEMU" --timeout 2 "$GUEST" hang
took=$(( $(date +%s) - start ))
expect_status 124
expect_err "timed out after 2 s"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "a timeout should be one line on stderr"
[ "$took" -lt 20 ] || fail "--timeout 2 took ${took}s to end the guest"
echo "RESULT: hang --timeout 2 ended after ${took}s: $(cat "$TMP/err")"

MB=$BUILD/tests/guests/mb-hello.elf
if [ -f "$MB" ]; then
    run "$TRAPEMU" "$MB"
    expect_status 2
    expect_err "Multiboot"
fi

run "$TRAPEMU" /nonexistent/guest.elf
expect_status 2
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "bad input should be one line on stderr"

run env HVLAB_SHADOW=sometimes "$TRAPEMU" "$GUEST" hello
expect_status 2
expect_err "HVLAB_SHADOW=sometimes"
echo "PASS: exit code, panic, unknown command, --timeout and bad input behave"
