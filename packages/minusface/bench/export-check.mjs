#!/usr/bin/env node
// Checks the ONNX exports of MinusFace's official architectures (models/python/minusface_export.py: the 34.6 M
// parameter U-Net generator and the IR-50 recogniser at 112×112) against PyTorch's outputs on the same inputs,
// through ONNX Runtime (core-tensor), then loads both through this package's contract checks and runs
// protect → embed end to end on them.
//
//   /usr/bin/python3 models/python/minusface_export.py --random-init --out /tmp/mfx
//   node packages/minusface/bench/export-check.mjs /tmp/mfx [--device cpu|cuda|webgpu]
import path from 'node:path';
import { createSession, readNpz, tensor } from '@trustvision/core-tensor';
import { GeneratorModel, RecognizerModel, embed, protect } from '../dist/esm/index.js';

const dir = process.argv.slice(2).find((a) => !a.startsWith('--'));
const di = process.argv.indexOf('--device');
const device = di > 0 ? process.argv[di + 1] : 'cpu';
if (!dir) {
  console.error('usage: export-check.mjs DIR [--device cpu]   (DIR from minusface_export.py --out)');
  process.exit(2);
}
const ref = await readNpz(path.join(dir, 'reference.npz'));
let worst = 0;
for (const [file, input, output] of [
  ['generator.onnx', 'x', 'x_regen'],
  ['recognizer.onnx', 'x_p', 'embedding'],
]) {
  const s = await createSession(path.join(dir, file), { device });
  const t0 = performance.now();
  const out = await s.run({ [input]: ref[input] });
  const ms = performance.now() - t0;
  const a = out[output].data;
  const b = ref[output].data;
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  worst = Math.max(worst, maxAbs / maxRef);
  console.log(
    `${file} ${output} [${out[output].shape}]: max |ORT − PyTorch| = ${maxAbs.toExponential(2)} (max |value| ${maxRef.toExponential(2)}, relative ${(maxAbs / maxRef).toExponential(2)}); device ${s.device}, batch ${ref[input].shape[0]}: ${ms.toFixed(0)} ms`,
  );
  await s.dispose();
}
// the package's contract checks and the whole client → server path on the official-architecture graphs
const g = await GeneratorModel.create(path.join(dir, 'generator.onnx'), { device });
const f = await RecognizerModel.create(path.join(dir, 'recognizer.onnx'), { device });
const img = tensor(
  Float32Array.from({ length: 3 * 112 * 112 }, (_, i) => ((i * 37) % 256) / 255),
  [3, 112, 112],
);
const t0 = performance.now();
const xp = await protect(g, img, { seed: 1 });
const [e] = await embed(f, xp);
console.log(
  `protect → embed through GeneratorModel / RecognizerModel: X_p [${xp.shape}], embedding ${e.length}-d (norm ${Math.hypot(...e).toFixed(6)}), ${(performance.now() - t0).toFixed(0)} ms on ${g.device}`,
);
await g.dispose();
await f.dispose();
process.exit(worst < 1e-4 ? 0 : 1);
