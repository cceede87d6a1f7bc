/**
 * Inference helpers: the mutual likelihood score against its closed form in d = 3 and its properties, ranking by
 * confidence, and the augmentations / corruptions used by the trainer and the claim evaluation.
 */
import { describe, expect, test } from '@jest/globals';
import { Rng } from '@trustvision/core-tensor';
import {
  BLUR_SIGMA,
  corrupt,
  cosine,
  mutualLikelihood,
  mutualLikelihoodMatrix,
  NOISE_SIGMA,
  OCCLUSION_SIDE,
  randomViews,
  rankByConfidence,
  vmfLogNormalizer,
} from '../src/index.js';

const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

describe('mutualLikelihood', () => {
  test('d = 3 closed form: log[κ1κ2 sinh κ12 / (4π κ12 sinh κ1 sinh κ2)]', () => {
    const logSinh = (k: number) => k + Math.log(-Math.expm1(-2 * k)) - Math.LN2;
    for (const [k1, k2, c] of [
      [1, 2, 0.3],
      [10, 40, 0.9],
      [0.5, 0.5, -0.7],
      [200, 150, 0.99],
    ]) {
      const mu1 = [1, 0, 0];
      const mu2 = [c, Math.sqrt(1 - c * c), 0];
      const k12 = Math.sqrt(k1 * k1 + k2 * k2 + 2 * k1 * k2 * c);
      const ref = Math.log(k1 * k2) - Math.log(4 * Math.PI * k12) + logSinh(k12) - logSinh(k1) - logSinh(k2);
      expect(Math.abs(mutualLikelihood(mu1, k1, mu2, k2) - ref) / Math.max(1, Math.abs(ref))).toBeLessThan(1e-13);
    }
  });

  test('is symmetric, increases with the cosine, and rewards confident agreement', () => {
    const rng = Rng.from(1);
    const d = 32;
    const a = unit(Array.from(rng.normalArray(d)));
    const b = unit(Array.from(rng.normalArray(d)));
    expect(mutualLikelihood(a, 5, b, 9)).toBeCloseTo(mutualLikelihood(b, 9, a, 5), 12);
    const at = (c: number, k: number) => {
      const v = [c, Math.sqrt(1 - c * c), ...new Array(d - 2).fill(0)];
      const e = [1, ...new Array(d - 1).fill(0)];
      return mutualLikelihood(e, k, v, k);
    };
    expect(at(0.9, 20)).toBeGreaterThan(at(0.5, 20));
    expect(at(0.5, 20)).toBeGreaterThan(at(-0.5, 20));
    expect(at(0.99, 50)).toBeGreaterThan(at(0.99, 5)); // confident agreement beats unsure agreement
    expect(at(-0.5, 50)).toBeLessThan(at(-0.5, 5)); // confident disagreement is penalised
    // as κ → 0 it tends to −log|S^{d−1}| = log C_d(0)
    expect(at(0.3, 1e-9)).toBeCloseTo(vmfLogNormalizer(d, 0), 6);
  });

  test('the matrix form equals the pairwise function', () => {
    const rng = Rng.from(2);
    const d = 8;
    const rows = (n: number) => Array.from({ length: n }, () => unit(Array.from(rng.normalArray(d))));
    const A = rows(3);
    const B = rows(4);
    const ka = [1, 10, 100];
    const kb = [2, 3, 50, 0.1];
    const m = mutualLikelihoodMatrix({ embedding: A, kappa: ka }, { embedding: B, kappa: kb });
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) expect(m[i * 4 + j]).toBeCloseTo(mutualLikelihood(A[i], ka[i], B[j], kb[j]), 12);
    expect(cosine(A[0], A[0])).toBeCloseTo(1, 12);
  });
});

describe('rankByConfidence', () => {
  test('orders by decreasing κ, ties in input order', () => {
    expect(Array.from(rankByConfidence([0.5, 3, 1, 3, 10]))).toEqual([4, 1, 3, 2, 0]);
  });
});

describe('randomViews', () => {
  const n = 5;
  const rng = Rng.from(3);
  const img = Float32Array.from(rng.uniformArray(n * 28 * 28));
  const batch = { data: img, shape: [n, 1, 28, 28] };

  test('two views per image, pairs linking them, values in [0, 1], deterministic per seed', () => {
    const v = randomViews(batch, { seed: 1 });
    expect(v.shape).toEqual([2 * n, 1, 28, 28]);
    expect(Array.from(v.pairs)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const x of v.data) expect(x >= 0 && x <= 1).toBe(true);
    expect(Array.from(randomViews(batch, { seed: 1 }).data)).toEqual(Array.from(v.data));
    expect(Array.from(randomViews(batch, { seed: 2 }).data)).not.toEqual(Array.from(v.data));
    // the two views of an image differ from each other
    let diff = 0;
    for (let k = 0; k < 784; k++) diff += Math.abs(v.data[k] - v.data[784 + k]);
    expect(diff).toBeGreaterThan(1);
  });

  test('harder views: p = 0 changes nothing, p = 1 corrupts every view with one of the kinds', () => {
    const plain = randomViews(batch, { seed: 1 });
    expect(Array.from(randomViews(batch, { seed: 1, corruptions: { p: 0 } }).data)).toEqual(Array.from(plain.data));
    const occluded = randomViews(batch, { seed: 1, corruptions: { kinds: ['occlusion'], p: 1 } });
    for (let v = 0; v < 2 * n; v++) {
      let grey = 0;
      for (let k = 0; k < 784; k++) if (occluded.data[v * 784 + k] === 0.5) grey++;
      expect(grey).toBeGreaterThanOrEqual(OCCLUSION_SIDE[0] ** 2);
    }
    const noisy = randomViews(batch, { seed: 1, corruptions: { kinds: ['noise'], p: 1 } });
    expect(Array.from(noisy.data)).not.toEqual(Array.from(plain.data));
    expect(() => randomViews(batch, { corruptions: { kinds: [] } })).toThrow(/non-empty/);
    expect(() => randomViews(batch, { corruptions: { p: 2 } })).toThrow(/probability/);
  });

  test('three views give three pairs per image', () => {
    const v = randomViews(batch, { views: 3 });
    expect(v.pairs.length).toBe(2 * 3 * n);
    expect(Array.from(v.pairs.subarray(0, 6))).toEqual([0, 1, 0, 2, 1, 2]);
  });
});

describe('corrupt', () => {
  const n = 40;
  const rng = Rng.from(4);
  // smooth images in (0.2, 0.8), so noise is rarely clipped
  const img = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) {
    const a = rng.uniform() * 3;
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) img[i * 784 + y * 28 + x] = 0.5 + 0.3 * Math.sin(a + x / 5) * Math.cos(y / 7);
  }
  const batch = { data: img, shape: [n, 28, 28] };

  test('severity 0 is the identity', () => {
    for (const kind of ['noise', 'blur', 'occlusion'] as const)
      expect(Array.from(corrupt(batch, kind, 0))).toEqual(Array.from(img));
  });

  test('noise: the residual has the documented standard deviation', () => {
    for (let s = 1; s <= 2; s++) {
      const out = corrupt(batch, 'noise', s, { seed: 1 });
      let ss = 0;
      for (let k = 0; k < img.length; k++) ss += (out[k] - img[k]) ** 2;
      expect(Math.abs(Math.sqrt(ss / img.length) / NOISE_SIGMA[s - 1] - 1)).toBeLessThan(0.03);
    }
  });

  test('blur: a constant image is unchanged and a single bright pixel spreads like the Gaussian', () => {
    const flat = { data: new Float32Array(784).fill(0.4), shape: [1, 28, 28] };
    for (const v of corrupt(flat, 'blur', 5)) expect(v).toBeCloseTo(0.4, 6);
    const dot = new Float32Array(784);
    dot[14 * 28 + 14] = 1;
    for (let s = 1; s <= 5; s++) {
      const out = corrupt({ data: dot, shape: [1, 28, 28] }, 'blur', s);
      let m2 = 0;
      let sum = 0;
      for (let x = 0; x < 28; x++) {
        sum += out[14 * 28 + x];
        m2 += out[14 * 28 + x] * (x - 14) ** 2;
      }
      // the row through the centre is the 1-D kernel times its centre value: variance σ² (truncated at 3σ)
      expect(Math.abs(Math.sqrt(m2 / sum) / BLUR_SIGMA[s - 1] - 1)).toBeLessThan(0.03);
    }
  });

  test('occlusion: exactly side² pixels per image become 0.5', () => {
    for (let s = 1; s <= 5; s++) {
      const zero = { data: new Float32Array(3 * 784), shape: [3, 1, 28, 28] };
      const out = corrupt(zero, 'occlusion', s, { seed: s });
      for (let i = 0; i < 3; i++) {
        let c = 0;
        for (let k = 0; k < 784; k++) if (out[i * 784 + k] === 0.5) c++;
        expect(c).toBe(OCCLUSION_SIDE[s - 1] ** 2);
      }
    }
  });
});
