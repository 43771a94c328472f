#!/usr/bin/python3
"""Single-process reference of the weighted ALS that `ecps train mf` runs (Hu, Koren &
Volinsky 2008), in NumPy/SciPy, for timing against ecps.

Reads `user item` lines (the first two fields of each line; comma, tab or space separated,
no header), builds the binary user x item matrix (repeated pairs count once), and runs
--iterations iterations of: every user solved from Y, then every item solved from X, each
row from (G + lambda I + alpha Y_u^T Y_u) x = (1 + alpha) Y_u^T 1, G the other side's Gram
matrix (confidence 1 + alpha for an observed pair, 1 otherwise; preference 1 / 0) —
ecps's arithmetic (models/mf/als.h) with r = 1. Initial item factors uniform in
[0, 0.01) (implicit's), from numpy's generator under --seed (not ecps's hash, so the
factors are not comparable value by value). Prints one JSON line: the seconds of each
iteration, the load seconds, and the final training loss.

  /usr/bin/python3 bench/mf/numpy_als.py --data ../shared/data/amazon-videogames-sasrec/Video.txt
"""
import argparse
import json
import time

import numpy as np
import scipy.linalg
import scipy.sparse as sp


def load(path):
    users, items = {}, {}
    rows, cols = [], []
    with open(path) as f:
        for line in f:
            parts = line.replace(",", " ").replace("\t", " ").split()
            if len(parts) < 2:
                continue
            rows.append(users.setdefault(parts[0], len(users)))
            cols.append(items.setdefault(parts[1], len(items)))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(users), len(items)))
    m.data[:] = 1.0  # repeated pairs count once
    m.eliminate_zeros()
    return m


def solve_side(m, y, reg, alpha):
    """Each row of m solved against the factors y of the other side."""
    f = y.shape[1]
    gram = y.T @ y + reg * np.eye(f)
    x = np.zeros((m.shape[0], f))
    indptr, indices = m.indptr, m.indices
    for r in range(m.shape[0]):
        cols = indices[indptr[r]:indptr[r + 1]]
        if cols.size == 0:
            continue
        yu = y[cols]
        a = gram + alpha * (yu.T @ yu)
        b = (1.0 + alpha) * yu.sum(axis=0)
        x[r] = scipy.linalg.solve(a, b, assume_a="pos", check_finite=False)
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--factors", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--regularization", type=float, default=0.01)
    ap.add_argument("--alpha", type=float, default=40.0)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    t0 = time.perf_counter()
    m = load(a.data)
    mt = m.T.tocsr()
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(a.seed)
    y = rng.random((m.shape[1], a.factors)) * 0.01
    seconds = []
    for _ in range(a.iterations):
        t = time.perf_counter()
        x = solve_side(m, y, a.regularization, a.alpha)
        y = solve_side(mt, x, a.regularization, a.alpha)
        seconds.append(time.perf_counter() - t)
    # Training loss: sum c (p - x.y)^2 + lambda (|X|^2 + |Y|^2), the dense part by Gram matrices.

    obs = m.tocoo()
    xy = np.einsum("ij,ij->i", x[obs.row], y[obs.col])
    dense = np.sum((x.T @ x) * (y.T @ y))  # sum over all pairs of (x.y)^2
    loss = dense + np.sum((1 + a.alpha) * (1 - xy) ** 2 - xy ** 2) + a.regularization * (
        np.sum(x * x) + np.sum(y * y))

    print(json.dumps({"users": m.shape[0], "items": m.shape[1], "nnz": int(m.nnz), "load_s": load_s,
                      "iteration_s": seconds, "loss": float(loss)}))


if __name__ == "__main__":
    main()
