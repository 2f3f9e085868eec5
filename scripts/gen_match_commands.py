#!/usr/bin/env python3
"""Writes a `peregrine match` command file (JSON lines) with the standard mixed stream: about
50% passive limit adds near the touch, 35% cancels (mostly of recent orders), 10% IOC orders
that cross, 5% replaces, around a mid of 100,000 ticks that walks.

    scripts/gen_match_commands.py OUT COMMANDS [SEED]
"""
import random
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    mid = 100_000
    live = []  # (id, side, price, qty)
    next_id = 1
    lines = []
    while len(lines) < count:
        if rng.randrange(100) == 0:
            mid += rng.randint(-3, 3)
        roll = rng.randrange(100)
        account = rng.randrange(1, 9)
        if roll < 50 or not live:
            side = "buy" if rng.randrange(2) == 0 else "sell"
            distance = 1 + int(rng.expovariate(1 / 20))
            price = mid - distance if side == "buy" else mid + distance
            qty = rng.randint(1, 100)
            lines.append(f'{{"op":"new","id":{next_id},"side":"{side}","price":{price},"qty":{qty},"account":{account}}}')
            live.append((next_id, side, price, qty, account))
            next_id += 1
        elif roll < 85:
            index = len(live) - 1 - min(len(live) - 1, int(rng.expovariate(1 / 50)))
            oid, _, _, _, owner = live.pop(index)
            lines.append(f'{{"op":"cancel","id":{oid},"account":{owner}}}')
        elif roll < 95:
            side = "buy" if rng.randrange(2) == 0 else "sell"
            price = mid + 5 if side == "buy" else mid - 5
            lines.append(f'{{"op":"new","id":{next_id},"side":"{side}","price":{price},"qty":{rng.randint(1, 300)},'
                         f'"tif":"ioc","account":{account}}}')
            next_id += 1
        else:
            index = len(live) - 1 - min(len(live) - 1, int(rng.expovariate(1 / 50)))
            oid, side, price, qty, owner = live[index]
            price += rng.choice([-1, 1])
            lines.append(f'{{"op":"replace","id":{oid},"price":{price},"qty":{qty + rng.randint(0, 20)},"account":{owner}}}')
            live[index] = (oid, side, price, qty, owner)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
