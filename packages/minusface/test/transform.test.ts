/**
 * The encoder e and decoder d (spec minusface.md §B.3) against an independent numpy/scipy computation
 * (test/fixtures/transform_ref.py), the spec's round-trip figures and invariants, and bad input.
 */
import { describe, expect, test } from '@jest/globals';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import { DTypeError, InvalidArgumentError, NonFiniteError, Rng, ShapeError, tensor } from '@trustvision/core-tensor';
import { DctCodec, REP_CHANNELS, blockDct, decode, encode } from '../src/index.js';
import { DECODED, ENCODED, IMAGE, REP, ROUND_TRIP, SHAPE } from './fixtures/transform_golden.js';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const meanAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

describe('golden: numpy/scipy (dctn norm="ortho", torch align_corners bilinear in numpy)', () => {
  const { H, W } = SHAPE;
  const codec = new DctCodec(H, W);

  test('e(X) in float64 matches to 1e-9', () => {
    const e = codec.encode(IMAGE, new Float64Array(REP_CHANNELS * H * W));
    expect(maxAbsDiff(e, ENCODED)).toBeLessThan(1e-9);
  });

  test('d(e(X)) and d(R) (with clamping) in float64 match to 1e-12', () => {
    expect(maxAbsDiff(codec.decode(ENCODED, new Float64Array(3 * H * W)), ROUND_TRIP)).toBeLessThan(1e-12);
    const d = codec.decode(REP, new Float64Array(3 * H * W));
    expect(maxAbsDiff(d, DECODED)).toBeLessThan(1e-12);
    expect(d.some((v) => v === 0) && d.some((v) => v === 1)).toBe(true); // the clamp is exercised
  });

  test('encode/decode (float32 tensors) match to float32 precision', () => {
    const e = encode(tensor(Float32Array.from(IMAGE), [3, H, W]));
    expect(e.dtype).toBe('float32');
    expect(e.shape).toEqual([192, H, W]);
    expect(maxAbsDiff(e.data, ENCODED)).toBeLessThan(2e-4); // |E| <= ~1000
    const d = decode(tensor(Float32Array.from(REP), [192, H, W]));
    expect(d.shape).toEqual([3, H, W]);
    expect(maxAbsDiff(d.data, DECODED)).toBeLessThan(1e-6);
    // float64 input tensors are accepted too
    expect(maxAbsDiff(encode(tensor(Float64Array.from(IMAGE), [3, H, W])).data, e.data)).toBe(0);
  });
});

describe('spec invariants (§B.3, §B.9)', () => {
  const H = 112;
  const n = 3 * H * H;

  test('round trip on uniform noise: max ≈ 0.10, mean ≈ 0.022 (the spec figures; resampling is not invertible)', () => {
    const rng = Rng.from(8);
    const x = Float32Array.from(rng.uniformArray(n));
    const y = decode(encode(tensor(x, [3, H, H]))).data;
    const mx = maxAbsDiff(y, x);
    const mean = meanAbsDiff(y, x);
    expect(mx).toBeGreaterThan(0.08);
    expect(mx).toBeLessThan(0.12);
    expect(mean).toBeGreaterThan(0.019);
    expect(mean).toBeLessThan(0.025);
  });

  test('round trip on smooth images: exact up to rounding for affine ramps, < 1e-4 for a low-frequency sinusoid', () => {
    const ramp = new Float32Array(n);
    const wave = new Float32Array(n);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < H; j++) {
          const k = (c * H + i) * H + j;
          ramp[k] = 0.05 + (0.3 * i + 0.4 * j + 0.1 * c * j) / H;
          wave[k] = 0.5 + 0.3 * Math.sin((2 * Math.PI * i) / H + c) * Math.cos((2 * Math.PI * j) / H);
        }
    const codec = new DctCodec(H, H);
    const y64 = codec.decode(codec.encode(ramp, new Float64Array(192 * H * H)), new Float64Array(n));
    expect(maxAbsDiff(y64, ramp)).toBeLessThan(1e-8);
    expect(maxAbsDiff(decode(encode(tensor(ramp, [3, H, H]))).data, ramp)).toBeLessThan(1e-6);
    expect(maxAbsDiff(decode(encode(tensor(wave, [3, H, H]))).data, wave)).toBeLessThan(1e-4);
  });

  test('d(0) is 128/255 everywhere', () => {
    const y = decode(tensor(new Float32Array(192 * 7 * 9), [192, 7, 9])).data;
    for (const v of y) expect(v).toBeCloseTo(128 / 255, 6);
  });

  test('DC = 8 × block mean of the level-shifted plane; a grey image has only DC terms', () => {
    const codec = new DctCodec(3, 2);
    const e = codec.encode(new Float64Array(3 * 6).fill(0.5), new Float64Array(192 * 6));
    for (let k = 0; k < 6; k++) expect(e[k]).toBeCloseTo(8 * (0.5 * 255 - 128), 9); // Y channel, u = v = 0
    for (let ch = 1; ch < 192; ch++) for (let k = 0; k < 6; k++) expect(Math.abs(e[ch * 6 + k])).toBeLessThan(1e-6); // Cb, Cr ≈ 0 and AC = 0
  });

  test('e is the block DCT of the upsampled level-shifted YCbCr planes (channel 64c + 8u + v)', () => {
    // an image that is constant per colour channel: upsampling is exact, so e equals blockDct of constant planes
    const rgb = [0.2, 0.6, 0.9].map((v) => v * 255);
    const planes = new Float64Array(3 * 16 * 8);
    const ycc = [
      0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] - 128,
      -0.168735892 * rgb[0] - 0.331264108 * rgb[1] + 0.5 * rgb[2],
      0.5 * rgb[0] - 0.418687589 * rgb[1] - 0.081312411 * rgb[2],
    ];
    for (let c = 0; c < 3; c++) planes.fill(ycc[c], c * 128, (c + 1) * 128);
    const image = new Float64Array(3 * 2).map((_, i) => [0.2, 0.6, 0.9][Math.floor(i / 2)]);
    const e = new DctCodec(2, 1).encode(image, new Float64Array(192 * 2));
    expect(maxAbsDiff(e, blockDct(planes, 16, 8))).toBeLessThan(1e-9);
  });

  test('sizes: 1×1 (align_corners with one source pixel) and non-square images', () => {
    const e = encode(tensor(new Float32Array([0.25, 0.5, 0.75]), [3, 1, 1]));
    expect(e.shape).toEqual([192, 1, 1]);
    expect(Array.from(decode(e).data).map((v) => +v.toFixed(5))).toEqual([0.25, 0.5, 0.75]);
    expect(decode(encode(tensor(new Float32Array(3 * 5 * 3).fill(0.3), [3, 5, 3]))).shape).toEqual([3, 5, 3]);
  });

  test('112×112 encode and decode: repeated calls on the preallocated buffers give identical results', () => {
    // timing belongs to benchmarks, not tests; this checks that reusing the codec's buffers leaks no state
    const x = tensor(
      Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000),
      [3, H, H],
    );
    const e1 = encode(x);
    const e2 = encode(x);
    expect(e2.shape).toEqual([192, H, H]);
    expect(Array.from(e2.data)).toEqual(Array.from(e1.data));
    const d1 = decode(e1);
    const d2 = decode(e2);
    expect(d2.shape).toEqual([3, H, H]);
    expect(Array.from(d2.data)).toEqual(Array.from(d1.data));
  });
});

describe('bad input: typed errors naming the parameter', () => {
  const img = (shape: number[], fill = 0.5) =>
    tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill), shape);

  test('encode', () => {
    expectThrows(() => encode(img([1, 8, 8])), ShapeError, 'E_SHAPE', 'image');
    expectThrows(() => encode(img([4, 8, 8])), ShapeError, 'E_SHAPE', 'image');
    expectThrows(() => encode(img([8, 8])), ShapeError, 'E_SHAPE', 'image');
    expectThrows(() => encode(img([1, 3, 8, 8])), ShapeError, 'E_SHAPE', 'image');
    expectThrows(() => encode(img([3, 0, 8])), ShapeError, 'E_SHAPE', 'image');
    expectThrows(() => encode(tensor(new Int32Array(3), [3, 1, 1])), DTypeError, 'E_DTYPE', 'image');
    const x = img([3, 4, 4]);
    x.data[17] = NaN;
    expectThrows(() => encode(x), NonFiniteError, 'E_NON_FINITE', 'image');
    x.data[17] = Infinity;
    expectThrows(() => encode(x), NonFiniteError, 'E_NON_FINITE', 'image');
    expectThrows(() => encode(img([3, 4, 4], -0.5)), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'image');
    expectThrows(() => encode(img([3, 4, 4], 1.01)), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'image');
    expectThrows(() => encode(undefined as never), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'image');
  });

  test('decode', () => {
    expectThrows(() => decode(img([3, 4, 4])), ShapeError, 'E_SHAPE', 'rep');
    expectThrows(() => decode(img([191, 4, 4])), ShapeError, 'E_SHAPE', 'rep');
    expectThrows(() => decode(img([192, 16])), ShapeError, 'E_SHAPE', 'rep');
    expectThrows(() => decode(tensor(new Uint8Array(192), [192, 1, 1])), DTypeError, 'E_DTYPE', 'rep');
    const r = img([192, 2, 2], 3);
    r.data[100] = -Infinity;
    expectThrows(() => decode(r), NonFiniteError, 'E_NON_FINITE', 'rep');
  });

  test('DctCodec sizes', () => {
    expectThrows(() => new DctCodec(0, 4), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'H');
    expectThrows(() => new DctCodec(4, 2.5), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'W');
  });
});
