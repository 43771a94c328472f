#!/usr/bin/env python3
"""Cost of k-means checkpoints: the same train kmeans run with and without --checkpoint-dir,
alternated --runs times; prints the median wall time and train_s of each, the checkpoint
writing time (on the scheduler's thread, beside the workers), the bytes of one checkpoint
against model.bin's, and whether the models are the same bytes.

  python3 bench/kmeans/checkpoint_overhead.py --ecps build/ecps --data users.csv \
      --features f0,f1,f2,f3,f4,f5,f6,f7 --k 16 --every 10 --runs 5
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time


def run(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecps", default="build/ecps")
    ap.add_argument("--data", required=True)
    ap.add_argument("--id-column", default="user")
    ap.add_argument("--features", required=True)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ecps-ckpt-bench-")
    base = [a.ecps, "train", "kmeans", "--data", a.data, "--id-column", a.id_column,
            "--features", a.features, "--k", str(a.k), "--seed", "7", "--quiet", "--local",
            "--workers", str(a.workers)]
    walls = {"plain": [], "checkpoints": []}
    train = {"plain": [], "checkpoints": []}
    writing = []
    same = True
    for _ in range(a.runs):
        for kind in ("plain", "checkpoints"):
            out, ck = os.path.join(tmp, kind), os.path.join(tmp, "ck")
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(ck, ignore_errors=True)
            extra = ["--checkpoint-dir", ck, "--checkpoint-every", str(a.every)] if kind == "checkpoints" else []
            walls[kind].append(run(base + ["--out", out] + extra))
            m = json.load(open(os.path.join(out, "metrics.json")))
            train[kind].append(m["timings"]["train_s"])
            if kind == "checkpoints":
                writing.append(m["checkpoints"]["seconds"] / max(1, m["checkpoints"]["written"]))
                written, last_bytes, iters = m["checkpoints"]["written"], m["checkpoints"]["last_bytes"], m["iterations"]
        with open(os.path.join(tmp, "plain", "model.bin"), "rb") as f1, \
                open(os.path.join(tmp, "checkpoints", "model.bin"), "rb") as f2:
            same = same and f1.read() == f2.read()
    model_bytes = os.path.getsize(os.path.join(tmp, "plain", "model.bin"))
    med = {k: statistics.median(v) for k, v in walls.items()}
    print(f"iterations {iters}, checkpoints per run {written} (every {a.every})")
    for k in walls:
        print(f"{k:12s} wall median {med[k]:.3f} s  train_s median {statistics.median(train[k]):.3f} s")
    print(f"overhead (wall) {100 * (med['checkpoints'] / med['plain'] - 1):+.1f}%")
    print(f"writing one checkpoint: median {1000 * statistics.median(writing):.1f} ms (scheduler thread)")
    print(f"one checkpoint {last_bytes} bytes; model.bin {model_bytes} bytes; models same bytes: {same}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
