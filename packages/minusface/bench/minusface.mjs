#!/usr/bin/env node
// Protection throughput (images/s): @trustvision/minusface `protect` (TypeScript e/d + shuffle, the generator through
// ONNX Runtime) against PyTorch (Debian torch, CPU: the same exported generator's weights in the PyTorch module, the
// torch transform from models/python/minusface_dct.py) on the same machine, in one run; ratio = ours / PyTorch.
//
//   npm run bench -w @trustvision/minusface                 # CPU, 1 thread each, sizes 16 and 112
//   node packages/minusface/bench/minusface.mjs --device webgpu   # needs a GPU host (not run here)
//   options: --threads N (ORT intra-op and torch threads), --generator PATH, --json OUT
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, encodeNpy, parseNpy, tensor } from '@trustvision/core-tensor';
import { GeneratorModel, encode, protect } from '../dist/esm/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const device = arg('device', 'cpu');
const threads = Number(arg('threads', '1'));
const generatorPath = arg('generator', path.join(root, 'models/prebuilt/minusface-generator.onnx'));
const python = process.env.TRUSTVISION_PYTHON ?? '/usr/bin/python3';
const cpu = os.cpus();
const machine = `${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, load ${os.loadavg()[0].toFixed(2)}`;
console.log(`machine: ${machine}`);
console.log(`device: ${device}, threads: ${threads}, generator: ${path.relative(root, generatorPath)}`);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'minusface-bench-'));
const generator = await GeneratorModel.create(generatorPath, {
  device,
  sessionOptions: { intraOpNumThreads: threads, interOpNumThreads: 1 },
});
const cases = [
  { size: 16, count: 512, batch: 64 },
  { size: 112, count: 24, batch: 8 },
];
const rows = [];
for (const c of cases) {
  const { size, count, batch } = c;
  const data = Float32Array.from(Rng.from(size).uniformArray(count * 3 * size * size));
  const images = tensor(data, [count, 3, size, size]);
  const file = path.join(tmp, `images-${size}.npy`);
  writeFileSync(file, encodeNpy(images));
  // same generator? compare g(e(X)) of the first two images with PyTorch's
  const regenFile = path.join(tmp, `regen-${size}.npy`);
  const py = JSON.parse(
    execFileSync(
      python,
      [
        path.join(here, 'minusface_baseline.py'),
        '--generator',
        generatorPath,
        '--images',
        file,
        '--batch',
        String(batch),
        '--threads',
        String(threads),
        '--dump-regen',
        regenFile,
      ],
      { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
    ).trim(),
  );
  const torchRegen = parseNpy(new Uint8Array(readFileSync(regenFile))).data;
  const R = 192 * size * size;
  const x = new Float32Array(2 * R);
  for (let b = 0; b < 2; b++)
    x.set(encode(tensor(data.slice(b * 3 * size * size, (b + 1) * 3 * size * size), [3, size, size])).data, b * R);
  const ours = await generator.regenerate(x, 2, size, size);
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < ours.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ours[i] - torchRegen[i]));
    maxRef = Math.max(maxRef, Math.abs(torchRegen[i]));
  }
  // ours: warm-up, then timed
  await protect(generator, tensor(data.slice(0, 2 * 3 * size * size), [2, 3, size, size]), {
    seed: 0,
    batchSize: batch,
  });
  const t0 = performance.now();
  const xp = await protect(generator, images, { seed: 1, batchSize: batch });
  const seconds = (performance.now() - t0) / 1000;
  if (xp.shape[0] !== count) throw new Error('bad output');
  const ips = count / seconds;
  const row = {
    size,
    count,
    batch,
    oursImagesPerS: ips,
    torchImagesPerS: py.images_per_s,
    ratio: ips / py.images_per_s,
    generatorMaxAbsDiff: maxAbs,
    generatorMaxAbs: maxRef,
    torch: py.torch,
  };
  rows.push(row);
  console.log(
    `${size}×${size}, ${count} images, batch ${batch}: ours ${ips.toFixed(1)} img/s, PyTorch ${py.images_per_s.toFixed(1)} img/s, ratio ${row.ratio.toFixed(2)}` +
      ` (g(e(X)) ORT vs PyTorch: max |diff| ${maxAbs.toExponential(2)} of max |value| ${maxRef.toExponential(2)})`,
  );
}
await generator.dispose();
console.log('\n| size | images | batch | ours (img/s) | PyTorch (img/s) | ratio ours/PyTorch |');
console.log('|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.size}×${r.size} | ${r.count} | ${r.batch} | ${r.oursImagesPerS.toFixed(1)} | ${r.torchImagesPerS.toFixed(1)} | ${r.ratio.toFixed(2)} |`,
  );
const out = arg('json'); // relative to where npm was started (INIT_CWD), else to the working directory
if (out)
  writeFileSync(
    path.resolve(process.env.INIT_CWD ?? process.cwd(), out),
    JSON.stringify({ machine, device, threads, rows }, null, 2) + '\n',
  );
