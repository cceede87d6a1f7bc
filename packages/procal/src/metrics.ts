/**
 * Calibration metrics with the binning conventions of the ProCal official code (spec `procal.md` §A6).
 *
 * Confidence bins are equal-width on [0, 1]. The inner edges are `i * (1 / bins)` for i = 1..bins-1, exactly the
 * values of `np.linspace(0, 1, bins + 1)[1:-1]`, and a confidence goes to bin `np.digitize(conf, innerEdges)`:
 * bins are left-closed, `[e_i, e_{i+1})`, so a confidence exactly on an edge belongs to the bin above it, 0 falls
 * in the first bin and 1 falls in the last. Only non-empty bins contribute.
 */
import { InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

/** Confidences: any array-like of numbers in [0, 1] (`Float32Array`, `Float64Array`, `number[]`). */
export type ConfidenceArray = ArrayLike<number>;
/** Per-sample correctness: `true`/`false` or 1/0 (`Uint8Array`, `boolean[]`, `number[]`, ...). */
export type CorrectnessArray = ArrayLike<number | boolean>;

export interface BinningOptions {
  /** Number of equal-width confidence bins. Default 15, as in the ProCal code. */
  bins?: number;
}

/** Per-bin statistics of a reliability diagram. */
export interface ReliabilityBins {
  /** The bins + 1 bin edges: 0, 1/bins, ..., (bins-1)/bins, 1. */
  edges: Float64Array;
  /** Number of samples in each bin. */
  count: Int32Array;
  /** Mean confidence per bin; NaN for an empty bin. */
  meanConfidence: Float64Array;
  /** Fraction of correct samples per bin; NaN for an empty bin. */
  accuracy: Float64Array;
  /** Total number of samples. */
  total: number;
}

function checkArrayLike(param: string, a: unknown): asserts a is ArrayLike<unknown> {
  if (a === null || typeof a !== 'object' || typeof (a as { length?: unknown }).length !== 'number') {
    throw new InvalidArgumentError(param, a, 'an array or typed array');
  }
}

function checkBins(bins: unknown): number {
  if (typeof bins !== 'number' || !Number.isInteger(bins) || bins < 1) {
    throw new InvalidArgumentError('bins', bins, 'a positive integer');
  }
  return bins;
}

function checkConfidences(confidences: unknown): ConfidenceArray {
  checkArrayLike('confidences', confidences);
  const n = confidences.length;
  if (n === 0) throw new ShapeError('confidences', '[0]', '[N] with N >= 1', 'Metrics of an empty set are undefined');
  for (let i = 0; i < n; i++) {
    const c = confidences[i];
    if (typeof c !== 'number') throw new InvalidArgumentError(`confidences[${i}]`, c, 'a number in [0, 1]');
    if (!Number.isFinite(c)) throw new NonFiniteError('confidences', i, c);
    if (c < 0 || c > 1) throw new InvalidArgumentError(`confidences[${i}]`, c, 'a number in [0, 1]');
  }
  return confidences as ConfidenceArray;
}

/** Checks correctness values (booleans or 0/1) and returns them as a Uint8Array. */
function toCorrectness(correct: unknown, expectedLength?: number): Uint8Array {
  checkArrayLike('correct', correct);
  const n = correct.length;
  if (expectedLength !== undefined && n !== expectedLength) {
    throw new ShapeError('correct', `[${n}]`, `[${expectedLength}]`, 'Pass one correctness value per confidence');
  }
  if (n === 0) throw new ShapeError('correct', '[0]', '[N] with N >= 1', 'Metrics of an empty set are undefined');
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = correct[i];
    if (v === true || v === 1) out[i] = 1;
    else if (v === false || v === 0) out[i] = 0;
    else if (typeof v === 'number' && !Number.isFinite(v)) throw new NonFiniteError('correct', i, v);
    else throw new InvalidArgumentError(`correct[${i}]`, v, 'true, false, 1 or 0');
  }
  return out;
}

/**
 * Index of the equal-width bin holding `conf`, identical to `np.digitize(conf, np.linspace(0, 1, bins + 1)[1:-1])`:
 * the number of inner edges `i * (1 / bins)` (i = 1..bins-1) that are <= conf.
 */
export function confidenceBin(conf: number, bins = 15): number {
  checkBins(bins);
  if (typeof conf !== 'number') throw new InvalidArgumentError('conf', conf, 'a number in [0, 1]');
  if (!Number.isFinite(conf)) throw new NonFiniteError('conf', 0, conf);
  if (conf < 0 || conf > 1) throw new InvalidArgumentError('conf', conf, 'a number in [0, 1]');
  return binOf(conf, bins);
}

function binOf(conf: number, bins: number): number {
  const step = 1 / bins;
  let k = Math.floor(conf * bins);
  if (k < 0) k = 0;
  if (k > bins - 1) k = bins - 1;
  // floor(conf * bins) can be off by one next to an edge; settle it against the exact edge values.
  while (k < bins - 1 && (k + 1) * step <= conf) k++;
  while (k > 0 && k * step > conf) k--;
  return k;
}

/** Per-bin counts, mean confidences and accuracies over `bins` equal-width confidence bins (ProCal binning). */
export function reliabilityBins(
  confidences: ConfidenceArray,
  correct: CorrectnessArray,
  options: BinningOptions = {},
): ReliabilityBins {
  const bins = checkBins(options.bins ?? 15);
  const conf = checkConfidences(confidences);
  const ok = toCorrectness(correct, conf.length);
  const count = new Int32Array(bins);
  const sumConf = new Float64Array(bins);
  const sumCorrect = new Float64Array(bins);
  for (let i = 0; i < conf.length; i++) {
    const b = binOf(conf[i], bins);
    count[b]++;
    sumConf[b] += conf[i];
    sumCorrect[b] += ok[i];
  }
  const step = 1 / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 1; i < bins; i++) edges[i] = i * step;
  edges[bins] = 1;
  const meanConfidence = new Float64Array(bins);
  const accuracy = new Float64Array(bins);
  for (let b = 0; b < bins; b++) {
    meanConfidence[b] = count[b] > 0 ? sumConf[b] / count[b] : NaN;
    accuracy[b] = count[b] > 0 ? sumCorrect[b] / count[b] : NaN;
  }
  return { edges, count, meanConfidence, accuracy, total: conf.length };
}

/**
 * Expected calibration error, ECE = Σ_b (n_b / N) · |acc_b − conf_b| over the non-empty bins of `bins` (default 15)
 * equal-width, left-closed confidence bins, as in the ProCal code. The paper reports it ×10⁻² (multiply by 100).
 *
 * @param confidences the confidence of each sample's prediction, in [0, 1]
 * @param correct whether each prediction is right (booleans or 0/1), same length
 */
export function expectedCalibrationError(
  confidences: ConfidenceArray,
  correct: CorrectnessArray,
  options: BinningOptions = {},
): number {
  const r = reliabilityBins(confidences, correct, options);
  let ece = 0;
  for (let b = 0; b < r.count.length; b++) {
    if (r.count[b] === 0) continue;
    ece += (r.count[b] / r.total) * Math.abs(r.accuracy[b] - r.meanConfidence[b]);
  }
  return ece;
}

/** Fraction of correct predictions. */
export function accuracy(correct: CorrectnessArray): number {
  const ok = toCorrectness(correct);
  let s = 0;
  for (let i = 0; i < ok.length; i++) s += ok[i];
  return s / ok.length;
}
