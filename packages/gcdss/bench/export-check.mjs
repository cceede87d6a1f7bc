#!/usr/bin/env node
// Checks ONNX exports made by models/python/gcdss_export_sam.py and gcdss_export_dinov2.py against PyTorch's outputs
// on the same inputs (saved with --reference), through ONNX Runtime (core-tensor), then runs each export through the
// package's contract code (SamMaskGenerator / maskFeatures).
//
//   python3 models/python/gcdss_export_sam.py --random-init --out-dir /tmp/sam --reference /tmp/sam-ref.npz
//   node packages/gcdss/bench/export-check.mjs sam /tmp/sam /tmp/sam-ref.npz [--device cpu]
//   python3 models/python/gcdss_export_dinov2.py --random-init --out /tmp/dino.onnx --reference /tmp/dino-ref.npz
//   node packages/gcdss/bench/export-check.mjs dinov2 /tmp/dino.onnx /tmp/dino-ref.npz [--device cpu]
// Exit code 0 when every output agrees within 1e-4 relative to its largest value.
import os from 'node:os';
import path from 'node:path';
import { createSession, readNpz, tensor } from '@trustvision/core-tensor';
import { SamMaskGenerator, assembleSegments, maskFeatures } from '../dist/esm/index.js';

const args = process.argv.slice(2);
const di = args.indexOf('--device');
const device = di >= 0 ? args[di + 1] : 'cpu';
const [mode, model, ref] = args.filter((a, i) => !a.startsWith('--') && (di < 0 || i !== di + 1));
if (!['sam', 'dinov2'].includes(mode) || !model || !ref) {
  console.error('usage: export-check.mjs sam OUT_DIR REF.npz | dinov2 MODEL.onnx REF.npz [--device cpu]');
  process.exit(2);
}
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical cores, node ${process.version}`,
);
const r = await readNpz(ref);
let worst = 0;
function compare(name, got, want) {
  if (got.shape.join() !== want.shape.join()) {
    console.log(`${name}: shape [${got.shape}] ≠ PyTorch [${want.shape}]`);
    worst = Infinity;
    return;
  }
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < want.data.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got.data[i] - want.data[i]));
    maxRef = Math.max(maxRef, Math.abs(want.data[i]));
  }
  const rel = maxAbs / (maxRef || 1);
  worst = Math.max(worst, rel);
  console.log(
    `${name} [${got.shape}]: max |ORT − PyTorch| = ${maxAbs.toExponential(2)} (max |value| ${maxRef.toExponential(2)}, relative ${rel.toExponential(2)})`,
  );
}

if (mode === 'sam') {
  const enc = await createSession(path.join(model, 'sam_encoder.onnx'), { device });
  const dec = await createSession(path.join(model, 'sam_decoder.onnx'), { device });
  const e = await enc.run({ image: r.image });
  compare('image_embeddings', e.image_embeddings, r.image_embeddings);
  const common = { image_embeddings: r.image_embeddings, mask_input: r.mask_input, has_mask_input: r.has_mask_input };
  const d1 = await dec.run({
    ...common,
    point_coords: r.point_coords,
    point_labels: r.point_labels,
    orig_im_size: r.orig_im_size,
  });
  for (const k of ['masks', 'iou_predictions', 'low_res_masks']) compare(`${k} (batch 1)`, d1[k], r[k]);
  const d2 = await dec.run({
    ...common,
    point_coords: r.point_coords2,
    point_labels: r.point_labels2,
    orig_im_size: r.orig_im_size2,
  });
  for (const k of ['masks', 'iou_predictions']) compare(`${k} (batch 2: other B and crop size)`, d2[k], r[`${k}2`]);
  // the contract code on the export: automatic masks of a synthetic 96×64 image
  const gen = await SamMaskGenerator.create(enc, dec, {
    pointsPerSide: 8,
    cropNLayers: 1,
    predIouThresh: 0,
    stabilityScoreThresh: 0,
    minMaskRegionArea: 10,
  });
  const img = {
    width: 96,
    height: 64,
    channels: 3,
    data: Uint8Array.from({ length: 96 * 64 * 3 }, (_, i) => ((i % 288 < 144 ? 200 : 40) + (i % 3) * 20) % 256),
  };
  const t0 = performance.now();
  const masks = await gen.generate(img);
  const ms = performance.now() - t0;
  const seg = masks.length ? assembleSegments(SamMaskGenerator.stack(masks), 96, 64).count : 0;
  console.log(
    `SamMaskGenerator on the export (contract ${JSON.stringify(gen.contract)}): ${masks.length} masks → ${seg} segments, ` +
      `${gen.runs.encoder} encoder + ${gen.runs.decoder} decoder runs, ${ms.toFixed(0)} ms (device ${enc.device})`,
  );
  await enc.dispose();
  await dec.dispose();
} else {
  const s = await createSession(model, { device });
  const out = await s.run({ pixel_values: r.pixel_values });
  const name = s.outputs[0].name;
  compare(name, out[name], r.output);
  const img = { width: 40, height: 30, channels: 3, data: Uint8Array.from({ length: 3600 }, (_, i) => (i * 7) % 256) };
  const segs = Int32Array.from({ length: 1200 }, (_, i) => (i % 40 < 20 ? 1 : 2));
  const f = await maskFeatures(img, segs, 2, s, { size: r.pixel_values.shape[2] });
  console.log(`maskFeatures through the export: [${f.shape}] L2-normalised features (device ${s.device})`);
  await s.dispose();
}
console.log(worst < 1e-4 ? 'OK: ORT matches PyTorch' : `MISMATCH: worst relative difference ${worst}`);
process.exit(worst < 1e-4 ? 0 : 1);
