/**
 * Isotonic regression with scikit-learn `IsotonicRegression(increasing=True, out_of_bounds='clip')` semantics:
 *
 * - fit: sort by (x, y); merge x values closer than `resolution` to the first x of their group into one point with
 *   the weighted mean y (scikit-learn's `_make_unique`, whose resolution is `np.finfo(dtype).resolution`: 1e-15 for
 *   float64, 1e-6 for float32 inputs); pool-adjacent-violators on the merged points; clip to [yMin, yMax]; drop
 *   interior points whose y equals both neighbours';
 * - predict: clip x to [xMin, xMax], then linear interpolation between the kept points exactly as scipy's
 *   `interp1d(kind='linear')` computes it (a single point gives a constant).
 */
import { InvalidArgumentError } from '@trustvision/core-tensor';

export interface IsotonicOptions {
  yMin?: number;
  yMax?: number;
  /** Merge tolerance of equal x values (default 1e-15, scikit-learn's for float64). */
  resolution?: number;
}

export interface IsotonicJSON {
  x: number[];
  y: number[];
}

/** A fitted increasing isotonic regression (piecewise-linear interpolant through the thresholds). */
export class IsotonicRegression {
  /** Thresholds (ascending) and their fitted values. */
  readonly x: Float64Array;
  readonly y: Float64Array;

  private constructor(x: Float64Array, y: Float64Array) {
    this.x = x;
    this.y = y;
  }

  static fromJSON(json: IsotonicJSON): IsotonicRegression {
    if (
      !json ||
      !Array.isArray(json.x) ||
      !Array.isArray(json.y) ||
      json.x.length !== json.y.length ||
      json.x.length === 0
    )
      throw new InvalidArgumentError('json', json, '{ x: number[], y: number[] } of equal, non-zero length');
    return new IsotonicRegression(Float64Array.from(json.x), Float64Array.from(json.y));
  }

  toJSON(): IsotonicJSON {
    return { x: Array.from(this.x), y: Array.from(this.y) };
  }

  /** Fits y ≈ f(x) with f non-decreasing (optional sample weights). */
  static fit(
    x: ArrayLike<number>,
    y: ArrayLike<number>,
    options: IsotonicOptions & { weights?: ArrayLike<number> } = {},
  ): IsotonicRegression {
    const n = x.length;
    if (n === 0 || y.length !== n)
      throw new InvalidArgumentError('y', `length ${y.length}`, `length ${n} (> 0), one target per x`);
    const w = options.weights;
    const resolution = options.resolution ?? 1e-15;
    // lexsort((y, x)): by x, then by y; drop zero weights
    const order: number[] = [];
    for (let i = 0; i < n; i++) if (w === undefined || w[i] > 0) order.push(i);
    order.sort((a, b) => x[a] - x[b] || y[a] - y[b] || a - b);
    const m = order.length;
    if (m === 0) throw new InvalidArgumentError('weights', w, 'at least one positive weight');
    // _make_unique
    const ux: number[] = [];
    const uy: number[] = [];
    const uw: number[] = [];
    let cx = x[order[0]];
    let cy = 0;
    let cw = 0;
    for (let t = 0; t < m; t++) {
      const i = order[t];
      const wi = w === undefined ? 1 : w[i];
      if (x[i] - cx >= resolution) {
        ux.push(cx);
        uw.push(cw);
        uy.push(cy / cw);
        cx = x[i];
        cw = wi;
        cy = y[i] * wi;
      } else {
        cw += wi;
        cy += y[i] * wi;
      }
    }
    ux.push(cx);
    uw.push(cw);
    uy.push(cy / cw);
    const fitted = pava(uy, uw);
    const lo = options.yMin ?? -Infinity;
    const hi = options.yMax ?? Infinity;
    for (let i = 0; i < fitted.length; i++) fitted[i] = Math.min(Math.max(fitted[i], lo), hi);
    // trim interior points equal to both neighbours
    const keepX: number[] = [];
    const keepY: number[] = [];
    const k = fitted.length;
    for (let i = 0; i < k; i++) {
      if (i > 0 && i < k - 1 && fitted[i] === fitted[i - 1] && fitted[i] === fitted[i + 1]) continue;
      keepX.push(ux[i]);
      keepY.push(fitted[i]);
    }
    return new IsotonicRegression(Float64Array.from(keepX), Float64Array.from(keepY));
  }

  /** f(t) for one value. */
  at(t: number): number {
    const X = this.x;
    const Y = this.y;
    const n = X.length;
    if (n === 1) return Y[0];
    const v = Math.min(Math.max(t, X[0]), X[n - 1]);
    // searchsorted(X, v, side='left') clipped to [1, n-1]
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (X[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    const idx = Math.min(Math.max(lo, 1), n - 1);
    const xl = X[idx - 1];
    const yl = Y[idx - 1];
    const slope = (Y[idx] - yl) / (X[idx] - xl);
    return slope * (v - xl) + yl;
  }

  /** f at every value. */
  predict(t: ArrayLike<number>): Float64Array {
    const out = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) out[i] = this.at(t[i]);
    return out;
  }
}

/** Weighted pool-adjacent-violators for a non-decreasing fit; returns the fitted value of every point. */
export function pava(y: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const n = y.length;
  const sumWY = new Float64Array(n);
  const sumW = new Float64Array(n);
  const start = new Int32Array(n);
  let top = -1;
  for (let i = 0; i < n; i++) {
    top++;
    sumWY[top] = w[i] * y[i];
    sumW[top] = w[i];
    start[top] = i;
    // merge while the previous block's mean is not below this one's
    while (top > 0 && sumWY[top - 1] / sumW[top - 1] >= sumWY[top] / sumW[top]) {
      sumWY[top - 1] += sumWY[top];
      sumW[top - 1] += sumW[top];
      top--;
    }
  }
  const out = new Float64Array(n);
  for (let b = 0; b <= top; b++) {
    const end = b < top ? start[b + 1] : n;
    const v = sumWY[b] / sumW[b];
    for (let i = start[b]; i < end; i++) out[i] = v;
  }
  return out;
}
