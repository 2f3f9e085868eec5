#!/usr/bin/env bash
# Where the backtest's time goes, by timer samples: the benchmark's converted-file market maker
# run RUNS times (default 20) under `perf record -e cpu-clock -g`, then the share of the samples
# taken inside the backtest's loop (`Backtest.simulate`) per leaf function, demangled. A figure
# of time, not of instructions (`instructions.sh`): on this VM `perf` has no hardware events, and
# the instructions cut have not always been the time saved (docs/backtesting-speed-log.md).
#
#   Benchmarks/backtest/profile.sh                    # the release build of this checkout
#   BINARY=/tmp/peregrine-old RUNS=40 Benchmarks/backtest/profile.sh
#   MAX_POSITION=0 Benchmarks/backtest/profile.sh      # the market maker never trading
#
# Needs the converted file Benchmarks/backtest/run.sh makes (ROWS as there).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-2000000}
RUNS=${RUNS:-20}
TOP=${TOP:-30}
WORK=${WORK:-.build/backtest-bench}
source Benchmarks/backtest/market-maker.sh  # EVENTS and MM
[ -f "$EVENTS" ] || { echo "error: $EVENTS is missing: run Benchmarks/backtest/run.sh first" >&2; exit 2; }
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
if [ -z "${BINARY:-}" ]; then
    make -s build >/dev/null  # the C libraries it links (make deps), then the release build
    BINARY=.build/release/peregrine
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$BINARY" "$scratch/peregrine"
"$scratch/peregrine" backtest --data "events:$EVENTS" "${MM[@]}" >/dev/null  # the file's pages in the cache
perf record -q -e cpu-clock -F 20000 -g -o "$scratch/perf.data" -- bash -c \
    'for _ in $(seq "$1"); do "$2" backtest --data "events:$3" "${@:4}" >/dev/null; done' _ \
    "$RUNS" "$scratch/peregrine" "$EVENTS" "${MM[@]}" \
    || { echo "error: perf record failed (as root, or with /proc/sys/kernel/perf_event_paranoid at 2 or less)" >&2; exit 1; }
perf script -i "$scratch/perf.data" -F comm,ip,sym 2>/dev/null >"$scratch/samples.txt"
python3 - "$scratch/samples.txt" "$TOP" <<'EOF'
import collections, subprocess, sys
# A sample is a line naming its thread, then its call chain, leaf first.
leaves = collections.Counter()
inside = total = 0
chain, comm = [], None
def finish():
    global inside, total
    if comm != "peregrine" or not chain: return
    total += 1
    if any("simulate" in frame for frame in chain):
        inside += 1
        leaves[chain[0]] += 1
for line in list(open(sys.argv[1])) + [""]:
    if line.strip() and not line[0].isspace():
        finish()
        comm, chain = line.split()[0], []
    elif line.strip():
        parts = line.split(None, 1)
        chain.append(parts[1].split("+0x")[0].strip() if len(parts) > 1 else "?")
finish()
names = [name for name, _ in leaves.most_common(int(sys.argv[2]))]
demangled = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                           capture_output=True, text=True).stdout.split("\n")
print(f"{inside} of the backtest thread's {total} samples in the backtest's loop; their leaf functions:")
for name, readable in zip(names, demangled):
    print(f"{100 * leaves[name] / max(inside, 1):6.1f}%  {readable[:110]}")
EOF
