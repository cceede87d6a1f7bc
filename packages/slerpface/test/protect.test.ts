import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  InvalidArgumentError,
  NonFiniteError,
  Rng,
  ShapeError,
  UnsupportedFormatError,
} from '@trustvision/core-tensor';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  DEFAULT_PARAMS,
  SecureRandom,
  angle,
  createTemplate,
  drawKey,
  drawMask,
  dropCounts,
  matchScore,
  median,
  protect,
  renew,
  resolveParams,
  scoreToDistance,
  slerpGroups,
  type Template,
} from '../src/index.js';

interface GoldenCase {
  groups: number;
  groupSize: number;
  alpha: number;
  dropRate: number;
  gapBase: number;
  t: number[];
  m: number[];
  key: number[];
  mask: number[];
  protected: number[];
  keyUnit: number[];
  probes: { kind: string; q: number[]; mq: number[]; score: number; distance: number }[];
}
const GOLDEN = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'slerpface_golden.json'), 'utf8')) as {
  cases: GoldenCase[];
  keptFraction: number;
};

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const softmax = (x: Float64Array) => {
  const mx = Math.max(...x);
  const e = x.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

function randomTemplate(rng: Rng, G = 49, d = 16, form: 'grid' | 'vector' = 'grid'): Template {
  return createTemplate(rng.normalArray(G * d), softmax(rng.normalArray(G)), { groups: G, groupSize: d, form });
}

function noisy(t: Template, rng: Rng, sigma: number): Template {
  const v = t.values.map((x, i) => x + sigma * rng.normalArray(1)[0] + 0 * i);
  return createTemplate(v, t.weights, { groups: t.groups, groupSize: t.groupSize, form: t.form, layout: t.layout });
}

describe('golden values (official semantics, numpy float64)', () => {
  test.each(GOLDEN.cases.map((c, i) => [i, c] as const))('case %i: protect and match', (_i, c) => {
    const tpl = createTemplate(c.t, c.m, { groups: c.groups, groupSize: c.groupSize, form: 'grid' });
    const r = protect(tpl, { key: c.key, mask: c.mask, alpha: c.alpha, dropRate: c.dropRate, gapBase: c.gapBase });
    expect(maxAbs(r.key, c.keyUnit)).toBeLessThan(1e-15);
    expect(maxAbs(r.protected, c.protected)).toBeLessThan(1e-12);
    // the official implicit mask (exact zeros) equals the explicit one
    for (let i = 0; i < r.mask.length; i++) expect(r.protected[i] !== 0 ? 1 : 0).toBe(r.mask[i]);
    for (const p of c.probes) {
      const probe = createTemplate(p.q, p.mq, { groups: c.groups, groupSize: c.groupSize, form: 'grid' });
      const s = matchScore(r, probe);
      expect(Math.abs(s - p.score)).toBeLessThan(1e-12);
      if (p.kind !== 'identical') expect(Math.abs(scoreToDistance(s) - p.distance)).toBeLessThan(1e-9);
    }
  });
});

describe('invariants', () => {
  const rng = Rng.from('slerpface-invariants');

  test('slerped groups are unit and at angle α_i·θ from the template, (1 − α_i)·θ from the key', () => {
    const t = randomTemplate(rng);
    const key = drawKey(49, 16, rng);
    const p = slerpGroups(t.values, key, t.weights, 0.9, 16);
    for (let i = 0; i < 49; i++) {
      const g = p.subarray(i * 16, (i + 1) * 16);
      const tg = t.values.subarray(i * 16, (i + 1) * 16);
      const kg = key.subarray(i * 16, (i + 1) * 16);
      expect(Math.abs(Math.hypot(...g) - 1)).toBeLessThan(1e-14);
      const theta = angle(tg, kg);
      const a = 0.9 - t.weights[i];
      expect(Math.abs(angle(g, tg) - a * theta)).toBeLessThan(1e-9);
      expect(Math.abs(angle(g, kg) - (1 - a) * theta)).toBeLessThan(1e-9);
    }
  });

  test('the enrolled template itself scores 1 (distance 0), for every dropout mode and α', () => {
    for (const dropout of ['replacement', 'exact', 'none'] as const)
      for (const alpha of [0.5, 0.9, 0.99]) {
        const t = randomTemplate(rng);
        const r = protect(t, { seed: `${dropout}${alpha}`, dropout, alpha });
        expect(Math.abs(matchScore(r, t) - 1)).toBeLessThan(1e-12);
        expect(scoreToDistance(matchScore(r, t))).toBeLessThan(1e-6);
      }
  });

  test('record groups have norm m_i and the key groups are unit', () => {
    const t = randomTemplate(rng);
    const r = protect(t, { seed: 1 });
    for (let i = 0; i < 49; i++) {
      expect(Math.abs(Math.hypot(...r.protected.subarray(i * 16, (i + 1) * 16)) - t.weights[i])).toBeLessThan(1e-15);
      expect(Math.abs(Math.hypot(...r.key.subarray(i * 16, (i + 1) * 16)) - 1)).toBeLessThan(1e-15);
    }
  });

  test('scores order identical > noisy genuine > impostor, in the band near 1', () => {
    const gen: number[] = [];
    const imp: number[] = [];
    for (let n = 0; n < 30; n++) {
      const t = randomTemplate(rng);
      const r = protect(t, { rng });
      gen.push(matchScore(r, noisy(t, rng, 0.3)));
      imp.push(matchScore(r, randomTemplate(rng)));
    }
    expect(Math.min(...gen)).toBeGreaterThan(Math.max(...imp));
    expect(Math.min(...imp)).toBeGreaterThan(0.8);
    expect(Math.max(...gen)).toBeLessThan(1);
  });

  test('weighted dropout: at least 4 of 16 kept per group, ~38 % dropped overall (spec), low groups lose more', () => {
    const params = resolveParams({});
    expect(dropCounts(params, 16)).toEqual({ low: 12, high: 4 });
    let dropped = 0;
    let total = 0;
    let lowDrop = 0;
    let highDrop = 0;
    for (let n = 0; n < 400; n++) {
      const w = softmax(rng.normalArray(49));
      const med = median(w);
      const mask = drawMask(w, 16, params, rng);
      for (let i = 0; i < 49; i++) {
        let kept = 0;
        for (let j = 0; j < 16; j++) kept += mask[i * 16 + j];
        expect(kept).toBeGreaterThanOrEqual(4);
        if (w[i] < med) lowDrop += 16 - kept;
        else highDrop += 16 - kept;
        dropped += 16 - kept;
        total += 16;
      }
    }
    expect(Math.abs(dropped / total - (1 - GOLDEN.keptFraction))).toBeLessThan(0.005);
    // with-replacement expectations: 16(1 − (15/16)^12) ≈ 8.63 and 16(1 − (15/16)^4) ≈ 3.64 per group
    expect(lowDrop / (400 * 24)).toBeCloseTo(16 * (1 - (15 / 16) ** 12), 1);
    expect(highDrop / (400 * 25)).toBeCloseTo(16 * (1 - (15 / 16) ** 4), 1);
  });

  test('exact-count dropout drops exactly 12 / 4 distinct dimensions; none keeps all', () => {
    const w = softmax(rng.normalArray(49));
    const med = median(w);
    const exact = drawMask(w, 16, resolveParams({ dropout: 'exact' }), rng);
    for (let i = 0; i < 49; i++) {
      let kept = 0;
      for (let j = 0; j < 16; j++) kept += exact[i * 16 + j];
      expect(kept).toBe(w[i] < med ? 4 : 12);
    }
    expect(drawMask(w, 16, resolveParams({ dropout: 'none' }), rng).every((v) => v === 1)).toBe(true);
  });

  test('median matches numpy (odd and even counts)', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test('seeded protection is reproducible; a new key changes every group; renewal gives unlinked records', () => {
    const t = randomTemplate(rng);
    const a = protect(t, { seed: 'user-7' });
    const b = protect(t, { seed: 'user-7' });
    expect(Array.from(a.protected)).toEqual(Array.from(b.protected));
    const c = renew(t, { seed: 'user-7/renewed' });
    for (let i = 0; i < 49; i++)
      expect(maxAbs(a.key.subarray(i * 16, i * 16 + 16), c.key.subarray(i * 16, i * 16 + 16))).toBeGreaterThan(0.01);
    // both records still accept the face; the old one must be deleted on renewal
    expect(matchScore(c, t)).toBeCloseTo(1, 12);
    expectThrows(() => renew(t, { key: a.key }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'options');
  });

  test('the CSPRNG source draws unit keys and uniform integers without bias', () => {
    const s = new SecureRandom();
    const k = drawKey(49, 16, s);
    for (let i = 0; i < 49; i++)
      expect(Math.abs(Math.hypot(...k.subarray(i * 16, i * 16 + 16)) - 1)).toBeLessThan(1e-14);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[s.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    const z = s.normalArray(20001);
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const v = z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
    // unseeded protection differs run to run
    const t = randomTemplate(rng);
    expect(maxAbs(protect(t).key, protect(t).key)).toBeGreaterThan(0.01);
  });

  test('degenerate angles: a template equal to its key, and its antipode, still give unit groups and score 1', () => {
    const t = randomTemplate(rng, 4, 8, 'vector');
    const key = Float64Array.from(t.values);
    for (let j = 0; j < 8; j++) key[8 + j] = -t.values[8 + j]; // group 1 antipodal
    const r = protect(t, { key, dropout: 'none' });
    for (let i = 0; i < 4; i++)
      expect(Math.abs(Math.hypot(...r.protected.subarray(i * 8, i * 8 + 8)) - t.weights[i])).toBeLessThan(1e-14);
    expect(r.protected.every(Number.isFinite)).toBe(true);
    expect(matchScore(r, t)).toBeCloseTo(1, 12);
  });
});

describe('bad input', () => {
  const rng = Rng.from('slerpface-errors');
  const t = randomTemplate(rng, 49, 16);

  test('templates: shape, non-finite, zero group, weights', () => {
    const w = Float64Array.from(t.weights);
    expectThrows(
      () => createTemplate(new Float64Array(10), w, { groups: 49, groupSize: 16 }),
      ShapeError,
      'E_SHAPE',
      'template',
    );
    const bad = Float64Array.from(t.values);
    bad[5] = NaN;
    expectThrows(
      () => createTemplate(bad, w, { groups: 49, groupSize: 16 }),
      NonFiniteError,
      'E_NON_FINITE',
      'template',
    );
    const zero = Float64Array.from(t.values);
    zero.fill(0, 16, 32);
    const e = expectThrows(
      () => createTemplate(zero, w, { groups: 49, groupSize: 16 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'template',
    );
    expect(e.message).toMatch(/group 1 is a zero vector/);
    expectThrows(
      () =>
        createTemplate(
          t.values,
          w.map((x) => x * 2),
          { groups: 49, groupSize: 16 },
        ),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'weights',
    );
    const neg = Float64Array.from(w);
    neg[0] = -neg[0];
    neg[1] += 2 * w[0];
    expectThrows(
      () => createTemplate(t.values, neg, { groups: 49, groupSize: 16 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'weights',
    );
    expectThrows(
      () => createTemplate(t.values, w.subarray(1), { groups: 49, groupSize: 16 }),
      ShapeError,
      'E_SHAPE',
      'weights',
    );
    expectThrows(
      () => createTemplate(t.values, w, { groups: 0, groupSize: 16 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'groups',
    );
    expectThrows(
      () => createTemplate(t.values, w, { groups: 784, groupSize: 1 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'groupSize',
    );
    expectThrows(
      () => createTemplate('x' as never, w, { groups: 49, groupSize: 16 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'template',
    );
  });

  test('zero groups: refused by default, sit at the key with allowZeroGroups; an all-zero template is refused', () => {
    const v = Float64Array.from(t.values);
    v.fill(0, 32, 48); // group 2
    expectThrows(
      () => createTemplate(v, t.weights, { groups: 49, groupSize: 16 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'template',
    );
    const z = createTemplate(v, t.weights, { groups: 49, groupSize: 16, allowZeroGroups: true });
    const r = protect(z, { seed: 4, dropout: 'none' });
    // the zero group is protected as its key, scaled by its weight
    for (let j = 0; j < 16; j++) expect(r.protected[32 + j]).toBeCloseTo(r.key[32 + j] * t.weights[2], 14);
    expect(matchScore(r, z)).toBeCloseTo(1, 12);
    expectThrows(
      () => createTemplate(new Float64Array(784), t.weights, { groups: 49, groupSize: 16, allowZeroGroups: true }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'template',
    );
  });

  test('parameters: α outside (0, 1), drop rate, gap, dropout mode', () => {
    for (const alpha of [0, 1, -0.1, 1.5, NaN])
      expectThrows(() => protect(t, { seed: 1, alpha }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'alpha');
    expectThrows(() => protect(t, { seed: 1, dropRate: 1 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'dropRate');
    expectThrows(() => protect(t, { seed: 1, dropRate: 0.3 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'dropRate');
    expectThrows(
      () => protect(t, { seed: 1, dropRate: 0.125, gapBase: 80 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'gapBase',
    );
    expectThrows(
      () => protect(t, { seed: 1, dropout: 'some' as never }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'dropout',
    );
    expectThrows(
      () => protect(t, { seed: 1, dropRate: 0.75, dropout: 'exact' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'dropRate',
    );
    expect(DEFAULT_PARAMS).toEqual({ alpha: 0.9, dropRate: 0.5, gapBase: 8, dropout: 'replacement' });
  });

  test('explicit key and mask are checked', () => {
    expectThrows(
      () => protect(t, { key: new Float64Array(784), seed: 1 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'key',
    );
    expectThrows(() => protect(t, { key: new Float64Array(10), seed: 1 }), ShapeError, 'E_SHAPE', 'key');
    const mask = new Uint8Array(784).fill(1);
    mask[3] = 2;
    expectThrows(() => protect(t, { mask, seed: 1 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'mask');
    const empty = new Uint8Array(784).fill(1);
    empty.fill(0, 0, 16);
    expectThrows(() => protect(t, { mask: empty, seed: 1 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'mask');
    expectThrows(() => protect(t, { rng: {} as never }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'rng');
  });

  test('matching: another form, layout, shape or version', () => {
    const r = protect(t, { seed: 2 });
    const vec = createTemplate(t.values, t.weights, { groups: 49, groupSize: 16, form: 'vector' });
    expectThrows(() => matchScore(r, vec), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'probe');
    const other = createTemplate(t.values, t.weights, {
      groups: 49,
      groupSize: 16,
      form: 'grid',
      layout: 'grid-other',
    });
    expectThrows(() => matchScore(r, other), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'probe');
    const small = randomTemplate(rng, 4, 16, 'grid');
    expectThrows(() => matchScore(r, { ...small, layout: r.layout }), ShapeError, 'E_SHAPE', 'probe');
    expectThrows(
      () => matchScore({ ...r, version: 2 }, t),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
      'record.version',
    );
    expectThrows(() => matchScore({ ...r, mask: new Uint8Array(3) }, t), ShapeError, 'E_SHAPE', 'record.mask');
    expectThrows(() => scoreToDistance(NaN), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'score');
  });
});
