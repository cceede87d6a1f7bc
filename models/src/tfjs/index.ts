/**
 * A tfjs graph-model → ONNX converter.
 *
 * ```ts
 * const { bytes, inputs, outputs, report } = await convertTfjsGraphModel('models/faceres.json', {
 *   inputShapes: { input_1: ['batch', 224, 224, 3] },
 *   inputNames: { input_1: 'input' },
 *   outputs: { 'global_pooling/Mean': 'embedding' },
 * });
 * ```
 *
 * The ONNX model keeps the tfjs model's contract at its boundary (same input/output shapes, NHWC images, same
 * dtypes); inside, image tensors run in NCHW, converted once after the input and back before a 4-D output.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CorruptFileError, FileNotFoundError, InvalidArgumentError, TrustVisionError } from '@trustvision/core-tensor';
import { convertTfjsGraph, type TfjsConversionResult, type TfjsConvertOptions } from './convert.js';
import { HANDLERS } from './ops.js';
import type { TfjsModelJson } from './types.js';

export { convertTfjsGraph } from './convert.js';
export type { ConvertedIO, TfjsConversionReport, TfjsConversionResult, TfjsConvertOptions } from './convert.js';
export { UnsupportedOpError } from './errors.js';
export { readWeights } from './weights.js';
export type { ConstTensor, WeightStats } from './weights.js';
export type * from './types.js';

/** The TF ops the converter translates, sorted. */
export function supportedTfjsOps(): string[] {
  return ['Const', 'Placeholder', ...Object.keys(HANDLERS)].sort();
}

/** A tfjs graph model in memory: the parsed (or raw) model.json and the weight shards (in manifest order). */
export interface TfjsGraphModelSource {
  modelJson: TfjsModelJson | string;
  weights: Uint8Array | ArrayBuffer | readonly Uint8Array[];
}

async function readOrThrow(param: string, file: string): Promise<Uint8Array> {
  try {
    const b = await readFile(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileNotFoundError(param, file);
    throw new TrustVisionError('E_IO', `cannot read ${file}: ${(e as Error).message}`, {
      param,
      value: file,
      cause: e,
    });
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function parseJson(text: string, source: string): TfjsModelJson {
  try {
    return JSON.parse(text) as TfjsModelJson;
  } catch (e) {
    throw new CorruptFileError('tfjs graph model.json', source, (e as Error).message, e);
  }
}

/**
 * Reads a tfjs graph model: `model` is the path of its model.json (shards are read from the paths in the manifest,
 * relative to it) or the model in memory.
 */
export async function readTfjsGraphModel(
  model: string | TfjsGraphModelSource,
): Promise<{ modelJson: TfjsModelJson; weights: Uint8Array; source: string }> {
  if (typeof model === 'string') {
    const text = new TextDecoder().decode(await readOrThrow('model', model));
    const modelJson = parseJson(text, model);
    const dir = path.dirname(model);
    const files = (modelJson.weightsManifest ?? []).flatMap((g) => g.paths ?? []);
    const shards: Uint8Array[] = [];
    for (const f of files) shards.push(await readOrThrow('weights', path.join(dir, f)));
    return { modelJson, weights: concat(shards), source: model };
  }
  if (!model || typeof model !== 'object' || model.modelJson === undefined)
    throw new InvalidArgumentError('model', model, 'a model.json path or { modelJson, weights }');
  const modelJson = typeof model.modelJson === 'string' ? parseJson(model.modelJson, 'model.json') : model.modelJson;
  const w = model.weights;
  const weights =
    w instanceof Uint8Array
      ? w
      : w instanceof ArrayBuffer
        ? new Uint8Array(w)
        : Array.isArray(w)
          ? concat(w)
          : undefined;
  if (!weights)
    throw new InvalidArgumentError('weights', w, 'a Uint8Array, an ArrayBuffer or an array of Uint8Array shards');
  return { modelJson, weights, source: 'model.json' };
}

/**
 * Converts a tfjs graph model (path of model.json, or `{ modelJson, weights }`) to ONNX.
 *
 * Errors: FileNotFoundError (model.json or a shard), CorruptFileError (malformed JSON, short shards),
 * UnsupportedOpError (an op or op variant the converter does not translate; names the op and the node),
 * UnsupportedFormatError (string/complex weights, non-graph formats), InvalidArgumentError (options).
 */
export async function convertTfjsGraphModel(
  model: string | TfjsGraphModelSource,
  options: TfjsConvertOptions = {},
): Promise<TfjsConversionResult> {
  const { modelJson, weights, source } = await readTfjsGraphModel(model);
  return convertTfjsGraph(modelJson, weights, { source, ...options });
}
