/**
 * Input validation shared by every ProCal function. Everything is checked at the public boundary and converted to
 * dense typed arrays; failures are core-tensor's typed errors (`ShapeError`, `InvalidArgumentError`, `NonFiniteError`,
 * `DTypeError`) naming the parameter, the value received and what was expected.
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

/** A dense or strided matrix: a core-tensor `Tensor`, an ndarray-like `{ data, shape }`, or an array of rows. */
export type MatrixInput =
  | {
      /** Numbers (bigint data is refused with a DTypeError). */
      readonly data: ArrayLike<number> | ArrayLike<bigint>;
      readonly shape: readonly number[];
      readonly stride?: readonly number[];
      readonly offset?: number;
    }
  | readonly (readonly number[])[];

/** Class labels: integers in [0, C). `Int32Array`, `BigInt64Array` (numpy int64), `number[]`, ... */
export type LabelInput = ArrayLike<number> | ArrayLike<bigint>;

/** A validated row-major matrix in float64. */
export interface Matrix64 {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** A validated row-major matrix in float32 (features for the kNN op-graph). */
export interface Matrix32 {
  data: Float32Array;
  rows: number;
  cols: number;
}

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return x !== null && typeof x === 'object' && typeof (x as { length?: unknown }).length === 'number';
}

/** Reads a matrix input into (data accessor, rows, cols). Strided views are honoured. */
function readMatrix(param: string, x: unknown): { get: (i: number, j: number) => number; rows: number; cols: number } {
  if (Array.isArray(x)) {
    const rows = x.length;
    if (rows === 0) throw new ShapeError(param, '[0, ?]', '[N, C] with N >= 1');
    const first = x[0];
    if (!isArrayLike(first)) throw new InvalidArgumentError(param, x, 'a matrix: { data, shape } or an array of rows');
    const cols = first.length;
    for (let i = 0; i < rows; i++) {
      const r = x[i];
      if (!isArrayLike(r) || r.length !== cols)
        throw new ShapeError(param, `row ${i} of length ${isArrayLike(r) ? r.length : '?'}`, `rows of length ${cols}`);
    }
    return { get: (i, j) => (x[i] as ArrayLike<number>)[j], rows, cols };
  }
  if (x === null || typeof x !== 'object' || !('data' in x) || !('shape' in x))
    throw new InvalidArgumentError(
      param,
      x,
      'a matrix: { data, shape } (e.g. a core-tensor Tensor) or an array of rows',
    );
  const m = x as { data: unknown; shape: unknown; stride?: unknown; offset?: unknown; dtype?: unknown };
  if (!isArrayLike(m.shape) || m.shape.length !== 2)
    throw new ShapeError(param, isArrayLike(m.shape) ? Array.from(m.shape as ArrayLike<number>) : m.shape, '[N, C]');
  const [rows, cols] = [Number((m.shape as ArrayLike<number>)[0]), Number((m.shape as ArrayLike<number>)[1])];
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0)
    throw new ShapeError(param, [rows, cols], '[N, C] with non-negative integers');
  const data = m.data;
  if (!isArrayLike(data) || data instanceof BigInt64Array || data instanceof BigUint64Array)
    throw new DTypeError(param, data, 'a float32 or float64 array (numbers)');
  if (m.dtype === 'float16') throw new DTypeError(param, 'float16', 'float32 or float64 (cast first)');
  const stride = isArrayLike(m.stride) ? Array.from(m.stride as ArrayLike<number>) : [cols, 1];
  const offset = typeof m.offset === 'number' ? m.offset : 0;
  const last = rows > 0 && cols > 0 ? offset + (rows - 1) * stride[0] + (cols - 1) * stride[1] : offset - 1;
  if (rows > 0 && cols > 0 && (offset < 0 || last >= data.length || offset + (rows - 1) * stride[0] < 0))
    throw new ShapeError(
      param,
      `data of length ${data.length}`,
      `at least ${rows * cols} elements for [${rows}, ${cols}]`,
    );
  const d = data as ArrayLike<number>;
  const [s0, s1] = stride;
  return { get: (i, j) => d[offset + i * s0 + j * s1], rows, cols };
}

/** A finite float64 copy of a matrix. */
export function toMatrix64(param: string, x: unknown, options: { minRows?: number; cols?: number } = {}): Matrix64 {
  const { get, rows, cols } = readMatrix(param, x);
  const minRows = options.minRows ?? 1;
  if (rows < minRows) throw new ShapeError(param, `[${rows}, ${cols}]`, `[N, C] with N >= ${minRows}`);
  if (options.cols !== undefined && cols !== options.cols)
    throw new ShapeError(param, `[${rows}, ${cols}]`, `[N, ${options.cols}]`);
  if (cols < 1) throw new ShapeError(param, `[${rows}, ${cols}]`, '[N, C] with C >= 1');
  const out = new Float64Array(rows * cols);
  let k = 0;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const v = get(i, j);
      if (typeof v !== 'number') throw new DTypeError(param, typeof v, 'numbers');
      if (v - v !== 0) throw new NonFiniteError(param, k, v);
      out[k++] = v;
    }
  return { data: out, rows, cols };
}

/** A finite, contiguous float32 matrix (no copy when the input already is one). */
export function toMatrix32(param: string, x: unknown, options: { minRows?: number } = {}): Matrix32 {
  const m = x as { data?: unknown; shape?: ArrayLike<number>; stride?: ArrayLike<number>; offset?: number };
  const minRows = options.minRows ?? 1;
  if (
    m !== null &&
    typeof m === 'object' &&
    m.data instanceof Float32Array &&
    isArrayLike(m.shape) &&
    m.shape.length === 2 &&
    (m.offset ?? 0) === 0 &&
    m.data.length === m.shape[0] * m.shape[1] &&
    (!isArrayLike(m.stride) || (m.stride[1] === 1 && m.stride[0] === m.shape[1]))
  ) {
    const rows = m.shape[0];
    const cols = m.shape[1];
    if (rows < minRows) throw new ShapeError(param, `[${rows}, ${cols}]`, `[N, D] with N >= ${minRows}`);
    if (cols < 1) throw new ShapeError(param, `[${rows}, ${cols}]`, '[N, D] with D >= 1');
    const d = m.data;
    for (let i = 0; i < d.length; i++) if (d[i] - d[i] !== 0) throw new NonFiniteError(param, i, d[i]);
    return { data: d, rows, cols };
  }
  const f = toMatrix64(param, x, { minRows });
  return { data: Float32Array.from(f.data), rows: f.rows, cols: f.cols };
}

/** A finite float64 vector of length `n` (when given). */
export function toVector64(param: string, x: unknown, n?: number): Float64Array {
  if (!isArrayLike(x) || typeof x === 'string') throw new InvalidArgumentError(param, x, 'an array of numbers');
  if (x instanceof BigInt64Array || x instanceof BigUint64Array)
    throw new DTypeError(param, x, 'numbers (a float array), not bigints');
  if (n !== undefined && x.length !== n)
    throw new ShapeError(param, `[${x.length}]`, `[${n}]`, 'Pass one value per sample');
  if (x.length === 0) throw new ShapeError(param, '[0]', '[N] with N >= 1');
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = (x as ArrayLike<unknown>)[i];
    if (typeof v !== 'number') throw new InvalidArgumentError(`${param}[${i}]`, v, 'a number');
    if (v - v !== 0) throw new NonFiniteError(param, i, v);
    out[i] = v;
  }
  return out;
}

/** Integer class labels in [0, classes) as an Int32Array; `n` checks the length. */
export function toLabels(param: string, x: unknown, n?: number, classes?: number): Int32Array {
  if (!isArrayLike(x) || typeof x === 'string') throw new InvalidArgumentError(param, x, 'an array of integer labels');
  if (n !== undefined && x.length !== n)
    throw new ShapeError(param, `[${x.length}]`, `[${n}]`, 'Pass one label per sample (rows of the other inputs)');
  if (x.length === 0) throw new ShapeError(param, '[0]', '[N] with N >= 1');
  const out = new Int32Array(x.length);
  const hi = classes === undefined ? 2 ** 31 - 1 : classes - 1;
  for (let i = 0; i < x.length; i++) {
    const raw = (x as ArrayLike<unknown>)[i];
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    if (typeof v !== 'number') throw new InvalidArgumentError(`${param}[${i}]`, raw, 'an integer label');
    if (v - v !== 0) throw new NonFiniteError(param, i, v);
    if (!Number.isInteger(v) || v < 0 || v > hi)
      throw new InvalidArgumentError(`${param}[${i}]`, raw, `an integer in [0, ${hi}]`);
    out[i] = v;
  }
  return out;
}

/** Tolerances of the probability checks. */
export interface ProbabilityCheck {
  /** Allowed |Σ_c p_ic − 1| per row (default 1e-4; `Infinity` skips the check). */
  sumTolerance?: number;
}

/**
 * A finite float64 copy of a probability matrix: every entry in [0, 1] (1e-6 slack for rounding) and, unless
 * `sumTolerance` is Infinity, every row summing to 1.
 */
export function toProbabilities(param: string, x: unknown, options: ProbabilityCheck & { minRows?: number } = {}) {
  const m = toMatrix64(param, x, { minRows: options.minRows });
  checkProbabilities(param, m, options);
  return m;
}

export function checkProbabilities(param: string, m: Matrix64, options: ProbabilityCheck = {}): void {
  const tol = options.sumTolerance ?? 1e-4;
  if (!(tol >= 0)) throw new InvalidArgumentError('sumTolerance', tol, 'a non-negative number');
  const { data, rows, cols } = m;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j];
      if (v < -1e-6 || v > 1 + 1e-6)
        throw new InvalidArgumentError(`${param}[${i}, ${j}]`, v, 'a probability in [0, 1]');
      s += v;
    }
    if (Math.abs(s - 1) > tol)
      throw new InvalidArgumentError(
        `${param}[${i}]`,
        `a row summing to ${s}`,
        `rows summing to 1 (within ${tol})`,
        'Pass softmax probabilities (or logits as `logits`)',
      );
  }
}

/** Index of each row's maximum; ties go to the lowest index (as np.argmax). */
export function argmaxRows(data: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let best = 0;
    let bv = data[o];
    for (let j = 1; j < cols; j++)
      if (data[o + j] > bv) {
        bv = data[o + j];
        best = j;
      }
    out[i] = best;
  }
  return out;
}

/** Row-wise softmax in float64 with the max subtracted (stable). */
export function softmaxRows(data: ArrayLike<number>, rows: number, cols: number, temperature = 1): Float64Array {
  const out = new Float64Array(rows * cols);
  const inv = 1 / temperature;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (data[o + j] > mx) mx = data[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp((data[o + j] - mx) * inv);
      out[o + j] = e;
      s += e;
    }
    for (let j = 0; j < cols; j++) out[o + j] /= s;
  }
  return out;
}

/** Checks a positive integer option. */
export function checkInt(param: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new InvalidArgumentError(
      param,
      v,
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`,
    );
  return v;
}

/** Checks a finite number option in [min, max]. */
export function checkNumber(param: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new InvalidArgumentError(param, v, `a finite number in [${min}, ${max}]`);
  return v;
}

/** Checks an enumerated option. */
export function checkOneOf<T extends string>(param: string, v: unknown, valid: readonly T[]): T {
  if (typeof v !== 'string' || !(valid as readonly string[]).includes(v))
    throw new InvalidArgumentError(param, v, `one of ${valid.map((s) => `'${s}'`).join(', ')}`);
  return v as T;
}
