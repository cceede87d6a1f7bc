/**
 * Binning helpers with numpy / scikit-learn semantics, so that bin assignments match the ProCal official code exactly:
 *
 * - `percentileLinear` is `np.percentile(x, q)` with numpy's default 'linear' method (virtual index (n−1)·q, numpy's
 *   `_lerp`, which interpolates from the upper neighbour when the fraction is ≥ 0.5);
 * - `quantileEdges` is `KBinsDiscretizer(strategy='quantile').fit` for one column (scikit-learn ≤ 1.8 linear
 *   percentiles): edges `np.percentile(x, np.linspace(0, 100, bins + 1))`, then edges closer than 1e-8 to the
 *   previous one removed; a constant column has the single bin (−∞, ∞);
 * - `binIndex(edges, x)` is `KBinsDiscretizer.transform`: `np.searchsorted(edges[1:-1], x, side='right')`;
 * - `uniformEdges` is `strategy='uniform'`: `np.linspace(min, max, bins + 1)`.
 */
import { InvalidArgumentError } from '@trustvision/core-tensor';

/** The fractions `np.linspace(0, 100, bins + 1) / 100`, bit for bit. */
export function percentileFractions(bins: number): Float64Array {
  const q = new Float64Array(bins + 1);
  const step = 100 / bins;
  for (let k = 0; k < bins; k++) q[k] = (k * step) / 100;
  q[bins] = 1;
  return q;
}

/** `np.percentile(sorted, 100·q)` (linear) for an ascending array; `q` in [0, 1]. */
export function percentileLinear(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new InvalidArgumentError('values', '[]', 'at least one value');
  const vi = (n - 1) * q;
  if (vi >= n - 1) return sorted[n - 1];
  if (vi <= 0) return sorted[0];
  const prev = Math.floor(vi);
  const gamma = vi - prev;
  const a = sorted[prev];
  const b = sorted[prev + 1];
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

function sortedCopy(values: ArrayLike<number>): Float64Array {
  const s = Float64Array.from(values as ArrayLike<number>);
  s.sort();
  return s;
}

/**
 * Quantile bin edges as scikit-learn's `KBinsDiscretizer(n_bins=bins, strategy='quantile')` computes them for one
 * feature (linear percentiles, bins narrower than 1e-8 dropped). A constant column gives `[-Infinity, Infinity]`.
 */
export function quantileEdges(values: ArrayLike<number>, bins: number): Float64Array {
  const s = sortedCopy(values);
  if (s[0] === s[s.length - 1]) return Float64Array.of(-Infinity, Infinity);
  const q = percentileFractions(bins);
  const raw = new Float64Array(bins + 1);
  for (let k = 0; k <= bins; k++) raw[k] = percentileLinear(s, q[k]);
  const keep: number[] = [raw[0]];
  for (let k = 1; k <= bins; k++) if (raw[k] - raw[k - 1] > 1e-8) keep.push(raw[k]);
  return Float64Array.from(keep);
}

/** Percentile edges without dropping narrow bins: `np.percentile(x, np.linspace(0, 100, bins + 1))`. */
export function percentileEdges(values: ArrayLike<number>, bins: number): Float64Array {
  const s = sortedCopy(values);
  const q = percentileFractions(bins);
  const out = new Float64Array(bins + 1);
  for (let k = 0; k <= bins; k++) out[k] = percentileLinear(s, q[k]);
  return out;
}

/** Equal-width edges over [min, max]: `np.linspace(min, max, bins + 1)`. */
export function uniformEdges(values: ArrayLike<number>, bins: number): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  const out = new Float64Array(bins + 1);
  const step = (hi - lo) / bins;
  for (let k = 0; k < bins; k++) out[k] = k * step + lo;
  out[bins] = hi;
  return out;
}

/**
 * One-dimensional k-means edges as `KBinsDiscretizer(strategy='kmeans')`: Lloyd iterations from the midpoints of a
 * uniform grid; edges are the midpoints between sorted centres, with the data minimum and maximum at the ends.
 * (scikit-learn's KMeans stops on a relative tolerance; this runs Lloyd to convergence, so edges can differ slightly.)
 */
export function kmeansEdges(values: ArrayLike<number>, bins: number, maxIter = 300): Float64Array {
  const s = sortedCopy(values);
  const n = s.length;
  const lo = s[0];
  const hi = s[n - 1];
  const uni = uniformEdges(s, bins);
  const centres = new Float64Array(bins);
  for (let k = 0; k < bins; k++) centres[k] = (uni[k] + uni[k + 1]) * 0.5;
  const sum = new Float64Array(bins);
  const cnt = new Float64Array(bins);
  for (let it = 0; it < maxIter; it++) {
    sum.fill(0);
    cnt.fill(0);
    // data are sorted and centres ascending: assign by a moving pointer
    let c = 0;
    for (let i = 0; i < n; i++) {
      while (c < bins - 1 && Math.abs(s[i] - centres[c + 1]) < Math.abs(s[i] - centres[c])) c++;
      sum[c] += s[i];
      cnt[c]++;
    }
    let moved = false;
    for (let k = 0; k < bins; k++) {
      if (cnt[k] === 0) continue;
      const v = sum[k] / cnt[k];
      if (v !== centres[k]) moved = true;
      centres[k] = v;
    }
    centres.sort();
    if (!moved) break;
  }
  const out = new Float64Array(bins + 1);
  out[0] = lo;
  for (let k = 1; k < bins; k++) out[k] = (centres[k - 1] + centres[k]) * 0.5;
  out[bins] = hi;
  const keep: number[] = [out[0]];
  for (let k = 1; k <= bins; k++) if (out[k] - out[k - 1] > 1e-8) keep.push(out[k]);
  return Float64Array.from(keep);
}

/** `np.searchsorted(edges[1:-1], x, side='right')`: the number of inner edges ≤ x. */
export function binIndex(edges: ArrayLike<number>, x: number): number {
  let lo = 1;
  let hi = edges.length - 1; // search in edges[1 .. length-2]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Bin index of every value (see `binIndex`). */
export function binIndices(edges: ArrayLike<number>, values: ArrayLike<number>): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = binIndex(edges, values[i]);
  return out;
}
