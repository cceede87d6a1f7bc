/**
 * MinusFace's fixed DCT-domain encoder e and decoder d (spec `minusface.md` §B.3, official `dct_transform` /
 * `idct_transform` of Tencent/TFace `partialface/utils.py`, which call torchjpeg's `to_ycbcr` / `block_dct`).
 *
 * e: image U ∈ [0, 1]^{3×H×W} (RGB; the official X ∈ [−1, 1] after U = X·0.5 + 0.5) → E ∈ ℝ^{192×H×W}:
 *   1. bilinear upsampling ×8 with align_corners = True (torch `F.interpolate(..., mode='bilinear',
 *      align_corners=True)`): output row i samples source row i·(H−1)/(8H−1) (0 when H = 1), likewise columns;
 *   2. ×255 and JPEG full-range YCbCr: Y = 0.299R + 0.587G + 0.114B,
 *      Cb = 128 − 0.168735892R − 0.331264108G + 0.5B, Cr = 128 + 0.5R − 0.418687589G − 0.081312411B;
 *   3. −128 on all three channels;
 *   4. orthonormal 8×8 DCT-II per block, E[64·c + 8·u + v, a, b] = D_c^{(a,b)}(u, v) (c = Y, Cb, Cr).
 * d: E → image in [0, 1]^{3×H×W}:
 *   1. inverse block DCT to [3, 8H, 8W], +128;
 *   2. RGB: R = Y + 1.402(Cr−128), G = Y − 0.344136286(Cb−128) − 0.714136286(Cr−128), B = Y + 1.772(Cb−128); ÷255;
 *   3. bilinear downsampling with align_corners = True: output row i samples row i·(8H−1)/(H−1) (0 when H = 1);
 *   4. clamp to [0, 1].
 * Step 2 of d is affine per pixel and the interpolation weights sum to 1, so d applies it after the (linear)
 * resampling, on H×W pixels instead of 64·H·W: equal in exact arithmetic. All arithmetic is float64; E and the
 * decoded image are float32.
 */
import {
  DTypeError,
  InvalidArgumentError,
  NonFiniteError,
  ShapeError,
  denseData,
  tensor,
  type Tensor,
} from '@trustvision/core-tensor';
import { blockDctInto, inverseBlockDctInto, type FloatArray } from './dct.js';

/** Upsampling factor of e (and downsampling factor of d). */
export const SCALE = 8;
/** Channels of the DCT representation: 3 colour channels × 64 frequencies. */
export const REP_CHANNELS = 192;

/** Source sample positions of align_corners bilinear resampling from `inSize` to `outSize` (torch's formula). */
function resampleTable(inSize: number, outSize: number) {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float64Array(outSize);
  const scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  for (let d = 0; d < outSize; d++) {
    const src = d * scale;
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[d] = lo;
    i1[d] = lo < inSize - 1 ? lo + 1 : lo;
    w1[d] = src - lo;
  }
  return { i0, i1, w1 };
}

/**
 * The encoder e and decoder d for one image size H×W, with every buffer preallocated (for 112×112: two float64
 * [3, 896, 896] work planes, about 38 MB). Not re-entrant: one call at a time per instance.
 */
export class DctCodec {
  readonly H: number;
  readonly W: number;
  private readonly FH: number;
  private readonly FW: number;
  private readonly planes: Float64Array; // [3, 8H, 8W]
  private readonly rows: Float64Array; // [3, H, 8W] (encode) / [3, H, 8W] (decode)
  private readonly upY;
  private readonly upX;
  private readonly downY;
  private readonly downX;

  constructor(H: number, W: number) {
    for (const [name, v] of [
      ['H', H],
      ['W', W],
    ] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
        throw new InvalidArgumentError(name, v, 'a positive integer');
    }
    this.H = H;
    this.W = W;
    this.FH = SCALE * H;
    this.FW = SCALE * W;
    this.planes = new Float64Array(3 * this.FH * this.FW);
    this.rows = new Float64Array(3 * H * this.FW);
    this.upY = resampleTable(H, this.FH);
    this.upX = resampleTable(W, this.FW);
    this.downY = resampleTable(this.FH, H);
    this.downX = resampleTable(this.FW, W);
  }

  /**
   * e: RGB image [3, H, W] in [0, 1] → DCT representation [192, H, W] (written into `out` when given). No validation
   * (see `encode`).
   */
  encode<T extends FloatArray = Float32Array>(
    image: ArrayLike<number>,
    out: T = new Float32Array(REP_CHANNELS * this.H * this.W) as T,
  ): T {
    const { H, W, FH, FW, planes, rows } = this;
    const { i0: x0, i1: x1, w1: wx } = this.upX;
    const { i0: y0, i1: y1, w1: wy } = this.upY;
    // 1a. horizontal pass: [3, H, W] → [3, H, 8W]
    for (let r = 0; r < 3 * H; r++) {
      const src = r * W;
      const dst = r * FW;
      for (let j = 0; j < FW; j++) {
        const w = wx[j];
        rows[dst + j] = (1 - w) * image[src + x0[j]] + w * image[src + x1[j]];
      }
    }
    // 1b. vertical pass: [3, H, 8W] → [3, 8H, 8W]
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < FH; i++) {
        const a = (c * H + y0[i]) * FW;
        const b = (c * H + y1[i]) * FW;
        const dst = (c * FH + i) * FW;
        const w = wy[i];
        const v = 1 - w;
        for (let j = 0; j < FW; j++) planes[dst + j] = v * rows[a + j] + w * rows[b + j];
      }
    }
    // 2–3. ×255, full-range YCbCr, −128 on all channels (the +128 of Cb and Cr cancels)
    const P = FH * FW;
    for (let p = 0; p < P; p++) {
      const R = planes[p] * 255;
      const G = planes[P + p] * 255;
      const B = planes[2 * P + p] * 255;
      planes[p] = 0.299 * R + 0.587 * G + 0.114 * B - 128;
      planes[P + p] = 128 - 0.168735892 * R - 0.331264108 * G + 0.5 * B - 128;
      planes[2 * P + p] = 128 + 0.5 * R - 0.418687589 * G - 0.081312411 * B - 128;
    }
    // 4. block DCT → [192, H, W]
    blockDctInto(planes, 3, FH, FW, out);
    return out;
  }

  /**
   * d: DCT representation [192, H, W] → RGB image [3, H, W] in [0, 1] (written into `out` when given). No validation
   * (see `decode`). With `clamp = false` the last step (clamping to [0, 1]) is skipped.
   */
  decode<T extends FloatArray = Float32Array>(
    rep: ArrayLike<number>,
    out: T = new Float32Array(3 * this.H * this.W) as T,
    clamp = true,
  ): T {
    const { H, W, FH, FW, planes, rows } = this;
    const { i0: x0, i1: x1, w1: wx } = this.downX;
    const { i0: y0, i1: y1, w1: wy } = this.downY;
    // 1. inverse block DCT → level-shifted [3, 8H, 8W] YCbCr planes
    inverseBlockDctInto(rep, 3, FH, FW, planes);
    // 3a. vertical pass: [3, 8H, 8W] → [3, H, 8W]
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < H; i++) {
        const a = (c * FH + y0[i]) * FW;
        const b = (c * FH + y1[i]) * FW;
        const dst = (c * H + i) * FW;
        const w = wy[i];
        const v = 1 - w;
        for (let j = 0; j < FW; j++) rows[dst + j] = v * planes[a + j] + w * planes[b + j];
      }
    }
    // 3b. horizontal pass → [3, H, W]; then 1 (+128), 2 (RGB, ÷255) and 4 (clamp) per pixel
    const P = H * W;
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const w = wx[j];
        const v = 1 - w;
        const ya = i * FW;
        const Y = v * rows[ya + x0[j]] + w * rows[ya + x1[j]] + 128;
        const ca = (H + i) * FW;
        const Cb = v * rows[ca + x0[j]] + w * rows[ca + x1[j]] + 128;
        const ra = (2 * H + i) * FW;
        const Cr = v * rows[ra + x0[j]] + w * rows[ra + x1[j]] + 128;
        const R = (Y + 1.402 * (Cr - 128)) / 255;
        const G = (Y - 0.344136286 * (Cb - 128) - 0.714136286 * (Cr - 128)) / 255;
        const B = (Y + 1.772 * (Cb - 128)) / 255;
        const p = i * W + j;
        if (clamp) {
          out[p] = R < 0 ? 0 : R > 1 ? 1 : R;
          out[P + p] = G < 0 ? 0 : G > 1 ? 1 : G;
          out[2 * P + p] = B < 0 ? 0 : B > 1 ? 1 : B;
        } else {
          out[p] = R;
          out[P + p] = G;
          out[2 * P + p] = B;
        }
      }
    }
    return out;
  }
}

let cached: DctCodec | undefined;
/** The shared codec for H×W (one cached instance; internal to the package). */
export function codecFor(H: number, W: number): DctCodec {
  if (!cached || cached.H !== H || cached.W !== W) cached = new DctCodec(H, W);
  return cached;
}

function floatData(param: string, t: Tensor): Float32Array | Float64Array {
  if (!t || typeof t !== 'object' || !Array.isArray(t.shape) || !t.data)
    throw new InvalidArgumentError(param, t, 'a tensor ({ dtype, data, shape, ... })');
  if (t.dtype !== 'float32' && t.dtype !== 'float64')
    throw new DTypeError(param, t.dtype, 'float32 (or float64)', 'Convert with astype(np.float32)');
  return denseData(t as Tensor<'float32' | 'float64'>);
}

function checkShape(param: string, t: Tensor, channels: number, what: string): [number, number] {
  const s = t.shape;
  if (s.length !== 3 || s[0] !== channels || !(s[1] >= 1) || !(s[2] >= 1))
    throw new ShapeError(param, `[${s.join(', ')}]`, `[${channels}, H, W] (${what})`);
  return [s[1], s[2]];
}

/**
 * e of the spec: an RGB image, float32 (or float64) [3, H, W] with values in [0, 1] (H = W = 112 in the paper), →
 * the DCT representation, float32 [192, H, W]. Typed errors name `image`: wrong rank or channel count (E_SHAPE),
 * dtype (E_DTYPE), non-finite values (E_NON_FINITE), values outside [0, 1] (E_INVALID_ARGUMENT).
 */
export function encode(image: Tensor): Tensor<'float32'> {
  const data = floatData('image', image);
  const [H, W] = checkShape('image', image, 3, 'RGB in [0, 1]');
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) throw new NonFiniteError('image', i, v);
    if (v < 0 || v > 1)
      throw new InvalidArgumentError(
        'image',
        `element ${i} = ${v}`,
        'values in [0, 1]',
        'An image normalised to [-1, 1] must be mapped back with x·0.5 + 0.5 first',
      );
  }
  return tensor(codecFor(H, W).encode(data), [REP_CHANNELS, H, W]);
}

/**
 * d of the spec: a DCT representation, float32 (or float64) [192, H, W], → the RGB image, float32 [3, H, W] clamped
 * to [0, 1]. Typed errors name `rep`: wrong rank or channel count (E_SHAPE), dtype (E_DTYPE), non-finite values
 * (E_NON_FINITE).
 */
export function decode(rep: Tensor): Tensor<'float32'> {
  const data = floatData('rep', rep);
  const [H, W] = checkShape('rep', rep, REP_CHANNELS, 'block-DCT coefficients');
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new NonFiniteError('rep', i, data[i]);
  return tensor(codecFor(H, W).decode(data), [3, H, W]);
}
