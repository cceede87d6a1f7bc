/**
 * Inference-time use of (μ, κ): uncertainty-aware similarity and ranking by confidence.
 *
 * `mutualLikelihood` is the log of the probability that two vMF-distributed embeddings describe the same point,
 *
 *   log ∫_{S^{d−1}} vMF(x; μ1, κ1)·vMF(x; μ2, κ2) dx = log C_d(κ1) + log C_d(κ2) − log C_d(‖κ1μ1 + κ2μ2‖),
 *
 * (the product of two vMF densities is an unnormalised vMF with mean direction κ1μ1 + κ2μ2). It grows with the
 * cosine and, at a fixed cosine, rewards confident agreement and penalises confident disagreement; at κ → 0 it tends to
 * −log |S^{d−1}| for any pair. This is our choice of "uncertainty-aware similarity": SCF's closed-form similarity
 * (its Eq. 13) was not available to us.
 */
import { InvalidArgumentError, ShapeError } from '@trustvision/core-tensor';
import { vmfLogNormalizer } from './bessel.js';
import { checkUnitRows, toKappa, toMatrix, type MatrixInput } from './validate.js';

/** Mutual likelihood score of two unit embeddings with concentrations (see the module comment). */
export function mutualLikelihood(
  mu1: ArrayLike<number>,
  kappa1: number,
  mu2: ArrayLike<number>,
  kappa2: number,
): number {
  const a = toMatrix('mu1', { data: mu1, shape: [1, mu1?.length ?? 0] });
  const b = toMatrix('mu2', { data: mu2, shape: [1, mu2?.length ?? 0] });
  if (a.cols !== b.cols) throw new ShapeError('mu2', [b.cols], `[${a.cols}] (the dimension of mu1)`);
  if (a.cols < 2) throw new ShapeError('mu1', [a.cols], '[D] with D >= 2');
  checkUnitRows('mu1', a.data, 1, a.cols);
  checkUnitRows('mu2', b.data, 1, b.cols);
  const k1 = toKappa('kappa1', [kappa1])[0];
  const k2 = toKappa('kappa2', [kappa2])[0];
  return mls(a.data, 0, k1, b.data, 0, k2, a.cols);
}

function mls(a: Float64Array, oa: number, k1: number, b: Float64Array, ob: number, k2: number, d: number): number {
  let c = 0;
  for (let k = 0; k < d; k++) c += a[oa + k] * b[ob + k];
  // ‖κ1μ1 + κ2μ2‖² = κ1² + κ2² + 2κ1κ2·c, clamped at 0 against rounding for opposite directions
  const k12 = Math.sqrt(Math.max(0, k1 * k1 + k2 * k2 + 2 * k1 * k2 * c));
  return vmfLogNormalizer(d, k1) + vmfLogNormalizer(d, k2) - vmfLogNormalizer(d, k12);
}

/** Mutual likelihood scores between every row of `a` and every row of `b`: [Na·Nb], row-major. */
export function mutualLikelihoodMatrix(
  a: { embedding: MatrixInput; kappa: ArrayLike<number> },
  b: { embedding: MatrixInput; kappa: ArrayLike<number> },
): Float64Array {
  const ea = toMatrix('a.embedding', a?.embedding);
  const eb = toMatrix('b.embedding', b?.embedding, { cols: ea.cols });
  checkUnitRows('a.embedding', ea.data, ea.rows, ea.cols);
  checkUnitRows('b.embedding', eb.data, eb.rows, eb.cols);
  const ka = toKappa('a.kappa', a.kappa, ea.rows);
  const kb = toKappa('b.kappa', b.kappa, eb.rows);
  const out = new Float64Array(ea.rows * eb.rows);
  for (let i = 0; i < ea.rows; i++)
    for (let j = 0; j < eb.rows; j++)
      out[i * eb.rows + j] = mls(ea.data, i * ea.cols, ka[i], eb.data, j * eb.cols, kb[j], ea.cols);
  return out;
}

/** Indices sorted by decreasing κ (most confident first); ties keep their input order. */
export function rankByConfidence(kappa: ArrayLike<number>): Int32Array {
  const k = toKappa('kappa', kappa);
  const idx = Int32Array.from({ length: k.length }, (_, i) => i);
  return idx.sort((i, j) => k[j] - k[i] || i - j);
}

/** Cosine similarity of two unit embeddings (refuses non-unit inputs, like `mutualLikelihood`). */
export function cosine(mu1: ArrayLike<number>, mu2: ArrayLike<number>): number {
  if (mu1?.length !== mu2?.length)
    throw new InvalidArgumentError('mu2', `length ${mu2?.length}`, `length ${mu1?.length} (that of mu1)`);
  const a = toMatrix('mu1', { data: mu1, shape: [1, mu1.length] });
  const b = toMatrix('mu2', { data: mu2, shape: [1, mu2.length] });
  checkUnitRows('mu1', a.data, 1, a.cols);
  checkUnitRows('mu2', b.data, 1, b.cols);
  let c = 0;
  for (let k = 0; k < a.cols; k++) c += a.data[k] * b.data[k];
  return c;
}
