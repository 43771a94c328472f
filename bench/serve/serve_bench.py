#!/usr/bin/env python3
"""Serving benchmark of `ecps serve`, loaded with wrk (Debian package `wrk`; not a test dependency).

Generates a shop with `ecps generate`, trains a CTR logistic regression on the users' CSV columns,
a k-means segmentation and an item-CF recommender with the project's binary, starts
`ecps serve --port 0` with all three, and loads it with wrk over keep-alive connections (Lua
scripts give the POST bodies; a Lua done() prints p50/p99/p99.9 from wrk's full histogram).

Each case runs at full load (enough connections to saturate the server) and at about half of
that throughput: wrk has no rate limit (wrk2 has), so the half-load runs delay each connection's
next request (Lua delay(), whole milliseconds) with as many connections as the full-load rate
asks for, and print the rate they reached. Figures are the median of --runs runs.

wrk shares the machine's cores with the server (and with whatever else runs): on a 2-core
machine the load generator takes a large part of the CPU. The CPU time the server and wrk spend
per request (from /proc and getrusage) is printed too: it depends little on other load, and
2 cores divided by it is the rate the machine gives when nothing else runs.

Usage: bench/serve/serve_bench.py [--ecps build/ecps] [--seconds 5] [--runs 3] [--work DIR]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HASH_BITS = 22  # train lr's default
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "p999_us": %d, '
    .. '"non2xx": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r.stdout


def lua_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_lua(path, target, body, delay_ms=0):
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write(f"wrk.path = {lua_quote(target)}\n")
        f.write(f"wrk.body = {lua_quote(body)}\n")
        if delay_ms:
            f.write(f"delay = function() return {delay_ms} end\n")
        f.write(DONE_LUA)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wrk(url, lua, connections, threads, seconds, server_pid):
    """One wrk run; with the CPU time the server and wrk spent per request (microseconds)."""
    server0, wrk0 = cpu_seconds(server_pid), children_cpu()
    out = run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
               "-s", lua, url])
    server_cpu, wrk_cpu = cpu_seconds(server_pid) - server0, children_cpu() - wrk0
    for line in out.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[len("RESULT "):])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            r["server_us"] = 1e6 * server_cpu / max(r["requests"], 1)
            r["wrk_us"] = 1e6 * wrk_cpu / max(r["requests"], 1)
            return r
    sys.exit(f"wrk printed no RESULT line:\n{out}")


def median_run(url, lua, connections, threads, seconds, runs, server_pid):
    rs = [wrk(url, lua, connections, threads, seconds, server_pid) for _ in range(runs)]
    bad = sum(r["non2xx"] + r["socket_errors"] for r in rs)
    if bad:
        sys.exit(f"{bad} failed requests in {lua}")
    keys = ("rps", "p50_us", "p99_us", "p999_us", "server_us", "wrk_us")
    return {k: statistics.median(r[k] for r in rs) for k in keys}


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith(("VmRSS", "VmHWM"))}


def prepare(ecps, work, users, items):
    data = os.path.join(work, "data")
    run([ecps, "generate", "--out", data, "--users", str(users), "--items", str(items)])
    # A CTR table: the users' columns and a click label (as tests/serve does).
    with open(os.path.join(data, "users.csv")) as f:
        rows = [l.rstrip("\n").split(",") for l in f]
    with open(os.path.join(work, "ctr.csv"), "w") as f:
        f.write(",".join(rows[0]) + ",clicked\n")
        for r in rows[1:]:
            f.write(",".join(r) + f",{1 if float(r[3]) > 2.2 else 0}\n")
    trains = {
        "ctr": ["train", "lr", "--train", f"{work}/ctr.csv", "--format", "csv",
                "--label-column", "clicked", "--ignore-columns", "user_id",
                "--hash-bits", str(HASH_BITS)],
        "seg": ["train", "kmeans", "--data", f"{data}/users.csv", "--id-column", "user_id",
                "--features", "age,gender,purchase_frequency,rating", "--one-hot", "gender=F|M",
                "--k", "8", "--anomaly-scores"],
        "rec": ["train", "itemcf", "--train", f"{data}/interactions.csv"],
    }
    for name, args in trains.items():
        run([ecps] + args + ["--local", "-q", "--out", f"{work}/{name}"])
    header = rows[0]
    instances = []
    for r in rows[1:101]:
        inst = {}
        for k, v in zip(header, r):
            if k == "user_id":
                continue
            try:
                inst[k] = int(v) if v.isdigit() else float(v)
            except ValueError:
                inst[k] = v
        instances.append(inst)
    return instances, rows[1][0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ecps", default=os.path.join(ROOT, "build", "ecps"))
    ap.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    ap.add_argument("--runs", type=int, default=3, help="runs per case (the median is shown)")
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2, help="ecps serve --threads")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--connections", type=int, default=32, help="full load's connections")
    ap.add_argument("--cases", default="ctr1,ctr100,seg1,rec10")
    ap.add_argument("--work", help="folder for data and models (default: a temporary one)")
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("serve_bench needs wrk: apt-get install -y wrk (the Debian package `wrk`)")
    work = a.work or tempfile.mkdtemp(prefix="ecps_serve_bench_")
    os.makedirs(work, exist_ok=True)
    t0 = time.time()
    instances, user = prepare(a.ecps, work, a.users, a.items)
    print(f"data and models in {work} ({time.time() - t0:.1f} s)")

    one = json.dumps({"instances": instances[:1]})
    cases = {
        "ctr1": ("/v1/models/ctr:predict", one, 1, "CTR, 1 instance"),
        "ctr100": ("/v1/models/ctr:predict", json.dumps({"instances": instances}), 100,
                   "CTR, 100 instances"),
        "seg1": ("/v1/models/seg:segment", json.dumps({"instances": [
            {k: instances[0][k] for k in ("age", "gender", "purchase_frequency", "rating")}]}),
            1, "k-means segment, 1 user"),
        "rec10": ("/v1/models/rec:recommend", json.dumps({"user": user, "n": 10}), 1,
                  "item-CF recommend, n=10"),
    }
    server = subprocess.Popen(
        [a.ecps, "serve", "--port", "0", "--threads", str(a.threads), "--model", f"ctr={work}/ctr",
         "--model", f"seg={work}/seg", "--model", f"rec={work}/rec"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            sys.exit(f"ecps serve did not start: {line!r}")
        url = "http://" + line.split()[-1]
        rss_loaded = rss_kib(server.pid)
        print(f"{url}; ecps serve --threads {a.threads}; wrk -t{a.wrk_threads}; {a.seconds} s "
              f"per run, median of {a.runs}; cores: {os.cpu_count()} shared by wrk and the server")
        print(f"uptime: {run(['uptime']).strip()}", flush=True)
        rows = []
        for key in a.cases.split(","):
            target, body, per_request, title = cases[key]
            lua = os.path.join(work, f"{key}.lua")
            with open(os.path.join(work, f"{key}.json"), "w") as f:
                f.write(body)
            write_lua(lua, target, body)
            wrk(url, lua, a.connections, a.wrk_threads, 1, server.pid)  # warm-up
            full = median_run(url, lua, a.connections, a.wrk_threads, a.seconds, a.runs,
                              server.pid)
            # Half load: each connection waits `delay` ms after an answer; connections for
            # half the full rate at the full-load latency, corrected once by the rate reached.
            delay = 1
            per_conn = 1e6 / (delay * 1000 + full["p50_us"])
            conns = max(1, round(full["rps"] / 2 / per_conn))
            write_lua(lua, target, body, delay)
            probe = wrk(url, lua, conns, a.wrk_threads, 2, server.pid)
            conns = max(1, round(conns * full["rps"] / 2 / max(probe["rps"], 1)))
            half = median_run(url, lua, conns, a.wrk_threads, a.seconds, a.runs, server.pid)
            for load, r, c in (("full", full, a.connections), ("half", half, conns)):
                rows.append((title, load, c, r, per_request))
                print(f"  {title:26s} {load}: {r['rps']:9.0f} req/s  {r['rps'] * per_request:10.0f}"
                      f" inst/s  p50 {r['p50_us'] / 1e3:.3f}  p99 {r['p99_us'] / 1e3:.3f}  "
                      f"p99.9 {r['p999_us'] / 1e3:.3f} ms  ({c} conns); CPU per request: server "
                      f"{r['server_us']:.1f} us, wrk {r['wrk_us']:.1f} us", flush=True)
        rss = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The process without models worth counting: the binary, its libraries, its threads.
    small = subprocess.Popen([a.ecps, "serve", "--port", "0", "--threads", str(a.threads),
                              "--model", f"seg={work}/seg"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    small.stdout.readline()
    rss_small = rss_kib(small.pid)
    small.terminate()
    small.wait(timeout=30)
    handler = os.path.join(os.path.dirname(os.path.abspath(a.ecps)), "bench", "serve",
                           "serve_handler_bench")
    if os.path.exists(handler):
        print("\nThe handler alone (serve::HandleRequest in one thread, no network; "
              "serve_handler_bench):")
        args = [handler, f"ctr={work}/ctr", f"seg={work}/seg", f"rec={work}/rec", "--"]
        for key in a.cases.split(","):
            target, _, per_request, _ = cases[key]
            args.append(f"{target[len('/v1/models/'):]}={work}/{key}.json*{per_request}")
        print(run(args), end="")
    # CPU time per request does not depend much on what else runs: 2 cores divided by the
    # server's and wrk's CPU per request is the rate the machine would give without them.
    print()
    print("| request | load | connections | requests/s | instances/s | p50 ms | p99 ms | p99.9 ms "
          "| server CPU us/req | wrk CPU us/req | 2 cores / CPU per req |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for title, load, c, r, n in rows:
        print(f"| {title} | {load} | {c} | {r['rps']:,.0f} | {r['rps'] * n:,.0f} | "
              f"{r['p50_us'] / 1e3:.3f} | {r['p99_us'] / 1e3:.3f} | {r['p999_us'] / 1e3:.3f} | "
              f"{r['server_us']:.1f} | {r['wrk_us']:.1f} | "
              f"{2e6 / (r['server_us'] + r['wrk_us']):,.0f} req/s |")
    print()
    files = {m: sum(os.path.getsize(f"{work}/{m}/{f}") for f in os.listdir(f"{work}/{m}")
                    if f.startswith("model.")) for m in ("ctr", "seg", "rec")}
    print(f"model files: {sum(files.values()) / 2**20:.2f} MiB (ctr {files['ctr'] / 2**10:.1f} KiB, "
          f"seg {files['seg'] / 2**10:.1f} KiB, rec {files['rec'] / 2**20:.2f} MiB); the ctr "
          f"model's dense weights in memory (as `ecps predict` builds them): "
          f"{4 * 2**HASH_BITS / 2**20:.0f} MiB (2^{HASH_BITS} floats)")
    print(f"server RSS after loading {rss_loaded['VmRSS'] / 1024:.1f} MiB, after the runs "
          f"{rss['VmRSS'] / 1024:.1f} MiB (peak {rss['VmHWM'] / 1024:.1f} MiB); with the "
          f"k-means model alone {rss_small['VmRSS'] / 1024:.1f} MiB")
    print(f"uptime at the end: {run(['uptime']).strip()}")
    if not a.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
