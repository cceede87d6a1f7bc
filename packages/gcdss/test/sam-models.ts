/**
 * Tiny SAM-contract stand-ins built with GraphBuilder (their parameters come from test/fixtures/sam_golden.json, written
 * by test/fixtures/sam_ref.py, which runs the same models and the AMG in numpy).
 *
 * encoder: image [1, 3, S, S] → AveragePool(S/E) → 1×1 Conv(3 → C) → image_embeddings [1, C, E, E]
 * decoder: point p (first prompt point) mapped back to the crop frame as p · max(h, w)/S; per pixel (x, y) of the
 * (h, w) crop, d = |(x, y) − p|, dI = |(x, y) − p − (dI, 0)|, m = mean(image_embeddings):
 *   masks[0] = r0 + g·m − d,  masks[1] = r1 + g·m − d,  masks[2] = max(r2 + g·m − d, rI − dI),
 *   masks[3] = min(r3 + g·m − d, d − rH);  iou = [i0, i1, i2, a + b·px/w]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GraphBuilder, attr, tensor } from '@trustvision/core-tensor';

export interface SamGolden {
  params: {
    S: number;
    E: number;
    C: number;
    convW: number[];
    convB: number[];
    radii: number[];
    gain: number;
    islandOffset: number;
    islandRadius: number;
    holeRadius: number;
    iou: number[];
    iou3: [number, number];
  };
  image: { width: number; height: number; data: number[] };
  options: Record<string, number>;
  embedMeans: number[];
  stages: Record<string, number>;
  masks: {
    area: number;
    bbox: number[];
    predictedIou: number;
    stabilityScore: number;
    pointCoords: number[];
    cropBox: number[];
    rle: number[];
  }[];
  segments: { count: number; areas: number[]; hash: number[] };
}

let cache: SamGolden | undefined;
export function samGolden(): SamGolden {
  cache ??= JSON.parse(readFileSync(path.join(__dirname, 'fixtures/sam_golden.json'), 'utf8')) as SamGolden;
  return cache;
}

const f32 = (v: number[], shape: number[]) => tensor(Float32Array.from(v), shape);
const i64 = (v: number[], shape: number[]) =>
  tensor(
    BigInt64Array.from(v, (x) => BigInt(x)),
    shape,
  );

export function encoderModel(p = samGolden().params, opts: { inputName?: string; side?: number } = {}): Uint8Array {
  const g = new GraphBuilder('sam-encoder-standin');
  const S = opts.side ?? p.S;
  const x = g.input(opts.inputName ?? 'image', 'float32', [1, 3, S, S]);
  const k = p.S / p.E;
  const [pool] = g.op('AveragePool', [x], { kernel_shape: attr.ints([k, k]), strides: attr.ints([k, k]) });
  const [y] = g.op('Conv', [pool, g.initializer(f32(p.convW, [p.C, 3, 1, 1])), g.initializer(f32(p.convB, [p.C]))]);
  g.output(y, 'float32', [1, p.C, p.E, p.E], 'image_embeddings');
  return g.toBytes();
}

export function decoderModel(
  p = samGolden().params,
  opts: { batch?: number | string; dropInput?: string } = {},
): Uint8Array {
  const g = new GraphBuilder('sam-decoder-standin');
  const B = opts.batch ?? 'B';
  const emb = g.input('image_embeddings', 'float32', [1, p.C, p.E, p.E]);
  const pc = g.input('point_coords', 'float32', [B, 'N', 2]);
  if (opts.dropInput !== 'point_labels') g.input('point_labels', 'float32', [B, 'N']);
  g.input('mask_input', 'float32', [1, 1, 4 * p.E, 4 * p.E]);
  g.input('has_mask_input', 'float32', [1]);
  const orig = g.input('orig_im_size', 'float32', [2]);
  const c = (v: number) => g.initializer(f32([v], []));
  const [h] = g.op('Gather', [orig, g.initializer(i64([0], []))]);
  const [w] = g.op('Gather', [orig, g.initializer(i64([1], []))]);
  const [mx] = g.op('Max', [h, w]);
  const [scale] = g.op('Div', [mx, c(p.S)]);
  const [p0] = g.op('Gather', [pc, g.initializer(i64([0], []))], { axis: attr.i(1) }); // [B, 2]
  const [pxy] = g.op('Mul', [p0, scale]);
  const [px] = g.op('Gather', [pxy, g.initializer(i64([0], []))], { axis: attr.i(1) }); // [B]
  const [py] = g.op('Gather', [pxy, g.initializer(i64([1], []))], { axis: attr.i(1) });
  const [px3] = g.op('Unsqueeze', [px, g.initializer(i64([1, 2], [2]))]);
  const [py3] = g.op('Unsqueeze', [py, g.initializer(i64([1, 2], [2]))]);
  const [xs] = g.op('Range', [c(0), w, c(1)]);
  const [ys] = g.op('Range', [c(0), h, c(1)]);
  const [xs3] = g.op('Unsqueeze', [xs, g.initializer(i64([0, 1], [2]))]); // [1, 1, w]
  const [ys3] = g.op('Unsqueeze', [ys, g.initializer(i64([0, 2], [2]))]); // [1, h, 1]
  const [dx] = g.op('Sub', [xs3, px3]);
  const [dy] = g.op('Sub', [ys3, py3]);
  const [dx2] = g.op('Mul', [dx, dx]);
  const [dy2] = g.op('Mul', [dy, dy]);
  const [d] = g.op('Sqrt', [g.op('Add', [dx2, dy2])[0]]);
  const [dxi] = g.op('Sub', [dx, c(p.islandOffset)]);
  const [dxi2] = g.op('Mul', [dxi, dxi]);
  const [di] = g.op('Sqrt', [g.op('Add', [dxi2, dy2])[0]]);
  const [m] = g.op('ReduceMean', [emb], { keepdims: attr.i(0) });
  const [gm] = g.op('Mul', [m, c(p.gain)]);
  const disc = (r: number) => g.op('Sub', [g.op('Add', [gm, c(r)])[0], d])[0];
  const l0 = disc(p.radii[0]);
  const l1 = disc(p.radii[1]);
  const [l2] = g.op('Max', [disc(p.radii[2]), g.op('Sub', [c(p.islandRadius), di])[0]]);
  const [l3] = g.op('Min', [disc(p.radii[3]), g.op('Sub', [d, c(p.holeRadius)])[0]]);
  const ax = g.initializer(i64([1], [1]));
  const maps = [l0, l1, l2, l3].map((l) => g.op('Unsqueeze', [l, ax])[0]);
  const [masks] = g.op('Concat', maps, { axis: attr.i(1) });
  g.output(masks, 'float32', [B, 4, 'h', 'w'], 'masks');
  // iou: [i0, i1, i2, a + b·px/w] per prompt
  const [pxw] = g.op('Div', [px, w]);
  const [i3] = g.op('Add', [g.op('Mul', [pxw, c(p.iou3[1])])[0], c(p.iou3[0])]);
  const [i3c] = g.op('Unsqueeze', [i3, ax]); // [B, 1]
  const [zero] = g.op('Mul', [i3c, c(0)]);
  const [first] = g.op('Add', [zero, g.initializer(f32(p.iou, [1, 3]))]); // [B, 3]
  const [iou] = g.op('Concat', [first, i3c], { axis: attr.i(1) });
  g.output(iou, 'float32', [B, 4], 'iou_predictions');
  return g.toBytes();
}
