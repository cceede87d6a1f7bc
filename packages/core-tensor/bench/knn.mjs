#!/usr/bin/env node
// kNN throughput: the op-graph (ONNX Runtime on the chosen device) against a plain typed-array loop and, when
// installed, numpy/BLAS and FAISS baselines run on the same data in the same script. Prints ratios and the machine.
//
//   npm run bench -w @trustvision/core-tensor -- [--queries 10000] [--refs 50000] [--dim 512] [--k 10]
//                                                 [--device cpu] [--js-queries 64] [--json out.json]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OpGraphs, Rng, tensor, encodeNpy } from '../dist/esm/node.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const M = Number(args.queries ?? 10000);
const N = Number(args.refs ?? 50000);
const D = Number(args.dim ?? 512);
const K = Number(args.k ?? 10);
const device = args.device ?? 'cpu';
const jsQueries = Math.min(M, Number(args['js-queries'] ?? 64));

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()}/${os.arch()}, Node ${process.versions.node}`;
console.log(`kNN bench: ${M} queries × ${N} references × ${D}-d, k=${K}, squared L2`);
console.log(`machine: ${machine}`);

const rng = Rng.from(20261130);
const R = rng.normalFloat32(N * D, 0, 1);
const Q = rng.normalFloat32(M * D, 0, 1);
const results = [];

async function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  return { out, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

// 1. op-graph
const ops = await OpGraphs.create({ device });
await ops.warmup();
await ops.knn(tensor(Q.subarray(0, 8 * D), [8, D]), tensor(R, [N, D]), { k: K, backend: 'graph' }); // warm caches
const graph = await timeIt(() => ops.knn(tensor(Q, [M, D]), tensor(R, [N, D]), { k: K, backend: 'graph' }));
results.push({ name: `op-graph (ORT ${ops.device})`, queries: M, seconds: graph.s, qps: M / graph.s });

// 2. typed-array loop, on a subset of queries (it is O(M·N·D) and slow); throughput extrapolates linearly
const js = await timeIt(() =>
  ops.knn(tensor(Q.subarray(0, jsQueries * D), [jsQueries, D]), tensor(R, [N, D]), { k: K, backend: 'js' }),
);
results.push({ name: 'typed-array loop', queries: jsQueries, seconds: js.s, qps: jsQueries / js.s });
// agreement on the subset
let agree = 0;
for (let i = 0; i < jsQueries * K; i++) agree += js.out.indices[i] === graph.out.indices[i] ? 1 : 0;
console.log(`index agreement graph vs loop on ${jsQueries} queries: ${((100 * agree) / (jsQueries * K)).toFixed(2)}%`);

// 3. numpy / FAISS baselines in a python subprocess on the same arrays
const tmp = mkdtempSync(path.join(os.tmpdir(), 'knn-bench-'));
try {
  writeFileSync(path.join(tmp, 'q.npy'), encodeNpy(tensor(Q, [M, D])));
  writeFileSync(path.join(tmp, 'r.npy'), encodeNpy(tensor(R, [N, D])));
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'knn_baselines.py');
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be pinned on this workplace's machines for old OpenBLAS builds; they
  // slow a current OpenBLAS, so the baselines run without them (both together, in the baseline process only).
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  for (const py of [...new Set([process.env.PYTHON ?? 'python3', '/usr/bin/python3'])]) {
    const probe = spawnSync(py, ['-c', 'import numpy'], { encoding: 'utf8', env });
    if (probe.status !== 0) continue;
    const out = execFileSync(py, [script, tmp, String(K)], { encoding: 'utf8', maxBuffer: 1 << 26, env });
    for (const line of out.trim().split('\n')) {
      const r = JSON.parse(line);
      if (r.skipped) console.log(`${r.name} (${py}): not installed`);
      else if (!results.some((x) => x.name === r.name)) {
        let same = 0;
        for (let i = 0; i < r.check.length; i++) same += r.check[i] === graph.out.indices[i] ? 1 : 0;
        results.push({
          name: `${r.name} [${py}]`,
          queries: M,
          seconds: r.seconds,
          qps: M / r.seconds,
          agreement: same / r.check.length,
        });
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
await ops.dispose();

const best = results.filter((r) => !r.name.startsWith('op-graph')).reduce((a, b) => (b.qps > a.qps ? b : a));
console.log('\n| method | queries timed | seconds | queries/s | op-graph speed-up |');
console.log('|---|---:|---:|---:|---:|');
for (const r of results)
  console.log(
    `| ${r.name} | ${r.queries} | ${r.seconds.toFixed(3)} | ${r.qps.toFixed(1)} | ${(results[0].qps / r.qps).toFixed(2)}× |`,
  );
const ratio = best.qps / results[0].qps;
console.log(`\nbest baseline: ${best.name}; op-graph time / best baseline time = ${ratio.toFixed(2)} (target <= 1.5)`);
if (args.json)
  writeFileSync(args.json, JSON.stringify({ machine, M, N, D, K, device, results, ratioToBest: ratio }, null, 2));
