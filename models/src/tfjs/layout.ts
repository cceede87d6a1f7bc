/**
 * Axis permutations and static shape arithmetic for the converter.
 *
 * A converted tensor is held in ONNX in some axis order `perm`: `onnx = transpose(tf, perm)`, i.e.
 * `onnxShape[i] = tfShape[perm[i]]` and TF axis `a` is ONNX axis `invert(perm)[a]`. 4-D image tensors run in
 * NCHW (`perm = [0, 3, 1, 2]`); everything else keeps TF's order (no perm).
 */
import type { ConstTensor } from './weights.js';

/** NHWC (TF) → NCHW (ONNX). */
export const NCHW: readonly number[] = [0, 3, 1, 2];

export function identityPerm(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

export function isIdentity(perm: readonly number[] | undefined): boolean {
  return perm === undefined || perm.every((p, i) => p === i);
}

export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export function samePerm(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function permKey(perm: readonly number[]): string {
  return perm.join(',');
}

/**
 * The perm left after removing the TF axes `removed` (sorted, unique) from a tensor held in `perm`: the remaining
 * ONNX axes keep their order and the remaining TF axes are renumbered.
 */
export function dropAxes(perm: readonly number[], removed: readonly number[]): number[] {
  const gone = new Set(removed);
  return perm.filter((a) => !gone.has(a)).map((a) => a - removed.filter((r) => r < a).length);
}

/** Undefined for the identity, so plain tensors carry no perm. */
export function normPerm(perm: readonly number[] | undefined): number[] | undefined {
  return perm === undefined || isIdentity(perm) ? undefined : [...perm];
}

/** The constant transposed: `out.shape[i] = c.shape[perm[i]]`. */
export function transposeConst(c: ConstTensor, perm: readonly number[]): ConstTensor {
  const r = c.shape.length;
  const shape = perm.map((p) => c.shape[p]);
  if (isIdentity(perm) || r <= 1) return { ...c, shape } as ConstTensor;
  const inStride = new Array<number>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    inStride[i] = s;
    s *= c.shape[i];
  }
  const n = s;
  const stride = perm.map((p) => inStride[p]);
  const src = c.data as ArrayLike<number | bigint> as { length: number; [i: number]: number | bigint };
  const out = new (c.data.constructor as new (n: number) => { [i: number]: number | bigint })(n);
  const idx = new Array<number>(r).fill(0);
  let at = 0;
  for (let o = 0; o < n; o++) {
    out[o] = src[at];
    // advance the output index (last axis fastest), keeping `at` the matching input offset
    for (let k = r - 1; k >= 0; k--) {
      idx[k]++;
      at += stride[k];
      if (idx[k] < shape[k]) break;
      at -= stride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return { dtype: c.dtype, shape, data: out } as ConstTensor;
}

/** Numpy broadcasting of two TF shapes (-1 = unknown); undefined when a rank is unknown. */
export function broadcastShapes(
  a: readonly number[] | undefined,
  b: readonly number[] | undefined,
): number[] | undefined {
  if (!a || !b) return undefined;
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    out.push(x === 1 ? y : y === 1 ? x : x === -1 ? y : x);
  }
  return out;
}

export interface SpatialPads {
  /** ONNX pads for the two spatial axes: [top, left, bottom, right]; undefined with autoPad. */
  pads?: number[];
  autoPad?: 'SAME_UPPER';
  /** Output [H, W] (-1 when unknown). */
  out: [number, number];
}

/**
 * TF padding of a 2-D window op (conv or pool) made explicit. SAME pads `total = max((out−1)·s + (k−1)·d + 1 − in, 0)`,
 * `before = ⌊total/2⌋`, the rest after — ONNX's SAME_UPPER convention, used as `auto_pad` when a spatial size is
 * unknown at conversion time.
 */
export function spatialPads(
  padding: string,
  inHW: readonly [number, number],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  explicit?: readonly number[],
): SpatialPads {
  const dk = [0, 1].map((i) => (kernel[i] - 1) * dilations[i] + 1);
  if (padding === 'SAME') {
    if (inHW[0] < 0 || inHW[1] < 0)
      return {
        autoPad: 'SAME_UPPER',
        out: [0, 1].map((i) => (inHW[i] < 0 ? -1 : Math.ceil(inHW[i] / strides[i]))) as [number, number],
      };
    const out = [0, 1].map((i) => Math.ceil(inHW[i] / strides[i]));
    const total = [0, 1].map((i) => Math.max((out[i] - 1) * strides[i] + dk[i] - inHW[i], 0));
    const before = total.map((t) => Math.floor(t / 2));
    return { pads: [before[0], before[1], total[0] - before[0], total[1] - before[1]], out: out as [number, number] };
  }
  const p = padding === 'EXPLICIT' && explicit ? [explicit[0], explicit[2], explicit[1], explicit[3]] : [0, 0, 0, 0];
  const out = [0, 1].map((i) =>
    inHW[i] < 0 ? -1 : Math.floor((inHW[i] + p[i] + p[i + 2] - dk[i]) / strides[i]) + 1,
  ) as [number, number];
  return { pads: p, out };
}

/** Length of a Python/ONNX slice of a dimension of size `dim` (clamped as ONNX Slice clamps). */
export function sliceLength(dim: number, start: number, end: number, step: number): number {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return e > s ? Math.ceil((e - s) / step) : 0;
  }
  s = clamp(s, -1, dim - 1);
  e = clamp(e, -1, dim - 1);
  return s > e ? Math.ceil((s - e) / -step) : 0;
}
