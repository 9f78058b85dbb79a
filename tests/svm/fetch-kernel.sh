#!/bin/sh
# Fetches the Debian kernel that the SVM test boots under QEMU TCG
# (MACHINE-NOTES.md, "True AMD-V for KVM: inside QEMU TCG").
#
# usage: tests/svm/fetch-kernel.sh            (BUILD defaults to build)
#
# Produces, under $BUILD/svm/:
#   vmlinux        the uncompressed ELF kernel (booted by QEMU's PVH loader)
#   bzImage        the original /boot/vmlinuz-* (fallback when vmlinux has no PVH note)
#   boot-kernel    a one-line file naming which of the two run.sh should boot
#   modules/       irqbypass.ko kvm.ko ccp.ko kvm-amd.ko (uncompressed) + order
#   pkg/           the unpacked linux-image-* package
#   version        the package name and version used
# A second run with the same package version downloads nothing.
# Exit status: 0 ready, 77 (with a line starting "SKIP:") when the archive
# cannot be reached, 1 on any other error.
set -eu

BUILD=${BUILD:-build}
SVM="$BUILD/svm"
META=linux-image-amd64
MODS="irqbypass kvm ccp kvm-amd"

say() { echo "fetch-kernel: $*" >&2; }
die() { echo "fetch-kernel: error: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

command -v apt-cache >/dev/null 2>&1 || skip "apt-cache not found (not a Debian system?)"
mkdir -p "$SVM"

# ---- resolve linux-image-amd64 -> linux-image-X.Y.Z-N-amd64 and its version
resolve() {
    pkg=$(apt-cache depends "$META" 2>/dev/null |
          sed -n 's/^ *|\{0,1\}Depends: *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
    [ -n "$pkg" ] || return 1
    ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || return 1
    return 0
}

# Fast path: apt's package lists have not changed since the last successful
# run, so resolving again would give the same package and version.
lists=/var/lib/apt/lists
if [ -f "$SVM/.done" ] && [ -s "$SVM/vmlinux" ] && [ -s "$SVM/modules/kvm-amd.ko" ] &&
   [ -d "$lists" ] && [ -z "$(find "$lists" -maxdepth 1 -name '*Packages*' -newer "$SVM/.done" 2>/dev/null)" ]; then
    say "cached: $(cat "$SVM/.done") (apt lists unchanged)"
    exit 0
fi

if ! resolve; then
    if [ -f "$SVM/version" ] && [ -f "$SVM/.done" ]; then
        say "apt-cache cannot resolve $META; using the cached $(cat "$SVM/version")"
        exit 0
    fi
    say "apt-cache knows no $META; running apt-get update"
    if ! apt-get update -q >"$SVM/apt-update.log" 2>&1 || ! resolve; then
        skip "cannot resolve $META from the Debian archive (apt-get update failed; see $SVM/apt-update.log)"
    fi
fi

key="$pkg $ver"
stamp="$SVM/.done"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] &&
   [ -s "$SVM/vmlinux" ] && [ -s "$SVM/modules/kvm-amd.ko" ]; then
    say "cached: $key"
    exit 0
fi
rm -f "$stamp"

# ---- download (cached by the .deb's name, which carries the version)
debdir="$SVM/deb"
mkdir -p "$debdir"
fver=$(printf '%s' "$ver" | sed 's/:/%3a/')
deb="$debdir/${pkg}_${fver}_amd64.deb"
if [ ! -s "$deb" ]; then
    # stale versions go away
    rm -f "$debdir"/*.deb "$debdir"/*.partial
    say "downloading $pkg=$ver"
    dl() { (cd "$debdir" && apt-get download -q "$pkg=$ver") >"$SVM/apt-download.log" 2>&1; }
    if ! dl; then
        say "apt-get download failed; running apt-get update and retrying"
        if ! apt-get update -q >"$SVM/apt-update.log" 2>&1 || ! dl; then
            skip "cannot download $pkg=$ver from the Debian archive (see $SVM/apt-download.log)"
        fi
    fi
    got=$(ls "$debdir"/*.deb 2>/dev/null | head -n 1)
    [ -n "$got" ] || die "apt-get download left no .deb in $debdir"
    [ "$got" = "$deb" ] || mv "$got" "$deb"
fi

# ---- unpack
pkgdir="$SVM/pkg"
rm -rf "$pkgdir"
mkdir -p "$pkgdir"
say "unpacking $(basename "$deb")"
dpkg -x "$deb" "$pkgdir" || die "dpkg -x failed"

bz=$(ls "$pkgdir"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$bz" ] || die "no boot/vmlinuz-* in $deb"
cp "$bz" "$SVM/bzImage"

# ---- extract the uncompressed ELF kernel from the bzImage (own version of
# the kernel's scripts/extract-vmlinux): find every occurrence of a
# compressor's magic, try to decompress from there, keep the first result
# that is an ELF file.
is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }

# offsets NAME FIRST REST: for each place where the magic FIRST (one byte,
# as a tr octal escape) followed by REST (a grep pattern) occurs, the 0-based
# offset of REST.  Each FIRST byte becomes a newline (and real newlines an
# unrelated byte), so the rest of the magic starts a line; grep -b prints the
# byte offsets of matching lines.
offsets() {
    LC_ALL=C tr "$2\n" "\n=" <"$bz" |
        LC_ALL=C grep -abo "^$(printf '%s' "$3")" 2>/dev/null | cut -d: -f1
}

try_decomp() { # name first-byte-octal rest-of-magic(grep pattern) decompressor...
    name=$1 first=$2 rest=$3; shift 3
    for off in $(offsets "$name" "$first" "$rest"); do
        # off is the 0-based offset of the byte after the magic's first byte,
        # so the magic starts at 0-based off-1, which is tail's 1-based off
        tail -c +"$off" "$bz" | "$@" >"$SVM/vmlinux.tmp" 2>/dev/null || true
        if is_elf "$SVM/vmlinux.tmp"; then
            say "found a $name-compressed kernel at offset $((off - 1))"
            mv "$SVM/vmlinux.tmp" "$SVM/vmlinux"
            return 0
        fi
    done
    rm -f "$SVM/vmlinux.tmp"
    return 1
}

rm -f "$SVM/vmlinux"
# magics: zstd 28 b5 2f fd, xz fd 37 7a 58 5a (00), gzip 1f 8b 08, bzip2 "BZh"
# (Debian's bookworm kernels are xz).  A false match fails to decompress or
# gives no ELF and the next one is tried.
try_decomp zstd '\050' "$(printf '\265/\375')" zstd -dcq ||
try_decomp xz   '\375' '7zXZ'                  xz -dcq ||
try_decomp gzip '\037' "$(printf '\213\010')"  gzip -dcq ||
try_decomp bzip2 'B'   'Zh'                    bzip2 -dcq ||
{ is_elf "$bz" && cp "$bz" "$SVM/vmlinux"; } ||
say "could not extract an ELF vmlinux from $(basename "$bz")"

# PVH note: QEMU's -kernel boots an ELF only through its Xen PVH entry point.
if [ -s "$SVM/vmlinux" ] && readelf -n "$SVM/vmlinux" 2>/dev/null | grep -q 'Xen.*0x00000012\|XEN_ELFNOTE_PHYS32_ENTRY\|Unknown note type: (0x00000012)'; then
    echo vmlinux >"$SVM/boot-kernel"
    say "vmlinux has the Xen PVH entry note: QEMU boots it directly"
else
    echo bzImage >"$SVM/boot-kernel"
    say "no usable PVH vmlinux: run.sh will boot the bzImage (slower)"
fi

# ---- modules: irqbypass, kvm, ccp, kvm-amd, uncompressed
moddir=$(ls -d "$pkgdir"/lib/modules/*/kernel 2>/dev/null | head -n 1)
[ -n "$moddir" ] || die "no lib/modules/*/kernel in $deb"
rm -rf "$SVM/modules"
mkdir -p "$SVM/modules"
: >"$SVM/modules/order"
for m in $MODS; do
    f=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -n 1)
    [ -n "$f" ] || die "module $m not found under $moddir"
    case $f in
    *.ko.xz)  xz -dc "$f" >"$SVM/modules/$m.ko" ;;
    *.ko.zst) zstd -dcq "$f" >"$SVM/modules/$m.ko" ;;
    *.ko.gz)  gzip -dc "$f" >"$SVM/modules/$m.ko" ;;
    *)        cp "$f" "$SVM/modules/$m.ko" ;;
    esac
    echo "$m.ko" >>"$SVM/modules/order"
done

echo "$key" >"$SVM/version"
echo "$key" >"$stamp"
say "ready: $key ($(cat "$SVM/boot-kernel"))"
