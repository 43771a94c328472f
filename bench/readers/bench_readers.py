#!/usr/bin/python3
"""Each reader of worker/ alone, in MB/s, beside the disk cache's speed in the same run.

Files (seeded, made once in --work):
  features      1M users x 8 features, 2 decimals (the k-means benchmark's CSV)
  libsvm        bench/lr/lr_gen_ctr's 2M-row CTR set (39 one-hot fields)
  libffm        the same rows as field:idx:value
  csv           the features file read by LR's CSV reader (label: the last column)
  interactions  bench/cf/make_synthetic.py's 5M `user item` lines (100k users x 20k items)
  interactions_csv  the same lines as `user,item`
  attributes    200k items x 4 attributes, some quoted fields with commas, quotes and newlines
Peers, per file: `cat FILE > /dev/null` and `wc -l FILE` (both the page cache's speed, the bar
of issue 16), and Python's csv module for the CSV files. Median of --runs runs each (then of
--rounds rounds, in which ecps and --baseline run alternately). ecps's
readers are given as MB per wall-clock second and per CPU-second of the process (all its
threads: the rate per core, which other work on the machine changes less); --baseline names a
readers_bench built from an earlier commit, run in the same round (before/after).

  /usr/bin/python3 bench/readers/bench_readers.py --threads 1
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def features_file(work):
    path = os.path.join(work, "users1000000x8.csv")
    if not os.path.exists(path):
        rng = np.random.default_rng(7)
        n, d, k = 1_000_000, 8, 16
        centres = rng.uniform(1, 9, (k, d))
        x = np.clip(centres[rng.integers(0, k, n)] + rng.normal(0, 1.0, (n, d)), 0, 9.99)
        with open(path + ".tmp", "w") as f:
            f.write("user," + ",".join(f"f{j}" for j in range(d)) + "\n")
            ids = np.char.add("u", np.arange(n).astype(str))
            np.savetxt(f, np.column_stack([ids, np.char.mod("%.2f", x)]), fmt="%s", delimiter=",")
        os.replace(path + ".tmp", path)
    return path


def libsvm_files(work, gen):
    svm = os.path.join(work, "ctr_2000000.svm")
    ffm = os.path.join(work, "ctr_2000000.ffm")
    if not os.path.exists(svm):
        subprocess.run([gen, "--rows", "2000000", "--out-train", svm + ".tmp"], check=True)
        os.replace(svm + ".tmp", svm)
    if not os.path.exists(ffm):
        with open(svm) as src, open(ffm + ".tmp", "w") as out:
            for line in src:
                t = line.split()
                out.write(" ".join([t[0]] + [f"{j}:{tok}" for j, tok in enumerate(t[1:])]) + "\n")
        os.replace(ffm + ".tmp", ffm)
    return svm, ffm


def interactions_file(work):
    path = os.path.join(work, "interactions_5000000.txt")
    if not os.path.exists(path):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "cf", "make_synthetic.py"), "--out",
                        path + ".tmp"], check=True)
        os.replace(path + ".tmp", path)
    return path


def interactions_csv_file(work):
    path = os.path.join(work, "interactions_5000000.csv")
    if not os.path.exists(path):
        with open(interactions_file(work)) as src, open(path + ".tmp", "w") as out:
            for line in src:
                out.write(line.replace(" ", ","))
        os.replace(path + ".tmp", path)
    return path


def attributes_file(work):
    path = os.path.join(work, "attributes_200000.csv")
    if not os.path.exists(path):
        rng = np.random.default_rng(11)
        brands = ["acme", "globex", "initech", "umbrella", '"Big" Co, Ltd', "multi\nline"]
        with open(path + ".tmp", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["item", "brand", "price", "colour", "note"])
            for i in range(200_000):
                w.writerow([f"sku-{i}", brands[rng.integers(0, len(brands))], f"{rng.uniform(1, 500):.2f}",
                            ["red", "green", "blue"][rng.integers(0, 3)],
                            "plain" if rng.random() < 0.9 else "says \"hi\", twice\nand more"])
        os.replace(path + ".tmp", path)
    return path


def timed(cmd, runs, stdout=subprocess.DEVNULL):
    times = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=stdout, shell=isinstance(cmd, str))
        times.append(time.perf_counter() - t0)
    return sorted(times[1:])[runs // 2]


def python_csv(path, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        with open(path, newline="") as f:
            for _row in csv.reader(f):
                pass
        times.append(time.perf_counter() - t0)
    return sorted(times)[runs // 2]


def median_round(results):
    """The median rate and rate per CPU-second over rounds of one reader (text: '-' or '')."""
    def med(i):
        vals = [float(r[i]) for r in results if r[i] not in ("", "-")]
        return f"{sorted(vals)[len(vals) // 2]:.0f}" if vals else results[0][i]
    return med(0), med(1), results[0][2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "bench", "readers", "readers_bench"))
    ap.add_argument("--gen", default=os.path.join(ROOT, "build", "bench", "lr", "lr_gen_ctr"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "ecps_readers_bench"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated kinds to run (default: all)")
    ap.add_argument("--baseline", default="", help="a readers_bench built from an earlier commit")
    ap.add_argument("--rounds", type=int, default=1,
                    help="rounds of (ecps, baseline) run alternately; the medians over rounds are shown "
                         "(on a shared machine both then see the same load)")
    ap.add_argument("--no-python", action="store_true", help="skip the Python csv peer (slow)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    svm, ffm = libsvm_files(a.work, a.gen)
    files = {"features": features_file(a.work), "csv": features_file(a.work), "libsvm": svm, "libffm": ffm,
             "interactions": interactions_file(a.work), "interactions_csv": interactions_csv_file(a.work),
             "attributes": attributes_file(a.work)}
    reader = {"interactions_csv": "interactions"}  # the --kind of a file that is not its own kind
    kinds = [k for k in files if not a.only or k in a.only.split(",")]
    print(f"== readers, {a.runs} runs each (medians) x {a.rounds} round(s), {a.threads} thread(s); "
          f"load average {os.getloadavg()[0]:.2f} at the start; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'reader':<13} {'MB':>6} {'ecps MB/s':>10} {'per CPU-s':>10} {'before':>8} {'before/CPU-s':>13}"
          f" {'lines MB/s':>11} {'cat MB/s':>9} {'wc -l MB/s':>11} {'py csv MB/s':>12}  checksum")
    for kind in kinds:
        path = files[kind]
        mb = os.path.getsize(path) / 1e6
        def measure(binary):
            out = subprocess.run([binary, "--kind", reader.get(kind, kind), "--file", path, "--runs", str(a.runs), "--threads",
                                  str(a.threads)], capture_output=True, text=True)
            if out.returncode != 0:  # e.g. a reader that refuses quoted line breaks
                return "-", "-", "refused"
            text = out.stdout
            return (f"{float(text.split('median=')[1].split()[0]):.0f}", f"{float(text.split('cpu=')[1].split()[0]):.0f}",
                    text.split("checksum=")[1].strip())
        rounds = []  # (after, before) measured alternately, so that both see the same load
        for _ in range(a.rounds):
            rounds.append((measure(a.bench), measure(a.baseline) if a.baseline else ("", "", "")))
        rate, cpu, check = median_round([r[0] for r in rounds])
        before, before_cpu, before_check = median_round([r[1] for r in rounds])
        if before_check and before_check != check:
            check += f" (before: {before_check})"
        lines = subprocess.run([a.bench, "--kind", "lines", "--file", path, "--runs", str(a.runs)], check=True,
                               capture_output=True, text=True).stdout
        lines_rate = float(lines.split("median=")[1].split()[0])
        cat = mb / timed(f"cat '{path}' > /dev/null", a.runs)
        wc = mb / timed(["wc", "-l", path], a.runs)
        py = ""
        if path.endswith(".csv") and not a.no_python:
            py = f"{mb / python_csv(path, max(1, a.runs // 2)):.0f}"
        print(f"{kind:<13} {mb:6.0f} {rate:>10} {cpu:>10} {before:>8} {before_cpu:>13} {lines_rate:11.0f} {cat:9.0f}"
              f" {wc:11.0f} {py:>12}  {check}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
