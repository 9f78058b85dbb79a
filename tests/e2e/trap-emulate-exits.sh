#!/bin/sh
# How a guest ends under hv-trap-emulate: its own exit code, a panic on an
# unexpected exception, an unknown command, --timeout on a guest that loops
# with interrupts off, and input it refuses before starting anything.
. "$(dirname "$0")/lib/common.sh"
[ -x "$TRAPEMU" ] || fail "$TRAPEMU was not built"

expect_guest_exit_paths "$TRAPEMU"

expect_timeout_and_refused_input "$TRAPEMU"

run env HVLAB_SHADOW=sometimes "$TRAPEMU" "$GUEST" hello
expect_status 2
expect_err "HVLAB_SHADOW=sometimes"
echo "PASS: exit code, panic, unknown command, --timeout and bad input behave"
