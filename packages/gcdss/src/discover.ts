/**
 * GCDSS end to end on image folders (Node): segments per image (the model-free proposer, mask sets from files, or a
 * SAM-contract ONNX pair) → per-segment features from an ONNX model → base labels of the labelled segments from their
 * ground truth → NeRG-MaskCA (or the baseline) → one pseudo-label PNG per unlabelled image and a `summary.json`.
 *
 * Layout: `labeled/` holds images (PNG or JPEG) and `labeled/labels/<stem>.png`, a single-channel label map of the
 * same size per image (class ids, `ignore` = 255 by default); `unlabeled/` holds images only. The output folder gets
 * `<stem>.png` per unlabelled image (base ids as given, novel cluster j as numBase + j) and `summary.json`.
 *
 * Resumable: each image's segment map and features go to a cache entry (`<out>/.gcdss-cache/` by default, written
 * atomically, keyed by a fingerprint of the image bytes, the mask source and the models); a rerun after an
 * interruption reuses the entries and recomputes only the missing ones, and writes the same bytes.
 */
import * as core from '@trustvision/core-tensor';
import {
  FileNotFoundError,
  InvalidArgumentError,
  ShapeError,
  createSession,
  decodeImage,
  tensor,
  type Device,
  type Image,
  type Session,
  type Tensor,
} from '@trustvision/core-tensor';
import { clusterMasks } from './cluster.js';
import { maskFeatures, type FeatureOptions } from './features.js';
import { paintLabelMap, readLabelPng, writeLabelPng } from './labelmaps.js';
import { findMaskSet, readMaskSet } from './maskfiles.js';
import { SamMaskGenerator, type SamOptions } from './sam.js';
import {
  assembleSegments,
  proposeSegments,
  type AssembleOptions,
  type ProposeOptions,
  type SegmentMap,
} from './segments.js';
import { intOption } from './validate.js';

type ModelSource = string | Uint8Array | Session;

export interface DiscoverOptions {
  /** Folder of labelled images, with their label maps in `labels/` (same stem, `.png`). */
  labeled: string;
  /** Folder of unlabelled images. */
  unlabeled: string;
  /** Output folder (created if missing): `<stem>.png` pseudo-labels and `summary.json`. */
  out: string;
  /** The ONNX feature model: a path, its bytes or an open core-tensor `Session` (kept open). */
  model: ModelSource;
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
  /** Device of the feature model, the SAM models and the op-graphs (default 'cpu'). */
  device?: Device;
  /** Options of `proposeSegments` (used when neither `masks` nor `sam` is given). */
  propose?: ProposeOptions;
  /**
   * Folder of mask sets, one per image of both folders: `<stem>.npz` (`masks` bool/uint8 [N, H, W]) or a folder
   * `<stem>/` of binary PNGs. Turned into segment maps by `assembleSegments` (options `assemble`).
   */
  masks?: string;
  /** SAM-contract encoder and decoder (paths, bytes or sessions) and `SamMaskGenerator` options, or a generator. */
  sam?: { encoder: ModelSource; decoder: ModelSource; options?: SamOptions } | SamMaskGenerator;
  /** Options of `assembleSegments` for `masks` / `sam` (official: theta 200, window 20). */
  assemble?: AssembleOptions;
  /** Options of `maskFeatures` (size, batchSize, mean, std, ...; its `device` is `device`). */
  features?: Omit<FeatureOptions, 'device'>;
  /** Cache folder of per-image segments and features (default `<out>/.gcdss-cache`), or false for none. */
  cache?: string | false;
  /** Called after each image's segments and features are ready (from the cache or computed). */
  onImage?: (event: DiscoverProgress) => void | Promise<void>;
}

export interface DiscoverProgress {
  split: 'labeled' | 'unlabeled';
  image: string;
  /** 0-based over the images of all splits, and their total. */
  index: number;
  total: number;
  segments: number;
  /** True when read from the cache. */
  cached: boolean;
}

export interface DiscoverSummary {
  method: 'nerg' | 'baseline';
  /** Where the segments came from. */
  segmentSource: 'propose' | 'masks' | 'sam';
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
const CACHE_VERSION = 1;

type NodeFs = {
  writeFileAtomic(path: string, bytes: Uint8Array): Promise<void>;
  readNpz(path: string): Promise<Record<string, Tensor>>;
  writeNpz(path: string, arrays: Record<string, Tensor>, options?: { compress?: boolean }): Promise<void>;
};

function nodeIo(): NodeFs {
  const io = core as unknown as Partial<NodeFs>;
  if (typeof io.writeFileAtomic !== 'function' || typeof io.readNpz !== 'function' || typeof io.writeNpz !== 'function')
    throw new InvalidArgumentError('environment', 'a browser build', 'Node.js (file I/O)');
  return io as NodeFs;
}

function isSession(m: unknown): m is Session {
  return typeof m === 'object' && m !== null && !(m instanceof Uint8Array) && typeof (m as Session).run === 'function';
}

async function sha256(parts: (Uint8Array | string)[]): Promise<string> {
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Identity of a model for the cache fingerprint: the hash of its bytes (a Session: its name only). */
async function modelId(m: ModelSource): Promise<string> {
  if (m instanceof Uint8Array) return sha256([m]);
  if (typeof m === 'string') {
    const { createReadStream } = await import('node:fs');
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    await new Promise<void>((resolve, reject) =>
      createReadStream(m)
        .on('data', (d) => h.update(d))
        .on('end', () => resolve())
        .on('error', () => reject(new FileNotFoundError('model', m))),
    );
    return h.digest('hex');
  }
  return `session:${(m as Session).name}`;
}

/** The bytes of a mask set (an .npz, or a folder's PNGs in name order) for the cache fingerprint. */
async function maskSetHash(path: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const st = await fs.stat(path);
  if (!st.isDirectory()) return sha256([await fs.readFile(path)]);
  const files = (await fs.readdir(path)).filter((f) => /\.png$/i.test(f)).sort();
  const parts: (Uint8Array | string)[] = [];
  for (const f of files) parts.push(f, await fs.readFile(pathMod.join(path, f)));
  return sha256(parts);
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
 * unlabelled image plus `summary.json` into `out`. Outputs are written only after everything is computed, each
 * atomically; per-image segments and features are cached as they are computed, so an interrupted run resumes.
 * Errors: a missing folder, label map or mask set (`FileNotFoundError`), an unreadable image (`CorruptFileError`), a
 * label map or mask set of another size than its image (`ShapeError`), an empty mask or an image without masks, an
 * id ≥ `numBase`, more novel clusters than novel candidates, or novel ids past 254 (`InvalidArgumentError`).
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
  if (options.novel !== undefined) intOption('novel', options.novel, 1, 1);
  const device = options.device ?? 'cpu';
  const outDir = pathMod.resolve(options.out);
  for (const key of ['labeled', 'unlabeled'] as const)
    if (pathMod.resolve(options[key]) === outDir)
      throw new InvalidArgumentError('out', options.out, `a folder other than --${key}`);
  if (options.masks !== undefined && options.sam !== undefined)
    throw new InvalidArgumentError('masks', options.masks, 'either masks or sam, not both');
  const source: DiscoverSummary['segmentSource'] =
    options.masks !== undefined ? 'masks' : options.sam !== undefined ? 'sam' : 'propose';
  if (source === 'masks') {
    if (typeof options.masks !== 'string' || options.masks === '')
      throw new InvalidArgumentError('masks', options.masks, 'a folder path');
    const st = await fs.stat(options.masks).catch(() => undefined);
    if (!st?.isDirectory()) throw new FileNotFoundError('masks', options.masks);
  }
  const cacheDir =
    options.cache === false ? undefined : pathMod.resolve(options.cache ?? pathMod.join(outDir, '.gcdss-cache'));

  const labeledFiles = await listImages(options.labeled, 'labeled');
  const unlabeledFiles = await listImages(options.unlabeled, 'unlabeled');
  const stem = (f: string) => f.replace(IMAGE_EXT, '');
  const labelDir = pathMod.join(options.labeled, 'labels');
  // check every label map and mask set exists before the (slow) feature pass
  for (const f of labeledFiles) {
    const p = pathMod.join(labelDir, `${stem(f)}.png`);
    try {
      await fs.access(p);
    } catch {
      throw new FileNotFoundError('labels', p);
    }
  }
  const maskPaths = new Map<string, string>();
  if (source === 'masks') {
    const seen = new Set(labeledFiles.map(stem));
    for (const f of unlabeledFiles)
      if (seen.has(stem(f)))
        throw new InvalidArgumentError(
          'masks',
          `the stem '${stem(f)}' in both ${options.labeled} and ${options.unlabeled}`,
          'distinct image stems across both folders (one mask set per stem)',
        );
    for (const f of [...labeledFiles, ...unlabeledFiles]) maskPaths.set(f, await findMaskSet(options.masks!, stem(f)));
  }

  const ownedSessions: Session[] = [];
  let sam: SamMaskGenerator | undefined;
  let ownSam = false;
  const featureModel = isSession(options.model) ? undefined : options.model;
  const featOpts = { ...(options.features ?? {}) };
  const fingerprintBase: Record<string, unknown> = {
    version: CACHE_VERSION,
    source,
    model: await modelId(options.model),
    features: {
      ...featOpts,
      mean: featOpts.mean && Array.from(featOpts.mean),
      std: featOpts.std && Array.from(featOpts.std),
    },
  };
  if (source === 'propose') fingerprintBase.propose = options.propose ?? {};
  else fingerprintBase.assemble = options.assemble ?? {};
  let session: Session | undefined;
  try {
    if (source === 'sam') {
      const s = options.sam!;
      if (s instanceof SamMaskGenerator) {
        sam = s;
        fingerprintBase.sam = { options: s.options, models: s.models, contract: s.contract }; // names only
      } else {
        if (s === null || typeof s !== 'object')
          throw new InvalidArgumentError('sam', s, '{ encoder, decoder, options? } or a SamMaskGenerator');
        fingerprintBase.sam = {
          encoder: await modelId(s.encoder),
          decoder: await modelId(s.decoder),
          options: s.options ?? {},
        };
        sam = await SamMaskGenerator.create(s.encoder, s.decoder, { ...(s.options ?? {}), device });
        ownSam = true;
      }
    }
    if (featureModel === undefined) session = options.model as Session;
    else {
      session = await createSession(featureModel, { device });
      ownedSessions.push(session);
    }
    const fpBase = JSON.stringify(fingerprintBase);

    const feats: Float32Array[] = [];
    let D = 0;
    const areas: number[] = [];
    const labels: number[] = [];
    let skipped = 0;
    let maxId = -1;
    const unl: { file: string; seg: SegmentMap; first: number }[] = [];
    const total = labeledFiles.length + unlabeledFiles.length;
    let index = 0;

    /** Segments and features of one image, from the cache when its fingerprint matches. */
    const prepare = async (
      split: 'labeled' | 'unlabeled',
      file: string,
      dir: string,
      check?: (img: Image) => Promise<void>,
    ): Promise<{ seg: SegmentMap; x: Float32Array }> => {
      const imgPath = pathMod.join(dir, file);
      let bytes: Uint8Array;
      try {
        bytes = await fs.readFile(imgPath);
      } catch {
        throw new FileNotFoundError(split, imgPath);
      }
      const img = decodeImage(bytes, imgPath);
      if (check) await check(img);
      const maskPath = maskPaths.get(file);
      const fp = await sha256([fpBase, bytes, maskPath ? await maskSetHash(maskPath) : '']);
      const entry = cacheDir && pathMod.join(cacheDir, `${split}--${stem(file)}.npz`);
      let cached = false;
      let seg: SegmentMap | undefined;
      let x: Float32Array | undefined;
      if (entry) {
        const hit = await io.readNpz(entry).catch(() => undefined);
        if (hit?.fingerprint && new TextDecoder().decode(hit.fingerprint.data as Uint8Array) === fp) {
          const s = core.denseData(hit.segments) as Int32Array;
          const a = core.denseData(hit.areas) as Int32Array;
          seg = {
            segments: Int32Array.from(s),
            width: img.width,
            height: img.height,
            count: a.length,
            areas: Int32Array.from(a),
          };
          x = Float32Array.from(core.denseData(hit.features) as Float32Array);
          D = hit.features.shape[1];
          cached = true;
        }
      }
      if (!seg || !x) {
        if (source === 'propose') seg = proposeSegments(img, options.propose);
        else {
          let masks: Uint8Array;
          if (source === 'masks') {
            const set = await readMaskSet(maskPath!, img.width, img.height);
            masks = set.masks;
          } else {
            const found = await sam!.generate(img);
            if (found.length === 0)
              throw new InvalidArgumentError(
                'sam',
                `no masks for ${imgPath}`,
                'at least one SAM mask per image (lower the SAM thresholds)',
              );
            masks = SamMaskGenerator.stack(found);
          }
          seg = assembleSegments(masks, img.width, img.height, options.assemble);
        }
        const f = await maskFeatures(img, seg.segments, seg.count, session!, { ...featOpts, device });
        D = f.shape[1];
        x = f.data as Float32Array;
        if (entry) {
          await fs.mkdir(cacheDir!, { recursive: true });
          await io.writeNpz(entry, {
            fingerprint: tensor(new TextEncoder().encode(fp), [fp.length]),
            segments: tensor(seg.segments, [img.height, img.width]),
            areas: tensor(seg.areas, [seg.count]),
            features: tensor(x, [seg.count, D]),
          });
        }
      }
      if (options.onImage)
        await options.onImage({ split, image: file, index: index++, total, segments: seg.count, cached });
      else index++;
      return { seg, x };
    };

    for (const f of labeledFiles) {
      const lp = pathMod.join(labelDir, `${stem(f)}.png`);
      const gt = await readLabelPng(lp);
      const { seg, x } = await prepare('labeled', f, options.labeled, async (img) => {
        if (gt.width !== img.width || gt.height !== img.height)
          throw new ShapeError('labels', `${lp}: ${gt.width}×${gt.height}`, `its image's ${img.width}×${img.height}`);
        if (options.numBase !== undefined) {
          let top = -1;
          for (const v of gt.labels) if (v !== ignore && v > top) top = v;
          if (top >= options.numBase)
            throw new InvalidArgumentError(
              'labels',
              `id ${top} in ${lp}`,
              `a base class id below numBase (${options.numBase}) or ${ignore} (ignore)`,
            );
        }
      });
      const sl = segmentLabels(seg, gt.labels, ignore);
      maxId = Math.max(maxId, sl.maxId);
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
      const { seg, x } = await prepare('unlabeled', f, options.unlabeled);
      unl.push({ file: f, seg, first: labels.length });
      for (let s = 0; s < seg.count; s++) {
        feats.push(x.subarray(s * D, s * D + D));
        areas.push(seg.areas[s]);
        labels.push(-1);
      }
    }
    return await finish();

    async function finish(): Promise<DiscoverSummary> {
      if (maxId < 0)
        throw new InvalidArgumentError('labels', options.labeled, 'label maps with at least one labelled segment');
      const numBase = options.numBase ?? maxId + 1;
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
        out: `${stem(u.file)}.png`,
        map: paintLabelMap(
          u.seg.segments,
          u.seg.width,
          u.seg.height,
          res.assignments.subarray(u.first, u.first + u.seg.count),
        ),
      }));
      await fs.mkdir(outDir, { recursive: true });
      for (const p of painted) await writeLabelPng(pathMod.join(outDir, p.out), p.map, p.seg.width, p.seg.height);
      let novelMasks = 0;
      for (const u of unl)
        for (let s = 0; s < u.seg.count; s++) if (res.assignments[u.first + s] >= numBase) novelMasks++;
      const nLab = unl.length ? unl[0].first : M;
      const summary: DiscoverSummary = {
        method,
        segmentSource: source,
        labeledImages: labeledFiles.length,
        unlabeledImages: unlabeledFiles.length,
        labeledMasks: nLab,
        skippedLabeledMasks: skipped,
        unlabeledMasks: M - nLab,
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
  } finally {
    for (const s of ownedSessions) await s.dispose();
    if (ownSam) await sam!.dispose();
  }
}
