#!/usr/bin/python3
"""Seeded synthetic implicit-feedback data for the CF benchmarks.

Writes `user item` lines (space-separated, integer ids, grouped by user) with exactly
--interactions distinct (user, item) pairs: item popularity follows a power law
(p(rank r) ~ 1 / (r + 10)^alpha) over a random permutation of the item ids, user activity
is log-normal. Same seed, same file.

  /usr/bin/python3 bench/cf/make_synthetic.py --out /tmp/synth.txt
"""
import argparse

import numpy as np


def generate(users, items, interactions, alpha, seed):
    rng = np.random.default_rng(seed)
    ranks = np.arange(items, dtype=np.float64)
    pop = 1.0 / (ranks + 10.0) ** alpha
    pop /= pop.sum()
    item_of_rank = rng.permutation(items)
    activity = rng.lognormal(mean=0.0, sigma=0.92, size=users)
    activity /= activity.sum()
    pairs = np.empty(0, dtype=np.int64)
    while pairs.size < interactions:
        need = int((interactions - pairs.size) * 1.15) + 1000
        u = rng.choice(users, size=need, p=activity)
        i = item_of_rank[rng.choice(items, size=need, p=pop)]
        pairs = np.unique(np.concatenate([pairs, u.astype(np.int64) * items + i]))
    pairs = rng.permutation(pairs)[:interactions]
    pairs.sort()  # grouped by user
    return pairs // items, pairs % items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--interactions", type=int, default=5_000_000)
    ap.add_argument("--alpha", type=float, default=1.0, help="power-law exponent of item popularity")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    u, i = generate(a.users, a.items, a.interactions, a.alpha, a.seed)
    deg = np.bincount(u, minlength=a.users).astype(np.float64)
    with open(a.out, "w") as f:
        lines = np.char.add(np.char.add(u.astype(str), " "), i.astype(str))
        f.write("\n".join(lines.tolist()))
        f.write("\n")
    print(f"{a.out}: {u.size} interactions, {np.count_nonzero(deg)} users, {np.unique(i).size} items, "
          f"sum of squared user degrees {deg @ deg:.3g}")


if __name__ == "__main__":
    main()
