#!/usr/bin/python3
"""Benchmarks of `ecps train itemcf` (run with Debian's /usr/bin/python3: numpy + scipy).

quality: Amazon Games (Video.txt, SASRec's preprocessing), leave-last-out. A small grid is
  tuned on the validation split (second-to-last item; the test item is dropped from
  training), the best configuration by validation sampled NDCG@10 is then run once on the
  test split. Prints item-CF beside the popularity baseline of the same run, under full
  ranking and under the sampled protocol (1 held-out item among 100 random non-interacted
  items), with SASRec's published numbers (Kang & McAuley 2018, Table III, Amazon Games).
speed: seeded synthetic set (make_synthetic.py: 5M interactions, 100k users x 20k items,
  power-law item popularity). Top-20 cosine neighbours of every item: scipy (X^T X and a
  top-20 selection, scipy_topk.py) beside ecps with 1, 2 and 4 workers in one process;
  median of --runs runs of time and peak RSS (/usr/bin/time -v).

  /usr/bin/python3 bench/cf/bench_cf.py            # both
  /usr/bin/python3 bench/cf/bench_cf.py --speed --runs 5
"""
import argparse
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SASREC = {"HR@10": 0.7410, "NDCG@10": 0.5360}


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (stdout, wall seconds, peak RSS MB)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return p.stdout, wall, rss


def train(ecps, out, args):
    cmd = [ecps, "train", "itemcf", "--out", out, "--quiet"] + args
    _, wall, rss = timed(cmd)
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f), wall, rss


def quality(a, tmp):
    games = a.games
    if not os.path.exists(games):
        sys.exit(f"missing {games}: the quality benchmark needs ../shared/data")
    base = ["--train", games, "--split", "leave-last-out", "--local", "--workers", "2", "--block-size", "4000",
            "--save-model", "false", "--write-neighbors", "false"]
    grid = list(itertools.product([50, 200, 500], ["cosine", "jaccard"], [0, 20], [1.0, 0.7]))
    print(f"== quality: Amazon Games, leave-last-out; tuning {len(grid)} configurations on the validation split")
    best, best_score = None, -1.0
    for k, sim, shrink, decay in grid:
        cfg = ["--neighbors", str(k), "--similarity", sim, "--shrinkage", str(shrink), "--recency-decay", str(decay)]
        j, _, _ = train(a.ecps, os.path.join(tmp, "valid"), base + cfg + ["--evaluate-on", "validation"])
        ev = j["evaluation"]
        score = ev["sampled"]["itemcf"]["NDCG@10"]
        print(f"  k={k:<4} {sim:<8} shrinkage={shrink:<3} recency-decay={decay:<4} validation: "
              f"sampled NDCG@10 {score:.4f} HR@10 {ev['sampled']['itemcf']['HR@10']:.4f}, "
              f"full NDCG@10 {ev['full']['itemcf']['NDCG@10']:.4f}")
        if score > best_score:
            best, best_score = cfg, score
    print(f"  chosen on validation: {' '.join(best)}")
    j, wall, rss = train(a.ecps, os.path.join(tmp, "test"), base + best + ["--evaluate-on", "test"])
    ev = j["evaluation"]
    print(f"\n== test split ({int(ev['users'])} users; one run: {wall:.1f} s wall, {rss:.0f} MB peak)")
    print(f"  {'protocol':<8} {'metric':<8} {'itemcf':>8} {'popularity':>11} {'SASRec':>8}  itemcf/pop  itemcf-SASRec")
    for protocol in ("full", "sampled"):
        for metric in ("HR@10", "NDCG@10"):
            cf, pop = ev[protocol]["itemcf"][metric], ev[protocol]["popularity"][metric]
            sas = SASREC[metric] if protocol == "sampled" else None
            print(f"  {protocol:<8} {metric:<8} {cf:>8.4f} {pop:>11.4f} {sas if sas else '-':>8}  "
                  f"{cf / pop:>9.2f}x  {'%+.4f' % (cf - sas) if sas else '-':>12}")
    print(f"  catalogue coverage@10: itemcf {j['coverage']['itemcf']:.3f}, popularity {j['coverage']['popularity']:.4f}")
    print(f"  full metrics: {os.path.join(tmp, 'test', 'metrics.json')}")


def speed(a, tmp):
    synth = a.synthetic
    if not os.path.exists(synth):
        print(f"== generating {synth}")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_synthetic.py"), "--out", synth], check=True)
    print(f"== speed: top-20 cosine neighbours of every item, {synth}; median of {a.runs} runs")
    scipy_out = os.path.join(tmp, "scipy_neighbors.csv")
    # Rounds interleave the contenders so that each sees the same machine load.
    configs = [(1, 1), (1, 0), (2, 0), (4, 0)]  # (workers, threads; 0 = all cores)
    names = ["scipy X^T X + top-20 (1 thread)"] + [
        f"ecps itemcf, {w} worker(s), {'1 thread' if t == 1 else 'all cores'}" for w, t in configs]
    runs = {n: ([], [], []) for n in names}
    print(f"  load average before: {os.getloadavg()[0]:.2f}")
    for r in range(a.runs):
        out, wall, rss = timed(["/usr/bin/python3", os.path.join(HERE, "scipy_topk.py"), "--train", synth, "-k", "20"]
                               + (["--out", scipy_out] if r == 0 else []))
        for lst, v in zip(runs[names[0]], (json.loads(out.strip().splitlines()[-1])["similarity_s"], wall, rss)):
            lst.append(v)
        for (w, t), name in zip(configs, names[1:]):
            j, wall, rss = train(a.ecps, os.path.join(tmp, f"ecps_w{w}"),
                                 ["--train", synth, "--neighbors", "20", "--similarity", "cosine", "-n", "0",
                                  "--save-model", "false", "--local", "--servers", "1", "--workers", str(w),
                                  "--threads", str(t)])
            for lst, v in zip(runs[name], (j["timings"]["similarity_s"], wall, rss)):
                lst.append(v)
    print(f"  load average after: {os.getloadavg()[0]:.2f}")
    rows = [(n, *(statistics.median(v) for v in runs[n])) for n in names]
    scipy = rows[0][1:]
    print(f"  {'':<44} {'similarity s':>12} {'process s':>10} {'peak MB':>8}  {'vs scipy: time':>14} {'memory':>7}")
    for name, sim, wall, rss in rows:
        print(f"  {name:<44} {sim:>12.2f} {wall:>10.2f} {rss:>8.0f}  {scipy[0] / sim:>13.1f}x {scipy[2] / rss:>6.1f}x")
    # The two neighbour lists agree (scipy computes in float32, so near-ties may differ).
    def load(path):
        lists = {}
        with open(path) as f:
            next(f)
            for line in f:
                e, n, _ = line.rstrip("\n").split(",")
                lists.setdefault(e, set()).add(n)
        return lists
    ours, theirs = load(os.path.join(tmp, "ecps_w1", "neighbors.csv")), load(scipy_out)
    same = sum(len(ours.get(e, set()) & s) for e, s in theirs.items())
    total = sum(len(s) for s in theirs.values())
    print(f"  neighbour lists shared with scipy: {same / total:.4f} of {total} (1 worker)")
    print("  'similarity s': scipy = product + selection on a loaded matrix; ecps = matrix pushed to the servers, "
          "blocks pulled, computed and merged (metrics.json timings.similarity_s). 'process s' includes reading "
          "the file.")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--games", default=os.path.join(ROOT, "..", "shared", "data", "amazon-videogames-sasrec", "Video.txt"))
    ap.add_argument("--synthetic", default=os.path.join(tempfile.gettempdir(), "ecps_cf_synth_5m.txt"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--speed", action="store_true")
    a = ap.parse_args()
    both = not a.quality and not a.speed
    with tempfile.TemporaryDirectory(prefix="ecps_cf_bench_") as tmp:
        if a.quality or both:
            quality(a, tmp)
        if a.speed or both:
            speed(a, tmp)


if __name__ == "__main__":
    main()
