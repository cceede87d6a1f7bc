#!/usr/bin/env node
/**
 * prob-contrastive CLI.
 *
 *   prob-contrastive loss --batch B.npz --variant infonce|prob|scf [--tau T] [--radius R] [--json] [--grad G.npz]
 *   prob-contrastive views --images images.npz --out train.npz [--encoder contrastive-encoder] [--views 2] [--seed 0]
 *   prob-contrastive train --features train.npz --out head.onnx [--objective prob|infonce|scf] [options]
 *   prob-contrastive score IMAGES... --head head.onnx [--encoder contrastive-encoder] [--json]
 */
import { existsSync } from 'node:fs';
import {
  DTypeError,
  FileNotFoundError,
  InvalidArgumentError,
  ShapeError,
  denseData,
  UsageError,
  numberOption,
  parseCliArgs,
  readImage,
  readNpz,
  requireOption,
  runCli,
  tensor,
  writeFileAtomic,
  writeNpz,
  type Device,
  type Tensor,
} from '@trustvision/core-tensor';
import { LOSS_VARIANTS, contrastiveLoss, type LossVariant } from './loss.js';
import { contrastiveLossGraph, disposeLossGraphs } from './loss-graph.js';
import { randomViews } from './augment.js';
import { ProbContrastive } from './model.js';
import { rankByConfidence } from './similarity.js';
import { OBJECTIVES, trainHead, type Objective } from './train.js';

const USAGE = `usage:
  prob-contrastive loss --batch B.npz --variant infonce|prob|scf [--tau 0.1] [--radius 1] [--json] [--grad G.npz]
                        [--device cpu|cuda|webgpu|auto]
      B.npz holds z float32 [N,D] (raw embeddings), kappa float32 [N] (not needed by infonce) and pairs int64 [P,2]
      (positive pairs). Prints the loss ({ "loss": L } with --json); --grad writes G.npz with the gradients
      z float64 [N,D] and kappa float64 [N] (kappa omitted for infonce). Without --device the float64 typed-array
      path runs; with it, the float32 ONNX op-graph on that device (for large batches).
  prob-contrastive views --images images.npz --out train.npz [--encoder contrastive-encoder] [--views 2]
                         [--seed 0] [--hard P] [--device auto] [--json]
      images.npz holds images [N,H,W] or [N,1,H,W] (uint8 0..255, or float32 in [0, 1]). Makes --views random views
      of every image (crop/flip/rotation/brightness/contrast; --hard P: with probability P also a random noise, blur
      or occlusion), runs the frozen encoder and writes train.npz with features float32 [N*views,F] and pairs int64
      (the input of train).
  prob-contrastive train --features train.npz --out head.onnx [--objective prob|infonce|scf] [--epochs 10]
                         [--batch-size 128] [--lr 1e-3] [--tau 0.1] [--radius 1] [--dim 64] [--hidden 128]
                         [--kappa-hidden 64] [--scf-weight 0.01] [--max-steps N] [--seed 0] [--json]
      train.npz holds features float32 [N,F] (a frozen encoder's output) and pairs int64 [P,2] (positive pairs,
      e.g. two augmented views of one image). Trains the projection + kappa head with Adam and writes it as ONNX
      (input features [batch,F]; outputs embedding [batch,D], kappa [batch,1]), atomically. Progress on stderr.
  prob-contrastive score IMAGES... --head head.onnx [--encoder contrastive-encoder] [--device auto] [--json]
      Embeds PNG/JPEG images through the encoder (a model name or .onnx path) and the head, and prints each
      image's kappa (confidence), most confident first.

  exit codes: 0 ok, 1 error (printed as 'error [CODE]: message'), 2 usage`;

const OPTIONS = {
  batch: { type: 'string' },
  variant: { type: 'string' },
  tau: { type: 'string' },
  radius: { type: 'string' },
  grad: { type: 'string' },
  json: { type: 'boolean' },
  features: { type: 'string' },
  out: { type: 'string' },
  objective: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  dim: { type: 'string' },
  hidden: { type: 'string' },
  'kappa-hidden': { type: 'string' },
  'scf-weight': { type: 'string' },
  'max-steps': { type: 'string' },
  seed: { type: 'string' },
  head: { type: 'string' },
  encoder: { type: 'string' },
  images: { type: 'string' },
  views: { type: 'string' },
  hard: { type: 'string' },
  device: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function progress(msg: string): void {
  process.stderr.write(`prob-contrastive: ${msg}\n`);
}

async function readArrays(file: string, param: string, need: string[]): Promise<Record<string, Tensor>> {
  if (!existsSync(file)) throw new FileNotFoundError(param, file);
  const arrays = await readNpz(file);
  const missing = need.filter((k) => !Object.prototype.hasOwnProperty.call(arrays, k));
  if (missing.length)
    throw new InvalidArgumentError(
      param,
      `${file} with ${Object.keys(arrays).join(', ') || 'no arrays'}`,
      `an .npz with ${need.map((k) => `'${k}'`).join(', ')}`,
    );
  return arrays;
}

async function lossCommand(values: Values): Promise<number> {
  const file = requireOption(values, 'batch');
  const variant = requireOption(values, 'variant');
  if (!(LOSS_VARIANTS as readonly string[]).includes(variant))
    throw new UsageError(`--variant must be one of ${LOSS_VARIANTS.join(', ')}, got '${variant}'`);
  const need = variant === 'infonce' ? ['z', 'pairs'] : ['z', 'kappa', 'pairs'];
  const arrays = await readArrays(file, '--batch', need);
  const input = { z: arrays.z, kappa: arrays.kappa, pairs: arrays.pairs };
  const options = {
    variant: variant as LossVariant,
    tau: numberOption(values, 'tau'),
    radius: numberOption(values, 'radius'),
    grad: values.grad !== undefined,
  };
  // --device: the float32 op-graph on ONNX Runtime (large batches, GPUs); default: the float64 typed-array loops
  const r = values.device
    ? await contrastiveLossGraph(input, { ...options, device: values.device as Device })
    : contrastiveLoss(input, options);
  if (values.device) await disposeLossGraphs();
  if (values.grad) {
    const out: Record<string, Tensor> = { z: tensor(r.gradZ!, [r.n, r.d]) };
    if (variant !== 'infonce') out.kappa = tensor(r.gradKappa!, [r.n]);
    await writeNpz(values.grad, out);
    progress(`wrote ${values.grad} (gradients of ${r.terms} anchor terms)`);
  }
  console.log(
    values.json
      ? JSON.stringify({ loss: r.loss })
      : `${variant} loss ${r.loss} (N = ${r.n}, D = ${r.d}, ${r.terms / 2} pairs)`,
  );
  return 0;
}

async function trainCommand(values: Values): Promise<number> {
  const file = requireOption(values, 'features');
  const out = requireOption(values, 'out');
  const objective = values.objective ?? 'prob';
  if (!(OBJECTIVES as readonly string[]).includes(objective))
    throw new UsageError(`--objective must be one of ${OBJECTIVES.join(', ')}, got '${objective}'`);
  const arrays = await readArrays(file, '--features', ['features', 'pairs']);
  const t0 = Date.now();
  const result = trainHead(
    { features: arrays.features, pairs: arrays.pairs },
    {
      objective: objective as Objective,
      epochs: numberOption(values, 'epochs'),
      batchSize: numberOption(values, 'batch-size'),
      lr: numberOption(values, 'lr'),
      tau: numberOption(values, 'tau'),
      radius: numberOption(values, 'radius'),
      dim: numberOption(values, 'dim'),
      hidden: numberOption(values, 'hidden'),
      kappaHidden: numberOption(values, 'kappa-hidden'),
      scfWeight: numberOption(values, 'scf-weight'),
      maxSteps: numberOption(values, 'max-steps'),
      seed: numberOption(values, 'seed'),
      onProgress: (p) =>
        progress(
          `step ${p.step}/${p.steps} (epoch ${p.epoch}): loss ${p.loss.toFixed(4)}, mean kappa ${p.meanKappa.toFixed(3)}, ${(p.ms / 1000).toFixed(1)} s`,
        ),
    },
  );
  const last = result.history[result.history.length - 1];
  const bytes = result.head.toOnnx({
    objective: result.options.objective,
    steps: String(result.steps),
    finalLoss: String(last?.loss),
    options: JSON.stringify({ ...result.options }),
  });
  await writeFileAtomic(out, bytes);
  const report = {
    out,
    objective: result.options.objective,
    steps: result.steps,
    loss: last?.loss,
    meanKappa: last?.meanKappa,
    features: result.head.features,
    dim: result.head.dim,
    parameters: result.head.parameterCount,
    bytes: bytes.length,
    ms: Date.now() - t0,
  };
  console.log(
    values.json
      ? JSON.stringify(report)
      : `wrote ${out}: ${report.objective} head (${report.features} → ${report.dim}, ${report.parameters} parameters), ${report.steps} steps, final loss ${report.loss?.toFixed(4)}`,
  );
  return 0;
}

async function viewsCommand(values: Values): Promise<number> {
  const file = requireOption(values, 'images');
  const out = requireOption(values, 'out');
  const arrays = await readArrays(file, '--images', ['images']);
  const img = arrays.images;
  const s = img.shape;
  if (!(s.length === 3 || (s.length === 4 && s[1] === 1)))
    throw new ShapeError('--images:images', s, '[N, H, W] or [N, 1, H, W] (grayscale)');
  const n = s[0];
  const [h, w] = s.length === 3 ? [s[1], s[2]] : [s[2], s[3]];
  const data = new Float32Array(n * h * w);
  const src = denseData(img) as ArrayLike<number>;
  if (img.dtype === 'uint8') for (let i = 0; i < data.length; i++) data[i] = src[i] / 255;
  else if (img.dtype === 'float32' || img.dtype === 'float64') {
    for (let i = 0; i < data.length; i++) {
      const v = src[i];
      if (!(v >= 0 && v <= 1)) throw new InvalidArgumentError(`--images:images[${i}]`, v, 'a float pixel in [0, 1]');
      data[i] = v;
    }
  } else throw new DTypeError('--images:images', img.dtype, 'uint8 (0..255) or float32 in [0, 1]');
  const hard = numberOption(values, 'hard');
  const v = randomViews(
    { data, shape: [n, 1, h, w] },
    {
      views: numberOption(values, 'views') ?? 2,
      seed: numberOption(values, 'seed') ?? 0,
      corruptions: hard === undefined ? undefined : { p: hard },
    },
  );
  const encoder = await ProbContrastive.load({
    encoder: values.encoder ?? 'contrastive-encoder',
    device: (values.device ?? 'auto') as Device,
  });
  try {
    const t0 = Date.now();
    const { features, f } = await encoder.features(v);
    const rows = v.shape[0];
    await writeNpz(out, {
      features: tensor(features, [rows, f]),
      pairs: tensor(BigInt64Array.from(v.pairs, BigInt), [v.pairs.length / 2, 2]),
    });
    const report = {
      out,
      images: n,
      rows,
      features: f,
      pairs: v.pairs.length / 2,
      device: encoder.device,
      ms: Date.now() - t0,
    };
    console.log(
      values.json
        ? JSON.stringify(report)
        : `wrote ${out}: ${rows} views of ${n} images, ${f}-d features, ${report.pairs} pairs`,
    );
  } finally {
    await encoder.dispose();
  }
  return 0;
}

async function scoreCommand(values: Values, files: string[]): Promise<number> {
  if (files.length === 0) throw new UsageError('score needs at least one image file');
  for (const f of files) if (!existsSync(f)) throw new FileNotFoundError('IMAGES', f);
  const head = values.head;
  if (head !== undefined && !existsSync(head)) throw new FileNotFoundError('--head', head);
  const images = await Promise.all(files.map((f) => readImage(f)));
  const model = await ProbContrastive.load({
    encoder: values.encoder ?? 'contrastive-encoder',
    head,
    device: (values.device ?? 'auto') as Device,
  });
  try {
    const { kappa } = await model.embed(images);
    const order = rankByConfidence(kappa);
    const rows = Array.from(order, (i, rank) => ({ file: files[i], kappa: kappa[i], rank: rank + 1 }));
    if (values.json) console.log(JSON.stringify({ device: model.device, images: rows }));
    else {
      console.log('rank  kappa       file');
      for (const r of rows)
        console.log(`${String(r.rank).padStart(4)}  ${r.kappa.toPrecision(6).padEnd(10)}  ${r.file}`);
    }
  } finally {
    await model.dispose();
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // no arguments, --help and --version are answered by runCli
  const parsed = parseCliArgs(rest, OPTIONS, command === 'score');
  const values = parsed.values as Values;
  const positionals = parsed.positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case 'loss':
      return lossCommand(values);
    case 'views':
      return viewsCommand(values);
    case 'train':
      return trainCommand(values);
    case 'score':
      return scoreCommand(values, positionals);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

runCli(main, USAGE);
