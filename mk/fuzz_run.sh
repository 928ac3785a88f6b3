#!/bin/sh
# Run libFuzzer targets one after the other and report, per target, the
# inputs executed and the time taken.
#
#   sh mk/fuzz_run.sh DIR SECONDS "OPTIONS" NAME...
#
# DIR/fuzz_NAME is the target. It reads its seeds from
# tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME, writes what it
# finds to DIR/corpus/NAME, a crashing input to DIR/artifacts/NAME/ and
# its log to DIR/NAME.log. Every target runs even if one fails; the
# script fails if any did.
set -u

dir=$1
seconds=$2
opts=$3
shift 3

failed=""
for name in "$@"; do
    corpus=$dir/corpus/$name
    artifacts=$dir/artifacts/$name
    log=$dir/$name.log
    mkdir -p "$corpus" "$artifacts"
    seeds=""
    for s in tests/fuzz/corpus/$name tests/fuzz/regressions/$name; do
        [ -d "$s" ] && seeds="$seeds $s"
    done

    start=$(date +%s)
    # shellcheck disable=SC2086 # options and seed directories split.
    "$dir/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" $opts "$corpus" $seeds \
        >"$log" 2>&1
    rc=$?
    end=$(date +%s)

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
        tail -n 1)
    if [ -z "$execs" ]; then
        execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" |
            tail -n 1)
    fi
    printf 'fuzz %-10s %12s executions in %4d s' "$name" "${execs:-?}" \
        $((end - start))
    if [ "$rc" -ne 0 ]; then
        printf '  FAILED (see %s)\n' "$log"
        grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|Test unit written' \
            "$log" | head -n 20
        failed="$failed $name"
    else
        printf '\n'
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz: failures in:$failed"
    exit 1
fi
