/** Per-segment features (spec §3 Step 3) on a tiny GraphBuilder model, checked against a hand computation. */
import { describe, expect, test } from '@jest/globals';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  GraphBuilder,
  InvalidArgumentError,
  ShapeError,
  attr,
  createSession,
  tensor,
  type Image,
} from '@trustvision/core-tensor';
import { IMAGENET_MEAN, IMAGENET_STD, maskFeatures, maskedCrop } from '../src/index.js';

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
