#!/usr/bin/env bash
# Counts Swift runtime calls per operation on the hot paths, exactly: each workload of
# `Sources/RuntimeCalls` runs under valgrind's callgrind at two loop lengths, and the
# difference of the call counts divided by the difference of the lengths is the
# steady-state count per operation (set-up cancels out). Counted: swift_retain,
# swift_release, swift_bridgeObjectRetain/Release, swift_beginAccess (dynamic exclusivity
# checks) and malloc.
#
# The two control workloads must show their call (one allocates per operation, one retains),
# so a counting method that stops working fails this script instead of reading 0; every
# hot-path workload must show 0 of each. Run by `make bench` (Benchmarks/run.sh).
set -euo pipefail
cd "$(dirname "$0")"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
swift build -c release --product RuntimeCalls >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes; the symbol table is enough.
objcopy --strip-debug "$(swift build -c release --show-bin-path)/RuntimeCalls" "$work/RuntimeCalls"
short=${RUNTIME_CALLS_SHORT:-20000}
long=${RUNTIME_CALLS_LONG:-60000}
workloads="control-malloc control-retain spsc-push-pop sequenced-claim-publish-poll engine-logic mempool-logic matching journal-append pipeline pipeline-journaled"
for workload in $workloads; do
    # The pipeline's stage threads are counted, each in its own file; the main thread (thread
    # 1: the monitor, which works per interval of time that valgrind stretches) is left out.
    scope=()
    case $workload in pipeline*) scope=(--separate-threads=yes) ;; esac
    for count in "$short" "$long"; do
        valgrind --tool=callgrind "${scope[@]}" --callgrind-out-file="$work/$workload.$count" \
            "$work/RuntimeCalls" "$workload" "$count" >/dev/null 2>"$work/$workload.$count.log" || {
            cat "$work/$workload.$count.log" >&2
            exit 1
        }
    done
done
python3 - "$work" "$short" "$long" $workloads <<'PY'
import glob, re, sys
work, short, long = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
workloads = sys.argv[4:]
counted = ["swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease",
           "swift_beginAccess", "malloc"]

def base(name):
    return re.sub(r"'\d+$", "", name).removesuffix("@plt")

def calls(path):
    """Calls into each counted function from other functions (recursion and PLT stubs once)."""
    names, totals = {}, dict.fromkeys(counted, 0)
    caller = callee = None
    def resolve(text):
        match = re.match(r"\((\d+)\)(?: (.*))?", text)
        if not match:
            return text
        if match.group(2) is not None:
            names[match.group(1)] = match.group(2)
        return names.get(match.group(1), "?")
    for line in open(path, errors="replace"):
        if line.startswith("fn="):
            caller = base(resolve(line[3:].strip()))
        elif line.startswith("cfn="):
            callee = resolve(line[4:].strip())
        elif line.startswith("calls=") and callee is not None:
            target = base(callee)
            # A call through a PLT stub is counted once, at the stub's call into the function.
            if target in totals and target != caller and not callee.endswith("@plt"):
                totals[target] += int(line.split()[0][6:])
            callee = None
    return totals

def run_calls(workload, count):
    """Calls in one run: its one file, or the sum over its threads but the main thread."""
    path = f"{work}/{workload}.{count}"
    threads = [p for p in glob.glob(path + "-*") if not p.endswith("-01")]
    totals = dict.fromkeys(counted, 0)
    for part in threads or [path]:
        for name, value in calls(part).items():
            totals[name] += value
    return totals

rows, failed = [], []
for workload in workloads:
    a, b = run_calls(workload, short), run_calls(workload, long)
    per = {name: (b[name] - a[name]) / (long - short) for name in counted}
    rows.append((workload, per))
    if workload == "control-malloc" and per["malloc"] < 0.99:
        failed.append(f"{workload}: malloc counts {per['malloc']:.3f} per operation, expected 1")
    elif workload == "control-retain" and per["swift_retain"] < 0.99:
        failed.append(f"{workload}: swift_retain counts {per['swift_retain']:.3f} per operation, expected >= 1")
    elif not workload.startswith("control-"):
        # One thread: exactly 0. The pipeline's threads poll as often as scheduling makes them,
        # so set-up and per-poll work do not cancel exactly: allow less than 1 in 2,000 events.
        tolerance = 0.0005 if workload.startswith("pipeline") else 0
        for name, value in per.items():
            if abs(value) > tolerance:
                failed.append(f"{workload}: {value:.4f} {name} per operation in steady state")
width = max(len(w) for w in workloads)
print(f"runtime calls per operation (callgrind, {long} - {short} operations):")
print(f"{'workload':{width}}  " + "  ".join(f"{n.removeprefix('swift_'):>20}" for n in counted))
for workload, per in rows:
    print(f"{workload:{width}}  " + "  ".join(f"{per[n]:>20.4f}" for n in counted))
if failed:
    print("FAILED:\n  " + "\n  ".join(failed))
    sys.exit(1)
print("controls counted; every hot-path workload: 0 retains, releases, exclusivity checks and mallocs per operation")
PY
