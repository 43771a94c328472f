#!/usr/bin/env python3
"""Cost of DP-SGD against the non-private run for several ecps binaries, round by round.

Each round runs every binary twice, `ecps train lr --local` without and with --dp-epsilon
(the DP defaults otherwise), with the same files, epochs and --export-weights none (a
non-private run would otherwise name its weights in a second pass over the training file);
a change in the machine's load then affects all binaries alike. Prints, per binary, the medians
of the wall time of the whole process, its CPU time (user + sys) and the training time
(metrics.json), and the private run's ratios to the non-private run's.

  python3 bench/lr/dp_cost.py --ecps /tmp/base_ecps build/ecps --train /tmp/ctr_train.svm \\
      --test /tmp/ctr_test.svm --epochs 3 --repeats 3
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def run(ecps, out, flags):
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([ecps, "train", "lr", "--local", "-q", "--out", out] + flags, capture_output=True, text=True)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{ecps} failed ({p.returncode}): {p.stderr[-2000:]}")
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, m["train_seconds"], m["auc"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", nargs="+", required=True, help="the ecps binaries to compare")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3, help="rounds (each runs every binary once each way)")
    a = ap.parse_args()
    base = ["--train", a.train, "--test", a.test, "--epochs", str(a.epochs), "--export-weights", "none"]
    runs = {}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(a.repeats):
            for b in a.ecps:
                for dp in (False, True):
                    flags = base + (["--dp-epsilon", str(a.epsilon)] if dp else [])
                    runs.setdefault((b, dp), []).append(run(b, os.path.join(work, "o"), flags))
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"{a.repeats} rounds, medians; load average at the end {' '.join(load)}")
    print("| binary | non-private wall / CPU / training | ε = %g wall / CPU / training | AUC (non-private, private) "
          "| wall ratio | CPU ratio |" % a.epsilon)
    print("| --- | --- | --- | --- | --- | --- |")
    for b in a.ecps:
        med = {dp: [statistics.median(r[i] for r in runs[(b, dp)]) for i in range(4)] for dp in (False, True)}
        n, p = med[False], med[True]
        print(f"| {b} | {n[0]:.2f} s / {n[1]:.2f} s / {n[2]:.2f} s | {p[0]:.2f} s / {p[1]:.2f} s / {p[2]:.2f} s "
              f"| {n[3]:.4f}, {p[3]:.4f} | {p[0] / n[0]:.2f} | {p[1] / n[1]:.2f} |")
    for (b, dp), rs in runs.items():
        print(f"  {b} {'private' if dp else 'non-private'}: wall / CPU " +
              ", ".join(f"{r[0]:.2f} / {r[1]:.2f}" for r in rs))


if __name__ == "__main__":
    main()
