import { describe, expect, test } from '@jest/globals';
import { DTypeError, InvalidArgumentError, NonFiniteError, Rng, ShapeError } from '@trustvision/core-tensor';
import { sampleAtCosine } from '../src/index.js';
import { CAP_GOLDEN } from './fixtures/cap_golden.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const l2 = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));

/** Replays fixed draws, as the numpy reference consumed them. */
function replay(draws: number[]): () => number {
  let k = 0;
  return () => draws[k++];
}

/** A seeded standard normal sampler independent of core-tensor (mulberry32 + Box–Muller). */
function boxMuller(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

describe('sampleAtCosine', () => {
  test.each(CAP_GOLDEN.map((g, i) => [i, g] as const))('numpy golden #%i', (_i, g) => {
    const y = sampleAtCosine(Float64Array.from(g.anchor), g.cos, replay(g.draws));
    expect(y).toBeInstanceOf(Float64Array);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - g.y[i])).toBeLessThan(1e-14);
    expect(Math.abs(dot(y, g.anchor) - g.cos)).toBeLessThan(1e-14);
    expect(Math.abs(l2(y) - 1)).toBeLessThan(1e-14);
  });

  test('exact cosine and unit norm for a float32 512-d anchor over the ID³ range of cosines', () => {
    const normal = boxMuller(42);
    const w = Float32Array.from({ length: 512 }, normal);
    const n = l2(w);
    for (let i = 0; i < w.length; i++) w[i] /= n;
    for (const v of [-1, -0.3, 0, 0.5, 0.55, 0.7, 0.9, 0.999, 1]) {
      const y = sampleAtCosine(w, v, normal);
      expect(y).toBeInstanceOf(Float32Array);
      expect(Math.abs(dot(y, w) - v)).toBeLessThan(1e-6);
      expect(Math.abs(l2(y) - 1)).toBeLessThan(1e-6);
    }
  });

  test('cos = ±1 returns ±anchor without drawing', () => {
    const w = Float64Array.of(0.6, 0.8);
    const never = () => {
      throw new Error('must not draw');
    };
    expect(Array.from(sampleAtCosine(w, 1, never))).toEqual([0.6, 0.8]);
    expect(Array.from(sampleAtCosine(w, -1, never))).toEqual([-0.6, -0.8]);
  });

  test('orthogonal directions are isotropic: mean ≈ 0, covariance ≈ (I − wwᵀ)/(d − 1)', () => {
    const d = 8;
    const n = 4000;
    const v = 0.6;
    const rng = Rng.from('id3-cap-isotropy');
    const w = Float64Array.from(rng.normalArray(d));
    const nw = l2(w);
    for (let i = 0; i < d; i++) w[i] /= nw;
    const s = Math.sqrt(1 - v * v);
    const mean = new Float64Array(d);
    const cov = new Float64Array(d * d);
    for (let k = 0; k < n; k++) {
      const y = sampleAtCosine(w, v, rng); // an object with normal() works as the sampler
      const e = Float64Array.from(y, (yi, i) => (yi - v * w[i]) / s);
      expect(Math.abs(l2(e) - 1)).toBeLessThan(1e-12);
      expect(Math.abs(dot(e, w))).toBeLessThan(1e-12);
      for (let i = 0; i < d; i++) {
        mean[i] += e[i] / n;
        for (let j = 0; j < d; j++) cov[i * d + j] += (e[i] * e[j]) / n;
      }
    }
    // standard error of each mean coordinate is about sqrt(1/(d−1)/n) ≈ 0.006
    for (let i = 0; i < d; i++) expect(Math.abs(mean[i])).toBeLessThan(0.03);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const expected = ((i === j ? 1 : 0) - w[i] * w[j]) / (d - 1);
        expect(Math.abs(cov[i * d + j] - expected)).toBeLessThan(0.015);
      }
    }
  });

  test('validates its inputs with typed errors', () => {
    const w = Float64Array.of(0.6, 0.8);
    const normal = boxMuller(1);
    expect(() => sampleAtCosine([0.6, 0.8] as never, 0.5, normal)).toThrow(DTypeError);
    expect(() => sampleAtCosine(Float64Array.of(1), 0.5, normal)).toThrow(ShapeError);
    expect(() => sampleAtCosine(Float64Array.of(1, 1), 0.5, normal)).toThrow(InvalidArgumentError);
    expect(() => sampleAtCosine(Float64Array.of(NaN, 1), 0.5, normal)).toThrow(NonFiniteError);
    expect(() => sampleAtCosine(w, 1.5, normal)).toThrow(InvalidArgumentError);
    expect(() => sampleAtCosine(w, NaN, normal)).toThrow(NonFiniteError);
    expect(() => sampleAtCosine(w, 0.5, 'normal' as never)).toThrow(InvalidArgumentError);
    expect(() => sampleAtCosine(w, 0.5, () => NaN)).toThrow(NonFiniteError);
    // a "sampler" whose draws are always parallel to the anchor cannot give an orthogonal direction
    const parallel = replay(Array.from({ length: 100 }, (_, k) => (k % 2 === 0 ? 0.6 : 0.8)));
    expect(() => sampleAtCosine(w, 0.5, parallel)).toThrow(InvalidArgumentError);
  });
});
