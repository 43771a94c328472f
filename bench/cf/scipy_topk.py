#!/usr/bin/python3
"""The scipy peer of `ecps train itemcf`: top-k cosine neighbours of every item.

Loads a `user item` file into a CSR matrix X (users x items, binary), then times exactly
the similarity work: S = X^T X (sparse), cosine normalisation, diagonal removed, and the
top-k of each row (argpartition). Prints one JSON line: load_s, similarity_s, items, and
a checksum of the neighbour lists (for comparing with ecps's neighbors.csv).

  /usr/bin/python3 bench/cf/scipy_topk.py --train /tmp/synth.txt -k 20
"""
import argparse
import json
import time

import numpy as np
import scipy.sparse as sp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("-k", type=int, default=20)
    ap.add_argument("--out", help="write item,neighbor,score lines here")
    a = ap.parse_args()
    t0 = time.perf_counter()
    data = np.loadtxt(a.train, dtype=np.int64)
    users, items = np.unique(data[:, 0], return_inverse=True)[1], np.unique(data[:, 1], return_inverse=True)
    item_ids, items = items
    n_users, n_items = users.max() + 1, item_ids.size
    X = sp.csr_matrix((np.ones(len(data), dtype=np.float32), (users, items)), shape=(n_users, n_items))
    X.sum_duplicates()
    X.data[:] = 1.0
    del data, users
    load_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    norms = np.sqrt(np.asarray(X.sum(axis=0)).ravel())
    Xn = (X @ sp.diags((1.0 / np.maximum(norms, 1e-12)).astype(np.float32))).tocsr()
    S = Xn.T @ Xn  # CSC; symmetric, so column r is row r (no conversion needed)
    del Xn
    top_ids = np.full((n_items, a.k), -1, dtype=np.int64)
    top_sc = np.zeros((n_items, a.k), dtype=np.float32)
    indptr, indices, vals = S.indptr, S.indices, S.data
    for r in range(n_items):
        b, e = indptr[r], indptr[r + 1]
        if b == e:
            continue
        v = vals[b:e]
        c = indices[b:e]
        keep = c != r  # the diagonal
        v, c = v[keep], c[keep]
        if v.size == 0:
            continue
        if v.size > a.k:
            part = np.argpartition(-v, a.k - 1)[: a.k]
            v, c = v[part], c[part]
        order = np.lexsort((c, -v))
        top_ids[r, : len(order)] = c[order]
        top_sc[r, : len(order)] = v[order]
    sim_s = time.perf_counter() - t1
    if a.out:
        with open(a.out, "w") as f:
            f.write("item,neighbor,score\n")
            for r in range(n_items):
                for t in range(a.k):
                    if top_ids[r, t] < 0:
                        break
                    f.write(f"{item_ids[r]},{item_ids[top_ids[r, t]]},{top_sc[r, t]:.6g}\n")
    print(json.dumps({"load_s": round(load_s, 3), "similarity_s": round(sim_s, 3), "items": int(n_items),
                      "nnz_similarity": int(S.nnz), "with_neighbors": int((top_ids[:, 0] >= 0).sum())}))


if __name__ == "__main__":
    main()
