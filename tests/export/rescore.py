#!/usr/bin/python3
"""Scores a data file from an `ecps export` alone (no ecps code) and compares with ecps' own output.

  rescore.py lr|linreg EXPORT.json DATA PREDICT.csv     the JSON's transform and weights vs `ecps predict`
  rescore.py kmeans EXPORT.json DATA SEGMENT.csv        the JSON's encoding and centroids vs `ecps segment`
  rescore.py onnx-lr MODEL.onnx EXPORT.json DATA PREDICT.csv
  rescore.py onnx-kmeans MODEL.onnx EXPORT.json DATA SEGMENT.csv
                                                        the ONNX graph, run by the numpy interpreter below
  rescore.py cf EXPORT.json NEIGHBORS.csv               the JSON's neighbour lists vs neighbors.csv

Exits 1 with the first differences on a mismatch. Hashing is reimplemented from the JSON's
specification (constants read from it) and checked against its check_values first.
"""
import csv
import ctypes
import ctypes.util
import io
import json
import math
import sys

import numpy as np

M64 = (1 << 64) - 1
LIBM = ctypes.CDLL(ctypes.util.find_library("m"))
LIBM.expf.restype = ctypes.c_float
LIBM.expf.argtypes = [ctypes.c_float]
F32 = np.float32


def fail(msg):
    print("MISMATCH: " + msg)
    sys.exit(1)


class Hashing:
    def __init__(self, spec, buckets):
        self.c1 = int(spec["mix64"]["C1"], 16)
        self.c2 = int(spec["mix64"]["C2"], 16)
        self.offset = int(spec["string_hash"]["FNV_OFFSET"], 16)
        self.prime = int(spec["string_hash"]["FNV_PRIME"], 16)
        self.golden = int(spec["GOLDEN"], 16)
        self.category_seed = int(spec.get("CATEGORY_SEED", "0"), 16)
        self.buckets = buckets

    def mix64(self, k):
        k ^= k >> 33
        k = (k * self.c1) & M64
        k ^= k >> 33
        k = (k * self.c2) & M64
        return k ^ (k >> 33)

    def string_hash(self, value, seed):
        h = self.offset ^ self.mix64((seed + self.golden) & M64)
        for b in value.encode("utf-8"):
            h = ((h ^ b) * self.prime) & M64
        return self.mix64(h)

    def bucket(self, x):
        return (x * self.buckets) >> 64

    def index_key(self, index, hashed):
        return self.bucket(self.mix64(index ^ self.golden)) if hashed else index

    def field_index_key(self, field, index, hashed):
        if not hashed:
            return index
        return self.bucket(self.mix64(index ^ self.mix64((field + self.golden) & M64)))


def feature_rows(model, path):
    """(key, value) lists of every row of `path`, in file order, as the JSON specifies."""
    fs = model["features"]
    hashed = fs["hashed"]
    h = Hashing(fs["hashing"], fs["buckets"])
    for c in fs["hashing"]["check_values"]:  # the reimplementation agrees with ecps' parser
        if "column" in c:
            seed = next(int(x["seed"], 16) for x in fs["categorical_columns"] if x["column"] == c["column"])
            if h.string_hash(c["column"], h.category_seed) != seed:
                fail("column seed of %r" % c["column"])
            got = h.bucket(h.string_hash(c["value"], seed))
        elif "field" in c:
            got = h.field_index_key(c["field"], c["index"], hashed)
        else:
            got = h.index_key(c["index"], hashed)
        if got != c["key"]:
            fail("check value %r: key %d" % (c, got))
    bias = fs["bias_key"]
    rows = []
    if fs["format"] in ("libsvm", "libffm"):
        ffm = fs["format"] == "libffm"
        with open(path) as f:
            for line in f:
                tokens = line.split()
                if not tokens:
                    continue
                if ":" not in tokens[0]:
                    tokens = tokens[1:]
                row = []
                for t in tokens:
                    if t.startswith("#"):
                        break
                    parts = t.split(":")
                    v = F32(float(parts[-1]))
                    if ffm:
                        row.append((h.field_index_key(int(parts[0]), int(parts[1]), hashed), v))
                    else:
                        row.append((h.index_key(int(parts[0]), hashed), v))
                if bias is not None:
                    row.append((bias, F32(1)))
                rows.append(row)
        return rows
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=fs["delimiter"])
        header = [n.strip(" \t") for n in next(reader)]
        cats = [(header.index(c["column"]), int(c["seed"], 16)) for c in fs["categorical_columns"]]
        nums = [(header.index(c["column"]), c) for c in fs["numeric_columns"]]
        drop = fs.get("impute", {}).get("method") == "drop"
        for fields in reader:
            if not "".join(fields).strip(" \t"):
                continue
            row = [(h.bucket(h.string_hash(fields[i].strip(" \t"), seed)), F32(1)) for i, seed in cats]
            if bias is not None:
                row.append((bias, F32(1)))
            for i, c in nums:
                t = fields[i].strip(" \t")
                if not t and "fill" in c:  # --impute: the column's fill
                    t = c["fill"]
                elif not t:
                    if drop:  # --impute drop: not scored
                        row = None
                        break
                    continue
                x = float(F32(float(t)))
                if "mean" in c:
                    x = F32(((math.log1p(max(x, 0.0)) if c["log1p"] else x) - c["mean"]) * c["scale"])
                row.append((c["key"], F32(x)))
            rows.append(row)
    return rows


def lr_scores(model, rows):
    w = {e["key"]: e["weight"] for e in model["weights"]}
    out = []
    for row in rows:
        if row is None:  # a row that --impute drop leaves unscored
            out.append(float("nan"))
            continue
        if model["model"] == "lr":
            m = F32(0)
            for k, v in row:
                m = F32(m + F32(F32(w.get(k, 0.0)) * v))
            if m >= 0:
                p = F32(1) / (F32(1) + F32(LIBM.expf(float(-m))))
            else:
                e = F32(LIBM.expf(float(m)))
                p = e / (F32(1) + e)
            out.append(float(F32(p)))
        else:
            y = 0.0
            for k, v in row:
                y += w.get(k, 0.0) * float(v)
            out.append(y)
    return out


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def compare_predict(kind, scores, predict_path, rel, exact_text):
    lines = read_csv(predict_path)
    if lines[0][1] not in ("probability", "prediction") or len(lines) - 1 != len(scores):
        fail("%d predict rows, %d rescored" % (len(lines) - 1, len(scores)))
    bad = []
    for i, (line, s) in enumerate(zip(lines[1:], scores)):
        want = float(line[1])
        if math.isnan(want) or math.isnan(s):
            if not (math.isnan(want) and math.isnan(s)):
                bad.append("row %d: %r vs predict %s" % (i + 1, s, line[1]))
            continue
        text_ok = not exact_text or "%.8g" % s == line[1]
        if not text_ok or abs(s - want) > rel * max(abs(want), 1e-300):
            bad.append("row %d: %r vs predict %s" % (i + 1, s, line[1]))
    if bad:
        fail("%s: %d of %d rows differ; first: %s" % (kind, len(bad), len(scores), "; ".join(bad[:5])))
    print("%s: %d rows match" % (kind, len(scores)))


def kmeans_rows(model, path):
    inp = model["input"]
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=inp["delimiter"])
        header = [n.strip(" \t") for n in next(reader)]
        ids, xs = [], []
        for line_no, fields in enumerate(reader, start=2):
            if not "".join(fields).strip(" \t"):
                continue
            ids.append(str(line_no) if inp["id_column"] == "@line" else fields[header.index(inp["id_column"])].strip(" \t"))
            x = []
            for c in inp["columns"]:
                raw = fields[header.index(c["column"])].strip(" \t")
                if c["encoding"] == "numeric":
                    x.append(float(raw))
                elif c["encoding"] == "ordinal":
                    x.append(float(c["categories"].index(raw)))
                else:
                    x.extend(1.0 if raw == cat else 0.0 for cat in c["categories"])
            xs.append(x)
    return ids, np.array(xs, dtype=np.float64)


def compare_segment(kind, model, ids, labels, dists, segment_path):
    lines = read_csv(segment_path)[1:]
    if len(lines) != len(ids):
        fail("%s: %d segment rows, %d rescored" % (kind, len(lines), len(ids)))
    thr = model["anomaly_threshold"]
    bad = []
    for i, line in enumerate(lines):
        c = int(labels[i])
        d = float(dists[i])
        md = model["mean_distance"][c]
        score = d if model["score_kind"] == "distance" else (d / md if md > 0 else 0.0)
        anomaly = 1 if thr is not None and score >= thr else 0
        ok = (line[0] == ids[i] and int(line[1]) == c and int(line[4]) == anomaly and
              abs(d - float(line[2])) <= 1e-9 * max(abs(float(line[2])), 1e-300) and
              abs(score - float(line[3])) <= 1e-9 * max(abs(float(line[3])), 1e-300))
        if not ok:
            bad.append("row %d: %s,%d,%r,%r,%d vs segment %s" % (i + 1, ids[i], c, d, score, anomaly, ",".join(line)))
    if bad:
        fail("%s: %d of %d rows differ; first: %s" % (kind, len(bad), len(ids), "; ".join(bad[:5])))
    print("%s: %d rows match" % (kind, len(ids)))


def kmeans_from_json(model, x):
    n = model["normalizer"]
    fitted = x if n["kind"] == "none" else (x - np.array(n["shift"])) / np.array(n["scale"])
    c = np.array(model["centroids"])
    d = np.sqrt(np.array([[math.fsum((r - cr) ** 2) for cr in c] for r in fitted]))
    return np.argmin(d, axis=1), d[np.arange(len(d)), np.argmin(d, axis=1)]


def run_onnx(path, feeds):
    """A tiny interpreter of the ops ecps' graphs use, with numpy."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    env = dict(feeds)
    for t in m.graph.initializer:
        env[t.name] = numpy_helper.to_array(t)
    for node in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        x = [env[i] for i in node.input]
        op = node.op_type
        if op == "MatMul":
            y = np.matmul(x[0], x[1])
        elif op == "Sigmoid":
            y = (1 / (1 + np.exp(-x[0].astype(np.float64)))).astype(x[0].dtype)
        elif op in ("Add", "Sub", "Mul", "Div"):
            y = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op](x[0], x[1])
        elif op == "Unsqueeze":
            y = np.expand_dims(x[0], tuple(int(v) for v in x[1]))
        elif op == "ReduceSum":
            y = np.sum(x[0], axis=tuple(int(v) for v in x[1]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Sqrt":
            y = np.sqrt(x[0])
        elif op == "ArgMin":
            y = np.argmin(x[0], axis=a.get("axis", 0))
            if a.get("keepdims", 1):
                y = np.expand_dims(y, a.get("axis", 0))
            y = y.astype(np.int64)
        else:
            fail("op %s is not known to this interpreter" % op)
        env[node.output[0]] = y
    return [env[o.name] for o in m.graph.output]


def main(argv):
    mode = argv[1]
    if mode in ("lr", "linreg"):
        model = json.load(open(argv[2]))
        assert model["model"] == mode, model["model"]
        scores = lr_scores(model, feature_rows(model, argv[3]))
        # lr: predict prints float32 probabilities with 8 significant digits: the same text is
        # the same float32 up to that rounding; linreg prints 17 digits of a float64.
        compare_predict(mode, scores, argv[4], 1e-9 if mode == "linreg" else 5e-8, mode == "lr")
    elif mode == "kmeans":
        model = json.load(open(argv[2]))
        ids, x = kmeans_rows(model, argv[3])
        labels, dists = kmeans_from_json(model, x)
        compare_segment(mode, model, ids, labels, dists, argv[4])
    elif mode == "onnx-lr":
        model = json.load(open(argv[3]))
        rows = feature_rows(model, argv[4])
        x = np.zeros((len(rows), model["features"]["num_keys"]), dtype=np.float32)
        for i, row in enumerate(rows):
            for k, v in row:
                x[i, k] += v
        (p,) = run_onnx(argv[2], {"features": x})
        # float32 dot products summed in another order than predict's: |error| of a margin
        # of n terms below n * 2^-24 * sum |w x| (~1e-6 here), and the logistic's slope <= 1/4.
        compare_predict(mode, [float(v) for v in p[:, 0]], argv[5], 2e-6, False)
    elif mode == "onnx-kmeans":
        model = json.load(open(argv[3]))
        ids, x = kmeans_rows(model, argv[4])
        seg, dist = run_onnx(argv[2], {"features": x})
        compare_segment(mode, model, ids, seg, dist[np.arange(len(seg)), seg], argv[5])
    elif mode == "cf":
        model = json.load(open(argv[2]))
        lines = read_csv(argv[3])[1:]
        got = [(k, e["id"], e["score"]) for k, lst in model["neighbors"].items() for e in lst]
        want = [(l[0], l[1], float(l[2])) for l in lines]
        if sorted((a, b) for a, b, _ in got) != sorted((a, b) for a, b, _ in want):
            fail("cf: neighbour pairs differ (%d exported, %d in neighbors.csv)" % (len(got), len(want)))
        scores = {(a, b): s for a, b, s in got}
        bad = [w for w in want if abs(scores[(w[0], w[1])] - w[2]) > 5e-6 * max(abs(w[2]), 1e-30)]
        if bad:
            fail("cf: %d scores differ; first %r" % (len(bad), bad[:3]))
        print("cf: %d neighbour pairs match" % len(want))
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
