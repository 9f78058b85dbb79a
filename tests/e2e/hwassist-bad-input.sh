#!/bin/sh
# Bad input to hv-hwassist ends with status 2 and exactly one clear line on
# stderr, before KVM is even opened (so this runs on hosts without KVM too).
. "$(dirname "$0")/lib/common.sh"

one_line_usage_error() { # EXPECTED-TEXT
    expect_status 2
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "expected one stderr line, got $(wc -l <"$TMP/err")"
    expect_err "$1"
}

run "$HWASSIST" "$TMP/does-not-exist.elf"
one_line_usage_error "No such file or directory"

printf 'this is not a kernel\n' >"$TMP/text.elf"
run "$HWASSIST" "$TMP/text.elf"
one_line_usage_error "not an hvlab guest"

# A file bigger than RAM: 17 MiB against --mem 16.
dd if=/dev/zero of="$TMP/big.elf" bs=1M count=17 2>/dev/null
run "$HWASSIST" --mem 16 "$TMP/big.elf"
one_line_usage_error "do not fit in 16 MiB"

# Absurd RAM sizes: zero, below 16 MiB, above 3 GiB, overflowing, not numbers.
for bad in 0 15 3073 99999999999999999999 abc -5 1.5; do
    run "$HWASSIST" --mem "$bad" "$GUEST"
    one_line_usage_error "--mem $bad: want a whole number of MiB"
done

run "$HWASSIST" --timeout -1 "$GUEST"
one_line_usage_error "--timeout -1"

run "$HWASSIST" --frobnicate "$GUEST"
one_line_usage_error "unknown option --frobnicate"

run "$HWASSIST"
one_line_usage_error "no guest image given"

run "$HWASSIST" --module "$TMP/text.elf" "$GUEST"
one_line_usage_error "--module is for multiboot kernels"

run "$HWASSIST" --help
expect_status 0
expect_out "usage: hv-hwassist"
echo "PASS: every bad input gave status 2 and one clear line"
