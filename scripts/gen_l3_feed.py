#!/usr/bin/env python3
"""Writes an order-level (l3-jsonl) file shaped like a real BTC/USD order-by-order feed, for
benchmarks: prices on a 1e-8 grid (whole dollars, cents and 8 decimals mixed) around a mid that
walks within +-5% of 60,000; adds, updates and deletes near the touch, about LIVE orders live
(default 20,000); one add in ten up to 5% away, and those far orders are rarely touched, so they
stay for a long time. Orders the mid walks through are deleted (filled), so the book is never
crossed for long.

    scripts/gen_l3_feed.py OUT LINES [LIVE] [SEED]
"""
import bisect
import random
import sys

UNIT = 100_000_000


def text(ticks):
    whole, fraction = divmod(ticks, UNIT)
    return str(whole) if fraction == 0 else f"{whole}.{fraction:08d}"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, count = sys.argv[1], int(sys.argv[2])
    target = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 60940)
    mid = 60_000 * UNIT
    ids, position_of, orders = [], {}, {}
    books = {True: [], False: []}  # sorted (price, id) per side: True = bids
    next_id = 1_000_000_007
    lines = []
    seq = 0

    def delete(oid):
        bid, price = orders.pop(oid)
        position = position_of.pop(oid)
        last = ids.pop()
        if last != oid:
            ids[position] = last
            position_of[last] = position
        book = books[bid]
        del book[bisect.bisect_left(book, (price, oid))]
        lines.append(f'{{"seq":{len(lines) + 1},"op":"delete","order_id":{oid}}}')

    while len(lines) < count:
        mid = min(63_000 * UNIT, max(57_000 * UNIT, mid + rng.randint(-1000, 1000) * 1_000_000))
        # The mid walked through these: filled.
        while books[True] and books[True][-1][0] >= mid:
            delete(books[True][-1][1])
        while books[False] and books[False][0][0] <= mid:
            delete(books[False][0][1])
        choice = rng.randrange(100)
        if orders and (choice < 30 or len(orders) > target and choice < 60):
            oid = rng.choice(ids)
            bid, price = orders[oid]
            if abs(price - mid) <= mid // 50 or rng.randrange(20) == 0:
                if choice % 5 < 3:
                    delete(oid)
                else:
                    size = 1 + rng.randrange(5 * UNIT)
                    lines.append(f'{{"seq":{len(lines) + 1},"op":"update","order_id":{oid},'
                                 f'"side":"{"bid" if bid else "ask"}","price":"{text(price)}",'
                                 f'"size":"{text(size)}"}}')
                continue
        bid = rng.randrange(2) == 0
        distance = rng.randrange(mid // 20) if rng.randrange(10) == 0 else rng.randrange(40 * UNIT)
        price = mid - 1 - distance if bid else mid + 1 + distance
        kind = rng.randrange(3)
        if kind == 0:
            price = price // UNIT * UNIT
        elif kind == 1:
            price = price // 1_000_000 * 1_000_000
        if price <= 0:
            continue
        size = 1 + rng.randrange(5 * UNIT)
        oid = next_id
        next_id += 1 + rng.randrange(3)
        lines.append(f'{{"seq":{len(lines) + 1},"op":"add","order_id":{oid},"side":"{"bid" if bid else "ask"}",'
                     f'"price":"{text(price)}","size":"{text(size)}"}}')
        orders[oid] = (bid, price)
        position_of[oid] = len(ids)
        ids.append(oid)
        bisect.insort(books[bid], (price, oid))
    with open(out, "w") as f:
        f.write("\n".join(lines[:count]) + "\n")


if __name__ == "__main__":
    main()
