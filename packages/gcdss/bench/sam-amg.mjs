#!/usr/bin/env node
// SamMaskGenerator at the paper's image size (1024×512) and settings (GCDSS_SAM_OPTIONS: 32 points per side, one crop
// layer with 16, IoU > 0.86, stability ≥ 0.92, small regions < 100 px), on GraphBuilder stand-ins of the SAM contract
// (the test/sam-models.ts design, with radii for this image size), against test/fixtures/sam_ref.py (numpy / scipy)
// on the same image and models: both times, their ratio and whether the masks agree.
//
//   npm run build -w @trustvision/gcdss && node packages/gcdss/bench/sam-amg.mjs [--width 1024 --height 512]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder, attr, createSession, tensor } from '@trustvision/core-tensor';
import { GCDSS_SAM_OPTIONS, SamMaskGenerator } from '../dist/esm/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const W = arg('width', 1024);
const H = arg('height', 512);
const P = {
  S: 64,
  E: 4,
  C: 4,
  convW: [0.3, -0.2, 0.1, -0.15, 0.25, 0.05, 0.2, 0.1, -0.3, 0.05, -0.05, 0.4],
  convB: [0.1, -0.2, 0.05, 0.3],
  radii: [120, 50, 60, 80],
  gain: 2,
  islandOffset: 70,
  islandRadius: 5,
  holeRadius: 5,
  iou: [0.99, 0.97, 0.95],
  iou3: [0.8, 0.15],
};
const options = { ...GCDSS_SAM_OPTIONS };

const f32 = (v, shape) => tensor(Float32Array.from(v), shape);
const i64 = (v, shape) =>
  tensor(
    BigInt64Array.from(v, (x) => BigInt(x)),
    shape,
  );
function encoder() {
  const g = new GraphBuilder('enc');
  const x = g.input('image', 'float32', [1, 3, P.S, P.S]);
  const k = P.S / P.E;
  const [pool] = g.op('AveragePool', [x], { kernel_shape: attr.ints([k, k]), strides: attr.ints([k, k]) });
  const [y] = g.op('Conv', [pool, g.initializer(f32(P.convW, [P.C, 3, 1, 1])), g.initializer(f32(P.convB, [P.C]))]);
  g.output(y, 'float32', [1, P.C, P.E, P.E], 'image_embeddings');
  return g.toBytes();
}
function decoder() {
  const g = new GraphBuilder('dec');
  const emb = g.input('image_embeddings', 'float32', [1, P.C, P.E, P.E]);
  const pc = g.input('point_coords', 'float32', ['B', 'N', 2]);
  g.input('point_labels', 'float32', ['B', 'N']);
  g.input('mask_input', 'float32', [1, 1, 4 * P.E, 4 * P.E]);
  g.input('has_mask_input', 'float32', [1]);
  const orig = g.input('orig_im_size', 'float32', [2]);
  const c = (v) => g.initializer(f32([v], []));
  const [h] = g.op('Gather', [orig, g.initializer(i64([0], []))]);
  const [w] = g.op('Gather', [orig, g.initializer(i64([1], []))]);
  const [scale] = g.op('Div', [g.op('Max', [h, w])[0], c(P.S)]);
  const [pxy] = g.op('Mul', [g.op('Gather', [pc, g.initializer(i64([0], []))], { axis: attr.i(1) })[0], scale]);
  const [px] = g.op('Gather', [pxy, g.initializer(i64([0], []))], { axis: attr.i(1) });
  const [py] = g.op('Gather', [pxy, g.initializer(i64([1], []))], { axis: attr.i(1) });
  const ax12 = g.initializer(i64([1, 2], [2]));
  const [xs3] = g.op('Unsqueeze', [g.op('Range', [c(0), w, c(1)])[0], g.initializer(i64([0, 1], [2]))]);
  const [ys3] = g.op('Unsqueeze', [g.op('Range', [c(0), h, c(1)])[0], g.initializer(i64([0, 2], [2]))]);
  const [dx] = g.op('Sub', [xs3, g.op('Unsqueeze', [px, ax12])[0]]);
  const [dy] = g.op('Sub', [ys3, g.op('Unsqueeze', [py, ax12])[0]]);
  const [dy2] = g.op('Mul', [dy, dy]);
  const [d] = g.op('Sqrt', [g.op('Add', [g.op('Mul', [dx, dx])[0], dy2])[0]]);
  const [dxi] = g.op('Sub', [dx, c(P.islandOffset)]);
  const [di] = g.op('Sqrt', [g.op('Add', [g.op('Mul', [dxi, dxi])[0], dy2])[0]]);
  const [gm] = g.op('Mul', [g.op('ReduceMean', [emb], { keepdims: attr.i(0) })[0], c(P.gain)]);
  const disc = (r) => g.op('Sub', [g.op('Add', [gm, c(r)])[0], d])[0];
  const l2 = g.op('Max', [disc(P.radii[2]), g.op('Sub', [c(P.islandRadius), di])[0]])[0];
  const l3 = g.op('Min', [disc(P.radii[3]), g.op('Sub', [d, c(P.holeRadius)])[0]])[0];
  const ax = g.initializer(i64([1], [1]));
  const maps = [disc(P.radii[0]), disc(P.radii[1]), l2, l3].map((l) => g.op('Unsqueeze', [l, ax])[0]);
  g.output(g.op('Concat', maps, { axis: attr.i(1) })[0], 'float32', ['B', 4, 'h', 'w'], 'masks');
  const [i3] = g.op('Unsqueeze', [
    g.op('Add', [g.op('Mul', [g.op('Div', [px, w])[0], c(P.iou3[1])])[0], c(P.iou3[0])])[0],
    ax,
  ]);
  const [first] = g.op('Add', [g.op('Mul', [i3, c(0)])[0], g.initializer(f32(P.iou, [1, 3]))]);
  g.output(g.op('Concat', [first, i3], { axis: attr.i(1) })[0], 'float32', ['B', 4], 'iou_predictions');
  return g.toBytes();
}

// the reference's test image: r = (1.5x + 20 sin(y/7)) mod 256, g = (2.5y + 40·[x > 80]) mod 256, b = (xy div 13) mod 256
const data = new Uint8Array(W * H * 3);
for (let y = 0; y < H; y++)
  for (let x = 0; x < W; x++) {
    const o = (y * W + x) * 3;
    data[o] = Math.floor((((x * 1.5 + 20 * Math.sin(y / 7)) % 256) + 256) % 256);
    data[o + 1] = Math.floor((y * 2.5 + 40 * (x > 80 ? 1 : 0)) % 256);
    data[o + 2] = Math.floor((x * y) / 13) % 256;
  }

console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical cores, load ${os.loadavg()[0].toFixed(1)}, node ${process.version}`,
);
// time the ORT runs apart from the post-processing
const timed = async (bytes) => {
  const s = await createSession(bytes, { device: 'cpu' });
  const w = { name: s.name, inputs: s.inputs, outputs: s.outputs, ms: 0, dispose: () => s.dispose() };
  w.run = async (...a) => {
    const t = performance.now();
    const r = await s.run(...a);
    w.ms += performance.now() - t;
    return r;
  };
  return w;
};
const enc = await timed(encoder());
const dec = await timed(decoder());
const gen = await SamMaskGenerator.create(enc, dec, options);
const t0 = performance.now();
const masks = await gen.generate({ width: W, height: H, channels: 3, data });
const tsSec = (performance.now() - t0) / 1000;
await enc.dispose();
await dec.dispose();

const dir = mkdtempSync(path.join(os.tmpdir(), 'gcdss-sam-bench-'));
const cfg = path.join(dir, 'cfg.json');
writeFileSync(cfg, JSON.stringify({ params: P, options: { ...options, pointsPerBatch: 16 }, width: W, height: H }));
const ref = JSON.parse(
  execFileSync('/usr/bin/python3', [path.join(here, '../test/fixtures/sam_ref.py'), '--bench', cfg], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  }),
);
const summary = masks.map((m) => {
  let h = 0n;
  for (let i = 0; i < m.segmentation.length; i++) if (m.segmentation[i]) h += BigInt(i);
  return [m.area, m.bbox[0], m.bbox[1], m.bbox[0] + m.bbox[2], m.bbox[1] + m.bbox[3], Number(h % 1000003n)];
});
const same = JSON.stringify(summary) === JSON.stringify(ref.masks);
console.log(`image ${W}×${H}, GCDSS_SAM_OPTIONS; reference stages ${JSON.stringify(ref.stages)}`);
console.log(
  `TypeScript (SamMaskGenerator, ORT stand-ins): ${tsSec.toFixed(1)} s (stand-in ORT runs ${((enc.ms + dec.ms) / 1000).toFixed(1)} s, ` +
    `post-processing ${(tsSec - (enc.ms + dec.ms) / 1000).toFixed(1)} s), ${masks.length} masks, ${gen.runs.encoder} encoder + ${gen.runs.decoder} decoder runs`,
);
const tsPost = tsSec - (enc.ms + dec.ms) / 1000;
const refPost = ref.seconds - ref.modelSeconds;
console.log(
  `numpy / scipy reference:                      ${ref.seconds.toFixed(1)} s (stand-in models in numpy ${ref.modelSeconds.toFixed(1)} s, ` +
    `post-processing ${refPost.toFixed(1)} s), ${ref.masks.length} masks`,
);
console.log(
  `post-processing ratio (reference / TypeScript): ${(refPost / tsPost).toFixed(2)}×; ` +
    `masks identical (area, box, pixel hash): ${same}`,
);
process.exit(same ? 0 : 1);
