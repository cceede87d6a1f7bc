/**
 * The pipeline: every base × method combination fits, predicts and survives a JSON round trip bit for bit; the
 * standalone metric functions agree with evaluate(); binning helpers follow numpy/scikit-learn.
 */
import { describe, expect, test } from '@jest/globals';
import {
  ProximityCalibrator,
  ace,
  auroc,
  binIndex,
  brier,
  evaluate,
  mceStandard,
  mceWeighted,
  nll,
  percentileLinear,
  piece,
  quantileEdges,
  resolveMethod,
  topLabel,
} from '../src/index.js';
import { dataset, golden, maxRelErr } from './helpers.js';

const { cal, test: tst, C } = dataset();

describe('ProximityCalibrator', () => {
  const bases = ['conf', 'ts', 'ets', 'pts', 'hb', 'ir', 'mir'] as const;
  const methods = ['none', 'dr', 'bms', 'stratified'] as const;
  test.each(bases.flatMap((b) => methods.map((m) => [b, m] as const)))(
    '%s + %s: fit, predict, JSON round trip',
    async (base, method) => {
      const fitted = await ProximityCalibrator.fit(cal, { base, method, calibrator: { pts: { epochs: 3 } } });
      expect([fitted.base, fitted.method]).toEqual([base, method]);
      const p = await fitted.predict(tst);
      expect(p.probs.length).toBe(tst.n * C);
      expect(p.probs.every((v) => v >= 0 && v <= 1 + 1e-8)).toBe(true);
      const restored = ProximityCalibrator.fromJSON(JSON.parse(JSON.stringify(fitted.toJSON())));
      const q = await restored.predict(tst);
      expect(Array.from(q.probs)).toEqual(Array.from(p.probs));
      expect(Array.from(q.proximity)).toEqual(Array.from(p.proximity));
      // the calibration set's own outputs are kept (proximity with self excluded)
      expect(maxRelErr(fitted.calibration!.proximity, golden().proximity.calMeanExp)).toBeLessThan(1e-12);
    },
  );

  test("'auto' resolves as the paper's tables: dr for continuous bases, stratified for binning ones", () => {
    expect(['conf', 'ts', 'ets', 'pts', 'ptsk'].map((b) => resolveMethod(b as never, 'auto'))).toEqual(
      Array(5).fill('dr'),
    );
    expect(['hb', 'ir', 'mir'].map((b) => resolveMethod(b as never, 'auto'))).toEqual(Array(3).fill('stratified'));
    expect(resolveMethod('ir', 'bms')).toBe('bms');
  });

  test('proximity() of new samples equals the prediction proximity', async () => {
    const fitted = await ProximityCalibrator.fit(cal);
    expect(maxRelErr(await fitted.proximity(tst.features), golden().proximity.testMeanExp)).toBeLessThan(1e-12);
  });
});

describe('metric functions', () => {
  test('standalone functions agree with evaluate()', () => {
    const g = golden();
    const probs = { data: Float64Array.from(g.base.ts.probs as number[]), shape: [tst.n, C] };
    const prox = g.proximity.testMeanExp as number[];
    const t = topLabel(probs, tst.labels);
    const r = evaluate({ probs, labels: tst.labels, proximity: prox });
    expect(ace(t.confidence, t.correct)).toBe(r.ace);
    expect(mceWeighted(t.confidence, t.correct)).toBe(r.mce);
    expect(mceStandard(t.confidence, t.correct)).toBe(r.mceStandard);
    expect(piece(t.confidence, t.correct, prox)).toBe(r.piece);
    expect(auroc(t.confidence, t.correct)).toBe(r.auroc);
    expect(nll(probs, tst.labels)).toBe(r.nll);
    expect(brier(probs, tst.labels)).toBe(r.brier);
    expect(brier(probs, tst.labels, { form: 'flattened' })).toBeCloseTo(r.brier / C, 15);
    // AUROC is NaN in evaluate() when every prediction is right
    const sure = evaluate({ probs: { data: Float64Array.of(0.9, 0.1, 0.2, 0.8), shape: [2, 2] }, labels: [0, 1] });
    expect(sure.auroc).toBeNaN();
    expect(sure.piece).toBeNaN(); // no proximity given
  });

  test('numpy percentile (linear) and KBinsDiscretizer edges', () => {
    const s = Float64Array.of(1, 2, 3, 4, 10);
    expect(percentileLinear(s, 0.5)).toBe(3);
    expect(percentileLinear(s, 0.9)).toBeCloseTo(7.6, 14);
    expect(percentileLinear(s, 1)).toBe(10);
    // ties collapse bins (narrower than 1e-8)
    expect(Array.from(quantileEdges([1, 1, 1, 1, 2], 4))).toEqual([1, 2]);
    expect(Array.from(quantileEdges([5, 5, 5], 3))).toEqual([-Infinity, Infinity]);
    const e = Float64Array.of(0, 1, 2, 3);
    expect([-1, 0, 0.5, 1, 2.5, 3, 9].map((x) => binIndex(e, x))).toEqual([0, 0, 0, 1, 2, 2, 2]);
    const t = golden().metrics.ties;
    expect(Array.from(quantileEdges(t.conf, 15))).toEqual(t.aceEdges);
    expect(Array.from(quantileEdges(t.prox, 10))).toEqual(t.proxEdges);
  });
});
