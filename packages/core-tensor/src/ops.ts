/**
 * Op-graphs: heavy math that is not a model (matmul, pairwise distances, kNN, row norms), built as tiny ONNX graphs
 * in TypeScript and run through ONNX Runtime on the chosen device. Inputs below `minWork` multiply-adds run in tight
 * typed-array loops instead; both paths agree (tests check them against each other and against brute force).
 *
 * Graphs use symbolic dimensions, so one compiled session per (op, variant, device) serves every shape; large
 * problems are cut into query × reference chunks whose partial top-k lists are merged.
 */
import { InvalidArgumentError, ShapeError } from './errors.js';
import { GraphBuilder, attr } from './onnx/graph.js';
import { createSession, type Session } from './session.js';
import { parseDevice, type ConcreteDevice, type Device, type DeviceOptions } from './runtime.js';
import { assertFinite, asMatrix, tensor, type NdArrayLike, type Tensor } from './tensor.js';
import type { DeviceAttempt } from './errors.js';

export type DistanceMetric = 'sqeuclidean' | 'euclidean' | 'cosine';
export type PairwiseMetric = DistanceMetric | 'dot' | 'cosine-similarity';
/** A float32 [rows, cols] matrix: a Tensor, an ndarray, or `{ data: Float32Array, shape: [rows, cols] }`. */
export type MatrixInput = Tensor<'float32'> | NdArrayLike;

export interface OpGraphOptions {
  device?: Device;
  deviceOptions?: DeviceOptions;
  /** Below this many multiply-adds, use typed-array loops instead of a graph (default 2^21). 0 = always graph. */
  minWork?: number;
  /** Upper bound on the bytes of one distance block (default 32 MiB: larger blocks thrash memory). */
  blockBytes?: number;
  /** Upper bound on reference rows per block (default 262144). */
  maxRefRows?: number;
  /** Extra ORT session options for the graphs (threads etc.). */
  sessionOptions?: Record<string, unknown>;
}

export interface KnnOptions {
  /** Neighbours per query (default 10). */
  k?: number;
  metric?: DistanceMetric;
  /**
   * Exclude each query's own row: query i is reference row i (+ `selfOffset`). Use when queries are the reference set
   * (or a slice of it starting at `selfOffset`).
   */
  excludeSelf?: boolean;
  selfOffset?: number;
  /** 'auto' (by size), 'graph' or 'js'. */
  backend?: 'auto' | 'graph' | 'js';
}

export interface KnnResult {
  /** [queries, k] distances in ascending order (metric units; cosine distance = 1 − cos). */
  distances: Float32Array;
  /** [queries, k] reference row indices. */
  indices: Int32Array;
  shape: [number, number];
  /** 'graph' or 'js': which path computed this. */
  backend: 'graph' | 'js';
}

const BIG = 3.0e38;
const EPS = 1e-12;

type GraphKind =
  | 'matmul'
  | 'matmul-tb'
  | 'norms'
  | `pairwise-${PairwiseMetric}`
  | `knn-${DistanceMetric}`
  | `knn-${DistanceMetric}-self`;

/**
 * A set of compiled op-graphs bound to one device. Create once, reuse, `dispose()` when done.
 *
 * ```ts
 * const ops = await OpGraphs.create({ device: 'auto' });
 * const { indices, distances } = await ops.knn(queries, references, { k: 10 });
 * ```
 */
export class OpGraphs {
  private readonly options: Required<Pick<OpGraphOptions, 'minWork' | 'blockBytes' | 'maxRefRows'>> & OpGraphOptions;
  private readonly sessions = new Map<GraphKind, Promise<Session>>();
  private resolved: ConcreteDevice | undefined;
  private triedList: readonly DeviceAttempt[] = [];

  private constructor(options: OpGraphOptions) {
    this.options = { minWork: 1 << 21, blockBytes: 32 * 1024 * 1024, maxRefRows: 262144, ...options };
    for (const key of ['minWork', 'blockBytes', 'maxRefRows'] as const) {
      const v = this.options[key];
      if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(key, v, 'a non-negative number');
    }
  }

  /** Creates the op-graph set. Devices are resolved (and 'auto' probed) when the first graph is compiled. */
  static async create(options: OpGraphOptions = {}): Promise<OpGraphs> {
    parseDevice(options.device ?? 'auto'); // an unknown device fails here, not at the first large input
    return new OpGraphs(options);
  }

  /** The device the graphs run on (undefined until the first graph is compiled). */
  get device(): ConcreteDevice | undefined {
    return this.resolved;
  }

  /** Devices tried when the first graph was compiled. */
  get tried(): readonly DeviceAttempt[] {
    return this.triedList;
  }

  /** Compiles (once) and returns the session for a graph kind. */
  private session(kind: GraphKind): Promise<Session> {
    let s = this.sessions.get(kind);
    if (!s) {
      const bytes = buildGraph(kind);
      const first = this.resolved === undefined && this.sessions.size === 0;
      s = createSession(bytes, {
        device: this.resolved ?? this.options.device ?? 'auto',
        deviceOptions: this.options.deviceOptions,
        sessionOptions: this.options.sessionOptions,
        name: `op-graph '${kind}'`,
      }).then((sess) => {
        if (first || this.resolved === undefined) {
          this.resolved = sess.device;
          this.triedList = sess.tried;
        }
        return sess;
      });
      s.catch(() => this.sessions.delete(kind));
      this.sessions.set(kind, s);
    }
    return s;
  }

  /** Compiles the graph of `kind` now (e.g. to resolve the device before timing). */
  async warmup(kind: GraphKind = 'knn-sqeuclidean'): Promise<ConcreteDevice> {
    return (await this.session(kind)).device;
  }

  private useGraph(work: number, backend: 'auto' | 'graph' | 'js' = 'auto'): boolean {
    if (backend !== 'auto' && backend !== 'graph' && backend !== 'js')
      throw new InvalidArgumentError('backend', backend, "'auto', 'graph' or 'js'");
    return backend === 'graph' || (backend === 'auto' && work >= this.options.minWork);
  }

  /** A·B (or A·Bᵀ with `transB`), float32. */
  async matmul(
    a: MatrixInput,
    b: MatrixInput,
    options: { transB?: boolean; backend?: 'auto' | 'graph' | 'js' } = {},
  ): Promise<Tensor<'float32'>> {
    const A = matrix('a', a);
    const B = matrix('b', b);
    const [m, k] = A.shape;
    const transB = options.transB ?? false;
    const [kb, n] = transB ? [B.shape[1], B.shape[0]] : [B.shape[0], B.shape[1]];
    if (kb !== k) throw new ShapeError('b', `[${B.shape.join(', ')}]`, transB ? `[n, ${k}]` : `[${k}, n]`);
    if (!this.useGraph(m * n * k, options.backend)) return tensor(matmulJs(A.data, B.data, m, k, n, transB), [m, n]);
    const s = await this.session(transB ? 'matmul-tb' : 'matmul');
    const out = await s.run({ a: A, b: B });
    return out.y as Tensor<'float32'>;
  }

  /** Row L2 norms of a [n, d] matrix. */
  async l2Norms(x: MatrixInput, options: { backend?: 'auto' | 'graph' | 'js' } = {}): Promise<Float32Array> {
    const X = matrix('x', x);
    const [n, d] = X.shape;
    if (!this.useGraph(n * d * 8, options.backend)) return normsJs(X.data, n, d);
    const s = await this.session('norms');
    return (await s.run({ x: X })).y.data as Float32Array;
  }

  /** All pairwise distances (or similarities for 'dot' / 'cosine-similarity') between rows of a and b: [m, n]. */
  async pairwise(
    a: MatrixInput,
    b: MatrixInput,
    options: { metric?: PairwiseMetric; backend?: 'auto' | 'graph' | 'js' } = {},
  ): Promise<Tensor<'float32'>> {
    const metric = options.metric ?? 'sqeuclidean';
    checkMetric(metric, ['sqeuclidean', 'euclidean', 'cosine', 'dot', 'cosine-similarity']);
    const A = matrix('a', a);
    const B = matrix('b', b);
    if (A.shape[1] !== B.shape[1]) throw new ShapeError('b', `[${B.shape.join(', ')}]`, `[n, ${A.shape[1]}]`);
    const [m, d] = A.shape;
    const n = B.shape[0];
    if (!this.useGraph(m * n * d, options.backend)) return tensor(pairwiseJs(A.data, B.data, m, n, d, metric), [m, n]);
    const s = await this.session(`pairwise-${metric}`);
    return (await s.run({ a: A, b: B })).y as Tensor<'float32'>;
  }

  /**
   * k nearest neighbours of each query row among the reference rows. Distances ascend; ties keep the lower index.
   * Cosine distance is 1 − cos; zero vectors have cosine 0 with everything.
   */
  async knn(queries: MatrixInput, references: MatrixInput, options: KnnOptions = {}): Promise<KnnResult> {
    const k = options.k ?? 10;
    const metric = options.metric ?? 'sqeuclidean';
    checkMetric(metric, ['sqeuclidean', 'euclidean', 'cosine']);
    const Q = matrix('queries', queries);
    const R = matrix('references', references);
    const [m, d] = Q.shape;
    const n = R.shape[0];
    if (R.shape[1] !== d) throw new ShapeError('references', `[${R.shape.join(', ')}]`, `[n, ${d}] to match queries`);
    const excludeSelf = options.excludeSelf ?? false;
    const selfOffset = options.selfOffset ?? 0;
    if (!Number.isInteger(selfOffset) || selfOffset < 0)
      throw new InvalidArgumentError('selfOffset', selfOffset, 'a non-negative integer');
    const available = excludeSelf ? n - 1 : n;
    if (!Number.isInteger(k) || k < 1 || k > available)
      throw new InvalidArgumentError(
        'k',
        k,
        `an integer in [1, ${available}]`,
        excludeSelf ? 'with excludeSelf, one reference is the query itself' : undefined,
      );
    if (m === 0) return { distances: new Float32Array(0), indices: new Int32Array(0), shape: [0, k], backend: 'js' };
    if (!this.useGraph(m * n * d, options.backend)) {
      const r = knnJs(Q.data, R.data, m, n, d, k, metric, excludeSelf ? selfOffset : -1);
      return { ...r, shape: [m, k], backend: 'js' };
    }
    const session = await this.session(excludeSelf ? `knn-${metric}-self` : `knn-${metric}`);
    // equal-sized reference blocks, each with at least k rows (a masked self-match sorts last and is merged away)
    const nBlocks = Math.ceil(n / Math.max(k + 1, Math.min(n, this.options.maxRefRows)));
    const refRows = Math.ceil(n / nBlocks);
    const qRows = Math.max(1, Math.min(m, Math.floor(this.options.blockBytes / (4 * refRows))));
    const distances = new Float32Array(m * k);
    const indices = new Int32Array(m * k);
    const kArr = tensor(new BigInt64Array([BigInt(k)]), [1]);
    for (let q0 = 0; q0 < m; q0 += qRows) {
      const q1 = Math.min(m, q0 + qRows);
      const qBlock = tensor(Q.data.subarray(q0 * d, q1 * d), [q1 - q0, d]);
      let acc: { d: Float32Array; i: Int32Array } | undefined;
      for (let r0 = 0; r0 < n; r0 += refRows) {
        const r1 = Math.min(n, r0 + refRows);
        const kk = Math.min(k, r1 - r0);
        const rBlock = tensor(R.data.subarray(r0 * d, r1 * d), [r1 - r0, d]);
        const feeds: Record<string, Tensor> = {
          q: qBlock,
          r: rBlock,
          k: kk === k ? kArr : tensor(new BigInt64Array([BigInt(kk)]), [1]),
        };
        if (excludeSelf) {
          const self = new BigInt64Array(q1 - q0);
          for (let i = 0; i < self.length; i++) self[i] = BigInt(q0 + i + selfOffset - r0);
          feeds.self = tensor(self, [q1 - q0]);
        }
        const out = await session.run(feeds);
        const bd = out.distances.data as Float32Array;
        const bi = toInt32(out.indices.data as BigInt64Array, r0);
        acc = acc === undefined && kk === k ? { d: bd, i: bi } : mergeTopK(acc, { d: bd, i: bi }, q1 - q0, k, kk);
      }
      distances.set(acc!.d, q0 * k);
      indices.set(acc!.i, q0 * k);
    }
    return { distances, indices, shape: [m, k], backend: 'graph' };
  }

  /** Releases every compiled graph. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.dispose()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function matrix(param: string, x: MatrixInput): Tensor<'float32'> & { data: Float32Array; shape: [number, number] } {
  const t = asMatrix(param, x);
  assertFinite(param, t.data);
  return t as Tensor<'float32'> & { data: Float32Array; shape: [number, number] };
}

function checkMetric(metric: string, valid: string[]): void {
  if (!valid.includes(metric)) throw new InvalidArgumentError('metric', metric, `one of ${valid.join(', ')}`);
}

function toInt32(src: BigInt64Array, add: number): Int32Array {
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = Number(src[i]) + add;
  return out;
}

/** Merges per-row sorted top-k lists (row length k for acc, kb for b) into top-k, lower index first on ties. */
function mergeTopK(
  acc: { d: Float32Array; i: Int32Array } | undefined,
  b: { d: Float32Array; i: Int32Array },
  rows: number,
  k: number,
  kb: number,
): { d: Float32Array; i: Int32Array } {
  if (acc === undefined) {
    // first block was shorter than k: pad with +Inf
    const d = new Float32Array(rows * k).fill(Infinity);
    const i = new Int32Array(rows * k).fill(-1);
    for (let r = 0; r < rows; r++) {
      d.set(b.d.subarray(r * kb, r * kb + kb), r * k);
      i.set(b.i.subarray(r * kb, r * kb + kb), r * k);
    }
    return { d, i };
  }
  const d = new Float32Array(rows * k);
  const i = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    let x = r * k;
    let y = r * kb;
    const xe = x + k;
    const ye = y + kb;
    for (let o = r * k; o < r * k + k; o++) {
      const takeX = y >= ye || (x < xe && (acc.d[x] < b.d[y] || (acc.d[x] === b.d[y] && acc.i[x] < b.i[y])));
      if (takeX) {
        d[o] = acc.d[x];
        i[o] = acc.i[x++];
      } else {
        d[o] = b.d[y];
        i[o] = b.i[y++];
      }
    }
  }
  return { d, i };
}

// ---------------------------------------------------------------------------------------------------------------
// Graph construction

function buildGraph(kind: GraphKind): Uint8Array {
  const g = new GraphBuilder(kind);
  const axes1 = { axes: attr.ints([1]) };
  if (kind === 'matmul' || kind === 'matmul-tb') {
    const a = g.input('a', 'float32', ['m', 'k']);
    const b = g.input('b', 'float32', kind === 'matmul' ? ['k', 'n'] : ['n', 'k']);
    const [y] =
      kind === 'matmul' ? g.op('MatMul', [a, b], {}, ['y']) : g.op('Gemm', [a, b], { transB: attr.i(1) }, ['y']);
    g.output(y, 'float32', ['m', 'n']);
  } else if (kind === 'norms') {
    const x = g.input('x', 'float32', ['n', 'd']);
    const [ss] = g.op('ReduceSumSquare', [x], { ...axes1, keepdims: attr.i(0) });
    const [y] = g.op('Sqrt', [ss], {}, ['y']);
    g.output(y, 'float32', ['n']);
  } else if (kind.startsWith('pairwise-')) {
    const metric = kind.slice('pairwise-'.length) as PairwiseMetric;
    const a = g.input('a', 'float32', ['m', 'd']);
    const b = g.input('b', 'float32', ['n', 'd']);
    let y: string;
    if (metric === 'dot') [y] = g.op('Gemm', [a, b], { transB: attr.i(1) }, ['y']);
    else if (metric === 'cosine' || metric === 'cosine-similarity') {
      const [s] = g.op('Gemm', [normalizeRows(g, a), normalizeRows(g, b)], { transB: attr.i(1) });
      y =
        metric === 'cosine-similarity'
          ? g.op('Identity', [s], {}, ['y'])[0]
          : g.op('Sub', [scalar(g, 1), s], {}, ['y'])[0];
    } else {
      const d2 = sqDistances(g, a, b);
      y = metric === 'euclidean' ? g.op('Sqrt', [d2], {}, ['y'])[0] : g.op('Identity', [d2], {}, ['y'])[0];
    }
    g.output(y, 'float32', ['m', 'n']);
  } else {
    const self = kind.endsWith('-self');
    const metric = kind.slice('knn-'.length).replace(/-self$/, '') as DistanceMetric;
    const q = g.input('q', 'float32', ['m', 'd']);
    const r = g.input('r', 'float32', ['n', 'd']);
    const k = g.input('k', 'int64', [1]);
    const selfIdx = self ? g.input('self', 'int64', ['m']) : undefined;
    const cosine = metric === 'cosine';
    // score whose top-k (smallest for distances, largest for cosine) gives the neighbours
    let score: string;
    if (cosine) {
      [score] = g.op('Gemm', [normalizeRows(g, q), normalizeRows(g, r)], { transB: attr.i(1) });
    } else {
      // ‖r‖² − 2 q·r; ‖q‖² is constant per row, so it is added after top-k on only m×k values
      const [rn] = g.op('ReduceSumSquare', [r], { ...axes1, keepdims: attr.i(0) });
      [score] = g.op('Gemm', [q, r, rn], { alpha: attr.f(-2), beta: attr.f(1), transB: attr.i(1) });
    }
    if (selfIdx) {
      const [shape] = g.op('Shape', [r]);
      const [nScalar] = g.op('Gather', [shape, constI64(g, [0], [])], { axis: attr.i(0) });
      const [range] = g.op('Range', [constI64(g, [0], []), nScalar, constI64(g, [1], [])]);
      const [col] = g.op('Unsqueeze', [selfIdx, constI64(g, [1], [1])]);
      const [eq] = g.op('Equal', [col, range]);
      [score] = g.op('Where', [eq, scalar(g, cosine ? -BIG : BIG), score]);
    }
    const [vals, idx] = g.op(
      'TopK',
      [score, k],
      { axis: attr.i(1), largest: attr.i(cosine ? 1 : 0), sorted: attr.i(1) },
      2,
    );
    let dist: string;
    if (cosine) [dist] = g.op('Sub', [scalar(g, 1), vals]);
    else {
      const [qn] = g.op('ReduceSumSquare', [q], { ...axes1, keepdims: attr.i(1) });
      const [sum] = g.op('Add', [vals, qn]);
      [dist] = g.op('Max', [sum, scalar(g, 0)]);
      if (metric === 'euclidean') [dist] = g.op('Sqrt', [dist]);
    }
    g.output(dist, 'float32', ['m', 'kk'], 'distances');
    g.output(idx, 'int64', ['m', 'kk'], 'indices');
  }
  return g.toBytes({ opset: 17 });
}

function scalar(g: GraphBuilder, v: number): string {
  return g.constant(tensor(new Float32Array([v]), []));
}

function constI64(g: GraphBuilder, v: number[], shape: number[]): string {
  return g.constant(tensor(BigInt64Array.from(v.map(BigInt)), shape));
}

/** x / max(‖x‖, eps), row-wise. */
function normalizeRows(g: GraphBuilder, x: string): string {
  const [ss] = g.op('ReduceSumSquare', [x], { axes: attr.ints([1]), keepdims: attr.i(1) });
  const [norm] = g.op('Sqrt', [ss]);
  const [safe] = g.op('Max', [norm, scalar(g, EPS)]);
  return g.op('Div', [x, safe])[0];
}

/** max(‖a‖² + ‖b‖² − 2 a·bᵀ, 0). */
function sqDistances(g: GraphBuilder, a: string, b: string): string {
  const [an] = g.op('ReduceSumSquare', [a], { axes: attr.ints([1]), keepdims: attr.i(1) });
  const [bn] = g.op('ReduceSumSquare', [b], { axes: attr.ints([1]), keepdims: attr.i(0) });
  const [ab] = g.op('Gemm', [a, b, bn], { alpha: attr.f(-2), beta: attr.f(1), transB: attr.i(1) });
  const [sum] = g.op('Add', [ab, an]);
  return g.op('Max', [sum, scalar(g, 0)])[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Typed-array fallbacks

function matmulJs(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transB: boolean): Float32Array {
  const out = new Float32Array(m * n);
  if (transB) {
    for (let i = 0; i < m; i++) {
      const ai = i * k;
      for (let j = 0; j < n; j++) {
        const bj = j * k;
        let s = 0;
        for (let t = 0; t < k; t++) s += a[ai + t] * b[bj + t];
        out[i * n + j] = s;
      }
    }
  } else {
    for (let i = 0; i < m; i++) {
      const oi = i * n;
      for (let t = 0; t < k; t++) {
        const v = a[i * k + t];
        if (v === 0) continue;
        const bt = t * n;
        for (let j = 0; j < n; j++) out[oi + j] += v * b[bt + j];
      }
    }
  }
  return out;
}

function normsJs(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = i * d, e = t + d; t < e; t++) s += x[t] * x[t];
    out[i] = Math.sqrt(s);
  }
  return out;
}

function invNormsJs(x: Float32Array, n: number, d: number): Float64Array {
  const norms = normsJs(x, n, d);
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) inv[i] = 1 / Math.max(norms[i], EPS);
  return inv;
}

function pairwiseJs(a: Float32Array, b: Float32Array, m: number, n: number, d: number, metric: PairwiseMetric) {
  const out = new Float32Array(m * n);
  const ia = metric === 'cosine' || metric === 'cosine-similarity' ? invNormsJs(a, m, d) : undefined;
  const ib = ia ? invNormsJs(b, n, d) : undefined;
  for (let i = 0; i < m; i++) {
    const ai = i * d;
    for (let j = 0; j < n; j++) {
      const bj = j * d;
      let s = 0;
      if (metric === 'sqeuclidean' || metric === 'euclidean') {
        for (let t = 0; t < d; t++) {
          const diff = a[ai + t] - b[bj + t];
          s += diff * diff;
        }
        out[i * n + j] = metric === 'euclidean' ? Math.sqrt(s) : s;
      } else {
        for (let t = 0; t < d; t++) s += a[ai + t] * b[bj + t];
        if (ia) s *= ia[i] * ib![j];
        out[i * n + j] = metric === 'cosine' ? 1 - s : s;
      }
    }
  }
  return out;
}

/** Brute-force kNN with a sorted insertion buffer per query; `self` ≥ 0 excludes reference (query index + self). */
function knnJs(
  q: Float32Array,
  r: Float32Array,
  m: number,
  n: number,
  d: number,
  k: number,
  metric: DistanceMetric,
  self: number,
): { distances: Float32Array; indices: Int32Array } {
  const distances = new Float32Array(m * k);
  const indices = new Int32Array(m * k);
  const cosine = metric === 'cosine';
  const iq = cosine ? invNormsJs(q, m, d) : undefined;
  const ir = cosine ? invNormsJs(r, n, d) : undefined;
  const bd = new Float64Array(k);
  const bi = new Int32Array(k);
  for (let i = 0; i < m; i++) {
    let filled = 0;
    const qi = i * d;
    const skip = self >= 0 ? i + self : -1;
    for (let j = 0; j < n; j++) {
      if (j === skip) continue;
      const rj = j * d;
      let s = 0;
      if (cosine) {
        for (let t = 0; t < d; t++) s += q[qi + t] * r[rj + t];
        s = 1 - s * iq![i] * ir![j];
      } else {
        for (let t = 0; t < d; t++) {
          const diff = q[qi + t] - r[rj + t];
          s += diff * diff;
        }
      }
      if (filled === k && s >= bd[k - 1]) continue;
      let p = filled < k ? filled++ : k - 1;
      while (p > 0 && bd[p - 1] > s) {
        bd[p] = bd[p - 1];
        bi[p] = bi[p - 1];
        p--;
      }
      bd[p] = s;
      bi[p] = j;
    }
    for (let t = 0; t < k; t++) {
      distances[i * k + t] = metric === 'euclidean' ? Math.sqrt(bd[t]) : bd[t];
      indices[i * k + t] = bi[t];
    }
  }
  return { distances, indices };
}

// ---------------------------------------------------------------------------------------------------------------
// One-shot helpers on a shared CPU-or-auto instance

const shared = new Map<string, Promise<OpGraphs>>();

function sharedOps(device: Device = 'auto'): Promise<OpGraphs> {
  let p = shared.get(device);
  if (!p) {
    p = OpGraphs.create({ device });
    shared.set(device, p);
  }
  return p;
}

/** k nearest neighbours on a shared op-graph set for `device` (see `OpGraphs.knn`). */
export async function knn(
  queries: MatrixInput,
  references: MatrixInput,
  options: KnnOptions & { device?: Device } = {},
): Promise<KnnResult> {
  return (await sharedOps(options.device)).knn(queries, references, options);
}

/** Pairwise distances on a shared op-graph set (see `OpGraphs.pairwise`). */
export async function pairwiseDistances(
  a: MatrixInput,
  b: MatrixInput,
  options: { metric?: PairwiseMetric; device?: Device; backend?: 'auto' | 'graph' | 'js' } = {},
): Promise<Tensor<'float32'>> {
  return (await sharedOps(options.device)).pairwise(a, b, options);
}

/** Matrix product on a shared op-graph set (see `OpGraphs.matmul`). */
export async function matmul(
  a: MatrixInput,
  b: MatrixInput,
  options: { transB?: boolean; device?: Device; backend?: 'auto' | 'graph' | 'js' } = {},
): Promise<Tensor<'float32'>> {
  return (await sharedOps(options.device)).matmul(a, b, options);
}

/** Row L2 norms on a shared op-graph set (see `OpGraphs.l2Norms`). */
export async function l2Norms(
  x: MatrixInput,
  options: { device?: Device; backend?: 'auto' | 'graph' | 'js' } = {},
): Promise<Float32Array> {
  return (await sharedOps(options.device)).l2Norms(x, options);
}

/** Releases the shared op-graph sets used by the one-shot helpers. */
export async function disposeSharedOps(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map(async (p) => (await p).dispose()));
}
