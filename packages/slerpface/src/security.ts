/**
 * Security evaluation in the ISO/IEC 24745 sense: an inversion attack on a record, a cross-record linkage score and
 * the D↔sys unlinkability measure of Gomez-Barrero et al. (2018).
 */
import { InvalidArgumentError } from '@trustvision/core-tensor';
import { checkRecord, type ProtectedRecord } from './protect.js';

/**
 * Template-recovery attack by great-circle inversion. The attacker knows the record (P, k̂, mask) and α — the
 * official code stores the key beside the template — and so the weights m_i = ‖P_i‖ and fractions α_i = α − m_i.
 * Per group, t̂, p and k̂ lie on one great circle, so t̂ = cos θ·k̂ + sin θ·v with v the unit direction of p − ⟨p,k̂⟩k̂.
 * Without dropout p is known exactly and t̂ = slerp(k̂, p; 1/(1 − α_i)) is recovered EXACTLY. With dropout only the
 * kept coordinates of p are known, up to scale: the attack assumes ‖M⊙p‖ ≈ ‖M⊙k̂‖, ⟨p, k̂⟩ ≈ cos((1 − α_i)·θ₀) with
 * θ₀ = π/2 (the typical angle to a random key), fills dropped coordinates of v with 0 and returns v (θ ≈ π/2).
 * Returns the recovered groups [G·d], each unit (a zero group where nothing can be said).
 */
export function recoverTemplate(record: ProtectedRecord): Float64Array {
  checkRecord('record', record);
  const { groups: G, groupSize: d } = record;
  const alpha = record.params.alpha;
  const out = new Float64Array(G * d);
  for (let i = 0; i < G; i++) {
    const o = i * d;
    let pn = 0;
    let kept = 0;
    for (let j = 0; j < d; j++) {
      pn += record.protected[o + j] ** 2;
      kept += record.mask[o + j];
    }
    const m = Math.sqrt(pn);
    if (m === 0) continue;
    const ai = alpha - m;
    if (kept === d) {
      // exact inversion: p̂ is the full rotated group
      const p = Float64Array.from({ length: d }, (_, j) => record.protected[o + j] / m);
      let c = 0;
      for (let j = 0; j < d; j++) c += p[j] * record.key[o + j];
      let s2 = 0;
      const u = new Float64Array(d);
      for (let j = 0; j < d; j++) {
        u[j] = p[j] - c * record.key[o + j];
        s2 += u[j] * u[j];
      }
      const s = Math.sqrt(s2);
      if (s === 0) continue;
      const phi = Math.atan2(s, c); // ∠(p, k̂) = (1 − α_i)θ
      const theta = phi / (1 - ai);
      for (let j = 0; j < d; j++) out[o + j] = Math.cos(theta) * record.key[o + j] + (Math.sin(theta) * u[j]) / s;
      continue;
    }
    let kn = 0;
    for (let j = 0; j < d; j++) if (record.mask[o + j]) kn += record.key[o + j] ** 2;
    const scale = Math.sqrt(kn) / m; // p_M ≈ P_M · ‖M⊙k̂‖ / ‖P_M‖
    const rho = Math.cos((1 - ai) * (Math.PI / 2));
    let vn = 0;
    const v = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      if (!record.mask[o + j]) continue;
      v[j] = record.protected[o + j] * scale - rho * record.key[o + j];
      vn += v[j] * v[j];
    }
    if (vn === 0) continue;
    const nv = Math.sqrt(vn);
    for (let j = 0; j < d; j++) out[o + j] = v[j] / nv;
  }
  return out;
}

/**
 * Cross-record linkage score: the attention-weighted group cosine between two protected records (what an attacker
 * holding two galleries with different keys can compute). In [−1, 1].
 */
export function linkageScore(a: ProtectedRecord, b: ProtectedRecord): number {
  checkRecord('a', a);
  checkRecord('b', b);
  if (a.groups !== b.groups || a.groupSize !== b.groupSize || a.layout !== b.layout)
    throw new InvalidArgumentError(
      'b',
      `${b.layout} ${b.groups}×${b.groupSize}`,
      `a record of a's layout (${a.layout})`,
    );
  const { groups: G, groupSize: d } = a;
  let s = 0;
  let wsum = 0;
  for (let i = 0; i < G; i++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let j = 0; j < d; j++) {
      const x = a.protected[i * d + j];
      const y = b.protected[i * d + j];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    if (aa === 0 || bb === 0) continue;
    const w = Math.sqrt(aa) + Math.sqrt(bb);
    s += (w * ab) / Math.sqrt(aa * bb);
    wsum += w;
  }
  return wsum > 0 ? s / wsum : 0;
}

export interface UnlinkabilityResult {
  /** D↔sys in [0, 1]: 0 = fully unlinkable, 1 = fully linkable. */
  dsys: number;
  /** Score grid and the local measure D↔(s) on it. */
  grid: Float64Array;
  local: Float64Array;
}

function kde(x: Float64Array, grid: Float64Array): Float64Array {
  const n = x.length;
  let m = 0;
  for (const v of x) m += v;
  m /= n;
  let v2 = 0;
  for (const v of x) v2 += (v - m) ** 2;
  const sd = Math.sqrt(v2 / Math.max(n - 1, 1));
  const h = Math.max(1.06 * sd * n ** -0.2, 1e-9); // Silverman's normal-reference bandwidth
  const out = new Float64Array(grid.length);
  const c = 1 / (n * h * Math.sqrt(2 * Math.PI));
  for (let g = 0; g < grid.length; g++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(-0.5 * ((grid[g] - x[i]) / h) ** 2);
    out[g] = s * c;
  }
  return out;
}

/**
 * D↔sys (Gomez-Barrero et al., "General Framework to Evaluate Unlinkability in Biometric Template Protection
 * Systems", IEEE TIFS 2018) from mated and non-mated linkage scores, with ω = 1:
 * D↔(s) = max(0, 2·LR(s)/(1 + LR(s)) − 1), LR = p(s|mated)/p(s|non-mated), D↔sys = ∫ p(s|mated)·D↔(s) ds.
 * Densities are Gaussian KDEs (normal-reference bandwidth) on a `bins`-point grid.
 */
export function unlinkability(mated: ArrayLike<number>, nonMated: ArrayLike<number>, bins = 512): UnlinkabilityResult {
  const a = Float64Array.from(mated);
  const b = Float64Array.from(nonMated);
  if (a.length < 2 || b.length < 2)
    throw new InvalidArgumentError('mated/nonMated', `${a.length}/${b.length} scores`, 'at least 2 scores each');
  for (const v of [...a, ...b]) if (!Number.isFinite(v)) throw new InvalidArgumentError('scores', v, 'finite numbers');
  if (!Number.isInteger(bins) || bins < 16) throw new InvalidArgumentError('bins', bins, 'an integer ≥ 16');
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of [...a, ...b]) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const pad = (hi - lo) * 0.1 + 1e-9;
  lo -= pad;
  hi += pad;
  const grid = Float64Array.from({ length: bins }, (_, i) => lo + ((hi - lo) * i) / (bins - 1));
  const pm = kde(a, grid);
  const pn = kde(b, grid);
  const local = new Float64Array(bins);
  let num = 0;
  let den = 0;
  for (let i = 0; i < bins; i++) {
    const lr = pn[i] > 0 ? pm[i] / pn[i] : pm[i] > 0 ? Infinity : 0;
    local[i] = lr === Infinity ? 1 : Math.max(0, (2 * lr) / (1 + lr) - 1);
    num += pm[i] * local[i];
    den += pm[i];
  }
  return { dsys: den > 0 ? num / den : 0, grid, local };
}
