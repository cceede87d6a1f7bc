/**
 * The vector form: an ordinary embedding (e.g. faceres' 1024-d descriptor) gathered into G groups of d dimensions
 * with G group weights. The grid form gets both from the IR-50 model (a learned 1×1 projection and an attention map);
 * for an embedding the grouping and the weights are learned here from labelled templates, "in a recognition-favoured
 * way":
 *
 * - grouping 'discriminability' (default): dimensions sorted by their Fisher ratio (between-identity over
 *   within-identity variance) and cut into consecutive groups, so that each group is homogeneous in how much identity
 *   it carries and the weights (and the weighted dropout) can tell good groups from bad.
 * - grouping 'correlation': dimensions are ordered by their Fisher ratio (between-identity over
 *   within-identity variance); each group is seeded by the most discriminative unassigned dimension, joined by the
 *   unassigned dimensions clearly correlated with it (|r| ≥ 0.3), and filled up with the next most discriminative
 *   ones. Redundant dimensions in one group keep the group's cosine stable when the dropout removes some of them,
 *   and groups of similar discriminability let the weights (and the weighted dropout) tell good groups from bad.
 *   'contiguous' and 'random' (seeded) are the baselines.
 * - weighting 'fisher' (default): w_i ∝ max(0, μ_gen,i − μ_imp,i) / ((σ²_gen,i + σ²_imp,i)/2) over genuine and
 *   impostor pairs of group cosines (the diagonal LDA weight of each group's cosine), normalised to sum 1;
 *   'uniform' gives 1/G.
 */
import { InvalidArgumentError, NonFiniteError, Rng, ShapeError } from '@trustvision/core-tensor';
import { createTemplate, type FloatArrayLike, type Template } from './protect.js';

export type Grouping = 'discriminability' | 'correlation' | 'contiguous' | 'random';
export type Weighting = 'fisher' | 'uniform';

export interface GroupLayout {
  /** Stable id, recorded in every protected record (records only match probes of the same layout). */
  readonly id: string;
  readonly dim: number;
  readonly groups: number;
  readonly groupSize: number;
  /** [G·d] the source dimension of each grouped position. */
  readonly index: Int32Array;
  /** [G] group weights summing to 1. */
  readonly weights: Float64Array;
  /** [D] subtracted from every embedding before grouping (the training mean; absent = no centring). */
  readonly center?: Float64Array;
  readonly grouping: Grouping;
  readonly weighting: Weighting;
}

function fnv1a(bytes: Uint8Array): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i], 0x01000193);
    h2 = Math.imul(h2 ^ bytes[i], 0x5bd1e995);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

function layoutId(
  dim: number,
  G: number,
  d: number,
  index: Int32Array,
  weights: Float64Array,
  center?: Float64Array,
): string {
  const c = center ?? new Float64Array(0);
  const b = new Uint8Array(index.byteLength + weights.byteLength + c.byteLength);
  b.set(new Uint8Array(index.buffer, index.byteOffset, index.byteLength));
  b.set(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), index.byteLength);
  b.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), index.byteLength + weights.byteLength);
  return `vector-${dim}-${G}x${d}-${fnv1a(b)}`;
}

function checkSizes(dim: unknown, groupSize: unknown): { dim: number; d: number; G: number } {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 2)
    throw new InvalidArgumentError('dim', dim, 'an integer ≥ 2');
  if (typeof groupSize !== 'number' || !Number.isInteger(groupSize) || groupSize < 2 || groupSize > dim)
    throw new InvalidArgumentError('groupSize', groupSize, `an integer in [2, ${dim}]`);
  if (dim % groupSize !== 0)
    throw new InvalidArgumentError('groupSize', groupSize, `a divisor of the embedding dimension ${dim}`);
  return { dim, d: groupSize, G: dim / groupSize };
}

/** Builds a layout from an explicit index and weights (validated). */
export function makeLayout(
  dim: number,
  groupSize: number,
  index: ArrayLike<number>,
  weights: ArrayLike<number>,
  grouping: Grouping = 'contiguous',
  weighting: Weighting = 'uniform',
  center?: ArrayLike<number>,
): GroupLayout {
  const { G, d } = checkSizes(dim, groupSize);
  if (index.length !== dim) throw new ShapeError('index', `[${index.length}]`, `[${dim}]`);
  const idx = Int32Array.from(index);
  const seen = new Uint8Array(dim);
  for (let i = 0; i < dim; i++) {
    if (!(idx[i] >= 0 && idx[i] < dim) || idx[i] !== index[i] || seen[idx[i]])
      throw new InvalidArgumentError('index', `index[${i}] = ${index[i]}`, `a permutation of 0..${dim - 1}`);
    seen[idx[i]] = 1;
  }
  if (weights.length !== G) throw new ShapeError('weights', `[${weights.length}]`, `[${G}]`);
  const w = Float64Array.from(weights);
  let sum = 0;
  for (let i = 0; i < G; i++) {
    if (!Number.isFinite(w[i])) throw new NonFiniteError('weights', i, w[i]);
    if (w[i] < 0) throw new InvalidArgumentError('weights', `weights[${i}] = ${w[i]}`, 'non-negative weights');
    sum += w[i];
  }
  if (!(sum > 0)) throw new InvalidArgumentError('weights', 'all zero', 'weights with a positive sum');
  // already-normalised weights (e.g. read back from JSON) are kept bit for bit, so the id is stable
  if (Math.abs(sum - 1) > 1e-9) for (let i = 0; i < G; i++) w[i] /= sum;
  let c: Float64Array | undefined;
  if (center !== undefined) {
    if (center.length !== dim) throw new ShapeError('center', `[${center.length}]`, `[${dim}]`);
    c = Float64Array.from(center);
    for (let i = 0; i < dim; i++) if (!Number.isFinite(c[i])) throw new NonFiniteError('center', i, c[i]);
  }
  const layout: GroupLayout = {
    id: layoutId(dim, G, d, idx, w, c),
    dim,
    groups: G,
    groupSize: d,
    index: idx,
    weights: w,
    grouping,
    weighting,
  };
  return c ? { ...layout, center: c } : layout;
}

/** Dimensions in order, uniform weights. */
export function contiguousLayout(dim: number, groupSize = 16): GroupLayout {
  const { G } = checkSizes(dim, groupSize);
  return makeLayout(
    dim,
    groupSize,
    Int32Array.from({ length: dim }, (_, i) => i),
    new Float64Array(G).fill(1 / G),
  );
}

/** The template of one embedding under a layout (vector form). */
export function templateFromEmbedding(embedding: FloatArrayLike, layout: GroupLayout): Template {
  if (
    embedding === null ||
    typeof embedding !== 'object' ||
    typeof (embedding as ArrayLike<number>).length !== 'number'
  )
    throw new InvalidArgumentError('embedding', embedding, 'a Float32Array, Float64Array or number[]');
  if (embedding.length !== layout.dim)
    throw new ShapeError('embedding', `[${embedding.length}]`, `[${layout.dim}] (the layout's dim)`);
  const v = new Float64Array(layout.dim);
  const c = layout.center;
  for (let i = 0; i < layout.dim; i++) v[i] = embedding[layout.index[i]] - (c ? c[layout.index[i]] : 0);
  return createTemplate(v, layout.weights, {
    groups: layout.groups,
    groupSize: layout.groupSize,
    form: 'vector',
    layout: layout.id,
    allowZeroGroups: true,
  });
}

export interface LearnLayoutOptions {
  groupSize?: number;
  grouping?: Grouping;
  weighting?: Weighting;
  /** Seed for 'random' grouping and for sampling impostor pairs (default 0). */
  seed?: number;
  /** Cap on genuine and on impostor pairs used for the weights (default 20000 each). */
  maxPairs?: number;
  /** Subtract the training mean from every embedding (default true): non-negative features are then centred. */
  center?: boolean;
}

export interface LearnedLayout extends GroupLayout {
  /** Per-group genuine/impostor cosine statistics behind the weights. */
  readonly stats: {
    genuineMean: Float64Array;
    impostorMean: Float64Array;
    dprime: Float64Array;
    pairs: [number, number];
  };
}

/**
 * Learns a layout from N labelled embeddings ([N·D] row-major, `labels` [N]). Needs at least two identities and one
 * identity with two or more samples.
 */
export function learnLayout(
  embeddings: Float32Array | Float64Array,
  dim: number,
  labels: ArrayLike<number | string>,
  options: LearnLayoutOptions = {},
): LearnedLayout {
  const groupSize = options.groupSize ?? 16;
  const { G, d } = checkSizes(dim, groupSize);
  if (!(embeddings instanceof Float32Array) && !(embeddings instanceof Float64Array))
    throw new InvalidArgumentError('embeddings', embeddings, 'a Float32Array or Float64Array [N·D]');
  const N = labels?.length;
  if (typeof N !== 'number' || N < 2) throw new InvalidArgumentError('labels', labels, 'at least two labels');
  if (embeddings.length !== N * dim)
    throw new ShapeError('embeddings', `[${embeddings.length}]`, `[${N * dim}] (labels × dim)`);
  for (let i = 0; i < embeddings.length; i++)
    if (!Number.isFinite(embeddings[i])) throw new NonFiniteError('embeddings', i, embeddings[i]);
  const grouping = options.grouping ?? 'discriminability';
  const weighting = options.weighting ?? 'fisher';
  if (!['discriminability', 'correlation', 'contiguous', 'random'].includes(grouping))
    throw new InvalidArgumentError('grouping', grouping, "'discriminability', 'correlation', 'contiguous' or 'random'");
  if (!['fisher', 'uniform'].includes(weighting))
    throw new InvalidArgumentError('weighting', weighting, "'fisher' or 'uniform'");
  const maxPairs = options.maxPairs ?? 20000;
  if (!Number.isInteger(maxPairs) || maxPairs < 1)
    throw new InvalidArgumentError('maxPairs', maxPairs, 'a positive integer');
  const rng = Rng.from(options.seed ?? 0);

  // identities
  const ids = new Map<number | string, number[]>();
  for (let i = 0; i < N; i++) {
    const l = labels[i];
    if (!ids.has(l)) ids.set(l, []);
    ids.get(l)!.push(i);
  }
  const classes = [...ids.values()];
  if (classes.length < 2)
    throw new InvalidArgumentError('labels', `${classes.length} identity`, 'at least two identities');
  if (!classes.some((c) => c.length >= 2))
    throw new InvalidArgumentError(
      'labels',
      'one sample per identity',
      'at least one identity with two or more samples',
    );

  // 0. centring: everything below works on the centred embeddings
  let center: Float64Array | undefined;
  if (options.center ?? true) {
    center = new Float64Array(dim);
    for (let i = 0; i < N; i++) for (let j = 0; j < dim; j++) center[j] += embeddings[i * dim + j];
    for (let j = 0; j < dim; j++) center[j] /= N;
    const c = new Float64Array(N * dim);
    for (let i = 0; i < N; i++) for (let j = 0; j < dim; j++) c[i * dim + j] = embeddings[i * dim + j] - center[j];
    embeddings = c;
  }

  // 1. grouping
  let index: Int32Array;
  if (grouping === 'contiguous') index = Int32Array.from({ length: dim }, (_, i) => i);
  else if (grouping === 'random') index = rng.split('grouping').permutation(dim);
  else index = correlationGrouping(embeddings, N, dim, d, classes, grouping === 'correlation');

  // 2. weights from genuine / impostor pairs of group cosines
  const genuine: [number, number][] = [];
  for (const c of classes)
    for (let a = 0; a < c.length; a++) for (let b = a + 1; b < c.length; b++) genuine.push([c[a], c[b]]);
  const label = new Int32Array(N);
  classes.forEach((c, ci) => c.forEach((i) => (label[i] = ci)));
  const pick = rng.split('pairs');
  const gen =
    genuine.length > maxPairs ? Array.from(pick.choice(genuine.length, maxPairs), (i) => genuine[i]) : genuine;
  const imp: [number, number][] = [];
  for (
    let tries = 0;
    imp.length < Math.min(maxPairs, Math.max(gen.length * 4, 1000)) && tries < maxPairs * 20;
    tries++
  ) {
    const a = pick.int(N);
    const b = pick.int(N);
    if (label[a] !== label[b]) imp.push([a, b]);
  }
  const stats = groupCosineStats(embeddings, dim, index, G, d, gen, imp);
  const w = new Float64Array(G);
  if (weighting === 'uniform') w.fill(1 / G);
  else {
    for (let i = 0; i < G; i++) {
      const v = (stats.gVar[i] + stats.iVar[i]) / 2;
      w[i] = Math.max(0, stats.gMean[i] - stats.iMean[i]) / Math.max(v, 1e-12);
    }
    let s = 0;
    for (let i = 0; i < G; i++) s += w[i];
    if (!(s > 0)) w.fill(1 / G);
  }
  const layout = makeLayout(dim, d, index, w, grouping, weighting, center);
  const dprime = new Float64Array(G);
  for (let i = 0; i < G; i++)
    dprime[i] = (stats.gMean[i] - stats.iMean[i]) / Math.sqrt(Math.max((stats.gVar[i] + stats.iVar[i]) / 2, 1e-24));
  return {
    ...layout,
    stats: { genuineMean: stats.gMean, impostorMean: stats.iMean, dprime, pairs: [gen.length, imp.length] },
  };
}

/** |correlation| at which a dimension joins a seed's group as a partner. */
const CORRELATED = 0.3;

function correlationGrouping(
  x: Float32Array | Float64Array,
  N: number,
  D: number,
  d: number,
  classes: number[][],
  byCorrelation: boolean,
): Int32Array {
  // per-dimension mean, standardised copy, Fisher ratio
  const mean = new Float64Array(D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) mean[j] += x[i * D + j];
  for (let j = 0; j < D; j++) mean[j] /= N;
  const z = new Float64Array(N * D);
  const sd = new Float64Array(D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) sd[j] += (x[i * D + j] - mean[j]) ** 2;
  for (let j = 0; j < D; j++) sd[j] = Math.sqrt(sd[j] / N) || 1;
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) z[i * D + j] = (x[i * D + j] - mean[j]) / sd[j];
  const within = new Float64Array(D);
  const between = new Float64Array(D);
  const cm = new Float64Array(D);
  for (const c of classes) {
    cm.fill(0);
    for (const i of c) for (let j = 0; j < D; j++) cm[j] += z[i * D + j];
    for (let j = 0; j < D; j++) cm[j] /= c.length;
    for (const i of c) for (let j = 0; j < D; j++) within[j] += (z[i * D + j] - cm[j]) ** 2;
    for (let j = 0; j < D; j++) between[j] += c.length * cm[j] * cm[j];
  }
  const fisher = Float64Array.from({ length: D }, (_, j) => between[j] / Math.max(within[j], 1e-12));
  const order = Array.from({ length: D }, (_, j) => j).sort((a, b) => fisher[b] - fisher[a] || a - b);
  if (!byCorrelation) return Int32Array.from(order);
  // correlation matrix (D × D) of the standardised dimensions
  const corr = new Float64Array(D * D);
  const col = new Float64Array(N);
  for (let a = 0; a < D; a++) {
    for (let i = 0; i < N; i++) col[i] = z[i * D + a];
    for (let b = a; b < D; b++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += col[i] * z[i * D + b];
      corr[a * D + b] = corr[b * D + a] = s / N;
    }
  }
  const used = new Uint8Array(D);
  const index = new Int32Array(D);
  let o = 0;
  for (const seed of order) {
    if (used[seed]) continue;
    used[seed] = 1;
    index[o++] = seed;
    // partners: the dimensions clearly correlated with the seed, strongest first; the rest of the group is filled
    // with the most discriminative unassigned dimensions, so each group is homogeneous in discriminability
    const cand: number[] = [];
    for (let j = 0; j < D; j++) if (!used[j] && Math.abs(corr[seed * D + j]) >= CORRELATED) cand.push(j);
    cand.sort((a, b) => Math.abs(corr[seed * D + b]) - Math.abs(corr[seed * D + a]) || a - b);
    let filled = 0;
    for (const j of cand) {
      if (filled === d - 1) break;
      used[j] = 1;
      index[o++] = j;
      filled++;
    }
    for (const j of order) {
      if (filled === d - 1) break;
      if (used[j]) continue;
      used[j] = 1;
      index[o++] = j;
      filled++;
    }
  }
  return index;
}

function groupCosineStats(
  x: Float32Array | Float64Array,
  D: number,
  index: Int32Array,
  G: number,
  d: number,
  gen: [number, number][],
  imp: [number, number][],
): { gMean: Float64Array; gVar: Float64Array; iMean: Float64Array; iVar: Float64Array } {
  const stats = (pairs: [number, number][]) => {
    const m = new Float64Array(G);
    const m2 = new Float64Array(G);
    for (const [a, b] of pairs) {
      for (let g = 0; g < G; g++) {
        let ab = 0;
        let aa = 0;
        let bb = 0;
        for (let j = 0; j < d; j++) {
          const k = index[g * d + j];
          const u = x[a * D + k];
          const v = x[b * D + k];
          ab += u * v;
          aa += u * u;
          bb += v * v;
        }
        const c = aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
        m[g] += c;
        m2[g] += c * c;
      }
    }
    const n = Math.max(pairs.length, 1);
    const v = new Float64Array(G);
    for (let g = 0; g < G; g++) {
      m[g] /= n;
      v[g] = Math.max(0, m2[g] / n - m[g] * m[g]);
    }
    return [m, v] as const;
  };
  const [gMean, gVar] = stats(gen);
  const [iMean, iVar] = stats(imp);
  return { gMean, gVar, iMean, iVar };
}

/** A layout as JSON (for saving next to a gallery). */
export function layoutToJSON(layout: GroupLayout): Record<string, unknown> {
  return {
    format: 'slerpface-layout',
    version: 1,
    id: layout.id,
    dim: layout.dim,
    groupSize: layout.groupSize,
    grouping: layout.grouping,
    weighting: layout.weighting,
    index: Array.from(layout.index),
    weights: Array.from(layout.weights),
    ...(layout.center ? { center: Array.from(layout.center) } : {}),
  };
}

/** Parses `layoutToJSON`'s output; checks that the id matches the contents. */
export function layoutFromJSON(json: unknown): GroupLayout {
  const o = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, unknown>;
  if (o === null || typeof o !== 'object' || o.format !== 'slerpface-layout')
    throw new InvalidArgumentError('layout', json, "a 'slerpface-layout' JSON object");
  if (o.version !== 1) throw new InvalidArgumentError('layout.version', o.version, '1');
  const l = makeLayout(
    o.dim as number,
    o.groupSize as number,
    o.index as number[],
    o.weights as number[],
    o.grouping as Grouping,
    o.weighting as Weighting,
    o.center as number[] | undefined,
  );
  if (o.id !== undefined && o.id !== l.id)
    throw new InvalidArgumentError(
      'layout.id',
      o.id,
      `${l.id} (the id of its index and weights)`,
      'The layout file was edited or is corrupt',
    );
  return l;
}
