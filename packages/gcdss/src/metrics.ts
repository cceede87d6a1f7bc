/**
 * Hungarian-matched mIoU over base / novel / all classes on label maps (spec `gcdss.md` §7).
 *
 * Predicted ids in the base set are base predictions; every other predicted id (except `ignore`) is a novel cluster.
 * Clusters are matched one-to-one to novel classes by the Hungarian algorithm, maximising the class-balanced overlap
 * W[cluster, class] = (pixels of the cluster on the class) / (pixels of the class), the pixel form of the official
 * area-normalised mask matching (§7.1). Unmatched clusters (and `ignore` predictions) count as wrong. Pixels whose
 * ground truth is `ignore` are left out.
 *
 * Two protocols, named apart:
 * - `'per-image'` (the official one, §7.2): IoU of class c per image that contains c in its ground truth, averaged
 *   over those images; false positives in images without c never count. Unlike the released code the last image is
 *   included (§11.3).
 * - `'dataset'` (the standard one): IoU = I / (GT + Pred − I) accumulated over the whole set.
 * Class IoUs are fractions in [0, 1]; a class with no pixels to score is null and left out of the means.
 */
import { InvalidArgumentError, ShapeError } from '@trustvision/core-tensor';
import { hungarianMatch } from './hungarian.js';

export type MiouProtocol = 'per-image' | 'dataset';

export interface EvaluateOptions {
  /** Base class ids. */
  base: readonly number[];
  /** Novel class ids. */
  novel: readonly number[];
  /** Void id in either map (default 255). */
  ignore?: number;
  /** Default 'per-image' (the official protocol). */
  protocol?: MiouProtocol;
}

export interface LabelMapPair {
  pred: ArrayLike<number>;
  gt: ArrayLike<number>;
  width: number;
  height: number;
  /** Used in error messages (e.g. the file name). */
  name?: string;
}

export interface MiouReport {
  protocol: MiouProtocol;
  miou: number;
  miouBase: number;
  miouNovel: number;
  /** IoU per class id (null when nothing to score). */
  perClass: Record<string, number | null>;
  /** Novel cluster id → matched novel class id (null = unmatched, always wrong). */
  matching: Record<string, number | null>;
}

/** Per-image confusion counts between predicted ids and ground-truth classes. */
interface ImageConfusion {
  predIds: number[];
  /** rows aligned with predIds, each of length C (classes in `classes` order) */
  rows: Float64Array[];
}

function checkClassList(param: string, ids: unknown): number[] {
  if (!Array.isArray(ids)) throw new InvalidArgumentError(param, ids, 'an array of class ids');
  for (const v of ids)
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)
      throw new InvalidArgumentError(param, v, 'class ids: integers in [0, 65535]');
  return ids as number[];
}

/** Incremental evaluation: add image pairs one at a time, then `report()`. Memory is O(ids · classes) per image. */
export class MiouEvaluator {
  private readonly base: number[];
  private readonly novel: number[];
  private readonly classes: number[];
  private readonly classIndex = new Map<number, number>();
  private readonly baseSet: Set<number>;
  private readonly ignore: number;
  private readonly images: ImageConfusion[] = [];

  constructor(options: EvaluateOptions) {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError('options', options, '{ base, novel }');
    this.base = checkClassList('base', options.base);
    this.novel = checkClassList('novel', options.novel);
    if (this.base.length + this.novel.length === 0) throw new InvalidArgumentError('base', [], 'at least one class');
    this.ignore = options.ignore ?? 255;
    if (!Number.isInteger(this.ignore)) throw new InvalidArgumentError('ignore', this.ignore, 'an integer id');
    this.classes = [...this.base, ...this.novel];
    for (const c of this.classes) {
      if (this.classIndex.has(c) || c === this.ignore)
        throw new InvalidArgumentError(
          c === this.ignore ? 'ignore' : 'novel',
          c,
          'base, novel and ignore ids that are all distinct',
        );
      this.classIndex.set(c, this.classIndex.size);
    }
    this.baseSet = new Set(this.base);
  }

  /** Adds one image's predicted and ground-truth label maps. */
  add(pair: LabelMapPair): void {
    const { pred, gt, width, height } = pair;
    const name = pair.name ?? `image ${this.images.length}`;
    if (!Number.isInteger(width) || width < 1) throw new InvalidArgumentError('width', width, 'a positive integer');
    if (!Number.isInteger(height) || height < 1) throw new InvalidArgumentError('height', height, 'a positive integer');
    const n = width * height;
    if (!pred || pred.length !== n)
      throw new ShapeError('pred', `${pred?.length} pixels in ${name}`, `${height}×${width} = ${n} pixels`);
    if (!gt || gt.length !== n)
      throw new ShapeError('gt', `${gt?.length} pixels in ${name}`, `${height}×${width} = ${n} pixels`);
    const C = this.classes.length;
    const rowOf = new Map<number, Float64Array>();
    const small: (Float64Array | undefined)[] = new Array(256);
    const gidx = new Int32Array(256).fill(-2);
    for (let i = 0; i < n; i++) {
      const g = gt[i];
      let gi: number;
      if (g >= 0 && g < 256 && gidx[g] !== -2) gi = gidx[g];
      else {
        if (g === this.ignore) gi = -1;
        else {
          const v = this.classIndex.get(g);
          if (v === undefined)
            throw new InvalidArgumentError(
              'gt',
              `id ${g} at pixel ${i} of ${name}`,
              `a base or novel class id, or ${this.ignore} (ignore)`,
            );
          gi = v;
        }
        if (g >= 0 && g < 256 && Number.isInteger(g)) gidx[g] = gi;
      }
      if (gi < 0) continue;
      const p = pred[i];
      let row = p >= 0 && p < 256 ? small[p] : undefined;
      if (row === undefined) {
        if (!Number.isInteger(p) || p < 0 || p > 65535)
          throw new InvalidArgumentError('pred', `id ${p} at pixel ${i} of ${name}`, 'an integer id in [0, 65535]');
        row = rowOf.get(p);
        if (row === undefined) rowOf.set(p, (row = new Float64Array(C)));
        if (p < 256) small[p] = row;
      }
      row[gi]++;
    }
    const predIds = [...rowOf.keys()].sort((a, b) => a - b);
    this.images.push({ predIds, rows: predIds.map((p) => rowOf.get(p)!) });
  }

  /** Number of images added. */
  get size(): number {
    return this.images.length;
  }

  /** Hungarian matching of the predicted clusters to novel classes. */
  matching(): Map<number, number | null> {
    const C = this.classes.length;
    const nb = this.base.length;
    const total = new Float64Array(C);
    const clusterSet = new Set<number>();
    for (const im of this.images)
      im.predIds.forEach((p, r) => {
        for (let c = 0; c < C; c++) total[c] += im.rows[r][c];
        if (!this.baseSet.has(p) && p !== this.ignore) clusterSet.add(p);
      });
    const clusters = [...clusterSet].sort((a, b) => a - b);
    const nn = this.novel.length;
    const W = new Float64Array(clusters.length * nn);
    const at = new Map(clusters.map((p, i) => [p, i]));
    for (const im of this.images)
      im.predIds.forEach((p, r) => {
        const i = at.get(p);
        if (i === undefined) return;
        for (let g = 0; g < nn; g++) if (total[nb + g] > 0) W[i * nn + g] += im.rows[r][nb + g] / total[nb + g];
      });
    const out = new Map<number, number | null>();
    const m = hungarianMatch(W, clusters.length, nn, { maximize: true });
    clusters.forEach((p, i) => out.set(p, m[i] >= 0 ? this.novel[m[i]] : null));
    return out;
  }

  /** The report under one protocol. */
  report(protocol: MiouProtocol = 'per-image'): MiouReport {
    if (protocol !== 'per-image' && protocol !== 'dataset')
      throw new InvalidArgumentError('protocol', protocol, "'per-image' or 'dataset'");
    const C = this.classes.length;
    const match = this.matching();
    // predicted id → class index (−1 = wrong for every class)
    const target = (p: number): number => {
      if (this.baseSet.has(p)) return this.classIndex.get(p)!;
      if (p === this.ignore) return -1;
      const c = match.get(p);
      return c === null || c === undefined ? -1 : this.classIndex.get(c)!;
    };
    const sumIoU = new Float64Array(C);
    const count = new Float64Array(C);
    const I = new Float64Array(C);
    const G = new Float64Array(C);
    const Pd = new Float64Array(C);
    for (const im of this.images) {
      const i1 = new Float64Array(C);
      const g1 = new Float64Array(C);
      const p1 = new Float64Array(C);
      im.predIds.forEach((p, r) => {
        const t = target(p);
        const row = im.rows[r];
        for (let c = 0; c < C; c++) {
          g1[c] += row[c];
          if (t >= 0) p1[t] += row[c];
        }
        if (t >= 0) i1[t] += row[t];
      });
      for (let c = 0; c < C; c++) {
        I[c] += i1[c];
        G[c] += g1[c];
        Pd[c] += p1[c];
        if (g1[c] > 0) {
          sumIoU[c] += i1[c] / (g1[c] + p1[c] - i1[c]);
          count[c]++;
        }
      }
    }
    const iou: (number | null)[] = new Array(C).fill(null);
    for (let c = 0; c < C; c++) {
      if (protocol === 'per-image') iou[c] = count[c] > 0 ? sumIoU[c] / count[c] : null;
      else {
        const u = G[c] + Pd[c] - I[c];
        iou[c] = u > 0 ? I[c] / u : null;
      }
    }
    const mean = (lo: number, hi: number): number => {
      let s = 0;
      let n = 0;
      for (let c = lo; c < hi; c++)
        if (iou[c] !== null) {
          s += iou[c]!;
          n++;
        }
      return n > 0 ? s / n : NaN;
    };
    const perClass: Record<string, number | null> = {};
    this.classes.forEach((c, i) => (perClass[String(c)] = iou[i]));
    const matching: Record<string, number | null> = {};
    for (const [p, c] of match) matching[String(p)] = c;
    const nb = this.base.length;
    return { protocol, miou: mean(0, C), miouBase: mean(0, nb), miouNovel: mean(nb, C), perClass, matching };
  }
}

/** Evaluates a set of (pred, gt) label-map pairs (see `MiouEvaluator`). */
export function evaluateLabelMaps(pairs: readonly LabelMapPair[], options: EvaluateOptions): MiouReport {
  const ev = new MiouEvaluator(options);
  if (!Array.isArray(pairs) || pairs.length === 0) throw new InvalidArgumentError('pairs', pairs, 'at least one image');
  for (const p of pairs) ev.add(p);
  return ev.report(options.protocol ?? 'per-image');
}
