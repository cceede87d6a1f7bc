/**
 * Attributes (intra-class diversity, spec `id3.md` §2.6 step 3): age and head pose (pitch, yaw, roll) per image, drawn
 * independently from configurable distributions. The attributes and their ranges — age in [0, 100] years, angles in
 * [−90°, 90°] — are [READ]; the distributions (the paper plots FFHQ's, and compares pose-only variants) and the
 * encoding are [INFERRED].
 *
 * Distributions (each attribute independently):
 *   { kind: 'uniform', low, high }                      U[low, high]
 *   { kind: 'truncnormal', mean, std, low, high }       N(mean, std²) restricted to [low, high] (rejection sampling;
 *                                                       the window must hold at least 1e-3 of the normal's mass)
 *   { kind: 'table', edges: [e0..eB], weights: [w1..wB] } an empirical histogram: bin b (edges e_{b−1}..e_b) with
 *                                                       probability ∝ w_b, then uniform inside the bin
 *   { kind: 'constant', value }                          always `value` (e.g. a pose-only variant with fixed age)
 * Defaults: age U[0, 100], pitch, yaw and roll U[−90, 90].
 *
 * Encoding contract (spec §3.1, the denoiser's `attributes` input, float32 [B, 4]):
 *   [age / 100, pitch / 90, yaw / 90, roll / 90]   (age in years, angles in degrees; so age ∈ [0, 1], angles ∈ [−1, 1])
 */
import { InvalidArgumentError, NonFiniteError, Rng, ShapeError } from '@trustvision/core-tensor';
import { checkInt, checkSeed } from './validate.js';

export type AttributeDistribution =
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'truncnormal'; mean: number; std: number; low: number; high: number }
  | { kind: 'table'; edges: ArrayLike<number>; weights: ArrayLike<number> }
  | { kind: 'constant'; value: number };

/** Attribute order in every array this module returns and in the encoding. */
export const ATTRIBUTE_NAMES = ['age', 'pitch', 'yaw', 'roll'] as const;
export type AttributeName = (typeof ATTRIBUTE_NAMES)[number];

/** The valid range of each attribute (age in years, angles in degrees). */
export const ATTRIBUTE_RANGES: Readonly<Record<AttributeName, readonly [number, number]>> = {
  age: [0, 100],
  pitch: [-90, 90],
  yaw: [-90, 90],
  roll: [-90, 90],
};

/** Scale of each attribute in the encoding (value / scale). */
export const ATTRIBUTE_SCALES: Readonly<Record<AttributeName, number>> = { age: 100, pitch: 90, yaw: 90, roll: 90 };

export type AttributeConfig = Partial<Record<AttributeName, AttributeDistribution>>;

export interface AttributeOptions {
  /** Distribution per attribute; missing ones use the defaults (uniform over the valid range). */
  distributions?: AttributeConfig;
  /** Seed (core-tensor `Rng.from`; default 0). */
  seed?: number | string | bigint;
}

export interface AttributeResult {
  /** [N, m, 4] float64, row-major, in ATTRIBUTE_NAMES order, raw units (years, degrees). */
  values: Float64Array;
  shape: [number, number, 4];
}

/** Smallest share of a truncated normal's mass that may lie in [low, high]. */
export const MIN_TRUNCATED_MASS = 1e-3;

type Sampler = (rng: Rng) => number;

/** Standard normal CDF via erfc (Chebyshev fit, relative error below 1.2e-7; used only to check the mass). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
}

function finite(param: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new InvalidArgumentError(param, v, 'a number');
  if (!Number.isFinite(v)) throw new NonFiniteError(param, 0, v);
  return v;
}

function inRange(param: string, v: number, [lo, hi]: readonly [number, number]): number {
  if (v < lo || v > hi) throw new InvalidArgumentError(param, v, `a number in [${lo}, ${hi}]`);
  return v;
}

/** Validates one distribution and returns its sampler. */
function samplerFor(name: AttributeName, dist: unknown): Sampler {
  const p = `distributions.${name}`;
  const range = ATTRIBUTE_RANGES[name];
  if (dist === null || typeof dist !== 'object' || !('kind' in dist))
    throw new InvalidArgumentError(
      p,
      dist,
      "an object { kind: 'uniform' | 'truncnormal' | 'table' | 'constant', ... }",
    );
  const d = dist as Record<string, unknown>;
  switch (d.kind) {
    case 'constant': {
      const v = inRange(`${p}.value`, finite(`${p}.value`, d.value), range);
      return () => v;
    }
    case 'uniform': {
      const low = inRange(`${p}.low`, finite(`${p}.low`, d.low), range);
      const high = inRange(`${p}.high`, finite(`${p}.high`, d.high), range);
      if (high < low)
        throw new InvalidArgumentError(`${p}.high`, high, `a number in [low, ${range[1]}] = [${low}, ${range[1]}]`);
      return (rng) => low + (high - low) * rng.uniform();
    }
    case 'truncnormal': {
      const mean = finite(`${p}.mean`, d.mean);
      const std = finite(`${p}.std`, d.std);
      if (!(std > 0)) throw new InvalidArgumentError(`${p}.std`, std, 'a positive number');
      const low = inRange(`${p}.low`, finite(`${p}.low`, d.low), range);
      const high = inRange(`${p}.high`, finite(`${p}.high`, d.high), range);
      if (!(high > low))
        throw new InvalidArgumentError(`${p}.high`, high, `a number in (low, ${range[1]}] = (${low}, ${range[1]}]`);
      const mass = normalCdf((high - mean) / std) - normalCdf((low - mean) / std);
      if (!(mass >= MIN_TRUNCATED_MASS))
        throw new InvalidArgumentError(
          p,
          `N(${mean}, ${std}²) with ${mass.toExponential(2)} of its mass in [${low}, ${high}]`,
          `a window holding at least ${MIN_TRUNCATED_MASS} of the mass`,
          'Use a table or uniform distribution for far tails',
        );
      return (rng) => {
        for (;;) {
          const x = mean + std * rng.normal();
          if (x >= low && x <= high) return x;
        }
      };
    }
    case 'table': {
      const edges = d.edges as ArrayLike<number> | undefined;
      const weights = d.weights as ArrayLike<number> | undefined;
      if (!edges || typeof edges.length !== 'number' || edges.length < 2)
        throw new ShapeError(`${p}.edges`, edges, '[B + 1] bin edges with B >= 1');
      if (!weights || typeof weights.length !== 'number' || weights.length !== edges.length - 1)
        throw new ShapeError(
          `${p}.weights`,
          weights ? `length ${weights.length}` : weights,
          `[${edges.length - 1}] (one weight per bin)`,
        );
      const e = Float64Array.from({ length: edges.length }, (_, i) => finite(`${p}.edges`, edges[i]));
      for (let i = 0; i < e.length; i++) {
        inRange(`${p}.edges`, e[i], range);
        if (i > 0 && !(e[i] > e[i - 1]))
          throw new InvalidArgumentError(
            `${p}.edges`,
            `edge ${i} = ${e[i]} after ${e[i - 1]}`,
            'strictly increasing edges',
          );
      }
      const cum = new Float64Array(weights.length);
      let total = 0;
      for (let b = 0; b < weights.length; b++) {
        const w = finite(`${p}.weights`, weights[b]);
        if (w < 0) throw new InvalidArgumentError(`${p}.weights`, `weight ${b} = ${w}`, 'non-negative weights');
        cum[b] = total += w;
      }
      if (!(total > 0)) throw new InvalidArgumentError(`${p}.weights`, 'all zero', 'weights with a positive sum');
      let lastPositive = cum.length - 1;
      while (cum[lastPositive] === cum[lastPositive - 1]) lastPositive--;
      return (rng) => {
        const u = rng.uniform() * total;
        let lo = 0;
        let hi = cum.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cum[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        // lo: the first bin whose cumulative weight exceeds u (never an empty bin); u rounding up to the total
        // falls back to the last non-empty bin
        if (!(cum[lo] > u)) lo = lastPositive;
        return e[lo] + (e[lo + 1] - e[lo]) * rng.uniform();
      };
    }
    default:
      throw new InvalidArgumentError(`${p}.kind`, d.kind, "'uniform', 'truncnormal', 'table' or 'constant'");
  }
}

/** Validates a configuration and returns one sampler per attribute, in ATTRIBUTE_NAMES order. */
function samplers(config: unknown): Sampler[] {
  if (config === undefined) config = {};
  if (config === null || typeof config !== 'object')
    throw new InvalidArgumentError('distributions', config, 'an object { age?, pitch?, yaw?, roll? }');
  for (const key of Object.keys(config))
    if (!(ATTRIBUTE_NAMES as readonly string[]).includes(key))
      throw new InvalidArgumentError('distributions', key, `attributes among ${ATTRIBUTE_NAMES.join(', ')}`);
  const c = config as AttributeConfig;
  return ATTRIBUTE_NAMES.map((name) => {
    const [low, high] = ATTRIBUTE_RANGES[name];
    return samplerFor(name, c[name] ?? { kind: 'uniform', low, high });
  });
}

/**
 * Attributes for N identities × m images: [N, m, 4] (age, pitch, yaw, roll) in years and degrees. Identity i draws
 * from its own stream `Rng.from(seed).split('id3-attributes', i)`, the four attributes of each image in order.
 */
export function sampleAttributes(n: number, perIdentity: number, options: AttributeOptions = {}): AttributeResult {
  checkInt('n', n, 1);
  const m = checkInt('perIdentity', perIdentity, 1);
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', options, 'an object');
  const fns = samplers(options.distributions);
  const root = Rng.from(checkSeed('seed', options.seed ?? 0));
  if (n * m * 4 > 2 ** 31 - 1)
    throw new InvalidArgumentError('perIdentity', m, `at most ${Math.floor((2 ** 31 - 1) / (4 * n))}`);
  const values = new Float64Array(n * m * 4);
  for (let i = 0; i < n; i++) {
    const rng = root.split('id3-attributes', i);
    for (let j = 0; j < m; j++) for (let a = 0; a < 4; a++) values[(i * m + j) * 4 + a] = fns[a](rng);
  }
  return { values, shape: [n, m, 4] };
}

/**
 * The attributes of identity `index` alone, [m, 4] (years, degrees): the same values as row [index] of
 * `sampleAttributes` (same stream), without the other identities.
 */
export function identityAttributes(index: number, perIdentity: number, options: AttributeOptions = {}): Float64Array {
  checkInt('index', index, 0);
  const m = checkInt('perIdentity', perIdentity, 1);
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', options, 'an object');
  const fns = samplers(options.distributions);
  const rng = Rng.from(checkSeed('seed', options.seed ?? 0)).split('id3-attributes', index);
  const values = new Float64Array(m * 4);
  for (let j = 0; j < m; j++) for (let a = 0; a < 4; a++) values[j * 4 + a] = fns[a](rng);
  return values;
}

/**
 * The denoiser's attribute input: float32 [..., 4] = [age / 100, pitch / 90, yaw / 90, roll / 90] from raw
 * [..., 4] values in ATTRIBUTE_NAMES order (years, degrees). Values outside the valid ranges are refused.
 */
export function encodeAttributes(values: ArrayLike<number>): Float32Array {
  if (values === null || typeof values !== 'object' || typeof (values as ArrayLike<number>).length !== 'number')
    throw new InvalidArgumentError('values', values, 'an array of numbers [..., 4]');
  if (values.length % 4 !== 0)
    throw new ShapeError('values', `length ${values.length}`, '[..., 4] (age, pitch, yaw, roll)');
  const out = new Float32Array(values.length);
  for (let k = 0; k < values.length; k++) {
    const name = ATTRIBUTE_NAMES[k % 4];
    const v = values[k];
    if (typeof v !== 'number' || Number.isNaN(v)) throw new InvalidArgumentError('values', v, 'numbers');
    if (!Number.isFinite(v)) throw new NonFiniteError('values', k, v);
    const [lo, hi] = ATTRIBUTE_RANGES[name];
    if (v < lo || v > hi)
      throw new InvalidArgumentError('values', `${name} = ${v} at element ${k}`, `${name} in [${lo}, ${hi}]`);
    out[k] = v / ATTRIBUTE_SCALES[name];
  }
  return out;
}
