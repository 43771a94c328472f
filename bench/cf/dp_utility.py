#!/usr/bin/python3
"""Utility of private item-CF (`ecps train itemcf --dp-epsilon`, issue 12 point 8): recall@10
and NDCG@10 (full ranking, leave-last-out) at several ε against the non-private run with the
same settings and the popularity baseline, on the generated shop (`ecps generate`) and, when
../shared/data is there, on Amazon Video Games.

The catalogue (--dp-items) is every item of the interaction file: the shop's product list.
Each private configuration runs --runs times with fresh noise (no --dp-seed) and the median
is printed, with the lowest and highest run. δ is the default 1e-6; --dp-max-items the
default 50 unless --max-items is given.

  /usr/bin/python3 bench/cf/dp_utility.py
  /usr/bin/python3 bench/cf/dp_utility.py --data games --runs 3 --heartbeat-timeout 60
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AMAZON = os.path.join(ROOT, "..", "shared", "data", "amazon-videogames-sasrec", "Video.txt")


def catalogue(train, path):
    """Every item id of the interaction file, one per line (the header row skipped)."""
    items = set()
    with open(train) as f:
        first = True
        for line in f:
            parts = line.replace(",", " ").split()
            if len(parts) < 2:
                continue
            if first and not parts[1].isdigit() and parts[1] in ("item_id", "item"):
                first = False
                continue
            first = False
            items.add(parts[1])
    with open(path, "w") as f:
        f.write("\n".join(sorted(items)) + "\n")
    return len(items)


def run(a, train, out, extra):
    cmd = [a.ecps, "train", "itemcf", "--train", train, "--out", out, "--local", "--workers",
           str(a.workers), "--servers", str(a.servers), "-q", "--split", "leave-last-out",
           "--similarity", "cosine", "--neighbors", str(a.neighbors), "-n", "0",
           "--save-model", "false", "--write-neighbors", "false"] + extra
    if a.heartbeat_timeout:
        cmd += ["--heartbeat-timeout", str(a.heartbeat_timeout)]
    subprocess.run(cmd, check=True)
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    full = m["evaluation"]["full"]
    return full["itemcf"], full["popularity"], m.get("privacy", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--data", default="shop,games", help="shop, games or both (comma-separated)")
    ap.add_argument("--users", type=int, default=2000, help="ecps generate --users")
    ap.add_argument("--items", type=int, default=500, help="ecps generate --items")
    ap.add_argument("--epsilons", default="0.5,1,2,8")
    ap.add_argument("--runs", type=int, default=5, help="private runs per ε (median)")
    ap.add_argument("--neighbors", type=int, default=20)
    ap.add_argument("--max-items", type=int, default=0, help="--dp-max-items (0: the default)")
    ap.add_argument("--servers", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--heartbeat-timeout", type=float, default=0,
                    help="--heartbeat-timeout of the runs (0: ecps' default); a catalogue of "
                         "~24k items has a server finalize 140M noisy entries in one step")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ecps_dp_cf_")
    sets = []
    for name in a.data.split(","):
        if name == "shop":
            gen = os.path.join(tmp, "gen")
            subprocess.run([a.ecps, "generate", "--out", gen, "--users", str(a.users), "--items",
                            str(a.items), "--seed", "42"], check=True, stdout=subprocess.DEVNULL)
            sets.append(("shop", os.path.join(gen, "interactions.csv")))
        elif name == "games":
            if os.path.exists(AMAZON):
                sets.append(("amazon-games", AMAZON))
            else:
                print(f"skipped games: {os.path.dirname(AMAZON)} is missing")
    eps = [float(e) for e in a.epsilons.split(",")]
    for name, train in sets:
        cat = os.path.join(tmp, name + "_catalogue.txt")
        n_items = catalogue(train, cat)
        base, pop, _ = run(a, train, os.path.join(tmp, name + "_plain"), [])
        print(f"\n{name}: {train}, catalogue {n_items} items, {a.runs} private runs per epsilon "
              f"(median [min, max]), cosine, {a.neighbors} neighbours")
        print(f"{'run':<18}{'recall@10':>28}{'NDCG@10':>28}{'sigma':>9}")
        print(f"{'popularity':<18}{pop['recall@10']:>28.4f}{pop['NDCG@10']:>28.4f}")
        print(f"{'non-private':<18}{base['recall@10']:>28.4f}{base['NDCG@10']:>28.4f}")
        for e in eps:
            rec, ndcg, sigma = [], [], 0
            for r in range(a.runs):
                extra = ["--dp-epsilon", str(e), "--dp-items", cat]
                if a.max_items:
                    extra += ["--dp-max-items", str(a.max_items)]
                m, _, p = run(a, train, os.path.join(tmp, f"{name}_e{e}_{r}"), extra)
                rec.append(m["recall@10"])
                ndcg.append(m["NDCG@10"])
                sigma = p["sigma"]

            def cell(v):
                return f"{statistics.median(v):.4f} [{min(v):.4f}, {max(v):.4f}]"

            print(f"{'epsilon ' + str(e):<18}{cell(rec):>28}{cell(ndcg):>28}{sigma:>9.3f}")


if __name__ == "__main__":
    main()
