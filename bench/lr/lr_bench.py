#!/usr/bin/python3
"""ecps train lr against liblinear (train -s 0), side by side.

Quality: ipinyou-ctr (train -> test) and online-shoppers-intention (seeded 80/20 split),
ecps with its defaults against liblinear's L2 logistic regression at its best C (by test
AUC) on the same features. Speed: a seeded synthetic CTR set (bench/lr/lr_gen_ctr),
wall time of `ecps train lr` (1 and 2 workers, median of --runs) against liblinear's
`train -s 0` (C=1) on the same files, test log-loss of both, ratio, non-zeros/s per worker
and peak RSS per process (/usr/bin/time -v; under mpirun one figure per rank).

Run with Debian's python (numpy, scikit-learn): /usr/bin/python3 bench/lr/lr_bench.py
"""
import argparse
import csv
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, [peak RSS MiB per process], stdout)."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rss = [int(m) / 1024 for m in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)]
    return wall, rss, p.stdout


def labels_of(path, label_col=None):
    if label_col is None:
        return np.array([1 if l.split(None, 1)[0] in ("1", "+1") else 0 for l in open(path) if l.strip()])
    with open(path, newline="") as f:
        return np.array([1 if r[label_col].strip().lower() in ("1", "true") else 0 for r in csv.DictReader(f)])


def liblinear(train, test, c, y_test, workdir, extra=()):
    model = os.path.join(workdir, "ll.model")
    pred = os.path.join(workdir, "ll.pred")
    wall, rss, _ = run(["liblinear-train", "-s", "0", "-c", str(c), "-q", *extra, train, model])
    subprocess.run(["liblinear-predict", "-b", "1", test, model, pred], check=True, capture_output=True)
    lines = open(pred).read().split("\n")
    col = lines[0].split().index("1")
    p = np.array([float(l.split()[col]) for l in lines[1:] if l])
    return {"auc": roc_auc_score(y_test, p), "logloss": log_loss(y_test, p), "seconds": wall, "rss": rss}


def ecps(args, out, *flags, mpi_ranks=0):
    cmd = [args.ecps, "train", "lr", *flags, "--out", out, "-q"]
    if not mpi_ranks:
        wall, rss, _ = run(cmd)
    else:
        # Each rank under its own /usr/bin/time, writing to rss.<rank>: peak RSS per role.
        os.makedirs(out, exist_ok=True)
        inner = " ".join(shlex.quote(c) for c in cmd)
        rank_cmd = f"exec /usr/bin/time -v -o {shlex.quote(out)}/rss.$OMPI_COMM_WORLD_RANK {inner}"
        env = dict(os.environ, OMPI_MCA_pml="ob1")
        t0 = time.monotonic()
        p = subprocess.run(["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(mpi_ranks), "sh", "-c",
                            rank_cmd], capture_output=True, text=True, env=env)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit(f"mpirun failed: {p.stderr[-3000:]}")
        rss = []
        for r in range(mpi_ranks):
            text = open(os.path.join(out, f"rss.{r}")).read()
            rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024)
    m = json.load(open(os.path.join(out, "metrics.json")))
    return {"auc": m["auc"], "logloss": m["logloss"], "seconds": wall, "rss": rss, "m": m}


def best_c(train, test, y, workdir, cs, extra=()):
    rows = [(c, liblinear(train, test, c, y, workdir, extra)) for c in cs]
    for c, r in rows:
        print(f"    liblinear -s 0 -c {c:<5}: test auc {r['auc']:.4f}  logloss {r['logloss']:.5f}  ({r['seconds']:.2f} s)")
    return max(rows, key=lambda cr: cr[1]["auc"])


def verdict(e, l):
    d = e["auc"] - l["auc"]
    return f"ecps - liblinear = {d:+.4f} AUC -> {'PASS' if d >= -0.005 else 'FAIL'} (bar: >= -0.005)"


def bench_ipinyou(args, work):
    d = os.path.join(args.data, "ipinyou-ctr")
    train, test = os.path.join(d, "train.fm.txt"), os.path.join(d, "test.fm.txt")
    y = labels_of(test)
    print("== ipinyou-ctr: train.fm.txt -> test.fm.txt (26,773 / 21,150 rows, 16 one-hot fields)")
    e = ecps(args, os.path.join(work, "ipinyou"), "--train", train, "--test", test, "--featindex",
             os.path.join(d, "featindex.fm.txt"))
    c, l = best_c(train, test, y, work, [0.01, 0.03, 0.1, 0.3, 1, 3, 10], ["-B", "1"])
    print(f"  ecps (defaults)       : test auc {e['auc']:.4f}  logloss {e['logloss']:.5f}  ({e['seconds']:.2f} s)")
    print(f"  liblinear best C={c:<5}: test auc {l['auc']:.4f}  logloss {l['logloss']:.5f}")
    print("  " + verdict(e, l))


def split_shoppers(path, work, seed, frac=0.8):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    order = np.random.RandomState(seed).permutation(len(rows))
    cut = int(round(frac * len(rows)))
    files = {}
    for name, idx in (("train", order[:cut]), ("test", order[cut:])):
        files[name] = os.path.join(work, f"shoppers_{name}.csv")
        with open(files[name], "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows[i] for i in sorted(idx))
    return files["train"], files["test"]


def encode_for_liblinear(train_csv, test_csv, label, numeric, categorical, work, log=True, tag=""):
    """The features ecps builds by default: numeric columns z-scored with the training mean and
    deviation, after log1p for columns that are never negative in training (log=False: plain
    z-scores, ecps --no-log-transform); categoricals one-hot."""
    def read(p):
        with open(p, newline="") as f:
            return list(csv.DictReader(f))
    tr, te = read(train_csv), read(test_csv)
    stats = {}
    for c in numeric:
        v = np.array([float(r[c]) for r in tr if r[c].strip()])
        t = np.log1p if log and v.min() >= 0 else (lambda x: x)
        v = t(v)
        stats[c] = (t, v.mean(), v.std() if v.std() > 0 else 1.0)
    index = {}
    for r in tr:
        for c in categorical:
            index.setdefault((c, r[c].strip()), len(numeric) + 1 + len(index))
    out = []
    for name, data in (("train", tr), ("test", te)):
        p = os.path.join(work, f"shoppers_{name}{tag}.svm")
        with open(p, "w") as f:
            for r in data:
                y = 1 if r[label].strip().lower() in ("1", "true") else 0
                feats = {}
                for j, c in enumerate(numeric):
                    if r[c].strip():
                        t, mean, sd = stats[c]
                        feats[j + 1] = (t(max(float(r[c]), 0.0) if t is np.log1p else float(r[c])) - mean) / sd
                for c in categorical:
                    k = index.get((c, r[c].strip()))
                    if k is not None:
                        feats[k] = 1
                f.write(str(y) + "".join(f" {k}:{v:.6g}" for k, v in sorted(feats.items())) + "\n")
        out.append(p)
    return out


def bench_shoppers(args, work):
    path = os.path.join(args.data, "online-shoppers-intention", "online_shoppers_intention.csv")
    train, test = split_shoppers(path, work, args.seed)
    y = labels_of(test, "Revenue")
    print(f"== online-shoppers-intention: seeded 80/20 split (numpy seed {args.seed}), label Revenue")
    e = ecps(args, os.path.join(work, "shoppers"), "--train", train, "--test", test, "--format", "csv",
             "--label-column", "Revenue")
    # The columns ecps inferred (numbers vs categories) are given to liblinear's encoding.
    numeric, categorical = [], []
    with open(train, newline="") as f:
        rows = list(csv.DictReader(f))
    for c in rows[0].keys():
        if c == "Revenue":
            continue
        vals = [r[c].strip() for r in rows[:1000] if r[c].strip()]
        try:
            [float(v) for v in vals]
            numeric.append(c)
        except ValueError:
            categorical.append(c)
    cs = [0.001, 0.01, 0.1, 1, 10, 100]
    print(f"  features: {len(numeric)} numeric (log1p when never negative, then z-scored), "
          f"{len(categorical)} categorical one-hot: {', '.join(categorical)}")
    svm_train, svm_test = encode_for_liblinear(train, test, "Revenue", numeric, categorical, work)
    c, l = best_c(svm_train, svm_test, y, work, cs, ["-B", "1"])
    print(f"  ecps (defaults)       : test auc {e['auc']:.4f}  logloss {e['logloss']:.5f}  ({e['seconds']:.2f} s)")
    print(f"  liblinear best C={c:<5}: test auc {l['auc']:.4f}  logloss {l['logloss']:.5f}")
    print("  " + verdict(e, l))
    print("  for reference, plain z-scores (no log1p) for both:")
    e2 = ecps(args, os.path.join(work, "shoppers_nolog"), "--train", train, "--test", test, "--format", "csv",
              "--label-column", "Revenue", "--no-log-transform")
    svm_train, svm_test = encode_for_liblinear(train, test, "Revenue", numeric, categorical, work, log=False, tag="_nolog")
    c2, l2 = best_c(svm_train, svm_test, y, work, cs, ["-B", "1"])
    print(f"  ecps --no-log-transform: test auc {e2['auc']:.4f}  logloss {e2['logloss']:.5f}")
    print(f"  liblinear best C={c2:<5}: test auc {l2['auc']:.4f}  logloss {l2['logloss']:.5f}")
    print("  " + verdict(e2, l2))


def bench_synthetic(args, work):
    train = os.path.join(work, f"ctr_{args.rows}.svm")
    test = os.path.join(work, f"ctr_{args.rows}_test.svm")
    if not (os.path.exists(train) and os.path.exists(test)):
        subprocess.run([args.gen, "--rows", str(args.rows), "--test-rows", str(args.rows // 4), "--out-train", train,
                        "--out-test", test], check=True)
    size = os.path.getsize(train) / 2**20
    print(f"== synthetic CTR: {args.rows:,} training rows x 39 one-hot fields ({size:.0f} MiB), "
          f"{args.rows // 4:,} test rows (lr_gen_ctr, seed 42)")
    y = labels_of(test)
    lls = [liblinear(train, test, 1, y, work) for _ in range(args.liblinear_runs)]
    l_s = statistics.median(r["seconds"] for r in lls)
    l = lls[0]
    print(f"  liblinear -s 0 -c 1   : test logloss {l['logloss']:.5f}  auc {l['auc']:.4f}  "
          f"{l_s:.2f} s (median of {len(lls)})  peak RSS {l['rss'][0]:.0f} MiB")
    flags = ["--train", train, "--test", test] + args.speed_flags.split()
    for workers in (1, 2):
        rs = [ecps(args, os.path.join(work, f"syn_w{workers}"), *flags, "--local", "--servers", "1",
                   "--workers", str(workers)) for _ in range(args.runs)]
        s = statistics.median(r["seconds"] for r in rs)
        e = rs[0]
        nnz = ", ".join(f"{v / 1e6:.0f}M" for v in e["m"]["nnz_per_s_per_worker"])
        ok = abs(e["logloss"] - l["logloss"]) <= 0.002 or e["logloss"] < l["logloss"]
        print(f"  ecps {workers} worker(s) (local): test logloss {e['logloss']:.5f} ({'within 0.002 or better' if ok else 'WORSE'})"
              f"  auc {e['auc']:.4f}  {s:.2f} s (median of {len(rs)}) = {s / l_s:.3f} x liblinear"
              f"  [{'PASS' if ok and s <= l_s / 5 else 'FAIL'}: bar 0.2]")
        print(f"      load {e['m']['load_seconds']:.2f} s, train {e['m']['train_seconds']:.2f} s, "
              f"non-zeros/s per worker (gradient): {nnz} (reference: ~500M/s/core); peak RSS {e['rss'][0]:.0f} MiB")
    if shutil.which("mpirun") and args.mpi:
        for ranks in (3, 4):
            e = ecps(args, os.path.join(work, f"syn_mpi{ranks}"), *flags, "--servers", "1", mpi_ranks=ranks)
            roles = ["scheduler", "server"] + [f"worker {w}" for w in range(ranks - 2)]
            rss = ", ".join(f"{r} {v:.0f}" for r, v in zip(roles, e["rss"]))
            print(f"  ecps mpirun -np {ranks} ({ranks - 2} worker(s)): test logloss {e['logloss']:.5f}  {e['seconds']:.2f} s"
                  f" = {e['seconds'] / l_s:.3f} x liblinear; peak RSS MiB per rank: {rss}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--gen", default=os.path.join(ROOT, "build", "bench", "lr", "lr_gen_ctr"))
    ap.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    ap.add_argument("--work", default="/tmp/ecps_lr_bench")
    ap.add_argument("--only", default="ipinyou,shoppers,synthetic")
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3, help="ecps runs per timing (median)")
    ap.add_argument("--liblinear-runs", type=int, default=1)
    ap.add_argument("--speed-flags", default="--epochs 1 --export-weights none",
                    help="ecps flags for the synthetic speed run (besides files and roles)")
    ap.add_argument("--mpi", action="store_true", help="also run the synthetic set under mpirun (RSS per rank)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    only = args.only.split(",")
    for name, fn in (("ipinyou", bench_ipinyou), ("shoppers", bench_shoppers), ("synthetic", bench_synthetic)):
        if name in only:
            fn(args, args.work)


if __name__ == "__main__":
    main()
