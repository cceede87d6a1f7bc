/**
 * Bad input: every failure is a core-tensor typed error naming the parameter, the value and what is valid.
 */
import { describe, expect, test } from '@jest/globals';
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  contrastiveLoss,
  corrupt,
  mutualLikelihood,
  mutualLikelihoodMatrix,
  ProbHead,
  randomViews,
  rankByConfidence,
  trainHead,
} from '../src/index.js';

const z = { data: [1, 0, 0, 1, 0.6, 0.8, -1, 0], shape: [4, 2] };
const kappa = [1, 2, 3, 4];
const pairs: [number, number][] = [
  [0, 1],
  [2, 3],
];
const IA = 'E_INVALID_ARGUMENT';

describe('contrastiveLoss', () => {
  test('κ ≤ 0 or non-finite', () => {
    const e = expectThrows(
      () => contrastiveLoss({ z, kappa: [1, 0, 3, 4], pairs }, { variant: 'prob' }),
      InvalidArgumentError,
      IA,
      'kappa[1]',
    );
    expect(e.message).toMatch(/'kappa\[1\]' must be a concentration > 0, got 0/);
    expectThrows(
      () => contrastiveLoss({ z, kappa: [1, -2, 3, 4], pairs }, { variant: 'scf' }),
      InvalidArgumentError,
      IA,
      'kappa[1]',
    );
    expectThrows(() => contrastiveLoss({ z, kappa: [1, 2, NaN, 4], pairs }), NonFiniteError, 'E_NON_FINITE', 'kappa');
    expectThrows(
      () => contrastiveLoss({ z, kappa: [1, 2, 3, Infinity], pairs }),
      NonFiniteError,
      'E_NON_FINITE',
      'kappa',
    );
    expectThrows(() => contrastiveLoss({ z, pairs }, { variant: 'prob' }), InvalidArgumentError, IA, 'kappa');
  });

  test('mismatched batch sizes', () => {
    const e = expectThrows(() => contrastiveLoss({ z, kappa: [1, 2, 3], pairs }), ShapeError, 'E_SHAPE', 'kappa');
    expect(e.message).toMatch(/must have shape \[4\], got \[3\]/);
    expectThrows(
      () => contrastiveLoss({ z, kappa: { data: kappa, shape: [2, 2] }, pairs }),
      ShapeError,
      'E_SHAPE',
      'kappa',
    );
    expectThrows(
      () => contrastiveLoss({ z: { data: [1, 2, 3], shape: [2, 2] }, kappa, pairs }),
      ShapeError,
      'E_SHAPE',
      'z',
    );
    expectThrows(() => contrastiveLoss({ z, kappa, pairs: [[0, 4]] }), InvalidArgumentError, IA, 'pairs[0, 1]');
    expectThrows(
      () => contrastiveLoss({ z, kappa, pairs: { data: [0, 1, 2], shape: [1, 3] } }),
      ShapeError,
      'E_SHAPE',
      'pairs',
    );
  });

  test('a batch without positives', () => {
    const e = expectThrows(() => contrastiveLoss({ z, kappa, pairs: [] }), InvalidArgumentError, IA, 'pairs');
    expect(e.message).toMatch(/at least one positive pair/);
    expectThrows(
      () => contrastiveLoss({ z, kappa, pairs: { data: new BigInt64Array(0), shape: [0, 2] } }),
      InvalidArgumentError,
      IA,
      'pairs',
    );
    expectThrows(() => contrastiveLoss({ z, kappa, pairs: [[2, 2]] }), InvalidArgumentError, IA, 'pairs[0]');
    expectThrows(() => contrastiveLoss({ z, kappa, pairs: [[0.5, 1]] }), InvalidArgumentError, IA, 'pairs[0, 0]');
  });

  test('unnormalised embeddings where unit ones are required, zero and non-finite embeddings', () => {
    const e = expectThrows(
      () =>
        contrastiveLoss(
          { z: { data: [1, 0, 0, 2, 0.6, 0.8, -1, 0], shape: [4, 2] }, kappa, pairs },
          { requireUnit: true },
        ),
      InvalidArgumentError,
      IA,
      'z[1]',
    );
    expect(e.message).toMatch(/unit vector/);
    expect(() => contrastiveLoss({ z, kappa, pairs }, { requireUnit: true })).not.toThrow();
    expectThrows(
      () => contrastiveLoss({ z: { data: [1, 0, 0, 0, 1, 1, 1, 1], shape: [4, 2] }, kappa, pairs }),
      InvalidArgumentError,
      IA,
      'z[1]',
    );
    expectThrows(
      () => contrastiveLoss({ z: { data: [1, 0, NaN, 1, 1, 1, 1, 1], shape: [4, 2] }, kappa, pairs }),
      NonFiniteError,
      'E_NON_FINITE',
      'z',
    );
    expectThrows(
      () => contrastiveLoss({ z: { data: new BigInt64Array(8), shape: [4, 2] }, kappa, pairs }),
      DTypeError,
      'E_DTYPE',
      'z',
    );
    expectThrows(
      () => contrastiveLoss({ z: { data: [1, 2], shape: [1, 2] }, kappa: [1], pairs }),
      ShapeError,
      'E_SHAPE',
      'z',
    );
    expectThrows(
      () => contrastiveLoss({ z: { data: [1, 2, 3, 4], shape: [4, 1] }, kappa, pairs }),
      InvalidArgumentError,
      IA,
      'z',
    );
  });

  test('options', () => {
    expectThrows(
      () => contrastiveLoss({ z, kappa, pairs }, { variant: 'nce' as never }),
      InvalidArgumentError,
      IA,
      'variant',
    );
    expectThrows(() => contrastiveLoss({ z, kappa, pairs }, { tau: 0 }), InvalidArgumentError, IA, 'tau');
    expectThrows(() => contrastiveLoss({ z, kappa, pairs }, { radius: -1 }), InvalidArgumentError, IA, 'radius');
    expectThrows(() => contrastiveLoss({ z, kappa, pairs }, { radius: Infinity }), InvalidArgumentError, IA, 'radius');
    expectThrows(() => contrastiveLoss(null as never), InvalidArgumentError, IA, 'input');
  });
});

describe('head and trainer', () => {
  const x = { data: new Float64Array(40).map((_, i) => Math.sin(i)), shape: [10, 4] };
  const tp: [number, number][] = [
    [0, 1],
    [2, 3],
    [4, 5],
  ];
  test('shape and option errors', () => {
    const head = ProbHead.init({ features: 4 });
    expectThrows(() => head.forward({ data: new Float64Array(15), shape: [3, 5] }), ShapeError, 'E_SHAPE', 'features');
    expectThrows(() => ProbHead.init({ features: 0 }), InvalidArgumentError, IA, 'features');
    expectThrows(() => ProbHead.init({ features: 4, dim: 1 }), InvalidArgumentError, IA, 'dim');
    expectThrows(() => ProbHead.init({ features: 4, kappaInit: 0 }), InvalidArgumentError, IA, 'kappaInit');
    expectThrows(() => ProbHead.fromJSON({ format: 'x' } as never), InvalidArgumentError, IA, 'json');
    const json = head.toJSON();
    json.params.w1 = [1, 2];
    expectThrows(() => ProbHead.fromJSON(json), InvalidArgumentError, IA, 'params.w1');
    expectThrows(() => trainHead({ features: x, pairs: tp }, { batchSize: 4 }), InvalidArgumentError, IA, 'batchSize');
    expectThrows(
      () => trainHead({ features: x, pairs: tp }, { objective: 'x' as never, batchSize: 2 }),
      InvalidArgumentError,
      IA,
      'objective',
    );
    expectThrows(() => trainHead({ features: x, pairs: tp }, { lr: -1, batchSize: 2 }), InvalidArgumentError, IA, 'lr');
    expectThrows(() => trainHead({ features: x, pairs: [] }), InvalidArgumentError, IA, 'pairs');
    expectThrows(() => trainHead({ features: x, pairs: [[0, 10]] }), InvalidArgumentError, IA, 'pairs[0, 1]');
  });
});

describe('inference helpers', () => {
  test('non-unit embeddings, mismatched dimensions, bad κ', () => {
    const e = expectThrows(() => mutualLikelihood([1, 1], 1, [1, 0], 1), InvalidArgumentError, IA, 'mu1[0]');
    expect(e.message).toMatch(/norm 1\.41/);
    expectThrows(() => mutualLikelihood([1, 0], 1, [1, 0, 0], 1), ShapeError, 'E_SHAPE', 'mu2');
    expectThrows(() => mutualLikelihood([1, 0], 0, [1, 0], 1), InvalidArgumentError, IA, 'kappa1[0]');
    expectThrows(() => mutualLikelihood([1, 0], 1, [1, 0], NaN), NonFiniteError, 'E_NON_FINITE', 'kappa2');
    expectThrows(
      () => mutualLikelihoodMatrix({ embedding: [[1, 0]], kappa: [1, 2] }, { embedding: [[0, 1]], kappa: [1] }),
      ShapeError,
      'E_SHAPE',
      'a.kappa',
    );
    expectThrows(
      () => mutualLikelihoodMatrix({ embedding: [[1, 0]], kappa: [1] }, { embedding: [[0, 1, 0]], kappa: [1] }),
      ShapeError,
      'E_SHAPE',
      'b.embedding',
    );
    expectThrows(() => rankByConfidence([1, -1]), InvalidArgumentError, IA, 'kappa[1]');
  });

  test('augmentation inputs', () => {
    const img = { data: new Float32Array(2 * 784), shape: [2, 1, 28, 28] };
    expectThrows(() => corrupt(img, 'rain' as never, 1), InvalidArgumentError, IA, 'kind');
    expectThrows(() => corrupt(img, 'noise', 6), InvalidArgumentError, IA, 'severity');
    expectThrows(
      () => corrupt({ data: new Float32Array(2 * 784 * 3), shape: [2, 3, 28, 28] }, 'noise', 1),
      ShapeError,
      'E_SHAPE',
      'images',
    );
    expectThrows(
      () => corrupt({ data: new Float32Array(10), shape: [2, 1, 28, 28] }, 'noise', 1),
      ShapeError,
      'E_SHAPE',
      'images',
    );
    expectThrows(() => randomViews(img, { views: 1 }), InvalidArgumentError, IA, 'views');
    expectThrows(() => randomViews({ data: [1, 2] as never, shape: [1, 1, 1, 2] }), InvalidArgumentError, IA, 'images');
  });
});
