#!/usr/bin/env bash
# Two release builds of `peregrine`, timed alternated on the backtest benchmark's converted file
# with its market maker: the median of the per-round ratios NEW ÷ OLD (events/s) with the range,
# and each build's median events/s (docs/backtesting.md, "Speed and memory").
#
#   Benchmarks/backtest/compare.sh /tmp/peregrine-old .build/release/peregrine        # 41 rounds
#   ROUNDS=61 MAX_POSITION=0 Benchmarks/backtest/compare.sh OLD NEW   # a market maker that never trades
#
# On this 2-vCPU VM one run moves by 10–40% with the placement and the neighbours, and a ratio's
# median over 11–15 rounds still moved by ±5% between sittings: 41 rounds (about 20 seconds) is
# the least to tell a 3% change. Needs the converted file `run.sh` makes (ROWS as there); an older
# build that does not read the converted-file format's version 4 reads its own file: OLD_EVENTS=FILE
# (a version 3 file, converted by that build, is read by both).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
OLD=$1
NEW=$2
ROUNDS=${ROUNDS:-41}
ROWS=${ROWS:-2000000}
WORK=${WORK:-.build/backtest-bench}
source Benchmarks/backtest/market-maker.sh  # EVENTS and MM
[ -f "$EVENTS" ] || { echo "error: $EVENTS is missing: run Benchmarks/backtest/run.sh first" >&2; exit 2; }
OLD_EVENTS=${OLD_EVENTS:-$EVENTS}
for binary in "$OLD" "$NEW"; do
    [ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 2; }
done
rate() {
    local events=$EVENTS
    [ "$1" = "$OLD" ] && events=$OLD_EVENTS
    "$1" backtest --data "events:$events" "${MM[@]}" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["timing"]["events_per_second"] / 1e6)'
}
median() { sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f (%.3f–%.3f)", m, v[1], v[NR]}'; }
# Once each, untimed: the first run after a build is slower on this VM.
rate "$OLD" >/dev/null
rate "$NEW" >/dev/null
old=()
new=()
ratio=()
for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then
        a=$(rate "$OLD")
        b=$(rate "$NEW")
    else
        b=$(rate "$NEW")
        a=$(rate "$OLD")
    fi
    old+=("$a")
    new+=("$b")
    ratio+=("$(echo "$b / $a" | bc -l)")
done
echo "old: $(printf '%s\n' "${old[@]}" | median) M events/s"
echo "new: $(printf '%s\n' "${new[@]}" | median) M events/s"
echo "new ÷ old, per round ($ROUNDS rounds): $(printf '%s\n' "${ratio[@]}" | median)"
