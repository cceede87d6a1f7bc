#!/usr/bin/env python3
"""numpy baseline for bench/slerpface.mjs: the official SlerpFace enrolment and matching written from the spec
(slerpface.md §A.3-A.4) in float64 numpy, as straightforwardly as the official scripts: enrolment loops over templates
(vectorised over groups); 1:N matching is vectorised over gallery chunks (the official gen_sim loops over pairs, which
would be far slower). Reads the inputs the bench wrote, prints one JSON line per task.

usage: slerpface_baseline.py DIR TASK   (TASK: protect | match)
"""
import json
import sys
import time

import numpy as np


def group_slerp(t, k, a):
    th = t / np.linalg.norm(t, axis=-1, keepdims=True)
    kh = k / np.linalg.norm(k, axis=-1, keepdims=True)
    theta = np.arccos(np.clip(np.sum(th * kh, axis=-1), -1, 1))[..., None]
    a = a[..., None]
    return (np.sin((1 - a) * theta) * th + np.sin(a * theta) * kh) / np.sin(theta), kh


def enrol(t, m, rng, alpha=0.9, rho=0.5, b=8):
    G, d = t.shape
    k = rng.standard_normal((G, d))
    p, kh = group_slerp(t, k, alpha - m)
    g = int(np.floor(b * rho))
    low = m < np.median(m)
    mask = np.ones((G, d))
    n_low, n_high = int(d * rho + g), int(d * rho - g)
    mask[np.repeat(np.nonzero(low)[0], n_low), rng.integers(0, d, size=low.sum() * n_low)] = 0
    mask[np.repeat(np.nonzero(~low)[0], n_high), rng.integers(0, d, size=(~low).sum() * n_high)] = 0
    pm = p * mask
    return m[:, None] * pm / np.linalg.norm(pm, axis=1, keepdims=True), kh


def match_chunk(P, K, q, mq, alpha=0.9):
    mask = (P != 0)
    qp, _ = group_slerp(np.broadcast_to(q, K.shape), K, np.broadcast_to(alpha - mq, K.shape[:2]))
    qm = qp * mask
    qm /= np.linalg.norm(qm, axis=-1, keepdims=True)
    return np.sum(qm * P, axis=(1, 2))


def main():
    d, task = sys.argv[1], sys.argv[2]
    if task == 'protect':
        T = np.load(f'{d}/templates.npy').astype(np.float64)
        W = np.load(f'{d}/weights.npy').astype(np.float64)
        rng = np.random.default_rng(1337)
        t0 = time.perf_counter()
        for i in range(len(T)):
            enrol(T[i], W[i], rng)
        dt = time.perf_counter() - t0
        print(json.dumps({'task': 'protect', 'n': len(T), 'seconds': dt}))
    else:
        P = np.load(f'{d}/gallery_p.npy').astype(np.float64)
        K = np.load(f'{d}/gallery_k.npy').astype(np.float64)
        q = np.load(f'{d}/probe.npy').astype(np.float64)
        mq = np.load(f'{d}/probe_w.npy').astype(np.float64)
        reps = int(sys.argv[3])
        chunk = 8192
        t0 = time.perf_counter()
        for _ in range(reps):
            s = np.concatenate([match_chunk(P[i:i + chunk], K[i:i + chunk], q, mq) for i in range(0, len(P), chunk)])
        dt = time.perf_counter() - t0
        print(json.dumps({'task': 'match', 'n': len(P) * reps, 'seconds': dt, 'scores': s[:200].tolist()}))


main()
