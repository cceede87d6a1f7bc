/**
 * ONNX Runtime sessions with device selection and fallback, feed validation and plain-tensor outputs.
 */
import {
  DTypeError,
  DeviceUnavailableError,
  DisposedError,
  InvalidArgumentError,
  ModelLoadError,
  RuntimeMissingError,
  ShapeError,
  TrustVisionError,
  type DeviceAttempt,
} from './errors.js';
import { inspectModel, type ModelSummary, type ValueInfoSummary } from './onnx/graph.js';
import {
  candidates,
  getRuntime,
  parseDevice,
  type ConcreteDevice,
  type Device,
  type DeviceOptions,
  type OrtModuleLike,
  type OrtSessionLike,
  type OrtTensorLike,
  type RuntimeBinding,
} from './runtime.js';
import {
  denseData,
  fromNdArray,
  isDType,
  sizeOf,
  defaultStride,
  type DType,
  type NdArrayLike,
  type Tensor,
} from './tensor.js';

export interface CreateSessionOptions {
  /** Where to run: 'auto' tries the platform's devices in order (Node: cuda → webgpu → cpu; browser: webgpu → wasm). */
  device?: Device;
  /** Execution-provider settings for the chosen device. */
  deviceOptions?: DeviceOptions;
  /** Extra ONNX Runtime session options, merged over ours (the escape hatch: graphOptimizationLevel, threads, ...). */
  sessionOptions?: Record<string, unknown>;
  /** Name used in error messages (defaults to the path, or 'model'). */
  name?: string;
}

/** One model input or output as the model declares it. */
export interface IOInfo {
  name: string;
  dtype: DType | `onnx:${number}`;
  /** Numbers for fixed dims, strings for symbolic ones, null for unknown; undefined when the model gives no shape. */
  shape?: (number | string | null)[];
}

export type Feeds = Record<string, Tensor | NdArrayLike>;

export interface RunOptions {
  /** Only fetch these outputs. */
  outputs?: string[];
}

/** An ONNX model bound to one device. Create with `createSession`. */
export class Session {
  /** The device that runs this session. */
  readonly device: ConcreteDevice;
  /** Each device tried, in order, with the reason it failed (the last one is the one that worked). */
  readonly tried: readonly DeviceAttempt[];
  readonly inputs: readonly IOInfo[];
  readonly outputs: readonly IOInfo[];
  readonly name: string;
  /** What the model file says about itself (IR version, opsets, op types, metadata). */
  readonly model: ModelSummary;
  private ort: OrtModuleLike;
  private inner: OrtSessionLike | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  /** @internal */
  constructor(
    inner: OrtSessionLike,
    ort: OrtModuleLike,
    device: ConcreteDevice,
    tried: DeviceAttempt[],
    summary: ModelSummary,
    name: string,
  ) {
    this.inner = inner;
    this.ort = ort;
    this.device = device;
    this.tried = tried;
    this.model = summary;
    this.name = name;
    this.inputs = mergeMetadata(summary.inputs, inner.inputNames, inner.inputMetadata);
    this.outputs = mergeMetadata(summary.outputs, inner.outputNames, inner.outputMetadata);
  }

  /**
   * Checks feeds against the declared inputs and returns them as dense tensors. Throws naming the input, the expected
   * and the received dtype/shape. Symbolic dimensions must agree across inputs.
   */
  validateFeeds(feeds: Feeds): Record<string, Tensor> {
    if (feeds === null || typeof feeds !== 'object')
      throw new InvalidArgumentError('feeds', feeds, 'an object mapping input names to tensors');
    const expected = this.inputs.map((i) => i.name);
    for (const key of Object.keys(feeds))
      if (!expected.includes(key))
        throw new InvalidArgumentError('feeds', key, `one of the model inputs: ${expected.join(', ')}`);
    const symbols = new Map<string, { value: number; input: string }>();
    const out: Record<string, Tensor> = {};
    for (const info of this.inputs) {
      const raw = feeds[info.name];
      const param = `input '${info.name}'`;
      if (raw === undefined) throw new InvalidArgumentError(param, undefined, `a tensor (the model requires it)`);
      const t: Tensor = isTensorView(raw) ? raw : fromNdArray(raw);
      if (t.dtype !== info.dtype)
        throw new DTypeError(param, t.dtype, String(info.dtype), `shape ${describeShape(info.shape)}`);
      if (info.shape) {
        const want = info.shape;
        const bad = () => new ShapeError(param, `[${t.shape.join(', ')}]`, describeShape(want), `dtype ${info.dtype}`);
        if (want.length !== t.shape.length) throw bad();
        for (let d = 0; d < want.length; d++) {
          const w = want[d];
          const got = t.shape[d];
          if (typeof w === 'number' && w >= 0 && w !== got) throw bad();
          if (typeof w === 'string' && w !== '') {
            const prev = symbols.get(w);
            if (prev && prev.value !== got)
              throw new ShapeError(
                param,
                `[${t.shape.join(', ')}]`,
                `${describeShape(want)} with ${w} = ${prev.value} (as in input '${prev.input}')`,
              );
            symbols.set(w, { value: got, input: info.name });
          }
        }
      }
      out[info.name] = t;
    }
    return out;
  }

  /** Runs the model. Feeds are validated first; outputs come back as plain tensors (no ORT objects). */
  async run(feeds: Feeds, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    const inner = this.inner;
    if (!inner) throw new DisposedError(`session '${this.name}'`);
    const checked = this.validateFeeds(feeds);
    const ortFeeds: Record<string, OrtTensorLike> = {};
    for (const [name, t] of Object.entries(checked)) ortFeeds[name] = toOrtTensor(this.ort, t);
    if (options.outputs)
      for (const o of options.outputs)
        if (!this.outputs.some((x) => x.name === o))
          throw new InvalidArgumentError('outputs', o, `one of ${this.outputs.map((x) => x.name).join(', ')}`);
    // Runs on one session are serialised: wasm/WebGPU sessions reject concurrent runs, and Node's native run is
    // synchronous anyway.
    const job = this.chain.then(async () => {
      const fetches = options.outputs;
      const result = fetches ? await (inner.run as any)(ortFeeds, fetches) : await inner.run(ortFeeds);
      const out: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(result as Record<string, OrtTensorLike>))
        out[name] = await fromOrtTensor(value);
      return out;
    });
    this.chain = job.catch(() => undefined);
    return job;
  }

  /** Releases native resources. Further runs throw DisposedError. */
  async dispose(): Promise<void> {
    const inner = this.inner;
    this.inner = undefined;
    if (inner) await inner.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function isTensorView(x: unknown): x is Tensor {
  const t = x as Tensor;
  return (
    typeof x === 'object' &&
    x !== null &&
    isDType(t.dtype) &&
    Array.isArray(t.stride) &&
    typeof t.offset === 'number' &&
    ArrayBuffer.isView(t.data)
  );
}

function describeShape(shape: IOInfo['shape']): string {
  if (!shape) return '(any)';
  return `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]`;
}

function mergeMetadata(
  fromFile: ValueInfoSummary[],
  names: readonly string[],
  meta: OrtSessionLike['inputMetadata'],
): IOInfo[] {
  return names.map((name) => {
    const f = fromFile.find((x) => x.name === name);
    const m = meta?.find((x) => x.name === name);
    const info: IOInfo = { name, dtype: f?.dtype ?? (isDType(m?.type) ? m!.type : 'onnx:0') };
    if (f?.shape) info.shape = f.shape;
    else if (m?.isTensor && m.shape && m.shape.length) info.shape = m.shape.map((d) => d);
    return info;
  });
}

/** A tensor view as an ORT tensor; shares memory when the view is contiguous. */
export function toOrtTensor(ort: OrtModuleLike, t: Tensor): OrtTensorLike {
  return new ort.Tensor(t.dtype, denseData(t), t.shape.slice());
}

/** An ORT tensor as a plain tensor view (no copy for CPU data; GPU data is downloaded). */
export async function fromOrtTensor(v: OrtTensorLike): Promise<Tensor> {
  let data = v.data;
  if (v.location && v.location !== 'cpu' && v.location !== 'cpu-pinned' && v.getData) data = await v.getData(true);
  const dtype = v.type as DType;
  if (!isDType(dtype) || !ArrayBuffer.isView(data))
    throw new DTypeError('output', v.type, 'a numeric tensor type', 'string and map outputs are not supported');
  const shape = v.dims.slice();
  if ((data as unknown as { length: number }).length !== sizeOf(shape))
    throw new ShapeError(
      'output',
      shape,
      `a shape matching ${(data as unknown as { length: number }).length} elements`,
    );
  return { dtype, data: data as Tensor['data'], shape, stride: defaultStride(shape), offset: 0 };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // ORT prefixes native messages with source locations and assertion text; keep the human part
  let line = (msg.split('\n').find((l) => l.trim()) ?? msg).trim().replace(/^Error:\s*/, '');
  line = line.replace(/^\/?onnxruntime_src\/\S+:\d+\s+/, '').replace(/^.*?\] : \d+ : \w+ : /, '');
  const asserted = line.indexOf(' was false. ');
  if (asserted >= 0) line = line.slice(asserted + ' was false. '.length);
  return line.trim();
}

function looksLikeModelError(reason: string): boolean {
  return /protobuf parsing failed|Load model|invalid model|Unsupported model IR version|opset|Could not find an implementation|Unrecognized attribute|ShapeInferenceError|Type Error|NOT_IMPLEMENTED|No Op registered|is not a registered function|Node \(|TypeInferenceError/i.test(
    reason,
  );
}

/** Reads a model source into bytes (paths/URLs through the platform). */
async function modelBytes(model: string | Uint8Array | ArrayBuffer, rt: RuntimeBinding) {
  if (typeof model === 'string') {
    if (!rt.readBytes) throw new InvalidArgumentError('model', model, 'bytes on this platform (no file access)');
    return rt.readBytes(model);
  }
  if (model instanceof Uint8Array) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  throw new InvalidArgumentError('model', model, 'a path/URL string, a Uint8Array or an ArrayBuffer');
}

/**
 * Creates a session on the requested device. With `device: 'auto'` (the default) each of the platform's devices is
 * tried in order; `session.device` says which one runs and `session.tried` why the others did not.
 *
 * Errors: UnknownDeviceError (device not valid here), FileNotFoundError / CorruptFileError (model source),
 * RuntimeMissingError (ORT package absent), ModelLoadError (every device rejected the model itself),
 * DeviceUnavailableError (no device could be initialised).
 */
export async function createSession(
  model: string | Uint8Array | ArrayBuffer,
  options: CreateSessionOptions = {},
): Promise<Session> {
  const rt = getRuntime();
  const device = parseDevice(options.device ?? 'auto', rt);
  const name = options.name ?? (typeof model === 'string' ? model : 'model');
  const bytes = await modelBytes(model, rt);
  const summary = inspectModel(bytes, name);
  const tried: DeviceAttempt[] = [];
  let lastModelError: string | undefined;
  let lastCause: unknown;
  const list = candidates(device, rt);
  for (let i = 0; i < list.length; i++) {
    const d = list[i];
    let ort: OrtModuleLike;
    try {
      ort = await rt.load(d);
    } catch (e) {
      if (list.length === 1 && e instanceof RuntimeMissingError) throw e;
      tried.push({ device: d, ok: false, reason: firstLine(e) });
      continue;
    }
    const quiet = i < list.length - 1; // probing: keep ORT's own error logging quiet
    try {
      const opts = {
        ...rt.sessionOptions(d, options.deviceOptions),
        logSeverityLevel: quiet ? 4 : 3,
        ...options.sessionOptions,
      };
      const inner = await ort.InferenceSession.create(bytes, opts);
      tried.push({ device: d, ok: true });
      return new Session(inner, ort, d, tried, summary, name);
    } catch (e) {
      const reason = firstLine(e);
      tried.push({ device: d, ok: false, reason });
      lastCause = e;
      if (looksLikeModelError(reason)) lastModelError = reason;
    }
  }
  if (lastModelError !== undefined) throw new ModelLoadError(name, lastModelError, lastCause);
  throw new DeviceUnavailableError(device, tried);
}

/** True for errors this library raises deliberately (as opposed to bugs). */
export function isTrustVisionError(e: unknown): e is TrustVisionError {
  return e instanceof TrustVisionError;
}
