#!/usr/bin/env node
/**
 * Benchmark: loss + analytic gradient for a batch of N × D embeddings (default 4096 × 128, N/2 positive pairs, the
 * 'prob' variant), TypeScript vs a numpy implementation of the same formula run by this script on the same machine;
 * and the Bessel routines per call vs scipy.
 *
 *   node bench/loss.mjs [--n 4096] [--d 128] [--repeats 5] [--python /usr/bin/python3]
 *
 * Paths timed (median of --repeats after one warm-up):
 *   ts-js     `contrastiveLoss` (float64 typed-array loops, single thread, no N×N buffer)
 *   ts-graph  `contrastiveLossGraph` on ONNX Runtime CPU (float32 op-graph; MLAS GEMM, ORT's default threads)
 *   numpy64 / numpy32  the same forward + backward vectorised in numpy (BLAS GEMM, its default threads)
 * The numpy loss is checked against ours before timing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Rng, encodeNpz, tensor } from '@trustvision/core-tensor';
import {
  besselRatio,
  contrastiveLoss,
  contrastiveLossGraph,
  disposeLossGraphs,
  logBesselI,
  vmfLogNormalizer,
} from '@trustvision/prob-contrastive';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '4096' },
    d: { type: 'string', default: '128' },
    repeats: { type: 'string', default: '5' },
    python: { type: 'string', default: process.env.TRUSTVISION_PYTHON || '/usr/bin/python3' },
  },
});
const N = Number(values.n);
const D = Number(values.d);
const R = Number(values.repeats);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rng = Rng.from(0);
const z = Float32Array.from(rng.normalArray(N * D));
const kappa = Float32Array.from(rng.uniformArray(N, 2, 30));
const pairs = new Int32Array(N);
for (let i = 0; i < N; i++) pairs[i] = i;
const input = { z: { data: z, shape: [N, D] }, kappa, pairs: { data: pairs, shape: [N / 2, 2] } };
const opts = { variant: 'prob', radius: 1 };

async function time(fn, repeats) {
  await fn();
  const ts = [];
  let last;
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint();
    last = await fn();
    ts.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ms: median(ts), last };
}

const js = await time(() => contrastiveLoss(input, opts), Math.min(R, 3));
const graph = await time(() => contrastiveLossGraph(input, { ...opts, device: 'cpu' }), R);
await disposeLossGraphs();
let gz = 0;
let sz = 0;
for (let i = 0; i < N * D; i++) {
  gz = Math.max(gz, Math.abs(graph.last.gradZ[i] - js.last.gradZ[i]));
  sz = Math.max(sz, Math.abs(js.last.gradZ[i]));
}

// ---- numpy, same formula ----
const dir = mkdtempSync(path.join(os.tmpdir(), 'pc-bench-'));
const npz = path.join(dir, 'batch.npz');
writeFileSync(
  npz,
  encodeNpz({
    z: tensor(z, [N, D]),
    kappa: tensor(kappa, [N]),
    pairs: tensor(BigInt64Array.from(pairs, BigInt), [N / 2, 2]),
  }),
);
const PY = String.raw`
import json, sys, time
import numpy as np
from scipy.special import ive, logsumexp

arr = np.load(sys.argv[1])
R = int(sys.argv[2])

def prob_loss(z, kappa, pairs, r=1.0):
    """'prob': l_{a->b} = -s_ab + logsumexp_{j!=a} s_aj, s_aj = (kappa_a/r) mu_a.mu_j; mean over both directions."""
    n, d = z.shape
    norm = np.sqrt((z * z).sum(1, keepdims=True))
    mu = z / norm
    c = mu @ mu.T
    w = (kappa / r)[:, None].astype(z.dtype)
    s = w * c
    np.fill_diagonal(s, -np.inf)
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    T = a.shape[0]
    y = np.zeros((n, n), dtype=z.dtype)
    np.add.at(y, (a, b), 1.0 / T)
    q = y.sum(1, keepdims=True)
    m = s.max(1, keepdims=True)
    e = np.exp(s - m)
    se = e.sum(1, keepdims=True)
    lse = m + np.log(se)
    np.fill_diagonal(s, 0.0)
    loss = float((q * lse).sum() - (y * s).sum())
    g = q * (e / se) - y
    gk = (g * c).sum(1) / r
    wg = w * g
    dmu = wg @ mu + wg.T @ mu
    dz = (dmu - mu * (mu * dmu).sum(1, keepdims=True)) / norm
    return loss, dz, gk

out = {}
for name, dt in (("numpy64", np.float64), ("numpy32", np.float32)):
    z = arr["z"].astype(dt); k = arr["kappa"].astype(dt); p = arr["pairs"]
    prob_loss(z, k, p)
    ts = []
    for _ in range(R):
        t = time.perf_counter(); loss, dz, gk = prob_loss(z, k, p); ts.append((time.perf_counter() - t) * 1e3)
    out[name] = {"ms": sorted(ts)[len(ts) // 2], "loss": loss}

# Bessel: scipy per scalar call, and per element of a vectorised call (log I_nu(k) = log(ive(nu, k)) + k)
ks = np.geomspace(1e-3, 1e5, 100000)
t = time.perf_counter()
for x in ks[:20000]:
    float(np.log(ive(63.0, x)) + x)
out["scipy_logI_scalar_ns"] = (time.perf_counter() - t) / 20000 * 1e9
t = time.perf_counter(); v = np.log(ive(63.0, ks)) + ks; out["scipy_logI_vector_ns"] = (time.perf_counter() - t) / ks.size * 1e9
t = time.perf_counter(); v = ive(64.0, ks) / ive(63.0, ks); out["scipy_ratio_vector_ns"] = (time.perf_counter() - t) / ks.size * 1e9
out["versions"] = {"numpy": np.__version__, "python": sys.version.split()[0]}
print(json.dumps(out))
`;
const py = JSON.parse(execFileSync(values.python, ['-c', PY, npz, String(R)], { encoding: 'utf8' }));

// ---- Bessel per call ----
const ks = Float64Array.from({ length: 100000 }, (_, i) => 1e-3 * 1e8 ** (i / 99999));
function perCall(fn) {
  let sink = 0;
  for (let i = 0; i < ks.length; i++) sink += fn(ks[i]); // warm-up
  const t = process.hrtime.bigint();
  for (let r = 0; r < 3; r++) for (let i = 0; i < ks.length; i++) sink += fn(ks[i]);
  const ns = Number(process.hrtime.bigint() - t) / (3 * ks.length);
  return { ns, sink };
}
const bessel = {
  logBesselI_nu63: perCall((k) => logBesselI(63, k)).ns,
  logBesselI_nu3_5: perCall((k) => logBesselI(3.5, k)).ns,
  besselRatio_d128: perCall((k) => besselRatio(128, k)).ns,
  vmfLogNormalizer_d128: perCall((k) => vmfLogNormalizer(128, k)).ns,
};

const machine = `${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${os.cpus().length} logical cores, Node ${process.version}, numpy ${py.versions.numpy}`;
const rows = [
  ['ts-js (float64 loops, 1 thread)', js.ms, js.last.loss],
  ['ts-graph (ONNX Runtime CPU, float32)', graph.ms, graph.last.loss],
  ['numpy float64', py.numpy64.ms, py.numpy64.loss],
  ['numpy float32', py.numpy32.ms, py.numpy32.loss],
];
console.log(`machine: ${machine}`);
console.log(`loss + gradient ('prob' variant), N = ${N}, D = ${D}, ${N / 2} positive pairs; median of ${R}:`);
console.log('| path | ms | loss | speed-up vs numpy float64 | vs numpy float32 |');
console.log('|---|---|---|---|---|');
for (const [name, ms, loss] of rows)
  console.log(
    `| ${name} | ${ms.toFixed(1)} | ${loss.toFixed(6)} | ${(py.numpy64.ms / ms).toFixed(2)}× | ${(py.numpy32.ms / ms).toFixed(2)}× |`,
  );
console.log(`graph vs js: max |Δ ∂L/∂z| / max |∂L/∂z| = ${(gz / sz).toExponential(2)}`);
console.log('');
console.log('Bessel routines, per call (κ log-spaced over [1e-3, 1e5]):');
console.log('| routine | TypeScript ns/call | scipy |');
console.log('|---|---|---|');
console.log(
  `| logBesselI(63, κ) | ${bessel.logBesselI_nu63.toFixed(0)} | log(ive(63, κ)) + κ: ${py.scipy_logI_scalar_ns.toFixed(0)} ns per scalar call, ${py.scipy_logI_vector_ns.toFixed(0)} ns per element vectorised |`,
);
console.log(`| logBesselI(3.5, κ) (recurrence / series) | ${bessel.logBesselI_nu3_5.toFixed(0)} | |`);
console.log(
  `| besselRatio(128, κ) | ${bessel.besselRatio_d128.toFixed(0)} | ive(64, κ)/ive(63, κ): ${py.scipy_ratio_vector_ns.toFixed(0)} ns per element vectorised |`,
);
console.log(`| vmfLogNormalizer(128, κ) | ${bessel.vmfLogNormalizer_d128.toFixed(0)} | |`);
