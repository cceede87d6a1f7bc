/**
 * Per-segment features (spec `gcdss.md` §3 Step 3): crop each segment's bounding box, fill the pixels outside the
 * segment with the crop's mean, resize, normalise, run an ONNX feature model in batches and L2-normalise its output.
 */
import {
  InvalidArgumentError,
  type Session,
  ShapeError,
  checkImage,
  convertChannels,
  createSession,
  denseData,
  imageToTensor,
  resizeImage,
  tensor,
  type Device,
  type Image,
  type Tensor,
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
  /** Side of the square model input. Default 224. */
  size?: number;
  /** Crops per model run. Default 16. */
  batchSize?: number;
  /** Per-channel mean and std applied after dividing by 255. Default ImageNet's. */
  mean?: ArrayLike<number>;
  std?: ArrayLike<number>;
  /** Model input / output names. Default: the model's first input and first output. */
  input?: string;
  output?: string;
  /** Device when `model` is a path or bytes (a `Session` keeps its own). Default 'auto'. */
  device?: Device;
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

/**
 * One L2-normalised feature per segment: for segments 1..count of `segments` (ids per pixel, 0 = none), the masked
 * crop is resized to `size`×`size` (core-tensor's half-pixel bilinear `resizeImage`; the official PIL resize
 * antialiases when shrinking, so values differ slightly), normalised per channel and fed to `model` as float32
 * [B, 3, size, size] in batches of `batchSize`. The chosen output must be [B, D]. Returns a float32 tensor
 * [count, D]. `model` is a core-tensor `Session`, or a path / ONNX bytes opened (and closed) here on `device`.
 */
export async function maskFeatures(
  img: Image,
  segments: ArrayLike<number>,
  count: number,
  model: Session | string | Uint8Array,
  options: FeatureOptions = {},
): Promise<Tensor<'float32'>> {
  const rgb = convertChannels(checkImage(img, 'img'), 3);
  const size = intOption('size', options.size, 224, 1);
  const batchSize = intOption('batchSize', options.batchSize, 16, 1);
  const scale = numOption('bboxScale', options.bboxScale, 0, 0, 100);
  const mean = options.mean ?? IMAGENET_MEAN;
  const std = options.std ?? IMAGENET_STD;
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError('count', count, 'a positive integer');
  const { width: W, height: H } = rgb;
  segmentIds(segments, W * H, count);
  const box = boxes(segments, W, H, count);
  // a Session by shape, not instanceof, so that a Session from another copy of core-tensor (ESM vs CJS) works too
  const given =
    typeof model === 'object' &&
    model !== null &&
    !(model instanceof Uint8Array) &&
    typeof (model as Session).run === 'function';
  const session = given
    ? (model as Session)
    : await createSession(model as string | Uint8Array, { device: options.device ?? 'auto' });
  try {
    const input = options.input ?? session.inputs[0]?.name;
    const output = options.output ?? session.outputs[0]?.name;
    if (!session.inputs.some((i) => i.name === input))
      throw new InvalidArgumentError('input', input, `one of ${session.inputs.map((i) => i.name).join(', ')}`);
    if (!session.outputs.some((o) => o.name === output))
      throw new InvalidArgumentError('output', output, `one of ${session.outputs.map((o) => o.name).join(', ')}`);
    const plane = 3 * size * size;
    let all: Float32Array | undefined;
    let D = 0;
    for (let start = 0; start < count; start += batchSize) {
      const B = Math.min(batchSize, count - start);
      const x = new Float32Array(B * plane);
      for (let b = 0; b < B; b++) {
        const s = start + b;
        const c = crop(rgb, segments, s + 1, box.subarray(s * 4, s * 4 + 4), scale);
        const t = imageToTensor(resizeImage(c, size, size), { mean, std });
        x.set(t.data as Float32Array, b * plane);
      }
      const result = await session.run({ [input!]: tensor(x, [B, 3, size, size]) }, { outputs: [output!] });
      const y = result[output!];
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
