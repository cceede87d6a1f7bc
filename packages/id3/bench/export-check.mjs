#!/usr/bin/env node
// Checks the exports of models/python/id3_export.py against PyTorch through ONNX Runtime (core-tensor sessions, this
// package's adapters): the U-Net's eps, the FR embedding and the explicit FR gradient (which the export script itself
// checks against torch.autograd), on the batch PyTorch saved; then a short guided DDIM run on the exported graphs.
//
//   /usr/bin/python3 models/python/id3_export.py --random-init --seed 0 --size 32 --out-dir /tmp/id3x --reference /tmp/id3x/ref.npz
//   node packages/id3/bench/export-check.mjs /tmp/id3x [--device cpu|cuda|webgpu]
// Only the CPU path was run here (no GPU host in this session).
import path from 'node:path';
import { Rng, readNpz } from '@trustvision/core-tensor';
import { Denoiser, FrGradient, FrModel, sample } from '../dist/esm/index.js';

const dir = process.argv[2];
const di = process.argv.indexOf('--device');
const device = di > 0 ? process.argv[di + 1] : 'cpu';
if (!dir) {
  console.error('usage: export-check.mjs EXPORT_DIR [--device cpu]');
  process.exit(2);
}
const r = await readNpz(path.join(dir, 'ref.npz'));
const f32 = (t) => Float32Array.from(t.data);
function compare(name, a, b) {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  console.log(
    `${name}: max |ORT − PyTorch| = ${maxAbs.toExponential(2)} (max |value| ${maxRef.toExponential(2)}, relative ${(maxAbs / maxRef).toExponential(2)})`,
  );
  return maxAbs / maxRef;
}
const den = await Denoiser.create(path.join(dir, 'id3_eps.onnx'), { device });
console.log(`denoiser on ${den.session.device}: contract ${JSON.stringify(den.contract)}`);
const B = r.x_t.shape[0];
const eps = await den.run(f32(r.x_t), Array.from(r.t.data, Number), {
  embeddings: f32(r.id_embedding),
  attributes: f32(r.attributes),
});
let worst = compare('eps', eps, r.eps.data);
const fr = await FrModel.create(path.join(dir, 'fr.onnx'), { device });
const e = await fr.session.run({ image: r.image });
worst = Math.max(worst, compare('embedding', e.embedding.data, r.embedding.data));
const fg = await FrGradient.create(path.join(dir, 'fr_grad.onnx'), { device });
const g = await fg.run(f32(r.image), f32(r.id_embedding), r.image.shape, r.id_embedding.shape[1]);
worst = Math.max(worst, compare('fr_grad (explicit backward) vs PyTorch explicit', g, r.grad.data));
worst = Math.max(worst, compare('fr_grad vs torch.autograd', g, r.grad_autograd.data));
const rngs = Array.from({ length: B }, (_, b) => Rng.from(0).split('export-check', b));
const t0 = performance.now();
const res = await sample(
  den,
  { embeddings: f32(r.id_embedding), attributes: f32(r.attributes), rngs },
  { sampler: 'ddim', steps: 5, guidance: { frGrad: fg, scale: 1 } },
);
console.log(
  `guided DDIM, 5 steps, batch ${B}: ${(performance.now() - t0).toFixed(0)} ms, images finite: ${res.images.every(Number.isFinite)}`,
);
await Promise.all([den.dispose(), fr.dispose(), fg.dispose()]);
process.exit(worst < 1e-4 ? 0 : 1);
