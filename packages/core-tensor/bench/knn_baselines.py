"""kNN baselines for bench/knn.mjs: numpy/BLAS (blocked GEMM + argpartition) and FAISS IndexFlatL2.
Prints one JSON line per method: name, seconds, and the first 64 queries' indices for an agreement check."""
import json, sys, time
import numpy as np

tmp, k = sys.argv[1], int(sys.argv[2])
q = np.load(f"{tmp}/q.npy"); r = np.load(f"{tmp}/r.npy")
m = q.shape[0]

def numpy_knn(q, r, k, block=256):
    rn = (r * r).sum(1)
    out = np.empty((q.shape[0], k), dtype=np.int64)
    for s in range(0, q.shape[0], block):
        d = rn[None, :] - 2.0 * (q[s:s + block] @ r.T)
        part = np.argpartition(d, k, axis=1)[:, :k]
        order = np.take_along_axis(d, part, 1).argsort(1, kind="stable")
        out[s:s + block] = np.take_along_axis(part, order, 1)
    return out

t0 = time.perf_counter(); idx = numpy_knn(q, r, k); t = time.perf_counter() - t0
try:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
except Exception:
    blas = "BLAS"
print(json.dumps({"name": f"numpy {np.__version__} ({blas}) GEMM + argpartition", "seconds": t, "check": idx[:64].ravel().tolist()}))
try:
    import faiss
except ImportError:
    print(json.dumps({"name": "faiss IndexFlatL2", "skipped": True}))
else:
    index = faiss.IndexFlatL2(r.shape[1]); index.add(r)
    t0 = time.perf_counter(); _, idx = index.search(q, k); t = time.perf_counter() - t0
    print(json.dumps({"name": f"faiss {faiss.__version__} IndexFlatL2", "seconds": t, "check": idx[:64].ravel().tolist()}))
