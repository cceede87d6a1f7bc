"""Baselines for bench/procal.mjs, on the arrays the bench wrote:

- proximity: FAISS IndexFlatL2 over the L2-normalised calibration features, K neighbours of each test row, then
  mean exp(-d^2) (the official code's recipe); the index build + search are timed, normalisation is not;
- Density-Ratio: statsmodels KDEMultivariate(var_type='cc', bw='normal_reference') on the correct and the wrong
  calibration samples, then s = f+ / max(f+ + gamma f-, 1e-10) on every test point (fit + pdf timed).

Prints one JSON line per baseline: name, seconds, and a slice of the results for an agreement check."""
import json
import sys
import time

import numpy as np

tmp, k, check = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
what = sys.argv[4:] or ['faiss', 'kde']

if 'faiss' in what:
    try:
        import faiss
    except ImportError:
        print(json.dumps({'name': 'faiss IndexFlatL2', 'skipped': True}))
    else:
        cal = np.load(f'{tmp}/cal.npy')
        test = np.load(f'{tmp}/test.npy')
        cal /= np.linalg.norm(cal, axis=1, keepdims=True)
        test /= np.linalg.norm(test, axis=1, keepdims=True)
        t0 = time.perf_counter()
        index = faiss.IndexFlatL2(cal.shape[1])
        index.add(cal)
        d, _ = index.search(test, k)
        t = time.perf_counter() - t0
        prox = np.exp(-d.astype(np.float64)).mean(1)
        print(json.dumps({'name': f'faiss {faiss.__version__} IndexFlatL2', 'seconds': t,
                          'threads': faiss.omp_get_max_threads(), 'check': prox[:check].tolist()}))

if 'kde' in what:
    try:
        from statsmodels.nonparametric.kernel_density import KDEMultivariate
        import statsmodels
    except ImportError:
        print(json.dumps({'name': 'statsmodels KDEMultivariate', 'skipped': True}))
    else:
        d = np.load(f'{tmp}/kde.npz')
        conf, prox, ok, qc, qp = d['conf'], d['prox'], d['correct'].astype(bool), d['qconf'], d['qprox']
        t0 = time.perf_counter()
        kc = KDEMultivariate(data=[conf[ok], prox[ok]], var_type='cc', bw='normal_reference')
        kw = KDEMultivariate(data=[conf[~ok], prox[~ok]], var_type='cc', bw='normal_reference')
        gamma = (~ok).sum() / ok.sum()
        q = np.column_stack([qc, qp])
        fc, fw = kc.pdf(q), kw.pdf(q)
        s = fc / np.maximum(fc + gamma * fw, 1e-10)
        t = time.perf_counter() - t0
        print(json.dumps({'name': f'statsmodels {statsmodels.__version__} KDEMultivariate', 'seconds': t,
                          'check': s[:check].tolist()}))
