/**
 * Tensor views in the `ndarray` model: `{ data, shape, stride, offset }`, element address
 * `offset + Σ stride[i]·index[i]`. Views are plain objects; nothing here copies unless it says so.
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from './errors.js';

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  /** IEEE half floats stored as raw bits, as ONNX Runtime expects. */
  float16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}

export type TypedArray = DataTypeMap[DType];

/** The dtype a typed array type stores naturally. */
export type NaturalDType<A> = A extends Float32Array
  ? 'float32'
  : A extends Float64Array
    ? 'float64'
    : A extends Int8Array
      ? 'int8'
      : A extends Uint8Array
        ? 'uint8'
        : A extends Int16Array
          ? 'int16'
          : A extends Uint16Array
            ? 'uint16'
            : A extends Int32Array
              ? 'int32'
              : A extends Uint32Array
                ? 'uint32'
                : A extends BigInt64Array
                  ? 'int64'
                  : A extends BigUint64Array
                    ? 'uint64'
                    : DType;

export const DTYPES: readonly DType[] = [
  'float32',
  'float64',
  'float16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
];

const CTORS: { [K in DType]: { new (n: number): DataTypeMap[K]; BYTES_PER_ELEMENT: number } } = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** A strided view over a typed array. */
export interface Tensor<T extends DType = DType> {
  readonly dtype: T;
  readonly data: DataTypeMap[T];
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly offset: number;
}

/** Anything shaped like a scijs `ndarray` (or a `Tensor`). */
export interface NdArrayLike {
  data: ArrayLike<number> | ArrayLike<bigint> | TypedArray;
  shape: readonly number[];
  stride?: readonly number[];
  offset?: number;
  dtype?: string;
}

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function typedArrayConstructor<T extends DType>(dtype: T) {
  return CTORS[dtype];
}

export function bytesPerElement(dtype: DType): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

/** The dtype a typed array stores naturally (Uint16Array → 'uint16', Uint8Array → 'uint8'). */
export function dtypeOf(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof BigUint64Array) return 'uint64';
  return undefined;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function defaultStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= Math.max(shape[i], 1);
  }
  return stride;
}

export function checkShape(param: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new ShapeError(param, shape, 'an array of non-negative integers');
  return shape.slice();
}

/**
 * Wraps `data` as a C-ordered tensor of `shape` (no copy). `dtype` defaults to the array's natural dtype;
 * pass 'float16' or 'bool' explicitly for Uint16Array / Uint8Array data that holds those.
 */
export function tensor<A extends TypedArray>(data: A, shape: readonly number[]): Tensor<NaturalDType<A>>;
export function tensor<T extends DType>(data: DataTypeMap[T], shape: readonly number[], dtype: T): Tensor<T>;
export function tensor(data: TypedArray, shape: readonly number[], dtype?: DType): Tensor {
  const natural = dtypeOf(data);
  if (natural === undefined) throw new DTypeError('data', data, 'a typed array');
  const dt = dtype ?? natural;
  if (!isDType(dt)) throw new InvalidArgumentError('dtype', dt, `one of ${DTYPES.join(', ')}`);
  if (!(data instanceof CTORS[dt])) throw new DTypeError('data', data, `${CTORS[dt].name} for dtype '${dt}'`);
  const s = checkShape('shape', shape);
  const n = sizeOf(s);
  if (data.length !== n)
    throw new ShapeError('shape', s, `a shape with ${data.length} elements to match the data`, `it has ${n}`);
  return { dtype: dt, data, shape: s, stride: defaultStride(s), offset: 0 };
}

/** A new zero-filled C-ordered tensor. */
export function zeros<T extends DType>(shape: readonly number[], dtype: T): Tensor<T> {
  const s = checkShape('shape', shape);
  const data = new CTORS[dtype](sizeOf(s)) as DataTypeMap[T];
  return { dtype, data, shape: s, stride: defaultStride(s), offset: 0 };
}

/** True when the view is C-ordered and dense (possibly with an offset). */
export function isContiguous(t: Tensor | NdArrayLike): boolean {
  const stride = t.stride ?? defaultStride(t.shape);
  let expect = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= t.shape[i];
  }
  return true;
}

/**
 * The view's elements as one dense C-ordered typed array of exactly `size` elements. Returns the underlying array or a
 * `subarray` of it (no copy) when the view is contiguous, else a packed copy.
 */
export function denseData<T extends DType>(t: Tensor<T>): DataTypeMap[T] {
  const n = sizeOf(t.shape);
  if (isContiguous(t)) {
    if (t.offset === 0 && t.data.length === n) return t.data;
    return t.data.subarray(t.offset, t.offset + n) as DataTypeMap[T];
  }
  const out = new CTORS[t.dtype](n) as DataTypeMap[T];
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  const src = t.data as unknown as { [i: number]: number | bigint };
  const dst = out as unknown as { [i: number]: number | bigint };
  let addr = t.offset;
  for (let i = 0; i < n; i++) {
    dst[i] = src[addr];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      addr += t.stride[d];
      if (idx[d] < t.shape[d]) break;
      addr -= t.stride[d] * t.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** A contiguous, offset-0 tensor: `t` itself when it already is one, else a packed copy. */
export function contiguous<T extends DType>(t: Tensor<T>): Tensor<T> {
  const data = denseData(t);
  if (data === t.data && t.offset === 0 && isContiguous(t)) return t;
  return { dtype: t.dtype, data, shape: t.shape.slice(), stride: defaultStride(t.shape), offset: 0 };
}

/** Reshape without copying when contiguous. One dimension may be -1. */
export function reshape<T extends DType>(t: Tensor<T>, shape: readonly number[]): Tensor<T> {
  const n = sizeOf(t.shape);
  const s = shape.slice();
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== neg));
    if (rest === 0 || n % rest !== 0) throw new ShapeError('shape', shape, `a shape compatible with ${n} elements`);
    s[neg] = n / rest;
  }
  checkShape('shape', s);
  if (sizeOf(s) !== n)
    throw new ShapeError('shape', shape, `a shape with ${n} elements`, `tensor shape is [${t.shape.join(', ')}]`);
  const c = contiguous(t);
  return { dtype: c.dtype, data: c.data, shape: s, stride: defaultStride(s), offset: c.offset };
}

/** Permute axes (a view, no copy). */
export function transpose<T extends DType>(t: Tensor<T>, perm?: readonly number[]): Tensor<T> {
  const rank = t.shape.length;
  const p = perm ?? [...Array(rank).keys()].reverse();
  if (p.length !== rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i))
    throw new InvalidArgumentError('perm', p, `a permutation of 0..${rank - 1}`);
  return {
    dtype: t.dtype,
    data: t.data,
    shape: p.map((i) => t.shape[i]),
    stride: p.map((i) => t.stride[i]),
    offset: t.offset,
  };
}

/** Select index `i` along `axis`, dropping that axis (a view, no copy), like ndarray's `pick`. */
export function pick<T extends DType>(t: Tensor<T>, axis: number, i: number): Tensor<T> {
  if (!Number.isInteger(axis) || axis < 0 || axis >= t.shape.length)
    throw new InvalidArgumentError('axis', axis, `an integer in [0, ${t.shape.length - 1}]`);
  if (!Number.isInteger(i) || i < 0 || i >= t.shape[axis])
    throw new InvalidArgumentError('index', i, `an integer in [0, ${t.shape[axis] - 1}]`);
  return {
    dtype: t.dtype,
    data: t.data,
    shape: t.shape.filter((_, d) => d !== axis),
    stride: t.stride.filter((_, d) => d !== axis),
    offset: t.offset + i * t.stride[axis],
  };
}

/** Rows [start, end) along axis 0 (a view, no copy). */
export function sliceRows<T extends DType>(t: Tensor<T>, start: number, end: number): Tensor<T> {
  const n = t.shape[0] ?? 0;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end)
    throw new InvalidArgumentError('range', [start, end], `0 <= start <= end <= ${n}`);
  const shape = t.shape.slice();
  shape[0] = end - start;
  return {
    dtype: t.dtype,
    data: t.data,
    shape,
    stride: t.stride.slice(),
    offset: t.offset + start * (t.stride[0] ?? 0),
  };
}

/** Element at a multi-index. */
export function get(t: Tensor, ...index: number[]): number | bigint {
  if (index.length !== t.shape.length)
    throw new InvalidArgumentError('index', index, `${t.shape.length} indices for shape [${t.shape.join(', ')}]`);
  let addr = t.offset;
  for (let d = 0; d < index.length; d++) {
    const i = index[d];
    if (!Number.isInteger(i) || i < 0 || i >= t.shape[d])
      throw new InvalidArgumentError(`index[${d}]`, i, `an integer in [0, ${t.shape[d] - 1}]`);
    addr += i * t.stride[d];
  }
  const v = (t.data as unknown as { [i: number]: number | bigint })[addr];
  return t.dtype === 'float16' ? float16BitsToNumber(v as number) : v;
}

/**
 * Wraps any ndarray-like object (scijs `ndarray`, a `Tensor`, `{data, shape}`) as a Tensor view without copying.
 * A `Float64Array`-backed or `generic` ndarray keeps its storage; pass `dtype` to reinterpret raw bits (e.g. 'float16').
 */
export function fromNdArray(nd: NdArrayLike, dtype?: DType): Tensor {
  if (nd === null || typeof nd !== 'object' || !('data' in nd) || !('shape' in nd))
    throw new InvalidArgumentError('array', nd, 'an ndarray-like object with data and shape');
  const shape = checkShape('shape', Array.from(nd.shape));
  let data = nd.data as TypedArray;
  const natural = dtypeOf(data);
  let dt: DType;
  if (natural === undefined) {
    if (!Array.isArray(data)) throw new DTypeError('data', data, 'a typed array or an array of numbers');
    // a 'generic' ndarray over a JS array: copy into float64 storage
    data = Float64Array.from(data as number[]);
    dt = 'float64';
  } else {
    dt = dtype ?? (nd.dtype === 'float16' ? 'float16' : natural);
    if (!(data instanceof CTORS[dt])) throw new DTypeError('data', data, `${CTORS[dt].name} for dtype '${dt}'`);
  }
  const stride = nd.stride ? Array.from(nd.stride) : defaultStride(shape);
  if (stride.length !== shape.length) throw new ShapeError('stride', stride, `${shape.length} strides`);
  const offset = nd.offset ?? 0;
  // bounds: the extreme addresses must lie inside data
  if (sizeOf(shape) > 0) {
    let lo = offset;
    let hi = offset;
    for (let d = 0; d < shape.length; d++) {
      const span = (shape[d] - 1) * stride[d];
      if (span < 0) lo += span;
      else hi += span;
    }
    if (lo < 0 || hi >= data.length)
      throw new ShapeError('array', { shape, stride, offset }, `a view inside its data of length ${data.length}`);
  }
  return { dtype: dt, data, shape, stride, offset };
}

/**
 * The `{data, shape, stride, offset}` of a tensor, ready for `ndarray(t.data, t.shape, t.stride, t.offset)`.
 * No copy.
 */
export function toNdArray<T extends DType>(
  t: Tensor<T>,
): { data: DataTypeMap[T]; shape: number[]; stride: number[]; offset: number } {
  return { data: t.data, shape: t.shape.slice(), stride: t.stride.slice(), offset: t.offset };
}

// ---------------------------------------------------------------------------------------------------------------
// float16

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits for a number, rounding to nearest even (as numpy's astype(float16)). */
export function numberToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // Inf / NaN (quiet)
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++; // may carry into the exponent, which is correct
  return sign | r;
}

/** The number a binary16 bit pattern encodes. */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32/float64 → float16 bits (Uint16Array), round-to-nearest-even. */
export function toFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToFloat16Bits(values[i]);
  return out;
}

/** float16 bits → Float32Array (exact). */
export function fromFloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16BitsToNumber(bits[i]);
  return out;
}

/**
 * Converts a tensor to another dtype (always a new dense tensor). float16 goes through the bit conversion; int64
 * values are checked to be exactly representable when converted to float64/float32.
 */
export function cast<T extends DType>(t: Tensor, dtype: T): Tensor<T> {
  if (!isDType(dtype)) throw new InvalidArgumentError('dtype', dtype, `one of ${DTYPES.join(', ')}`);
  const src = denseData(t);
  const n = src.length;
  const out = new CTORS[dtype](n) as DataTypeMap[T];
  const readNum: (i: number) => number =
    t.dtype === 'float16'
      ? (i) => float16BitsToNumber((src as Uint16Array)[i])
      : t.dtype === 'int64' || t.dtype === 'uint64'
        ? (i) => {
            const v = (src as BigInt64Array)[i];
            const x = Number(v);
            if (!Number.isSafeInteger(x)) throw new InvalidArgumentError('tensor', v, 'int64 values within ±2^53');
            return x;
          }
        : (i) => (src as Float32Array)[i];
  if (dtype === 'float16') {
    const o = out as Uint16Array;
    for (let i = 0; i < n; i++) o[i] = numberToFloat16Bits(readNum(i));
  } else if (dtype === 'int64' || dtype === 'uint64') {
    const o = out as BigInt64Array;
    for (let i = 0; i < n; i++) {
      const v = readNum(i);
      if (!Number.isFinite(v)) throw new NonFiniteError('tensor', i, v);
      o[i] = BigInt(Math.trunc(v));
    }
  } else if (dtype === 'bool') {
    const o = out as Uint8Array;
    for (let i = 0; i < n; i++) o[i] = readNum(i) !== 0 ? 1 : 0;
  } else {
    const o = out as Float32Array;
    for (let i = 0; i < n; i++) o[i] = readNum(i);
  }
  return { dtype, data: out, shape: t.shape.slice(), stride: defaultStride(t.shape), offset: 0 };
}

/** Throws `NonFiniteError` naming `param` and the first bad element if any value is NaN or ±Infinity. */
export function assertFinite(param: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // v - v is NaN exactly when v is NaN or ±Infinity
    if (v - v !== 0) throw new NonFiniteError(param, i, v);
  }
}

/** Validates a [rows, cols] float matrix given as a Tensor or as `Float32Array` + shape. */
export function asMatrix(param: string, t: Tensor | NdArrayLike): Tensor<'float32'> {
  const v = 'dtype' in t && isDType(t.dtype) && 'stride' in t ? (t as Tensor) : fromNdArray(t as NdArrayLike);
  if (v.shape.length !== 2) throw new ShapeError(param, v.shape, '[rows, cols]');
  if (v.dtype !== 'float32') throw new DTypeError(param, v.dtype, 'float32');
  return contiguous(v as Tensor<'float32'>);
}
