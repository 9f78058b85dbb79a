# Shared by the virtio-blk end-to-end tests (sourced after common.sh).

SIZE=262144                       # 512 sectors: two 64 KiB halves and more
DISK=$TMP/disk.img
half=$((SIZE / 2))

# zlib's CRC-32 of a file: the first 4 bytes of gzip's 8-byte trailer
# (RFC 1952 §2.3.1, little-endian; od prints it in the host's order, x86's).
host_crc() { gzip -c "$1" | tail -c 8 | od -An -tx4 -N4 | tr -d ' \n'; }

# A disk of random bytes in $TMP/orig.img, its CRC in $want, and the CRC the
# disk must have after blkcopy (its first half twice) in $want_copied.
make_disk() {
    head -c $SIZE /dev/urandom >"$TMP/orig.img" || fail "cannot make a random disk image"
    want=$(host_crc "$TMP/orig.img")
    head -c $half "$TMP/orig.img" >"$TMP/copied.img"
    head -c $half "$TMP/orig.img" >>"$TMP/copied.img"
    want_copied=$(host_crc "$TMP/copied.img")
}

check_monitor() { # MONITOR NAME
    mon=$1 name=$2
    for opt in "" noevent poll "poll noevent"; do
        cp "$TMP/orig.img" "$DISK"
        run "$mon" --timeout 120 --disk "$DISK" "$GUEST" blkcrc $opt
        expect_status 0
        expect_out "^blkcrc: sectors=$((SIZE / 512)) crc32=$want\$"
        echo "RESULT: $name blkcrc${opt:+ $opt}: crc32=$want, as on the host"
    done
    run "$mon" --timeout 120 --disk "$DISK" "$GUEST" blkcopy
    expect_status 0
    expect_out "^blkcopy: ok"
    cmp -s "$DISK" "$TMP/orig.img" && fail "$name: blkcopy left the disk unchanged"
    head -c $half "$DISK" >"$TMP/first"
    tail -c $half "$DISK" >"$TMP/second"
    cmp -s "$TMP/first" "$TMP/second" || fail "$name: after blkcopy the second half differs from the first"
    head -c $half "$TMP/orig.img" | cmp -s - "$TMP/first" || fail "$name: blkcopy changed the first half"
    echo "RESULT: $name blkcopy: second half equals the first, byte for byte"

    cp "$TMP/orig.img" "$DISK"
    run "$mon" --timeout 120 --disk "$DISK" --disk-readonly "$GUEST" blkcopy
    expect_status 1
    expect_out "^blkcopy: write of sectors .* failed: I/O error (the disk is read-only)"
    cmp -s "$DISK" "$TMP/orig.img" || fail "$name: a read-only disk was changed"
    echo "RESULT: $name --disk-readonly: the write was refused, the file is unchanged"
}


# The guest's blkhostile (guestkernel/blk_hostile.c): 12 malformed queues,
# each met with DEVICE_NEEDS_RESET and one stderr line from the monitor
# naming what was wrong, a read past the end met with IOERR, the device
# working after the resets, the monitor alive to the end, the disk unchanged
# (paravirt: a 14th case, a read aimed at a pinned page table, refused).
check_hostile() { # MONITOR NAME [CASES]
    cp "$TMP/orig.img" "$DISK"
    run "$1" --timeout 120 --disk "$DISK" "$GUEST" blkhostile
    expect_status 0
    expect_out "^blkhostile: ${3:-13} cases, all refused; the device works after each reset\$"
    grep -q '^FAIL' "$TMP/out" && fail "$2: a hostile-queue case was not refused"
    n=$(grep -c 'virtio-blk (virtio-mmio slot 0): queue 0: .*; the device needs a reset$' "$TMP/err")
    [ "$n" -eq 12 ] || fail "$2: $n 'needs a reset' lines on stderr, expected 12"
    for what in "loops" "outside the queue size" "jumped from" "not in guest RAM" "more than 64 descriptors" \
                "wraps around the end of the address space" "follows a device-writable one" \
                "16-byte header and a status byte" "INDIRECT"; do
        expect_err "$what"
    done
    cmp -s "$DISK" "$TMP/orig.img" || fail "$2: the hostile requests changed the disk"
    echo "RESULT: $2 blkhostile: 12 malformed queues -> DEVICE_NEEDS_RESET, 1 IOERR, device fine after reset"
}
