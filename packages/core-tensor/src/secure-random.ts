/**
 * Randomness that must not be reproducible (template-protection keys, per-sample permutations): the platform CSPRNG
 * through Web Crypto (`crypto.getRandomValues`, in Node ≥ 20 and browsers), buffered. It offers the same drawing
 * methods as the seeded `Rng` that packages accept in its place (`int`, `normalArray`, `normalInto`), so an operation
 * can take "a seed for experiments, the CSPRNG otherwise" with one code path.
 */
import { InvalidArgumentError } from './errors.js';

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
      'Pass { seed } or { rng } to draw without a CSPRNG',
    );
  return c;
}

/** Uniform integers and standard normals from the platform CSPRNG. Not reproducible by design. */
export class SecureRandom {
  private readonly crypto = webCrypto();
  private readonly buf = new Uint32Array(16384);
  private pos = this.buf.length;

  /** One uniform 32-bit unsigned integer. */
  uint32(): number {
    if (this.pos >= this.buf.length) {
      this.crypto.getRandomValues(this.buf);
      this.pos = 0;
    }
    return this.buf[this.pos++];
  }

  /** n independent standard normal draws. */
  normalArray(n: number): Float64Array {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('n', n, 'an integer ≥ 0');
    const out = new Float64Array(n);
    this.normalInto(out, 0, n);
    return out;
  }

  /**
   * Fills out[offset, offset + n) with standard normals by Marsaglia's polar method on 32-bit uniforms in (−1, 1):
   * u·√(−2 ln s / s), v·√(−2 ln s / s) with s = u² + v² ∈ (0, 1).
   */
  normalInto(out: Float64Array, offset: number, n: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(n) || offset < 0 || n < 0 || offset + n > out.length)
      throw new InvalidArgumentError('offset/n', `${offset}/${n}`, `a range inside the array of length ${out.length}`);
    const scale = 2 / 4294967296;
    const end = offset + n;
    for (let i = offset; i < end;) {
      const u = (this.uint32() + 0.5) * scale - 1;
      const v = (this.uint32() + 0.5) * scale - 1;
      const q = u * u + v * v;
      if (q >= 1) continue;
      const f = Math.sqrt((-2 * Math.log(q)) / q);
      out[i++] = u * f;
      if (i < end) out[i++] = v * f;
    }
  }

  /** A uniform integer in [0, n), by rejection sampling (no modulo bias). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new InvalidArgumentError('n', n, 'an integer in [1, 2^32]');
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.uint32();
      if (x < limit) return x % n;
    }
  }
}

let shared: SecureRandom | undefined;

/** The process-wide buffered CSPRNG source (creating one per call would refill a 64 KiB buffer every time). */
export function secureRandom(): SecureRandom {
  return (shared ??= new SecureRandom());
}
