/**
 * Properties from the paper: Example 4.1, Theorem 4.2 (PIECE ≥ ECE with the code's binning), Theorem 5.1 (BMS with
 * λ = 1 lowers the Brier score by exactly the squared bin gaps), DR lowering PIECE on proximity-biased data, and the
 * behaviour of the calibrators that have no bit-exact reference (PTS/PTSK, ETS's QP, paper-form BMS).
 */
import { describe, expect, test } from '@jest/globals';
import { Rng } from '@trustvision/core-tensor';
import {
  BinMeanShift,
  Calibrator,
  ProximityCalibrator,
  ProximityIndex,
  biasIndex,
  evaluate,
  expectedCalibrationError,
  piece,
  simplexQp3,
} from '../src/index.js';
import { dataset, golden } from './helpers.js';

/** The paper's Example 4.1: equal-mass groups with accuracies 0.5 and 0.9, constant confidence 0.7. */
function example41() {
  const n = 200;
  const conf = new Float64Array(n).fill(0.7);
  const correct = new Uint8Array(n);
  const prox = new Float64Array(n);
  for (let i = 0; i < 100; i++) {
    prox[i] = 0.1 + i * 1e-3; // low proximity: every other one right → 0.5 in every proximity bin
    correct[i] = i % 2 === 0 ? 1 : 0;
    prox[100 + i] = 0.9 + i * 1e-3; // high proximity: 9 of 10 right in every bin
    correct[100 + i] = i % 10 === 0 ? 0 : 1;
  }
  return { conf, correct, prox };
}

describe('paper examples and theorems', () => {
  test('Example 4.1: ECE = 0 and PIECE = 0.2 (both binnings)', () => {
    const { conf, correct, prox } = example41();
    expect(expectedCalibrationError(conf, correct)).toBeCloseTo(0, 14);
    expect(piece(conf, correct, prox)).toBeCloseTo(0.2, 14);
    expect(piece(conf, correct, prox, { binning: 'paper' })).toBeCloseTo(0.2, 14);
    // through evaluate(), as a 2-class probability matrix
    const probs = new Float64Array(400);
    for (let i = 0; i < 200; i++) {
      probs[2 * i] = 0.7;
      probs[2 * i + 1] = 0.3;
    }
    const labels = Int32Array.from(correct, (c) => (c ? 0 : 1));
    const r = evaluate({ probs: { data: probs, shape: [200, 2] }, labels, proximity: prox });
    expect(r.ece).toBeCloseTo(0, 14);
    expect(r.piece).toBeCloseTo(0.2, 14);
    expect(r.accuracy).toBeCloseTo(0.7, 15);
  });

  test('Theorem 4.2: PIECE ≥ ECE with the code binning, on random data (200 draws)', () => {
    const rng = Rng.from('piece>=ece');
    for (let t = 0; t < 200; t++) {
      const n = 20 + rng.int(400);
      const conf = rng.uniformArray(n, 0, 1);
      const prox = rng.uniformArray(n, 0, 1);
      const ok = Uint8Array.from(conf, (c, i) => (rng.uniform() < c * (0.5 + prox[i]) ? 1 : 0));
      const e = expectedCalibrationError(conf, ok);
      expect(piece(conf, ok, prox)).toBeGreaterThanOrEqual(e - 1e-15);
      expect(piece(conf, ok, prox, { confBins: 10, proxBins: 3 })).toBeGreaterThanOrEqual(
        expectedCalibrationError(conf, ok, { bins: 10 }) - 1e-15,
      );
    }
  });

  test('Theorem 5.1: BMS with λ = 1 lowers the calibration Brier score by Σ_B (n_B/N)(A − F)² exactly', () => {
    const { cal } = dataset();
    const g = golden();
    const prox = Float64Array.from(g.proximity.calMeanExp as number[]);
    const probs = Calibrator.fit('conf', cal).predict(cal);
    const C = 5;
    const n = cal.n;
    const conf = new Float64Array(n);
    const ok = new Float64Array(n);
    const preds = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let b = 0;
      for (let j = 1; j < C; j++) if (probs[i * C + j] > probs[i * C + b]) b = j;
      preds[i] = b;
      conf[i] = probs[i * C + b];
      ok[i] = b === cal.labels[i] ? 1 : 0;
    }
    const brier = (c: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += (c[i] - ok[i]) ** 2;
      return s / n;
    };
    for (const lambda of [1, 0.5, 1.5]) {
      const bms = BinMeanShift.fit(
        { probs: { data: probs, shape: [n, C] }, labels: cal.labels, proximity: prox },
        { lambda, clip: false },
      );
      const shifted = bms.shift(conf, prox);
      // Σ_B (n_B/N)(A − F)² from the fitted gaps
      let gapSq = 0;
      for (let i = 0; i < n; i++) gapSq += ((shifted[i] - conf[i]) / lambda) ** 2;
      const reduction = brier(conf) - brier(shifted);
      expect(reduction).toBeCloseTo((lambda * (2 - lambda) * gapSq) / n, 14);
      if (lambda === 1) expect(reduction).toBeGreaterThan(0);
      // clipping to [0, 1] can only lower it further
      const clipped = BinMeanShift.fit(
        { probs: { data: probs, shape: [n, C] }, labels: cal.labels, proximity: prox },
        { lambda, clip: true },
      );
      expect(brier(clipped.shift(conf, prox))).toBeLessThanOrEqual(brier(shifted) + 1e-15);
    }
  });

  test('Density-Ratio calibration lowers PIECE and ECE on proximity-biased data; BMS (paper) on top of IR too', async () => {
    const { cal, test: tst } = dataset();
    const dr = await ProximityCalibrator.fit(cal, { base: 'conf', method: 'dr' });
    const r = await dr.evaluate(tst);
    expect(r.calibrated.piece).toBeLessThan(r.base.piece - 0.05);
    expect(r.calibrated.ece).toBeLessThan(r.base.ece - 0.05);
    // PIECE ≥ ECE holds for both outputs
    expect(r.base.piece).toBeGreaterThanOrEqual(r.base.ece);
    expect(r.calibrated.piece).toBeGreaterThanOrEqual(r.calibrated.ece);
    const bms = await ProximityCalibrator.fit(cal, {
      base: 'conf',
      method: 'bms',
      binMeanShift: { proxBins: 3, confBins: 4 },
    });
    const b = await bms.evaluate(tst);
    expect(b.calibrated.piece).toBeLessThan(b.base.piece);
    // confidence is read at the original prediction; calibrated rows still sum to 1
    const p = b.prediction;
    for (let i = 0; i < p.preds.length; i++) {
      let s = 0;
      for (let j = 0; j < p.classes; j++) s += p.probs[i * p.classes + j];
      expect(s).toBeCloseTo(1, 12);
      expect(p.confidence[i]).toBe(p.probs[i * p.classes + p.preds[i]]);
    }
  });
});

describe('calibrators without a bit-exact reference', () => {
  test('PTS: Adam training lowers the MSE; deterministic per seed; JSON round trip', () => {
    const { cal, C } = dataset();
    const mse = (p: Float64Array) => {
      let s = 0;
      for (let i = 0; i < cal.n; i++)
        for (let j = 0; j < C; j++) s += (p[i * C + j] - (cal.labels[i] === j ? 1 : 0)) ** 2;
      return s / (cal.n * C);
    };
    const untrained = Calibrator.fit('pts', cal, { pts: { epochs: 0, seed: 3 } });
    const trained = Calibrator.fit('pts', cal, { pts: { epochs: 300, lr: 1e-2, batchSize: 50, seed: 3 } });
    const again = Calibrator.fit('pts', cal, { pts: { epochs: 300, lr: 1e-2, batchSize: 50, seed: 3 } });
    const p0 = untrained.predict(cal);
    const p1 = trained.predict(cal);
    expect(mse(p1)).toBeLessThan(mse(p0));
    expect(Array.from(again.predict(cal))).toEqual(Array.from(p1));
    const restored = Calibrator.fromJSON(JSON.parse(JSON.stringify(trained.toJSON())), C);
    expect(Array.from(restored.predict(cal))).toEqual(Array.from(p1));
    // the code's defaults (lr 5e-5, 100 epochs, batch 1000) run and give probabilities
    const d = Calibrator.fit('pts', cal).predict(cal);
    for (let i = 0; i < cal.n; i++) {
      let s = 0;
      for (let j = 0; j < C; j++) s += d[i * C + j];
      expect(s).toBeCloseTo(1, 12);
    }
  });

  test('PTSK feeds exp(−d²) of the 5 nearest neighbours to the network', async () => {
    const { cal, test: tst, C } = dataset();
    const index = await ProximityIndex.create(cal.features);
    const nbCal = await index.neighbours();
    const nbTest = await index.neighbours(tst.features);
    const fit = (nb: typeof nbCal) => ({ data: nb.sqDistances, shape: [nb.proximity.length, nb.k] });
    const ptsk = Calibrator.fit(
      'ptsk',
      { ...cal, neighbourSqDistances: fit(nbCal) },
      { pts: { epochs: 50, lr: 1e-2, batchSize: 50 } },
    );
    const p = ptsk.predict({ logits: tst.logits, neighbourSqDistances: fit(nbTest) });
    expect(p.length).toBe(tst.n * C);
    const j = ptsk.toJSON() as { layers: { inputs: number }[]; topK: number; neighbours: number };
    expect(j.layers[0].inputs).toBe(10);
    expect([j.topK, j.neighbours]).toEqual([5, 5]);
    // other neighbours give other temperatures
    const shuffled = Float64Array.from(nbTest.sqDistances).reverse();
    const q = ptsk.predict({ logits: tst.logits, neighbourSqDistances: { data: shuffled, shape: [tst.n, nbTest.k] } });
    expect(Array.from(q)).not.toEqual(Array.from(p));
    // the pipeline wires the neighbours in by itself
    const pipe = await ProximityCalibrator.fit(cal, { base: 'ptsk', calibrator: { pts: { epochs: 5 } } });
    expect(pipe.method).toBe('dr');
    expect((await pipe.predict(tst)).probs.length).toBe(tst.n * C);
  });

  test('ETS QP: exact on a hand-made problem, including the interior and vertex solutions', () => {
    // minimise |w − t|² over the simplex: G = I, b = t
    expect(
      simplexQp3(
        [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
        [0.2, 0.3, 0.5],
      ).map((v) => +v.toFixed(12)),
    ).toEqual([0.2, 0.3, 0.5]);
    expect(
      simplexQp3(
        [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
        [2, 0, 0],
      ).map((v) => +v.toFixed(12)),
    ).toEqual([1, 0, 0]);
    const w = simplexQp3(
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      [0.8, 0.6, -1],
    );
    expect(w.map((v) => +v.toFixed(12))).toEqual([0.6, 0.4, 0]);
  });

  test('every base method fits, predicts rows of probabilities, and survives a JSON round trip', async () => {
    const { cal, test: tst, C } = dataset();
    for (const base of ['conf', 'ts', 'ets', 'pts', 'hb', 'ir', 'mir'] as const) {
      const c = Calibrator.fit(base, cal, { pts: { epochs: 2 } });
      const p = c.predict(tst);
      const q = Calibrator.fromJSON(JSON.parse(JSON.stringify(c.toJSON())), C).predict(tst);
      expect(Array.from(q)).toEqual(Array.from(p));
      for (let i = 0; i < tst.n; i++) {
        let s = 0;
        for (let j = 0; j < C; j++) {
          expect(p[i * C + j]).toBeGreaterThanOrEqual(0);
          s += p[i * C + j];
        }
        if (base !== 'mir') expect(s).toBeCloseTo(1, 12);
      }
    }
  });
});

describe('bias index', () => {
  test('positive and significant on proximity-biased data; about zero without bias; deterministic per seed', () => {
    const rng = Rng.from('bias');
    const n = 3000;
    const conf = rng.uniformArray(n, 0.5, 1);
    const prox = rng.uniformArray(n, 0, 1);
    const biased = Uint8Array.from(conf, (c, i) => (rng.uniform() < Math.min(1, c * (0.6 + 0.6 * prox[i])) ? 1 : 0));
    const fair = Uint8Array.from(conf, (c) => (rng.uniform() < c ? 1 : 0));
    const b = biasIndex({ confidence: conf, correct: biased, proximity: prox });
    expect(b.biasIndex).toBeGreaterThan(0.2);
    expect(b.pValue).toBeLessThan(1e-6);
    expect(b.pairs).toBeGreaterThan(15000);
    expect(biasIndex({ confidence: conf, correct: biased, proximity: prox })).toEqual(b);
    const f = biasIndex({ confidence: conf, correct: fair, proximity: prox }, { seed: 1 });
    expect(Math.abs(f.biasIndex)).toBeLessThan(0.06);
  });
});

describe('proximity search on raw queries (L2 mode)', () => {
  const rng = Rng.from('procal-raw-queries');
  const N = 300;
  const M = 120;
  const D = 24;
  const ref = rng.normalFloat32(N * D, 0, 1);
  const q = rng.normalFloat32(M * D, 0, 1);

  test('query scale does not change neighbours or proximity; graph and loop agree', async () => {
    const scaled = Float32Array.from(q, (v, i) => v * (1 + 40 * ((Math.floor(i / D) % 7) / 7)));
    for (const backend of ['graph', 'js'] as const) {
      const index = await ProximityIndex.create({ data: ref, shape: [N, D] }, { k: 7, backend });
      const a = await index.neighbours({ data: q, shape: [M, D] });
      const b = await index.neighbours({ data: scaled, shape: [M, D] });
      expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
      for (let i = 0; i < M; i++) expect(Math.abs(b.proximity[i] - a.proximity[i])).toBeLessThan(1e-7); // the scaled queries are rounded to float32
    }
  });

  test('a zero reference row keeps its distance of 1 from every query', async () => {
    const r = Float32Array.from(ref);
    r.fill(0, 5 * D, 6 * D);
    const index = await ProximityIndex.create({ data: r, shape: [N, D] }, { k: N, backend: 'js' });
    const big = Float32Array.from(q.subarray(0, 3 * D), (v) => v * 50);
    const res = await index.neighbours({ data: big, shape: [3, D] });
    for (let i = 0; i < 3; i++) {
      const j = Array.from(res.indices.subarray(i * N, (i + 1) * N)).indexOf(5);
      expect(res.sqDistances[i * N + j]).toBeCloseTo(1, 12);
    }
  });
});
