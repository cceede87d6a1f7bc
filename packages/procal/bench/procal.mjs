#!/usr/bin/env node
// ProCal throughput against the official code's libraries, on the same data in the same run:
//
//   1. proximity of 25,000 test rows to 25,000 calibration rows of 2048-d features (K = 10, L2-normalised, mean
//      exp(−d²)) through core-tensor's kNN op-graph, versus FAISS IndexFlatL2 (Debian python3-faiss);
//   2. Density-Ratio calibration of 25,000 test samples from 25,000 calibration samples (two 2-D KDEs, normal-reference
//      bandwidth), versus statsmodels KDEMultivariate.
//
//   npm run bench -w @trustvision/procal -- [--n 25000] [--test 25000] [--dim 2048] [--k 10] [--kde-n 25000]
//                                             [--device cpu] [--skip proximity|kde] [--json out.json]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OpGraphs, Rng, encodeNpy, encodeNpz, tensor } from '@trustvision/core-tensor';
import { DensityRatioCalibrator, ProximityIndex } from '../dist/esm/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const N = Number(args.n ?? 25000);
const M = Number(args.test ?? 25000);
const D = Number(args.dim ?? 2048);
const K = Number(args.k ?? 10);
const KN = Number(args['kde-n'] ?? 25000);
const device = args.device ?? 'cpu';
const skip = new Set(String(args.skip ?? '').split(','));
const CHECK = 200;

const cpu = os.cpus();
const machine = `${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()}/${os.arch()}, Node ${process.versions.node}, load average ${os.loadavg()[0].toFixed(2)}`;
console.log(`machine: ${machine}`);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'procal-bench-'));
// OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be pinned on this workplace's machines for old OpenBLAS builds; they slow a
// current OpenBLAS, so the baselines run without them (in the baseline process only).
const env = { ...process.env };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const python = [...new Set([process.env.PYTHON ?? '/usr/bin/python3', 'python3'])].find(
  (py) => spawnSync(py, ['-c', 'import numpy'], { env }).status === 0,
);
const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'procal_baselines.py');

function baseline(what) {
  if (!python) return [];
  const out = execFileSync(python, [script, tmp, String(K), String(CHECK), what], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env,
  });
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

async function time(fn) {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  return { out, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function maxRel(a, b) {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  return m;
}

const report = { machine, date: new Date().toISOString(), results: [] };
const rng = Rng.from(20231110);
try {
  if (!skip.has('proximity')) {
    console.log(`\nproximity: ${M} test × ${N} calibration rows × ${D}-d, K = ${K}, L2-normalised, mean exp(−d²)`);
    const cal = rng.normalFloat32(N * D, 0, 1);
    const test = rng.normalFloat32(M * D, 0, 1);
    // a little structure: shift half the rows so that neighbourhoods differ in density
    for (let i = 0; i < N; i += 2) for (let t = 0; t < 16; t++) cal[i * D + t] += 3;
    for (let i = 0; i < M; i += 2) for (let t = 0; t < 16; t++) test[i * D + t] += 3;
    const ops = await OpGraphs.create({ device });
    await ops.warmup('knn-sqeuclidean');
    const warm = await ProximityIndex.create(
      { data: cal.subarray(0, 64 * D), shape: [64, D] },
      { ops, backend: 'graph' },
    );
    await warm.proximity({ data: test.subarray(0, 8 * D), shape: [8, D] });
    const ours = await time(async () => {
      const index = await ProximityIndex.create({ data: cal, shape: [N, D] }, { k: K, ops });
      return index.neighbours({ data: test, shape: [M, D] });
    });
    console.log(`  procal (op-graph on ${ops.device}, ${ours.out.backend}): ${ours.s.toFixed(2)} s`);
    report.results.push({
      task: 'proximity',
      name: `procal ProximityIndex (op-graph, ORT ${ops.device})`,
      seconds: ours.s,
    });
    writeFileSync(path.join(tmp, 'cal.npy'), encodeNpy(tensor(cal, [N, D])));
    writeFileSync(path.join(tmp, 'test.npy'), encodeNpy(tensor(test, [M, D])));
    await ops.dispose();
    for (const r of baseline('faiss')) {
      if (r.skipped) {
        console.log(`  ${r.name}: not installed`);
        continue;
      }
      const agree = maxRel(ours.out.proximity, r.check);
      console.log(
        `  ${r.name} (${r.threads} threads): ${r.seconds.toFixed(2)} s; max rel. difference of ${CHECK} proximities ${agree.toExponential(2)}`,
      );
      report.results.push({ task: 'proximity', name: r.name, seconds: r.seconds, agreement: agree });
      console.log(`  → procal time / FAISS time = ${(ours.s / r.seconds).toFixed(2)} (goal ≤ 1)`);
    }
  }

  if (!skip.has('kde')) {
    console.log(`\nDensity-Ratio: fit on ${KN} calibration samples, calibrate ${KN} test samples (two 2-D KDEs)`);
    const gen = (n) => {
      const conf = new Float64Array(n);
      const prox = new Float64Array(n);
      const correct = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        // confidences skewed towards 1 (max-softmax-like), proximities in (e^-4, 1]
        const u = rng.uniform();
        conf[i] = 0.5 + 0.5 * (1 - u * u * u);
        prox[i] = Math.exp(-4 * rng.uniform() * rng.uniform());
        correct[i] = rng.uniform() < conf[i] * (0.7 + 0.3 * prox[i]) ? 1 : 0;
      }
      return { conf, prox, correct };
    };
    const c = gen(KN);
    const q = gen(KN);
    writeFileSync(
      path.join(tmp, 'kde.npz'),
      encodeNpz({
        conf: tensor(c.conf, [KN]),
        prox: tensor(c.prox, [KN]),
        correct: tensor(c.correct, [KN]),
        qconf: tensor(q.conf, [KN]),
        qprox: tensor(q.prox, [KN]),
      }),
    );
    const probs = new Float64Array(2 * KN);
    for (let i = 0; i < KN; i++) {
      probs[2 * i] = c.conf[i];
      probs[2 * i + 1] = 1 - c.conf[i];
    }
    const labels = Int32Array.from(c.correct, (ok) => (ok ? 0 : 1));
    // warm the JIT on a small problem
    DensityRatioCalibrator.fit({
      probs: { data: probs.subarray(0, 2000), shape: [1000, 2] },
      labels: labels.subarray(0, 1000),
      proximity: c.prox.subarray(0, 1000),
    }).scores(q.conf.subarray(0, 1000), q.prox.subarray(0, 1000));
    const single = await time(async () => {
      const dr = DensityRatioCalibrator.fit({ probs: { data: probs, shape: [KN, 2] }, labels, proximity: c.prox });
      return dr.scores(q.conf, q.prox);
    });
    console.log(`  procal DensityRatioCalibrator.scores (typed-array loop, 1 thread): ${single.s.toFixed(2)} s`);
    report.results.push({ task: 'density-ratio', name: 'procal DensityRatioCalibrator (1 thread)', seconds: single.s });
    const threads = Math.min(os.availableParallelism?.() ?? os.cpus().length, 8);
    const ours = await time(async () => {
      const dr = DensityRatioCalibrator.fit({ probs: { data: probs, shape: [KN, 2] }, labels, proximity: c.prox });
      return dr.scoresAsync(q.conf, q.prox, { threads });
    });
    let same = true;
    for (let i = 0; i < KN; i++) same &&= ours.out.s[i] === single.out.s[i];
    console.log(
      `  procal DensityRatioCalibrator.scoresAsync (${threads} threads): ${ours.s.toFixed(2)} s; identical to 1 thread: ${same}`,
    );
    report.results.push({
      task: 'density-ratio',
      name: `procal DensityRatioCalibrator (${threads} threads)`,
      seconds: ours.s,
    });
    for (const r of baseline('kde')) {
      if (r.skipped) {
        console.log(`  ${r.name}: not installed`);
        continue;
      }
      const agree = maxRel(ours.out.s, r.check);
      console.log(
        `  ${r.name}: ${r.seconds.toFixed(2)} s; max rel. difference of ${CHECK} calibrated confidences ${agree.toExponential(2)}`,
      );
      report.results.push({ task: 'density-ratio', name: r.name, seconds: r.seconds, agreement: agree });
      console.log(
        `  → statsmodels time / procal time = ${(r.seconds / ours.s).toFixed(2)}× with ${threads} threads, ${(r.seconds / single.s).toFixed(2)}× with 1 (goal ≥ 5×)`,
      );
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (!python) console.log('\n(no python3 with numpy found: baselines skipped)');
if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
