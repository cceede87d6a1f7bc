/**
 * Identity embeddings per anchor (spec `id3.md` §2.6 step 2, [INFERRED] construction): for anchor w_i and
 * j = 1..m, draw v_ij ~ U[lb, ub] and y_ij at exactly that cosine to w_i, with its component orthogonal to w_i
 * uniform in direction (`sampleAtCosine`). The paper studies [lb, ub] = [0.5, 0.7] and [0.7, 0.9] [READ].
 *
 * Seeding: identity i uses its own stream `Rng.from(seed).split('id3-embeddings', i)`, so an identity's embeddings
 * depend only on the seed and its index (not on N or on the order identities are processed in). Per image it draws
 * one uniform (v_ij), then d normals (the direction).
 */
import { InvalidArgumentError, Rng } from '@trustvision/core-tensor';
import { sampleAtCosine } from './cap.js';
import { checkInt, checkNumber, checkSeed, toUnitRows, type MatrixLike } from './validate.js';

export interface EmbeddingOptions {
  /** Embeddings per identity m ≥ 1. */
  perIdentity: number;
  /** Lower and upper bound of the cosine to the anchor, −1 ≤ lb ≤ ub ≤ 1. */
  lb: number;
  ub: number;
  /** Seed (core-tensor `Rng.from`; default 0). */
  seed?: number | string | bigint;
  /** Called after each identity with (identities done, N). */
  onProgress?: (done: number, total: number) => void;
}

export interface EmbeddingResult {
  /** [N, m, d] float32, unit rows, row-major: embedding j of identity i starts at (i·m + j)·d. */
  embeddings: Float32Array;
  shape: [number, number, number];
  /** [N, m] the drawn cosines v_ij (float64); ⟨y_ij, w_i⟩ = v_ij up to float32 rounding. */
  cosines: Float64Array;
}

/** Most elements an output may have (a Float32Array of 2^31 − 1 elements is 8 GiB). */
export const MAX_EMBEDDING_ELEMENTS = 2 ** 31 - 1;

/** m identity embeddings per anchor at a cosine drawn uniformly from [lb, ub] (see the module comment). */
export function sampleEmbeddings(anchors: MatrixLike, options: EmbeddingOptions): EmbeddingResult {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('options', options, 'an object { perIdentity, lb, ub }');
  const { data, rows: n, cols: d } = toUnitRows('anchors', anchors, 1);
  const m = checkInt('perIdentity', options.perIdentity, 1);
  const lb = checkNumber('lb', options.lb, -1, 1);
  const ub = checkNumber('ub', options.ub, -1, 1);
  if (lb > ub) throw new InvalidArgumentError('ub', ub, `a number in [lb, 1] = [${lb}, 1]`);
  const seed = checkSeed('seed', options.seed ?? 0);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw new InvalidArgumentError('onProgress', options.onProgress, 'a function');
  const total = n * m * d;
  if (total > MAX_EMBEDDING_ELEMENTS)
    throw new InvalidArgumentError(
      'perIdentity',
      m,
      `at most ${Math.floor(MAX_EMBEDDING_ELEMENTS / (n * d))} for ${n} anchors of dimension ${d}`,
      'Generate the identities in shards',
    );
  const root = Rng.from(seed);
  const out = new Float32Array(total);
  const cosines = new Float64Array(n * m);
  const w = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) w[t] = data[i * d + t];
    drawIdentity(w, root.split('id3-embeddings', i), m, lb, ub, out, cosines, i * m);
    options.onProgress?.(i + 1, n);
  }
  return { embeddings: out, shape: [n, m, d], cosines };
}

function drawIdentity(
  w: Float64Array,
  rng: Rng,
  m: number,
  lb: number,
  ub: number,
  out: Float32Array,
  cosines: Float64Array,
  row: number,
): void {
  const d = w.length;
  for (let j = 0; j < m; j++) {
    const v = lb === ub ? lb : Math.min(ub, lb + (ub - lb) * rng.uniform());
    const y = sampleAtCosine(w, v, rng);
    out.set(y, (row + j) * d);
    cosines[row + j] = v;
  }
}

/**
 * The embeddings of identity `index` alone: the same values as rows [index] of `sampleEmbeddings` over the whole
 * anchor matrix (same stream `Rng.from(seed).split('id3-embeddings', index)`), without the other identities.
 */
export function identityEmbeddings(
  anchor: Float32Array | Float64Array,
  index: number,
  options: EmbeddingOptions,
): { embeddings: Float32Array; cosines: Float64Array } {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('options', options, 'an object { perIdentity, lb, ub }');
  const { data, cols: d } = toUnitRows('anchor', { data: anchor, shape: [1, anchor?.length] }, 1);
  checkInt('index', index, 0);
  const m = checkInt('perIdentity', options.perIdentity, 1);
  const lb = checkNumber('lb', options.lb, -1, 1);
  const ub = checkNumber('ub', options.ub, -1, 1);
  if (lb > ub) throw new InvalidArgumentError('ub', ub, `a number in [lb, 1] = [${lb}, 1]`);
  const seed = checkSeed('seed', options.seed ?? 0);
  const out = new Float32Array(m * d);
  const cosines = new Float64Array(m);
  drawIdentity(Float64Array.from(data), Rng.from(seed).split('id3-embeddings', index), m, lb, ub, out, cosines, 0);
  return { embeddings: out, cosines };
}
