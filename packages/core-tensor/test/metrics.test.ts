import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, NonFiniteError, ShapeError, TrustVisionError } from '../src/errors.js';
import { accuracyAtThreshold, auc, eer, kfoldAccuracy, rank1, roc, rocAuc, tarAtFar } from '../src/metrics.js';
import { Rng } from '../src/rng.js';
import { tensor } from '../src/tensor.js';
import { GOLDEN, RANK1 } from './fixtures/metrics_golden.js';

function thrown(fn: () => unknown): TrustVisionError {
  try {
    fn();
  } catch (e) {
    return e as TrustVisionError;
  }
  throw new Error('expected a throw');
}

function expectError(fn: () => unknown, ctor: new (...a: never[]) => TrustVisionError, param: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(ctor);
  expect(e.param).toBe(param);
}

// Hand-checked case H: genuine 0.9 0.8 0.7 0.6 0.4, impostor 0.75 0.5 0.3 0.2 0.1 (interleaved in input order).
const H_SCORES = [0.9, 0.75, 0.8, 0.5, 0.7, 0.3, 0.6, 0.2, 0.4, 0.1];
const H_LABELS = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0];

describe('goldens from the numpy reference (test/fixtures/metrics_ref.py)', () => {
  for (const [name, g] of Object.entries(GOLDEN)) {
    describe(`set ${name} (n = ${g.scores.length})`, () => {
      test('roc equals sklearn roc_curve(drop_intermediate=False) exactly', () => {
        const r = roc(g.scores, g.labels);
        expect(Array.from(r.thresholds)).toEqual(g.roc.thresholds);
        expect(Array.from(r.tpr)).toEqual(g.roc.tpr);
        expect(Array.from(r.fpr)).toEqual(g.roc.fpr);
      });
      test('rocAuc and auc(fpr, tpr)', () => {
        expect(rocAuc(g.scores, g.labels)).toBeCloseTo(g.auc, 14);
        const r = roc(g.scores, g.labels);
        expect(auc(r.fpr, r.tpr)).toBeCloseTo(g.auc, 12);
      });
      test('tarAtFar', () => {
        const fars = g.tarAtFar.map((t) => t.far);
        expect(tarAtFar(g.scores, g.labels, fars)).toEqual(g.tarAtFar);
        expect(tarAtFar(g.scores, Float64Array.from(g.labels), fars[3])).toEqual(g.tarAtFar[3]);
      });
      test('eer', () => {
        const e = eer(g.scores, g.labels);
        expect(e.eer).toBeCloseTo(g.eer.eer, 14);
        expect(e.threshold).toBe(g.eer.threshold);
      });
      test('kfoldAccuracy (default candidates and a user grid)', () => {
        const k = kfoldAccuracy(g.scores, g.labels, { folds: g.kfold.folds });
        expect(Array.from(k.perFold)).toEqual(g.kfold.perFold);
        expect(Array.from(k.thresholds)).toEqual(g.kfold.thresholds);
        expect(k.mean).toBeCloseTo(g.kfold.mean, 14);
        expect(k.std).toBeCloseTo(g.kfold.std, 14);
        const kg = kfoldAccuracy(g.scores, g.labels, { folds: 5, thresholds: g.kfoldGrid.grid });
        expect(Array.from(kg.perFold)).toEqual(g.kfoldGrid.perFold);
        expect(Array.from(kg.thresholds)).toEqual(g.kfoldGrid.thresholds);
        expect(kg.mean).toBeCloseTo(g.kfoldGrid.mean, 14);
        expect(kg.std).toBeCloseTo(g.kfoldGrid.std, 14);
      });
    });
  }

  test('rank1 on a fixed similarity matrix (with a tie and an absent identity)', () => {
    expect(rank1(RANK1.similarity, RANK1.probes, RANK1.gallery)).toBe(RANK1.rank1);
    const flat = Float32Array.from(RANK1.similarity.flat());
    const t = tensor(flat, [6, 8]);
    // float32 rounding keeps the row-2 tie (both entries are the same literal)
    expect(rank1(t, RANK1.probes, RANK1.gallery)).toBe(RANK1.rank1);
  });
});

describe('hand-calculated cases', () => {
  test('roc of the hand case', () => {
    const r = roc(H_SCORES, H_LABELS);
    expect(Array.from(r.thresholds)).toEqual([Infinity, 0.9, 0.8, 0.75, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]);
    expect(Array.from(r.tpr)).toEqual([0, 0.2, 0.4, 0.4, 0.6, 0.8, 0.8, 1, 1, 1, 1]);
    expect(Array.from(r.fpr)).toEqual([0, 0, 0, 0.2, 0.2, 0.2, 0.4, 0.4, 0.6, 0.8, 1]);
    expect(rocAuc(H_SCORES, H_LABELS)).toBe(21 / 25);
  });

  test('tarAtFar: smallest threshold with FAR ≤ target', () => {
    const at = (far: number) => tarAtFar(H_SCORES, H_LABELS, far);
    // no impostor accepted: everything strictly above the top impostor (0.75) → threshold 0.8
    expect(at(0)).toEqual({ far: 0, tar: 0.4, threshold: 0.8, achievedFar: 0 });
    // one impostor allowed (k = 1): smallest score above the 2nd impostor (0.5) is 0.6
    expect(at(0.2)).toEqual({ far: 0.2, tar: 0.8, threshold: 0.6, achievedFar: 0.2 });
    expect(at(0.39)).toEqual({ far: 0.39, tar: 0.8, threshold: 0.6, achievedFar: 0.2 });
    expect(at(0.4)).toEqual({ far: 0.4, tar: 1, threshold: 0.4, achievedFar: 0.4 });
    expect(at(1)).toEqual({ far: 1, tar: 1, threshold: 0.1, achievedFar: 1 });
    // impostor ties are rejected together: imp = [0.9, 0.9, 0.1], FAR 1/3 impossible without accepting both 0.9s
    expect(tarAtFar([0.9, 0.9, 0.1, 0.95, 0.5], [0, 0, 0, 1, 1], 0.5)).toEqual({
      far: 0.5,
      tar: 0.5,
      threshold: 0.95,
      achievedFar: 0,
    });
    // the top score is an impostor and FAR 0 is asked: nothing can be accepted
    expect(tarAtFar([0.9, 0.2], [0, 1], 0)).toEqual({ far: 0, tar: 0, threshold: Infinity, achievedFar: 0 });
  });

  test('eer: exact crossing on a ROC point', () => {
    // FNR/FPR: 0.6/0 at 0.8, 0.6/0.2 at 0.75, 0.4/0.2 at 0.7, 0.2/0.2 at 0.6
    expect(eer(H_SCORES, H_LABELS)).toEqual({ eer: 0.2, threshold: 0.6 });
  });

  test('eer: interpolated crossing', () => {
    // genuine 0.9 0.8 0.4, impostor 0.6 0.3: (fpr, fnr) goes (0, 1/3) at 0.8 → (1/2, 1/3) at 0.6; crossing at 1/3
    const e = eer([0.9, 0.8, 0.4, 0.6, 0.3], [1, 1, 1, 0, 0]);
    expect(e.eer).toBeCloseTo(1 / 3, 15);
    expect(e.threshold).toBe(0.6);
    // ties: genuine 0.9 0.5 0.5 0.1, impostor 0.8 0.5 0.5 0.2: (0.25, 0.75) → (0.75, 0.25), both move: eer 0.5
    const t = eer([0.9, 0.5, 0.5, 0.1, 0.8, 0.5, 0.5, 0.2], [1, 1, 1, 1, 0, 0, 0, 0]);
    expect(t).toEqual({ eer: 0.5, threshold: 0.5 });
    expect(rocAuc([0.9, 0.5, 0.5, 0.1, 0.8, 0.5, 0.5, 0.2], [1, 1, 1, 1, 0, 0, 0, 0])).toBe(0.5);
    // perfect separation → 0, fully inverted → 1
    expect(eer([1, 2, 3, 4], [0, 0, 1, 1])).toEqual({ eer: 0, threshold: 3 });
    expect(eer([1, 2, 3, 4], [1, 1, 0, 0]).eer).toBe(1);
  });

  test('accuracyAtThreshold', () => {
    expect(accuracyAtThreshold(H_SCORES, H_LABELS, 0.6)).toBe(0.8);
    expect(accuracyAtThreshold(H_SCORES, H_LABELS, Infinity)).toBe(0.5);
    expect(accuracyAtThreshold(H_SCORES, H_LABELS, -Infinity)).toBe(0.5);
    expect(accuracyAtThreshold([0.5, 0.5], [true, false], 0.5)).toBe(0.5); // score ≥ threshold is accepted
  });

  test('kfoldAccuracy: contiguous folds, smallest best threshold, population std', () => {
    const k = kfoldAccuracy([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0], { folds: 2 });
    // fold 0 trains on (0.8 G, 0.2 I) → 0.8, tests 0.9 G ✓ 0.1 I ✓; fold 1 trains on (0.9 G, 0.1 I) → 0.9, 0.8 G ✗
    expect(Array.from(k.thresholds)).toEqual([0.8, 0.9]);
    expect(Array.from(k.perFold)).toEqual([1, 0.5]);
    expect(k.mean).toBe(0.75);
    expect(k.std).toBe(0.25);
    // 7 pairs in 3 folds: blocks [0, 3), [3, 5), [5, 7); worked out by hand in the comments of this test
    // fold 0 trains on 4G 5I 6G 7G → correct counts t=4:3 5:2 6:3 7:2 ∞:1 → 4; tests 1I ✓ 2G ✗ 3I ✓
    // fold 1 trains on 1I 2G 3I 6G 7G → t=1:3 2:4 3:3 6:4 7:3 ∞:2 → 2; tests 4G ✓ 5I ✗
    // fold 2 trains on 1I 2G 3I 4G 5I → t=1:2 2:3 3:2 4:3 5:2 ∞:3 → 2; tests 6G ✓ 7G ✓
    const r = kfoldAccuracy([1, 2, 3, 4, 5, 6, 7], [0, 1, 0, 1, 0, 1, 1], { folds: 3 });
    expect(Array.from(r.thresholds)).toEqual([4, 2, 2]);
    expect(Array.from(r.perFold)).toEqual([2 / 3, 0.5, 1]);
    expect(r.mean).toBeCloseTo((2 / 3 + 0.5 + 1) / 3, 15);
    // a user grid is scanned in order; the first best wins
    const g = kfoldAccuracy([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0], { folds: 2, thresholds: [0.5, 0.3] });
    expect(Array.from(g.thresholds)).toEqual([0.5, 0.5]);
    expect(g.mean).toBe(1);
    expect(g.std).toBe(0);
  });

  test('−0 and +0 are one tied score', () => {
    const r = roc([-0, 0], [1, 0]);
    expect(Array.from(r.thresholds)).toEqual([Infinity, 0]);
    expect(Array.from(r.tpr)).toEqual([0, 1]);
    expect(rocAuc([-0, 0], [1, 0])).toBe(0.5);
  });

  test('rank1 basics', () => {
    expect(rank1([[0.1, 0.9]], ['a'], ['b', 'a'])).toBe(1);
    expect(rank1([[0.5, 0.5]], ['a'], ['b', 'a'])).toBe(0); // tie → lowest index
    // strided (transposed) view: similarity[p][g] = data[g * 2 + p]
    const t = { data: new Float64Array([0.1, 0.8, 0.7, 0.2]), shape: [2, 2], stride: [1, 2], offset: 0 };
    expect(rank1(t, [1, 0], [0, 1])).toBe(1);
  });
});

describe('invariants on random data', () => {
  const rng = Rng.from('metrics-invariants');
  for (let trial = 0; trial < 5; trial++) {
    const n = 50 + rng.int(500);
    const labels = Array.from({ length: n }, () => rng.int(2));
    labels[0] = 0;
    labels[1] = 1;
    // coarse quantisation every other trial to create ties
    const q = trial % 2 === 0 ? 20 : 1e6;
    const scores = Array.from(rng.normalArray(n), (z, i) => Math.round((z + labels[i]) * q) / q);
    test(`trial ${trial} (n = ${n})`, () => {
      const r = roc(scores, labels);
      for (let i = 1; i < r.tpr.length; i++) {
        expect(r.tpr[i]).toBeGreaterThanOrEqual(r.tpr[i - 1]);
        expect(r.fpr[i]).toBeGreaterThanOrEqual(r.fpr[i - 1]);
        expect(r.thresholds[i]).toBeLessThan(r.thresholds[i - 1]);
      }
      expect(r.tpr[r.tpr.length - 1]).toBe(1);
      expect(r.fpr[r.fpr.length - 1]).toBe(1);
      expect(r.thresholds.length).toBe(new Set(scores).size + 1);
      const a = rocAuc(scores, labels);
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
      expect(auc(r.fpr, r.tpr)).toBeCloseTo(a, 12);
      expect(auc(Float64Array.from(r.fpr).reverse(), Float64Array.from(r.tpr).reverse())).toBeCloseTo(a, 12);
      const neg = scores.map((s) => -s);
      expect(rocAuc(neg, labels)).toBeCloseTo(1 - a, 12);
      // tarAtFar: achieved FAR never exceeds the target; lowering the threshold further would
      for (const far of [0, 0.01, 0.1, 0.3]) {
        const t = tarAtFar(scores, labels, far);
        expect(t.achievedFar).toBeLessThanOrEqual(far);
        const i = Array.from(r.thresholds).indexOf(t.threshold);
        if (i + 1 < r.fpr.length) expect(r.fpr[i + 1]).toBeGreaterThan(far);
        expect(accuracyAtThreshold(scores, labels, t.threshold)).toBeGreaterThanOrEqual(0);
      }
      const e = eer(scores, labels);
      expect(e.eer).toBeGreaterThanOrEqual(0);
      expect(e.eer).toBeLessThanOrEqual(1);
      const k = kfoldAccuracy(scores, labels);
      expect(k.perFold.length).toBe(10);
      expect(k.mean).toBeGreaterThan(0.5);
    });
  }
});

describe('validation', () => {
  test('lengths, classes, finiteness, label values', () => {
    expectError(() => roc([1, 2, 3], [0, 1]), ShapeError, 'labels');
    expectError(() => rocAuc([1, 2], [1, 1]), InvalidArgumentError, 'labels');
    expectError(() => roc([1, 2], [0, 0]), InvalidArgumentError, 'labels');
    expectError(() => eer([1, 2], [true, true]), InvalidArgumentError, 'labels');
    expectError(() => tarAtFar([1, 2], [0, 0], 0.1), InvalidArgumentError, 'labels');
    expectError(() => roc([1, 2, 3], [0, 1, 2]), InvalidArgumentError, 'labels');
    expectError(() => roc([], []), InvalidArgumentError, 'scores');
    const nf = thrown(() => roc([1, NaN, 3], [0, 1, 0]));
    expect(nf).toBeInstanceOf(NonFiniteError);
    expect(nf.param).toBe('scores');
    expect((nf as NonFiniteError).index).toBe(1);
    expectError(() => rocAuc([1, Infinity], [0, 1]), NonFiniteError, 'scores');
    expectError(() => accuracyAtThreshold([1, 2], [0, 1], NaN), InvalidArgumentError, 'threshold');
    expectError(() => accuracyAtThreshold([1, 2], [0], 0), ShapeError, 'labels');
  });

  test('far targets', () => {
    expectError(() => tarAtFar([1, 2], [0, 1], -0.1), InvalidArgumentError, 'far');
    expectError(() => tarAtFar([1, 2], [0, 1], NaN), InvalidArgumentError, 'far');
    expectError(() => tarAtFar([1, 2], [0, 1], [0.1, 2]), InvalidArgumentError, 'far[1]');
  });

  test('auc inputs', () => {
    expectError(() => auc([0, 1, 0.5], [0, 1, 1]), InvalidArgumentError, 'x');
    expectError(() => auc([0, 1], [0]), ShapeError, 'y');
    expectError(() => auc([0], [0]), ShapeError, 'x');
    expect(auc([0, 0.5, 1], [0, 1, 1])).toBe(0.75);
  });

  test('folds and thresholds', () => {
    const s = [0.1, 0.9, 0.2, 0.8];
    const y = [0, 1, 0, 1];
    expectError(() => kfoldAccuracy(s, y, { folds: 1 }), InvalidArgumentError, 'folds');
    expectError(() => kfoldAccuracy(s, y, { folds: 2.5 }), InvalidArgumentError, 'folds');
    expectError(() => kfoldAccuracy(s, y, { folds: 5 }), InvalidArgumentError, 'folds');
    expectError(() => kfoldAccuracy(s, y), InvalidArgumentError, 'folds'); // default 10 > n
    expectError(() => kfoldAccuracy(s, y, { folds: 2, thresholds: [] }), InvalidArgumentError, 'thresholds');
    expectError(() => kfoldAccuracy(s, y, { folds: 2, thresholds: [0, NaN] }), InvalidArgumentError, 'thresholds');
    expect(kfoldAccuracy(s, y, { folds: 4 }).perFold.length).toBe(4);
  });

  test('rank1 inputs', () => {
    expectError(() => rank1([[1, 2]], [1, 2], [1, 2]), ShapeError, 'probeLabels');
    expectError(() => rank1([[1, 2]], [1], [1]), ShapeError, 'galleryLabels');
    expectError(() => rank1([[1, 2], [1]], [1, 2], [1, 2]), ShapeError, 'similarity');
    expectError(() => rank1([[1, NaN]], [1], [1, 2]), NonFiniteError, 'similarity');
    expectError(() => rank1({ data: new Float32Array(8), shape: [2, 2, 2] }, [1, 2], [1, 2]), ShapeError, 'similarity');
    expectError(() => rank1([], [], []), InvalidArgumentError, 'similarity');
  });
});
