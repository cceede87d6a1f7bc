/**
 * Where SlerpFace's randomness (keys and dropout masks) comes from. Anything with `normalArray` and `int` works:
 * core-tensor's seeded `Rng` (reproducible; tests, experiments) or `SecureRandom` (the default when no seed is given:
 * the operating system's CSPRNG through Web Crypto, available in Node ≥ 20 and browsers).
 */
import { InvalidArgumentError, Rng } from '@trustvision/core-tensor';

export interface RandomSource {
  /** n independent standard normal draws. */
  normalArray(n: number): Float64Array;
  /** Optional fast path: fills out[offset, offset + n) with standard normals (no allocation). */
  normalInto?(out: Float64Array, offset: number, n: number): void;
  /** A uniform integer in [0, n). */
  int(n: number): number;
}

interface WebCryptoLike {
  getRandomValues<T extends ArrayBufferView>(array: T): T;
}

function webCrypto(): WebCryptoLike {
  const c = (globalThis as { crypto?: WebCryptoLike }).crypto;
  if (!c || typeof c.getRandomValues !== 'function')
    throw new InvalidArgumentError(
      'rng',
      'no Web Crypto',
      'a platform with crypto.getRandomValues, or an explicit seed/rng',
      'Pass { seed } or { rng } to draw keys without a CSPRNG',
    );
  return c;
}

/** Randomness from the platform CSPRNG (`crypto.getRandomValues`), buffered. Not reproducible by design. */
export class SecureRandom implements RandomSource {
  private readonly crypto = webCrypto();
  private readonly buf = new Uint32Array(16384);
  private pos = this.buf.length;

  private next(): number {
    if (this.pos >= this.buf.length) {
      this.crypto.getRandomValues(this.buf);
      this.pos = 0;
    }
    return this.buf[this.pos++];
  }

  /**
   * Standard normals by Marsaglia's polar method on 32-bit uniforms in (−1, 1): u·√(−2 ln s / s), v·√(−2 ln s / s)
   * with s = u² + v² ∈ (0, 1). 32 bits per coordinate is ample for key directions.
   */
  normalArray(n: number): Float64Array {
    const out = new Float64Array(n);
    this.normalInto(out, 0, n);
    return out;
  }

  normalInto(out: Float64Array, offset: number, n: number): void {
    const scale = 2 / 4294967296;
    const end = offset + n;
    for (let i = offset; i < end;) {
      const u = (this.next() + 0.5) * scale - 1;
      const v = (this.next() + 0.5) * scale - 1;
      const q = u * u + v * v;
      if (q >= 1) continue;
      const f = Math.sqrt((-2 * Math.log(q)) / q);
      out[i++] = u * f;
      if (i < end) out[i++] = v * f;
    }
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new InvalidArgumentError('n', n, 'an integer in [1, 2^32]');
    // rejection sampling: no modulo bias
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.next();
      if (x < limit) return x % n;
    }
  }
}

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
  return (shared ??= new SecureRandom());
}

/** One buffered CSPRNG source per process (creating one per call would refill a 64 KiB buffer every time). */
let shared: SecureRandom | undefined;
