/**
 * Proximity (spec §A1–A2): how dense the feature space is around a sample, from its K nearest neighbours in a
 * reference set (the held-out calibration set).
 *
 * - 'meanExp' (default; the official code, which produced the paper's tables): D(x) = (1/K) Σ_k exp(−d_k² / s), with
 *   d_k the Euclidean distance to the k-th neighbour on L2-normalised features (FAISS `IndexFlatL2` returns squared
 *   distances) and s = 1 (image scripts) or s = D, the feature dimension (the NLP script, with standardised features).
 * - 'expMean' (the paper's Eq. 1): D(x) = exp(−(1/K) Σ_k d_k / s), Euclidean distances.
 *
 * The neighbour search runs through core-tensor's kNN op-graph (ONNX Runtime on the chosen device; small inputs use
 * typed-array loops). The K distances found are then recomputed in float64 from the features, so proximities do not
 * carry the float32 rounding of the GEMM-based search.
 */
import { InvalidArgumentError, OpGraphs, ShapeError, knn, tensor, type Device } from '@trustvision/core-tensor';
import { checkInt, checkNumber, checkOneOf, toMatrix32, type Matrix32, type MatrixInput } from './validate.js';

export type ProximityAggregate = 'meanExp' | 'expMean';
export type FeatureNormalization = 'l2' | 'standardize' | 'none';

export interface ProximityOptions {
  /** Neighbours per sample (default 10). Must be below the reference size (minus one with self-exclusion). */
  k?: number;
  /**
   * Feature preprocessing (default 'l2'): 'l2' divides each row by its L2 norm (image scripts); 'standardize'
   * subtracts the reference mean and divides by sqrt(variance + `standardizeEps`) per dimension (NLP script);
   * 'none' uses the raw features.
   */
  normalize?: FeatureNormalization;
  /** Default 'meanExp' (code, paper tables); 'expMean' is the paper's Eq. 1. */
  aggregate?: ProximityAggregate;
  /** Divisor s of the distances inside exp (default 1; 'dim' divides by the feature dimension, as the NLP script). */
  distanceScale?: number | 'dim';
  /** ε of the standardisation (default 1e-5). */
  standardizeEps?: number;
  /** Device of the kNN op-graph (default 'auto'); ignored when `ops` is given. */
  device?: Device;
  /** An existing op-graph set to run the search on. */
  ops?: OpGraphs;
  /** 'auto' (default: op-graph for large inputs, loops for small), 'graph' or 'js'. */
  backend?: 'auto' | 'graph' | 'js';
}

/** Proximities plus the neighbours they came from. */
export interface NeighbourResult {
  /** [m] proximity of each query. */
  proximity: Float64Array;
  /** [m, k] squared Euclidean distances (in the normalised space) in ascending order, float64. */
  sqDistances: Float64Array;
  /** [m, k] reference row of each neighbour. */
  indices: Int32Array;
  k: number;
  /** Which path searched: 'graph' (ONNX Runtime) or 'js'. */
  backend: 'graph' | 'js';
}

/** Saved form of a `ProximityIndex` (see `toJSON`). */
export interface ProximityIndexJSON {
  k: number;
  normalize: FeatureNormalization;
  aggregate: ProximityAggregate;
  distanceScale: number | 'dim';
  standardizeEps: number;
  rows: number;
  dim: number;
  /** The reference features as little-endian float32, base64. */
  features: string;
}

interface Resolved {
  k: number;
  normalize: FeatureNormalization;
  aggregate: ProximityAggregate;
  distanceScale: number | 'dim';
  standardizeEps: number;
}

function resolve(options: ProximityOptions): Resolved {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', options, 'an object');
  const scale = options.distanceScale ?? 1;
  if (scale !== 'dim') checkNumber('distanceScale', scale, Number.MIN_VALUE);
  return {
    k: checkInt('k', options.k ?? 10, 1),
    normalize: checkOneOf('normalize', options.normalize ?? 'l2', ['l2', 'standardize', 'none'] as const),
    aggregate: checkOneOf('aggregate', options.aggregate ?? 'meanExp', ['meanExp', 'expMean'] as const),
    distanceScale: scale,
    standardizeEps: checkNumber('standardizeEps', options.standardizeEps ?? 1e-5, 0),
  };
}

/**
 * Proximity from neighbour distances: `sqDistances` is [m, k] squared Euclidean distances. 'meanExp':
 * (1/k) Σ exp(−d²/s); 'expMean': exp(−(1/k) Σ d / s).
 */
export function proximityFromDistances(
  sqDistances: ArrayLike<number>,
  k: number,
  options: { aggregate?: ProximityAggregate; distanceScale?: number } = {},
): Float64Array {
  checkInt('k', k, 1);
  const aggregate = checkOneOf('aggregate', options.aggregate ?? 'meanExp', ['meanExp', 'expMean'] as const);
  const s = checkNumber('distanceScale', options.distanceScale ?? 1, Number.MIN_VALUE);
  if (sqDistances.length % k !== 0)
    throw new ShapeError('sqDistances', `[${sqDistances.length}]`, `[m * ${k}] (k distances per query)`);
  const m = sqDistances.length / k;
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let acc = 0;
    for (let j = 0; j < k; j++) {
      const d2 = sqDistances[i * k + j];
      if (!(d2 >= 0)) throw new InvalidArgumentError(`sqDistances[${i * k + j}]`, d2, 'a non-negative number');
      acc += aggregate === 'meanExp' ? Math.exp(-d2 / s) : Math.sqrt(d2) / s;
    }
    out[i] = aggregate === 'meanExp' ? acc / k : Math.exp(-acc / k);
  }
  return out;
}

/**
 * A reference set (the calibration features) ready for proximity queries. Create with `ProximityIndex.create`,
 * query with `neighbours`/`proximity`, save with `toJSON` and restore with `ProximityIndex.fromJSON`.
 */
export class ProximityIndex {
  readonly options: Readonly<Resolved>;
  /** Reference rows. */
  readonly size: number;
  /** Feature dimension. */
  readonly dim: number;
  private readonly raw: Matrix32;
  private readonly normed: Float32Array;
  /** per-row 1/‖x‖ ('l2') */
  private readonly rowScale: Float64Array | undefined;
  /** per-dimension mean and 1/sqrt(var + eps) ('standardize') */
  private readonly mean: Float64Array | undefined;
  private readonly colScale: Float64Array | undefined;
  private readonly ops: OpGraphs | undefined;
  private readonly device: Device | undefined;
  private readonly backend: 'auto' | 'graph' | 'js';

  private constructor(raw: Matrix32, opts: Resolved, run: ProximityOptions) {
    this.options = Object.freeze({ ...opts });
    this.raw = raw;
    this.size = raw.rows;
    this.dim = raw.cols;
    this.ops = run.ops;
    this.device = run.device;
    this.backend = run.backend ?? 'auto';
    checkOneOf('backend', this.backend, ['auto', 'graph', 'js'] as const);
    const { rows, cols, data } = raw;
    if (opts.normalize === 'l2') {
      this.rowScale = rowInverseNorms(data, rows, cols);
    } else if (opts.normalize === 'standardize') {
      const mean = new Float64Array(cols);
      const sq = new Float64Array(cols);
      for (let i = 0; i < rows; i++) for (let t = 0; t < cols; t++) mean[t] += data[i * cols + t];
      for (let t = 0; t < cols; t++) mean[t] /= rows;
      for (let i = 0; i < rows; i++)
        for (let t = 0; t < cols; t++) {
          const d = data[i * cols + t] - mean[t];
          sq[t] += d * d;
        }
      const colScale = new Float64Array(cols);
      for (let t = 0; t < cols; t++) {
        const v = sq[t] / rows + opts.standardizeEps;
        if (!(v > 0))
          throw new InvalidArgumentError(
            'standardizeEps',
            opts.standardizeEps,
            'a positive number',
            `feature dimension ${t} is constant in the reference set`,
          );
        colScale[t] = 1 / Math.sqrt(v);
      }
      this.mean = mean;
      this.colScale = colScale;
    }
    this.normed = this.transform(raw, this.rowScale);
  }

  /** Builds an index over the reference features [N, D] (float32 is used as is; other inputs are converted). */
  static async create(referenceFeatures: MatrixInput, options: ProximityOptions = {}): Promise<ProximityIndex> {
    const opts = resolve(options);
    const raw = toMatrix32('referenceFeatures', referenceFeatures, { minRows: 2 });
    return new ProximityIndex(raw, opts, options);
  }

  /** Restores an index saved with `toJSON`. */
  static fromJSON(json: ProximityIndexJSON, run: Pick<ProximityOptions, 'device' | 'ops' | 'backend'> = {}) {
    if (json === null || typeof json !== 'object' || typeof json.features !== 'string')
      throw new InvalidArgumentError('json', json, 'a ProximityIndexJSON object');
    const bytes = base64ToBytes(json.features);
    if (bytes.byteLength !== json.rows * json.dim * 4)
      throw new ShapeError('json.features', `${bytes.byteLength} bytes`, `${json.rows * json.dim * 4} bytes`);
    const data = new Float32Array(json.rows * json.dim);
    new Uint8Array(data.buffer).set(bytes);
    const opts = resolve(json);
    return new ProximityIndex({ data, rows: json.rows, cols: json.dim }, opts, run);
  }

  /** A JSON-safe copy of the index, including the reference features (base64 float32). */
  toJSON(): ProximityIndexJSON {
    const b = new Uint8Array(this.raw.data.buffer, this.raw.data.byteOffset, this.raw.data.byteLength);
    return { ...this.options, rows: this.size, dim: this.dim, features: bytesToBase64(b) };
  }

  /** The divisor s of the distances. */
  get scale(): number {
    return this.options.distanceScale === 'dim' ? this.dim : this.options.distanceScale;
  }

  private transform(m: Matrix32, rowScale: Float64Array | undefined): Float32Array {
    const { data, rows, cols } = m;
    if (this.options.normalize === 'none') return data;
    const out = new Float32Array(rows * cols);
    if (this.options.normalize === 'l2') {
      for (let i = 0; i < rows; i++) {
        const s = rowScale![i];
        for (let t = i * cols, e = t + cols; t < e; t++) out[t] = data[t] * s;
      }
    } else {
      const mean = this.mean!;
      const cs = this.colScale!;
      for (let i = 0; i < rows; i++)
        for (let t = 0; t < cols; t++) out[i * cols + t] = (data[i * cols + t] - mean[t]) * cs[t];
    }
    return out;
  }

  /**
   * The k nearest reference rows of each query and the resulting proximity. Without `queries`, the reference set
   * queries itself and each row's own entry is excluded (the calibration set's proximities).
   */
  async neighbours(queries?: MatrixInput, options: { excludeSelf?: boolean } = {}): Promise<NeighbourResult> {
    const self = queries === undefined;
    const q = self ? this.raw : toMatrix32('queries', queries, { minRows: 0 });
    if (q.cols !== this.dim)
      throw new ShapeError('queries', `[${q.rows}, ${q.cols}]`, `[M, ${this.dim}] (the reference dimension)`);
    const excludeSelf = options.excludeSelf ?? self;
    if (excludeSelf && q.rows !== this.size)
      throw new ShapeError('queries', `[${q.rows}, ${q.cols}]`, `[${this.size}, ${this.dim}] to exclude self-matches`);
    const k = this.options.k;
    const available = excludeSelf ? this.size - 1 : this.size;
    if (k > available)
      throw new InvalidArgumentError(
        'k',
        k,
        `an integer in [1, ${available}]`,
        `the reference set has ${this.size} rows${excludeSelf ? ', one of which is the query itself' : ''}`,
      );
    const qScale = self
      ? this.rowScale
      : this.options.normalize === 'l2'
        ? rowInverseNorms(q.data, q.rows, q.cols)
        : undefined;
    // With L2 normalisation the ranking of the references for query q only depends on q̂·r̂ = (q·r̂)/‖q‖, so the search
    // can use the RAW queries against the normalised references (‖q − r̂‖² = ‖q‖² + 1 − 2 q·r̂ orders the same way):
    // no normalised copy of the queries is made. Distances are recomputed exactly by `refine`. A zero reference row
    // (‖r̂‖ = 0) breaks the equivalence, so then the queries are normalised as before.
    const rawQueries = !self && this.options.normalize === 'l2' && !this.zeroReference();
    const qn = self ? this.normed : rawQueries ? q.data : this.transform(q, qScale);
    if (q.rows === 0)
      return {
        proximity: new Float64Array(0),
        sqDistances: new Float64Array(0),
        indices: new Int32Array(0),
        k,
        backend: 'js',
      };
    const Q = tensor(qn, [q.rows, this.dim]);
    const R = tensor(this.normed, [this.size, this.dim]);
    const knnOptions = { k, metric: 'sqeuclidean' as const, excludeSelf, backend: this.backend };
    const res = this.ops
      ? await this.ops.knn(Q, R, knnOptions)
      : await knn(Q, R, { ...knnOptions, device: this.device ?? 'auto' });
    const sq = this.refine(q, qScale, res.indices, q.rows, k);
    const proximity = proximityFromDistances(sq, k, {
      aggregate: this.options.aggregate,
      distanceScale: this.scale,
    });
    return { proximity, sqDistances: sq, indices: res.indices, k, backend: res.backend };
  }

  private zeroRef: boolean | undefined;
  /** Whether some reference row has norm 0 (L2 mode). */
  private zeroReference(): boolean {
    if (this.zeroRef === undefined) this.zeroRef = this.rowScale!.some((v) => v === 0);
    return this.zeroRef;
  }

  /** Proximity of each query (see `neighbours`). */
  async proximity(queries?: MatrixInput, options: { excludeSelf?: boolean } = {}): Promise<Float64Array> {
    return (await this.neighbours(queries, options)).proximity;
  }

  /** Recomputes the k squared distances in float64 and re-sorts each row (indices follow). */
  private refine(q: Matrix32, qScale: Float64Array | undefined, indices: Int32Array, m: number, k: number) {
    const d = this.dim;
    const a = q.data;
    const b = this.raw.data;
    const sq = new Float64Array(m * k);
    const mode = this.options.normalize;
    const rs = this.rowScale;
    const cs = this.colScale;
    for (let i = 0; i < m; i++) {
      const ai = i * d;
      for (let j = 0; j < k; j++) {
        const r = indices[i * k + j];
        const bj = r * d;
        let s: number;
        if (mode === 'l2') {
          // unit rows: d² = 2 − 2·cos, the dot product in float64 (clamped at 0)
          s = Math.max(0, 2 - 2 * qScale![i] * rs![r] * dot(a, ai, b, bj, d));
          if (qScale![i] === 0 || rs![r] === 0) s = (qScale![i] === 0 ? 0 : 1) + (rs![r] === 0 ? 0 : 1);
        } else if (mode === 'standardize') {
          s = 0;
          for (let t = 0; t < d; t++) {
            const diff = (a[ai + t] - b[bj + t]) * cs![t];
            s += diff * diff;
          }
        } else {
          s = sqDiff(a, ai, b, bj, d);
        }
        sq[i * k + j] = s;
      }
      // insertion sort of the row by (distance, index)
      const o = i * k;
      for (let x = 1; x < k; x++) {
        const dv = sq[o + x];
        const iv = indices[o + x];
        let y = x - 1;
        while (y >= 0 && (sq[o + y] > dv || (sq[o + y] === dv && indices[o + y] > iv))) {
          sq[o + y + 1] = sq[o + y];
          indices[o + y + 1] = indices[o + y];
          y--;
        }
        sq[o + y + 1] = dv;
        indices[o + y + 1] = iv;
      }
    }
    return sq;
  }

  /** Releases nothing of its own (op-graphs passed in belong to the caller); present for symmetry. */
  async dispose(): Promise<void> {}
}

function rowInverseNorms(data: Float32Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const s = dot(data, i * cols, data, i * cols, cols);
    // a zero row stays zero (numpy would give NaN); it is at distance 1 from every unit row
    out[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  return out;
}

/** Σ_t a[ai+t]·b[bj+t] in float64, four accumulators (about twice as fast as one in V8). */
function dot(a: Float32Array, ai: number, b: Float32Array, bj: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = d - (d % 4);
  let t = 0;
  for (; t < end; t += 4) {
    s0 += a[ai + t] * b[bj + t];
    s1 += a[ai + t + 1] * b[bj + t + 1];
    s2 += a[ai + t + 2] * b[bj + t + 2];
    s3 += a[ai + t + 3] * b[bj + t + 3];
  }
  for (; t < d; t++) s0 += a[ai + t] * b[bj + t];
  return s0 + s1 + s2 + s3;
}

/** Σ_t (a[ai+t] − b[bj+t])² in float64. */
function sqDiff(a: Float32Array, ai: number, b: Float32Array, bj: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  const end = d - (d % 2);
  let t = 0;
  for (; t < end; t += 2) {
    const x = a[ai + t] - b[bj + t];
    const y = a[ai + t + 1] - b[bj + t + 1];
    s0 += x * x;
    s1 += y * y;
  }
  if (t < d) {
    const x = a[ai + t] - b[bj + t];
    s0 += x * x;
  }
  return s0 + s1;
}

/**
 * Proximity of `queries` to `reference` (both [·, D] features). With `excludeSelf` (or when `queries` is omitted),
 * the queries are the reference rows themselves and each row's own match is skipped.
 */
export async function proximity(
  queries: MatrixInput | undefined,
  reference: MatrixInput,
  options: ProximityOptions & { excludeSelf?: boolean } = {},
): Promise<Float64Array> {
  const index = await ProximityIndex.create(reference, options);
  return index.proximity(queries, { excludeSelf: options.excludeSelf });
}

// ---------------------------------------------------------------------------------------------------------------
// base64 without Buffer (browser-safe)

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function bytesToBase64(bytes: Uint8Array): string {
  const g = globalThis as { Buffer?: { from(b: Uint8Array): { toString(enc: string): string } } };
  if (g.Buffer) return g.Buffer.from(bytes).toString('base64');
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return out;
}

export function base64ToBytes(s: string): Uint8Array {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) {
    const b = g.Buffer.from(s, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
  }
  const clean = s.replace(/[^A-Za-z0-9+/]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    const n =
      (B64.indexOf(clean[i]) << 18) |
      (B64.indexOf(clean[i + 1]) << 12) |
      ((B64.indexOf(clean[i + 2] ?? 'A') & 63) << 6) |
      (B64.indexOf(clean[i + 3] ?? 'A') & 63);
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
