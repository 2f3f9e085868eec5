#!/usr/bin/env python3
"""Compares Peregrine's fills with hftbacktest's, one by one, for the fill-parity check (parity.sh).

usage: compare_fills.py PEREGRINE_FILLS.csv HBT_FILLS.csv
PEREGRINE_FILLS.csv: `peregrine backtest --fills-csv` (time as UTC with ns, side, price,
quantity, ...); HBT_FILLS.csv: hbt_market_maker.py's (time_ns, side, price, qty). Fills are
equal when their exchange time (ns), side, price and quantity (as numbers) are. Prints
`N fills each, identical`, or the first difference with the rows around it and both counts.
Exit status 0 when identical, 1 otherwise (2 for a usage error).
"""
import calendar
import csv
import sys
import time
from decimal import Decimal


def peregrine_ns(utc):
    """2023-11-14T22:13:20.011000000Z -> ns since the epoch."""
    whole, _, fraction = utc.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(fraction.ljust(9, "0"))


def load(path, columns, to_ns):
    with open(path, newline="") as f:
        return [(to_ns(r[columns[0]]), r[columns[1]], Decimal(r[columns[2]]), Decimal(r[columns[3]]))
                for r in csv.DictReader(f)]


def at(fills, i):
    return fills[i] if i < len(fills) else None


def show(fill):
    return "-" if fill is None else f"{fill[1]:<4} {fill[2]:f} {fill[3]:f} at {fill[0]}"


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ours = load(sys.argv[1], ("time", "side", "price", "quantity"), peregrine_ns)
    theirs = load(sys.argv[2], ("time_ns", "side", "price", "qty"), int)
    if ours == theirs:
        print(f"{len(ours)} fills each, identical")
        return 0
    first = next(i for i in range(len(ours) + 1) if i == len(ours) or i == len(theirs) or ours[i] != theirs[i])
    print(f"first difference at fill {first + 1}: peregrine {show(at(ours, first))}, "
          f"hftbacktest {show(at(theirs, first))} (peregrine {len(ours)} fills, hftbacktest {len(theirs)})")
    print(f"  {'fill':>6}  {'peregrine':<40}  hftbacktest")
    for i in range(max(0, first - 2), min(max(len(ours), len(theirs)), first + 4)):
        a, b = at(ours, i), at(theirs, i)
        print(f"{'>' if a != b else ' '} {i + 1:>6}  {show(a):<40}  {show(b)}")
    return 1


sys.exit(main())
