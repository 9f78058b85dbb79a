#!/bin/sh
# The unmodified guest kernel under hv-trap-emulate: the selftest passes with
# both shadow-paging policies, and --stats shows the exits the technique is
# made of (emulated privileged instructions, shadow page faults, injected
# timer interrupts).
. "$(dirname "$0")/lib/common.sh"
[ -x "$TRAPEMU" ] || fail "$TRAPEMU was not built"

for policy in per-mode flush; do
    run env HVLAB_SHADOW=$policy "$TRAPEMU" --stats --timeout 120 "$GUEST" selftest
    expect_status 0
    expect_out "selftest: 32 passed, 0 failed"
    expect_out "monitor hv-trap-emulate"
    grep '^FAIL' "$TMP/out" && fail "a selftest check failed with HVLAB_SHADOW=$policy"
    echo "RESULT: $policy: $(grep '^selftest: .* passed' "$TMP/out")"
    expect_count "emulate wrmsr" "$policy"
    expect_count "emulate iret" "$policy"
    expect_count "shadow page fault (mapping installed)" "$policy"
    expect_count "guest page fault (#PF injected)" "$policy"
    expect_count "timer interrupt injected" "$policy"
    expect_count "syscall (guest system call)" "$policy"
    expect_err "ring-3 engine: "
done

# The lesson of the technique: sensitive, unprivileged instructions do not
# trap, so the guest sees the host's state where it should see its own.
run "$TRAPEMU" --timeout 60 "$GUEST" sensitive
expect_status 0
for insn in cpuid pushf popf sgdt "mov cs"; do
    grep -q "^sensitive: $insn: .*host's view" "$TMP/out" ||
        fail "'$insn' should show the host's view under trap-and-emulate"
done
echo "RESULT: $(grep '^sensitive: [0-9]* instructions' "$TMP/out")"
echo "PASS: selftest 0 failed under both shadow policies; sensitive instructions untrapped"
