#!/bin/sh
# Isolation of hv-trap-emulate (issue 4).  The test guest
# build/tests/guests/hostile.elf (tests/guests/hostile.c) tries, one scenario
# per run, to reach the host or the monitor: a host system call with
# `syscall` (EFER.SCE set, then clear), `int $0x80`, a jump into the
# monitor's stub with the registers of a host mkdir(), a page-table entry
# that points outside guest RAM, a mapping of a guest-physical page with
# neither RAM nor a device, a mapping of the hypervisor hole, an endless
# fault loop and a triple fault.  Each must end in the guest (its own exit
# code) or be stopped by the monitor with its status and exactly one line
# `hv-trap-emulate: <reason>` on stderr; in every run "ESCAPED" (what a host
# write would print) never appears, the directory a host mkdir() would
# create does not exist, and no stub process (hvlab-r3-stub) is left.  A
# last run checks that the monitor still runs the guest kernel.
#
# By design (docs/trap-and-emulate.md, "Isolation"): the hole holds the
# stub's code, its read-only op page and its signal stack, mapped in the
# guest's process, so guest code can read them and write the signal stack
# (the kernel overwrites it with each fault's frame before the monitor reads
# it).  The tests check exactly that and nothing more: the host's own stack,
# vDSO and vvar are gone from the child (a jump there is a hole stop), and a
# native `popf` that sets RFLAGS.TF gets exactly one #DB with TF clear.
#
# Where QEMU is installed, the scenarios that mean the same on a real x86
# also run under QEMU TCG (the reference): status (code << 1) | 1.
#
# Exit status: 0 passed, 77 skipped (ptrace/seccomp not permitted), else failed.
. "$(dirname "$0")/lib/common.sh"
TRAPEMU=${TRAPEMU:-$BUILD/bin/hv-trap-emulate}
HOSTILE=$BUILD/tests/guests/hostile.elf
[ -x "$TRAPEMU" ] || fail "$TRAPEMU was not built"
[ -f "$HOSTILE" ] || fail "$HOSTILE was not built (make test-build)"

# Where a host mkdir() by the guest would land: must never exist.
ESCAPE_DIR=${TMPDIR:-/tmp}/hvlab-escaped-$$
[ ! -e "$ESCAPE_DIR" ] || fail "$ESCAPE_DIR exists before the test"

. "$(dirname "$0")/lib/ring3.sh"
use_private_stub
trap 'rm -rf "$TMP" "$STUBDIR"; rmdir "$ESCAPE_DIR" 2>/dev/null' EXIT
probe_ring3_monitor "$TRAPEMU" "$HOSTILE" hv-trap-emulate

# The host must be untouched after every run, whatever its status.
host_untouched() { # LABEL
    if grep -q ESCAPED "$TMP/out" "$TMP/err"; then
        bad "$1: \"ESCAPED\" was printed: a guest write reached the host"
    fi
    if [ -e "$ESCAPE_DIR" ]; then
        bad "$1: $ESCAPE_DIR exists: a guest mkdir reached the host"
        rmdir "$ESCAPE_DIR" 2>/dev/null
    fi
    left=$(leftover_stubs)
    if [ -n "$left" ]; then
        bad "$1: stub process(es) left running:$left"
        for p in $left; do kill -9 "$p" 2>/dev/null; done
    fi
}

# The reason of a run that the guest ended itself ($1 = its exit code): its
# "hostile: exit N: why" line; the monitor must say nothing on stderr.
guest_reason() {
    reason=$(sed -n "s/^hostile: exit $1: //p" "$TMP/out" | tail -n 1)
    [ -n "$reason" ] || { bad "$label: no 'hostile: exit $1:' line"; return 1; }
    [ ! -s "$TMP/err" ] || { bad "$label: the guest ended itself, yet stderr has: $(head -n 1 "$TMP/err")"; return 1; }
}

# The reason of a run the monitor stopped: exactly one stderr line.
monitor_reason() {
    n=$(wc -l <"$TMP/err")
    [ "$n" -eq 1 ] || { bad "$label: $n lines on stderr, expected exactly one"; return 1; }
    reason=$(cat "$TMP/err")
    case $reason in
    "hv-trap-emulate: "*) ;;
    *) bad "$label: the stderr line does not start with 'hv-trap-emulate: '"; return 1 ;;
    esac
}

# scenario LABEL STATUS guest|monitor REASON STEP ARGS...: runs the monitor
# with ARGS; expects STATUS, a reason matching REASON (grep BRE: the guest's
# exit line, or the monitor's one stderr line) and the guest's step line STEP
# on stdout (the hostile action was really tried).
scenario() {
    label=$1 want=$2 who=$3 want_reason=$4 step=$5
    shift 5
    run timeout -k 5 60 "$TRAPEMU" "$@"
    host_untouched "$label"
    grep -q -- "$step" "$TMP/out" || bad "$label: stdout lacks the step: $step"
    if [ "$rc" -ne "$want" ]; then
        bad "$label: exit status $rc, expected $want"
        return
    fi
    if [ "$who" = guest ]; then guest_reason "$want" || return
    else monitor_reason || return
    fi
    printf '%s\n' "$reason" | grep -q -- "$want_reason" ||
        { bad "$label: the reason does not say: $want_reason"; return; }
    echo "RESULT: $label: status $rc, \"$reason\""
}

H=$HOSTILE
scenario host-syscall 21 guest "reached the guest's own IA32_LSTAR handler" \
    "step 5: the guest's handler got rax 83" "$H" host-syscall "$ESCAPE_DIR"
scenario host-syscall-nosce 22 guest "raised #UD in the guest" \
    "step 3: #UD at the syscall instruction" "$H" host-syscall-nosce
scenario int80 23 guest "delivered through the guest's IDT" \
    "step 4: the guest's vector 0x80 handler got eax 39" "$H" int80 "$ESCAPE_DIR"
scenario jump-stub 122 monitor "ran outside guest memory, in the hypervisor hole" \
    "step 2: calling 0x7f8000000000 in the hypervisor hole" \
    "$H" jump-stub 0x7f8000000000 "$ESCAPE_DIR"
scenario jump-stub-batch 122 monitor "ran outside guest memory, in the hypervisor hole" \
    "step 2: calling 0x7f8000000080 in the hypervisor hole" \
    "$H" jump-stub 0x7f8000000080 "$ESCAPE_DIR"
scenario jump-hole-unmapped 122 monitor "ran outside guest memory, in the hypervisor hole" \
    "step 2: calling 0x7f0000000000 in the hypervisor hole" \
    "$H" jump-stub 0x7f0000000000 "$ESCAPE_DIR"
scenario pte-outside-ram 122 monitor \
    "page-table entry at GPA 0x[0-9a-f]* (level 2) points outside guest RAM (0xc0000000)" \
    "step 2: reading 0x8000000000 through it" "$H" pte-outside-ram
scenario map-outside-ram 122 monitor \
    "guest wrote 4 bytes at guest-physical 0xc0000000, where there is neither RAM nor a device" \
    "step 2: writing 4 bytes to 0x8000001000" "$H" map-outside-ram
scenario map-hole 122 monitor \
    "map guest-virtual 0x7f0000000000 (guest-physical 0x[0-9a-f]*) inside the hypervisor hole" \
    "step 2: writing 8 bytes to 0x7f0000000000" "$H" map-hole
scenario map-hole-stub 122 monitor \
    "map guest-virtual 0x7f8000000000 (guest-physical 0x[0-9a-f]*) inside the hypervisor hole" \
    "step 2: writing 8 bytes to 0x7f8000000000" "$H" map-hole 0x7f8000000000
start=$(date +%s)
scenario fault-loop 124 monitor "^hv-trap-emulate: timed out after 2 s " \
    "#PF 1000: cr2 0x10000000000" --timeout 2 "$H" fault-loop
took=$(( $(date +%s) - start ))
[ "$took" -lt 15 ] || bad "fault-loop: --timeout 2 took ${took}s to end the guest"
scenario triple-fault 120 monitor \
    "^hv-trap-emulate: triple fault: #GP while delivering #DF (IDTR 0x0/0)" \
    "step 1: no IDT" "$H" triple-fault

# sysenter in 64-bit mode: #UD on AMD, #GP(0) on Intel without SYSENTER MSRs
# (both delivered to the guest, status 25); a host that takes it as a 32-bit
# system call must still stop the guest (122).
run timeout -k 5 60 "$TRAPEMU" "$H" sysenter
host_untouched sysenter
label=sysenter
case $rc in
25)  guest_reason 25 && echo "RESULT: sysenter: status 25, \"$reason\"" ;;
122) monitor_reason && echo "RESULT: sysenter: status 122, \"$reason\"" ;;
*)   bad "sysenter: exit status $rc, expected 25 (fault delivered) or 122 (stopped)" ;;
esac

# The stub's pages in the hole: readable (its code), writable (its signal
# stack), by design; status 50 / 53 say the access went through.
stub_page() { # LABEL STATUS WHAT ARGS...
    label=$1 want=$2 what=$3
    shift 3
    run timeout -k 5 60 "$TRAPEMU" "$@"
    host_untouched "$label"
    [ "$rc" -eq "$want" ] || bad "$label: exit status $rc, expected $want ($what)"
    guest_reason "$want" && echo "RESULT: $label: status $rc, \"$reason\" (by design: $what)"
}
stub_page read-hole 50 "the stub's code page is readable" "$H" read-hole 0x7f8000000000
stub_page write-hole 53 "the stub's signal stack is writable; the kernel overwrites it on each fault" \
    "$H" write-hole 0x7f8000110000

# The host's vDSO is unmapped from the child: searching for it finds nothing
# (51), and nothing of the host runs and returns without a stop.
run timeout -k 5 60 "$TRAPEMU" "$H" hole-ret
host_untouched hole-ret
label=hole-ret
case $rc in
51)  guest_reason 51 && echo "RESULT: hole-ret: status 51, \"$reason\" (no vDSO in the child)" ;;
122) monitor_reason && echo "RESULT: hole-ret: status 122, \"$reason\"" ;;
*)   bad "hole-ret: exit status $rc, expected 51 (nothing found) or 122" ;;
esac

# RFLAGS.TF set by a native popf: one #DB, delivered with TF clear (SDM Vol.
# 3A §6.12.1.3), status 26.
run timeout -k 5 60 "$TRAPEMU" "$H" trap-flag
host_untouched trap-flag
[ "$rc" -eq 26 ] || bad "trap-flag: exit status $rc, expected 26 (one #DB, TF clear in the handler)"
guest_reason 26 && echo "RESULT: trap-flag: status 26, \"$reason\""

# The monitor itself is unaffected: the guest kernel still runs.
if [ -f "$GUEST" ]; then
    run timeout -k 5 60 "$TRAPEMU" "$GUEST" hello
    host_untouched "guest kernel"
    if [ "$rc" -eq 0 ] && grep -q "^hello from the hvlab guest kernel" "$TMP/out"; then
        echo "RESULT: afterwards the guest kernel's hello still runs (status 0)"
    else
        bad "the guest kernel's hello failed afterwards (status $rc)"
    fi
fi

# The reference x86: QEMU TCG, same image through its PVH entry.
# isa-debug-exit gives (code << 1) | 1; a triple fault with -no-reboot ends
# QEMU with 0, and -d cpu_reset logs "Triple fault".
qemu() { # LABEL STATUS CMDLINE...
    label="qemu $1" want=$2
    shift 2
    run timeout -k 5 60 qemu-system-x86_64 -accel tcg -cpu max -m 64 -display none \
        -serial stdio -monitor none -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -d cpu_reset -D "$TMP/qemu.log" \
        -kernel "$HOSTILE" -append "$*"
    grep -q ESCAPED "$TMP/out" && bad "$label: \"ESCAPED\" was printed"
    if [ "$rc" -ne "$want" ]; then
        bad "$label: QEMU exit status $rc, expected $want"
        return
    fi
    if [ "$want" -eq 0 ]; then
        grep -q "Triple fault" "$TMP/qemu.log" ||
            { bad "$label: QEMU logged no triple fault"; return; }
        grep -q "^hostile: exit" "$TMP/out" && { bad "$label: the guest went on"; return; }
        echo "RESULT: $label: status 0, \"$(grep -m 1 "Triple fault" "$TMP/qemu.log")\" (-d cpu_reset)"
        return
    fi
    reason=$(sed -n "s/^hostile: exit $(( want >> 1 )): //p" "$TMP/out" | tail -n 1)
    [ -n "$reason" ] || { bad "$label: no 'hostile: exit $(( want >> 1 )):' line"; return; }
    echo "RESULT: $label: status $rc (guest exit $(( want >> 1 ))), \"$reason\""
}
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    qemu host-syscall 43 host-syscall "$ESCAPE_DIR"
    qemu host-syscall-nosce 45 host-syscall-nosce
    qemu int80 47 int80 "$ESCAPE_DIR"
    qemu triple-fault 0 triple-fault
    qemu sysenter 51 sysenter
    qemu trap-flag 53 trap-flag
    qemu read-hole 49 read-hole 0x7f8000000000
    qemu write-hole 49 write-hole 0x7f8000110000
    [ ! -e "$ESCAPE_DIR" ] || bad "$ESCAPE_DIR exists after the QEMU runs"
else
    echo "NOTE: qemu-system-x86_64 not installed: the reference runs are left out"
fi

if [ "$failures" -ne 0 ]; then
    echo "trap-emulate-isolation: $failures failure(s)"
    exit 1
fi
echo "PASS: every hostile scenario ended in the guest or was stopped with one line; host untouched"
exit 0
