/**
 * Spherical linear interpolation on the unit hypersphere, the rotation at the heart of SlerpFace (spec
 * `slerpface.md` §A.3 step 2): p = [sin((1−t)θ)·â + sin(tθ)·b̂] / sin θ with θ = ∠(â, b̂), so that ‖p‖ = 1,
 * ∠(p, â) = t·θ and ∠(p, b̂) = (1−t)·θ.
 *
 * All arithmetic is in float64. The result is computed in the equivalent, better-conditioned form
 * p = cos(tθ)·â + sin(tθ)·u with u = (b̂ − cos θ·â)/‖b̂ − cos θ·â‖ and θ = atan2(‖b̂ − cos θ·â‖, cos θ), which needs no
 * division by sin θ. The reference code has no guard for sin θ = 0; here the two degenerate cases are handled:
 * - â ≈ b̂ (θ ≈ 0): every point of the arc is â, and the result is the normalised lerp of â and b̂ (its limit);
 * - â ≈ −b̂ (θ ≈ π): the arc is not unique. The rotation is taken in the plane of â and a fixed unit vector
 *   orthogonal to â (the coordinate axis with the smallest |â_j|, made orthogonal to â), so the result is still a
 *   unit vector at angle t·π from â. This is a convention, deterministic for a given â.
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

export type FloatVector = Float32Array | Float64Array;

/** How far ‖v‖ may be from 1 for `slerp` to accept v as a unit vector. */
export const UNIT_NORM_TOLERANCE = 1e-4;
/** Below this value of sin θ (after normalisation) the arc is treated as degenerate (θ ≈ 0 or θ ≈ π). */
export const DEGENERATE_SIN = 1e-12;

function checkVector(param: string, v: unknown): asserts v is FloatVector {
  if (!(v instanceof Float32Array) && !(v instanceof Float64Array)) {
    throw new DTypeError(param, v, 'float32 or float64 (a Float32Array or Float64Array)');
  }
  if (v.length === 0) throw new ShapeError(param, '[0]', '[d] with d >= 1');
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new NonFiniteError(param, i, v[i]);
}

function norm(v: ArrayLike<number>): number {
  // scaled sum of squares: no overflow or underflow for extreme magnitudes
  let scale = 0;
  for (let i = 0; i < v.length; i++) scale = Math.max(scale, Math.abs(v[i]));
  if (scale === 0) return 0;
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] / scale;
    s += x * x;
  }
  return scale * Math.sqrt(s);
}

function like<T extends FloatVector>(v: T, n: number): T {
  return (v instanceof Float32Array ? new Float32Array(n) : new Float64Array(n)) as T;
}

/** Returns v / ‖v‖ as a new array of the same type. Throws for a zero vector. */
export function normalize<T extends FloatVector>(v: T): T {
  checkVector('v', v);
  const n = norm(v);
  if (n === 0)
    throw new InvalidArgumentError('v', 'a zero vector', 'a non-zero vector', 'A zero vector has no direction');
  const out = like(v, v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / n;
  return out;
}

/** The angle between a and b in radians, in [0, π] (computed with atan2, accurate near 0 and π). */
export function angle(a: FloatVector, b: FloatVector): number {
  checkVector('a', a);
  checkVector('b', b);
  if (a.length !== b.length) throw new ShapeError('b', `[${b.length}]`, `[${a.length}] (the shape of a)`);
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) throw new InvalidArgumentError(na === 0 ? 'a' : 'b', 'a zero vector', 'a non-zero vector');
  let c = 0;
  for (let i = 0; i < a.length; i++) c += (a[i] / na) * (b[i] / nb);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const w = b[i] / nb - c * (a[i] / na);
    s += w * w;
  }
  return Math.atan2(Math.sqrt(s), c);
}

function checkUnit(param: string, v: FloatVector): number {
  const n = norm(v);
  if (!(Math.abs(n - 1) <= UNIT_NORM_TOLERANCE)) {
    throw new InvalidArgumentError(
      param,
      `a vector of norm ${n}`,
      `a unit vector (norm 1 ± ${UNIT_NORM_TOLERANCE})`,
      'Call normalize() first',
    );
  }
  return n;
}

/**
 * Slerp from unit vector `a` (t = 0) to unit vector `b` (t = 1). Returns a new unit vector of `a`'s type with
 * ∠(result, a) = t·θ. `t` outside [0, 1] extrapolates along the same great circle.
 */
export function slerp<T extends FloatVector>(a: T, b: FloatVector, t: number): T {
  checkVector('a', a);
  checkVector('b', b);
  if (a.length !== b.length) throw new ShapeError('b', `[${b.length}]`, `[${a.length}] (the shape of a)`);
  if (typeof t !== 'number') throw new InvalidArgumentError('t', t, 'a finite number, usually in [0, 1]');
  if (!Number.isFinite(t)) throw new NonFiniteError('t', 0, t);
  const na = checkUnit('a', a);
  const nb = checkUnit('b', b);
  const d = a.length;
  // work on exactly normalised float64 copies, so float32 rounding of the inputs does not bend the arc
  const ah = new Float64Array(d);
  const bh = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    ah[i] = a[i] / na;
    bh[i] = b[i] / nb;
  }
  let c = 0;
  for (let i = 0; i < d; i++) c += ah[i] * bh[i];
  const w = new Float64Array(d);
  for (let i = 0; i < d; i++) w[i] = bh[i] - c * ah[i];
  let sinTheta = norm(w);
  let theta = Math.atan2(sinTheta, c);
  const out = like(a, d);

  if (sinTheta <= DEGENERATE_SIN) {
    if (c > 0) {
      // θ ≈ 0: the normalised lerp is the limit of slerp and equals â to within rounding
      const m = new Float64Array(d);
      for (let i = 0; i < d; i++) m[i] = (1 - t) * ah[i] + t * bh[i];
      const nm = norm(m);
      for (let i = 0; i < d; i++) out[i] = nm > 0 ? m[i] / nm : ah[i];
      return out;
    }
    // θ ≈ π: pick a fixed direction orthogonal to â
    if (d === 1) {
      throw new InvalidArgumentError(
        'b',
        'the antipode of a',
        'a vector that is not -a',
        'In one dimension there is no arc between a and -a',
      );
    }
    let j = 0;
    for (let i = 1; i < d; i++) if (Math.abs(ah[i]) < Math.abs(ah[j])) j = i;
    for (let i = 0; i < d; i++) w[i] = -ah[j] * ah[i];
    w[j] += 1;
    sinTheta = norm(w);
    theta = Math.PI;
  }
  const ct = Math.cos(t * theta);
  const st = Math.sin(t * theta);
  for (let i = 0; i < d; i++) out[i] = ct * ah[i] + st * (w[i] / sinTheta);
  return out;
}
