/**
 * Client-side protection (spec `minusface.md` §B.2, §B.4 "Inference: client"):
 *
 *   x = e(X),  x' = g(x) (ONNX),  r = x − x',  θ: a fresh uniformly random permutation π of the 192 channels,
 *   (s(r; θ))_j = r_{π(j)},  X_p = d(s(r; θ)) ∈ [0, 1]^{3×H×W}.
 *
 * π is drawn per sample from the platform CSPRNG unless a seed (or an explicit source) is given; it is never
 * returned or sent. With `duplicates` K > 1, K independent permutations are decoded and concatenated along channels
 * (the official `n_duplicate`), giving 3K channels.
 *
 * Range of X_p (`range`): the official decoder clamps to [0, 1] (`'clamp'`, the default: spec §B.3 decoder step 6);
 * the paper only states X_p ∈ [0, 1]. `'minmax'` instead rescales each unclamped decoded image affinely to [0, 1]
 * (its min to 0, its max to 1), keeping what clamping cuts off; a recogniser must be trained on the same choice (the
 * stand-in was trained with clamping).
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
import type { GeneratorModel } from './model.js';
import { drawPermutation, sampleSources, type RandomOptions } from './random.js';
import { REP_CHANNELS, codecFor, type DctCodec } from './transform.js';

export type ProtectRange = 'clamp' | 'minmax';

export interface ProtectOptions extends RandomOptions {
  /** Images per generator run (default 8). */
  batchSize?: number;
  /** How X_p is brought into [0, 1] (default 'clamp', as the official code). */
  range?: ProtectRange;
  /** K independent permutations per image, concatenated along channels (default 1). */
  duplicates?: number;
}

/** r = x − x' (element-wise; written into `out` when given). */
export function residue(
  x: ArrayLike<number>,
  xRegen: ArrayLike<number>,
  out = new Float32Array(x.length),
): Float32Array {
  if (x.length !== xRegen.length)
    throw new ShapeError('xRegen', `[${xRegen.length}]`, `[${x.length}] (the length of x)`);
  for (let i = 0; i < x.length; i++) out[i] = x[i] - xRegen[i];
  return out;
}

/**
 * s(r; θ): channel j of the result is channel perm[j] of r ([C, H, W] planes; `perm` a permutation of 0..C−1).
 * A pure permutation: it preserves the multiset of channel planes and the sum of squares.
 */
export function shuffleChannels(
  r: ArrayLike<number>,
  perm: ArrayLike<number>,
  H: number,
  W: number,
  out = new Float32Array(r.length),
): Float32Array {
  const P = H * W;
  const C = perm.length;
  if (r.length !== C * P) throw new ShapeError('r', `[${r.length}]`, `[${C}·${H}·${W}] (perm.length × H × W)`);
  const seen = new Uint8Array(C);
  for (let j = 0; j < C; j++) {
    const k = perm[j];
    if (!Number.isInteger(k) || k < 0 || k >= C || seen[k])
      throw new InvalidArgumentError('perm', `element ${j} = ${k}`, `a permutation of 0..${C - 1}`);
    seen[k] = 1;
  }
  if (out instanceof Float32Array && r instanceof Float32Array) {
    for (let j = 0; j < C; j++) out.set(r.subarray(perm[j] * P, perm[j] * P + P), j * P);
  } else {
    for (let j = 0; j < C; j++) {
      const src = perm[j] * P;
      for (let p = 0; p < P; p++) out[j * P + p] = r[src + p];
    }
  }
  return out;
}

/** Brings an unclamped decoded image into [0, 1] by an affine map of its min and max (constant → 0.5). */
function minmaxInPlace(v: Float32Array, from: number, to: number): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  const span = hi - lo;
  for (let i = from; i < to; i++) v[i] = span > 0 ? (v[i] - lo) / span : 0.5;
}

/**
 * X_p of one residue with given permutations (one per duplicate): d(s(r; π_k)) for k = 1..K, concatenated along
 * channels into `out` ([3K, H, W]). The deterministic core of `protect`.
 */
export function protectResidue(
  r: Float32Array,
  perms: readonly ArrayLike<number>[],
  H: number,
  W: number,
  options: { range?: ProtectRange; codec?: DctCodec; out?: Float32Array } = {},
): Float32Array {
  const range = checkRange(options.range);
  const codec = options.codec ?? codecFor(H, W);
  const P = 3 * H * W;
  const out = options.out ?? new Float32Array(perms.length * P);
  const shuffled = new Float32Array(r.length);
  perms.forEach((perm, k) => {
    shuffleChannels(r, perm, H, W, shuffled);
    const view = out.subarray(k * P, (k + 1) * P);
    codec.decode(shuffled, view, range === 'clamp');
    if (range === 'minmax') minmaxInPlace(view, 0, P);
  });
  return out;
}

function checkRange(range: unknown): ProtectRange {
  const r = range ?? 'clamp';
  if (r !== 'clamp' && r !== 'minmax') throw new InvalidArgumentError('range', r, "'clamp' or 'minmax'");
  return r;
}

/** Validated images as one flat float32 [B, 3, H, W] batch. Accepts [3, H, W], [B, 3, H, W] or an array of [3, H, W]. */
export function imageBatch(
  images: Tensor | readonly Tensor[],
  param = 'images',
): { data: Float32Array; B: number; H: number; W: number } {
  const list: Tensor[] = Array.isArray(images) ? [...images] : [images as Tensor];
  if (list.length === 0) throw new InvalidArgumentError(param, images, 'at least one image');
  let H = -1;
  let W = -1;
  const parts: { data: Float32Array | Float64Array; n: number; name: string }[] = [];
  list.forEach((t, k) => {
    const name = Array.isArray(images) ? `${param}[${k}]` : param;
    if (!t || typeof t !== 'object' || !Array.isArray(t.shape) || !t.data)
      throw new InvalidArgumentError(name, t, 'a float32 tensor [3, H, W] or [B, 3, H, W] with values in [0, 1]');
    if (t.dtype !== 'float32' && t.dtype !== 'float64')
      throw new DTypeError(name, t.dtype, 'float32 (or float64) RGB in [0, 1]', 'Divide 8-bit pixels by 255');
    const s = t.shape;
    const rank4 = s.length === 4;
    if ((s.length !== 3 && !rank4) || s[rank4 ? 1 : 0] !== 3)
      throw new ShapeError(name, `[${s.join(', ')}]`, '[3, H, W] or [B, 3, H, W] (RGB, channels first)');
    const h = s[rank4 ? 2 : 1];
    const w = s[rank4 ? 3 : 2];
    if (!(h >= 2 && w >= 2)) throw new ShapeError(name, `[${s.join(', ')}]`, 'H, W ≥ 2');
    if (H < 0) [H, W] = [h, w];
    else if (h !== H || w !== W)
      throw new ShapeError(
        name,
        `[${s.join(', ')}]`,
        `spatial size ${H}×${W} (as ${param}[0])`,
        'Protect different sizes in separate calls',
      );
    parts.push({ data: denseData(t as Tensor<'float32' | 'float64'>), n: rank4 ? s[0] : 1, name });
  });
  const B = parts.reduce((a, p) => a + p.n, 0);
  const data = new Float32Array(B * 3 * H * W);
  let o = 0;
  for (const p of parts) {
    for (let i = 0; i < p.data.length; i++) {
      const v = p.data[i];
      if (!Number.isFinite(v)) throw new NonFiniteError(p.name, i, v);
      if (v < 0 || v > 1)
        throw new InvalidArgumentError(
          p.name,
          `element ${i} = ${v}`,
          'values in [0, 1]',
          'An image normalised to [-1, 1] must be mapped back with x·0.5 + 0.5 first',
        );
      data[o + i] = v;
    }
    o += p.data.length;
  }
  return { data, B, H, W };
}

/**
 * Protects images: float32 [3, H, W] / [B, 3, H, W] RGB in [0, 1] (an aligned face; H = W = 112 in the paper) →
 * X_p float32 [B, 3K, H, W] in [0, 1]. Sample i draws its permutation(s) from `Rng.from(seed).fork(i)` when a seed
 * is given (so `seed` reproduces every X_p of the call), else from `rng`, else from the CSPRNG.
 */
export async function protect(
  generator: GeneratorModel,
  images: Tensor | readonly Tensor[],
  options: ProtectOptions = {},
): Promise<Tensor<'float32'>> {
  if (!generator || typeof (generator as GeneratorModel).regenerate !== 'function')
    throw new InvalidArgumentError('generator', generator, 'a GeneratorModel (GeneratorModel.create(path))');
  const range = checkRange(options.range);
  const K = options.duplicates ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new InvalidArgumentError('duplicates', K, 'a positive integer');
  const bs = options.batchSize ?? 8;
  if (!Number.isInteger(bs) || bs < 1) throw new InvalidArgumentError('batchSize', bs, 'a positive integer');
  const { data, B, H, W } = imageBatch(images);
  generator.checkSize('images', H, W);
  const source = sampleSources(options, B);
  const codec = codecFor(H, W);
  const R = REP_CHANNELS * H * W;
  const P = 3 * H * W;
  const out = new Float32Array(B * K * P);
  const perm = new Int32Array(REP_CHANNELS);
  for (let start = 0; start < B; start += bs) {
    const n = Math.min(bs, B - start);
    const x = new Float32Array(n * R);
    for (let b = 0; b < n; b++)
      codec.encode(data.subarray((start + b) * P, (start + b + 1) * P), x.subarray(b * R, (b + 1) * R));
    const xr = await generator.regenerate(x, n, H, W);
    const r = new Float32Array(R);
    for (let b = 0; b < n; b++) {
      const xi = x.subarray(b * R, (b + 1) * R);
      residue(xi, xr.subarray(b * R, (b + 1) * R), r);
      const rng = source(start + b);
      const perms: Int32Array[] = [];
      for (let k = 0; k < K; k++) perms.push(drawPermutation(rng, REP_CHANNELS, k === 0 ? perm : undefined));
      protectResidue(r, perms, H, W, { range, codec, out: out.subarray((start + b) * K * P, (start + b + 1) * K * P) });
    }
  }
  return tensor(out, [B, 3 * K, H, W]);
}
