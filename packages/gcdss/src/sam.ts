/**
 * Automatic mask generation from any SAM-style ONNX pair (spec `gcdss.md` §8.1): an image encoder run once per image
 * crop and a prompt decoder run on batches of point prompts, followed by the automatic-mask-generator (AMG)
 * post-processing written from the spec's description of segment-anything's `utils/amg.py`: point grids, crop layers,
 * predicted-IoU and stability-score filters, crop-edge filter, box NMS within and across crops, and the small-region
 * clean-up.
 *
 * Contract (the official exporter's layout; only the prompt-batch axis may differ):
 *
 * - encoder: input `image` float32 [1, 3, S, S] (S = 1024 for SAM; any fixed S is read from the model), RGB,
 *   longest side resized to S, `(x − mean) / std` on the 0..255 scale, zero-padded bottom/right after normalising;
 *   output `image_embeddings` float32 [1, C, E, E].
 * - decoder: inputs `image_embeddings` [1, C, E, E], `point_coords` float32 [B, N, 2] (x, y in the resized frame),
 *   `point_labels` float32 [B, N], `mask_input` float32 [1, 1, 4E, 4E], `has_mask_input` float32 [1],
 *   `orig_im_size` float32 [2] = (h, w); outputs `masks` float32 [B, 4, h, w] (logits at the crop's size) and
 *   `iou_predictions` float32 [B, 4] (`low_res_masks` is not read). B is 1 in the official export (one prompt per
 *   run) or a dynamic axis (a re-export, prompts in batches of `pointsPerBatch`). Output 0 is the single-mask token;
 *   multimask mode uses outputs 1..3. Each prompt is one positive point plus the padding point (0, 0) with label −1.
 */
import {
  InvalidArgumentError,
  ShapeError,
  checkImage,
  convertChannels,
  createSession,
  resizeImage,
  tensor,
  type Device,
  type IOInfo,
  type Image,
  type Session,
  type Tensor,
} from '@trustvision/core-tensor';
import { components } from './segments.js';
import { intOption, numOption } from './validate.js';

/** SAM's pixel normalisation on the 0..255 scale. */
export const SAM_PIXEL_MEAN: readonly number[] = [123.675, 116.28, 103.53];
export const SAM_PIXEL_STD: readonly number[] = [58.395, 57.12, 57.375];

export interface SamOptions {
  /** Points per side of the grid on the full image (layer 0). */
  pointsPerSide?: number;
  /** Prompts per decoder run when the decoder's batch axis is dynamic (a fixed batch of 1 runs one at a time). */
  pointsPerBatch?: number;
  /** Keep masks whose predicted IoU is above this (0 = no filter). */
  predIouThresh?: number;
  /** Keep masks whose stability score is at least this (0 = no filter). */
  stabilityScoreThresh?: number;
  /** Offset of the two thresholds of the stability score: |logit > t + o| / |logit > t − o|. */
  stabilityScoreOffset?: number;
  /** Logit threshold that binarises the masks. */
  maskThreshold?: number;
  /** IoU above which box NMS drops the lower-scored mask, within a crop (and in the small-region step). */
  boxNmsThresh?: number;
  /** Crop layers: layer i cuts the image into 2^i × 2^i overlapping crops. */
  cropNLayers?: number;
  /** IoU of the NMS across crops (score 1 / crop area: smaller crops win). */
  cropNmsThresh?: number;
  /** Overlap of neighbouring crops as a fraction of the image's shorter side (at layer 1). */
  cropOverlapRatio?: number;
  /** Layer i uses pointsPerSide / factor^i points per side. */
  cropNPointsDownscaleFactor?: number;
  /** When > 0: fill holes and remove islands smaller than this many pixels, then NMS again. */
  minMaskRegionArea?: number;
  /** A box coordinate within this many pixels of a crop edge that is not an image edge drops the mask. */
  cropEdgeTolerance?: number;
}

/** segment-anything's own `SamAutomaticMaskGenerator` defaults. */
export const SAM_AMG_DEFAULTS: Readonly<Required<SamOptions>> = Object.freeze({
  pointsPerSide: 32,
  pointsPerBatch: 64,
  predIouThresh: 0.88,
  stabilityScoreThresh: 0.95,
  stabilityScoreOffset: 1,
  maskThreshold: 0,
  boxNmsThresh: 0.7,
  cropNLayers: 0,
  cropNmsThresh: 0.7,
  cropOverlapRatio: 512 / 1500,
  cropNPointsDownscaleFactor: 1,
  minMaskRegionArea: 0,
  cropEdgeTolerance: 20,
});

/** The settings of the official GCDSS code (`funcs.mask_generate`), this package's defaults. */
export const GCDSS_SAM_OPTIONS: Readonly<Required<SamOptions>> = Object.freeze({
  ...SAM_AMG_DEFAULTS,
  predIouThresh: 0.86,
  stabilityScoreThresh: 0.92,
  cropNLayers: 1,
  cropNPointsDownscaleFactor: 2,
  minMaskRegionArea: 100,
});

/** One generated mask (SAM's record, camel-cased). */
export interface SamMask {
  /** Binary mask [H·W] of the whole image, row-major, 1 = in. */
  segmentation: Uint8Array;
  /** Pixel count. */
  area: number;
  /** [x, y, w, h] of the mask's box (x1 − x0 with inclusive maxima, as SAM's XYWH). */
  bbox: [number, number, number, number];
  predictedIou: number;
  stabilityScore: number;
  /** The prompt point, image frame. */
  pointCoords: [number, number];
  /** [x, y, w, h] of the crop that produced it. */
  cropBox: [number, number, number, number];
}

export interface SamCreateOptions extends SamOptions {
  /** Device of sessions opened from paths / bytes (a `Session` keeps its own). Default 'auto'. */
  device?: Device;
}

type ModelSource = string | Uint8Array | Session;

function isSession(m: unknown): m is Session {
  return typeof m === 'object' && m !== null && !(m instanceof Uint8Array) && typeof (m as Session).run === 'function';
}

function dimText(io: IOInfo | undefined): string {
  return io ? `${io.dtype} [${(io.shape ?? []).map((d) => d ?? '?').join(', ')}]` : 'missing';
}

/** The dimension as a number, or undefined when symbolic / unknown. */
function fixed(d: number | string | null | undefined): number | undefined {
  return typeof d === 'number' && d > 0 ? d : undefined;
}

/** What the contract check learns about a model pair. */
export interface SamContract {
  /** Encoder input side S. */
  inputSize: number;
  /** Embedding channels C and side E (undefined where the model leaves them symbolic). */
  embedChannels?: number;
  embedSize?: number;
  /** Low-res mask side of `mask_input` (4E). */
  maskInputSize?: number;
  /** Prompts per decoder run: 1 for the official export, undefined for a dynamic axis. */
  fixedBatch?: number;
}

/**
 * Checks two sessions against the contract (module comment) and returns what it fixes. Errors name the model
 * ('encoder' / 'decoder'), the input or output, what it has and what is valid: a missing or extra name
 * (`InvalidArgumentError`), a wrong dtype or rank or a fixed size that contradicts the contract (`ShapeError`).
 */
export function checkSamContract(
  encoder: Pick<Session, 'inputs' | 'outputs'>,
  decoder: Pick<Session, 'inputs' | 'outputs'>,
): SamContract {
  const find = (model: string, list: readonly IOInfo[], name: string, kind: string) => {
    const io = list.find((i) => i.name === name);
    if (!io)
      throw new InvalidArgumentError(
        model,
        `${kind}s ${list.map((i) => `'${i.name}'`).join(', ') || 'none'}`,
        `a SAM-contract ${model} with ${kind} '${name}'`,
      );
    return io;
  };
  const expectShape = (model: string, io: IOInfo, rank: number, dims: (number | undefined)[], text: string) => {
    const shape = io.shape;
    const ok =
      io.dtype === 'float32' &&
      (shape === undefined ||
        (shape.length === rank &&
          dims.every((d, i) => d === undefined || fixed(shape[i]) === undefined || shape[i] === d)));
    if (!ok) throw new ShapeError(`${model} '${io.name}'`, dimText(io), `float32 ${text}`);
    return shape;
  };
  // encoder
  if (encoder.inputs.length !== 1)
    throw new InvalidArgumentError(
      'encoder',
      `inputs ${encoder.inputs.map((i) => `'${i.name}'`).join(', ')}`,
      "a SAM-contract encoder with the single input 'image'",
    );
  const img = find('encoder', encoder.inputs, 'image', 'input');
  const ishape = expectShape('encoder', img, 4, [1, 3], '[1, 3, S, S]');
  const emb = find('encoder', encoder.outputs, 'image_embeddings', 'output');
  const eshape = expectShape('encoder', emb, 4, [1], '[1, C, E, E]');
  let S = fixed(ishape?.[2]);
  const S2 = fixed(ishape?.[3]);
  if (S !== undefined && S2 !== undefined && S !== S2)
    throw new ShapeError("encoder 'image'", dimText(img), 'float32 [1, 3, S, S] (a square input)');
  S ??= S2 ?? 1024;
  const C = fixed(eshape?.[1]);
  const E = fixed(eshape?.[2]) ?? fixed(eshape?.[3]);
  // decoder
  const names = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'];
  for (const i of decoder.inputs)
    if (!names.includes(i.name))
      throw new InvalidArgumentError('decoder', `input '${i.name}'`, `only the inputs ${names.join(', ')}`);
  const dEmb = expectShape(
    'decoder',
    find('decoder', decoder.inputs, names[0], 'input'),
    4,
    [1, C, E, E],
    '[1, C, E, E] (the encoder output)',
  );
  const pc = expectShape(
    'decoder',
    find('decoder', decoder.inputs, names[1], 'input'),
    3,
    [undefined, undefined, 2],
    '[B, N, 2]',
  );
  expectShape('decoder', find('decoder', decoder.inputs, names[2], 'input'), 2, [], '[B, N]');
  const mi = expectShape('decoder', find('decoder', decoder.inputs, names[3], 'input'), 4, [1, 1], '[1, 1, 4E, 4E]');
  expectShape('decoder', find('decoder', decoder.inputs, names[4], 'input'), 1, [1], '[1]');
  expectShape('decoder', find('decoder', decoder.inputs, names[5], 'input'), 1, [2], '[2] = (h, w)');
  expectShape('decoder', find('decoder', decoder.outputs, 'masks', 'output'), 4, [undefined, 4], '[B, 4, h, w]');
  expectShape('decoder', find('decoder', decoder.outputs, 'iou_predictions', 'output'), 2, [undefined, 4], '[B, 4]');
  const B = fixed(pc?.[0]);
  if (B !== undefined && B !== 1)
    throw new ShapeError("decoder 'point_coords'", `[${pc!.join(', ')}]`, 'float32 [B, N, 2] with B = 1 or dynamic');
  const N = fixed(pc?.[1]);
  if (N !== undefined && N !== 2)
    throw new ShapeError(
      "decoder 'point_coords'",
      `[${pc!.join(', ')}]`,
      'float32 [B, N, 2] with N = 2 (a point and the padding point) or dynamic',
    );
  return {
    inputSize: S,
    embedChannels: C ?? fixed(dEmb?.[1]),
    embedSize: E ?? fixed(dEmb?.[2]),
    maskInputSize: fixed(mi?.[2]),
    fixedBatch: B,
  };
}

// -------------------------------------------------------------------------------------------------------------------
// Pure post-processing pieces (exported for tests and for users with their own model runner)

/** n × n normalised grid points, (x, y) pairs with x varying fastest, coordinates (i + 0.5)/n. */
export function pointGrid(n: number): Float64Array {
  intOption('n', n, 1, 1);
  const out = new Float64Array(n * n * 2);
  const off = 1 / (2 * n);
  const step = n > 1 ? (1 - 2 * off) / (n - 1) : 0;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      out[(y * n + x) * 2] = off + x * step;
      out[(y * n + x) * 2 + 1] = off + y * step;
    }
  return out;
}

/**
 * Crop boxes [x0, y0, x1, y1] (exclusive maxima) and their layer: layer 0 is the whole image; layer i ≥ 1 has
 * 2^i × 2^i crops overlapping by `floor(ratio · min(h, w) · 2 / 2^i)` pixels, each `ceil((overlap·(n−1) + side)/n)`
 * wide/high, at offsets `floor((size − overlap)·j)`, clipped; ordered by x0 then y0.
 */
export function cropBoxes(
  width: number,
  height: number,
  nLayers: number,
  overlapRatio: number,
): { boxes: [number, number, number, number][]; layers: number[] } {
  const boxes: [number, number, number, number][] = [[0, 0, width, height]];
  const layers = [0];
  for (let i = 1; i <= nLayers; i++) {
    const n = 2 ** i;
    const overlap = Math.trunc(overlapRatio * Math.min(width, height) * (2 / n));
    const cw = Math.ceil((overlap * (n - 1) + width) / n);
    const ch = Math.ceil((overlap * (n - 1) + height) / n);
    const xs = Array.from({ length: n }, (_, j) => Math.trunc((cw - overlap) * j));
    const ys = Array.from({ length: n }, (_, j) => Math.trunc((ch - overlap) * j));
    for (const x0 of xs)
      for (const y0 of ys) {
        boxes.push([x0, y0, Math.min(x0 + cw, width), Math.min(y0 + ch, height)]);
        layers.push(i);
      }
  }
  return { boxes, layers };
}

/** The resized size (h, w) for longest side `S`: `trunc(side · S / max(h, w) + 0.5)`. */
export function resizedSize(h: number, w: number, S: number): [number, number] {
  const scale = S / Math.max(h, w);
  return [Math.trunc(h * scale + 0.5), Math.trunc(w * scale + 0.5)];
}

/**
 * The encoder input for an RGB image: resized so the longest side is S (core-tensor's half-pixel bilinear
 * `resizeImage`, no antialiasing; SAM resizes with PIL), `(x − mean)/std` per channel on the 0..255 scale, zero-padded
 * bottom/right to S × S. Returns float32 [1, 3, S, S].
 */
export function samPreprocess(img: Image, S: number): Tensor<'float32'> {
  const rgb = convertChannels(checkImage(img, 'img'), 3);
  intOption('S', S, 1, 1);
  const [nh, nw] = resizedSize(rgb.height, rgb.width, S);
  const r = nh === rgb.height && nw === rgb.width ? rgb : resizeImage(rgb, nw, nh);
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = (v - SAM_PIXEL_MEAN[c]) / SAM_PIXEL_STD[c];
    const plane = c * S * S;
    for (let y = 0; y < nh; y++)
      for (let x = 0; x < nw; x++) out[plane + y * S + x] = lut[r.data[(y * nw + x) * 3 + c]];
  }
  return tensor(out, [1, 3, S, S]);
}

/** |logits > t + o| / |logits > t − o| (0 when the denominator is 0, where SAM would give NaN and drop the mask). */
export function stabilityScore(logits: ArrayLike<number>, threshold: number, offset: number): number {
  let inter = 0;
  let union = 0;
  const hi = threshold + offset;
  const lo = threshold - offset;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > hi) inter++;
    if (v > lo) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/** [x0, y0, x1, y1] with inclusive maxima of a binary mask; [0, 0, 0, 0] for an empty one. */
export function maskBox(mask: ArrayLike<number>, w: number, h: number): [number, number, number, number] {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0, i = 0; y < h; y++)
    for (let x = 0; x < w; x++, i++)
      if (mask[i]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1, y1];
}

function boxIou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = Math.max(0, iw) * Math.max(0, ih);
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return inter / union; // NaN for two degenerate boxes: never suppresses, as in torchvision
}

/**
 * Greedy box NMS (torchvision's rule, box area (x1 − x0)·(y1 − y0)): boxes in decreasing score (ties: lower index
 * first) are kept unless their IoU with a kept box exceeds `thresh`. Returns the kept indices in that order.
 */
export function boxNms(boxes: ArrayLike<number>[], scores: ArrayLike<number>, thresh: number): number[] {
  const order = Array.from({ length: boxes.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const keep: number[] = [];
  const dead = new Uint8Array(boxes.length);
  for (let t = 0; t < order.length; t++) {
    const i = order[t];
    if (dead[i]) continue;
    keep.push(i);
    for (let u = t + 1; u < order.length; u++) {
      const j = order[u];
      if (!dead[j] && boxIou(boxes[i], boxes[j]) > thresh) dead[j] = 1;
    }
  }
  return keep;
}

/**
 * SAM's small-region clean-up of one binary mask. `mode` 'holes': 8-connected components of the pixels outside the
 * mask smaller than `minArea` are filled (background regions touching the border included); 'islands': components
 * of the mask smaller than `minArea` are removed, keeping the largest (first in raster order on ties) when all are
 * small. Returns the mask (a new array when changed) and whether it changed.
 */
export function removeSmallRegions(
  mask: Uint8Array,
  w: number,
  h: number,
  minArea: number,
  mode: 'holes' | 'islands',
): { mask: Uint8Array; changed: boolean } {
  const holes = mode === 'holes';
  // Work inside the mask's box grown by one pixel (clipped): every pixel outside it is background, so islands lie
  // inside, and each background band outside it (above, below, left, right) joins the component of the window's
  // margin line next to it; the result equals the whole-image computation at a cost proportional to the box.
  const box = maskBox(mask, w, h);
  const empty = box[2] === 0 && box[3] === 0 && !mask[0];
  const x0 = empty ? 0 : Math.max(0, box[0] - 1);
  const y0 = empty ? 0 : Math.max(0, box[1] - 1);
  const x1 = empty ? w : Math.min(w, box[2] + 2);
  const y1 = empty ? h : Math.min(h, box[3] + 2);
  const ww = x1 - x0;
  const wh = y1 - y0;
  const work = new Uint8Array(ww * wh);
  for (let y = 0; y < wh; y++)
    for (let x = 0; x < ww; x++) work[y * ww + x] = (mask[(y0 + y) * w + x0 + x] ? 1 : 0) ^ (holes ? 1 : 0);
  const { labels, n } = components(work, ww, wh);
  const sizes = new Float64Array(n + 1);
  for (let i = 0; i < labels.length; i++) sizes[labels[i]]++;
  // background bands outside the window: [pixel count, window label they join, rows/cols they cover]
  const bands: { count: number; label: number; rect: [number, number, number, number] }[] = [];
  if (holes) {
    const add = (count: number, wx: number, wy: number, rect: [number, number, number, number]) => {
      if (count > 0) bands.push({ count, label: labels[wy * ww + wx], rect });
    };
    add(y0 * w, 0, 0, [0, 0, w, y0]); // above (the window's top row is background)
    add((h - y1) * w, 0, wh - 1, [0, y1, w, h]); // below
    add(x0 * wh, 0, 0, [0, y0, x0, y1]); // left
    add((w - x1) * wh, ww - 1, 0, [x1, y0, w, y1]); // right
    for (const b of bands) sizes[b.label] += b.count;
  }
  const small = new Uint8Array(n + 1);
  let any = false;
  for (let c = 1; c <= n; c++)
    if (sizes[c] < minArea) {
      small[c] = 1;
      any = true;
    }
  if (!any) return { mask, changed: false };
  const out = Uint8Array.from(mask);
  if (holes) {
    for (let y = 0; y < wh; y++)
      for (let x = 0; x < ww; x++) if (small[labels[y * ww + x]]) out[(y0 + y) * w + x0 + x] = 1;
    for (const b of bands)
      if (small[b.label]) for (let y = b.rect[1]; y < b.rect[3]; y++) out.fill(1, y * w + b.rect[0], y * w + b.rect[2]);
  } else {
    const keep = new Uint8Array(n + 1);
    let kept = 0;
    for (let c = 1; c <= n; c++) if (!small[c]) ((keep[c] = 1), kept++);
    if (kept === 0) {
      let best = 1;
      for (let c = 2; c <= n; c++) if (sizes[c] > sizes[best]) best = c;
      keep[best] = 1;
    }
    for (let y = 0; y < wh; y++) for (let x = 0; x < ww; x++) out[(y0 + y) * w + x0 + x] = keep[labels[y * ww + x]];
  }
  return { mask: out, changed: true };
}

// -------------------------------------------------------------------------------------------------------------------

interface Candidate {
  mask: Uint8Array; // crop frame until uncropped, then image frame
  box: number[]; // xyxy, crop frame until uncropped
  iou: number;
  stability: number;
  point: [number, number]; // image frame
  crop: [number, number, number, number];
}

function resolveOptions(o: SamOptions): Required<SamOptions> {
  const d = GCDSS_SAM_OPTIONS;
  return {
    pointsPerSide: intOption('pointsPerSide', o.pointsPerSide, d.pointsPerSide, 1),
    pointsPerBatch: intOption('pointsPerBatch', o.pointsPerBatch, d.pointsPerBatch, 1),
    predIouThresh: numOption('predIouThresh', o.predIouThresh, d.predIouThresh, 0, 1),
    stabilityScoreThresh: numOption('stabilityScoreThresh', o.stabilityScoreThresh, d.stabilityScoreThresh, 0, 1),
    stabilityScoreOffset: numOption('stabilityScoreOffset', o.stabilityScoreOffset, d.stabilityScoreOffset, 0, 1e6),
    maskThreshold: numOption('maskThreshold', o.maskThreshold, d.maskThreshold, -1e6, 1e6),
    boxNmsThresh: numOption('boxNmsThresh', o.boxNmsThresh, d.boxNmsThresh, 0, 1),
    cropNLayers: intOption('cropNLayers', o.cropNLayers, d.cropNLayers, 0, 4),
    cropNmsThresh: numOption('cropNmsThresh', o.cropNmsThresh, d.cropNmsThresh, 0, 1),
    cropOverlapRatio: numOption('cropOverlapRatio', o.cropOverlapRatio, d.cropOverlapRatio, 0, 1),
    cropNPointsDownscaleFactor: intOption(
      'cropNPointsDownscaleFactor',
      o.cropNPointsDownscaleFactor,
      d.cropNPointsDownscaleFactor,
      1,
    ),
    minMaskRegionArea: intOption('minMaskRegionArea', o.minMaskRegionArea, d.minMaskRegionArea, 0),
    cropEdgeTolerance: numOption('cropEdgeTolerance', o.cropEdgeTolerance, d.cropEdgeTolerance, 0, 1e6),
  };
}

/**
 * SAM automatic mask generation through two ONNX sessions that follow the contract in the module comment. Options
 * default to the official GCDSS settings (`GCDSS_SAM_OPTIONS`: 32 points per side, predicted IoU > 0.86, stability
 * ≥ 0.92, one crop layer with half the points, small regions < 100 px); `SAM_AMG_DEFAULTS` holds segment-anything's.
 *
 * ```ts
 * const gen = await SamMaskGenerator.create('sam_encoder.onnx', 'sam_decoder.onnx', { device: 'cuda' });
 * const masks = await gen.generate(image); // SamMask[]
 * const map = assembleSegments(SamMaskGenerator.stack(masks), image.width, image.height);
 * await gen.dispose();
 * ```
 */
export class SamMaskGenerator {
  readonly options: Readonly<Required<SamOptions>>;
  readonly contract: SamContract;
  /** Encoder and decoder runs so far (one encoder run per crop of every image). */
  readonly runs = { encoder: 0, decoder: 0 };
  /** Names of the two sessions (their paths when opened from paths). */
  readonly models: { readonly encoder: string; readonly decoder: string };
  private constructor(
    private readonly encoder: Session,
    private readonly decoder: Session,
    private readonly owned: Session[],
    contract: SamContract,
    options: Required<SamOptions>,
  ) {
    this.contract = contract;
    this.options = Object.freeze(options);
    this.models = Object.freeze({ encoder: encoder.name, decoder: decoder.name });
  }

  /** Opens (or takes) the two models, checks them against the contract and fixes the options. */
  static async create(
    encoder: ModelSource,
    decoder: ModelSource,
    options: SamCreateOptions = {},
  ): Promise<SamMaskGenerator> {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError('options', options, 'an options object');
    const opts = resolveOptions(options);
    const owned: Session[] = [];
    const open = async (m: ModelSource, param: string) => {
      if (isSession(m)) return m;
      if (typeof m !== 'string' && !(m instanceof Uint8Array))
        throw new InvalidArgumentError(param, m, 'an ONNX path, ONNX bytes or a core-tensor Session');
      const s = await createSession(m, { device: options.device ?? 'auto', name: typeof m === 'string' ? m : param });
      owned.push(s);
      return s;
    };
    try {
      const enc = await open(encoder, 'encoder');
      const dec = await open(decoder, 'decoder');
      return new SamMaskGenerator(enc, dec, owned, checkSamContract(enc, dec), opts);
    } catch (e) {
      for (const s of owned) await s.dispose();
      throw e;
    }
  }

  /** Closes the sessions this generator opened (sessions passed in stay open). */
  async dispose(): Promise<void> {
    for (const s of this.owned.splice(0)) await s.dispose();
  }

  /** Concatenates the masks' segmentations into one `Uint8Array [M·H·W]` (the `assembleSegments` input). */
  static stack(masks: readonly SamMask[]): Uint8Array {
    const n = masks[0]?.segmentation.length ?? 0;
    const out = new Uint8Array(masks.length * n);
    masks.forEach((m, i) => out.set(m.segmentation, i * n));
    return out;
  }

  private async embed(img: Image): Promise<Tensor> {
    const S = this.contract.inputSize;
    const res = await this.encoder.run({ image: samPreprocess(img, S) }, { outputs: ['image_embeddings'] });
    this.runs.encoder++;
    const e = res.image_embeddings;
    const { embedChannels: C, embedSize: E } = this.contract;
    if (
      e.dtype !== 'float32' ||
      e.shape.length !== 4 ||
      e.shape[0] !== 1 ||
      e.shape[2] !== e.shape[3] ||
      (C !== undefined && e.shape[1] !== C) ||
      (E !== undefined && e.shape[2] !== E)
    )
      throw new ShapeError(
        "encoder output 'image_embeddings'",
        `${e.dtype} [${e.shape.join(', ')}]`,
        'float32 [1, C, E, E]',
      );
    return e;
  }

  /** Runs the AMG on one image (gray, RGB or RGBA; alpha ignored) and returns its masks. */
  async generate(img: Image): Promise<SamMask[]> {
    const image = convertChannels(checkImage(img, 'img'), 3);
    const { width: W, height: H } = image;
    const o = this.options;
    const { boxes: crops, layers } = cropBoxes(W, H, o.cropNLayers, o.cropOverlapRatio);
    const all: Candidate[] = [];
    for (let c = 0; c < crops.length; c++) {
      const kept = await this.processCrop(image, crops[c], layers[c]);
      for (const k of kept) all.push(k);
    }
    let final = all;
    if (crops.length > 1) {
      const scores = all.map((m) => 1 / ((m.crop[2] - m.crop[0]) * (m.crop[3] - m.crop[1])));
      final = boxNms(
        all.map((m) => m.box),
        scores,
        o.cropNmsThresh,
      ).map((i) => all[i]);
    }
    if (o.minMaskRegionArea > 0) final = this.cleanSmallRegions(final, W, H);
    return final.map((m) => {
      let area = 0;
      for (let i = 0; i < m.mask.length; i++) area += m.mask[i];
      return {
        segmentation: m.mask,
        area,
        bbox: [m.box[0], m.box[1], m.box[2] - m.box[0], m.box[3] - m.box[1]],
        predictedIou: m.iou,
        stabilityScore: m.stability,
        pointCoords: m.point,
        cropBox: [m.crop[0], m.crop[1], m.crop[2] - m.crop[0], m.crop[3] - m.crop[1]],
      };
    });
  }

  private cleanSmallRegions(masks: Candidate[], W: number, H: number): Candidate[] {
    const o = this.options;
    const fixedMasks: Uint8Array[] = [];
    const boxes: number[][] = [];
    const scores: number[] = [];
    for (const m of masks) {
      const a = removeSmallRegions(m.mask, W, H, o.minMaskRegionArea, 'holes');
      const b = removeSmallRegions(a.mask, W, H, o.minMaskRegionArea, 'islands');
      fixedMasks.push(b.mask);
      boxes.push(maskBox(b.mask, W, H));
      scores.push(a.changed || b.changed ? 0 : 1);
    }
    return boxNms(boxes, scores, o.boxNmsThresh).map((i) =>
      scores[i] === 0 ? { ...masks[i], mask: fixedMasks[i], box: boxes[i] } : masks[i],
    );
  }

  private async processCrop(image: Image, crop: [number, number, number, number], layer: number): Promise<Candidate[]> {
    const o = this.options;
    const [x0, y0, x1, y1] = crop;
    const cw = x1 - x0;
    const ch = y1 - y0;
    const W = image.width;
    const H = image.height;
    const sub = new Uint8Array(cw * ch * 3);
    for (let y = 0; y < ch; y++)
      sub.set(image.data.subarray(((y0 + y) * W + x0) * 3, ((y0 + y) * W + x1) * 3), y * cw * 3);
    const embedding = await this.embed({ width: cw, height: ch, channels: 3, data: sub });
    const S = this.contract.inputSize;
    const [nh, nw] = resizedSize(ch, cw, S);
    const n = Math.trunc(o.pointsPerSide / o.cropNPointsDownscaleFactor ** layer);
    if (n < 1)
      throw new InvalidArgumentError(
        'cropNPointsDownscaleFactor',
        o.cropNPointsDownscaleFactor,
        `a factor that leaves at least one point per side at crop layer ${layer} (pointsPerSide ${o.pointsPerSide})`,
      );
    const grid = pointGrid(n);
    const P = n * n;
    const E = embedding.shape[2];
    const lowRes = this.contract.maskInputSize ?? 4 * E;
    const batch = this.contract.fixedBatch ?? o.pointsPerBatch;
    const constFeeds = {
      image_embeddings: embedding,
      mask_input: tensor(new Float32Array(lowRes * lowRes), [1, 1, lowRes, lowRes]),
      has_mask_input: tensor(new Float32Array([0]), [1]),
      orig_im_size: tensor(new Float32Array([ch, cw]), [2]),
    };
    const cands: Candidate[] = [];
    const hw = cw * ch;
    for (let start = 0; start < P; start += batch) {
      const B = Math.min(batch, P - start);
      const coords = new Float32Array(B * 4);
      const labels = new Float32Array(B * 2);
      const points: [number, number][] = [];
      for (let b = 0; b < B; b++) {
        const px = grid[(start + b) * 2] * cw;
        const py = grid[(start + b) * 2 + 1] * ch;
        points.push([px, py]);
        coords[b * 4] = px * (nw / cw);
        coords[b * 4 + 1] = py * (nh / ch);
        labels[b * 2] = 1;
        labels[b * 2 + 1] = -1;
      }
      const res = await this.decoder.run(
        { ...constFeeds, point_coords: tensor(coords, [B, 2, 2]), point_labels: tensor(labels, [B, 2]) },
        { outputs: ['masks', 'iou_predictions'] },
      );
      this.runs.decoder++;
      const masks = res.masks;
      const ious = res.iou_predictions;
      if (masks.dtype !== 'float32' || masks.shape.join() !== [B, 4, ch, cw].join())
        throw new ShapeError(
          "decoder output 'masks'",
          `${masks.dtype} [${masks.shape.join(', ')}]`,
          `float32 [${B}, 4, ${ch}, ${cw}] (prompts, 4 masks, the orig_im_size (h, w) given)`,
        );
      if (ious.dtype !== 'float32' || ious.shape.join() !== [B, 4].join())
        throw new ShapeError(
          "decoder output 'iou_predictions'",
          `${ious.dtype} [${ious.shape.join(', ')}]`,
          `float32 [${B}, 4]`,
        );
      const md = masks.data as Float32Array;
      const id = ious.data as Float32Array;
      for (let b = 0; b < B; b++)
        for (let t = 1; t < 4; t++) {
          const iou = id[b * 4 + t];
          if (o.predIouThresh > 0 && !(iou > o.predIouThresh)) continue;
          const logits = md.subarray((b * 4 + t) * hw, (b * 4 + t + 1) * hw);
          const stability = stabilityScore(logits, o.maskThreshold, o.stabilityScoreOffset);
          if (o.stabilityScoreThresh > 0 && !(stability >= o.stabilityScoreThresh)) continue;
          const mask = new Uint8Array(hw);
          let bx0 = cw;
          let by0 = ch;
          let bx1 = -1;
          let by1 = -1;
          for (let y = 0, i = 0; y < ch; y++)
            for (let x = 0; x < cw; x++, i++)
              if (logits[i] > o.maskThreshold) {
                mask[i] = 1;
                if (x < bx0) bx0 = x;
                if (x > bx1) bx1 = x;
                if (y < by0) by0 = y;
                by1 = y;
              }
          const box = bx1 < 0 ? [0, 0, 0, 0] : [bx0, by0, bx1, by1];
          // drop masks touching a crop edge that is not an image edge
          const ub = [box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0];
          const imgBox = [0, 0, W, H];
          let edge = false;
          for (let k = 0; k < 4; k++)
            if (
              Math.abs(ub[k] - crop[k]) <= o.cropEdgeTolerance &&
              !(Math.abs(ub[k] - imgBox[k]) <= o.cropEdgeTolerance)
            )
              edge = true;
          if (edge) continue;
          cands.push({ mask, box, iou, stability, point: [points[b][0] + x0, points[b][1] + y0], crop });
        }
    }
    const keep = boxNms(
      cands.map((c) => c.box),
      cands.map((c) => c.iou),
      o.boxNmsThresh,
    );
    return keep.map((i) => {
      const c = cands[i];
      let mask = c.mask;
      if (cw !== W || ch !== H) {
        mask = new Uint8Array(W * H);
        for (let y = 0; y < ch; y++) mask.set(c.mask.subarray(y * cw, (y + 1) * cw), (y0 + y) * W + x0);
      }
      return { ...c, mask, box: [c.box[0] + x0, c.box[1] + y0, c.box[2] + x0, c.box[3] + y0] };
    });
  }
}
