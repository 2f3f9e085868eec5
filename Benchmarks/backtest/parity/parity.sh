#!/usr/bin/env bash
# Fill parity with hftbacktest (docs/backtesting.md, "Side by side with hftbacktest 2.4.4"):
# Peregrine's simulated venue and hftbacktest 2.4.4's PartialFill exchange run the same market
# maker (Peregrine's `market-maker`, half-spread=0 skew=0, 5 lots a side; re-written for
# hftbacktest in hbt_market_maker.py), no latency, on random walks of Tardis L2 + trades rows with
# one row per timestamp (gen_walk.py), under the queue models risk-averse, power:2 and log; their
# fills are compared one by one (exchange time, side, price, quantity; compare_fills.py).
# Prints a table; exits 1 when a risk-averse comparison differs (or a run fails). power:2 and log
# are reported but not held to it: Peregrine rounds a probability-model fill down to a lot where
# hftbacktest rounds to the nearest, so single fills may differ by one lot.
# Uses the virtual environment of Benchmarks/backtest/run.sh (hftbacktest==2.4.4; made here the
# same way when missing) and builds the release binary as run.sh does (PEREGRINE=binary: no build).
#
#   Benchmarks/backtest/parity/parity.sh
#   WALKS="5:3000 6:10000" Benchmarks/backtest/parity/parity.sh    # SEED:STEPS each
#   PEREGRINE=/path/to/peregrine VENV=/path/to/venv WORK=/tmp/parity Benchmarks/backtest/parity/parity.sh
# Also MODELS (risk-averse power:2 log), SIZE (5) and MAX_POSITION (20: the inventory limit binds), in lots.
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=Benchmarks/backtest/parity
WORK=${WORK:-.build/backtest-parity}
VENV=${VENV:-.build/backtest-bench/venv}
WALKS=${WALKS:-1:1500 2:3000 3:3000 4:3000}
MODELS=${MODELS:-risk-averse power:2 log}
SIZE=${SIZE:-5}
MAX_POSITION=${MAX_POSITION:-20}
if [ -z "${PYTHON:-}" ]; then
    PYTHON=$(ls ~/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | head -1 || true)
    if [ -z "$PYTHON" ]; then
        if python3.12 --version >/dev/null 2>&1; then PYTHON=python3.12; else PYTHON=python3; fi
    fi
fi
mkdir -p "$WORK"

if [ -z "${PEREGRINE:-}" ]; then
    make -s build >/dev/null  # the C libraries it links (make deps), then the release build
    PEREGRINE=.build/release/peregrine
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q hftbacktest==2.4.4
fi
PY="$VENV/bin/python"

count() { if [ -f "$1" ]; then echo $(( $(wc -l <"$1") - 1 )); else echo -; fi; }
row() { printf '%-16s %-12s %9s %11s  %s\n' "$@"; }
status=0; rounding=0
row walk model peregrine hftbacktest result
for walk in $WALKS; do
    seed=${walk%%:*}; steps=${walk##*:}
    dir="$WORK/seed$seed-$steps"
    "$PY" "$HERE/gen_walk.py" "$dir" --steps "$steps" --seed "$seed"
    # The strategies act from the first row after the initial snapshot (1 µs after it, in ns).
    from=$(( ($(sed -n 2p "$dir/l2.csv" | cut -d, -f3) + 1) * 1000 ))
    for model in $MODELS; do
        tag=${model/:/}
        ours="$dir/peregrine_fills_$tag.csv"; theirs="$dir/hbt_fills_$tag.csv"
        rm -f "$ours" "$theirs"
        if ! "$PEREGRINE" backtest --data "tardis-trades:$dir/trades.csv" --data "tardis-l2:$dir/l2.csv" \
                --strategy market-maker --param half-spread=0 --param skew=0 --param size="$SIZE" \
                --param max-position="$MAX_POSITION" --queue-model "$model" --tick-size 0.1 --lot-size 0.001 \
                --from "$from" --fills-csv "$ours" >"$dir/peregrine_$tag.log" 2>&1; then
            result="peregrine failed: $dir/peregrine_$tag.log"
        elif ! "$PY" "$HERE/hbt_market_maker.py" "$dir" "$model" --size "$SIZE" --max-position "$MAX_POSITION" \
                >"$dir/hbt_$tag.log" 2>&1; then
            result="hftbacktest failed: $(tail -1 "$dir/hbt_$tag.log")"
        else
            "$PY" "$HERE/compare_fills.py" "$ours" "$theirs" >"$dir/compare_$tag.txt" || true
            result=$(head -1 "$dir/compare_$tag.txt")
            result=${result% (peregrine*}  # (the counts are in the table)
        fi
        row "seed $seed, $steps" "$model" "$(count "$ours")" "$(count "$theirs")" "$result"
        case "$result" in
            *identical) ;;
            *failed*) status=1 ;;
            *) if [ "$model" = risk-averse ]; then status=1; else rounding=1; fi ;;
        esac
    done
done
echo "(walk: seed, steps; the differences in full: $WORK/seed*/compare_*.txt)"
if [ "$rounding" = 1 ]; then
    echo "power:2 / log fills may differ by one lot: Peregrine rounds them down, hftbacktest to the nearest lot"
fi
if [ "$status" = 0 ]; then echo "risk-averse: the same fills on every walk"; else echo "FAILED"; fi
exit "$status"
