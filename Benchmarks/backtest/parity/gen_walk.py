#!/usr/bin/env python3
"""A random walk of a book, as Tardis CSVs, for the fill-parity check (parity.sh).

usage: gen_walk.py OUTDIR --steps N --seed S
Writes OUTDIR/l2.csv (incremental_book_L2: an initial snapshot of 5 levels a side, then updates)
and OUTDIR/trades.csv. Tick 0.1, lot 0.001, sizes of 1-40 lots. Each step is one of: a size
change near the touch, a trade at the touch then its level's update, a sweep of the best level
into the next, the touch cancelled, a new level inside the spread, a deeper level changed; then
the book is refilled to 5 levels a side and the spread kept within 3 ticks. Every row (book and
trade) has its own timestamp, 1 ms apart from the snapshot's at 2023-11-14T22:13:20Z, and
local_timestamp = timestamp + 1 us. The same seed and steps give the same files, byte for byte.
"""
import argparse
import os
import random

TICK = 0.1
LOT = 0.001
LEVELS = 5
MAX_SIZE = 40
T0 = 1_700_000_000_000_000  # us
HEAD = "exchange,symbol,timestamp,local_timestamp,"
ROW = "binance-futures,BTCUSDT,{0},{1},{2},{3},{4:.1f},{5:.3f}\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    l2 = open(os.path.join(a.out, "l2.csv"), "w")
    trades = open(os.path.join(a.out, "trades.csv"), "w")
    l2.write(HEAD + "is_snapshot,side,price,amount\n")
    trades.write(HEAD + "id,side,price,amount\n")
    bids, asks = {}, {}
    for k in range(LEVELS):
        bids[10000 - k] = rng.randint(1, MAX_SIZE)
        asks[10001 + k] = rng.randint(1, MAX_SIZE)
    for side, book in (("bid", bids), ("ask", asks)):
        for p in sorted(book, reverse=side == "bid"):
            l2.write(ROW.format(T0, T0 + 1, "true", side, p * TICK, book[p] * LOT))
    clock = [T0, 0]  # time (us), trade id

    def tick():
        clock[0] += 1000
        return clock[0]

    def row(side, p, lots):
        ts = tick()
        book = bids if side == "bid" else asks
        if lots == 0:
            book.pop(p, None)
        else:
            book[p] = lots
        l2.write(ROW.format(ts, ts + 1, "false", side, p * TICK, lots * LOT))

    def trade(side, p, lots):
        ts = tick()
        clock[1] += 1
        trades.write(ROW.format(ts, ts + 1, clock[1], side, p * TICK, lots * LOT))

    for _ in range(a.steps):
        r = rng.random()
        b, k = max(bids), min(asks)
        if r < 0.30:  # a size change at one of the top 3 levels, most often the touch
            side = rng.choice(["bid", "ask"])
            book = bids if side == "bid" else asks
            ps = sorted(book, reverse=(side == "bid"))[:3]
            p = ps[min(int(rng.expovariate(1.5)), len(ps) - 1)]
            cur = book[p]
            if rng.random() < 0.5:
                row(side, p, cur + rng.randint(1, 10))
            else:
                row(side, p, max(1, cur - rng.randint(1, max(1, cur // 2))))
        elif r < 0.65:  # a trade at the touch, then its level's update
            side, p, book = ("sell", b, bids) if rng.random() < 0.5 else ("buy", k, asks)
            lvl = book[p]
            q = lvl if rng.random() < 0.2 else rng.randint(1, lvl)
            trade(side, p, q)
            row("bid" if side == "sell" else "ask", p, lvl - q)
        elif r < 0.72:  # a sweep: the whole best level and part of the next
            side, p, book = ("sell", b, bids) if rng.random() < 0.5 else ("buy", k, asks)
            p2 = sorted(book, reverse=side == "sell")[1]
            q2 = rng.randint(1, book[p2])
            trade(side, p, book[p])
            trade(side, p2, q2)
            book_side = "bid" if side == "sell" else "ask"
            row(book_side, p, 0)
            row(book_side, p2, book[p2] - q2)
        elif r < 0.80:  # the touch cancelled
            if rng.random() < 0.5:
                row("bid", b, 0)
            else:
                row("ask", k, 0)
        elif r < 0.92:  # a new level inside the spread
            if k - b > 1:
                side = "bid" if rng.random() < 0.5 else "ask"
                row(side, rng.randint(b + 1, k - 1), rng.randint(1, MAX_SIZE))
        else:  # a deeper level changed (or emptied)
            side = rng.choice(["bid", "ask"])
            ps = sorted(bids if side == "bid" else asks, reverse=(side == "bid"))
            if len(ps) > 3:
                row(side, rng.choice(ps[3:]), rng.randint(0, MAX_SIZE))
        while len(bids) < LEVELS:
            row("bid", min(bids) - 1 if bids else min(asks) - 1, rng.randint(1, MAX_SIZE))
        while len(asks) < LEVELS:
            row("ask", max(asks) + 1 if asks else max(bids) + 1, rng.randint(1, MAX_SIZE))
        while min(asks) - max(bids) > 3:
            if rng.random() < 0.5:
                row("bid", max(bids) + 1, rng.randint(1, MAX_SIZE))
            else:
                row("ask", min(asks) - 1, rng.randint(1, MAX_SIZE))
    l2.close()
    trades.close()


main()
