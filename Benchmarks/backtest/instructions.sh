#!/usr/bin/env bash
# Instructions per event of the converted-file market-maker backtest, counted by callgrind: a
# figure that does not move with the VM's placement or neighbours, to compare two builds on
# this noisy machine before timing them (docs/backtesting.md, "Speed and memory").
#
#   Benchmarks/backtest/instructions.sh              # the release build of this checkout
#   BINARY=/tmp/peregrine-old Benchmarks/backtest/instructions.sh
#
# Needs the converted file Benchmarks/backtest/run.sh makes (ROWS as there). Valgrind cannot
# read the Swift toolchain's debug information, so a copy without it is run. Instructions of the
# hashing thread (SHA-256) and of record checksums (the hashing thread or the backtest checks
# them, depending on which is ahead) are left out; the 15 functions with the most instructions
# of their own follow. With FUNCTION set (text in a demangled name, `MarketMaker.quote`), each
# instruction of the functions so named then follows with how many times it ran, grouped first
# by that count (instructions_of.py; MINIMUM hides the rarer ones): where a path's instructions go.
#
#   FUNCTION=TradingState.apply MINIMUM=100000 Benchmarks/backtest/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-2000000}
WORK=${WORK:-.build/backtest-bench}
source Benchmarks/backtest/market-maker.sh  # EVENTS and MM
[ -f "$EVENTS" ] || { echo "error: $EVENTS is missing: run Benchmarks/backtest/run.sh first" >&2; exit 2; }
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
if [ -z "${BINARY:-}" ]; then
    make -s build >/dev/null  # the C libraries it links (make deps), then the release build
    BINARY=.build/release/peregrine
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
strip -g -o "$scratch/peregrine" "$BINARY"
events=$("$BINARY" backtest --data "events:$EVENTS" "${MM[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
valgrind --tool=callgrind ${FUNCTION:+--dump-instr=yes} --callgrind-out-file="$scratch/callgrind.out" \
    "$scratch/peregrine" backtest --data "events:$EVENTS" "${MM[@]}" >/dev/null 2>"$scratch/valgrind.log" \
    || { cat "$scratch/valgrind.log" >&2; exit 1; }
callgrind_annotate "$scratch/callgrind.out" 2>/dev/null >"$scratch/annotated.txt"
awk -v events="$events" -v binary="$BINARY" '
    /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
    /sha256|crc32c/ { gsub(",", "", $1); left += $1 }
    END { printf "%s: %.1fM instructions, %.1f per event (%d events)\n", binary, (total - left) / 1e6, (total - left) / events, events }
' "$scratch/annotated.txt"
grep -E '^ *[0-9,]+ \(' "$scratch/annotated.txt" | grep -v -E 'PROGRAM TOTALS|sha256|crc32c' | head -15 \
    | while read -r count _ rest; do
        name=$(sed -e 's/^[^:]*://' -e 's/ \[.*//' <<<"$rest")
        printf '%14s  %s\n' "$count" "$(swift demangle --simplified --compact "$name" | cut -c1-110)"
    done
if [ -n "${FUNCTION:-}" ]; then
    python3 Benchmarks/backtest/instructions_of.py "$scratch/callgrind.out" "$scratch/peregrine" "$FUNCTION" "${MINIMUM:-1}"
fi
