/**
 * The face pipeline the face packages share (browser-safe): detect (BlazeFace) → align (a similarity warp from the
 * detector's keypoints to the ArcFace template, or a square box crop) → embed (any face-embedding ONNX model whose
 * input contract — size, layout, value range — is read from its model card) → L2-normalised embeddings.
 */
import { arcfaceTemplate, estimateSimilarity, warpAffine } from '../align.js';
import { DisposedError, InvalidArgumentError, NonFiniteError, ShapeError } from '../errors.js';
import { checkImage, convertChannels, type Image } from '../image.js';
import type { ModelCard } from '../modelcard.js';
import { resizeImage } from '../resize.js';
import type { Device, DeviceOptions } from '../runtime.js';
import { denseData, type Tensor } from '../tensor.js';
import {
  BlazeFaceDetector,
  type BlazeFaceAnchorConfig,
  type BlazeFaceDetectOptions,
  type FaceDetection,
} from './blazeface.js';
import { openFaceModel, type FaceModel, type ModelSource } from './model.js';
import { cropSquare } from './sample.js';

export type AlignmentMode = 'similarity' | 'box';

/** How an embedder wants its input; read from the model card, with faceres's contract as the fallback. */
export interface EmbedderContract {
  inputName: string;
  outputName: string;
  /** Side of the square face crop, pixels. */
  size: number;
  layout: 'NHWC' | 'NCHW';
  /** Values bytes 0..255 are mapped onto (linearly). */
  range: [number, number];
  /** Subtracted per channel after the range mapping, then divided by `std` (default 0 and 1). */
  mean: [number, number, number];
  std: [number, number, number];
  /** Largest batch the model takes (1 when its batch dimension is fixed to 1). */
  maxBatch: number;
}

/** The contract assumed when the card says nothing: faceres (224×224 NHWC, bytes as 0..255). */
export const FACERES_CONTRACT: Readonly<Omit<EmbedderContract, 'inputName' | 'outputName' | 'maxBatch'>> =
  Object.freeze({
    size: 224,
    layout: 'NHWC',
    range: [0, 255] as [number, number],
    mean: [0, 0, 0] as [number, number, number],
    std: [1, 1, 1] as [number, number, number],
  });

export interface FacePipelineOptions {
  /** The detector: a BlazeFaceDetector, a LoadedModel/Session, model bytes, a path or a name (default 'blazeface'). */
  detector?: BlazeFaceDetector | ModelSource;
  /** The embedder: a LoadedModel/Session, bytes, a path or a name (default 'faceres'). */
  embedder?: ModelSource;
  device?: Device;
  deviceOptions?: DeviceOptions;
  /** Extra folders searched first for models given by name. */
  dirs?: string[];
  /**
   * Detection settings (tiles, thresholds, NMS; applied to every `detect`/`process`) plus the detector's input range
   * and anchors when its card does not state them (used only when the pipeline opens the detector).
   */
  detectorOptions?: BlazeFaceDetectOptions & { range?: [number, number]; anchors?: BlazeFaceAnchorConfig };
  /** 'similarity' (default): keypoints → ArcFace template; 'box': the detection box, squared, with a margin. */
  alignment?: AlignmentMode;
  /** 'box' alignment: margin added on each side, as a fraction of the box's larger side (default 0.25). */
  boxMargin?: number;
  /**
   * 'similarity' alignment: the template is shrunk by this factor about the crop centre (default 1, the ArcFace
   * crop; 0.8 leaves more context around the face).
   */
  templateScale?: number;
  /** Crops per embedder run (default 16; capped by the model's batch dimension). */
  batchSize?: number;
  /** Overrides of the embedder contract read from its card. */
  contract?: Partial<EmbedderContract>;
}

/** A detected face with its aligned crop and embedding. */
export interface EmbeddedFace extends FaceDetection {
  crop: Image;
  /** L2-normalised. */
  embedding: Float32Array;
}

type Shape = readonly (number | string | null)[] | undefined;

function triple(param: string, v: unknown, dflt: [number, number, number]): [number, number, number] {
  if (v === undefined) return dflt;
  const arr = typeof v === 'number' ? [v, v, v] : Array.isArray(v) ? v : undefined;
  if (!arr || arr.length !== 3 || !arr.every((x) => Number.isFinite(x)))
    throw new InvalidArgumentError(param, v, 'a number or three numbers (one per RGB channel)');
  return [arr[0], arr[1], arr[2]];
}

function isRange(r: unknown): r is [number, number] {
  return Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) && r[0] < r[1];
}

/** Reads an embedder's input contract from its card (and the model's declared shapes), faceres's as fallback. */
export function embedderContract(
  model: { inputs: FaceModel['inputs']; outputs: FaceModel['outputs']; card?: ModelCard },
  override: Partial<EmbedderContract> = {},
): EmbedderContract {
  const card = model.card;
  if (model.inputs.length < 1) throw new ShapeError('embedder inputs', [], 'one image input');
  const inputName = override.inputName ?? card?.inputs[0]?.name ?? model.inputs[0].name;
  const cin = card?.inputs.find((i) => i.name === inputName);
  const info = model.inputs.find((i) => i.name === inputName);
  if (!info)
    throw new InvalidArgumentError(
      'contract.inputName',
      inputName,
      `one of ${model.inputs.map((i) => i.name).join(', ')}`,
    );
  const shape: Shape = cin?.shape ?? info.shape;
  const pre = (card?.preprocessing ?? {}) as Record<string, unknown>;
  const declared = (cin?.layout ?? (typeof pre.layout === 'string' ? pre.layout : undefined))?.toUpperCase();
  const layout =
    override.layout ??
    (declared === 'NHWC' || declared === 'NCHW'
      ? declared
      : shape && shape.length === 4 && shape[1] === 3 && shape[3] !== 3
        ? 'NCHW'
        : 'NHWC');
  if (layout !== 'NHWC' && layout !== 'NCHW')
    throw new InvalidArgumentError('contract.layout', layout, "'NHWC' or 'NCHW'");
  const hw = shape && shape.length === 4 ? (layout === 'NHWC' ? [shape[1], shape[2]] : [shape[2], shape[3]]) : [];
  const fixed = typeof hw[0] === 'number' && hw[0] === hw[1] ? (hw[0] as number) : undefined;
  const preSize =
    typeof pre.size === 'number' ? pre.size : Array.isArray(pre.size) ? (pre.size[0] as number) : undefined;
  const size = override.size ?? fixed ?? preSize ?? FACERES_CONTRACT.size;
  if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError('contract.size', size, 'a positive integer');
  if (fixed !== undefined && size !== fixed)
    throw new InvalidArgumentError('contract.size', size, `the model's input size ${fixed}`);
  const range = override.range ?? (isRange(cin?.range) ? cin!.range : isRange(pre.range) ? pre.range : [0, 255]);
  if (!isRange(range)) throw new InvalidArgumentError('contract.range', range, '[min, max] with min < max');
  const outputName =
    override.outputName ??
    [...(card?.outputs ?? []), ...model.outputs].find((o) => o.name === 'embedding')?.name ??
    (card?.outputs ?? model.outputs).find((o) => (o.shape?.length ?? 0) === 2)?.name ??
    model.outputs[0]?.name;
  if (!outputName || !model.outputs.some((o) => o.name === outputName))
    throw new InvalidArgumentError(
      'contract.outputName',
      outputName,
      `one of ${model.outputs.map((o) => o.name).join(', ')}`,
    );
  const batchDim = shape && shape.length === 4 ? shape[0] : undefined;
  const maxBatch = override.maxBatch ?? (typeof batchDim === 'number' && batchDim > 0 ? batchDim : Infinity);
  return {
    inputName,
    outputName,
    size,
    layout,
    range: [range[0], range[1]],
    mean: override.mean ?? triple('preprocessing.mean', pre.mean, [0, 0, 0]),
    std: override.std ?? triple('preprocessing.std', pre.std, [1, 1, 1]),
    maxBatch,
  };
}

function checkFace(face: unknown, needKeypoints: boolean): FaceDetection {
  const f = face as FaceDetection;
  if (f === null || typeof f !== 'object' || f.box === null || typeof f.box !== 'object')
    throw new InvalidArgumentError('face', face, 'a detection { box, score, keypoints }');
  const { x, y, width, height } = f.box;
  for (const [k, v] of Object.entries({ x, y, width, height }))
    if (!Number.isFinite(v)) throw new NonFiniteError(`face.box.${k}`, 0, v as number);
  if (!(width > 0 && height > 0))
    throw new InvalidArgumentError('face.box', f.box, 'a box with positive width and height');
  if (needKeypoints) {
    if (!Array.isArray(f.keypoints) || f.keypoints.length < 4)
      throw new ShapeError(
        'face.keypoints',
        f.keypoints?.length,
        "at least 4 points (eyes, nose tip, mouth centre) for 'similarity' alignment",
      );
    for (let i = 0; i < 4; i++) {
      const p = f.keypoints[i];
      if (!p || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) throw new NonFiniteError('face.keypoints', i, NaN);
    }
  }
  return f;
}

/** The four ArcFace-template points BlazeFace can match: both eyes, nose tip, mouth centre (mean of the corners). */
export function blazefaceTemplate(size: number, scale = 1): Float64Array {
  const t = arcfaceTemplate(size);
  const pts = [t[0], t[1], t[2], t[3], t[4], t[5], (t[6] + t[8]) / 2, (t[7] + t[9]) / 2];
  const c = size / 2;
  return Float64Array.from(pts, (v) => c + (v - c) * scale);
}

/** Detection → alignment → embedding. Create with `FacePipeline.create`; `dispose` when done. */
export class FacePipeline {
  readonly detector: BlazeFaceDetector;
  readonly contract: EmbedderContract;
  readonly alignment: AlignmentMode;
  private readonly embedder: FaceModel;
  private readonly ownsDetector: boolean;
  private readonly options: FacePipelineOptions;
  /** `detectorOptions` minus the detector's construction settings: applied to every `detect`. */
  private readonly detectDefaults: BlazeFaceDetectOptions;
  private disposed = false;

  private constructor(
    detector: BlazeFaceDetector,
    ownsDetector: boolean,
    embedder: FaceModel,
    contract: EmbedderContract,
    options: FacePipelineOptions,
  ) {
    this.detector = detector;
    this.ownsDetector = ownsDetector;
    this.embedder = embedder;
    this.contract = contract;
    this.alignment = options.alignment ?? 'similarity';
    this.options = options;
    const { range: _range, anchors: _anchors, ...detect } = options.detectorOptions ?? {};
    this.detectDefaults = detect;
  }

  static async create(options: FacePipelineOptions = {}): Promise<FacePipeline> {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError('options', options, 'an object');
    const alignment = options.alignment ?? 'similarity';
    if (alignment !== 'similarity' && alignment !== 'box')
      throw new InvalidArgumentError('alignment', alignment, "'similarity' or 'box'");
    const margin = options.boxMargin ?? 0.25;
    if (!(margin > -0.5 && Number.isFinite(margin)))
      throw new InvalidArgumentError('boxMargin', margin, 'a number > -0.5');
    const ts = options.templateScale ?? 1;
    if (!(ts > 0 && Number.isFinite(ts))) throw new InvalidArgumentError('templateScale', ts, 'a positive number');
    const batch = options.batchSize ?? 16;
    if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError('batchSize', batch, 'a positive integer');
    const common = { device: options.device, deviceOptions: options.deviceOptions, dirs: options.dirs };
    const { range, anchors, ...detect } = options.detectorOptions ?? {};
    let detector: BlazeFaceDetector;
    const ownsDetector = !(options.detector instanceof BlazeFaceDetector);
    if (options.detector instanceof BlazeFaceDetector) detector = options.detector;
    else
      detector = await BlazeFaceDetector.create(options.detector ?? 'blazeface', { ...common, range, anchors, detect });
    let embedder: FaceModel | undefined;
    try {
      embedder = await openFaceModel(options.embedder ?? 'faceres', 'embedder', common);
      const contract = embedderContract(embedder, options.contract);
      return new FacePipeline(detector, ownsDetector, embedder, contract, { ...options, alignment });
    } catch (e) {
      if (embedder?.owned) await embedder.dispose();
      if (ownsDetector) await detector.dispose();
      throw e;
    }
  }

  private live(): void {
    if (this.disposed) throw new DisposedError('FacePipeline');
  }

  /** Faces in `image` (boxes and keypoints in image pixels, best first). */
  async detect(image: Image, options: BlazeFaceDetectOptions = {}): Promise<FaceDetection[]> {
    this.live();
    return this.detector.detect(image, { ...this.detectDefaults, ...options });
  }

  /**
   * The face's crop for the embedder (`size`: default the embedder's input size), by the pipeline's alignment mode
   * or `mode`. 'similarity' needs the first four keypoints (eyes, nose tip, mouth centre).
   */
  align(image: Image, face: FaceDetection, size = this.contract.size, mode: AlignmentMode = this.alignment): Image {
    this.live();
    const img = checkImage(image, 'image');
    if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError('size', size, 'a positive integer');
    if (mode !== 'similarity' && mode !== 'box') throw new InvalidArgumentError('mode', mode, "'similarity' or 'box'");
    const f = checkFace(face, mode === 'similarity');
    const rgb = img.channels === 3 ? img : convertChannels(img, 3);
    if (mode === 'box') {
      const side = Math.max(f.box.width, f.box.height) * (1 + 2 * (this.options.boxMargin ?? 0.25));
      const cx = f.box.x + f.box.width / 2;
      const cy = f.box.y + f.box.height / 2;
      return cropSquare(rgb, { x: cx - side / 2, y: cy - side / 2, size: side }, size);
    }
    const src = [0, 1, 2, 3].flatMap((i) => [f.keypoints[i][0], f.keypoints[i][1]]);
    const m = estimateSimilarity(src, blazefaceTemplate(size, this.options.templateScale ?? 1));
    // a bilinear warp that shrinks by more than 2× aliases: warp k× larger, then area-average k×k blocks
    const k = Math.ceil(0.75 / Math.hypot(m[0], m[3]));
    if (k > 1) {
      const big = warpAffine(
        rgb,
        Array.from(m, (v) => v * k),
        size * k,
        size * k,
        { border: 'constant', fill: 0 },
      );
      return cropSquare(big, { x: 0, y: 0, size: size * k }, size);
    }
    return warpAffine(rgb, m, size, size, { border: 'constant', fill: 0 });
  }

  /** L2-normalised embeddings of face crops (any size; resized to the contract's), as a [N, D] tensor. */
  async embed(crops: readonly Image[]): Promise<Tensor<'float32'>> {
    this.live();
    if (!Array.isArray(crops)) throw new InvalidArgumentError('crops', crops, 'an array of images');
    const c = this.contract;
    const n = crops.length;
    if (n === 0) throw new InvalidArgumentError('crops', crops, 'at least one image');
    const per = c.size * c.size * 3;
    const batch = Math.min(this.options.batchSize ?? 16, c.maxBatch);
    const parts: Float32Array[] = [];
    let dim = -1;
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      const data = new Float32Array((end - start) * per);
      for (let i = start; i < end; i++) this.fill(checkImage(crops[i], `crops[${i}]`), data, (i - start) * per);
      const b = end - start;
      const shape = c.layout === 'NHWC' ? [b, c.size, c.size, 3] : [b, 3, c.size, c.size];
      const stride = [per, shape[2] * shape[3], shape[3], 1];
      const out = await this.embedder.run({ [c.inputName]: { dtype: 'float32', data, shape, stride, offset: 0 } });
      const t = out[c.outputName] as Tensor<'float32'>;
      if (!t || t.shape[0] !== b) throw new ShapeError(`output '${c.outputName}'`, t?.shape, `[${b}, D]`);
      const d = t.shape.slice(1).reduce((a, x) => a * x, 1);
      if (dim >= 0 && d !== dim) throw new ShapeError(`output '${c.outputName}'`, t.shape, `[${b}, ${dim}]`);
      dim = d;
      parts.push(Float32Array.from(denseData(t)));
    }
    const all = new Float32Array(n * dim);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = i * dim; j < (i + 1) * dim; j++) {
        if (!Number.isFinite(all[j])) throw new NonFiniteError(`embedding of crops[${i}]`, j - i * dim, all[j]);
        s += all[j] * all[j];
      }
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let j = i * dim; j < (i + 1) * dim; j++) all[j] *= inv;
    }
    return { dtype: 'float32', data: all, shape: [n, dim], stride: [dim, 1], offset: 0 };
  }

  /** Writes one crop into the batch buffer per the contract. */
  private fill(img: Image, out: Float32Array, offset: number): void {
    const c = this.contract;
    let rgb = img.channels === 3 ? img : convertChannels(img, 3);
    if (rgb.width !== c.size || rgb.height !== c.size) rgb = resizeImage(rgb, c.size, c.size);
    const [lo, hi] = c.range;
    const k = (hi - lo) / 255;
    const lut = new Float32Array(3 * 256);
    for (let ch = 0; ch < 3; ch++)
      for (let v = 0; v < 256; v++) lut[ch * 256 + v] = (lo + k * v - c.mean[ch]) / c.std[ch];
    const n = c.size * c.size;
    const d = rgb.data;
    if (c.layout === 'NHWC') for (let i = 0; i < 3 * n; i++) out[offset + i] = lut[(i % 3) * 256 + d[i]];
    else
      for (let ch = 0; ch < 3; ch++)
        for (let i = 0; i < n; i++) out[offset + ch * n + i] = lut[ch * 256 + d[3 * i + ch]];
  }

  /** detect → align → embed. Faces in detection order, each with its crop and embedding. */
  async process(image: Image, options: BlazeFaceDetectOptions = {}): Promise<EmbeddedFace[]> {
    const img = checkImage(image, 'image');
    const faces = await this.detect(img, options);
    if (faces.length === 0) return [];
    const crops = faces.map((f) => this.align(img, f));
    const emb = await this.embed(crops);
    const d = emb.shape[1];
    return faces.map((f, i) => ({ ...f, crop: crops[i], embedding: emb.data.slice(i * d, (i + 1) * d) }));
  }

  /** Releases the sessions this pipeline opened (models passed in as loaded objects are left to their owner). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.embedder.owned) await this.embedder.dispose();
    if (this.ownsDetector) await this.detector.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
