#!/bin/sh
# hvlab-bench end to end on a tiny subset (docs/benchmarks.md): rows native,
# trap-emulate and paravirt, benchmarks exit.cli_sti, exit.cpuid,
# mem.pt_update and io.blk_read_iops_qd32, one run with --min-ms 1.  Checks what the report is for —
# the techniques' signatures in exits per operation — and that nothing is
# dropped: results.json has one entry for every (row, benchmark) pair, ok or
# n/a with a reason; report.md has its sections; reports/latest points at
# the run.  No timing thresholds: times depend on the machine.
. "$(dirname "$0")/lib/common.sh"
BENCH=$BUILD/bin/hvlab-bench
[ -x "$BENCH" ] || fail "$BENCH was not built"
[ -x "$BUILD/bin/hvlab-native" ] || fail "$BUILD/bin/hvlab-native was not built"
command -v jq >/dev/null 2>&1 || skip "jq not installed (make deps installs it)"

OUT=$TMP/reports
run "$BENCH" --build "$BUILD" --out "$OUT" --runs 1 --min-ms 1 \
    --rows native,trap-emulate,paravirt --bench exit.cli_sti,exit.cpuid,mem.pt_update,io.blk_read_iops_qd32,io.blk_read_iops_qd32.noevent
[ "$rc" -eq 0 ] || fail "hvlab-bench exited with $rc"
dir=$(tail -n 1 "$TMP/out" | sed 's,/report.md$,,')
[ -d "$dir" ] || fail "the last stdout line does not name the report ($dir)"
[ "$(readlink "$OUT/latest")" = "$(basename "$dir")" ] || fail "reports/latest does not point at $dir"
J=$dir/results.json
[ -s "$J" ] || fail "no results.json"
jq -e . "$J" >/dev/null || fail "results.json is not valid JSON"

# jq_get FILTER: one value from results.json.
jq_get() { jq -r "$1" "$J"; }
entry() { echo ".results[] | select(.row == \"$1\" and .bench == \"$2\")"; }

[ "$(jq_get .schema)" = 1 ] || fail "schema is not 1"
for key in cpu kernel kvm_backend topology pinning; do
    [ "$(jq_get ".machine.\"$key\" // empty")" ] || fail "machine.$key is missing"
done

# Every pair, exactly once, ok or n/a with a reason.
rows="native container trap-emulate paravirt hwassist qemu-tcg qemu-kvm hwassist-svm
      hwassist-ioeventfd hwassist-svm-ioeventfd"
nbench=$(jq_get '[.results[].bench] | unique | length')
[ "$nbench" -ge 41 ] || fail "only $nbench distinct benchmarks in results.json (the catalogue has 41)"
for row in $rows; do
    n=$(jq_get "[.results[] | select(.row == \"$row\")] | length")
    [ "$n" -eq "$nbench" ] || fail "row $row has $n entries, expected $nbench"
done
[ "$(jq_get '.results | length')" -eq $((10 * nbench)) ] || fail "entries for rows not in the list"
bad=$(jq_get '[.results[] | select((.status == "ok" and (.median > 0 | not))
                or (.status == "n/a" and (.reason | length) == 0)
                or (.status != "ok" and .status != "n/a"))] | length')
[ "$bad" -eq 0 ] || fail "$bad entries are neither ok with a time nor n/a with a reason"
[ "$(jq_get "$(entry container exit.cpuid) | .reason")" = "row not selected (--rows)" ] ||
    fail "an unselected row is not n/a with 'row not selected (--rows)'"
[ "$(jq_get "$(entry paravirt exit.syscall) | .reason")" = "benchmark not selected (--bench)" ] ||
    fail "an unselected benchmark is not n/a with 'benchmark not selected (--bench)'"

# exits_per_op REASON-FILTER for ROW BENCH, as a number.
exits() { jq_get "$(entry "$1" "$2") | .exits_per_op.total"; }
status() { jq_get "$(entry "$1" "$2") | .status"; }
# at_least X Y: X >= Y (decimals)
at_least() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x >= y) }'; }

for row in trap-emulate paravirt; do
    for b in exit.cli_sti exit.cpuid mem.pt_update io.blk_read_iops_qd32; do
        [ "$(status $row $b)" = ok ] ||
            fail "$row $b is $(status $row $b): $(jq_get "$(entry $row $b) | .reason")"
    done
done
[ "$(status native exit.cpuid)" = ok ] || fail "native exit.cpuid did not run"
[ "$(status native exit.cli_sti)" = n/a ] || fail "native exit.cli_sti is not n/a"
[ "$(jq_get "$(entry native exit.cpuid) | .exits_per_op")" = null ] ||
    fail "the native row has exit counts"

# The signatures (docs/benchmarks.md §3): cli+sti trap twice in ring 3 and
# are two stores on paravirt; cpuid does not trap in ring 3; a page mapped
# costs trap-emulate a shadow fault and paravirt a share of a batch.
cli_te=$(exits trap-emulate exit.cli_sti)
[ "$cli_te" = 2 ] || fail "trap-emulate exit.cli_sti: $cli_te exits/op, expected 2"
[ "$(jq_get "$(entry trap-emulate exit.cli_sti) | .exits_per_op.by_reason.\"emulate cli\"")" = 1 ] ||
    fail "trap-emulate exit.cli_sti: not one 'emulate cli' per op"
[ "$(exits paravirt exit.cli_sti)" = 0 ] || fail "paravirt exit.cli_sti: $(exits paravirt exit.cli_sti) exits/op, expected 0"
[ "$(exits trap-emulate exit.cpuid)" = 0 ] || fail "trap-emulate exit.cpuid trapped: $(exits trap-emulate exit.cpuid) exits/op"
pt_te=$(exits trap-emulate mem.pt_update)
pt_pv=$(exits paravirt mem.pt_update)
at_least "$pt_te" 1 || fail "trap-emulate mem.pt_update: $pt_te exits/page, expected >= 1 (a shadow fault per page)"
at_least "$pt_pv" 0.001 || fail "paravirt mem.pt_update: $pt_pv exits/page, expected its batches"
at_least 0.05 "$pt_pv" || fail "paravirt mem.pt_update: $pt_pv exits/page, expected batches of hundreds"

# The io group: 32 requests in flight, each kicked as it is added; with
# EVENT_IDX one interrupt for the 32 the driver reaps together.  Both
# devices serve inside the kick's exit: one kick per request.
for row in trap-emulate paravirt; do
    k=$(jq_get "$(entry $row io.blk_read_iops_qd32) | .exits_per_op.notifications")
    i=$(jq_get "$(entry $row io.blk_read_iops_qd32) | .exits_per_op.interrupts")
    [ "$k" = 1 ] || fail "$row io.blk_read_iops_qd32: $k kicks per request, expected 1"
    [ "$i" = 0.03125 ] || fail "$row io.blk_read_iops_qd32: $i interrupts per request, expected 1/32"
    # without EVENT_IDX the device cannot tell: one interrupt per completion
    i=$(jq_get "$(entry $row io.blk_read_iops_qd32.noevent) | .exits_per_op.interrupts")
    [ "$i" = 1 ] || fail "$row io.blk_read_iops_qd32.noevent: $i interrupts per request, expected 1"
done
[ "$(status native io.blk_read_iops_qd32)" = ok ] || fail "native io.blk_read_iops_qd32 did not run"

# The report.
R=$dir/report.md
for h in "# hvlab benchmark report" "## Summary" "## Results" "## Decision guide" "## Plots" "## Machine"; do
    grep -q "^$h" "$R" || fail "report.md has no '$h' section"
done
grep -q "exit.cli_sti.*trap-emulate 2.00 exits/op" "$R" || fail "the summary does not explain exit.cli_sti"
grep -q "exit.cpuid.*cpuid is not privileged" "$R" || fail "the summary does not say why cpuid does not trap"
if command -v gnuplot >/dev/null 2>&1; then
    for p in exit_latency exits_per_op; do
        [ -s "$dir/$p.png" ] || fail "no $p.png"
        grep -q "]($p.png)" "$R" || fail "report.md does not embed $p.png"
    done
else
    echo "note: gnuplot is not installed: plots not checked"
fi

# A typo is an error, not an empty report.
run "$BENCH" --out "$OUT" --rows native,nosuchrow
[ "$rc" -eq 2 ] || fail "--rows with an unknown row: status $rc, expected 2"
grep -q 'no row named "nosuchrow"' "$TMP/err" || fail "no message naming the unknown row"
echo "RESULT: exits/op trap-emulate vs paravirt: cli_sti $cli_te vs 0, pt_update $pt_te vs $pt_pv"
exit 0
