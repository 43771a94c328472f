#!/usr/bin/env python3
"""Utility and cost of DP-SGD (`ecps train lr --dp-epsilon`) against the non-private run.

For each ε (δ = 1 / training rows, ecps' default) private runs with the given clip, sample
rate, epochs, hash bits and optimiser, beside the non-private run with the same epochs, hash
bits and optimiser (its default batch): test AUC and log-loss from metrics.json, and the wall
time of the whole `ecps train lr --local` process (loading included) and its training time.
Private runs draw their noise and batches from the operating system, so each is repeated
--repeats times (AUC mean, min..max; times median); the non-private run too (times median).

  build/bench/lr/lr_gen_ctr --rows 2000000 --test-rows 500000 --out-train /tmp/ctr_train.svm \\
      --out-test /tmp/ctr_test.svm
  python3 bench/lr/dp_utility.py --ecps build/ecps --train /tmp/ctr_train.svm \\
      --test /tmp/ctr_test.svm --hash-bits 18 --epochs 1 --sample-rate 0.01 --epsilons 0.5 1 2 8
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def run(ecps, out, flags):
    cmd = [ecps, "train", "lr", "--local", "-q", "--out", out] + flags
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {shlex.join(cmd)}\n{p.stderr[-3000:]}")
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    return {"auc": m["auc"], "logloss": m["logloss"], "wall": wall, "train": m.get("train_seconds", float("nan")),
            "privacy": m.get("privacy", {})}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ecps", default="build/ecps")
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--format", default="", help="passed as --format when given (libsvm, csv, ...)")
    p.add_argument("--hash-bits", type=int, default=18)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--algorithm", default="ftrl")
    p.add_argument("--sample-rate", type=float, default=0.01, help="--dp-sample-rate q of the private runs")
    p.add_argument("--clip", type=float, default=1.0, help="--dp-clip C of the private runs")
    p.add_argument("--epsilons", type=float, nargs="+", default=[0.5, 1, 2, 8])
    p.add_argument("--repeats", type=int, default=3, help="runs per setting (also of the non-private one)")
    p.add_argument("--extra", default="", help="more `train lr` options for every run, e.g. \"--l1 5\"")
    p.add_argument("--dp-extra", default="", help="more options for the private runs only")
    a = p.parse_args()
    common = ["--train", a.train, "--test", a.test, "--hash-bits", str(a.hash_bits), "--epochs", str(a.epochs),
              "--algorithm", a.algorithm] + (["--format", a.format] if a.format else []) + shlex.split(a.extra)
    settings = [("non-private", [])]
    for e in a.epsilons:
        settings.append((f"ε = {e:g}", ["--dp-epsilon", str(e), "--dp-sample-rate", str(a.sample_rate),
                                         "--dp-clip", str(a.clip)] + shlex.split(a.dp_extra)))
    print(f"train {a.train}, test {a.test}: {a.algorithm}, --hash-bits {a.hash_bits}, --epochs {a.epochs}, "
          f"{a.extra or 'no other options'}; private: q = {a.sample_rate:g}, C = {a.clip:g}, δ = 1/n "
          f"{a.dp_extra}; {a.repeats} runs each")
    print("| run | σ | δ | steps | test AUC | AUC − non-private | test log-loss | wall s | train s | wall ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in settings:
            rs = [run(a.ecps, os.path.join(tmp, f"{len(name)}-{name}-{i}"), common + extra) for i in range(a.repeats)]
            aucs = [r["auc"] for r in rs]
            auc = statistics.mean(aucs)
            wall = statistics.median(r["wall"] for r in rs)
            train = statistics.median(r["train"] for r in rs)
            base = base or {"auc": auc, "wall": wall}
            pr = rs[0]["privacy"]
            sigma = f"{pr['noise_multiplier']:.3f}" if pr else "-"
            delta = f"{pr['delta']:.2g}" if pr else "-"
            steps = str(pr["steps"]) if pr else "-"
            spread = f" ({min(aucs):.4f}..{max(aucs):.4f})" if len(set(aucs)) > 1 else ""
            ll = statistics.mean(r["logloss"] for r in rs)
            print(f"| {name} | {sigma} | {delta} | {steps} | {auc:.4f}{spread} | {auc - base['auc']:+.4f} | {ll:.4f} "
                  f"| {wall:.2f} | {train:.2f} | {wall / base['wall']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
