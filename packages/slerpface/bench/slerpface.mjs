#!/usr/bin/env node
// SlerpFace throughput against a numpy implementation of the official code, on the same data in the same run:
//
//   1. protect (key, slerp, weighted dropout, re-normalise): templates/s, 49 × 16 grid templates;
//   2. 1:N matching (probe slerped toward each record's key, record mask, weighted group cosine): records/s against a
//      gallery of --gallery records (default 100,000; numpy runs on the same records), then ours alone on --big
//      records (default 1,000,000; ~7 GB of float32 gallery) for the CPU throughput at scale;
//   3. the op-graph backend (ONNX Runtime) on --device (default cpu; webgpu on a GPU host) on the same gallery.
//
//   npm run bench -w @trustvision/slerpface -- [--gallery 100000] [--big 1000000] [--device cpu] [--json out.json]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng, encodeNpy, tensor } from '@trustvision/core-tensor';
import { Gallery, createTemplate, protect } from '../dist/esm/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const NG = Number(args.gallery ?? 100000);
const NBIG = Number(args.big ?? 1000000);
const NP = Number(args.protect ?? 5000);
const device = args.device ?? 'cpu';
const cpu = os.cpus();
const machine = `${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, load ${os.loadavg()[0].toFixed(2)}`;
console.log(`machine: ${machine}`);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'slerpface-bench-'));
const env = { ...process.env };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const python = [...new Set([process.env.PYTHON ?? '/usr/bin/python3', 'python3'])].find(
  (py) => spawnSync(py, ['-c', 'import numpy'], { env }).status === 0,
);
const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'slerpface_baseline.py');
const baseline = (...a) =>
  python
    ? JSON.parse(execFileSync(python, [script, tmp, ...a], { encoding: 'utf8', env, maxBuffer: 1 << 26 }))
    : undefined;
const G = 49;
const d = 16;
const rng = Rng.from('slerpface-bench');
const softmax = (x) => {
  const mx = Math.max(...x);
  const e = x.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const result = { machine, device };

// 1. protect
const T = Float32Array.from(rng.normalArray(NP * G * d));
const W = new Float32Array(NP * G);
for (let i = 0; i < NP; i++) W.set(softmax(rng.normalArray(G)), i * G);
writeFileSync(path.join(tmp, 'templates.npy'), encodeNpy(tensor(T, [NP, G, d])));
writeFileSync(path.join(tmp, 'weights.npy'), encodeNpy(tensor(W, [NP, G])));
const tpls = Array.from({ length: NP }, (_, i) =>
  createTemplate(T.subarray(i * G * d, (i + 1) * G * d), W.subarray(i * G, (i + 1) * G), {
    groups: G,
    groupSize: d,
    form: 'grid',
  }),
);
const keyRng = Rng.from('keys');
for (let pass = 0; pass < 2; pass++) for (const t of tpls) (protect(t, { rng: keyRng }), protect(t)); // JIT warm-up to steady state
// timed like the baseline: each record is produced and dropped (a deployment serialises it into its gallery)
let sink = 0;
let t0 = performance.now();
for (const t of tpls) sink += protect(t).protected[0]; // the default: keys and masks from the platform CSPRNG
const ours = (performance.now() - t0) / 1000;
t0 = performance.now();
for (const t of tpls) sink += protect(t, { rng: keyRng }).protected[0]; // seeded Philox (portable) — slower normals
const oursSeeded = (performance.now() - t0) / 1000;
if (!Number.isFinite(sink)) throw new Error('non-finite protected values');
const recs = tpls.slice(0, 1000).map((t) => protect(t)); // the gallery's records (tiled below)
const np1 = baseline('protect');
result.protect = {
  n: NP,
  oursPerSec: NP / ours,
  oursSeededPerSec: NP / oursSeeded,
  numpyPerSec: np1 && np1.n / np1.seconds,
};
console.log(
  `\nprotect ${NP} templates: ours ${(NP / ours).toFixed(0)}/s (CSPRNG keys), ${(NP / oursSeeded).toFixed(0)}/s (seeded Philox keys)` +
    (np1
      ? `, numpy ${(np1.n / np1.seconds).toFixed(0)}/s → ${(np1.seconds / np1.n / (ours / NP)).toFixed(2)}× / ${(np1.seconds / np1.n / (oursSeeded / NP)).toFixed(2)}× numpy`
      : ''),
);

// 2. 1:N on NG records (tiled from the protected records: distinct memory, realistic traffic)
function buildGallery(n) {
  const g = new Gallery(recs[0], { device });
  const per = G * d;
  const block = 10000;
  const P = new Float32Array(block * per);
  const K = new Float32Array(block * per);
  const M = new Uint8Array(block * per);
  for (let s = 0; s < n; s += block) {
    const m = Math.min(block, n - s);
    for (let i = 0; i < m; i++) {
      const r = recs[(s + i) % recs.length];
      P.set(r.protected, i * per);
      K.set(r.key, i * per);
      M.set(r.mask, i * per);
    }
    g.addRaw(
      Array.from({ length: m }, (_, i) => `r${s + i}`),
      P.subarray(0, m * per),
      K.subarray(0, m * per),
      M.subarray(0, m * per),
    );
  }
  return g;
}
const probe = createTemplate(
  tpls[3].values.map((v) => v + 0.3 * rng.normal()),
  tpls[3].weights,
  { groups: G, groupSize: d, form: 'grid' },
);
const gal = buildGallery(NG);
await gal.scores(probe, { backend: 'js' }); // warm-up
t0 = performance.now();
const sJs = await gal.scores(probe, { backend: 'js' });
const tJs = (performance.now() - t0) / 1000;
t0 = performance.now();
const sG = await gal.scores(probe, { backend: 'graph' });
t0 = performance.now();
await gal.scores(probe, { backend: 'graph' });
const tG = (performance.now() - t0) / 1000;
const raw = gal.raw();
writeFileSync(path.join(tmp, 'gallery_p.npy'), encodeNpy(tensor(raw.protected, [NG, G, d])));
writeFileSync(path.join(tmp, 'gallery_k.npy'), encodeNpy(tensor(raw.key, [NG, G, d])));
writeFileSync(path.join(tmp, 'probe.npy'), encodeNpy(tensor(Float32Array.from(probe.values), [G, d])));
writeFileSync(path.join(tmp, 'probe_w.npy'), encodeNpy(tensor(Float32Array.from(probe.weights), [G])));
const np2 = baseline('match', '1');
let agree = 0;
if (np2)
  for (let i = 0; i < np2.scores.length; i++)
    agree = Math.max(agree, Math.abs(np2.scores[i] - sJs[i]), Math.abs(np2.scores[i] - sG[i]));
result.match = {
  n: NG,
  jsPerSec: NG / tJs,
  graphPerSec: NG / tG,
  graphDevice: await gal.graphDevice(),
  numpyPerSec: np2 && np2.n / np2.seconds,
  maxAbsDiffVsNumpy: np2 ? agree : null,
};
console.log(
  `1:N against ${NG} records: typed-array loop ${(NG / tJs / 1e6).toFixed(2)} M records/s, op-graph (${result.match.graphDevice}) ${(NG / tG / 1e6).toFixed(2)} M/s` +
    (np2
      ? `, numpy ${(np2.n / np2.seconds / 1e6).toFixed(3)} M/s → loop ${(np2.seconds / np2.n / (tJs / NG)).toFixed(1)}× numpy, graph ${(np2.seconds / np2.n / (tG / NG)).toFixed(1)}× numpy; scores agree to ${agree.toExponential(1)}`
      : ''),
);
await gal.dispose();
rmSync(tmp, { recursive: true, force: true });

// 3. at scale: 1,000,000 records
if (NBIG > 0) {
  const big = buildGallery(NBIG);
  t0 = performance.now();
  const s = await big.scores(probe, { backend: 'js' });
  const tb = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const top = await big.search(probe, { topK: 5, backend: 'js' });
  const ts = (performance.now() - t0) / 1000;
  result.big = { n: NBIG, seconds: tb, perSec: NBIG / tb, searchSeconds: ts, top: top[0].id };
  console.log(
    `1:N against ${NBIG} records (${((big.raw().protected.byteLength * 2 + big.raw().mask.byteLength) / 2 ** 30).toFixed(1)} GiB): ${tb.toFixed(2)} s per probe (${(NBIG / tb / 1e6).toFixed(2)} M records/s), top-5 search ${ts.toFixed(2)} s; best ${top[0].id} (score ${s[3].toFixed(6)})`,
  );
  await big.dispose();
}
if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2));
