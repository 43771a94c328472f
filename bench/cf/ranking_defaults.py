#!/usr/bin/python3
"""Which CF settings rank well by default (issue 16, point 7): top-10 lists of `ecps train
itemcf|usercf` against the popularity baseline, leave-last-out, full ranking (HR@10, NDCG@10
of the held-out next item among all unseen items).

Data sets: `ecps generate --ratings` (a rating file: user_id,item_id,rating,timestamp; the
seeded synthetic shop, --users/--items) and, when ../shared/data is there, Amazon Games
(implicit, file order). Each configuration is run on the validation split (the second-to-last
item; the last is dropped) and on the test split; choose on validation, read test.
`--ecps` may name an older binary to measure the defaults before a change.

  /usr/bin/python3 bench/cf/ranking_defaults.py
  /usr/bin/python3 bench/cf/ranking_defaults.py --configs defaults --ecps /tmp/ecps_before
"""
import argparse
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AMAZON = os.path.join(ROOT, "..", "shared", "data", "amazon-videogames-sasrec", "Video.txt")

# name -> extra options of `ecps train itemcf` (usercf: the name starts with "usercf").
CONFIGS = {
    "defaults": [],
    "explicit-average": ["--feedback", "explicit", "--scoring", "average"],
    "explicit-sum": ["--feedback", "explicit", "--scoring", "sum"],
    "implicit": ["--feedback", "implicit"],
    "implicit-k50": ["--feedback", "implicit", "--neighbors", "50"],
    "implicit-d0.9": ["--feedback", "implicit", "--recency-decay", "0.9"],
    "implicit-d0.9-k50": ["--feedback", "implicit", "--recency-decay", "0.9", "--neighbors", "50"],
    "implicit-d0.7-k50": ["--feedback", "implicit", "--recency-decay", "0.7", "--neighbors", "50"],
    "usercf-defaults": [],
    "usercf-explicit-average": ["--feedback", "explicit", "--scoring", "average"],
}


def run(a, data, config, on, out):
    kind = "usercf" if config.startswith("usercf") else "itemcf"
    extra = CONFIGS[config]
    if data == AMAZON and "explicit" in extra:
        return None  # no ratings in that file
    cmd = [a.ecps, "train", kind, "--train", data, "--out", out, "--local", "--workers", "1", "-q",
           "--split", "leave-last-out", "--evaluate-on", on, "-n", "0", "--save-model", "false",
           "--write-neighbors", "false"] + extra
    subprocess.run(cmd, check=True)
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    full = m["evaluation"]["full"]
    return m["config"].get("feedback"), m["config"].get("scoring"), full[kind], full["popularity"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--generator", default=os.path.join(ROOT, "build", "ecps"),
                    help="the ecps that runs `generate --ratings`")
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecps_cf_defaults_") as tmp:
        shop = os.path.join(tmp, "shop")
        subprocess.run([a.generator, "generate", "--out", shop, "--ratings", "--users", str(a.users),
                        "--items", str(a.items), "-q"], check=True)
        sets = [("generated ratings", os.path.join(shop, "interactions.csv"))]
        if os.path.exists(AMAZON):
            sets.append(("Amazon Games", AMAZON))
        print(f"{'data':<18} {'config':<24} {'split':<10} {'feedback/scoring':<18} "
              f"{'HR@10':>7} {'pop':>7} {'x pop':>6} {'NDCG@10':>8} {'pop':>7} {'x pop':>6}")
        for name, data in sets:
            for config in a.configs.split(","):
                for on in ("validation", "test"):
                    r = run(a, data, config, on, os.path.join(tmp, "out"))
                    if r is None:
                        continue
                    fb, sc, model, pop = r
                    hr, phr, nd, pnd = model["HR@10"], pop["HR@10"], model["NDCG@10"], pop["NDCG@10"]
                    print(f"{name:<18} {config:<24} {on:<10} {fb + '/' + sc:<18} {hr:>7.4f} {phr:>7.4f} "
                          f"{hr / phr:>6.2f} {nd:>8.4f} {pnd:>7.4f} {nd / pnd:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
