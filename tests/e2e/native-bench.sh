#!/bin/sh
# hvlab-native, the native and container rows of the benchmark harness
# (docs/benchmarks.md §1, §2): a few benchmarks with --min-ms 1, as a plain
# process and inside namespaces (skipped with the reason where they cannot be
# made); every asked name once, well-formed ok and n/a lines, the usage
# errors.  No timing thresholds: the numbers depend on the machine.
. "$(dirname "$0")/lib/common.sh"
NATIVE=$BUILD/bin/hvlab-native
[ -x "$NATIVE" ] || fail "$NATIVE was not built (make $NATIVE)"

NAMES="exit.syscall exit.cli_sti mem.chase_4k.16K mem.first_touch"

# The console lines in $TMP/out: begin (with monitor=$1), one line per
# asked name, done with the right counts.
expect_console() { # MONITOR
    grep -q "^bench: begin tsc_khz=[1-9][0-9]* tsc_source=[^ ]* platform=linux monitor=$1 min_ms=1" \
        "$TMP/out" || fail "no well-formed begin line for monitor=$1"
    for n in $NAMES; do
        c=$(grep -c "^bench: $n " "$TMP/out")
        [ "$c" -eq 1 ] || fail "$n appears $c times, not once"
    done
    for n in exit.syscall mem.chase_4k.16K mem.first_touch; do
        grep -q "^bench: $n ops=[1-9][0-9]* cycles=[1-9][0-9]* tsc_khz=[1-9][0-9]* unit=ns/[a-z]* value=[0-9][0-9]*\.[0-9][0-9][0-9]\$" \
            "$TMP/out" || fail "$n is not a well-formed ok line"
    done
    grep -q "^bench: exit.cli_sti n/a .*cli/sti" "$TMP/out" || fail "exit.cli_sti is not n/a with its reason"
    grep -q "^bench: done ok=3 na=1\$" "$TMP/out" || fail "the done line is not 'ok=3 na=1'"
    [ "$(grep -c '^bench: ' "$TMP/out")" -eq 6 ] || fail "expected exactly 6 bench: lines"
    grep -E '^bench: (exit.syscall|mem.chase_4k.16K|mem.first_touch) ' "$TMP/out" |
        sed "s/^bench: \([^ ]*\) .* unit=\([^ ]*\) value=\(.*\)/RESULT: $1 \1 = \3 \2/"
}

# shellcheck disable=SC2086 # NAMES is a list of words
run "$NATIVE" --min-ms 1 $NAMES
expect_status 0
expect_console native

# The order is the catalogue's, whatever the order asked; a name asked twice
# is printed once.
run "$NATIVE" --min-ms 1 mem.first_touch exit.cli_sti exit.cli_sti
expect_status 0
[ "$(sed -n 2p "$TMP/out" | cut -d' ' -f2)" = exit.cli_sti ] || fail "not in the catalogue's order"
[ "$(grep -c '^bench: exit.cli_sti ' "$TMP/out")" -eq 1 ] || fail "a name asked twice is printed twice"

# Bad input: one stderr line, status 2, nothing run.
run "$NATIVE" --min-ms 1 exit.syscall exit.no_such_bench
expect_status 2
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "an unknown name should be one line on stderr"
expect_err "exit.no_such_bench"
[ ! -s "$TMP/out" ] || fail "an unknown name should print nothing on stdout"
run "$NATIVE" --min-ms zero
expect_status 2
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "a bad --min-ms should be one line on stderr"
run "$NATIVE" --help
expect_status 0
expect_out "usage: hvlab-native"
expect_out "mem.chase_2m.256M"

# The container row, where this machine can make the namespaces.
# shellcheck disable=SC2086
run "$NATIVE" --container --min-ms 1 $NAMES
if [ "$rc" -eq 77 ]; then
    grep -q "^bench: unavailable ." "$TMP/out" || fail "status 77 without a 'bench: unavailable' line"
    skip "the native part passed; --container cannot run here: $(sed -n 's/^bench: unavailable //p' "$TMP/out")"
fi
expect_status 0
grep -q " namespaces=user,pid,mnt,net,uts,ipc\$" "$TMP/out" || fail "the begin line does not list the namespaces"
expect_console container
echo "PASS: native and container rows: every asked benchmark once, ok and n/a lines well-formed, bad input refused"
