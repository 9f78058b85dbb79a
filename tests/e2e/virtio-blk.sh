#!/bin/sh
# virtio-blk under each hypervisor (docs/virtio.md): on a disk file of random
# bytes, the guest's `blkcrc` equals the CRC-32 of the file computed on the
# host (zlib's CRC-32, read from a gzip trailer), with EVENT_IDX and without;
# after `blkcopy` the file's second half equals its first half byte for
# byte; with --disk-readonly the copy fails with a write error (status 1)
# and the file is unchanged; hostile queues (blkhostile) put the device into
# DEVICE_NEEDS_RESET, never hang or crash the monitor.  hv-hwassist: virtio-blk-hwassist.sh (host KVM)
# and svm-virtio-blk.sh (AMD-V inside QEMU).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/virtio.sh"
make_disk

[ -f "$GUEST" ] || fail "$GUEST was not built"
check_monitor "$TRAPEMU" trap-emulate
check_monitor "$HVPARA" paravirt
check_hostile "$TRAPEMU" trap-emulate
check_hostile "$HVPARA" paravirt 14
grep -q '^ok read-into-pinned-table: ' "$TMP/out" || fail "paravirt: a read into a pinned page table was not refused"

# Bad --disk arguments are usage errors, with one line naming the problem.
run "$TRAPEMU" --disk "$TMP/missing.img" "$GUEST" hello
expect_status 2
expect_err "--disk $TMP/missing.img: No such file or directory"
head -c 100 /dev/zero >"$TMP/tiny.img"
run "$HVPARA" --disk "$TMP/tiny.img" "$GUEST" hello
expect_status 2
expect_err "smaller than one 512-byte sector"
run "$TRAPEMU" --disk-readonly "$GUEST" hello
expect_status 2
expect_err "disk-readonly needs --disk"

# No disk: the command says how to get one.
run "$HVPARA" "$GUEST" blkcrc
expect_status 1
expect_out "run the monitor with --disk FILE"
