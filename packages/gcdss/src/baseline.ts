/**
 * The GCDSS baseline (spec `gcdss.md` §5): area-weighted semi-supervised k-means in the style of GCD's
 * `K_Means`. Labelled masks stay in their class; base centres start at the weighted class means, novel centres are
 * seeded by weighted k-means++ (D²·w^0.25) over the unlabelled masks; Lloyd iterations move base centres to the
 * weighted mean of their labelled and assigned unlabelled masks and novel centres to that of their unlabelled masks.
 * The run with the lowest inertia (over `nInit` runs and their iterations) wins.
 *
 * Differences from the released code: an empty cluster keeps its centre (the released code produces NaN), a base class
 * without labelled masks starts from a k-means++ seed too, and a run stops as soon as the assignment repeats (with
 * tolerance 0 the released code runs all 100 iterations, which then change nothing).
 */
import { InvalidArgumentError, Rng } from '@trustvision/core-tensor';
import type { ClusterResult, MaskSet } from './nerg.js';
import { prepareMasks } from './nerg.js';
import { intOption } from './validate.js';

export interface BaselineOptions {
  /** Number of novel clusters (required: the baseline does not estimate it). */
  novel: number;
  numBase?: number;
  /** Runs (default 5) and iterations per run (default 100). */
  nInit?: number;
  maxIter?: number;
  seed?: number;
  /** Initial centres [(numBase + novel)·D] for a single deterministic run (overrides nInit and the seeding). */
  init?: Float32Array | Float64Array;
}

function sqd(x: Float32Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  const a = i * d;
  const b = j * d;
  for (let t = 0; t < d; t++) {
    const v = x[a + t] - c[b + t];
    s += v * v;
  }
  return s;
}

/** Area-weighted semi-supervised k-means over the mask set. */
export function ssKMeansBaseline(masks: MaskSet, options: BaselineOptions): ClusterResult {
  const p = prepareMasks(masks, options?.numBase);
  const { M, D: d, unit: x, labels, numBase, unlabelled } = p;
  const nU = unlabelled.length;
  const P = intOption('novel', options?.novel, NaN, 1);
  if (Number.isNaN(P))
    throw new InvalidArgumentError('novel', undefined, 'the number of novel clusters (an integer >= 1)');
  if (P > nU) throw new InvalidArgumentError('novel', P, `at most the number of unlabelled masks (${nU})`);
  const K = numBase + P;
  const nInit = options.init ? 1 : intOption('nInit', options.nInit, 5, 1);
  const maxIter = intOption('maxIter', options.maxIter, 100, 1);
  if (options.init && options.init.length !== K * d)
    throw new InvalidArgumentError('init', `${options.init.length} values`, `${K}·${d} centres`);
  let maxArea = 0;
  for (let i = 0; i < M; i++) if (p.areas[i] > maxArea) maxArea = p.areas[i];
  const w = new Float64Array(M);
  for (let i = 0; i < M; i++) w[i] = maxArea > 0 ? p.areas[i] / maxArea : 1;
  const rng = Rng.from(options.seed ?? 0);

  const centres = (assign: Int32Array, prev: Float64Array): Float64Array => {
    const sum = new Float64Array(K * d);
    const ws = new Float64Array(K);
    for (let i = 0; i < M; i++) {
      const c = assign[i];
      if (c < 0) continue;
      const wi = w[i];
      ws[c] += wi;
      const o = i * d;
      for (let t = 0; t < d; t++) sum[c * d + t] += wi * x[o + t];
    }
    for (let c = 0; c < K; c++) {
      if (ws[c] > 0) for (let t = 0; t < d; t++) sum[c * d + t] /= ws[c];
      else for (let t = 0; t < d; t++) sum[c * d + t] = prev[c * d + t];
    }
    return sum;
  };

  let bestInertia = Infinity;
  let bestAssign = new Int32Array(M);
  const assign = new Int32Array(M);
  for (let run = 0; run < nInit; run++) {
    const r = rng.fork(run);
    let C: Float64Array = new Float64Array(K * d);
    const have = new Uint8Array(K);
    if (options.init) {
      C.set(options.init);
      have.fill(1);
    } else {
      for (let i = 0; i < M; i++) assign[i] = labels[i] >= 0 ? labels[i] : -1;
      C = centres(assign, C);
      for (let i = 0; i < M; i++) if (labels[i] >= 0) have[labels[i]] = 1;
      // weighted k-means++ over the unlabelled masks from the base centres: p ∝ D²·w^0.25
      const best = new Float64Array(nU).fill(Infinity);
      for (let c = 0; c < K; c++)
        if (have[c]) for (let u = 0; u < nU; u++) best[u] = Math.min(best[u], sqd(x, unlabelled[u], C, c, d));
      const order: number[] = [];
      for (let c = 0; c < K; c++) if (!have[c]) order.push(c);
      for (const c of order) {
        let total = 0;
        const pr = new Float64Array(nU);
        for (let u = 0; u < nU; u++) total += pr[u] = (best[u] === Infinity ? 1 : best[u]) * w[unlabelled[u]] ** 0.25;
        let pick = nU - 1;
        if (total > 0) {
          const t = r.uniform() * total;
          let acc = 0;
          for (let u = 0; u < nU; u++) {
            acc += pr[u];
            if (t < acc) {
              pick = u;
              break;
            }
          }
        } else pick = r.int(nU);
        const node = unlabelled[pick];
        for (let t = 0; t < d; t++) C[c * d + t] = x[node * d + t];
        have[c] = 1;
        for (let u = 0; u < nU; u++) best[u] = Math.min(best[u], sqd(x, unlabelled[u], C, c, d));
      }
    }
    const prev = new Int32Array(M).fill(-2);
    for (let it = 0; it < maxIter; it++) {
      let inertia = 0;
      for (let i = 0; i < M; i++) {
        if (labels[i] >= 0) {
          assign[i] = labels[i];
          inertia += sqd(x, i, C, labels[i], d);
          continue;
        }
        let bc = 0;
        let bv = Infinity;
        for (let c = 0; c < K; c++) {
          const v = sqd(x, i, C, c, d);
          if (v < bv) {
            bv = v;
            bc = c;
          }
        }
        assign[i] = bc;
        inertia += bv;
      }
      if (inertia < bestInertia) {
        bestInertia = inertia;
        bestAssign = assign.slice();
      }
      let same = true;
      for (let i = 0; i < M; i++)
        if (assign[i] !== prev[i]) {
          same = false;
          break;
        }
      if (same) break;
      prev.set(assign);
      // base centres: labelled + assigned unlabelled; novel: assigned unlabelled only (same rule, labelled masks never
      // sit in a novel cluster)
      C = centres(assign, C);
    }
  }
  const candidates: number[] = [];
  for (const u of unlabelled) if (bestAssign[u] >= numBase) candidates.push(u);
  return { assignments: bestAssign, numBase, numNovel: P, candidates: Int32Array.from(candidates) };
}
