#!/usr/bin/env python3
"""Cost of train lr checkpoints: the same run with and without --checkpoint-dir (at the
default --checkpoint-every unless --every is given), alternated --runs times; prints the
median wall time and train_seconds of each, the time the workers waited for checkpoints and
the scheduler's writing time, the bytes of one checkpoint against model.bin's, and whether
the models are the same bytes.

  build/bench/lr/lr_gen_ctr --rows 2000000 --test-rows 500000 --out-train /tmp/ctr_train.svm \
      --out-test /tmp/ctr_test.svm
  python3 bench/lr/checkpoint_overhead.py --ecps build/ecps --train /tmp/ctr_train.svm \
      --test /tmp/ctr_test.svm --runs 5
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
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecps", default="build/ecps")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--every", default=None, help="--checkpoint-every (default: the command's)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tmp", default=None, help="folder for outputs and checkpoints")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ecps-lr-ckpt-bench-", dir=a.tmp)
    base = [a.ecps, "train", "lr", "--train", a.train, "--test", a.test, "--quiet", "--local",
            "--workers", str(a.workers), "--export-weights", "none"]
    walls = {"plain": [], "checkpoints": []}
    train = {"plain": [], "checkpoints": []}
    waits, writing = [], []
    same = True
    for _ in range(a.runs):
        for kind in ("plain", "checkpoints"):
            out, ck = os.path.join(tmp, kind), os.path.join(tmp, "ck")
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(ck, ignore_errors=True)
            extra = []
            if kind == "checkpoints":
                extra = ["--checkpoint-dir", ck] + (["--checkpoint-every", a.every] if a.every else [])
            walls[kind].append(run(base + ["--out", out] + extra))
            m = json.load(open(os.path.join(out, "metrics.json")))
            train[kind].append(m["train_seconds"])
            if kind == "checkpoints":
                c = m["checkpoints"]
                written, last_bytes = c["written"], c["last_bytes"]
                waits.append(c["wait_seconds"] / max(1, written))
                writing.append(c["seconds"] / max(1, written))
                clocks = m["epochs"] * m["batches_per_epoch"]
        with open(os.path.join(tmp, "plain", "model.bin"), "rb") as f1, \
                open(os.path.join(tmp, "checkpoints", "model.bin"), "rb") as f2:
            same = same and f1.read() == f2.read()
    model_bytes = os.path.getsize(os.path.join(tmp, "plain", "model.bin"))
    med = {k: statistics.median(v) for k, v in walls.items()}
    tmed = {k: statistics.median(v) for k, v in train.items()}
    print(f"clocks {clocks}, checkpoints per run {written} (every {a.every or 'default'}), {a.runs} runs each")
    for k in walls:
        print(f"{k:12s} wall median {med[k]:.3f} s  train_seconds median {tmed[k]:.3f} s  "
              f"(all: {', '.join(f'{x:.2f}' for x in walls[k])})")
    print(f"overhead: wall {100 * (med['checkpoints'] / med['plain'] - 1):+.1f}%, "
          f"train_seconds {100 * (tmed['checkpoints'] / tmed['plain'] - 1):+.1f}%")
    print(f"per checkpoint: workers wait median {1000 * statistics.median(waits):.1f} ms, "
          f"wait + writing median {1000 * statistics.median(writing):.1f} ms")
    print(f"one checkpoint {last_bytes} bytes; model.bin {model_bytes} bytes; models same bytes: {same}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
