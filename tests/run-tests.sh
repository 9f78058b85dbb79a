#!/bin/sh
# Runs hvlab's tests and prints one result line each, then a summary.
# usage: run-tests.sh UNIT_BINARY... -- E2E_SCRIPT...
# Lines an e2e script prints starting "RESULT: " are shown under its name.
# An e2e script exits 0 (passed), 77 (skipped: its last stderr line says why)
# or anything else (failed).  A skipped test is never counted as passed.
set -u
BUILD=${BUILD:-build}
export BUILD
logdir="$BUILD/tests/logs"
mkdir -p "$logdir"
passed=0 failed=0 skipped=0 failures=""

echo "== unit tests (cmocka) =="
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    t=$1; shift
    name=$(basename "$t")
    if "$t" >"$logdir/$name.log" 2>&1; then
        n=$(grep -c '^\[       OK \]' "$logdir/$name.log")
        echo "PASS $name ($n cases)"; passed=$((passed + 1))
    else
        echo "FAIL $name"; sed 's/^/    /' "$logdir/$name.log" | grep -E 'FAIL|ERROR|error|assert' | head -20
        failed=$((failed + 1)); failures="$failures $name"
    fi
done
[ $# -gt 0 ] && shift

echo "== end-to-end tests =="
for t in "$@"; do
    name=$(basename "$t" .sh)
    start=$(date +%s)
    sh "$t" >"$logdir/$name.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    case $rc in
    0)  echo "PASS $name (${secs}s)"; passed=$((passed + 1))
        sed -n 's/^RESULT: /    /p' "$logdir/$name.log" ;;
    77) echo "SKIP $name: $(sed -n "s/^SKIP: //p" "$logdir/$name.log" | tail -n 1)"; skipped=$((skipped + 1)) ;;
    *)  echo "FAIL $name (exit $rc, ${secs}s); last lines of $logdir/$name.log:"
        tail -n 15 "$logdir/$name.log" | sed 's/^/    /'
        failed=$((failed + 1)); failures="$failures $name" ;;
    esac
done

echo
[ -n "$failures" ] && echo "failed:$failures"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
