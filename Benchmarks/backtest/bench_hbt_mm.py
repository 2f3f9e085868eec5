#!/usr/bin/env python3
"""hftbacktest (2.4) side of the backtest benchmark: the same simple market maker Peregrine runs
(quotes at the touch, a fixed size, an inventory limit; requoted after every market-data event),
on the same Tardis L2 + trades files, converted once with hftbacktest's own Tardis converter
(trades first at equal timestamps, as Peregrine's converted file), with no latency (feed, entry
or response), as Peregrine's run.

usage: bench_hbt_mm.py L2.csv TRADES.csv [--runs 5] [--size 0.01] [--max-position 1.0]
Prints one line per run and a JSON line: events, replay seconds, events/s, fills, position.
Each run is a fresh backtest on the converted array (conversion and numba compilation are not timed).
The depth is hftbacktest's fastest, ROIVectorMarketDepthBacktest (a vector over a price range of
interest), with the range set to every price in the data, a tick either side: the same results as
its HashMapMarketDepthBacktest (orders, fills, position) on the generated data, whose only snapshot
is at its start, and about a third faster. The two clear a side in separate code: with snapshots
in mid-stream, compare them again before trusting either.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
from numba import njit

import hftbacktest
from hftbacktest import BUY, GTX, LIMIT, BacktestAsset, ROIVectorMarketDepthBacktest
from hftbacktest.order import NEW, NONE, PARTIALLY_FILLED
from hftbacktest.data.utils import tardis

LATENCY = int(os.environ.get("HBT_LATENCY_NS", "0"))


@njit
def quote_at_touch(hbt, order_id, qty, max_pos):
    depth = hbt.depth(0)
    tick = depth.tick_size
    bid_tick = depth.best_bid_tick
    ask_tick = depth.best_ask_tick
    # A one-sided or crossed moment (between the rows of one message): no quote, as Peregrine's
    # market maker (no mid, no quote).
    if bid_tick <= 0 or ask_tick >= (1 << 62) or bid_tick >= ask_tick:
        return order_id
    pos = hbt.position(0)
    has_bid = False
    has_ask = False
    values = hbt.orders(0).values()
    while values.has_next():
        o = values.get()
        # Only working orders (new, partly filled, or with a request in flight): the filled,
        # cancelled and expired ones stay in the list until clear_inactive_orders, and one of
        # them at the touch kept the market maker from quoting there again (Peregrine's
        # requotes after a fill).
        if o.status != NEW and o.status != PARTIALLY_FILLED and o.req == NONE:
            continue
        if o.side == BUY:
            if o.price_tick == bid_tick:
                has_bid = True
            elif o.cancellable:
                hbt.cancel(0, o.order_id, False)
        else:
            if o.price_tick == ask_tick:
                has_ask = True
            elif o.cancellable:
                hbt.cancel(0, o.order_id, False)
    if not has_bid and pos + qty <= max_pos:
        hbt.submit_buy_order(0, order_id, bid_tick * tick, qty, GTX, LIMIT, False)
        order_id += 1
    if not has_ask and pos - qty >= -max_pos:
        hbt.submit_sell_order(0, order_id, ask_tick * tick, qty, GTX, LIMIT, False)
        order_id += 1
    return order_id


@njit
def market_maker(hbt, qty, max_pos):
    order_id = 1
    feeds = 0
    while True:
        r = hbt.wait_next_feed(False, 1_000_000_000_000)
        if r == 1:
            break
        if r != 2 and r != 0:
            # An error (hftbacktest returns it, and going on loops forever: its PartialFill
            # exchange stops with 14, InvalidOrderStatus, when a queue fill uses up an order).
            return feeds, -r
        if r != 2:
            continue
        feeds += 1
        if feeds % 64 == 0:
            hbt.clear_inactive_orders(0)
        order_id = quote_at_touch(hbt, order_id, qty, max_pos)
    return feeds, order_id - 1


def make(data, tick, lot, roi):
    asset = (BacktestAsset().data([data]).linear_asset(1.0)
             .constant_order_latency(LATENCY, LATENCY)
             .risk_adverse_queue_model().no_partial_fill_exchange()
             .trading_value_fee_model(0.0, 0.0)
             .tick_size(tick).lot_size(lot).last_trades_capacity(0)
             .roi_lb(roi[0]).roi_ub(roi[1]))
    return ROIVectorMarketDepthBacktest([asset])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("l2")
    ap.add_argument("trades")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=float, default=0.01)
    ap.add_argument("--max-position", type=float, default=1.0)
    ap.add_argument("--tick", type=float, default=0.1)
    ap.add_argument("--lot", type=float, default=0.001)
    a = ap.parse_args()
    cache = a.l2 + ".hbt.npz"
    if os.path.exists(cache):
        data = np.load(cache)["data"]
    else:
        t0 = time.perf_counter()
        rows = sum(1 for _ in open(a.l2)) + sum(1 for _ in open(a.trades))
        data = tardis.convert([a.trades, a.l2], output_filename=cache, buffer_size=rows + 1000)
        print(f"converted once in {time.perf_counter() - t0:.1f} s: {len(data):,} events", file=sys.stderr)
    # No feed latency, as Peregrine's backtest runs without --feed-latency: the strategy sees each
    # row at its exchange time (hftbacktest delivers a row at its local_ts, which the converter
    # takes from the file's receive times, 3-9 ms later here).
    data = data.copy()
    data["local_ts"] = data["exch_ts"]
    # The range of interest: every price in the data (depth and trades), a tick either side.
    prices = data["px"][data["px"] > 0]
    roi = (float(prices.min()) - a.tick, float(prices.max()) + a.tick)
    warm = make(data[:20000], a.tick, a.lot, roi)
    market_maker(warm, a.size, a.max_position)
    warm.close()
    runs = []
    for run in range(a.runs):
        hbt = make(data, a.tick, a.lot, roi)
        t0 = time.perf_counter()
        feeds, orders = market_maker(hbt, a.size, a.max_position)
        seconds = time.perf_counter() - t0
        if orders < 0:
            sys.exit(f"hftbacktest stopped with error code {-orders} after {feeds} feeds")
        state = hbt.state_values(0)
        runs.append({"seconds": seconds, "events_per_second": len(data) / seconds, "feeds": feeds,
                     "orders": orders, "fills": int(state.num_trades), "position": float(state.position)})
        hbt.close()
        print(f"hftbacktest run {run + 1}: {seconds:.3f} s, {len(data) / seconds:,.0f} events/s, "
              f"{orders} orders, {runs[-1]['fills']} fills", flush=True)
    median = statistics.median(r["events_per_second"] for r in runs)
    print("JSON " + json.dumps({"peer": "hftbacktest", "version": hftbacktest.__version__,
                                "depth": "ROIVectorMarketDepthBacktest", "roi": list(roi), "events": int(len(data)),
                                "median_events_per_second": median, "runs": runs}))


main()
