/**
 * Calibration metrics with the binning conventions of the ProCal official code (spec `procal.md` §A6): ECE, ACE
 * (equal-mass), MCE (weighted, as the code reports, and standard), PIECE (code and paper binning), NLL, Brier, AUROC,
 * and `evaluate` for all of them at the original model's prediction.
 *
 * Confidence bins are equal-width on [0, 1]. The inner edges are `i * (1 / bins)` for i = 1..bins-1, exactly the
 * values of `np.linspace(0, 1, bins + 1)[1:-1]`, and a confidence goes to bin `np.digitize(conf, innerEdges)`:
 * bins are left-closed, `[e_i, e_{i+1})`, so a confidence exactly on an edge belongs to the bin above it, 0 falls
 * in the first bin and 1 falls in the last. Only non-empty bins contribute.
 */
import { InvalidArgumentError, NonFiniteError, ShapeError, rocAuc } from '@trustvision/core-tensor';
import { binIndex, quantileEdges } from './binning.js';
import {
  argmaxRows,
  checkInt,
  checkNumber,
  checkOneOf,
  toLabels,
  toMatrix64,
  toVector64,
  checkProbabilities,
} from './validate.js';
import type { LabelInput, MatrixInput } from './validate.js';

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

// ---------------------------------------------------------------------------------------------------------------
// The other ProCal metrics (spec §A6). Internal kernels take validated float64 confidences and 0/1 correctness.

interface CellStats {
  count: Float64Array;
  sumConf: Float64Array;
  sumCorrect: Float64Array;
}

function cellStats(conf: ArrayLike<number>, ok: Uint8Array, cellOf: Int32Array, cells: number): CellStats {
  const count = new Float64Array(cells);
  const sumConf = new Float64Array(cells);
  const sumCorrect = new Float64Array(cells);
  for (let i = 0; i < conf.length; i++) {
    const c = cellOf[i];
    count[c]++;
    sumConf[c] += conf[i];
    sumCorrect[c] += ok[i];
  }
  return { count, sumConf, sumCorrect };
}

/** Σ over non-empty cells of (n/N)·|acc − conf| ('sum'), the max of that ('weightedMax') or max |acc − conf| ('max'). */
function reduceGaps(s: CellStats, total: number, mode: 'sum' | 'weightedMax' | 'max'): number {
  let out = 0;
  for (let c = 0; c < s.count.length; c++) {
    const n = s.count[c];
    if (n === 0) continue;
    const gap = Math.abs(s.sumCorrect[c] / n - s.sumConf[c] / n);
    if (mode === 'sum') out += (n / total) * gap;
    else out = Math.max(out, mode === 'max' ? gap : (n / total) * gap);
  }
  return out;
}

function uniformCells(conf: ArrayLike<number>, bins: number): Int32Array {
  const out = new Int32Array(conf.length);
  for (let i = 0; i < conf.length; i++) out[i] = binOf(conf[i], bins);
  return out;
}

function quantileCells(values: ArrayLike<number>, bins: number): { cells: Int32Array; bins: number } {
  const edges = quantileEdges(values, bins);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = binIndex(edges, values[i]);
  return { cells: out, bins: edges.length - 1 };
}

/** PIECE binning, by the official code ('code') or by the paper's App. C ('paper'). Returns cell ids. */
function pieceCells(
  conf: ArrayLike<number>,
  prox: ArrayLike<number>,
  confBins: number,
  proxBins: number,
  binning: 'code' | 'paper',
): { cells: Int32Array; count: number } {
  const n = conf.length;
  const cells = new Int32Array(n);
  if (binning === 'code') {
    // proximity: equal-mass bins fitted on the evaluated samples (KBinsDiscretizer quantile); confidence: equal width
    const p = quantileCells(prox, proxBins);
    for (let i = 0; i < n; i++) cells[i] = p.cells[i] * confBins + binOf(conf[i], confBins);
    return { cells, count: p.bins * confBins };
  }
  // paper: equal-number confidence bins, then equal-number proximity bins inside each confidence group
  const c = quantileCells(conf, confBins);
  const members: number[][] = Array.from({ length: c.bins }, () => []);
  for (let i = 0; i < n; i++) members[c.cells[i]].push(i);
  for (let b = 0; b < c.bins; b++) {
    const idx = members[b];
    if (idx.length === 0) continue;
    const vals = Float64Array.from(idx, (i) => prox[i]);
    const q = quantileCells(vals, proxBins);
    for (let t = 0; t < idx.length; t++) cells[idx[t]] = b * proxBins + q.cells[t];
  }
  return { cells, count: c.bins * proxBins };
}

function checkedPair(confidences: unknown, correct: unknown): { conf: ConfidenceArray; ok: Uint8Array } {
  const conf = checkConfidences(confidences);
  return { conf, ok: toCorrectness(correct, conf.length) };
}

/** Alias of `expectedCalibrationError`. */
export const ece = expectedCalibrationError;

/**
 * Adaptive calibration error as reported by ProCal ("ACE", Nixon et al.): a top-label ECE over `bins` (default 15)
 * equal-mass confidence bins fitted on the evaluated confidences (scikit-learn `KBinsDiscretizer(strategy='quantile')`
 * semantics: linear percentiles, bins narrower than 1e-8 merged away, `searchsorted(..., side='right')`).
 * Not netcal's "average calibration error".
 */
export function ace(confidences: ConfidenceArray, correct: CorrectnessArray, options: BinningOptions = {}): number {
  const bins = checkBins(options.bins ?? 15);
  const { conf, ok } = checkedPair(confidences, correct);
  return aceKernel(conf, ok, bins);
}

function aceKernel(conf: ArrayLike<number>, ok: Uint8Array, bins: number): number {
  const q = quantileCells(conf, bins);
  return reduceGaps(cellStats(conf, ok, q.cells, q.bins), conf.length, 'sum');
}

/**
 * Maximum calibration error in the WEIGHTED form that the ProCal code reports (and the paper's tables print):
 * max over non-empty equal-width bins of (n_b / N)·|acc_b − conf_b|. See `mceStandard` for the usual max gap.
 */
export function mceWeighted(confidences: ConfidenceArray, correct: CorrectnessArray, options: BinningOptions = {}) {
  const bins = checkBins(options.bins ?? 15);
  const { conf, ok } = checkedPair(confidences, correct);
  return reduceGaps(cellStats(conf, ok, uniformCells(conf, bins), bins), conf.length, 'weightedMax');
}

/** Standard maximum calibration error (Naeini et al.): max over non-empty equal-width bins of |acc_b − conf_b|. */
export function mceStandard(confidences: ConfidenceArray, correct: CorrectnessArray, options: BinningOptions = {}) {
  const bins = checkBins(options.bins ?? 15);
  const { conf, ok } = checkedPair(confidences, correct);
  return reduceGaps(cellStats(conf, ok, uniformCells(conf, bins), bins), conf.length, 'max');
}

export interface PieceOptions {
  /** Confidence bins (default 15). */
  confBins?: number;
  /** Proximity bins (default 10). */
  proxBins?: number;
  /**
   * 'code' (default; what produced the paper's tables): `proxBins` equal-mass proximity bins over all evaluated
   * samples × `confBins` equal-width confidence bins; then PIECE ≥ ECE always holds.
   * 'paper' (App. C): `confBins` equal-mass confidence bins, then `proxBins` equal-mass proximity bins inside each.
   */
  binning?: 'code' | 'paper';
}

/**
 * Proximity-Informed Expected Calibration Error, PIECE = Σ_cells (n/N)·|acc − conf| over (proximity × confidence)
 * cells; the empirical E_{P̂,D} |P(Ŷ = Y | P̂, D) − P̂| of the paper's Eq. 4.
 */
export function piece(
  confidences: ConfidenceArray,
  correct: CorrectnessArray,
  proximity: ArrayLike<number>,
  options: PieceOptions = {},
): number {
  const { conf, ok } = checkedPair(confidences, correct);
  const prox = toVector64('proximity', proximity, conf.length);
  const o = pieceOptions(options);
  return pieceKernel(conf, ok, prox, o.confBins, o.proxBins, o.binning);
}

function pieceOptions(options: PieceOptions) {
  return {
    confBins: checkInt('confBins', options.confBins ?? 15, 1),
    proxBins: checkInt('proxBins', options.proxBins ?? 10, 1),
    binning: checkOneOf('binning', options.binning ?? 'code', ['code', 'paper'] as const),
  };
}

function pieceKernel(
  conf: ArrayLike<number>,
  ok: Uint8Array,
  prox: ArrayLike<number>,
  confBins: number,
  proxBins: number,
  binning: 'code' | 'paper',
): number {
  const c = pieceCells(conf, prox, confBins, proxBins, binning);
  return reduceGaps(cellStats(conf, ok, c.cells, c.count), conf.length, 'sum');
}

/** ROC AUC of confidence as a score for "the prediction is correct" (sklearn `roc_auc_score(correct, conf)`). */
export function auroc(confidences: ConfidenceArray, correct: CorrectnessArray): number {
  const { conf, ok } = checkedPair(confidences, correct);
  return rocAuc(conf, ok);
}

export interface NllOptions {
  /**
   * Probabilities are clipped to [eps, 1 − eps] and rows renormalised before the log, as scikit-learn's `log_loss`
   * (whose eps='auto' is the machine epsilon of the input dtype: 2.22e-16 for float64, the default here, 1.19e-7 for
   * float32).
   */
  eps?: number;
}

/** Mean negative log-likelihood of the true class, with scikit-learn `log_loss` semantics (clip, renormalise). */
export function nll(probs: MatrixInput, labels: LabelInput, options: NllOptions = {}): number {
  const p = toMatrix64('probs', probs);
  checkProbabilities('probs', p, { sumTolerance: Infinity });
  const y = toLabels('labels', labels, p.rows, p.cols);
  return nllKernel(p.data, p.rows, p.cols, y, checkNumber('eps', options.eps ?? 2.220446049250313e-16, 0, 0.5));
}

function nllKernel(p: Float64Array, rows: number, cols: number, y: Int32Array, eps: number): number {
  let total = 0;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.min(Math.max(p[i * cols + j], eps), 1 - eps);
    const py = Math.min(Math.max(p[i * cols + y[i]], eps), 1 - eps) / s;
    total -= Math.log(py);
  }
  return total / rows;
}

export interface BrierOptions {
  /**
   * 'multiclass' (default): mean over samples of Σ_c (p_c − 1[c = y])², the usual multiclass Brier score.
   * 'flattened': the pre-camera-ready ProCal code's `brier_score_loss(onehot.ravel(), probs.ravel())`, i.e. the
   * multiclass score divided by the number of classes.
   */
  form?: 'multiclass' | 'flattened';
}

/** Brier score of a probability matrix against integer labels. */
export function brier(probs: MatrixInput, labels: LabelInput, options: BrierOptions = {}): number {
  const p = toMatrix64('probs', probs);
  checkProbabilities('probs', p, { sumTolerance: Infinity });
  const y = toLabels('labels', labels, p.rows, p.cols);
  const form = checkOneOf('form', options.form ?? 'multiclass', ['multiclass', 'flattened'] as const);
  return brierKernel(p.data, p.rows, p.cols, y, form);
}

function brierKernel(p: Float64Array, rows: number, cols: number, y: Int32Array, form: 'multiclass' | 'flattened') {
  let total = 0;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const d = p[i * cols + j] - (y[i] === j ? 1 : 0);
      total += d * d;
    }
  return form === 'flattened' ? total / (rows * cols) : total / rows;
}

/** The top-label view of a prediction: the confidence at `preds` and whether `preds` is right. */
export interface TopLabel {
  /** probs[i, preds[i]] */
  confidence: Float64Array;
  /** 1 where preds[i] === labels[i] */
  correct: Uint8Array;
  preds: Int32Array;
}

/**
 * Confidence and correctness at the given predictions. ProCal scores a calibrated output at the ORIGINAL model's
 * prediction (`preds` = argmax of the uncalibrated output), not at the argmax of the calibrated probabilities; without
 * `preds`, the argmax of `probs` is used.
 */
export function topLabel(probs: MatrixInput, labels: LabelInput, preds?: LabelInput): TopLabel {
  const p = toMatrix64('probs', probs);
  checkProbabilities('probs', p, { sumTolerance: Infinity });
  const y = toLabels('labels', labels, p.rows, p.cols);
  const pr = preds === undefined ? argmaxRows(p.data, p.rows, p.cols) : toLabels('preds', preds, p.rows, p.cols);
  return topLabelKernel(p.data, p.cols, y, pr);
}

function topLabelKernel(p: Float64Array, cols: number, y: Int32Array, preds: Int32Array): TopLabel {
  const n = y.length;
  const confidence = new Float64Array(n);
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    confidence[i] = p[i * cols + preds[i]];
    correct[i] = preds[i] === y[i] ? 1 : 0;
  }
  return { confidence, correct, preds };
}

export interface EvaluateInput {
  /** Probabilities [N, C] (rows need not sum to 1 exactly: MIR's output does not). */
  probs: MatrixInput;
  labels: LabelInput;
  /** Proximity of each sample (for PIECE); PIECE is NaN without it. */
  proximity?: ArrayLike<number>;
  /** The original model's predictions (default: argmax of `probs`). */
  preds?: LabelInput;
}

export interface EvaluateOptions extends PieceOptions, NllOptions {
  /** Equal-width confidence bins of ECE and MCE (default 15). */
  bins?: number;
  /** Equal-mass bins of ACE (default 15). */
  aceBins?: number;
  brierForm?: 'multiclass' | 'flattened';
}

/** Every metric of one prediction. The paper reports ece, ace, mce and piece ×10⁻² (multiply by 100). */
export interface CalibrationReport {
  /** Top-label ECE, 15 equal-width bins. */
  ece: number;
  /** Top-label ECE over 15 equal-mass bins (the paper's "ACE"). */
  ace: number;
  /** Weighted MCE, max_b (n_b/N)|acc_b − conf_b|: the form in the paper's tables (= mceWeighted). */
  mce: number;
  mceWeighted: number;
  /** Standard MCE, max_b |acc_b − conf_b|. */
  mceStandard: number;
  /** PIECE (NaN when no proximity was given). */
  piece: number;
  nll: number;
  brier: number;
  /** AUROC of confidence for correctness (NaN when all predictions are right, or all wrong). */
  auroc: number;
  accuracy: number;
  n: number;
}

/**
 * All metrics of a (calibrated) probability matrix at once, with the ProCal code's conventions: confidence is read at
 * the original prediction `preds` (default argmax), correctness is `preds === labels`, PIECE uses `proximity`.
 */
export function evaluate(input: EvaluateInput, options: EvaluateOptions = {}): CalibrationReport {
  if (input === null || typeof input !== 'object')
    throw new InvalidArgumentError('input', input, '{ probs, labels, proximity?, preds? }');
  const p = toMatrix64('probs', input.probs);
  checkProbabilities('probs', p, { sumTolerance: Infinity });
  const y = toLabels('labels', input.labels, p.rows, p.cols);
  const preds =
    input.preds === undefined ? argmaxRows(p.data, p.rows, p.cols) : toLabels('preds', input.preds, p.rows, p.cols);
  const prox = input.proximity === undefined ? undefined : toVector64('proximity', input.proximity, p.rows);
  const bins = checkBins(options.bins ?? 15);
  const aceBins = checkInt('aceBins', options.aceBins ?? 15, 1);
  const po = pieceOptions(options);
  const eps = checkNumber('eps', options.eps ?? 2.220446049250313e-16, 0, 0.5);
  const form = checkOneOf('brierForm', options.brierForm ?? 'multiclass', ['multiclass', 'flattened'] as const);
  const { confidence: conf, correct: ok } = topLabelKernel(p.data, p.cols, y, preds);
  const n = p.rows;
  const uni = cellStats(conf, ok, uniformCells(conf, bins), bins);
  let nOk = 0;
  for (let i = 0; i < n; i++) nOk += ok[i];
  const mceW = reduceGaps(uni, n, 'weightedMax');
  return {
    ece: reduceGaps(uni, n, 'sum'),
    ace: aceKernel(conf, ok, aceBins),
    mce: mceW,
    mceWeighted: mceW,
    mceStandard: reduceGaps(uni, n, 'max'),
    piece: prox ? pieceKernel(conf, ok, prox, po.confBins, po.proxBins, po.binning) : NaN,
    nll: nllKernel(p.data, p.rows, p.cols, y, eps),
    brier: brierKernel(p.data, p.rows, p.cols, y, form),
    auroc: nOk === 0 || nOk === n ? NaN : rocAuc(conf, ok),
    accuracy: nOk / n,
    n,
  };
}
