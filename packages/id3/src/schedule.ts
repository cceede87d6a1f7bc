/**
 * Noise schedules (spec `id3.md` §2.2, §2.5, §4): β_t for t = 1..T, α_t = 1 − β_t, ᾱ_t = ∏_{s≤t} α_s, plus the
 * sub-sequence of steps a sampler visits and the ID-term weight w(t).
 *
 * Index convention used everywhere in this package: arrays are indexed k = t − 1 ∈ 0..T−1, so `alphaBars[k]` is
 * ᾱ_{k+1} (the paper's t = k + 1). What the *network* sees as its `t` input is the model contract's business
 * (`tConvention` in model.ts): 'index' feeds k (0..T−1, the spec's default), 'step' feeds t = k + 1.
 *
 * - linear (DDPM, the spec's [INFERRED] default): β linearly from betaStart = 1e-4 to betaEnd = 0.02.
 * - cosine (Nichol & Dhariwal 2021): ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s) · π/2), s = 0.008, each β
 *   clipped to at most 0.999.
 */
import { InvalidArgumentError } from '@trustvision/core-tensor';
import { checkInt, checkNumber } from './validate.js';

export type ScheduleKind = 'linear' | 'cosine';

export interface ScheduleOptions {
  /** 'linear' (default) or 'cosine'. */
  kind?: ScheduleKind;
  /** Number of diffusion steps T (default 1000, spec §4 [READ]). */
  T?: number;
  /** Linear schedule: first and last β (defaults 1e-4 and 0.02). */
  betaStart?: number;
  betaEnd?: number;
  /** Cosine schedule offset s (default 0.008). */
  cosineOffset?: number;
}

export interface NoiseSchedule {
  readonly kind: ScheduleKind;
  readonly T: number;
  /** [T] β_{k+1}, float64. */
  readonly betas: Float64Array;
  /** [T] ᾱ_{k+1}, float64. */
  readonly alphaBars: Float64Array;
  /** The parameters the schedule was built from (for configs and cards). */
  readonly options: Required<ScheduleOptions>;
}

/** Largest β of the cosine schedule (as in Nichol & Dhariwal). */
export const COSINE_MAX_BETA = 0.999;

/** Builds a noise schedule (see the module comment). */
export function makeSchedule(options: ScheduleOptions = {}): NoiseSchedule {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('schedule', options, 'an object');
  const kind = options.kind ?? 'linear';
  if (kind !== 'linear' && kind !== 'cosine')
    throw new InvalidArgumentError('schedule.kind', kind, "'linear' or 'cosine'");
  const T = checkInt('schedule.T', options.T ?? 1000, 1, 100_000);
  const betaStart = checkNumber('schedule.betaStart', options.betaStart ?? 1e-4, 0, 1);
  const betaEnd = checkNumber('schedule.betaEnd', options.betaEnd ?? 0.02, 0, 1);
  const cosineOffset = checkNumber('schedule.cosineOffset', options.cosineOffset ?? 0.008, 0, 1);
  if (kind === 'linear') {
    if (!(betaStart > 0)) throw new InvalidArgumentError('schedule.betaStart', betaStart, 'a number in (0, 1)');
    if (!(betaEnd < 1) || betaEnd < betaStart)
      throw new InvalidArgumentError('schedule.betaEnd', betaEnd, `a number in [betaStart, 1) = [${betaStart}, 1)`);
  }
  const betas = new Float64Array(T);
  if (kind === 'linear') {
    for (let k = 0; k < T; k++) betas[k] = T === 1 ? betaStart : betaStart + ((betaEnd - betaStart) * k) / (T - 1);
  } else {
    const f = (t: number) => Math.cos(((t / T + cosineOffset) / (1 + cosineOffset)) * (Math.PI / 2)) ** 2;
    const f0 = f(0);
    for (let k = 0; k < T; k++) betas[k] = Math.min(COSINE_MAX_BETA, 1 - f(k + 1) / f0 / (f(k) / f0));
  }
  const alphaBars = new Float64Array(T);
  let prod = 1;
  for (let k = 0; k < T; k++) alphaBars[k] = prod *= 1 - betas[k];
  return { kind, T, betas, alphaBars, options: { kind, T, betaStart, betaEnd, cosineOffset } };
}

/**
 * The S step indices a sampler visits, from noisiest to cleanest: k_i = round(i·(T−1)/(S−1)) for i = S−1..0 (so the
 * first is T−1 and the last 0; S = T visits every step). S = 1 visits only T−1.
 */
export function samplingSteps(T: number, steps: number): Int32Array {
  checkInt('T', T, 1);
  const S = checkInt('steps', steps, 1, T);
  const out = new Int32Array(S);
  for (let i = 0; i < S; i++) {
    const j = S - 1 - i;
    out[i] = S === 1 ? T - 1 : Math.round((j * (T - 1)) / (S - 1));
  }
  return out;
}

/**
 * The ID-term weight of the spec (§2.3, [READ] with the minus signs reinstated): w(t) = 0.5·(1 − 1/(1 + exp(−t/T))),
 * t = 1..T (0.25 near t = 0, ≈ 0.134 at t = T).
 */
export function id3Weight(t: number, T: number): number {
  return 0.5 * (1 - 1 / (1 + Math.exp(-t / T)));
}
