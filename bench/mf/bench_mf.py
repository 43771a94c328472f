#!/usr/bin/python3
"""Matrix factorisation benchmarks of `ecps train mf` (README: Matrix factorisation).

--quality: Amazon Games (../shared/data/amazon-videogames-sasrec/Video.txt), leave-last-out;
  a small grid (factors, alpha) tuned on the validation split by sampled NDCG@10, the best
  run once on the test split; metrics of mf and popularity under both protocols.
--speed: seconds per ALS iteration of ecps (--local, 1 worker and 2 workers, no split, no
  recommendations) against bench/mf/numpy_als.py on the same file, rounds alternating which
  runs first; medians over rounds of each run's median iteration; peak RSS per process.
--memory: peak RSS of every rank under mpirun -np 4 (1 server, 2 workers).
--rating: explicit MF (--task rating) on rating files (--rating-data; else MovieLens under
  ../shared/data when there, skipped with a message when not, a synthetic `ecps generate
  --ratings` shop and a planted MovieLens-100k-shaped file): held-out RMSE and MAE of ecps
  (1 and 2 workers) beside its global-mean and bias baselines and
  bench/mf/numpy_explicit_als.py (the same model in NumPy), seconds per iteration.

  /usr/bin/python3 bench/mf/bench_mf.py --speed --runs 3
  /usr/bin/python3 bench/mf/bench_mf.py --quality
  /usr/bin/python3 bench/mf/bench_mf.py --memory
  /usr/bin/python3 bench/mf/bench_mf.py --rating --runs 3 --iterations 10
"""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def timed(cmd):
    """Runs cmd under /usr/bin/time; returns (stdout, stderr, peak MB)."""
    p = subprocess.run(["/usr/bin/time", "-f", "PEAK %M"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    peak = int(re.findall(r"PEAK (\d+)", p.stderr)[-1]) / 1024
    return p.stdout, p.stderr, peak


def train(a, out, extra):
    cmd = [a.ecps, "train", "mf", "--train", a.data, "--out", out, "--quiet"] + extra
    _, _, peak = timed(cmd)
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f), peak


def quality(a, tmp):
    grid = [(32, 1.0), (32, 10.0), (32, 40.0), (64, 10.0)]
    common = ["--local", "--workers", "1", "--split", "leave-last-out", "-n", "10",
              "--save-model", "false", "--iterations", str(a.iterations)]
    best = None
    for factors, alpha in grid:
        j, _ = train(a, os.path.join(tmp, "q"), common + ["--evaluate-on", "validation", "--factors",
                                                          str(factors), "--alpha", str(alpha)])
        ndcg = j["evaluation"]["sampled"]["mf"]["NDCG@10"]
        print(f"validation factors {factors} alpha {alpha}: sampled NDCG@10 {ndcg:.4f} "
              f"HR@10 {j['evaluation']['sampled']['mf']['HR@10']:.4f}; full NDCG@10 "
              f"{j['evaluation']['full']['mf']['NDCG@10']:.4f}", flush=True)
        if best is None or ndcg > best[0]:
            best = (ndcg, factors, alpha)
    _, factors, alpha = best
    j, _ = train(a, os.path.join(tmp, "q"), common + ["--factors", str(factors), "--alpha", str(alpha)])
    e = j["evaluation"]
    print(f"test (factors {factors}, alpha {alpha}, {e['users']} users):")
    for protocol in ("full", "sampled"):
        for metric in ("HR@10", "NDCG@10"):
            print(f"  {protocol} {metric}: mf {e[protocol]['mf'][metric]:.4f} "
                  f"popularity {e[protocol]['popularity'][metric]:.4f}")
    print(f"  coverage@10: mf {j['coverage']['mf']:.4f}; timings {j['timings']}")


def rounds(a, run_one):
    """a.runs rounds of numpy, ecps1 and ecps2, alternating which runs first; run_one(name)
    returns (iteration seconds, peak MB, extra). Returns each run's median iterations, peaks
    and first extra, by name."""
    runs = {"numpy": [], "ecps1": [], "ecps2": []}
    peaks = {k: [] for k in runs}
    extra = {}
    for r in range(a.runs):
        order = ["numpy", "ecps1", "ecps2"] if r % 2 == 0 else ["ecps2", "ecps1", "numpy"]
        for name in order:
            secs, peak, x = run_one(name)
            runs[name].append(statistics.median(secs))
            peaks[name].append(peak)
            extra.setdefault(name, x)
            print(f"round {r} {name}: median iteration {runs[name][-1]:.3f} s, peak {peak:.0f} MB",
                  flush=True)
    return runs, peaks, extra


def speed(a, tmp):
    def run_one(name):
        if name == "numpy":
            out, _, peak = timed(["/usr/bin/python3", os.path.join(ROOT, "bench", "mf", "numpy_als.py"),
                                  "--data", a.data, "--iterations", str(a.iterations),
                                  "--factors", str(a.factors)])
            return json.loads(out)["iteration_s"], peak, None
        j, peak = train(a, os.path.join(tmp, name), [
            "--local", "--workers", name[-1], "-n", "0", "--save-model", "false",
            "--iterations", str(a.iterations), "--factors", str(a.factors)])
        return j["iterations"]["seconds"], peak, None

    before = load_average()
    runs, peaks, _ = rounds(a, run_one)
    print(f"load average {before} before, {load_average()} after")
    ref = statistics.median(runs["numpy"])
    for name, secs in runs.items():
        med = statistics.median(secs)
        print(f"{name}: {med:.3f} s/iteration ({ref / med:.2f}x numpy's speed), "
              f"peak {statistics.median(peaks[name]):.0f} MB")


def memory(a, tmp):
    out = os.path.join(tmp, "mpi")
    train = (f"{a.ecps} train mf --train {a.data} --out {out} --servers 1 --quiet -n 10 "
             f"--iterations {a.iterations} --factors {a.factors}")
    # Each rank under /usr/bin/time, labelled with its MPI rank (0 scheduler, 1 server, 2-3 workers).
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "4", "sh", "-c",
           f'exec /usr/bin/time -f "RANK_PEAK $OMPI_COMM_WORLD_RANK %M" {train}']
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMPI_MCA_pml="ob1"))
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    peaks = sorted((int(r), int(kb) / 1024) for r, kb in re.findall(r"RANK_PEAK (\d+) (\d+)", p.stderr))
    print("mpirun -np 4: peak RSS per rank, MB: " +
          ", ".join(f"rank {r} ({['scheduler', 'server', 'worker', 'worker'][r]}) {mb:.0f}" for r, mb in peaks) +
          f" (load average {load_average()})")


def planted_ratings(path, seed=1):
    """A MovieLens-100k-shaped planted rating file (943 users, 1682 items, about 100k ratings;
    users' activity lognormal, items' popularity Zipf-like): rating = round(clip(3.5 + b_u +
    b_i + p_u . q_i + noise, 1, 5)), b_u ~ N(0, 0.4^2), b_i ~ N(0, 0.5^2), rank 5 with
    Var(p . q) = 0.6, noise N(0, 0.6^2)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    users, items, rank = 943, 1682, 5
    activity = rng.lognormal(0, 1, users)
    popularity = 1.0 / (np.arange(items) + 10.0) ** 0.8
    u = rng.choice(users, 110000, p=activity / activity.sum())
    i = rng.choice(items, 110000, p=popularity / popularity.sum())
    pairs = np.unique(np.stack([u, i], axis=1), axis=0)
    s = (0.6 / rank) ** 0.25
    p, q = rng.normal(0, s, (users, rank)), rng.normal(0, s, (items, rank))
    bu, bi = rng.normal(0, 0.4, users), rng.normal(0, 0.5, items)
    u, i = pairs[:, 0], pairs[:, 1]
    r = 3.5 + bu[u] + bi[i] + np.einsum("ij,ij->i", p[u], q[i]) + rng.normal(0, 0.6, len(u))
    r = np.clip(np.round(r), 1, 5).astype(int)
    order = rng.permutation(len(u))
    with open(path, "w") as f:
        f.write("user,item,rating\n")
        for k in order:
            f.write(f"u{u[k]},i{i[k]},{r[k]}\n")
    return path


def rating_data(a, tmp):
    """The rating files: --rating-data; else MovieLens under ../shared/data when there (a
    message when not), a synthetic shop of `ecps generate --ratings` and a planted
    MovieLens-shaped file."""
    if a.rating_data:
        return [(a.rating_data, os.path.basename(a.rating_data))]
    out = []
    shared = os.path.join(ROOT, "..", "shared", "data")
    for folder in sorted(glob.glob(os.path.join(shared, "movielens*"))):
        for name in ("ratings.csv", "u.data"):
            if os.path.exists(os.path.join(folder, name)):
                out.append((os.path.join(folder, name), f"{os.path.basename(folder)}/{name}"))
    if not out:
        print(f"MovieLens: skipped, no movielens*/ folder with ratings.csv or u.data under "
              f"{os.path.normpath(shared)}", flush=True)
    shop = os.path.join(tmp, "shop")
    p = subprocess.run([a.ecps, "generate", "--ratings", "--users", str(a.shop_users), "--items",
                        str(a.shop_items), "--seed", "42", "--out", shop], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    out.append((os.path.join(shop, "interactions.csv"),
                f"ecps generate --ratings --users {a.shop_users} --items {a.shop_items} --seed 42"))
    out.append((planted_ratings(os.path.join(tmp, "planted.csv")), "planted, MovieLens-100k-shaped"))
    return out


def rating(a, tmp):
    """Explicit MF: held-out RMSE/MAE of ecps --task rating (1 and 2 workers), its global-mean
    and bias baselines, and the NumPy reference of the same model; seconds per iteration."""
    for data, label in rating_data(a, tmp):
        rating_on(a, tmp, data, label)


def rating_on(a, tmp, data, label):
    common = ["--task", "rating", "--split", "holdout", "-n", "0", "--save-model", "false",
              "--iterations", str(a.iterations), "--factors", str(a.factors),
              "--regularization", str(a.regularization)]

    def run_one(name):
        if name == "numpy":
            out, _, peak = timed(["/usr/bin/python3", os.path.join(ROOT, "bench", "mf", "numpy_explicit_als.py"),
                                  "--data", data, "--iterations", str(a.iterations), "--factors",
                                  str(a.factors), "--regularization", str(a.regularization)])
            j = json.loads(out)
            return j["iteration_s"], peak, dict(j, ratings_held_out=j["held_out"])
        _, _, peak = timed([a.ecps, "train", "mf", "--train", data, "--out", os.path.join(tmp, name),
                            "--quiet", "--local", "--workers", name[-1]] + common)
        with open(os.path.join(tmp, name, "metrics.json")) as f:
            j = json.load(f)
        return j["iterations"]["seconds"], peak, dict(j["rating"], ratings_held_out=int(j["rating"]["ratings"]))

    before = load_average()
    runs, _, quality = rounds(a, run_one)
    print(f"data: {label} ({data}); f = {a.factors}, lambda = {a.regularization}, "
          f"{a.iterations} iterations; load average {before} before, {load_average()} after")
    ref = statistics.median(runs["numpy"])
    print("| run | held-out ratings | RMSE | MAE | global mean RMSE | biases RMSE | s / iteration | vs numpy |")
    print("|---|---|---|---|---|---|---|---|")
    for name, secs in runs.items():
        q, med = quality[name], statistics.median(secs)
        print(f"| {name} | {q['ratings_held_out']} | {q['mf']['rmse']:.4f} | {q['mf']['mae']:.4f} | "
              f"{q['global_mean']['rmse']:.4f} | {q['biases']['rmse']:.4f} | {med:.3f} | {ref / med:.2f}x |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "amazon-videogames-sasrec",
                                                    "Video.txt"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--factors", type=int, default=32)
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--rating", action="store_true")
    ap.add_argument("--rating-data", default="", help="user,item,rating file for --rating")
    ap.add_argument("--regularization", type=float, default=0.1, help="lambda of --rating")
    ap.add_argument("--shop-users", type=int, default=20000)
    ap.add_argument("--shop-items", type=int, default=2000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.quality:
            quality(a, tmp)
        if a.speed:
            speed(a, tmp)
        if a.memory:
            memory(a, tmp)
        if a.rating:
            rating(a, tmp)


if __name__ == "__main__":
    main()
