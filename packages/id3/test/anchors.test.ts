/**
 * Identity anchors: numpy/scipy goldens (angle statistics; the optimiser's trajectory from a fixed start), known
 * optimal configurations (regular simplex, cross-polytope), the op-graph path against the typed-array path, the
 * optimiser against random anchors, determinism, and every bad-input path.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { DTypeError, InvalidArgumentError, NonFiniteError, OpGraphs, ShapeError } from '@trustvision/core-tensor';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import { anchorStats, optimizeAnchors, randomAnchors } from '../src/index.js';
import { ANCHORS_GOLDEN } from './fixtures/anchors_golden.js';

const DEG = 180 / Math.PI;

function gram(a: Float32Array, n: number, d: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += a[i * d + t] * a[j * d + t];
      g[i * n + j] = s;
    }
  return g;
}

function expectUnitRows(a: Float32Array, n: number, d: number, tol = 1e-6) {
  const g = gram(a, n, d);
  for (let i = 0; i < n; i++) expect(Math.abs(g[i * n + i] - 1)).toBeLessThan(tol);
}

/** Brute-force min angle and mean nearest angle, float64. */
function bruteStats(a: Float32Array, n: number, d: number) {
  const g = gram(a, n, d);
  let min = Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let j = 0; j < n; j++) if (j !== i) best = Math.max(best, g[i * n + j]);
    const ang = Math.acos(Math.min(1, best)) * DEG;
    min = Math.min(min, ang);
    sum += ang;
  }
  return { minAngleDeg: min, meanNearestAngleDeg: sum / n };
}

const graphOps = OpGraphs.create({ device: 'cpu', minWork: 0 });
afterAll(async () => (await graphOps).dispose());

describe('randomAnchors', () => {
  test('unit rows, seeded, different seeds differ', () => {
    const a = randomAnchors(50, 9, 3);
    expect(a).toBeInstanceOf(Float32Array);
    expect(a.length).toBe(450);
    expectUnitRows(a, 50, 9);
    expect(randomAnchors(50, 9, 3)).toEqual(a);
    expect(randomAnchors(50, 9, 'three')).not.toEqual(a);
    expect(randomAnchors(50, 9, 3n)).toEqual(a); // Rng.from accepts bigint
  });
});

describe('anchorStats', () => {
  test('scipy golden (pdist cosine)', async () => {
    const g = ANCHORS_GOLDEN.stats;
    const s = await anchorStats({ data: Float32Array.from(g.data), shape: g.shape });
    expect(s.minAngleDeg).toBeCloseTo(g.minAngleDeg, 5);
    expect(s.meanNearestAngleDeg).toBeCloseTo(g.meanNearestAngleDeg, 5);
  });

  test('op-graph path agrees with brute force (float64 input accepted)', async () => {
    const n = 300;
    const d = 24;
    const a = randomAnchors(n, d, 11);
    const ref = bruteStats(a, n, d);
    const viaGraph = await anchorStats({ data: a, shape: [n, d] }, { ops: await graphOps });
    expect(viaGraph.minAngleDeg).toBeCloseTo(ref.minAngleDeg, 6);
    expect(viaGraph.meanNearestAngleDeg).toBeCloseTo(ref.meanNearestAngleDeg, 6);
    const s64 = await anchorStats({ data: Float64Array.from(a), shape: [n, d] }, { device: 'cpu' });
    expect(s64.minAngleDeg).toBeCloseTo(ref.minAngleDeg, 6);
  });
});

describe('optimizeAnchors', () => {
  test.each(ANCHORS_GOLDEN.runs.map((r, i) => [i, r] as const))('numpy golden trajectory #%i', async (_i, r) => {
    const res = await optimizeAnchors({
      init: { data: Float32Array.from(r.init), shape: r.shape },
      iterations: r.iterations,
      neighbours: r.neighbours,
      temperature: r.temperature,
      step: r.step,
    });
    expect(res.accepted).toBe(r.accepted);
    expect(res.iterations).toBe(r.iterations);
    expect(res.initial.minAngleDeg).toBeCloseTo(r.initial.minAngleDeg, 4);
    expect(res.initial.meanNearestAngleDeg).toBeCloseTo(r.initial.meanNearestAngleDeg, 4);
    expect(res.minAngleDeg).toBeCloseTo(r.minAngleDeg, 4);
    expect(res.meanNearestAngleDeg).toBeCloseTo(r.meanNearestAngleDeg, 4);
    expect(res.energy).toBeCloseTo(r.energy, 4);
    let maxDiff = 0;
    for (let i = 0; i < r.anchors.length; i++) maxDiff = Math.max(maxDiff, Math.abs(res.anchors[i] - r.anchors[i]));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  test.each([
    [4, 3],
    [6, 5],
    [9, 8],
  ])('N = d + 1 = %i in d = %i: regular simplex, every cosine −1/d', async (n, d) => {
    const r = await optimizeAnchors({ n, dim: d, iterations: 300, seed: 1 });
    expect(r.shape).toEqual([n, d]);
    expectUnitRows(r.anchors, n, d);
    const g = gram(r.anchors, n, d);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) expect(g[i * n + j]).toBeCloseTo(-1 / d, 3);
    expect(r.minAngleDeg).toBeCloseTo(Math.acos(-1 / d) * DEG, 1);
  });

  test.each([
    [6, 3],
    [8, 4],
  ])('N = 2d = %i in d = %i: cross-polytope, minimum angle 90°', async (n, d) => {
    const r = await optimizeAnchors({ n, dim: d, iterations: 400, seed: 2 });
    expect(r.minAngleDeg).toBeGreaterThan(89.5);
    expect(r.meanNearestAngleDeg).toBeGreaterThan(89.5);
    // each row's farthest row is its antipode
    const g = gram(r.anchors, n, d);
    for (let i = 0; i < n; i++) {
      let lo = Infinity;
      for (let j = 0; j < n; j++) lo = Math.min(lo, g[i * n + j]);
      expect(lo).toBeLessThan(-0.999);
    }
  });

  test('beats random anchors; op-graph and typed-array paths agree; stats match brute force', async () => {
    const opts = { n: 300, dim: 16, iterations: 30, seed: 5 }; // 300·300·16 < minWork: the default set loops in JS
    const viaGraph = await optimizeAnchors({ ...opts, ops: await graphOps });
    const viaJs = await optimizeAnchors({ ...opts, device: 'cpu' }); // below minWork: typed-array k-NN
    const random = await anchorStats({ data: randomAnchors(300, 16, 5), shape: [300, 16] });
    expect(viaGraph.initial.minAngleDeg).toBeCloseTo(random.minAngleDeg, 6);
    expect(viaGraph.minAngleDeg).toBeGreaterThan(random.minAngleDeg + 10);
    expect(viaGraph.meanNearestAngleDeg).toBeGreaterThan(random.meanNearestAngleDeg + 3);
    expect(viaJs.minAngleDeg).toBeCloseTo(viaGraph.minAngleDeg, 3);
    expect(viaJs.accepted).toBe(viaGraph.accepted);
    const brute = bruteStats(viaGraph.anchors, 300, 16);
    expect(viaGraph.minAngleDeg).toBeCloseTo(brute.minAngleDeg, 5);
    expect(viaGraph.meanNearestAngleDeg).toBeCloseTo(brute.meanNearestAngleDeg, 5);
    expectUnitRows(viaGraph.anchors, 300, 16);
  });

  test('deterministic; iterations 0 returns the start; progress is reported; init is not modified', async () => {
    const a = await optimizeAnchors({ n: 30, dim: 5, iterations: 10, seed: 'x' });
    const b = await optimizeAnchors({ n: 30, dim: 5, iterations: 10, seed: 'x' });
    expect(b.anchors).toEqual(a.anchors);
    const start = randomAnchors(30, 5, 'x');
    const zero = await optimizeAnchors({ init: { data: start, shape: [30, 5] }, iterations: 0 });
    expect(zero.iterations).toBe(0);
    expect(zero.minAngleDeg).toBe(zero.initial.minAngleDeg);
    for (let i = 0; i < start.length; i++) expect(Math.abs(zero.anchors[i] - start[i])).toBeLessThan(1e-7);
    const copy = start.slice();
    const seen: number[] = [];
    const r = await optimizeAnchors({
      init: { data: start, shape: [30, 5] },
      iterations: 7,
      onProgress: (p) => {
        seen.push(p.iteration);
        expect(p.iterations).toBe(7);
        expect(p.step).toBeGreaterThan(0);
      },
    });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(start).toEqual(copy);
    expect(r.minAngleDeg).toBeGreaterThanOrEqual(r.initial.minAngleDeg);
  });
});

describe('bad input', () => {
  test('sizes and options', async () => {
    await expectRejects(optimizeAnchors({ n: 1, dim: 3 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'n');
    await expectRejects(optimizeAnchors({ dim: 3 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'n');
    await expectRejects(optimizeAnchors({ n: 5, dim: 1 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'dim');
    await expectRejects(optimizeAnchors({ n: 5.5, dim: 3 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'n');
    const base = { n: 5, dim: 3 };
    await expectRejects(
      optimizeAnchors({ ...base, iterations: -1 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'iterations',
    );
    await expectRejects(
      optimizeAnchors({ ...base, neighbours: 0 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'neighbours',
    );
    await expectRejects(
      optimizeAnchors({ ...base, temperature: 0 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'temperature',
    );
    await expectRejects(optimizeAnchors({ ...base, temperature: NaN }), InvalidArgumentError, 'E_INVALID_ARGUMENT');
    await expectRejects(optimizeAnchors({ ...base, step: Infinity }), NonFiniteError, 'E_NON_FINITE', 'step');
    await expectRejects(optimizeAnchors({ ...base, step: 0.9 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'step');
    await expectRejects(optimizeAnchors({ ...base, seed: 1.5 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'seed');
    await expectRejects(optimizeAnchors({ ...base, device: 'tpu' as never }), Error, 'E_UNKNOWN_DEVICE', 'device');
    expectThrows(() => randomAnchors(0, 3), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'n');
    expectThrows(() => randomAnchors(3, 1), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'dim');
    expectThrows(() => randomAnchors(3, 3, {} as never), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'seed');
  });

  test('matrices: dtype, shape, non-finite, non-unit rows', async () => {
    const good = randomAnchors(4, 3, 0);
    const bad = (data: unknown, shape: unknown) => ({ data, shape }) as never;
    await expectRejects(optimizeAnchors({ init: bad(Int32Array.from([1, 0]), [1, 2]) }), DTypeError, 'E_DTYPE', 'init');
    await expectRejects(optimizeAnchors({ init: bad(good, [12]) }), ShapeError, 'E_SHAPE', 'init');
    await expectRejects(optimizeAnchors({ init: bad(good, [3, 3]) }), ShapeError, 'E_SHAPE', 'init');
    await expectRejects(optimizeAnchors({ init: bad(good.subarray(0, 3), [1, 3]) }), ShapeError, 'E_SHAPE', 'init');
    await expectRejects(optimizeAnchors({ init: bad(good, [12, 1]) }), ShapeError, 'E_SHAPE', 'init');
    const nan = good.slice();
    nan[4] = NaN;
    const e = await expectRejects(optimizeAnchors({ init: bad(nan, [4, 3]) }), NonFiniteError, 'E_NON_FINITE', 'init');
    expect((e as NonFiniteError).index).toBe(4);
    const long = good.slice();
    long[0] *= 2;
    await expectRejects(
      optimizeAnchors({ init: bad(long, [4, 3]) }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'init',
    );
    await expectRejects(
      optimizeAnchors({ init: [[1, 0]] as never }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'init',
    );
    await expectRejects(anchorStats(bad(good.subarray(0, 3), [1, 3])), ShapeError, 'E_SHAPE', 'anchors');
    await expectRejects(anchorStats(null as never), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'anchors');
  });
});
