#!/usr/bin/env bash
# The sweep benchmark (docs/backtesting.md, "Sweeps"): the same 16-job grid of the market maker
# on a converted file with --jobs 1 and --jobs 2, alternated RUNS times; jobs per second, the
# median with the range, and the median ratio (the issue asks ≥ 1.8× on 2 cores).
# Uses the backtest benchmark's converted file (Benchmarks/backtest/run.sh makes it; ROWS as there).
#
#   Benchmarks/sweep/run.sh                  # 3 rounds
#   RUNS=5 EVENTS=path/to/file.pgev Benchmarks/sweep/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
ROWS=${ROWS:-2000000}
WORK=${WORK:-.build/backtest-bench}
given=${EVENTS:-}
source Benchmarks/backtest/market-maker.sh  # EVENTS (the backtest benchmark's file) and MM
EVENTS=${given:-$EVENTS}
if [ ! -f "$EVENTS" ]; then
    echo "no converted file at $EVENTS: run Benchmarks/backtest/run.sh first (or set EVENTS)" >&2
    exit 2
fi
make -s build >/dev/null  # the C libraries it links (make deps), then the release build
P=.build/release/peregrine
GRID=(--strategy market-maker --param half-spread=0:3 --param size=5,10,20,40 --param max-position=1000 --param skew=0)
rate() {
    local start end
    start=$(date +%s.%N)
    "$P" sweep --data "events:$EVENTS" "${GRID[@]}" --jobs "$1" --top 0 >/dev/null
    end=$(date +%s.%N)
    echo "16 / ($end - $start)" | bc -l
}
one=(); two=(); ratios=()
for round in $(seq 1 "$RUNS"); do
    if (( round % 2 )); then a=$(rate 1); b=$(rate 2); else b=$(rate 2); a=$(rate 1); fi
    one+=("$a"); two+=("$b"); ratios+=("$(echo "$b / $a" | bc -l)")
    printf 'round %d: --jobs 1 %.3f jobs/s · --jobs 2 %.3f jobs/s · ratio %.3f\n' "$round" "$a" "$b" "${ratios[-1]}" >&2
done
median() { sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f (range %.3f–%.3f)", m, v[1], v[NR]}'; }
events=$("$P" backtest --data "events:$EVENTS" "${MM[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
echo "== sweep benchmark: 16 market-maker jobs of $events events each, $RUNS rounds alternated =="
echo "--jobs 1: $(printf '%s\n' "${one[@]}" | median) jobs/s"
echo "--jobs 2: $(printf '%s\n' "${two[@]}" | median) jobs/s"
echo "ratio:    $(printf '%s\n' "${ratios[@]}" | median)"
