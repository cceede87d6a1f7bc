/**
 * A seeded, splittable, counter-based random number generator: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11).
 *
 * - Everything is computed with 32-bit integer arithmetic (`Math.imul`, shifts, 16-bit-half products) and with
 *   correctly rounded IEEE double operations (+ − × ÷ and `Math.sqrt`), plus a logarithm implemented here from those
 *   operations, so a seed gives bit-identical numbers in Node and in every browser. `Math.random` is never used and
 *   `BigInt` only appears when a `bigint` seed is given.
 * - A stream is a 64-bit key and a 64-bit block counter; block `c` is `Philox4x32-10(counter = (c_lo, c_hi, 0, 0),
 *   key)`, four 32-bit words. The stream is the concatenation of blocks 0, 1, 2, …
 * - `split(...path)` derives a child key by hashing the parent key with the path (using Philox itself as the
 *   compression function), never from the parent's position, so `rng.split('identity', 17)` is the same stream however
 *   much was drawn from `rng`, in whatever process. `rng.split(a, b)` equals `rng.split(a).split(b)`.
 */
import { InvalidArgumentError } from './errors.js';

// ---------------------------------------------------------------------------------------------------------------
// Philox4x32-10

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const M0_HI = M0 >>> 16;
const M0_LO = M0 & 0xffff;
const M1_HI = M1 >>> 16;
const M1_LO = M1 & 0xffff;

/** High 32 bits of the 64-bit product a·b, with b given as 16-bit halves. Every partial product is < 2^32 (exact). */
function mulhi(a: number, bh: number, bl: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Ten Philox rounds on (c0, c1, c2, c3) under key (k0, k1); writes the four output words into `out[0..3]`. */
function philoxBlock(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(c0, M0_HI, M0_LO);
    const lo0 = Math.imul(c0, M0) >>> 0;
    const hi1 = mulhi(c2, M1_HI, M1_LO);
    const lo1 = Math.imul(c2, M1) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

function isUint32(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
}

/**
 * The raw Philox4x32-10 bijection: four 32-bit counter words and two 32-bit key words in, four words out. Exposed for
 * known-answer tests and for callers that want to address random blocks directly.
 */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  if (counter == null || counter.length !== 4 || !Array.from(counter).every(isUint32))
    throw new InvalidArgumentError('counter', counter, 'four unsigned 32-bit integers');
  if (key == null || key.length !== 2 || !Array.from(key).every(isUint32))
    throw new InvalidArgumentError('key', key, 'two unsigned 32-bit integers');
  const out = new Uint32Array(4);
  philoxBlock(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// key derivation

/** Root key (hex digits of π) and domain-separation words ('SEED', 'SPLT'). */
const ROOT_K0 = 0x243f6a88;
const ROOT_K1 = 0x85a308d3;
const DOMAIN_SEED = 0x53454544;
const DOMAIN_SPLIT = 0x53504c54;
const TWO32 = 4294967296;

/** Words of one path element: [1, 2, lo, hi] for a 64-bit integer, [2, length, packed UTF-16 units…] for a string. */
function encodeInt(lo: number, hi: number): number[] {
  return [1, 2, lo >>> 0, hi >>> 0];
}

function encodeString(s: string): number[] {
  const words = [2, s.length];
  for (let i = 0; i < s.length; i += 2) {
    const lo = s.charCodeAt(i);
    const hi = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    words.push((lo | (hi << 16)) >>> 0);
  }
  return words;
}

/** A safe integer as two's-complement 64-bit [lo, hi] words. */
function safeIntWords(n: number): [number, number] {
  const lo = n % TWO32;
  const hi = Math.floor(n / TWO32);
  return [lo >>> 0, hi >>> 0];
}

const scratch = new Uint32Array(4);

/** Absorbs encoded words into a key: for each pair, key ← first two words of Philox((w0, w1, j, domain), key). */
function absorb(k0: number, k1: number, words: number[], domain: number): [number, number] {
  if (words.length % 2 === 1) words.push(0);
  for (let j = 0; j < words.length; j += 2) {
    philoxBlock(words[j], words[j + 1], j >>> 1, domain, k0, k1, scratch);
    k0 = scratch[0];
    k1 = scratch[1];
  }
  return [k0, k1];
}

function encodePathElement(param: string, x: unknown): number[] {
  if (typeof x === 'string') return encodeString(x);
  if (typeof x === 'number' && Number.isSafeInteger(x)) {
    const [lo, hi] = safeIntWords(x);
    return encodeInt(lo, hi);
  }
  throw new InvalidArgumentError(param, x, 'a string or a safe integer');
}

// ---------------------------------------------------------------------------------------------------------------
// deterministic natural logarithm (only + − × ÷ on doubles, so identical on every engine)

const LN2_HI = 6.9314718036912381649e-1; // ln 2 rounded to 32 significant bits, so e·LN2_HI is exact
const LN2_LO = 1.90821492927058770002e-10; // ln 2 − LN2_HI
const SQRT2 = 1.4142135623730951;
const logView = new DataView(new ArrayBuffer(8));

/**
 * ln(x) for finite x > 0, within about one ulp, computed as e·ln2 + ln(1+f) with ln(1+f) = 2·atanh(f/(2+f)) summed as
 * a Taylor series (12 terms; |s| ≤ 0.1716 so the tail is below 2^-60). Not exported; used by the normal sampler.
 */
function detLog(x: number): number {
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54: lift subnormals into the normal range
    e = -54;
  }
  logView.setFloat64(0, x);
  const hiWord = logView.getUint32(0);
  e += ((hiWord >>> 20) & 0x7ff) - 1023;
  logView.setUint32(0, (hiWord & 0x000fffff) | 0x3ff00000);
  let m = logView.getFloat64(0); // in [1, 2)
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const f = m - 1; // exact (Sterbenz)
  const s = f / (2 + f);
  const z = s * s;
  // R = Σ_{k≥1} 2 z^k / (2k+1), Horner from the highest term
  let r = 2 / 25;
  r = 2 / 23 + z * r;
  r = 2 / 21 + z * r;
  r = 2 / 19 + z * r;
  r = 2 / 17 + z * r;
  r = 2 / 15 + z * r;
  r = 2 / 13 + z * r;
  r = 2 / 11 + z * r;
  r = 2 / 9 + z * r;
  r = 2 / 7 + z * r;
  r = 2 / 5 + z * r;
  r = 2 / 3 + z * r;
  const R = z * r;
  const hfsq = 0.5 * f * f;
  // ln(1+f) = f − hfsq + s·(hfsq + R), arranged to keep the rounding error small
  return e * LN2_HI - (hfsq - (s * (hfsq + R) + e * LN2_LO) - f);
}

/** Exposed for tests only: the engine-independent logarithm used by `normal()`. */
export const _detLogForTests = detLog;

const nextView = new DataView(new ArrayBuffer(8));

/** The largest double strictly below finite x. */
function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  nextView.setFloat64(0, x);
  let hi = nextView.getUint32(0);
  let lo = nextView.getUint32(4);
  if (x > 0) {
    if (lo === 0) hi -= 1;
    lo = (lo - 1) >>> 0;
  } else {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi += 1;
  }
  nextView.setUint32(0, hi >>> 0);
  nextView.setUint32(4, lo);
  return nextView.getFloat64(0);
}

/** The largest float32 strictly below `hi` (a finite double). */
function float32Below(hi: number): number {
  const f = Math.fround(hi);
  if (f < hi) return f;
  // f ≥ hi: step one float32 ulp down from f
  if (f === 0) return -1.401298464324817e-45;
  const v = new DataView(new ArrayBuffer(4));
  v.setFloat32(0, f);
  const bits = v.getUint32(0);
  v.setUint32(0, f > 0 ? bits - 1 : bits + 1);
  return v.getFloat32(0);
}

// ---------------------------------------------------------------------------------------------------------------
// argument checks

function checkCount(param: string, n: unknown, max = 0x7fffffff): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max)
    throw new InvalidArgumentError(param, n, `an integer in [0, ${max}]`);
  return n;
}

function checkFinite(param: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new InvalidArgumentError(param, x, 'a finite number');
  return x;
}

function checkRange(lo: unknown, hi: unknown): void {
  checkFinite('lo', lo);
  checkFinite('hi', hi);
  if (!((lo as number) < (hi as number)))
    throw new InvalidArgumentError('hi', hi, `a number greater than lo (${lo as number})`);
  if (!Number.isFinite((hi as number) - (lo as number)))
    throw new InvalidArgumentError('hi', hi, 'a number with hi − lo finite');
}

function checkNormalParams(mean: unknown, std: unknown): void {
  checkFinite('mean', mean);
  checkFinite('std', std);
  if ((std as number) < 0) throw new InvalidArgumentError('std', std, 'a finite number ≥ 0');
}

const TWO53 = 9007199254740992;
const TWO_M53 = 1 / TWO53;
const TWO_M24 = 1 / 16777216;

// ---------------------------------------------------------------------------------------------------------------
// Rng

/**
 * The JSON-safe state of an `Rng`: its key, the counter of the next block to generate, how many words of the current
 * block (block `counter − 1`) were used, and the cached second value of the last normal pair.
 */
export interface RngState {
  algorithm: 'philox4x32-10';
  version: 1;
  /** 64-bit key as [lo, hi] unsigned 32-bit words. */
  key: [number, number];
  /** 64-bit index of the next block to generate, as [lo, hi] unsigned 32-bit words. */
  counter: [number, number];
  /** Words of block `counter − 1` already used, 0..4 (4: none buffered). */
  index: number;
  /** The pending second normal deviate of a Marsaglia pair, or null. */
  spare: number | null;
}

/** Anything indexable and writable with a length: arrays and typed arrays. */
export interface MutableArrayLike<T> {
  length: number;
  [index: number]: T;
}

/** Options of `Rng.choice`. */
export interface ChoiceOptions {
  /** Sample with replacement (default false: distinct indices). */
  replace?: boolean;
}

/**
 * Seeded Philox4x32-10 generator. Create with `Rng.from(seed)`, derive independent streams with `split`/`fork`, save
 * and resume with `state()`/`Rng.fromState()`.
 */
export class Rng {
  private k0: number;
  private k1: number;
  /** index of the next block to generate (64-bit: c0 low, c1 high) */
  private c0: number;
  private c1: number;
  private readonly buf = new Uint32Array(4);
  private idx = 4;
  private spare = 0;
  private hasSpare = false;

  private constructor(k0: number, k1: number) {
    this.k0 = k0 >>> 0;
    this.k1 = k1 >>> 0;
    this.c0 = 0;
    this.c1 = 0;
  }

  /**
   * A generator from a seed: a safe integer, a bigint in [−2^63, 2^64) (integers are read as 64-bit two's complement,
   * so `from(5)` and `from(5n)` agree) or any string. The key is a hash of the seed, so nearby seeds give unrelated
   * streams.
   */
  static from(seed: number | string | bigint): Rng {
    let words: number[];
    if (typeof seed === 'string') words = encodeString(seed);
    else if (typeof seed === 'number') {
      if (!Number.isSafeInteger(seed))
        throw new InvalidArgumentError('seed', seed, 'a safe integer, a bigint or a string');
      const [lo, hi] = safeIntWords(seed);
      words = encodeInt(lo, hi);
    } else if (typeof seed === 'bigint') {
      if (seed < -(BigInt(1) << BigInt(63)) || seed >= BigInt(1) << BigInt(64))
        throw new InvalidArgumentError('seed', seed, 'a bigint in [-2^63, 2^64)');
      const u = BigInt.asUintN(64, seed);
      words = encodeInt(Number(u & BigInt(0xffffffff)), Number(u >> BigInt(32)));
    } else throw new InvalidArgumentError('seed', seed, 'a safe integer, a bigint or a string');
    const [k0, k1] = absorb(ROOT_K0, ROOT_K1, words, DOMAIN_SEED);
    return new Rng(k0, k1);
  }

  /** Resumes a generator exactly where `state()` was taken. Throws InvalidArgumentError('state') if malformed. */
  static fromState(state: RngState): Rng {
    const bad = (why: string): never => {
      throw new InvalidArgumentError('state', state, `an RngState from Rng#state() (${why})`);
    };
    if (state === null || typeof state !== 'object') bad('not an object');
    if (state.algorithm !== 'philox4x32-10' || state.version !== 1) bad('algorithm/version');
    const pair = (x: unknown) => Array.isArray(x) && x.length === 2 && x.every(isUint32);
    if (!pair(state.key)) bad('key');
    if (!pair(state.counter)) bad('counter');
    if (!Number.isInteger(state.index) || state.index < 0 || state.index > 4) bad('index');
    if (state.index < 4 && state.counter[0] === 0 && state.counter[1] === 0) bad('index without a generated block');
    if (state.spare !== null && !(typeof state.spare === 'number' && Number.isFinite(state.spare))) bad('spare');
    const r = new Rng(state.key[0], state.key[1]);
    r.c0 = state.counter[0];
    r.c1 = state.counter[1];
    if (state.index < 4) {
      // regenerate block counter − 1 to refill the buffer
      const lo = (r.c0 - 1) >>> 0;
      const hi = r.c0 === 0 ? (r.c1 - 1) >>> 0 : r.c1;
      philoxBlock(lo, hi, 0, 0, r.k0, r.k1, r.buf);
    }
    r.idx = state.index;
    if (state.spare !== null) {
      r.spare = state.spare;
      r.hasSpare = true;
    }
    return r;
  }

  /** The JSON-safe state; `Rng.fromState(rng.state())` continues with exactly the same numbers. */
  state(): RngState {
    return {
      algorithm: 'philox4x32-10',
      version: 1,
      key: [this.k0, this.k1],
      counter: [this.c0, this.c1],
      index: this.idx,
      spare: this.hasSpare ? this.spare : null,
    };
  }

  /** An independent copy at the same position. */
  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /**
   * A child stream whose key is a hash of this generator's key and `path` (strings and safe integers). It does not
   * depend on, or change, this generator's position; `split(a, b)` equals `split(a).split(b)`.
   */
  split(...path: (number | string)[]): Rng {
    if (path.length === 0) throw new InvalidArgumentError('path', path, 'at least one string or integer');
    let k0 = this.k0;
    let k1 = this.k1;
    for (let i = 0; i < path.length; i++)
      [k0, k1] = absorb(k0, k1, encodePathElement(`path[${i}]`, path[i]), DOMAIN_SPLIT);
    return new Rng(k0, k1);
  }

  /** The `index`-th child stream, identical to `split(index)` (e.g. one per worker or per sample). */
  fork(index: number): Rng {
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0)
      throw new InvalidArgumentError('index', index, 'a non-negative safe integer');
    return this.split(index);
  }

  /** A uniform unsigned 32-bit integer (the next word of the stream). */
  uint32(): number {
    if (this.idx === 4) this.refill();
    return this.buf[this.idx++];
  }

  private refill(): void {
    philoxBlock(this.c0, this.c1, 0, 0, this.k0, this.k1, this.buf);
    this.c0 = (this.c0 + 1) >>> 0;
    if (this.c0 === 0) this.c1 = (this.c1 + 1) >>> 0;
    this.idx = 0;
  }

  /**
   * A uniform double in [0, 1) with 53 random bits: (a >>> 5)·2^26 + (b >>> 6), divided by 2^53, from two words.
   * Every value is a multiple of 2^-53, so 1 is never returned.
   */
  uniform(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) * TWO_M53;
  }

  /**
   * `n` uniform doubles in [lo, hi) (default [0, 1)), each `lo + (hi − lo)·uniform()`; a value that rounds up to `hi`
   * is replaced by the largest double below `hi`.
   */
  uniformArray(n: number, lo = 0, hi = 1): Float64Array {
    checkCount('n', n);
    checkRange(lo, hi);
    const out = new Float64Array(n);
    const d = hi - lo;
    const top = nextDown(hi);
    for (let i = 0; i < n; i++) {
      const v = lo + d * this.uniform();
      out[i] = v < hi ? v : top;
    }
    return out;
  }

  /**
   * `n` uniform float32 values in [lo, hi) (default [0, 1)); each uses ONE word: (w >>> 8)·2^-24, exactly
   * representable in float32 and < 1. With a custom range, values that round up to `hi` become the float32 below it.
   */
  uniformFloat32(n: number, lo = 0, hi = 1): Float32Array {
    checkCount('n', n);
    checkRange(lo, hi);
    const out = new Float32Array(n);
    if (lo === 0 && hi === 1) {
      for (let i = 0; i < n; i++) out[i] = (this.uint32() >>> 8) * TWO_M24;
      return out;
    }
    const d = hi - lo;
    const top = float32Below(hi);
    for (let i = 0; i < n; i++) {
      const v = Math.fround(lo + d * (this.uint32() >>> 8) * TWO_M24);
      out[i] = v < hi ? v : top;
    }
    return out;
  }

  /**
   * A standard normal deviate by Marsaglia's polar method: u, v = 2·uniform() − 1 (53-bit), rejected unless
   * 0 < s = u² + v² < 1, giving u·√(−2 ln s / s) now and v·√(−2 ln s / s) on the next call. s > 0 is enforced, so
   * log(0) never occurs; the logarithm is computed in portable arithmetic so results match on every engine.
   */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * detLog(s)) / s);
      this.spare = v * f;
      this.hasSpare = true;
      return u * f;
    }
  }

  /** `n` normal deviates `mean + std·normal()`, the same sequence as `n` calls of `normal()`. */
  normalArray(n: number, mean = 0, std = 1): Float64Array {
    checkCount('n', n);
    checkNormalParams(mean, std);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** As `normalArray`, rounded to float32. */
  normalFloat32(n: number, mean = 0, std = 1): Float32Array {
    checkCount('n', n);
    checkNormalParams(mean, std);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /**
   * An unbiased integer in [0, n), 1 ≤ n ≤ 2^53, by rejection: for n ≤ 2^32 a word w is accepted when
   * w < 2^32 − (2^32 mod n) and mapped to w mod n; larger n use 53-bit draws the same way. Always consumes ≥ 1 word.
   */
  int(n: number): number {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > TWO53)
      throw new InvalidArgumentError('n', n, 'an integer in [1, 2^53]');
    return this.intUnchecked(n);
  }

  private intUnchecked(n: number): number {
    if (n <= TWO32) {
      const limit = TWO32 - (TWO32 % n);
      for (;;) {
        const w = this.uint32();
        if (w < limit) return w % n;
      }
    }
    const limit = TWO53 - (TWO53 % n);
    for (;;) {
      const w = (this.uint32() >>> 11) * TWO32 + this.uint32();
      if (w < limit) return w % n;
    }
  }

  /**
   * A uniformly random permutation of 0..n−1 by Fisher–Yates (forward: for i = 0..n−2 swap a[i] with a[i + int(n−i)]).
   * `permutation(n)` equals `choice(n, n)` from the same state.
   */
  permutation(n: number): Int32Array {
    checkCount('n', n);
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    return this.shuffle(a);
  }

  /** Shuffles an array or typed array in place with the same Fisher–Yates order as `permutation`; returns it. */
  shuffle<T extends MutableArrayLike<unknown>>(array: T): T {
    if (array === null || typeof array !== 'object' || !Number.isInteger(array.length) || array.length < 0)
      throw new InvalidArgumentError('array', array, 'an array or typed array');
    const n = array.length;
    for (let i = 0; i < n - 1; i++) {
      const j = i + this.intUnchecked(n - i);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /**
   * `k` indices from [0, n). With `replace: true`, k independent `int(n)` draws. Otherwise k distinct indices: the first
   * k entries of the forward Fisher–Yates shuffle (so an ordered uniform sample, equal to `permutation(n).slice(0, k)`
   * from the same state), in O(k) memory when k ≪ n.
   */
  choice(n: number, k: number, options: ChoiceOptions = {}): Int32Array {
    checkCount('n', n);
    checkCount('k', k);
    const replace = options?.replace ?? false;
    if (typeof replace !== 'boolean') throw new InvalidArgumentError('replace', replace, 'a boolean');
    const out = new Int32Array(k);
    if (replace) {
      if (k > 0 && n === 0) throw new InvalidArgumentError('n', n, 'at least 1 when k > 0');
      for (let i = 0; i < k; i++) out[i] = this.intUnchecked(n);
      return out;
    }
    if (k > n) throw new InvalidArgumentError('k', k, `at most n (${n}) without replacement`);
    if (n <= 4 * k || n <= 4096) {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = i;
      for (let i = 0; i < k; i++) {
        const j = i === n - 1 ? i : i + this.intUnchecked(n - i);
        out[i] = a[j];
        a[j] = a[i];
      }
      return out;
    }
    // sparse Fisher–Yates: only displaced entries are stored
    const moved = new Map<number, number>();
    for (let i = 0; i < k; i++) {
      const j = i + this.intUnchecked(n - i);
      const vj = moved.get(j) ?? j;
      const vi = moved.get(i) ?? i;
      out[i] = vj;
      moved.set(j, vi);
    }
    return out;
  }
}
