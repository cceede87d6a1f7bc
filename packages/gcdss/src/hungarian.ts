/**
 * Minimum-cost assignment on a rectangular cost matrix (the Hungarian step of GCDSS's cluster→class matching,
 * spec `gcdss.md` §7.1, where the code calls `scipy.optimize.linear_sum_assignment`).
 *
 * The solver is the shortest-augmenting-path form of the Kuhn–Munkres algorithm with row and column potentials
 * (as in Jonker–Volgenant): rows are added one at a time, and each addition runs a Dijkstra-like search over
 * reduced costs `cost[i][j] − u[i] − v[j] ≥ 0` for the cheapest augmenting path. O(n²·m) for n = min(rows, cols)
 * and m = max(rows, cols). A wide or square matrix is solved as is; a tall one is solved transposed.
 */
import { InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

export interface HungarianOptions {
  /** Maximise the total instead of minimising it (as `linear_sum_assignment(..., maximize=True)`). Default false. */
  maximize?: boolean;
}

function checkMatrix(cost: unknown, rows: unknown, cols: unknown): asserts cost is ArrayLike<number> {
  for (const [name, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new InvalidArgumentError(name, v, 'a non-negative integer');
    }
  }
  if (cost === null || typeof cost !== 'object' || typeof (cost as { length?: unknown }).length !== 'number') {
    throw new InvalidArgumentError('cost', cost, 'a Float64Array (or array) of rows·cols numbers, row-major');
  }
  const n = (cost as ArrayLike<unknown>).length;
  if (n !== (rows as number) * (cols as number)) {
    throw new ShapeError('cost', `[${n}]`, `[${rows}·${cols}] = [${(rows as number) * (cols as number)}] (row-major)`);
  }
  for (let i = 0; i < n; i++) {
    const x = (cost as ArrayLike<unknown>)[i];
    if (typeof x !== 'number') throw new InvalidArgumentError(`cost[${i}]`, x, 'a number');
    if (!Number.isFinite(x)) throw new NonFiniteError('cost', i, x);
  }
}

/**
 * Solves the linear assignment problem for a `rows`×`cols` row-major cost matrix. Every row is assigned a distinct
 * column when rows ≤ cols; when rows > cols every column gets a distinct row and the remaining rows get −1. Among
 * assignments of that size the returned one has the minimum (or, with `maximize`, maximum) total cost. Ties between
 * optimal assignments are broken deterministically but not necessarily as scipy breaks them.
 *
 * @returns row → column (Int32Array of length `rows`, −1 for an unassigned row)
 */
export function hungarianMatch(
  cost: ArrayLike<number>,
  rows: number,
  cols: number,
  options: HungarianOptions = {},
): Int32Array {
  checkMatrix(cost, rows, cols);
  const sign = options.maximize ? -1 : 1;
  const rowToCol = new Int32Array(rows).fill(-1);
  if (rows === 0 || cols === 0) return rowToCol;
  const transposed = rows > cols;
  const n = transposed ? cols : rows; // rows of the problem solved (n <= m)
  const m = transposed ? rows : cols;
  const a = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) a[i * m + j] = sign * (transposed ? cost[j * cols + i] : cost[i * cols + j]);
  }

  // 1-based indices; column 0 is a virtual column that holds the row being inserted.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const match = new Int32Array(m + 1); // match[j] = row assigned to column j (0 = none)
  const way = new Int32Array(m + 1); // predecessor column on the shortest path
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    match[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = match[j0];
      const rowOff = (i0 - 1) * m - 1;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a[rowOff + j] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[match[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (match[j0] !== 0);
    // augment along the path back to the virtual column
    do {
      const j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0 !== 0);
  }

  for (let j = 1; j <= m; j++) {
    const i = match[j];
    if (i === 0) continue;
    if (transposed) rowToCol[j - 1] = i - 1;
    else rowToCol[i - 1] = j - 1;
  }
  return rowToCol;
}

/** Total cost Σ cost[i][rowToCol[i]] over the assigned rows of a row-major `rows`×`cols` matrix. */
export function assignmentCost(
  cost: ArrayLike<number>,
  rows: number,
  cols: number,
  rowToCol: ArrayLike<number>,
): number {
  checkMatrix(cost, rows, cols);
  if (rowToCol.length !== rows) throw new ShapeError('rowToCol', `[${rowToCol.length}]`, `[${rows}]`);
  let s = 0;
  for (let i = 0; i < rows; i++) {
    const j = rowToCol[i];
    if (j === -1) continue;
    if (!Number.isInteger(j) || j < 0 || j >= cols)
      throw new InvalidArgumentError(`rowToCol[${i}]`, j, `-1 or an integer in [0, ${cols})`);
    s += cost[i * cols + j];
  }
  return s;
}
