/**
 * NeRG-MaskCA (spec `gcdss.md` §4) on arrays: a directed kNN cosine graph from every unlabelled mask to all masks,
 * rank-weighted confidence propagation of base labels (Phase A), the re-check against the unreached masks (Phase B),
 * and area-weighted k-means of the novel candidates.
 *
 * Differences from the released code (spec §11): candidates are clustered with their own features and areas (the
 * released code indexes the feature rows by each candidate's ground-truth class, a leak reproduced only by
 * `method: 'nerg-official-leak'`), and k-means++ measures distances to the seed features (the released code used the
 * seed indices). The neighbour list drops the query itself wherever it appears among the k + 1 nearest (the released
 * code assumes it is first).
 */
import { InvalidArgumentError, OpGraphs, type Device } from '@trustvision/core-tensor';
import { estimateClusterCount, weightedKMeans, type EstimateResult } from './kmeans.js';
import {
  intOption,
  l2NormalizeRows,
  numOption,
  toAreas,
  toFeatures,
  toIds,
  type IdArray,
  type MatrixLike,
} from './validate.js';

/** The masks to classify: features, areas and labels (−1 = from an unlabelled image). */
export interface MaskSet {
  /** [M, D] features (L2-normalised internally). */
  features: MatrixLike;
  /** [M] pixel areas. */
  areas: ArrayLike<number>;
  /** [M] base class id for masks of labelled images, −1 for masks of unlabelled images. */
  labels: IdArray;
  /** [M] true class of every mask; read only by 'nerg-official-leak'. */
  gt?: IdArray;
}

export type ClusterMethod = 'nerg' | 'baseline' | 'nerg-official-leak';

export interface NergOptions {
  /** Neighbours per unlabelled mask (default 10). */
  k?: number;
  /** Vote threshold τ (default 0.1: a label needs a vote of τ·k). */
  threshold?: number;
  /** Phase-A iterations at most (default 10). */
  maxIterations?: number;
  /** Number of novel clusters; estimated by silhouette over the candidates when omitted (1 below 3 candidates). */
  novel?: number;
  /** Number of base classes (default max(label) + 1). */
  numBase?: number;
  /** Seed of k-means++ (default 0). */
  seed?: number;
  /** k-means iterations at most (default 300) and relative tolerance (1e-4). */
  kmeansMaxIter?: number;
  kmeansTol?: number;
  /** Largest k tried by the estimate (default 20). */
  maxNovel?: number;
  /** Device of the kNN and k-means op-graphs (default 'cpu'). */
  device?: Device;
}

export interface ClusterResult {
  /** [M] base class id, or numBase + j for novel cluster j; labelled masks keep their label. */
  assignments: Int32Array;
  numBase: number;
  /** Novel clusters used (given or estimated). */
  numNovel: number;
  /** Indices of the masks clustered as novel. */
  candidates: Int32Array;
  /** Present when the number of novel clusters was estimated. */
  estimate?: EstimateResult;
}

/** Rank weights a_r = k·0.9^r / Σ_{s<k} 0.9^s, r = 0..k−1 (Σ a_r = k). */
export function rankWeights(k: number): Float64Array {
  const a = new Float64Array(k);
  let s = 0;
  for (let r = 0; r < k; r++) s += 0.9 ** r;
  for (let r = 0; r < k; r++) a[r] = (k * 0.9 ** r) / s;
  return a;
}

export interface PropagationResult {
  /** [nU] Phase-A label of each unlabelled node: a base id, or −1 (never reached). */
  phaseA: Int32Array;
  /** [nU] 1 for the novel candidates Q. */
  novel: Uint8Array;
  /** Phase-A iterations run. */
  iterations: number;
}

/**
 * Phases A and B of NeRG-MaskCA on a given graph. Nodes are the masks 0..M−1; `labels[i]` is a base id or −1
 * (unlabelled); `unlabelled` lists the unlabelled nodes and `neighbors` [nU·k] their neighbour node ids, nearest first.
 */
export function propagateLabels(
  labels: Int32Array,
  unlabelled: Int32Array,
  neighbors: Int32Array,
  k: number,
  numBase: number,
  threshold = 0.1,
  maxIterations = 10,
): PropagationResult {
  const M = labels.length;
  const nU = unlabelled.length;
  const EMPTY = numBase; // ∅, the largest label value
  const a = rankWeights(k);
  let lab = new Int32Array(M);
  let w = new Float64Array(M);
  for (let i = 0; i < M; i++) {
    lab[i] = labels[i] >= 0 ? labels[i] : EMPTY;
    w[i] = labels[i] >= 0 ? 1 : 0;
  }
  const votes = new Float64Array(numBase + 1);
  const thr = threshold * k;
  // one vote: returns the argmax label (ties → smallest id) and its vote, or −1 when Σ w = 0
  const vote = (u: number, L: Int32Array, W: Float64Array): [number, number] => {
    votes.fill(0);
    let total = 0;
    const o = u * k;
    for (let r = 0; r < k; r++) {
      const n = neighbors[o + r];
      const wn = W[n];
      total += wn;
      votes[L[n]] += a[r] * wn;
    }
    if (total === 0) return [-1, 0];
    let best = 0;
    for (let c = 1; c <= numBase; c++) if (votes[c] > votes[best]) best = c;
    return [best, votes[best]];
  };
  let it = 0;
  for (; it < maxIterations; it++) {
    const nl = lab.slice();
    const nw = w.slice();
    let changed = false;
    for (let u = 0; u < nU; u++) {
      const node = unlabelled[u];
      const [c, v] = vote(u, lab, w);
      if (c < 0 || v < thr) continue;
      if (nl[node] !== c) changed = true;
      nl[node] = c;
      nw[node] = v / k;
    }
    lab = nl;
    w = nw;
    if (!changed) {
      it++;
      break;
    }
  }
  const phaseA = new Int32Array(nU);
  for (let u = 0; u < nU; u++) phaseA[u] = lab[unlabelled[u]] === EMPTY ? -1 : lab[unlabelled[u]];
  // Phase B: the unreached set R votes ∅ with weight 1; other unlabelled nodes get weight 0.
  const wB = new Float64Array(M);
  for (let i = 0; i < M; i++) wB[i] = labels[i] >= 0 ? 1 : 0;
  for (let u = 0; u < nU; u++) if (phaseA[u] < 0) wB[unlabelled[u]] = 1;
  const novel = new Uint8Array(nU);
  for (let u = 0; u < nU; u++) {
    if (phaseA[u] < 0) {
      novel[u] = 1; // R ⊆ Q (w = 1 > τ)
      continue;
    }
    const [c, v] = vote(u, lab, wB);
    if (c === EMPTY && v / k > threshold) novel[u] = 1;
  }
  return { phaseA, novel, iterations: it };
}

/**
 * Op-graph sets for the mask kNN, keyed by device and distance-block size. The block is sized to hold about 400 query
 * rows against all M reference masks (a power of two between 32 and 256 MiB): with 10⁵ masks core-tensor's default
 * 32 MiB block holds only 80 rows, and on 2 CPU cores 128 MiB blocks ran the kNN about 3× faster.
 */
const knnOps = new Map<string, Promise<OpGraphs>>();
function opsFor(device: Device, M: number): Promise<OpGraphs> {
  const exp = Math.min(28, Math.max(25, Math.round(Math.log2(400 * M * 4))));
  const key = `${device}:${exp}`;
  let p = knnOps.get(key);
  if (!p) {
    p = OpGraphs.create({ device, blockBytes: 2 ** exp });
    knnOps.set(key, p);
  }
  return p;
}

/** The k nearest other masks (cosine) of each unlabelled mask: [nU·k] node ids, nearest first. */
export async function maskNeighbors(
  unit: Float32Array,
  M: number,
  D: number,
  unlabelled: Int32Array,
  k: number,
  device: Device = 'cpu',
): Promise<Int32Array> {
  const nU = unlabelled.length;
  const q = new Float32Array(nU * D);
  for (let u = 0; u < nU; u++) q.set(unit.subarray(unlabelled[u] * D, unlabelled[u] * D + D), u * D);
  const kk = Math.min(k + 1, M);
  const ops = await opsFor(device, M);
  const res = await ops.knn({ data: q, shape: [nU, D] }, { data: unit, shape: [M, D] }, { k: kk, metric: 'cosine' });
  const out = new Int32Array(nU * k);
  for (let u = 0; u < nU; u++) {
    const self = unlabelled[u];
    let t = 0;
    for (let r = 0; r < kk && t < k; r++) {
      const n = res.indices[u * kk + r];
      if (n === self) continue;
      out[u * k + t++] = n;
    }
  }
  return out;
}

interface Prepared {
  M: number;
  D: number;
  unit: Float32Array;
  areas: Float64Array;
  labels: Int32Array;
  numBase: number;
  unlabelled: Int32Array;
}

/** Validates a mask set; shared with the baseline. */
export function prepareMasks(masks: MaskSet, numBaseOpt: number | undefined): Prepared {
  if (masks === null || typeof masks !== 'object')
    throw new InvalidArgumentError('masks', masks, 'a mask set { features, areas, labels }');
  const f = toFeatures('features', masks.features);
  const M = f.rows;
  const areas = toAreas('areas', masks.areas, M);
  const labels = toIds('labels', masks.labels, M, -1, 65535);
  let maxLabel = -1;
  for (let i = 0; i < M; i++) if (labels[i] > maxLabel) maxLabel = labels[i];
  if (maxLabel < 0)
    throw new InvalidArgumentError('labels', 'no labelled mask', 'at least one mask with a base label (>= 0)');
  const numBase = intOption('numBase', numBaseOpt, maxLabel + 1, maxLabel + 1);
  let nU = 0;
  for (let i = 0; i < M; i++) if (labels[i] < 0) nU++;
  if (nU === 0)
    throw new InvalidArgumentError(
      'labels',
      'no unlabelled mask',
      'at least one mask labelled −1 (from an unlabelled image)',
    );
  const unlabelled = new Int32Array(nU);
  for (let i = 0, u = 0; i < M; i++) if (labels[i] < 0) unlabelled[u++] = i;
  return { M, D: f.cols, unit: l2NormalizeRows('features', f.data, M, f.cols), areas, labels, numBase, unlabelled };
}

/** Runs NeRG-MaskCA (`leak` = the released code's ground-truth-indexed clustering, for comparison only). */
async function nerg(masks: MaskSet, options: NergOptions, leak: boolean): Promise<ClusterResult> {
  const p = prepareMasks(masks, options.numBase);
  const { M, D, unit, areas, labels, numBase, unlabelled } = p;
  const nU = unlabelled.length;
  const k = intOption('k', options.k, 10, 1, M - 1);
  const threshold = numOption('threshold', options.threshold, 0.1, 0, 1);
  const maxIterations = intOption('maxIterations', options.maxIterations, 10, 1);
  const device = options.device ?? 'cpu';
  let gt: Int32Array | undefined;
  if (leak) {
    if (masks.gt === undefined)
      throw new InvalidArgumentError('gt', undefined, "every mask's true class (required by 'nerg-official-leak')");
    gt = toIds('gt', masks.gt, M, 0, nU - 1);
  }
  const neighbors = await maskNeighbors(unit, M, D, unlabelled, k, device);
  const prop = propagateLabels(labels, unlabelled, neighbors, k, numBase, threshold, maxIterations);
  const cand: number[] = [];
  for (let u = 0; u < nU; u++) if (prop.novel[u]) cand.push(u);
  const nQ = cand.length;
  const assignments = Int32Array.from(labels);
  for (let u = 0; u < nU; u++) assignments[unlabelled[u]] = prop.phaseA[u];
  const candidates = Int32Array.from(cand, (u) => unlabelled[u]);
  if (nQ === 0) {
    if (options.novel !== undefined) intOption('novel', options.novel, 1, 1);
    return { assignments, numBase, numNovel: 0, candidates };
  }
  // the rows clustered: each candidate's own (fixed), or unlabelled mask #gt (the released code's leak, §11.1)
  const rows = leak ? cand.map((u) => gt![unlabelled[u]]) : cand;
  const x = new Float32Array(nQ * D);
  const w = new Float64Array(nQ);
  for (let q = 0; q < nQ; q++) {
    const node = unlabelled[rows[q]];
    x.set(unit.subarray(node * D, node * D + D), q * D);
    w[q] = areas[node];
  }
  let estimate: EstimateResult | undefined;
  let P: number;
  if (options.novel === undefined) {
    if (nQ < 3) P = 1;
    else {
      estimate = await estimateClusterCount(x, nQ, D, w, { maxK: options.maxNovel, seed: options.seed, device });
      P = estimate.k;
    }
  } else {
    P = intOption('novel', options.novel, 10, 1);
    if (P > nQ)
      throw new InvalidArgumentError(
        'novel',
        P,
        `at most the number of novel candidate masks (${nQ})`,
        'Lower --novel',
      );
  }
  const km = await weightedKMeans(x, nQ, D, w, P, {
    seed: options.seed ?? 0,
    maxIter: options.kmeansMaxIter,
    tol: options.kmeansTol,
    device,
  });
  for (let q = 0; q < nQ; q++) assignments[candidates[q]] = numBase + km.labels[q];
  return { assignments, numBase, numNovel: P, candidates, estimate };
}

/** NeRG-MaskCA with the spec §11 fixes (the package's method). */
export function nergMaskCA(masks: MaskSet, options: NergOptions = {}): Promise<ClusterResult> {
  return nerg(masks, options, false);
}

/**
 * NeRG-MaskCA as released: each novel candidate is clustered with the feature and area of unlabelled mask number
 * `gt[candidate]` (spec §11.1), so its cluster is a function of its true class. For comparison only; needs `gt`.
 */
export function nergOfficialLeak(masks: MaskSet, options: NergOptions = {}): Promise<ClusterResult> {
  return nerg(masks, options, true);
}
