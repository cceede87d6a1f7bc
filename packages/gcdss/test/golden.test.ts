/**
 * Agreement with test/fixtures/gcdss_ref.py, an independent numpy / scipy / scikit-learn rendering of the official
 * semantics (spec §4, §5, §7) on fixed inputs: neighbour lists, Phase A / B, the novel candidates, weighted k-means
 * against scikit-learn, the SS-k-means baseline, Hungarian matching and both mIoU protocols.
 */
import { describe, expect, test } from '@jest/globals';
import {
  evaluateLabelMaps,
  maskNeighbors,
  nergMaskCA,
  propagateLabels,
  rankWeights,
  ssKMeansBaseline,
  weightedKMeans,
} from '../src/index.js';
import { golden, goldenMasks } from './helpers.js';

const g = golden().nerg;

describe('NeRG-MaskCA against the numpy reference', () => {
  test('rank weights a_r = k·0.9^r / Σ 0.9^s', () => {
    const a = rankWeights(10);
    g.rankWeights10.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 12));
    expect(a.reduce((s, v) => s + v, 0)).toBeCloseTo(10, 12);
    expect(a[4]).toBeGreaterThanOrEqual(1); // one labelled neighbour passes τ·k = 1 at rank ≤ 5 only
    expect(a[5]).toBeLessThan(1);
  });

  test('cosine kNN lists (k + 1 nearest, self dropped) match', async () => {
    const unl = Int32Array.from(g.unlabelled);
    const nb = await maskNeighbors(Float32Array.from(g.features), g.M, g.D, unl, g.k);
    expect(Array.from(nb)).toEqual(g.neighbors);
  });

  test('Phase A labels, iterations and the novel candidate set match (unreached and Phase-B flips present)', () => {
    expect(g.unreached).toBeGreaterThan(0);
    expect(g.flippedInPhaseB).toBeGreaterThan(0);
    const r = propagateLabels(
      Int32Array.from(g.labels),
      Int32Array.from(g.unlabelled),
      Int32Array.from(g.neighbors),
      g.k,
      g.B,
    );
    expect(Array.from(r.phaseA)).toEqual(g.phaseA);
    expect(r.iterations).toBe(g.iterations);
    const cand = g.unlabelled.filter((_, u) => r.novel[u] === 1);
    expect(cand).toEqual(g.candidates);
  });

  test('weighted k-means from a given init equals scikit-learn KMeans(sample_weight=area)', async () => {
    const D = g.D;
    const n = g.candidates.length;
    const x = new Float32Array(n * D);
    const w = new Float64Array(n);
    g.candidates.forEach((m, q) => {
      x.set(g.features.slice(m * D, m * D + D), q * D);
      w[q] = g.areas[m];
    });
    const km = await weightedKMeans(x, n, D, w, g.P, { init: x.slice(0, g.P * D) });
    expect(Array.from(km.labels)).toEqual(g.kmeansLabels);
    expect(Math.abs(km.inertia - g.kmeansInertia) / g.kmeansInertia).toBeLessThan(1e-5);
  });

  test('nergMaskCA: base assignments and the candidate set match; candidates hold novel ids', async () => {
    const r = await nergMaskCA(goldenMasks(), { k: g.k, novel: g.P, seed: 3 });
    expect(r.numBase).toBe(g.B);
    expect(Array.from(r.candidates)).toEqual(g.candidates);
    const cand = new Set(g.candidates);
    for (let i = 0; i < g.M; i++) {
      if (cand.has(i)) {
        expect(r.assignments[i]).toBeGreaterThanOrEqual(g.B);
        expect(r.assignments[i]).toBeLessThan(g.B + g.P);
      } else expect(r.assignments[i]).toBe(g.assignments[i]);
    }
  });
});

describe('SS-k-means baseline against the numpy reference', () => {
  test('one run from given centres gives the same assignment', () => {
    const b = golden().baseline;
    const r = ssKMeansBaseline(goldenMasks(), { novel: g.P, init: Float64Array.from(b.init) });
    expect(Array.from(r.assignments)).toEqual(b.assignments);
    for (let i = 0; i < g.M; i++) if (g.labels[i] >= 0) expect(r.assignments[i]).toBe(g.labels[i]);
  });
});

describe('Hungarian-matched mIoU against the scipy reference', () => {
  const m = golden().miou;
  const pairs = m.gt.map((gt, i) => ({
    gt: Uint8Array.from(gt),
    pred: Uint8Array.from(m.pred[i]),
    width: m.width,
    height: m.height,
  }));
  for (const protocol of ['per-image', 'dataset'] as const) {
    test(`${protocol} protocol`, () => {
      const r = evaluateLabelMaps(pairs, { base: m.base, novel: m.novel, protocol });
      const want = protocol === 'per-image' ? m.perImage : m.dataset;
      expect(r.protocol).toBe(protocol);
      expect(r.matching).toEqual(m.matching);
      for (const [c, v] of Object.entries(want.perClass)) expect(r.perClass[c]).toBeCloseTo(v, 12);
      expect(r.miou).toBeCloseTo(want.miou, 12);
      expect(r.miouBase).toBeCloseTo(want.miouBase, 12);
      expect(r.miouNovel).toBeCloseTo(want.miouNovel, 12);
    });
  }
  test('Int32Array maps give the same result as Uint8Array maps', () => {
    const p32 = pairs.map((p) => ({ ...p, gt: Int32Array.from(p.gt), pred: Int32Array.from(p.pred) }));
    expect(evaluateLabelMaps(p32, { base: m.base, novel: m.novel })).toEqual(
      evaluateLabelMaps(pairs, { base: m.base, novel: m.novel }),
    );
  });
});
