#!/usr/bin/env node
// Sampler throughput on CPU: this package's DDIM sampler over the exported ID3-style U-Net (models/python/id3_export.py,
// random weights, 32×32, 1.45 M parameters) through ONNX Runtime, against PyTorch (Debian python3-torch, CPU) running
// the same network and the same DDIM loop (bench/sampler_torch.py) on the same x_T and condition — both 1 thread;
// the two final images are compared. Then H1 guidance (fr_grad.onnx) cost, and queue-worker scaling (1 vs 2 worker
// processes on a local redis-server) for a small dataset. Reports images/s and ratios, machine named.
//
//   npm run build -w @trustvision/id3 && node packages/id3/bench/sampler.mjs [--batch 8] [--steps 20] [--device cpu]
//                                                                            [--skip queue] [--json out.json]
//                                              [--queue-identities 96] [--queue-per-identity 4]
// --device webgpu / cuda select those ONNX Runtime paths (present, not run here: no GPU host in this session).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, readNpz } from '@trustvision/core-tensor';
import { Denoiser, FrGradient, generateDataset, generateWithQueue, sample } from '../dist/esm/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const B = Number(args.batch ?? 8);
const S = Number(args.steps ?? 20);
const device = args.device ?? 'cpu';
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const py = '/usr/bin/python3';
const cpu = os.cpus();
const machine = `${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()}/${os.arch()}, Node ${process.versions.node}, load average ${os.loadavg()[0].toFixed(2)}`;
console.log(`machine: ${machine}`);
const report = { machine, date: new Date().toISOString(), batch: B, steps: S, device, results: {} };
const dir = mkdtempSync(path.join(os.tmpdir(), 'id3-bench-'));
const run = (cmd, a) => {
  const r = spawnSync(cmd, a, { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`${cmd} ${a.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
};
try {
  run(py, ['models/python/id3_export.py', '--random-init', '--seed', '0', '--size', '32', '--out-dir', dir]);
  const out = run(py, [
    'packages/id3/bench/sampler_torch.py',
    '--state',
    path.join(dir, 'id3_unet.pt'),
    '--batch',
    String(B),
    '--steps',
    String(S),
    '--out',
    path.join(dir, 'torch.npz'),
  ]);
  process.stdout.write(out);
  const t = await readNpz(path.join(dir, 'torch.npz'));
  const torchSec = Number(t.seconds.data[0]);
  const den = await Denoiser.create(path.join(dir, 'id3_eps.onnx'), {
    device,
    sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  const input = {
    embeddings: Float32Array.from(t.id_embedding.data),
    attributes: Float32Array.from(t.attributes.data),
    rngs: Array.from({ length: B }, (_, b) => Rng.from(0).split('bench', b)),
    xT: Float32Array.from(t.xT.data),
  };
  await sample(den, input, { sampler: 'ddim', steps: 2 }); // warm-up
  let t0 = performance.now();
  const res = await sample(den, input, { sampler: 'ddim', steps: S });
  const tsSec = (performance.now() - t0) / 1000;
  let diff = 0;
  for (let i = 0; i < res.images.length; i++) diff = Math.max(diff, Math.abs(res.images[i] - t.images.data[i]));
  console.log(
    `TS sampler + ONNX Runtime (${den.session.device}, 1 thread): ${B} images × ${S} DDIM steps in ${tsSec.toFixed(2)} s = ${(B / tsSec).toFixed(2)} images/s`,
  );
  console.log(
    `  PyTorch / TS time: ${(torchSec / tsSec).toFixed(2)}× (>1: TS faster); max |TS − PyTorch| final image ${diff.toExponential(2)}`,
  );
  report.results.sampler = {
    tsSeconds: tsSec,
    torchSeconds: torchSec,
    tsImagesPerSecond: B / tsSec,
    torchImagesPerSecond: B / torchSec,
    ratio: torchSec / tsSec,
    maxAbsDiff: diff,
  };
  const fg = await FrGradient.create(path.join(dir, 'fr_grad.onnx'), {
    device,
    sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  t0 = performance.now();
  await sample(den, input, { sampler: 'ddim', steps: S, guidance: { frGrad: fg, scale: 1 } });
  const gSec = (performance.now() - t0) / 1000;
  console.log(
    `  with H1 guidance (fr_grad.onnx each step): ${(B / gSec).toFixed(2)} images/s (${(gSec / tsSec).toFixed(2)}× the unguided time)`,
  );
  report.results.guided = { seconds: gSec, imagesPerSecond: B / gSec, overhead: gSec / tsSec };
  await fg.dispose();
  // worker scaling
  const redis = ['/usr/bin/redis-server'].find((p) => existsSync(p));
  if (args.skip !== 'queue' && redis) {
    const port = await new Promise((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => r(p));
      });
    });
    const rp = spawn(
      redis,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, 500));
    const url = `redis://127.0.0.1:${port}`;
    const config = {
      identities: Number(args['queue-identities'] ?? 96),
      perIdentity: Number(args['queue-per-identity'] ?? 4),
      seed: 1,
      sampler: 'ddim',
      steps: 20,
      batchSize: 4,
      shardSize: 2,
      anchors: 'random',
    };
    const timeQueue = async (k, sub) => {
      const workers = [];
      const t1 = performance.now();
      let t2 = 0;
      await generateWithQueue(path.join(dir, sub), config, {
        url,
        denoiserPath: path.join(dir, 'id3_eps.onnx'),
        device,
        onQueued: (name) => {
          t2 = performance.now();
          for (let q = 0; q < k; q++)
            workers.push(
              spawn(
                process.execPath,
                [path.join(here, '../dist/esm/cli.js'), 'worker', '--queue', url, '--name', name, '--threads', '1'],
                { stdio: 'ignore' },
              ),
            );
        },
      });
      const sec = (performance.now() - t1) / 1000;
      workers.forEach((w) => w.kill('SIGTERM'));
      return { seconds: sec, afterQueued: (performance.now() - t2) / 1000 };
    };
    const one = await timeQueue(1, 'q1');
    const two = await timeQueue(2, 'q2');
    rp.kill('SIGTERM');
    const same = spawnSync('diff', ['-r', path.join(dir, 'q1'), path.join(dir, 'q2')]).status === 0;
    console.log(`  the 1-worker and 2-worker datasets are byte-identical: ${same}`);
    console.log(
      `queue (${config.identities}×${config.perIdentity} images, ${config.steps} steps, shards of ${config.shardSize}): 1 worker ${one.seconds.toFixed(2)} s, 2 workers ${two.seconds.toFixed(2)} s → speed-up ${(one.seconds / two.seconds).toFixed(2)}× (1 ONNX Runtime thread per worker, worker start-up included; ${cpu.length} cores shared)`,
    );
    report.results.queue = { oneWorker: one, twoWorkers: two, speedup: one.seconds / two.seconds, identical: same };
  } else console.log('queue scaling skipped (no redis-server or --skip queue)');
  await den.dispose();
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 1));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
