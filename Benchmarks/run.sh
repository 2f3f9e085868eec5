#!/usr/bin/env bash
# `make bench`: the package-benchmark suites, then the Swift vs C++ SPSC ring comparison.
set -euo pipefail
cd "$(dirname "$0")"
echo "== package-benchmark suites (release build; malloc counts per operation) =="
swift package --allow-writing-to-package-directory benchmark --no-progress "$@"

echo "== SPSC ring: Swift vs C++ baseline (same algorithm, same harness, alternating runs) =="
g++ -O3 -march=native -std=c++17 -pthread cpp/spsc_baseline.cpp -o cpp/spsc_baseline
swift build -c release --product SPSCCompare >/dev/null
swift_bin="$(swift build -c release --show-bin-path)/SPSCCompare"
rounds=3
: > /tmp/peregrine-spsc-compare.txt
for round in $(seq 1 $rounds); do
    ./cpp/spsc_baseline | tee -a /tmp/peregrine-spsc-compare.txt
    "$swift_bin" | tee -a /tmp/peregrine-spsc-compare.txt
done
python3 - /tmp/peregrine-spsc-compare.txt <<'PY'
import statistics, sys
rows = {"cpp": [], "swift": []}
for line in open(sys.argv[1]):
    parts = line.split()
    if parts and parts[0] in rows:
        rows[parts[0]].append((float(parts[2]), float(parts[4])))
cpp_tp = statistics.median(r[0] for r in rows["cpp"]); cpp_rtt = statistics.median(r[1] for r in rows["cpp"])
sw_tp = statistics.median(r[0] for r in rows["swift"]); sw_rtt = statistics.median(r[1] for r in rows["swift"])
print(f"median of {len(rows['swift'])} rounds each:")
print(f"  throughput  C++ {cpp_tp/1e6:.1f}M items/s   Swift {sw_tp/1e6:.1f}M items/s   Swift/C++ = {sw_tp/cpp_tp:.2f}x (target >= 1.0)")
print(f"  RTT p50     C++ {cpp_rtt:.0f} ns         Swift {sw_rtt:.0f} ns         Swift/C++ = {sw_rtt/cpp_rtt:.2f}x (target <= 1.05)")
PY
