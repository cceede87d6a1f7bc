#!/usr/bin/env node
/**
 * gcdss CLI.
 *
 *   gcdss cluster --masks M.npz [--novel K|auto] [--k 10] [--seed S] [--method nerg|baseline|nerg-official-leak] --out A.npy
 *   gcdss discover --labeled DIR --unlabeled DIR --out DIR --model FEATURES.onnx [--novel K] [--method nerg|baseline] ...
 *   gcdss evaluate --pred DIR --gt DIR --base 0,1,... --novel 11,12,... [--ignore 255] [--protocol per-image|dataset] [--json]
 *   gcdss cityscapes --root CITYSCAPES --split 1..5 --out DIR [--split-dir DIR] [--scale 0.5]
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
import { prepareCityscapesGcd } from './cityscapes.js';
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
                 [--masks DIR | --sam-encoder E.onnx --sam-decoder D.onnx [--points-per-side 32] [--points-per-batch 64]
                  [--pred-iou-thresh 0.86] [--stability-score-thresh 0.92] [--crop-n-layers 1]
                  [--min-mask-region-area 100]] [--theta 200] [--cache DIR | --no-cache]
      Labelled DIR: images (.png/.jpg) and labels/<stem>.png, a same-size single-channel label map each (255 = ignore);
      unlabelled DIR: images. Segments by the model-free proposer (default), from mask sets in --masks DIR
      (<stem>.npz with masks bool/uint8 [N,H,W], or a folder <stem>/ of binary PNGs) or from SAM-contract ONNX models
      (defaults: the official GCDSS settings), features from FEATURES.onnx, base label of a labelled segment =
      majority class of its pixels. Writes <stem>.png per unlabelled image (base ids, novel cluster j as numBase + j)
      and summary.json into --out, atomically. Per-image segments and features are cached (--out/.gcdss-cache by
      default): rerunning an interrupted command resumes it.
  gcdss evaluate --pred DIR --gt DIR --base 0,1,... --novel 11,12,... [--ignore 255] [--protocol per-image|dataset] [--json]
      Reads same-named single-channel PNG label maps; predicted ids outside the base set are novel clusters, matched
      to the novel classes by the Hungarian algorithm (unmatched clusters count as wrong). per-image (default) is
      the official protocol, dataset the standard accumulated IoU. IoUs are fractions in [0, 1].
  gcdss cityscapes --root CITYSCAPES --split 1..5|IDS --out DIR [--split-dir DIR] [--scale 0.5]
                   [--labeled-fraction 0.4] [--seed 0]
      Writes Cityscapes-GCD split N (1: novel 3,15,16,17 = wall, bus, train, motorcycle, the official default; 2:
      3,14,15,16; 3: 4,14,15,16; 4: 12,14,15,16; 5: 12,15,16,17) in the discover layout at half resolution:
      DIR/labeled (+ labels/, ids 0..14), DIR/unlabeled, DIR/gt (ids 0..18) and DIR/cityscapes-gcd.json. Image lists
      from the official split files in --split-dir, else formed (novel-free images, seeded, 40 % labelled).
      Resumable: finished images are skipped.
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
  'sam-encoder': { type: 'string' },
  'sam-decoder': { type: 'string' },
  'points-per-side': { type: 'string' },
  'points-per-batch': { type: 'string' },
  'pred-iou-thresh': { type: 'string' },
  'stability-score-thresh': { type: 'string' },
  'crop-n-layers': { type: 'string' },
  'min-mask-region-area': { type: 'string' },
  theta: { type: 'string' },
  cache: { type: 'string' },
  'no-cache': { type: 'boolean' },
  root: { type: 'string' },
  split: { type: 'string' },
  'split-dir': { type: 'string' },
  'labeled-fraction': { type: 'string' },
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
  const encoder = values['sam-encoder'] as string | undefined;
  const decoder = values['sam-decoder'] as string | undefined;
  if ((encoder === undefined) !== (decoder === undefined))
    throw new UsageError('--sam-encoder and --sam-decoder go together');
  if (encoder !== undefined && values.masks !== undefined)
    throw new UsageError('--masks and --sam-encoder/--sam-decoder exclude each other');
  if (values.cache !== undefined && values['no-cache'])
    throw new UsageError('--cache and --no-cache exclude each other');
  for (const [key, p] of [
    ['sam-encoder', encoder],
    ['sam-decoder', decoder],
  ] as const)
    if (p !== undefined && !existsSync(p)) throw new FileNotFoundError(key, p);
  const samOptions = {
    pointsPerSide: numberOption(values, 'points-per-side'),
    pointsPerBatch: numberOption(values, 'points-per-batch'),
    predIouThresh: numberOption(values, 'pred-iou-thresh'),
    stabilityScoreThresh: numberOption(values, 'stability-score-thresh'),
    cropNLayers: numberOption(values, 'crop-n-layers'),
    minMaskRegionArea: numberOption(values, 'min-mask-region-area'),
  };
  const t0 = Date.now();
  let done = 0;
  const s = await discover({
    masks: values.masks as string | undefined,
    sam: encoder !== undefined ? { encoder, decoder: decoder!, options: samOptions } : undefined,
    assemble: { theta: numberOption(values, 'theta') },
    cache: values['no-cache'] ? false : (values.cache as string | undefined),
    onImage: (e) => {
      if (e.cached) done++;
      if (e.index + 1 === e.total && done > 0)
        process.stderr.write(`gcdss: resumed: ${done} of ${e.total} images from the cache\n`);
    },
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

async function cityscapesCmd(values: Values): Promise<number> {
  const root = requireOption(values, 'root');
  const split = requireOption(values, 'split');
  const out = requireOption(values, 'out');
  const t0 = Date.now();
  let skipped = 0;
  const r = await prepareCityscapesGcd({
    root,
    split: /^\d+$/.test(split) ? Number(split) : split,
    out,
    splitDir: values['split-dir'] as string | undefined,
    scale: numberOption(values, 'scale'),
    form: { labeledFraction: numberOption(values, 'labeled-fraction'), seed: numberOption(values, 'seed') },
    onImage: (e) => void (e.skipped && skipped++),
  });
  process.stderr.write(
    `gcdss: cityscapes split ${r.split} (novel ${r.novel.join(',')}: ${r.names.slice(15).join(', ')}), ` +
      `${r.labeled} labelled + ${r.unlabeled} unlabelled images (${r.lists}), scale ${r.scale}, ` +
      `${skipped} already done, ${r.novelPixelsInLabeled} novel pixels in labelled images set to 255, ` +
      `${((Date.now() - t0) / 1000).toFixed(1)} s → ${out}\n` +
      `  next: gcdss discover --labeled ${out}/labeled --unlabeled ${out}/unlabeled --num-base 15 --out PSEUDO --model F.onnx\n` +
      `        gcdss evaluate --pred PSEUDO --gt ${out}/gt --base ${r.base.map((_, i) => i).join(',')} --novel 15,16,17,18\n`,
  );
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
  if (cmd === 'cityscapes') return cityscapesCmd(values as Values);
  throw new UsageError(`unknown command '${cmd}'`);
}

runCli(main, USAGE);
