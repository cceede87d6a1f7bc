/**
 * Loading a model together with its card from disk (Node).
 */
import { readFile } from 'node:fs/promises';
import { FileNotFoundError, TrustVisionError } from './errors.js';
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
 * Loads `path` (an .onnx file) and its card, checks the file's sha256 and I/O against the card, creates a session on
 * the requested device and checks the session's I/O against the card too.
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const bytes = await readOrThrow('model', path);
  let card: ModelCard | undefined;
  if (options.card !== false) {
    if (typeof options.card === 'object') card = options.card;
    else {
      const cardPath = options.card ?? cardPathFor(path);
      card = parseModelCard(new TextDecoder().decode(await readOrThrow('card', cardPath)));
    }
    await checkModelAgainstCard(bytes, card, path);
  }
  const session = await createSession(bytes, { ...options, name: options.name ?? path });
  if (card) checkSessionAgainstCard(session, card);
  return {
    session,
    card,
    path,
    run: (feeds, runOptions) => session.run(feeds, runOptions),
    dispose: () => session.dispose(),
    [Symbol.asyncDispose]: () => session.dispose(),
  };
}
