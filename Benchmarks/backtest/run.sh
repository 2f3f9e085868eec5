#!/usr/bin/env bash
# The backtest benchmark, side by side in one sitting (docs/backtesting.md, "Speed and memory"):
#   1. Peregrine and hftbacktest run the same simple market maker (quotes at the touch, a fixed
#      size, an inventory limit; requoted after every book message) on the same Tardis L2 +
#      trades files, each converted once into its own binary format; RUNS rounds alternate them.
#   2. `peregrine backtest` straight from the CSVs against `peregrine feed replay` of the same L2
#      file (whole commands, wall clock), alternated.
#   3. Peak anonymous memory (RssAnon, polled from /proc every 10 ms) of a backtest of the converted
#      file and of one from the L2 and trades CSVs (the timed CSV run of 2 reads the L2 file
#      alone, as `feed replay` does); ROWS=10000000 for the issue's 10M-event target.
# Figures are medians with the range. Installs hftbacktest from PyPI into a virtual environment
# (Python 3.12 from pyenv when present). Generates the data with the peers' Tardis L2 generator.
#
#   Benchmarks/backtest/run.sh                 # 2M L2 rows, 5 rounds
#   ROWS=10000000 RUNS=5 Benchmarks/backtest/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-2000000}
RUNS=${RUNS:-5}
WORK=${WORK:-.build/backtest-bench}
PEERS=${PEERS:-../shared/peers/python}
if [ -z "${PYTHON:-}" ]; then
    PYTHON=$(ls ~/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | head -1 || true)
    if [ -z "$PYTHON" ]; then
        if python3.12 --version >/dev/null 2>&1; then PYTHON=python3.12; else PYTHON=python3; fi
    fi
fi
mkdir -p "$WORK"

make -s build >/dev/null  # the C libraries it links (make deps), then the release build
P=.build/release/peregrine
L2="$WORK/l2_${ROWS}.csv"
TRADES="$WORK/trades_${ROWS}.csv"
source Benchmarks/backtest/market-maker.sh  # EVENTS and MM
[ -f "$L2" ] || python3 "$PEERS/gen_tardis_l2.py" "$L2" "$ROWS" >/dev/null
[ -f "$TRADES" ] || python3 Benchmarks/backtest/gen_trades.py "$L2" "$TRADES"
[ -f "$EVENTS" ] || "$P" data convert --data "tardis-trades:$TRADES" --data "tardis-l2:$L2" -o "$EVENTS"
if [ ! -x "$WORK/venv/bin/python" ]; then
    "$PYTHON" -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q hftbacktest==2.4.4
fi

# One untimed run of each command first (hftbacktest's script warms up its JIT the same way):
# the first run after a build has been 5-25x slower on this VM (0.47M and 2.05M events/s).
"$P" backtest --data "events:$EVENTS" "${MM[@]}" >/dev/null
"$P" backtest --data "tardis-l2:$L2" "${MM[@]}" >/dev/null
"$P" feed replay --format tardis-l2 "$L2" >/dev/null 2>&1
median() { sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f (range %.3f–%.3f)", m, v[1], v[NR]}'; }
ours=(); theirs=(); peerRatio=(); csv=(); replay=(); csvRatio=()
for round in $(seq 1 "$RUNS"); do
    if (( round % 2 )); then order="peregrine hftbacktest"; else order="hftbacktest peregrine"; fi
    for which in $order; do
        if [ "$which" = peregrine ]; then
            rate=$("$P" backtest --data "events:$EVENTS" "${MM[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["timing"]["events_per_second"]/1e6)')
            ours+=("$rate")
        else
            rate=$("$WORK/venv/bin/python" Benchmarks/backtest/bench_hbt_mm.py "$L2" "$TRADES" --runs 1 | awk '/^JSON/{print substr($0,6)}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["median_events_per_second"]/1e6)')
            theirs+=("$rate")
        fi
    done
    peerRatio+=("$(echo "${ours[-1]} / ${theirs[-1]}" | bc -l)")
    start=$(date +%s.%N); "$P" backtest --data "tardis-l2:$L2" "${MM[@]}" >/dev/null; end=$(date +%s.%N)
    csv+=("$(echo "$end - $start" | bc)")
    start=$(date +%s.%N); "$P" feed replay --format tardis-l2 "$L2" >/dev/null 2>&1; end=$(date +%s.%N)
    replay+=("$(echo "$end - $start" | bc)")
    csvRatio+=("$(echo "${csv[-1]} / ${replay[-1]}" | bc -l)")
    echo "round $round: peregrine ${ours[-1]}M ev/s · hftbacktest ${theirs[-1]}M ev/s · backtest from CSV ${csv[-1]} s · feed replay ${replay[-1]} s" >&2
done
# The peak anonymous memory (kB) of a backtest of the data in "$@", polled every 10 ms.
peakAnon() {
    "$P" backtest "$@" "${MM[@]}" >/dev/null & local pid=$!
    local peak=0 value
    while kill -0 "$pid" 2>/dev/null; do
        value=$(awk '/RssAnon/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
        if [ -n "$value" ] && [ "$value" -gt "$peak" ]; then peak=$value; fi
        sleep 0.01
    done
    wait "$pid"
    echo "$peak"
}
peak=$(peakAnon --data "events:$EVENTS")
peakCSV=$(peakAnon --data "tardis-trades:$TRADES" --data "tardis-l2:$L2")  # trades first, as converted
events=$("$P" backtest --data "events:$EVENTS" "${MM[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
echo "== backtest benchmark: $events events ($ROWS L2 rows + trades), $RUNS rounds alternated =="
echo "peregrine (converted file, market maker):   $(printf '%s\n' "${ours[@]}" | median) M events/s"
echo "hftbacktest 2.4.4 (npz, same market maker): $(printf '%s\n' "${theirs[@]}" | median) M events/s"
echo "peregrine ÷ hftbacktest, per round:          $(printf '%s\n' "${peerRatio[@]}" | median)"
echo "backtest from CSV:                           $(printf '%s\n' "${csv[@]}" | median) s"
echo "feed replay of the same L2 file:             $(printf '%s\n' "${replay[@]}" | median) s"
echo "backtest from CSV ÷ feed replay, per round:   $(printf '%s\n' "${csvRatio[@]}" | median)"
echo "peak RssAnon (converted-file backtest):      $((peak / 1024)) MB"
echo "peak RssAnon (backtest from the CSVs):        $((peakCSV / 1024)) MB"
