/**
 * Verification and identification metrics for face recognition.
 *
 * Conventions shared by every function:
 * - `scores` are similarities: higher means "more likely the same identity". A pair is ACCEPTED at threshold `t` when
 *   `score >= t` (as in `sklearn.metrics.roc_curve`).
 * - `labels` are 1 / `true` for genuine (same-identity) pairs and 0 / `false` for impostor pairs; anything else is an
 *   InvalidArgumentError('labels').
 * - TPR = TAR = accepted genuine / genuine; FPR = FAR = accepted impostors / impostors; FNR = FRR = 1 − TPR.
 * - Scores must be finite (NonFiniteError('scores')); `scores` and `labels` must have equal lengths (ShapeError).
 * - Sorting is done on Float64Array copies of the genuine and impostor scores (native numeric sort) and a merge, so
 *   everything is O(n log n).
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from './errors.js';
import { assertFinite, float16BitsToNumber, fromNdArray, type NdArrayLike, type Tensor } from './tensor.js';

/** A ROC curve: parallel arrays, thresholds strictly descending from +Infinity, tpr/fpr non-decreasing from 0. */
export interface RocCurve {
  thresholds: Float64Array;
  tpr: Float64Array;
  fpr: Float64Array;
}

/** One operating point of `tarAtFar`. */
export interface TarAtFarResult {
  /** The target FAR that was asked for. */
  far: number;
  /** TAR (TPR) at `threshold`. */
  tar: number;
  /** The acceptance threshold (accept when score ≥ threshold); +Infinity when no finite threshold meets the target. */
  threshold: number;
  /** The FAR actually obtained at `threshold` (≤ `far`). */
  achievedFar: number;
}

/** Equal error rate and the threshold reported with it. */
export interface EerResult {
  eer: number;
  threshold: number;
}

/** Options of `kfoldAccuracy`. */
export interface KFoldOptions {
  /** Number of contiguous folds (default 10, as in the LFW protocol). */
  folds?: number;
  /**
   * Candidate thresholds, scanned in the order given (the first one with the best training accuracy wins, like
   * `np.argmax`). Default: every distinct training score in ascending order, then +Infinity.
   */
  thresholds?: ArrayLike<number>;
}

/** Result of `kfoldAccuracy`. */
export interface KFoldResult {
  /** Mean of the per-fold held-out accuracies. */
  mean: number;
  /** Population standard deviation (ddof = 0, numpy's default) of the per-fold accuracies. */
  std: number;
  /** Held-out accuracy of each fold. */
  perFold: Float64Array;
  /** Threshold chosen for each fold (on the other folds). */
  thresholds: Float64Array;
}

// ---------------------------------------------------------------------------------------------------------------
// input handling

function checkArrayLike(param: string, x: unknown): void {
  if (x === null || typeof x !== 'object' || typeof (x as { length?: unknown }).length !== 'number')
    throw new InvalidArgumentError(param, x, 'an array or typed array');
}

/** Labels as 0/1 bytes. */
function toLabels(labels: ArrayLike<number | boolean>): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v === 1 || v === true) out[i] = 1;
    else if (v !== 0 && v !== false)
      throw new InvalidArgumentError('labels', v, '1/true (genuine) or 0/false (impostor)', `element ${i} is invalid`);
  }
  return out;
}

interface Split {
  /** genuine scores, ascending */
  gen: Float64Array;
  /** impostor scores, ascending */
  imp: Float64Array;
}

function validate(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): Uint8Array {
  checkArrayLike('scores', scores);
  checkArrayLike('labels', labels);
  if (labels.length !== scores.length)
    throw new ShapeError('labels', `[${labels.length}]`, `[${scores.length}] (one label per score)`);
  if (scores.length === 0) throw new InvalidArgumentError('scores', scores, 'at least one score');
  for (let i = 0; i < scores.length; i++)
    if (typeof scores[i] !== 'number') throw new InvalidArgumentError('scores', scores[i], 'numbers', `element ${i}`);
  assertFinite('scores', scores);
  return toLabels(labels);
}

/** Validates and splits into sorted genuine and impostor scores. */
function splitScores(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>, needBoth: boolean): Split {
  const y = validate(scores, labels);
  let nGen = 0;
  for (let i = 0; i < y.length; i++) nGen += y[i];
  const nImp = y.length - nGen;
  if (needBoth && (nGen === 0 || nImp === 0))
    throw new InvalidArgumentError(
      'labels',
      `${nGen} genuine and ${nImp} impostor`,
      'at least one genuine (1) and one impostor (0) pair',
    );
  const gen = new Float64Array(nGen);
  const imp = new Float64Array(nImp);
  let g = 0;
  let m = 0;
  for (let i = 0; i < y.length; i++) {
    // + 0 turns −0 into +0 so that ties compare and sort as one value
    if (y[i] === 1) gen[g++] = scores[i] + 0;
    else imp[m++] = scores[i] + 0;
  }
  gen.sort();
  imp.sort();
  return { gen, imp };
}

/**
 * Distinct scores in DESCENDING order with the cumulative counts of genuine (tp) and impostor (fp) scores ≥ each.
 * Equivalent to sklearn's `_binary_clf_curve` without sample weights.
 */
function descendingCounts(s: Split): { thr: Float64Array; tp: Float64Array; fp: Float64Array; length: number } {
  const { gen, imp } = s;
  const n = gen.length + imp.length;
  const thr = new Float64Array(n);
  const tp = new Float64Array(n);
  const fp = new Float64Array(n);
  let i = gen.length - 1;
  let j = imp.length - 1;
  let ctp = 0;
  let cfp = 0;
  let k = 0;
  while (i >= 0 || j >= 0) {
    const v = i < 0 ? imp[j] : j < 0 ? gen[i] : Math.max(gen[i], imp[j]);
    while (i >= 0 && gen[i] === v) {
      ctp++;
      i--;
    }
    while (j >= 0 && imp[j] === v) {
      cfp++;
      j--;
    }
    thr[k] = v;
    tp[k] = ctp;
    fp[k] = cfp;
    k++;
  }
  return { thr, tp, fp, length: k };
}

// ---------------------------------------------------------------------------------------------------------------
// ROC / AUC

/**
 * The ROC curve at every distinct score, as `sklearn.metrics.roc_curve(labels, scores, drop_intermediate=False)`:
 * thresholds strictly descending and starting at +Infinity with (fpr, tpr) = (0, 0); tied scores form one point.
 * Needs both classes.
 */
export function roc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): RocCurve {
  const s = splitScores(scores, labels, true);
  const c = descendingCounts(s);
  const m = c.length + 1;
  const thresholds = new Float64Array(m);
  const tpr = new Float64Array(m);
  const fpr = new Float64Array(m);
  thresholds[0] = Infinity;
  const P = s.gen.length;
  const N = s.imp.length;
  for (let k = 0; k < c.length; k++) {
    thresholds[k + 1] = c.thr[k];
    tpr[k + 1] = c.tp[k] / P;
    fpr[k + 1] = c.fp[k] / N;
  }
  return { thresholds, tpr, fpr };
}

/**
 * Area under a curve by the trapezoidal rule, as `sklearn.metrics.auc(x, y)`: `x` must be monotonic (non-decreasing or
 * non-increasing; a decreasing x gives the same positive area).
 */
export function auc(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkArrayLike('x', x);
  checkArrayLike('y', y);
  if (x.length !== y.length) throw new ShapeError('y', `[${y.length}]`, `[${x.length}] (the length of x)`);
  if (x.length < 2) throw new ShapeError('x', `[${x.length}]`, '[n] with n ≥ 2');
  assertFinite('x', x);
  assertFinite('y', y);
  let up = true;
  let down = true;
  for (let i = 1; i < x.length; i++) {
    if (x[i] < x[i - 1]) up = false;
    if (x[i] > x[i - 1]) down = false;
  }
  if (!up && !down) throw new InvalidArgumentError('x', x, 'monotonic (non-decreasing or non-increasing) values');
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return up ? area : -area;
}

/**
 * ROC AUC computed exactly as the Mann–Whitney statistic: the probability that a random genuine score exceeds a random
 * impostor score, ties counting 1/2. Equals `auc(fpr, tpr)` of `roc` (and sklearn's `roc_auc_score`) up to rounding;
 * counts are accumulated in integers so the only rounding is the final division.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const { gen, imp } = splitScores(scores, labels, true);
  // walk distinct values ascending; twice = Σ over genuine scores of (2·#imp below + #imp tied)
  let twice = 0;
  let j = 0;
  let i = 0;
  while (i < gen.length) {
    const v = gen[i];
    let p = 0;
    while (i < gen.length && gen[i] === v) {
      p++;
      i++;
    }
    while (j < imp.length && imp[j] < v) j++;
    let q = 0;
    while (j + q < imp.length && imp[j + q] === v) q++;
    twice += p * (2 * j + q);
  }
  return twice / (2 * gen.length * imp.length);
}

// ---------------------------------------------------------------------------------------------------------------
// operating points

function checkFar(param: string, f: unknown): number {
  if (typeof f !== 'number' || !(f >= 0 && f <= 1)) throw new InvalidArgumentError(param, f, 'a number in [0, 1]');
  return f;
}

/**
 * TAR at a target FAR (one target or several). Rule: the threshold is the SMALLEST observed score (or +Infinity) whose
 * FAR — the fraction of impostor scores ≥ threshold, computed as `count / nImpostor` — does not exceed the target;
 * i.e. the last ROC point with `fpr <= far`, as `thresholds[fpr <= far][-1]` on sklearn's curve. Equivalently, with
 * k = the largest count with k / nImpostor ≤ far (k = ⌊far·nImpostor⌋ up to rounding) and s the (k+1)-th highest
 * impostor score, the threshold is the smallest score strictly above s (the TAR is then the best any threshold can
 * reach at that FAR). Ties at s are all rejected, so `achievedFar` can be below `far`.
 */
export function tarAtFar(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>, far: number): TarAtFarResult;
export function tarAtFar(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
  far: ArrayLike<number>,
): TarAtFarResult[];
export function tarAtFar(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
  far: number | ArrayLike<number>,
): TarAtFarResult | TarAtFarResult[] {
  const many = typeof far !== 'number';
  if (many) checkArrayLike('far', far);
  const targets = many ? Array.from(far as ArrayLike<number>) : [far];
  targets.forEach((f, i) => checkFar(many ? `far[${i}]` : 'far', f));
  const c = roc(scores, labels);
  const results = targets.map((f) => {
    // last index with fpr <= f (fpr is non-decreasing and fpr[0] = 0)
    let lo = 0;
    let hi = c.fpr.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (c.fpr[mid] <= f) lo = mid;
      else hi = mid - 1;
    }
    return { far: f, tar: c.tpr[lo], threshold: c.thresholds[lo], achievedFar: c.fpr[lo] };
  });
  return many ? results : results[0];
}

/**
 * Equal error rate: where FPR and FNR = 1 − TPR cross along the ROC (points joined by straight lines). With i the
 * first ROC point where FNR ≤ FPR, the crossing on the segment (i−1, i) is linearly interpolated and `eer` is the common
 * value there; `threshold` is `thresholds[i]`, the largest observed score at which FNR ≤ FPR. Needs both classes.
 */
export function eer(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): EerResult {
  const { thresholds, tpr, fpr } = roc(scores, labels);
  let i = 1;
  while (1 - tpr[i] > fpr[i]) i++; // terminates: the last point has fpr = 1 ≥ fnr = 0
  const d1 = fpr[i] - (1 - tpr[i]);
  if (d1 === 0) return { eer: fpr[i], threshold: thresholds[i] };
  const d0 = fpr[i - 1] - (1 - tpr[i - 1]); // < 0
  const t = d0 / (d0 - d1);
  return { eer: fpr[i - 1] + t * (fpr[i] - fpr[i - 1]), threshold: thresholds[i] };
}

// ---------------------------------------------------------------------------------------------------------------
// accuracy

/** Fraction of pairs classified correctly when accepting `score >= threshold` (threshold may be ±Infinity). */
export function accuracyAtThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
  threshold: number,
): number {
  if (typeof threshold !== 'number' || Number.isNaN(threshold))
    throw new InvalidArgumentError('threshold', threshold, 'a number (±Infinity allowed)');
  const y = validate(scores, labels);
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (scores[i] >= threshold === (y[i] === 1)) correct++;
  return correct / y.length;
}

/** Number of sorted values < t (lower bound). */
function countBelow(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * LFW-protocol verification accuracy. The n pairs are cut into `folds` CONTIGUOUS blocks in input order (as the LFW
 * `pairs.txt` file is laid out, and as sklearn's `KFold(shuffle=False)`: the first n mod folds blocks get one extra
 * pair). For each fold, the threshold maximising accuracy (score ≥ threshold ⇒ genuine) on the OTHER folds is chosen —
 * the first best among the candidates, see `KFoldOptions.thresholds` — and the accuracy on the held-out fold is
 * reported. `std` is the population standard deviation.
 */
export function kfoldAccuracy(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
  options: KFoldOptions = {},
): KFoldResult {
  const y = validate(scores, labels);
  const n = y.length;
  const k = options.folds ?? 10;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 2 || k > n)
    throw new InvalidArgumentError('folds', k, `an integer in [2, ${n}] (the number of pairs)`);
  let userCandidates: Float64Array | undefined;
  if (options.thresholds !== undefined) {
    checkArrayLike('thresholds', options.thresholds);
    userCandidates = Float64Array.from(options.thresholds);
    if (userCandidates.length === 0) throw new InvalidArgumentError('thresholds', options.thresholds, 'non-empty');
    for (let i = 0; i < userCandidates.length; i++)
      if (Number.isNaN(userCandidates[i]))
        throw new InvalidArgumentError('thresholds', options.thresholds, 'numbers, not NaN', `element ${i} is NaN`);
  }
  const base = Math.floor(n / k);
  const rem = n % k;
  const start = (f: number) => f * base + Math.min(f, rem);
  const perFold = new Float64Array(k);
  const chosen = new Float64Array(k);
  for (let f = 0; f < k; f++) {
    const a = start(f);
    const b = start(f + 1);
    let nGen = 0;
    for (let i = 0; i < n; i++) if ((i < a || i >= b) && y[i] === 1) nGen++;
    const gen = new Float64Array(nGen);
    const imp = new Float64Array(n - (b - a) - nGen);
    let g = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (i >= a && i < b) continue;
      if (y[i] === 1) gen[g++] = scores[i] + 0;
      else imp[m++] = scores[i] + 0;
    }
    gen.sort();
    imp.sort();
    let candidates = userCandidates;
    if (candidates === undefined) {
      const all = new Float64Array(gen.length + imp.length + 1);
      all.set(gen);
      all.set(imp, gen.length);
      all[all.length - 1] = Infinity;
      all.sort();
      let u = 0;
      for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[u++] = all[i];
      candidates = all.subarray(0, u);
    }
    let best = -1;
    let bestT = candidates[0];
    for (let c = 0; c < candidates.length; c++) {
      const t = candidates[c];
      // correct = genuine ≥ t plus impostors < t (integer counts: exact comparisons)
      const correct = gen.length - countBelow(gen, t) + countBelow(imp, t);
      if (correct > best) {
        best = correct;
        bestT = t;
      }
    }
    let correct = 0;
    for (let i = a; i < b; i++) if (scores[i] >= bestT === (y[i] === 1)) correct++;
    perFold[f] = correct / (b - a);
    chosen[f] = bestT;
  }
  let mean = 0;
  for (let f = 0; f < k; f++) mean += perFold[f];
  mean /= k;
  let v = 0;
  for (let f = 0; f < k; f++) v += (perFold[f] - mean) ** 2;
  return { mean, std: Math.sqrt(v / k), perFold, thresholds: chosen };
}

// ---------------------------------------------------------------------------------------------------------------
// identification

/**
 * Rank-1 identification accuracy: for each probe (row of `similarity`, probes × gallery, higher = more similar) the
 * gallery item with the highest similarity is taken (the lowest index among ties, like `np.argmax`), and the probe
 * counts as correct when that item's label equals (===) the probe's label. Probes whose identity is absent from the
 * gallery count as errors. `similarity` is a 2-D Tensor / ndarray-like of any real dtype, or an array of rows.
 */
export function rank1(
  similarity: Tensor | NdArrayLike | ArrayLike<number>[],
  probeLabels: ArrayLike<number | string>,
  galleryLabels: ArrayLike<number | string>,
): number {
  checkArrayLike('probeLabels', probeLabels);
  checkArrayLike('galleryLabels', galleryLabels);
  let rows: number;
  let cols: number;
  let at: (p: number, g: number) => number;
  if (Array.isArray(similarity)) {
    rows = similarity.length;
    cols = rows > 0 ? (similarity[0] as ArrayLike<number>).length : 0;
    for (let p = 0; p < rows; p++) {
      const row = similarity[p] as ArrayLike<number>;
      if (row === null || typeof row !== 'object' || row.length !== cols)
        throw new ShapeError('similarity', `row ${p}`, `[${rows}, ${cols}] (rows of equal length)`);
    }
    const m = similarity as ArrayLike<number>[];
    at = (p, g) => m[p][g];
  } else {
    const t = fromNdArray(similarity as NdArrayLike);
    if (t.shape.length !== 2) throw new ShapeError('similarity', t.shape, '[probes, gallery]');
    if (t.dtype === 'int64' || t.dtype === 'uint64')
      throw new DTypeError('similarity', t.dtype, 'a real number dtype (not int64/uint64)');
    [rows, cols] = t.shape;
    const data = t.data as ArrayLike<number>;
    const [s0, s1] = t.stride;
    const off = t.offset;
    at =
      t.dtype === 'float16'
        ? (p, g) => float16BitsToNumber(data[off + p * s0 + g * s1])
        : (p, g) => data[off + p * s0 + g * s1];
  }
  if (probeLabels.length !== rows)
    throw new ShapeError('probeLabels', `[${probeLabels.length}]`, `[${rows}] (one label per similarity row)`);
  if (galleryLabels.length !== cols)
    throw new ShapeError('galleryLabels', `[${galleryLabels.length}]`, `[${cols}] (one label per similarity column)`);
  if (rows === 0 || cols === 0)
    throw new InvalidArgumentError('similarity', `[${rows}, ${cols}]`, 'at least one probe and one gallery item');
  let correct = 0;
  for (let p = 0; p < rows; p++) {
    let best = -Infinity;
    let arg = -1;
    for (let g = 0; g < cols; g++) {
      const v = at(p, g);
      if (typeof v !== 'number' || v - v !== 0) throw new NonFiniteError('similarity', p * cols + g, v);
      if (v > best) {
        best = v;
        arg = g;
      }
    }
    if (galleryLabels[arg] === probeLabels[p]) correct++;
  }
  return correct / rows;
}
