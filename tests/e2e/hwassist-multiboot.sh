#!/bin/sh
# A multiboot v1 kernel that shares no code with guestkernel boots under
# hv-hwassist, prints through the UART, and exits through isa-debug-exit
# with status (5 << 1) | 1 = 11, as under QEMU.
. "$(dirname "$0")/lib/common.sh"
need_kvm
MB=$BUILD/tests/guests/mb-hello.elf
[ -f "$MB" ] || fail "$MB was not built"
run "$HWASSIST" --timeout 120 "$MB" exit=5
expect_status 11
expect_out 'mb-hello: booted by hvlab'
expect_out 'exit=5'
echo "PASS: multiboot kernel booted, printed and exited with 11"
