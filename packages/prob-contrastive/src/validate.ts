/**
 * Input validation at the public boundary. Inputs are converted to dense float64 (or float32) typed arrays; failures
 * are core-tensor's typed errors (`ShapeError`, `InvalidArgumentError`, `NonFiniteError`, `DTypeError`) naming the
 * parameter, the value received and what is valid.
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

/** A row-major matrix: a core-tensor `Tensor`, an ndarray-like `{ data, shape }` or an array of rows. */
export type MatrixInput =
  | { readonly data: ArrayLike<number> | ArrayLike<bigint>; readonly shape: readonly number[] }
  | readonly (readonly number[])[];

/** A vector [N] (or a tensor [N] / [N, 1]). */
export type VectorInput =
  ArrayLike<number> | { readonly data: ArrayLike<number> | ArrayLike<bigint>; readonly shape: readonly number[] };

/** Positive pairs [P, 2]: `{ data, shape }` (int32 / int64 / float with integer values) or an array of [i, j]. */
export type PairsInput =
  | { readonly data: ArrayLike<number> | ArrayLike<bigint>; readonly shape: readonly number[] }
  | readonly (readonly [number, number] | readonly number[])[];

export interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

const isArrayLike = (x: unknown): x is ArrayLike<unknown> =>
  x !== null && typeof x === 'object' && typeof (x as { length?: unknown }).length === 'number';

const isBig = (x: unknown) => x instanceof BigInt64Array || x instanceof BigUint64Array;

/** A finite float64 copy of a matrix [rows, cols]; `minRows`/`cols` constrain the shape. */
export function toMatrix(param: string, x: unknown, options: { minRows?: number; cols?: number } = {}): Matrix {
  let rows: number;
  let cols: number;
  let src: ArrayLike<unknown>;
  if (Array.isArray(x)) {
    rows = x.length;
    cols = rows > 0 && isArrayLike(x[0]) ? (x[0] as ArrayLike<unknown>).length : 0;
    const flat = new Array<unknown>(rows * cols);
    for (let i = 0; i < rows; i++) {
      const r = x[i];
      if (!isArrayLike(r) || r.length !== cols)
        throw new ShapeError(param, `row ${i} of length ${isArrayLike(r) ? r.length : '?'}`, `rows of length ${cols}`);
      for (let j = 0; j < cols; j++) flat[i * cols + j] = r[j];
    }
    src = flat;
  } else {
    if (x === null || typeof x !== 'object' || !('data' in x) || !('shape' in x))
      throw new InvalidArgumentError(param, x, 'a matrix: { data, shape: [N, D] } or an array of rows');
    const m = x as { data: unknown; shape: unknown };
    if (!isArrayLike(m.shape) || m.shape.length !== 2)
      throw new ShapeError(param, isArrayLike(m.shape) ? Array.from(m.shape as ArrayLike<number>) : m.shape, '[N, D]');
    rows = Number(m.shape[0]);
    cols = Number(m.shape[1]);
    if (!isArrayLike(m.data) || isBig(m.data)) throw new DTypeError(param, m.data, 'float32 or float64 numbers');
    if (m.data.length !== rows * cols)
      throw new ShapeError(param, `data of length ${m.data.length}`, `${rows * cols} elements for [${rows}, ${cols}]`);
    src = m.data;
  }
  const minRows = options.minRows ?? 1;
  if (rows < minRows) throw new ShapeError(param, [rows, cols], `[N, D] with N >= ${minRows}`);
  if (options.cols !== undefined && cols !== options.cols)
    throw new ShapeError(param, [rows, cols], `[N, ${options.cols}]`);
  if (cols < 1) throw new ShapeError(param, [rows, cols], '[N, D] with D >= 1');
  const out = new Float64Array(rows * cols);
  for (let k = 0; k < out.length; k++) {
    const v = src[k];
    if (typeof v !== 'number') throw new DTypeError(param, typeof v, 'numbers');
    if (v - v !== 0) throw new NonFiniteError(param, k, v);
    out[k] = v;
  }
  return { data: out, rows, cols };
}

/** A finite float64 vector, of length `n` when given; `[N]` and `[N, 1]` tensors are both accepted. */
export function toVector(param: string, x: unknown, n?: number): Float64Array {
  let src: unknown = x;
  if (x !== null && typeof x === 'object' && !isArrayLike(x) && 'data' in x && 'shape' in x) {
    const t = x as { data: unknown; shape: ArrayLike<number> };
    const shape = Array.from(t.shape);
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1)))
      throw new ShapeError(param, shape, '[N] or [N, 1]');
    src = t.data;
  }
  if (!isArrayLike(src) || typeof src === 'string') throw new InvalidArgumentError(param, x, 'an array of numbers');
  if (isBig(src)) throw new DTypeError(param, 'bigint', 'float32 or float64 numbers');
  if (n !== undefined && src.length !== n)
    throw new ShapeError(param, [src.length], `[${n}]`, 'Pass one value per row of the embeddings');
  if (src.length === 0) throw new ShapeError(param, [0], '[N] with N >= 1');
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = (src as ArrayLike<unknown>)[i];
    if (typeof v !== 'number') throw new InvalidArgumentError(`${param}[${i}]`, v, 'a number');
    if (v - v !== 0) throw new NonFiniteError(param, i, v);
    out[i] = v;
  }
  return out;
}

/** Concentrations: finite and > 0 (κ ≤ 0 has no vMF meaning and would make log κ undefined). */
export function toKappa(param: string, x: unknown, n?: number): Float64Array {
  const k = toVector(param, x, n);
  for (let i = 0; i < k.length; i++)
    if (!(k[i] > 0))
      throw new InvalidArgumentError(
        `${param}[${i}]`,
        k[i],
        'a concentration > 0',
        'kappa is a von Mises-Fisher concentration; produce it with a softplus or exp head',
      );
  return k;
}

/** Positive pairs as an Int32Array [P·2]; each index in [0, n) and the two members different. At least one pair. */
export function toPairs(param: string, x: unknown, n: number): Int32Array {
  let src: ArrayLike<unknown>;
  let p: number;
  if (Array.isArray(x)) {
    p = x.length;
    const flat = new Array<unknown>(2 * p);
    for (let i = 0; i < p; i++) {
      const r = x[i];
      if (!isArrayLike(r) || r.length !== 2)
        throw new ShapeError(param, `pair ${i} of length ${isArrayLike(r) ? r.length : '?'}`, '[P, 2]');
      flat[2 * i] = r[0];
      flat[2 * i + 1] = r[1];
    }
    src = flat;
  } else {
    if (x === null || typeof x !== 'object' || !('data' in x) || !('shape' in x))
      throw new InvalidArgumentError(param, x, 'positive pairs: { data, shape: [P, 2] } or an array of [i, j]');
    const m = x as { data: unknown; shape: unknown };
    const shape = isArrayLike(m.shape) ? Array.from(m.shape as ArrayLike<number>) : [];
    if (shape.length !== 2 || shape[1] !== 2) throw new ShapeError(param, shape, '[P, 2]');
    if (!isArrayLike(m.data) || m.data.length !== shape[0] * 2)
      throw new ShapeError(
        param,
        `data of length ${isArrayLike(m.data) ? m.data.length : '?'}`,
        `${shape[0] * 2} elements for [${shape[0]}, 2]`,
      );
    src = m.data;
    p = shape[0];
  }
  if (p === 0)
    throw new InvalidArgumentError(
      param,
      '[0, 2]',
      'at least one positive pair',
      'a contrastive loss needs a positive for some anchor; pass pairs [i, j] of rows that are views of one sample',
    );
  const out = new Int32Array(2 * p);
  for (let k = 0; k < 2 * p; k++) {
    const raw = src[k];
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n)
      throw new InvalidArgumentError(`${param}[${k >> 1}, ${k & 1}]`, raw, `a row index in [0, ${n - 1}]`);
    out[k] = v;
  }
  for (let i = 0; i < p; i++)
    if (out[2 * i] === out[2 * i + 1])
      throw new InvalidArgumentError(`${param}[${i}]`, `[${out[2 * i]}, ${out[2 * i]}]`, 'two different rows');
  return out;
}

/** A finite number in (min, max] (or [min, max] with `closed`). */
export function checkNumber(param: string, v: unknown, min: number, max = Infinity, closed = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (closed ? v < min : v <= min) || v > max)
    throw new InvalidArgumentError(
      param,
      v,
      `a finite number ${closed ? '>=' : '>'} ${min}${max < Infinity ? ` and <= ${max}` : ''}`,
    );
  return v;
}

/** An integer in [min, max]. */
export function checkInt(param: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new InvalidArgumentError(
      param,
      v,
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`,
    );
  return v;
}

/** One of the listed strings. */
export function checkOneOf<T extends string>(param: string, v: unknown, valid: readonly T[]): T {
  if (typeof v !== 'string' || !(valid as readonly string[]).includes(v))
    throw new InvalidArgumentError(param, v, `one of ${valid.map((s) => `'${s}'`).join(', ')}`);
  return v as T;
}

/** Rows of `m` that must be unit vectors (|‖row‖ − 1| ≤ tol). */
export function checkUnitRows(param: string, data: ArrayLike<number>, rows: number, cols: number, tol = 1e-3): void {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += data[i * cols + j] * data[i * cols + j];
    const norm = Math.sqrt(s);
    if (!(Math.abs(norm - 1) <= tol))
      throw new InvalidArgumentError(
        `${param}[${i}]`,
        `a vector of norm ${norm}`,
        `a unit vector (norm within ${tol} of 1)`,
        'normalise first (x / ‖x‖), or pass the raw embedding to a function that normalises it',
      );
  }
}
