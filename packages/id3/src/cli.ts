#!/usr/bin/env node
/**
 * id3 CLI.
 *
 *   id3 anchors --n N --dim D [--seed S] [--iters I] --out A.npy [--json]
 *   id3 embeddings --anchors A.npy --per-identity M --lb L --ub U [--seed S] --out E.npy
 *   id3 generate --model denoiser.onnx [--fr fr.onnx] [--fr-grad G.onnx] --identities N --per-identity M --out DIR …
 *   id3 worker --queue redis://… --name id3-…
 *   id3 inspect DIR [--fr fr.onnx] [--json]
 *   id3 export-rec DIR --out REC_DIR [--format png|jpg]
 */
import os from 'node:os';
import { existsSync } from 'node:fs';
import {
  FileNotFoundError,
  UsageError,
  numberOption,
  parseCliArgs,
  readNpy,
  requireOption,
  runCli,
  tensor,
  writeNpy,
  type Device,
} from '@trustvision/core-tensor';
import { spawn, type ChildProcess } from 'node:child_process';
import * as nodePath from 'node:path';
import { writeFileAtomic } from '@trustvision/core-tensor';
import { optimizeAnchors } from './anchors.js';
import { sampleEmbeddings } from './embeddings.js';
import { generateDataset, type GenerationConfig, type GenerationProgress } from './generate.js';
import { inspectDataset, type InspectReport } from './inspect.js';
import { Denoiser, FrGradient, FrModel } from './model.js';
import { generateWithQueue, runWorker } from './queue.js';
import { exportRecordIO } from './recordio.js';

const USAGE = `usage:
  id3 anchors --n N --dim D [--seed S] [--iters I] --out A.npy [--json]
              [--neighbours 16] [--temperature 50] [--step 0.05] [--device auto|cpu|cuda|webgpu]
      N identity anchors in D dimensions spread far apart (approximate Tammes solution, op-graph k-NN per step).
      A.npy: float32 [N, D], unit rows (written atomically). --json prints
      { "minAngleDeg", "meanNearestAngleDeg", "random": { ... }, "iterations", "accepted", "seconds" }
      where "random" is the same statistics of the seeded random start. Defaults: --seed 0, --iters 60.
  id3 embeddings --anchors A.npy --per-identity M --lb L --ub U [--seed S] --out E.npy
      M identity embeddings per anchor at a cosine drawn uniformly from [L, U] (exactly that cosine; direction
      uniform on the anchor's orthogonal complement). A.npy: float32 or float64 [N, D], unit rows.
      E.npy: float32 [N, M, D], unit rows (written atomically). Default --seed 0.
  id3 generate --model denoiser.onnx [--fr fr.onnx] [--fr-grad G.onnx] --identities N --per-identity M --out DIR
               [--steps S] [--sampler ddim|ddpm] [--eta 0] [--guidance-scale 1] [--clip-x0] [--lb 0.5] [--ub 0.7]
               [--seed 0] [--anchors tammes|random] [--anchor-iters 60] [--batch 16] [--shard-size K]
               [--device auto] [--queue redis://host:port] [--workers K] [--lock-ms 30000] [--json]
      Generates (or resumes) an ID3 dataset folder: anchors, embeddings in [lb, ub], attributes, then ID-preserving
      sampling. --fr-grad: H1 guidance through fr_grad.onnx (a guided denoiser needs none); without either, H2.
      --queue: shards become BullMQ jobs on that Redis; --workers K starts K local worker processes (0: only external
      'id3 worker' processes), each with cores / K ONNX Runtime threads. --fr: after generating, measures the dataset with the face model (as 'inspect').
      Checks the free disk space first. A progress bar with ETA goes to stderr.
  id3 worker --queue redis://host:port --name id3-… [--lock-ms 30000] [--threads T]
      Takes shard jobs of the named queue (printed by 'id3 generate --queue') until stopped (SIGINT/SIGTERM).
      --threads: ONNX Runtime threads per session (default: all cores).
  id3 inspect DIR [--fr fr.onnx] [--json] [--bins 40] [--device auto]
      Per-identity consistency (intra-identity cosines) and inter-identity separation (centroid cosines), measured
      with the face model (without --fr: on the stored conditioning embeddings). Writes DIR/inspect.json with the
      intra/inter cosine histograms.
  id3 export-rec DIR --out REC_DIR [--format png|jpg] [--quality 95]
      Exports a complete dataset to MXNet RecordIO in InsightFace's layout: REC_DIR/train.rec, train.idx, property.
  Progress goes to stderr. Exit codes: 0 ok, 1 error (printed as 'error [CODE]: message'), 2 usage.`;

const OPTIONS = {
  n: { type: 'string' },
  dim: { type: 'string' },
  seed: { type: 'string' },
  iters: { type: 'string' },
  neighbours: { type: 'string' },
  temperature: { type: 'string' },
  step: { type: 'string' },
  device: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  anchors: { type: 'string' },
  'per-identity': { type: 'string' },
  lb: { type: 'string' },
  ub: { type: 'string' },
  model: { type: 'string' },
  fr: { type: 'string' },
  'fr-grad': { type: 'string' },
  identities: { type: 'string' },
  steps: { type: 'string' },
  sampler: { type: 'string' },
  eta: { type: 'string' },
  'guidance-scale': { type: 'string' },
  'clip-x0': { type: 'boolean' },
  'anchor-iters': { type: 'string' },
  batch: { type: 'string' },
  'shard-size': { type: 'string' },
  queue: { type: 'string' },
  workers: { type: 'string' },
  'lock-ms': { type: 'string' },
  threads: { type: 'string' },
  name: { type: 'string' },
  bins: { type: 'string' },
  format: { type: 'string' },
  quality: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

const ONLY: Record<string, (keyof Values)[]> = {
  anchors: ['n', 'dim', 'seed', 'iters', 'neighbours', 'temperature', 'step', 'device', 'out', 'json', 'help'],
  embeddings: ['anchors', 'per-identity', 'lb', 'ub', 'seed', 'out', 'help'],
  generate: [
    'model',
    'fr',
    'fr-grad',
    'identities',
    'per-identity',
    'out',
    'steps',
    'sampler',
    'eta',
    'guidance-scale',
    'clip-x0',
    'lb',
    'ub',
    'seed',
    'anchors',
    'anchor-iters',
    'batch',
    'shard-size',
    'device',
    'queue',
    'workers',
    'lock-ms',
    'json',
    'help',
  ],
  worker: ['queue', 'name', 'lock-ms', 'threads', 'help'],
  inspect: ['fr', 'json', 'bins', 'device', 'help'],
  'export-rec': ['out', 'format', 'quality', 'help'],
};

function progress(msg: string): void {
  process.stderr.write(`id3: ${msg}\n`);
}

const num = (values: Values, key: keyof Values): number | undefined => numberOption(values, key);
const need = (values: Values, key: keyof Values): number => num({ [key]: requireOption(values, key) }, key)!;

/** A reporter that prints at most about once a second (and always the last call). */
function throttled(): (msg: string, last: boolean) => void {
  let at = 0;
  return (msg, last) => {
    const now = Date.now();
    if (last || now - at >= 1000) {
      at = now;
      progress(msg);
    }
  };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv; // no arguments, --help and --version are answered by runCli
  const parsed = parseCliArgs(rest, OPTIONS, command === 'inspect' || command === 'export-rec') as {
    values: Values;
    positionals?: string[];
  };
  const values = parsed.values;
  const positionals = parsed.positionals ?? [];
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const allowed = ONLY[command];
  if (!allowed) throw new UsageError(`unknown command '${command}'`);
  for (const key of Object.keys(values)) {
    if (!allowed.includes(key as keyof Values)) throw new UsageError(`--${key} is not an option of '${command}'`);
  }
  if (positionals.length > (command === 'inspect' || command === 'export-rec' ? 1 : 0))
    throw new UsageError(`unexpected argument '${positionals[positionals.length - 1]}'`);
  if (command === 'generate') return generateCommand(values);
  if (command === 'worker') return workerCommand(values);
  if (command === 'inspect') return inspectCommand(values, positionals[0]);
  if (command === 'export-rec') return exportCommand(values, positionals[0]);
  const seed = num(values, 'seed') ?? 0;

  if (command === 'anchors') {
    const n = need(values, 'n');
    const dim = need(values, 'dim');
    const out = requireOption(values, 'out');
    const iterations = num(values, 'iters');
    const report = throttled();
    const t0 = Date.now();
    const res = await optimizeAnchors({
      n,
      dim,
      seed,
      iterations,
      neighbours: num(values, 'neighbours'),
      temperature: num(values, 'temperature'),
      step: num(values, 'step'),
      device: values.device as Device | undefined,
      onProgress: (p) =>
        report(
          `anchors step ${p.iteration}/${p.iterations}: min angle ${p.minAngleDeg.toFixed(3)}°, mean nearest ` +
            `${p.meanNearestAngleDeg.toFixed(3)}°, step size ${p.step.toExponential(2)} ` +
            `(${((Date.now() - t0) / 1000).toFixed(1)} s)`,
          p.iteration === p.iterations,
        ),
    });
    const seconds = (Date.now() - t0) / 1000;
    await writeNpy(out, tensor(res.anchors, res.shape));
    if (values.json) {
      console.log(
        JSON.stringify({
          minAngleDeg: res.minAngleDeg,
          meanNearestAngleDeg: res.meanNearestAngleDeg,
          random: res.initial,
          iterations: res.iterations,
          accepted: res.accepted,
          seconds,
        }),
      );
    } else {
      console.log(
        `wrote ${out}: [${n}, ${dim}] anchors; min angle ${res.minAngleDeg.toFixed(3)}° ` +
          `(random ${res.initial.minAngleDeg.toFixed(3)}°), mean nearest ${res.meanNearestAngleDeg.toFixed(3)}° ` +
          `(random ${res.initial.meanNearestAngleDeg.toFixed(3)}°); ${res.iterations} steps in ${seconds.toFixed(1)} s`,
      );
    }
    return 0;
  }

  // embeddings
  const anchorsFile = requireOption(values, 'anchors');
  const perIdentity = need(values, 'per-identity');
  const lb = need(values, 'lb');
  const ub = need(values, 'ub');
  const out = requireOption(values, 'out');
  if (!existsSync(anchorsFile)) throw new FileNotFoundError('anchors', anchorsFile);
  const anchors = await readNpy(anchorsFile);
  const report = throttled();
  const t0 = Date.now();
  const res = sampleEmbeddings(anchors as never, {
    perIdentity,
    lb,
    ub,
    seed,
    onProgress: (done, total) => report(`embeddings ${done}/${total} identities`, done === total),
  });
  await writeNpy(out, tensor(res.embeddings, res.shape));
  console.log(
    `wrote ${out}: [${res.shape.join(', ')}] embeddings, cosine to the anchor in [${lb}, ${ub}], ` +
      `in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return 0;
}

function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/** A progress bar with ETA on stderr: redrawn in place on a terminal, one line at most every 2 s otherwise. */
function progressBar(label: string): { update: (done: number, total: number, note?: string) => void; end: () => void } {
  const tty = !!process.stderr.isTTY;
  const t0 = Date.now();
  let at = 0;
  let startDone: number | undefined;
  let last = '';
  return {
    update(done, total, note = '') {
      startDone ??= done;
      const now = Date.now();
      const sec = (now - t0) / 1000;
      const rate = (done - startDone) / Math.max(sec, 1e-9);
      const eta = done >= total ? 0 : rate > 0 ? (total - done) / rate : Infinity;
      const width = 24;
      const fill = Math.round((width * done) / Math.max(1, total));
      last =
        `id3: ${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ` +
        `${((100 * done) / Math.max(1, total)).toFixed(1)}% elapsed ${fmtDuration(sec)} ETA ${fmtDuration(eta)}${note}`;
      if (tty) process.stderr.write(`\r${last}\x1b[K`);
      else if (done >= total || now - at >= 2000) {
        at = now;
        process.stderr.write(`${last}\n`);
      }
    },
    end() {
      if (tty && last) process.stderr.write('\n');
    },
  };
}

function generationConfig(values: Values): GenerationConfig {
  const sampler = values.sampler;
  if (sampler !== undefined && sampler !== 'ddim' && sampler !== 'ddpm')
    throw new UsageError(`--sampler must be ddim or ddpm, got '${sampler}'`);
  const anchors = values.anchors;
  if (anchors !== undefined && anchors !== 'tammes' && anchors !== 'random')
    throw new UsageError(`--anchors must be tammes or random, got '${anchors}'`);
  const seedText = values.seed;
  return {
    identities: need(values, 'identities'),
    perIdentity: need(values, 'per-identity'),
    seed: seedText === undefined ? 0 : /^-?\d+$/.test(seedText) ? Number(seedText) : seedText,
    lb: num(values, 'lb'),
    ub: num(values, 'ub'),
    anchors: anchors as GenerationConfig['anchors'],
    anchorIterations: num(values, 'anchor-iters'),
    sampler: sampler as GenerationConfig['sampler'],
    steps: num(values, 'steps'),
    eta: num(values, 'eta'),
    clipX0: values['clip-x0'] ? true : undefined,
    guidanceScale: num(values, 'guidance-scale'),
    batchSize: num(values, 'batch'),
    shardSize: num(values, 'shard-size'),
  };
}

function summary(r: InspectReport): string {
  return (
    `${r.identities} identities × ${r.perIdentity} (${r.source === 'fr-model' ? 'face model' : 'conditioning embeddings'}): ` +
    `intra-identity cosine ${r.intra.mean.toFixed(4)} ± ${r.intra.std.toFixed(4)}, inter-identity (centroids) ` +
    `${r.inter.mean.toFixed(4)} ± ${r.inter.std.toFixed(4)} (max ${r.inter.max.toFixed(4)}), separation ${r.separation.toFixed(4)}`
  );
}

async function inspectAndWrite(
  dir: string,
  fr: string | undefined,
  bins: number | undefined,
  device: Device | undefined,
): Promise<InspectReport> {
  const model = fr ? await FrModel.create(fr, { device }) : undefined;
  try {
    const bar = progressBar(model ? 'embedding images' : 'reading embeddings');
    const r = await inspectDataset(dir, { fr: model, bins, onProgress: (d, t) => bar.update(d, t) });
    bar.end();
    await writeFileAtomic(
      nodePath.join(dir, 'inspect.json'),
      new TextEncoder().encode(`${JSON.stringify(r, null, 1)}\n`),
    );
    return r;
  } finally {
    await model?.dispose();
  }
}

async function generateCommand(values: Values): Promise<number> {
  const modelPath = requireOption(values, 'model');
  const out = requireOption(values, 'out');
  const config = generationConfig(values);
  const device = values.device as Device | undefined;
  const frGradPath = values['fr-grad'];
  for (const [k, p] of [
    ['model', modelPath],
    ['fr-grad', frGradPath],
    ['fr', values.fr],
  ] as const)
    if (p !== undefined && !existsSync(p)) throw new FileNotFoundError(k, p);
  const workers = num(values, 'workers');
  const lockMs = num(values, 'lock-ms');
  if (values.queue === undefined && (workers !== undefined || lockMs !== undefined))
    throw new UsageError('--workers and --lock-ms need --queue');
  const bar = progressBar('identities');
  const onProgress = (p: GenerationProgress) => bar.update(p.identitiesDone, p.identities);
  const t0 = Date.now();
  let written: number;
  if (values.queue !== undefined) {
    const url = values.queue;
    const children: ChildProcess[] = [];
    const stop = () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    };
    try {
      const res = await generateWithQueue(out, config, {
        url,
        denoiserPath: modelPath,
        frGradPath,
        device,
        onProgress,
        onQueued: (name, shards) => {
          progress(`queue ${name}: ${shards} shard(s) to generate on ${url}`);
          for (let k = 0; k < (workers ?? 1); k++) {
            const args = [process.argv[1], 'worker', '--queue', url, '--name', name];
            if (lockMs !== undefined) args.push('--lock-ms', String(lockMs));
            // local workers share this machine's cores: one ONNX Runtime thread pool per core, not per process
            args.push('--threads', String(Math.max(1, Math.floor(os.availableParallelism() / (workers ?? 1)))));
            const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
            children.push(child);
          }
        },
      });
      written = res.written;
    } finally {
      stop();
      bar.end();
    }
  } else {
    const denoiser = await Denoiser.create(modelPath, { device });
    const frGrad = frGradPath ? await FrGradient.create(frGradPath, { device }) : undefined;
    try {
      written = (await generateDataset(out, { denoiser, frGrad }, config, { onProgress })).written;
    } finally {
      bar.end();
      await denoiser.dispose();
      await frGrad?.dispose();
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  const report = values.fr ? await inspectAndWrite(out, values.fr, undefined, device) : undefined;
  if (values.json)
    console.log(
      JSON.stringify({
        out,
        written,
        seconds,
        inspect: report && { intra: report.intra.mean, inter: report.inter.mean, separation: report.separation },
      }),
    );
  else {
    console.log(
      `wrote ${written} identities to ${out} in ${seconds.toFixed(1)} s (${config.identities} × ${config.perIdentity} images in all)`,
    );
    if (report) console.log(summary(report));
  }
  return 0;
}

async function workerCommand(values: Values): Promise<number> {
  const url = requireOption(values, 'queue');
  const name = requireOption(values, 'name');
  const w = await runWorker({
    url,
    queue: name,
    lockDurationMs: num(values, 'lock-ms'),
    threads: num(values, 'threads'),
    onJob: (event, job) =>
      progress(`worker ${process.pid}: ${event === 'start' ? 'took' : 'finished'} shard ${job.shard}`),
    onError: (() => {
      let at = 0;
      return (e: unknown) => {
        if (Date.now() - at > 5000) {
          at = Date.now();
          progress(`worker ${process.pid}: Redis: ${(e as Error)?.message ?? e} (retrying)`);
        }
      };
    })(),
  });
  progress(`worker ${process.pid}: waiting for jobs on ${name}`);
  const onSignal = () => {
    setTimeout(() => process.exit(0), 5000).unref(); // Redis gone: do not wait for it
    void w.close();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await w.closed;
  return 0;
}

async function inspectCommand(values: Values, dir: string | undefined): Promise<number> {
  if (!dir) throw new UsageError('inspect needs the dataset folder: id3 inspect DIR');
  if (!existsSync(dir)) throw new FileNotFoundError('DIR', dir);
  if (values.fr !== undefined && !existsSync(values.fr)) throw new FileNotFoundError('fr', values.fr);
  const r = await inspectAndWrite(dir, values.fr, num(values, 'bins'), values.device as Device | undefined);
  if (values.json) console.log(JSON.stringify(r));
  else console.log(`${summary(r)}\nhistograms written to ${nodePath.join(dir, 'inspect.json')}`);
  return 0;
}

async function exportCommand(values: Values, dir: string | undefined): Promise<number> {
  if (!dir) throw new UsageError('export-rec needs the dataset folder: id3 export-rec DIR --out REC_DIR');
  if (!existsSync(dir)) throw new FileNotFoundError('DIR', dir);
  const out = requireOption(values, 'out');
  const format = values.format;
  if (format !== undefined && format !== 'png' && format !== 'jpg')
    throw new UsageError(`--format must be png or jpg, got '${format}'`);
  const r = await exportRecordIO(dir, out, {
    format: format as 'png' | 'jpg' | undefined,
    quality: num(values, 'quality'),
  });
  console.log(
    `wrote ${nodePath.join(out, 'train.rec')} (${r.images} images, ${r.identities} identities, ${r.bytes} bytes), train.idx and property`,
  );
  return 0;
}

runCli(main, USAGE);
