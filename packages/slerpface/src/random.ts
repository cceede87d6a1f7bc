/**
 * Where SlerpFace's randomness (keys and dropout masks) comes from. Anything with `normalArray` and `int` works:
 * core-tensor's seeded `Rng` (reproducible; tests, experiments) or `SecureRandom` (the default when no seed is given:
 * the operating system's CSPRNG through Web Crypto, available in Node ≥ 20 and browsers).
 */
import { InvalidArgumentError, Rng, SecureRandom, secureRandom } from '@trustvision/core-tensor';

export interface RandomSource {
  /** n independent standard normal draws. */
  normalArray(n: number): Float64Array;
  /** Optional fast path: fills out[offset, offset + n) with standard normals (no allocation). */
  normalInto?(out: Float64Array, offset: number, n: number): void;
  /** A uniform integer in [0, n). */
  int(n: number): number;
}

/** The platform CSPRNG source (core-tensor's; re-exported here for SlerpFace users). */
export { SecureRandom };

export interface RandomOptions {
  /** A seed for core-tensor's Philox generator: reproducible keys and masks (tests, experiments). */
  seed?: number | string | bigint;
  /** An explicit source (overrides `seed`). */
  rng?: RandomSource;
}

/** The source an operation should draw from: `rng`, else a seeded Philox `Rng`, else the CSPRNG. */
export function randomSource(options: RandomOptions = {}): RandomSource {
  if (options.rng !== undefined) {
    const r = options.rng as Partial<RandomSource>;
    if (typeof r?.normalArray !== 'function' || typeof r?.int !== 'function')
      throw new InvalidArgumentError('rng', options.rng, 'an object with normalArray(n) and int(n)');
    return options.rng;
  }
  if (options.seed !== undefined) return Rng.from(options.seed);
  return secureRandom();
}
