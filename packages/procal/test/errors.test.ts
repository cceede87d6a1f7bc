/**
 * Bad input: every failure is a core-tensor typed error naming the parameter, the value and what was expected; the
 * documented fallbacks (empty bins, empty proximity strata, all-zero remainders) are exercised too.
 */
import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';
import {
  BinMeanShift,
  Calibrator,
  DensityRatioCalibrator,
  ProximityCalibrator,
  ProximityIndex,
  ProximityStratified,
  evaluate,
  piece,
  proximity,
  reliabilityDiagramSvg,
} from '../src/index.js';
import { dataset, expectRejects, expectThrows } from './helpers.js';

const { cal, test: tst, C } = dataset();
const probs = (rows: number[][]) => ({ data: Float64Array.from(rows.flat()), shape: [rows.length, rows[0].length] });

describe('mismatched sizes', () => {
  test('labels, proximity and preds must have one entry per row', () => {
    const p = probs([
      [0.6, 0.4],
      [0.3, 0.7],
    ]);
    expectThrows(() => evaluate({ probs: p, labels: [0] }), ShapeError, 'E_SHAPE', 'labels');
    expectThrows(() => evaluate({ probs: p, labels: [0, 1], proximity: [0.5] }), ShapeError, 'E_SHAPE', 'proximity');
    expectThrows(() => evaluate({ probs: p, labels: [0, 1], preds: [0, 1, 1] }), ShapeError, 'E_SHAPE', 'preds');
    expectThrows(() => piece([0.5, 0.6], [1, 0], [0.1]), ShapeError, 'E_SHAPE', 'proximity');
    const e = expectThrows(
      () => evaluate({ probs: { data: new Float64Array(5), shape: [2, 3] }, labels: [0, 1] }),
      ShapeError,
      'E_SHAPE',
      'probs',
    );
    expect(e.message).toMatch(/at least 6 elements/);
  });

  test('features and logits of different lengths', async () => {
    const bad = { ...cal, labels: cal.labels.subarray(0, 10) };
    await expectRejects(ProximityCalibrator.fit(bad), ShapeError, 'E_SHAPE', 'labels');
    const feats = { data: cal.features.data.subarray(0, 8 * 100), shape: [100, 8] };
    await expectRejects(ProximityCalibrator.fit({ ...cal, features: feats }), ShapeError, 'E_SHAPE', 'features');
    const fitted = await ProximityCalibrator.fit(cal);
    await expectRejects(fitted.predict({ features: feats, logits: tst.logits }), ShapeError, 'E_SHAPE', 'features');
    await expectRejects(
      fitted.predict({ features: tst.features, logits: { data: new Float32Array(tst.n * 3), shape: [tst.n, 3] } }),
      ShapeError,
      'E_SHAPE',
      'logits',
    );
    const index = await ProximityIndex.create(cal.features);
    await expectRejects(
      index.proximity({ data: new Float32Array(12), shape: [3, 4] }),
      ShapeError,
      'E_SHAPE',
      'queries',
    );
  });
});

describe('values out of range', () => {
  test('labels outside [0, C) and non-integers', () => {
    const p = probs([
      [0.6, 0.4],
      [0.3, 0.7],
    ]);
    const e = expectThrows(
      () => evaluate({ probs: p, labels: [0, 2] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels[1]',
    );
    expect(e).toMatchObject({ value: '2', expected: 'an integer in [0, 1]' });
    expectThrows(
      () => evaluate({ probs: p, labels: [0, -1] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels[1]',
    );
    expectThrows(
      () => evaluate({ probs: p, labels: [0, 0.5] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels[1]',
    );
    expectThrows(
      () => Calibrator.fit('ts', { logits: tst.logits, labels: Int32Array.from(tst.labels, () => 7) }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels[0]',
    );
    // bigint labels (numpy int64 through readNpz) are accepted
    expect(evaluate({ probs: p, labels: BigInt64Array.of(0n, 1n) }).accuracy).toBe(1);
  });

  test("probabilities outside [0, 1] or rows that don't sum to 1", async () => {
    const bad = probs([
      [0.6, 0.3],
      [0.3, 0.7],
    ]);
    const e = expectThrows(
      () => DensityRatioCalibrator.fit({ probs: bad, labels: [0, 1], proximity: [0.1, 0.2] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'probs[0]',
    );
    expect(e.message).toMatch(/summing to 1/);
    expectThrows(
      () => evaluate({ probs: probs([[1.2, -0.2]]), labels: [0] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'probs[0, 0]',
    );
    const rows = Array.from({ length: cal.n }, () => [0.5, 0.2, 0.2, 0.05, 0.06]);
    await expectRejects(
      ProximityCalibrator.fit({ features: cal.features, probs: probs(rows), labels: cal.labels }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'probs[0]',
    );
  });

  test('NaN and ±Infinity anywhere', async () => {
    const f = Float32Array.from(cal.features.data);
    f[17] = NaN;
    const err = await expectRejects(
      ProximityIndex.create({ data: f, shape: cal.features.shape }),
      NonFiniteError,
      'E_NON_FINITE',
      'referenceFeatures',
    );
    expect((err as NonFiniteError).index).toBe(17);
    const z = Float32Array.from(cal.logits.data);
    z[3] = Infinity;
    expectThrows(
      () => Calibrator.fit('ts', { logits: { data: z, shape: cal.logits.shape }, labels: cal.labels }),
      NonFiniteError,
      'E_NON_FINITE',
      'logits',
    );
    expectThrows(() => evaluate({ probs: probs([[NaN, 1]]), labels: [0] }), NonFiniteError, 'E_NON_FINITE', 'probs');
    expectThrows(() => piece([0.5], [1], [Infinity]), NonFiniteError, 'E_NON_FINITE', 'proximity');
    expectThrows(
      () => reliabilityDiagramSvg({ confidence: [0.5, NaN], correct: [1, 0] }),
      NonFiniteError,
      'E_NON_FINITE',
      'confidence',
    );
  });

  test('options are checked', async () => {
    await expectRejects(ProximityIndex.create(cal.features, { k: 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'k');
    await expectRejects(
      ProximityIndex.create(cal.features, { normalize: 'cosine' as never }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'normalize',
    );
    await expectRejects(
      ProximityCalibrator.fit(cal, { base: 'platt' as never }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'base',
    );
    await expectRejects(
      ProximityCalibrator.fit(cal, { method: 'kde' as never }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'method',
    );
    expectThrows(
      () => evaluate({ probs: probs([[0.5, 0.5]]), labels: [0] }, { binning: 'x' as never }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'binning',
    );
    expectThrows(
      () => ProximityCalibrator.fromJSON({ format: 'nope' } as never),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'json.format',
    );
  });
});

describe('k against the reference size', () => {
  test('k ≥ reference size is refused, counting the excluded self-match', async () => {
    const small = { data: cal.features.data.subarray(0, 8 * 10), shape: [10, 8] };
    const index = await ProximityIndex.create(small, { k: 10 });
    const e = await expectRejects(index.proximity(), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'k');
    expect(e.message).toMatch(/\[1, 9\].*one of which is the query itself/);
    expect((await index.proximity(tst.features)).length).toBe(tst.n); // k = 10 of 10 rows for other queries
    const big = await ProximityIndex.create(small, { k: 11 });
    await expectRejects(big.proximity(tst.features), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'k');
    await expectRejects(
      proximity(undefined, { data: new Float32Array(8), shape: [1, 8] }),
      ShapeError,
      'E_SHAPE',
      'referenceFeatures',
    );
  });
});

describe('degenerate Density-Ratio fits', () => {
  const p = probs(Array.from({ length: 20 }, (_, r) => [0.8 - (r % 7) / 100, 0.2 + (r % 7) / 100]));
  const prox = Float64Array.from({ length: 20 }, (_, i) => 0.3 + ((i * 37) % 11) / 20);

  test('all correct or all wrong: no KDE for one group', () => {
    const allRight = new Int32Array(20);
    const e = expectThrows(
      () => DensityRatioCalibrator.fit({ probs: p, labels: allRight, proximity: prox }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels',
    );
    expect(e).toMatchObject({ value: '"20 correct and 0 wrong predictions"' });
    expectThrows(
      () => DensityRatioCalibrator.fit({ probs: p, labels: new Int32Array(20).fill(1), proximity: prox }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels',
    );
  });

  test('a constant confidence or proximity inside a group gives a zero bandwidth; minBandwidth is the fallback', () => {
    const labels = Int32Array.from({ length: 20 }, (_, i) => (i < 15 ? 0 : 1));
    const constProx = new Float64Array(20).fill(0.5);
    const e = expectThrows(
      () => DensityRatioCalibrator.fit({ probs: p, labels, proximity: constProx }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'proximity',
    );
    expect(e.message).toMatch(/minBandwidth/);
    const dr = DensityRatioCalibrator.fit({ probs: p, labels, proximity: constProx }, { minBandwidth: 1e-3 });
    const out = dr.predict({ probs: p, proximity: constProx });
    expect(out.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
  });

  test('rows whose other classes are all 0 share 1 − s equally (the code would divide by zero)', () => {
    const labels = Int32Array.from({ length: 20 }, (_, i) => (i < 12 ? 0 : 1));
    const dr = DensityRatioCalibrator.fit({ probs: p, labels, proximity: prox });
    const out = dr.predict({ probs: probs([[1, 0, 0]].map(() => [1, 0])), proximity: [0.5] });
    expect(out[0] + out[1]).toBeCloseTo(1, 15);
    const p3 = probs(Array.from({ length: 20 }, (_, r) => [0.7 + (r % 5) / 100, 0.2 - (r % 5) / 100, 0.1]));
    const three = DensityRatioCalibrator.fit({ probs: p3, labels, proximity: prox });
    const o3 = three.predict({ probs: probs([[1, 0, 0]]), proximity: [0.5] });
    expect(o3[1]).toBeCloseTo(o3[2], 15);
    expect(o3[0] + o3[1] + o3[2]).toBeCloseTo(1, 15);
  });
});

describe('empty bins: documented fallbacks', () => {
  test('metrics skip empty bins; an all-empty proximity range keeps PIECE defined', () => {
    expect(evaluate({ probs: probs([[0.99, 0.01]]), labels: [0], proximity: [0.3] })).toMatchObject({
      ece: 0.010000000000000009,
      piece: 0.010000000000000009,
    });
  });

  test('a proximity stratum without calibration samples uses the base calibrator fitted on everything', () => {
    const prox = Float64Array.from({ length: cal.n }, (_, i) => (i < cal.n / 2 ? 0.1 : 0.9)); // nothing in the middle
    const s = ProximityStratified.fit('ir', { ...cal, proximity: prox }, { strategy: 'uniform', bins: 5 });
    expect(s.calibrators.map((c) => c !== null)).toEqual([true, false, false, false, true]);
    const mid = s.predict({ logits: tst.logits, proximity: new Float64Array(tst.n).fill(0.5) });
    expect(Array.from(mid)).toEqual(Array.from(s.fallback.predict({ logits: tst.logits })));
  });

  test('BMS cells without calibration samples shift nothing', () => {
    const n = cal.n;
    const p = Calibrator.fit('conf', cal).predict(cal);
    const prox = Float64Array.from({ length: n }, (_, i) => i / n);
    const bms = BinMeanShift.fit({ probs: { data: p, shape: [n, C] }, labels: cal.labels, proximity: prox });
    (bms.gaps[0] as Float64Array).fill(NaN); // as if every cell of the first stratum were empty
    const c = Float64Array.of(0.42, 0.77);
    expect(Array.from(bms.shift(c, [0, 0]))).toEqual([0.42, 0.77]);
  });

  test('histogram binning gives empty bins their centre, and all-zero rows become uniform', () => {
    const hb = Calibrator.fit('hb', {
      probs: probs([
        [0.95, 0.05],
        [0.92, 0.08],
        [0.15, 0.85],
      ]),
      labels: [0, 1, 1],
    });
    const j = hb.toJSON() as { binMap: number[][] };
    expect(j.binMap[0][4]).toBeCloseTo(0.45, 15);
    const out = hb.predict({ probs: probs([[0.5, 0.5]]) });
    expect(out[0] + out[1]).toBeCloseTo(1, 15);
  });
});
