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

expect_timeout_and_refused_input "$HVPARA"

run "$HVPARA" --help
expect_status 0
expect_out "paravirtual"
echo "PASS: exit code, panic, unknown command, --timeout and bad input behave"
