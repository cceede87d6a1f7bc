/**
 * Cityscapes-GCD (spec `gcdss.md` §6): the 19 Cityscapes train ids, the five novel-class splits of the official code
 * (15 base + 4 novel classes, remapped base 0..14 then novel 15..18, each in ascending train-id order), the
 * labelled/unlabelled image lists (read from the official split files, or formed by a documented rule), and a loader
 * for a local Cityscapes folder (`leftImg8bit/` + `gtFine/`) that yields half-resolution image/label pairs as the
 * official dataset class does (PIL-exact bilinear for images, nearest for labels).
 */
import * as core from '@trustvision/core-tensor';
import {
  FileNotFoundError,
  InvalidArgumentError,
  Rng,
  ShapeError,
  checkImage,
  type Image,
} from '@trustvision/core-tensor';
import { intOption, numOption } from './validate.js';

/** The 19 Cityscapes train ids' class names, index = train id. */
export const CITYSCAPES_CLASSES: readonly string[] = Object.freeze([
  'road',
  'sidewalk',
  'building',
  'wall',
  'fence',
  'pole',
  'traffic light',
  'traffic sign',
  'vegetation',
  'terrain',
  'sky',
  'person',
  'rider',
  'car',
  'truck',
  'bus',
  'train',
  'motorcycle',
  'bicycle',
]);

/** Cityscapes label id → train id (the `gtFine_labelIds` → `labelTrainIds` mapping); 255 = void. */
export const CITYSCAPES_LABEL_TO_TRAIN: Readonly<Record<number, number>> = Object.freeze({
  7: 0,
  8: 1,
  11: 2,
  12: 3,
  13: 4,
  17: 5,
  19: 6,
  20: 7,
  21: 8,
  22: 9,
  23: 10,
  24: 11,
  25: 12,
  26: 13,
  27: 14,
  28: 15,
  31: 16,
  32: 17,
  33: 18,
});

/** The novel train ids of the five splits shipped with the official code; split 1 is the code default. */
export const GCD_NOVEL_SPLITS: readonly (readonly number[])[] = Object.freeze([
  Object.freeze([3, 15, 16, 17]),
  Object.freeze([3, 14, 15, 16]),
  Object.freeze([4, 14, 15, 16]),
  Object.freeze([12, 14, 15, 16]),
  Object.freeze([12, 15, 16, 17]),
]);

export interface GcdSplit {
  /** 1..5 (the row of `GCD_NOVEL_SPLITS`). */
  index: number;
  /** Novel and base train ids, ascending. */
  novel: number[];
  base: number[];
  /** train id (0..18, 255) → remapped id: base → 0..14, novel → 15..18, 255 → 255. Length 256; others 255. */
  remap: Uint8Array;
  /** Class names in remapped order (19). */
  names: string[];
  /** The official split file names. */
  labeledFile: string;
  unlabeledFile: string;
}

/**
 * A Cityscapes-GCD split by number (1..5, `GCD_NOVEL_SPLITS` order) or by its novel train ids ('3,15,16,17' or
 * [3, 15, 16, 17], any order).
 */
export function gcdSplit(split: number | string | readonly number[]): GcdSplit {
  let index: number;
  if (typeof split === 'number') {
    if (!Number.isInteger(split) || split < 1 || split > GCD_NOVEL_SPLITS.length)
      throw new InvalidArgumentError('split', split, `a split number in [1, ${GCD_NOVEL_SPLITS.length}]`);
    index = split;
  } else {
    const ids = typeof split === 'string' ? split.split(/[,_ ]+/).map(Number) : Array.from(split ?? []);
    const key = [...ids].sort((a, b) => a - b).join(',');
    index = GCD_NOVEL_SPLITS.findIndex((s) => s.join(',') === key) + 1;
    if (index === 0)
      throw new InvalidArgumentError(
        'split',
        split,
        `1..5 or the novel train ids of one of the splits: ${GCD_NOVEL_SPLITS.map((s) => s.join(',')).join(' | ')}`,
      );
  }
  const novel = [...GCD_NOVEL_SPLITS[index - 1]];
  const base = Array.from({ length: 19 }, (_, i) => i).filter((i) => !novel.includes(i));
  const remap = new Uint8Array(256).fill(255);
  [...base, ...novel].forEach((t, i) => (remap[t] = i));
  const tag = novel.join('_');
  return {
    index,
    novel,
    base,
    remap,
    names: [...base, ...novel].map((t) => CITYSCAPES_CLASSES[t]),
    labeledFile: `label_gcd_novel_${tag}.txt`,
    unlabeledFile: `unlabel_gcd_novel_${tag}.txt`,
  };
}

// -------------------------------------------------------------------------------------------------------------------
// PIL-exact resampling (the official loader resizes with PIL)

const PRECISION_BITS = 32 - 8 - 2;

/** PIL's antialiased bilinear coefficients for one axis, in 8-bit fixed point. */
function pilCoeffs(inSize: number, outSize: number): { start: Int32Array; count: Int32Array; k: Int32Array[] } {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k: Int32Array[] = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const w = new Float64Array(xmax);
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      w[x] = t < 1 ? 1 - t : 0;
      ww += w[x];
    }
    const kk = new Int32Array(xmax);
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      kk[x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
    k.push(kk);
  }
  return { start, count, k };
}

function clip8(v: number): number {
  if (v >= 2 ** (PRECISION_BITS + 8)) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / 2 ** PRECISION_BITS);
}

/**
 * Resizes an 8-bit image as PIL's `Image.resize(size, BILINEAR)` does (antialiased when shrinking; horizontal pass
 * then vertical, each rounded to bytes in PIL's 22-bit fixed point). `resample: 'nearest'` is PIL's NEAREST
 * (source index `trunc((d + 0.5) · in/out)`).
 */
export function pilResize(
  img: Image,
  outW: number,
  outH: number,
  resample: 'bilinear' | 'nearest' = 'bilinear',
): Image {
  const { width: w, height: h, channels: c, data } = checkImage(img, 'img');
  intOption('outW', outW, 1, 1);
  intOption('outH', outH, 1, 1);
  if (resample !== 'bilinear' && resample !== 'nearest')
    throw new InvalidArgumentError('resample', resample, "'bilinear' or 'nearest'");
  if (resample === 'nearest') {
    const out = new Uint8Array(outW * outH * c);
    const xs = Int32Array.from({ length: outW }, (_, x) => Math.min(w - 1, Math.trunc((x + 0.5) * (w / outW))));
    for (let y = 0; y < outH; y++) {
      const sy = Math.min(h - 1, Math.trunc((y + 0.5) * (h / outH)));
      for (let x = 0; x < outW; x++)
        for (let ch = 0; ch < c; ch++) out[(y * outW + x) * c + ch] = data[(sy * w + xs[x]) * c + ch];
    }
    return { width: outW, height: outH, channels: c, data: out };
  }
  let cur = data;
  let cw = w;
  if (outW !== w) {
    const { start, count, k } = pilCoeffs(w, outW);
    const tmp = new Uint8Array(outW * h * c);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < outW; x++)
        for (let ch = 0; ch < c; ch++) {
          let ss = 2 ** (PRECISION_BITS - 1);
          const kk = k[x];
          for (let i = 0; i < count[x]; i++) ss += cur[(y * cw + start[x] + i) * c + ch] * kk[i];
          tmp[(y * outW + x) * c + ch] = clip8(ss);
        }
    cur = tmp;
    cw = outW;
  }
  if (outH !== h) {
    const { start, count, k } = pilCoeffs(h, outH);
    const tmp = new Uint8Array(outW * outH * c);
    for (let y = 0; y < outH; y++)
      for (let x = 0; x < outW; x++)
        for (let ch = 0; ch < c; ch++) {
          let ss = 2 ** (PRECISION_BITS - 1);
          const kk = k[y];
          for (let i = 0; i < count[y]; i++) ss += cur[((start[y] + i) * cw + x) * c + ch] * kk[i];
          tmp[(y * outW + x) * c + ch] = clip8(ss);
        }
    cur = tmp;
  }
  return { width: outW, height: outH, channels: c, data: cur === data ? Uint8Array.from(data) : cur };
}

// -------------------------------------------------------------------------------------------------------------------
// The local Cityscapes folder

type NodeIo = { readImage(path: string): Promise<Image> };
function nodeIo(): NodeIo {
  const io = core as unknown as Partial<NodeIo>;
  if (typeof io.readImage !== 'function')
    throw new InvalidArgumentError('environment', 'a browser build', 'Node.js (file I/O)');
  return io as NodeIo;
}

/** One image of the pool with its files. */
export interface CityscapesPair {
  /** `city_seq_frame`. */
  stem: string;
  city: string;
  /** The Cityscapes subset the city belongs to. */
  subset: 'train' | 'val';
  /** `leftImg8bit/<subset>/<city>/<stem>_leftImg8bit.png`. */
  image: string;
  /** `gtFine/<subset>/<city>/<stem>_gtFine_labelTrainIds.png`, or `..._gtFine_labelIds.png` when that is absent. */
  label: string;
  labelKind: 'trainIds' | 'labelIds';
}

const STEM = /^([A-Za-z-]+)_(\d{6})_(\d{6})$/;

/**
 * Locates the files of `stems` under `root` (`leftImg8bit/{train,val}/<city>/` and `gtFine/{train,val}/<city>/`).
 * Errors: a missing `root`, `root/leftImg8bit` or `root/gtFine` folder, or a missing image or label file
 * (`FileNotFoundError`, naming the path), a malformed stem (`InvalidArgumentError`).
 */
export async function cityscapesPairs(root: string, stems: readonly string[]): Promise<CityscapesPair[]> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const isDir = async (p: string) => (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;
  const exists = async (p: string) => (await fs.stat(p).catch(() => undefined))?.isFile() ?? false;
  if (typeof root !== 'string' || root === '') throw new InvalidArgumentError('root', root, 'a Cityscapes folder path');
  if (!(await isDir(root))) throw new FileNotFoundError('root', root);
  for (const sub of ['leftImg8bit', 'gtFine'])
    if (!(await isDir(pathMod.join(root, sub)))) throw new FileNotFoundError('root', pathMod.join(root, sub));
  const out: CityscapesPair[] = [];
  for (const stem of stems) {
    const m = STEM.exec(stem);
    if (!m)
      throw new InvalidArgumentError('stems', stem, "a Cityscapes stem 'city_seq_frame' (e.g. aachen_000000_000019)");
    const city = m[1];
    let subset: 'train' | 'val' | undefined;
    for (const s of ['train', 'val'] as const)
      if (await isDir(pathMod.join(root, 'leftImg8bit', s, city))) subset ??= s;
    const image = pathMod.join(root, 'leftImg8bit', subset ?? 'train', city, `${stem}_leftImg8bit.png`);
    if (!subset || !(await exists(image))) throw new FileNotFoundError('image', image);
    const gt = pathMod.join(root, 'gtFine', subset, city, `${stem}_gtFine_`);
    let label = `${gt}labelTrainIds.png`;
    let labelKind: CityscapesPair['labelKind'] = 'trainIds';
    if (!(await exists(label))) {
      label = `${gt}labelIds.png`;
      labelKind = 'labelIds';
      if (!(await exists(label))) throw new FileNotFoundError('label', `${gt}labelTrainIds.png (or ${gt}labelIds.png)`);
    }
    out.push({ stem, city, subset, image, label, labelKind });
  }
  return out;
}

/** Every stem of the fine train + val pool under `root` (the 3475-image pool the splits partition), sorted. */
export async function cityscapesPool(root: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  if (!(await fs.stat(root).catch(() => undefined))?.isDirectory()) throw new FileNotFoundError('root', root);
  const stems: string[] = [];
  const base = pathMod.join(root, 'leftImg8bit');
  if (!(await fs.stat(base).catch(() => undefined))?.isDirectory()) throw new FileNotFoundError('root', base);
  for (const subset of ['train', 'val']) {
    const dir = pathMod.join(base, subset);
    const cities = await fs.readdir(dir).catch(() => [] as string[]);
    for (const city of cities.sort())
      for (const f of (await fs.readdir(pathMod.join(dir, city)).catch(() => [] as string[])).sort())
        if (f.endsWith('_leftImg8bit.png')) stems.push(f.slice(0, -'_leftImg8bit.png'.length));
  }
  return stems.sort();
}

/**
 * The labelled or unlabelled stems of a split from the official split files in `splitDir` (the official repository's
 * `datasets/Cityscapes/split/`: `label_gcd_novel_<ids>.txt` / `unlabel_gcd_novel_<ids>.txt`, one stem per line).
 */
export async function readSplitList(
  splitDir: string,
  split: number | string | readonly number[],
  which: 'labeled' | 'unlabeled',
): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const s = gcdSplit(split);
  if (which !== 'labeled' && which !== 'unlabeled')
    throw new InvalidArgumentError('which', which, "'labeled' or 'unlabeled'");
  const file = pathMod.join(splitDir, which === 'labeled' ? s.labeledFile : s.unlabeledFile);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FileNotFoundError('splitDir', file);
  }
  const stems = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const st of stems)
    if (!STEM.test(st))
      throw new InvalidArgumentError('splitDir', `'${st}' in ${file}`, 'one Cityscapes stem per line');
  return stems;
}

export interface LoadOptions {
  /** Resize factor (official: 0.5, i.e. 2048×1024 → 1024×512). Default 0.5. */
  scale?: number;
}

/** Train ids of a label map as the pair stores it (label ids go through `CITYSCAPES_LABEL_TO_TRAIN`). */
function toTrainIds(pair: CityscapesPair, labels: Uint8Array): Uint8Array {
  const out = new Uint8Array(labels.length);
  if (pair.labelKind === 'trainIds') {
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i];
      if (v > 18 && v !== 255)
        throw new InvalidArgumentError(
          'labels',
          `train id ${v} at pixel ${i} of ${pair.label}`,
          'a train id in [0, 18] or 255 (void)',
        );
      out[i] = v;
    }
    return out;
  }
  const lut = new Int16Array(256).fill(-1);
  for (let id = 0; id <= 33; id++) lut[id] = CITYSCAPES_LABEL_TO_TRAIN[id] ?? 255;
  lut[255] = 255; // license plate (id −1) as stored in 8-bit PNGs
  for (let i = 0; i < labels.length; i++) {
    const t = lut[labels[i]];
    if (t < 0)
      throw new InvalidArgumentError(
        'labels',
        `label id ${labels[i]} at pixel ${i} of ${pair.label}`,
        'a Cityscapes label id in [0, 33] or 255',
      );
    out[i] = t;
  }
  return out;
}

/**
 * Loads one pair as the official dataset class does: the RGB image resized by `scale` with PIL-exact bilinear, the
 * label map (train ids, void 255) resized with nearest and remapped by the split (base 0..14, novel 15..18). Errors:
 * an unreadable file (`CorruptFileError`), a label map of another size than its image (`ShapeError`), a colour label
 * map or an id outside the Cityscapes range (`InvalidArgumentError`, naming the pixel and file).
 */
export async function loadCityscapesPair(
  pair: CityscapesPair,
  split: GcdSplit,
  options: LoadOptions = {},
): Promise<{ image: Image; labels: Uint8Array; width: number; height: number }> {
  const scale = numOption('scale', options.scale, 0.5, 1e-3, 1);
  const io = nodeIo();
  const img = core.convertChannels(await io.readImage(pair.image), 3);
  const lab = await io.readImage(pair.label);
  if (lab.channels !== 1)
    throw new InvalidArgumentError(
      'labels',
      `${pair.label} with ${lab.channels} channels`,
      'a single-channel label PNG',
    );
  if (lab.width !== img.width || lab.height !== img.height)
    throw new ShapeError(
      'labels',
      `${pair.label}: ${lab.width}×${lab.height}`,
      `its image's ${img.width}×${img.height}`,
    );
  const W = Math.max(1, Math.trunc(img.width * scale + 0.5));
  const H = Math.max(1, Math.trunc(img.height * scale + 0.5));
  const image = W === img.width && H === img.height ? img : pilResize(img, W, H, 'bilinear');
  const train = toTrainIds(pair, lab.data);
  const small = pilResize({ width: lab.width, height: lab.height, channels: 1, data: train }, W, H, 'nearest').data;
  const labels = new Uint8Array(small.length);
  for (let i = 0; i < small.length; i++) labels[i] = split.remap[small[i]];
  return { image, labels, width: W, height: H };
}

/**
 * Forms a labelled/unlabelled partition when the official split files are not at hand [inferred rule, not the
 * official partition]: the images whose (full-resolution) train-id map has no novel pixel are shuffled with a seeded
 * generator and the first `round(labeledFraction · pool)` of them are labelled; all other images are unlabelled.
 * Errors when fewer novel-free images exist than needed.
 */
export async function formGcdSplit(
  root: string,
  split: number | string | readonly number[],
  options: { labeledFraction?: number; seed?: number; stems?: readonly string[] } = {},
): Promise<{ labeled: string[]; unlabeled: string[] }> {
  const s = gcdSplit(split);
  const fraction = numOption('labeledFraction', options.labeledFraction, 0.4, 0, 1);
  const seed = intOption('seed', options.seed, 0, 0);
  const stems = options.stems ? [...options.stems].sort() : await cityscapesPool(root);
  if (stems.length === 0) throw new InvalidArgumentError('root', root, 'a Cityscapes folder with leftImg8bit/ images');
  const pairs = await cityscapesPairs(root, stems);
  const free: string[] = [];
  for (const p of pairs) {
    const lab = await nodeIo().readImage(p.label);
    const t = toTrainIds(p, lab.data);
    let novel = false;
    for (let i = 0; i < t.length && !novel; i++) if (s.novel.includes(t[i])) novel = true;
    if (!novel) free.push(p.stem);
  }
  const need = Math.round(fraction * stems.length);
  if (free.length < need)
    throw new InvalidArgumentError(
      'labeledFraction',
      fraction,
      `at most ${(free.length / stems.length).toFixed(3)} (${free.length} of ${stems.length} images have no novel pixel)`,
    );
  const order = Rng.from(seed).shuffle(free.slice());
  const labeled = new Set(order.slice(0, need));
  return { labeled: stems.filter((x) => labeled.has(x)), unlabeled: stems.filter((x) => !labeled.has(x)) };
}

/** Novel pixels of a labelled image at the output resolution (for a resumed `prepareCityscapesGcd`). */
async function novelPixelCount(p: CityscapesPair, s: GcdSplit, scale: number): Promise<number> {
  const lab = await nodeIo().readImage(p.label);
  const W = Math.max(1, Math.trunc(lab.width * scale + 0.5));
  const H = Math.max(1, Math.trunc(lab.height * scale + 0.5));
  const t = pilResize(
    { width: lab.width, height: lab.height, channels: 1, data: toTrainIds(p, lab.data) },
    W,
    H,
    'nearest',
  );
  let n = 0;
  for (const v of t.data) if (s.novel.includes(v)) n++;
  return n;
}

export interface PrepareOptions extends LoadOptions {
  /** Cityscapes folder with `leftImg8bit/` and `gtFine/`. */
  root: string;
  /** Split number 1..5 or its novel train ids. */
  split: number | string | readonly number[];
  /** Output folder: the `discover` layout (see `prepareCityscapesGcd`). */
  out: string;
  /** Folder with the official split files; without it the partition is formed by `formGcdSplit`. */
  splitDir?: string;
  /** Options of `formGcdSplit` when `splitDir` is not given. */
  form?: { labeledFraction?: number; seed?: number };
  /** Called after each image is written or found done. */
  onImage?: (event: {
    stem: string;
    split: 'labeled' | 'unlabeled';
    index: number;
    total: number;
    skipped: boolean;
  }) => void;
}

export interface PrepareSummary {
  split: number;
  novel: number[];
  base: number[];
  /** Class names in remapped order: ids 0..14 base, 15..18 novel. */
  names: string[];
  scale: number;
  /** 'split files' (official lists) or 'formed' (`formGcdSplit`, an inferred rule). */
  lists: 'split files' | 'formed';
  labeled: number;
  unlabeled: number;
  /** Novel pixels found in labelled images (set to 255 = ignore in their label maps). */
  novelPixelsInLabeled: number;
}

/**
 * Writes a Cityscapes-GCD split in the `discover` layout, at the official half resolution by default:
 * `out/labeled/<stem>.png` (images) with `out/labeled/labels/<stem>.png` (remapped ids 0..14, novel pixels and void as
 * 255), `out/unlabeled/<stem>.png` (images), `out/gt/<stem>.png` (the unlabelled images' remapped ground truth, ids
 * 0..18, for `gcdss evaluate --base 0,...,14 --novel 15,16,17,18`) and `out/cityscapes-gcd.json` (the summary). Each
 * file is written atomically; a rerun skips the images whose files all exist (resumable). A folder prepared with
 * other settings is refused (`InvalidArgumentError`, 'out').
 */
export async function prepareCityscapesGcd(options: PrepareOptions): Promise<PrepareSummary> {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('options', options, '{ root, split, out }');
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const io = core as unknown as {
    writeImage(p: string, img: Image): Promise<void>;
    writeFileAtomic(p: string, b: Uint8Array): Promise<void>;
  };
  const s = gcdSplit(options.split);
  const scale = numOption('scale', options.scale, 0.5, 1e-3, 1);
  if (typeof options.out !== 'string' || options.out === '')
    throw new InvalidArgumentError('out', options.out, 'a folder path');
  const lists: PrepareSummary['lists'] = options.splitDir !== undefined ? 'split files' : 'formed';
  const settings = JSON.stringify({
    split: s.index,
    scale,
    lists,
    form: lists === 'formed' ? (options.form ?? {}) : undefined,
  });
  const settingsFile = pathMod.join(options.out, '.cityscapes-gcd-settings.json');
  const prev = await fs.readFile(settingsFile, 'utf8').catch(() => undefined);
  if (prev !== undefined && prev !== settings)
    throw new InvalidArgumentError(
      'out',
      options.out,
      `an empty folder or one prepared with the same settings (${prev})`,
    );
  let labeled: string[];
  let unlabeled: string[];
  if (options.splitDir !== undefined) {
    labeled = await readSplitList(options.splitDir, s.index, 'labeled');
    unlabeled = await readSplitList(options.splitDir, s.index, 'unlabeled');
  } else {
    ({ labeled, unlabeled } = await formGcdSplit(options.root, s.index, options.form));
  }
  const overlap = labeled.filter((x) => new Set(unlabeled).has(x));
  if (overlap.length)
    throw new InvalidArgumentError('splitDir', `${overlap[0]} in both lists`, 'disjoint labelled and unlabelled lists');
  const lp = await cityscapesPairs(options.root, labeled);
  const up = await cityscapesPairs(options.root, unlabeled);
  const dirs = {
    labeled: pathMod.join(options.out, 'labeled'),
    labels: pathMod.join(options.out, 'labeled', 'labels'),
    unlabeled: pathMod.join(options.out, 'unlabeled'),
    gt: pathMod.join(options.out, 'gt'),
  };
  for (const d of Object.values(dirs)) await fs.mkdir(d, { recursive: true });
  if (prev === undefined) await io.writeFileAtomic(settingsFile, new TextEncoder().encode(settings));
  const exists = async (p: string) => (await fs.stat(p).catch(() => undefined))?.isFile() ?? false;
  const total = lp.length + up.length;
  let index = 0;
  const countsFile = pathMod.join(options.out, '.cityscapes-gcd-novel-pixels.json');
  const counts = JSON.parse(await fs.readFile(countsFile, 'utf8').catch(() => '{}')) as Record<string, number>;
  const mono = (labels: Uint8Array, w: number, h: number): Image => ({
    width: w,
    height: h,
    channels: 1,
    data: labels,
  });
  for (const p of lp) {
    const files = [pathMod.join(dirs.labeled, `${p.stem}.png`), pathMod.join(dirs.labels, `${p.stem}.png`)];
    const done = (await exists(files[0])) && (await exists(files[1]));
    if (!done) {
      const r = await loadCityscapesPair(p, s, { scale });
      let n = 0;
      for (let i = 0; i < r.labels.length; i++)
        if (r.labels[i] >= 15 && r.labels[i] !== 255) {
          r.labels[i] = 255;
          n++;
        }
      counts[p.stem] = n;
      await io.writeImage(files[1], mono(r.labels, r.width, r.height));
      await io.writeImage(files[0], r.image);
    }
    options.onImage?.({ stem: p.stem, split: 'labeled', index: index++, total, skipped: done });
  }
  for (const p of up) {
    const files = [pathMod.join(dirs.unlabeled, `${p.stem}.png`), pathMod.join(dirs.gt, `${p.stem}.png`)];
    const done = (await exists(files[0])) && (await exists(files[1]));
    if (!done) {
      const r = await loadCityscapesPair(p, s, { scale });
      await io.writeImage(files[1], mono(r.labels, r.width, r.height));
      await io.writeImage(files[0], r.image);
    }
    options.onImage?.({ stem: p.stem, split: 'unlabeled', index: index++, total, skipped: done });
  }
  for (const p of lp) if (counts[p.stem] === undefined) counts[p.stem] = await novelPixelCount(p, s, scale);
  const novelPixels = lp.reduce((a, p) => a + counts[p.stem], 0);
  await io.writeFileAtomic(countsFile, new TextEncoder().encode(JSON.stringify(counts)));
  const summary: PrepareSummary = {
    split: s.index,
    novel: s.novel,
    base: s.base,
    names: s.names,
    scale,
    lists,
    labeled: lp.length,
    unlabeled: up.length,
    novelPixelsInLabeled: novelPixels,
  };
  await io.writeFileAtomic(
    pathMod.join(options.out, 'cityscapes-gcd.json'),
    new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'),
  );
  return summary;
}
