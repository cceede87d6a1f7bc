import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from '@jest/globals';

/** The golden values written by test/fixtures/procal_ref.py (official-code semantics, Debian numpy/sklearn/statsmodels). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Golden = any;
let cached: Golden | undefined;
export function golden(): Golden {
  cached ??= JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'procal_golden.json'), 'utf8'));
  return cached;
}

/** Rows of a row-major [n, cols] array picked by `idx`. */
export function rows<T extends Float32Array | Float64Array>(
  data: ArrayLike<number>,
  cols: number,
  idx: readonly number[],
  out: T,
): T {
  idx.forEach((r, i) => {
    for (let j = 0; j < cols; j++) out[i * cols + j] = data[r * cols + j];
  });
  return out;
}

/** The golden data set split into its calibration and test halves. */
export function dataset() {
  const g = golden();
  const { N, D, C, calIdx, testIdx } = g.data;
  const feat = Float32Array.from(g.data.features as number[]);
  const logits = Float32Array.from(g.data.logits as number[]);
  const labels = Int32Array.from(g.data.labels as number[]);
  const part = (idx: number[]) => ({
    features: { data: rows(feat, D, idx, new Float32Array(idx.length * D)), shape: [idx.length, D] },
    logits: { data: rows(logits, C, idx, new Float32Array(idx.length * C)), shape: [idx.length, C] },
    labels: Int32Array.from(idx, (i) => labels[i]),
    n: idx.length,
  });
  return { N, D, C, cal: part(calIdx), test: part(testIdx) };
}

/** max_i |a_i − b_i| / max(|b_i|, floor) */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-300): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return m;
}

export function expectRel(a: number, b: number, tol: number): void {
  const err = Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
  if (!(err <= tol)) throw new Error(`expected ${a} to equal ${b} within ${tol} relative (error ${err})`);
}

export { expectThrows, expectRejects } from '@trustvision/jest-preset/expect-errors';
