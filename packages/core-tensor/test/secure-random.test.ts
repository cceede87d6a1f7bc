import { describe, expect, test } from '@jest/globals';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import { InvalidArgumentError } from '../src/errors.js';
import { SecureRandom, secureRandom } from '../src/secure-random.js';

describe('SecureRandom (platform CSPRNG)', () => {
  test('int(n) is uniform on [0, n): chi-square over 20,000 draws', () => {
    const s = new SecureRandom();
    const n = 7;
    const counts = new Array(n).fill(0);
    const draws = 20000;
    for (let i = 0; i < draws; i++) {
      const x = s.int(n);
      expect(Number.isInteger(x) && x >= 0 && x < n).toBe(true);
      counts[x]++;
    }
    const e = draws / n;
    const chi2 = counts.reduce((a, c) => a + ((c - e) * (c - e)) / e, 0);
    // 6 degrees of freedom: P(chi2 > 27.9) ≈ 1e-4
    expect(chi2).toBeLessThan(27.9);
    expect(s.int(1)).toBe(0);
  });

  test('int(2^32) covers the full 32-bit range; uint32 is a 32-bit integer', () => {
    const s = new SecureRandom();
    let max = 0;
    for (let i = 0; i < 2000; i++) max = Math.max(max, s.int(2 ** 32));
    expect(max).toBeGreaterThan(2 ** 31); // P(fail) = 2^-2000
    const u = s.uint32();
    expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
  });

  test('normals: mean 0, variance 1, symmetric tails (100,000 draws)', () => {
    const x = new SecureRandom().normalArray(100000);
    let m = 0;
    for (const v of x) m += v;
    m /= x.length;
    let v2 = 0;
    let beyond2 = 0;
    for (const v of x) {
      v2 += (v - m) * (v - m);
      if (Math.abs(v) > 1.96) beyond2++;
    }
    v2 /= x.length - 1;
    // standard errors: mean 0.0032, variance 0.0045, tail fraction 0.00069
    expect(Math.abs(m)).toBeLessThan(0.02);
    expect(Math.abs(v2 - 1)).toBeLessThan(0.03);
    expect(Math.abs(beyond2 / x.length - 0.05)).toBeLessThan(0.005);
  });

  test('normalInto fills exactly the requested range (odd lengths included)', () => {
    const out = new Float64Array(9);
    new SecureRandom().normalInto(out, 2, 5);
    expect(out[0]).toBe(0);
    expect(out[1]).toBe(0);
    for (let i = 2; i < 7; i++) expect(out[i]).not.toBe(0);
    expect(out[7]).toBe(0);
    expect(out[8]).toBe(0);
  });

  test('two sources do not repeat each other', () => {
    const a = new SecureRandom().normalArray(8);
    const b = new SecureRandom().normalArray(8);
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  test('secureRandom() is one shared instance', () => {
    expect(secureRandom()).toBe(secureRandom());
    expect(secureRandom()).toBeInstanceOf(SecureRandom);
  });

  test('bad arguments are typed errors naming the parameter', () => {
    const s = new SecureRandom();
    for (const n of [0, -1, 1.5, 2 ** 32 + 1, NaN])
      expectThrows(() => s.int(n), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'n');
    expectThrows(() => s.normalArray(-1), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'n');
    expectThrows(() => s.normalInto(new Float64Array(3), 2, 2), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'offset/n');
  });

  test('without Web Crypto: a typed error that says how to proceed', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      expectThrows(() => new SecureRandom(), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'rng');
    } finally {
      if (saved) Object.defineProperty(globalThis, 'crypto', saved);
    }
  });
});
