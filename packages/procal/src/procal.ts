/**
 * `ProximityCalibrator`: the whole ProCal pipeline of the official scripts on arrays.
 *
 *   calibration set → proximity (K-NN in itself, self excluded) → base calibrator (conf/ts/ets/pts/ptsk/hb/ir/mir)
 *   → ProCal on top: Density-Ratio ('dr'), Bin-Mean-Shift as in the paper ('bms'), or the code's proximity-stratified
 *   re-fitting of the base ('stratified');
 *   test set → proximity (K-NN in the calibration set) → base → ProCal.
 *
 * `method: 'auto'` (the default) is what produced the paper's tables: 'dr' on the continuous bases (conf, ts, ets,
 * pts, ptsk) and 'stratified' on the binning bases (hb, ir, mir).
 */
import { InvalidArgumentError, ShapeError } from '@trustvision/core-tensor';
import {
  BinMeanShift,
  ProximityStratified,
  type BinMeanShiftJSON,
  type BinMeanShiftOptions,
  type ProximityStratifiedJSON,
  type ProximityStratifiedOptions,
} from './bms.js';
import {
  BASE_METHODS,
  BINNING_METHODS,
  Calibrator,
  logitsOf,
  type BaseMethod,
  type CalibratorJSON,
  type CalibratorOptions,
} from './calibrators.js';
import { DensityRatioCalibrator, type DensityRatioJSON, type DensityRatioOptions } from './density-ratio.js';
import { evaluate, type CalibrationReport, type EvaluateOptions } from './metrics.js';
import { ProximityIndex, type NeighbourResult, type ProximityIndexJSON, type ProximityOptions } from './proximity.js';
import { argmaxRows, checkOneOf, toLabels, type LabelInput, type Matrix64, type MatrixInput } from './validate.js';

export type ProcalMethod = 'none' | 'dr' | 'bms' | 'stratified';

export interface ProximityCalibratorOptions extends ProximityOptions {
  /** Base calibrator (default 'conf': plain softmax). */
  base?: BaseMethod;
  /** ProCal method on top of the base (default 'auto': 'dr' for continuous bases, 'stratified' for hb/ir/mir). */
  method?: ProcalMethod | 'auto';
  /** Options of the base calibrator(s). */
  calibrator?: CalibratorOptions;
  densityRatio?: DensityRatioOptions;
  binMeanShift?: BinMeanShiftOptions;
  stratified?: Omit<ProximityStratifiedOptions, 'calibrator'>;
  /** Threads of the Density-Ratio KDE sums (default: the CPUs, at most 8; Node ≥ 20.16). Results do not depend on it. */
  threads?: number;
}

/** Model outputs for a set of samples: features plus logits (or probabilities). */
export interface ModelOutputs {
  /** Penultimate-layer features [N, D]. */
  features: MatrixInput;
  /** Logits [N, C] (preferred), or `probs`. */
  logits?: MatrixInput;
  /** Softmax probabilities [N, C], when logits are not available (their logs are used as logits). */
  probs?: MatrixInput;
}

export interface Prediction {
  /** Calibrated probabilities [N, C], row-major. */
  probs: Float64Array;
  /** The base calibrator's probabilities (before ProCal; for 'stratified' the base fitted on the whole calibration set), [N, C]. */
  baseProbs: Float64Array;
  /** The original model's prediction (argmax of the logits). */
  preds: Int32Array;
  /** Calibrated confidence of the original prediction: probs[i, preds[i]]. */
  confidence: Float64Array;
  proximity: Float64Array;
  classes: number;
}

export interface ProximityCalibratorJSON {
  format: 'trustvision.procal/1';
  base: BaseMethod;
  method: ProcalMethod;
  classes: number;
  index: ProximityIndexJSON;
  calibrator?: CalibratorJSON;
  stratified?: ProximityStratifiedJSON;
  densityRatio?: DensityRatioJSON;
  binMeanShift?: BinMeanShiftJSON;
}

/** Resolves 'auto' to the method the paper's tables used for `base`. */
export function resolveMethod(base: BaseMethod, method: ProcalMethod | 'auto'): ProcalMethod {
  if (method !== 'auto') return method;
  return BINNING_METHODS.includes(base) ? 'stratified' : 'dr';
}

function matrix(m: Matrix64) {
  return { data: m.data, shape: [m.rows, m.cols] as const };
}

interface Parts {
  base: BaseMethod;
  method: ProcalMethod;
  classes: number;
  index: ProximityIndex;
  calibrator?: Calibrator;
  stratified?: ProximityStratified;
  densityRatio?: DensityRatioCalibrator;
  binMeanShift?: BinMeanShift;
  calibration?: Prediction;
  threads?: number;
}

/** The fitted pipeline. */
export class ProximityCalibrator {
  readonly base: BaseMethod;
  readonly method: ProcalMethod;
  readonly classes: number;
  readonly index: ProximityIndex;
  /** The base calibrator (absent for 'stratified', which holds one per proximity bin plus one fitted on all). */
  readonly calibrator: Calibrator | undefined;
  readonly stratified: ProximityStratified | undefined;
  readonly densityRatio: DensityRatioCalibrator | undefined;
  readonly binMeanShift: BinMeanShift | undefined;
  /** The calibration set's own outputs (proximity with self excluded), when fitted in this process. */
  readonly calibration: Prediction | undefined;
  private readonly threads: number | undefined;

  private constructor(parts: Parts) {
    this.base = parts.base;
    this.method = parts.method;
    this.classes = parts.classes;
    this.index = parts.index;
    this.calibrator = parts.calibrator;
    this.stratified = parts.stratified;
    this.densityRatio = parts.densityRatio;
    this.binMeanShift = parts.binMeanShift;
    this.calibration = parts.calibration;
    this.threads = parts.threads;
  }

  /** Fits proximity, the base calibrator and the ProCal method on a labelled calibration set. */
  static async fit(
    input: ModelOutputs & { labels: LabelInput },
    options: ProximityCalibratorOptions = {},
  ): Promise<ProximityCalibrator> {
    if (input === null || typeof input !== 'object')
      throw new InvalidArgumentError('input', input, '{ features, logits | probs, labels }');
    const base = checkOneOf('base', options.base ?? 'conf', BASE_METHODS);
    const method = resolveMethod(
      base,
      checkOneOf('method', options.method ?? 'auto', ['none', 'dr', 'bms', 'stratified', 'auto'] as const),
    );
    const z = logitsOf(input);
    if (z.cols < 2) throw new ShapeError('logits', `[${z.rows}, ${z.cols}]`, '[N, C] with C >= 2');
    const y = toLabels('labels', input.labels, z.rows, z.cols);
    const index = await ProximityIndex.create(input.features, options);
    if (index.size !== z.rows)
      throw new ShapeError('features', `[${index.size}, ${index.dim}]`, `[${z.rows}, D] (one row per logits row)`);
    const nb = await index.neighbours();
    const preds = argmaxRows(z.data, z.rows, z.cols);
    const parts: Parts = { base, method, classes: z.cols, index, threads: options.threads };
    const fitInput = {
      logits: matrix(z),
      labels: y,
      neighbourSqDistances: { data: nb.sqDistances, shape: [z.rows, nb.k] },
    };
    if (method === 'stratified') {
      parts.stratified = ProximityStratified.fit(
        base,
        { ...fitInput, proximity: nb.proximity },
        { ...options.stratified, calibrator: options.calibrator },
      );
    } else {
      parts.calibrator = Calibrator.fit(base, fitInput, options.calibrator);
    }
    const self = new ProximityCalibrator(parts);
    const baseProbs = self.baseProbabilities(z, nb);
    // rows of MIR's output do not sum to 1 exactly: the DR / BMS sum checks are off for it
    const sumTolerance = base === 'mir' ? Infinity : undefined;
    if (method === 'dr')
      parts.densityRatio = DensityRatioCalibrator.fit(
        { probs: { data: baseProbs, shape: [z.rows, z.cols] }, labels: y, proximity: nb.proximity, preds },
        { sumTolerance, ...options.densityRatio },
      );
    else if (method === 'bms')
      parts.binMeanShift = BinMeanShift.fit(
        { probs: { data: baseProbs, shape: [z.rows, z.cols] }, labels: y, proximity: nb.proximity, preds },
        { sumTolerance, ...options.binMeanShift },
      );
    const fitted = new ProximityCalibrator(parts);
    const probs = await fitted.post(baseProbs, z, nb);
    return new ProximityCalibrator({
      ...parts,
      calibration: fitted.assemble(probs, baseProbs, preds, nb.proximity, z.cols),
    });
  }

  private nbInput(z: Matrix64, nb: NeighbourResult) {
    return { logits: matrix(z), neighbourSqDistances: { data: nb.sqDistances, shape: [z.rows, nb.k] } };
  }

  /** The base calibrator's output; for 'stratified', the base fitted on the whole calibration set. */
  private baseProbabilities(z: Matrix64, nb: NeighbourResult): Float64Array {
    const input = this.nbInput(z, nb);
    if (this.stratified) return this.stratified.fallback.predict(input);
    return this.calibrator!.predict(input);
  }

  private async post(baseProbs: Float64Array, z: Matrix64, nb: NeighbourResult): Promise<Float64Array> {
    const probs = { data: baseProbs, shape: [z.rows, z.cols] };
    // rows of MIR's output do not sum to 1 exactly (iso(p) + 1e-9·p, not renormalised)
    const check = { sumTolerance: this.base === 'mir' ? Infinity : undefined };
    if (this.densityRatio)
      return this.densityRatio.predictAsync({ probs, proximity: nb.proximity }, { ...check, threads: this.threads });
    if (this.binMeanShift) return this.binMeanShift.predict({ probs, proximity: nb.proximity }, check);
    if (this.stratified) return this.stratified.predict({ ...this.nbInput(z, nb), proximity: nb.proximity });
    return baseProbs;
  }

  private assemble(
    probs: Float64Array,
    baseProbs: Float64Array,
    preds: Int32Array,
    proximity: Float64Array,
    classes: number,
  ): Prediction {
    const confidence = new Float64Array(preds.length);
    for (let i = 0; i < preds.length; i++) confidence[i] = probs[i * classes + preds[i]];
    return { probs, baseProbs, preds, confidence, proximity, classes };
  }

  /** Proximity of new samples to the calibration set. */
  async proximity(features: MatrixInput): Promise<Float64Array> {
    return this.index.proximity(features);
  }

  /** Calibrated probabilities of new samples (features + logits or probs). */
  async predict(input: ModelOutputs): Promise<Prediction> {
    if (input === null || typeof input !== 'object')
      throw new InvalidArgumentError('input', input, '{ features, logits | probs }');
    const z = logitsOf(input);
    if (z.cols !== this.classes)
      throw new ShapeError(
        input.logits !== undefined ? 'logits' : 'probs',
        `[${z.rows}, ${z.cols}]`,
        `[N, ${this.classes}]`,
      );
    const nb = await this.index.neighbours(input.features);
    if (nb.proximity.length !== z.rows)
      throw new ShapeError('features', `${nb.proximity.length} rows`, `${z.rows} rows (one per logits row)`);
    const baseProbs = this.baseProbabilities(z, nb);
    const probs = await this.post(baseProbs, z, nb);
    return this.assemble(probs, baseProbs, argmaxRows(z.data, z.rows, z.cols), nb.proximity, z.cols);
  }

  /**
   * Predicts and scores a labelled set: metrics of the base calibrator's output and of the calibrated output, both
   * read at the original model's prediction.
   */
  async evaluate(
    input: ModelOutputs & { labels: LabelInput },
    options: EvaluateOptions = {},
  ): Promise<{ base: CalibrationReport; calibrated: CalibrationReport; prediction: Prediction }> {
    const prediction = await this.predict(input);
    const labels = toLabels('labels', input.labels, prediction.preds.length, this.classes);
    const shape = [prediction.preds.length, this.classes];
    const common = { labels, proximity: prediction.proximity, preds: prediction.preds };
    return {
      base: evaluate({ probs: { data: prediction.baseProbs, shape }, ...common }, options),
      calibrated: evaluate({ probs: { data: prediction.probs, shape }, ...common }, options),
      prediction,
    };
  }

  toJSON(): ProximityCalibratorJSON {
    return {
      format: 'trustvision.procal/1',
      base: this.base,
      method: this.method,
      classes: this.classes,
      index: this.index.toJSON(),
      calibrator: this.calibrator?.toJSON(),
      stratified: this.stratified?.toJSON(),
      densityRatio: this.densityRatio?.toJSON(),
      binMeanShift: this.binMeanShift?.toJSON(),
    };
  }

  /** Restores a calibrator saved with `toJSON` (run options: device, op-graphs, backend of the proximity search). */
  static fromJSON(
    json: ProximityCalibratorJSON,
    run: Pick<ProximityOptions, 'device' | 'ops' | 'backend'> & { threads?: number } = {},
  ) {
    if (json === null || typeof json !== 'object' || json.format !== 'trustvision.procal/1')
      throw new InvalidArgumentError(
        'json.format',
        (json as { format?: unknown } | null)?.format,
        "'trustvision.procal/1' (a file written by ProximityCalibrator#toJSON or `procal fit`)",
      );
    const base = checkOneOf('json.base', json.base, BASE_METHODS);
    const method = checkOneOf('json.method', json.method, ['none', 'dr', 'bms', 'stratified'] as const);
    return new ProximityCalibrator({
      base,
      method,
      classes: json.classes,
      index: ProximityIndex.fromJSON(json.index, run),
      calibrator: json.calibrator && Calibrator.fromJSON(json.calibrator, json.classes),
      stratified: json.stratified && ProximityStratified.fromJSON(json.stratified),
      densityRatio: json.densityRatio && DensityRatioCalibrator.fromJSON(json.densityRatio),
      binMeanShift: json.binMeanShift && BinMeanShift.fromJSON(json.binMeanShift),
      threads: run.threads,
    });
  }

  async dispose(): Promise<void> {
    await this.index.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
