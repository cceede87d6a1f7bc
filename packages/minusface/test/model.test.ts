/**
 * Model contracts (spec §B.7) checked on load with typed errors, and the server side: embeddings (l2-normalised,
 * checked against a float64 re-implementation of a tiny recogniser), verification and identification.
 */
import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, NonFiniteError, Rng, ShapeError, tensor } from '@trustvision/core-tensor';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  GeneratorModel,
  ModelContractError,
  RecognizerModel,
  cosine,
  embed,
  identify,
  l2normalize,
  protect,
  rank1Accuracy,
  verificationReport,
  verify,
} from '../src/index.js';
import { identityModel, poolRecognizer, scaleGenerator, twoInputModel } from './tiny-models.js';

describe('generator contract', () => {
  test('accepts [N,192,H,W] → [N,192,H,W] and reports names and sizes', async () => {
    const g = await GeneratorModel.create(scaleGenerator(0.5), { device: 'cpu' });
    expect([g.inputName, g.outputName, g.height, g.width, g.device]).toEqual([
      'x',
      'x_regen',
      undefined,
      undefined,
      'cpu',
    ]);
    await g.dispose();
    await expectRejects(g.regenerate(new Float32Array(192 * 4), 1, 2, 2), Error, 'E_DISPOSED');
  });
  test.each([
    ['wrong channel count', identityModel('float32', ['N', 191, 'H', 'W']), "input 'x' shape"],
    ['rank 3 input', identityModel('float32', ['N', 192, 'H']), "input 'x' shape"],
    ['float64 input', identityModel('float64', ['N', 192, 'H', 'W']), "input 'x' dtype"],
    ['two inputs', twoInputModel(), 'inputs'],
    ['rank-2 output', identityModel('float32', ['N', 192, 'H', 'W'], ['N', 192]), "output 'y' shape"],
  ])('rejects %s with ModelContractError naming %s', async (_what, bytes, param) => {
    const e = await expectRejects(
      GeneratorModel.create(bytes, { device: 'cpu' }),
      ModelContractError,
      'E_INVALID_ARGUMENT',
      param,
    );
    expect(e.message).toMatch(/MinusFace contract/);
  });
  test('a recogniser is not a generator', async () => {
    await expectRejects(
      GeneratorModel.create(poolRecognizer(), { device: 'cpu' }),
      ModelContractError,
      'E_INVALID_ARGUMENT',
    );
  });
  test('bad model argument', async () => {
    await expectRejects(GeneratorModel.create(42 as never), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'model');
  });
});

describe('recogniser contract', () => {
  test.each([
    ['4 input channels', identityModel('float32', ['N', 4, 'H', 'W'], ['N', 4]), "input 'x' shape"],
    ['rank-4 output', identityModel('float32', ['N', 3, 'H', 'W']), "output 'y' shape"],
    [
      'a generator (192 = 3·64 input channels pass; the rank-4 output does not)',
      scaleGenerator(0.9),
      "output 'x_regen' shape",
    ],
  ])('rejects %s', async (_w, bytes, param) => {
    await expectRejects(
      RecognizerModel.create(bytes, { device: 'cpu' }),
      ModelContractError,
      'E_INVALID_ARGUMENT',
      param,
    );
  });
  test('wrong image size for a fixed-size recogniser, wrong channel count, values outside [0, 1]', async () => {
    const f = await RecognizerModel.create(poolRecognizer(3, 8, 0, [16, 16]), { device: 'cpu' });
    try {
      expect([f.channels, f.height, f.width]).toEqual([3, 16, 16]);
      await expectRejects(embed(f, tensor(new Float32Array(3 * 64), [3, 8, 8])), ShapeError, 'E_SHAPE', 'images');
      await expectRejects(
        embed(f, tensor(new Float32Array(4 * 256), [4, 16, 16])),
        ShapeError,
        'E_SHAPE',
        'protectedImages',
      );
      const bad = new Float32Array(3 * 256);
      bad[0] = NaN;
      await expectRejects(
        embed(f, tensor(bad, [3, 16, 16])),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'protectedImages',
      );
      bad[0] = 2;
      await expectRejects(
        embed(f, tensor(bad, [3, 16, 16])),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'protectedImages',
      );
    } finally {
      await f.dispose();
    }
  });
});

describe('embed', () => {
  test('l2-normalised embeddings equal a float64 re-implementation of the tiny recogniser', async () => {
    const f = await RecognizerModel.create(poolRecognizer(3, 8, 4), { device: 'cpu' });
    const rng = Rng.from(4);
    const w = Float32Array.from(rng.normalArray(24));
    const x = Float32Array.from(Rng.from(9).uniformArray(5 * 3 * 6 * 6));
    const out = await embed(f, tensor(x, [5, 3, 6, 6]), { batchSize: 2 });
    expect(out).toHaveLength(5);
    for (let b = 0; b < 5; b++) {
      const pooled = [0, 1, 2].map((c) => {
        let s = 0;
        for (let i = 0; i < 36; i++) s += x[(b * 3 + c) * 36 + i];
        return s / 36;
      });
      const e = Array.from({ length: 8 }, (_, d) => pooled.reduce((s, p, c) => s + p * w[c * 8 + d], 0));
      const n = Math.hypot(...e);
      e.forEach((v, d) => expect(out[b][d]).toBeCloseTo(v / n, 5));
    }
    await f.dispose();
  });
  test('end to end: protect → embed, same image twice under different π', async () => {
    const g = await GeneratorModel.create(scaleGenerator(0.8), { device: 'cpu' });
    const f = await RecognizerModel.create(poolRecognizer(3, 8, 1), { device: 'cpu' });
    const img = tensor(Float32Array.from(Rng.from(1).uniformArray(3 * 16 * 16)), [3, 16, 16]);
    const xp = await protect(g, [img, img]);
    const [a, b] = await embed(f, xp);
    expect(a).toHaveLength(8);
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(cosine(a, b)).toBeGreaterThan(-1);
    await g.dispose();
    await f.dispose();
  });
});

describe('verify, identify, reports', () => {
  test('cosine, verify at a threshold, l2normalize', () => {
    expect(cosine([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(verify([1, 0], [1, 1], 0.7)).toEqual({ score: cosine([1, 0], [1, 1]), threshold: 0.7, match: true });
    expect(verify([1, 0], [0, 1], 0.7).match).toBe(false);
    expect(Array.from(l2normalize([3, 4]))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(Array.from(l2normalize([0, 0]))).toEqual([0, 0]);
    expectThrows(() => verify([1], [1], 2), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'threshold');
    expectThrows(() => cosine([1, 2], [1]), ShapeError, 'E_SHAPE', 'b');
    expectThrows(() => cosine([0, 0], [1, 1]), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'a');
  });
  test('identify and rank-1 accuracy (core-tensor rank1)', () => {
    const gallery = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    const probes = [
      [0.9, 0.1, 0],
      [0, 0.2, 1],
      [0.1, 1, 0.1],
    ];
    const res = identify(probes, gallery, ['a', 'b', 'c']);
    expect(res.map((r) => r.label)).toEqual(['a', 'c', 'b']);
    expect(rank1Accuracy(probes, ['a', 'c', 'a'], gallery, ['a', 'b', 'c'])).toBeCloseTo(2 / 3, 12);
    expectThrows(() => identify(probes, gallery, ['a']), ShapeError, 'E_SHAPE', 'galleryLabels');
  });
  test('verification report: separable scores → accuracy 1, EER 0', () => {
    const scores = [0.9, 0.8, 0.85, 0.95, 0.1, 0.2, 0.15, 0.05, 0.3, 0.7, 0.6, 0.4];
    const labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0];
    const r = verificationReport(scores, labels);
    expect(r.pairs).toBe(12);
    expect(r.auc).toBe(1);
    expect(r.eer).toBe(0);
    expect(r.accuracy).toBeGreaterThan(0.8);
  });
  test('NaN from a recogniser is an error', async () => {
    // Identity-free trick: a recogniser whose weights are NaN
    const { GraphBuilder } = await import('@trustvision/core-tensor');
    const gb = new GraphBuilder('nanrec');
    const x = gb.input('x_p', 'float32', ['N', 3, 'H', 'W']);
    const [p] = gb.op('GlobalAveragePool', [x]);
    const [fl] = gb.op('Flatten', [p]);
    const [e] = gb.op('MatMul', [fl, gb.constant(tensor(new Float32Array(6).fill(NaN), [3, 2]))], {}, ['embedding']);
    gb.output(e, 'float32', ['N', 2]);
    const f = await RecognizerModel.create(gb.toBytes({ opset: 17 }), { device: 'cpu' });
    await expectRejects(
      embed(f, tensor(new Float32Array(3 * 4).fill(0.5), [3, 2, 2])),
      NonFiniteError,
      'E_NON_FINITE',
      "output 'embedding'",
    );
    await f.dispose();
  });
});
