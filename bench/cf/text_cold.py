#!/usr/bin/python3
"""Cold items with item text: `ecps train itemcf --item-text` against the popularity fallback.

Data: `ecps generate` (seeded) with every tenth item made new: all its interactions are
removed except those that are a user's last one, which leave-last-out holds out as test
targets, so the item has no training interaction (cold) and is the target of some users.
Runs (`--split leave-last-out --content-blend B`, otherwise defaults, `--local`):
  none        no content: a cold item can only come from popularity filling (never: it has no
              training count), i.e. the popularity fallback
  attributes  --item-attributes items.csv
  text        --item-text item_text.csv --text-columns title,description
  both        both files (--text-weight 0.5)
HR@10 from recommendations.csv, for the users whose test item is cold and for the others,
(the training items of every evaluated user excluded, as training does), and the share of
the cold items' first 10 content neighbours in their own category (items.csv). Time of the text step: ingest_s +
similarity_s of metrics.json (reading, TF-IDF and the content blocks happen there), text
minus none, medians of --runs runs, rounds alternating the order of the runs.

  /usr/bin/python3 bench/cf/text_cold.py --ecps build/ecps            # 20000 users, 5000 items
  /usr/bin/python3 bench/cf/text_cold.py --users 2000 --items 500 --runs 1   # a quick check
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import tempfile


def make_data(ecps, folder, users, items, seed):
    shop = os.path.join(folder, "shop")
    subprocess.run([ecps, "generate", "--out", shop, "--users", str(users), "--items", str(items),
                    "--seed", str(seed), "-q"], check=True)
    with open(os.path.join(shop, "interactions.csv")) as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    last = {}
    for n, (user, _, _) in enumerate(rows):
        last[user] = n  # rows are per user in time order
    cold = {f"i{i:05d}" for i in range(1, items + 1, 10)}
    kept = [(n, r) for n, r in enumerate(rows) if r[1] not in cold or last[r[0]] == n]
    count = {}
    for _, r in kept:
        count[r[0]] = count.get(r[0], 0) + 1
    # Users under --min-user-interactions (3) are not split: their rows of cold items go.
    kept = [(n, r) for n, r in kept if count[r[0]] >= 3 or r[1] not in cold]
    targets = {r[0]: r[1] for n, r in kept if last[r[0]] == n and count[r[0]] >= 3}
    kept = [r for _, r in kept]
    path = os.path.join(folder, "interactions.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(kept)
    return shop, path, cold, targets


def hit_rates(out, cold, targets, k=10):
    top = {}
    with open(os.path.join(out, "recommendations.csv")) as f:
        for row in list(csv.reader(f))[1:]:
            top.setdefault(row[0], []).append(row[1])
    hits = {True: [0, 0], False: [0, 0]}
    for user, item in targets.items():
        h = hits[item in cold]
        h[0] += item in top.get(user, [])[:k]
        h[1] += 1
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    t = m["timings"]
    return hits, t["ingest_s"] + t["similarity_s"], m


def same_category(out, shop, cold, k=10):
    """Share of the cold items' first k content neighbours (what `ecps similar` answers for
    them) in the item's own category (items.csv, the planted truth)."""
    path = os.path.join(out, "content_neighbors.csv")
    if not os.path.exists(path):
        return None
    with open(os.path.join(shop, "items.csv")) as f:
        cat = {r[0]: r[1] for r in list(csv.reader(f))[1:]}
    seen, same = {}, 0
    with open(path) as f:
        for item, neighbor, _ in list(csv.reader(f))[1:]:
            if item in cold and seen.get(item, 0) < k:
                seen[item] = seen.get(item, 0) + 1
                same += cat[item] == cat[neighbor]
    return same / max(1, sum(seen.values()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecps", default="build/ecps")
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--blend", type=float, default=0.3)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        shop, train, cold, targets = make_data(a.ecps, folder, a.users, a.items, a.seed)
        n_cold = sum(1 for i in targets.values() if i in cold)
        print(f"{a.users} users, {a.items} items, {len(cold)} made cold; {len(targets)} test "
              f"users, {n_cold} with a cold target")
        configs = {
            "none": [],
            "attributes": ["--item-attributes", os.path.join(shop, "items.csv")],
            "text": ["--item-text", os.path.join(shop, "item_text.csv"),
                     "--text-columns", "title,description"],
        }
        configs["both"] = configs["attributes"] + configs["text"]
        times = {c: [] for c in configs}
        result = {}
        for r in range(a.runs):
            order = list(configs) if r % 2 == 0 else list(reversed(configs))
            for c in order:
                out = os.path.join(folder, c)
                subprocess.run([a.ecps, "train", "itemcf", "--train", train, "--split",
                                "leave-last-out", "--content-blend", str(a.blend), "--local",
                                "-q", "--out", out] + configs[c], check=True)
                hits, seconds, m = hit_rates(out, cold, targets)
                times[c].append(seconds)
                result[c] = (hits, same_category(out, shop, cold))
        print(f"--content-blend {a.blend}, HR@10 from recommendations.csv; ingest + similarity s "
              f"median of {a.runs}")
        print("| run | HR@10 cold targets | HR@10 warm targets | cold items' neighbours in "
              "their category | ingest + similarity s |")
        print("|---|---|---|---|---|")
        for c in configs:
            hits, same = result[c]
            hr = {w: hits[w][0] / max(1, hits[w][1]) for w in (True, False)}
            print(f"| {c} | {hr[True]:.4f} ({hits[True][0]}/{hits[True][1]}) | "
                  f"{hr[False]:.4f} | {'-' if same is None else f'{same:.3f}'} | "
                  f"{statistics.median(times[c]):.3f} |")
        print(f"text step: {statistics.median(times['text']) - statistics.median(times['none']):.3f}"
              " s (text minus none)")


if __name__ == "__main__":
    main()
