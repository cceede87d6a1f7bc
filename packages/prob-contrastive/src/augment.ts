/**
 * Image-space augmentations and corruptions for single-channel images in [0, 1], stored as Float32Array [N·H·W]
 * (NCHW with C = 1). All randomness comes from core-tensor's seeded Philox `Rng`, so every result is reproducible.
 *
 * - `randomViews`: the SimCLR-style views the TypeScript trainer needs (two per image make a positive pair) — one
 *   affine warp per view (random resized crop with area 0.45..1 and aspect 3/4..4/3, horizontal flip p = 0.5, rotation
 *   ±10°, bilinear, zero fill) followed by brightness and contrast × U[0.6, 1.4]. It matches the distribution the
 *   stand-in encoder (models/python/contrastive_encoder.py) was trained with; noise, blur and occlusion are not part
 *   of it unless `corruptions` asks for them ("harder views": with probability p a view also gets a random corruption
 *   of a random severity).
 * - `corrupt`: Gaussian noise, Gaussian blur and occlusion at severities 1..5 (0 = unchanged), for measuring how κ
 *   reacts to harder inputs. Levels (on 28×28 images):
 *     noise      σ = 0.08, 0.16, 0.24, 0.32, 0.40 (additive, then clipped to [0, 1])
 *     blur       σ = 0.6, 1.0, 1.5, 2.0, 2.5 px (separable Gaussian, radius ⌈3σ⌉, edge pixels repeated)
 *     occlusion  a mid-grey (0.5) square of side 6, 9, 12, 15, 18 px (for 28 px; scaled with the image) at a random
 *                position inside the image
 */
import { InvalidArgumentError, Rng, ShapeError } from '@trustvision/core-tensor';
import { checkInt, checkOneOf } from './validate.js';

export const CORRUPTIONS = ['noise', 'blur', 'occlusion'] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

export const NOISE_SIGMA = [0.08, 0.16, 0.24, 0.32, 0.4] as const;
export const BLUR_SIGMA = [0.6, 1.0, 1.5, 2.0, 2.5] as const;
export const OCCLUSION_SIDE = [6, 9, 12, 15, 18] as const;

/** Harder training views: with probability `p` (default 0.5) a view also gets one of `kinds` (default all three) at a
 * severity drawn uniformly from 1..5. */
export interface ViewCorruptions {
  kinds?: readonly Corruption[];
  p?: number;
}

/** A batch of single-channel images: data [N·H·W] with shape [N, 1, H, W] or [N, H, W]. */
export interface GrayBatch {
  data: Float32Array;
  shape: readonly number[];
}

function dims(param: string, x: GrayBatch): { n: number; h: number; w: number } {
  if (x === null || typeof x !== 'object' || !(x.data instanceof Float32Array) || !Array.isArray(x.shape))
    throw new InvalidArgumentError(param, x, 'a batch { data: Float32Array, shape: [N, 1, H, W] }');
  const s = x.shape;
  const ok = (s.length === 4 && s[1] === 1) || s.length === 3;
  if (!ok) throw new ShapeError(param, [...s], '[N, 1, H, W] or [N, H, W] (single channel)');
  const [n, h, w] = s.length === 4 ? [s[0], s[2], s[3]] : [s[0], s[1], s[2]];
  if (x.data.length !== n * h * w)
    throw new ShapeError(param, `data of length ${x.data.length}`, `${n * h * w} elements`);
  return { n, h, w };
}

function bilinear(src: Float32Array, o: number, h: number, w: number, y: number, x: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  let v = 0;
  for (let dy = 0; dy <= 1; dy++) {
    const yy = y0 + dy;
    if (yy < 0 || yy >= h) continue;
    const wy = dy ? fy : 1 - fy;
    for (let dx = 0; dx <= 1; dx++) {
      const xx = x0 + dx;
      if (xx < 0 || xx >= w) continue;
      v += wy * (dx ? fx : 1 - fx) * src[o + yy * w + xx];
    }
  }
  return v;
}

/**
 * `views` random views of every image, as [N·views, 1, H, W] with the views of image i in rows i·views … i·views +
 * views − 1, plus the positive pairs [N·views·(views−1)/2, 2] linking views of the same image.
 */
export function randomViews(
  images: GrayBatch,
  options: { views?: number; seed?: number | string; corruptions?: ViewCorruptions } = {},
): { data: Float32Array; shape: number[]; pairs: Int32Array } {
  const { n, h, w } = dims('images', images);
  const views = checkInt('views', options.views ?? 2, 2);
  const rng = Rng.from(options.seed ?? 0);
  const extra = options.corruptions;
  let kinds: readonly Corruption[] = [];
  let prob = 0;
  if (extra !== undefined) {
    if (extra === null || typeof extra !== 'object')
      throw new InvalidArgumentError(
        'corruptions',
        extra,
        "{ kinds?: ('noise' | 'blur' | 'occlusion')[], p?: number }",
      );
    kinds = extra.kinds ?? CORRUPTIONS;
    if (!Array.isArray(kinds) || kinds.length === 0)
      throw new InvalidArgumentError('corruptions.kinds', kinds, 'a non-empty array of corruption kinds');
    kinds.forEach((k, i) => checkOneOf(`corruptions.kinds[${i}]`, k, CORRUPTIONS));
    prob = extra.p ?? 0.5;
    if (typeof prob !== 'number' || !(prob >= 0 && prob <= 1))
      throw new InvalidArgumentError('corruptions.p', prob, 'a probability in [0, 1]');
  }
  const per = h * w;
  const out = new Float32Array(n * views * per);
  const src = images.data;
  for (let i = 0; i < n; i++) {
    for (let v = 0; v < views; v++) {
      const area = 0.45 + 0.55 * rng.uniform();
      const logRatio = Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * rng.uniform();
      const ratio = Math.exp(logRatio);
      const sx = Math.min(1, Math.sqrt(area * ratio));
      const sy = Math.min(1, Math.sqrt(area / ratio));
      const cx = (1 - sx) * (2 * rng.uniform() - 1);
      const cy = (1 - sy) * (2 * rng.uniform() - 1);
      const angle = (2 * rng.uniform() - 1) * ((10 * Math.PI) / 180);
      const flip = rng.uniform() < 0.5 ? -1 : 1;
      const bright = 0.6 + 0.8 * rng.uniform();
      const contrast = 0.6 + 0.8 * rng.uniform();
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      // output pixel centre (normalised u, v in [-1, 1]) → source (normalised) → pixel coordinates
      const a00 = sx * cos * flip;
      const a01 = -sy * sin;
      const a10 = sx * sin * flip;
      const a11 = sy * cos;
      const o = (i * views + v) * per;
      let mean = 0;
      for (let y = 0; y < h; y++) {
        const vv = (2 * y + 1) / h - 1;
        for (let x = 0; x < w; x++) {
          const uu = (2 * x + 1) / w - 1;
          const su = a00 * uu + a01 * vv + cx;
          const sv = a10 * uu + a11 * vv + cy;
          const val = bilinear(src, i * per, h, w, ((sv + 1) * h - 1) / 2, ((su + 1) * w - 1) / 2);
          out[o + y * w + x] = val;
          mean += val;
        }
      }
      mean /= per;
      for (let k = 0; k < per; k++) {
        const val = ((out[o + k] - mean) * contrast + mean) * bright;
        out[o + k] = val < 0 ? 0 : val > 1 ? 1 : val;
      }
      if (prob > 0 && rng.uniform() < prob) {
        const kind = kinds[rng.int(kinds.length)];
        corruptImage(out, o, h, w, kind, 1 + rng.int(5), rng);
      }
    }
  }
  const pairs: number[] = [];
  for (let i = 0; i < n; i++)
    for (let a = 0; a < views; a++) for (let b = a + 1; b < views; b++) pairs.push(i * views + a, i * views + b);
  return { data: out, shape: [n * views, 1, h, w], pairs: Int32Array.from(pairs) };
}

function gaussianKernel(sigma: number): Float64Array {
  const r = Math.ceil(3 * sigma);
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/** Adds N(0, σ²) noise to one image in place, clipped to [0, 1]. */
function noiseImage(x: Float32Array, o: number, per: number, sigma: number, rng: Rng): void {
  const z = rng.normalArray(per, 0, sigma);
  for (let k = 0; k < per; k++) {
    const v = x[o + k] + z[k];
    x[o + k] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

/** Separable Gaussian blur of one image in place (edge pixels repeated). */
function blurImage(x: Float32Array, o: number, h: number, w: number, sigma: number): void {
  const ker = gaussianKernel(sigma);
  const r = (ker.length - 1) / 2;
  const tmp = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < w; xx++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += ker[t + r] * x[o + y * w + Math.min(w - 1, Math.max(0, xx + t))];
      tmp[y * w + xx] = s;
    }
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < w; xx++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += ker[t + r] * tmp[Math.min(h - 1, Math.max(0, y + t)) * w + xx];
      x[o + y * w + xx] = s;
    }
}

/** A mid-grey square of `side` pixels at a random position, in place. */
function occludeImage(x: Float32Array, o: number, h: number, w: number, side: number, rng: Rng): void {
  const y0 = rng.int(h - side + 1);
  const x0 = rng.int(w - side + 1);
  for (let y = y0; y < y0 + side; y++) x.fill(0.5, o + y * w + x0, o + y * w + x0 + side);
}

function corruptImage(x: Float32Array, o: number, h: number, w: number, kind: Corruption, severity: number, rng: Rng) {
  if (kind === 'noise') noiseImage(x, o, h * w, NOISE_SIGMA[severity - 1], rng);
  else if (kind === 'blur') blurImage(x, o, h, w, BLUR_SIGMA[severity - 1]);
  else occludeImage(x, o, h, w, Math.max(1, Math.round((OCCLUSION_SIDE[severity - 1] * Math.min(h, w)) / 28)), rng);
}

/** A corrupted copy of `images` (same shape) at `severity` 0..5 of `kind` (module comment for the levels). */
export function corrupt(
  images: GrayBatch,
  kind: Corruption,
  severity: number,
  options: { seed?: number | string } = {},
): Float32Array {
  const { n, h, w } = dims('images', images);
  checkOneOf('kind', kind, CORRUPTIONS);
  checkInt('severity', severity, 0, 5);
  const out = Float32Array.from(images.data);
  if (severity === 0) return out;
  const rng = Rng.from(options.seed ?? 0).split(kind, severity);
  for (let i = 0; i < n; i++) corruptImage(out, i * h * w, h, w, kind, severity, rng);
  return out;
}
