/**
 * Dataset inspection (issue #9 `id3 inspect`): per-identity consistency and inter-identity separation, the two
 * quantities the paper's cosine histograms show (spec §2.1).
 *
 * With an FR model the generated images are embedded (resized to the model's input with core-tensor's bilinear
 * resize when the sizes differ, scaled to [−1, 1]); without one the stored conditioning embeddings are used.
 *   intra: the cosines of every pair of images of the same identity (per identity: their mean);
 *   inter: the cosines between identity centroids (the normalised mean embedding of each identity), every pair — or
 *          the pairs among `maxInterIdentities` identities drawn with a seeded generator when N is larger.
 * Histograms have `bins` equal bins over [−1, 1].
 */
import * as nodePath from 'node:path';
import {
  InvalidArgumentError,
  OpGraphs,
  Rng,
  convertChannels,
  readImage,
  readNpy,
  resizeImage,
  type Image,
} from '@trustvision/core-tensor';
import { identityFolderName, readDatasetManifest, type ManifestEntry } from './dataset.js';
import type { FrModel } from './model.js';
import { checkInt } from './validate.js';

/** Statistics of a set of cosines; with no pairs (m = 1 for intra, N = 1 for inter) count is 0 and the rest NaN. */
export interface CosineStats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** `bins` counts over [−1, 1]; edges[k] = −1 + 2k/bins. */
  histogram: number[];
}

export interface InspectReport {
  /** 'fr-model' (images embedded) or 'conditioning' (stored embeddings). */
  source: 'fr-model' | 'conditioning';
  identities: number;
  perIdentity: number;
  intra: CosineStats;
  inter: CosineStats & { identitiesUsed: number };
  /** intra.mean − inter.mean. */
  separation: number;
  /** Mean intra-identity cosine of each identity. */
  perIdentityMean: number[];
  bins: number;
}

export interface InspectOptions {
  fr?: FrModel;
  bins?: number;
  /** Most identities in the inter-identity pairs (default 2000). */
  maxInterIdentities?: number;
  /** Images per FR batch (default 32). */
  batchSize?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

class Acc {
  n = 0;
  s = 0;
  s2 = 0;
  min = Infinity;
  max = -Infinity;
  hist: number[];
  constructor(private bins: number) {
    this.hist = new Array<number>(bins).fill(0);
  }
  add(v: number): void {
    this.n++;
    this.s += v;
    this.s2 += v * v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    const k = Math.min(this.bins - 1, Math.max(0, Math.floor(((v + 1) / 2) * this.bins)));
    this.hist[k]++;
  }
  stats(): CosineStats {
    const mean = this.n ? this.s / this.n : NaN;
    return {
      count: this.n,
      mean,
      std: this.n ? Math.sqrt(Math.max(0, this.s2 / this.n - mean * mean)) : NaN,
      min: this.n ? this.min : NaN,
      max: this.n ? this.max : NaN,
      histogram: this.hist,
    };
  }
}

function imageInput(img: Image, c: number | undefined, h: number | undefined, w: number | undefined): Image {
  let im = img;
  if (c !== undefined && im.channels !== c) im = convertChannels(im, c as 1 | 3 | 4);
  if ((h !== undefined && im.height !== h) || (w !== undefined && im.width !== w))
    im = resizeImage(im, w ?? im.width, h ?? im.height);
  return im;
}

/** Embeds a dataset's images (or reads its conditioning embeddings): [N·m, d] unit rows, in manifest order. */
async function embeddingsOf(
  dir: string,
  entries: ManifestEntry[],
  n: number,
  m: number,
  o: InspectOptions,
): Promise<{ data: Float32Array; dim: number }> {
  if (!o.fr) {
    let dim = 0;
    let out: Float32Array | undefined;
    for (let i = 0; i < n; i++) {
      const t = await readNpy(nodePath.join(dir, identityFolderName(i), 'embeddings.npy'));
      dim = t.shape[1];
      out ??= new Float32Array(n * m * dim);
      out.set(t.data as Float32Array, i * m * dim);
      o.onProgress?.(i + 1, n);
    }
    return { data: out!, dim };
  }
  const fr = o.fr;
  const bs = o.batchSize ?? 32;
  let out: Float32Array | undefined;
  let dim = 0;
  for (let b0 = 0; b0 < entries.length; b0 += bs) {
    const batch = entries.slice(b0, b0 + bs);
    const imgs = await Promise.all(
      batch.map(async (e) => imageInput(await readImage(nodePath.join(dir, e.file)), fr.channels, fr.height, fr.width)),
    );
    const { width: w, height: h, channels: c } = imgs[0];
    const x = new Float32Array(imgs.length * c * h * w);
    imgs.forEach((im, q) => {
      for (let ch = 0; ch < c; ch++)
        for (let p = 0; p < h * w; p++) x[q * c * h * w + ch * h * w + p] = im.data[p * c + ch] / 127.5 - 1;
    });
    const e = await fr.embed(x, [imgs.length, c, h, w]);
    dim = e.dim;
    out ??= new Float32Array(entries.length * dim);
    out.set(e.data, b0 * dim);
    o.onProgress?.(Math.min(entries.length, b0 + bs), entries.length);
  }
  return { data: out!, dim };
}

/** Inspects a dataset folder's complete identities (see the module comment). */
export async function inspectDataset(dir: string, options: InspectOptions = {}): Promise<InspectReport> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', options, 'an object');
  const bins = checkInt('bins', options.bins ?? 40, 2, 10000);
  const maxInter = checkInt('maxInterIdentities', options.maxInterIdentities ?? 2000, 2);
  const entries = await readDatasetManifest(dir);
  if (entries.length === 0)
    throw new InvalidArgumentError('dir', dir, 'a dataset folder with at least one complete identity');
  const n = entries[entries.length - 1].identity + 1;
  const m = entries.length / n;
  const { data: E, dim: d } = await embeddingsOf(dir, entries, n, m, options);
  const intra = new Acc(bins);
  const perIdentityMean: number[] = [];
  const cent = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let c = 0;
    for (let a = 0; a < m; a++) {
      const oa = (i * m + a) * d;
      for (let k = 0; k < d; k++) cent[i * d + k] += E[oa + k];
      for (let b = a + 1; b < m; b++) {
        const ob = (i * m + b) * d;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += E[oa + k] * E[ob + k];
        intra.add(dot);
        s += dot;
        c++;
      }
    }
    perIdentityMean.push(c ? s / c : NaN);
    let nn = 0;
    for (let k = 0; k < d; k++) nn += cent[i * d + k] ** 2;
    const inv = nn > 0 ? 1 / Math.sqrt(nn) : 0;
    for (let k = 0; k < d; k++) cent[i * d + k] *= inv;
  }
  let used = Array.from({ length: n }, (_, i) => i);
  if (n > maxInter) used = Array.from(Rng.from(options.seed ?? 0).choice(n, maxInter)).sort((a, b) => a - b);
  const inter = new Acc(bins);
  if (used.length >= 2) {
    const sub = new Float32Array(used.length * d);
    used.forEach((i, q) => sub.set(cent.subarray(i * d, (i + 1) * d), q * d));
    const ops = await OpGraphs.create({ device: 'cpu' });
    try {
      const G = (
        await ops.pairwise(
          { data: sub, shape: [used.length, d] },
          { data: sub, shape: [used.length, d] },
          { metric: 'dot' },
        )
      ).data as Float32Array;
      for (let a = 0; a < used.length; a++) for (let b = a + 1; b < used.length; b++) inter.add(G[a * used.length + b]);
    } finally {
      await ops.dispose();
    }
  }
  const is = intra.stats();
  const ie = inter.stats();
  return {
    source: options.fr ? 'fr-model' : 'conditioning',
    identities: n,
    perIdentity: m,
    intra: is,
    inter: { ...ie, identitiesUsed: used.length },
    separation: is.mean - ie.mean,
    perIdentityMean,
    bins,
  };
}
