#!/usr/bin/python3
"""Single-process reference of `ecps train mf --task rating` in NumPy/SciPy: the same model
(models/mf/mf_job.h), for quality and time per iteration beside ecps.

Reads `user,item,rating` rows (comma, tab or space separated; a first line without a
number in its third field is a header), keeps the last rating of a repeated (user, item),
holds out each rating with probability --holdout (numpy's generator under --seed; not
ecps's hash, so the split, like the initial factors, differs from ecps's run by run), keeps
users with fewer than 3 ratings in training, and fits:

  rating = mu + b_u + b_i + x_u . y_i, clipped to the training ratings' range,
  mu the training mean, b_i = sum (r - mu) / (25 + n_i), b_u = sum (r - mu - b_i) / (10 + n_u)
  (Koren's baseline, fixed), and the factors by ALS on the residuals of the observed ratings:
  (lambda n_u I + Y_u^T Y_u) x_u = Y_u^T e_u, then the same for every item from X.

Prints one JSON line: held-out RMSE/MAE of the model, the global mean and the biases, the
seconds of each iteration and the load seconds.

  /usr/bin/python3 bench/mf/numpy_explicit_als.py --data ratings.csv
"""
import argparse
import json
import time

import numpy as np
import scipy.linalg
import scipy.sparse as sp


def load(path):
    users, items, last = {}, {}, {}
    with open(path) as f:
        for n, line in enumerate(f):
            parts = line.replace(",", " ").replace("\t", " ").split()
            if len(parts) < 3:
                continue
            try:
                r = float(parts[2])
            except ValueError:
                if n == 0:
                    continue
                raise
            u = users.setdefault(parts[0], len(users))
            i = items.setdefault(parts[1], len(items))
            last[(u, i)] = r
    keys = np.array(list(last.keys()), dtype=np.int64).reshape(-1, 2)
    return keys[:, 0], keys[:, 1], np.array(list(last.values())), len(users), len(items)


def solve_side(m, y, reg):
    """Each row of the residual matrix m (CSR) solved against the factors y of the other side."""
    f = y.shape[1]
    x = np.zeros((m.shape[0], f))
    indptr, indices, data = m.indptr, m.indices, m.data
    eye = np.eye(f)
    for r in range(m.shape[0]):
        b, e = indptr[r], indptr[r + 1]
        if b == e:
            continue
        yu = y[indices[b:e]]
        a = yu.T @ yu + reg * (e - b) * eye
        x[r] = scipy.linalg.solve(a, yu.T @ data[b:e], assume_a="pos", check_finite=False)
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--factors", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--regularization", type=float, default=0.1)
    ap.add_argument("--holdout", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    t0 = time.perf_counter()
    u, i, r, n_users, n_items = load(a.data)
    rng = np.random.default_rng(a.seed)
    test = rng.random(len(r)) < a.holdout
    counts = np.bincount(u, minlength=n_users)
    test &= counts[u] >= 3
    # A user's last training rating stays in training.
    train_left = np.bincount(u[~test], minlength=n_users)
    for k in np.flatnonzero(test):
        if train_left[u[k]] == 0:
            test[k] = False
            train_left[u[k]] += 1
    tr = ~test
    mu = r[tr].mean()
    lo, hi = r[tr].min(), r[tr].max()
    n_i = np.bincount(i[tr], minlength=n_items)
    b_i = np.bincount(i[tr], weights=r[tr] - mu, minlength=n_items) / (25.0 + n_i)
    n_u = np.bincount(u[tr], minlength=n_users)
    b_u = np.bincount(u[tr], weights=r[tr] - mu - b_i[i[tr]], minlength=n_users) / (10.0 + n_u)
    e = r[tr] - mu - b_u[u[tr]] - b_i[i[tr]]
    m = sp.csr_matrix((e, (u[tr], i[tr])), shape=(n_users, n_items))
    mt = m.T.tocsr()
    load_s = time.perf_counter() - t0
    y = (rng.random((n_items, a.factors)) - 0.5) / np.sqrt(a.factors)
    seconds = []
    for _ in range(a.iterations):
        t = time.perf_counter()
        x = solve_side(m, y, a.regularization)
        y = solve_side(mt, x, a.regularization)
        seconds.append(time.perf_counter() - t)
    ut, it, rt = u[test], i[test], r[test]
    preds = {
        "mf": np.clip(mu + b_u[ut] + b_i[it] + np.einsum("ij,ij->i", x[ut], y[it]), lo, hi),
        "global_mean": np.full(len(rt), mu),
        "biases": np.clip(mu + b_u[ut] + b_i[it], lo, hi),
    }
    out = {"users": n_users, "items": n_items, "ratings": int(len(r)), "held_out": int(len(rt)),
           "load_s": load_s, "iteration_s": seconds}
    for name, p in preds.items():
        out[name] = {"rmse": float(np.sqrt(np.mean((p - rt) ** 2))), "mae": float(np.mean(np.abs(p - rt)))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
