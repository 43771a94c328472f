#!/usr/bin/env python3
"""Utility of DP k-means (`ecps train kmeans --dp-epsilon`) against the non-private run.

On `ecps generate` users (planted segments in truth/user_segments.csv): for each setting,
the inertia of the centroids in the bounds' [0, 1] space (every user at its nearest centroid,
features clipped to the bounds and mapped to [0, 1]; the same space for every run) and the
adjusted Rand index of the run's assignments against the planted segments. Private runs take
their noise from the operating system, so each is repeated --repeats times (mean, min, max).

  build/ecps generate --users 100000 --out /tmp/shop
  python3 bench/kmeans/dp_utility.py --ecps build/ecps --gen /tmp/shop --epsilons 1 8
"""
import argparse
import csv
import math
import os
import subprocess
import tempfile
from collections import Counter

FEATURES = ["age", "purchase_frequency", "rating", "duration", "avg_order_value"]
BOUNDS = {"age": (18, 80), "purchase_frequency": (0, 20), "rating": (1, 5), "duration": (0, 60),
          "avg_order_value": (0, 400)}


def unit(name, v):
    lo, hi = BOUNDS[name]
    return (min(max(v, lo), hi) - lo) / (hi - lo)


def inertia(users, centroids):
    total = 0.0
    for x in users:
        total += min(sum((a - b) ** 2 for a, b in zip(x, c)) for c in centroids)
    return total


def ari(a, b):
    def comb2(n):
        return n * (n - 1) / 2
    n = len(a)
    s_ij = sum(comb2(v) for v in Counter(zip(a, b)).values())
    s_a = sum(comb2(v) for v in Counter(a).values())
    s_b = sum(comb2(v) for v in Counter(b).values())
    expected = s_a * s_b / comb2(n)
    return (s_ij - expected) / (0.5 * (s_a + s_b) - expected)


def run(ecps, data, out, extra):
    cmd = [ecps, "train", "kmeans", "--local", "--quiet", "--data", data, "--id-column", "user_id",
           "--features", ",".join(FEATURES), "--k", "4", "--out", out] + extra
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "profiles.csv")) as f:
        centroids = [[unit(n, float(r[n])) for n in FEATURES] for r in csv.DictReader(f)]
    with open(os.path.join(out, "assignments.csv")) as f:
        labels = {r["id"]: r["cluster"] for r in csv.DictReader(f)}
    return centroids, labels


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ecps", default="build/ecps")
    p.add_argument("--gen", required=True, help="folder written by `ecps generate`")
    p.add_argument("--epsilons", type=float, nargs="+", default=[1, 8])
    p.add_argument("--max-iter", type=int, default=10, help="iterations of the private runs")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    data = os.path.join(a.gen, "users.csv")
    with open(data) as f:
        rows = list(csv.DictReader(f))
    users = [[unit(n, float(r[n])) for n in FEATURES] for r in rows]
    with open(os.path.join(a.gen, "truth", "user_segments.csv")) as f:
        truth = {r["user_id"]: r["segment"] for r in csv.DictReader(f)}
    ids = [r["user_id"] for r in rows]
    bounds = ",".join(f"{n}={lo}:{hi}" for n, (lo, hi) in BOUNDS.items())
    settings = [("non-private", [], 1)]
    for e in a.epsilons:
        settings.append((f"eps={e:g}", ["--dp-epsilon", str(e), "--dp-bounds", bounds,
                                         "--max-iter", str(a.max_iter)], a.repeats))
    print(f"{len(users)} users, k = 4, private runs: {a.max_iter} iterations, delta 1e-6")
    print("| setting | inertia (bounds space) | vs non-private | ARI vs planted |")
    print("|---|---|---|---|")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra, repeats in settings:
            inertias, aris = [], []
            for i in range(repeats):
                out = os.path.join(tmp, f"{name}-{i}")
                centroids, labels = run(a.ecps, data, out, extra)
                inertias.append(inertia(users, centroids))
                aris.append(ari([labels[u] for u in ids], [truth[u] for u in ids]))
            m = sum(inertias) / len(inertias)
            base = base or m
            spread = f" ({min(inertias):.1f}..{max(inertias):.1f})" if repeats > 1 else ""
            aspread = f" ({min(aris):.3f}..{max(aris):.3f})" if repeats > 1 else ""
            print(f"| {name} | {m:.1f}{spread} | {100 * (m / base - 1):+.1f}% | "
                  f"{sum(aris) / len(aris):.3f}{aspread} |")


if __name__ == "__main__":
    main()
