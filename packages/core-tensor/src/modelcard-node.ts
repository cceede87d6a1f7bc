/**
 * Loading a model together with its card from disk (Node).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FileNotFoundError, TrustVisionError } from './errors.js';
import { modelSearchPath } from './model-path.js';
import {
  cardPathFor,
  checkModelAgainstCard,
  checkSessionAgainstCard,
  parseModelCard,
  type ModelCard,
} from './modelcard.js';
import { createSession, type CreateSessionOptions, type Feeds, type RunOptions, type Session } from './session.js';
import type { Tensor } from './tensor.js';

export interface LoadModelOptions extends CreateSessionOptions {
  /** Extra folders to search when a model is given by name. */
  dirs?: string[];
  /** Card path (default: `<model>.card.json`), a card object, or false to load without one. */
  card?: string | ModelCard | false;
}

/** A session plus the card that describes it. */
export interface LoadedModel {
  readonly session: Session;
  readonly card: ModelCard | undefined;
  readonly path: string;
  run(feeds: Feeds, options?: RunOptions): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function readOrThrow(param: string, path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileNotFoundError(param, path);
    throw new TrustVisionError('E_IO', `cannot read ${path}: ${(e as Error).message}`, {
      param,
      value: path,
      cause: e,
    });
  }
}

/**
 * The path of a model: `nameOrPath` itself when it names a file (contains a path separator or ends in .onnx), else
 * `<dir>/<name>.onnx` in the first folder of `modelSearchPath` that has it. A missing model is a FileNotFoundError
 * that says how to build it.
 */
export function resolveModel(nameOrPath: string, dirs: readonly string[] = []): string {
  if (nameOrPath.includes('/') || nameOrPath.includes(path.sep) || nameOrPath.endsWith('.onnx')) return nameOrPath;
  const search = modelSearchPath(dirs);
  for (const dir of search) {
    const file = path.join(dir, `${nameOrPath}.onnx`);
    if (existsSync(file)) return file;
  }
  const err = new FileNotFoundError('model', nameOrPath);
  err.message =
    `model '${nameOrPath}' not found in ${search.join(', ')}. Build the reference models with \`npm run models\` ` +
    `in the TrustVision repository (or set TRUSTVISION_MODELS to a folder holding ${nameOrPath}.onnx and its card).`;
  throw err;
}

/**
 * Loads `path` (an .onnx file, or a model name resolved by `resolveModel`) and its card, checks the file's sha256 and I/O against the card, creates a session on
 * the requested device and checks the session's I/O against the card too.
 */
export async function loadModel(nameOrPath: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const file = resolveModel(nameOrPath, options.dirs);
  const bytes = await readOrThrow('model', file);
  let card: ModelCard | undefined;
  if (options.card !== false) {
    if (typeof options.card === 'object') card = options.card;
    else {
      const cardPath = options.card ?? cardPathFor(file);
      card = parseModelCard(new TextDecoder().decode(await readOrThrow('card', cardPath)));
    }
    await checkModelAgainstCard(bytes, card, file);
  }
  const session = await createSession(bytes, { ...options, name: options.name ?? file });
  if (card) checkSessionAgainstCard(session, card);
  return {
    session,
    card,
    path: file,
    run: (feeds, runOptions) => session.run(feeds, runOptions),
    dispose: () => session.dispose(),
    [Symbol.asyncDispose]: () => session.dispose(),
  };
}
