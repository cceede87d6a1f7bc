/**
 * Per-segment features (spec §3 Step 3) on tiny GraphBuilder models, checked against a hand computation: the fixed
 * 3×2×2 model, a grey 1×28×28 and an NHWC 5×6×3 one (the model's declared input decides channels, size and layout),
 * model cards (range, normalisation, size, colour) and options overriding them.
 */
import { describe, expect, test } from '@jest/globals';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  DTypeError,
  FileNotFoundError,
  GraphBuilder,
  InvalidArgumentError,
  ModelCardError,
  ShapeError,
  attr,
  createSession,
  sha256Hex,
  tensor,
  validateModelCard,
  type Image,
  type ModelCardIO,
} from '@trustvision/core-tensor';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IMAGENET_MEAN, IMAGENET_STD, maskFeatures, maskedCrop, resolveFeatureInput } from '../src/index.js';

const W = [0.5, -1, 2, 0.25, -0.75, 1.5]; // [3, 2]
const Bias = [0.1, -0.2];

/** pixels [B, 3, S, S] → GlobalAveragePool → Flatten → Gemm(3 → 2) → features [B, 2] */
function tinyModel(): Uint8Array {
  const g = new GraphBuilder('tiny-features');
  const x = g.input('pixels', 'float32', ['batch', 3, 2, 2]);
  const [pool] = g.op('GlobalAveragePool', [x]);
  const [flat] = g.op('Flatten', [pool], { axis: attr.i(1) });
  const [y] = g.op('Gemm', [
    flat,
    g.initializer(tensor(Float32Array.from(W), [3, 2]), 'W'),
    g.initializer(tensor(Float32Array.from(Bias), [2]), 'B'),
  ]);
  g.output(y, 'float32', ['batch', 2], 'features');
  return g.toBytes();
}

// a 4×4 RGB image, pixel (x, y) = (10x + 40y, 200 − 30x, 7 + 60y)
const img: Image = {
  width: 4,
  height: 4,
  channels: 3,
  data: Uint8Array.from({ length: 48 }, (_, i) => {
    const p = Math.floor(i / 3);
    const x = p % 4;
    const y = Math.floor(p / 4);
    return [10 * x + 40 * y, 200 - 30 * x, 7 + 60 * y][i % 3];
  }),
};
// segment 1: (0,0), (1,0), (0,1) (its box's fourth pixel (1,1) is segment 3); segment 2: the right half; segment 3: the rest
const segments = Int32Array.from([1, 1, 2, 2, 1, 3, 2, 2, 3, 3, 2, 2, 3, 3, 2, 2]);
const px = (x: number, y: number) => Array.from(img.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));

/** By hand: the 2×2 model input of each segment (after the masked crop and the resize), as bytes. */
function handInputs(): number[][][] {
  // segment 1: crop (0..1, 0..1) is already 2×2; mean of its 12 bytes, truncated, fills (1, 1)
  const c1 = [px(0, 0), px(1, 0), px(0, 1), px(1, 1)];
  const m1 = Math.trunc(c1.flat().reduce((a, b) => a + b, 0) / 12);
  const s1 = [c1[0], c1[1], c1[2], [m1, m1, m1]];
  // segment 2: crop cols 2..3, rows 0..3 (2 wide, 4 high), all inside → resize rows 4 → 2 averages row pairs
  const s2 = [];
  for (const y of [0, 2])
    for (const x of [2, 3]) s2.push(px(x, y).map((v, c) => Math.round((v + px(x, y + 1)[c]) / 2)));
  // segment 3: crop cols 0..1, rows 1..3 (2 wide, 3 high); its one outside pixel (0, 1) is segment 1 → mean fill
  const crop3: number[][][] = [];
  for (let y = 1; y <= 3; y++) crop3.push([px(0, y), px(1, y)]);
  const m3 = Math.trunc(crop3.flat(2).reduce((a, b) => a + b, 0) / 18);
  crop3[0][0] = [m3, m3, m3];
  // rows 3 → 2, half-pixel: src = (d + 0.5)·1.5 − 0.5 = 0.25, 1.75
  const s3 = [];
  for (const [r0, r1, f] of [
    [0, 1, 0.25],
    [1, 2, 0.75],
  ])
    for (const x of [0, 1]) s3.push(crop3[r0][x].map((v, c) => Math.round(v * (1 - f) + crop3[r1][x][c] * f)));
  return [s1, s2, s3];
}

function handFeatures(mean: readonly number[], std: readonly number[]): number[][] {
  return handInputs().map((pixels) => {
    const pooled = [0, 1, 2].map((c) => pixels.reduce((a, p) => a + (p[c] / 255 - mean[c]) / std[c], 0) / 4);
    const y = [0, 1].map((j) => Bias[j] + pooled.reduce((a, v, c) => a + v * W[c * 2 + j], 0));
    const n = Math.hypot(...y);
    return y.map((v) => v / n);
  });
}

describe('maskedCrop', () => {
  test('box crop with the mean fill, truncated', () => {
    const c = maskedCrop(img, segments, 1);
    expect([c.width, c.height, c.channels]).toEqual([2, 2, 3]);
    expect(Array.from(c.data)).toEqual(handInputs()[0].flat());
    const c3 = maskedCrop(img, segments, 3);
    expect([c3.width, c3.height]).toEqual([2, 3]);
    // bboxScale 0.5 grows the 2×2 box of segment 1 by one pixel right and down (clipped at 0 left and up)
    const g = maskedCrop(img, segments, 1, { bboxScale: 0.5 });
    expect([g.width, g.height]).toEqual([3, 3]);
  });
});

describe('maskFeatures', () => {
  test('matches the hand computation, in batches of any size, L2-normalised', async () => {
    const want = handFeatures(IMAGENET_MEAN, IMAGENET_STD);
    const session = await createSession(tinyModel(), { device: 'cpu' });
    try {
      for (const batchSize of [1, 2, 16]) {
        const f = await maskFeatures(img, segments, 3, session, { size: 2, batchSize });
        expect(f.shape).toEqual([3, 2]);
        for (let s = 0; s < 3; s++) for (let j = 0; j < 2; j++) expect(f.data[s * 2 + j]).toBeCloseTo(want[s][j], 5);
      }
    } finally {
      await session.dispose();
    }
  });

  test('model bytes, custom normalisation and explicit input/output names', async () => {
    const want = handFeatures([0, 0, 0], [1, 1, 1]);
    const f = await maskFeatures(img, segments, 3, tinyModel(), {
      size: 2,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      input: 'pixels',
      output: 'features',
      device: 'cpu',
    });
    for (let s = 0; s < 3; s++) for (let j = 0; j < 2; j++) expect(f.data[s * 2 + j]).toBeCloseTo(want[s][j], 5);
  });

  test('errors: wrong sizes, unknown or empty segments, bad names and options', async () => {
    const model = tinyModel();
    const opts = { size: 2, device: 'cpu' as const };
    const IA = InvalidArgumentError;
    const A = 'E_INVALID_ARGUMENT';
    await expectRejects(maskFeatures(img, segments.subarray(1), 3, model, opts), ShapeError, 'E_SHAPE', 'segments');
    await expectRejects(maskFeatures(img, segments, 2, model, opts), IA, A, 'segments');
    await expectRejects(maskFeatures(img, segments, 4, model, opts), IA, A, 'segments'); // segment 4 is empty
    await expectRejects(maskFeatures(img, segments, 0, model, opts), IA, A, 'count');
    await expectRejects(maskFeatures(img, segments, 3, model, { ...opts, input: 'x' }), IA, A, 'input');
    await expectRejects(maskFeatures(img, segments, 3, model, { ...opts, output: 'y' }), IA, A, 'output');
    await expectRejects(maskFeatures(img, segments, 3, model, { ...opts, batchSize: 0 }), IA, A, 'batchSize');
    await expectRejects(maskFeatures(img, segments, 3, model, { ...opts, size: 3 }), ShapeError, 'E_SHAPE');
    expectThrows(() => maskedCrop(img, segments, 4), IA, A, 'segments');
    expectThrows(() => maskedCrop(img, segments, 0), IA, A, 'id');
    expectThrows(() => maskedCrop(img, new Int32Array(3), 1), ShapeError, 'E_SHAPE', 'segments');
    expectThrows(() => maskedCrop(img, segments, 1, { bboxScale: -1 }), IA, A, 'bboxScale');
    expectThrows(() => maskedCrop({ ...img, data: new Uint8Array(5) }, segments, 1), ShapeError, 'E_SHAPE');
  });
});

// ---- the model's declared input and its card (channels, fixed H × W, NCHW / NHWC, range, normalisation) ----

/** The masked crops of segments 1..3 before any resize: { w, h, px } with px row-major RGB triples. */
function handCrops(): { w: number; h: number; px: number[][] }[] {
  const c1 = [px(0, 0), px(1, 0), px(0, 1), px(1, 1)];
  const m1 = Math.trunc(c1.flat().reduce((a, b) => a + b, 0) / 12);
  c1[3] = [m1, m1, m1];
  const c2: number[][] = [];
  for (let y = 0; y < 4; y++) for (const x of [2, 3]) c2.push(px(x, y));
  const c3: number[][] = [];
  for (let y = 1; y <= 3; y++) for (const x of [0, 1]) c3.push(px(x, y));
  const m3 = Math.trunc(c3.flat().reduce((a, b) => a + b, 0) / 18);
  c3[0] = [m3, m3, m3];
  return [
    { w: 2, h: 2, px: c1 },
    { w: 2, h: 4, px: c2 },
    { w: 2, h: 3, px: c3 },
  ];
}

/** Half-pixel bilinear resize, edges clamped, rounded to bytes (the textbook definition). */
function bilinear(c: { w: number; h: number; px: number[][] }, outW: number, outH: number): number[][] {
  const axis = (d: number, n: number, out: number) => {
    const s = Math.max(0, (d + 0.5) * (n / out) - 0.5);
    const i0 = Math.min(Math.floor(s), n - 1);
    return [i0, Math.min(i0 + 1, n - 1), s - i0 > 0 && i0 < n - 1 ? s - i0 : 0] as const;
  };
  const out: number[][] = [];
  for (let y = 0; y < outH; y++) {
    const [y0, y1, fy] = axis(y, c.h, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, fx] = axis(x, c.w, outW);
      const at = (yy: number, xx: number) => c.px[yy * c.w + xx];
      out.push(
        at(y0, x0).map((_, ch) =>
          Math.round(
            (at(y0, x0)[ch] * (1 - fx) + at(y0, x1)[ch] * fx) * (1 - fy) +
              (at(y1, x0)[ch] * (1 - fx) + at(y1, x1)[ch] * fx) * fy,
          ),
        ),
      );
    }
  }
  return out;
}

const grey = (p: number[]) => [Math.round(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])];
const weights = (n: number, seed: number) =>
  Float32Array.from({ length: n * 2 }, (_, i) => Math.sin(0.37 * i + seed) * 0.05);
const W1 = weights(784, 1);
const W2 = weights(90, 2);

/** image [B, C, H, W] or [B, H, W, C] fixed → Flatten → Gemm(C·H·W → 2) → features */
function flatModel(shape: (number | string)[], w: Float32Array, dtype: 'float32' | 'int64' = 'float32'): Uint8Array {
  const g = new GraphBuilder('flat-features');
  const x = g.input('image', dtype, shape);
  const xf = dtype === 'float32' ? x : g.op('Cast', [x], { to: attr.i(1) })[0];
  const [flat] = g.op('Flatten', [xf], { axis: attr.i(1) });
  const [y] = g.op('Gemm', [flat, g.initializer(tensor(w, [w.length / 2, 2]), 'W')]);
  g.output(y, 'float32', ['batch', 2], 'features');
  return g.toBytes();
}

/** By hand: C·H·W inputs in `order` ('chw' | 'hwc'), (v/255·(hi − lo) + lo − mean) / std, Gemm, L2. */
function handFlat(
  channels: 1 | 3,
  h: number,
  w: number,
  order: 'chw' | 'hwc',
  Wt: Float32Array,
  mean: number[],
  std: number[],
  range: [number, number] = [0, 1],
): number[][] {
  return handCrops().map((c) => {
    const src = channels === 1 ? { ...c, px: c.px.map(grey) } : c;
    const r = bilinear(src, w, h);
    const v: number[] = [];
    const norm = (b: number, ch: number) => ((b / 255) * (range[1] - range[0]) + range[0] - mean[ch]) / std[ch];
    if (order === 'chw') for (let ch = 0; ch < channels; ch++) for (const p of r) v.push(norm(p[ch], ch));
    else for (const p of r) for (let ch = 0; ch < channels; ch++) v.push(norm(p[ch], ch));
    const y = [0, 1].map((j) => v.reduce((a, x, i) => a + x * Wt[i * 2 + j], 0));
    const n = Math.hypot(...y);
    return y.map((t) => t / n);
  });
}

function expectFeatures(f: { shape: readonly number[]; data: ArrayLike<number> }, want: number[][], digits = 5): void {
  expect(f.shape).toEqual([want.length, 2]);
  for (let s = 0; s < want.length; s++)
    for (let j = 0; j < 2; j++) expect(f.data[s * 2 + j]).toBeCloseTo(want[s][j], digits);
}

async function cardFor(bytes: Uint8Array, input: ModelCardIO, preprocessing?: Record<string, unknown>) {
  return validateModelCard({
    schema: 'trustvision.modelcard/1',
    name: 'test-features',
    version: '1.0.0',
    task: 'image-feature-extraction',
    file: 'model.onnx',
    sha256: await sha256Hex(bytes),
    inputs: [input],
    outputs: [{ name: 'features', dtype: 'float32', shape: ['batch', 2] }],
    ...(preprocessing ? { preprocessing } : {}),
    provenance: { source: 'test', license: 'MIT' },
  });
}

const GREY_IMAGENET_MEAN = 0.299 * 0.485 + 0.587 * 0.456 + 0.114 * 0.406;
const GREY_IMAGENET_STD = 0.299 * 0.229 + 0.587 * 0.224 + 0.114 * 0.225;

describe('maskFeatures follows the model input and its card', () => {
  const grey28 = flatModel(['batch', 1, 28, 28], W1);
  const greyIO: ModelCardIO = { name: 'image', dtype: 'float32', shape: ['batch', 1, 28, 28], layout: 'NCHW' };

  test('a fixed grey 1×28×28 input: grey crops at 28×28, ImageNet (grey-weighted) without a card', async () => {
    const spec = resolveFeatureInput(
      [{ name: 'image', dtype: 'float32', shape: ['batch', 1, 28, 28] }],
      [{ name: 'features', dtype: 'float32' }],
    );
    expect(spec).toMatchObject({ layout: 'NCHW', channels: 1, height: 28, width: 28, range: [0, 1] });
    expect(spec.mean[0]).toBeCloseTo(GREY_IMAGENET_MEAN, 12);
    const f = await maskFeatures(img, segments, 3, grey28, { device: 'cpu', batchSize: 2 });
    expectFeatures(f, handFlat(1, 28, 28, 'chw', W1, [GREY_IMAGENET_MEAN], [GREY_IMAGENET_STD]));
  });

  test('the card: range and normalisation inside the graph; options override it', async () => {
    const card = await cardFor(
      grey28,
      { ...greyIO, range: [0, 1] },
      {
        size: 28,
        colour: 'grayscale',
        normalisation: 'inside the graph: (x - 0.2858) / 0.3529',
      },
    );
    const session = await createSession(grey28, { device: 'cpu' });
    try {
      expectFeatures(await maskFeatures(img, segments, 3, session, { card }), handFlat(1, 28, 28, 'chw', W1, [0], [1]));
      // a LoadedModel-like { session, card } brings its card
      expectFeatures(await maskFeatures(img, segments, 3, { session, card }), handFlat(1, 28, 28, 'chw', W1, [0], [1]));
      const want = handFlat(1, 28, 28, 'chw', W1, [0.5], [0.25]);
      expectFeatures(await maskFeatures(img, segments, 3, session, { card, mean: [0.5], std: [0.25] }), want);
      // a card with mean / std on a 0..255 range
      const card255 = await cardFor(grey28, { ...greyIO, range: [0, 255] }, { mean: [100], std: [50] });
      const want255 = handFlat(1, 28, 28, 'chw', W1, [100], [50], [0, 255]);
      expectFeatures(await maskFeatures(img, segments, 3, session, { card: card255 }), want255);
      // card: false ignores a LoadedModel's card
      const noCard = handFlat(1, 28, 28, 'chw', W1, [GREY_IMAGENET_MEAN], [GREY_IMAGENET_STD]);
      expectFeatures(await maskFeatures(img, segments, 3, { session, card }, { card: false }), noCard);
    } finally {
      await session.dispose();
    }
  });

  test('a model path picks up <model>.card.json next to it (sha256 checked); a card path works too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gcdss-features-'));
    try {
      const file = path.join(dir, 'grey.onnx');
      writeFileSync(file, grey28);
      const card = await cardFor(grey28, greyIO, { range: [-1, 1], normalisation: 'none' });
      writeFileSync(path.join(dir, 'grey.card.json'), JSON.stringify(card));
      const want = handFlat(1, 28, 28, 'chw', W1, [0], [1], [-1, 1]);
      expectFeatures(await maskFeatures(img, segments, 3, file, { device: 'cpu' }), want);
      writeFileSync(
        path.join(dir, 'other.json'),
        JSON.stringify({ ...card, preprocessing: { normalisation: 'none' } }),
      );
      const want01 = handFlat(1, 28, 28, 'chw', W1, [0], [1]);
      const f = await maskFeatures(img, segments, 3, grey28, { card: path.join(dir, 'other.json'), device: 'cpu' });
      expectFeatures(f, want01);
      await expectRejects(
        maskFeatures(img, segments, 3, grey28, { card: path.join(dir, 'missing.json') }),
        FileNotFoundError,
        'E_FILE_NOT_FOUND',
        'card',
      );
      writeFileSync(path.join(dir, 'grey.card.json'), JSON.stringify({ ...card, sha256: '0'.repeat(64) }));
      await expectRejects(maskFeatures(img, segments, 3, file), ModelCardError, 'E_MODEL_CARD', 'sha256');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an NHWC input with fixed 5×6 (non-square) spatial dims', async () => {
    const nhwc = flatModel(['batch', 5, 6, 3], W2);
    const f = await maskFeatures(img, segments, 3, nhwc, { device: 'cpu', batchSize: 2 });
    expectFeatures(f, handFlat(3, 5, 6, 'hwc', W2, [...IMAGENET_MEAN], [...IMAGENET_STD]));
    // the same through a card declaring the layout, with its own mean / std
    const card = await cardFor(
      nhwc,
      { name: 'image', dtype: 'float32', shape: ['batch', 5, 6, 3], layout: 'NHWC' },
      {
        normalisation: { mean: [0.1, 0.2, 0.3], std: [0.5, 0.6, 0.7] },
      },
    );
    const g = await maskFeatures(img, segments, 3, nhwc, { card, device: 'cpu' });
    expectFeatures(g, handFlat(3, 5, 6, 'hwc', W2, [0.1, 0.2, 0.3], [0.5, 0.6, 0.7]));
  });

  test('dynamic spatial dims: 224 × 224 and ImageNet by default (as for DINOv2), the card or option size else', async () => {
    const g = new GraphBuilder('gap');
    const x = g.input('pixels', 'float32', ['batch', 3, 'h', 'w']);
    const [pool] = g.op('GlobalAveragePool', [x]);
    const [flat] = g.op('Flatten', [pool], { axis: attr.i(1) });
    const [y] = g.op('Gemm', [flat, g.initializer(tensor(Float32Array.from(W), [3, 2]), 'W')]);
    g.output(y, 'float32', ['batch', 2], 'features');
    const gap = g.toBytes();
    const hand = (side: number, mean: readonly number[], std: readonly number[]) =>
      handCrops().map((c) => {
        const r = bilinear(c, side, side);
        const pooled = [0, 1, 2].map((ch) => r.reduce((a, p) => a + (p[ch] / 255 - mean[ch]) / std[ch], 0) / r.length);
        const out = [0, 1].map((j) => pooled.reduce((a, v, ch) => a + v * W[ch * 2 + j], 0));
        const n = Math.hypot(...out);
        return out.map((t) => t / n);
      });
    // (ONNX Runtime's float32 GlobalAveragePool over 224² pixels: 4 digits)
    expectFeatures(
      await maskFeatures(img, segments, 3, gap, { device: 'cpu' }),
      hand(224, IMAGENET_MEAN, IMAGENET_STD),
      4,
    );
    const card = await cardFor(gap, { name: 'pixels', dtype: 'float32', shape: ['batch', 3, 'h', 'w'] }, { size: 7 });
    expectFeatures(await maskFeatures(img, segments, 3, gap, { card }), hand(7, IMAGENET_MEAN, IMAGENET_STD));
    expectFeatures(await maskFeatures(img, segments, 3, gap, { card, size: 5 }), hand(5, IMAGENET_MEAN, IMAGENET_STD));
  });

  test('errors: options or cards that contradict the model, bad cards and inputs', async () => {
    const S = 'E_SHAPE';
    const MC = 'E_MODEL_CARD';
    const A = 'E_INVALID_ARGUMENT';
    await expectRejects(maskFeatures(img, segments, 3, grey28, { size: 32 }), ShapeError, S, 'size');
    await expectRejects(maskFeatures(img, segments, 3, grey28, { size: [28, 27] }), ShapeError, S, 'size');
    await expectRejects(maskFeatures(img, segments, 3, grey28, { channels: 3 }), ShapeError, S, 'channels');
    await expectRejects(maskFeatures(img, segments, 3, grey28, { layout: 'NHWC' }), ShapeError, S, 'layout');
    await expectRejects(
      maskFeatures(img, segments, 3, grey28, { mean: IMAGENET_MEAN }),
      InvalidArgumentError,
      A,
      'mean',
    );
    await expectRejects(maskFeatures(img, segments, 3, grey28, { std: [0] }), InvalidArgumentError, A, 'std');
    await expectRejects(maskFeatures(img, segments, 3, grey28, { range: [1, 0] }), InvalidArgumentError, A, 'range');
    const bad = async (pre: Record<string, unknown>, param: string, io: Partial<ModelCardIO> = {}) =>
      expectRejects(
        maskFeatures(img, segments, 3, grey28, { card: await cardFor(grey28, { ...greyIO, ...io }, pre) }),
        ModelCardError,
        MC,
        param,
      );
    await bad({ size: 32 }, 'preprocessing.size');
    await bad({ colour: 'RGB' }, 'preprocessing.colour');
    await bad({ normalisation: 'per-image z-score' }, 'preprocessing.normalisation');
    await bad({ mean: [0, 0, 0] }, 'preprocessing.mean');
    await bad({}, 'inputs[].layout', { layout: 'HWC' });
    await expectRejects(
      maskFeatures(img, segments, 3, grey28, {
        card: await cardFor(grey28, { ...greyIO, layout: 'NCHW' }, {}),
        layout: 'NHWC',
      }),
      ShapeError,
      S,
      'layout',
    );
    // a card of another model
    const other = await cardFor(grey28, { ...greyIO, name: 'pixels' });
    await expectRejects(maskFeatures(img, segments, 3, grey28, { card: other }), ModelCardError, MC, 'inputs');
    // inputs that are no image
    await expectRejects(
      maskFeatures(img, segments, 3, flatModel(['batch', 12], weights(12, 0))),
      ShapeError,
      S,
      "input 'image'",
    );
    await expectRejects(
      maskFeatures(img, segments, 3, flatModel(['batch', 4, 2, 2], weights(16, 0))),
      ShapeError,
      S,
      "input 'image'",
    );
    await expectRejects(
      maskFeatures(img, segments, 3, flatModel(['batch', 1, 28, 28], W1, 'int64')),
      DTypeError,
      'E_DTYPE',
      "input 'image'",
    );
  });
});
