#!/bin/sh
# Runs commands under KVM with true AMD-V and nested paging: Debian's kernel
# boots in `qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt`, its /init
# (tests/svm/init.c) loads kvm_amd and runs the commands one after the other.
#
# usage: tests/svm/run.sh [OPTIONS] -- [--expect S] CMD ARGS... [--- [--expect S] CMD ARGS...]
#
#   --expect S        expected exit status of every command (default 0; "any")
#                     (--expect right after -- or --- sets it for that command)
#   --timeout S       per-command limit inside the VM, in seconds (default 150;
#                     a command over it is killed and reports status 124)
#   --qemu-timeout S  limit for the whole QEMU run (default 180)
#   --file SRC[:DEST] put SRC into the initramfs as DEST (default /basename)
#   --append ARGS     more kernel command line, e.g. "kvm_amd.npt=0 hvlab.npt=N"
#                     (module parameters are applied by /init)
#   --cpu MODEL       QEMU -cpu (default EPYC,+svm,+npt)
#   --mem MIB         the VM's RAM (default 1024; a KVM guest inside needs less)
#   --log FILE        serial log (default $BUILD/svm/last-run.log)
#
# The initramfs holds /init, /modules/*.ko, /kvm-probe and, when they exist,
#   /hv-hwassist       <- $BUILD/bin/hv-hwassist.static
#   /guestkernel.elf   <- $BUILD/guest/guestkernel.elf
#   /guests/NAME.elf   <- $BUILD/tests/guests/NAME.elf
# Commands are looked up by absolute path (or in /bin, then /).
#
# Exit status: 0 when QEMU reported success through isa-debug-exit (status
# (0 << 1) | 1 = 1) and the log shows every command with its expected status;
# 77 (a line starting "SKIP:") when QEMU or the kernel cannot be had;
# 1 otherwise.  Example:
#   tests/svm/run.sh -- /kvm-probe --- /hv-hwassist --stats /guestkernel.elf selftest
set -u

BUILD=${BUILD:-build}
SVM="$BUILD/svm"
HERE=$(dirname "$0")

expect_all=0
cmd_timeout=150
qemu_timeout=180
cpu="EPYC,+svm,+npt"
mem=1024
append=""
log="$SVM/last-run.log"
extra_files=""
nl='
'

die() { echo "run.sh: error: $*" >&2; exit 1; }
usage() { sed -n '/^# usage:/,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
    --expect) [ $# -ge 2 ] || usage; expect_all=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; cmd_timeout=$2; shift 2 ;;
    --qemu-timeout) [ $# -ge 2 ] || usage; qemu_timeout=$2; shift 2 ;;
    --file) [ $# -ge 2 ] || usage; extra_files="$extra_files$2$nl"; shift 2 ;;
    --append) [ $# -ge 2 ] || usage; append="$append $2"; shift 2 ;;
    --cpu) [ $# -ge 2 ] || usage; cpu=$2; shift 2 ;;
    --mem) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
    --log) [ $# -ge 2 ] || usage; log=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown option $1" >&2; usage ;;
    esac
done
[ $# -gt 0 ] || usage
case $expect_all in any|[0-9]|[0-9][0-9]|[0-9][0-9][0-9]) ;; *) die "bad --expect $expect_all" ;; esac
case $mem in ""|*[!0-9]*) die "bad --mem $mem (MiB)" ;; esac

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    { echo "SKIP: qemu-system-x86_64 not found (apt-get install qemu-system-x86)"; exit 77; }

mkdir -p "$SVM"
work="$SVM/run.$$"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# ---- the command list (/commands, see tests/svm/init.c) ------------------
enc() { # %-encode one argument
    case $1 in
    '') printf '%%-' ;;
    *"$nl"*) die "an argument contains a newline: not supported" ;;
    *) printf '%s' "$1" | sed 's/%/%25/g; s/ /%20/g; s/	/%09/g' ;;
    esac
}
ncmd=0
expects=""
line=""
flush() {
    [ -n "$line" ] || die "empty command (nothing after -- or ---)"
    printf '%s %s%s\n' "$cur_expect" "$cmd_timeout" "$line" >>"$work/commands"
    expects="$expects $cur_expect"
    ncmd=$((ncmd + 1))
    line=""
}
: >"$work/commands"
cur_expect=$expect_all
first=1
while [ $# -gt 0 ]; do
    if [ "$1" = "---" ]; then
        flush; cur_expect=$expect_all; first=1; shift; continue
    fi
    if [ $first = 1 ] && [ "$1" = "--expect" ] && [ $# -ge 2 ]; then
        cur_expect=$2; shift 2
        case $cur_expect in any|[0-9]|[0-9][0-9]|[0-9][0-9][0-9]) ;; *) die "bad --expect $cur_expect" ;; esac
        continue
    fi
    first=0
    line="$line $(enc "$1")"
    shift
done
flush

# ---- tools and kernel -------------------------------------------------------
make --no-print-directory -s -f "$HERE/svm.mk" BUILD="$BUILD" svm-tools >&2 ||
    die "building the harness tools (make -f $HERE/svm.mk svm-tools) failed"
sh "$HERE/fetch-kernel.sh"
rc=$?
[ $rc -eq 0 ] || exit $rc
kernel="$SVM/$(cat "$SVM/boot-kernel" 2>/dev/null || echo bzImage)"
[ -s "$kernel" ] || die "no kernel at $kernel (rerun tests/svm/fetch-kernel.sh)"

# ---- the initramfs ---------------------------------------------------------
list="$work/list"
{
    echo "dir /dev 0755"
    echo "nod /dev/console 0600 c 5 1"
    echo "nod /dev/null 0666 c 1 3"
    echo "dir /proc 0755"
    echo "dir /sys 0755"
    echo "dir /tmp 1777"
    echo "dir /bin 0755"
    echo "dir /modules 0755"
    echo "dir /guests 0755"
    echo "file /init $SVM/init 0755"
    echo "file /commands $work/commands 0644"
    for m in irqbypass kvm ccp kvm-amd; do
        echo "file /modules/$m.ko $SVM/modules/$m.ko 0644"
    done
    echo "file /kvm-probe $SVM/kvm-probe 0755"
} >"$list"
have() { [ -f "$1" ] && echo "file $2 $1 $3" >>"$list" && echo "run.sh: initramfs: $2 <- $1" >&2; }
have "$BUILD/bin/hv-hwassist.static" /hv-hwassist 0755 ||
    echo "run.sh: note: $BUILD/bin/hv-hwassist.static does not exist (make $BUILD/bin/hv-hwassist.static)" >&2
have "$BUILD/guest/guestkernel.elf" /guestkernel.elf 0644 || true
for g in "$BUILD"/tests/guests/*.elf; do
    [ -f "$g" ] && have "$g" "/guests/$(basename "$g")" 0644
done
printf '%s' "$extra_files" | while IFS= read -r spec; do
    [ -n "$spec" ] || continue
    src=${spec%%:*}
    case $spec in *:*) dest=${spec#*:} ;; *) dest=/$(basename "$src") ;; esac
    [ -f "$src" ] || die "--file $src: no such file"
    mode=0644; [ -x "$src" ] && mode=0755
    # parent directories of DEST
    d=$(dirname "$dest")
    while [ "$d" != / ] && [ "$d" != . ]; do echo "dir $d 0755"; d=$(dirname "$d"); done | sort -u >>"$list"
    echo "file $dest $src $mode" >>"$list"
    echo "run.sh: initramfs: $dest <- $src" >&2
done || exit 1
"$SVM/mkcpio" "$work/initramfs.cpio" <"$list" || die "mkcpio failed"

# ---- boot -----------------------------------------------------------------
# one QEMU at a time on this machine (others share its two cores)
if command -v flock >/dev/null 2>&1; then
    exec 9>"$SVM/.qemu.lock"
    flock -w 600 9 || die "could not get $SVM/.qemu.lock within 600 s"
fi

echo "run.sh: booting $(cat "$SVM/version" 2>/dev/null) ($kernel) with -cpu $cpu; $ncmd command(s)" >&2
mkdir -p "$(dirname "$log")"
start=$(date +%s.%N)
{
    timeout -k 5 "$qemu_timeout" qemu-system-x86_64 \
        -accel tcg -cpu "$cpu" -m "$mem" -smp 1 \
        -nodefaults -no-user-config -display none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$kernel" -initrd "$work/initramfs.cpio" \
        -append "console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off tsc=reliable no_timer_check hvlab.commands=/commands$append" \
        </dev/null 2>"$work/qemu.err"
    echo $? >"$work/qemu-rc"
} | tee "$log"
# QEMU's stderr, less its warnings about CPUID bits TCG does not model
# (rdseed, sha-ni, nrip-save, ...: expected with -cpu EPYC)
grep -v "TCG doesn't support requested feature" "$work/qemu.err" | tee -a "$log" >&2
end=$(date +%s.%N)
qrc=$(cat "$work/qemu-rc" 2>/dev/null || echo 255)
secs=$(echo "$end $start" | awk '{printf "%.1f", $1 - $2}')

# ---- verdict --------------------------------------------------------------
clean="$work/log"
tr -d '\r' <"$log" >"$clean"
fail=""
case $qrc in
1) ;;
3) fail="isa-debug-exit reported that a command's status was not the expected one" ;;
5) fail="isa-debug-exit reported a set-up failure in the VM (modules, npt, /dev/kvm)" ;;
0) fail="QEMU exited 0: the guest powered off or panicked without reporting through isa-debug-exit" ;;
124|137) fail="QEMU did not finish within $qemu_timeout s" ;;
*) fail="QEMU exited with status $qrc" ;;
esac
i=0
for e in $expects; do
    i=$((i + 1))
    got=$(sed -n "s/^svm-init: command $i exit status \([0-9-]*\) .*/\1/p" "$clean" | tail -n 1)
    if [ -z "$got" ]; then
        fail="${fail:+$fail; }no exit status line for command $i"
    elif [ "$e" != any ] && [ "$got" != "$e" ]; then
        fail="${fail:+$fail; }command $i exit status $got, expected $e"
    fi
done
grep -q '^svm-init: result: PASS' "$clean" || fail="${fail:+$fail; }no 'svm-init: result: PASS' line"

if [ -n "$fail" ]; then
    echo "run.sh: FAIL after ${secs} s: $fail (serial log: $log)" >&2
    exit 1
fi
echo "run.sh: PASS: $ncmd command(s) as expected; QEMU ran ${secs} s (serial log: $log)" >&2
exit 0
