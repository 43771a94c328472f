#!/usr/bin/python3
"""Bytes on the wire: what each model sends, beside the minimum its algorithm needs.

Run from the repository root after building ecps: /usr/bin/python3 bench/wire/wire_bench.py

Makes a seeded synthetic shop once in --work (`ecps generate`), then runs `ecps train kmeans`,
`ecps train lr` and `ecps train itemcf` under mpirun with every (servers, workers) of
--servers x --workers and reads the "transport" object of each run's metrics.json (every
rank's counts, gathered at the scheduler at the end of the work phase; a message counts its
80-byte header plus its keys, values and control parts). Printed per run: the bytes and
messages of the whole job (kv = push/pull/replies/clock messages, control = models' payloads
and collectives, system = barriers, heartbeats), and the minimum the algorithm needs:

  lr      touched keys x (8-byte key + 4-byte value), twice per clock (push, and pull
          request + reply): (pushed rows + pulled rows) x 12 bytes
  kmeans  k x (d + 1) 8-byte values per worker per iteration (its partial sums and count)
  itemcf  the top-k lists, once: neighbour slots x (4-byte id + 4-byte score)

The ratio is the job's bytes over that minimum. Byte counts do not depend on timing except
heartbeats (system), so one run per configuration is enough.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")


def model_args(model, shop, k):
    if model == "kmeans":
        return ["train", "kmeans", "--data", f"{shop}/users.csv", "--id-column", "user_id",
                "--features", "age,purchase_frequency,rating", "-k", str(k), "--max-iter", "20"]
    if model == "lr":
        return ["train", "lr", "--train", f"{shop}/impressions.libsvm", "--epochs", "2"]
    return ["train", "itemcf", "--train", f"{shop}/interactions.csv", "-k", "20"]


def minimum(model, m, workers, k):
    t = m["transport"]
    if model == "lr":
        return (t["kv_rows"]["pushed"] + t["kv_rows"]["pulled"]) * 12, "touched keys x 12 B x 2"
    if model == "kmeans":
        d = len(m["features"])
        return m["iterations"] * workers * k * (d + 1) * 8, "iterations x W x k(d+1) x 8 B"
    sim = m["similarity"]
    slots = round(sim["entities_with_neighbors"] * sim["mean_neighbors"])
    return slots * 8, "neighbour slots x 8 B"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "ecps-wire-bench"))
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--servers", default="1,2")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--models", default="kmeans,lr,itemcf")
    ap.add_argument("-k", type=int, default=16, help="k-means clusters")
    a = ap.parse_args()
    shop = os.path.join(a.work, f"shop-{a.users}-{a.items}")
    if not os.path.exists(os.path.join(shop, "users.csv")):
        run([a.ecps, "generate", "--out", shop, "--users", str(a.users), "--items", str(a.items), "-q"])
    print(f"shop: {a.users} users, {a.items} items ({shop}); bytes in KB (1000 B)")
    print(f"{'model':7} {'S':>2} {'W':>2} {'total':>10} {'kv':>10} {'control':>9} {'system':>8} "
          f"{'messages':>9} {'kv/clock':>9} {'minimum':>10} {'ratio':>7}  minimum is")
    for model in a.models.split(","):
        for s in map(int, a.servers.split(",")):
            for w in map(int, a.workers.split(",")):
                out = os.path.join(a.work, f"{model}-s{s}-w{w}")
                run(["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(1 + s + w), a.ecps]
                    + model_args(model, shop, a.k) + ["--servers", str(s), "--out", out, "-q"])
                with open(os.path.join(out, "metrics.json")) as f:
                    m = json.load(f)
                t = m["transport"]
                kinds = t["sent_by_kind"]
                lo, what = minimum(model, m, w, a.k)
                per_clock = t.get("kv_per_clock", {}).get("bytes", {}).get("median", 0)
                print(f"{model:7} {s:>2} {w:>2} {t['sent']['bytes'] / 1e3:>10.1f} "
                      f"{kinds['kv']['bytes'] / 1e3:>10.1f} {kinds['control']['bytes'] / 1e3:>9.1f} "
                      f"{kinds['system']['bytes'] / 1e3:>8.1f} {t['sent']['messages']:>9} "
                      f"{per_clock / 1e3:>9.1f} {lo / 1e3:>10.1f} {t['sent']['bytes'] / max(lo, 1):>7.2f}  {what}",
                      flush=True)


if __name__ == "__main__":
    main()
