/**
 * Where MinusFace's channel permutations come from (spec `minusface.md` §B.2: θ is unkeyed per-sample randomness, a
 * uniformly random permutation of the 192 channels drawn fresh for every sample and never sent). Anything with
 * `int(n)` works: core-tensor's seeded `Rng` (reproducible; tests, `--seed`) or `SecureRandom` (the default when no
 * seed is given: the platform CSPRNG through Web Crypto).
 */
import { InvalidArgumentError, Rng, SecureRandom, secureRandom } from '@trustvision/core-tensor';

export interface RandomSource {
  /** A uniform integer in [0, n). */
  int(n: number): number;
}

/** The platform CSPRNG source (core-tensor's; re-exported here for MinusFace users). */
export { SecureRandom };

export interface RandomOptions {
  /**
   * A seed for core-tensor's Philox generator: sample i of a call draws its permutation(s) from `Rng.from(seed)
   * .fork(i)`, so a seed reproduces every protected image of the call, independently of batching.
   */
  seed?: number | string | bigint;
  /** An explicit source (overrides `seed`); samples draw from it in order. */
  rng?: RandomSource;
}

/** Per-sample sources for `count` samples: forks of a seeded `Rng`, or one shared source (`rng`, else the CSPRNG). */
export function sampleSources(options: RandomOptions, count: number): (i: number) => RandomSource {
  if (options.rng !== undefined) {
    const r = options.rng as Partial<RandomSource>;
    if (r === null || typeof r !== 'object' || typeof r.int !== 'function')
      throw new InvalidArgumentError('rng', options.rng, 'an object with int(n) (e.g. core-tensor Rng)');
    return () => options.rng!;
  }
  if (options.seed !== undefined) {
    const root = Rng.from(options.seed);
    const forks = new Map<number, Rng>();
    return (i) => {
      let f = forks.get(i);
      if (!f) forks.set(i, (f = root.fork(i)));
      return f;
    };
  }
  void count;
  const s = secureRandom();
  return () => s;
}

/**
 * A uniformly random permutation of 0..n−1 by forward Fisher–Yates (for i = 0..n−2 swap a[i] with a[i + int(n − i)]),
 * the order core-tensor's `Rng.permutation` uses, so a seeded `Rng` gives the same permutation either way.
 */
export function drawPermutation(rng: RandomSource, n: number, out: Int32Array = new Int32Array(n)): Int32Array {
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = 0; i < n - 1; i++) {
    const j = i + rng.int(n - i);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}
