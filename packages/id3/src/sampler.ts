/**
 * ID-preserving sampling (spec `id3.md` §2.4–2.5, Algorithm 2 reconstructed [INFERRED]) over an ONNX denoiser: DDPM
 * ancestral steps and DDIM, with the adjusted noise prediction
 *
 *   ε̃ = ε_θ(x_t, t, c) − √(1 − ᾱ_t) · κ_t · ∇_{x_t}⟨y, f(x̂_0(x_t))⟩,   κ_t = scale · w(t),
 *   w(t) = 0.5·(1 − 1/(1 + exp(−t/T)))  (the spec's weight, [READ] with the minus signs reinstated; t = 1..T)
 *
 * Guidance modes:
 *   'none'     H2 (amortised: the adjusted field is ε_θ itself, no gradient).
 *   'fr-grad'  H1 with the Jacobian-free chain of §2.5: ∇_{x_t} ≈ (1/√ᾱ_t)·∇_{x̂_0}⟨y, f(x̂_0)⟩, the second factor from
 *              the `fr_grad.onnx` graph at x̂_0 = (x_t − √(1−ᾱ_t)ε̂)/√ᾱ_t (unclipped).
 *   'guided'   H1 exact: the denoiser is the guided graph of §3.3 and returns ε̃ itself (fed ᾱ_t and κ_t per sample).
 *
 * One step from step index k (ᾱ = ᾱ_k) to the next visited index k' (ᾱ' = ᾱ_{k'}, or 1 after the last step):
 *   x̂_0 = (x_t − √(1−ᾱ)ε̃)/√ᾱ, optionally clipped to [−1, 1] (then ε̃ ← (x_t − √ᾱ x̂_0)/√(1−ᾱ));
 *   DDPM (ancestral; with S < T steps the respaced chain β' = 1 − ᾱ/ᾱ'):
 *     μ = (√ᾱ' β'/(1−ᾱ))·x̂_0 + (√(1−β')(1−ᾱ')/(1−ᾱ))·x_t  (= (1/√α)(x_t − β/√(1−ᾱ)·ε̃) without clipping),
 *     x' = μ + σ z,  σ² = β̃ = β'(1−ᾱ')/(1−ᾱ) ('posterior', default) or β' ('beta'); no noise on the last step.
 *   DDIM (Song et al. 2021): σ = η·√((1−ᾱ')/(1−ᾱ))·√(1 − ᾱ/ᾱ'),
 *     x' = √ᾱ' x̂_0 + √(1 − ᾱ' − σ²)·ε̃ + σ z   (η = 0: deterministic).
 *
 * Randomness: sample b draws its start x_T and every step's z from its own stream `rngs[b]` (C·H·W normals each, in
 * this order), so a sample depends only on its own seed, never on the batch it runs in. Latents live on the host as
 * float32 (ONNX Runtime's CPU sessions read them in place); step arithmetic is in float64 per element.
 */
import { InvalidArgumentError, NonFiniteError, Rng, ShapeError } from '@trustvision/core-tensor';
import type { Condition, Denoiser, FrGradient } from './model.js';
import { id3Weight, samplingSteps, type NoiseSchedule } from './schedule.js';
import { checkInt, checkNumber } from './validate.js';

export type SamplerKind = 'ddpm' | 'ddim';
export type GuidanceMode = 'none' | 'fr-grad' | 'guided';

/** κ_t = scale · weight(t, T); t = 1..T. */
export interface GuidanceOptions {
  mode?: GuidanceMode;
  /** The FR-gradient graph (mode 'fr-grad'). */
  frGrad?: FrGradient;
  /** Guidance scale γ ≥ 0 (default 1). */
  scale?: number;
  /** The weight schedule w(t, T): 'id3' (default, the spec's), 'constant' (1) or a function. */
  weight?: 'id3' | 'constant' | ((t: number, T: number) => number);
}

export interface SampleOptions {
  /** 'ddpm' (ancestral, default) or 'ddim'. */
  sampler?: SamplerKind;
  /** Steps S (default T, i.e. every step). */
  steps?: number;
  /** DDIM η (default 0: deterministic). */
  eta?: number;
  /** DDPM variance: 'posterior' β̃ (default) or 'beta'. */
  variance?: 'posterior' | 'beta';
  /** Clip x̂_0 to [−1, 1] at every step (default false). */
  clipX0?: boolean;
  guidance?: GuidanceOptions;
  /** A schedule to use instead of the denoiser's (it must have the same T). */
  schedule?: NoiseSchedule;
  /** Called after every step with (steps done, S). */
  onStep?: (done: number, total: number) => void;
}

export interface SampleInput {
  /** [B, d] unit identity embeddings, row-major. */
  embeddings: Float32Array;
  /** [B, 4] encoded attributes (`encodeAttributes`), row-major. */
  attributes: Float32Array;
  /** One random stream per sample (B of them). */
  rngs: readonly Rng[];
  /** Optional start x_T [B, C, H, W] instead of drawing it (the streams still drive the steps' noise). */
  xT?: Float32Array;
}

export interface SampleResult {
  /** [B, C, H, W] float32 in the data scale (≈ [−1, 1]). */
  images: Float32Array;
  shape: [number, number, number, number];
  /** Steps visited (indices k, noisiest first). */
  steps: Int32Array;
}

function weightFn(w: GuidanceOptions['weight']): (t: number, T: number) => number {
  if (w === undefined || w === 'id3') return id3Weight;
  if (w === 'constant') return () => 1;
  if (typeof w === 'function') return w;
  throw new InvalidArgumentError('guidance.weight', w, "'id3', 'constant' or a function (t, T) => number");
}

/** Checks the options once; returns the resolved values. */
export function resolveSampleOptions(denoiser: Denoiser, options: SampleOptions = {}) {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', options, 'an object');
  const schedule = options.schedule ?? denoiser.schedule;
  const T = schedule.T;
  if (T !== denoiser.contract.T)
    throw new InvalidArgumentError('schedule.T', T, `the denoiser's T = ${denoiser.contract.T}`);
  const sampler = options.sampler ?? 'ddpm';
  if (sampler !== 'ddpm' && sampler !== 'ddim') throw new InvalidArgumentError('sampler', sampler, "'ddpm' or 'ddim'");
  const steps = checkInt('steps', options.steps ?? T, 1, T);
  const eta = checkNumber('eta', options.eta ?? 0, 0, 1);
  const variance = options.variance ?? 'posterior';
  if (variance !== 'posterior' && variance !== 'beta')
    throw new InvalidArgumentError('variance', variance, "'posterior' or 'beta'");
  const g = options.guidance ?? {};
  if (g === null || typeof g !== 'object') throw new InvalidArgumentError('guidance', g, 'an object');
  const mode: GuidanceMode = g.mode ?? (denoiser.guided ? 'guided' : g.frGrad ? 'fr-grad' : 'none');
  if (mode !== 'none' && mode !== 'fr-grad' && mode !== 'guided')
    throw new InvalidArgumentError('guidance.mode', mode, "'none', 'fr-grad' or 'guided'");
  if (mode === 'guided' && !denoiser.guided)
    throw new InvalidArgumentError('guidance.mode', mode, "'none' or 'fr-grad' (the denoiser is not a guided graph)");
  if (mode !== 'guided' && denoiser.guided)
    throw new InvalidArgumentError('guidance.mode', mode, "'guided' (the denoiser is a guided graph, §3.3)");
  if (mode === 'fr-grad') {
    if (!g.frGrad) throw new InvalidArgumentError('guidance.frGrad', g.frGrad, "an FrGradient (mode 'fr-grad')");
    g.frGrad.checkAgainst(denoiser.contract);
  }
  const scale = checkNumber('guidance.scale', g.scale ?? 1, 0, 1e6);
  const weight = weightFn(g.weight);
  if (options.onStep !== undefined && typeof options.onStep !== 'function')
    throw new InvalidArgumentError('onStep', options.onStep, 'a function');
  return {
    schedule,
    T,
    sampler,
    steps,
    eta,
    variance,
    mode,
    frGrad: g.frGrad,
    scale,
    weight,
    clipX0: !!options.clipX0,
  };
}

/**
 * Samples B images (see the module comment). `input.embeddings` [B, d] and `input.attributes` [B, 4] condition sample
 * b; `input.rngs[b]` is its noise stream.
 */
export async function sample(
  denoiser: Denoiser,
  input: SampleInput,
  options: SampleOptions = {},
): Promise<SampleResult> {
  const o = resolveSampleOptions(denoiser, options);
  const c = denoiser.contract;
  if (input === null || typeof input !== 'object') throw new InvalidArgumentError('input', input, 'an object');
  if (!Array.isArray(input.rngs) || input.rngs.length < 1 || !input.rngs.every((r) => r instanceof Rng))
    throw new InvalidArgumentError('input.rngs', input.rngs, 'one core-tensor Rng per sample (B ≥ 1)');
  const B = input.rngs.length;
  const d = c.embeddingDim;
  if (!(input.embeddings instanceof Float32Array) || input.embeddings.length !== B * d)
    throw new ShapeError('input.embeddings', input.embeddings?.length, `a Float32Array [${B}, ${d}]`);
  if (!(input.attributes instanceof Float32Array) || input.attributes.length !== B * c.attributes)
    throw new ShapeError('input.attributes', input.attributes?.length, `a Float32Array [${B}, ${c.attributes}]`);
  for (let i = 0; i < input.embeddings.length; i++)
    if (!Number.isFinite(input.embeddings[i])) throw new NonFiniteError('input.embeddings', i, input.embeddings[i]);
  for (let i = 0; i < input.attributes.length; i++)
    if (!Number.isFinite(input.attributes[i])) throw new NonFiniteError('input.attributes', i, input.attributes[i]);
  const n = denoiser.imageSize;
  const shape: [number, number, number, number] = [B, c.channels, c.height, c.width];
  const x = new Float32Array(B * n);
  if (input.xT !== undefined) {
    if (!(input.xT instanceof Float32Array) || input.xT.length !== B * n)
      throw new ShapeError('input.xT', input.xT?.length, `a Float32Array [${shape.join(', ')}]`);
    x.set(input.xT);
  } else for (let b = 0; b < B; b++) x.set(input.rngs[b].normalFloat32(n), b * n);
  const cond: Condition = { embeddings: input.embeddings, attributes: input.attributes };
  const ks = samplingSteps(o.T, o.steps);
  const ab = o.schedule.alphaBars;
  const tIdx = new Int32Array(B);
  const guide = o.mode === 'guided' ? { alphaBar: new Float32Array(B), scale: new Float32Array(B) } : undefined;
  for (let s = 0; s < ks.length; s++) {
    const k = ks[s];
    const a = ab[k];
    const aPrev = s + 1 < ks.length ? ab[ks[s + 1]] : 1;
    const last = s + 1 === ks.length;
    const kappa = o.scale * o.weight(k + 1, o.T);
    if (!Number.isFinite(kappa)) throw new NonFiniteError('guidance.weight(t, T)', k + 1, kappa);
    tIdx.fill(k);
    if (guide) {
      guide.alphaBar.fill(a);
      guide.scale.fill(kappa);
    }
    const eps = await denoiser.run(x, tIdx, cond, guide);
    const sa = Math.sqrt(a);
    const s1a = Math.sqrt(1 - a);
    if (o.mode === 'fr-grad' && kappa !== 0) {
      const x0 = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) x0[i] = (x[i] - s1a * eps[i]) / sa;
      const g = await o.frGrad!.run(x0, input.embeddings, shape, d);
      const f = (s1a * kappa) / sa; // √(1−ᾱ)·κ·(1/√ᾱ)
      for (let i = 0; i < x.length; i++) eps[i] -= f * g[i];
    }
    for (let i = 0; i < eps.length; i++)
      if (!Number.isFinite(eps[i])) throw new NonFiniteError(`eps at step t = ${k + 1}`, i, eps[i]);
    // the update
    if (o.sampler === 'ddpm') {
      const beta = 1 - a / aPrev;
      const c0 = (Math.sqrt(aPrev) * beta) / (1 - a);
      const ct = (Math.sqrt(1 - beta) * (1 - aPrev)) / (1 - a);
      const sigma = last ? 0 : Math.sqrt(o.variance === 'posterior' ? (beta * (1 - aPrev)) / (1 - a) : beta);
      for (let b = 0; b < B; b++) {
        const z = sigma > 0 ? input.rngs[b].normalFloat32(n) : undefined;
        for (let i = b * n, j = 0; j < n; i++, j++) {
          let x0 = (x[i] - s1a * eps[i]) / sa;
          if (o.clipX0) x0 = x0 < -1 ? -1 : x0 > 1 ? 1 : x0;
          x[i] = c0 * x0 + ct * x[i] + (z ? sigma * z[j] : 0);
        }
      }
    } else {
      const sigma = last ? 0 : o.eta * Math.sqrt((1 - aPrev) / (1 - a)) * Math.sqrt(1 - a / aPrev);
      const dirCoef = Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma));
      const sap = Math.sqrt(aPrev);
      for (let b = 0; b < B; b++) {
        const z = sigma > 0 ? input.rngs[b].normalFloat32(n) : undefined;
        for (let i = b * n, j = 0; j < n; i++, j++) {
          let x0 = (x[i] - s1a * eps[i]) / sa;
          let e = eps[i];
          if (o.clipX0 && (x0 < -1 || x0 > 1)) {
            x0 = x0 < -1 ? -1 : 1;
            e = (x[i] - sa * x0) / s1a;
          }
          x[i] = sap * x0 + dirCoef * e + (z ? sigma * z[j] : 0);
        }
      }
    }
    options.onStep?.(s + 1, ks.length);
  }
  return { images: x, shape, steps: ks };
}

/** float32 [C, H, W] in [−1, 1] → 8-bit HWC pixels: round((x + 1)·127.5), clamped to 0..255. */
export function toPixels(x: Float32Array, offset: number, channels: number, height: number, width: number): Uint8Array {
  const hw = height * width;
  const out = new Uint8Array(hw * channels);
  for (let c = 0; c < channels; c++)
    for (let p = 0; p < hw; p++) {
      const v = Math.round((x[offset + c * hw + p] + 1) * 127.5);
      out[p * channels + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  return out;
}
