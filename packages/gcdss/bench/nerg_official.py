#!/usr/bin/env python3
"""numpy / scikit-learn NeRG-MaskCA for bench/cluster.mjs: the official algorithm (spec gcdss.md §4) written the way
the released code computes it (dense dot-product similarities, top-(k+1) per unlabelled mask, vectorised Phase A /
Phase B, scikit-learn KMeans with sample_weight on the candidates), with the spec §11 fixes so that its output can be
compared with the TypeScript result.

usage: python3 nerg_official.py DIR K NOVEL SEED   (DIR holds features.npy float32 [M,D], areas.npy, labels.npy)
Writes DIR/py_assign.npy and prints one JSON line of timings (seconds).
"""
import json
import sys
import time

import numpy as np
from sklearn.cluster import KMeans

d, K, P, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
X = np.load(f"{d}/features.npy")
areas = np.load(f"{d}/areas.npy").astype(np.float64)
labels = np.load(f"{d}/labels.npy").astype(np.int64)
t0 = time.perf_counter()
X = X / np.linalg.norm(X, axis=1, keepdims=True)
unl = np.flatnonzero(labels < 0)
nU, M = len(unl), len(X)
nbrs = np.empty((nU, K), np.int64)
BS = 2048
for s in range(0, nU, BS):
    q = unl[s : s + BS]
    sim = X[q] @ X.T
    top = np.argpartition(-sim, K, axis=1)[:, : K + 1]
    ts = np.take_along_axis(sim, top, 1)
    top = np.take_along_axis(top, np.argsort(-ts, axis=1, kind="stable"), 1)
    for i, u in enumerate(q):
        row = top[i][top[i] != u][:K]
        nbrs[s + i] = row
t_knn = time.perf_counter() - t0

t1 = time.perf_counter()
B = int(labels.max()) + 1
a = K * 0.9 ** np.arange(K) / np.sum(0.9 ** np.arange(K))
lab = np.where(labels >= 0, labels, B)
w = np.where(labels >= 0, 1.0, 0.0)
rows = np.arange(nU)


def votes(L, W):
    v = np.zeros((nU, B + 1))
    for r in range(K):
        n = nbrs[:, r]
        v[rows, L[n]] += a[r] * W[n]
    return v, W[nbrs].sum(1)


for it in range(10):
    v, tot = votes(lab, w)
    c = v.argmax(1)
    vc = v[rows, c]
    ok = (tot > 0) & (vc >= 0.1 * K)
    nl, nw = lab.copy(), w.copy()
    nl[unl[ok]] = c[ok]
    nw[unl[ok]] = vc[ok] / K
    changed = np.any(nl != lab)
    lab, w = nl, nw
    if not changed:
        break
phaseA = lab[unl]
R = phaseA == B
wB = np.where(labels >= 0, 1.0, 0.0)
wB[unl[R]] = 1.0
v, tot = votes(lab, wB)
c = v.argmax(1)
novel = R | ((~R) & (tot > 0) & (c == B) & (v[rows, c] / K > 0.1))
cand = unl[novel]
t_prop = time.perf_counter() - t1

t2 = time.perf_counter()
km = KMeans(n_clusters=P, init="k-means++", n_init=1, random_state=seed, algorithm="lloyd")
km.fit(X[cand], sample_weight=areas[cand])
t_km = time.perf_counter() - t2
assign = labels.copy()
assign[unl] = phaseA
assign[cand] = B + km.labels_
np.save(f"{d}/py_assign.npy", assign)
print(json.dumps({"knn": t_knn, "propagation": t_prop, "kmeans": t_km, "total": time.perf_counter() - t0,
                  "candidates": int(len(cand)), "kmeansIter": int(km.n_iter_)}))
