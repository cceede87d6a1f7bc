/**
 * Modified Bessel functions of the first kind in log space, for the von Mises–Fisher normaliser
 * log C_d(κ) = (d/2 − 1)·log κ − (d/2)·log 2π − log I_{d/2−1}(κ) and its derivative A_d(κ) = I_{d/2}(κ)/I_{d/2−1}(κ)
 * (spec `prob-contrastive.md` §B2, §B4 "Numerics"). `ive` under- and overflows for the orders and concentrations
 * that embeddings use (ν = 63…255, κ up to 10⁴ and beyond), so everything here is computed as logarithms:
 *
 * - **Power series** (small κ, ν < NU_DEBYE): I_ν(κ) = (κ/2)^ν / Γ(ν+1) · Σ_k (κ²/4)^k / (k!·(ν+1)_k), a sum of
 *   positive terms; log1p keeps log I_0(κ) ≈ κ²/4 accurate for tiny κ.
 * - **Uniform asymptotic (Debye) expansion** (ν ≥ NU_DEBYE, any κ): with s = √(ν² + κ²) and p = ν/s,
 *   log I_ν(κ) = s + ν·log(κ/(ν + s)) − ½·log(2πs) + log Σ_k U_k(p)/ν^k. The polynomials U_k are generated from
 *   U_0 = 1, U_{k+1}(p) = ½p²(1 − p²)U_k′(p) + ⅛∫₀^p (1 − 5t²)U_k(t)dt. With ν ≥ 20 and U_0…U_16 the truncation
 *   error is below 1e-17 relative.
 * - **Downward recurrence** (ν < NU_DEBYE, larger κ): the ratios R(ν) = I_{ν+1}(κ)/I_ν(κ) satisfy
 *   R(ν) = 1 / (2(ν + 1)/κ + R(ν + 1)), a sum of positive terms that damps errors, so R is carried down from an
 *   order μ = ν + n ≥ NU_DEBYE, where both log I_μ and log R(μ) come from the Debye expansion, and
 *   log I_ν = log I_μ − Σ_{j<n} log R(ν + j).
 *
 * log R(μ) from the Debye expansion is formed as a difference that is rewritten without cancellation
 * (s_{μ+1} − s_μ = (2μ + 1)/(s_μ + s_{μ+1}), log1p for the log ratios), so A_d(κ) is accurate to a few ulps even
 * when κ ≫ ν, where R is within 1e-5 of 1. Validated against scipy's `ive` (see test/fixtures/bessel_ref.py).
 */
import { InvalidArgumentError, NonFiniteError } from '@trustvision/core-tensor';

/** Orders at or above this use the Debye expansion directly; lower orders recur down from it. */
export const NU_DEBYE = 20;
/** Below NU_DEBYE, concentrations at or below this use the power series. */
export const KAPPA_SERIES = 10;

const DEBYE_TERMS = 16;
const LOG_2PI = Math.log(2 * Math.PI);
const HALF_LOG_2PI = 0.5 * LOG_2PI;

/** Coefficients (ascending powers of p) of the Debye polynomials U_0 … U_DEBYE_TERMS. */
const DEBYE_U: Float64Array[] = (() => {
  const polys: Float64Array[] = [Float64Array.of(1)];
  for (let k = 0; k < DEBYE_TERMS; k++) {
    const c = polys[k];
    const out = new Float64Array(c.length + 3);
    for (let j = 0; j < c.length; j++) {
      const cj = c[j];
      if (cj === 0) continue;
      // ½ p²(1 − p²) · d/dp (c_j p^j) = ½ j c_j (p^{j+1} − p^{j+3})
      out[j + 1] += 0.5 * j * cj;
      out[j + 3] -= 0.5 * j * cj;
      // ⅛ ∫₀^p (1 − 5t²) c_j t^j dt = c_j (p^{j+1}/(j+1) − 5p^{j+3}/(j+3)) / 8
      out[j + 1] += cj / (8 * (j + 1));
      out[j + 3] -= (5 * cj) / (8 * (j + 3));
    }
    polys.push(out);
  }
  return polys;
})();

/** Coefficients of the Debye polynomial U_k (ascending powers of p), k = 0…16. For tests and inspection. */
export function debyePolynomial(k: number): Float64Array {
  if (!Number.isInteger(k) || k < 0 || k > DEBYE_TERMS) {
    throw new InvalidArgumentError('k', k, `an integer in [0, ${DEBYE_TERMS}]`);
  }
  return DEBYE_U[k].slice();
}

/**
 * U_k(p) only has the powers p^k, p^{k+2}, …, p^{3k}: U_k(p) = p^k·Q_k(p²). Q_k's coefficients, for evaluation with
 * k + 1 multiply-adds instead of 3k + 1.
 */
const DEBYE_Q: Float64Array[] = DEBYE_U.map((c, k) => Float64Array.from({ length: k + 1 }, (_, m) => c[k + 2 * m]));

/** log Σ_k U_k(p)/ν^k, stopping once two consecutive terms are below 1e-17 of the sum. */
function logDebyeSum(nu: number, p: number): number {
  const p2 = p * p;
  let s = 0;
  let scale = 1;
  let small = 0;
  for (let k = 1; k <= DEBYE_TERMS; k++) {
    scale *= p / nu;
    const q = DEBYE_Q[k];
    let h = 0;
    for (let m = q.length - 1; m >= 0; m--) h = h * p2 + q[m];
    const term = h * scale;
    s += term;
    if (Math.abs(term) <= 1e-17 * (1 + Math.abs(s))) {
      if (++small === 2) break;
    } else small = 0;
  }
  return Math.log1p(s);
}

/** log I_ν(κ) by the Debye expansion; accurate for ν ≥ NU_DEBYE and κ > 0. */
function debyeLogI(nu: number, kappa: number): number {
  const s = Math.hypot(nu, kappa);
  return s + nu * Math.log(kappa / (nu + s)) - 0.5 * Math.log(s) - HALF_LOG_2PI + logDebyeSum(nu, nu / s);
}

/** log(I_{μ+1}(κ)/I_μ(κ)) by the Debye expansion, written without cancellation; μ ≥ NU_DEBYE, κ > 0. */
function debyeLogRatio(mu: number, kappa: number): number {
  const s0 = Math.hypot(mu, kappa);
  const s1 = Math.hypot(mu + 1, kappa);
  const ds = (2 * mu + 1) / (s0 + s1); // s1 − s0
  const exponent = ds + Math.log(kappa / (mu + 1 + s1)) - mu * Math.log1p((1 + ds) / (mu + s0));
  return exponent - 0.5 * Math.log1p(ds / s0) + logDebyeSum(mu + 1, (mu + 1) / s1) - logDebyeSum(mu, mu / s0);
}

/** Stirling series coefficients B_{2k}/(2k(2k−1)), k = 1…8. */
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400];

/** log Γ(x) for x > 0: Stirling's series for x ≥ 15 (error < 1e-20), shifted up by the recurrence below that. */
export function logGamma(x: number): number {
  if (typeof x !== 'number') throw new InvalidArgumentError('x', x, 'a positive number');
  if (!Number.isFinite(x)) throw new NonFiniteError('x', 0, x);
  if (!(x > 0)) throw new InvalidArgumentError('x', x, 'a positive number');
  if (x === 1 || x === 2) return 0;
  let shift = 0;
  let prod = 1;
  while (x < 15) {
    prod *= x;
    x += 1;
    shift++;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  let series = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) series = series * inv2 + STIRLING[k];
  const lg = (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series * inv;
  return shift > 0 ? lg - Math.log(prod) : lg;
}

/** Σ_{k≥1} (κ²/4)^k / (k!·(ν+1)_k), the power series of I_ν(κ)·Γ(ν+1)/(κ/2)^ν without its leading 1. */
function seriesTail(nu: number, kappa: number): number {
  const q = 0.25 * kappa * kappa;
  let term = 1;
  let tail = 0;
  for (let k = 1; k < 100000; k++) {
    const r = q / (k * (nu + k));
    term *= r;
    tail += term;
    if (r < 0.5 && term <= 1e-17 * tail) break;
  }
  return tail;
}

/** log I_ν(κ) by the power series; for ν ≥ 0 and moderate κ. */
function seriesLogI(nu: number, kappa: number): number {
  const tail = seriesTail(nu, kappa);
  const lead = nu === 0 ? 0 : nu * Math.log(0.5 * kappa) - logGamma(nu + 1);
  return lead + Math.log1p(tail);
}

function checkNonNegative(param: string, x: unknown): number {
  if (typeof x !== 'number') throw new InvalidArgumentError(param, x, 'a finite number >= 0');
  if (!Number.isFinite(x)) throw new NonFiniteError(param, 0, x);
  if (x < 0) throw new InvalidArgumentError(param, x, 'a finite number >= 0');
  return x;
}

/**
 * Natural log of the modified Bessel function of the first kind, log I_ν(κ), for ν ≥ 0 and κ ≥ 0, with no under- or
 * overflow (e.g. log I_500(10⁻³) ≈ −6411 and log I_0(10⁵) ≈ 99993.9). Relative accuracy about 1e-14 (absolute
 * where |log I| < 1). log I_0(0) = 0 and log I_ν(0) = −∞ for ν > 0.
 */
export function logBesselI(nu: number, kappa: number): number {
  checkNonNegative('nu', nu);
  checkNonNegative('kappa', kappa);
  if (kappa === 0) return nu === 0 ? 0 : -Infinity;
  if (nu >= NU_DEBYE) return debyeLogI(nu, kappa);
  if (kappa <= KAPPA_SERIES) return seriesLogI(nu, kappa);
  const n = Math.ceil(NU_DEBYE - nu);
  const mu = nu + n;
  let r = Math.exp(debyeLogRatio(mu, kappa)); // R(μ)
  let sumLogR = 0;
  for (let j = n - 1; j >= 0; j--) {
    r = 1 / ((2 * (nu + j + 1)) / kappa + r); // R(ν + j)
    sumLogR += Math.log(r);
  }
  return debyeLogI(mu, kappa) - sumLogR;
}

/**
 * The vMF mean resultant length A_d(κ) = I_{d/2}(κ) / I_{d/2−1}(κ) for dimension d ≥ 1 and κ ≥ 0 (so that
 * A_1(κ) = tanh κ and A_3(κ) = coth κ − 1/κ). It lies in [0, 1), is 0 at κ = 0 and tends to 1 as κ → ∞. Accurate to
 * a few ulps: the Debye expansion of the ratio for d/2 − 1 ≥ NU_DEBYE, downward recurrence from there otherwise.
 */
export function besselRatio(d: number, kappa: number): number {
  if (typeof d !== 'number') throw new InvalidArgumentError('d', d, 'a finite number >= 1');
  if (!Number.isFinite(d)) throw new NonFiniteError('d', 0, d);
  if (!(d >= 1))
    throw new InvalidArgumentError('d', d, "a finite number >= 1 (the dimension of the sphere's ambient space)");
  checkNonNegative('kappa', kappa);
  if (kappa === 0) return 0;
  const nu = d / 2 - 1;
  if (nu >= NU_DEBYE) return Math.exp(debyeLogRatio(nu, kappa));
  const n = Math.ceil(NU_DEBYE - nu);
  let r = Math.exp(debyeLogRatio(nu + n, kappa));
  for (let j = n - 1; j >= 0; j--) r = 1 / ((2 * (nu + j + 1)) / kappa + r);
  return r;
}

/**
 * The log-normaliser of the von Mises–Fisher distribution on the unit sphere S^{d−1} ⊂ R^d,
 *
 *   log C_d(κ) = (d/2 − 1)·log κ − (d/2)·log 2π − log I_{d/2−1}(κ),   vMF(x; μ, κ) = C_d(κ)·exp(κ μᵀx),
 *
 * for d ≥ 2 and κ ≥ 0 (κ = 0 gives the uniform distribution, log C_d(0) = log Γ(d/2) − log 2 − (d/2)·log π). Its
 * derivative is d log C_d/dκ = −A_d(κ) (`besselRatio`). The (d/2 − 1)·log κ term is cancelled analytically against
 * the leading term of log I rather than numerically, so small κ at large d (where both are ≈ −10³) keeps full
 * relative accuracy: in the series regime log C = ν·log 2 + log Γ(ν+1) − (d/2)·log 2π − log1p(Σ_{k≥1} …), and in the
 * Debye regime log C = ν·log(ν + s) − s + ½·log(2πs) − (d/2)·log 2π − log Σ U_k(p)/ν^k with s = √(ν² + κ²).
 */
export function vmfLogNormalizer(d: number, kappa: number): number {
  if (typeof d !== 'number') throw new InvalidArgumentError('d', d, 'a finite number >= 2');
  if (!Number.isFinite(d)) throw new NonFiniteError('d', 0, d);
  if (!(d >= 2))
    throw new InvalidArgumentError('d', d, 'a finite number >= 2 (the vMF lives on the sphere S^{d-1} in R^d)');
  checkNonNegative('kappa', kappa);
  const nu = d / 2 - 1;
  const head = -(d / 2) * LOG_2PI;
  if (kappa === 0) return head + nu * Math.LN2 + logGamma(nu + 1);
  if (nu >= NU_DEBYE) {
    const s = Math.hypot(nu, kappa);
    return head + nu * Math.log(nu + s) - s + 0.5 * Math.log(s) + HALF_LOG_2PI - logDebyeSum(nu, nu / s);
  }
  if (kappa <= KAPPA_SERIES) return head + nu * Math.LN2 + logGamma(nu + 1) - Math.log1p(seriesTail(nu, kappa));
  return head + nu * Math.log(kappa) - logBesselI(nu, kappa);
}
