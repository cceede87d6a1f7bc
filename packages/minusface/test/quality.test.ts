/**
 * SSIM and PSNR against scikit-image 0.19.3 goldens (test/fixtures/quality_ref.py), plus the defining properties and
 * typed errors.
 */
import { describe, expect, test } from '@jest/globals';
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError, tensor } from '@trustvision/core-tensor';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import { mse, psnr, ssim } from '../src/index.js';
import { A, B, C, G1, G2, GOLDEN, GRAY_SHAPE, SHAPE } from './fixtures/quality_golden.js';

const t = (d: number[], s: number[]) => tensor(Float64Array.from(d), s);

describe('against scikit-image', () => {
  test('SSIM, 3 channels (channel_axis=0), data_range 1', () => {
    expect(ssim(t(A, SHAPE), t(B, SHAPE))).toBeCloseTo(GOLDEN.ab.ssim, 12);
    expect(ssim(t(A, SHAPE), t(C, SHAPE))).toBeCloseTo(GOLDEN.ac.ssim, 12);
    expect(ssim(t(A, SHAPE), t(B, SHAPE), { winSize: 5 })).toBeCloseTo(GOLDEN.ab_win5.ssim, 12);
  });
  test('SSIM, grayscale [H, W], data_range 255', () => {
    expect(ssim(t(G1, GRAY_SHAPE), t(G2, GRAY_SHAPE), { dataRange: 255 })).toBeCloseTo(GOLDEN.gray255.ssim, 12);
  });
  test('PSNR', () => {
    expect(psnr(t(A, SHAPE), t(B, SHAPE))).toBeCloseTo(GOLDEN.ab.psnr, 10);
    expect(psnr(t(A, SHAPE), t(C, SHAPE))).toBeCloseTo(GOLDEN.ac.psnr, 10);
    expect(psnr(t(G1, GRAY_SHAPE), t(G2, GRAY_SHAPE), { dataRange: 255 })).toBeCloseTo(GOLDEN.gray255.psnr, 10);
  });
  test('float32 inputs give the float64 result to float32 precision', () => {
    const a = tensor(Float32Array.from(A), SHAPE);
    const b = tensor(Float32Array.from(B), SHAPE);
    expect(ssim(a, b)).toBeCloseTo(GOLDEN.ab.ssim, 12); // the values are float32-exact
  });
});

describe('properties', () => {
  test('identical images: SSIM 1, PSNR +Infinity, MSE 0; symmetric', () => {
    expect(ssim(t(A, SHAPE), t(A, SHAPE))).toBeCloseTo(1, 14);
    expect(psnr(t(A, SHAPE), t(A, SHAPE))).toBe(Infinity);
    expect(mse(t(A, SHAPE), t(A, SHAPE))).toBe(0);
    expect(ssim(t(B, SHAPE), t(A, SHAPE))).toBeCloseTo(ssim(t(A, SHAPE), t(B, SHAPE)), 14);
  });
  test('PSNR = 10 log10(R²/MSE)', () => {
    const m = mse(t(A, SHAPE), t(B, SHAPE));
    expect(psnr(t(A, SHAPE), t(B, SHAPE))).toBeCloseTo(10 * Math.log10(1 / m), 12);
  });
});

describe('typed errors', () => {
  test('shape mismatch, rank, dtype, non-finite, options', () => {
    expectThrows(() => ssim(t(A, SHAPE), t(A.slice(0, 320), [1, 16, 20])), ShapeError, 'E_SHAPE', 'b');
    expectThrows(() => psnr(t([1, 2], [2]), t([1, 2], [2])), ShapeError, 'E_SHAPE', 'a');
    expectThrows(
      () => ssim(tensor(new Int32Array(64), [8, 8]), t(G1.slice(0, 64), [8, 8])),
      DTypeError,
      'E_DTYPE',
      'a',
    );
    const bad = A.slice();
    bad[5] = NaN;
    expectThrows(() => ssim(t(A, SHAPE), t(bad, SHAPE)), NonFiniteError, 'E_NON_FINITE', 'b');
    expectThrows(
      () => psnr(t(A, SHAPE), t(B, SHAPE), { dataRange: 0 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'dataRange',
    );
    expectThrows(
      () => ssim(t(A, SHAPE), t(B, SHAPE), { winSize: 4 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'winSize',
    );
    expectThrows(() => ssim(t(G1.slice(0, 36), [6, 6]), t(G1.slice(0, 36), [6, 6])), ShapeError, 'E_SHAPE', 'a');
  });
});
