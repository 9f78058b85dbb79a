# Shared by the isolation tests of the ring-3 monitors (hv-trap-emulate,
# hv-paravirt); sourced after common.sh.

# A private copy of the stub (HVLAB_R3_STUB), so that a leftover stub
# process is recognisable as ours by its /proc/PID/exe, whatever else runs
# on this host.  It lives under $BUILD, which is executable, unlike some /tmp.
# The caller's EXIT trap removes $STUBDIR.
use_private_stub() {
    [ -f "$BUILD/lib/hvlab-r3-stub" ] || fail "$BUILD/lib/hvlab-r3-stub was not built"
    STUBDIR=$(mktemp -d "$BUILD/tests/hvlab-stub.XXXXXX") || fail "mktemp under $BUILD/tests"
    STUBDIR=$(cd "$STUBDIR" && pwd -P)
    STUB=$STUBDIR/hvlab-r3-stub
    cp "$BUILD/lib/hvlab-r3-stub" "$STUB" || fail "cannot copy the stub"
    HVLAB_R3_STUB=$STUB
    export HVLAB_R3_STUB
}

# ptrace and seccomp are all the technique needs: skip where they are denied.
# The probe runs an unknown scenario of the test guest, which must end with
# the guest's usage code 4.
probe_ring3_monitor() { # MONITOR GUEST NAME
    if [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null)" = 3 ]; then
        skip "ptrace is disabled on this host (kernel.yama.ptrace_scope = 3)"
    fi
    echo "CHECK: probe: an unknown scenario ends the guest with its usage code 4"
    "$1" --timeout 30 "$2" no-such-scenario >"$TMP/probe" 2>&1
    probe=$?
    case $probe in
    4) ;;
    77) skip "$3 cannot run here: $(tail -n 1 "$TMP/probe")" ;;
    *)  if grep -q -e "did not start (exit status 126)" -e "stub set-up step [78] failed" \
            "$TMP/probe"; then
            skip "ptrace or seccomp is not permitted here: $(tail -n 1 "$TMP/probe")"
        fi
        cat "$TMP/probe"
        fail "the probe run (an unknown scenario) ended with status $probe, expected 4" ;;
    esac
}

failures=0
bad() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# PIDs of processes that run our copy of the stub.
leftover_stubs() {
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/exe" 2>/dev/null)" = "$STUB" ] && printf ' %s' "${d#/proc/}"
    done
}
