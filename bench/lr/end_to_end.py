#!/usr/bin/python3
"""Whole-command benchmark: `ecps train lr` as a user runs it against liblinear (issue 16, point 3).

ecps: `ecps train lr --train T --test E --out D --local -q`, otherwise its defaults (3 epochs,
2 workers, FTRL, model.bin and the weight exports written); the --test file is read and
scored inside the timed command, which liblinear's timing does not include.
liblinear: `liblinear-train -s 0 -c 1 -q T model` (Debian liblinear-tools; parse + train,
L2-regularised logistic regression run to its own stopping rule). Both as processes: wall
time and peak RSS from /usr/bin/time. Rounds alternate which runs first; medians of --runs
rounds; the ratio ecps / liblinear beside the goal (<= 0.07x); test AUC and log-loss of both
(liblinear-predict -b 1 once, outside the timings); ecps's breakdown from metrics.json.

The data set is bench/lr/lr_gen_ctr's (seeded synthetic CTR, 39 one-hot fields), written to
--work when missing.

  /usr/bin/python3 bench/lr/end_to_end.py                     # 2M training rows, 3 rounds
  /usr/bin/python3 bench/lr/end_to_end.py --rows 100000 --runs 2   # a quick check
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from lr_bench import labels_of, run  # noqa: E402  (run: wall seconds, [peak RSS MiB], stdout)

GOAL_TIME = 0.07


def make_data(a):
    train = os.path.join(a.work, f"ctr_{a.rows}.svm")
    test = os.path.join(a.work, f"ctr_{a.rows}_test.svm")
    if not (os.path.exists(train) and os.path.exists(test)):
        print(f"== generating {train} and {test}")
        subprocess.run([a.gen, "--rows", str(a.rows), "--test-rows", str(a.rows // 4), "--out-train", train,
                        "--out-test", test], check=True)
    return train, test


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--gen", default=os.path.join(ROOT, "build", "bench", "lr", "lr_gen_ctr"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "ecps_lr_bench"),
                    help="folder of the generated files (kept for later runs)")
    ap.add_argument("--rows", type=int, default=2_000_000, help="training rows (test rows: a quarter of it)")
    ap.add_argument("--runs", type=int, default=3, help="rounds (one run of each per round); medians")
    ap.add_argument("--solver", default="0", help="liblinear -s: 0 (L2 LR, primal) or 6 (L1 LR)")
    ap.add_argument("-c", default="1", help="liblinear -c")
    ap.add_argument("--ecps-flags", default="", help="extra ecps flags (e.g. '--epochs 1 --workers 1')")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    train, test = make_data(a)
    ll_cmd = ["liblinear-train", "-s", a.solver, "-c", a.c, "-q", train]
    print(f"== train lr, whole command, {train} ({os.path.getsize(train) / 2**20:.0f} MiB, {a.rows:,} rows); "
          f"{a.runs} rounds, alternating order; load average {os.getloadavg()[0]:.2f} at the start")
    e_wall, e_rss, e_m, l_wall, l_rss = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="ecps_lr_e2e_") as tmp:
        model = os.path.join(tmp, "ll.model")
        out = os.path.join(tmp, "out")
        ecps_cmd = [a.ecps, "train", "lr", "--train", train, "--test", test, "--out", out, "--local", "-q",
                    *a.ecps_flags.split()]
        for r in range(a.runs):
            for who in (("ecps", "liblinear") if r % 2 == 0 else ("liblinear", "ecps")):
                if who == "ecps":
                    wall, rss, _ = run(ecps_cmd)
                    e_wall.append(wall), e_rss.append(rss[0])
                    with open(os.path.join(out, "metrics.json")) as f:
                        e_m.append(json.load(f))
                else:
                    wall, rss, _ = run(ll_cmd + [model])
                    l_wall.append(wall), l_rss.append(rss[0])
            print(f"  round {r + 1}: ecps {e_wall[-1]:.2f} s {e_rss[-1]:.0f} MiB, liblinear {l_wall[-1]:.2f} s "
                  f"{l_rss[-1]:.0f} MiB (ratio {e_wall[-1] / l_wall[-1]:.3f}); load average {os.getloadavg()[0]:.2f}")
        y = labels_of(test)
        pred = os.path.join(tmp, "ll.pred")
        subprocess.run(["liblinear-predict", "-b", "1", test, model, pred], check=True, capture_output=True)
        with open(pred) as f:
            lines = f.read().split("\n")
        col = lines[0].split().index("1")
        p = np.array([float(line.split()[col]) for line in lines[1:] if line])
    med = statistics.median
    ew, sw = med(e_wall), med(l_wall)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"  {'median of ' + str(a.runs):<44} {'wall s':>7} {'peak MiB':>9} {'test AUC':>9} {'logloss':>8}")
    print(f"  {'liblinear -s ' + a.solver + ' -c ' + a.c + ' (parse + train)':<44} {sw:>7.2f} {med(l_rss):>9.0f} "
          f"{roc_auc_score(y, p):>9.4f} {log_loss(y, p):>8.5f}")
    m = e_m[0]
    label = f"ecps train lr ({m['epochs']} epoch(s), {m['roles']['workers']} workers, --test)"
    print(f"  {label:<44} {ew:>7.2f} {med(e_rss):>9.0f} {m['auc']:>9.4f} {m['logloss']:>8.5f}")
    print(f"  ecps / liblinear: time {ew / sw:.3f} (goal <= {GOAL_TIME}: {'met' if ew / sw <= GOAL_TIME else 'NOT met'}); "
          f"median of the rounds' own ratios (paired, same load) {med(e / s for e, s in zip(e_wall, l_wall)):.3f}")
    print("  ecps breakdown (metrics.json, medians): " +
          ", ".join(f"{k} {med(x[k] for x in e_m):.2f}" for k in ("load_seconds", "train_seconds", "write_seconds", "total_seconds")) +
          f"; non-zeros/s per worker {', '.join(f'{v / 1e6:.0f}M' for v in m['nnz_per_s_per_worker'])}")


if __name__ == "__main__":
    main()
