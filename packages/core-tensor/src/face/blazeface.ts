/**
 * BlazeFace face detection (browser-safe): the SSD anchors MediaPipe's BlazeFace models use, decoding of their raw
 * outputs (box + six keypoints per anchor), sigmoid scores, hard and weighted (MediaPipe-style blended)
 * non-maximum suppression, and a detector that letterboxes the image, optionally slides overlapping tiles over it
 * at several scales (group photos, where faces are small), maps every detection back to image pixels and merges
 * them across tiles.
 *
 * Conventions. Regressor rows hold 16 numbers: box centre offset (x, y), box size (w, h), then six keypoints
 * (x, y) — in model-input pixels, relative to the anchor centre (sizes absolute). Anchors have fixed size 1 (in
 * normalised units), so a box is `centre = r[0..1] / inputSize + anchor`, `size = r[2..3] / inputSize`.
 * Keypoints, in the subject's terms: right eye, left eye, nose tip, mouth centre, right ear tragion, left ear
 * tragion. In an upright frontal face the subject's right eye is on the image's left.
 */
import { DisposedError, InvalidArgumentError, NonFiniteError, ShapeError } from '../errors.js';
import { checkImage, type Image } from '../image.js';
import type { ModelCard } from '../modelcard.js';
import { denseData, type Tensor } from '../tensor.js';
import { openFaceModel, type FaceModel, type FaceModelOptions, type ModelSource } from './model.js';
import { sampleSquare, type SquareRegion } from './sample.js';

/** Names of BlazeFace's six keypoints, in output order. */
export const BLAZEFACE_KEYPOINTS = Object.freeze([
  'rightEye',
  'leftEye',
  'noseTip',
  'mouthCenter',
  'rightEar',
  'leftEar',
] as const);

export type BlazeFaceKeypoint = (typeof BLAZEFACE_KEYPOINTS)[number];

/** An axis-aligned box in pixels: top-left corner and size. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One detected face: its box and keypoints in image pixels, and the detector's confidence (0..1). */
export interface FaceDetection {
  box: Box;
  score: number;
  /** (x, y) per keypoint, in `BLAZEFACE_KEYPOINTS` order. */
  keypoints: [number, number][];
}

// ---------------------------------------------------------------------------------------------------------------
// anchors

/** The SSD anchor layout of a BlazeFace model. */
export interface BlazeFaceAnchorConfig {
  /** Side of the square model input, pixels. */
  inputSize: number;
  /** One stride per SSD layer; consecutive layers with the same stride share a feature map. */
  strides: readonly number[];
  /** Anchors each layer puts at every feature-map cell (default 2: aspect ratio 1 plus the interpolated scale). */
  anchorsPerLayer?: number;
  /** Anchor centre within its cell, in cells (default 0.5). */
  anchorOffset?: number;
}

/** The front-camera (short-range) model: 128×128 input, 16×16×2 + 8×8×6 = 896 anchors. */
export const BLAZEFACE_FRONT: Readonly<BlazeFaceAnchorConfig> = Object.freeze({
  inputSize: 128,
  strides: Object.freeze([8, 16, 16, 16]),
  anchorsPerLayer: 2,
  anchorOffset: 0.5,
});

/** The back-camera (longer-range) model: 256×256 input, 16×16×2 + 8×8×6 = 896 anchors. */
export const BLAZEFACE_BACK: Readonly<BlazeFaceAnchorConfig> = Object.freeze({
  inputSize: 256,
  strides: Object.freeze([16, 32, 32, 32]),
  anchorsPerLayer: 2,
  anchorOffset: 0.5,
});

/** Anchor centres, normalised to [0, 1] of the input, and how they fall into feature maps. */
export interface BlazeFaceAnchors {
  /** x, y per anchor (length 2 × count). */
  centers: Float32Array;
  count: number;
  inputSize: number;
  /** One entry per feature map, in output order. */
  groups: { stride: number; grid: number; perCell: number; count: number }[];
}

function checkConfig(config: BlazeFaceAnchorConfig): Required<BlazeFaceAnchorConfig> {
  if (config === null || typeof config !== 'object')
    throw new InvalidArgumentError('config', config, 'an anchor config { inputSize, strides }');
  const { inputSize, strides } = config;
  const anchorsPerLayer = config.anchorsPerLayer ?? 2;
  const anchorOffset = config.anchorOffset ?? 0.5;
  if (!Number.isInteger(inputSize) || inputSize < 1)
    throw new InvalidArgumentError('inputSize', inputSize, 'a positive integer');
  if (!Array.isArray(strides) || strides.length === 0 || !strides.every((s) => Number.isInteger(s) && s > 0))
    throw new InvalidArgumentError('strides', strides, 'a non-empty array of positive integers');
  if (!Number.isInteger(anchorsPerLayer) || anchorsPerLayer < 1)
    throw new InvalidArgumentError('anchorsPerLayer', anchorsPerLayer, 'a positive integer');
  if (!(anchorOffset >= 0 && anchorOffset <= 1))
    throw new InvalidArgumentError('anchorOffset', anchorOffset, 'in [0, 1]');
  return { inputSize, strides, anchorsPerLayer, anchorOffset };
}

/**
 * The anchors of a BlazeFace model, in the order of its outputs: feature map by feature map, then row by row,
 * column by column, and the cell's anchors (all at the cell centre; sizes are fixed to 1).
 */
export function blazefaceAnchors(config: BlazeFaceAnchorConfig = BLAZEFACE_FRONT): BlazeFaceAnchors {
  const { inputSize, strides, anchorsPerLayer, anchorOffset } = checkConfig(config);
  const groups: BlazeFaceAnchors['groups'] = [];
  for (let i = 0; i < strides.length;) {
    let j = i;
    while (j < strides.length && strides[j] === strides[i]) j++;
    const grid = Math.ceil(inputSize / strides[i]);
    const perCell = (j - i) * anchorsPerLayer;
    groups.push({ stride: strides[i], grid, perCell, count: grid * grid * perCell });
    i = j;
  }
  const count = groups.reduce((s, g) => s + g.count, 0);
  const centers = new Float32Array(2 * count);
  let k = 0;
  for (const g of groups)
    for (let y = 0; y < g.grid; y++)
      for (let x = 0; x < g.grid; x++) {
        const cx = (x + anchorOffset) / g.grid;
        const cy = (y + anchorOffset) / g.grid;
        for (let a = 0; a < g.perCell; a++, k += 2) {
          centers[k] = cx;
          centers[k + 1] = cy;
        }
      }
  return { centers, count, inputSize, groups };
}

// ---------------------------------------------------------------------------------------------------------------
// decoding

/** Logistic function of `x` clipped to [-clip, clip] first (as MediaPipe's score clipping). */
export function sigmoid(x: number, clip = 100): number {
  const v = x > clip ? clip : x < -clip ? -clip : x;
  return 1 / (1 + Math.exp(-v));
}

/** Decoded candidates in normalised input coordinates ([0, 1] across the model input). */
export interface DecodedFaces {
  count: number;
  /** Sigmoid scores. */
  scores: Float32Array;
  /** x0, y0, x1, y1 per candidate. */
  boxes: Float32Array;
  /** 6 × (x, y) per candidate. */
  keypoints: Float32Array;
  /** The anchor each candidate came from. */
  anchors: Int32Array;
}

export interface DecodeOptions {
  /** Keep candidates whose sigmoid score is at least this (default 0.5). */
  scoreThreshold?: number;
  /** Raw scores are clipped to ±this before the sigmoid (default 100). */
  scoreClip?: number;
  /** Numbers per regressor row (default 16: 4 box + 6 × 2 keypoints). */
  regressorStride?: number;
}

/**
 * Decodes raw BlazeFace outputs: `scores` holds one logit per anchor, `regressors` `regressorStride` numbers per
 * anchor (model-input pixels). Only anchors scoring at least `scoreThreshold` are decoded.
 */
export function decodeBlazeFace(
  scores: ArrayLike<number>,
  regressors: ArrayLike<number>,
  anchors: BlazeFaceAnchors,
  options: DecodeOptions = {},
): DecodedFaces {
  const n = anchors.count;
  const rs = options.regressorStride ?? 16;
  const threshold = options.scoreThreshold ?? 0.5;
  const clip = options.scoreClip ?? 100;
  if (!(threshold >= 0 && threshold <= 1)) throw new InvalidArgumentError('scoreThreshold', threshold, 'in [0, 1]');
  if (!(clip > 0)) throw new InvalidArgumentError('scoreClip', clip, 'a positive number');
  if (!Number.isInteger(rs) || rs < 4 || (rs - 4) % 2 !== 0)
    throw new InvalidArgumentError('regressorStride', rs, 'an even integer of at least 4');
  if (!scores || scores.length !== n) throw new ShapeError('scores', scores?.length, `${n} values (one per anchor)`);
  if (!regressors || regressors.length !== n * rs)
    throw new ShapeError('regressors', regressors?.length, `${n * rs} values (${rs} per anchor)`);
  const kpCount = (rs - 4) / 2;
  const keep: number[] = [];
  const probs: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = sigmoid(scores[i], clip);
    if (p >= threshold && p === p) {
      keep.push(i);
      probs.push(p);
    }
  }
  const m = keep.length;
  const out: DecodedFaces = {
    count: m,
    scores: Float32Array.from(probs),
    boxes: new Float32Array(4 * m),
    keypoints: new Float32Array(2 * kpCount * m),
    anchors: Int32Array.from(keep),
  };
  const inv = 1 / anchors.inputSize;
  const c = anchors.centers;
  for (let k = 0; k < m; k++) {
    const i = keep[k];
    const r = i * rs;
    const ax = c[2 * i];
    const ay = c[2 * i + 1];
    const cx = regressors[r] * inv + ax;
    const cy = regressors[r + 1] * inv + ay;
    const hw = 0.5 * regressors[r + 2] * inv;
    const hh = 0.5 * regressors[r + 3] * inv;
    out.boxes[4 * k] = cx - hw;
    out.boxes[4 * k + 1] = cy - hh;
    out.boxes[4 * k + 2] = cx + hw;
    out.boxes[4 * k + 3] = cy + hh;
    for (let p = 0; p < kpCount; p++) {
      out.keypoints[2 * (k * kpCount + p)] = regressors[r + 4 + 2 * p] * inv + ax;
      out.keypoints[2 * (k * kpCount + p) + 1] = regressors[r + 5 + 2 * p] * inv + ay;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// non-maximum suppression

/** Intersection over union of boxes given as x0, y0, x1, y1 (0 when either is empty). */
export function iou(a: ArrayLike<number>, b: ArrayLike<number>, ai = 0, bi = 0): number {
  const ax0 = a[ai],
    ay0 = a[ai + 1],
    ax1 = a[ai + 2],
    ay1 = a[ai + 3];
  const bx0 = b[bi],
    by0 = b[bi + 1],
    bx1 = b[bi + 2],
    by1 = b[bi + 3];
  const iw = Math.min(ax1, bx1) - Math.max(ax0, bx0);
  const ih = Math.min(ay1, by1) - Math.max(ay0, by0);
  if (!(iw > 0 && ih > 0)) return 0;
  const inter = iw * ih;
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  return union > 0 ? inter / union : 0;
}

/** IoU of two `Box`es. */
export function boxIou(a: Box, b: Box): number {
  return iou([a.x, a.y, a.x + a.width, a.y + a.height], [b.x, b.y, b.x + b.width, b.y + b.height]);
}

export interface NmsOptions {
  /** Candidates overlapping a kept one by more than this IoU are suppressed / merged (default 0.3). */
  iouThreshold?: number;
  /** At most this many clusters (default: all). */
  maxDetections?: number;
}

/**
 * Greedy clustering shared by both NMS flavours: repeatedly take the highest-scoring remaining candidate (ties: the
 * lower index) and gather every remaining candidate whose IoU with it exceeds `iouThreshold`. Returns the clusters
 * in order, each as candidate indices with the leader first and the rest by descending score. Hard NMS keeps each
 * cluster's leader; weighted NMS blends each cluster.
 */
export function nmsClusters(boxes: ArrayLike<number>, scores: ArrayLike<number>, options: NmsOptions = {}): number[][] {
  const n = scores.length;
  if (!boxes || boxes.length !== 4 * n)
    throw new ShapeError('boxes', boxes?.length, `${4 * n} numbers (x0, y0, x1, y1 per score)`);
  const thr = options.iouThreshold ?? 0.3;
  const max = options.maxDetections ?? Infinity;
  if (!(thr >= 0 && thr <= 1)) throw new InvalidArgumentError('iouThreshold', thr, 'in [0, 1]');
  if (!(max >= 0)) throw new InvalidArgumentError('maxDetections', max, 'a non-negative number');
  for (let i = 0; i < n; i++) if (!Number.isFinite(scores[i])) throw new NonFiniteError('scores', i, scores[i]);
  for (let i = 0; i < 4 * n; i++) if (!Number.isFinite(boxes[i])) throw new NonFiniteError('boxes', i, boxes[i]);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const taken = new Uint8Array(n);
  const clusters: number[][] = [];
  for (let oi = 0; oi < n && clusters.length < max; oi++) {
    const lead = order[oi];
    if (taken[lead]) continue;
    taken[lead] = 1;
    const members = [lead];
    for (let oj = oi + 1; oj < n; oj++) {
      const j = order[oj];
      if (!taken[j] && iou(boxes, boxes, 4 * lead, 4 * j) > thr) {
        taken[j] = 1;
        members.push(j);
      }
    }
    clusters.push(members);
  }
  return clusters;
}

/** Hard NMS: the indices of the kept candidates, best first. */
export function nonMaxSuppression(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: NmsOptions = {},
): Int32Array {
  return Int32Array.from(nmsClusters(boxes, scores, options), (c) => c[0]);
}

export type NmsMethod = 'weighted' | 'hard';

/**
 * NMS over face detections. 'hard' keeps each cluster's best detection; 'weighted' (MediaPipe's blending) replaces
 * it by the score-weighted mean of the cluster's boxes and keypoints, keeping the best score.
 */
export function suppressFaces(
  faces: readonly FaceDetection[],
  options: NmsOptions & { method?: NmsMethod } = {},
): FaceDetection[] {
  const method = options.method ?? 'weighted';
  if (method !== 'weighted' && method !== 'hard')
    throw new InvalidArgumentError('method', method, "'weighted' or 'hard'");
  const n = faces.length;
  const boxes = new Float64Array(4 * n);
  const scores = new Float64Array(n);
  faces.forEach((f, i) => {
    boxes[4 * i] = f.box.x;
    boxes[4 * i + 1] = f.box.y;
    boxes[4 * i + 2] = f.box.x + f.box.width;
    boxes[4 * i + 3] = f.box.y + f.box.height;
    scores[i] = f.score;
  });
  return nmsClusters(boxes, scores, options).map((members) => {
    const lead = faces[members[0]];
    if (method === 'hard' || members.length === 1)
      return { box: { ...lead.box }, score: lead.score, keypoints: lead.keypoints.map((p) => [p[0], p[1]]) };
    let wsum = 0;
    let x0 = 0,
      y0 = 0,
      x1 = 0,
      y1 = 0;
    const kp = lead.keypoints.map((): [number, number] => [0, 0]);
    for (const m of members) {
      const f = faces[m];
      const w = f.score;
      wsum += w;
      x0 += w * f.box.x;
      y0 += w * f.box.y;
      x1 += w * (f.box.x + f.box.width);
      y1 += w * (f.box.y + f.box.height);
      for (let p = 0; p < kp.length; p++) {
        kp[p][0] += w * f.keypoints[p][0];
        kp[p][1] += w * f.keypoints[p][1];
      }
    }
    for (const p of kp) {
      p[0] /= wsum;
      p[1] /= wsum;
    }
    return {
      box: { x: x0 / wsum, y: y0 / wsum, width: (x1 - x0) / wsum, height: (y1 - y0) / wsum },
      score: lead.score,
      keypoints: kp,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// letterbox and tiles

/** The square that letterboxes a `width`×`height` image: side max(width, height), the image centred in it. */
export function letterbox(width: number, height: number): SquareRegion {
  const size = Math.max(width, height);
  return { x: (width - size) / 2, y: (height - size) / 2, size };
}

/** A tiling pass: square tiles of `size` image pixels overlapping by `overlap` (a fraction of `size`, default 0.5). */
export interface TileSpec {
  size: number;
  overlap?: number;
}

function axisStarts(extent: number, size: number, overlap: number): number[] {
  if (size >= extent) return [(extent - size) / 2];
  const step = size * (1 - overlap);
  const n = Math.ceil((extent - size) / step - 1e-9) + 1;
  return Array.from({ length: n }, (_, i) => (i * (extent - size)) / (n - 1));
}

/**
 * Square tiles of side `size` covering a `width`×`height` image, neighbours overlapping by at least `overlap`·size,
 * spread evenly so the first and last tiles touch the image's edges. An axis shorter than `size` gets one tile,
 * centred (padded on both sides).
 */
export function planTiles(width: number, height: number, spec: TileSpec): SquareRegion[] {
  const size = spec?.size;
  const overlap = spec?.overlap ?? 0.5;
  if (!(size > 0) || !Number.isFinite(size)) throw new InvalidArgumentError('tile.size', size, 'a positive number');
  if (!(overlap >= 0 && overlap < 1)) throw new InvalidArgumentError('tile.overlap', overlap, 'in [0, 1)');
  const xs = axisStarts(width, size, overlap);
  const ys = axisStarts(height, size, overlap);
  const out: SquareRegion[] = [];
  for (const y of ys) for (const x of xs) out.push({ x, y, size });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// the detector

export interface BlazeFaceDetectOptions {
  /** Minimum sigmoid score (default 0.5). */
  scoreThreshold?: number;
  /** IoU above which detections are merged (default 0.3). */
  iouThreshold?: number;
  /** 'weighted' (default, MediaPipe's blending) or 'hard'. */
  nms?: NmsMethod;
  /** At most this many faces, best first (default: all). */
  maxDetections?: number;
  /** Run on the whole image, letterboxed to a square (default true). */
  fullImage?: boolean;
  /**
   * Tiling passes for small faces: overlapping square tiles of `size` image pixels (one entry per scale). The front
   * model finds faces spanning about a fifth of a tile or more, the back model down to about a tenth (measured on
   * the Solvay photos: 45-px faces need 160-px tiles with the front model, 240–480-px tiles with the back model).
   */
  tiles?: readonly TileSpec[];
  /**
   * Drop detections that a tile's inner edge cuts (their box reaches within this fraction of the tile size of an
   * edge shared with a neighbouring tile), since the overlapping neighbour sees the whole face (default 0.02;
   * negative disables).
   */
  edgeMargin?: number;
  /** Drop faces whose box (larger side) is smaller than this many image pixels (default 0). */
  minFaceSize?: number;
  /** Drop faces whose box (larger side) is larger than this many image pixels (default: no limit). */
  maxFaceSize?: number;
}

export interface BlazeFaceDetectorOptions extends FaceModelOptions {
  /** Anchor layout; default from the card's `preprocessing.anchors`, else by input size (128 front, 256 back). */
  anchors?: BlazeFaceAnchorConfig;
  /**
   * Input value range for bytes 0..255: default from the card (`inputs[0].range` or `preprocessing.range`), else
   * [-1, 1] (what the MediaPipe models were trained with).
   */
  range?: [number, number];
  /** Default options for `detect`. */
  detect?: BlazeFaceDetectOptions;
}

function cardAnchors(card: ModelCard | undefined): BlazeFaceAnchorConfig | undefined {
  const a = card?.preprocessing?.anchors as Partial<BlazeFaceAnchorConfig> | undefined;
  if (!a || typeof a !== 'object' || !Array.isArray(a.strides) || typeof a.inputSize !== 'number') return undefined;
  return {
    inputSize: a.inputSize,
    strides: a.strides,
    anchorsPerLayer: a.anchorsPerLayer,
    anchorOffset: a.anchorOffset,
  };
}

function isRange(r: unknown): r is [number, number] {
  return Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) && r[0] < r[1];
}

/** Output pairs (scores, regressors) matched to anchor groups. */
interface OutputPlan {
  scores: string[];
  regressors: string[];
  regressorStride: number;
}

function planOutputs(model: FaceModel, anchors: BlazeFaceAnchors): OutputPlan {
  const dims = (shape: readonly (number | string | null)[] | undefined) =>
    shape &&
    shape.length >= 2 &&
    typeof shape[shape.length - 2] === 'number' &&
    typeof shape[shape.length - 1] === 'number'
      ? { n: shape[shape.length - 2] as number, last: shape[shape.length - 1] as number }
      : undefined;
  const scoreOut: { name: string; n: number }[] = [];
  const regOut: { name: string; n: number; last: number }[] = [];
  for (const o of model.outputs) {
    const d = dims(o.shape);
    if (!d) continue;
    if (d.last === 1) scoreOut.push({ name: o.name, n: d.n });
    else if (d.last >= 4) regOut.push({ name: o.name, n: d.n, last: d.last });
  }
  const total = anchors.count;
  const order = (list: { name: string; n: number }[]): string[] | undefined => {
    const single = list.find((o) => o.n === total);
    if (single) return [single.name];
    // one output per feature map, matched by anchor count
    const used = new Set<string>();
    const names: string[] = [];
    for (const g of anchors.groups) {
      const o = list.find((x) => x.n === g.count && !used.has(x.name));
      if (!o) return undefined;
      used.add(o.name);
      names.push(o.name);
    }
    return names;
  };
  const scores = order(scoreOut);
  const regressors = order(regOut);
  if (!scores || !regressors)
    throw new ShapeError(
      'model outputs',
      model.outputs.map((o) => `${o.name}[${(o.shape ?? []).join(',')}]`).join(' '),
      `score outputs [1, n, 1] and regressor outputs [1, n, 16] covering the ${total} anchors ` +
        `(${anchors.groups.map((g) => g.count).join(' + ')})`,
      'Pass the anchor layout that matches this model (option anchors)',
    );
  const stride = regOut.find((o) => o.name === regressors[0])!.last;
  return { scores, regressors, regressorStride: stride };
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A BlazeFace detector over one ONNX model. Create with `BlazeFaceDetector.create`. */
export class BlazeFaceDetector {
  readonly anchors: BlazeFaceAnchors;
  readonly inputSize: number;
  /** Value range the model input gets for bytes 0..255. */
  readonly range: [number, number];
  readonly inputName: string;
  private readonly model: FaceModel;
  private readonly plan: OutputPlan;
  private readonly defaults: BlazeFaceDetectOptions;
  private disposed = false;

  private constructor(
    model: FaceModel,
    anchors: BlazeFaceAnchors,
    range: [number, number],
    defaults: BlazeFaceDetectOptions,
  ) {
    this.model = model;
    this.anchors = anchors;
    this.inputSize = anchors.inputSize;
    this.range = range;
    this.defaults = defaults;
    const input = model.inputs[0];
    this.inputName = input.name;
    this.plan = planOutputs(model, anchors);
  }

  /** Opens the model (a LoadedModel, Session, bytes, path or name such as 'blazeface') and reads its contract. */
  static async create(model: ModelSource, options: BlazeFaceDetectorOptions = {}): Promise<BlazeFaceDetector> {
    const m = await openFaceModel(model, 'detector', options);
    try {
      if (m.inputs.length !== 1)
        throw new ShapeError(
          'detector inputs',
          m.inputs.map((i) => i.name),
          'one image input [1, H, W, 3]',
        );
      const shape = m.inputs[0].shape;
      const side =
        shape && shape.length === 4 && shape[1] === shape[2] && typeof shape[1] === 'number' ? shape[1] : undefined;
      if (!side || shape![3] !== 3)
        throw new ShapeError(
          'detector input',
          shape,
          '[1, S, S, 3] (NHWC, square)',
          'BlazeFace models take NHWC input',
        );
      const config =
        options.anchors ??
        cardAnchors(m.card) ??
        (side === 256 ? BLAZEFACE_BACK : { ...BLAZEFACE_FRONT, inputSize: side });
      const anchors = blazefaceAnchors(config);
      if (anchors.inputSize !== side)
        throw new InvalidArgumentError('anchors.inputSize', anchors.inputSize, `the model's input size ${side}`);
      const range =
        options.range ??
        (isRange(m.card?.inputs[0]?.range) ? m.card!.inputs[0].range : undefined) ??
        (isRange(m.card?.preprocessing?.range) ? (m.card!.preprocessing!.range as [number, number]) : undefined) ??
        ([-1, 1] as [number, number]);
      if (!isRange(range)) throw new InvalidArgumentError('range', range, '[min, max] with min < max');
      return new BlazeFaceDetector(m, anchors, [range[0], range[1]], options.detect ?? {});
    } catch (e) {
      if (m.owned) await m.dispose();
      throw e;
    }
  }

  /** Runs the model on one square region of the image; returns decoded candidates mapped to image pixels. */
  async detectRegion(img: Image, region: SquareRegion, options: BlazeFaceDetectOptions = {}): Promise<FaceDetection[]> {
    if (this.disposed) throw new DisposedError('BlazeFaceDetector');
    const s = this.inputSize;
    const [lo, hi] = this.range;
    const pixels = sampleSquare(img, region, s, { scale: (hi - lo) / 255, offset: lo, fill: 0 });
    const out = await this.model.run({
      [this.inputName]: {
        dtype: 'float32',
        data: pixels,
        shape: [1, s, s, 3],
        stride: [s * s * 3, s * 3, 3, 1],
        offset: 0,
      },
    });
    const scores = concat(this.plan.scores.map((n) => denseData(out[n] as Tensor<'float32'>)));
    const regs = concat(this.plan.regressors.map((n) => denseData(out[n] as Tensor<'float32'>)));
    const dec = decodeBlazeFace(scores, regs, this.anchors, {
      scoreThreshold: options.scoreThreshold ?? this.defaults.scoreThreshold ?? 0.5,
      regressorStride: this.plan.regressorStride,
    });
    const kpFloats = dec.keypoints.length / Math.max(1, dec.count);
    const faces: FaceDetection[] = [];
    const { x: rx, y: ry, size } = region;
    for (let k = 0; k < dec.count; k++) {
      const b = dec.boxes.subarray(4 * k, 4 * k + 4);
      const kp: [number, number][] = [];
      for (let p = k * kpFloats; p < (k + 1) * kpFloats; p += 2)
        kp.push([rx + dec.keypoints[p] * size, ry + dec.keypoints[p + 1] * size]);
      faces.push({
        box: { x: rx + b[0] * size, y: ry + b[1] * size, width: (b[2] - b[0]) * size, height: (b[3] - b[1]) * size },
        score: dec.scores[k],
        keypoints: kp,
      });
    }
    return faces;
  }

  /**
   * Detects faces: the letterboxed image (unless `fullImage: false`) plus every tile of every tiling pass, merged by
   * NMS. Boxes and keypoints are in image pixels, best score first.
   */
  async detect(image: Image, options: BlazeFaceDetectOptions = {}): Promise<FaceDetection[]> {
    const img = checkImage(image, 'image');
    const o = { ...this.defaults, ...options };
    const fullImage = o.fullImage ?? true;
    const tiles = o.tiles ?? [];
    if (!Array.isArray(tiles)) throw new InvalidArgumentError('tiles', tiles, 'an array of { size, overlap }');
    if (!fullImage && tiles.length === 0)
      throw new InvalidArgumentError('fullImage', false, 'true, or at least one tiling pass in tiles');
    const edge = o.edgeMargin ?? 0.02;
    const minSize = o.minFaceSize ?? 0;
    const maxSize = o.maxFaceSize ?? Infinity;
    if (!(minSize >= 0)) throw new InvalidArgumentError('minFaceSize', minSize, 'a non-negative number');
    if (!(maxSize > 0)) throw new InvalidArgumentError('maxFaceSize', maxSize, 'a positive number');
    const all: FaceDetection[] = [];
    if (fullImage) all.push(...(await this.detectRegion(img, letterbox(img.width, img.height), o)));
    for (const spec of tiles) {
      for (const t of planTiles(img.width, img.height, spec)) {
        const found = await this.detectRegion(img, t, o);
        if (edge < 0) {
          all.push(...found);
          continue;
        }
        const m = edge * t.size;
        // inner edges: those not at (or beyond) the image border
        const left = t.x > 0.5 ? t.x + m : -Infinity;
        const top = t.y > 0.5 ? t.y + m : -Infinity;
        const right = t.x + t.size < img.width - 0.5 ? t.x + t.size - m : Infinity;
        const bottom = t.y + t.size < img.height - 0.5 ? t.y + t.size - m : Infinity;
        for (const f of found) {
          const b = f.box;
          if (b.x >= left && b.y >= top && b.x + b.width <= right && b.y + b.height <= bottom) all.push(f);
        }
      }
    }
    const sized = all.filter((f) => {
      const s = Math.max(f.box.width, f.box.height);
      return s >= minSize && s <= maxSize;
    });
    return suppressFaces(sized, {
      method: o.nms ?? 'weighted',
      iouThreshold: o.iouThreshold ?? 0.3,
      maxDetections: o.maxDetections,
    });
  }

  /** Releases the session when the detector opened it (not a LoadedModel passed in). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.model.owned) await this.model.dispose();
  }
}
