/**
 * Bilinear resizing (browser-safe) of float32 tensors and 8-bit images.
 *
 * Sampling uses half-pixel centers by default — `src = (dst + 0.5) · in/out − 0.5`, clamped at the edges — which is
 * what OpenCV's INTER_LINEAR and PyTorch's `interpolate(mode='bilinear', align_corners=False, antialias=False)` do;
 * `alignCorners: true` maps corner pixel centers onto each other instead. No antialiasing when shrinking.
 */
import { DTypeError, InvalidArgumentError, ShapeError } from './errors.js';
import { checkImage, type Image, type Layout } from './image.js';
import { type Tensor, defaultStride, denseData } from './tensor.js';

export interface ResizeOptions {
  /** Where the channel axis is: 'chw' → [C, H, W] or [N, C, H, W] (default); 'hwc' → [H, W, C] or [N, H, W, C]. */
  layout?: Layout;
  /** Map the corner pixel centers of input and output onto each other (PyTorch align_corners=True). Default false. */
  alignCorners?: boolean;
}

/** For each output index along one axis: the two source indices and the weight of the second. */
interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float64Array;
  w1: Float64Array;
}

function axisTable(inSize: number, outSize: number, alignCorners: boolean): AxisTable {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float64Array(outSize);
  const w1 = new Float64Array(outSize);
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    let src = alignCorners ? d * scale : (d + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    let a = Math.floor(src);
    if (a > inSize - 1) a = inSize - 1;
    const b = a < inSize - 1 ? a + 1 : a;
    const w = b === a ? 0 : src - a;
    i0[d] = a;
    i1[d] = b;
    w0[d] = 1 - w;
    w1[d] = w;
  }
  return { i0, i1, w0, w1 };
}

function checkSize(param: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new InvalidArgumentError(param, v, 'a positive integer');
  return v as number;
}

/**
 * Resizes the spatial axes of a float32 tensor [C, H, W] / [H, W, C] (by `layout`), the same with a leading batch
 * axis, or [H, W], to `outH` × `outW`. Returns a new contiguous tensor in the same layout.
 */
export function resizeBilinear(
  t: Tensor<'float32'>,
  outH: number,
  outW: number,
  options: ResizeOptions = {},
): Tensor<'float32'> {
  if (t === null || typeof t !== 'object' || t.dtype !== 'float32')
    throw new DTypeError('t', t === null || typeof t !== 'object' ? t : t.dtype, 'float32');
  checkSize('outH', outH);
  checkSize('outW', outW);
  const layout = options.layout ?? 'chw';
  if (layout !== 'chw' && layout !== 'hwc') throw new InvalidArgumentError('layout', layout, "'chw' or 'hwc'");
  const rank = t.shape.length;
  if (rank < 2 || rank > 4)
    throw new ShapeError(
      't',
      t.shape,
      layout === 'chw' ? '[H, W], [C, H, W] or [N, C, H, W]' : '[H, W], [H, W, C] or [N, H, W, C]',
    );
  // normalise to planes × H × W × C (C = 1 for chw, whose channels become planes)
  let planes: number, h: number, w: number, c: number;
  const s = t.shape;
  if (rank === 2) [planes, h, w, c] = [1, s[0], s[1], 1];
  else if (layout === 'chw') [planes, h, w, c] = [rank === 4 ? s[0] * s[1] : s[0], s[rank - 2], s[rank - 1], 1];
  else [planes, h, w, c] = [rank === 4 ? s[0] : 1, s[rank - 3], s[rank - 2], s[rank - 1]];
  if (h < 1 || w < 1) throw new ShapeError('t', t.shape, 'non-empty spatial axes');
  const src = denseData(t);
  const out = new Float32Array(planes * outH * outW * c);
  const ty = axisTable(h, outH, options.alignCorners === true);
  const tx = axisTable(w, outW, options.alignCorners === true);
  resizeCore(src, out, planes, h, w, c, outH, outW, ty, tx, false);
  const shape =
    rank === 2
      ? [outH, outW]
      : layout === 'chw'
        ? [...s.slice(0, rank - 2), outH, outW]
        : [...s.slice(0, rank - 3), outH, outW, c];
  return { dtype: 'float32', data: out, shape, stride: defaultStride(shape), offset: 0 };
}

/**
 * The shared loop over `planes` interleaved images of h × w × c. `round` writes rounded values (for uint8 output,
 * whose inputs keep every result within 0..255).
 */
function resizeCore(
  src: ArrayLike<number>,
  dst: Float32Array | Uint8Array,
  planes: number,
  h: number,
  w: number,
  c: number,
  outH: number,
  outW: number,
  ty: AxisTable,
  tx: AxisTable,
  round: boolean,
): void {
  const rowIn = w * c;
  const rowOut = outW * c;
  // column tables in element units, so the inner loop only adds
  const x0 = new Int32Array(outW);
  const x1 = new Int32Array(outW);
  for (let x = 0; x < outW; x++) {
    x0[x] = tx.i0[x] * c;
    x1[x] = tx.i1[x] * c;
  }
  const { w0: wx0, w1: wx1 } = tx;
  for (let p = 0; p < planes; p++) {
    const inBase = p * h * rowIn;
    const outBase = p * outH * rowOut;
    for (let y = 0; y < outH; y++) {
      const r0 = inBase + ty.i0[y] * rowIn;
      const r1 = inBase + ty.i1[y] * rowIn;
      const wy0 = ty.w0[y];
      const wy1 = ty.w1[y];
      let o = outBase + y * rowOut;
      for (let x = 0; x < outW; x++) {
        const a0 = r0 + x0[x];
        const a1 = r0 + x1[x];
        const b0 = r1 + x0[x];
        const b1 = r1 + x1[x];
        const u0 = wx0[x];
        const u1 = wx1[x];
        for (let ch = 0; ch < c; ch++, o++) {
          const v = (src[a0 + ch] * u0 + src[a1 + ch] * u1) * wy0 + (src[b0 + ch] * u0 + src[b1 + ch] * u1) * wy1;
          dst[o] = round ? v + 0.5 : v; // uint8 stores truncate, so +0.5 rounds non-negative values
        }
      }
    }
  }
}

/**
 * Resizes an 8-bit image to `outW` × `outH` with half-pixel bilinear sampling, rounding to the nearest byte.
 * (OpenCV computes uint8 resizes in 11-bit fixed point, so its results can differ from these by 1.)
 */
export function resizeImage(img: Image, outW: number, outH: number): Image {
  const { width, height, channels, data } = checkImage(img);
  checkSize('outW', outW);
  checkSize('outH', outH);
  const out = new Uint8Array(outW * outH * channels);
  if (outW === width && outH === height) out.set(data);
  else
    resizeCore(
      data,
      out,
      1,
      height,
      width,
      channels,
      outH,
      outW,
      axisTable(height, outH, false),
      axisTable(width, outW, false),
      true,
    );
  return { width: outW, height: outH, channels, data: out };
}
