/**
 * How the face components get their models (browser-safe): an already loaded model (`loadModel`'s result, or a
 * `Session`), model bytes, or a path / name. Paths and names are read through the platform's runtime binding (files
 * in Node, URLs in browsers), so this module needs no Node imports; names are looked up as `<dir>/<name>.onnx` in
 * the same folders as Node's `modelSearchPath` ($TRUSTVISION_MODELS, then the cache that `npm run models` fills).
 */
import { modelSearchPath } from '../model-path.js';
import { FileNotFoundError, InvalidArgumentError, TrustVisionError } from '../errors.js';
import {
  cardPathFor,
  checkModelAgainstCard,
  checkSessionAgainstCard,
  parseModelCard,
  type ModelCard,
} from '../modelcard.js';
import { getRuntime, type Device, type DeviceOptions } from '../runtime.js';
import { createSession, type Feeds, type IOInfo, type RunOptions, type Session } from '../session.js';
import type { Tensor } from '../tensor.js';

/** Anything with a session-like interface: a `LoadedModel` (from `loadModel`) or a `Session`. */
export interface ModelHandle {
  run(feeds: Feeds, options?: RunOptions): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
  /** A `LoadedModel`'s session. */
  readonly session?: Session;
  /** A `LoadedModel`'s card. */
  readonly card?: ModelCard;
  /** A `Session`'s declared inputs and outputs. */
  readonly inputs?: readonly IOInfo[];
  readonly outputs?: readonly IOInfo[];
}

/** A model as the face components accept it. */
export type ModelSource = ModelHandle | string | Uint8Array;

export interface FaceModelOptions {
  device?: Device;
  deviceOptions?: DeviceOptions;
  sessionOptions?: Record<string, unknown>;
  /** Extra folders searched first for models given by name. */
  dirs?: string[];
  /** The model's card: read from `<model>.card.json` when absent (a missing card is allowed), or false for none. */
  card?: ModelCard | false;
}

/** A model ready to run, with what is known about its interface. */
export interface FaceModel {
  readonly inputs: readonly IOInfo[];
  readonly outputs: readonly IOInfo[];
  readonly card: ModelCard | undefined;
  /** Where it came from (path, name or 'model'). */
  readonly source: string;
  /** Whether `dispose` releases the session (true when this module created it). */
  readonly owned: boolean;
  run(feeds: Feeds): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
}

function isPathLike(s: string): boolean {
  return s.includes('/') || s.includes('\\') || s.toLowerCase().endsWith('.onnx');
}

async function tryRead(path: string): Promise<Uint8Array | undefined> {
  const rt = getRuntime();
  if (!rt.readBytes)
    throw new InvalidArgumentError('model', path, 'bytes or a loaded model (this platform cannot read paths)');
  try {
    return await rt.readBytes(path);
  } catch (e) {
    if (e instanceof TrustVisionError && e.code === 'E_FILE_NOT_FOUND') return undefined;
    throw e;
  }
}

function isHandle(x: unknown): x is ModelHandle {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as ModelHandle).run === 'function' &&
    typeof (x as ModelHandle).dispose === 'function'
  );
}

/**
 * Opens a model for the face components. A loaded model is used as is (and not disposed by them); a path, name or
 * bytes gets a new session (with its card checked when one is given or found beside the file).
 */
export async function openFaceModel(
  source: ModelSource,
  what: string,
  options: FaceModelOptions = {},
): Promise<FaceModel> {
  if (isHandle(source)) {
    const session = source.session;
    const inputs = source.inputs ?? session?.inputs;
    const outputs = source.outputs ?? session?.outputs;
    if (!inputs || !outputs)
      throw new InvalidArgumentError(what, source, 'a LoadedModel (from loadModel) or a Session');
    return {
      inputs,
      outputs,
      card: options.card === false ? undefined : (options.card ?? source.card),
      source: session?.name ?? (source as { name?: string }).name ?? what,
      owned: false,
      run: (feeds) => source.run(feeds),
      dispose: async () => {},
    };
  }
  let bytes: Uint8Array | undefined;
  let file: string | undefined;
  if (source instanceof Uint8Array) bytes = source;
  else if (typeof source === 'string' && source !== '') {
    if (isPathLike(source)) {
      bytes = await tryRead(source);
      if (!bytes) throw new FileNotFoundError(what, source);
      file = source;
    } else {
      const search = modelSearchPath(options.dirs);
      for (const dir of search) {
        const candidate = `${dir.replace(/[/\\]+$/, '')}/${source}.onnx`;
        bytes = await tryRead(candidate);
        if (bytes) {
          file = candidate;
          break;
        }
      }
      if (!bytes) {
        const err = new FileNotFoundError(what, source);
        err.message =
          `${what} model '${source}' not found in ${search.join(', ') || '(no folders)'}. Build the reference models ` +
          `with \`npm run models\` in the TrustVision repository (or set TRUSTVISION_MODELS to a folder holding ` +
          `${source}.onnx and its card).`;
        throw err;
      }
    }
  } else throw new InvalidArgumentError(what, source, 'a LoadedModel, a Session, model bytes, a path or a model name');
  let card: ModelCard | undefined;
  if (options.card !== false) {
    if (options.card) card = options.card;
    else if (file) {
      const cardBytes = await tryRead(cardPathFor(file));
      if (cardBytes) card = parseModelCard(new TextDecoder().decode(cardBytes));
    }
    if (card) await checkModelAgainstCard(bytes, card, file ?? what);
  }
  const session = await createSession(bytes, {
    device: options.device,
    deviceOptions: options.deviceOptions,
    sessionOptions: options.sessionOptions,
    name: file ?? what,
  });
  if (card) checkSessionAgainstCard(session, card);
  return {
    inputs: session.inputs,
    outputs: session.outputs,
    card,
    source: file ?? what,
    owned: true,
    run: (feeds) => session.run(feeds),
    dispose: () => session.dispose(),
  };
}
