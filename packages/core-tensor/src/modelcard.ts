/**
 * Model cards: a JSON sidecar per `.onnx` (`model.onnx` → `model.card.json`) that states the model's contract —
 * inputs/outputs with dtype, shape, layout and value range, preprocessing, provenance and the file's sha256 — so a
 * package can check, before running anything, that the file it loaded is the model it expects.
 */
import { InvalidArgumentError, ModelCardError, ShapeError } from './errors.js';
import { checkImage, convertChannels, imageToTensor, type Image } from './image.js';
import { inspectModel, type ModelSummary } from './onnx/graph.js';
import { resizeImage } from './resize.js';
import type { Session } from './session.js';
import { isDType, tensor, type DType, type Tensor } from './tensor.js';

export const MODEL_CARD_SCHEMA = 'trustvision.modelcard/1';

export interface ModelCardIO {
  name: string;
  dtype: DType;
  /** Numbers for fixed dims, strings for symbolic ones (e.g. 'batch'). */
  shape: (number | string)[];
  /** e.g. 'NCHW', 'NHWC', 'NC'. */
  layout?: string;
  /** Value range the model expects or produces, e.g. [0, 1]. */
  range?: [number, number];
  description?: string;
}

export interface ModelCardProvenance {
  /** Where the weights come from (npm package and version, training script, paper). */
  source: string;
  license: string;
  /** How the .onnx was produced (converter, export script, command). */
  method?: string;
  /** True for a stand-in trained by this project instead of the paper's model. */
  standIn?: boolean;
  /** Training data, when the project trained it. */
  data?: string;
  createdAt?: string;
}

export interface ModelCard {
  schema: typeof MODEL_CARD_SCHEMA;
  name: string;
  version: string;
  task: string;
  description?: string;
  /** File name of the model, relative to the card. */
  file: string;
  /** Lower-case hex sha256 of the .onnx file. */
  sha256: string;
  inputs: ModelCardIO[];
  outputs: ModelCardIO[];
  /** Free-form preprocessing contract: size, colour order, mean/std, alignment... */
  preprocessing?: Record<string, unknown>;
  provenance: ModelCardProvenance;
  /** Evaluation figures with the command that produced them. */
  metrics?: Record<string, unknown>;
  opset?: number;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Checks a parsed card's structure; throws ModelCardError naming the first bad field. Returns the card typed. */
export function validateModelCard(card: unknown): ModelCard {
  if (!isObj(card)) throw new ModelCardError('card', card, 'a JSON object');
  if (card.schema !== MODEL_CARD_SCHEMA) throw new ModelCardError('schema', card.schema, `'${MODEL_CARD_SCHEMA}'`);
  for (const key of ['name', 'version', 'task', 'file'] as const)
    if (typeof card[key] !== 'string' || card[key] === '')
      throw new ModelCardError(key, card[key], 'a non-empty string');
  if (typeof card.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(card.sha256))
    throw new ModelCardError('sha256', card.sha256, '64 lower-case hex digits');
  for (const side of ['inputs', 'outputs'] as const) {
    const list = card[side];
    if (!Array.isArray(list) || list.length === 0) throw new ModelCardError(side, list, 'a non-empty array');
    list.forEach((io: unknown, i) => {
      const at = `${side}[${i}]`;
      if (!isObj(io)) throw new ModelCardError(at, io, 'an object');
      if (typeof io.name !== 'string' || !io.name)
        throw new ModelCardError(`${at}.name`, io.name, 'a non-empty string');
      if (!isDType(io.dtype)) throw new ModelCardError(`${at}.dtype`, io.dtype, 'a dtype such as float32');
      if (
        !Array.isArray(io.shape) ||
        !io.shape.every((d) => (Number.isInteger(d) && (d as number) >= 0) || (typeof d === 'string' && d))
      )
        throw new ModelCardError(`${at}.shape`, io.shape, 'an array of non-negative integers and dimension names');
      if (io.range !== undefined) {
        const r = io.range;
        if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isFinite) || (r[0] as number) > (r[1] as number))
          throw new ModelCardError(`${at}.range`, r, '[min, max] with min <= max');
      }
    });
  }
  if (!isObj(card.provenance)) throw new ModelCardError('provenance', card.provenance, 'an object');
  for (const key of ['source', 'license'] as const)
    if (typeof card.provenance[key] !== 'string' || !card.provenance[key])
      throw new ModelCardError(`provenance.${key}`, card.provenance[key], 'a non-empty string');
  return card as unknown as ModelCard;
}

/** Parses card JSON text; malformed JSON is a ModelCardError. */
export function parseModelCard(text: string): ModelCard {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ModelCardError('card', text.slice(0, 40), 'valid JSON', (e as Error).message);
  }
  return validateModelCard(parsed);
}

/** Lower-case hex SHA-256 (WebCrypto, in Node and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new ModelCardError('crypto', undefined, 'WebCrypto (crypto.subtle)');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as unknown as ArrayBuffer));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Checks model bytes against a card: sha256 and declared I/O. */
export async function checkModelAgainstCard(
  bytes: Uint8Array,
  card: ModelCard,
  source = card.file,
): Promise<ModelSummary> {
  const hash = await sha256Hex(bytes);
  if (hash !== card.sha256)
    throw new ModelCardError('sha256', hash, card.sha256, `${source} is not the file this card describes`);
  const summary = inspectModel(bytes, source);
  compareIO(card, summary.inputs, summary.outputs);
  return summary;
}

/** Checks a live session's inputs/outputs against the card. */
export function checkSessionAgainstCard(session: Session, card: ModelCard): void {
  compareIO(card, session.inputs, session.outputs);
}

function compareIO(
  card: ModelCard,
  inputs: readonly { name: string; dtype: string; shape?: (number | string | null)[] }[],
  outputs: readonly { name: string; dtype: string; shape?: (number | string | null)[] }[],
): void {
  for (const [side, declared, actual] of [
    ['inputs', card.inputs, inputs],
    ['outputs', card.outputs, outputs],
  ] as const) {
    const names = actual.map((a) => a.name);
    if (declared.length !== actual.length || declared.some((d) => !names.includes(d.name)))
      throw new ModelCardError(
        side,
        declared.map((d) => d.name),
        `the model's ${side}: ${names.join(', ')}`,
      );
    declared.forEach((d, i) => {
      const a = actual.find((x) => x.name === d.name)!;
      const at = `${side}[${i}]`;
      if (a.dtype !== d.dtype)
        throw new ModelCardError(`${at}.dtype`, d.dtype, `the model's ${a.dtype} for '${d.name}'`);
      if (a.shape) {
        const mismatch =
          a.shape.length !== d.shape.length ||
          d.shape.some((dim, j) => typeof dim === 'number' && typeof a.shape![j] === 'number' && a.shape![j] !== dim);
        if (mismatch)
          throw new ModelCardError(
            `${at}.shape`,
            d.shape,
            `compatible with the model's [${a.shape.map((x) => x ?? '?').join(', ')}] for '${d.name}'`,
          );
      }
    });
  }
}

/**
 * Drafts a card for model bytes: sha256 and I/O read from the file; the caller supplies the rest.
 */
export async function draftModelCard(
  bytes: Uint8Array,
  fields: Pick<ModelCard, 'name' | 'version' | 'task' | 'file' | 'provenance'> & Partial<ModelCard>,
): Promise<ModelCard> {
  const summary = inspectModel(bytes, fields.file);
  const io = (list: ModelSummary['inputs'], extra?: ModelCardIO[]): ModelCardIO[] =>
    list.map((v) => {
      if (!isDType(v.dtype)) throw new ModelCardError('dtype', v.dtype, 'a numeric dtype', `for '${v.name}'`);
      const given = extra?.find((e) => e.name === v.name);
      return { name: v.name, dtype: v.dtype, shape: (v.shape ?? []).map((d, i) => d ?? `d${i}`), ...given };
    });
  const card: ModelCard = {
    schema: MODEL_CARD_SCHEMA,
    ...fields,
    sha256: await sha256Hex(bytes),
    inputs: io(summary.inputs, fields.inputs),
    outputs: io(summary.outputs, fields.outputs),
    opset: summary.opsets['ai.onnx'],
  };
  return validateModelCard(card);
}

/** `model.onnx` → `model.card.json`. */
export function cardPathFor(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, '') + '.card.json';
}

/**
 * A batch of 8-bit images as a model's image input: the input's [N, C, H, W] (NCHW, the default) or [N, H, W, C]
 * (NHWC) layout and value range come from its card entry when there is one, else from the declared shape `info`.
 * Each image is converted to C channels (1, 3 or 4) and resized (bilinear) to H × W when needed; a range whose top
 * is above 1 means pixel values 0..255, otherwise pixel / 255.
 */
export function imagesToModelInput(
  images: readonly Image[],
  info: { name: string; shape?: readonly (number | string | null)[] },
  cardInput?: ModelCardIO,
): Tensor<'float32'> {
  if (!Array.isArray(images) || images.length === 0) throw new ShapeError('images', '[]', 'at least one image');
  const shape = (cardInput?.shape ?? info.shape ?? []) as (number | string | null)[];
  const layout = (cardInput?.layout ?? 'NCHW').toUpperCase();
  if (shape.length !== 4 || (layout !== 'NCHW' && layout !== 'NHWC'))
    throw new InvalidArgumentError(
      'images',
      'images',
      `a model with an image input (input '${info.name}' is ${JSON.stringify(shape)}, ${layout}); pass a tensor`,
    );
  const [c, h, w] = layout === 'NCHW' ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]];
  if (typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number' || ![1, 3, 4].includes(c))
    throw new InvalidArgumentError(
      'images',
      'images',
      `a model with a fixed [C, H, W] image input, C in 1, 3, 4 (input '${info.name}' is ${JSON.stringify(shape)}); pass a tensor`,
    );
  const scale = (cardInput?.range?.[1] ?? 1) > 1 ? '0-255' : '0-1';
  const per = c * h * w;
  const out = new Float32Array(images.length * per);
  images.forEach((img, i) => {
    let im = convertChannels(checkImage(img, `images[${i}]`), c as 1 | 3 | 4);
    if (im.width !== w || im.height !== h) im = resizeImage(im, w, h);
    out.set(imageToTensor(im, { layout: layout === 'NCHW' ? 'chw' : 'hwc', scale }).data, i * per);
  });
  return tensor(out, [images.length, ...(layout === 'NCHW' ? [c, h, w] : [h, w, c])]);
}
