/**
 * Agreement with the official-semantics reference (test/fixtures/procal_ref.py run on Debian's numpy 1.24,
 * scikit-learn 1.2.1, statsmodels 0.13.5, scipy 1.10.1 and faiss 1.7.3): metrics and calibrated probabilities to 1e-6
 * relative, KDE values to 1e-9.
 */
import { describe, expect, test } from '@jest/globals';
import {
  Calibrator,
  DensityRatioCalibrator,
  IsotonicRegression,
  ProximityCalibrator,
  ProximityIndex,
  ProximityStratified,
  erfc,
  evaluate,
  rankSumTest,
} from '../src/index.js';
import { dataset, expectRel, golden, maxRelErr } from './helpers.js';

const g = golden();
const { C, cal, test: tst } = dataset();
const calIdx = g.data.calIdx as number[];
const testIdx = g.data.testIdx as number[];

function softmax(z: ArrayLike<number>, rows: number, cols: number, t = 1): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, z[i * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += out[i * cols + j] = Math.exp((z[i * cols + j] - mx) / t);
    for (let j = 0; j < cols; j++) out[i * cols + j] /= s;
  }
  return out;
}

const probsCal = softmax(cal.logits.data, cal.n, C);
const probsTest = softmax(tst.logits.data, tst.n, C);
const predsTest = Int32Array.from({ length: tst.n }, (_, i) => {
  let b = 0;
  for (let j = 1; j < C; j++) if (tst.logits.data[i * C + j] > tst.logits.data[i * C + b]) b = j;
  return b;
});
const proxCal = Float64Array.from(g.proximity.calMeanExp as number[]);
const proxTest = Float64Array.from(g.proximity.testMeanExp as number[]);

function expectMetrics(probs: Float64Array, ref: Record<string, number>, proximity = proxTest, tol = 1e-6) {
  const shape = [tst.n, C];
  const common = { labels: tst.labels, proximity, preds: predsTest };
  const r = evaluate({ probs: { data: probs, shape }, ...common });
  const paper = evaluate({ probs: { data: probs, shape }, ...common }, { binning: 'paper', brierForm: 'flattened' });
  expectRel(r.ece, ref.ece, tol);
  expectRel(r.ace, ref.ace, tol);
  expectRel(r.mce, ref.mceWeighted, tol);
  expectRel(r.mceWeighted, ref.mceWeighted, tol);
  expectRel(r.mceStandard, ref.mceStandard, tol);
  expectRel(r.piece, ref.piece, tol);
  expectRel(paper.piece, ref.piecePaper, tol);
  expectRel(r.nll, ref.nll, tol);
  expectRel(r.brier, ref.brierMulticlass, tol);
  expectRel(paper.brier, ref.brierFlattened, tol);
  expectRel(r.auroc, ref.auroc, tol);
  expect(r.accuracy).toBe(ref.accuracy);
}

describe('proximity', () => {
  test.each([
    ['meanExp on L2-normalised features (code)', {}, 'calMeanExp', 'testMeanExp'],
    ["expMean (paper's Eq. 1)", { aggregate: 'expMean' as const }, 'calExpMean', 'testExpMean'],
    [
      'standardised features, d²/dim (NLP script)',
      { normalize: 'standardize' as const, distanceScale: 'dim' as const },
      'calStandardized',
      'testStandardized',
    ],
  ])('%s', async (_name, options, calKey, testKey) => {
    const index = await ProximityIndex.create(cal.features, options);
    expect(maxRelErr(await index.proximity(), g.proximity[calKey])).toBeLessThan(1e-12);
    expect(maxRelErr(await index.proximity(tst.features), g.proximity[testKey])).toBeLessThan(1e-12);
  });

  test('raw features with k = 5', async () => {
    const index = await ProximityIndex.create(cal.features, { normalize: 'none', k: 5 });
    expect(maxRelErr(await index.proximity(), g.proximity.calRawK5)).toBeLessThan(1e-12);
  });

  test('neighbours and squared distances; FAISS IndexFlatL2 (float32) agrees to its rounding', async () => {
    const index = await ProximityIndex.create(cal.features);
    const self = await index.neighbours();
    expect(Array.from(self.indices)).toEqual(g.proximity.calIndices);
    expect(maxRelErr(self.sqDistances, g.proximity.calSqDistances)).toBeLessThan(1e-9);
    const t = await index.neighbours(tst.features);
    expect(Array.from(t.indices)).toEqual(g.proximity.testIndices);
    expect(maxRelErr(t.sqDistances, g.proximity.testSqDistances)).toBeLessThan(1e-9);
    expect(maxRelErr(self.proximity, g.proximity.calFaiss)).toBeLessThan(1e-6);
    expect(maxRelErr(t.proximity, g.proximity.testFaiss)).toBeLessThan(1e-6);
  });

  test('the op-graph path (ONNX Runtime) gives the same proximities', async () => {
    const index = await ProximityIndex.create(cal.features, { backend: 'graph', device: 'cpu' });
    const r = await index.neighbours(tst.features);
    expect(r.backend).toBe('graph');
    expect(maxRelErr(r.proximity, g.proximity.testMeanExp)).toBeLessThan(1e-12);
  });
});

describe('metrics', () => {
  test('softmax confidences (ECE, ACE, MCE both forms, PIECE both binnings, NLL, Brier both forms, AUROC)', () => {
    expectMetrics(probsTest, g.metrics.confTest);
  });

  test('ties: narrow quantile bins dropped, proximity groups with equal values', () => {
    const t = g.metrics.ties;
    const probs = Float64Array.from(probsTest);
    for (let i = 0; i < tst.n; i++) probs[i * C + predsTest[i]] = t.conf[i];
    expectMetrics(probs, t, Float64Array.from(t.prox));
  });
});

describe('Density-Ratio calibration (statsmodels KDEMultivariate)', () => {
  const predsCal = Int32Array.from({ length: cal.n }, (_, i) => {
    let b = 0;
    for (let j = 1; j < C; j++) if (probsCal[i * C + j] > probsCal[i * C + b]) b = j;
    return b;
  });

  test.each([
    ['conf', 1],
    ['ts', g.base.ts.temperature],
  ])('on %s', (name, t) => {
    const ref = g.dr[name];
    const pc = softmax(cal.logits.data, cal.n, C, t);
    const pt = softmax(tst.logits.data, tst.n, C, t);
    const dr = DensityRatioCalibrator.fit({
      probs: { data: pc, shape: [cal.n, C] },
      labels: cal.labels,
      proximity: proxCal,
      preds: predsCal,
    });
    expectRel(dr.gamma, ref.gamma, 1e-15);
    expect(maxRelErr(dr.fCorrect.bandwidth, ref.bwCorrect)).toBeLessThan(1e-12);
    expect(maxRelErr(dr.fWrong.bandwidth, ref.bwWrong)).toBeLessThan(1e-12);
    const conf = Float64Array.from({ length: tst.n }, (_, i) => Math.max(...pt.subarray(i * C, i * C + C)));
    const s = dr.scores(conf, proxTest);
    expect(maxRelErr(s.fCorrect, ref.fCorrect)).toBeLessThan(1e-9);
    expect(maxRelErr(s.fWrong, ref.fWrong)).toBeLessThan(1e-9);
    expect(maxRelErr(s.s, ref.s)).toBeLessThan(1e-9);
    const probs = dr.predict({ probs: { data: pt, shape: [tst.n, C] }, proximity: proxTest });
    expect(maxRelErr(probs, ref.probs)).toBeLessThan(1e-9);
    expectMetrics(probs, name === 'conf' ? g.metrics.confDrTest : g.metrics.tsDrTest);
  });

  test('the whole pipeline (features → proximity → conf → DR) reproduces the reference', async () => {
    const cal0 = await ProximityCalibrator.fit({ ...cal }, { base: 'conf', method: 'dr' });
    const { calibrated, base } = await cal0.evaluate(tst);
    expectRel(base.ece, g.metrics.confTest.ece, 1e-6);
    expectRel(base.piece, g.metrics.confTest.piece, 1e-6);
    for (const k of ['ece', 'ace', 'piece', 'nll', 'auroc'] as const)
      expectRel(calibrated[k], g.metrics.confDrTest[k], 1e-6);
    expectRel(calibrated.mce, g.metrics.confDrTest.mceWeighted, 1e-6);
  });
});

describe('base calibrators', () => {
  const fitInput = { logits: cal.logits, labels: cal.labels };

  test('ts: the NLL-optimal temperature (scipy BFGS with the exact gradient)', () => {
    const ts = Calibrator.fit('ts', fitInput);
    const T = (ts.toJSON() as { temperature: number }).temperature;
    expectRel(T, g.base.ts.temperature, 1e-9);
    // the code's call (BFGS, default gtol 1e-5, numeric gradient) stops a little short of the optimum
    expectRel(T, g.base.ts.temperatureCodeDefaults, 1e-4);
    const probs = ts.predict({ logits: tst.logits });
    expect(maxRelErr(probs, g.base.ts.probs)).toBeLessThan(1e-8);
    expectMetrics(probs, g.base.ts.metrics);
  });

  test('ets: MSE temperature on [0.05, 5] and the simplex weights (SLSQP)', () => {
    const ets = Calibrator.fit('ets', fitInput);
    const j = ets.toJSON() as { temperature: number; weights: number[] };
    expectRel(j.temperature, g.base.ets.temperature, 1e-8);
    for (let k = 0; k < 3; k++) expect(Math.abs(j.weights[k] - g.base.ets.weights[k])).toBeLessThan(1e-7);
    expectRel(j.temperature, g.base.ets.temperatureCodeDefaults, 1e-6);
    const probs = ets.predict({ logits: tst.logits });
    expect(maxRelErr(probs, g.base.ets.probs)).toBeLessThan(1e-6);
    expectMetrics(probs, g.base.ets.metrics);
  });

  test.each(['hb', 'ir', 'mir'] as const)('%s (netcal / Mix-n-Match semantics)', (m) => {
    const c = Calibrator.fit(m, fitInput);
    const probs = c.predict({ logits: tst.logits });
    expect(maxRelErr(probs, g.base[m].probs, 1e-12)).toBeLessThan(1e-9);
    expectMetrics(probs, g.base[m].metrics);
  });

  test('isotonic regression: ties merged within 1e-15, thresholds and interpolation as scikit-learn', () => {
    const iso = IsotonicRegression.fit(g.isotonic.x, g.isotonic.y);
    expect(maxRelErr(iso.x, g.isotonic.thresholdsX)).toBe(0);
    expect(maxRelErr(iso.y, g.isotonic.thresholdsY, 1e-12)).toBeLessThan(1e-14);
    expect(maxRelErr(iso.predict(g.isotonic.query), g.isotonic.predict, 1e-12)).toBeLessThan(1e-13);
  });
});

describe("the code's BMS: proximity-stratified re-fitting (5 percentile bins)", () => {
  test.each(['ir', 'hb', 'mir'] as const)('%s', (m) => {
    const ref = g.stratified[m];
    const s = ProximityStratified.fit(m, { logits: cal.logits, labels: cal.labels, proximity: proxCal });
    expect(maxRelErr(s.edges, ref.edges)).toBeLessThan(1e-15);
    const probs = s.predict({ logits: tst.logits, proximity: proxTest });
    expect(maxRelErr(probs, ref.probs, 1e-12)).toBeLessThan(1e-9);
    expectMetrics(probs, ref.metrics);
  });

  test("auto method on hb/ir/mir is 'stratified' and reproduces the reference end to end", async () => {
    const p = await ProximityCalibrator.fit(cal, { base: 'ir' });
    expect(p.method).toBe('stratified');
    const { calibrated, base } = await p.evaluate(tst);
    expectRel(calibrated.piece, g.stratified.ir.metrics.piece, 1e-6);
    expectRel(calibrated.ece, g.stratified.ir.metrics.ece, 1e-6);
    // the base is IR fitted on the whole calibration set
    expectRel(base.piece, g.base.ir.metrics.piece, 1e-6);
    expectRel(base.ece, g.base.ir.metrics.ece, 1e-6);
  });
});

describe('statistics', () => {
  test('rank-sum test matches scipy.stats.ranksums', () => {
    for (const r of g.ranksums) {
      const t = rankSumTest(r.x, r.y);
      expectRel(t.statistic, r.statistic, 1e-12);
      expectRel(t.pValue, r.pvalue, 1e-12);
    }
  });

  test('erfc matches scipy.special.erfc', () => {
    g.erfc.x.forEach((x: number, i: number) => expectRel(erfc(x), g.erfc.y[i], 2e-13));
  });
});

// keep the imports of the split indices used (they document the fixture layout)
void calIdx;
void testIdx;
