/**
 * Pseudo-label painting (spec `gcdss.md` §3 Step 6) and PNG label-map I/O (Node: reading and writing files uses
 * core-tensor's Node entry, looked up at run time so the module also loads in a browser bundle).
 */
import * as core from '@trustvision/core-tensor';
import { FileNotFoundError, InvalidArgumentError, ShapeError, type Image } from '@trustvision/core-tensor';
import { MiouEvaluator, type EvaluateOptions, type MiouReport } from './metrics.js';

export interface PaintOptions {
  /** Value of pixels whose segment is 0 or has no label (−1). Default 255. */
  unassigned?: number;
}

/**
 * Paints a label map: pixel i gets `segmentLabels[segments[i] − 1]` (segment ids start at 1; 0 = no segment), or
 * `unassigned` for segment 0 and for segments labelled −1. Labels must fit a single-channel 8-bit PNG (0..255).
 */
export function paintLabelMap(
  segments: ArrayLike<number>,
  width: number,
  height: number,
  segmentLabels: ArrayLike<number>,
  options: PaintOptions = {},
): Uint8Array {
  if (!Number.isInteger(width) || width < 1) throw new InvalidArgumentError('width', width, 'a positive integer');
  if (!Number.isInteger(height) || height < 1) throw new InvalidArgumentError('height', height, 'a positive integer');
  if (!segments || segments.length !== width * height)
    throw new ShapeError('segments', `${segments?.length} pixels`, `${height}×${width} = ${width * height} pixels`);
  const fill = options.unassigned ?? 255;
  if (!Number.isInteger(fill) || fill < 0 || fill > 255)
    throw new InvalidArgumentError('unassigned', fill, 'an integer in [0, 255]');
  const S = segmentLabels.length;
  const lut = new Uint8Array(S + 1);
  lut[0] = fill;
  for (let s = 0; s < S; s++) {
    const v = segmentLabels[s];
    if (v === -1) lut[s + 1] = fill;
    else if (!Number.isInteger(v) || v < 0 || v > 255)
      throw new InvalidArgumentError(`segmentLabels[${s}]`, v, 'a label in [0, 255] (8-bit PNG) or −1');
    else lut[s + 1] = v;
  }
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const s = segments[i];
    if (!Number.isInteger(s) || s < 0 || s > S)
      throw new InvalidArgumentError('segments', `id ${s} at pixel ${i}`, `a segment id in [0, ${S}]`);
    out[i] = lut[s];
  }
  return out;
}

type NodeIo = {
  readImage(path: string): Promise<Image>;
  writeImage(path: string, img: Image): Promise<void>;
};

function nodeIo(): NodeIo {
  const io = core as unknown as Partial<NodeIo>;
  if (typeof io.readImage !== 'function' || typeof io.writeImage !== 'function')
    throw new InvalidArgumentError('environment', 'a browser build', 'Node.js (file I/O)');
  return io as NodeIo;
}

/** Writes a label map as a single-channel 8-bit PNG (atomically). */
export async function writeLabelPng(path: string, labels: Uint8Array, width: number, height: number): Promise<void> {
  if (!(labels instanceof Uint8Array)) throw new core.DTypeError('labels', labels, 'a Uint8Array');
  if (labels.length !== width * height) throw new ShapeError('labels', `${labels.length} pixels`, `${height}×${width}`);
  await nodeIo().writeImage(path, { width, height, channels: 1, data: labels });
}

/** Reads a single-channel PNG label map (a colour image is refused). */
export async function readLabelPng(path: string): Promise<{ labels: Uint8Array; width: number; height: number }> {
  const img = await nodeIo().readImage(path);
  if (img.channels !== 1)
    throw new InvalidArgumentError(
      'labels',
      `${path} with ${img.channels} channels`,
      'a single-channel (grayscale) label PNG',
    );
  return { labels: img.data, width: img.width, height: img.height };
}

/**
 * Evaluates every `*.png` of `predDir` against the same-named file of `gtDir` (see `MiouEvaluator`). A prediction
 * without ground truth, or a ground-truth file without prediction, is an error.
 */
export async function evaluateLabelDirs(
  predDir: string,
  gtDir: string,
  options: EvaluateOptions,
): Promise<MiouReport & { images: number }> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const list = async (dir: string, param: string) => {
    try {
      return (await fs.readdir(dir)).filter((f) => f.toLowerCase().endsWith('.png')).sort();
    } catch {
      throw new FileNotFoundError(param, dir);
    }
  };
  const preds = await list(predDir, 'pred');
  const gts = new Set(await list(gtDir, 'gt'));
  if (preds.length === 0) throw new InvalidArgumentError('pred', predDir, 'a folder with .png label maps');
  for (const f of preds) if (!gts.has(f)) throw new FileNotFoundError('gt', pathMod.join(gtDir, f));
  for (const f of gts) if (!preds.includes(f)) throw new FileNotFoundError('pred', pathMod.join(predDir, f));
  const ev = new MiouEvaluator(options);
  for (const f of preds) {
    const p = await readLabelPng(pathMod.join(predDir, f));
    const g = await readLabelPng(pathMod.join(gtDir, f));
    if (p.width !== g.width || p.height !== g.height)
      throw new ShapeError('pred', `${f}: ${p.width}×${p.height}`, `the ground truth's ${g.width}×${g.height}`);
    ev.add({ pred: p.labels, gt: g.labels, width: g.width, height: g.height, name: f });
  }
  return { ...ev.report(options.protocol ?? 'per-image'), images: preds.length };
}
