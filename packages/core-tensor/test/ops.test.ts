import { OpGraphs, Rng, tensor, type KnnResult } from '../src/node';

function randMatrix(rng: Rng, rows: number, cols: number): Float32Array {
  return rng.normalFloat32(rows * cols, 0, 1);
}

/** Independent brute force in float64 with a full sort (ties → lower index). */
function bruteKnn(
  q: Float32Array,
  r: Float32Array,
  m: number,
  n: number,
  d: number,
  k: number,
  metric: string,
  self = -1,
) {
  const dist = new Float64Array(m * k);
  const idx = new Int32Array(m * k);
  for (let i = 0; i < m; i++) {
    const row: { j: number; v: number }[] = [];
    let qn = 0;
    for (let t = 0; t < d; t++) qn += q[i * d + t] ** 2;
    for (let j = 0; j < n; j++) {
      if (self >= 0 && j === i + self) continue;
      let v = 0;
      if (metric === 'cosine') {
        let dot = 0;
        let rn = 0;
        for (let t = 0; t < d; t++) {
          dot += q[i * d + t] * r[j * d + t];
          rn += r[j * d + t] ** 2;
        }
        v = 1 - dot / (Math.max(Math.sqrt(qn), 1e-12) * Math.max(Math.sqrt(rn), 1e-12));
      } else {
        for (let t = 0; t < d; t++) v += (q[i * d + t] - r[j * d + t]) ** 2;
        if (metric === 'euclidean') v = Math.sqrt(v);
      }
      row.push({ j, v });
    }
    row.sort((a, b) => a.v - b.v || a.j - b.j);
    for (let t = 0; t < k; t++) {
      dist[i * k + t] = row[t].v;
      idx[i * k + t] = row[t].j;
    }
  }
  return { dist, idx };
}

function expectKnnClose(res: KnnResult, ref: { dist: Float64Array; idx: Int32Array }, tol: number) {
  let mismatched = 0;
  for (let i = 0; i < ref.idx.length; i++) {
    expect(Math.abs(res.distances[i] - ref.dist[i])).toBeLessThan(tol);
    if (res.indices[i] !== ref.idx[i]) mismatched++;
  }
  // index disagreements are only allowed between near-equal distances
  expect(mismatched).toBeLessThanOrEqual(Math.ceil(ref.idx.length * 0.002));
}

describe('OpGraphs on CPU', () => {
  let ops: OpGraphs;
  beforeAll(async () => {
    ops = await OpGraphs.create({ device: 'cpu', blockBytes: 64 * 1024, maxRefRows: 70 });
  });
  afterAll(() => ops.dispose());

  const rng = Rng.from(7);
  const [m, n, d] = [37, 211, 16];
  const q = randMatrix(rng, m, d);
  const r = randMatrix(rng, n, d);

  for (const metric of ['sqeuclidean', 'euclidean', 'cosine'] as const) {
    for (const backend of ['graph', 'js'] as const) {
      test(`knn ${metric} via ${backend} matches brute force (blocked queries and references)`, async () => {
        const res = await ops.knn(tensor(q, [m, d]), tensor(r, [n, d]), { k: 5, metric, backend });
        expect(res.backend).toBe(backend);
        expect(res.shape).toEqual([m, 5]);
        expectKnnClose(res, bruteKnn(q, r, m, n, d, 5, metric), 1e-4);
      });
    }
  }

  test('excludeSelf drops each query from its own neighbours, in both paths', async () => {
    const both = await Promise.all(
      (['graph', 'js'] as const).map((backend) =>
        ops.knn(tensor(r, [n, d]), tensor(r, [n, d]), { k: 4, excludeSelf: true, backend }),
      ),
    );
    const ref = bruteKnn(r, r, n, n, d, 4, 'sqeuclidean', 0);
    for (const res of both) {
      expectKnnClose(res, ref, 1e-4);
      for (let i = 0; i < n; i++) for (let t = 0; t < 4; t++) expect(res.indices[i * 4 + t]).not.toBe(i);
    }
  });

  test('excludeSelf with selfOffset for a slice of the reference set', async () => {
    const slice = r.subarray(50 * d, 90 * d);
    const res = await ops.knn(tensor(slice, [40, d]), tensor(r, [n, d]), {
      k: 3,
      excludeSelf: true,
      selfOffset: 50,
      backend: 'graph',
    });
    const ref = bruteKnn(slice, r, 40, n, d, 3, 'sqeuclidean', 50);
    expectKnnClose(res, ref, 1e-4);
  });

  test('pairwise and matmul: graph agrees with loops', async () => {
    for (const metric of ['sqeuclidean', 'euclidean', 'cosine', 'dot', 'cosine-similarity'] as const) {
      const g = await ops.pairwise(tensor(q, [m, d]), tensor(r, [n, d]), { metric, backend: 'graph' });
      const j = await ops.pairwise(tensor(q, [m, d]), tensor(r, [n, d]), { metric, backend: 'js' });
      expect(g.shape).toEqual([m, n]);
      for (let i = 0; i < m * n; i++)
        expect(Math.abs((g.data as Float32Array)[i] - (j.data as Float32Array)[i])).toBeLessThan(2e-4);
    }
    const b = randMatrix(rng, d, 9);
    const g = await ops.matmul(tensor(q, [m, d]), tensor(b, [d, 9]), { backend: 'graph' });
    const j = await ops.matmul(tensor(q, [m, d]), tensor(b, [d, 9]), { backend: 'js' });
    for (let i = 0; i < m * 9; i++) expect((g.data as Float32Array)[i]).toBeCloseTo((j.data as Float32Array)[i], 4);
    const gt = await ops.matmul(tensor(q, [m, d]), tensor(r, [n, d]), { transB: true, backend: 'graph' });
    const dot = await ops.pairwise(tensor(q, [m, d]), tensor(r, [n, d]), { metric: 'dot', backend: 'js' });
    for (let i = 0; i < m * n; i++) expect((gt.data as Float32Array)[i]).toBeCloseTo((dot.data as Float32Array)[i], 4);
  });

  test('l2Norms agree and hand-checked', async () => {
    const x = tensor(new Float32Array([3, 4, 0, 0, 1, 0, 0, 0, 0]), [3, 3]);
    for (const backend of ['graph', 'js'] as const)
      expect(Array.from(await ops.l2Norms(x, { backend }))).toEqual([5, 1, 0]);
  });

  test('cosine with a zero vector gives distance 1, never NaN', async () => {
    const z = tensor(new Float32Array([0, 0, 1, 0, 0, 1]), [3, 2]);
    for (const backend of ['graph', 'js'] as const) {
      const res = await ops.knn(tensor(new Float32Array([0, 0]), [1, 2]), z, { k: 3, metric: 'cosine', backend });
      expect(Array.from(res.distances)).toEqual([1, 1, 1]);
    }
  });

  test('the graph path reports its device', async () => {
    expect(ops.device).toBe('cpu');
  });
});

describe('op-graph error paths', () => {
  let ops: OpGraphs;
  beforeAll(async () => {
    ops = await OpGraphs.create({ device: 'cpu' });
  });
  afterAll(() => ops.dispose());
  const q = tensor(new Float32Array(6), [2, 3]);
  const r = tensor(new Float32Array(12), [4, 3]);

  async function code(p: Promise<unknown>): Promise<[string, string | undefined]> {
    const e = await p.then(
      () => ({ code: 'none', param: undefined }),
      (x) => x,
    );
    return [e.code, e.param];
  }

  test('k out of range, including excludeSelf', async () => {
    expect(await code(ops.knn(q, r, { k: 5 }))).toEqual(['E_INVALID_ARGUMENT', 'k']);
    expect(await code(ops.knn(q, r, { k: 0 }))).toEqual(['E_INVALID_ARGUMENT', 'k']);
    expect(await code(ops.knn(r, r, { k: 4, excludeSelf: true }))).toEqual(['E_INVALID_ARGUMENT', 'k']);
    expect(await code(ops.knn(q, r, { k: 1.5 }))).toEqual(['E_INVALID_ARGUMENT', 'k']);
  });
  test('unknown metric and backend', async () => {
    expect(await code(ops.knn(q, r, { k: 1, metric: 'manhattan' as never }))).toEqual(['E_INVALID_ARGUMENT', 'metric']);
    expect(await code(ops.knn(q, r, { k: 1, backend: 'gpu' as never }))).toEqual(['E_INVALID_ARGUMENT', 'backend']);
  });
  test('shape and dtype mismatches', async () => {
    expect(await code(ops.knn(q, tensor(new Float32Array(8), [4, 2]), { k: 1 }))).toEqual(['E_SHAPE', 'references']);
    expect(await code(ops.knn(tensor(new Float32Array(6), [6]), r, { k: 1 }))).toEqual(['E_SHAPE', 'queries']);
    expect(await code(ops.knn(tensor(new Float64Array(6), [2, 3]), r, { k: 1 }))).toEqual(['E_DTYPE', 'queries']);
    expect(await code(ops.matmul(q, q))).toEqual(['E_SHAPE', 'b']);
    expect(await code(ops.pairwise(q, tensor(new Float32Array(8), [4, 2])))).toEqual(['E_SHAPE', 'b']);
  });
  test('non-finite values are refused, never propagated', async () => {
    const bad = new Float32Array(12);
    bad[7] = NaN;
    expect(await code(ops.knn(q, tensor(bad, [4, 3]), { k: 1 }))).toEqual(['E_NON_FINITE', 'references']);
    expect(await code(ops.l2Norms(tensor(bad, [4, 3])))).toEqual(['E_NON_FINITE', 'x']);
  });
  test('invalid options and devices', async () => {
    await expect(OpGraphs.create({ minWork: -1 })).rejects.toMatchObject({
      code: 'E_INVALID_ARGUMENT',
      param: 'minWork',
    });
    expect(await code(OpGraphs.create({ device: 'quantum' as never }))).toEqual(['E_UNKNOWN_DEVICE', 'device']);
  });
});

test('one-shot helpers use a shared op-graph set', async () => {
  const { knn, pairwiseDistances, matmul, l2Norms, disposeSharedOps } = await import('../src/node');
  const a = tensor(new Float32Array([0, 0, 3, 4]), [2, 2]);
  const res = await knn(a, a, { k: 1, excludeSelf: true, device: 'cpu' });
  expect(Array.from(res.indices)).toEqual([1, 0]);
  expect(Array.from(res.distances)).toEqual([25, 25]);
  expect(Array.from((await pairwiseDistances(a, a, { metric: 'euclidean', device: 'cpu' })).data)).toEqual([
    0, 5, 5, 0,
  ]);
  expect(Array.from((await matmul(a, a, { transB: true, device: 'cpu' })).data)).toEqual([0, 0, 0, 25]);
  expect(Array.from(await l2Norms(a, { device: 'cpu' }))).toEqual([0, 5]);
  await disposeSharedOps();
});
