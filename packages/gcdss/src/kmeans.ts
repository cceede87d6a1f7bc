/**
 * Area-weighted k-means (Lloyd) with weighted k-means++ seeding: the clustering step of NeRG-MaskCA (spec
 * `gcdss.md` §4.5), plus a silhouette-based estimate of the number of clusters.
 *
 * The Lloyd loop follows scikit-learn's `KMeans(algorithm='lloyd', n_init=1)` with `sample_weight`: each iteration
 * assigns every point to its nearest centre and moves each centre to the weighted mean of its points; it stops when
 * the labels stop changing or when the total squared centre shift is at most `tol · mean_d var(X[:, d])`, and then
 * relabels with the final centres. Two documented differences: an empty cluster keeps its previous centre
 * (scikit-learn relocates it to a far point), and k-means++ draws one candidate per seed (no greedy local trials).
 * Distances use ‖x‖² − 2x·c + ‖c‖², with the product x·cᵀ from core-tensor's op-graphs.
 */
import { InvalidArgumentError, Rng, matmul, type Device } from '@trustvision/core-tensor';

export interface KMeansOptions {
  /** Initial centres [k·d] (row-major), or 'k-means++' (default). */
  init?: Float32Array | Float64Array | 'k-means++';
  /** Seed of the k-means++ draw (default 0). */
  seed?: number;
  /** Lloyd iterations at most (default 300). */
  maxIter?: number;
  /** Relative tolerance on the centre shift (default 1e-4, as scikit-learn). */
  tol?: number;
  /** Device of the x·cᵀ op-graph (default 'cpu'). */
  device?: Device;
}

export interface KMeansResult {
  /** Cluster of each point. */
  labels: Int32Array;
  /** Centres [k·d] row-major. */
  centers: Float32Array;
  /** Σ w·‖x − c(x)‖². */
  inertia: number;
  /** Lloyd iterations run. */
  iterations: number;
}

/** x·cᵀ for x [n, d] and c [k, d] → [n, k] (float32). */
async function dots(
  x: Float32Array,
  n: number,
  d: number,
  c: Float32Array,
  k: number,
  device: Device,
): Promise<Float32Array> {
  const y = await matmul({ data: x, shape: [n, d] }, { data: c, shape: [k, d] }, { transB: true, device });
  return y.data as Float32Array;
}

function rowNorms(x: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) s += x[o + j] * x[o + j];
    out[i] = s;
  }
  return out;
}

/** Squared distance between row i of x and row c of centres. */
function sqdist(x: Float32Array, i: number, cen: Float32Array, c: number, d: number): number {
  let s = 0;
  const a = i * d;
  const b = c * d;
  for (let j = 0; j < d; j++) {
    const t = x[a + j] - cen[b + j];
    s += t * t;
  }
  return s;
}

/** Draws an index with probability ∝ p (p ≥ 0, Σ p > 0) by inverse CDF; falls back to uniform when Σ p = 0. */
function drawIndex(p: Float64Array, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += p[i];
  if (!(total > 0)) return rng.int(p.length);
  const r = rng.uniform() * total;
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    acc += p[i];
    if (r < acc) return i;
  }
  for (let i = p.length - 1; i >= 0; i--) if (p[i] > 0) return i;
  return p.length - 1;
}

/**
 * Weighted k-means++ seeding: the first centre is drawn with probability ∝ w, each later one ∝ w·D², D the distance
 * to the nearest centre chosen so far (the weighted form scikit-learn uses; the official GCDSS code intended this but
 * measured distances to seed indices, spec §11.2). Returns k·d centres.
 */
export function kmeansPlusPlus(
  x: Float32Array,
  n: number,
  d: number,
  weights: Float64Array,
  k: number,
  rng: Rng,
): Float32Array {
  const centers = new Float32Array(k * d);
  const first = drawIndex(weights, rng);
  centers.set(x.subarray(first * d, first * d + d), 0);
  const best = new Float64Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) best[i] = sqdist(x, i, centers, 0, d);
  for (let c = 1; c < k; c++) {
    for (let i = 0; i < n; i++) p[i] = weights[i] * best[i];
    const j = drawIndex(p, rng);
    centers.set(x.subarray(j * d, j * d + d), c * d);
    for (let i = 0; i < n; i++) {
      const v = sqdist(x, i, centers, c, d);
      if (v < best[i]) best[i] = v;
    }
  }
  return centers;
}

/** Labels and min distances of every point against the centres (float64 from the float32 product). */
async function assign(
  x: Float32Array,
  xn: Float64Array,
  n: number,
  d: number,
  centers: Float32Array,
  k: number,
  device: Device,
  labels: Int32Array,
  mind: Float64Array,
): Promise<void> {
  const cn = rowNorms(centers, k, d);
  const dp = await dots(x, n, d, centers, k, device);
  for (let i = 0; i < n; i++) {
    let bj = 0;
    let bv = Infinity;
    const o = i * k;
    for (let c = 0; c < k; c++) {
      const v = xn[i] - 2 * dp[o + c] + cn[c];
      if (v < bv) {
        bv = v;
        bj = c;
      }
    }
    labels[i] = bj;
    mind[i] = bv > 0 ? bv : 0;
  }
}

/** Weighted means of the points of each cluster; an empty (or zero-weight) cluster keeps its centre. */
function update(
  x: Float32Array,
  n: number,
  d: number,
  w: Float64Array,
  labels: Int32Array,
  k: number,
  centers: Float32Array,
): Float32Array {
  const sum = new Float64Array(k * d);
  const wsum = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    const wi = w[i];
    if (wi === 0) continue;
    wsum[c] += wi;
    const o = i * d;
    const oc = c * d;
    for (let j = 0; j < d; j++) sum[oc + j] += wi * x[o + j];
  }
  const out = new Float32Array(k * d);
  for (let c = 0; c < k; c++) {
    if (wsum[c] > 0) for (let j = 0; j < d; j++) out[c * d + j] = sum[c * d + j] / wsum[c];
    else out.set(centers.subarray(c * d, c * d + d), c * d);
  }
  return out;
}

/**
 * Area-weighted k-means of n points x [n·d] with weights w [n] into k clusters.
 */
export async function weightedKMeans(
  x: Float32Array,
  n: number,
  d: number,
  w: Float64Array,
  k: number,
  options: KMeansOptions = {},
): Promise<KMeansResult> {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError('k', k, 'an integer >= 1');
  if (k > n) throw new InvalidArgumentError('k', k, `at most the number of points to cluster (${n})`);
  const device = options.device ?? 'cpu';
  const maxIter = options.maxIter ?? 300;
  const tol = options.tol ?? 1e-4;
  let centers: Float32Array;
  if (options.init === undefined || options.init === 'k-means++') {
    centers = kmeansPlusPlus(x, n, d, w, k, Rng.from(options.seed ?? 0));
  } else {
    if (options.init.length !== k * d)
      throw new InvalidArgumentError('init', `${options.init.length} values`, `${k}·${d} centres`);
    centers = Float32Array.from(options.init);
  }
  // tolerance relative to the mean per-dimension variance (unweighted), as scikit-learn
  let varSum = 0;
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * d + j];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const t = x[i * d + j] - m;
      v += t * t;
    }
    varSum += v / n;
  }
  const tolAbs = (tol * varSum) / d;
  const xn = rowNorms(x, n, d);
  let labels = new Int32Array(n);
  let prev = new Int32Array(n).fill(-1);
  const mind = new Float64Array(n);
  let it = 0;
  for (; it < maxIter; it++) {
    await assign(x, xn, n, d, centers, k, device, labels, mind);
    const next = update(x, n, d, w, labels, k, centers);
    let shift = 0;
    for (let i = 0; i < next.length; i++) {
      const t = next[i] - centers[i];
      shift += t * t;
    }
    centers = next;
    let same = true;
    for (let i = 0; i < n; i++)
      if (labels[i] !== prev[i]) {
        same = false;
        break;
      }
    if (same) {
      it++;
      break;
    }
    if (shift <= tolAbs) {
      it++;
      break;
    }
    [prev, labels] = [labels, prev];
  }
  // final labels against the final centres (a no-op after strict convergence), and the inertia
  await assign(x, xn, n, d, centers, k, device, labels, mind);
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += w[i] * sqdist(x, i, centers, labels[i], d);
  return { labels, centers, inertia, iterations: it };
}

export interface EstimateOptions {
  /** Smallest and largest k tried (defaults 2 and min(20, n − 1)). */
  minK?: number;
  maxK?: number;
  /** Points used for the silhouette (a weighted subsample drawn without replacement; default 2000). */
  sample?: number;
  seed?: number;
  device?: Device;
}

export interface EstimateResult {
  /** The k with the largest mean silhouette. */
  k: number;
  /** Mean silhouette for each k tried, in order minK..maxK. */
  scores: { k: number; silhouette: number }[];
}

/**
 * Estimates the number of clusters among n points by the mean silhouette of area-weighted k-means over k = minK..maxK.
 * The silhouette is computed on a subsample (so the cost is sample² · d per k) with Euclidean distances, which on
 * L2-normalised features are a monotone function of cosine distance. Singletons score 0, as in scikit-learn.
 */
export async function estimateClusterCount(
  x: Float32Array,
  n: number,
  d: number,
  w: Float64Array,
  options: EstimateOptions = {},
): Promise<EstimateResult> {
  if (n < 3)
    throw new InvalidArgumentError(
      'masks',
      `${n} candidate masks`,
      'at least 3 masks to estimate the number of novel classes',
    );
  const minK = options.minK ?? 2;
  const maxK = Math.min(options.maxK ?? 20, n - 1);
  if (!Number.isInteger(minK) || minK < 2 || minK > maxK)
    throw new InvalidArgumentError('minK', minK, `an integer in [2, ${maxK}]`);
  const rng = Rng.from(options.seed ?? 0);
  const m = Math.min(options.sample ?? 2000, n);
  const idx = m === n ? Int32Array.from({ length: n }, (_, i) => i) : rng.split('sample').choice(n, m);
  // pairwise distances of the subsample, once
  const dist = new Float64Array(m * m);
  for (let a = 0; a < m; a++)
    for (let b = a + 1; b < m; b++) {
      let s = 0;
      const oa = idx[a] * d;
      const ob = idx[b] * d;
      for (let j = 0; j < d; j++) {
        const t = x[oa + j] - x[ob + j];
        s += t * t;
      }
      dist[a * m + b] = dist[b * m + a] = Math.sqrt(s);
    }
  const scores: { k: number; silhouette: number }[] = [];
  let best = minK;
  let bestS = -Infinity;
  for (let k = minK; k <= maxK; k++) {
    const km = await weightedKMeans(x, n, d, w, k, { seed: (options.seed ?? 0) + k, device: options.device });
    const lab = new Int32Array(m);
    const count = new Float64Array(k);
    for (let a = 0; a < m; a++) count[(lab[a] = km.labels[idx[a]])]++;
    let total = 0;
    const per = new Float64Array(k);
    for (let a = 0; a < m; a++) {
      if (count[lab[a]] <= 1) continue; // silhouette 0 for a singleton
      per.fill(0);
      for (let b = 0; b < m; b++) if (b !== a) per[lab[b]] += dist[a * m + b];
      const own = per[lab[a]] / (count[lab[a]] - 1);
      let other = Infinity;
      for (let c = 0; c < k; c++) if (c !== lab[a] && count[c] > 0) other = Math.min(other, per[c] / count[c]);
      if (other === Infinity) continue;
      const den = Math.max(own, other);
      total += den > 0 ? (other - own) / den : 0;
    }
    const s = total / m;
    scores.push({ k, silhouette: s });
    if (s > bestS) {
      bestS = s;
      best = k;
    }
  }
  return { k: best, scores };
}
