#!/bin/sh
# Boots tests/guests/mb-long (a Multiboot v1 kernel built like kvm-unit-tests'
# x86_64 binaries: ELF32 wrapper, 32-bit entry, switch to long mode) with
# stock QEMU TCG, the way kvm-unit-tests is run: `-kernel IMAGE -append ARGS
# -initrd ENVFILE` (QEMU passes -initrd as the first multiboot module).
# It checks that the guest itself is right, so that a failure of the same
# guest under an hvlab monitor points at the monitor:
#   - argv[0] is the image path and argv[1] "x" (the command line),
#   - the variable of the environment module is seen,
#   - fw_cfg reports 1 CPU, every check passes (SUMMARY, 0 failures),
#   - isa-debug-exit with 0: status (0 << 1) | 1 = 1.
# Exit: 0 passed, 77 skipped (no QEMU), anything else failed.
. "$(dirname "$0")/lib/common.sh"
MB=$BUILD/tests/guests/mb-long.elf

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    skip "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
[ -f "$MB" ] || fail "$MB is missing (make $MB)"

printf 'MB_LONG_GREETING=hello-from-env\nEXPECT_NB_CPUS=1\n' >"$TMP/env"
to=""
command -v timeout >/dev/null 2>&1 && to="timeout 60"
run $to qemu-system-x86_64 -accel tcg -cpu max -display none -serial stdio -monitor none \
    -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$MB" -append 'x' -initrd "$TMP/env"
expect_status 1
expect_out "argv\[0\] \"$MB\", argv\[1\] \"x\""
expect_out '^mb-long: env MB_LONG_GREETING=hello-from-env'
expect_out '^mb-long: fw_cfg nb_cpus 1'
expect_out '^PASS: fw_cfg nb_cpus == EXPECT_NB_CPUS'
expect_out '^PASS: #UD caught by own IDT and resumed'
expect_out '^PASS: write/read through own page tables'
expect_out '^SUMMARY: [0-9]* tests, 0 unexpected failures'
grep -q '^FAIL' "$TMP/out" && fail "a FAIL line in the output"
echo "PASS: mb-long booted by QEMU's multiboot loader, all checks passed, status 1"
