#!/bin/sh
# How a guest ends under hv-paravirt: its own exit code (HVC_SHUTDOWN), a
# panic on an unexpected exception, an unknown command, --timeout on a
# guest that loops with events masked, and input it refuses before
# starting anything.
. "$(dirname "$0")/lib/common.sh"
[ -x "$HVPARA" ] || fail "$HVPARA was not built"

run "$HVPARA" --timeout 60 "$GUEST" hello
[ "$rc" -ne 77 ] || skip "hv-paravirt cannot run here: $(head -n 1 "$TMP/err")"
expect_status 0
expect_out "hello from the hvlab guest kernel"

expect_guest_exit_paths "$HVPARA"

start=$(date +%s)
run "$HVPARA" --timeout 2 "$GUEST" hang
took=$(( $(date +%s) - start ))
expect_status 124
expect_err "timed out after 2 s"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "a timeout should be one line on stderr"
[ "$took" -lt 20 ] || fail "--timeout 2 took ${took}s to end the guest"
echo "RESULT: hang --timeout 2 ended after ${took}s: $(cat "$TMP/err")"

MB=$BUILD/tests/guests/mb-hello.elf
if [ -f "$MB" ]; then
    run "$HVPARA" "$MB"
    expect_status 2
    expect_err "Multiboot"
fi

run "$HVPARA" /nonexistent/guest.elf
expect_status 2
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "bad input should be one line on stderr"

run "$HVPARA" --help
expect_status 0
expect_out "paravirtual"
echo "PASS: exit code, panic, unknown command, --timeout and bad input behave"
