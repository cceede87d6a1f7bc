/**
 * Attributes: moments of every distribution against scipy goldens (truncnorm, rv_histogram), uniform KS, ranges,
 * per-identity seeding, the encoding contract, and bad input.
 */
import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, NonFiniteError, Rng, ShapeError } from '@trustvision/core-tensor';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  ATTRIBUTE_NAMES,
  encodeAttributes,
  sampleAttributes,
  type AttributeConfig,
  type AttributeName,
} from '../src/index.js';
import { ATTRIBUTES_GOLDEN } from './fixtures/attributes_golden.js';

function column(values: Float64Array, a: number): Float64Array {
  const out = new Float64Array(values.length / 4);
  for (let k = 0; k < out.length; k++) out[k] = values[k * 4 + a];
  return out;
}

function moments(x: Float64Array) {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let q = 0;
  for (const v of x) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / x.length), min: Math.min(...x), max: Math.max(...x) };
}

const N = 200;
const M = 100; // 20,000 draws per attribute

describe('sampleAttributes', () => {
  test('defaults: age U[0, 100], pitch/yaw/roll U[−90, 90] (KS), shape [N, m, 4]', () => {
    const r = sampleAttributes(N, M, { seed: 1 });
    expect(r.shape).toEqual([N, M, 4]);
    expect(r.values.length).toBe(N * M * 4);
    ATTRIBUTE_NAMES.forEach((name, a) => {
      const [lo, hi] = name === 'age' ? [0, 100] : [-90, 90];
      const u = Array.from(column(r.values, a), (v) => (v - lo) / (hi - lo)).sort((x, y) => x - y);
      let ks = 0;
      for (let k = 0; k < u.length; k++) ks = Math.max(ks, (k + 1) / u.length - u[k], u[k] - k / u.length);
      expect(ks).toBeLessThan(1.95 / Math.sqrt(u.length));
      expect(u[0]).toBeGreaterThanOrEqual(0);
      expect(u[u.length - 1]).toBeLessThan(1);
    });
  });

  test.each(ATTRIBUTES_GOLDEN.truncnormal.map((g) => [g.name, g] as const))(
    'truncated normal on %s: scipy truncnorm mean and std',
    (_n, g) => {
      const dist = { kind: 'truncnormal' as const, mean: g.mean, std: g.std, low: g.low, high: g.high };
      const r = sampleAttributes(N, M, { seed: 2, distributions: { [g.name]: dist } });
      const m = moments(column(r.values, ATTRIBUTE_NAMES.indexOf(g.name as AttributeName)));
      const se = g.expStd / Math.sqrt(N * M);
      expect(Math.abs(m.mean - g.expMean)).toBeLessThan(5 * se);
      expect(Math.abs(m.std - g.expStd) / g.expStd).toBeLessThan(0.03);
      expect(m.min).toBeGreaterThanOrEqual(g.low);
      expect(m.max).toBeLessThanOrEqual(g.high);
    },
  );

  test.each(ATTRIBUTES_GOLDEN.table.map((g) => [g.name, g] as const))(
    'empirical table on %s: scipy rv_histogram mean and std, bin frequencies ∝ weights',
    (_n, g) => {
      const r = sampleAttributes(N, M, {
        seed: 3,
        distributions: { [g.name]: { kind: 'table', edges: g.edges, weights: g.weights } },
      });
      const x = column(r.values, ATTRIBUTE_NAMES.indexOf(g.name as AttributeName));
      const m = moments(x);
      expect(Math.abs(m.mean - g.expMean)).toBeLessThan((5 * g.expStd) / Math.sqrt(x.length));
      expect(Math.abs(m.std - g.expStd) / g.expStd).toBeLessThan(0.03);
      const total = g.weights.reduce((s, w) => s + w, 0);
      const counts = new Array(g.weights.length).fill(0);
      for (const v of x) {
        let b = 0;
        while (b < g.weights.length - 1 && v >= g.edges[b + 1]) b++;
        counts[b]++;
      }
      g.weights.forEach((w, b) => {
        const p = w / total;
        expect(Math.abs(counts[b] / x.length - p)).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / x.length));
        if (w === 0) expect(counts[b]).toBe(0);
      });
    },
  );

  test('constant (pose-only variant), seeding per identity, seeds differ', () => {
    const cfg: AttributeConfig = { age: { kind: 'constant', value: 35 } };
    const r = sampleAttributes(5, 3, { seed: 'x', distributions: cfg });
    expect(Array.from(new Set(column(r.values, 0)))).toEqual([35]);
    // identity i uses Rng.from(seed).split('id3-attributes', i): pitch, yaw, roll of the first image
    const rng = Rng.from('x').split('id3-attributes', 4);
    for (let a = 1; a < 4; a++) expect(r.values[4 * 3 * 4 + a]).toBe(-90 + 180 * rng.uniform());
    const head = sampleAttributes(2, 3, { seed: 'x', distributions: cfg });
    expect(head.values).toEqual(r.values.subarray(0, 2 * 3 * 4));
    expect(sampleAttributes(5, 3, { seed: 'y', distributions: cfg }).values).not.toEqual(r.values);
    expect(sampleAttributes(5, 3, { seed: 'x', distributions: cfg }).values).toEqual(r.values);
  });
});

describe('encodeAttributes', () => {
  test('[age/100, pitch/90, yaw/90, roll/90], float32', () => {
    const e = encodeAttributes([50, -45, 90, 0, 100, 9, -90, 30]);
    expect(e).toBeInstanceOf(Float32Array);
    expect(Array.from(e)).toEqual(Array.from(Float32Array.of(0.5, -0.5, 1, 0, 1, 0.1, -1, 1 / 3)));
    const r = sampleAttributes(10, 10, { seed: 5 });
    const enc = encodeAttributes(r.values);
    for (let k = 0; k < enc.length; k++) {
      if (k % 4 === 0) expect(enc[k] >= 0 && enc[k] <= 1).toBe(true);
      else expect(enc[k] >= -1 && enc[k] <= 1).toBe(true);
    }
  });

  test('bad input', () => {
    expectThrows(() => encodeAttributes([1, 2, 3]), ShapeError, 'E_SHAPE', 'values');
    expectThrows(() => encodeAttributes([101, 0, 0, 0]), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'values');
    expectThrows(() => encodeAttributes([10, 0, -91, 0]), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'values');
    expectThrows(() => encodeAttributes([10, 0, NaN, 0]), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'values');
    expectThrows(() => encodeAttributes([10, 0, 0, Infinity]), NonFiniteError, 'E_NON_FINITE', 'values');
    expectThrows(() => encodeAttributes(null as never), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'values');
  });
});

describe('bad configurations', () => {
  const IA = InvalidArgumentError;
  const bad = (distributions: unknown) => () => sampleAttributes(2, 2, { distributions: distributions as never });
  test('every path names the parameter', () => {
    expectThrows(() => sampleAttributes(0, 2), IA, 'E_INVALID_ARGUMENT', 'n');
    expectThrows(() => sampleAttributes(2, 0), IA, 'E_INVALID_ARGUMENT', 'perIdentity');
    expectThrows(() => sampleAttributes(2, 2, { seed: 0.5 }), IA, 'E_INVALID_ARGUMENT', 'seed');
    expectThrows(() => sampleAttributes(2, 2, null as never), IA, 'E_INVALID_ARGUMENT', 'options');
    expectThrows(() => sampleAttributes(2 ** 20, 2 ** 10), IA, 'E_INVALID_ARGUMENT', 'perIdentity');
    expectThrows(bad(5), IA, 'E_INVALID_ARGUMENT', 'distributions');
    expectThrows(bad({ gender: { kind: 'constant', value: 1 } }), IA, 'E_INVALID_ARGUMENT', 'distributions');
    expectThrows(bad({ age: 3 }), IA, 'E_INVALID_ARGUMENT', 'distributions.age');
    expectThrows(bad({ age: { kind: 'beta' } }), IA, 'E_INVALID_ARGUMENT', 'distributions.age.kind');
    expectThrows(bad({ age: { kind: 'constant', value: -1 } }), IA, 'E_INVALID_ARGUMENT', 'distributions.age.value');
    expectThrows(
      bad({ yaw: { kind: 'uniform', low: -100, high: 0 } }),
      IA,
      'E_INVALID_ARGUMENT',
      'distributions.yaw.low',
    );
    expectThrows(
      bad({ yaw: { kind: 'uniform', low: 10, high: 0 } }),
      IA,
      'E_INVALID_ARGUMENT',
      'distributions.yaw.high',
    );
    expectThrows(
      bad({ yaw: { kind: 'uniform', low: 0, high: Infinity } }),
      NonFiniteError,
      'E_NON_FINITE',
      'distributions.yaw.high',
    );
    expectThrows(
      bad({ yaw: { kind: 'uniform', low: '0', high: 1 } }),
      IA,
      'E_INVALID_ARGUMENT',
      'distributions.yaw.low',
    );
    const tn = { kind: 'truncnormal', mean: 0, std: 10, low: -20, high: 20 };
    expectThrows(bad({ roll: { ...tn, std: 0 } }), IA, 'E_INVALID_ARGUMENT', 'distributions.roll.std');
    expectThrows(bad({ roll: { ...tn, high: -20 } }), IA, 'E_INVALID_ARGUMENT', 'distributions.roll.high');
    expectThrows(bad({ roll: { ...tn, mean: NaN } }), IA, 'E_INVALID_ARGUMENT', 'distributions.roll.mean');
    // a window far in the tail: rejection sampling would not finish
    const e = expectThrows(
      bad({ roll: { ...tn, mean: -80, std: 1, low: 0 } }),
      IA,
      'E_INVALID_ARGUMENT',
      'distributions.roll',
    );
    expect(e.message).toMatch(/mass/);
    const tb = { kind: 'table', edges: [0, 10, 20], weights: [1, 1] };
    expectThrows(bad({ age: { ...tb, edges: [0] } }), ShapeError, 'E_SHAPE', 'distributions.age.edges');
    expectThrows(bad({ age: { ...tb, weights: [1] } }), ShapeError, 'E_SHAPE', 'distributions.age.weights');
    expectThrows(bad({ age: { ...tb, edges: [0, 10, 10] } }), IA, 'E_INVALID_ARGUMENT', 'distributions.age.edges');
    expectThrows(bad({ age: { ...tb, edges: [0, 10, 120] } }), IA, 'E_INVALID_ARGUMENT', 'distributions.age.edges');
    expectThrows(bad({ age: { ...tb, weights: [1, -1] } }), IA, 'E_INVALID_ARGUMENT', 'distributions.age.weights');
    expectThrows(bad({ age: { ...tb, weights: [0, 0] } }), IA, 'E_INVALID_ARGUMENT', 'distributions.age.weights');
    expectThrows(bad({ age: { ...tb, weights: [1, NaN] } }), IA, 'E_INVALID_ARGUMENT', 'distributions.age.weights');
  });
});
