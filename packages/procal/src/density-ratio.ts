/**
 * Density-Ratio calibration (spec §A3; paper §5.1, App. G Alg. 2). Bayes' rule on the pair (confidence P̂, proximity D):
 *
 *   s = f⁺(P̂, D) / max(f⁺(P̂, D) + γ · f⁻(P̂, D), 1e-10),   γ = #wrong / #correct,
 *
 * where f⁺ / f⁻ are 2-D product-Gaussian KDEs (normal-reference bandwidth, statsmodels semantics) of (confidence,
 * proximity) over the correctly / wrongly classified calibration samples. The predicted class gets s and the other
 * classes share 1 − s in proportion to their probabilities.
 */
import { InvalidArgumentError, ShapeError } from '@trustvision/core-tensor';
import { ProductGaussianKde2D, normalReferenceBandwidth, type KdeEvalOptions } from './kde.js';
import {
  argmaxRows,
  checkNumber,
  checkProbabilities,
  toLabels,
  toMatrix64,
  toVector64,
  type LabelInput,
  type MatrixInput,
  type ProbabilityCheck,
} from './validate.js';

export interface DensityRatioOptions extends ProbabilityCheck {
  /**
   * Bandwidth exponent of the normal-reference rule 1.06·σ·n^e: −1/6 (default; statsmodels with two variables, what
   * the code ran) or −1/5 (the rule as quoted in the paper's text).
   */
  bwExponent?: number;
  /** Fixed bandwidths instead of the rule: [h_confidence, h_proximity] for both KDEs, or per KDE. */
  bandwidth?: readonly [number, number] | { correct: readonly [number, number]; wrong: readonly [number, number] };
  /**
   * Lower bound on each rule bandwidth (default 0). A subset whose confidences (or proximities) are all equal has a
   * zero bandwidth and the fit throws; a small positive value (e.g. 1e-3) makes it usable instead.
   */
  minBandwidth?: number;
}

export interface DensityRatioFitInput {
  /** Calibrated (or raw softmax) probabilities of the calibration set [N, C]. */
  probs: MatrixInput;
  labels: LabelInput;
  /** Proximity of each calibration sample. */
  proximity: ArrayLike<number>;
  /** The original model's predictions (default: argmax of `probs`). Correctness is `preds === labels`. */
  preds?: LabelInput;
}

export interface DensityRatioScores {
  /** Calibrated confidence of the predicted class. */
  s: Float64Array;
  /** f⁺ and f⁻ at each sample. */
  fCorrect: Float64Array;
  fWrong: Float64Array;
}

export interface DensityRatioJSON {
  type: 'density-ratio';
  gamma: number;
  bandwidthCorrect: [number, number];
  bandwidthWrong: [number, number];
  correct: { confidence: number[]; proximity: number[] };
  wrong: { confidence: number[]; proximity: number[] };
}

function pairOf(param: string, v: unknown): readonly [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((h) => typeof h === 'number' && h > 0 && Number.isFinite(h)))
    throw new InvalidArgumentError(param, v, '[h_confidence, h_proximity], two positive numbers');
  return v as unknown as readonly [number, number];
}

/** The fitted Density-Ratio calibrator. */
export class DensityRatioCalibrator {
  readonly gamma: number;
  readonly fCorrect: ProductGaussianKde2D;
  readonly fWrong: ProductGaussianKde2D;
  private readonly sumTolerance: number | undefined;

  private constructor(gamma: number, fc: ProductGaussianKde2D, fw: ProductGaussianKde2D, sumTolerance?: number) {
    this.gamma = gamma;
    this.fCorrect = fc;
    this.fWrong = fw;
    this.sumTolerance = sumTolerance;
  }

  /**
   * Fits f⁺, f⁻ and γ on the calibration set. Confidence is the row maximum of `probs`; correctness compares `preds`
   * (the original model's predictions) with `labels`. Needs at least two correct and two wrong predictions.
   */
  static fit(input: DensityRatioFitInput, options: DensityRatioOptions = {}): DensityRatioCalibrator {
    if (input === null || typeof input !== 'object')
      throw new InvalidArgumentError('input', input, '{ probs, labels, proximity, preds? }');
    const p = toMatrix64('probs', input.probs);
    checkProbabilities('probs', p, options);
    const y = toLabels('labels', input.labels, p.rows, p.cols);
    const prox = toVector64('proximity', input.proximity, p.rows);
    const preds =
      input.preds === undefined ? argmaxRows(p.data, p.rows, p.cols) : toLabels('preds', input.preds, p.rows, p.cols);
    const exponent = checkNumber('bwExponent', options.bwExponent ?? -1 / 6, -10, 0);
    const minBw = checkNumber('minBandwidth', options.minBandwidth ?? 0, 0);
    const conf = rowMax(p.data, p.rows, p.cols);
    const cc: number[] = [];
    const cp: number[] = [];
    const wc: number[] = [];
    const wp: number[] = [];
    for (let i = 0; i < p.rows; i++) {
      if (preds[i] === y[i]) {
        cc.push(conf[i]);
        cp.push(prox[i]);
      } else {
        wc.push(conf[i]);
        wp.push(prox[i]);
      }
    }
    if (cc.length < 2 || wc.length < 2)
      throw new InvalidArgumentError(
        'labels',
        `${cc.length} correct and ${wc.length} wrong predictions`,
        'at least 2 correct and 2 wrong predictions in the calibration set',
        'Density-Ratio calibration fits one KDE on each group; use a larger calibration set, or the base calibrator alone',
      );
    const rule = (which: string, c: number[], x: number[]): readonly [number, number] => {
      const h: [number, number] = [
        Math.max(normalReferenceBandwidth(c, exponent), minBw),
        Math.max(normalReferenceBandwidth(x, exponent), minBw),
      ];
      h.forEach((v, j) => {
        if (!(v > 0))
          throw new InvalidArgumentError(
            j === 0 ? 'probs' : 'proximity',
            `constant ${j === 0 ? 'confidence' : 'proximity'} ${j === 0 ? c[0] : x[0]} over the ${which} predictions`,
            'values that vary within each group (zero KDE bandwidth)',
            'set `minBandwidth` (e.g. 1e-3) to use a floor bandwidth instead',
          );
      });
      return h;
    };
    let hc: readonly [number, number];
    let hw: readonly [number, number];
    const bw = options.bandwidth;
    if (bw === undefined) {
      hc = rule('correct', cc, cp);
      hw = rule('wrong', wc, wp);
    } else if (Array.isArray(bw)) {
      hc = hw = pairOf('bandwidth', bw);
    } else {
      const b = bw as { correct: unknown; wrong: unknown };
      hc = pairOf('bandwidth.correct', b.correct);
      hw = pairOf('bandwidth.wrong', b.wrong);
    }
    return new DensityRatioCalibrator(
      wc.length / cc.length,
      new ProductGaussianKde2D(cc, cp, hc),
      new ProductGaussianKde2D(wc, wp, hw),
      options.sumTolerance,
    );
  }

  /** s, f⁺ and f⁻ at given confidences and proximities. */
  scores(confidence: ArrayLike<number>, proximity: ArrayLike<number>): DensityRatioScores {
    const c = toVector64('confidence', confidence);
    const x = toVector64('proximity', proximity, c.length);
    const fCorrect = this.fCorrect.pdf(c, x);
    const fWrong = this.fWrong.pdf(c, x);
    const s = new Float64Array(c.length);
    for (let i = 0; i < c.length; i++) s[i] = fCorrect[i] / Math.max(fCorrect[i] + this.gamma * fWrong[i], 1e-10);
    return { s, fCorrect, fWrong };
  }

  /** `scores` with the KDE sums on worker threads for large inputs (Node); identical results. */
  async scoresAsync(
    confidence: ArrayLike<number>,
    proximity: ArrayLike<number>,
    options: KdeEvalOptions = {},
  ): Promise<DensityRatioScores> {
    const c = toVector64('confidence', confidence);
    const x = toVector64('proximity', proximity, c.length);
    const fCorrect = await this.fCorrect.pdfAsync(c, x, options);
    const fWrong = await this.fWrong.pdfAsync(c, x, options);
    const s = new Float64Array(c.length);
    for (let i = 0; i < c.length; i++) s[i] = fCorrect[i] / Math.max(fCorrect[i] + this.gamma * fWrong[i], 1e-10);
    return { s, fCorrect, fWrong };
  }

  /** `predict` with the KDE sums on worker threads for large inputs (Node); identical results. */
  async predictAsync(
    input: { probs: MatrixInput; proximity: ArrayLike<number> },
    options: ProbabilityCheck & KdeEvalOptions = {},
  ): Promise<Float64Array> {
    const { p, prox, pred, conf } = this.prepare(input, options);
    const { s } = await this.scoresAsync(conf, prox, options);
    return replaceTopLabel(p.data, p.rows, p.cols, pred, s);
  }

  private prepare(input: { probs: MatrixInput; proximity: ArrayLike<number> }, options: ProbabilityCheck) {
    if (input === null || typeof input !== 'object')
      throw new InvalidArgumentError('input', input, '{ probs, proximity }');
    const p = toMatrix64('probs', input.probs);
    checkProbabilities('probs', p, { sumTolerance: options.sumTolerance ?? this.sumTolerance });
    if (p.cols < 2) throw new ShapeError('probs', `[${p.rows}, ${p.cols}]`, '[N, C] with C >= 2');
    const prox = toVector64('proximity', input.proximity, p.rows);
    return { p, prox, pred: argmaxRows(p.data, p.rows, p.cols), conf: rowMax(p.data, p.rows, p.cols) };
  }

  /**
   * Calibrated probabilities [N, C]: the argmax class of each row of `probs` gets s, the others are rescaled to share
   * 1 − s. A row whose other classes are all 0 (possible after binning calibrators) shares 1 − s equally among them
   * (the official code would divide by zero).
   */
  predict(input: { probs: MatrixInput; proximity: ArrayLike<number> }, options: ProbabilityCheck = {}): Float64Array {
    const { p, prox, pred, conf } = this.prepare(input, options);
    const { s } = this.scores(conf, prox);
    return replaceTopLabel(p.data, p.rows, p.cols, pred, s);
  }

  toJSON(): DensityRatioJSON {
    return {
      type: 'density-ratio',
      gamma: this.gamma,
      bandwidthCorrect: [...this.fCorrect.bandwidth],
      bandwidthWrong: [...this.fWrong.bandwidth],
      correct: { confidence: Array.from(this.fCorrect.x), proximity: Array.from(this.fCorrect.y) },
      wrong: { confidence: Array.from(this.fWrong.x), proximity: Array.from(this.fWrong.y) },
    };
  }

  static fromJSON(json: DensityRatioJSON): DensityRatioCalibrator {
    if (json === null || typeof json !== 'object' || json.type !== 'density-ratio')
      throw new InvalidArgumentError('json.type', (json as { type?: unknown } | null)?.type, "'density-ratio'");
    checkNumber('json.gamma', json.gamma, 0);
    return new DensityRatioCalibrator(
      json.gamma,
      new ProductGaussianKde2D(
        json.correct.confidence,
        json.correct.proximity,
        pairOf('bandwidthCorrect', json.bandwidthCorrect),
      ),
      new ProductGaussianKde2D(
        json.wrong.confidence,
        json.wrong.proximity,
        pairOf('bandwidthWrong', json.bandwidthWrong),
      ),
    );
  }
}

/** Row maxima. */
export function rowMax(data: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (data[i * cols + j] > m) m = data[i * cols + j];
    out[i] = m;
  }
  return out;
}

/**
 * Sets each row's `pred` entry to `s[i]` and rescales the other entries to sum to 1 − s[i] (equal shares when they
 * sum to 0).
 */
export function replaceTopLabel(
  data: Float64Array,
  rows: number,
  cols: number,
  pred: Int32Array,
  s: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let rest = 0;
    for (let j = 0; j < cols; j++) if (j !== pred[i]) rest += data[o + j];
    const si = s[i];
    for (let j = 0; j < cols; j++) {
      if (j === pred[i]) out[o + j] = si;
      else out[o + j] = rest > 0 ? (data[o + j] * (1 - si)) / rest : (1 - si) / (cols - 1);
    }
  }
  return out;
}
