#!/usr/bin/env python3
"""Cost of CF checkpoints: the same train itemcf|usercf run with and without --checkpoint-dir,
alternated --runs times; prints the median wall time and similarity_s of each, the time spent
writing checkpoints (on the scheduler, while the workers go on), the scheduler's wait for the
workers' neighbour slices (the last checkpoint's while the workers wait for it), the load
average before and after, the bytes of one checkpoint against model.ecps's, and whether the
outputs are the same bytes.

  python3 bench/cf/checkpoint_overhead.py --ecps build/ecps --kind itemcf \
      --train ../shared/data/amazon-videogames-sasrec/Video.txt --runs 5 \
      --extra "--split leave-last-out"
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

OUTPUTS = ("model.ecps", "neighbors.csv", "recommendations.csv", "metrics.jsonl")


def run(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecps", default="build/ecps")
    ap.add_argument("--kind", default="itemcf", choices=("itemcf", "usercf"))
    ap.add_argument("--train", required=True)
    ap.add_argument("--every", default="10", help="--checkpoint-every (default: the default, 10)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--extra", default="", help="more train options, one shell string")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ecps-cf-ckpt-bench-")
    base = [a.ecps, "train", a.kind, "--train", a.train, "--quiet", "--local",
            "--workers", str(a.workers)] + shlex.split(a.extra)
    walls = {"plain": [], "checkpoints": []}
    similarity = {"plain": [], "checkpoints": []}
    writing, waiting, same = [], [], True
    load_before = os.getloadavg()
    for _ in range(a.runs):
        for kind in ("plain", "checkpoints"):
            out, ck = os.path.join(tmp, kind), os.path.join(tmp, "ck")
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(ck, ignore_errors=True)
            extra = ["--checkpoint-dir", ck, "--checkpoint-every", a.every] if kind == "checkpoints" else []
            walls[kind].append(run(base + ["--out", out] + extra))
            m = json.load(open(os.path.join(out, "metrics.json")))
            similarity[kind].append(m["timings"]["similarity_s"])
            if kind == "checkpoints":
                c = m["checkpoints"]
                writing.append(c["seconds"])
                waiting.append(c["wait_s"])
                written, last_bytes = c["written"], c["last_bytes"]
        for f in OUTPUTS:
            same = same and read(os.path.join(tmp, "plain", f)) == read(os.path.join(tmp, "checkpoints", f))
    model_bytes = os.path.getsize(os.path.join(tmp, "plain", "model.ecps"))
    med = {k: statistics.median(v) for k, v in walls.items()}
    print(f"{a.kind} {a.train} {a.extra}: checkpoints per run {written} (--checkpoint-every {a.every})")
    for k in walls:
        print(f"{k:12s} wall median {med[k]:.3f} s  similarity_s median "
              f"{statistics.median(similarity[k]):.3f} s")
    print(f"overhead (wall) {100 * (med['checkpoints'] / med['plain'] - 1):+.1f}%")
    print(f"writing checkpoints: median {statistics.median(writing):.3f} s per run (scheduler)")
    print(f"waiting for the slices: median {statistics.median(waiting):.3f} s per run (scheduler)")
    print("load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
        *load_before, *os.getloadavg()))
    print(f"last checkpoint {last_bytes} bytes; model.ecps {model_bytes} bytes "
          f"({last_bytes / model_bytes:.2f}x); outputs same bytes: {same}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
