/**
 * The head: backward by finite differences through each training objective, the ONNX export run in ONNX Runtime
 * against the TypeScript forward, JSON round trip, and the trainer (determinism, loss going down, κ learning which
 * samples are ambiguous on synthetic data with a known difficulty).
 */
import { describe, expect, test } from '@jest/globals';
import { createSession, inspectModel, Rng, rocAuc, tensor } from '@trustvision/core-tensor';
import { Adam, contrastiveLoss, PARAM_NAMES, ProbHead, trainHead } from '../src/index.js';

const F = 7;

function features(n: number, seed: number) {
  const rng = Rng.from(seed);
  return { data: rng.normalArray(n * F, 0.5, 2), shape: [n, F] };
}

describe('ProbHead backward', () => {
  const n = 6;
  const x = features(n, 1);
  const pairs: [number, number][] = [
    [0, 1],
    [2, 3],
    [4, 5],
  ];
  const head = ProbHead.init({ features: F, hidden: 5, dim: 4, kappaHidden: 3, kappaInit: 4 }, { seed: 2, stats: x });
  // perturb the biases so no ReLU sits exactly at a kink and κ's bias is not symmetric
  const rng = Rng.from(3);
  for (const k of ['b1', 'b2', 'c1'] as const) head.params[k].set(rng.normalArray(head.params[k].length, 0, 0.3));

  const objective = (variant: 'prob' | 'infonce' | 'scf') => () => {
    const out = head.forward(x);
    return contrastiveLoss(
      { z: { data: out.z, shape: [n, head.dim] }, kappa: out.kappa, pairs },
      { variant, radius: 2 },
    );
  };

  test.each([['prob'], ['infonce'], ['scf']] as const)(
    '%s: every trainable parameter gradient matches central differences',
    (variant) => {
      const out = head.forward(x);
      const r = objective(variant)();
      const g = head.backward(out.cache, r.gradZ, variant === 'infonce' ? undefined : r.gradKappa);
      const h = 1e-6;
      let worst = 0;
      for (const name of ProbHead.TRAINABLE) {
        const p = head.params[name];
        for (let i = 0; i < p.length; i++) {
          const keep = p[i];
          p[i] = keep + h;
          const up = objective(variant)().loss;
          p[i] = keep - h;
          const down = objective(variant)().loss;
          p[i] = keep;
          const fd = (up - down) / (2 * h);
          worst = Math.max(worst, Math.abs(fd - g[name][i]) / Math.max(1, Math.abs(fd)));
        }
      }
      expect(worst).toBeLessThan(1e-6);
    },
  );
});

describe('ProbHead export', () => {
  const x = features(33, 4);
  const head = ProbHead.init({ features: F, hidden: 16, dim: 8, kappaHidden: 6 }, { seed: 5, stats: x });
  for (const k of ['v2', 'c1'] as const) head.params[k].set(Rng.from(6).normalArray(head.params[k].length, 0, 0.5));

  test('the ONNX graph run in ONNX Runtime equals the TypeScript forward', async () => {
    const bytes = head.toOnnx({ note: 'test' });
    const summary = inspectModel(bytes);
    expect(summary.inputs.map((i) => i.name)).toEqual(['features']);
    expect(summary.outputs.map((o) => o.name).sort()).toEqual(['embedding', 'kappa']);
    const session = await createSession(bytes, { device: 'cpu' });
    try {
      const out = await session.run({ features: tensor(Float32Array.from(x.data), [33, F]) });
      const ts = head.embed(x);
      expect(out.embedding.shape).toEqual([33, 8]);
      expect(out.kappa.shape).toEqual([33, 1]);
      const e = out.embedding.data as Float32Array;
      const k = out.kappa.data as Float32Array;
      let worstE = 0;
      let worstK = 0;
      for (let i = 0; i < e.length; i++) worstE = Math.max(worstE, Math.abs(e[i] - ts.embedding[i]));
      for (let i = 0; i < 33; i++) worstK = Math.max(worstK, Math.abs(k[i] - ts.kappa[i]) / ts.kappa[i]);
      expect(worstE).toBeLessThan(2e-5);
      expect(worstK).toBeLessThan(2e-5);
      for (let i = 0; i < 33; i++) {
        let s = 0;
        for (let j = 0; j < 8; j++) s += e[i * 8 + j] ** 2;
        expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
        expect(k[i]).toBeGreaterThan(0);
      }
    } finally {
      await session.dispose();
    }
  });

  test('toJSON / fromJSON round trip gives the same function', () => {
    const back = ProbHead.fromJSON(JSON.parse(JSON.stringify(head.toJSON())));
    const a = head.forward(x);
    const b = back.forward(x);
    expect(Array.from(b.z)).toEqual(Array.from(a.z));
    expect(Array.from(b.kappa)).toEqual(Array.from(a.kappa));
    expect(back.parameterCount).toBe(F * 16 + 16 + 16 * 8 + 8 + F * 6 + 6 + 6 + 1);
    expect(Object.keys(head.toJSON().params).sort()).toEqual([...PARAM_NAMES].sort());
  });

  test('kappaMax clips κ (TypeScript and ONNX), with no gradient through the clipped rows', async () => {
    const h = ProbHead.init({ features: F, kappaMax: 20, kappaInit: 10 }, { seed: 9, stats: x });
    h.params.v2.set(Rng.from(10).normalArray(h.kappaHidden, 0, 3)); // κ spread far beyond 20 for some rows
    const out = h.forward(x);
    const clipped = Array.from(out.kappa, (k) => k >= 20 - 1e-9);
    expect(clipped.some(Boolean)).toBe(true);
    expect(clipped.every(Boolean)).toBe(false);
    for (const k of out.kappa) expect(k).toBeLessThanOrEqual(20 + 1e-9);
    const g = h.backward(
      out.cache,
      undefined,
      new Float64Array(33).map((_, i) => (clipped[i] ? 1 : 0)),
    );
    expect(Array.from(g.v2).every((v) => v === 0)).toBe(true);
    const session = await createSession(h.toOnnx(), { device: 'cpu' });
    try {
      const r = await session.run({ features: tensor(Float32Array.from(x.data), [33, F]) });
      const k = r.kappa.data as Float32Array;
      for (let i = 0; i < 33; i++) expect(Math.abs(k[i] / out.kappa[i] - 1)).toBeLessThan(2e-5);
    } finally {
      await session.dispose();
    }
    expect(ProbHead.fromJSON(h.toJSON()).kappaMax).toBe(20);
  });

  test('kappaInit sets the initial concentration', () => {
    const h = ProbHead.init({ features: F, kappaInit: 16 }, { stats: x });
    const { kappa } = h.forward(x);
    for (const k of kappa) expect(Math.abs(k / 16 - 1)).toBeLessThan(0.1);
  });
});

describe('Adam', () => {
  test('one step moves each parameter by lr against the sign of its gradient (bias-corrected first step)', () => {
    const head = ProbHead.init({ features: 2, hidden: 2, dim: 2, kappaHidden: 1 });
    const before = head.params.b1.slice();
    const g = head.backward(head.forward({ data: [1, 2], shape: [1, 2] }).cache);
    g.b1.set([0.5, -2]);
    new Adam(0.01).step(head.params, g, ['b1']);
    expect(head.params.b1[0] - before[0]).toBeCloseTo(-0.01, 8);
    expect(head.params.b1[1] - before[1]).toBeCloseTo(0.01, 8);
  });
});

/**
 * Synthetic views with a known difficulty: 40 prototypes in R^F; image i has a clean code and its two "views" are
 * the code plus noise whose level is i's difficulty (easy: 0.05, hard: 1.5). Hard samples' views are ambiguous (their
 * nearest row is often not their own view), so the probabilistic loss should give them a lower κ.
 */
function syntheticViews(m: number, seed: number) {
  const rng = Rng.from(seed);
  const dim = 12;
  const codes = rng.normalArray(m * dim);
  const hard = Uint8Array.from({ length: m }, (_, i) => i % 2);
  const x = new Float64Array(2 * m * dim);
  for (let i = 0; i < m; i++) {
    const s = hard[i] ? 1.5 : 0.05;
    for (let v = 0; v < 2; v++)
      for (let k = 0; k < dim; k++) x[(2 * i + v) * dim + k] = codes[i * dim + k] + s * rng.normal();
  }
  const pairs = Int32Array.from({ length: 2 * m }, (_, k) => k);
  return { features: { data: x, shape: [2 * m, dim] }, pairs: { data: pairs, shape: [m, 2] }, hard };
}

describe('trainHead', () => {
  const data = syntheticViews(400, 7);
  const opts = { epochs: 15, batchSize: 64, hidden: 32, dim: 16, kappaHidden: 16, lr: 3e-3, seed: 1 } as const;

  test("'prob' lowers the loss and learns a lower κ for the ambiguous samples", () => {
    const progress: number[] = [];
    const r = trainHead(data, {
      ...opts,
      objective: 'prob',
      onProgress: (p) => progress.push(p.step),
      progressEvery: 20,
    });
    expect(r.steps).toBe(15 * Math.floor(400 / 64));
    expect(progress[progress.length - 1]).toBe(r.steps);
    expect(r.history[r.history.length - 1].loss).toBeLessThan(r.history[0].loss - 0.3);
    const { kappa } = r.head.forward(data.features);
    const k = Float64Array.from({ length: 400 }, (_, i) => (kappa[2 * i] + kappa[2 * i + 1]) / 2);
    const auc = rocAuc(
      k,
      Array.from(data.hard, (h) => 1 - h),
    ); // κ should rank easy above hard
    expect(auc).toBeGreaterThan(0.85); // 0.88 with this seed
  });

  test('is deterministic for a seed and differs for another', () => {
    const a = trainHead(data, { ...opts, epochs: 1, objective: 'prob' });
    const b = trainHead(data, { ...opts, epochs: 1, objective: 'prob' });
    const c = trainHead(data, { ...opts, epochs: 1, objective: 'prob', seed: 2 });
    expect(Array.from(b.head.params.w2)).toEqual(Array.from(a.head.params.w2));
    expect(Array.from(c.head.params.w2)).not.toEqual(Array.from(a.head.params.w2));
  });

  test("'infonce' trains the projection only; 'scf' trains κ with the SCF term", () => {
    const inf = trainHead(data, { ...opts, epochs: 2, objective: 'infonce', progressEvery: 2 });
    const init = ProbHead.init({ features: 12, ...opts, kappaInit: 10 }, { seed: '1/init', stats: data.features });
    expect(Array.from(inf.head.params.v1)).toEqual(Array.from(init.params.v1));
    expect(inf.history[inf.history.length - 1].loss).toBeLessThan(inf.history[0].loss);
    const scf = trainHead(data, { ...opts, epochs: 60, objective: 'scf' }); // κ must climb to (d−1)/(2(1−c)) here
    const { kappa } = scf.head.forward(data.features);
    const k = Float64Array.from({ length: 400 }, (_, i) => kappa[2 * i]);
    expect(
      rocAuc(
        k,
        Array.from(data.hard, (h) => 1 - h),
      ),
    ).toBeGreaterThan(0.8);
  });

  test('maxSteps stops early', () => {
    expect(trainHead(data, { ...opts, maxSteps: 3 }).steps).toBe(3);
  });
});
