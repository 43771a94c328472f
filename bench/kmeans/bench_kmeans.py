#!/usr/bin/python3
"""ecps train kmeans vs scikit-learn's KMeans(algorithm="lloyd") and faiss's Kmeans, side by side.

Run with Debian's python (numpy, scikit-learn): /usr/bin/python3 bench/kmeans/bench_kmeans.py

1. Speed and inertia: a seeded synthetic set (default 1M users x 8 features, 16 planted
   clusters with overlap), k = 16, 20 Lloyd iterations from the same initial centroids
   (--init FILE, --normalize none, tol 0), at 1 and 2 threads. ecps's ms/iteration is the mean
   of its Lloyd loop (metrics.json; also its median iteration, "steady"); scikit-learn's is
   (fit(max_iter=20) - fit(max_iter=1)) / 19,
   i.e. its per-iteration cost without input checks and the final E-step. faiss (Debian
   python3-faiss, CPU; skipped when it is not installed): the same difference of
   faiss.Kmeans(d, k, niter=20) and niter=1 trainings from the same initial centroids on the
   same points as float32, every point used (max_points_per_centroid above n / k; faiss's
   default subsamples 256 per centroid), faiss.omp_set_num_threads(threads), OpenBLAS at the
   same thread count. Both peers run with OMP_WAIT_POLICY=passive. Median of --runs. Peak RSS per process from /usr/bin/time.
2. Quality: adjusted Rand index against the planted labels on a separable set (k-means++),
   inertia of both from the same start.
3. Risk scores: ROC AUC of the score against Class on ../shared/data/creditcard-fraud-sample.
4. ../shared/data/online-shoppers-intention numeric session features: inertia, silhouette,
   profiles.
5. Under mpirun (1 scheduler, 1 server, 2 workers): ms/iteration and RSS of every process.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))


def sh(cmd, env=None, check=True):
    r = subprocess.run(cmd, shell=True, env=env, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {cmd}\n{r.stderr[-3000:]}")
    return r


def peak_rss_kb(path):
    with open(path) as f:
        return int(f.read().strip().splitlines()[-1])


def make_synthetic(work, n, d, k, sigma, seed, name):
    csv = os.path.join(work, f"{name}.csv")
    if os.path.exists(csv):
        return csv
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, (k, d))
    lab = rng.integers(0, k, n)
    x = centres[lab] + rng.normal(0, sigma, (n, d))
    with open(csv, "w") as f:
        f.write("user," + ",".join(f"f{j}" for j in range(d)) + "\n")
        ids = np.char.add("u", np.arange(n).astype(str))
        np.savetxt(f, np.column_stack([ids, x.astype(str)]), fmt="%s", delimiter=",")
    np.save(os.path.join(work, f"{name}.x.npy"), x)
    np.save(os.path.join(work, f"{name}.labels.npy"), lab)
    init = x[rng.choice(n, k, replace=False)]
    with open(os.path.join(work, f"{name}.init.csv"), "w") as f:
        f.write(",".join(f"f{j}" for j in range(d)) + "\n")
        np.savetxt(f, init, fmt="%.17g", delimiter=",")
    return csv


SKLEARN = r"""
import json, sys, time
import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info
x = np.load(sys.argv[1]); c0 = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1)
iters = int(sys.argv[3]); out = {}
for mi in (1, iters):
    t = time.perf_counter()
    km = KMeans(len(c0), init=c0, n_init=1, algorithm="lloyd", max_iter=mi, tol=0).fit(x)
    out[mi] = (time.perf_counter() - t, int(km.n_iter_), float(km.inertia_))
print(json.dumps({"ms_per_iter": 1e3 * (out[iters][0] - out[1][0]) / (out[iters][1] - out[1][1]),
                  "ms_per_iter_whole_fit": 1e3 * out[iters][0] / out[iters][1],
                  "iterations": out[iters][1], "inertia": out[iters][2],
                  "blas": [i.get("filepath") for i in threadpool_info() if i["user_api"] == "blas"]}))
"""


FAISS = r"""
import json, sys, time
import numpy as np
import faiss
x = np.ascontiguousarray(np.load(sys.argv[1]), dtype=np.float32)
c0 = np.ascontiguousarray(np.loadtxt(sys.argv[2], delimiter=",", skiprows=1), dtype=np.float32)
iters, threads = int(sys.argv[3]), int(sys.argv[4])
faiss.omp_set_num_threads(threads)
out = {}
for it in (1, iters):
    km = faiss.Kmeans(x.shape[1], len(c0), niter=it, seed=1, verbose=False,
                      max_points_per_centroid=len(x) // len(c0) + 1)
    t = time.perf_counter()
    km.train(x, init_centroids=c0)
    out[it] = (time.perf_counter() - t, float(km.obj[-1]))
print(json.dumps({"ms_per_iter": 1e3 * (out[iters][0] - out[1][0]) / (iters - 1),
                  "ms_per_iter_whole_fit": 1e3 * out[iters][0] / iters,
                  "objective": out[iters][1], "version": faiss.__version__}))
"""


def have_faiss():
    return sh("/usr/bin/python3 -c 'import faiss'", check=False).returncode == 0


def run_faiss(work, name, iters, threads, blas_dir):
    # Passive OpenMP waits (both peers): spinning at faiss's many barriers made 2 threads 15x
    # slower on a machine shared with other work.
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               OMP_WAIT_POLICY="passive")
    if blas_dir:
        env["LD_LIBRARY_PATH"] = blas_dir + ":" + env.get("LD_LIBRARY_PATH", "")
    return run_python(work, "faiss_bench.py", FAISS, f"{work}/{name}.x.npy {work}/{name}.init.csv {iters} {threads}",
                      env)


def run_python(work, file, text, argv, env):
    script = os.path.join(work, file)
    with open(script, "w") as f:
        f.write(text)
    rss = os.path.join(work, file + ".rss")
    r = sh(f"/usr/bin/time -f %M -o {rss} /usr/bin/python3 {script} {argv}", env=env)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["rss_kb"] = peak_rss_kb(rss)
    return res


def run_sklearn(work, name, iters, threads, blas_dir):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OMP_WAIT_POLICY="passive")
    if blas_dir:
        env["LD_LIBRARY_PATH"] = blas_dir + ":" + env.get("LD_LIBRARY_PATH", "")
    return run_python(work, "sk_bench.py", SKLEARN, f"{work}/{name}.x.npy {work}/{name}.init.csv {iters}", env)


def run_ecps(ecps, csv, out, args, mpi_np=0):
    rss = out + ".rss"
    if mpi_np:
        cmd = (f"OMPI_MCA_pml=ob1 mpirun --allow-run-as-root --oversubscribe -np {mpi_np} "
               f"sh -c '/usr/bin/time -f %M -o {rss}.$OMPI_COMM_WORLD_RANK {ecps} train kmeans --data {csv} "
               f"--out {out} {args} --quiet'")
    else:
        cmd = f"/usr/bin/time -f %M -o {rss} {ecps} train kmeans --data {csv} --out {out} {args} --quiet"
    sh(cmd)
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    if mpi_np:
        m["rss_kb"] = [peak_rss_kb(f"{rss}.{r}") for r in range(mpi_np)]
    else:
        m["rss_kb"] = peak_rss_kb(rss)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "ecps-kmeans-bench"))
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", default="1,2", help="thread counts to compare")
    ap.add_argument("--blas-dir", default="",
                    help="folder with another libblas.so.3 for scikit-learn only (LD_LIBRARY_PATH), e.g. OpenBLAS "
                         "unpacked with: apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread_*.deb "
                         "root  -> root/usr/lib/x86_64-linux-gnu/openblas-pthread. Debian's default is the reference "
                         "BLAS, which makes scikit-learn's Lloyd about 3x slower")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    d, k = 8, 16
    name = f"synth{args.users}"
    csv = make_synthetic(args.work, args.users, d, k, 1.5, 2026, name)
    feats = ",".join(f"f{j}" for j in range(d))
    common = (f"--id-column user --features {feats} --k {k} --normalize none --init {args.work}/{name}.init.csv "
              f"--max-iter {args.iters} --tol 0 --silhouette-sample 0")

    faiss_ok = have_faiss()
    print(f"== speed: {args.users} users x {d} features, k={k}, {args.iters} iterations, same initial centroids ==")
    print("ecps ms/it: mean of the 20 iterations (median of the runs); steady: the median iteration, where few")
    print("users change cluster (the first iterations recompute all cluster sums and cost more); sklearn and faiss:")
    print("(fit of 20 - fit of 1) / 19, median of the runs, measured in the same script run; ratio: peer / ecps")
    if not faiss_ok:
        print("(faiss: not installed, skipped; Debian: apt-get install python3-faiss)")
    print(f"{'threads':>7} {'ecps layout':>22} {'ecps ms/it':>10} {'steady':>6} {'sklearn ms/it':>13} {'ratio':>6} "
          f"{'faiss ms/it':>11} {'ratio':>6} {'RSS MB ecps/sk/faiss':>20}  inertia ecps / sklearn")
    for t in [int(v) for v in args.threads.split(",")]:
        sk, fa = [], []
        for _ in range(args.runs):  # alternating, so that both see the same load
            sk.append(run_sklearn(args.work, name, args.iters, t, args.blas_dir))
            if faiss_ok:
                fa.append(run_faiss(args.work, name, args.iters, t, args.blas_dir))
        sk_ms = statistics.median(r["ms_per_iter"] for r in sk)
        fa_ms = statistics.median(r["ms_per_iter"] for r in fa) if fa else float("nan")
        fa_rss = f"{fa[0]['rss_kb'] / 1024:.0f}" if fa else "-"
        layouts = [("1 worker x %d thread(s)" % t, f"--local --workers 1 --threads {t}")]
        if t > 1:
            layouts.append((f"{t} workers x 1 thread", f"--local --workers {t} --threads 1"))
        for label, lay in layouts:
            ms, steady = [], []
            for i in range(args.runs):
                m = run_ecps(args.ecps, csv, f"{args.work}/e{t}-{label.split()[0]}w-{i}", f"{common} {lay}")
                ms.append(m["timings"]["ms_per_iteration_mean"])
                steady.append(m["timings"]["ms_per_iteration_median"])
            rel = abs(m["inertia"] - sk[0]["inertia"]) / sk[0]["inertia"]
            e_ms = statistics.median(ms)
            rss = f"{m['rss_kb'] / 1024:.0f}/{sk[0]['rss_kb'] / 1024:.0f}/{fa_rss}"
            print(f"{t:>7} {label:>22} {e_ms:>10.2f} {statistics.median(steady):>6.2f} "
                  f"{sk_ms:>13.2f} {sk_ms / e_ms:>6.2f} {fa_ms:>11.2f} {fa_ms / e_ms:>6.2f} {rss:>20}  "
                  f"{m['inertia']:.10g} / {sk[0]['inertia']:.10g} (rel. diff {rel:.1e}, kernel {m['cluster']['kernel']})")
        print(f"{'':>7} whole fit / iterations: sklearn {statistics.median(r['ms_per_iter_whole_fit'] for r in sk):.2f} ms"
              + (f", faiss {statistics.median(r['ms_per_iter_whole_fit'] for r in fa):.2f} ms (faiss {fa[0]['version']}, "
                 f"float32 objective {fa[0]['objective']:.8g})" if fa else "")
              + f"; BLAS: {sk[0]['blas']}")

    kernel_bench = os.path.join(os.path.dirname(args.ecps), "bench", "kmeans", "kmeans_kernel_bench")
    if os.path.exists(kernel_bench):
        print(f"\n== the assignment kernels alone, 1 thread ({kernel_bench} --users {args.users}) ==")
        print(sh(f"{kernel_bench} --users {args.users}", check=False).stdout.rstrip())

    print("\n== under mpirun -np 4 (scheduler, 1 server, 2 workers x 1 thread) ==")
    m = run_ecps(args.ecps, csv, f"{args.work}/mpi", f"{common} --servers 1 --threads 1", mpi_np=4)
    print(f"ms/iteration {m['timings']['ms_per_iteration_mean']:.2f} (median iteration "
          f"{m['timings']['ms_per_iteration_median']:.2f}), inertia {m['inertia']:.10g}, "
          f"peak RSS per rank (MB): {[round(r / 1024) for r in m['rss_kb']]}")

    print("\n== quality: planted separable clusters (200000 x 8, k = 16, k-means++ and k-means||) ==")
    sep = make_synthetic(args.work, 200_000, d, k, 0.2, 7, "separable")
    planted = np.load(f"{args.work}/separable.labels.npy")
    from sklearn.metrics import adjusted_rand_score
    for init in ("kmeans++", "kmeans-parallel"):
        m = run_ecps(args.ecps, sep, f"{args.work}/sep-{init}",
                     f"--id-column user --features {feats} --k {k} --init {init} --local --workers 2 --threads 1")
        got = np.loadtxt(f"{args.work}/sep-{init}/assignments.csv", delimiter=",", skiprows=1, usecols=1, dtype=int)
        print(f"{init:>16}: ARI {adjusted_rand_score(planted, got):.4f}, inertia {m['inertia']:.6g}, "
              f"silhouette {m['silhouette']:.4f}, iterations {m['iterations']}")

    cc = os.path.join(SHARED, "creditcard-fraud-sample", "creditcard_sample.csv")
    if os.path.exists(cc):
        print("\n== risk scores: creditcard-fraud-sample (V1..V28, Amount; Class for evaluation only) ==")
        vs = ",".join([f"V{i}" for i in range(1, 29)] + ["Amount"])
        for norm, kk in (("minmax", 8), ("zscore", 8), ("minmax", 4)):
            m = run_ecps(args.ecps, cc, f"{args.work}/fraud-{norm}-{kk}",
                         f"--id-column '' --features {vs} --label-column Class --k {kk} --normalize {norm} "
                         f"--anomaly-scores --local --workers 2 --threads 1")
            a = m["roc_auc_by_score"]
            print(f"k={kk} {norm:>6}: ROC AUC relative score {a['relative']:.4f}, distance {a['distance']:.4f} "
                  f"({m['positives']} fraud / {m['negatives']} normal)")
    else:
        print(f"\n(skipped: {cc} not found)")

    shop = os.path.join(SHARED, "online-shoppers-intention", "online_shoppers_intention.csv")
    if os.path.exists(shop):
        print("\n== online-shoppers-intention: numeric session features, k = 5, min-max ==")
        feats_s = ("Administrative,Administrative_Duration,Informational,Informational_Duration,ProductRelated,"
                   "ProductRelated_Duration,BounceRates in %,ExitRates in %,PageValues,SpecialDay (probability)")
        m = run_ecps(args.ecps, shop, f"{args.work}/shoppers",
                     f"--id-column @line --features '{feats_s}' --k 5 --local --workers 2 --threads 1")
        print(f"inertia {m['inertia']:.6g} (min-max space), silhouette {m['silhouette']:.4f}, "
              f"Davies-Bouldin {m['davies_bouldin']:.4f}, iterations {m['iterations']}")
        with open(f"{args.work}/shoppers/profiles.json") as f:
            for s in json.load(f)["segments"]:
                c = s["centroid"]
                print(f"  segment {s['segment']}: {100 * s['share']:.1f}% — ProductRelated {c['ProductRelated']:.1f}, "
                      f"ProductRelated_Duration {c['ProductRelated_Duration']:.0f} s, "
                      f"BounceRates {c['BounceRates in %']:.3f}, ExitRates {c['ExitRates in %']:.3f}, "
                      f"PageValues {c['PageValues']:.1f}")


if __name__ == "__main__":
    main()
