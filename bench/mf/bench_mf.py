#!/usr/bin/python3
"""Matrix factorisation benchmarks of `ecps train mf` (README: Matrix factorisation).

--quality: Amazon Games (../shared/data/amazon-videogames-sasrec/Video.txt), leave-last-out;
  a small grid (factors, alpha) tuned on the validation split by sampled NDCG@10, the best
  run once on the test split; metrics of mf and popularity under both protocols.
--speed: seconds per ALS iteration of ecps (--local, 1 worker and 2 workers, no split, no
  recommendations) against bench/mf/numpy_als.py on the same file, rounds alternating which
  runs first; medians over rounds of each run's median iteration; peak RSS per process.
--memory: peak RSS of every rank under mpirun -np 4 (1 server, 2 workers).

  /usr/bin/python3 bench/mf/bench_mf.py --speed --runs 3
  /usr/bin/python3 bench/mf/bench_mf.py --quality
  /usr/bin/python3 bench/mf/bench_mf.py --memory
"""
import argparse
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


def speed(a, tmp):
    runs = {"numpy": [], "ecps1": [], "ecps2": []}
    peaks = {k: [] for k in runs}
    before = load_average()
    for r in range(a.runs):
        order = ["numpy", "ecps1", "ecps2"] if r % 2 == 0 else ["ecps2", "ecps1", "numpy"]
        for name in order:
            if name == "numpy":
                out, _, peak = timed(["/usr/bin/python3", os.path.join(ROOT, "bench", "mf", "numpy_als.py"),
                                      "--data", a.data, "--iterations", str(a.iterations),
                                      "--factors", str(a.factors)])
                secs = json.loads(out)["iteration_s"]
            else:
                workers = name[-1]
                j, peak = train(a, os.path.join(tmp, name), [
                    "--local", "--workers", workers, "-n", "0", "--save-model", "false",
                    "--iterations", str(a.iterations), "--factors", str(a.factors)])
                secs = j["iterations"]["seconds"]
            runs[name].append(statistics.median(secs))
            peaks[name].append(peak)
            print(f"round {r} {name}: median iteration {runs[name][-1]:.3f} s, peak {peak:.0f} MB",
                  flush=True)
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
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.quality:
            quality(a, tmp)
        if a.speed:
            speed(a, tmp)
        if a.memory:
            memory(a, tmp)


if __name__ == "__main__":
    main()
