import { describe, expect, test } from '@jest/globals';
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';
import { angle, normalize, slerp } from '../src/index.js';
import { SLERP_GOLDEN } from './fixtures/slerp_golden.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const l2 = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('slerp', () => {
  test('hand-calculated: halfway between two orthogonal axes', () => {
    const p = slerp(Float64Array.of(1, 0, 0), Float64Array.of(0, 1, 0), 0.5);
    expect(p).toBeInstanceOf(Float64Array);
    expect(maxAbsDiff(p, [Math.SQRT1_2, Math.SQRT1_2, 0])).toBeLessThan(1e-15);
    const q = slerp(Float64Array.of(1, 0), Float64Array.of(0, 1), 1 / 3); // 30 degrees
    expect(maxAbsDiff(q, [Math.sqrt(3) / 2, 0.5])).toBeLessThan(1e-15);
  });

  test.each(SLERP_GOLDEN.map((g, i) => [i, g] as const))('numpy golden #%i', (_i, g) => {
    const a = Float64Array.from(g.a);
    const b = Float64Array.from(g.b);
    const p = slerp(a, b, g.t);
    expect(maxAbsDiff(p, g.p)).toBeLessThan(1e-12);
    // invariants: unit norm, angle to a is t·θ, angle to b is (1−t)·θ
    expect(Math.abs(l2(p) - 1)).toBeLessThan(1e-14);
    expect(Math.abs(angle(a, b) - g.theta)).toBeLessThan(1e-12);
    expect(Math.abs(angle(p, a) - g.t * g.theta)).toBeLessThan(1e-12);
    expect(Math.abs(angle(p, b) - (1 - g.t) * g.theta)).toBeLessThan(1e-12);
  });

  test('endpoints: t = 0 gives a, t = 1 gives b', () => {
    const g = SLERP_GOLDEN[0];
    const a = Float64Array.from(g.a);
    const b = Float64Array.from(g.b);
    expect(maxAbsDiff(slerp(a, b, 0), a)).toBeLessThan(1e-15);
    expect(maxAbsDiff(slerp(a, b, 1), b)).toBeLessThan(1e-15);
  });

  test('Float32Array in, Float32Array out, unit norm to float32 precision', () => {
    const g = SLERP_GOLDEN[2];
    const a = Float32Array.from(g.a);
    const b = Float32Array.from(g.b);
    const p = slerp(a, b, g.t);
    expect(p).toBeInstanceOf(Float32Array);
    expect(Math.abs(l2(p) - 1)).toBeLessThan(1e-6);
    expect(maxAbsDiff(p, g.p)).toBeLessThan(1e-6);
  });

  test('degenerate: a = b gives a for every t', () => {
    const a = normalize(Float64Array.of(1, 2, 3, 4));
    for (const t of [0, 0.3, 0.9, 1]) expect(maxAbsDiff(slerp(a, a, t), a)).toBeLessThan(1e-15);
  });

  test('degenerate: a = -b stays a unit vector at angle t·π from a', () => {
    const a = normalize(Float64Array.of(1, 2, 3, 4));
    const b = Float64Array.from(a, (x) => -x);
    for (const t of [0, 0.25, 0.5, 0.9, 1]) {
      const p = slerp(a, b, t);
      expect(Math.abs(l2(p) - 1)).toBeLessThan(1e-14);
      expect(Math.abs(angle(p, a) - t * Math.PI)).toBeLessThan(1e-7);
    }
    // the orthogonal direction is the axis with the smallest |a_j| (here axis 0), so t = 1/2 lands in span(a, e0)
    const mid = slerp(a, b, 0.5);
    expect(Math.abs(dot(mid, a))).toBeLessThan(1e-15);
    expect(mid[0]).toBeGreaterThan(0);
    expect(() => slerp(Float64Array.of(1), Float64Array.of(-1), 0.5)).toThrow(InvalidArgumentError);
  });

  test('nearly parallel and nearly antipodal inputs stay accurate', () => {
    const a = Float64Array.of(1, 0, 0);
    const eps = 1e-9;
    const near = Float64Array.of(Math.cos(eps), Math.sin(eps), 0);
    const p = slerp(a, near, 0.5);
    expect(maxAbsDiff(p, [Math.cos(eps / 2), Math.sin(eps / 2), 0])).toBeLessThan(1e-16);
    const anti = Float64Array.of(-Math.cos(eps), Math.sin(eps), 0); // θ = π − eps
    const q = slerp(a, anti, 0.5);
    const half = (Math.PI - eps) / 2;
    expect(maxAbsDiff(q, [Math.cos(half), Math.sin(half), 0])).toBeLessThan(1e-7);
  });

  test('validates its inputs with typed errors', () => {
    const a = Float64Array.of(1, 0);
    const b = Float64Array.of(0, 1);
    expect(() => slerp([1, 0] as never, b, 0.5)).toThrow(DTypeError);
    expect(() => slerp(a, Float64Array.of(0, 1, 0), 0.5)).toThrow(ShapeError);
    expect(() => slerp(a, Float64Array.of(0, NaN), 0.5)).toThrow(NonFiniteError);
    expect(() => slerp(a, b, Infinity)).toThrow(NonFiniteError);
    expect(() => slerp(a, Float64Array.of(0, 2), 0.5)).toThrow(InvalidArgumentError);
    expect(() => slerp(new Float64Array(0), new Float64Array(0), 0.5)).toThrow(ShapeError);
  });
});

describe('normalize', () => {
  test('scales to unit norm and keeps the type', () => {
    const v = normalize(Float32Array.of(3, 4));
    expect(v).toBeInstanceOf(Float32Array);
    expect(Array.from(v)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    const big = normalize(Float64Array.of(3e200, 4e200)); // no overflow in the norm
    expect(maxAbsDiff(big, [0.6, 0.8])).toBeLessThan(1e-15);
    expect(() => normalize(new Float64Array(3))).toThrow(InvalidArgumentError);
  });
});
