/**
 * Client-side protection: X_p = d(s(e(X) − g(e(X)); π)) against an independent numpy/scipy golden
 * (test/fixtures/protect_ref.py, g(x) = 0.9x, a fixed π), the spec's invariants (§B.9: identity π gives d(r), s is a
 * pure permutation, g = identity gives flat grey, fresh π differ, shapes and ranges), seeding and batching, and the
 * typed errors for bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DTypeError, InvalidArgumentError, NonFiniteError, Rng, ShapeError, tensor } from '@trustvision/core-tensor';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  DctCodec,
  GeneratorModel,
  REP_CHANNELS,
  SecureRandom,
  decode,
  drawPermutation,
  encode,
  protect,
  protectResidue,
  residue,
  shuffleChannels,
} from '../src/index.js';
import { IMAGE, PERM, SHAPE, XP_CLAMP, XP_MINMAX } from './fixtures/protect_golden.js';
import { nanGenerator, scaleGenerator } from './tiny-models.js';

const { H, W } = SHAPE;
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const image = () => tensor(Float32Array.from(IMAGE), [3, H, W]);
function randomImages(n: number, h: number, w: number, seed = 1) {
  const rng = Rng.from(seed);
  return tensor(Float32Array.from(rng.uniformArray(n * 3 * h * w)), [n, 3, h, w]);
}

let g09: GeneratorModel;
let gId: GeneratorModel;
beforeAll(async () => {
  g09 = await GeneratorModel.create(scaleGenerator(0.9), { device: 'cpu' });
  gId = await GeneratorModel.create(scaleGenerator(1), { device: 'cpu' });
});
afterAll(async () => {
  await g09.dispose();
  await gId.dispose();
});

describe('golden (numpy/scipy, g(x) = 0.9x, fixed π)', () => {
  const r = () => {
    const x = encode(image()).data as Float32Array;
    const xr = Float32Array.from(x, (v) => Math.fround(0.9) * v);
    return residue(x, xr);
  };
  test('clamped X_p (official decoder)', () => {
    const xp = protectResidue(r(), [PERM], H, W);
    expect(xp.length).toBe(3 * H * W);
    expect(maxAbs(xp, XP_CLAMP)).toBeLessThan(2e-6);
  });
  test("'minmax' range", () => {
    const xp = protectResidue(r(), [PERM], H, W, { range: 'minmax' });
    expect(maxAbs(xp, XP_MINMAX)).toBeLessThan(2e-6);
    expect(Math.min(...xp)).toBe(0);
    expect(Math.max(...xp)).toBeCloseTo(1, 6);
  });
  test('through the ONNX generator: the same X_p with the same π', async () => {
    const rng = { int: (n: number) => 0, calls: 0 }; // int(·) = 0 → the identity permutation
    const ident = await protect(g09, image(), { rng });
    const x = encode(image()).data as Float32Array;
    const xr = Float32Array.from(x, (v) => Math.fround(0.9) * v);
    const id = Int32Array.from({ length: REP_CHANNELS }, (_, i) => i);
    expect(maxAbs(ident.data as Float32Array, protectResidue(residue(x, xr), [id], H, W))).toBeLessThan(1e-6);
  });
});

describe('invariants (spec §B.9)', () => {
  test('identity π: X_p = d(r)', () => {
    const x = encode(image()).data as Float32Array;
    const r = residue(
      x,
      Float32Array.from(x, (v) => 0.5 * v),
    );
    const id = Int32Array.from({ length: 192 }, (_, i) => i);
    expect(maxAbs(protectResidue(r, [id], H, W), decode(tensor(r, [192, H, W])).data)).toBe(0);
  });
  test('s is a pure permutation: planes are moved whole, sum of squares kept', () => {
    const rng = Rng.from(3);
    const r = Float32Array.from(rng.normalArray(192 * H * W));
    const perm = drawPermutation(rng, 192);
    const s = shuffleChannels(r, perm, H, W);
    const P = H * W;
    for (let j = 0; j < 192; j++)
      expect(s.subarray(j * P, (j + 1) * P)).toEqual(r.subarray(perm[j] * P, (perm[j] + 1) * P));
    const ss = (a: Float32Array) => a.reduce((t, v) => t + v * v, 0);
    expect(ss(s)).toBeCloseTo(ss(r), 6);
  });
  test('g = identity → r = 0 → X_p is flat grey 128/255 for any π', async () => {
    const xp = await protect(gId, randomImages(3, 16, 16), { seed: 5 });
    for (const v of xp.data as Float32Array) expect(Math.abs(v - 128 / 255)).toBeLessThan(1e-6);
  });
  test('fresh π per sample and per call: the same X gives different X_p', async () => {
    const x = image();
    const a = await protect(g09, [x, x]);
    const b = await protect(g09, x);
    const n = 3 * H * W;
    const d = a.data as Float32Array;
    expect(maxAbs(d.subarray(0, n), d.subarray(n))).toBeGreaterThan(1e-3);
    expect(maxAbs(d.subarray(0, n), b.data as Float32Array)).toBeGreaterThan(1e-3);
  });
  test('shape [B, 3K, H, W], values in [0, 1], K duplicates are distinct permutations', async () => {
    const xp = await protect(g09, randomImages(2, 16, 24), { seed: 1, duplicates: 3 });
    expect(xp.shape).toEqual([2, 9, 16, 24]);
    expect(xp.dtype).toBe('float32');
    for (const v of xp.data as Float32Array) expect(v >= 0 && v <= 1).toBe(true);
    const P = 3 * 16 * 24;
    const d = xp.data as Float32Array;
    expect(maxAbs(d.subarray(0, P), d.subarray(P, 2 * P))).toBeGreaterThan(1e-3);
  });
});

describe('randomness', () => {
  test('a seed reproduces X_p, independently of batch size and of the other images', async () => {
    const imgs = randomImages(5, 16, 16, 9);
    const a = await protect(g09, imgs, { seed: 42, batchSize: 2 });
    const b = await protect(g09, imgs, { seed: 42, batchSize: 5 });
    expect(b.data).toEqual(a.data);
    const c = await protect(g09, imgs, { seed: 43 });
    expect(maxAbs(a.data as Float32Array, c.data as Float32Array)).toBeGreaterThan(1e-3);
    // sample i uses Rng.from(seed).fork(i): image 0 alone with the same seed gives the same X_p
    const first = await protect(g09, tensor((imgs.data as Float32Array).slice(0, 3 * 256), [3, 16, 16]), { seed: 42 });
    expect(first.data).toEqual((a.data as Float32Array).slice(0, 3 * 256));
  });
  test('drawPermutation with a seeded Rng equals core-tensor Rng.permutation', () => {
    expect(drawPermutation(Rng.from(7), 192)).toEqual(Rng.from(7).permutation(192));
  });
  test('SecureRandom: valid permutations, uniform-ish first position', () => {
    const s = new SecureRandom();
    const counts = new Array(4).fill(0);
    for (let t = 0; t < 4000; t++) {
      const p = drawPermutation(s, 4);
      expect([...p].sort()).toEqual([0, 1, 2, 3]);
      counts[p[0]]++;
    }
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150); // ~6 sigma
  });
});

describe('DctCodec.decode(clamp = false)', () => {
  test('unclamped values agree with the clamped ones inside [0, 1]', () => {
    const codec = new DctCodec(H, W);
    const r = Float32Array.from(Rng.from(2).normalArray(192 * H * W, 0, 200));
    const c = codec.decode(r);
    const u = codec.decode(r, undefined, false);
    let outside = 0;
    for (let i = 0; i < c.length; i++) {
      if (u[i] < 0 || u[i] > 1) outside++;
      expect(c[i]).toBeCloseTo(Math.min(1, Math.max(0, u[i])), 6);
    }
    expect(outside).toBeGreaterThan(0);
  });
});

describe('bad input → typed errors', () => {
  test('wrong channel count, rank, dtype, non-finite, out of range, mixed sizes', async () => {
    await expectRejects(protect(g09, tensor(new Float32Array(4 * 16), [4, 4, 4])), ShapeError, 'E_SHAPE', 'images');
    await expectRejects(protect(g09, tensor(new Float32Array(16), [4, 4])), ShapeError, 'E_SHAPE', 'images');
    await expectRejects(protect(g09, tensor(new Int32Array(48), [3, 4, 4])), DTypeError, 'E_DTYPE', 'images');
    const nan = new Float32Array(48);
    nan[7] = NaN;
    await expectRejects(protect(g09, tensor(nan, [3, 4, 4])), NonFiniteError, 'E_NON_FINITE', 'images');
    const big = new Float32Array(48).fill(0.5);
    big[3] = 1.5;
    await expectRejects(protect(g09, tensor(big, [3, 4, 4])), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'images');
    await expectRejects(
      protect(g09, [tensor(new Float32Array(48), [3, 4, 4]), tensor(new Float32Array(75), [3, 5, 5])]),
      ShapeError,
      'E_SHAPE',
      'images[1]',
    );
    await expectRejects(protect(g09, []), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'images');
  });
  test('image size different from a generator with a fixed size', async () => {
    const fixed = await GeneratorModel.create(scaleGenerator(0.9, [16, 16]), { device: 'cpu' });
    try {
      expect([fixed.height, fixed.width]).toEqual([16, 16]);
      await expectRejects(protect(fixed, randomImages(1, 8, 8)), ShapeError, 'E_SHAPE', 'images');
      const ok = await protect(fixed, randomImages(1, 16, 16), { seed: 1 });
      expect(ok.shape).toEqual([1, 3, 16, 16]);
    } finally {
      await fixed.dispose();
    }
  });
  test('options', async () => {
    const x = image();
    await expectRejects(protect(g09, x, { duplicates: 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'duplicates');
    await expectRejects(protect(g09, x, { batchSize: 1.5 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'batchSize');
    await expectRejects(
      protect(g09, x, { range: 'wrap' as 'clamp' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'range',
    );
    await expectRejects(protect(g09, x, { rng: {} as never }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'rng');
    await expectRejects(protect({} as GeneratorModel, x), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'generator');
  });
  test('permutation and residue checks', () => {
    const r = new Float32Array(3 * 4);
    expectThrows(() => shuffleChannels(r, [0, 0, 1], 2, 2), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'perm');
    expectThrows(() => shuffleChannels(r, [0, 1], 2, 2), ShapeError, 'E_SHAPE', 'r');
    expectThrows(() => residue(new Float32Array(3), new Float32Array(4)), ShapeError, 'E_SHAPE', 'xRegen');
  });
  test('a generator that outputs NaN is caught (no silent NaN)', async () => {
    const bad = await GeneratorModel.create(nanGenerator(), { device: 'cpu' });
    try {
      await expectRejects(protect(bad, image()), NonFiniteError, 'E_NON_FINITE', "output 'x_regen'");
    } finally {
      await bad.dispose();
    }
  });
});
