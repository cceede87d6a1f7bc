/**
 * Per-segment features (spec `gcdss.md` §3 Step 3): crop each segment's bounding box, fill the pixels outside the
 * segment with the crop's mean, resize, normalise, run an ONNX feature model in batches and L2-normalise its output.
 */
import {
  DTypeError,
  FileNotFoundError,
  InvalidArgumentError,
  ModelCardError,
  type IOInfo,
  type ModelCard,
  type Session,
  ShapeError,
  cardPathFor,
  checkImage,
  checkModelAgainstCard,
  checkSessionAgainstCard,
  convertChannels,
  createSession,
  denseData,
  imageToTensor,
  parseModelCard,
  resizeImage,
  tensor,
  type Device,
  type Image,
  type Tensor,
  validateModelCard,
} from '@trustvision/core-tensor';
import { intOption, l2NormalizeRows, numOption } from './validate.js';

/** ImageNet normalisation, as the official DINOv2 path uses. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

export interface MaskedCropOptions {
  /** Grow the tight box by this fraction of its height / width on each side (official `bbox_scale`). Default 0. */
  bboxScale?: number;
}

export interface FeatureOptions extends MaskedCropOptions {
  /**
   * Model input height and width (one number for a square). Default: the model's fixed spatial dims, else the card's
   * `preprocessing.size`, else 224. Must agree with the dims the model fixes (`ShapeError` otherwise).
   */
  size?: number | readonly [number, number];
  /** Channels fed (1 = grey, 3 = RGB). Default: the model's fixed channel dim, else the card's colour, else 3. */
  channels?: 1 | 3;
  /** Input layout. Default: the card's, else inferred from the declared shape (a fixed 1 or 3 in dim 1 → NCHW). */
  layout?: 'NCHW' | 'NHWC';
  /** Value range bytes 0..255 map onto (linearly) before `mean`/`std`. Default: the card's, else [0, 1]. */
  range?: readonly [number, number];
  /** Crops per model run. Default 16. */
  batchSize?: number;
  /**
   * Per-channel mean and std applied on the `range` scale, in the model's channel order. Default: the card's
   * normalisation, else ImageNet's (averaged with the grey weights 0.299, 0.587, 0.114 for one channel).
   */
  mean?: ArrayLike<number>;
  std?: ArrayLike<number>;
  /** Model input / output names. Default: the model's first input and first output. */
  input?: string;
  output?: string;
  /**
   * The model card (an object, or the path of a card file): its input entry and `preprocessing` supply layout,
   * colour, size, range and normalisation; explicit options override them. Default: a `LoadedModel`'s card, or
   * `<model>.card.json` next to a model given by path when that file exists. `false`: no card.
   */
  card?: ModelCard | string | false;
  /** Device when `model` is a path or bytes (a `Session` keeps its own). Default 'auto'. */
  device?: Device;
}

/** What `maskFeatures` feeds the model, resolved from the model's declared input, its card and the options. */
export interface FeatureInput {
  input: string;
  output: string;
  layout: 'NCHW' | 'NHWC';
  channels: 1 | 3;
  /** True when the card declares BGR: channels are fed in B, G, R order. */
  bgr: boolean;
  height: number;
  width: number;
  range: [number, number];
  mean: number[];
  std: number[];
}

const GREY = [0.299, 0.587, 0.114];
const dot3 = (v: readonly number[]) => v[0] * GREY[0] + v[1] * GREY[1] + v[2] * GREY[2];
type Dim = number | string | null | undefined;
const fixedDim = (d: Dim): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function pair(param: string, v: unknown, fromCard: boolean): [number, number] | undefined {
  if (v === undefined) return undefined;
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : undefined;
  if (!p || !p.every((x) => Number.isInteger(x) && x >= 1)) {
    if (fromCard) throw new ModelCardError(param, v, 'a positive integer or [height, width]');
    throw new InvalidArgumentError(param, v, 'a positive integer or [height, width]');
  }
  return [p[0], p[1]];
}

function vector(param: string, v: ArrayLike<number>, n: number, positive: boolean, fromCard: boolean): number[] {
  const a = v && typeof v === 'object' && typeof v.length === 'number' ? Array.from(v) : undefined;
  const ok = a && a.length === n && a.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!ok) {
    const want = `${n} finite${positive ? ' positive' : ''} number${n > 1 ? 's' : ''} (one per channel fed)`;
    if (fromCard) throw new ModelCardError(param, v, want);
    throw new InvalidArgumentError(param, v, want);
  }
  return a!;
}

/**
 * Resolves what `maskFeatures` feeds a model: input / output names, layout, channels, height × width, value range
 * and normalisation, from (in this order) the explicit options, the model card (`card.inputs[]` entry: shape, layout,
 * range; `card.preprocessing`: layout, colour, size, range, mean / std or normalisation) and the model's declared
 * input shape; the defaults are NCHW, 3 channels, 224 × 224, [0, 1] and ImageNet mean / std. Dims the model fixes
 * always win: an option that contradicts them is a `ShapeError` (param 'size', 'channels' or 'layout'), a card that
 * does a `ModelCardError`.
 */
export function resolveFeatureInput(
  inputs: readonly IOInfo[],
  outputs: readonly IOInfo[],
  options: FeatureOptions = {},
  card?: ModelCard,
): FeatureInput {
  const input = options.input ?? inputs[0]?.name;
  const output = options.output ?? outputs[0]?.name;
  const info = inputs.find((i) => i.name === input);
  if (!info) throw new InvalidArgumentError('input', input, `one of ${inputs.map((i) => i.name).join(', ')}`);
  if (!outputs.some((o) => o.name === output))
    throw new InvalidArgumentError('output', output, `one of ${outputs.map((o) => o.name).join(', ')}`);
  if (info.dtype !== 'float32') throw new DTypeError(`input '${input}'`, info.dtype, 'float32 (an image input)');
  const cardIO = card?.inputs.find((i) => i.name === input);
  const pre = isObj(card?.preprocessing) ? card!.preprocessing! : {};
  const shape: Dim[] | undefined = info.shape ?? cardIO?.shape;
  const desc = `input '${input}' [${(shape ?? []).map((d) => d ?? '?').join(', ')}]`;
  if (shape && shape.length !== 4)
    throw new ShapeError(`input '${input}'`, `[${shape.join(', ')}]`, '[batch, C, H, W] or [batch, H, W, C]');

  // layout: option, card input entry, card preprocessing, else from the shape (a fixed 1 or 3 in dim 1 → NCHW)
  const cardLayoutRaw = cardIO?.layout ?? pre.layout;
  let cardLayout: 'NCHW' | 'NHWC' | undefined;
  if (cardLayoutRaw !== undefined) {
    const l = typeof cardLayoutRaw === 'string' ? cardLayoutRaw.toUpperCase() : cardLayoutRaw;
    if (l !== 'NCHW' && l !== 'NHWC')
      throw new ModelCardError(
        cardIO?.layout !== undefined ? 'inputs[].layout' : 'preprocessing.layout',
        cardLayoutRaw,
        "'NCHW' or 'NHWC'",
      );
    cardLayout = l;
  }
  if (options.layout !== undefined && options.layout !== 'NCHW' && options.layout !== 'NHWC')
    throw new InvalidArgumentError('layout', options.layout, "'NCHW' or 'NHWC'");
  if (options.layout !== undefined && cardLayout !== undefined && options.layout !== cardLayout)
    throw new ShapeError(
      'layout',
      options.layout,
      `'${cardLayout}'`,
      `the model card declares ${desc} as ${cardLayout}`,
    );
  const oneOrThree = (d: Dim) => d === 1 || d === 3;
  const layout =
    options.layout ?? cardLayout ?? (shape && !oneOrThree(shape[1]) && oneOrThree(shape[3]) ? 'NHWC' : 'NCHW');
  const [cDim, hDim, wDim] = (layout === 'NCHW' ? [1, 2, 3] : [3, 1, 2]).map((i) => fixedDim(shape?.[i]));
  if (cDim !== undefined && cDim !== 1 && cDim !== 3) {
    const param = options.layout !== undefined ? 'layout' : `input '${input}'`;
    throw new ShapeError(param, layout, `a layout whose channel dim is 1 or 3`, `${desc} has ${cDim} there`);
  }

  // channels: option, the model's fixed dim, the card's colour, else 3
  const colourRaw = pre.colour ?? pre.color;
  let cardChannels: 1 | 3 | undefined;
  let bgr = false;
  if (colourRaw !== undefined) {
    const c = typeof colourRaw === 'string' ? colourRaw.toLowerCase() : '';
    if (['grayscale', 'greyscale', 'gray', 'grey', 'l'].includes(c)) cardChannels = 1;
    else if (c === 'rgb' || c === 'bgr') {
      cardChannels = 3;
      bgr = c === 'bgr';
    } else throw new ModelCardError('preprocessing.colour', colourRaw, "'RGB', 'BGR' or 'grayscale'");
    if (cDim !== undefined && cardChannels !== cDim)
      throw new ModelCardError('preprocessing.colour', colourRaw, `a colour with ${cDim} channel(s), as ${desc} fixes`);
  }
  if (options.channels !== undefined && options.channels !== 1 && options.channels !== 3)
    throw new InvalidArgumentError('channels', options.channels, '1 or 3');
  if (options.channels !== undefined && cDim !== undefined && options.channels !== cDim)
    throw new ShapeError('channels', options.channels, `${cDim}`, `${desc} fixes ${cDim} channel(s) (${layout})`);
  const channels = (options.channels ?? cDim ?? cardChannels ?? 3) as 1 | 3;
  if (channels === 1) bgr = false;

  // height × width: the model's fixed dims, else option, card, 224
  const optSize = pair('size', options.size, false);
  const cardSize = pair('preprocessing.size', pre.size, true);
  for (const [k, d] of [
    [0, hDim],
    [1, wDim],
  ] as const) {
    if (d === undefined) continue;
    if (optSize && optSize[k] !== d)
      throw new ShapeError('size', options.size, `${hDim ?? 'H'} × ${wDim ?? 'W'}`, `${desc} fixes it (${layout})`);
    if (cardSize && cardSize[k] !== d)
      throw new ModelCardError('preprocessing.size', pre.size, `${hDim ?? 'H'} × ${wDim ?? 'W'}, as ${desc} fixes`);
  }
  const height = hDim ?? optSize?.[0] ?? cardSize?.[0] ?? 224;
  const width = wDim ?? optSize?.[1] ?? cardSize?.[1] ?? 224;

  // range: option, card input entry, card preprocessing, [0, 1]
  const rangeRaw = options.range ?? cardIO?.range ?? pre.range;
  let range: [number, number] = [0, 1];
  if (rangeRaw !== undefined) {
    const r = rangeRaw as unknown;
    if (
      !Array.isArray(r) ||
      r.length !== 2 ||
      !r.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
      !(r[0] < r[1])
    ) {
      if (options.range !== undefined) throw new InvalidArgumentError('range', r, '[lo, hi], finite, lo < hi');
      throw new ModelCardError(
        cardIO?.range !== undefined ? 'inputs[].range' : 'preprocessing.range',
        r,
        '[lo, hi], finite, lo < hi',
      );
    }
    range = [r[0], r[1]];
  }

  // normalisation: options, card mean/std, card normalisation ({ mean, std } | 'none' | 'inside the graph…' |
  // '…ImageNet…'), ImageNet
  const span = range[1] - range[0];
  const imagenet = (): [number[], number[]] => {
    let m = [...IMAGENET_MEAN];
    let s = [...IMAGENET_STD];
    if (bgr) [m, s] = [m.reverse(), s.reverse()];
    if (channels === 1) [m, s] = [[dot3(IMAGENET_MEAN)], [dot3(IMAGENET_STD)]];
    return [m.map((v) => v * span + range[0]), s.map((v) => v * span)];
  };
  let cardMean: ArrayLike<number> | undefined;
  let cardStd: ArrayLike<number> | undefined;
  let cardNorm: [number[], number[]] | undefined;
  const norm = pre.normalisation ?? pre.normalization;
  const normKey = pre.normalisation !== undefined ? 'preprocessing.normalisation' : 'preprocessing.normalization';
  if (pre.mean !== undefined || pre.std !== undefined) {
    cardMean = pre.mean as ArrayLike<number>;
    cardStd = pre.std as ArrayLike<number>;
  } else if (isObj(norm)) {
    cardMean = norm.mean as ArrayLike<number>;
    cardStd = norm.std as ArrayLike<number>;
  } else if (norm !== undefined && (options.mean === undefined || options.std === undefined)) {
    const text = typeof norm === 'string' ? norm.toLowerCase() : '';
    if (/^\s*none\b/.test(text) || /inside the (onnx )?graph/.test(text))
      cardNorm = [new Array<number>(channels).fill(0), new Array<number>(channels).fill(1)];
    else if (/imagenet/.test(text)) cardNorm = imagenet();
    else
      throw new ModelCardError(
        normKey,
        norm,
        "{ mean, std }, 'none', 'inside the graph…' or a text naming ImageNet",
        'or pass the mean and std options',
      );
  }
  const [defMean, defStd] = cardNorm ?? imagenet();
  const pick = (
    key: 'mean' | 'std',
    opt: ArrayLike<number> | undefined,
    fromCard: ArrayLike<number> | undefined,
    dflt: number[],
  ) => {
    if (opt !== undefined) return vector(key, opt, channels, key === 'std', false);
    if (fromCard !== undefined) return vector(`preprocessing.${key}`, fromCard, channels, key === 'std', true);
    return dflt;
  };
  const mean = pick('mean', options.mean, cardMean, defMean);
  const std = pick('std', options.std, cardStd, defStd);
  return { input: input!, output: output!, layout, channels, bgr, height, width, range, mean, std };
}

function segmentIds(segments: ArrayLike<number>, n: number, count: number): void {
  if (!segments || typeof segments !== 'object' || segments.length !== n)
    throw new ShapeError('segments', `${segments?.length} pixels`, `${n} pixels (one id per image pixel)`);
  for (let i = 0; i < n; i++) {
    const s = segments[i];
    if (!Number.isInteger(s) || s < 0 || s > count)
      throw new InvalidArgumentError('segments', `id ${s} at pixel ${i}`, `a segment id in [0, ${count}]`);
  }
}

/** Tight boxes [x0, y0, x1, y1] (inclusive) of segments 1..count; an empty segment is an error. */
function boxes(segments: ArrayLike<number>, w: number, h: number, count: number): Int32Array {
  const b = new Int32Array(count * 4);
  for (let s = 0; s < count; s++) b.set([w, h, -1, -1], s * 4);
  for (let y = 0, i = 0; y < h; y++)
    for (let x = 0; x < w; x++, i++) {
      const s = segments[i];
      if (s === 0) continue;
      const o = (s - 1) * 4;
      if (x < b[o]) b[o] = x;
      if (y < b[o + 1]) b[o + 1] = y;
      if (x > b[o + 2]) b[o + 2] = x;
      if (y > b[o + 3]) b[o + 3] = y;
    }
  for (let s = 0; s < count; s++)
    if (b[s * 4 + 2] < 0)
      throw new InvalidArgumentError(`segments`, `segment ${s + 1} has no pixels`, `ids 1..${count} all present`);
  return b;
}

function crop(img: Image, segments: ArrayLike<number>, id: number, box: ArrayLike<number>, scale: number): Image {
  const { width: W, height: H, data } = img;
  const bw = box[2] - box[0] + 1;
  const bh = box[3] - box[1] + 1;
  const x0 = Math.max(0, Math.trunc(box[0] - scale * bw));
  const y0 = Math.max(0, Math.trunc(box[1] - scale * bh));
  const x1 = Math.min(W, Math.trunc(box[2] + scale * bw + 1));
  const y1 = Math.min(H, Math.trunc(box[3] + scale * bh + 1));
  const cw = x1 - x0;
  const ch = y1 - y0;
  const out = new Uint8Array(cw * ch * 3);
  let sum = 0;
  for (let y = 0; y < ch; y++) {
    const src = ((y0 + y) * W + x0) * 3;
    const row = data.subarray(src, src + cw * 3);
    out.set(row, y * cw * 3);
    for (let j = 0; j < row.length; j++) sum += row[j];
  }
  const fill = Math.trunc(sum / out.length); // numpy: a float mean stored into uint8 truncates
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++)
      if (segments[(y0 + y) * W + x0 + x] !== id) out.fill(fill, (y * cw + x) * 3, (y * cw + x) * 3 + 3);
  return { width: cw, height: ch, channels: 3, data: out };
}

/**
 * The masked crop of segment `id` (1-based) of an 8-bit image: its bounding box (grown by `bboxScale`, clipped),
 * with every pixel outside the segment set to the crop's mean over all its pixels and channels, truncated to a byte.
 * Gray and RGBA images are converted to RGB first.
 */
export function maskedCrop(
  img: Image,
  segments: ArrayLike<number>,
  id: number,
  options: MaskedCropOptions = {},
): Image {
  const rgb = convertChannels(checkImage(img, 'img'), 3);
  const scale = numOption('bboxScale', options.bboxScale, 0, 0, 100);
  if (!Number.isInteger(id) || id < 1) throw new InvalidArgumentError('id', id, 'a segment id >= 1');
  const N = rgb.width * rgb.height;
  if (!segments || typeof segments !== 'object' || segments.length !== N)
    throw new ShapeError('segments', `${segments?.length} pixels`, `${N} pixels (one id per image pixel)`);
  const mask = new Int32Array(N);
  for (let i = 0; i < N; i++) mask[i] = segments[i] === id ? 1 : 0;
  return crop(rgb, segments, id, boxes(mask, rgb.width, rgb.height, 1), scale);
}

/** A core-tensor `LoadedModel` (or anything with a session and its card). */
interface SessionWithCard {
  session: Session;
  card?: ModelCard;
}

// a Session by shape, not instanceof, so that a Session from another copy of core-tensor (ESM vs CJS) works too
const isSession = (m: unknown): m is Session =>
  typeof m === 'object' &&
  m !== null &&
  !(m instanceof Uint8Array) &&
  typeof (m as Session).run === 'function' &&
  Array.isArray((m as Session).inputs);
const isLoaded = (m: unknown): m is SessionWithCard =>
  typeof m === 'object' && m !== null && !(m instanceof Uint8Array) && isSession((m as SessionWithCard).session);

/** A text file's contents; a missing file is `undefined` when `optional`, else a FileNotFoundError naming `param`. */
async function readText(param: string, file: string, optional: boolean): Promise<string | undefined> {
  const fs = await import('node:fs/promises');
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    if (optional) return undefined;
    throw new FileNotFoundError(param, file);
  }
}

/**
 * One L2-normalised feature per segment: for segments 1..count of `segments` (ids per pixel, 0 = none), the masked
 * crop (RGB) is converted to the channels the model takes (grey: round(0.299 R + 0.587 G + 0.114 B)), resized to its
 * height × width (core-tensor's half-pixel bilinear `resizeImage`; the official PIL resize antialiases when
 * shrinking, so values differ slightly), mapped from bytes onto `range`, normalised per channel and fed to `model` as
 * float32 [B, C, H, W] or [B, H, W, C] in batches of `batchSize`; `resolveFeatureInput` says how the model's declared
 * input, its card and the options decide C, H, W, layout, range and normalisation (a model with dynamic spatial dims
 * and no card gets 3 × 224 × 224, ImageNet mean / std, as the official DINOv2 path). The chosen output must be
 * [B, D]. Returns a float32 tensor [count, D]. `model` is a core-tensor `Session` or `LoadedModel` (kept open), or a
 * path / ONNX bytes opened (and closed) here on `device`.
 */
export async function maskFeatures(
  img: Image,
  segments: ArrayLike<number>,
  count: number,
  model: Session | SessionWithCard | string | Uint8Array,
  options: FeatureOptions = {},
): Promise<Tensor<'float32'>> {
  const rgb = convertChannels(checkImage(img, 'img'), 3);
  const batchSize = intOption('batchSize', options.batchSize, 16, 1);
  const scale = numOption('bboxScale', options.bboxScale, 0, 0, 100);
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError('count', count, 'a positive integer');
  const { width: W, height: H } = rgb;
  segmentIds(segments, W * H, count);
  const box = boxes(segments, W, H, count);
  let card: ModelCard | undefined;
  let fromFile = false;
  if (typeof options.card === 'string') {
    card = parseModelCard((await readText('card', options.card, false))!);
    fromFile = true;
  } else if (options.card !== undefined && options.card !== false) card = validateModelCard(options.card);
  else if (options.card === undefined && isLoaded(model)) card = model.card;
  else if (options.card === undefined && typeof model === 'string') {
    const text = await readText('card', cardPathFor(model), true);
    if (text !== undefined) {
      card = parseModelCard(text);
      fromFile = true;
    }
  }
  const given = isSession(model) || isLoaded(model);
  let bytes: Uint8Array | undefined;
  if (!given && card && fromFile) {
    // a card read from disk must describe these bytes (sha256 and I/O)
    if (typeof model === 'string') {
      const fs = await import('node:fs/promises');
      bytes = new Uint8Array(
        await fs.readFile(model).catch((e: NodeJS.ErrnoException) => {
          throw e.code === 'ENOENT' || e.code === 'ENOTDIR' ? new FileNotFoundError('model', model) : e;
        }),
      );
    } else bytes = model as Uint8Array;
    await checkModelAgainstCard(bytes, card, typeof model === 'string' ? model : card.file);
  }
  const session = given
    ? isLoaded(model)
      ? model.session
      : (model as Session)
    : await createSession(bytes ?? (model as string | Uint8Array), { device: options.device ?? 'auto' });
  try {
    if (card) checkSessionAgainstCard(session, card);
    const spec = resolveFeatureInput(session.inputs, session.outputs, options, card);
    const { input, output, layout, channels, height: h, width: w, range, bgr } = spec;
    // bytes v → ((v / 255)·(hi − lo) + lo − mean) / std, as imageToTensor's (v / 255 − mean') / std'
    const span = range[1] - range[0];
    const mean = spec.mean.map((m) => (m - range[0]) / span);
    const std = spec.std.map((s) => s / span);
    const plane = channels * h * w;
    const batchShape = (B: number) => (layout === 'NCHW' ? [B, channels, h, w] : [B, h, w, channels]);
    let all: Float32Array | undefined;
    let D = 0;
    for (let start = 0; start < count; start += batchSize) {
      const B = Math.min(batchSize, count - start);
      const x = new Float32Array(B * plane);
      for (let b = 0; b < B; b++) {
        const s = start + b;
        let c = crop(rgb, segments, s + 1, box.subarray(s * 4, s * 4 + 4), scale);
        if (channels === 1) c = convertChannels(c, 1);
        else if (bgr) c = swapRB(c);
        const t = imageToTensor(resizeImage(c, w, h), { mean, std, layout: layout === 'NCHW' ? 'chw' : 'hwc' });
        x.set(t.data as Float32Array, b * plane);
      }
      const result = await session.run({ [input]: tensor(x, batchShape(B)) }, { outputs: [output] });
      const y = result[output];
      if (y.dtype !== 'float32' || y.shape.length !== 2 || y.shape[0] !== B)
        throw new ShapeError(`output '${output}'`, `${y.dtype} [${y.shape.join(', ')}]`, `float32 [${B}, D]`);
      if (!all) {
        D = y.shape[1];
        all = new Float32Array(count * D);
      } else if (y.shape[1] !== D)
        throw new ShapeError(`output '${output}'`, `[${y.shape.join(', ')}]`, `[${B}, ${D}]`);
      all.set(denseData(y as Tensor<'float32'>), start * D);
    }
    return tensor(l2NormalizeRows('features', all!, count, D), [count, D]);
  } finally {
    if (!given) await session.dispose();
  }
}

function swapRB(img: Image): Image {
  const d = Uint8Array.from(img.data);
  for (let i = 0; i < d.length; i += 3) [d[i], d[i + 2]] = [d[i + 2], d[i]];
  return { ...img, data: d };
}
