/**
 * Input validation shared by the GCDSS functions. Inputs are checked at the public boundary and converted to dense
 * typed arrays; failures are core-tensor's typed errors naming the parameter, the value received and what was expected.
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

/** A row-major [rows, cols] matrix: a core-tensor `Tensor` or any `{ data, shape }` with float data. */
export interface MatrixLike {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

/** Integer ids: `Int32Array`, `BigInt64Array` (numpy int64), `number[]`, ... */
export type IdArray = ArrayLike<number> | ArrayLike<bigint>;

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return x !== null && typeof x === 'object' && typeof (x as { length?: unknown }).length === 'number';
}

/** A finite, contiguous float32 [rows, cols] matrix (no copy when the input already is one). */
export function toFeatures(param: string, x: unknown): { data: Float32Array; rows: number; cols: number } {
  if (x === null || typeof x !== 'object' || !('data' in x) || !('shape' in x))
    throw new InvalidArgumentError(param, x, 'a matrix { data, shape: [M, D] } (e.g. a core-tensor Tensor)');
  const m = x as { data: unknown; shape: unknown };
  if (!isArrayLike(m.shape) || m.shape.length !== 2)
    throw new ShapeError(param, isArrayLike(m.shape) ? Array.from(m.shape as ArrayLike<number>) : m.shape, '[M, D]');
  const rows = Number((m.shape as ArrayLike<number>)[0]);
  const cols = Number((m.shape as ArrayLike<number>)[1]);
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1)
    throw new ShapeError(param, [rows, cols], '[M, D] with M >= 1 and D >= 1');
  const d = m.data;
  if (!isArrayLike(d) || d instanceof BigInt64Array || d instanceof BigUint64Array)
    throw new DTypeError(param, d, 'float32 or float64 numbers');
  if (d.length !== rows * cols) throw new ShapeError(param, `data of length ${d.length}`, `[${rows}, ${cols}]`);
  const out = d instanceof Float32Array ? d : new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    const v = (d as ArrayLike<number>)[i];
    if (typeof v !== 'number') throw new DTypeError(param, typeof v, 'numbers');
    if (v - v !== 0) throw new NonFiniteError(param, i, v);
    if (out !== d) out[i] = v;
  }
  return { data: out, rows, cols };
}

/** Finite, non-negative float64 weights of length n. */
export function toAreas(param: string, x: unknown, n: number): Float64Array {
  if (!isArrayLike(x) || typeof x === 'string') throw new InvalidArgumentError(param, x, 'an array of numbers');
  if (x instanceof BigInt64Array || x instanceof BigUint64Array)
    throw new DTypeError(param, x, 'numbers (a float array), not bigints');
  if (x.length !== n) throw new ShapeError(param, `[${x.length}]`, `[${n}]`, 'Pass one area per mask');
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = (x as ArrayLike<number>)[i];
    if (typeof v !== 'number') throw new DTypeError(param, typeof v, 'numbers');
    if (v - v !== 0) throw new NonFiniteError(param, i, v);
    if (v < 0) throw new InvalidArgumentError(`${param}[${i}]`, v, 'a non-negative area (pixels)');
    out[i] = v;
  }
  return out;
}

/** Integer ids of length n (number or bigint arrays), each in [lo, hi]. */
export function toIds(param: string, x: unknown, n: number | undefined, lo: number, hi: number): Int32Array {
  if (!isArrayLike(x) || typeof x === 'string') throw new InvalidArgumentError(param, x, 'an array of integers');
  if (n !== undefined && x.length !== n) throw new ShapeError(param, `[${x.length}]`, `[${n}]`);
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const raw = (x as ArrayLike<unknown>)[i];
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
      throw new InvalidArgumentError(`${param}[${i}]`, raw, `an integer in [${lo}, ${hi}]`);
    out[i] = v;
  }
  return out;
}

/** An integer option in [lo, hi] (undefined → fallback). */
export function intOption(
  param: string,
  v: unknown,
  fallback: number,
  lo: number,
  hi = Number.MAX_SAFE_INTEGER,
): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new InvalidArgumentError(
      param,
      v,
      hi === Number.MAX_SAFE_INTEGER ? `an integer >= ${lo}` : `an integer in [${lo}, ${hi}]`,
    );
  return v;
}

/** A finite number option in [lo, hi] (undefined → fallback). */
export function numOption(param: string, v: unknown, fallback: number, lo: number, hi: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi)
    throw new InvalidArgumentError(param, v, `a number in [${lo}, ${hi}]`);
  return v;
}

/** L2-normalises the rows of a [rows, cols] matrix into a new Float32Array; a zero row is an error. */
export function l2NormalizeRows(param: string, x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[o + j] * x[o + j];
    if (!(s > 0)) throw new InvalidArgumentError(`${param}[${i}]`, 'a zero vector', 'a feature with non-zero norm');
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < cols; j++) out[o + j] = x[o + j] * inv;
  }
  return out;
}
