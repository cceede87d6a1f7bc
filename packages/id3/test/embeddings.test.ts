/**
 * Identity embeddings per anchor: unit rows, cosine to the anchor exactly the drawn v ∈ [lb, ub], v uniform on
 * [lb, ub] (Kolmogorov–Smirnov), orthogonal directions isotropic, per-identity seeding, agreement with
 * `sampleAtCosine` on the documented stream, and bad input.
 */
import { describe, expect, test } from '@jest/globals';
import { DTypeError, InvalidArgumentError, NonFiniteError, Rng, ShapeError } from '@trustvision/core-tensor';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import { randomAnchors, sampleAtCosine, sampleEmbeddings } from '../src/index.js';

const dot = (a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, d: number) => {
  let s = 0;
  for (let t = 0; t < d; t++) s += a[ao + t] * b[bo + t];
  return s;
};

describe('sampleEmbeddings', () => {
  const n = 20;
  const d = 64;
  const m = 50;
  const anchors = { data: randomAnchors(n, d, 1), shape: [n, d] };

  test.each([
    [0.5, 0.7],
    [0.7, 0.9],
    [-0.2, 0.1],
  ])('[lb, ub] = [%f, %f]: unit rows, exact cosines in range, cosines uniform', (lb, ub) => {
    const r = sampleEmbeddings(anchors, { perIdentity: m, lb, ub, seed: 7 });
    expect(r.shape).toEqual([n, m, d]);
    expect(r.embeddings).toBeInstanceOf(Float32Array);
    expect(r.embeddings.length).toBe(n * m * d);
    const u: number[] = [];
    let normErr = 0;
    let cosErr = 0;
    let [lo, hi] = [Infinity, -Infinity];
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        const o = (i * m + j) * d;
        normErr = Math.max(normErr, Math.abs(dot(r.embeddings, o, r.embeddings, o, d) - 1));
        const v = r.cosines[i * m + j];
        cosErr = Math.max(cosErr, Math.abs(dot(r.embeddings, o, anchors.data, i * d, d) - v));
        [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
        u.push((v - lb) / (ub - lb));
      }
    expect(normErr).toBeLessThan(1e-6);
    expect(cosErr).toBeLessThan(1e-6);
    expect(lo).toBeGreaterThanOrEqual(lb);
    expect(hi).toBeLessThanOrEqual(ub);
    // one-sample Kolmogorov–Smirnov against U[0, 1]: 1000 draws, critical value at α = 0.001 is 1.95/√n
    u.sort((a, b) => a - b);
    let ks = 0;
    for (let k = 0; k < u.length; k++) ks = Math.max(ks, (k + 1) / u.length - u[k], u[k] - k / u.length);
    expect(ks).toBeLessThan(1.95 / Math.sqrt(u.length));
  });

  test('orthogonal parts are isotropic: mean direction ≈ 0, second moment ≈ I/(d−1) on the complement', () => {
    const d2 = 4;
    const w = { data: Float32Array.of(0, 0, 0, 1), shape: [1, d2] };
    const M = 20000;
    const r = sampleEmbeddings(w, { perIdentity: M, lb: 0.6, ub: 0.6, seed: 3 });
    const mean = [0, 0, 0];
    const second = [0, 0, 0];
    const s = Math.sqrt(1 - 0.36);
    let along = 0;
    for (let j = 0; j < M; j++) {
      along = Math.max(along, Math.abs(r.embeddings[j * d2 + 3] - 0.6));
      for (let t = 0; t < 3; t++) {
        const x = r.embeddings[j * d2 + t] / s;
        mean[t] += x / M;
        second[t] += (x * x) / M;
      }
    }
    expect(along).toBeLessThan(1e-7);
    for (let t = 0; t < 3; t++) {
      expect(Math.abs(mean[t])).toBeLessThan(0.03);
      expect(Math.abs(second[t] - 1 / 3)).toBeLessThan(0.02);
    }
  });

  test('documented stream: identity i uses Rng.from(seed).split("id3-embeddings", i), one uniform then d normals', () => {
    const r = sampleEmbeddings(anchors, { perIdentity: 3, lb: 0.5, ub: 0.7, seed: 'ds' });
    for (const i of [0, 13]) {
      const rng = Rng.from('ds').split('id3-embeddings', i);
      const w = Float64Array.from(anchors.data.subarray(i * d, (i + 1) * d));
      for (let j = 0; j < 3; j++) {
        const v = 0.5 + 0.2 * rng.uniform();
        const y = sampleAtCosine(w, v, rng);
        expect(r.cosines[i * 3 + j]).toBe(v);
        expect(r.embeddings.subarray((i * 3 + j) * d, (i * 3 + j + 1) * d)).toEqual(Float32Array.from(y));
      }
    }
  });

  test('an identity depends only on the seed and its index; seeds differ; lb = ub is a constant cosine', () => {
    const all = sampleEmbeddings(anchors, { perIdentity: 4, lb: 0.5, ub: 0.7, seed: 1 });
    const again = sampleEmbeddings(anchors, { perIdentity: 4, lb: 0.5, ub: 0.7, seed: 1 });
    expect(again.embeddings).toEqual(all.embeddings);
    const other = sampleEmbeddings(anchors, { perIdentity: 4, lb: 0.5, ub: 0.7, seed: 2 });
    expect(other.embeddings).not.toEqual(all.embeddings);
    // the first 5 identities alone give the same first 5 identities
    const head = sampleEmbeddings(
      { data: anchors.data.subarray(0, 5 * d), shape: [5, d] },
      {
        perIdentity: 4,
        lb: 0.5,
        ub: 0.7,
        seed: 1,
      },
    );
    expect(head.embeddings).toEqual(all.embeddings.subarray(0, 5 * 4 * d));
    const fixed = sampleEmbeddings(anchors, { perIdentity: 2, lb: 0.8, ub: 0.8 });
    expect(Array.from(new Set(fixed.cosines))).toEqual([0.8]);
    const seen: number[] = [];
    sampleEmbeddings(anchors, { perIdentity: 1, lb: 0, ub: 1, onProgress: (k, total) => seen.push(k / total) });
    expect(seen.length).toBe(n);
    expect(seen[n - 1]).toBe(1);
  });

  test('float64 anchors are accepted (and re-normalised within tolerance)', () => {
    const a = Float64Array.from(anchors.data, (x) => x * (1 + 5e-5));
    const r = sampleEmbeddings({ data: a, shape: [n, d] }, { perIdentity: 2, lb: 0.5, ub: 0.7 });
    expect(Math.abs(dot(r.embeddings, 0, anchors.data, 0, d) - r.cosines[0])).toBeLessThan(1e-6);
  });

  test('bad input', () => {
    const ok = { perIdentity: 2, lb: 0.5, ub: 0.7 };
    const IA = InvalidArgumentError;
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, perIdentity: 0 }), IA, 'E_INVALID_ARGUMENT', 'perIdentity');
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, perIdentity: 1.5 }), IA, 'E_INVALID_ARGUMENT', 'perIdentity');
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, lb: -1.5 }), IA, 'E_INVALID_ARGUMENT', 'lb');
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, ub: 1.01 }), IA, 'E_INVALID_ARGUMENT', 'ub');
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, lb: 0.8 }), IA, 'E_INVALID_ARGUMENT', 'ub');
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, lb: NaN }), IA, 'E_INVALID_ARGUMENT', 'lb');
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, ub: Infinity }), NonFiniteError, 'E_NON_FINITE', 'ub');
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, seed: -0.5 }), IA, 'E_INVALID_ARGUMENT', 'seed');
    expectThrows(() => sampleEmbeddings(anchors, { ...ok, onProgress: 3 as never }), IA, 'E_INVALID_ARGUMENT');
    expectThrows(() => sampleEmbeddings(anchors, null as never), IA, 'E_INVALID_ARGUMENT', 'options');
    expectThrows(
      () => sampleEmbeddings(anchors, { ...ok, perIdentity: 2 ** 30 }),
      IA,
      'E_INVALID_ARGUMENT',
      'perIdentity',
    );
    const bad = (data: unknown, shape: unknown) => ({ data, shape }) as never;
    expectThrows(() => sampleEmbeddings(bad([1, 0], [1, 2]), ok), DTypeError, 'E_DTYPE', 'anchors');
    expectThrows(() => sampleEmbeddings(bad(Float32Array.of(1, 0), [2]), ok), ShapeError, 'E_SHAPE', 'anchors');
    expectThrows(() => sampleEmbeddings(bad(Float32Array.of(1), [1, 1]), ok), ShapeError, 'E_SHAPE', 'anchors');
    expectThrows(() => sampleEmbeddings(bad(Float32Array.of(1, 0), [1, 3]), ok), ShapeError, 'E_SHAPE', 'anchors');
    expectThrows(
      () => sampleEmbeddings(bad(Float32Array.of(1, Infinity), [1, 2]), ok),
      NonFiniteError,
      'E_NON_FINITE',
      'anchors',
    );
    expectThrows(
      () => sampleEmbeddings(bad(Float32Array.of(0.5, 0.5), [1, 2]), ok),
      IA,
      'E_INVALID_ARGUMENT',
      'anchors',
    );
  });
});
