#!/bin/sh
# hv-hwassist under KVM with true AMD-V and nested paging (KVM inside QEMU
# TCG, MACHINE-NOTES.md; DESIGN.md section 8), in one boot of the SVM VM:
#   - the guest selftest with the native `syscall` path, and again through
#     the UD2 gate: "selftest: N passed, 0 failed", status 0;
#   - the guest's exit paths: `exit 7` -> 7, `fault` -> 3 with the panic line,
#     an unknown command -> 4, `hang` ended by --timeout -> 124;
#   - Multiboot kernels: mb-hello (status 11) and the kvm-unit-tests-style
#     mb-long with an environment module (status 1, 0 unexpected failures).
# run.sh checks every command's status; this script checks what they print,
# including kvm_amd npt=Y and KVM's own exit counters.  Skipped (77,
# "SKIP: ...") when QEMU, the Debian kernel or the static monitor cannot be
# had.  Under 3 minutes.
set -u
BUILD=${BUILD:-build}
export BUILD
cd "$(dirname "$0")/../.." || exit 1

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    { echo "SKIP: qemu-system-x86_64 not found (apt-get install qemu-system-x86)"; exit 77; }
for f in bin/hv-hwassist.static guest/guestkernel.elf tests/guests/mb-hello.elf \
         tests/guests/mb-long.elf; do
    [ -f "$BUILD/$f" ] || { echo "FAIL: $BUILD/$f was not built (make test-build)"; exit 1; }
done

log="$BUILD/svm/selftest.log"
env="$BUILD/svm/mb-long.env"
mkdir -p "$BUILD/svm"
printf 'MB_LONG_GREETING=hello-from-svm\nEXPECT_NB_CPUS=1\n' >"$env"
sh tests/svm/run.sh --qemu-timeout 170 --timeout 100 --log "$log" --file "$env:/guests/ENV" \
    -- /hv-hwassist --stats /guestkernel.elf selftest \
    --- /hv-hwassist /guestkernel.elf selftest quirk-syscall-gate \
    --- --expect 7 /hv-hwassist /guestkernel.elf exit 7 \
    --- --expect 3 /hv-hwassist /guestkernel.elf fault \
    --- --expect 4 /hv-hwassist /guestkernel.elf no-such-command \
    --- --expect 124 /hv-hwassist --timeout 2 /guestkernel.elf hang \
    --- --expect 11 /hv-hwassist /guests/mb-hello.elf exit=5 \
    --- --expect 1 /hv-hwassist --module /guests/ENV /guests/mb-long.elf x
rc=$?
# 77: QEMU or the Debian kernel (an archive download, cached) cannot be had
[ $rc -eq 77 ] && exit 77

out=$(tr -d '\r' <"$log")
fail() { echo "FAIL: $*"; exit 1; }
[ $rc -eq 0 ] || fail "a command under AMD-V (KVM in QEMU TCG) ended with an unexpected status; see $log"
expect() { printf '%s\n' "$out" | grep -Eq -- "$1" || fail "the log lacks: $1"; }
expect 'svm-init: kvm_amd npt=Y'
expect 'KVM backend: kvm_amd'
expect "KVM's own counters"
expect 'ok syscall_roundtrip \(via syscall\)'
expect 'ok syscall_roundtrip \(via ud2 gate\)'
expect 'panic: exception #PF'
expect 'timed out after 2 s'
expect 'mb-hello: booted by hvlab'
expect 'fw_cfg nb_cpus 1'
expect 'MB_LONG_GREETING=hello-from-svm'
expect 'SUMMARY: [0-9]+ tests, 0 unexpected failures'
n=$(printf '%s\n' "$out" | grep -cE '^selftest: [0-9]+ passed, 0 failed')
[ "$n" -eq 2 ] || fail "expected two 'selftest: N passed, 0 failed' lines, found $n"
checks=$(printf '%s\n' "$out" | sed -n 's/^selftest: \([0-9]*\) passed, 0 failed/\1/p' | head -n 1)
[ "$checks" -ge 20 ] || fail "only $checks selftest checks ran; at least 20 expected"
counter() { printf '%s\n' "$out" | sed -n "s/^  $1  *\([0-9]*\) .*/\1/p" | head -n 1; }
echo "RESULT: kvm_amd npt=Y (AMD-V with nested paging, KVM in QEMU TCG)"
echo "RESULT: selftest: $checks passed, 0 failed (syscall and ud2 gate); exit paths, --timeout, two multiboot kernels"
echo "RESULT: selftest exits seen by KVM: $(counter exits) in all, $(counter io_exits) port I/O to hv-hwassist, $(counter halt_exits) hlt, $(counter pf_fixed) nested page faults fixed, $(counter insn_emulation) emulated"
