/**
 * Cap sampling of identity embeddings around an anchor (spec `id3.md` §2.6 step 2, an [INFERRED] construction):
 *   u ~ N(0, I_d);  u ← u − ⟨u, w⟩w;  u ← u / ‖u‖;  y = v·w + √(1 − v²)·u,
 * so that ⟨y, w⟩ = v exactly, ‖y‖ = 1, and the direction of y's component orthogonal to w is uniform on the unit
 * sphere of w's orthogonal complement (a standard normal projected onto a subspace is isotropic in it).
 *
 * The arithmetic is in float64 on an exactly re-normalised copy of the anchor; the result has the anchor's type.
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

/**
 * A source of independent standard normal draws: a function (`() => number`) or an object with a `normal()` method,
 * such as core-tensor's seeded `Rng` (`Rng.from(seed)`).
 */
export type NormalSampler = (() => number) | { normal(): number };

/** How far ‖anchor‖ may be from 1. */
export const ANCHOR_NORM_TOLERANCE = 1e-4;

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/**
 * Draws a unit vector y with ⟨y, anchor⟩ = `cos` whose orthogonal part points in a uniformly random direction.
 *
 * @param anchor unit vector w (Float32Array or Float64Array, d ≥ 2)
 * @param cos the target cosine v, in [−1, 1] (ID³ draws it from U[lb, ub], e.g. [0.5, 0.7])
 * @param normal standard normal source; d draws per call (more only in the measure-zero case of a draw parallel to w)
 */
export function sampleAtCosine<T extends Float32Array | Float64Array>(
  anchor: T,
  cos: number,
  normal: NormalSampler,
): T {
  if (!(anchor instanceof Float32Array) && !(anchor instanceof Float64Array)) {
    throw new DTypeError('anchor', anchor, 'float32 or float64 (a Float32Array or Float64Array)');
  }
  const d = anchor.length;
  if (d < 2)
    throw new ShapeError('anchor', `[${d}]`, '[d] with d >= 2', 'A cap needs at least one orthogonal direction');
  for (let i = 0; i < d; i++) if (!Number.isFinite(anchor[i])) throw new NonFiniteError('anchor', i, anchor[i]);
  const na = norm(anchor);
  if (!(Math.abs(na - 1) <= ANCHOR_NORM_TOLERANCE)) {
    throw new InvalidArgumentError(
      'anchor',
      `a vector of norm ${na}`,
      `a unit vector (norm 1 ± ${ANCHOR_NORM_TOLERANCE})`,
      'Normalise the anchor first',
    );
  }
  if (typeof cos !== 'number') throw new InvalidArgumentError('cos', cos, 'a number in [-1, 1]');
  if (!Number.isFinite(cos)) throw new NonFiniteError('cos', 0, cos);
  if (cos < -1 || cos > 1) throw new InvalidArgumentError('cos', cos, 'a number in [-1, 1]');
  let draw: () => number;
  if (typeof normal === 'function') draw = normal;
  else if (normal !== null && typeof normal === 'object' && typeof normal.normal === 'function')
    draw = () => normal.normal();
  else
    throw new InvalidArgumentError(
      'normal',
      normal,
      'a function returning standard normal draws, or an object with normal()',
    );

  const w = new Float64Array(d);
  for (let i = 0; i < d; i++) w[i] = anchor[i] / na;
  const out = (anchor instanceof Float32Array ? new Float32Array(d) : new Float64Array(d)) as T;
  if (cos === 1 || cos === -1) {
    for (let i = 0; i < d; i++) out[i] = cos * w[i];
    return out;
  }
  const u = new Float64Array(d);
  for (let attempt = 0; ; attempt++) {
    for (let i = 0; i < d; i++) {
      const z = draw();
      if (typeof z !== 'number' || !Number.isFinite(z)) throw new NonFiniteError('normal()', i, Number(z));
      u[i] = z;
    }
    // project out w twice (re-orthogonalisation keeps ⟨u, w⟩ at rounding level even when u is nearly parallel)
    for (let pass = 0; pass < 2; pass++) {
      let p = 0;
      for (let i = 0; i < d; i++) p += u[i] * w[i];
      for (let i = 0; i < d; i++) u[i] -= p * w[i];
    }
    const nu = norm(u);
    if (nu > 1e-8) {
      const s = Math.sqrt((1 - cos) * (1 + cos));
      for (let i = 0; i < d; i++) out[i] = cos * w[i] + (s * u[i]) / nu;
      return out;
    }
    if (attempt >= 16) {
      throw new InvalidArgumentError(
        'normal',
        'a sampler whose draws stay parallel to the anchor',
        'a standard normal sampler',
      );
    }
  }
}
