#!/bin/sh
# virtio-blk under hv-hwassist on this host's KVM: the checks of
# virtio-blk.sh (blkcrc equals the host's CRC-32 with and without EVENT_IDX,
# blkcopy's halves, --disk-readonly refused and unchanged, hostile queues),
# through KVM MMIO
# exits and MSIs.  Skipped, with the reason, where KVM is not usable; the
# same device under AMD-V is svm-virtio-blk.sh.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/virtio.sh"
need_kvm
make_disk
# A KVM without what the disk needs (KVM_CAP_SIGNAL_MSI) is a host that
# cannot run this technique's device: hv-hwassist says so with status 77.
cp "$TMP/orig.img" "$DISK"
"$HWASSIST" --timeout 60 --disk "$DISK" "$GUEST" hello >"$TMP/probe" 2>&1
[ $? -eq 77 ] && skip "hv-hwassist cannot attach a disk on this KVM: $(tail -n 1 "$TMP/probe")"
check_monitor "$HWASSIST" hwassist
check_hostile "$HWASSIST" hwassist
