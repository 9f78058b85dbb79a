# Shared by the end-to-end tests (sourced, POSIX sh).
# Conventions: exit 0 = passed, 77 = skipped (a line starting SKIP: says why),
# anything else = failed (a line starting FAIL: says what).
BUILD=${BUILD:-build}
GUEST=$BUILD/guest/guestkernel.elf
HWASSIST=$BUILD/bin/hv-hwassist
TRAPEMU=$BUILD/bin/hv-trap-emulate
HVPARA=$BUILD/bin/hv-paravirt
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hvlab-e2e.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# Runs a command, keeping stdout in $TMP/out, stderr in $TMP/err, status in $rc.
run() {
    echo "+ $*"
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    sed 's/^/  stdout: /' "$TMP/out" | tail -n 60
    sed 's/^/  stderr: /' "$TMP/err" | tail -n 30
    echo "  status: $rc"
}

# Skips the test when hv-hwassist says KVM is unusable here (status 77).
need_kvm() {
    [ -f "$GUEST" ] || fail "$GUEST was not built"
    "$HWASSIST" --timeout 60 "$GUEST" hello >"$TMP/probe" 2>&1
    probe=$?
    if [ "$probe" -eq 77 ]; then
        skip "hv-hwassist cannot use KVM on this host: $(tail -n 1 "$TMP/probe")"
    fi
}

# Skips without QEMU; fails without the guest kernel.
need_qemu() {
    command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed"
    [ -f "$GUEST" ] || fail "$GUEST not found (run: make $GUEST)"
}

# The guest's ways to end, the same under every monitor: its own exit code,
# a panic on an unexpected exception, an unknown command.
expect_guest_exit_paths() { # MONITOR
    run "$1" --timeout 120 "$GUEST" exit 7
    expect_status 7
    run "$1" --timeout 120 "$GUEST" fault
    expect_status 3
    expect_out "panic: exception #PF"
    run "$1" --timeout 120 "$GUEST" no-such-command
    expect_status 4
}

# The ring-3 monitors (no Multiboot): --timeout ends a guest that loops with
# interrupts off, in one stderr line; a Multiboot kernel and a missing file
# are refused (status 2) before anything starts.
expect_timeout_and_refused_input() { # MONITOR
    start=$(date +%s)
    run "$1" --timeout 2 "$GUEST" hang
    took=$(( $(date +%s) - start ))
    expect_status 124
    expect_err "timed out after 2 s"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "a timeout should be one line on stderr"
    [ "$took" -lt 20 ] || fail "--timeout 2 took ${took}s to end the guest"
    echo "RESULT: hang --timeout 2 ended after ${took}s: $(cat "$TMP/err")"
    if [ -f "$BUILD/tests/guests/mb-hello.elf" ]; then
        run "$1" "$BUILD/tests/guests/mb-hello.elf"
        expect_status 2
        expect_err "Multiboot"
    fi
    run "$1" /nonexistent/guest.elf
    expect_status 2
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "bad input should be one line on stderr"
}

# --stats: the count on the line of reason "$1" in $TMP/err, and a check
# that it is there and not 0.
stats_count() {
    sed -n "s/^  $1  *\([0-9][0-9]*\)\$/\1/p" "$TMP/err" | head -n 1
}
expect_count() { # REASON [LABEL]
    n=$(stats_count "$1")
    [ -n "$n" ] && [ "$n" -gt 0 ] || fail "--stats shows no '$1' count"
    echo "RESULT: ${2:+$2: }$1 = $n"
}

expect_status() { [ "$rc" -eq "$1" ] || fail "expected exit status $1, got $rc"; }
expect_out() { grep -q -- "$1" "$TMP/out" || fail "stdout lacks: $1"; }
expect_err() { grep -q -- "$1" "$TMP/err" || fail "stderr lacks: $1"; }
