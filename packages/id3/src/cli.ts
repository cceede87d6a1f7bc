#!/usr/bin/env node
/**
 * id3 CLI.
 *
 *   id3 anchors --n N --dim D [--seed S] [--iters I] --out A.npy [--json]
 *   id3 embeddings --anchors A.npy --per-identity M --lb L --ub U [--seed S] --out E.npy
 */
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
import { optimizeAnchors } from './anchors.js';
import { sampleEmbeddings } from './embeddings.js';

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
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

const ONLY: Record<string, (keyof Values)[]> = {
  anchors: ['n', 'dim', 'seed', 'iters', 'neighbours', 'temperature', 'step', 'device', 'out', 'json', 'help'],
  embeddings: ['anchors', 'per-identity', 'lb', 'ub', 'seed', 'out', 'help'],
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
  const values = parseCliArgs(rest, OPTIONS).values as Values;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const allowed = ONLY[command];
  if (!allowed) throw new UsageError(`unknown command '${command}'`);
  for (const key of Object.keys(values)) {
    if (!allowed.includes(key as keyof Values)) throw new UsageError(`--${key} is not an option of '${command}'`);
  }
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

runCli(main, USAGE);
