#!/usr/bin/env python3
"""hftbacktest (2.4.4) side of the fill-parity check (parity.sh): Peregrine's `market-maker`
strategy with half-spread=0 and skew=0, re-written for hftbacktest, on a walk from gen_walk.py.

usage: hbt_market_maker.py OUTDIR MODEL [--size 5] [--max-position 1000000]
MODEL: risk-averse | power:N | log (hftbacktest's queue models). Reads OUTDIR/l2.csv and
OUTDIR/trades.csv; writes OUTDIR/hbt_fills_MODEL.csv (time_ns,side,price,qty; MODEL without its
colon, e.g. hbt_fills_power2.csv). PartialFill exchange, HashMap depth, no latency, zero fees,
tick 0.1, lot 0.001 (gen_walk.py's grid).
The rules of MarketMaker.swift: with the best bid b and ask a in ticks, the bid goes at
min(floor((b+a)/2), a-1) and the ask at max(ceil((b+a)/2), b+1), `size` lots a side (post-only)
while position + size <= max-position (bid) and position - size >= -max-position (ask); a quote
whose price moved is cancelled and a new one sent; a partly filled quote at its price stays; a
quote with a request in flight is left alone. It requotes after every market-data event from the
first one after the initial snapshot (Peregrine: --from just after the snapshot).
"""
import argparse
import os
import sys
from decimal import Decimal

import numpy as np
from numba import njit

from hftbacktest import BUY, GTX, LIMIT, BacktestAsset, HashMapMarketDepthBacktest
from hftbacktest.data.utils import tardis
from hftbacktest.order import CANCELED, EXPIRED, FILLED, NONE

TICK, LOT = "0.1", "0.001"
# hftbacktest #312: a queue fill using up an order exactly stops the run with error 14; orders go SHORT lots short.
SHORT = 0.4


@njit
def work(hbt, working, buy, price_tick, wanted, size, qty, next_id, open_lots):
    """Places, moves or withdraws one quote.
    Returns (the id now working, 0 for none; the next free id; error code, 0 for none)."""
    if working != 0:
        order = hbt.orders(0).get(working)
        if order.req != NONE:
            return working, next_id, 0  # a request in flight (Peregrine: pending, busy)
        if not wanted:
            return working, next_id, hbt.cancel(0, working, False)
        if order.price_tick == price_tick:
            return working, next_id, 0
        # Peregrine replaces it (the same leaves, at the back of the new level): a cancel and a new one.
        error = hbt.cancel(0, working, False)
        if error != 0:
            return working, next_id, error
    elif not wanted:
        return 0, next_id, 0
    if next_id == len(open_lots):
        return working, next_id, -1
    open_lots[next_id] = size
    price = price_tick * hbt.depth(0).tick_size
    if buy:
        error = hbt.submit_buy_order(0, next_id, price, qty, GTX, LIMIT, False)
    else:
        error = hbt.submit_sell_order(0, next_id, price, qty, GTX, LIMIT, False)
    return next_id, next_id + 1, error


@njit
def market_maker(hbt, size, max_position, fills, open_lots):
    """Runs to the end of the data; fills[i] = (time ns, +1 buy / -1 sell, price ticks, lots),
    open_lots[id] = the lots of order id not filled yet. Returns (number of fills, error code:
    0 for none, hftbacktest's, or -1 for a full array)."""
    lot = hbt.depth(0).lot_size
    qty = (size - SHORT) * lot
    n, next_id, bid_id, ask_id = 0, 1, 0, 0
    # hftbacktest #316: partial fills never reach position(); the position is counted from the fills.
    position = 0
    snapshot_time = -1
    while True:
        r = hbt.wait_next_feed(False, 1_000_000_000_000_000)
        if r == 1:
            return n, 0  # the end of the data
        if r == 0:
            continue  # the timeout, far beyond the data
        if r != 2:
            return n, r  # an error: going on would meet it again and again
        if snapshot_time < 0:
            snapshot_time = hbt.current_timestamp
        # The fills since the last event: where an order's leaves (in lots) went down.
        values = hbt.orders(0).values()
        while values.has_next():
            o = values.get()
            left = 0 if o.status == FILLED else int(round(o.leaves_qty / lot + SHORT))  # (#312)
            if left < open_lots[o.order_id]:
                if n == len(fills):
                    return n, -1
                side = 1 if o.side == BUY else -1
                done = open_lots[o.order_id] - left
                fills[n, 0] = o.exch_timestamp
                fills[n, 1] = side
                fills[n, 2] = o.exec_price_tick
                fills[n, 3] = done
                position += side * done
                open_lots[o.order_id] = left
                n += 1
            if o.status == FILLED or o.status == CANCELED or o.status == EXPIRED:
                if o.order_id == bid_id:
                    bid_id = 0
                if o.order_id == ask_id:
                    ask_id = 0
        hbt.clear_inactive_orders(0)
        if hbt.current_timestamp <= snapshot_time:
            continue  # the initial snapshot only builds the book
        depth = hbt.depth(0)
        b, a = depth.best_bid_tick, depth.best_ask_tick
        if b <= 0 or a >= (1 << 62) or b >= a:
            continue  # a side empty: no mid, no quotes
        bid = min((b + a) >> 1, a - 1)
        ask = max((b + a + 1) >> 1, b + 1)
        wanted = position + size <= max_position and bid > 0
        bid_id, next_id, error = work(hbt, bid_id, True, bid, wanted, size, qty, next_id, open_lots)
        if error == 0:
            wanted = position - size >= -max_position and ask > 0
            ask_id, next_id, error = work(hbt, ask_id, False, ask, wanted, size, qty, next_id, open_lots)
        if error != 0:
            return n, error


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("model")
    ap.add_argument("--size", type=int, default=5, metavar="LOTS")
    ap.add_argument("--max-position", type=int, default=1_000_000, metavar="LOTS")
    a = ap.parse_args()
    # Bare names: hftbacktest's converter picks a file's schema from "trades" anywhere in its path.
    os.chdir(a.outdir)
    rows = sum(1 for _ in open("trades.csv")) + sum(1 for _ in open("l2.csv"))
    data = tardis.convert(["trades.csv", "l2.csv"], buffer_size=rows + 1000)
    asset = (BacktestAsset().data([data]).linear_asset(1.0).constant_order_latency(0, 0)
             .partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
             .tick_size(float(TICK)).lot_size(float(LOT)).last_trades_capacity(0))
    if a.model == "risk-averse":
        asset = asset.risk_adverse_queue_model()
    elif a.model == "log":
        asset = asset.log_prob_queue_model()
    elif a.model.startswith("power:"):
        asset = asset.power_prob_queue_model(float(a.model[6:]))
    else:
        sys.exit(f"unknown model {a.model}: risk-averse, power:N or log")
    hbt = HashMapMarketDepthBacktest([asset])
    # At most 2 orders sent and 4 working per event: these arrays never fill up.
    fills = np.zeros((4 * len(data) + 8, 4), np.int64)
    n, error = market_maker(hbt, a.size, a.max_position, fills, np.zeros(2 * len(data) + 8, np.int64))
    if error != 0:
        what = "an array is full" if error < 0 else f"hftbacktest returned error code {error}"
        sys.exit(f"hbt_market_maker.py {a.model}: {what} at {hbt.current_timestamp} ns, after {n} fills")
    hbt.close()
    path = f"hbt_fills_{a.model.replace(':', '')}.csv"
    with open(path, "w") as out:
        out.write("time_ns,side,price,qty\n")
        for t, side, price, lots in fills[:n]:
            out.write(f"{t},{'buy' if side > 0 else 'sell'},"
                      f"{int(price) * Decimal(TICK)},{int(lots) * Decimal(LOT)}\n")
    print(f"hftbacktest {a.model}: {n} fills -> {os.path.join(a.outdir, path)}")


main()
