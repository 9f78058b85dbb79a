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
check_monitor "$HWASSIST" hwassist
check_hostile "$HWASSIST" hwassist
