#!/bin/sh
# End-to-end: the guest's `sensitive` command under stock QEMU (TCG, the
# reference x86).  There the kernel really runs in ring 0, so every sensitive
# but unprivileged instruction must show the kernel's own state: SGDT/SIDT
# the tables it loaded, STR its TSS, CS/SS its selectors (RPL 0), PUSHF IF=0
# after CLI, POPF able to set and clear IF and IOPL.  CPUID is QEMU's CPU
# model, which QEMU emulates in full: its OSXSAVE bit follows the guest's CR4,
# so it too reads as virtualized, and QEMU announces itself in leaf
# 0x40000000 ("TCGTCGTCGTCG").  RDPID is either #UD (QEMU 7.2's TCG lacks it)
# or the guest's own IA32_TSC_AUX.  In short: 0 lines show the host's view.
#
# The command always exits 0 (QEMU status 1 through isa-debug-exit).
# Exit status: 0 passed, 77 skipped (no QEMU), anything else failed.
set -u
. "$(dirname "$0")/lib/common.sh"
KERNEL=$GUEST
INSNS="cpuid pushf popf sgdt sidt sldt str smsw mov_cs mov_ss lar lsl rdpid"
need_qemu
log=$TMP/log
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

echo "== qemu-system-x86_64 -kernel $KERNEL -append sensitive"
timeout 120 qemu-system-x86_64 -accel tcg -cpu max -m 256 -display none \
    -serial stdio -monitor none -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$KERNEL" -append sensitive >"$log" 2>&1 </dev/null
status=$?
cat "$log"
echo "== QEMU exit status $status"
[ "$status" -eq 1 ] || fail "QEMU exit status $status, expected 1 (guest exit 0)"

# line INSN: the one output line for INSN ("mov_cs" stands for "mov cs").
line() {
    name=$(echo "$1" | tr _ ' ')
    grep "^sensitive: $name: " "$log"
}

for insn in $INSNS; do
    n=$(line "$insn" | wc -l)
    [ "$n" -eq 1 ] || fail "$n lines for $(echo "$insn" | tr _ ' '), expected 1"
done

# Everything but rdpid must be the kernel's own state.
for insn in $INSNS; do
    [ "$insn" = rdpid ] && continue
    line "$insn" | grep -q ' — virtualized$' ||
        fail "$(echo "$insn" | tr _ ' ') is not virtualized under QEMU: $(line "$insn")"
done
line sgdt | grep -q 'base \(0x[0-9a-f]*\) limit \(0x[0-9a-f]*\), the kernel loaded \1/\2 ' ||
    fail "sgdt does not show the GDT the kernel loaded"
line str | grep -q '^sensitive: str: 0x28, ' || fail "str is not the kernel's TSS selector 0x28"
line mov_cs | grep -q '^sensitive: mov cs: 0x8 (RPL 0), ' || fail "cs is not 0x8 (RPL 0)"
line pushf | grep -q ': IF 0 IOPL 0, ' || fail "pushf after cli does not read IF 0"
line popf | grep -q 'read IF 1 IOPL 3; clear: read IF 0 IOPL 0 ' ||
    fail "popf did not set and clear IF and IOPL as at CPL 0"
line cpuid | grep -q 'OSXSAVE 0 with CR4.OSXSAVE 0 ' ||
    fail "cpuid's OSXSAVE bit does not follow the guest's CR4"
line cpuid | grep -q 'hypervisor bit 1, leaf 0x40000000 "TCGTCGTCGTCG"' ||
    fail "cpuid does not show QEMU's TCG model (hypervisor bit, signature TCGTCGTCGTCG)"
line rdpid | grep -q ' — #UD (not supported on this CPU)$\| — virtualized$' ||
    fail "rdpid neither #UD nor the guest's TSC_AUX: $(line rdpid)"

host=$(grep -c "^sensitive: .* — host's view$" "$log")
[ "$host" -eq 0 ] || fail "$host lines show the host's view, expected 0"
count=$(echo $INSNS | wc -w)
grep -q "^sensitive: $count instructions, 0 show the host's view$" "$log" ||
    fail "no summary line 'sensitive: $count instructions, 0 show the host's view'"

if [ "$failures" -ne 0 ]; then
    echo "qemu-sensitive: $failures failure(s)"
    exit 1
fi
vendor=$(line cpuid | sed -n 's/.*vendor "\([^"]*\)".*/\1/p')
rdpid=$(line rdpid | sed -n 's/.* — \(.*\)$/\1/p')
echo "RESULT: sensitive under QEMU TCG: $count instructions, 0 show the host's view (ring 0: all virtualized)"
echo "RESULT: cpuid is QEMU's model: vendor $vendor, signature TCGTCGTCGTCG, OSXSAVE follows CR4; rdpid: $rdpid"
echo "qemu-sensitive: passed"
exit 0
