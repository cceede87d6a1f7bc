#!/usr/bin/env node
// Identity anchors at the size: N = 10,000 unit vectors in D = 512 (approximate Tammes solution), on CPU
// through core-tensor's k-NN op-graph, against the same optimiser written in numpy (test/fixtures/anchors_ref.py, run by
// bench/anchors_numpy.py with /usr/bin/python3) from the same random start. Reports time, the achieved minimum and
// mean nearest-neighbour angles against the random start (= random anchors), and the numpy/TS time ratio.
//
//   npm run bench -w @trustvision/id3 -- [--n 10000] [--dim 512] [--iters 60] [--numpy-n N] [--device cpu]
//                                          [--skip numpy] [--json out.json]
// --numpy-n runs the numpy side at a smaller N (stated in the report) when the full size is too slow there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, tensor } from '@trustvision/core-tensor';
import { anchorStats, optimizeAnchors, randomAnchors } from '../dist/esm/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const N = Number(args.n ?? 10000);
const D = Number(args.dim ?? 512);
const ITERS = Number(args.iters ?? 60);
const NN = Number(args['numpy-n'] ?? N);
const K = 16;
const TAU = 50;
const STEP = 0.05;
const SEED = 0;
const device = args.device ?? 'cpu';
const here = path.dirname(fileURLToPath(import.meta.url));

const cpu = os.cpus();
const machine = `${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()}/${os.arch()}, Node ${process.versions.node}, load average ${os.loadavg()[0].toFixed(2)}`;
console.log(`machine: ${machine}`);
const report = { machine, date: new Date().toISOString(), n: N, dim: D, iterations: ITERS, results: {} };

const t0 = performance.now();
const res = await optimizeAnchors({
  n: N,
  dim: D,
  seed: SEED,
  iterations: ITERS,
  neighbours: K,
  temperature: TAU,
  step: STEP,
  device,
  onProgress: (p) => {
    if (p.iteration % 10 === 0)
      console.error(`ts step ${p.iteration}/${p.iterations}: min angle ${p.minAngleDeg.toFixed(3)}`);
  },
});
const tsSeconds = (performance.now() - t0) / 1000;
report.results.ts = {
  seconds: tsSeconds,
  device,
  minAngleDeg: res.minAngleDeg,
  meanNearestAngleDeg: res.meanNearestAngleDeg,
  random: res.initial,
  accepted: res.accepted,
};
console.log(
  `TS (op-graph on ${device}): ${N}×${D}, ${res.iterations} steps (${res.accepted} kept) in ${tsSeconds.toFixed(1)} s` +
    ` = ${((1000 * tsSeconds) / res.iterations).toFixed(0)} ms/step`,
);
console.log(
  `  min angle ${res.minAngleDeg.toFixed(3)}° (random anchors ${res.initial.minAngleDeg.toFixed(3)}°), ` +
    `mean nearest ${res.meanNearestAngleDeg.toFixed(3)}° (random ${res.initial.meanNearestAngleDeg.toFixed(3)}°)`,
);
const check = await anchorStats({ data: res.anchors, shape: res.shape }, { device });
if (Math.abs(check.minAngleDeg - res.minAngleDeg) > 1e-3) throw new Error('anchorStats disagrees with the optimiser');

if (!String(args.skip ?? '').includes('numpy')) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'id3-bench-'));
  try {
    const init = path.join(tmp, 'init.npy');
    writeFileSync(init, encodeNpy(tensor(randomAnchors(NN, D, SEED), [NN, D])));
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const py = process.env.PYTHON ?? '/usr/bin/python3';
    const r = spawnSync(
      py,
      [path.join(here, 'anchors_numpy.py'), init, String(ITERS), String(K), String(TAU), String(STEP)],
      { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
    );
    if (r.status !== 0) throw new Error(`${py} bench/anchors_numpy.py failed (${r.status})`);
    const np = JSON.parse(r.stdout.trim().split('\n').pop());
    report.results.numpy = { ...np, n: NN };
    const perStepTs = tsSeconds / res.iterations;
    const perStepNp = np.seconds / np.iterations;
    const scale = NN === N ? 1 : (N / NN) ** 2; // the k-NN pass is quadratic in N
    console.log(
      `numpy ${np.numpy} (OpenBLAS): ${NN}×${D}, ${np.iterations} steps (${np.accepted} kept) in ${np.seconds.toFixed(1)} s` +
        ` = ${(1000 * perStepNp).toFixed(0)} ms/step; min angle ${np.minAngleDeg.toFixed(3)}°, mean nearest ` +
        `${np.meanNearestAngleDeg.toFixed(3)}°`,
    );
    const ratio = (perStepNp * scale) / perStepTs;
    report.results.ratio = ratio;
    console.log(
      `numpy / TS time per step: ${ratio.toFixed(2)}×` +
        (NN === N ? '' : ` (numpy at N = ${NN}, scaled by (N/${NN})² to N = ${N})`) +
        ` on ${machine.split(',')[0]}`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
