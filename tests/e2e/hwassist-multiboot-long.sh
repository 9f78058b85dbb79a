#!/bin/sh
# A Multiboot v1 kernel built like kvm-unit-tests' x86_64 binaries (ELF32
# wrapper around x86-64 code at 4 MiB; its 32-bit entry switches to long
# mode) boots under hv-hwassist as under `qemu -kernel` (see
# tests/e2e/qemu-multiboot-long.sh): it gets its command line, reads the
# environment module, finds hv-hwassist's fw_cfg device (1 CPU), passes all
# of its checks and exits through isa-debug-exit with 0: status 1.
. "$(dirname "$0")/lib/common.sh"
need_kvm
MB=$BUILD/tests/guests/mb-long.elf
[ -f "$MB" ] || fail "$MB was not built"
printf 'MB_LONG_GREETING=hello-from-env\nEXPECT_NB_CPUS=1\n' >"$TMP/env"
run "$HWASSIST" --timeout 60 --module "$TMP/env" "$MB" x
# need_kvm probes with $GUEST; when that is not built, hv-hwassist says here
[ "$rc" -eq 77 ] && skip "hv-hwassist cannot use KVM on this host: $(tail -n 1 "$TMP/err")"
expect_status 1
expect_out "argv\[0\] \"$MB\", argv\[1\] \"x\""
expect_out '^mb-long: env MB_LONG_GREETING=hello-from-env'
expect_out '^mb-long: fw_cfg nb_cpus 1'
expect_out '^PASS: fw_cfg nb_cpus == EXPECT_NB_CPUS'
expect_out '^SUMMARY: [0-9]* tests, 0 unexpected failures'
grep -q '^FAIL' "$TMP/out" && fail "a FAIL line in the output"
echo "PASS: long-mode multiboot kernel booted, all checks passed, status 1"
