#!/bin/sh
# virtio-blk under hv-hwassist on KVM with true AMD-V and nested paging
# (KVM inside QEMU TCG, tests/svm/): the device's kicks are KVM MMIO exits
# and its completions MSIs through KVM_SIGNAL_MSI.  In one boot: blkcrc of a
# random disk equals the host's CRC-32 (with and without EVENT_IDX); after
# blkcopy the disk's CRC is that of its first half twice (checked inside the
# VM: the disk lives in its initramfs), interrupt-driven and polled; with --disk-readonly blkcopy fails
# with a write error (status 1) and the CRC does not change; blkhostile's
# malformed queues each end in DEVICE_NEEDS_RESET; with --ioeventfd (kicks
# by ioeventfd to an I/O thread, completions by irqfd) blkcrc still reads
# the right bytes, interrupt-driven and polled.  Skipped (77)
# when QEMU or the Debian kernel cannot be had.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/virtio.sh"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not found"
for f in bin/hv-hwassist.static guest/guestkernel.elf; do
    [ -f "$BUILD/$f" ] || fail "$BUILD/$f was not built (make test-build)"
done
make_disk
log=$TMP/svm.log
HV="/hv-hwassist --disk /disk.img"
sh "$(dirname "$0")/../svm/run.sh" --qemu-timeout 170 --timeout 100 --log "$log" \
    --file "$TMP/orig.img:/disk.img" \
    -- $HV /guestkernel.elf blkcrc \
    --- $HV /guestkernel.elf blkcrc noevent \
    --- $HV /guestkernel.elf blkcrc poll \
    --- $HV /guestkernel.elf blkcopy \
    --- $HV /guestkernel.elf blkcrc \
    --- --expect 1 $HV --disk-readonly /guestkernel.elf blkcopy \
    --- $HV --disk-readonly /guestkernel.elf blkcrc \
    --- $HV /guestkernel.elf blkhostile \
    --- $HV --ioeventfd /guestkernel.elf blkcrc \
    --- $HV --ioeventfd /guestkernel.elf blkcrc poll
rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || fail "a command under AMD-V ended with an unexpected status; see the log above"
out=$(tr -d '\r' <"$log")
crcs=$(printf '%s\n' "$out" | sed -n 's/^blkcrc: sectors=512 crc32=\([0-9a-f]*\)$/\1/p' | tr '\n' ' ')
expect="$want $want $want $want_copied $want_copied $want_copied $want_copied "
[ "$crcs" = "$expect" ] || fail "blkcrc results '$crcs', expected '$expect'"
printf '%s\n' "$out" | grep -q 'blkcopy: write of sectors .* failed: I/O error (the disk is read-only)' ||
    fail "the read-only blkcopy did not fail with the read-only write error"
printf '%s\n' "$out" | grep -q '^blkhostile: 13 cases, all refused; the device works after each reset' ||
    fail "blkhostile did not report every hostile queue refused"
n=$(printf '%s\n' "$out" | grep -c 'the device needs a reset$')
[ "$n" -eq 12 ] || fail "$n 'needs a reset' lines from hv-hwassist, expected 12"
echo "RESULT: AMD-V --ioeventfd: blkcrc = $want_copied, interrupt-driven (irqfd) and polled"
echo "RESULT: AMD-V: blkhostile: 12 malformed queues -> DEVICE_NEEDS_RESET, 1 IOERR, device fine after reset"
echo "RESULT: AMD-V: blkcrc = host CRC-32 $want (interrupts through KVM_SIGNAL_MSI, EVENT_IDX on and off; polled); after blkcopy $want_copied, the first half twice; read-only refused, unchanged"
