/**
 * Mask proposals → one non-overlapping segment map per image (spec `gcdss.md` §3 Step 1), and a model-free
 * over-segmentation proposer (Felzenszwalb–Huttenlocher graph segmentation) for when no mask model is available.
 *
 * Segment maps are `Int32Array [H·W]` (row-major) with ids 1..count and 0 = no segment, the convention
 * `paintLabelMap` reads; both functions here return maps in which every pixel has a segment.
 */
import { InvalidArgumentError, ShapeError, checkImage, type Image } from '@trustvision/core-tensor';
import { intOption, numOption } from './validate.js';

/** A segment map: `segments[y·width + x]` ∈ 1..count; `areas[s − 1]` is the pixel count of segment s. */
export interface SegmentMap {
  segments: Int32Array;
  width: number;
  height: number;
  count: number;
  areas: Int32Array;
}

export interface AssembleOptions {
  /** An uncovered 8-connected region with more pixels than this becomes its own segment (official `theta`). Default 200. */
  theta?: number;
  /** Side of the window around a small gap's centroid whose most frequent segment absorbs it. Default 20. */
  window?: number;
}

function checkSize(param: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new InvalidArgumentError(param, v, 'a positive integer');
  return v;
}

/**
 * 8-connected components of the pixels where `mask[i]` is true, numbered 1.. in raster order of each component's
 * first pixel (OpenCV's order); returns the label image (0 = background) and the component count.
 */
export function components(mask: Uint8Array, w: number, h: number): { labels: Int32Array; n: number } {
  const labels = new Int32Array(w * h);
  const stack = new Int32Array(w * h);
  let n = 0;
  for (let p = 0; p < w * h; p++) {
    if (!mask[p] || labels[p] !== 0) continue;
    n++;
    labels[p] = n;
    let top = 0;
    stack[top++] = p;
    while (top > 0) {
      const q = stack[--top];
      const y = (q / w) | 0;
      const x = q - y * w;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const r = yy * w + xx;
          if (mask[r] && labels[r] === 0) {
            labels[r] = n;
            stack[top++] = r;
          }
        }
      }
    }
  }
  return { labels, n };
}

/** Renumbers the non-zero ids of `S` to 1..count in increasing order of their old id and counts their pixels. */
function compact(S: Int32Array, maxId: number, width: number, height: number): SegmentMap {
  const counts = new Int32Array(maxId + 1);
  for (let i = 0; i < S.length; i++) counts[S[i]]++;
  const remap = new Int32Array(maxId + 1);
  const areas: number[] = [];
  for (let id = 1; id <= maxId; id++)
    if (counts[id] > 0) {
      areas.push(counts[id]);
      remap[id] = areas.length;
    }
  for (let i = 0; i < S.length; i++) S[i] = remap[S[i]];
  return { segments: S, width, height, count: areas.length, areas: Int32Array.from(areas) };
}

/**
 * Turns a class-agnostic set of binary masks of one image, `masks` [M·H·W] (mask-major, row-major; any non-zero value
 * is "in"), into one segment map with the official rules:
 *
 * 1. masks are taken largest first (stable: equal areas keep their input order); a mask whose pixels are all already
 *    covered is skipped, otherwise it paints a new id over **all** its pixels, so smaller masks end up on top;
 * 2. the still-uncovered pixels are split into 8-connected components in raster order; a component of more than
 *    `theta` pixels becomes a new segment; a smaller one is painted with the most frequent segment id in the
 *    `window`×`window` window at its centroid (truncated; rows and columns [c − window/2, c + window/2), clipped;
 *    the map is updated live). Ties go to the smaller id. Where the window holds no segment (the official code
 *    indexes out of range there, spec §11.4) the component takes the most frequent segment among its 8-neighbours;
 * 3. ids wholly overwritten by later masks are dropped and the rest renumbered 1..count in placement order.
 *
 * Errors: a mask set whose length is not a multiple of H·W, an image without masks, an empty mask.
 */
export function assembleSegments(
  masks: ArrayLike<number>,
  width: number,
  height: number,
  options: AssembleOptions = {},
): SegmentMap {
  const w = checkSize('width', width);
  const h = checkSize('height', height);
  const theta = numOption('theta', options.theta, 200, 0, Number.MAX_SAFE_INTEGER);
  const win = intOption('window', options.window, 20, 1);
  if (masks === null || typeof masks !== 'object' || typeof (masks as ArrayLike<number>).length !== 'number')
    throw new InvalidArgumentError('masks', masks, 'a Uint8Array [M·H·W] of binary masks');
  const N = w * h;
  if (masks.length % N !== 0)
    throw new ShapeError('masks', `${masks.length} values`, `[M, ${h}, ${w}]: a multiple of ${N}`);
  const M = masks.length / N;
  if (M === 0)
    throw new InvalidArgumentError('masks', 'no masks', 'at least one mask for the image', 'Use proposeSegments');
  const area = new Int32Array(M);
  for (let m = 0; m < M; m++) {
    let a = 0;
    for (let i = m * N, e = i + N; i < e; i++) if (masks[i]) a++;
    if (a === 0) throw new InvalidArgumentError(`masks[${m}]`, 'an empty mask', 'a mask with at least one pixel');
    area[m] = a;
  }
  const order = Array.from({ length: M }, (_, m) => m).sort((a, b) => area[b] - area[a] || a - b);
  const S = new Int32Array(N);
  let next = 0;
  for (const m of order) {
    const o = m * N;
    let uncovered = false;
    for (let i = 0; i < N; i++)
      if (masks[o + i] && S[i] === 0) {
        uncovered = true;
        break;
      }
    if (!uncovered) continue;
    next++;
    for (let i = 0; i < N; i++) if (masks[o + i]) S[i] = next;
  }

  const gap = new Uint8Array(N);
  for (let i = 0; i < N; i++) gap[i] = S[i] === 0 ? 1 : 0;
  const { labels, n } = components(gap, w, h);
  if (n > 0) {
    const size = new Float64Array(n + 1);
    const sx = new Float64Array(n + 1);
    const sy = new Float64Array(n + 1);
    const members: number[][] = Array.from({ length: n + 1 }, () => []);
    for (let i = 0; i < N; i++) {
      const c = labels[i];
      if (c === 0) continue;
      size[c]++;
      sx[c] += i % w;
      sy[c] += (i / w) | 0;
      members[c].push(i);
    }
    const counts = new Map<number, number>();
    const mode = (): number => {
      let best = 0;
      let bestCount = 0;
      for (const [id, c] of counts) if (c > bestCount || (c === bestCount && id < best)) [best, bestCount] = [id, c];
      return best;
    };
    const half = Math.floor(win / 2);
    for (let c = 1; c <= n; c++) {
      const pix = members[c];
      let id: number;
      if (size[c] > theta) id = ++next;
      else {
        const cx = Math.trunc(sx[c] / size[c]);
        const cy = Math.trunc(sy[c] / size[c]);
        counts.clear();
        for (let y = Math.max(0, cy - half); y < Math.min(h, cy - half + win); y++)
          for (let x = Math.max(0, cx - half); x < Math.min(w, cx - half + win); x++) {
            const v = S[y * w + x];
            if (v !== 0) counts.set(v, (counts.get(v) ?? 0) + 1);
          }
        if (counts.size === 0)
          for (const p of pix) {
            const y = (p / w) | 0;
            const x = p - y * w;
            for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++)
              for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
                const v = S[yy * w + xx];
                if (v !== 0 && labels[yy * w + xx] !== c) counts.set(v, (counts.get(v) ?? 0) + 1);
              }
          }
        // a maximal uncovered component borders covered pixels unless it is the whole image (impossible: M ≥ 1)
        id = mode();
      }
      for (const p of pix) S[p] = id;
    }
  }
  return compact(S, next, w, h);
}

export interface ProposeOptions {
  /** Felzenszwalb's scale k: larger values give larger segments. Default 100. */
  scale?: number;
  /** Standard deviation of the Gaussian blur applied first (0 = none). Default 0.8. */
  sigma?: number;
  /** Segments smaller than this are merged into a neighbour afterwards. Default 20. */
  minSize?: number;
}

function blur(img: Image, sigma: number): Float32Array {
  const { width: w, height: h, channels: c, data } = img;
  const src = Float32Array.from(data);
  if (sigma === 0) return src;
  const r = Math.max(1, Math.ceil(4 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  const tmp = new Float32Array(src.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        for (let i = -r; i <= r; i++) v += k[i + r] * src[(y * w + clamp(x + i, w)) * c + ch];
        tmp[(y * w + x) * c + ch] = v;
      }
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        for (let i = -r; i <= r; i++) v += k[i + r] * tmp[(clamp(y + i, h) * w + x) * c + ch];
        out[(y * w + x) * c + ch] = v;
      }
  return out;
}

/**
 * Model-free over-segmentation of an 8-bit image (gray, RGB or RGBA; alpha ignored) by Felzenszwalb–Huttenlocher
 * graph segmentation: an 8-connected pixel graph weighted by the Euclidean colour distance (0..255 units) after a
 * Gaussian blur, edges merged in increasing weight (ties: raster order of the edge) when the weight is at most
 * `min(Int(A) + scale/|A|, Int(B) + scale/|B|)`, then segments under `minSize` pixels merged along the remaining edges
 * in the same order. Returns a segment map numbered 1..count in raster order of each segment's first pixel.
 */
export function proposeSegments(img: Image, options: ProposeOptions = {}): SegmentMap {
  const image = checkImage(img, 'img');
  const scale = numOption('scale', options.scale, 100, 0, Number.MAX_SAFE_INTEGER);
  const sigma = numOption('sigma', options.sigma, 0.8, 0, 100);
  const minSize = intOption('minSize', options.minSize, 20, 1);
  const { width: w, height: h } = image;
  const c = image.channels === 4 ? 3 : image.channels;
  const stride = image.channels;
  const px = blur(image, sigma);
  const N = w * h;
  // edges: right, down, down-right, down-left of every pixel
  const ea: number[] = [];
  const eb: number[] = [];
  const ew: number[] = [];
  const add = (p: number, q: number) => {
    let d = 0;
    for (let ch = 0; ch < c; ch++) {
      const t = px[p * stride + ch] - px[q * stride + ch];
      d += t * t;
    }
    ea.push(p);
    eb.push(q);
    ew.push(Math.sqrt(d));
  };
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (x + 1 < w) add(p, p + 1);
      if (y + 1 < h) add(p, p + w);
      if (x + 1 < w && y + 1 < h) add(p, p + w + 1);
      if (x > 0 && y + 1 < h) add(p, p + w - 1);
    }
  const E = ew.length;
  const weights = Float64Array.from(ew);
  const order = Uint32Array.from({ length: E }, (_, i) => i).sort((a, b) => weights[a] - weights[b] || a - b);
  const parent = Int32Array.from({ length: N }, (_, i) => i);
  const size = new Int32Array(N).fill(1);
  const thresh = new Float64Array(N).fill(scale);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const union = (a: number, b: number): number => {
    if (size[a] < size[b]) [a, b] = [b, a];
    parent[b] = a;
    size[a] += size[b];
    return a;
  };
  for (let t = 0; t < E; t++) {
    const e = order[t];
    const a = find(ea[e]);
    const b = find(eb[e]);
    if (a === b) continue;
    const wgt = weights[e];
    if (wgt <= thresh[a] && wgt <= thresh[b]) {
      const r = union(a, b);
      thresh[r] = wgt + scale / size[r];
    }
  }
  for (let t = 0; t < E; t++) {
    const e = order[t];
    const a = find(ea[e]);
    const b = find(eb[e]);
    if (a !== b && (size[a] < minSize || size[b] < minSize)) union(a, b);
  }
  const S = new Int32Array(N);
  const ids = new Int32Array(N).fill(0);
  let next = 0;
  for (let p = 0; p < N; p++) {
    const r = find(p);
    if (ids[r] === 0) ids[r] = ++next;
    S[p] = ids[r];
  }
  return compact(S, next, w, h);
}
