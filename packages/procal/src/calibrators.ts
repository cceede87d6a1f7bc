/**
 * The base calibrators of the ProCal experiments (spec §A5), each re-implemented from its description:
 *
 * | method | what it fits                                                                                         |
 * |--------|------------------------------------------------------------------------------------------------------|
 * | conf   | nothing: softmax(logits)                                                                             |
 * | ts     | temperature T minimising the NLL of softmax(z/T) (the code: scipy BFGS from T = 1; here Newton on 1/T) |
 * | ets    | T minimising the MSE to one-hot on [0.05, 5]; then simplex weights w of w0·softmax(z/T) + w1·softmax(z) + w2/C minimising the MSE (exact 3-weight QP) |
 * | pts    | an MLP (top-10 sorted logits → 5 → 5 → 1, ReLU) predicting T = |out|, trained by Adam on the MSE     |
 * | ptsk   | as pts, input top-5 logits ⊕ exp(−d²) of the 5 nearest neighbours                                    |
 * | hb     | netcal HistogramBinning(bins=10): one-vs-all equal-width bins, renormalised                          |
 * | ir     | netcal IsotonicRegression: one-vs-all isotonic regression, renormalised                              |
 * | mir    | one isotonic regression on all (softmax, one-hot) pairs; output iso(p) + 1e-9·p, not renormalised    |
 *
 * All computation is float64 with a max-subtracted softmax.
 */
import { InvalidArgumentError, Rng, ShapeError } from '@trustvision/core-tensor';
import { IsotonicRegression, type IsotonicJSON } from './isotonic.js';
import {
  checkInt,
  checkNumber,
  checkOneOf,
  checkProbabilities,
  softmaxRows,
  toLabels,
  toMatrix64,
  type LabelInput,
  type Matrix64,
  type MatrixInput,
} from './validate.js';

export type BaseMethod = 'conf' | 'ts' | 'ets' | 'pts' | 'ptsk' | 'hb' | 'ir' | 'mir';
export const BASE_METHODS: readonly BaseMethod[] = ['conf', 'ts', 'ets', 'pts', 'ptsk', 'hb', 'ir', 'mir'];
/** Methods with continuous outputs (DR applies to these in the paper). */
export const CONTINUOUS_METHODS: readonly BaseMethod[] = ['conf', 'ts', 'ets', 'pts', 'ptsk'];
/** Binning methods (BMS applies to these in the paper). */
export const BINNING_METHODS: readonly BaseMethod[] = ['hb', 'ir', 'mir'];

export interface CalibratorOptions {
  /** TS: bounds of 1/T (default [1e-6, 1e6]). */
  tsBetaBounds?: readonly [number, number];
  /** ETS: bounds of T (default [0.05, 5], as the code). */
  etsBounds?: readonly [number, number];
  /** HB: number of equal-width bins (default 10). */
  hbBins?: number;
  /** IR / MIR: merge tolerance of equal x values (default 1e-15; the code's float32 MIR run merged within 1e-6). */
  isotonicResolution?: number;
  /** PTS/PTSK training (defaults: the code's). */
  pts?: PtsOptions;
}

export interface PtsOptions {
  /** Top logits fed to the network (default 10 for pts, 5 for ptsk; capped at C). */
  topK?: number;
  /** Neighbour kernels fed to ptsk (default 5). */
  neighbours?: number;
  /** Hidden layer widths (default [5, 5]). */
  hidden?: readonly number[];
  /** Adam learning rate (default 5e-5). */
  lr?: number;
  epochs?: number;
  batchSize?: number;
  /** Logit clipping (default 100). */
  clip?: number;
  /** Seed of the initialisation and the shuffling (default 0). */
  seed?: number | string;
}

/** What a calibrator consumes: logits (or probabilities, whose logs serve as logits), and for ptsk the neighbours. */
export interface CalibratorInput {
  logits?: MatrixInput;
  probs?: MatrixInput;
  /** [N, k] squared neighbour distances (from `ProximityIndex.neighbours`), needed by ptsk only. */
  neighbourSqDistances?: MatrixInput;
}

export type CalibratorJSON =
  | { method: 'conf' }
  | { method: 'ts'; temperature: number }
  | { method: 'ets'; temperature: number; weights: [number, number, number] }
  | { method: 'pts' | 'ptsk'; topK: number; neighbours: number; clip: number; layers: MlpLayerJSON[] }
  | { method: 'hb'; bins: number; classes: number; binMap: (number[] | null)[] }
  | { method: 'ir'; classes: number; models: (IsotonicJSON | null)[] }
  | { method: 'mir'; classes: number; model: IsotonicJSON };

interface MlpLayerJSON {
  inputs: number;
  outputs: number;
  weights: number[];
  bias: number[];
}

const EPS64 = 2.220446049250313e-16;

/** Logits from the input: `logits` as given, or log(max(p, 5e-324)) of `probs`. */
export function logitsOf(input: CalibratorInput, param = 'logits'): Matrix64 {
  if (input === null || typeof input !== 'object')
    throw new InvalidArgumentError('input', input, '{ logits } or { probs }');
  if (input.logits !== undefined) return toMatrix64(param, input.logits);
  if (input.probs !== undefined) {
    const p = toMatrix64('probs', input.probs);
    checkProbabilities('probs', p);
    const z = new Float64Array(p.data.length);
    for (let i = 0; i < z.length; i++) z[i] = Math.log(Math.max(p.data[i], Number.MIN_VALUE));
    return { data: z, rows: p.rows, cols: p.cols };
  }
  throw new InvalidArgumentError('input', Object.keys(input), 'an object with `logits` or `probs`');
}

/** A fitted base calibrator. Create with `Calibrator.fit(method, input, options)`. */
export class Calibrator {
  readonly method: BaseMethod;
  readonly classes: number;
  private readonly impl: Impl;

  private constructor(method: BaseMethod, classes: number, impl: Impl) {
    this.method = method;
    this.classes = classes;
    this.impl = impl;
  }

  /** Fits `method` on calibration logits (or probabilities) and labels. */
  static fit(
    method: BaseMethod,
    input: CalibratorInput & { labels: LabelInput },
    options: CalibratorOptions = {},
  ): Calibrator {
    checkOneOf('method', method, BASE_METHODS);
    const z = logitsOf(input);
    if (z.cols < 2) throw new ShapeError('logits', `[${z.rows}, ${z.cols}]`, '[N, C] with C >= 2 classes');
    const y = toLabels('labels', input.labels, z.rows, z.cols);
    const nb =
      method === 'ptsk'
        ? neighbourKernels(input.neighbourSqDistances, z.rows, options.pts?.neighbours ?? 5)
        : undefined;
    return new Calibrator(method, z.cols, fitImpl(method, z, y, nb, options));
  }

  /** Calibrated probabilities [N, C] as a row-major Float64Array. */
  predict(input: CalibratorInput): Float64Array {
    const z = logitsOf(input);
    if (z.cols !== this.classes)
      throw new ShapeError('logits', `[${z.rows}, ${z.cols}]`, `[N, ${this.classes}] (the classes it was fitted on)`);
    const nb =
      this.method === 'ptsk'
        ? neighbourKernels(input.neighbourSqDistances, z.rows, (this.impl as PtsImpl).neighbours)
        : undefined;
    return this.impl.predict(z, nb);
  }

  toJSON(): CalibratorJSON {
    return this.impl.toJSON();
  }

  static fromJSON(json: CalibratorJSON, classes: number): Calibrator {
    if (json === null || typeof json !== 'object') throw new InvalidArgumentError('json', json, 'a CalibratorJSON');
    const method = checkOneOf('json.method', json.method, BASE_METHODS);
    return new Calibrator(method, classes, implFromJSON(json, classes));
  }
}

/** exp(−d²) of the first `n` neighbours, [N, n]. */
function neighbourKernels(sq: MatrixInput | undefined, rows: number, n: number): Matrix64 {
  if (sq === undefined)
    throw new InvalidArgumentError(
      'neighbourSqDistances',
      undefined,
      `[N, k >= ${n}] squared neighbour distances`,
      'ptsk feeds exp(−d²) of the nearest neighbours to its network; get them from ProximityIndex.neighbours',
    );
  const m = toMatrix64('neighbourSqDistances', sq);
  if (m.rows !== rows || m.cols < n)
    throw new ShapeError('neighbourSqDistances', `[${m.rows}, ${m.cols}]`, `[${rows}, k >= ${n}]`);
  const out = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) out[i * n + j] = Math.exp(-m.data[i * m.cols + j]);
  return { data: out, rows, cols: n };
}

// ---------------------------------------------------------------------------------------------------------------

interface Impl {
  predict(z: Matrix64, nb?: Matrix64): Float64Array;
  toJSON(): CalibratorJSON;
}

function fitImpl(method: BaseMethod, z: Matrix64, y: Int32Array, nb: Matrix64 | undefined, o: CalibratorOptions): Impl {
  switch (method) {
    case 'conf':
      return confImpl();
    case 'ts':
      return tsImpl(fitTemperature(z, y, o.tsBetaBounds ?? [1e-6, 1e6]));
    case 'ets':
      return fitEts(z, y, o.etsBounds ?? [0.05, 5]);
    case 'pts':
    case 'ptsk':
      return fitPts(method, z, y, nb, o.pts ?? {});
    case 'hb':
      return fitHb(z, y, checkInt('hbBins', o.hbBins ?? 10, 1));
    case 'ir':
      return fitIr(z, y, o.isotonicResolution ?? 1e-15);
    case 'mir':
      return fitMir(z, y, o.isotonicResolution ?? 1e-15);
  }
}

function implFromJSON(j: CalibratorJSON, classes: number): Impl {
  switch (j.method) {
    case 'conf':
      return confImpl();
    case 'ts':
      return tsImpl(checkNumber('json.temperature', j.temperature, Number.MIN_VALUE));
    case 'ets':
      return etsImpl(checkNumber('json.temperature', j.temperature, Number.MIN_VALUE), j.weights);
    case 'pts':
    case 'ptsk':
      return new PtsImpl(j.method, j.topK, j.neighbours, j.clip, j.layers.map(Layer.fromJSON));
    case 'hb':
      return hbImpl(
        j.bins,
        classes,
        j.binMap.map((b) => (b ? Float64Array.from(b) : null)),
      );
    case 'ir':
      return irImpl(
        classes,
        j.models.map((m) => (m ? IsotonicRegression.fromJSON(m) : null)),
      );
    case 'mir':
      return mirImpl(IsotonicRegression.fromJSON(j.model));
  }
}

// conf --------------------------------------------------------------------------------------------------------------

function confImpl(): Impl {
  return { predict: (z) => softmaxRows(z.data, z.rows, z.cols), toJSON: () => ({ method: 'conf' }) };
}

// ts ----------------------------------------------------------------------------------------------------------------

function tsImpl(temperature: number): Impl {
  return {
    predict: (z) => softmaxRows(z.data, z.rows, z.cols, temperature),
    toJSON: () => ({ method: 'ts', temperature }),
  };
}

/**
 * Mean NLL of softmax(β·z) and its first two derivatives in β: L' = mean(E_p[z] − z_y), L'' = mean(Var_p[z]).
 * L is convex in β.
 */
function nllInBeta(z: Matrix64, y: Int32Array, beta: number): { f: number; g: number; h: number } {
  const { data, rows, cols } = z;
  let f = 0;
  let g = 0;
  let h = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (data[o + j] > mx) mx = data[o + j];
    let s = 0;
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < cols; j++) {
      const d = data[o + j] - mx;
      const e = Math.exp(beta * d);
      s += e;
      s1 += e * d;
      s2 += e * d * d;
    }
    const mean = s1 / s;
    const zy = data[o + y[i]] - mx;
    f += Math.log(s) - beta * zy;
    g += mean - zy;
    h += s2 / s - mean * mean;
  }
  return { f: f / rows, g: g / rows, h: h / rows };
}

/**
 * Temperature minimising the NLL. The NLL is convex in β = 1/T; a safeguarded Newton iteration (bisection when a
 * step leaves the bracket) converges to |L'(β)| < 1e-13. β is kept in `bounds`.
 */
export function fitTemperature(z: Matrix64, y: Int32Array, bounds: readonly [number, number] = [1e-6, 1e6]): number {
  let [lo, hi] = bounds;
  if (!(lo > 0 && hi > lo)) throw new InvalidArgumentError('tsBetaBounds', bounds, '[lo, hi] with 0 < lo < hi');
  let beta = Math.min(Math.max(1, lo), hi);
  for (let it = 0; it < 200; it++) {
    const { g, h } = nllInBeta(z, y, beta);
    if (g === 0) break;
    if (g > 0) hi = beta;
    else lo = beta;
    const newton = h > 0 ? beta - g / h : NaN;
    if (newton > lo && newton < hi) {
      const done = Math.abs(newton - beta) <= 1e-13 * beta;
      beta = newton;
      if (done) break;
    } else {
      beta = hi / lo < 4 ? (lo + hi) / 2 : Math.sqrt(lo * hi);
    }
    if (hi - lo <= 1e-15 * beta) break;
  }
  return 1 / beta;
}

// ets ---------------------------------------------------------------------------------------------------------------

function etsImpl(temperature: number, w: readonly number[]): Impl {
  if (!Array.isArray(w) || w.length !== 3) throw new InvalidArgumentError('json.weights', w, 'three numbers');
  const weights: [number, number, number] = [w[0], w[1], w[2]];
  return {
    predict: (z) => etsMixture(z, temperature, weights),
    toJSON: () => ({ method: 'ets', temperature, weights }),
  };
}

function etsMixture(z: Matrix64, t: number, w: readonly [number, number, number]): Float64Array {
  const p0 = softmaxRows(z.data, z.rows, z.cols, t);
  const p1 = softmaxRows(z.data, z.rows, z.cols);
  const u = w[2] / z.cols;
  for (let i = 0; i < p0.length; i++) p0[i] = w[0] * p0[i] + w[1] * p1[i] + u;
  return p0;
}

/** MSE(softmax(z/T), onehot) summed (not averaged) and its derivative in T. */
function mseInT(z: Matrix64, y: Int32Array, t: number): { f: number; g: number } {
  const { data, rows, cols } = z;
  let f = 0;
  let g = 0;
  const p = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (data[o + j] > mx) mx = data[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp((data[o + j] - mx) / t);
      p[j] = e;
      s += e;
    }
    let ubar = 0;
    for (let j = 0; j < cols; j++) {
      p[j] /= s;
      ubar += p[j] * data[o + j];
    }
    // ds_c/dT = s_c (ū − z_c) / T²
    for (let j = 0; j < cols; j++) {
      const r = p[j] - (y[i] === j ? 1 : 0);
      f += r * r;
      g += 2 * r * p[j] * (ubar - data[o + j]);
    }
  }
  return { f, g: g / (t * t) };
}

/** Local minimiser of the MSE over T in [lo, hi], descending from T = 1 (as L-BFGS-B from x0 = 1 would). */
function fitEtsTemperature(z: Matrix64, y: Int32Array, bounds: readonly [number, number]): number {
  const [lo, hi] = bounds;
  if (!(lo > 0 && hi > lo)) throw new InvalidArgumentError('etsBounds', bounds, '[lo, hi] with 0 < lo < hi');
  const g = (t: number) => mseInT(z, y, t).g;
  let a = Math.min(Math.max(1, lo), hi);
  let ga = g(a);
  if (ga === 0) return a;
  // walk downhill geometrically until the slope changes sign or a bound is hit
  const dir = ga > 0 ? -1 : 1;
  let b = a;
  let gb = ga;
  for (;;) {
    const next = dir < 0 ? Math.max(lo, b / 1.5) : Math.min(hi, b * 1.5);
    if (next === b) return b; // bound reached with the slope still pointing outwards
    a = b;
    ga = gb;
    b = next;
    gb = g(b);
    if (Math.sign(gb) !== Math.sign(ga)) break;
  }
  // root of the slope between a and b (Illinois false position, then bisection fallback)
  let x0 = Math.min(a, b);
  let x1 = Math.max(a, b);
  let g0 = x0 === a ? ga : gb;
  let g1 = x1 === a ? ga : gb;
  let side = 0;
  for (let it = 0; it < 200 && x1 - x0 > 1e-14 * x1; it++) {
    let x = (x0 * g1 - x1 * g0) / (g1 - g0);
    if (!(x > x0 && x < x1)) x = (x0 + x1) / 2;
    const gx = g(x);
    if (gx === 0) return x;
    if (Math.sign(gx) === Math.sign(g0)) {
      x0 = x;
      g0 = gx;
      if (side === -1) g1 /= 2;
      side = -1;
    } else {
      x1 = x;
      g1 = gx;
      if (side === 1) g0 /= 2;
      side = 1;
    }
  }
  return (x0 + x1) / 2;
}

/**
 * Minimises wᵀGw − 2bᵀw over the probability simplex (3 weights) exactly, by solving the equality-constrained
 * problem on every support and keeping the best feasible solution.
 */
export function simplexQp3(G: number[][], b: number[]): [number, number, number] {
  const supports = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];
  let best: [number, number, number] = [1, 0, 0];
  let bestF = Infinity;
  const obj = (w: number[]) => {
    let f = 0;
    for (let i = 0; i < 3; i++) {
      f -= 2 * b[i] * w[i];
      for (let j = 0; j < 3; j++) f += w[i] * G[i][j] * w[j];
    }
    return f;
  };
  for (const S of supports) {
    const k = S.length;
    // KKT: [2G_SS 1; 1ᵀ 0] [w; μ] = [2b_S; 1]
    const A: number[][] = [];
    for (let i = 0; i < k; i++) A.push([...S.map((j) => 2 * G[S[i]][j]), 1, 2 * b[S[i]]]);
    A.push([...S.map(() => 1), 0, 1]);
    const sol = solve(A);
    if (!sol) continue;
    const w = [0, 0, 0];
    let feasible = true;
    for (let i = 0; i < k; i++) {
      if (sol[i] < -1e-12) feasible = false;
      w[S[i]] = Math.max(sol[i], 0);
    }
    if (!feasible) continue;
    const s = w[0] + w[1] + w[2];
    for (let i = 0; i < 3; i++) w[i] /= s;
    const f = obj(w);
    if (bestF === Infinity || f < bestF - 1e-15 * Math.abs(bestF)) {
      bestF = f;
      best = [w[0], w[1], w[2]];
    }
  }
  return best;
}

/** Gaussian elimination with partial pivoting on an augmented matrix; undefined when singular. */
function solve(A: number[][]): number[] | undefined {
  const n = A.length;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    const scale = Math.max(...A.map((row) => Math.abs(row[c])));
    if (Math.abs(A[p][c]) <= 1e-13 * (scale || 1)) return undefined;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = c; j <= n; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((row, i) => row[n] / row[i]);
}

function fitEts(z: Matrix64, y: Int32Array, bounds: readonly [number, number]): Impl {
  const t = fitEtsTemperature(z, y, bounds);
  const { rows, cols } = z;
  const p0 = softmaxRows(z.data, rows, cols, t);
  const p1 = softmaxRows(z.data, rows, cols);
  const u = 1 / cols;
  // Gram matrix of (p0, p1, 1/C) and their products with the one-hot labels
  let g00 = 0;
  let g01 = 0;
  let g11 = 0;
  let s0 = 0;
  let s1 = 0;
  let b0 = 0;
  let b1 = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const a = p0[i * cols + j];
      const c = p1[i * cols + j];
      g00 += a * a;
      g01 += a * c;
      g11 += c * c;
      s0 += a;
      s1 += c;
    }
    b0 += p0[i * cols + y[i]];
    b1 += p1[i * cols + y[i]];
  }
  const G = [
    [g00, g01, s0 * u],
    [g01, g11, s1 * u],
    [s0 * u, s1 * u, rows * cols * u * u],
  ];
  const w = simplexQp3(G, [b0, b1, rows * u]);
  return etsImpl(t, w);
}

// pts / ptsk --------------------------------------------------------------------------------------------------------

class Layer {
  constructor(
    readonly inputs: number,
    readonly outputs: number,
    readonly w: Float64Array, // [outputs, inputs]
    readonly b: Float64Array,
  ) {}

  static init(inputs: number, outputs: number, rng: Rng): Layer {
    // PyTorch nn.Linear default: U(−1/√fan_in, 1/√fan_in) for weights and bias
    const bound = 1 / Math.sqrt(inputs);
    const w = rng.uniformArray(inputs * outputs, -bound, bound);
    const b = rng.uniformArray(outputs, -bound, bound);
    return new Layer(inputs, outputs, w, b);
  }

  static fromJSON(j: MlpLayerJSON): Layer {
    if (!j || j.weights.length !== j.inputs * j.outputs || j.bias.length !== j.outputs)
      throw new InvalidArgumentError('json.layers', j, 'layers with inputs·outputs weights and outputs biases');
    return new Layer(j.inputs, j.outputs, Float64Array.from(j.weights), Float64Array.from(j.bias));
  }

  toJSON(): MlpLayerJSON {
    return { inputs: this.inputs, outputs: this.outputs, weights: Array.from(this.w), bias: Array.from(this.b) };
  }
}

class PtsImpl implements Impl {
  constructor(
    readonly method: 'pts' | 'ptsk',
    readonly topK: number,
    readonly neighbours: number,
    readonly clip: number,
    readonly layers: Layer[],
  ) {}

  /** Network input of one row: its top-K clipped logits (descending) ⊕ (ptsk) neighbour kernels. */
  features(z: Matrix64, nb: Matrix64 | undefined, i: number, out: Float64Array): void {
    const { data, cols } = z;
    const row = Array.from(data.subarray(i * cols, (i + 1) * cols), (v) =>
      Math.min(Math.max(v, -this.clip), this.clip),
    );
    row.sort((a, b) => b - a);
    for (let j = 0; j < this.topK; j++) out[j] = row[j];
    if (this.method === 'ptsk')
      for (let j = 0; j < this.neighbours; j++) out[this.topK + j] = nb!.data[i * nb!.cols + j];
  }

  /** Forward pass; `acts` receives each layer's post-ReLU output (for backprop). Returns the raw output o. */
  forward(x: Float64Array, acts?: Float64Array[]): number {
    let a = x;
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      const out = acts ? acts[l] : new Float64Array(L.outputs);
      for (let o = 0; o < L.outputs; o++) {
        let s = L.b[o];
        for (let t = 0; t < L.inputs; t++) s += L.w[o * L.inputs + t] * a[t];
        out[o] = l < this.layers.length - 1 ? Math.max(s, 0) : s;
      }
      a = out;
    }
    return a[0];
  }

  temperatures(z: Matrix64, nb?: Matrix64): Float64Array {
    const x = new Float64Array(this.layers[0].inputs);
    const out = new Float64Array(z.rows);
    for (let i = 0; i < z.rows; i++) {
      this.features(z, nb, i, x);
      out[i] = Math.min(Math.max(Math.abs(this.forward(x)), 1e-12), 1e12);
    }
    return out;
  }

  predict(z: Matrix64, nb?: Matrix64): Float64Array {
    const T = this.temperatures(z, nb);
    const { rows, cols } = z;
    const out = new Float64Array(rows * cols);
    const c = this.clip;
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      let mx = -Infinity;
      for (let j = 0; j < cols; j++) mx = Math.max(mx, Math.min(Math.max(z.data[o + j], -c), c));
      let s = 0;
      for (let j = 0; j < cols; j++) {
        const e = Math.exp((Math.min(Math.max(z.data[o + j], -c), c) - mx) / T[i]);
        out[o + j] = e;
        s += e;
      }
      for (let j = 0; j < cols; j++) out[o + j] /= s;
    }
    return out;
  }

  toJSON(): CalibratorJSON {
    return {
      method: this.method,
      topK: this.topK,
      neighbours: this.neighbours,
      clip: this.clip,
      layers: this.layers.map((l) => l.toJSON()),
    };
  }
}

function fitPts(method: 'pts' | 'ptsk', z: Matrix64, y: Int32Array, nb: Matrix64 | undefined, o: PtsOptions): Impl {
  const { rows, cols } = z;
  const topK = Math.min(checkInt('pts.topK', o.topK ?? (method === 'pts' ? 10 : 5), 1), cols);
  const neighbours = method === 'ptsk' ? nb!.cols : 0;
  const hidden = o.hidden ?? [5, 5];
  hidden.forEach((h, i) => checkInt(`pts.hidden[${i}]`, h, 1));
  const lr = checkNumber('pts.lr', o.lr ?? 5e-5, 0);
  const epochs = checkInt('pts.epochs', o.epochs ?? 100, 0);
  const batch = checkInt('pts.batchSize', o.batchSize ?? 1000, 1);
  const clip = checkNumber('pts.clip', o.clip ?? 100, Number.MIN_VALUE);
  const rng = Rng.from(o.seed ?? 0);
  const sizes = [topK + neighbours, ...hidden, 1];
  const layers: Layer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) layers.push(Layer.init(sizes[l], sizes[l + 1], rng.split('init', l)));
  const net = new PtsImpl(method, topK, neighbours, clip, layers);

  // precompute inputs and clipped logits
  const nIn = sizes[0];
  const X = new Float64Array(rows * nIn);
  const row = new Float64Array(nIn);
  for (let i = 0; i < rows; i++) {
    net.features(z, nb, i, row);
    X.set(row, i * nIn);
  }
  const Z = new Float64Array(rows * cols);
  for (let i = 0; i < Z.length; i++) Z[i] = Math.min(Math.max(z.data[i], -clip), clip);

  // Adam state
  const params = layers.flatMap((L) => [L.w, L.b]);
  const grads = params.map((p) => new Float64Array(p.length));
  const m1 = params.map((p) => new Float64Array(p.length));
  const m2 = params.map((p) => new Float64Array(p.length));
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  let step = 0;
  const acts = layers.map((L) => new Float64Array(L.outputs));
  const deltas = layers.map((L) => new Float64Array(L.outputs));
  const p = new Float64Array(cols);
  const shuffle = rng.split('shuffle');
  for (let ep = 0; ep < epochs; ep++) {
    const order = shuffle.permutation(rows);
    for (let b0 = 0; b0 < rows; b0 += batch) {
      const b1 = Math.min(rows, b0 + batch);
      const scale = 1 / ((b1 - b0) * cols); // MSELoss mean over batch × classes
      for (const g of grads) g.fill(0);
      for (let t = b0; t < b1; t++) {
        const i = order[t];
        const x = X.subarray(i * nIn, (i + 1) * nIn);
        const out = net.forward(x, acts);
        const T = Math.abs(out);
        const clamped = T < 1e-12 || T > 1e12;
        const Tc = Math.min(Math.max(T, 1e-12), 1e12);
        // softmax(z/T) and dL/dT
        const o = i * cols;
        let mx = -Infinity;
        for (let j = 0; j < cols; j++) if (Z[o + j] > mx) mx = Z[o + j];
        let s = 0;
        for (let j = 0; j < cols; j++) {
          const e = Math.exp((Z[o + j] - mx) / Tc);
          p[j] = e;
          s += e;
        }
        let gp = 0; // Σ_c g_c s_c with g_c = dL/ds_c
        for (let j = 0; j < cols; j++) {
          p[j] /= s;
          gp += 2 * scale * (p[j] - (y[i] === j ? 1 : 0)) * p[j];
        }
        // dL/dT = −1/T² Σ_j z_j s_j (g_j − gp)
        let dT = 0;
        for (let j = 0; j < cols; j++) {
          const gj = 2 * scale * (p[j] - (y[i] === j ? 1 : 0));
          dT += Z[o + j] * p[j] * (gj - gp);
        }
        dT *= -1 / (Tc * Tc);
        const dOut = clamped ? 0 : dT * (out >= 0 ? (out > 0 ? 1 : 0) : -1);
        if (dOut === 0) continue;
        // backprop
        let L = layers.length - 1;
        deltas[L][0] = dOut;
        for (; L >= 0; L--) {
          const layer = layers[L];
          const input = L === 0 ? x : acts[L - 1];
          const gw = grads[2 * L];
          const gb = grads[2 * L + 1];
          const d = deltas[L];
          for (let oo = 0; oo < layer.outputs; oo++) {
            gb[oo] += d[oo];
            for (let tt = 0; tt < layer.inputs; tt++) gw[oo * layer.inputs + tt] += d[oo] * input[tt];
          }
          if (L > 0) {
            const prev = deltas[L - 1];
            const a = acts[L - 1];
            for (let tt = 0; tt < layer.inputs; tt++) {
              let v = 0;
              for (let oo = 0; oo < layer.outputs; oo++) v += layer.w[oo * layer.inputs + tt] * d[oo];
              prev[tt] = a[tt] > 0 ? v : 0;
            }
          }
        }
      }
      step++;
      const c1 = 1 - Math.pow(beta1, step);
      const c2 = 1 - Math.pow(beta2, step);
      for (let k = 0; k < params.length; k++) {
        const P = params[k];
        const G = grads[k];
        const M = m1[k];
        const V = m2[k];
        for (let q = 0; q < P.length; q++) {
          M[q] = beta1 * M[q] + (1 - beta1) * G[q];
          V[q] = beta2 * V[q] + (1 - beta2) * G[q] * G[q];
          P[q] -= (lr * (M[q] / c1)) / (Math.sqrt(V[q] / c2) + eps);
        }
      }
    }
  }
  return net;
}

// hb ----------------------------------------------------------------------------------------------------------------

/** Inner edges i/bins as `np.linspace(0, 1, bins + 1)` computes them. */
function unitEdges(bins: number): Float64Array {
  const e = new Float64Array(bins + 1);
  const step = 1 / bins;
  for (let i = 0; i < bins; i++) e[i] = i * step;
  e[bins] = 1;
  return e;
}

function hbImpl(bins: number, classes: number, binMap: (Float64Array | null)[]): Impl {
  checkInt('hbBins', bins, 1);
  if (binMap.length !== classes) throw new ShapeError('json.binMap', binMap.length, `${classes} entries`);
  const edges = unitEdges(bins);
  return {
    predict: (z) => {
      const p = softmaxRows(z.data, z.rows, z.cols);
      const out = new Float64Array(p.length);
      for (let i = 0; i < z.rows; i++) {
        for (let c = 0; c < classes; c++) {
          const map = binMap[c];
          if (!map) continue; // class absent from the calibration labels: netcal leaves 0
          const x = p[i * classes + c];
          // np.digitize(x, edges, right=True) − 1: bins closed on the right; 0 goes to the first bin
          let k = 0;
          while (k < bins && edges[k] < x) k++;
          out[i * classes + c] = map[Math.min(Math.max(k - 1, 0), bins - 1)];
        }
      }
      return renormalise(out, z.rows, classes);
    },
    toJSON: () => ({ method: 'hb', bins, classes, binMap: binMap.map((m) => (m ? Array.from(m) : null)) }),
  };
}

function fitHb(z: Matrix64, y: Int32Array, bins: number): Impl {
  const { rows, cols } = z;
  const p = softmaxRows(z.data, rows, cols);
  const edges = unitEdges(bins);
  const binMap: (Float64Array | null)[] = [];
  for (let c = 0; c < cols; c++) {
    let present = false;
    for (let i = 0; i < rows && !present; i++) present = y[i] === c;
    if (!present) {
      binMap.push(null);
      continue;
    }
    const sum = new Float64Array(bins);
    const cnt = new Float64Array(bins);
    for (let i = 0; i < rows; i++) {
      // fit: x clipped to [eps, 1 − eps], bins closed on the left (scipy binned_statistic_dd)
      const x = Math.min(Math.max(p[i * cols + c], EPS64), 1 - EPS64);
      let k = 0;
      while (k < bins - 1 && edges[k + 1] <= x) k++;
      cnt[k]++;
      sum[k] += y[i] === c ? 1 : 0;
    }
    const map = new Float64Array(bins);
    for (let k = 0; k < bins; k++) map[k] = cnt[k] > 0 ? sum[k] / cnt[k] : 0.5 * (edges[k] + edges[k + 1]);
    binMap.push(map);
  }
  return hbImpl(bins, cols, binMap);
}

/** Divides each row by its sum; a row summing to 0 becomes uniform (netcal would produce NaN). */
function renormalise(p: Float64Array, rows: number, cols: number): Float64Array {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += p[i * cols + j];
    for (let j = 0; j < cols; j++) p[i * cols + j] = s > 0 ? p[i * cols + j] / s : 1 / cols;
  }
  return p;
}

// ir ----------------------------------------------------------------------------------------------------------------

function irImpl(classes: number, models: (IsotonicRegression | null)[]): Impl {
  if (models.length !== classes) throw new ShapeError('json.models', models.length, `${classes} entries`);
  return {
    predict: (z) => {
      const p = softmaxRows(z.data, z.rows, z.cols);
      const out = new Float64Array(p.length);
      for (let i = 0; i < z.rows; i++)
        for (let c = 0; c < classes; c++) {
          const m = models[c];
          if (m) out[i * classes + c] = m.at(p[i * classes + c]);
        }
      return renormalise(out, z.rows, classes);
    },
    toJSON: () => ({ method: 'ir', classes, models: models.map((m) => (m ? m.toJSON() : null)) }),
  };
}

function fitIr(z: Matrix64, y: Int32Array, resolution: number): Impl {
  const { rows, cols } = z;
  const p = softmaxRows(z.data, rows, cols);
  const models: (IsotonicRegression | null)[] = [];
  const x = new Float64Array(rows);
  const t = new Float64Array(rows);
  for (let c = 0; c < cols; c++) {
    let present = false;
    for (let i = 0; i < rows; i++) {
      x[i] = p[i * cols + c];
      t[i] = y[i] === c ? 1 : 0;
      present ||= y[i] === c;
    }
    models.push(present ? IsotonicRegression.fit(x, t, { yMin: 0, yMax: 1, resolution }) : null);
  }
  return irImpl(cols, models);
}

// mir ---------------------------------------------------------------------------------------------------------------

function mirImpl(model: IsotonicRegression): Impl {
  return {
    predict: (z) => {
      const p = softmaxRows(z.data, z.rows, z.cols);
      const out = new Float64Array(p.length);
      for (let i = 0; i < p.length; i++) out[i] = model.at(p[i]) + 1e-9 * p[i];
      return out;
    },
    toJSON: () => ({ method: 'mir', classes: 0, model: model.toJSON() }),
  };
}

function fitMir(z: Matrix64, y: Int32Array, resolution: number): Impl {
  const { rows, cols } = z;
  const p = softmaxRows(z.data, rows, cols);
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) t[i * cols + y[i]] = 1;
  return mirImpl(IsotonicRegression.fit(p, t, { resolution }));
}
