#!/bin/sh
# The guest's virtio-blk driver against QEMU's own device, the reference
# implementation: -M microvm with a modern virtio-mmio transport, the disk a
# random file.  blkcrc equals the host's CRC-32 (with and without
# EVENT_IDX), and after blkcopy the file's halves are equal.  The guest finds
# microvm's windows by their magic and polls (it does not program the I/O
# APIC); its TSC rate comes from the kernel option tsc_khz= (microvm has no
# port 0x61 for the PIT).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/virtio.sh"
need_qemu
make_disk
khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
[ -n "$khz" ] && [ "$khz" -gt 0 ] || khz=1000000   # only the timeouts use it here

qemu_blk() { # GUEST COMMAND...
    run timeout 120 qemu-system-x86_64 -M microvm -accel tcg -cpu max -m 256 -display none \
        -serial stdio -monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -global virtio-mmio.force-legacy=false -drive "file=$DISK,if=none,id=d0,format=raw" \
        -device virtio-blk-device,drive=d0 -kernel "$GUEST" -append "tsc_khz=$khz $*"
}

for opt in "" noevent; do
    cp "$TMP/orig.img" "$DISK"
    qemu_blk blkcrc $opt
    expect_status 1                               # isa-debug-exit: (0 << 1) | 1
    expect_out "^blkcrc: sectors=$((SIZE / 512)) crc32=$want\$"
    echo "RESULT: QEMU microvm blkcrc${opt:+ $opt}: crc32=$want, as on the host"
done
qemu_blk blkcopy
expect_status 1
expect_out "^blkcopy: ok"
head -c $half "$DISK" >"$TMP/first"
tail -c $half "$DISK" >"$TMP/second"
cmp -s "$TMP/first" "$TMP/second" || fail "after blkcopy under QEMU the halves differ"
head -c $half "$TMP/orig.img" | cmp -s - "$TMP/first" || fail "blkcopy under QEMU changed the first half"
echo "RESULT: QEMU microvm blkcopy: second half equals the first"
