/**
 * The two ONNX models of MinusFace and their contracts (spec `minusface.md` §B.7), checked when a model is opened:
 *
 * - generator g: one float32 input [N, 192, H, W] (raw block-DCT coefficients e(X), unnormalised: DC up to ~±1000)
 *   → float32 [N, 192, H, W] (the regeneration x'); output named `x_regen`, or the only output. H and W may be fixed
 *   by the model (then images must have that size) or symbolic.
 * - recogniser f_p: one float32 input [N, 3K, H, W] with X_p in [0, 1] (K = 1 unless the model was trained on K
 *   duplicated permutations) → float32 [N, D] (an un-normalised embedding; l2-normalised here); output named
 *   `embedding`, or the only output.
 *
 * A model that does not fit gets a `ModelContractError` naming the input/output, what it declares and what the
 * contract needs; the session is released.
 */
import {
  DisposedError,
  InvalidArgumentError,
  NonFiniteError,
  ShapeError,
  TrustVisionError,
  createSession,
  tensor,
  type Device,
  type IOInfo,
  type Session,
} from '@trustvision/core-tensor';
import { REP_CHANNELS } from './transform.js';

/** Input/output names the exports use (models/python/minusface_standin.py, minusface_export.py). */
export const GENERATOR_CONTRACT = Object.freeze({ input: 'x', output: 'x_regen', channels: REP_CHANNELS });
export const RECOGNIZER_CONTRACT = Object.freeze({ input: 'x_p', output: 'embedding', range: [0, 1] as const });

/** A model that does not fit its MinusFace contract. `param` names the input/output at fault. */
export class ModelContractError extends TrustVisionError {
  readonly model: string;
  constructor(model: string, param: string, value: unknown, expected: string) {
    super(
      'E_INVALID_ARGUMENT',
      `${model} does not fit the MinusFace contract (spec minusface.md §B.7): ${param} is ${
        typeof value === 'string' ? value : JSON.stringify(value)
      }, expected ${expected}`,
      { param, value, expected },
    );
    this.model = model;
  }
}

export interface ModelOptions {
  /** Device for the ONNX Runtime session: 'auto' (default), 'cpu', 'cuda', 'webgpu', ... (core-tensor). */
  device?: Device;
  /** Extra ONNX Runtime session options (threads, optimisation level). */
  sessionOptions?: Record<string, unknown>;
  /** Name used in error messages (default: the path, or 'generator' / 'recognizer'). */
  name?: string;
}

function shapeText(info: IOInfo): string {
  return info.shape ? `[${info.shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '(no shape)';
}

function pickOutput(model: string, s: Session, preferred: string): IOInfo {
  const named = s.outputs.find((o) => o.name === preferred);
  if (named) return named;
  if (s.outputs.length === 1) return s.outputs[0];
  throw new ModelContractError(
    model,
    'outputs',
    s.outputs.map((o) => o.name).join(', '),
    `one output, or one named '${preferred}'`,
  );
}

function singleInput(model: string, s: Session): IOInfo {
  if (s.inputs.length !== 1)
    throw new ModelContractError(model, 'inputs', s.inputs.map((i) => i.name).join(', '), 'exactly one input');
  return s.inputs[0];
}

function checkFloat(model: string, what: string, info: IOInfo): void {
  if (info.dtype !== 'float32')
    throw new ModelContractError(model, `${what} '${info.name}' dtype`, info.dtype, 'float32');
}

function checkRank(model: string, what: string, info: IOInfo, rank: number, layout: string): void {
  if (info.shape && info.shape.length !== rank)
    throw new ModelContractError(model, `${what} '${info.name}' shape`, shapeText(info), layout);
}

const fixed = (d: number | string | null | undefined): number | undefined =>
  typeof d === 'number' && d > 0 ? d : undefined;

async function open(model: string | Uint8Array, options: ModelOptions, fallback: string) {
  if (typeof model !== 'string' && !(model instanceof Uint8Array))
    throw new InvalidArgumentError('model', model, 'a path to an .onnx file or its bytes (Uint8Array)');
  const name = options.name ?? (typeof model === 'string' ? model : fallback);
  const session = await createSession(model, {
    device: options.device ?? 'auto',
    sessionOptions: options.sessionOptions,
    name,
  });
  return { session, name };
}

/**
 * What both model adapters share: the session (closed by `dispose`, a DisposedError after that), the model's name, and
 * the input and output the contract check chose.
 */
abstract class ContractModel {
  private session: Session | undefined;
  readonly name: string;
  readonly inputName: string;
  readonly outputName: string;

  protected constructor(
    private readonly kind: string,
    session: Session,
    name: string,
    input: IOInfo,
    output: IOInfo,
  ) {
    this.session = session;
    this.name = name;
    this.inputName = input.name;
    this.outputName = output.name;
  }

  /** The device running the model. */
  get device(): string {
    return this.live().device;
  }

  protected live(): Session {
    if (!this.session) throw new DisposedError(`${this.kind} '${this.name}'`);
    return this.session;
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.dispose();
  }
}

/** The generator g (192 → 192 channels on the DCT representation). Create with `GeneratorModel.create`. */
export class GeneratorModel extends ContractModel {
  /** Image height the model requires, when fixed by the model. */
  readonly height: number | undefined;
  /** Image width the model requires, when fixed by the model. */
  readonly width: number | undefined;

  private constructor(session: Session, name: string, input: IOInfo, output: IOInfo) {
    super('GeneratorModel', session, name, input, output);
    this.height = fixed(input.shape?.[2]);
    this.width = fixed(input.shape?.[3]);
  }

  /** Opens a generator from a path or bytes and checks it against the contract (ModelContractError otherwise). */
  static async create(model: string | Uint8Array, options: ModelOptions = {}): Promise<GeneratorModel> {
    const { session, name } = await open(model, options, 'generator');
    try {
      const inp = singleInput(name, session);
      checkFloat(name, 'input', inp);
      checkRank(name, 'input', inp, 4, `[N, ${REP_CHANNELS}, H, W]`);
      const c = inp.shape?.[1];
      if (typeof c === 'number' && c !== REP_CHANNELS)
        throw new ModelContractError(name, `input '${inp.name}' shape`, shapeText(inp), `[N, ${REP_CHANNELS}, H, W]`);
      const out = pickOutput(name, session, GENERATOR_CONTRACT.output);
      checkFloat(name, 'output', out);
      checkRank(name, 'output', out, 4, `[N, ${REP_CHANNELS}, H, W]`);
      const co = out.shape?.[1];
      if (typeof co === 'number' && co !== REP_CHANNELS)
        throw new ModelContractError(name, `output '${out.name}' shape`, shapeText(out), `[N, ${REP_CHANNELS}, H, W]`);
      return new GeneratorModel(session, name, inp, out);
    } catch (e) {
      await session.dispose();
      throw e;
    }
  }

  /** Throws ShapeError(param) when the model fixes a size and H×W differs. */
  checkSize(param: string, H: number, W: number): void {
    if ((this.height !== undefined && this.height !== H) || (this.width !== undefined && this.width !== W))
      throw new ShapeError(
        param,
        `${H}×${W} images`,
        `${this.height ?? 'H'}×${this.width ?? 'W'} images (the generator's fixed input size)`,
        'Resize or crop the aligned faces to the size the generator was exported for',
      );
  }

  /** x' = g(x) for x float32 [n, 192, H, W] (flat). Checks the output's shape and finiteness. */
  async regenerate(x: Float32Array, n: number, H: number, W: number): Promise<Float32Array> {
    const s = this.live();
    this.checkSize('images', H, W);
    const out = await s.run({ [this.inputName]: tensor(x, [n, REP_CHANNELS, H, W]) }, { outputs: [this.outputName] });
    const y = out[this.outputName];
    const want = [n, REP_CHANNELS, H, W];
    if (!y || y.dtype !== 'float32' || y.shape.length !== 4 || y.shape.some((d, i) => d !== want[i]))
      throw new ModelContractError(
        this.name,
        `output '${this.outputName}'`,
        y ? `${y.dtype} [${y.shape.join(', ')}]` : 'missing',
        `float32 [${want.join(', ')}]`,
      );
    const d = y.data as Float32Array;
    for (let i = 0; i < d.length; i++)
      if (!Number.isFinite(d[i])) throw new NonFiniteError(`output '${this.outputName}'`, i, d[i]);
    return d;
  }
}

/** The deployed recogniser f_p (X_p → identity embedding). Create with `RecognizerModel.create`. */
export class RecognizerModel extends ContractModel {
  /** Input channels: 3K (3 unless trained on K duplicated permutations); undefined when symbolic. */
  readonly channels: number | undefined;
  readonly height: number | undefined;
  readonly width: number | undefined;
  /** Embedding dimension when the model fixes it. */
  readonly dim: number | undefined;

  private constructor(session: Session, name: string, input: IOInfo, output: IOInfo) {
    super('RecognizerModel', session, name, input, output);
    this.channels = fixed(input.shape?.[1]);
    this.height = fixed(input.shape?.[2]);
    this.width = fixed(input.shape?.[3]);
    this.dim = fixed(output.shape?.[1]);
  }

  static async create(model: string | Uint8Array, options: ModelOptions = {}): Promise<RecognizerModel> {
    const { session, name } = await open(model, options, 'recognizer');
    try {
      const inp = singleInput(name, session);
      checkFloat(name, 'input', inp);
      checkRank(name, 'input', inp, 4, '[N, 3K, H, W] (X_p in [0, 1])');
      const c = inp.shape?.[1];
      if (typeof c === 'number' && (c < 3 || c % 3 !== 0))
        throw new ModelContractError(
          name,
          `input '${inp.name}' shape`,
          shapeText(inp),
          '[N, 3K, H, W] (X_p in [0, 1])',
        );
      const out = pickOutput(name, session, RECOGNIZER_CONTRACT.output);
      checkFloat(name, 'output', out);
      checkRank(name, 'output', out, 2, '[N, D] (an embedding per image)');
      return new RecognizerModel(session, name, inp, out);
    } catch (e) {
      await session.dispose();
      throw e;
    }
  }

  /** Raw (un-normalised) embeddings of x float32 [n, C, H, W] (flat), as one flat [n, D] array and D. */
  async run(x: Float32Array, n: number, C: number, H: number, W: number): Promise<{ data: Float32Array; dim: number }> {
    const s = this.live();
    const want = `[N, ${this.channels ?? '3K'}, ${this.height ?? 'H'}, ${this.width ?? 'W'}]`;
    if (
      (this.channels !== undefined && this.channels !== C) ||
      (this.height !== undefined && this.height !== H) ||
      (this.width !== undefined && this.width !== W)
    )
      throw new ShapeError('images', `[${n}, ${C}, ${H}, ${W}]`, `${want} (the recogniser's input)`);
    const out = await s.run({ [this.inputName]: tensor(x, [n, C, H, W]) }, { outputs: [this.outputName] });
    const y = out[this.outputName];
    if (!y || y.dtype !== 'float32' || y.shape.length !== 2 || y.shape[0] !== n)
      throw new ModelContractError(
        this.name,
        `output '${this.outputName}'`,
        y ? `${y.dtype} [${y.shape.join(', ')}]` : 'missing',
        `float32 [${n}, D]`,
      );
    const d = y.data as Float32Array;
    for (let i = 0; i < d.length; i++)
      if (!Number.isFinite(d[i])) throw new NonFiniteError(`output '${this.outputName}'`, i, d[i]);
    return { data: d, dim: y.shape[1] };
  }
}
