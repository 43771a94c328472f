#!/usr/bin/env python3
"""Segment hierarchy (`train kmeans --hierarchy`): quality of its cuts and its cost.

Run from the repository root after building ecps: /usr/bin/python3 bench/kmeans/hierarchy_bench.py

Makes a seeded synthetic shop (`ecps generate`, whose users come from planted segments listed
in truth/user_segments.csv), then trains k-means with k = the planted number directly and with
fine k (--fine, default 50 and 200) and --hierarchy, cuts each tree at the planted number of
segments (hierarchy.json's cuts) and prints the adjusted Rand index of every labelling against
the planted segments (scikit-learn's adjusted_rand_score). Cost: the whole command's wall time
with and without --hierarchy at each fine k, run alternately, medians of --runs.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import time

from sklearn.metrics import adjusted_rand_score

FEATURES = "age,purchase_frequency,rating,duration,avg_order_value"


def train(ecps, data, out, k, hierarchy):
    cmd = [ecps, "train", "kmeans", "--data", data, "--id-column", "user_id", "--features", FEATURES,
           "--k", str(k), "--normalize", "minmax", "--init", "kmeans++", "--seed", "42", "--local",
           "--workers", "2", "--out", out, "-q"] + (["--hierarchy"] if hierarchy else [])
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def labels(out, cut):
    to = None
    if cut:
        h = json.load(open(os.path.join(out, "hierarchy.json")))
        to = {s: node for node in h["cuts"][str(cut)] for s in h["nodes"][node]["segments"]}
    rows = list(csv.DictReader(open(os.path.join(out, "assignments.csv"))))
    return [r["id"] for r in rows], [to[int(r["cluster"])] if to else int(r["cluster"]) for r in rows]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ecps", default="build/ecps")
    p.add_argument("--work", default="/tmp/ecps-hierarchy-bench")
    p.add_argument("--users", type=int, default=200000)
    p.add_argument("--fine", type=int, nargs="+", default=[50, 200])
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    shop = os.path.join(a.work, f"shop-{a.users}")
    if not os.path.exists(os.path.join(shop, "users.csv")):
        subprocess.run([a.ecps, "generate", "--out", shop, "--users", str(a.users), "--items", "500",
                        "--seed", "11", "-q"], check=True)
    data = os.path.join(shop, "users.csv")
    truth = {r["user_id"]: r["segment"] for r in csv.DictReader(open(os.path.join(shop, "truth/user_segments.csv")))}
    planted = len(set(truth.values()))
    print(f"shop: {a.users} users, {planted} planted segments ({data})")
    print(f"{'labelling':<42} {'ARI vs planted':>15}")
    runs = [(planted, False, None)] + [(k, True, planted) for k in a.fine]
    for k, hierarchy, cut in runs:
        out = os.path.join(a.work, f"k{k}{'-h' if hierarchy else ''}")
        train(a.ecps, data, out, k, hierarchy)
        ids, lab = labels(out, cut)
        name = f"k = {k} directly" if cut is None else f"k = {k}, hierarchy cut at {cut}"
        print(f"{name:<42} {adjusted_rand_score([truth[i] for i in ids], lab):>15.4f}")
    print(f"\n{'fine k':>6} {'without s':>10} {'with --hierarchy s':>19} {'difference s':>13}  (medians of {a.runs}, alternating)")
    for k in a.fine:
        without, with_h = [], []
        for _ in range(a.runs):
            without.append(train(a.ecps, data, os.path.join(a.work, "t"), k, False))
            with_h.append(train(a.ecps, data, os.path.join(a.work, "t"), k, True))
        m0, m1 = statistics.median(without), statistics.median(with_h)
        print(f"{k:>6} {m0:>10.3f} {m1:>19.3f} {m1 - m0:>13.3f}")


if __name__ == "__main__":
    main()
