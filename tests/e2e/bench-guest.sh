#!/bin/sh
# The guest's benchmark command (`bench`, docs/benchmarks.md §2) on a small
# mixed subset under QEMU TCG, hv-trap-emulate and hv-paravirt: every name
# asked for appears exactly once, as an ok line with every field (ops > 0,
# cycles > 0) or as n/a with a reason; the header and footer agree; the
# monitors saw two brackets (measured and base) per ok benchmark; the
# paravirtual guest reports exit.rdmsr n/a; an unknown name is a usage error
# (guest exit code 4).  No timing thresholds: times depend on the machine.
. "$(dirname "$0")/lib/common.sh"
[ -x "$TRAPEMU" ] || fail "$TRAPEMU was not built"
[ -x "$HVPARA" ] || fail "$HVPARA was not built"
[ -f "$GUEST" ] || fail "$GUEST was not built"

NAMES="exit.hypercall exit.cli_sti exit.cpuid exit.rdmsr exit.syscall mem.chase_4k.16K mem.chase_2m.16K mem.pt_update"

# check_output ROW: the console lines in $TMP/out.
check_output() {
    grep -q "^bench: begin tsc_khz=[1-9][0-9]* tsc_source=[^ ]* platform=[^ ]* monitor=[^ ]* min_ms=1\$" "$TMP/out" ||
        fail "$1: no well-formed 'bench: begin' line"
    ok=0
    na=0
    for name in $NAMES; do
        n=$(grep -c "^bench: $name " "$TMP/out")
        [ "$n" -eq 1 ] || fail "$1: '$name' printed $n times, expected once"
        line=$(grep "^bench: $name " "$TMP/out")
        case $line in
        "bench: $name n/a "?*)
            na=$((na + 1)) ;;
        *)
            echo "$line" | grep -Eq "^bench: $name ops=[1-9][0-9]* cycles=[1-9][0-9]* tsc_khz=[1-9][0-9]* unit=ns/(op|access|page) value=[0-9]+\.[0-9]{3}\$" ||
                fail "$1: malformed line: $line"
            ok=$((ok + 1)) ;;
        esac
    done
    grep -q "^bench: done ok=$ok na=$na\$" "$TMP/out" ||
        fail "$1: footer is not 'bench: done ok=$ok na=$na'"
    # Nothing else was measured.
    others=$(grep '^bench: ' "$TMP/out" | grep -v '^bench: \(begin\|done\) ' | wc -l)
    [ "$others" -eq $((ok + na)) ] || fail "$1: $others benchmark lines for $((ok + na)) names"
    echo "RESULT: $1: ok=$ok na=$na"
}

# check_brackets: each ok benchmark has a measured and a base bracket in the
# monitor's --stats table (the base one with 0 ops).
check_brackets() {
    for name in $(sed -n 's/^bench: \([^ ]*\) ops=.*/\1/p' "$TMP/out"); do
        n=$(grep -c "^  $name  *[0-9][0-9]* ops " "$TMP/err")
        [ "$n" -eq 2 ] || fail "$1: $n brackets for $name in --stats, expected 2"
        grep -q "^  $name  *0 ops " "$TMP/err" || fail "$1: no base bracket (0 ops) for $name"
    done
}

# ---- QEMU TCG: the reference x86, no monitor -----------------------------------
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "+ qemu-system-x86_64 -accel tcg -kernel $GUEST -append \"bench min_ms=1 $NAMES\""
    timeout 120 qemu-system-x86_64 -accel tcg -m 256 -display none -serial stdio -monitor none \
        -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$GUEST" -append "bench min_ms=1 $NAMES" >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
    sed 's/^/  stdout: /' "$TMP/out"
    [ "$rc" -eq 1 ] || fail "qemu: status $rc, expected 1 (guest exit 0)"
    check_output qemu-tcg
    grep -q '^bench: exit.hypercall n/a no hypervisor to call' "$TMP/out" ||
        fail "qemu-tcg: exit.hypercall should be n/a (no hypervisor)"
else
    echo "NOTE: qemu-system-x86_64 not installed: the QEMU TCG part is skipped"
fi

# ---- hv-trap-emulate ------------------------------------------------------------------
run "$TRAPEMU" --stats --timeout 60 "$GUEST" bench min_ms=1 $NAMES
expect_status 0
check_output trap-emulate
check_brackets trap-emulate
grep -q '^bench: exit.hypercall n/a an unmodified guest has no hypercall interface' "$TMP/out" ||
    fail "trap-emulate: exit.hypercall should be n/a"
grep -q '^bench: exit.rdmsr ops=' "$TMP/out" || fail "trap-emulate: exit.rdmsr should run"
# cli and sti trap: the cli_sti bracket counts both.
grep "^  exit.cli_sti  *[1-9][0-9]* ops " "$TMP/err" | grep -q "emulate cli=.*emulate sti=" ||
    fail "trap-emulate: the exit.cli_sti bracket shows no emulated cli and sti"

# ---- hv-paravirt ---------------------------------------------------------------------------
run "$HVPARA" --stats --timeout 60 "$GUEST" bench min_ms=1 $NAMES
expect_status 0
check_output paravirt
check_brackets paravirt
grep -q '^bench: exit.rdmsr n/a a paravirtual guest has no MSRs' "$TMP/out" ||
    fail "paravirt: exit.rdmsr should be n/a (no MSRs)"
grep "^  exit.hypercall  *[1-9][0-9]* ops " "$TMP/err" | grep -q "hypercall version=1.000" ||
    fail "paravirt: the exit.hypercall bracket is not one HVC_VERSION per op"

# ---- bad arguments: a usage line, guest exit code 4 ----------------------------------------
run "$TRAPEMU" --timeout 60 "$GUEST" bench exit.cpuid no.such.benchmark
expect_status 4
expect_out "^usage: bench "
grep -q '^bench: ' "$TMP/out" && fail "an unknown name must stop before any benchmark runs"
run "$HVPARA" --timeout 60 "$GUEST" bench min_ms=0
expect_status 4
expect_out "^usage: bench "

echo "PASS: bench lines well-formed under $( command -v qemu-system-x86_64 >/dev/null 2>&1 && echo 'QEMU TCG, ')hv-trap-emulate and hv-paravirt; brackets seen; n/a and usage paths"
