#!/usr/bin/env node
// The paper-style table on the Fashion-MNIST stand-in (`fashion-classifier`, built by `npm run models`):
// Fashion-MNIST test split (10,000 images) → logits + features, 5 seeds of a 50/50 calibration/test split, and for
// every base method (conf, ts, ets, pts, ptsk, hb, ir, mir) the base → +ProCal metrics (ECE, ACE, MCE, PIECE, ×10⁻²,
// mean ± std over the seeds; +ProCal = DR on continuous bases, proximity-stratified re-fitting on binning ones, as
// the paper's tables).
//
//   node bench/fashion-table.mjs [--data FASHION_MNIST_DIR] [--model fashion-classifier] [--seeds 5] [--k 10]
//                                [--device cpu] [--json out.json]
//
// FASHION_MNIST_DIR holds t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (Debian dataset-fashion-mnist:
// /usr/share/datasets/fashion-mnist; also $FASHION_MNIST_DIR).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Rng, tensor } from '@trustvision/core-tensor';
import { ClassifierModel, ProximityCalibrator } from '../dist/esm/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const SEEDS = Number(args.seeds ?? 5);
const K = Number(args.k ?? 10);
const BASES = (args.bases ?? 'conf,ts,ets,pts,ptsk,hb,ir,mir').split(',');
// the copy `npm run models` / `npm test -w @trustvision/models` unpacks into the TrustVision cache
const cache =
  process.env.TRUSTVISION_CACHE ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'trustvision');
const cached = path.join(
  cache,
  'assets/deb/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all/usr/share/datasets/fashion-mnist',
);
const dataDir = [args.data, process.env.FASHION_MNIST_DIR, '/usr/share/datasets/fashion-mnist', cached].find(
  (d) => d && existsSync(path.join(d, 't10k-images-idx3-ubyte.gz')),
);
if (!dataDir) {
  console.error('error: Fashion-MNIST t10k files not found; pass --data DIR (see the header of this script)');
  process.exit(2);
}

/** A gzipped IDX file as { dims, data: Uint8Array }. */
function readIdx(file) {
  const b = gunzipSync(readFileSync(file));
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ndim = b[3];
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  return { dims, data: new Uint8Array(b.buffer, b.byteOffset + 4 + 4 * ndim) };
}

const images = readIdx(path.join(dataDir, 't10k-images-idx3-ubyte.gz'));
const labelsAll = Int32Array.from(readIdx(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')).data);
const [N, H, W] = images.dims;
const x = new Float32Array(N * H * W);
for (let i = 0; i < x.length; i++) x[i] = images.data[i] / 255;

const model = await ClassifierModel.load(args.model ?? 'fashion-classifier', {
  device: args.device ?? 'cpu',
  batchSize: 500,
  ...(args.card === 'false' ? { card: false } : {}),
});
const t0 = Date.now();
const { logits, features } = await model.run(tensor(x, [N, 1, H, W]));
await model.dispose();
const C = logits.shape[1];
const D = features.shape[1];
console.error(`fashion-classifier on ${N} test images: ${Date.now() - t0} ms (C = ${C}, D = ${D})`);

const pick = (src, cols, idx, Ctor) => {
  const out = new Ctor(idx.length * cols);
  idx.forEach((r, i) => out.set(src.subarray(r * cols, (r + 1) * cols), i * cols));
  return out;
};
const part = (idx) => ({
  features: { data: pick(features.data, D, idx, Float32Array), shape: [idx.length, D] },
  logits: { data: pick(logits.data, C, idx, Float32Array), shape: [idx.length, C] },
  labels: Int32Array.from(idx, (i) => labelsAll[i]),
});

const METRICS = ['ece', 'ace', 'mce', 'piece'];
const results = {}; // base → { base: {metric: []}, ours: {metric: []}, method }
for (let seed = 0; seed < SEEDS; seed++) {
  const perm = Rng.from(2020 + seed).permutation(N);
  const calIdx = Array.from(perm.subarray(0, N / 2)).sort((a, b) => a - b);
  const testIdx = Array.from(perm.subarray(N / 2)).sort((a, b) => a - b);
  const cal = part(calIdx);
  const tst = part(testIdx);
  for (const base of BASES) {
    const fitted = await ProximityCalibrator.fit(cal, { base, k: K, calibrator: { pts: { seed } } });
    const { base: b, calibrated: c } = await fitted.evaluate(tst);
    const r = (results[base] ??= { method: fitted.method, base: {}, ours: {} });
    for (const m of METRICS) {
      (r.base[m] ??= []).push(100 * b[m]);
      (r.ours[m] ??= []).push(100 * c[m]);
    }
    console.error(
      `seed ${2020 + seed} ${base}: ECE ${(100 * b.ece).toFixed(2)} → ${(100 * c.ece).toFixed(2)}, PIECE ${(100 * b.piece).toFixed(2)} → ${(100 * c.piece).toFixed(2)}`,
    );
  }
}

const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a) => Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / Math.max(a.length - 1, 1));
const fmt = (a) => `${mean(a).toFixed(2)}±${std(a).toFixed(2)}`;
const lines = [
  `Fashion-MNIST test split (${N} images), fashion-classifier stand-in, ${SEEDS} seeds of a 50/50 calibration/test split, K = ${K}; ×10⁻², mean ± std; "+ours" = DR (conf/ts/ets/pts/ptsk) or proximity-stratified re-fitting (hb/ir/mir); wins = seeds where +ours is lower`,
  '',
  '| method | ECE | ACE | MCE | PIECE |',
  '| --- | --- | --- | --- | --- |',
];
for (const base of BASES) {
  const r = results[base];
  const cells = METRICS.map((m) => {
    const wins = r.ours[m].filter((v, i) => v < r.base[m][i]).length;
    return `${fmt(r.base[m])} → ${fmt(r.ours[m])} (${wins}/${SEEDS})`;
  });
  lines.push(`| ${base} (+${r.method}) | ${cells.join(' | ')} |`);
}
console.log(lines.join('\n'));
if (args.json) writeFileSync(args.json, JSON.stringify({ N, C, D, K, seeds: SEEDS, results }, null, 2));
