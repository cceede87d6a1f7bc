#!/usr/bin/env node
// Checks an ONNX export of the SlerpFace grid model (models/python/slerpface_export.py) against PyTorch's outputs on
// the same input batch, through ONNX Runtime (core-tensor), then runs the grid form end to end on it.
//
//   python3 models/python/slerpface_export.py --random-init --out /tmp/sf.onnx --reference /tmp/sf-ref.npz
//   node packages/slerpface/bench/export-check.mjs /tmp/sf.onnx /tmp/sf-ref.npz [--device cpu|webgpu]
import { createSession, readNpz, tensor } from '@trustvision/core-tensor';
import { GridModel, createTemplate, matchScore, protect } from '../dist/esm/index.js';

const [model, ref] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const di = process.argv.indexOf('--device');
const device = di > 0 ? process.argv[di + 1] : 'cpu';
if (!model || !ref) {
  console.error('usage: export-check.mjs MODEL.onnx REF.npz [--device cpu]');
  process.exit(2);
}
const r = await readNpz(ref);
const s = await createSession(model, { device });
const t0 = performance.now();
const out = await s.run({ image: r.image });
const ms = performance.now() - t0;
let worst = 0;
for (const name of ['grid', 'weights', 'embedding']) {
  const a = out[name].data;
  const b = r[name].data;
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  worst = Math.max(worst, maxAbs / maxRef);
  console.log(
    `${name} [${out[name].shape}]: max |ORT − PyTorch| = ${maxAbs.toExponential(2)} (max |value| ${maxRef.toExponential(2)}, relative ${(maxAbs / maxRef).toExponential(2)})`,
  );
}
console.log(`device ${s.device}, batch ${r.image.shape[0]}: ${ms.toFixed(0)} ms`);
await s.dispose();
// the contract adapter on the same model: templates of two random "faces", protect, match
const gm = await GridModel.create(model, { device });
const img = () => ({
  width: 112,
  height: 112,
  channels: 3,
  data: Uint8Array.from({ length: 112 * 112 * 3 }, (_, i) => (i * 37) % 256),
});
const [t] = await gm.templates([img()]);
const rec = protect(t, { seed: 1 });
console.log(
  `grid form through GridModel: ${t.groups} groups × ${t.groupSize}, weights sum ${t.weights.reduce((a, b) => a + b, 0).toFixed(6)}, self-match ${matchScore(rec, t).toFixed(12)}`,
);
await gm.dispose();
process.exit(worst < 1e-4 ? 0 : 1);
