#!/usr/bin/env node
/**
 * gcdss CLI.
 *
 *   gcdss cluster --masks M.npz [--novel K|auto] [--k 10] [--seed S] [--method nerg|baseline|nerg-official-leak] --out A.npy
 *   gcdss discover --labeled DIR --unlabeled DIR --out DIR --model FEATURES.onnx [--novel K] [--method nerg|baseline] ...
 *   gcdss evaluate --pred DIR --gt DIR --base 0,1,... --novel 11,12,... [--ignore 255] [--protocol per-image|dataset] [--json]
 */
import { existsSync } from 'node:fs';
import {
  FileNotFoundError,
  InvalidArgumentError,
  UsageError,
  numberOption,
  parseCliArgs,
  readNpz,
  requireOption,
  runCli,
  tensor,
  writeNpy,
  type Device,
} from '@trustvision/core-tensor';
import { clusterMasks } from './cluster.js';
import { discover } from './discover.js';
import { evaluateLabelDirs } from './labelmaps.js';
import type { MiouProtocol } from './metrics.js';
import type { ClusterMethod } from './nerg.js';

const USAGE = `usage:
  gcdss cluster --masks M.npz [--novel K|auto] [--k 10] [--seed 0] [--method nerg|baseline|nerg-official-leak]
                [--threshold 0.1] [--max-iterations 10] [--num-base B] --out A.npy
      M.npz holds features float32 [M,D], areas float32 [M], labels int64 [M] (base class id, -1 for masks of
      unlabelled images) and optionally gt int64 [M] (read only by nerg-official-leak). A.npy (int64 [M], written
      atomically): a base class id, or numBase + j for novel cluster j. Without --novel (or with auto), NeRG-MaskCA
      estimates the number of novel clusters (silhouette); the baseline needs it.
  gcdss discover --labeled DIR --unlabeled DIR --out DIR --model FEATURES.onnx [--novel K] [--method nerg|baseline]
                 [--k 10] [--seed 0] [--num-base B] [--ignore 255] [--device cpu] [--size 224] [--batch-size 16]
                 [--scale 100] [--sigma 0.8] [--min-size 20]
      Labelled DIR: images (.png/.jpg) and labels/<stem>.png, a same-size single-channel label map each (255 = ignore);
      unlabelled DIR: images. Segments by the model-free proposer, features from FEATURES.onnx, base label of a
      labelled segment = majority class of its pixels. Writes <stem>.png per unlabelled image (base ids, novel
      cluster j as numBase + j) and summary.json into --out, atomically.
  gcdss evaluate --pred DIR --gt DIR --base 0,1,... --novel 11,12,... [--ignore 255] [--protocol per-image|dataset] [--json]
      Reads same-named single-channel PNG label maps; predicted ids outside the base set are novel clusters, matched
      to the novel classes by the Hungarian algorithm (unmatched clusters count as wrong). per-image (default) is
      the official protocol, dataset the standard accumulated IoU. IoUs are fractions in [0, 1].
  exit codes: 0 ok, 1 error (printed as 'error [CODE]: message'), 2 usage`;

const OPTIONS = {
  masks: { type: 'string' },
  novel: { type: 'string' },
  k: { type: 'string' },
  seed: { type: 'string' },
  method: { type: 'string' },
  threshold: { type: 'string' },
  'max-iterations': { type: 'string' },
  'num-base': { type: 'string' },
  out: { type: 'string' },
  pred: { type: 'string' },
  gt: { type: 'string' },
  base: { type: 'string' },
  ignore: { type: 'string' },
  protocol: { type: 'string' },
  json: { type: 'boolean' },
  labeled: { type: 'string' },
  unlabeled: { type: 'string' },
  model: { type: 'string' },
  device: { type: 'string' },
  size: { type: 'string' },
  'batch-size': { type: 'string' },
  scale: { type: 'string' },
  sigma: { type: 'string' },
  'min-size': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | undefined>;

function idList(values: Values, key: string): number[] {
  const s = requireOption(values, key);
  const ids = s.split(',').map((t) => t.trim());
  const out = ids.map(Number);
  if (ids.some((t) => t === '') || out.some((v) => !Number.isInteger(v) || v < 0))
    throw new UsageError(`--${key} must be comma-separated non-negative integers, got '${s}'`);
  return out;
}

async function cluster(values: Values): Promise<number> {
  const file = requireOption(values, 'masks');
  const out = requireOption(values, 'out');
  const method = (values.method ?? 'nerg') as string;
  if (!['nerg', 'baseline', 'nerg-official-leak'].includes(method))
    throw new UsageError(`--method must be one of nerg, baseline, nerg-official-leak, got '${method}'`);
  const novel = values.novel === undefined || values.novel === 'auto' ? undefined : numberOption(values, 'novel');
  if (method === 'baseline' && novel === undefined) throw new UsageError('--novel K is required by --method baseline');
  if (!existsSync(file)) throw new FileNotFoundError('masks', file);
  const arrays = await readNpz(file);
  for (const key of ['features', 'areas', 'labels'])
    if (!Object.prototype.hasOwnProperty.call(arrays, key))
      throw new InvalidArgumentError(
        'masks',
        `${file} with ${Object.keys(arrays).join(', ') || 'no arrays'}`,
        "an .npz with 'features', 'areas' and 'labels'",
      );
  const t0 = Date.now();
  const res = await clusterMasks(
    {
      features: arrays.features as unknown as { data: Float32Array; shape: number[] },
      areas: arrays.areas.data as ArrayLike<number>,
      labels: arrays.labels.data as ArrayLike<bigint>,
      gt: arrays.gt?.data as ArrayLike<bigint> | undefined,
    },
    {
      method: method as ClusterMethod,
      novel,
      k: numberOption(values, 'k'),
      seed: numberOption(values, 'seed'),
      threshold: numberOption(values, 'threshold'),
      maxIterations: numberOption(values, 'max-iterations'),
      numBase: numberOption(values, 'num-base'),
    },
  );
  await writeNpy(
    out,
    tensor(
      BigInt64Array.from(res.assignments, (v) => BigInt(v)),
      [res.assignments.length],
    ),
  );
  const est = res.estimate ? ` (estimated by silhouette)` : '';
  process.stderr.write(
    `gcdss: ${method}: ${res.assignments.length} masks, ${res.numBase} base classes, ${res.numNovel} novel clusters${est}, ` +
      `${res.candidates.length} masks novel, ${((Date.now() - t0) / 1000).toFixed(2)} s → ${out}\n`,
  );
  return 0;
}

async function discoverCmd(values: Values): Promise<number> {
  const labeled = requireOption(values, 'labeled');
  const unlabeled = requireOption(values, 'unlabeled');
  const out = requireOption(values, 'out');
  const model = requireOption(values, 'model');
  const method = (values.method ?? 'nerg') as string;
  if (method !== 'nerg' && method !== 'baseline')
    throw new UsageError(`--method must be nerg or baseline, got '${method}'`);
  const novel = values.novel === undefined || values.novel === 'auto' ? undefined : numberOption(values, 'novel');
  if (method === 'baseline' && novel === undefined) throw new UsageError('--novel K is required by --method baseline');
  if (!existsSync(model)) throw new FileNotFoundError('model', model);
  const t0 = Date.now();
  const s = await discover({
    labeled,
    unlabeled,
    out,
    model,
    method,
    novel,
    k: numberOption(values, 'k'),
    seed: numberOption(values, 'seed'),
    numBase: numberOption(values, 'num-base'),
    ignore: numberOption(values, 'ignore'),
    device: (values.device ?? 'cpu') as Device,
    propose: {
      scale: numberOption(values, 'scale'),
      sigma: numberOption(values, 'sigma'),
      minSize: numberOption(values, 'min-size'),
    },
    features: { size: numberOption(values, 'size'), batchSize: numberOption(values, 'batch-size') },
  });
  const est = s.novelEstimated ? ' (estimated)' : '';
  process.stderr.write(
    `gcdss: discover (${s.method}): ${s.labeledImages} labelled images (${s.labeledMasks} masks, ` +
      `${s.skippedLabeledMasks} left out), ${s.unlabeledImages} unlabelled images (${s.unlabeledMasks} masks), ` +
      `${s.numBase} base classes, ${s.novel} novel clusters${est}, ${s.novelMasks} masks novel, ` +
      `${((Date.now() - t0) / 1000).toFixed(2)} s → ${out}\n`,
  );
  return 0;
}

async function evaluate(values: Values): Promise<number> {
  const predDir = requireOption(values, 'pred');
  const gtDir = requireOption(values, 'gt');
  const base = idList(values, 'base');
  const novel = idList(values, 'novel');
  const protocol = (values.protocol ?? 'per-image') as string;
  if (protocol !== 'per-image' && protocol !== 'dataset')
    throw new UsageError(`--protocol must be per-image or dataset, got '${protocol}'`);
  const ignore = numberOption(values, 'ignore');
  const r = await evaluateLabelDirs(predDir, gtDir, { base, novel, ignore, protocol: protocol as MiouProtocol });
  const json = {
    protocol: r.protocol,
    images: r.images,
    miou: r.miou,
    miou_base: r.miouBase,
    miou_novel: r.miouNovel,
    per_class: r.perClass,
    matching: r.matching,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(json) + '\n');
    return 0;
  }
  const pct = (v: number | null) => (v === null || Number.isNaN(v) ? '   n/a' : (100 * v).toFixed(2).padStart(6));
  const lines = [
    `protocol ${r.protocol}, ${r.images} images`,
    `mIoU ${pct(r.miou)}   base ${pct(r.miouBase)}   novel ${pct(r.miouNovel)}   (percent)`,
    'class   IoU',
    ...Object.entries(r.perClass).map(
      ([c, v]) => `${c.padStart(5)} ${pct(v)}${novel.includes(Number(c)) ? '  (novel)' : ''}`,
    ),
    'matching (cluster → class): ' +
      (Object.entries(r.matching)
        .map(([p, c]) => `${p}→${c ?? 'none'}`)
        .join(', ') || 'no clusters'),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCliArgs(argv, OPTIONS, true);
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const cmd = positionals[0];
  if (positionals.length !== 1)
    throw new UsageError(cmd ? `unexpected arguments: ${positionals.slice(1).join(' ')}` : 'a command is required');
  if (cmd === 'cluster') return cluster(values as Values);
  if (cmd === 'evaluate') return evaluate(values as Values);
  if (cmd === 'discover') return discoverCmd(values as Values);
  throw new UsageError(`unknown command '${cmd}'`);
}

runCli(main, USAGE);
