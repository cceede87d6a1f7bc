import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, NonFiniteError, ShapeError, Rng } from '@trustvision/core-tensor';
import { assignmentCost, hungarianMatch } from '../src/index.js';
import { LSA_GOLDEN } from './fixtures/lsa_golden.js';

/** Checks that rowToCol is a valid assignment of size min(rows, cols). */
function expectValid(rowToCol: Int32Array, rows: number, cols: number): void {
  expect(rowToCol.length).toBe(rows);
  const seen = new Set<number>();
  let assigned = 0;
  for (const j of rowToCol) {
    if (j === -1) continue;
    expect(j).toBeGreaterThanOrEqual(0);
    expect(j).toBeLessThan(cols);
    expect(seen.has(j)).toBe(false);
    seen.add(j);
    assigned++;
  }
  expect(assigned).toBe(Math.min(rows, cols));
}

/** Brute force: the best total over all injective maps of the smaller side into the larger. */
function bruteForce(cost: Float64Array, rows: number, cols: number, maximize = false): number {
  const tall = rows > cols;
  const n = tall ? cols : rows;
  const m = tall ? rows : cols;
  const at = (i: number, j: number) => (tall ? cost[j * cols + i] : cost[i * cols + j]);
  let best = maximize ? -Infinity : Infinity;
  const used = new Uint8Array(m);
  const rec = (i: number, acc: number) => {
    if (i === n) {
      best = maximize ? Math.max(best, acc) : Math.min(best, acc);
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = 1;
      rec(i + 1, acc + at(i, j));
      used[j] = 0;
    }
  };
  rec(0, 0);
  return best;
}

describe('hungarianMatch', () => {
  test('hand-calculated 3×3', () => {
    // rows: workers, cols: jobs. Optimum 0→1 (1), 1→0 (2), 2→2 (2) = 5
    const cost = Float64Array.of(4, 1, 3, 2, 0, 5, 3, 2, 2);
    const r = hungarianMatch(cost, 3, 3);
    expect(Array.from(r)).toEqual([1, 0, 2]);
    expect(assignmentCost(cost, 3, 3, r)).toBe(5);
  });

  test.each(Object.entries(LSA_GOLDEN))('scipy linear_sum_assignment golden: %s', (name, g) => {
    const cost = Float64Array.from(g.cost);
    const r = hungarianMatch(cost, g.rows, g.cols, { maximize: g.maximize });
    expectValid(r, g.rows, g.cols);
    expect(Math.abs(assignmentCost(cost, g.rows, g.cols, r) - g.total)).toBeLessThan(
      1e-9 * Math.max(1, Math.abs(g.total)),
    );
    // without ties the optimum is unique, so the assignment itself must agree
    if (!name.startsWith('ties')) expect(Array.from(r)).toEqual(g.rowToCol);
  });

  test('agrees with brute force on small random matrices, with and without ties', () => {
    const rng = Rng.from(2024);
    const rnd = () => rng.uniform();
    for (let trial = 0; trial < 150; trial++) {
      const rows = 1 + Math.floor(rnd() * 6);
      const cols = 1 + Math.floor(rnd() * 6);
      const ties = trial % 2 === 0;
      const cost = Float64Array.from({ length: rows * cols }, () => (ties ? Math.floor(rnd() * 3) : rnd() * 10 - 5));
      const maximize = trial % 5 === 0;
      const r = hungarianMatch(cost, rows, cols, { maximize });
      expectValid(r, rows, cols);
      expect(assignmentCost(cost, rows, cols, r)).toBeCloseTo(bruteForce(cost, rows, cols, maximize), 10);
    }
  });

  test('accepts plain arrays and empty matrices', () => {
    expect(Array.from(hungarianMatch([5, 1], 1, 2))).toEqual([1]);
    expect(Array.from(hungarianMatch([5, 1], 2, 1))).toEqual([-1, 0]);
    expect(Array.from(hungarianMatch([], 0, 3))).toEqual([]);
    expect(Array.from(hungarianMatch([], 2, 0))).toEqual([-1, -1]);
  });

  test('validates its inputs with typed errors', () => {
    expect(() => hungarianMatch(new Float64Array(5), 2, 3)).toThrow(ShapeError);
    expect(() => hungarianMatch(new Float64Array(6), 2.5, 3)).toThrow(InvalidArgumentError);
    expect(() => hungarianMatch(new Float64Array(6), -2, -3)).toThrow(InvalidArgumentError);
    expect(() => hungarianMatch(Float64Array.of(1, NaN), 1, 2)).toThrow(NonFiniteError);
    expect(() => hungarianMatch(Float64Array.of(1, Infinity), 1, 2)).toThrow(NonFiniteError);
    expect(() => hungarianMatch(null as never, 1, 2)).toThrow(InvalidArgumentError);
    expect(() => assignmentCost(Float64Array.of(1, 2), 1, 2, [2])).toThrow(InvalidArgumentError);
    expect(() => assignmentCost(Float64Array.of(1, 2), 1, 2, [0, 1])).toThrow(ShapeError);
  });
});
