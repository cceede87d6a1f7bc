/**
 * Contrastive losses with analytic gradients, on a batch of raw embeddings z [N, D], concentrations κ [N] and
 * positive pairs [P, 2]. Every variant first normalises, μ_i = z_i / ‖z_i‖, and writes c_ij = μ_i·μ_j.
 *
 * Each positive pair (a, b) contributes two anchor terms, a → b and b → a (the symmetric SimCLR/NT-Xent form); the loss
 * is the mean over those T = 2P terms. For the softmax variants the candidates of anchor a are all rows j ≠ a of the
 * batch (its positive included), so every other row is a negative:
 *
 * - `infonce` (the deterministic baseline, temperature τ):
 *     ℓ_{a→b} = −s_ab + log Σ_{j≠a} exp(s_aj),   s_aj = c_aj / τ.
 * - `prob` (the temperature reinterpreted through an r-radius vMF; spec §B3 candidate (a)): anchor a is the r-radius
 *   vMF(μ_a, κ_a), and its logit for candidate j is κ_a·(μ_a·rμ_j)/r² = (κ_a / r)·c_aj, i.e. InfoNCE with a per-sample
 *   temperature τ_a = r / κ_a. κ_a is the confidence: a large κ_a sharpens anchor a's softmax, which pays off only when
 *   its positive is the most similar candidate, so κ is learned to be high for samples whose nearest neighbour is
 *   reliably their own view and low for ambiguous ones. With κ_a = r/τ for every a it equals `infonce`. The vMF
 *   normaliser log C_d(κ_a) is constant over j and cancels in the softmax, so it does not appear (spec §B3).
 * - `scf` (SCF's KL from a Dirac to an r-radius vMF, per anchor, with the positive's direction as the Dirac):
 *     ℓ_{a→b} = −κ_a·c_ab − (d/2 − 1)·log κ_a + log I_{d/2−1}(κ_a) + (d/2)·log 2π + d·log r
 *            = −κ_a·c_ab − log C_d(κ_a) + d·log r,
 *   the negative vMF log-likelihood of μ_b under vMF(μ_a, κ_a) up to the constant d·log r (spec §B2). It has no
 *   negatives: on its own it aligns positives and fits κ so that A_d(κ_a) = c_ab at the optimum; train it on a frozen
 *   embedding (as SCF does) or together with `infonce`, as the `Trainer`'s 'scf' objective does.
 *
 * Gradients. With g_aj = ∂loss/∂s_aj = (count_a·p_aj − #{terms a→j}) / T, where p_a· is anchor a's softmax and
 * count_a its number of terms, s_aj = w_a·c_aj with w_a = 1/τ or κ_a/r: ∂/∂κ_a = Σ_j g_aj c_aj / r (prob),
 * ∂/∂μ_a += w_a Σ_j g_aj μ_j, ∂/∂μ_j += w_a g_aj μ_a. For scf: ∂ℓ/∂κ_a = −c_ab + A_d(κ_a), ∂ℓ/∂c_ab = −κ_a. Finally
 * ∂/∂z_i = (I − μ_i μ_iᵀ) ∂/∂μ_i / ‖z_i‖.
 *
 * Cost: O(N²·D) time (three passes over the batch per anchor row), O(N·D) memory; no N×N matrix is stored. For large
 * batches on a GPU see `contrastiveLossGraph` (the same formulas as an ONNX op-graph).
 */
import { InvalidArgumentError } from '@trustvision/core-tensor';
import { besselRatio, logBesselI } from './bessel.js';
import {
  checkNumber,
  checkOneOf,
  checkUnitRows,
  toKappa,
  toMatrix,
  toPairs,
  type MatrixInput,
  type PairsInput,
  type VectorInput,
} from './validate.js';

export const LOSS_VARIANTS = ['infonce', 'prob', 'scf'] as const;
export type LossVariant = (typeof LOSS_VARIANTS)[number];

export interface LossInput {
  /** Raw embeddings [N, D] (normalised inside). */
  z: MatrixInput;
  /** Concentrations κ [N] (> 0). Required by 'prob' and 'scf', ignored by 'infonce'. */
  kappa?: VectorInput;
  /** Positive pairs [P, 2] of row indices (at least one). */
  pairs: PairsInput;
}

export interface LossOptions {
  variant?: LossVariant;
  /** Temperature of 'infonce' (default 0.1). */
  tau?: number;
  /** Hypersphere radius r of 'prob' and 'scf' (default 1, so that κ is the inverse temperature of 'prob'). */
  radius?: number;
  /** Compute gradients (default true). */
  grad?: boolean;
  /**
   * Require the rows of z to be unit vectors already (|‖z_i‖ − 1| ≤ 1e-3), e.g. when they come from a model whose
   * `embedding` output is normalised. A row that is not is an InvalidArgumentError instead of being normalised.
   */
  requireUnit?: boolean;
}

export interface LossResult {
  loss: number;
  /** ∂loss/∂z [N·D] (row-major), when gradients were asked for. */
  gradZ?: Float64Array;
  /** ∂loss/∂κ [N] ('prob' and 'scf'; zeros for 'infonce'), when gradients were asked for. */
  gradKappa?: Float64Array;
  /** Number of anchor terms T = 2P the loss averages. */
  terms: number;
  n: number;
  d: number;
}

/** Normalised rows and their norms; a zero row is an InvalidArgumentError. */
export function normalizeRows(param: string, z: Float64Array, n: number, d: number) {
  const mu = new Float64Array(n * d);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += z[o + k] * z[o + k];
    const norm = Math.sqrt(s);
    if (!(norm > 0))
      throw new InvalidArgumentError(
        `${param}[${i}]`,
        'a zero vector',
        'a non-zero embedding',
        'its direction, and so the loss, is undefined',
      );
    norms[i] = norm;
    const inv = 1 / norm;
    for (let k = 0; k < d; k++) mu[o + k] = z[o + k] * inv;
  }
  return { mu, norms };
}

/** Projects ∂/∂μ to ∂/∂z in place: g_i ← (g_i − μ_i (μ_i·g_i)) / ‖z_i‖. */
export function backpropNormalize(gMu: Float64Array, mu: Float64Array, norms: Float64Array, n: number, d: number) {
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let dot = 0;
    for (let k = 0; k < d; k++) dot += mu[o + k] * gMu[o + k];
    const inv = 1 / norms[i];
    for (let k = 0; k < d; k++) gMu[o + k] = (gMu[o + k] - mu[o + k] * dot) * inv;
  }
}

/** Validated loss inputs (shared with the op-graph path). */
export function prepareLoss(input: LossInput, options: LossOptions) {
  if (input === null || typeof input !== 'object')
    throw new InvalidArgumentError('input', input, 'an object { z, kappa, pairs }');
  const variant = checkOneOf('variant', options.variant ?? 'prob', LOSS_VARIANTS);
  const tau = checkNumber('tau', options.tau ?? 0.1, 0);
  const radius = checkNumber('radius', options.radius ?? 1, 0);
  const z = toMatrix('z', input.z, { minRows: 2 });
  const n = z.rows;
  const d = z.cols;
  if (d < 2) throw new InvalidArgumentError('z', [n, d], 'embeddings of dimension D >= 2');
  let kappa: Float64Array | undefined;
  if (variant !== 'infonce') {
    if (input.kappa === undefined)
      throw new InvalidArgumentError('kappa', undefined, `concentrations [${n}] (the '${variant}' variant needs them)`);
    kappa = toKappa('kappa', input.kappa, n);
  }
  const pairs = toPairs('pairs', input.pairs, n);
  if (options.requireUnit) checkUnitRows('z', z.data, n, d);
  return { variant, tau, radius, z, n, d, kappa, pairs };
}

/**
 * The contrastive loss of `variant` and, unless `grad: false`, its gradients with respect to z and κ (module comment
 * for the exact formulas). Deterministic; float64 throughout.
 */
export function contrastiveLoss(input: LossInput, options: LossOptions = {}): LossResult {
  const { variant, tau, radius, z, n, d, kappa, pairs } = prepareLoss(input, options);
  const wantGrad = options.grad ?? true;
  const { mu, norms } = normalizeRows('z', z.data, n, d);
  const P = pairs.length / 2;
  const T = 2 * P;
  const gMu = wantGrad ? new Float64Array(n * d) : undefined;
  const gKappa = wantGrad ? new Float64Array(n) : undefined;
  let loss = 0;

  if (variant === 'scf') {
    const half = d / 2;
    const nu = half - 1;
    const constant = half * Math.log(2 * Math.PI) + d * Math.log(radius);
    for (let t = 0; t < T; t++) {
      const a = pairs[t]; // term t: pair t >> 1, anchored at member t & 1
      const b = pairs[t ^ 1]; // its positive: the other member
      const oa = a * d;
      const ob = b * d;
      let c = 0;
      for (let k = 0; k < d; k++) c += mu[oa + k] * mu[ob + k];
      const ka = kappa![a];
      loss += -ka * c - nu * Math.log(ka) + logBesselI(nu, ka) + constant;
      if (wantGrad) {
        gKappa![a] += (-c + besselRatio(d, ka)) / T;
        const g = -ka / T;
        for (let k = 0; k < d; k++) {
          gMu![oa + k] += g * mu[ob + k];
          gMu![ob + k] += g * mu[oa + k];
        }
      }
    }
  } else {
    // anchor → list of positives (CSR), so each anchor's softmax is computed once
    const count = new Int32Array(n);
    for (let k = 0; k < 2 * P; k++) count[pairs[k]]++;
    const start = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) start[i + 1] = start[i] + count[i];
    const fill = start.slice(0, n);
    const pos = new Int32Array(2 * P);
    for (let t = 0; t < P; t++) {
      const a = pairs[2 * t];
      const b = pairs[2 * t + 1];
      pos[fill[a]++] = b;
      pos[fill[b]++] = a;
    }
    const c = new Float64Array(n);
    const s = new Float64Array(n);
    const g = new Float64Array(n);
    const ma = new Float64Array(d); // μ_a
    const acc = new Float64Array(d);
    for (let a = 0; a < n; a++) {
      const cnt = count[a];
      if (cnt === 0) continue;
      const oa = a * d;
      const w = variant === 'prob' ? kappa![a] / radius : 1 / tau;
      // similarities to every row (four partial sums: fewer dependent adds per loop turn)
      for (let k = 0; k < d; k++) ma[k] = mu[oa + k];
      for (let j = 0; j < n; j++) {
        const oj = j * d;
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        let k = 0;
        for (; k + 3 < d; k += 4) {
          d0 += ma[k] * mu[oj + k];
          d1 += ma[k + 1] * mu[oj + k + 1];
          d2 += ma[k + 2] * mu[oj + k + 2];
          d3 += ma[k + 3] * mu[oj + k + 3];
        }
        for (; k < d; k++) d0 += ma[k] * mu[oj + k];
        c[j] = d0 + d1 + (d2 + d3);
      }
      let mx = -Infinity;
      for (let j = 0; j < n; j++) {
        s[j] = w * c[j];
        if (j !== a && s[j] > mx) mx = s[j];
      }
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const e = j === a ? 0 : Math.exp(s[j] - mx);
        g[j] = e;
        sum += e;
      }
      const lse = mx + Math.log(sum);
      let posSum = 0;
      for (let q = start[a]; q < start[a + 1]; q++) posSum += s[pos[q]];
      loss += cnt * lse - posSum;
      if (!wantGrad) continue;
      // g_aj = (cnt·p_aj − #{a→j}) / T
      const scale = cnt / (sum * T);
      for (let j = 0; j < n; j++) g[j] *= scale;
      for (let q = start[a]; q < start[a + 1]; q++) g[pos[q]] -= 1 / T;
      if (variant === 'prob') {
        let dk = 0;
        for (let j = 0; j < n; j++) dk += g[j] * c[j];
        gKappa![a] += dk / radius;
      }
      // ∂/∂μ_a += w Σ_j g_j μ_j (accumulated in acc) ;  ∂/∂μ_j += w g_j μ_a
      const ga = gMu!;
      acc.fill(0);
      for (let j = 0; j < n; j++) {
        const gj = w * g[j];
        if (gj === 0) continue;
        const oj = j * d;
        for (let k = 0; k < d; k++) {
          acc[k] += gj * mu[oj + k];
          ga[oj + k] += gj * ma[k];
        }
      }
      for (let k = 0; k < d; k++) ga[oa + k] += acc[k];
    }
  }
  loss /= T;
  if (wantGrad) backpropNormalize(gMu!, mu, norms, n, d);
  return { loss, gradZ: gMu, gradKappa: gKappa, terms: T, n, d };
}
