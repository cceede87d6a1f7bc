/**
 * Image-similarity metrics for the privacy evaluation (spec `minusface.md` §B.8: recovery quality as SSIM / PSNR):
 *
 * - PSNR = 10·log10(R² / MSE) over all elements (R = `dataRange`, default 1 for images in [0, 1]); +Infinity for
 *   identical images. Equals `skimage.metrics.peak_signal_noise_ratio(a, b, data_range=R)`.
 * - SSIM (Wang et al. 2004) exactly as `skimage.metrics.structural_similarity(a, b, data_range=R, channel_axis=0)`
 *   with its defaults: a uniform `winSize`×`winSize` window (7), K1 = 0.01, K2 = 0.03, sample covariances
 *   (× N/(N−1), N = winSize²), the SSIM map averaged over the positions whose window lies inside the image (skimage
 *   crops (winSize−1)/2 pixels per side), and the mean over channels.
 *
 * Inputs are [C, H, W] or [H, W] tensors (float32 or float64) of the same shape, or plain arrays with an explicit
 * shape. Arithmetic is float64.
 */
import {
  DTypeError,
  InvalidArgumentError,
  NonFiniteError,
  ShapeError,
  denseData,
  type Tensor,
} from '@trustvision/core-tensor';

export interface QualityOptions {
  /** The value range of the images (max − min possible), default 1. */
  dataRange?: number;
}

export interface SsimOptions extends QualityOptions {
  /** Odd window side, default 7 (skimage's default without Gaussian weights). */
  winSize?: number;
}

function planes(param: string, t: Tensor): { data: Float32Array | Float64Array; C: number; H: number; W: number } {
  if (!t || typeof t !== 'object' || !Array.isArray(t.shape))
    throw new InvalidArgumentError(param, t, 'a tensor of shape [C, H, W] or [H, W]');
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new DTypeError(param, t.dtype, 'float32 or float64');
  const s = t.shape;
  if (s.length !== 2 && s.length !== 3) throw new ShapeError(param, `[${s.join(', ')}]`, '[C, H, W] or [H, W]');
  const data = denseData(t as Tensor<'float32' | 'float64'>);
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new NonFiniteError(param, i, data[i]);
  return s.length === 2 ? { data, C: 1, H: s[0], W: s[1] } : { data, C: s[0], H: s[1], W: s[2] };
}

function pair(a: Tensor, b: Tensor) {
  const pa = planes('a', a);
  const pb = planes('b', b);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw new ShapeError('b', `[${b.shape.join(', ')}]`, `[${a.shape.join(', ')}] (the shape of 'a')`);
  return { pa, pb };
}

function range(options: QualityOptions): number {
  const r = options.dataRange ?? 1;
  if (typeof r !== 'number' || !(r > 0) || !Number.isFinite(r))
    throw new InvalidArgumentError('dataRange', r, 'a positive finite number');
  return r;
}

/** Mean squared error between two tensors of the same shape. */
export function mse(a: Tensor, b: Tensor): number {
  const { pa, pb } = pair(a, b);
  let s = 0;
  for (let i = 0; i < pa.data.length; i++) {
    const d = pa.data[i] - pb.data[i];
    s += d * d;
  }
  return s / pa.data.length;
}

/** Peak signal-to-noise ratio in dB (+Infinity for identical inputs). */
export function psnr(a: Tensor, b: Tensor, options: QualityOptions = {}): number {
  const R = range(options);
  const m = mse(a, b);
  return m === 0 ? Infinity : 10 * Math.log10((R * R) / m);
}

/** Mean structural similarity (skimage's default definition; see the module comment). */
export function ssim(a: Tensor, b: Tensor, options: SsimOptions = {}): number {
  const R = range(options);
  const win = options.winSize ?? 7;
  if (typeof win !== 'number' || !Number.isInteger(win) || win < 1 || win % 2 !== 1)
    throw new InvalidArgumentError('winSize', win, 'an odd positive integer');
  const { pa, pb } = pair(a, b);
  const { C, H, W } = pa;
  if (H < win || W < win)
    throw new ShapeError(
      'a',
      `[${a.shape.join(', ')}]`,
      `images at least ${win}×${win} (winSize)`,
      'Pass a smaller odd winSize',
    );
  const NP = win * win;
  const covNorm = NP / (NP - 1);
  const C1 = (0.01 * R) ** 2;
  const C2 = (0.03 * R) ** 2;
  const oh = H - win + 1;
  const ow = W - win + 1;
  // column sums over the window of x, y, xx, yy, xy for one row band, slid down the image
  const sums = new Float64Array(5 * W);
  let total = 0;
  for (let c = 0; c < C; c++) {
    const x = pa.data;
    const y = pb.data;
    const base = c * H * W;
    let acc = 0;
    for (let i = 0; i < oh; i++) {
      sums.fill(0);
      for (let dy = 0; dy < win; dy++) {
        const row = base + (i + dy) * W;
        for (let j = 0; j < W; j++) {
          const u = x[row + j];
          const v = y[row + j];
          sums[j] += u;
          sums[W + j] += v;
          sums[2 * W + j] += u * u;
          sums[3 * W + j] += v * v;
          sums[4 * W + j] += u * v;
        }
      }
      for (let j = 0; j < ow; j++) {
        let sx = 0;
        let sy = 0;
        let sxx = 0;
        let syy = 0;
        let sxy = 0;
        for (let dx = 0; dx < win; dx++) {
          sx += sums[j + dx];
          sy += sums[W + j + dx];
          sxx += sums[2 * W + j + dx];
          syy += sums[3 * W + j + dx];
          sxy += sums[4 * W + j + dx];
        }
        const ux = sx / NP;
        const uy = sy / NP;
        const vx = covNorm * (sxx / NP - ux * ux);
        const vy = covNorm * (syy / NP - uy * uy);
        const vxy = covNorm * (sxy / NP - ux * uy);
        acc += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
      }
    }
    total += acc / (oh * ow);
  }
  return total / C;
}
