/**
 * Bin-Mean-Shift (spec §A4), in both forms:
 *
 * - `BinMeanShift` — the paper's Eq. 5: group calibration samples into 2-D equal-size bins over (proximity,
 *   confidence) and move each confidence by λ·(A(B) − F(B)), the gap between the bin's accuracy and mean confidence.
 *   With λ = 1 the calibration-set Brier score of the confidences drops by exactly Σ_B (n_B/N)(A − F)² (Thm 5.1).
 * - `ProximityStratified` — what the official code's `BinMeanShift` class does, and what produced the paper's tables
 *   for HB / IR / MIR: split the calibration set into proximity bins (5 quantile bins in the scripts) and fit a fresh
 *   base calibrator on each bin; a test sample uses the calibrator of its proximity bin.
 */
import { InvalidArgumentError } from '@trustvision/core-tensor';
import { binIndex, kmeansEdges, percentileEdges, quantileEdges, uniformEdges } from './binning.js';
import {
  Calibrator,
  logitsOf,
  type BaseMethod,
  type CalibratorInput,
  type CalibratorJSON,
  type CalibratorOptions,
} from './calibrators.js';
import { replaceTopLabel, rowMax } from './density-ratio.js';
import {
  argmaxRows,
  checkInt,
  checkNumber,
  checkOneOf,
  checkProbabilities,
  toLabels,
  toMatrix64,
  toVector64,
  type LabelInput,
  type MatrixInput,
  type ProbabilityCheck,
} from './validate.js';

export interface BinMeanShiftOptions extends ProbabilityCheck {
  /** Shrinkage λ (default 0.5, the paper's; λ = 1 is the theoretical ideal). */
  lambda?: number;
  /** Equal-mass proximity bins (default 5). */
  proxBins?: number;
  /** Equal-mass confidence bins inside each proximity bin (default 10). */
  confBins?: number;
  /** Clip shifted confidences to [0, 1] (default true; the paper leaves this open). */
  clip?: boolean;
}

export interface BinMeanShiftJSON {
  type: 'bin-mean-shift';
  lambda: number;
  clip: boolean;
  proxEdges: number[];
  confEdges: number[][];
  /** A(B) − F(B) per (proximity bin, confidence bin); null for an empty cell (no shift). */
  gaps: (number | null)[][];
}

function edgesJSON(e: Float64Array): number[] {
  return Array.from(e, (v) => (v === Infinity ? 1e308 : v === -Infinity ? -1e308 : v));
}

/** The paper's Bin-Mean-Shift (Eq. 5). */
export class BinMeanShift {
  readonly lambda: number;
  readonly clip: boolean;
  readonly proxEdges: Float64Array;
  readonly confEdges: Float64Array[];
  readonly gaps: (Float64Array | null)[];
  private readonly sumTolerance: number | undefined;

  private constructor(
    lambda: number,
    clip: boolean,
    proxEdges: Float64Array,
    confEdges: Float64Array[],
    gaps: Float64Array[],
    sumTolerance?: number,
  ) {
    this.lambda = lambda;
    this.clip = clip;
    this.proxEdges = proxEdges;
    this.confEdges = confEdges;
    this.gaps = gaps;
    this.sumTolerance = sumTolerance;
  }

  /** Fits the bins and their accuracy − confidence gaps on the calibration set. */
  static fit(
    input: { probs: MatrixInput; labels: LabelInput; proximity: ArrayLike<number>; preds?: LabelInput },
    options: BinMeanShiftOptions = {},
  ): BinMeanShift {
    if (input === null || typeof input !== 'object')
      throw new InvalidArgumentError('input', input, '{ probs, labels, proximity, preds? }');
    const p = toMatrix64('probs', input.probs);
    checkProbabilities('probs', p, options);
    const y = toLabels('labels', input.labels, p.rows, p.cols);
    const prox = toVector64('proximity', input.proximity, p.rows);
    const preds =
      input.preds === undefined ? argmaxRows(p.data, p.rows, p.cols) : toLabels('preds', input.preds, p.rows, p.cols);
    const lambda = checkNumber('lambda', options.lambda ?? 0.5);
    const proxBins = checkInt('proxBins', options.proxBins ?? 5, 1);
    const confBins = checkInt('confBins', options.confBins ?? 10, 1);
    const clip = options.clip ?? true;
    const conf = rowMax(p.data, p.rows, p.cols);
    const proxEdges = quantileEdges(prox, proxBins);
    const nP = proxEdges.length - 1;
    const members: number[][] = Array.from({ length: nP }, () => []);
    for (let i = 0; i < p.rows; i++) members[binIndex(proxEdges, prox[i])].push(i);
    const confEdges: Float64Array[] = [];
    const gaps: Float64Array[] = [];
    for (let b = 0; b < nP; b++) {
      const idx = members[b];
      const e =
        idx.length > 0
          ? quantileEdges(
              Float64Array.from(idx, (i) => conf[i]),
              confBins,
            )
          : Float64Array.of(-Infinity, Infinity);
      const nC = e.length - 1;
      const n = new Float64Array(nC);
      const sc = new Float64Array(nC);
      const sa = new Float64Array(nC);
      for (const i of idx) {
        const c = binIndex(e, conf[i]);
        n[c]++;
        sc[c] += conf[i];
        sa[c] += preds[i] === y[i] ? 1 : 0;
      }
      const g = new Float64Array(nC);
      for (let c = 0; c < nC; c++) g[c] = n[c] > 0 ? sa[c] / n[c] - sc[c] / n[c] : NaN;
      confEdges.push(e);
      gaps.push(g);
    }
    return new BinMeanShift(lambda, clip, proxEdges, confEdges, gaps, options.sumTolerance);
  }

  /** Shifted confidences for given confidences and proximities. */
  shift(confidence: ArrayLike<number>, proximity: ArrayLike<number>): Float64Array {
    const c = toVector64('confidence', confidence);
    const x = toVector64('proximity', proximity, c.length);
    const out = new Float64Array(c.length);
    for (let i = 0; i < c.length; i++) {
      const pb = binIndex(this.proxEdges, x[i]);
      const cb = binIndex(this.confEdges[pb], c[i]);
      const g = this.gaps[pb]![cb];
      let v = c[i] + (Number.isNaN(g) ? 0 : this.lambda * g);
      if (this.clip) v = Math.min(Math.max(v, 0), 1);
      out[i] = v;
    }
    return out;
  }

  /** Calibrated probabilities: the argmax class gets the shifted confidence, the others share the rest. */
  predict(input: { probs: MatrixInput; proximity: ArrayLike<number> }, options: ProbabilityCheck = {}): Float64Array {
    if (input === null || typeof input !== 'object')
      throw new InvalidArgumentError('input', input, '{ probs, proximity }');
    const p = toMatrix64('probs', input.probs);
    checkProbabilities('probs', p, { sumTolerance: options.sumTolerance ?? this.sumTolerance });
    const prox = toVector64('proximity', input.proximity, p.rows);
    const s = this.shift(rowMax(p.data, p.rows, p.cols), prox);
    return replaceTopLabel(p.data, p.rows, p.cols, argmaxRows(p.data, p.rows, p.cols), s);
  }

  toJSON(): BinMeanShiftJSON {
    return {
      type: 'bin-mean-shift',
      lambda: this.lambda,
      clip: this.clip,
      proxEdges: edgesJSON(this.proxEdges),
      confEdges: this.confEdges.map(edgesJSON),
      gaps: this.gaps.map((g) => Array.from(g!, (v) => (Number.isNaN(v) ? null : v))),
    };
  }

  static fromJSON(j: BinMeanShiftJSON): BinMeanShift {
    if (j === null || typeof j !== 'object' || j.type !== 'bin-mean-shift')
      throw new InvalidArgumentError('json.type', (j as { type?: unknown } | null)?.type, "'bin-mean-shift'");
    const edges = (e: number[]) => Float64Array.from(e, (v) => (v >= 1e308 ? Infinity : v <= -1e308 ? -Infinity : v));
    return new BinMeanShift(
      j.lambda,
      j.clip,
      edges(j.proxEdges),
      j.confEdges.map(edges),
      j.gaps.map((g) => Float64Array.from(g, (v) => (v === null ? NaN : v))),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------

export type StratifyStrategy = 'quantile' | 'uniform' | 'kmeans';

export interface ProximityStratifiedOptions {
  /** Proximity bins (default 5, as the scripts pass; the class default upstream is 10). */
  bins?: number;
  /**
   * 'quantile' (default): `np.percentile` edges of the calibration proximities; 'uniform': equal width over their
   * range; 'kmeans': 1-D k-means edges.
   */
  strategy?: StratifyStrategy;
  /** Options of the base calibrators. */
  calibrator?: CalibratorOptions;
}

export interface ProximityStratifiedJSON {
  type: 'proximity-stratified';
  method: BaseMethod;
  classes: number;
  edges: number[];
  /** One calibrator per bin; a bin without calibration samples uses `fallback`. */
  calibrators: (CalibratorJSON | null)[];
  fallback: CalibratorJSON;
}

/** The official code's "BMS": one base calibrator per proximity bin. */
export class ProximityStratified {
  readonly method: BaseMethod;
  readonly edges: Float64Array;
  readonly calibrators: (Calibrator | null)[];
  /** Fitted on the whole calibration set; used for bins that had no calibration samples. */
  readonly fallback: Calibrator;

  private constructor(
    method: BaseMethod,
    edges: Float64Array,
    calibrators: (Calibrator | null)[],
    fallback: Calibrator,
  ) {
    this.method = method;
    this.edges = edges;
    this.calibrators = calibrators;
    this.fallback = fallback;
  }

  static fit(
    method: BaseMethod,
    input: CalibratorInput & { labels: LabelInput; proximity: ArrayLike<number> },
    options: ProximityStratifiedOptions = {},
  ): ProximityStratified {
    if (input === null || typeof input !== 'object')
      throw new InvalidArgumentError('input', input, '{ logits | probs, labels, proximity }');
    const z = logitsOf(input);
    const y = toLabels('labels', input.labels, z.rows, z.cols);
    const prox = toVector64('proximity', input.proximity, z.rows);
    const bins = checkInt('bins', options.bins ?? 5, 1);
    const strategy = checkOneOf('strategy', options.strategy ?? 'quantile', ['quantile', 'uniform', 'kmeans'] as const);
    const edges =
      strategy === 'quantile'
        ? percentileEdges(prox, bins)
        : strategy === 'uniform'
          ? uniformEdges(prox, bins)
          : kmeansEdges(prox, bins);
    const nb = edges.length - 1;
    const nbSq =
      input.neighbourSqDistances === undefined
        ? undefined
        : toMatrix64('neighbourSqDistances', input.neighbourSqDistances);
    if (nbSq && nbSq.rows !== z.rows)
      throw new InvalidArgumentError('neighbourSqDistances', nbSq.rows, `${z.rows} rows`);
    const fallback = Calibrator.fit(
      method,
      {
        logits: { data: z.data, shape: [z.rows, z.cols] },
        labels: y,
        neighbourSqDistances: nbSq && { data: nbSq.data, shape: [nbSq.rows, nbSq.cols] },
      },
      options.calibrator,
    );
    const members: number[][] = Array.from({ length: nb }, () => []);
    for (let i = 0; i < z.rows; i++) members[binIndex(edges, prox[i])].push(i);
    const calibrators = members.map((idx) => {
      if (idx.length === 0) return null;
      const sub = pick(z.data, z.cols, idx);
      return Calibrator.fit(
        method,
        {
          logits: { data: sub, shape: [idx.length, z.cols] },
          labels: Int32Array.from(idx, (i) => y[i]),
          neighbourSqDistances: nbSq && { data: pick(nbSq.data, nbSq.cols, idx), shape: [idx.length, nbSq.cols] },
        },
        options.calibrator,
      );
    });
    return new ProximityStratified(method, edges, calibrators, fallback);
  }

  /** Calibrated probabilities: each row by the calibrator of its proximity bin. */
  predict(input: CalibratorInput & { proximity: ArrayLike<number> }): Float64Array {
    const z = logitsOf(input);
    const prox = toVector64('proximity', input.proximity, z.rows);
    const nbSq =
      input.neighbourSqDistances === undefined
        ? undefined
        : toMatrix64('neighbourSqDistances', input.neighbourSqDistances);
    const out = new Float64Array(z.rows * z.cols);
    const groups = new Map<number, number[]>();
    for (let i = 0; i < z.rows; i++) {
      const b = binIndex(this.edges, prox[i]);
      let g = groups.get(b);
      if (!g) groups.set(b, (g = []));
      g.push(i);
    }
    for (const [b, idx] of groups) {
      const cal = this.calibrators[b] ?? this.fallback;
      const probs = cal.predict({
        logits: { data: pick(z.data, z.cols, idx), shape: [idx.length, z.cols] },
        neighbourSqDistances: nbSq && { data: pick(nbSq.data, nbSq.cols, idx), shape: [idx.length, nbSq.cols] },
      });
      for (let t = 0; t < idx.length; t++) out.set(probs.subarray(t * z.cols, (t + 1) * z.cols), idx[t] * z.cols);
    }
    return out;
  }

  toJSON(): ProximityStratifiedJSON {
    return {
      type: 'proximity-stratified',
      method: this.method,
      classes: this.fallback.classes,
      edges: Array.from(this.edges),
      calibrators: this.calibrators.map((c) => (c ? c.toJSON() : null)),
      fallback: this.fallback.toJSON(),
    };
  }

  static fromJSON(j: ProximityStratifiedJSON): ProximityStratified {
    if (j === null || typeof j !== 'object' || j.type !== 'proximity-stratified')
      throw new InvalidArgumentError('json.type', (j as { type?: unknown } | null)?.type, "'proximity-stratified'");
    return new ProximityStratified(
      j.method,
      Float64Array.from(j.edges),
      j.calibrators.map((c) => (c ? Calibrator.fromJSON(c, j.classes) : null)),
      Calibrator.fromJSON(j.fallback, j.classes),
    );
  }
}

function pick(data: Float64Array, cols: number, idx: number[]): Float64Array {
  const out = new Float64Array(idx.length * cols);
  for (let t = 0; t < idx.length; t++) out.set(data.subarray(idx[t] * cols, (idx[t] + 1) * cols), t * cols);
  return out;
}
