#!/usr/bin/python3
"""Whole commands side by side: `ecps train kmeans` against scikit-learn's and faiss's read + fit.

Run with Debian's python (numpy, scikit-learn): /usr/bin/python3 bench/kmeans/end_to_end.py

Data: a seeded synthetic CSV of --users users x 8 features (16 planted clusters, values with 2
decimals; 1M users = 48 MB), made once in --work. Both fit k = 16 clusters with k-means++
seeding, at most 20 Lloyd iterations, tol 0, the raw features (ecps --normalize none), each
with its default threads (ecps: 1 worker x all cores; scikit-learn: OpenMP over all cores).

ecps: the wall time of `ecps train kmeans ... --local --workers 1` (process start to exit,
outputs written: assignments.csv, profiles, model.bin, metrics.json with the silhouette of a
5000-user sample). scikit-learn: the wall time of a python3 process that imports numpy and
scikit-learn, reads the CSV (pandas.read_csv if pandas is installed, else numpy.loadtxt; the
line says which) and runs KMeans(16, n_init=1, max_iter=20, tol=0).fit. faiss (Debian
python3-faiss, CPU; skipped when not installed): the same process with the same reader, then
faiss.Kmeans(8, 16, niter=20) on the points as float32, every point used
(max_points_per_centroid above n / k), OpenMP over all cores as faiss's default (faiss has no
k-means++: its seeding is k points drawn at random). Both peers run with OMP_WAIT_POLICY
passive (--omp-wait-policy) and --blas-dir's BLAS. Runs alternate (ecps, sklearn, faiss,
ecps, ...); medians of --runs each; the ratios are ecps / sklearn and ecps / faiss.

Twice: on a quiet machine, then under load (--load yes: two `yes > /dev/null` processes, one
per core, started and stopped by this script). ecps's breakdown (metrics.json "breakdown")
is printed beside: read, normalize, seed, iterate, final assignment, quality, write; and the
seeding time (k-means++ and k-means||) in Lloyd iterations of the same run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# A peer's process: imports (IMPORTS), then the CSV read into x, timed; FIT follows.
READ = r"""
import sys, time
t0 = time.perf_counter()
import numpy as np
IMPORTS
try:
    import pandas as pd
    reader = "pandas.read_csv"
except ImportError:
    pd = None
    reader = "numpy.loadtxt"
path, d = sys.argv[1], int(sys.argv[2])
t1 = time.perf_counter()
if pd is not None:
    x = pd.read_csv(path, usecols=[f"f{j}" for j in range(d)]).to_numpy()
else:
    x = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, d + 1))
t2 = time.perf_counter()
"""

SKLEARN = READ.replace("IMPORTS", "from sklearn.cluster import KMeans") + r"""
km = KMeans(16, init="k-means++", n_init=1, max_iter=20, tol=0, algorithm="lloyd",
            random_state=0).fit(x)
t3 = time.perf_counter()
print(reader, t2 - t1, t3 - t2, km.n_iter_)
"""

# faiss's fit includes the copy to float32 (faiss takes no float64).
FAISS = READ.replace("IMPORTS", "import faiss") + r"""
x = np.ascontiguousarray(x, dtype=np.float32)
km = faiss.Kmeans(d, 16, niter=20, seed=1, max_points_per_centroid=len(x) // 16 + 1)
km.train(x)
t3 = time.perf_counter()
print(reader, t2 - t1, t3 - t2, len(km.obj), faiss.omp_get_max_threads())
"""

PHASES = ["read_s", "normalize_s", "seed_s", "iterate_s", "final_assignment_s", "quality_s",
          "write_s"]


def make_data(work, n, d, k, seed):
    csv = os.path.join(work, f"users{n}x{d}.csv")
    if os.path.exists(csv):
        return csv
    rng = np.random.default_rng(seed)
    centres = rng.uniform(1, 9, (k, d))
    x = np.clip(centres[rng.integers(0, k, n)] + rng.normal(0, 1.0, (n, d)), 0, 9.99)
    tmp = csv + ".tmp"
    with open(tmp, "w") as f:
        f.write("user," + ",".join(f"f{j}" for j in range(d)) + "\n")
        ids = np.char.add("u", np.arange(n).astype(str))
        np.savetxt(f, np.column_stack([ids, np.char.mod("%.2f", x)]), fmt="%s", delimiter=",")
    os.replace(tmp, csv)
    return csv


def peer_env(args):
    """The peers' environment: --blas-dir's libblas.so.3 first (faiss and scikit-learn alike)."""
    env = dict(os.environ)
    if args.omp_wait_policy:
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    if args.blas_dir:
        env["LD_LIBRARY_PATH"] = args.blas_dir + ":" + env.get("LD_LIBRARY_PATH", "")
    return env


def timed(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return wall, r.stdout


def measure(args, csv, d, label):
    feats = ",".join(f"f{j}" for j in range(d))
    out = os.path.join(args.work, "ecps-out")
    ecps_cmd = [args.ecps, "train", "kmeans", "--data", csv, "--id-column", "user", "--features",
                feats, "--k", "16", "--max-iter", "20", "--tol", "0", "--normalize", "none",
                "--local", "--workers", "1", "--out", out, "--quiet"]
    script = os.path.join(args.work, "sk_end_to_end.py")
    with open(script, "w") as f:
        f.write(SKLEARN)
    sk_cmd = ["/usr/bin/python3", script, csv, str(d)]
    fa_script = os.path.join(args.work, "faiss_end_to_end.py")
    with open(fa_script, "w") as f:
        f.write(FAISS)
    fa_cmd = ["/usr/bin/python3", fa_script, csv, str(d)] if args.faiss else None
    fa_wall, fa_parts = [], []
    ecps_wall, sk_wall, phases, sk_parts = [], [], {p: [] for p in PHASES}, []
    for _ in range(args.runs):
        w, _ = timed(ecps_cmd)
        ecps_wall.append(w)
        with open(os.path.join(out, "metrics.json")) as f:
            m = json.load(f)
        for p in PHASES:
            phases[p].append(m["breakdown"][p])
        w, so = timed(sk_cmd, peer_env(args))
        sk_wall.append(w)
        sk_parts.append(so.split())
        if fa_cmd:
            w, so = timed(fa_cmd, peer_env(args))
            fa_wall.append(w)
            fa_parts.append(so.split())
    e, s = statistics.median(ecps_wall), statistics.median(sk_wall)
    reader = sk_parts[0][0]
    sk_read = statistics.median(float(p[1]) for p in sk_parts)
    sk_fit = statistics.median(float(p[2]) for p in sk_parts)
    print(f"{label:>6}  ecps {e:6.2f} s  sklearn {s:6.2f} s  ratio {e / s:5.2f}   "
          f"(runs: ecps {' '.join(f'{v:.2f}' for v in ecps_wall)}; sklearn "
          f"{' '.join(f'{v:.2f}' for v in sk_wall)})")
    med = {p: statistics.median(v) for p, v in phases.items()}
    mb = os.path.getsize(os.path.join(out, "assignments.csv")) / 1e6
    print(f"        ecps breakdown (median s): " + ", ".join(f"{p[:-2]} {v:.3f}" for p, v in med.items())
          + f"; reader's share of the wall time {med['read_s'] / e:.0%}; assignments.csv {mb:.1f} MB"
          f" written at {mb / med['write_s']:.0f} MB/s (write phase)")
    print(f"        sklearn: {reader} {sk_read:.2f} s, fit {sk_fit:.2f} s "
          f"({sk_parts[0][3]} iterations; python start and imports are the rest)")
    if fa_wall:
        fa = statistics.median(fa_wall)
        print(f"{'':>6}  ecps {e:6.2f} s  faiss   {fa:6.2f} s  ratio {e / fa:5.2f}   (runs: faiss "
              f"{' '.join(f'{v:.2f}' for v in fa_wall)})")
        print(f"        faiss: {fa_parts[0][0]} {statistics.median(float(p[1]) for p in fa_parts):.2f} s, "
              f"fit {statistics.median(float(p[2]) for p in fa_parts):.2f} s ({fa_parts[0][3]} iterations, "
              f"{fa_parts[0][4]} OpenMP threads; python start and imports are the rest)")
    return e, s


def seeding(args, csv, d):
    """Seeding time against the Lloyd iterations of the same run (metrics.json)."""
    feats = ",".join(f"f{j}" for j in range(d))
    out = os.path.join(args.work, "ecps-seed")
    for init in ("kmeans++", "kmeans-parallel"):
        ratios, seeds, iters = [], [], []
        for _ in range(args.runs):
            timed([args.ecps, "train", "kmeans", "--data", csv, "--id-column", "user", "--features",
                   feats, "--k", "16", "--max-iter", "20", "--tol", "0", "--normalize", "none",
                   "--init", init, "--local", "--workers", "1", "--out", out, "--quiet"])
            with open(os.path.join(out, "metrics.json")) as f:
                m = json.load(f)
            it = m["timings"]["ms_per_iteration_median"]
            seeds.append(1e3 * m["breakdown"]["seed_s"])
            iters.append(it)
            ratios.append(seeds[-1] / it)
        print(f"  {init:>15}: seed {statistics.median(seeds):6.2f} ms = "
              f"{statistics.median(ratios):4.2f} Lloyd iterations of the same run (median "
              f"iteration {statistics.median(iters):.2f} ms; sample of {m.get('init_sample', 'all')} users)")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "ecps-kmeans-e2e"))
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--load", choices=["yes", "none"], default="yes",
                    help="yes: also measure under two `yes > /dev/null` processes")
    ap.add_argument("--blas-dir", default="",
                    help="folder with another libblas.so.3 for the peers (LD_LIBRARY_PATH), e.g. OpenBLAS: see "
                         "bench_kmeans.py --help; Debian's default is the reference BLAS")
    ap.add_argument("--omp-wait-policy", default="passive",
                    help="OMP_WAIT_POLICY of the peers (libgomp); '' leaves it unset. On a machine shared with "
                         "other work, libgomp's default spinning at faiss's many barriers made its 2-thread fit "
                         "15x slower (200k x 8: 31 s against 1.9 s passive)")
    args = ap.parse_args()
    args.faiss = subprocess.run(["/usr/bin/python3", "-c", "import faiss"],
                                capture_output=True).returncode == 0
    os.makedirs(args.work, exist_ok=True)
    d = 8
    csv = make_data(args.work, args.users, d, 16, 2026)
    print(f"== train kmeans, {args.users} users x {d} features ({os.path.getsize(csv) / 1e6:.0f} MB "
          f"CSV), k = 16, 20 iterations, 1 worker; {os.cpu_count()} cores ==")
    print(f"load average before: {os.getloadavg()[0]:.2f}" +
          ("" if args.faiss else "; faiss not installed: skipped (apt-get install python3-faiss)"))
    measure(args, csv, d, "quiet")
    print("seeding (the goal: at most 3 Lloyd iterations), median of the runs:")
    seeding(args, csv, d)
    if args.load == "yes":
        hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(2)]
        try:
            time.sleep(0.5)
            measure(args, csv, d, "loaded")
        finally:
            for h in hogs:
                h.kill()
                h.wait()


if __name__ == "__main__":
    main()
