import { describe, expect, test } from '@jest/globals';
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError, Rng } from '@trustvision/core-tensor';
import { blockDct, dct8Matrix, inverseBlockDct } from '../src/index.js';
import { DCT_GOLDEN, DCT_SHAPE } from './fixtures/dct_golden.js';

/** The closed-form input of test/fixtures/dct_ref.py. */
function pattern(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => ((i * 73 + 11) % 256) - 128 + 0.25 * (i % 4));
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('blockDct', () => {
  const { C, H, W } = DCT_SHAPE;

  test('matches scipy.fft.dctn(norm="ortho") per block, in the spec channel order (float64)', () => {
    const y = blockDct(pattern(C * H * W), H, W);
    expect(y).toBeInstanceOf(Float64Array);
    expect(y.length).toBe(DCT_GOLDEN.length);
    expect(maxAbsDiff(y, DCT_GOLDEN)).toBeLessThan(1e-10);
  });

  test('matches the golden in float32 to float32 precision', () => {
    const y = blockDct(Float32Array.from(pattern(C * H * W)), H, W);
    expect(y).toBeInstanceOf(Float32Array);
    expect(maxAbsDiff(y, DCT_GOLDEN)).toBeLessThan(1e-4); // |coefficients| <= ~1000
  });

  test('hand-calculated: a constant block has only a DC term, 8 × its mean', () => {
    const x = new Float64Array(64).fill(-3);
    const y = blockDct(x, 8, 8);
    expect(y[0]).toBeCloseTo(-24, 12);
    for (let k = 1; k < 64; k++) expect(Math.abs(y[k])).toBeLessThan(1e-12);
  });

  test('hand-calculated: a horizontal cosine lands in channel v = 1 only', () => {
    // B(y, x) = cos((2x + 1)π/16) on all 8 rows, i.e. basis row v = 1 (scale ½) constant in y:
    // D(0, 1) = (Σ_y 1/√8) · (Σ_x ½·cos²((2x + 1)π/16)) = √8 · 2 = √32
    const x = new Float64Array(64);
    for (let y = 0; y < 8; y++) for (let xx = 0; xx < 8; xx++) x[y * 8 + xx] = Math.cos(((2 * xx + 1) * Math.PI) / 16);
    const d = blockDct(x, 8, 8);
    expect(d[1]).toBeCloseTo(Math.sqrt(32), 12);
    for (let k = 0; k < 64; k++) if (k !== 1) expect(Math.abs(d[k])).toBeLessThan(1e-12);
  });

  test('channel layout: coefficient (u, v) of channel c, block (a, b) sits at [64c + 8u + v, a, b]', () => {
    // a single impulse in channel 1, block (a, b) = (1, 2): its DC coefficient is impulse / 8
    const x = new Float64Array(2 * 16 * 24);
    const [c, a, b] = [1, 1, 2];
    x[c * 16 * 24 + (a * 8 + 3) * 24 + (b * 8 + 5)] = 8;
    const y = blockDct(x, 16, 24);
    const Hb = 2;
    const Wb = 3;
    expect(y[((64 * c + 0) * Hb + a) * Wb + b]).toBeCloseTo(1, 14);
    let nonzero = 0;
    for (let i = 0; i < y.length; i++) if (Math.abs(y[i]) > 1e-14) nonzero++;
    // all 64 coefficients of that block, and nothing else (the impulse at (3, 5) touches every frequency)
    expect(nonzero).toBe(64);
    for (let k = 0; k < 64; k++) expect(Math.abs(y[((64 * c + k) * Hb + a) * Wb + b])).toBeGreaterThan(1e-14);
  });

  test('the matrix is orthonormal and each block keeps its energy', () => {
    const m = dct8Matrix();
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 8; j++) {
        let s = 0;
        for (let k = 0; k < 8; k++) s += m[i * 8 + k] * m[j * 8 + k];
        expect(Math.abs(s - (i === j ? 1 : 0))).toBeLessThan(1e-15);
      }
    }
    const x = pattern(C * H * W);
    const y = blockDct(x, H, W);
    const e = (v: ArrayLike<number>) => Array.from(v).reduce((s, t) => s + t * t, 0);
    expect(Math.abs(e(y) - e(x)) / e(x)).toBeLessThan(1e-13);
  });
});

describe('inverseBlockDct', () => {
  test('round trip in float64 is exact to 1e-12', () => {
    const rng = Rng.from(7);
    const rnd = () => rng.uniform();
    const x = Float64Array.from({ length: 3 * 32 * 40 }, () => rnd() * 255 - 128);
    const back = inverseBlockDct(blockDct(x, 32, 40), 32, 40);
    expect(maxAbsDiff(back, x)).toBeLessThan(1e-12);
  });

  test('round trip in float32 is within 1e-5 (values in [0, 1]) and 1e-5 relative (level-shifted pixels)', () => {
    const rng = Rng.from(11);
    const rnd = () => rng.uniform();
    const unit = Float32Array.from({ length: 3 * 112 * 112 }, () => rnd());
    const back = inverseBlockDct(blockDct(unit, 112, 112), 112, 112);
    expect(back).toBeInstanceOf(Float32Array);
    expect(maxAbsDiff(back, unit)).toBeLessThan(1e-5);
    const pix = Float32Array.from({ length: 3 * 64 * 64 }, () => Math.round(rnd() * 255) - 128);
    const back2 = inverseBlockDct(blockDct(pix, 64, 64), 64, 64);
    expect(maxAbsDiff(back2, pix) / 128).toBeLessThan(1e-5);
  });

  test('inverts the scipy golden coefficients to the pattern', () => {
    const { C, H, W } = DCT_SHAPE;
    expect(maxAbsDiff(inverseBlockDct(Float64Array.from(DCT_GOLDEN), H, W), pattern(C * H * W))).toBeLessThan(1e-11);
  });
});

describe('validation', () => {
  test('typed errors for bad shapes, types and values', () => {
    expect(() => blockDct(new Float64Array(64), 8, 12)).toThrow(InvalidArgumentError);
    expect(() => blockDct(new Float64Array(64), 0, 8)).toThrow(InvalidArgumentError);
    expect(() => blockDct(new Float64Array(100), 8, 8)).toThrow(ShapeError);
    expect(() => blockDct(new Float64Array(0), 8, 8)).toThrow(ShapeError);
    expect(() => blockDct(new Int32Array(64) as never, 8, 8)).toThrow(DTypeError);
    const bad = new Float32Array(64);
    bad[5] = NaN;
    expect(() => blockDct(bad, 8, 8)).toThrow(NonFiniteError);
    expect(() => inverseBlockDct(new Float64Array(128), 16, 16)).toThrow(ShapeError);
  });
});
