/**
 * Input checks shared by the anchor and embedding functions. Everything is checked at the public boundary; failures
 * are core-tensor's typed errors (`InvalidArgumentError`, `ShapeError`, `DTypeError`, `NonFiniteError`) naming the
 * parameter, the value received and what was expected.
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

/** A dense row-major matrix: a core-tensor `Tensor<'float32' | 'float64'>` or `{ data, shape: [rows, cols] }`. */
export interface MatrixLike {
  readonly data: Float32Array | Float64Array;
  readonly shape: readonly number[];
}

/** How far a row norm may be from 1 for a matrix of unit rows. */
export const UNIT_NORM_TOLERANCE = 1e-4;

export function checkInt(param: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new InvalidArgumentError(param, v, `an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}]`);
  return v;
}

export function checkNumber(param: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || Number.isNaN(v))
    throw new InvalidArgumentError(param, v, `a number in [${min}, ${max}]`);
  if (!Number.isFinite(v)) throw new NonFiniteError(param, 0, v);
  if (v < min || v > max) throw new InvalidArgumentError(param, v, `a number in [${min}, ${max}]`);
  return v;
}

/** A seed for core-tensor's `Rng.from`: a safe integer, a bigint or a string. */
export function checkSeed(param: string, v: unknown): number | string | bigint {
  if (typeof v === 'bigint' || typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v))) return v;
  throw new InvalidArgumentError(param, v, 'a safe integer, a bigint or a string');
}

/**
 * Checks an [N, D] matrix of unit rows (N ≥ minRows, D ≥ 2, finite, ‖row‖ = 1 ± UNIT_NORM_TOLERANCE) and returns it as
 * a fresh float32 copy with every row re-normalised in float64.
 */
export function toUnitRows(param: string, x: unknown, minRows = 1): { data: Float32Array; rows: number; cols: number } {
  if (x === null || typeof x !== 'object' || !('data' in x) || !('shape' in x))
    throw new InvalidArgumentError(param, x, 'a matrix { data, shape: [N, D] } (e.g. a core-tensor Tensor)');
  const m = x as { data: unknown; shape: unknown; stride?: unknown; dtype?: unknown };
  if (!(m.data instanceof Float32Array) && !(m.data instanceof Float64Array))
    throw new DTypeError(param, m.dtype ?? m.data, 'float32 or float64 (a Float32Array or Float64Array)');
  const shape = Array.isArray(m.shape) || ArrayBuffer.isView(m.shape) ? Array.from(m.shape as ArrayLike<number>) : [];
  if (shape.length !== 2) throw new ShapeError(param, m.shape, '[N, D]');
  const [rows, cols] = shape;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < minRows || cols < 2)
    throw new ShapeError(param, `[${shape.join(', ')}]`, `[N, D] with N >= ${minRows} and D >= 2`);
  if (m.data.length !== rows * cols)
    throw new ShapeError(param, `data of length ${m.data.length}`, `${rows * cols} elements for [${rows}, ${cols}]`);
  if (Array.isArray(m.stride) && (m.stride[0] !== cols || m.stride[1] !== 1))
    throw new InvalidArgumentError(param, `stride [${m.stride.join(', ')}]`, 'a dense row-major matrix', 'Copy it');
  const src = m.data;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let s = 0;
    for (let t = 0; t < cols; t++) {
      const v = src[o + t];
      if (!Number.isFinite(v)) throw new NonFiniteError(param, o + t, v);
      s += v * v;
    }
    const n = Math.sqrt(s);
    if (!(Math.abs(n - 1) <= UNIT_NORM_TOLERANCE))
      throw new InvalidArgumentError(
        param,
        `row ${i} of norm ${n}`,
        `unit rows (norm 1 ± ${UNIT_NORM_TOLERANCE})`,
        'Normalise the rows first',
      );
    for (let t = 0; t < cols; t++) out[o + t] = src[o + t] / n;
  }
  return { data: out, rows, cols };
}
