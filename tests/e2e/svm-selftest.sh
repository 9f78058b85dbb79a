#!/bin/sh
# hv-hwassist's guest self-test under KVM with true AMD-V and nested paging
# (KVM inside QEMU TCG, MACHINE-NOTES.md; DESIGN.md section 8).
# Passes when the guest prints "selftest: N passed, 0 failed" and
# hv-hwassist exits 0; skipped (77, "SKIP: ...") when QEMU, the Debian
# kernel or build/bin/hv-hwassist.static cannot be had.  Under 3 minutes.
set -u
BUILD=${BUILD:-build}
export BUILD
cd "$(dirname "$0")/../.." || exit 1

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    { echo "SKIP: qemu-system-x86_64 not found (apt-get install qemu-system-x86)"; exit 77; }
[ -x "$BUILD/bin/hv-hwassist.static" ] ||
    { echo "SKIP: $BUILD/bin/hv-hwassist.static does not exist yet (make $BUILD/bin/hv-hwassist.static)"; exit 77; }
[ -f "$BUILD/guest/guestkernel.elf" ] ||
    { echo "SKIP: $BUILD/guest/guestkernel.elf does not exist yet (make $BUILD/guest/guestkernel.elf)"; exit 77; }

log="$BUILD/svm/selftest.log"
sh tests/svm/run.sh --qemu-timeout 170 --timeout 150 --log "$log" \
    -- /hv-hwassist --stats /guestkernel.elf selftest
rc=$?
# 77: QEMU or the Debian kernel (an archive download, cached) cannot be had
[ $rc -eq 77 ] && exit 77

summary=$(tr -d '\r' <"$log" | grep -E '^selftest: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
if [ $rc -ne 0 ]; then
    echo "FAIL: hv-hwassist selftest under AMD-V (KVM in QEMU TCG): run.sh failed${summary:+ ($summary)}"
    exit 1
fi
case $summary in
*" passed, 0 failed"*)
    n=${summary#selftest: }; n=${n%% *}
    [ "$n" -gt 0 ] || { echo "FAIL: the guest ran no self-test ($summary)"; exit 1; }
    echo "PASS: $summary under AMD-V with nested paging (KVM in QEMU TCG)"
    exit 0 ;;
'') echo "FAIL: no 'selftest: N passed, M failed' line from the guest"; exit 1 ;;
*)  echo "FAIL: $summary"; exit 1 ;;
esac
