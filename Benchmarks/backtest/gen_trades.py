#!/usr/bin/env python3
"""Trades for a Tardis incremental_book_L2 file (e.g. from gen_tardis_l2.py), in Tardis `trades`
CSV: after every K-th message (default 4), one trade at the touch of the book as that message
left it — a sell hitting the best bid or a buy lifting the best ask, alternating at random —
for a random amount up to the level's size, stamped with the message's timestamps. Deterministic
(--seed). The backtest benchmark feeds both files to Peregrine and hftbacktest.

usage: gen_trades.py L2.csv OUT.csv [--every 4] [--seed 7]
"""
import argparse
import heapq
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("l2")
    ap.add_argument("out")
    ap.add_argument("--every", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    bids, asks = {}, {}
    bid_heap, ask_heap = [], []
    trade_id = 1
    messages = 0
    trades = 0

    def best(book, heap, sign):
        while heap:
            price = sign * heap[0]
            if book.get(price, 0) > 0:
                return price
            heapq.heappop(heap)
        return None

    with open(a.l2) as f, open(a.out, "w") as out:
        out.write("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n")
        header = f.readline()
        assert header.startswith("exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount")
        current = None
        stamp = None

        def end_message():
            nonlocal messages, trade_id, trades
            messages += 1
            if messages % a.every:
                return
            buy = rng.random() < 0.5
            price = best(asks, ask_heap, 1) if buy else best(bids, bid_heap, -1)
            if price is None:
                return
            size = (asks if buy else bids)[price]
            lots = max(1, int(round(size * 1000 * rng.random())))
            out.write(f"binance-futures,BTCUSDT,{stamp[0]},{stamp[1]},{trade_id},{'buy' if buy else 'sell'},"
                      f"{price_text[price]},{lots / 1000:.3f}\n")
            trade_id += 1
            trades += 1

        price_text = {}
        for line in f:
            exchange, symbol, ts, local, snap, side, price, amount = line.rstrip("\n").split(",")
            if current is not None and local != current:
                end_message()
            current = local
            stamp = (ts, local)
            p = float(price)
            price_text[p] = price
            q = float(amount)
            if side == "bid":
                bids[p] = q
                if q > 0:
                    heapq.heappush(bid_heap, -p)
            else:
                asks[p] = q
                if q > 0:
                    heapq.heappush(ask_heap, p)
        if current is not None:
            end_message()
    print(f"wrote {a.out}: {trades} trades after {messages} messages")


main()
