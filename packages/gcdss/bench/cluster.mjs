// NeRG-MaskCA benchmark: @trustvision/gcdss against a numpy / scikit-learn implementation of the official algorithm
// (bench/nerg_official.py, run with Debian's /usr/bin/python3) on the same synthetic masks, on this machine.
//
//   node bench/cluster.mjs [--masks 100000] [--dim 1000] [--novel 10] [--k 10] [--seed 0] [--python /usr/bin/python3]
//
// Data: 15 base + 4 novel Gaussian class centres in D dims, each class with 3 "fragment" sub-centres (SAM masks
// are often object parts); 40 % of the masks come from labelled images (base classes only), 60 % from unlabelled
// images (all classes). Prints the time of each side, the ratio, and how far the two outputs agree.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng, encodeNpy, parseNpy, tensor } from '@trustvision/core-tensor';
import { nergMaskCA } from '../dist/esm/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    masks: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '1000' },
    novel: { type: 'string', default: '10' },
    k: { type: 'string', default: '10' },
    seed: { type: 'string', default: '0' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const M = Number(values.masks);
const D = Number(values.dim);
const P = Number(values.novel);
const K = Number(values.k);
const seed = Number(values.seed);
const B = 15;
const C = 19;

const rng = Rng.from(`gcdss-bench-${seed}`);
const centres = rng.normalArray(C * D);
const frags = new Float64Array(C * 3 * D);
for (let i = 0; i < frags.length; i++) frags[i] = centres[Math.floor(i / (3 * D)) * D + (i % D)] + 0.6 * rng.normal();
const features = new Float32Array(M * D);
const areas = new Float32Array(M);
const labels = new BigInt64Array(M);
const gt = new Int32Array(M);
for (let i = 0; i < M; i++) {
  const labelled = rng.uniform() < 0.4;
  const c = labelled ? rng.int(B) : rng.int(C);
  const f = c * 3 + rng.int(3);
  gt[i] = c;
  labels[i] = labelled ? BigInt(c) : -1n;
  areas[i] = Math.floor(100 + rng.uniform() * 5000);
  const noise = rng.normalArray(D, 0, 1.1);
  for (let j = 0; j < D; j++) features[i * D + j] = frags[f * D + j] + noise[j];
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'gcdss-bench-'));
try {
  writeFileSync(path.join(dir, 'features.npy'), encodeNpy(tensor(features, [M, D])));
  writeFileSync(path.join(dir, 'areas.npy'), encodeNpy(tensor(areas, [M])));
  writeFileSync(path.join(dir, 'labels.npy'), encodeNpy(tensor(labels, [M])));

  const t0 = performance.now();
  const r = await nergMaskCA({ features: { data: features, shape: [M, D] }, areas, labels }, { k: K, novel: P, seed });
  const tsSec = (performance.now() - t0) / 1000;

  const py = JSON.parse(
    execFileSync(values.python, [path.join(here, 'nerg_official.py'), dir, String(K), String(P), String(seed)], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    }).trim(),
  );
  const pyAssign = parseNpy(readFileSync(path.join(dir, 'py_assign.npy'))).data;

  // agreement: identical base decisions, identical candidate set, and the adjusted Rand index of the novel clusters
  let sameBase = 0;
  let nonCand = 0;
  let sameNovelFlag = 0;
  let nU = 0;
  const candTs = [];
  const candPy = [];
  for (let i = 0; i < M; i++) {
    if (labels[i] >= 0n) continue;
    nU++;
    const a = r.assignments[i];
    const b = Number(pyAssign[i]);
    if (a >= B === b >= B) sameNovelFlag++;
    if (a < B && b < B) {
      nonCand++;
      if (a === b) sameBase++;
    }
    if (a >= B && b >= B) {
      candTs.push(a);
      candPy.push(b);
    }
  }
  const ari = adjustedRand(candTs, candPy);
  const cpus = os.cpus();
  console.log(
    JSON.stringify(
      {
        machine: `${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
        masks: M,
        dim: D,
        unlabelled: nU,
        novelClusters: P,
        k: K,
        typescriptSeconds: +tsSec.toFixed(2),
        numpySeconds: +py.total.toFixed(2),
        numpyBreakdown: py,
        speedup: +(py.total / tsSec).toFixed(2),
        agreement: {
          novelDecision: +(sameNovelFlag / nU).toFixed(5),
          baseLabelWhereBothBase: +(sameBase / Math.max(1, nonCand)).toFixed(5),
          novelClustersARI: +ari.toFixed(4),
        },
        candidates: r.candidates.length,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function adjustedRand(a, b) {
  const n = a.length;
  if (n < 2) return 1;
  const key = new Map();
  const ra = new Map();
  const rb = new Map();
  for (let i = 0; i < n; i++) {
    const k = `${a[i]},${b[i]}`;
    key.set(k, (key.get(k) ?? 0) + 1);
    ra.set(a[i], (ra.get(a[i]) ?? 0) + 1);
    rb.set(b[i], (rb.get(b[i]) ?? 0) + 1);
  }
  const c2 = (x) => (x * (x - 1)) / 2;
  let sij = 0;
  for (const v of key.values()) sij += c2(v);
  let sa = 0;
  for (const v of ra.values()) sa += c2(v);
  let sb = 0;
  for (const v of rb.values()) sb += c2(v);
  const exp = (sa * sb) / c2(n);
  const max = (sa + sb) / 2;
  return max === exp ? 1 : (sij - exp) / (max - exp);
}
