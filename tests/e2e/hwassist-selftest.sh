#!/bin/sh
# The guest's selftest under hv-hwassist: every check passes, and --stats
# names the KVM backend and the exits.
. "$(dirname "$0")/lib/common.sh"
need_kvm
run "$HWASSIST" --stats --timeout 300 "$GUEST" selftest
grep -Eq '^selftest: [0-9]+ passed, 0 failed' "$TMP/out" || fail "no 'selftest: N passed, 0 failed' line"
n=$(sed -n 's/^selftest: \([0-9]*\) passed.*/\1/p' "$TMP/out")
[ "$n" -ge 20 ] || fail "only $n checks ran; at least 20 expected"
expect_status 0
expect_err "KVM backend: kvm_"
expect_err "exits handled in user space"
expect_err "pio uart"
echo "RESULT: selftest: $n passed, 0 failed on $(sed -n 's/.*KVM backend: \([a-z_]*\).*/\1/p' "$TMP/err")"
