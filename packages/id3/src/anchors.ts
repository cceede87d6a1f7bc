/**
 * Identity anchors (spec `id3.md` §2.6 step 1): N unit vectors in d dimensions spread as far apart as possible, an
 * approximate solution of the Tammes problem (maximise the minimum pairwise angle). The paper names the problem
 * [READ]; the solver is this package's own [INFERRED] choice:
 *
 *   start from normalised Gaussian rows (seeded) and descend the soft nearest-neighbour energy
 *     F(W) = Σ_i (1/τ) · log Σ_{j ∈ NN_K(i)} exp(τ·⟨w_i, w_j⟩),
 *   a smooth surrogate of each row's largest cosine over its K nearest neighbours. Row i moves against its part of
 *   the gradient, the softmax-weighted mean of its neighbours g_i = Σ_j p_ij w_j, projected on the tangent space:
 *     w_i ← normalise(w_i − η·(g_i − ⟨g_i, w_i⟩ w_i)).
 *   Step-size control (bold driver): a step that lowers F is kept and η grows ×1.25; one that does not is undone and
 *   η halves. The iterate with the largest minimum angle seen is returned, so the result is never worse than the
 *   random start.
 *
 * The N×N work (all pairwise cosines, blocked, and the top-K per row) runs in core-tensor's k-NN op-graph
 * (`OpGraphs.knn`, cosine metric, on ONNX Runtime); the gradient touches only N·K rows and runs in typed-array loops.
 */
import { OpGraphs, Rng, type Device } from '@trustvision/core-tensor';
import { checkInt, checkNumber, checkSeed, toUnitRows, type MatrixLike } from './validate.js';

/** Angles of a set of unit vectors. */
export interface AnchorStats {
  /** The smallest angle between any two rows, in degrees (the Tammes objective). */
  minAngleDeg: number;
  /** The mean over rows of the angle to the nearest other row, in degrees. */
  meanNearestAngleDeg: number;
}

/** Progress of `optimizeAnchors`, reported after every step. */
export interface AnchorProgress extends AnchorStats {
  /** Steps taken so far (accepted or not). */
  iteration: number;
  iterations: number;
  /** Whether this step lowered the energy and was kept. */
  accepted: boolean;
  /** The step size η for the next step. */
  step: number;
  energy: number;
}

export interface AnchorOptions {
  /** Number of anchors N ≥ 2 (ignored when `init` is given). */
  n?: number;
  /** Dimension d ≥ 2 (ignored when `init` is given). */
  dim?: number;
  /** Seed of the random start (core-tensor `Rng.from`; default 0). */
  seed?: number | string | bigint;
  /** Start from these unit rows instead of a random start. */
  init?: MatrixLike;
  /** Steps (each one k-NN pass over all pairs; default 60). 0 returns the start. */
  iterations?: number;
  /** Neighbours per row in the energy (default 16, at most N − 1). */
  neighbours?: number;
  /** Inverse temperature τ of the soft maximum (default 50). */
  temperature?: number;
  /** Initial step size η (default 0.05). */
  step?: number;
  /** Device of the op-graphs (default 'auto'); ignored when `ops` is given. */
  device?: Device;
  /** An op-graph set to reuse (not disposed here). */
  ops?: OpGraphs;
  /** Called after every step. */
  onProgress?: (p: AnchorProgress) => void;
}

export interface AnchorResult extends AnchorStats {
  /** [N, d] float32, unit rows, row-major. */
  anchors: Float32Array;
  shape: [number, number];
  /** The same statistics of the random (or given) start, for comparison. */
  initial: AnchorStats;
  /** Steps taken, and how many of them were kept. */
  iterations: number;
  accepted: number;
  /** The energy F of the returned anchors. */
  energy: number;
}

const DEG = 180 / Math.PI;
const STEP_GROW = 1.25;
const STEP_SHRINK = 0.5;
const STEP_MIN = 1e-7;
const STEP_MAX = 0.5;

function angleDeg(cos: number): number {
  return Math.acos(Math.max(-1, Math.min(1, cos))) * DEG;
}

/** Normalises every row in place (float64 arithmetic). */
function normalizeRows(data: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let s = 0;
    for (let t = 0; t < cols; t++) s += data[o + t] * data[o + t];
    const inv = 1 / Math.sqrt(s);
    for (let t = 0; t < cols; t++) data[o + t] *= inv;
  }
}

/**
 * N rows drawn uniformly on the unit sphere S^{d−1} (normalised standard Gaussians), float32 [N, d]. This is the
 * "random anchors" ablation and the optimiser's start. Stream: `Rng.from(seed).split('id3-anchors')`.
 */
export function randomAnchors(n: number, dim: number, seed: number | string | bigint = 0): Float32Array {
  checkInt('n', n, 1);
  checkInt('dim', dim, 2);
  const rng = Rng.from(checkSeed('seed', seed)).split('id3-anchors');
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (;;) {
      const z = rng.normalArray(dim);
      let s = 0;
      for (let t = 0; t < dim; t++) s += z[t] * z[t];
      if (s > 1e-20) {
        const inv = 1 / Math.sqrt(s);
        for (let t = 0; t < dim; t++) data[i * dim + t] = z[t] * inv;
        break;
      }
    }
  }
  return data;
}

/** K nearest rows of every row (cosine, self excluded) through the op-graph, with their cosines in float64. */
async function neighbours(
  ops: OpGraphs,
  a: Float32Array,
  n: number,
  d: number,
  k: number,
): Promise<{ idx: Int32Array; cos: Float64Array }> {
  const m = { data: a, shape: [n, d] };
  const res = await ops.knn(m, m, { k, metric: 'cosine', excludeSelf: true });
  const idx = res.indices;
  const cos = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const oi = i * d;
    for (let q = 0; q < k; q++) {
      const oj = idx[i * k + q] * d;
      let s = 0;
      for (let t = 0; t < d; t++) s += a[oi + t] * a[oj + t];
      cos[i * k + q] = s;
    }
  }
  return { idx, cos };
}

function statsOf(cos: Float64Array, n: number, k: number): AnchorStats & { maxCos: number } {
  let maxCos = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let q = 0; q < k; q++) if (cos[i * k + q] > best) best = cos[i * k + q];
    if (best > maxCos) maxCos = best;
    sum += angleDeg(best);
  }
  return { maxCos, minAngleDeg: angleDeg(maxCos), meanNearestAngleDeg: sum / n };
}

function energyOf(cos: Float64Array, n: number, k: number, tau: number): number {
  let f = 0;
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let q = 0; q < k; q++) if (cos[i * k + q] > mx) mx = cos[i * k + q];
    let s = 0;
    for (let q = 0; q < k; q++) s += Math.exp(tau * (cos[i * k + q] - mx));
    f += mx + Math.log(s) / tau;
  }
  return f;
}

/** One projected step from `a` into `out` (see the module comment). */
function stepRows(
  a: Float32Array,
  out: Float32Array,
  nb: { idx: Int32Array; cos: Float64Array },
  n: number,
  d: number,
  k: number,
  tau: number,
  eta: number,
): void {
  const g = new Float64Array(d);
  const p = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const oi = i * d;
    let mx = -Infinity;
    for (let q = 0; q < k; q++) if (nb.cos[i * k + q] > mx) mx = nb.cos[i * k + q];
    let z = 0;
    for (let q = 0; q < k; q++) z += p[q] = Math.exp(tau * (nb.cos[i * k + q] - mx));
    g.fill(0);
    let gw = 0; // ⟨g, w_i⟩ = Σ p_q cos_q
    for (let q = 0; q < k; q++) {
      const w = p[q] / z;
      gw += w * nb.cos[i * k + q];
      const oj = nb.idx[i * k + q] * d;
      for (let t = 0; t < d; t++) g[t] += w * a[oj + t];
    }
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = a[oi + t] - eta * (g[t] - gw * a[oi + t]);
      g[t] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let t = 0; t < d; t++) out[oi + t] = g[t] * inv;
  }
}

async function withOps<T>(ops: OpGraphs | undefined, device: Device | undefined, f: (o: OpGraphs) => Promise<T>) {
  if (ops) return f(ops);
  const own = await OpGraphs.create({ device: device ?? 'auto' });
  try {
    return await f(own);
  } finally {
    await own.dispose();
  }
}

/**
 * The minimum pairwise angle and the mean nearest-neighbour angle (degrees) of the rows of an [N, d] matrix of unit
 * vectors, N ≥ 2 (nearest neighbours through the k-NN op-graph; cosines recomputed in float64).
 */
export async function anchorStats(
  anchors: MatrixLike,
  options: { device?: Device; ops?: OpGraphs } = {},
): Promise<AnchorStats> {
  const { data, rows, cols } = toUnitRows('anchors', anchors, 2);
  return withOps(options.ops, options.device, async (ops) => {
    const s = statsOf((await neighbours(ops, data, rows, cols, 1)).cos, rows, 1);
    return { minAngleDeg: s.minAngleDeg, meanNearestAngleDeg: s.meanNearestAngleDeg };
  });
}

/**
 * Identity anchors: N unit vectors in d dimensions spread far apart (approximate Tammes solution; see the module
 * comment for the energy and the step control). Seeded and deterministic for a given device.
 */
export async function optimizeAnchors(options: AnchorOptions = {}): Promise<AnchorResult> {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const iterations = checkInt('iterations', options.iterations ?? 60, 0);
  const tau = checkNumber('temperature', options.temperature ?? 50, Number.MIN_VALUE, 1e6);
  let eta = checkNumber('step', options.step ?? 0.05, Number.MIN_VALUE, STEP_MAX);
  let a: Float32Array;
  let n: number;
  let d: number;
  if (options.init !== undefined) {
    const m = toUnitRows('init', options.init, 2);
    [a, n, d] = [m.data, m.rows, m.cols];
  } else {
    n = checkInt('n', options.n, 2);
    d = checkInt('dim', options.dim, 2);
    a = randomAnchors(n, d, checkSeed('seed', options.seed ?? 0));
  }
  const k = Math.min(checkInt('neighbours', options.neighbours ?? 16, 1), n - 1);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw new TypeError('onProgress must be a function');

  return withOps(options.ops, options.device, async (ops) => {
    let nb = await neighbours(ops, a, n, d, k);
    let stats = statsOf(nb.cos, n, k);
    let energy = energyOf(nb.cos, n, k, tau);
    const initial = { minAngleDeg: stats.minAngleDeg, meanNearestAngleDeg: stats.meanNearestAngleDeg };
    let best = { a, stats, energy };
    let accepted = 0;
    let it = 0;
    let next: Float32Array = new Float32Array(n * d);
    while (it < iterations && eta >= STEP_MIN) {
      it++;
      stepRows(a, next, nb, n, d, k, tau, eta);
      const nb2 = await neighbours(ops, next, n, d, k);
      const e2 = energyOf(nb2.cos, n, k, tau);
      const ok = e2 < energy;
      if (ok) {
        const prev = a;
        [a, nb, energy, stats] = [next, nb2, e2, statsOf(nb2.cos, n, k)];
        accepted++;
        eta = Math.min(eta * STEP_GROW, STEP_MAX);
        if (stats.maxCos < best.stats.maxCos) best = { a, stats, energy };
        // reuse the old buffer unless it is the best iterate
        next = prev === best.a ? new Float32Array(n * d) : prev;
      } else eta *= STEP_SHRINK;
      options.onProgress?.({
        iteration: it,
        iterations,
        accepted: ok,
        step: eta,
        energy,
        minAngleDeg: stats.minAngleDeg,
        meanNearestAngleDeg: stats.meanNearestAngleDeg,
      });
    }
    const anchors = best.a;
    normalizeRows(anchors, n, d);
    return {
      anchors,
      shape: [n, d] as [number, number],
      minAngleDeg: best.stats.minAngleDeg,
      meanNearestAngleDeg: best.stats.meanNearestAngleDeg,
      initial,
      iterations: it,
      accepted,
      energy: best.energy,
    };
  });
}
