/**
 * Face alignment (browser-safe): a least-squares similarity from five landmarks to the ArcFace template, and
 * bilinear affine warping of 8-bit images and float32 tensors.
 *
 * Matrices are 2×3, row-major, as 6 numbers `[a, b, c, d, e, f]` mapping source to destination pixel coordinates:
 * `x' = a·x + b·y + c`, `y' = d·x + e·y + f` (the convention of OpenCV's `warpAffine`, with pixel centers at integer
 * coordinates).
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from './errors.js';
import { checkImage, type Image, type Layout } from './image.js';
import { type Tensor, defaultStride } from './tensor.js';

/** The ArcFace / InsightFace 112×112 template: left eye, right eye, nose tip, left and right mouth corners (x, y). */
export const ARCFACE_TEMPLATE_112: readonly number[] = Object.freeze([
  38.2946, 51.6963, 73.5318, 51.5014, 56.0252, 71.7366, 41.5493, 92.3655, 70.7299, 92.2041,
]);

/**
 * The template for a `size`×`size` crop, as InsightFace scales it: sizes that are multiples of 112 scale the 112
 * template; other sizes scale it as a 128 crop (with the 112 template centred by an 8-pixel x shift).
 */
export function arcfaceTemplate(size = 112): Float64Array {
  if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError('size', size, 'a positive integer');
  const ratio = size % 112 === 0 ? size / 112 : size / 128;
  const dx = size % 112 === 0 ? 0 : 8 * ratio;
  const out = new Float64Array(10);
  for (let i = 0; i < 10; i += 2) {
    out[i] = ARCFACE_TEMPLATE_112[i] * ratio + dx;
    out[i + 1] = ARCFACE_TEMPLATE_112[i + 1] * ratio;
  }
  return out;
}

/** Flattens `x0, y0, x1, y1, …` or `[[x0, y0], …]` into numbers, checking count and finiteness. */
function points(param: string, p: ArrayLike<number> | ArrayLike<ArrayLike<number>>, count?: number): Float64Array {
  if (p === null || typeof p !== 'object' || typeof p.length !== 'number')
    throw new InvalidArgumentError(param, p, 'an array of x, y coordinates');
  const nested = p.length > 0 && typeof p[0] === 'object';
  const flat = nested
    ? Float64Array.from(Array.from(p as ArrayLike<ArrayLike<number>>).flatMap((q) => Array.from(q ?? [])))
    : Float64Array.from(p as ArrayLike<number>);
  if (nested && flat.length !== 2 * p.length) throw new ShapeError(param, p.length, 'points of two coordinates each');
  if (flat.length % 2 !== 0 || flat.length < 4 || (count !== undefined && flat.length !== 2 * count))
    throw new ShapeError(
      param,
      flat.length,
      count !== undefined ? `${2 * count} numbers (${count} x, y points)` : 'an even count of at least 4 numbers',
    );
  for (let i = 0; i < flat.length; i++) if (!Number.isFinite(flat[i])) throw new NonFiniteError(param, i, flat[i]);
  return flat;
}

/**
 * The similarity transform (rotation, uniform scale, translation; never a reflection) that maps the `src` points
 * onto the `dst` points (default: the ArcFace 112 template) with least squared error — Umeyama's method, which for
 * 2-D has the closed form used here. Points are `x0, y0, x1, y1, …` or `[[x0, y0], …]`. Returns the 2×3 matrix.
 */
export function estimateSimilarity(
  src: ArrayLike<number> | ArrayLike<ArrayLike<number>>,
  dst: ArrayLike<number> | ArrayLike<ArrayLike<number>> = ARCFACE_TEMPLATE_112,
): Float64Array {
  const s = points('src', src);
  const d = points('dst', dst, s.length / 2);
  const n = s.length / 2;
  let msx = 0;
  let msy = 0;
  let mdx = 0;
  let mdy = 0;
  for (let i = 0; i < n; i++) {
    msx += s[2 * i];
    msy += s[2 * i + 1];
    mdx += d[2 * i];
    mdy += d[2 * i + 1];
  }
  msx /= n;
  msy /= n;
  mdx /= n;
  mdy /= n;
  // with demeaned x (src) and y (dst): the best rotation angle is atan2(Σ x×y, Σ x·y) and the scale
  // |(Σ x·y, Σ x×y)| / Σ|x|², i.e. Umeyama's R·c with the reflection-free sign correction.
  let sxx = 0;
  let dot = 0;
  let cross = 0;
  for (let i = 0; i < n; i++) {
    const xs = s[2 * i] - msx;
    const ys = s[2 * i + 1] - msy;
    const xd = d[2 * i] - mdx;
    const yd = d[2 * i + 1] - mdy;
    sxx += xs * xs + ys * ys;
    dot += xs * xd + ys * yd;
    cross += xs * yd - ys * xd;
  }
  if (!(sxx > 0)) throw new InvalidArgumentError('src', Array.from(s), 'points that are not all identical');
  const a = dot / sxx;
  const b = cross / sxx;
  return Float64Array.from([a, -b, mdx - (a * msx - b * msy), b, a, mdy - (b * msx + a * msy)]);
}

function checkMatrix(param: string, m: ArrayLike<number>): Float64Array {
  if (m === null || typeof m !== 'object' || m.length !== 6)
    throw new ShapeError(
      param,
      m === null || typeof m !== 'object' ? m : m.length,
      '6 numbers (a 2×3 matrix, row-major)',
    );
  const out = Float64Array.from(m);
  for (let i = 0; i < 6; i++) if (!Number.isFinite(out[i])) throw new NonFiniteError(param, i, out[i]);
  return out;
}

/** The inverse of a 2×3 affine matrix. */
export function invertAffine(m: ArrayLike<number>): Float64Array {
  const [a, b, c, d, e, f] = checkMatrix('M', m);
  const det = a * e - b * d;
  if (det === 0 || !Number.isFinite(1 / det))
    throw new InvalidArgumentError('M', Array.from(m), 'an invertible matrix');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return Float64Array.from([ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)]);
}

/** Applies a 2×3 matrix to points `x0, y0, x1, y1, …`, returning the transformed coordinates. */
export function transformPoints(m: ArrayLike<number>, pts: ArrayLike<number>): Float64Array {
  const [a, b, c, d, e, f] = checkMatrix('M', m);
  const out = new Float64Array(pts.length);
  for (let i = 0; i + 1 < pts.length; i += 2) {
    out[i] = a * pts[i] + b * pts[i + 1] + c;
    out[i + 1] = d * pts[i] + e * pts[i + 1] + f;
  }
  return out;
}

export interface WarpOptions {
  /** Outside the source: 'constant' uses `fill` (default), 'replicate' repeats the edge pixels. */
  border?: 'constant' | 'replicate';
  /** The constant border value, one number or one per channel (default 0). */
  fill?: number | ArrayLike<number>;
  /** Tensor layout, for tensor input: 'chw' (default) or 'hwc'. */
  layout?: Layout;
}

/** Plane geometry: element offsets between neighbouring x, y and channels. */
interface Geometry {
  /** Element offset of pixel (0, 0), channel 0. */
  base: number;
  w: number;
  h: number;
  c: number;
  sx: number;
  sy: number;
  sc: number;
}

function geometry(w: number, h: number, c: number, layout: Layout): Geometry {
  return layout === 'hwc'
    ? { base: 0, w, h, c, sx: c, sy: w * c, sc: 1 }
    : { base: 0, w, h, c, sx: 1, sy: w, sc: w * h };
}

/** Bilinear inverse-mapped warp; neighbours outside the source take `fill` (constant) or the nearest edge pixel. */
function warpCore(
  src: ArrayLike<number>,
  g: Geometry,
  dst: Float32Array | Uint8Array,
  o: Geometry,
  inv: Float64Array,
  replicate: boolean,
  fill: number[],
  round: boolean,
): void {
  const [ia, ib, ic, id, ie, iff] = inv;
  const { w, h, c } = g;
  for (let y = 0; y < o.h; y++) {
    for (let x = 0; x < o.w; x++) {
      const fx = ia * x + ib * y + ic;
      const fy = id * x + ie * y + iff;
      const outAddr = o.base + y * o.sy + x * o.sx;
      if (!(fx > -1 && fx < w && fy > -1 && fy < h) && !replicate) {
        // no neighbour is inside: the border value
        for (let ch = 0; ch < c; ch++) dst[outAddr + ch * o.sc] = round ? fill[ch] + 0.5 : fill[ch];
        continue;
      }
      let x0 = Math.floor(fx);
      let y0 = Math.floor(fy);
      const wx = fx - x0;
      const wy = fy - y0;
      let x1 = x0 + 1;
      let y1 = y0 + 1;
      let in00 = true,
        in01 = true,
        in10 = true,
        in11 = true;
      if (replicate) {
        x0 = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0;
        x1 = x1 < 0 ? 0 : x1 >= w ? w - 1 : x1;
        y0 = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
        y1 = y1 < 0 ? 0 : y1 >= h ? h - 1 : y1;
      } else {
        const okx0 = x0 >= 0 && x0 < w;
        const okx1 = x1 >= 0 && x1 < w;
        const oky0 = y0 >= 0 && y0 < h;
        const oky1 = y1 >= 0 && y1 < h;
        in00 = okx0 && oky0;
        in01 = okx1 && oky0;
        in10 = okx0 && oky1;
        in11 = okx1 && oky1;
      }
      const p00 = g.base + y0 * g.sy + x0 * g.sx;
      const p01 = g.base + y0 * g.sy + x1 * g.sx;
      const p10 = g.base + y1 * g.sy + x0 * g.sx;
      const p11 = g.base + y1 * g.sy + x1 * g.sx;
      const w00 = (1 - wx) * (1 - wy);
      const w01 = wx * (1 - wy);
      const w10 = (1 - wx) * wy;
      const w11 = wx * wy;
      for (let ch = 0; ch < c; ch++) {
        const co = ch * g.sc;
        const f = fill[ch];
        const v =
          (in00 ? src[p00 + co] : f) * w00 +
          (in01 ? src[p01 + co] : f) * w01 +
          (in10 ? src[p10 + co] : f) * w10 +
          (in11 ? src[p11 + co] : f) * w11;
        dst[outAddr + ch * o.sc] = round ? v + 0.5 : v; // uint8 stores truncate: +0.5 rounds
      }
    }
  }
}

function fillValues(fill: WarpOptions['fill'], c: number, uint8: boolean): number[] {
  const arr =
    fill === undefined
      ? new Array<number>(c).fill(0)
      : typeof fill === 'number'
        ? new Array<number>(c).fill(fill)
        : Array.from(fill);
  if (arr.length !== c) throw new ShapeError('fill', arr.length, `a number or ${c} numbers (one per channel)`);
  for (const v of arr)
    if (!Number.isFinite(v) || (uint8 && (v < 0 || v > 255)))
      throw new InvalidArgumentError('fill', arr, uint8 ? 'numbers from 0 to 255' : 'finite numbers');
  return arr;
}

/**
 * Warps an 8-bit image, or a float32 tensor [C, H, W] / [H, W, C], by the 2×3 matrix `M` (source → destination, as
 * OpenCV `warpAffine` without WARP_INVERSE_MAP) into `outW` × `outH`, sampling bilinearly. Images are rounded to bytes.
 */
export function warpAffine(img: Image, M: ArrayLike<number>, outW: number, outH: number, options?: WarpOptions): Image;
export function warpAffine(
  t: Tensor<'float32'>,
  M: ArrayLike<number>,
  outW: number,
  outH: number,
  options?: WarpOptions,
): Tensor<'float32'>;
export function warpAffine(
  input: Image | Tensor<'float32'>,
  M: ArrayLike<number>,
  outW: number,
  outH: number,
  options: WarpOptions = {},
): Image | Tensor<'float32'> {
  if (!Number.isInteger(outW) || outW < 1) throw new InvalidArgumentError('outW', outW, 'a positive integer');
  if (!Number.isInteger(outH) || outH < 1) throw new InvalidArgumentError('outH', outH, 'a positive integer');
  const border = options.border ?? 'constant';
  if (border !== 'constant' && border !== 'replicate')
    throw new InvalidArgumentError('border', border, "'constant' or 'replicate'");
  const inv = invertAffine(M);
  if (input !== null && typeof input === 'object' && 'dtype' in input) {
    const t = input as Tensor;
    if (t.dtype !== 'float32') throw new DTypeError('t', t.dtype, 'float32 (or pass an Image)');
    const layout = options.layout ?? 'chw';
    if (layout !== 'chw' && layout !== 'hwc') throw new InvalidArgumentError('layout', layout, "'chw' or 'hwc'");
    if (t.shape.length !== 3) throw new ShapeError('t', t.shape, layout === 'chw' ? '[C, H, W]' : '[H, W, C]');
    const [c, h, w] = layout === 'chw' ? t.shape : [t.shape[2], t.shape[0], t.shape[1]];
    if (h < 1 || w < 1 || c < 1) throw new ShapeError('t', t.shape, 'non-empty axes');
    // read the view in place through its strides
    const [sc, sy, sx] = layout === 'chw' ? t.stride : [t.stride[2], t.stride[0], t.stride[1]];
    const out = new Float32Array(c * outH * outW);
    warpCore(
      t.data as Float32Array,
      { base: t.offset, w, h, c, sx, sy, sc },
      out,
      geometry(outW, outH, c, layout),
      inv,
      border === 'replicate',
      fillValues(options.fill, c, false),
      false,
    );
    const shape = layout === 'chw' ? [c, outH, outW] : [outH, outW, c];
    return { dtype: 'float32', data: out, shape, stride: defaultStride(shape), offset: 0 };
  }
  const { width, height, channels, data } = checkImage(input as Image);
  const out = new Uint8Array(outW * outH * channels);
  const fill = fillValues(options.fill, channels, true);
  warpCore(
    data,
    geometry(width, height, channels, 'hwc'),
    out,
    geometry(outW, outH, channels, 'hwc'),
    inv,
    border === 'replicate',
    fill,
    true,
  );
  return { width: outW, height: outH, channels, data: out };
}

export interface AlignFaceOptions {
  /** Side of the square crop (default 112); see `arcfaceTemplate` for other sizes. */
  size?: number;
  /** Border handling for parts of the crop outside the image (default 'constant' with 0, as InsightFace). */
  border?: 'constant' | 'replicate';
}

/**
 * Aligns a face to the ArcFace template: estimates the similarity from the five `landmarks` (left eye, right eye,
 * nose, left mouth corner, right mouth corner; 10 numbers or 5 [x, y] pairs, in image pixels) and warps the image
 * to a `size`×`size` crop. Returns the crop and the matrix (image → crop).
 */
export function alignFace(
  img: Image,
  landmarks: ArrayLike<number> | ArrayLike<ArrayLike<number>>,
  options: AlignFaceOptions = {},
): { image: Image; matrix: Float64Array } {
  const size = options.size ?? 112;
  const template = arcfaceTemplate(size);
  const src = points('landmarks', landmarks, 5);
  const matrix = estimateSimilarity(src, template);
  const image = warpAffine(checkImage(img), matrix, size, size, { border: options.border ?? 'constant', fill: 0 });
  return { image, matrix };
}
