/**
 * Two-dimensional product-Gaussian kernel density estimate with statsmodels' `KDEMultivariate(var_type='cc',
 * bw='normal_reference')` semantics (spec §A3):
 *
 *   h_j = 1.06 · std_j · n^(−1/(4+q)),  q = 2  →  n^(−1/6)      (std: population, ddof 0)
 *   f(x) = (1/n) Σ_i Π_j φ((x_j − X_ij) / h_j) / h_j              (no boundary correction)
 *
 * Evaluation is O(n·m) in one tight float64 loop per query with a table-driven exp (exp(−t) = T[⌊64t⌋] · poly(r),
 * relative error below 1e-15), which is several times faster than `Math.exp` and agrees with statsmodels to ~1e-14.
 */
import { InvalidArgumentError } from '@trustvision/core-tensor';

/** Population standard deviation (numpy `np.std`, ddof 0). */
export function populationStd(x: ArrayLike<number>): number {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / n);
}

/**
 * statsmodels' normal-reference bandwidth 1.06 · std · n^exponent, with exponent −1/(4+q) = −1/6 for two variables
 * (the code's value; the paper's text quotes 1.06·σ·n^(−1/5), available as `exponent: -0.2`).
 */
export function normalReferenceBandwidth(x: ArrayLike<number>, exponent = -1 / 6): number {
  return 1.06 * populationStd(x) * Math.pow(x.length, exponent);
}

// exp(−t) for t ≥ 0: t = k/64 + r, r ∈ [0, 1/64); exp(−t) = exp(−k/64) · exp(−r), the latter by a degree-6 Taylor
// polynomial (truncation error < 5e-17). Arguments beyond 708 are clamped there (exp(−708) ≈ 3e-308): a kernel term
// that small is zero for every practical purpose.
const STEPS = 64;
const TMAX = 708;
let TABLE: Float64Array | undefined;

function expTable(): Float64Array {
  if (!TABLE) {
    TABLE = new Float64Array(TMAX * STEPS + 2);
    for (let k = 0; k < TABLE.length; k++) TABLE[k] = Math.exp(-k / STEPS);
  }
  return TABLE;
}

/** exp(−t) for t ≥ 0 by the same table and polynomial as the KDE loop (exported for tests). */
export function fastExpNeg(t: number): number {
  const T = expTable();
  const c = Math.min(t, TMAX);
  const k = (c * STEPS) | 0;
  const r = c - k * (1 / STEPS);
  return T[k] * (1 - r * (1 - r * (0.5 - r * (1 / 6 - r * (1 / 24 - r * (1 / 120 - r * (1 / 720)))))));
}

/**
 * Σ_i exp(−((qx − X_i)² a + (qy − Y_i)² b)) for every query, with a = 1/(2h_x²), b = 1/(2h_y²).
 * Inner loop kept monomorphic and branch-free.
 */
function gaussSums(
  X: Float64Array,
  Y: Float64Array,
  qx: ArrayLike<number>,
  qy: ArrayLike<number>,
  a: number,
  b: number,
  out: Float64Array,
): void {
  const T = expTable();
  const n = X.length;
  const m = qx.length;
  const c2 = 0.5;
  const c3 = 1 / 6;
  const c4 = 1 / 24;
  const c5 = 1 / 120;
  const c6 = 1 / 720;
  const inv = 1 / STEPS;
  for (let j = 0; j < m; j++) {
    const x = qx[j];
    const y = qy[j];
    let s = 0;
    for (let i = 0; i < n; i++) {
      const dx = x - X[i];
      const dy = y - Y[i];
      const t = Math.min(a * dx * dx + b * dy * dy, TMAX);
      const k = (t * STEPS) | 0;
      const r = t - k * inv;
      s += T[k] * (1 - r * (1 - r * (c2 - r * (c3 - r * (c4 - r * (c5 - r * c6))))));
    }
    out[j] = s;
  }
}

/** A fitted 2-D product-Gaussian KDE. */
export class ProductGaussianKde2D {
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Bandwidths [h_x, h_y]. */
  readonly bandwidth: readonly [number, number];

  constructor(x: ArrayLike<number>, y: ArrayLike<number>, bandwidth: readonly [number, number]) {
    if (x.length !== y.length || x.length === 0)
      throw new InvalidArgumentError('y', `length ${y.length}`, `length ${x.length} (> 0), one pair per sample`);
    for (const [i, h] of bandwidth.entries())
      if (!(h > 0 && Number.isFinite(h))) throw new InvalidArgumentError(`bandwidth[${i}]`, h, 'a positive number');
    this.x = Float64Array.from(x as ArrayLike<number>);
    this.y = Float64Array.from(y as ArrayLike<number>);
    this.bandwidth = [bandwidth[0], bandwidth[1]];
  }

  /** Number of data points. */
  get n(): number {
    return this.x.length;
  }

  /** Density at each (qx[j], qy[j]). */
  pdf(qx: ArrayLike<number>, qy: ArrayLike<number>): Float64Array {
    if (qx.length !== qy.length) throw new InvalidArgumentError('qy', `length ${qy.length}`, `length ${qx.length}`);
    const [hx, hy] = this.bandwidth;
    const out = new Float64Array(qx.length);
    gaussSums(this.x, this.y, qx, qy, 1 / (hx * hx * 2), 1 / (hy * hy * 2), out);
    const norm = 1 / (2 * Math.PI * hx * hy * this.n);
    for (let j = 0; j < out.length; j++) out[j] *= norm;
    return out;
  }
}
