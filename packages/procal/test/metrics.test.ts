import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';
import { accuracy, confidenceBin, expectedCalibrationError, reliabilityBins } from '../src/index.js';
import { ECE_GOLDEN } from './fixtures/ece_golden.js';

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('expectedCalibrationError', () => {
  test('hand-calculated example', () => {
    // bin 14 = [14/15, 1]: four samples at 0.95, three right -> |0.75 - 0.95| = 0.2, weight 4/6
    // bin 8 = [8/15, 9/15): two samples at 0.55, one right -> |0.5 - 0.55| = 0.05, weight 2/6
    const ece = expectedCalibrationError([0.95, 0.95, 0.95, 0.95, 0.55, 0.55], [1, 1, 1, 0, 1, 0]);
    expect(ece).toBeCloseTo((4 / 6) * 0.2 + (2 / 6) * 0.05, 15);
    expect(ece).toBeCloseTo(0.15, 15);
  });

  test('perfectly calibrated bins give 0; one bin fully wrong gives its confidence', () => {
    // ProCal's Example 4.1: constant confidence 0.7 with overall accuracy 0.7 -> ECE = 0
    const conf = new Float64Array(10).fill(0.7);
    expect(expectedCalibrationError(conf, [1, 1, 1, 1, 1, 1, 1, 0, 0, 0])).toBeCloseTo(0, 15);
    expect(expectedCalibrationError([0.9, 0.9], [false, false])).toBeCloseTo(0.9, 15);
  });

  test.each(Object.entries(ECE_GOLDEN))('numpy golden: %s', (_name, g) => {
    const conf = _name === 'float32' ? Float32Array.from(g.conf) : Float64Array.from(g.conf);
    expect(Array.from(conf)).toEqual(g.conf); // the literals are exact in the typed array
    const bins = Array.from(conf, (c) => confidenceBin(c, g.bins));
    expect(bins).toEqual(g.bin);
    const ece = expectedCalibrationError(conf, Uint8Array.from(g.correct), { bins: g.bins });
    expect(Math.abs(ece - g.ece)).toBeLessThan(1e-14);
  });

  test('a confidence exactly on an edge goes to the bin above it; 0 and 1 go to the end bins', () => {
    expect(confidenceBin(0)).toBe(0);
    expect(confidenceBin(1)).toBe(14);
    expect(confidenceBin(1 / 15)).toBe(1);
    expect(confidenceBin(1 / 3)).toBe(5); // 5 * (1/15) === 1/3 in float64
    expect(confidenceBin(14 / 15 - 1e-12)).toBe(13);
    expect(confidenceBin(0.5, 10)).toBe(5);
    expect(confidenceBin(0.5, 1)).toBe(0);
  });

  test('reliabilityBins reports counts, means and edges', () => {
    const r = reliabilityBins([0.05, 0.15, 0.16, 1], [1, 0, 1, 1], { bins: 10 });
    expect(Array.from(r.edges)).toEqual([
      0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6000000000000001, 0.7000000000000001, 0.8, 0.9, 1,
    ]);
    expect(Array.from(r.count)).toEqual([1, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(r.meanConfidence[1]).toBeCloseTo(0.155, 15);
    expect(r.accuracy[1]).toBe(0.5);
    expect(r.accuracy[2]).toBeNaN();
    expect(r.total).toBe(4);
  });

  test('validates its inputs with typed errors', () => {
    expect(() => expectedCalibrationError([0.5, NaN], [1, 0])).toThrow(NonFiniteError);
    expect(() => expectedCalibrationError([0.5, Infinity], [1, 0])).toThrow(NonFiniteError);
    expect(() => expectedCalibrationError([0.5, 1.01], [1, 0])).toThrow(InvalidArgumentError);
    expect(() => expectedCalibrationError([-0.1], [1])).toThrow(InvalidArgumentError);
    expect(() => expectedCalibrationError([0.5, 0.6], [1])).toThrow(ShapeError);
    expect(() => expectedCalibrationError([], [])).toThrow(ShapeError);
    expect(() => expectedCalibrationError([0.5], [0.5])).toThrow(InvalidArgumentError);
    expect(() => expectedCalibrationError([0.5], [1], { bins: 0 })).toThrow(InvalidArgumentError);
    expect(() => expectedCalibrationError([0.5], [1], { bins: 2.5 })).toThrow(InvalidArgumentError);
    expect(() => expectedCalibrationError(null as never, [1])).toThrow(InvalidArgumentError);
    const err = catchError(() => expectedCalibrationError([0.5, 2], [1, 0]));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toMatchObject({ code: 'E_INVALID_ARGUMENT', param: 'confidences[1]', value: '2' });
  });
});

describe('accuracy', () => {
  test('fraction of correct predictions', () => {
    expect(accuracy([1, 0, 1, 1])).toBe(0.75);
    expect(accuracy([true, false])).toBe(0.5);
    expect(accuracy(Uint8Array.of(1, 1, 1))).toBe(1);
    expect(() => accuracy([])).toThrow(ShapeError);
    expect(() => accuracy([2])).toThrow(InvalidArgumentError);
  });
});
