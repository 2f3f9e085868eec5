#!/usr/bin/env python3
"""Each instruction of one function with how many times it ran, from a callgrind profile taken
with `--dump-instr=yes` (instructions.sh runs it when FUNCTION is set).

    instructions_of.py CALLGRIND_OUT BINARY TEXT [MINIMUM]

TEXT picks the functions whose demangled name contains it (each is listed on its own). First a
histogram: the instructions grouped by how many times each ran (a group run 193,359 times is
the path every execution report takes, say); then the disassembly of every instruction that ran
at least MINIMUM times (default 1), with its count. Calls' costs stay with the callee.
"""
import collections
import re
import subprocess
import sys


def demangle(names):
    out = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                         capture_output=True, text=True).stdout.split("\n")
    return dict(zip(names, out))


def costs_by_function(path):
    """{mangled name: Counter(address: instructions)} of a callgrind file with `positions:
    instr line` (each cost line: address, line, cost; addresses may be relative to the last)."""
    names, costs = {}, collections.defaultdict(collections.Counter)
    current, last, after_call = None, 0, False
    for line in open(path):
        line = line.rstrip("\n")
        match = re.match(r"^fn=\((\d+)\)(?: (.*))?$", line)
        if match:
            if match.group(2):
                names[match.group(1)] = match.group(2)
            current, after_call = names.get(match.group(1)), False
            continue
        match = re.match(r"^c(?:fn|fi|fe|ob)=\((\d+)\)(?: (.*))?$", line)
        if match:
            if line.startswith("cfn=") and match.group(2):
                names[match.group(1)] = match.group(2)
            continue
        if line.startswith("calls="):
            after_call = True  # the next cost line is the call's inclusive cost
            continue
        match = re.match(r"^(0x[0-9a-f]+|[+-]\d+|\*)\s+\S+\s+(\d+)", line)
        if not match or current is None:
            continue
        token = match.group(1)
        address = int(token, 16) if token.startswith("0x") else last if token == "*" else last + int(token)
        last = address
        if after_call:
            after_call = False
            continue
        costs[current][address] += int(match.group(2))
    return costs


def main():
    path, binary, text = sys.argv[1:4]
    minimum = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    costs = costs_by_function(path)
    readable = demangle(list(costs))
    chosen = [name for name in costs if text in readable.get(name, name)]
    if not chosen:
        sys.exit(f"error: no function whose name contains '{text}' ran")
    for name in sorted(chosen, key=lambda n: -sum(costs[n].values())):
        counts = costs[name]
        total = sum(counts.values())
        print(f"== {readable.get(name, name)[:160]}: {total:,} instructions")
        groups = collections.Counter()
        sizes = collections.Counter()
        for count in counts.values():
            groups[count] += count
            sizes[count] += 1
        for count, instructions in sorted(groups.items(), key=lambda item: -item[1])[:12]:
            print(f"   {sizes[count]:5d} instructions run {count:>11,} times: {instructions / 1e6:8.1f}M "
                  f"({100 * instructions / total:4.1f}%)")
        low, high = min(counts), max(counts)
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={low:#x}",
                                  f"--stop-address={high + 16:#x}", binary], capture_output=True, text=True).stdout
        for line in listing.split("\n"):
            match = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", line)
            if match and counts.get(int(match.group(1), 16), 0) >= minimum:
                print(f"{counts[int(match.group(1), 16)]:12,}  {match.group(1)}  {match.group(2)[:100]}")


if __name__ == "__main__":
    main()
