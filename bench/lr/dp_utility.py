#!/usr/bin/env python3
"""Utility and cost of DP-SGD (`ecps train lr --dp-epsilon`) against the non-private run.

For each ε (δ = 1 / training rows, ecps' default) private runs beside the non-private run with
the same epochs and optimiser: test AUC and log-loss from metrics.json, the wall time of the
whole `ecps train lr --local` process (loading included), its CPU time (user + sys) and its
training time. Options not given to the script are not passed, so each run uses ecps' own
defaults: the private runs its DP defaults (--hash-bits 20, q = 0.02, C = 1), the non-private
run its defaults (--hash-bits 22, batch rows / 200); the table shows what each run used (from
metrics.json). Private runs draw their noise and batches from the operating system, so each
setting is repeated --repeats times (AUC mean, min..max; times median); the non-private run
too. The runs go round by round (every setting once, then again), so that a change in the
machine's load affects all settings alike.

  build/bench/lr/lr_gen_ctr --rows 2000000 --test-rows 500000 --out-train /tmp/ctr_train.svm \\
      --out-test /tmp/ctr_test.svm
  python3 bench/lr/dp_utility.py --ecps build/ecps --train /tmp/ctr_train.svm \\
      --test /tmp/ctr_test.svm --epochs 3 --epsilons 0.5 1 2 8

--shoppers CSV (online-shoppers-intention) writes a seeded 80/20 split as libsvm first (under DP
ecps does not scale CSV columns from the data): numeric columns as log1p(x) / log1p(cap),
clipped to [0, 1], with caps fixed beforehand from what the columns mean (SHOPPERS_CAPS, not
from the data); categoricals one-hot at crc32("column=value") (no vocabulary from the data).
"""
import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

SHOPPERS_CAPS = {"Administrative": 30, "Administrative_Duration": 3600, "Informational": 30,
                 "Informational_Duration": 3600, "ProductRelated": 700, "ProductRelated_Duration": 36000,
                 "BounceRates in %": 20, "ExitRates in %": 20, "PageValues": 400, "SpecialDay (probability)": 1}
SHOPPERS_CATEGORIES = ["Month", "OperatingSystems", "Browser", "Region", "TrafficType", "VisitorType", "Weekend"]


def shoppers_libsvm(path, work, seed=1, frac=0.8):
    """The seeded 80/20 split of online_shoppers_intention.csv as (train, test) libsvm files."""
    import csv
    import math
    import random
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut = round(frac * len(rows))
    numeric = list(SHOPPERS_CAPS)
    out = []
    for name, idx in (("train", sorted(order[:cut])), ("test", sorted(order[cut:]))):
        p = os.path.join(work, f"shoppers_{name}.svm")
        with open(p, "w") as f:
            for i in idx:
                r = rows[i]
                feats = {}
                for j, c in enumerate(numeric):
                    v = min(max(float(r[c]), 0.0), SHOPPERS_CAPS[c])
                    feats[j + 1] = math.log1p(v) / math.log1p(SHOPPERS_CAPS[c])
                for c in SHOPPERS_CATEGORIES:
                    feats[100 + zlib.crc32(f"{c}={r[c].strip()}".encode()) % 1000000] = 1
                y = 1 if r["Revenue"].strip().upper() == "TRUE" else 0
                f.write(str(y) + "".join(f" {k}:{v:.6g}" for k, v in sorted(feats.items())) + "\n")
        out.append(p)
    return out


def run(ecps, out, flags):
    cmd = [ecps, "train", "lr", "--local", "-q", "--out", out] + flags
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {shlex.join(cmd)}\n{p.stderr[-3000:]}")
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    return {"auc": m["auc"], "logloss": m["logloss"], "wall": wall, "cpu": cpu,
            "train": m.get("train_seconds", float("nan")), "privacy": m.get("privacy") or {},
            "hash_bits": m["config"]["hash_bits"], "batches": m.get("batches_per_epoch")}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ecps", default="build/ecps")
    p.add_argument("--train", help="training file (or --shoppers)")
    p.add_argument("--test", help="test file (or --shoppers)")
    p.add_argument("--shoppers", help="online_shoppers_intention.csv: train and test from its seeded 80/20 split")
    p.add_argument("--format", default="", help="passed as --format when given (libsvm, csv, ...)")
    p.add_argument("--hash-bits", type=int, help="--hash-bits of every run (default: ecps' own, 20 under DP)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--algorithm", default="ftrl")
    p.add_argument("--sample-rate", type=float, help="--dp-sample-rate q of the private runs (default: ecps' 0.02)")
    p.add_argument("--clip", type=float, help="--dp-clip C of the private runs (default: ecps' 1)")
    p.add_argument("--epsilons", type=float, nargs="+", default=[0.5, 1, 2, 8])
    p.add_argument("--repeats", type=int, default=3, help="runs per setting (also of the non-private one)")
    p.add_argument("--extra", default="", help="more `train lr` options for every run, e.g. \"--l1 5\"")
    p.add_argument("--dp-extra", default="", help="more options for the private runs only")
    a = p.parse_args()
    keep = tempfile.TemporaryDirectory()
    if a.shoppers:
        a.train, a.test = shoppers_libsvm(a.shoppers, keep.name)
    elif not (a.train and a.test):
        p.error("--train and --test (or --shoppers) are required")
    given = lambda flag, v: [flag, str(v)] if v is not None else []
    common = ["--train", a.train, "--test", a.test, "--epochs", str(a.epochs), "--algorithm", a.algorithm] + \
        given("--hash-bits", a.hash_bits) + (["--format", a.format] if a.format else []) + shlex.split(a.extra)
    dp_flags = given("--dp-sample-rate", a.sample_rate) + given("--dp-clip", a.clip) + shlex.split(a.dp_extra)
    settings = [("non-private", [])]
    for e in a.epsilons:
        settings.append((f"ε = {e:g}", ["--dp-epsilon", str(e)] + dp_flags))
    print(f"train {a.train}, test {a.test}: {a.algorithm}, --epochs {a.epochs}, "
          f"{shlex.join(given('--hash-bits', a.hash_bits) + shlex.split(a.extra)) or 'ecps defaults'}; "
          f"private: δ = 1/n, {shlex.join(dp_flags) or 'ecps DP defaults'}; {a.repeats} runs each")
    print("| run | hash bits | q (steps) | σ | δ | test AUC | AUC − non-private | test log-loss | wall s | CPU s "
          "| train s | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = None
    results = {name: [] for name, _ in settings}
    with tempfile.TemporaryDirectory() as tmp:
        # Round after round of every setting: a change of the machine's load hits all alike.
        for i in range(a.repeats):
            for k, (name, extra) in enumerate(settings):
                results[name].append(run(a.ecps, os.path.join(tmp, f"{k}-{i}"), common + extra))
        for name, _ in settings:
            rs = results[name]
            aucs = [r["auc"] for r in rs]
            auc = statistics.mean(aucs)
            wall = statistics.median(r["wall"] for r in rs)
            cpu = statistics.median(r["cpu"] for r in rs)
            train = statistics.median(r["train"] for r in rs)
            base = base or {"auc": auc, "wall": wall, "cpu": cpu}
            pr = rs[0]["privacy"]
            sigma = f"{pr['noise_multiplier']:.3f}" if pr else "-"
            delta = f"{pr['delta']:.2g}" if pr else "-"
            q = f"{pr['sample_rate']:.3g} ({pr['steps']})" if pr else f"batches ({rs[0]['batches'] * a.epochs})"
            spread = f" ({min(aucs):.4f}..{max(aucs):.4f})" if len(set(aucs)) > 1 else ""
            ll = statistics.mean(r["logloss"] for r in rs)
            print(f"| {name} | {rs[0]['hash_bits']} | {q} | {sigma} | {delta} | {auc:.4f}{spread} "
                  f"| {auc - base['auc']:+.4f} | {ll:.4f} | {wall:.2f} | {cpu:.2f} | {train:.2f} "
                  f"| {wall / base['wall']:.2f} | {cpu / base['cpu']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
