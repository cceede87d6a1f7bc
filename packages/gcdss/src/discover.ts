/**
 * GCDSS end to end on image folders (Node): model-free segment proposals → per-segment features from an ONNX model →
 * base labels of the labelled segments from their ground truth → NeRG-MaskCA (or the baseline) → one pseudo-label
 * PNG per unlabelled image and a `summary.json`.
 *
 * Layout: `labeled/` holds images (PNG or JPEG) and `labeled/labels/<stem>.png`, a single-channel label map of the
 * same size per image (class ids, `ignore` = 255 by default); `unlabeled/` holds images only. The output folder gets
 * `<stem>.png` per unlabelled image (base ids as given, novel cluster j as numBase + j) and `summary.json`.
 */
import * as core from '@trustvision/core-tensor';
import {
  FileNotFoundError,
  InvalidArgumentError,
  ShapeError,
  createSession,
  type Device,
  type Image,
  type Session,
} from '@trustvision/core-tensor';
import { clusterMasks } from './cluster.js';
import { maskFeatures, type FeatureOptions } from './features.js';
import { paintLabelMap, readLabelPng, writeLabelPng } from './labelmaps.js';
import { proposeSegments, type ProposeOptions, type SegmentMap } from './segments.js';
import { intOption } from './validate.js';

export interface DiscoverOptions {
  /** Folder of labelled images, with their label maps in `labels/` (same stem, `.png`). */
  labeled: string;
  /** Folder of unlabelled images. */
  unlabeled: string;
  /** Output folder (created if missing): `<stem>.png` pseudo-labels and `summary.json`. */
  out: string;
  /** The ONNX feature model: a path, its bytes or an open core-tensor `Session` (kept open). */
  model: string | Uint8Array | Session;
  /** 'nerg' (default) or 'baseline' (needs `novel`). */
  method?: 'nerg' | 'baseline';
  /** Number of novel clusters; NeRG-MaskCA estimates it (silhouette) when omitted. */
  novel?: number;
  /** Neighbours per unlabelled mask (default 10). */
  k?: number;
  /** Seed of k-means (default 0). */
  seed?: number;
  /** Number of base classes (default: the largest id in the label maps + 1); a larger id is an error. */
  numBase?: number;
  /** Label-map value that means "no label" (default 255). */
  ignore?: number;
  /** Device of the feature model and the op-graphs (default 'cpu'). */
  device?: Device;
  /** Options of `proposeSegments`. */
  propose?: ProposeOptions;
  /** Options of `maskFeatures` (size, batchSize, mean, std, ...; its `device` is `device`). */
  features?: Omit<FeatureOptions, 'device'>;
}

export interface DiscoverSummary {
  method: 'nerg' | 'baseline';
  labeledImages: number;
  unlabeledImages: number;
  /** Segments of labelled images used as labelled masks, and those left out (mostly `ignore` pixels). */
  labeledMasks: number;
  skippedLabeledMasks: number;
  unlabeledMasks: number;
  numBase: number;
  /** Novel clusters used, and whether NeRG-MaskCA estimated the number. */
  novel: number;
  novelEstimated: boolean;
  /** Unlabelled masks assigned to a novel cluster. */
  novelMasks: number;
  k: number;
  seed: number;
  /** Per unlabelled image: the written file and its segment count. */
  images: { image: string; output: string; segments: number }[];
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;

type NodeFs = {
  readImage(path: string): Promise<Image>;
  writeFileAtomic(path: string, bytes: Uint8Array): Promise<void>;
};

function nodeIo(): NodeFs {
  const io = core as unknown as Partial<NodeFs>;
  if (typeof io.readImage !== 'function' || typeof io.writeFileAtomic !== 'function')
    throw new InvalidArgumentError('environment', 'a browser build', 'Node.js (file I/O)');
  return io as NodeFs;
}

async function listImages(dir: string, param: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    throw new FileNotFoundError(param, dir);
  }
  const files = entries
    .filter((e) => e.isFile() && IMAGE_EXT.test(e.name))
    .map((e) => e.name)
    .sort();
  if (files.length === 0) throw new InvalidArgumentError(param, dir, 'a folder with at least one .png/.jpg image');
  const stems = new Map<string, string>();
  for (const f of files) {
    const stem = f.replace(IMAGE_EXT, '');
    if (stems.has(stem))
      throw new InvalidArgumentError(param, `${stems.get(stem)} and ${f}`, 'images with distinct names (stems)');
    stems.set(stem, f);
  }
  return files;
}

/**
 * Base label of every segment of a labelled image: the majority class of its non-`ignore` pixels (ties → the
 * smaller id), or −1 (left out) when fewer than half of its pixels are labelled. `area` is the majority class's
 * pixel count (as the official code weights labelled masks).
 */
function segmentLabels(
  seg: SegmentMap,
  gt: Uint8Array,
  ignore: number,
): { label: Int32Array; area: Float64Array; maxId: number } {
  const counts = new Map<number, Int32Array>();
  let maxId = -1;
  for (let i = 0; i < gt.length; i++) {
    const c = gt[i];
    if (c === ignore) continue;
    if (c > maxId) maxId = c;
    let h = counts.get(c);
    if (!h) counts.set(c, (h = new Int32Array(seg.count + 1)));
    h[seg.segments[i]]++;
  }
  const label = new Int32Array(seg.count).fill(-1);
  const area = new Float64Array(seg.count);
  const classes = [...counts.keys()].sort((a, b) => a - b);
  for (let s = 1; s <= seg.count; s++) {
    let best = -1;
    let bestCount = 0;
    let valid = 0;
    for (const c of classes) {
      const n = counts.get(c)![s];
      valid += n;
      if (n > bestCount) [best, bestCount] = [c, n];
    }
    if (best >= 0 && 2 * valid >= seg.areas[s - 1]) {
      label[s - 1] = best;
      area[s - 1] = bestCount;
    }
  }
  return { label, area, maxId };
}

/**
 * Runs GCDSS end to end on image folders (see the module comment for the layout) and writes one pseudo-label PNG per
 * unlabelled image plus `summary.json` into `out`. Everything is computed before anything is written; every file is
 * written atomically. Errors: a missing folder or label map (`FileNotFoundError`), a label map of another size than
 * its image (`ShapeError`), an id ≥ `numBase`, more novel clusters than novel candidates, or novel ids past 254
 * (`InvalidArgumentError`).
 */
export async function discover(options: DiscoverOptions): Promise<DiscoverSummary> {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('options', options, '{ labeled, unlabeled, out, model }');
  const pathMod = await import('node:path');
  const fs = await import('node:fs/promises');
  const io = nodeIo();
  for (const key of ['labeled', 'unlabeled', 'out'] as const)
    if (typeof options[key] !== 'string' || options[key] === '')
      throw new InvalidArgumentError(key, options[key], 'a folder path');
  const method = options.method ?? 'nerg';
  if (method !== 'nerg' && method !== 'baseline')
    throw new InvalidArgumentError('method', method, "'nerg' or 'baseline'");
  const ignore = intOption('ignore', options.ignore, 255, 0, 255);
  const k = intOption('k', options.k, 10, 1);
  const seed = intOption('seed', options.seed, 0, 0);
  const device = options.device ?? 'cpu';
  const outDir = pathMod.resolve(options.out);
  for (const key of ['labeled', 'unlabeled'] as const)
    if (pathMod.resolve(options[key]) === outDir)
      throw new InvalidArgumentError('out', options.out, `a folder other than --${key}`);

  const labeledFiles = await listImages(options.labeled, 'labeled');
  const unlabeledFiles = await listImages(options.unlabeled, 'unlabeled');
  const labelDir = pathMod.join(options.labeled, 'labels');
  // check every label map exists before the (slow) feature pass
  for (const f of labeledFiles) {
    const p = pathMod.join(labelDir, f.replace(IMAGE_EXT, '.png'));
    try {
      await fs.access(p);
    } catch {
      throw new FileNotFoundError('labels', p);
    }
  }

  const given =
    typeof options.model === 'object' &&
    options.model !== null &&
    !(options.model instanceof Uint8Array) &&
    typeof (options.model as Session).run === 'function';
  const session = given
    ? (options.model as Session)
    : await createSession(options.model as string | Uint8Array, { device });
  const feats: Float32Array[] = [];
  let D = 0;
  const areas: number[] = [];
  const labels: number[] = [];
  let skipped = 0;
  let maxId = -1;
  const unl: { file: string; seg: SegmentMap; first: number }[] = [];
  const featureOpts = { ...(options.features ?? {}), device };
  const features = async (img: Image, seg: SegmentMap) => {
    const f = await maskFeatures(img, seg.segments, seg.count, session, featureOpts);
    D = f.shape[1];
    return f.data as Float32Array;
  };
  try {
    for (const f of labeledFiles) {
      const img = await io.readImage(pathMod.join(options.labeled, f));
      const lp = pathMod.join(labelDir, f.replace(IMAGE_EXT, '.png'));
      const gt = await readLabelPng(lp);
      if (gt.width !== img.width || gt.height !== img.height)
        throw new ShapeError('labels', `${lp}: ${gt.width}×${gt.height}`, `its image's ${img.width}×${img.height}`);
      const seg = proposeSegments(img, options.propose);
      const sl = segmentLabels(seg, gt.labels, ignore);
      if (options.numBase !== undefined && sl.maxId >= options.numBase)
        throw new InvalidArgumentError(
          'labels',
          `id ${sl.maxId} in ${lp}`,
          `a base class id below numBase (${options.numBase}) or ${ignore} (ignore)`,
        );
      maxId = Math.max(maxId, sl.maxId);
      const x = await features(img, seg);
      for (let s = 0; s < seg.count; s++) {
        if (sl.label[s] < 0) {
          skipped++;
          continue;
        }
        feats.push(x.subarray(s * D, s * D + D));
        areas.push(sl.area[s]);
        labels.push(sl.label[s]);
      }
    }
    for (const f of unlabeledFiles) {
      const img = await io.readImage(pathMod.join(options.unlabeled, f));
      const seg = proposeSegments(img, options.propose);
      const x = await features(img, seg);
      unl.push({ file: f, seg, first: labels.length });
      for (let s = 0; s < seg.count; s++) {
        feats.push(x.subarray(s * D, s * D + D));
        areas.push(seg.areas[s]);
        labels.push(-1);
      }
    }
  } finally {
    if (!given) await session.dispose();
  }
  if (maxId < 0)
    throw new InvalidArgumentError('labels', options.labeled, 'label maps with at least one labelled segment');
  const numBase = options.numBase ?? maxId + 1;
  if (options.novel !== undefined) intOption('novel', options.novel, 1, 1);
  if (options.novel !== undefined && numBase + options.novel > 255)
    throw new InvalidArgumentError(
      'novel',
      options.novel,
      `at most ${255 - numBase} (ids numBase + j must fit an 8-bit PNG below 255)`,
    );
  const M = labels.length;
  const data = new Float32Array(M * D);
  feats.forEach((f, i) => data.set(f, i * D));
  const res = await clusterMasks(
    { features: { data, shape: [M, D] }, areas, labels: Int32Array.from(labels) },
    { method, novel: options.novel, k, seed, numBase, device },
  );
  if (numBase + res.numNovel > 255)
    throw new InvalidArgumentError('novel', res.numNovel, `at most ${255 - numBase} novel clusters (8-bit PNG)`);

  const painted = unl.map((u) => ({
    ...u,
    out: u.file.replace(IMAGE_EXT, '.png'),
    map: paintLabelMap(
      u.seg.segments,
      u.seg.width,
      u.seg.height,
      res.assignments.subarray(u.first, u.first + u.seg.count),
    ),
  }));
  const outs = new Set(painted.map((p) => p.out));
  if (outs.size !== painted.length)
    throw new InvalidArgumentError('unlabeled', options.unlabeled, 'images with distinct names (stems)');
  await fs.mkdir(outDir, { recursive: true });
  for (const p of painted) await writeLabelPng(pathMod.join(outDir, p.out), p.map, p.seg.width, p.seg.height);
  let novelMasks = 0;
  for (const u of unl) for (let s = 0; s < u.seg.count; s++) if (res.assignments[u.first + s] >= numBase) novelMasks++;
  const summary: DiscoverSummary = {
    method,
    labeledImages: labeledFiles.length,
    unlabeledImages: unlabeledFiles.length,
    labeledMasks: unl.length ? unl[0].first : M,
    skippedLabeledMasks: skipped,
    unlabeledMasks: M - (unl.length ? unl[0].first : M),
    numBase,
    novel: res.numNovel,
    novelEstimated: res.estimate !== undefined || (method === 'nerg' && options.novel === undefined),
    novelMasks,
    k,
    seed,
    images: painted.map((p) => ({ image: p.file, output: p.out, segments: p.seg.count })),
  };
  await io.writeFileAtomic(
    pathMod.join(outDir, 'summary.json'),
    new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'),
  );
  return summary;
}
