#!/bin/sh
# Boots tests/guests/mb-hello (a Multiboot v1 kernel) with stock QEMU TCG:
# checks that the multiboot test guest itself is right (so that a failure of
# the same guest under an hvlab monitor points at the monitor, not at it).
#   - it prints its one line (boot loader name, cmdline, mem_upper, mmap),
#   - it exits through isa-debug-exit with exit=5: status (5 << 1) | 1 = 11.
# Exit: 0 passed, 77 skipped (no QEMU), anything else failed.
set -u
BUILD=${BUILD:-build}
guest="$BUILD/tests/guests/mb-hello.elf"

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "SKIP: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)" >&2
    exit 77
fi
if [ ! -f "$guest" ]; then
    echo "FAIL: $guest is missing (make $guest)" >&2
    exit 1
fi

out="${TMPDIR:-/tmp}/hvlab-qemu-multiboot.$$"
trap 'rm -f "$out"' EXIT INT TERM

to=""
command -v timeout >/dev/null 2>&1 && to="timeout 60"
$to qemu-system-x86_64 -accel tcg -display none -serial stdio -monitor none -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$guest" -append 'exit=5' >"$out" 2>&1
status=$?
cat "$out"

want='^mb-hello: booted by [^,]+, cmdline "[^"]*exit=5", mem_upper [0-9]+ KiB, [0-9]+ mmap entries$'
if ! grep -Eq "$want" "$out"; then
    echo "FAIL: no line matching: $want" >&2
    exit 1
fi
if [ "$status" -ne 11 ]; then
    echo "FAIL: QEMU exited with status $status, want 11 ((5 << 1) | 1 from isa-debug-exit)" >&2
    exit 1
fi
echo "PASS: mb-hello booted by QEMU's multiboot loader and exited with status 11"
