/**
 * The three loss variants: values and gradients against PyTorch autograd (float64, fixtures/loss_ref.py), central
 * finite differences w.r.t. every z and κ entry, and invariants (prob with κ = r/τ is InfoNCE, scale invariance,
 * gradients orthogonal to z, pair order, permutation of rows, the SCF optimum A_d(κ) = c).
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '@trustvision/core-tensor';
import { besselRatio, contrastiveLoss, LOSS_VARIANTS, type LossVariant } from '../src/index.js';

interface Case {
  name: string;
  variant: LossVariant;
  tau: number;
  radius: number;
  n: number;
  d: number;
  z: number[];
  kappa: number[];
  pairs: [number, number][];
  loss: number;
  gradZ: number[];
  gradKappa: number[];
}
const GOLDEN: { cases: Case[] } = JSON.parse(
  readFileSync(path.join(__dirname, 'fixtures', 'loss_golden.json'), 'utf8'),
);

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

function batch(n: number, d: number, seed: number) {
  const rng = Rng.from(seed);
  const z = rng.normalArray(n * d);
  const kappa = Float64Array.from(rng.uniformArray(n, 0.5, 6));
  const perm = rng.permutation(n);
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < n; i += 2) pairs.push([perm[i], perm[i + 1]]);
  pairs.push([perm[0], perm[3]]); // an anchor with two positives
  return { z, kappa, pairs };
}

describe('golden values from PyTorch autograd', () => {
  test.each(GOLDEN.cases.map((c) => [c.name, c] as const))('%s: loss and gradients', (_, c) => {
    const r = contrastiveLoss(
      { z: { data: c.z, shape: [c.n, c.d] }, kappa: c.kappa, pairs: c.pairs },
      { variant: c.variant, tau: c.tau, radius: c.radius },
    );
    expect(Math.abs(r.loss - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-13);
    expect(maxAbs(r.gradZ!, c.gradZ)).toBeLessThan(1e-13);
    expect(maxAbs(r.gradKappa!, c.gradKappa)).toBeLessThan(1e-13);
    expect(r.terms).toBe(2 * c.pairs.length);
  });
  test('covers every variant', () => {
    expect(new Set(GOLDEN.cases.map((c) => c.variant))).toEqual(new Set(LOSS_VARIANTS));
  });
});

describe('finite differences', () => {
  const n = 8;
  const d = 6;
  const opts = { tau: 0.3, radius: 2 };
  test.each(LOSS_VARIANTS.map((v) => [v]))('%s: ∂/∂z and ∂/∂κ match central differences', (variant) => {
    const { z, kappa, pairs } = batch(n, d, 11);
    const f = (zz: Float64Array, kk: Float64Array) =>
      contrastiveLoss({ z: { data: zz, shape: [n, d] }, kappa: kk, pairs }, { variant, ...opts, grad: false }).loss;
    const r = contrastiveLoss({ z: { data: z, shape: [n, d] }, kappa, pairs }, { variant, ...opts });
    const h = 1e-6;
    let worstZ = 0;
    for (let i = 0; i < n * d; i++) {
      const zp = z.slice();
      const zm = z.slice();
      zp[i] += h;
      zm[i] -= h;
      const fd = (f(zp, kappa) - f(zm, kappa)) / (2 * h);
      worstZ = Math.max(worstZ, Math.abs(fd - r.gradZ![i]) / Math.max(1, Math.abs(fd)));
    }
    let worstK = 0;
    for (let i = 0; i < n; i++) {
      const kp = kappa.slice();
      const km = kappa.slice();
      kp[i] += h;
      km[i] -= h;
      const fd = (f(z, kp) - f(z, km)) / (2 * h);
      worstK = Math.max(worstK, Math.abs(fd - r.gradKappa![i]) / Math.max(1, Math.abs(fd)));
    }
    expect(worstZ).toBeLessThan(1e-7);
    expect(worstK).toBeLessThan(1e-7);
    if (variant === 'infonce') expect(maxAbs(r.gradKappa!, new Float64Array(n))).toBe(0);
    else expect(maxAbs(r.gradKappa!, new Float64Array(n))).toBeGreaterThan(1e-4);
  });
});

describe('invariants', () => {
  const n = 12;
  const d = 10;
  const { z, kappa, pairs } = batch(n, d, 3);
  const zt = { data: z, shape: [n, d] };

  test("'prob' with κ_i = r/τ for every i equals 'infonce' (value and ∂/∂z)", () => {
    const tau = 0.2;
    const radius = 3;
    const a = contrastiveLoss({ z: zt, pairs }, { variant: 'infonce', tau });
    const b = contrastiveLoss(
      { z: zt, kappa: new Float64Array(n).fill(radius / tau), pairs },
      { variant: 'prob', radius },
    );
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-14);
    expect(maxAbs(a.gradZ!, b.gradZ!)).toBeLessThan(1e-14);
  });

  test('scaling a row of z leaves the loss unchanged and divides its gradient by the scale', () => {
    for (const variant of LOSS_VARIANTS) {
      const a = contrastiveLoss({ z: zt, kappa, pairs }, { variant });
      const z2 = z.slice();
      for (let k = 0; k < d; k++) z2[2 * d + k] *= 7;
      const b = contrastiveLoss({ z: { data: z2, shape: [n, d] }, kappa, pairs }, { variant });
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-12);
      for (let k = 0; k < d; k++) expect(Math.abs(b.gradZ![2 * d + k] * 7 - a.gradZ![2 * d + k])).toBeLessThan(1e-12);
    }
  });

  test('∂/∂z_i is orthogonal to z_i (the loss only sees directions)', () => {
    for (const variant of LOSS_VARIANTS) {
      const r = contrastiveLoss({ z: zt, kappa, pairs }, { variant });
      for (let i = 0; i < n; i++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += r.gradZ![i * d + k] * z[i * d + k];
        expect(Math.abs(dot)).toBeLessThan(1e-13);
      }
    }
  });

  test('the order inside a pair and the order of pairs do not matter', () => {
    for (const variant of LOSS_VARIANTS) {
      const a = contrastiveLoss({ z: zt, kappa, pairs }, { variant });
      const swapped = pairs.map(([i, j]) => [j, i] as [number, number]).reverse();
      const b = contrastiveLoss({ z: zt, kappa, pairs: swapped }, { variant });
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-13);
      expect(maxAbs(a.gradZ!, b.gradZ!)).toBeLessThan(1e-13);
      expect(maxAbs(a.gradKappa!, b.gradKappa!)).toBeLessThan(1e-13);
    }
  });

  test('permuting the rows (and relabelling the pairs) permutes the gradients', () => {
    const perm = Rng.from(9).permutation(n);
    const inv = new Int32Array(n);
    perm.forEach((p, i) => (inv[p] = i)); // row i of the new batch is old row perm[i]
    const z2 = new Float64Array(n * d);
    const k2 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      z2.set(z.subarray(perm[i] * d, perm[i] * d + d), i * d);
      k2[i] = kappa[perm[i]];
    }
    const p2 = pairs.map(([a, b]) => [inv[a], inv[b]] as [number, number]);
    for (const variant of LOSS_VARIANTS) {
      const a = contrastiveLoss({ z: zt, kappa, pairs }, { variant });
      const b = contrastiveLoss({ z: { data: z2, shape: [n, d] }, kappa: k2, pairs: p2 }, { variant });
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-13);
      for (let i = 0; i < n; i++) {
        expect(Math.abs(a.gradKappa![perm[i]] - b.gradKappa![i])).toBeLessThan(1e-13);
        for (let k = 0; k < d; k++)
          expect(Math.abs(a.gradZ![perm[i] * d + k] - b.gradZ![i * d + k])).toBeLessThan(1e-13);
      }
    }
  });

  test("'prob': a confident anchor whose positive is its nearest row has a lower loss than an unsure one", () => {
    // rows 0,1 nearly identical, row 2 far away: anchor 0's positive is its nearest neighbour
    const zz = { data: [1, 0, 0, 0.99, 0.1, 0, -1, 0.2, 0.1], shape: [3, 3] };
    const lo = contrastiveLoss({ z: zz, kappa: [50, 50, 1], pairs: [[0, 1]] }, { variant: 'prob' });
    const hi = contrastiveLoss({ z: zz, kappa: [1, 1, 1], pairs: [[0, 1]] }, { variant: 'prob' });
    expect(lo.loss).toBeLessThan(hi.loss);
    // and the gradient pushes κ up there (∂L/∂κ < 0)
    expect(hi.gradKappa![0]).toBeLessThan(0);
    expect(hi.gradKappa![1]).toBeLessThan(0);
    // a wrong nearest neighbour: the positive is the far row → the gradient pushes κ down
    const wrong = contrastiveLoss({ z: zz, kappa: [5, 5, 5], pairs: [[0, 2]] }, { variant: 'prob' });
    expect(wrong.gradKappa![0]).toBeGreaterThan(0);
  });

  test("'scf': ∂L/∂κ vanishes where A_d(κ) equals the positive's cosine, and the loss is minimal there", () => {
    const d3 = 16;
    const c = 0.8;
    // two unit vectors with cosine c
    const za = new Float64Array(d3);
    const zb = new Float64Array(d3);
    za[0] = 1;
    zb[0] = c;
    zb[1] = Math.sqrt(1 - c * c);
    const zz = { data: Float64Array.from([...za, ...zb]), shape: [2, d3] };
    // solve A_d(κ) = c by bisection on the monotone ratio
    let lo = 1e-3;
    let hi = 1e4;
    for (let i = 0; i < 200; i++) {
      const mid = Math.sqrt(lo * hi);
      if (besselRatio(d3, mid) < c) lo = mid;
      else hi = mid;
    }
    const kStar = Math.sqrt(lo * hi);
    const at = (k: number) => contrastiveLoss({ z: zz, kappa: [k, k], pairs: [[0, 1]] }, { variant: 'scf' });
    expect(Math.abs(at(kStar).gradKappa![0])).toBeLessThan(1e-10);
    expect(at(kStar * 1.1).loss).toBeGreaterThan(at(kStar).loss);
    expect(at(kStar / 1.1).loss).toBeGreaterThan(at(kStar).loss);
  });

  test('grad: false returns the same loss and no gradients', () => {
    const a = contrastiveLoss({ z: zt, kappa, pairs }, { variant: 'prob' });
    const b = contrastiveLoss({ z: zt, kappa, pairs }, { variant: 'prob', grad: false });
    expect(b.loss).toBe(a.loss);
    expect(b.gradZ).toBeUndefined();
  });

  test('inputs: float32 tensors, int64 pairs and arrays of rows give the same result', () => {
    const a = contrastiveLoss({ z: zt, kappa, pairs }, { variant: 'prob' });
    const z32 = Float32Array.from(z);
    const b = contrastiveLoss(
      {
        z: { data: Float64Array.from(z32), shape: [n, d] },
        kappa: { data: kappa, shape: [n, 1] },
        pairs: { data: BigInt64Array.from(pairs.flat().map(BigInt)), shape: [pairs.length, 2] },
      },
      { variant: 'prob' },
    );
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-6);
    const rows = Array.from({ length: n }, (_, i) => Array.from(z.subarray(i * d, i * d + d)));
    const c = contrastiveLoss({ z: rows, kappa: Array.from(kappa), pairs }, { variant: 'prob' });
    expect(c.loss).toBe(a.loss);
  });
});
