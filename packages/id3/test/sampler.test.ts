/**
 * Schedules and samplers against an independent float64 recursion (fixtures/sampler_ref.py): on Gaussian data with
 * the optimal ε (the analytic denoiser, an ONNX graph) DDIM η = 0 is an exact affine map of x_T, and DDPM / DDIM η > 0
 * samples have the recursion's mean and variance (≈ the data's). Guidance: the FR-gradient graph against the closed
 * form and finite differences, the guided graph against the Jacobian-free chain, fp16 models, seeds, and bad input.
 */
import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, NonFiniteError, Rng, ShapeError } from '@trustvision/core-tensor';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  Denoiser,
  FrGradient,
  FrModel,
  ModelContractError,
  analyticDenoiserModel,
  id3Weight,
  makeSchedule,
  sample,
  samplingSteps,
} from '../src/index.js';
import { SAMPLER_GOLDEN as G } from './fixtures/sampler_golden.js';
import {
  C,
  D,
  H,
  W,
  condition,
  denoiserBytes,
  frBytes,
  frGradBytes,
  frMatrix,
  guidedBytes,
  means,
  spec,
} from './helpers.js';

const N = C * H * W;
const rngs = (B: number, seed = 0) => Array.from({ length: B }, (_, b) => Rng.from(seed).split('test', b));

describe('schedules', () => {
  test('linear and cosine ᾱ match numpy', () => {
    const idx = [0, 1, 499, 998, 999];
    for (const kind of ['linear', 'cosine'] as const) {
      const s = makeSchedule({ kind });
      idx.forEach((k, q) => expect(s.alphaBars[k]).toBeCloseTo(G.alphaBars[kind][q], 12));
    }
  });
  test('step sub-sequences and the ID weight', () => {
    expect(Array.from(samplingSteps(1000, 50)).slice(0, 3)).toEqual(G.ddim_linear_50.steps.slice(0, 3));
    expect(Array.from(samplingSteps(1000, 50)).slice(-3)).toEqual(G.ddim_linear_50.steps.slice(-3));
    expect(Array.from(samplingSteps(10, 10))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(Array.from(samplingSteps(10, 1))).toEqual([9]);
    expect(id3Weight(0, 1000)).toBeCloseTo(0.25, 12);
    expect(id3Weight(1000, 1000)).toBeCloseTo(0.5 * (1 - 1 / (1 + Math.exp(-1))), 12);
  });
  test('bad schedules', () => {
    expectThrows(
      () => makeSchedule({ kind: 'quadratic' as never }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'schedule.kind',
    );
    expectThrows(() => makeSchedule({ T: 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'schedule.T');
    expectThrows(
      () => makeSchedule({ betaStart: 0.1, betaEnd: 0.01 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'schedule.betaEnd',
    );
    expectThrows(() => samplingSteps(100, 101), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'steps');
  });
});

describe('samplers on the analytic Gaussian denoiser', () => {
  const B = 4;
  const cond = condition(B);
  const xT = Rng.from(9).normalFloat32(B * N);

  test.each([
    ['ddim_linear_50', {}],
    ['ddim_cosine_20', { schedule: { kind: 'cosine' as const }, sigma: 0.3 }],
  ] as const)('DDIM η = 0 is the exact affine map of x_T (%s)', async (name, over) => {
    const g = G[name];
    const den = await Denoiser.create(denoiserBytes(over), { device: 'cpu' });
    const res = await sample(den, { ...cond, rngs: rngs(B), xT }, { sampler: 'ddim', steps: g.S });
    let worst = 0;
    for (let b = 0; b < B; b++) {
      const mu = means(cond, b);
      for (let i = 0; i < N; i++) {
        const want = g.p * xT[b * N + i] + g.q * mu[Math.floor(i / (H * W))];
        worst = Math.max(worst, Math.abs(res.images[b * N + i] - want));
      }
    }
    expect(worst).toBeLessThan(2e-4);
    await den.dispose();
  });

  test('DDIM η = 0 is deterministic and each sample is independent of its batch', async () => {
    const den = await Denoiser.create(denoiserBytes(), { device: 'cpu' });
    const o = { sampler: 'ddim' as const, steps: 20 };
    const a = await sample(den, { ...cond, rngs: rngs(B, 3) }, o);
    const b = await sample(den, { ...cond, rngs: rngs(B, 3) }, o);
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).toBe(true);
    const one = await sample(
      den,
      {
        embeddings: cond.embeddings.slice(2 * D, 3 * D),
        attributes: cond.attributes.slice(8, 12),
        rngs: [rngs(B, 3)[2]],
      },
      o,
    );
    expect(Array.from(one.images)).toEqual(Array.from(a.images.subarray(2 * N, 3 * N)));
    const other = await sample(den, { ...cond, rngs: rngs(B, 4) }, o);
    expect(other.images[0]).not.toEqual(a.images[0]);
    await den.dispose();
  });

  test.each([
    ['ddpm_linear_300', {}, {}],
    ['ddpm_cosine_100', { schedule: { kind: 'cosine' as const }, sigma: 0.3 }, {}],
    ['ddim_eta1_linear_100', {}, { eta: 1 }],
  ] as const)('%s: sample mean and variance match the recursion and the data', async (name, over, extra) => {
    const g = G[name];
    const Bm = 16;
    const c = condition(Bm, 2);
    const den = await Denoiser.create(denoiserBytes(over), { device: 'cpu' });
    const res = await sample(den, { ...c, rngs: rngs(Bm, 11) }, { sampler: g.sampler, steps: g.S, ...extra });
    // standardised residuals: (x − q·μ)/√var over all pixels of all samples
    let s1 = 0;
    let s2 = 0;
    for (let b = 0; b < Bm; b++) {
      const mu = means(c, b);
      for (let i = 0; i < N; i++) {
        const r = res.images[b * N + i] - g.q * mu[Math.floor(i / (H * W))];
        s1 += r;
        s2 += r * r;
      }
    }
    const n = Bm * N;
    const mean = s1 / n;
    const v = s2 / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt(g.var / n));
    expect(Math.abs(v / g.var - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    // and the recursion itself is close to the data distribution N(μ, σ²)
    expect(Math.abs(g.q - 1)).toBeLessThan(1e-3);
    expect(Math.abs(g.var / g.sigma ** 2 - 1)).toBeLessThan(0.15); // the discretisation error of 100–300 steps
    await den.dispose();
  });

  test('x̂_0 clipping keeps DDIM outputs in [−1, 1] for a far-out mean', async () => {
    const M = new Float32Array(D * C);
    for (let c = 0; c < C; c++) M[c * C + c] = 5;
    const den = await Denoiser.create(analyticDenoiserModel(spec({ M })), { device: 'cpu' });
    const free = await sample(den, { ...cond, rngs: rngs(B) }, { sampler: 'ddim', steps: 10 });
    const clipped = await sample(den, { ...cond, rngs: rngs(B) }, { sampler: 'ddim', steps: 10, clipX0: true });
    expect(Math.max(...free.images.map(Math.abs))).toBeGreaterThan(1.5);
    expect(Math.max(...clipped.images.map(Math.abs))).toBeLessThanOrEqual(1 + 1e-6);
    await den.dispose();
  });

  test('fp16 and t-convention variants give the float32 result (to fp16 precision)', async () => {
    const ref = await Denoiser.create(denoiserBytes(), { device: 'cpu' });
    const h = await Denoiser.create(denoiserBytes({ floatType: 'float16', tType: 'float32', tConvention: 'step' }), {
      device: 'cpu',
    });
    expect(h.fp16).toBe(true);
    expect(h.contract.tConvention).toBe('step');
    const o = { sampler: 'ddim' as const, steps: 10 };
    const a = await sample(ref, { ...cond, rngs: rngs(B), xT }, o);
    const b = await sample(h, { ...cond, rngs: rngs(B), xT }, o);
    let worst = 0;
    for (let i = 0; i < a.images.length; i++) worst = Math.max(worst, Math.abs(a.images[i] - b.images[i]));
    expect(worst).toBeLessThan(0.05);
    await ref.dispose();
    await h.dispose();
  });
});

describe('ID guidance', () => {
  const B = 3;
  const cond = condition(B, 7);
  const Wm = frMatrix();

  /** ⟨y, Wx/‖Wx‖⟩ in float64. */
  function score(x: Float64Array | Float32Array, y: Float32Array): number {
    const e = new Float64Array(D);
    for (let k = 0; k < D; k++) for (let i = 0; i < N; i++) e[k] += Wm[k * N + i] * x[i];
    const n = Math.hypot(...e);
    let s = 0;
    for (let k = 0; k < D; k++) s += (y[k] * e[k]) / n;
    return s;
  }

  test('fr_grad.onnx: closed form and finite differences', async () => {
    const g = await FrGradient.create(frGradBytes(), { device: 'cpu' });
    const x = Rng.from(3).normalFloat32(B * N, 0, 0.5);
    const grad = await g.run(x, cond.embeddings, [B, C, H, W], D);
    for (let b = 0; b < B; b++) {
      const xb = Float64Array.from(x.subarray(b * N, (b + 1) * N));
      const y = cond.embeddings.subarray(b * D, (b + 1) * D);
      // closed form in float64
      const e = new Float64Array(D);
      for (let k = 0; k < D; k++) for (let i = 0; i < N; i++) e[k] += Wm[k * N + i] * xb[i];
      const nrm = Math.hypot(...e);
      const u = e.map((v) => v / nrm);
      let yu = 0;
      for (let k = 0; k < D; k++) yu += y[k] * u[k];
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < N; i++) {
        let want = 0;
        for (let k = 0; k < D; k++) want += (Wm[k * N + i] * (y[k] - yu * u[k])) / nrm;
        worst = Math.max(worst, Math.abs(grad[b * N + i] - want));
        scale = Math.max(scale, Math.abs(want));
      }
      expect(worst / scale).toBeLessThan(1e-4);
      // central differences on a few coordinates
      for (const i of [0, 17, N - 1]) {
        const h = 1e-4;
        const p = xb.slice();
        const m = xb.slice();
        p[i] += h;
        m[i] -= h;
        expect(grad[b * N + i]).toBeCloseTo((score(p, y) - score(m, y)) / (2 * h), 3);
      }
    }
    await g.dispose();
  });

  test('the guided graph equals the exact chain; fr-grad mode uses the Jacobian-free chain', async () => {
    const guided = await Denoiser.create(guidedBytes(), { device: 'cpu' });
    expect(guided.guided).toBe(true);
    const plain = await Denoiser.create(denoiserBytes(), { device: 'cpu' });
    const fg = await FrGradient.create(frGradBytes(), { device: 'cpu' });
    const x = Rng.from(4).normalFloat32(B * N);
    const k = 600;
    const a = plain.schedule.alphaBars[k];
    const kappa = 0.7;
    const t = new Int32Array(B).fill(k);
    const epsTilde = await guided.run(x, t, cond, {
      alphaBar: new Float32Array(B).fill(a),
      scale: new Float32Array(B).fill(kappa),
    });
    const eps = await plain.run(x, t, cond);
    const x0 = x.map((v, i) => (v - Math.sqrt(1 - a) * eps[i]) / Math.sqrt(a));
    const g = await fg.run(x0, cond.embeddings, [B, C, H, W], D);
    // analytic slope of x̂_0 in x_t: c = (1 − √(1−ᾱ)k)/√ᾱ, k = √(1−ᾱ)/(ᾱσ² + 1 − ᾱ)
    const kk = Math.sqrt(1 - a) / (a * 0.25 + 1 - a);
    const c = (1 - Math.sqrt(1 - a) * kk) / Math.sqrt(a);
    let worst = 0;
    for (let i = 0; i < x.length; i++)
      worst = Math.max(worst, Math.abs(epsTilde[i] - (eps[i] - Math.sqrt(1 - a) * kappa * c * g[i])));
    expect(worst).toBeLessThan(1e-5);
    await Promise.all([guided.dispose(), plain.dispose(), fg.dispose()]);
  });

  test('guidance raises the identity score of the samples', async () => {
    const den = await Denoiser.create(denoiserBytes(), { device: 'cpu' });
    const fg = await FrGradient.create(frGradBytes(), { device: 'cpu' });
    const fr = await FrModel.create(frBytes(), { device: 'cpu' });
    const run = async (scale: number, mode: 'none' | 'fr-grad') => {
      const r = await sample(
        den,
        { ...cond, rngs: rngs(B, 8) },
        { sampler: 'ddim', steps: 25, guidance: { mode, frGrad: fg, scale } },
      );
      const e = await fr.embed(r.images, [B, C, H, W]);
      let s = 0;
      for (let b = 0; b < B; b++) for (let q = 0; q < D; q++) s += e.data[b * D + q] * cond.embeddings[b * D + q];
      return s / B;
    };
    const none = await run(0, 'none');
    const zero = await run(0, 'fr-grad');
    const strong = await run(200, 'fr-grad');
    expect(zero).toBeCloseTo(none, 6);
    expect(strong).toBeGreaterThan(none + 0.05);
    await Promise.all([den.dispose(), fg.dispose(), fr.dispose()]);
  });
});

describe('contracts and bad input', () => {
  test('metadata is read; contract overrides; mismatches are ModelContractErrors', async () => {
    const d = await Denoiser.create(denoiserBytes({ schedule: { kind: 'cosine', T: 200 } }), { device: 'cpu' });
    expect(d.contract).toMatchObject({
      height: H,
      width: W,
      channels: C,
      embeddingDim: D,
      T: 200,
      schedule: 'cosine',
      tConvention: 'index',
    });
    await d.dispose();
    await expectRejects(
      Denoiser.create(denoiserBytes(), { device: 'cpu', contract: { height: 16 } }),
      ModelContractError,
      'E_INVALID_ARGUMENT',
      'id3.height',
    );
    await expectRejects(
      Denoiser.create(denoiserBytes({ metadata: { 'id3.schedule': 'sigmoid' } }), { device: 'cpu' }),
      ModelContractError,
      'E_INVALID_ARGUMENT',
      "metadata 'id3.schedule'",
    );
    await expectRejects(
      Denoiser.create(denoiserBytes({ metadata: { 'id3.attribute_normalisation': 'age/80' } }), { device: 'cpu' }),
      ModelContractError,
      'E_INVALID_ARGUMENT',
      'id3.attribute_normalisation',
    );
    // an FR model is not a denoiser
    await expectRejects(
      Denoiser.create(frBytes(), { device: 'cpu' }),
      ModelContractError,
      'E_INVALID_ARGUMENT',
      'inputs',
    );
    // an fr_grad of another size
    const fg = await FrGradient.create(frGradBytes(), { device: 'cpu' });
    const big = await Denoiser.create(analyticDenoiserModel({ ...spec(), height: 16, width: 16 }), { device: 'cpu' });
    const c = condition(1);
    await expectRejects(
      sample(big, { ...c, rngs: rngs(1) }, { guidance: { mode: 'fr-grad', frGrad: fg } }),
      ModelContractError,
      'E_INVALID_ARGUMENT',
      "input 'image' height",
    );
    await Promise.all([fg.dispose(), big.dispose()]);
  });

  test('sampler options and inputs', async () => {
    const den = await Denoiser.create(denoiserBytes(), { device: 'cpu' });
    const c = condition(2);
    const ok = { ...c, rngs: rngs(2) };
    await expectRejects(
      sample(den, ok, { sampler: 'euler' as never }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'sampler',
    );
    await expectRejects(sample(den, ok, { steps: 1001 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'steps');
    await expectRejects(sample(den, ok, { eta: 2 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'eta');
    await expectRejects(
      sample(den, ok, { guidance: { mode: 'fr-grad' } }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'guidance.frGrad',
    );
    await expectRejects(
      sample(den, ok, { guidance: { mode: 'guided' } }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'guidance.mode',
    );
    await expectRejects(
      sample(den, ok, { schedule: makeSchedule({ T: 500 }) }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'schedule.T',
    );
    await expectRejects(sample(den, { ...ok, rngs: rngs(3) }), ShapeError, 'E_SHAPE', 'input.embeddings');
    await expectRejects(sample(den, { ...ok, xT: new Float32Array(5) }), ShapeError, 'E_SHAPE', 'input.xT');
    const bad = c.embeddings.slice();
    bad[3] = NaN;
    await expectRejects(sample(den, { ...ok, embeddings: bad }), NonFiniteError, 'E_NON_FINITE', 'input.embeddings');
    await expectRejects(
      sample(den, ok, { steps: 2, guidance: { mode: 'none', weight: () => Infinity, scale: 1 } }),
      NonFiniteError,
      'E_NON_FINITE',
    );
    await den.dispose();
  });
});
