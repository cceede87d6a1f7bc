/**
 * ONNX model adapters for the contracts of spec `id3.md` §3: the denoiser ε_θ (§3.1), the face-recognition model
 * f_φ (§3.2), the FR-gradient graph `fr_grad.onnx` and the guided denoiser `id3_eps_guided.onnx` (§3.3).
 *
 * Denoiser (§3.1), by input/output name:
 *   x_t          float32 | float16 [B, C, H, W]  noisy image in the [−1, 1] data scale (C = 3 in the spec)
 *   t            int64 | int32 | float32 [B]     the step, see `tConvention`
 *   id_embedding float32 | float16 [B, d]        unit L2 norm
 *   attributes   float32 | float16 [B, 4]        [age/100, pitch/90, yaw/90, roll/90] (attributes.ts)
 *   eps          float32 | float16 [B, C, H, W]  predicted noise (output)
 * Guided denoiser (§3.3): the same inputs plus `alpha_bar_t` [B] and `scale` [B]; output `eps_tilde` [B, C, H, W]
 *   = ε̂ − √(1 − ᾱ_t)·scale·∇_{x_t}⟨y, f(x̂_0(x_t))⟩ (the exact chain through the U-Net, baked in at export).
 * FR gradient (§3.3 fallback): inputs `image` [B, C, H, W] (x̂_0, at the denoiser's size: any resize to the FR
 *   input is part of the exported graph) and `id_embedding` [B, d]; output `grad` [B, C, H, W] =
 *   ∇_{x̂_0}⟨y, f(x̂_0)/‖f(x̂_0)‖⟩.
 * FR model (§3.2): input `image` [B, C, h, w] in [−1, 1]; output `embedding` [B, d] (normalised here).
 *
 * The contract metadata (H, W, T, schedule, t convention, attribute normalisation) is read, in this order of
 * precedence, from the `contract` option, the ONNX file's metadata_props (keys `id3.*`, see CONTRACT_KEYS), the
 * model card next to the file (`<model>.card.json`, object `preprocessing.id3` with the same keys without the
 * prefix), and the spec's defaults. H, W and C must agree with the input's fixed dimensions when both are known.
 *
 * float16 models: inputs are cast to float16 and outputs back to float32 at the session boundary; the sampler's
 * arithmetic stays float32/float64 on the host.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  InvalidArgumentError,
  TrustVisionError,
  createSession,
  fromFloat16,
  parseModelCard,
  cardPathFor,
  sha256Hex,
  toFloat16,
  type Device,
  type DType,
  type IOInfo,
  type Session,
  type Tensor,
} from '@trustvision/core-tensor';
import { makeSchedule, type NoiseSchedule, type ScheduleKind } from './schedule.js';

/** How the network's `t` input relates to the step index k = t − 1 (0..T−1). */
export type TConvention = 'index' | 'step';

/** The denoiser contract; every field can come from the ONNX metadata, a card or the `contract` option. */
export interface DenoiserContract {
  height: number;
  width: number;
  channels: number;
  /** Identity-embedding dimension d (default: the input's fixed dimension, else 512). */
  embeddingDim: number;
  /** Attribute count (4) and their normalisation, as a description (default 'age/100,pitch/90,yaw/90,roll/90'). */
  attributes: number;
  attributeNormalisation: string;
  T: number;
  schedule: ScheduleKind;
  betaStart: number;
  betaEnd: number;
  /** 'index' (the network sees k = t − 1 ∈ 0..T−1; default, spec §3.1) or 'step' (t ∈ 1..T). */
  tConvention: TConvention;
}

/** Metadata keys (ONNX metadata_props) of the contract. */
export const CONTRACT_KEYS: Readonly<Record<keyof DenoiserContract, string>> = {
  height: 'id3.height',
  width: 'id3.width',
  channels: 'id3.channels',
  embeddingDim: 'id3.embedding_dim',
  attributes: 'id3.attributes',
  attributeNormalisation: 'id3.attribute_normalisation',
  T: 'id3.T',
  schedule: 'id3.schedule',
  betaStart: 'id3.beta_start',
  betaEnd: 'id3.beta_end',
  tConvention: 'id3.t_convention',
};

export const DEFAULT_ATTRIBUTE_NORMALISATION = 'age/100,pitch/90,yaw/90,roll/90';

/** A model that does not fit its contract: `param` names the input/output or metadata key at fault. */
export class ModelContractError extends TrustVisionError {
  constructor(model: string, param: string, value: unknown, expected: string) {
    super(
      'E_INVALID_ARGUMENT',
      `${model} does not fit the id3 contract (spec id3.md §3): ${param} is ${typeof value === 'string' ? value : JSON.stringify(value)}, expected ${expected}`,
      { param, value, expected },
    );
  }
}

export interface ModelOptions {
  /** Device for the session (default 'auto'; core-tensor's createSession). */
  device?: Device;
  /** Extra ONNX Runtime session options. */
  sessionOptions?: Record<string, unknown>;
  /** Contract fields that override the file's metadata and card. */
  contract?: Partial<DenoiserContract>;
  /** A card path, or false to ignore `<model>.card.json` (default: read it when it exists). */
  card?: string | false;
}

const FLOATS: readonly string[] = ['float32', 'float16'];

function io(list: readonly IOInfo[], name: string): IOInfo | undefined {
  return list.find((x) => x.name === name);
}

function requireIO(
  model: string,
  s: Session,
  side: 'input' | 'output',
  name: string,
  dtypes: readonly string[],
  rank: number,
): IOInfo {
  const list = side === 'input' ? s.inputs : s.outputs;
  const info = io(list, name);
  if (!info)
    throw new ModelContractError(model, `${side}s`, list.map((x) => x.name).join(', '), `an ${side} named '${name}'`);
  if (!dtypes.includes(info.dtype))
    throw new ModelContractError(model, `${side} '${name}' dtype`, info.dtype, dtypes.join(' or '));
  if (info.shape && info.shape.length !== rank)
    throw new ModelContractError(model, `${side} '${name}' shape`, `[${info.shape.join(', ')}]`, `rank ${rank}`);
  return info;
}

const fixed = (d: number | string | null | undefined): number | undefined =>
  typeof d === 'number' && d > 0 ? d : undefined;

function readCard(path: string | undefined, card: string | false | undefined): Record<string, unknown> {
  if (card === false || path === undefined) return {};
  const file = card ?? cardPathFor(path);
  if (!existsSync(file)) {
    if (card !== undefined) throw new InvalidArgumentError('card', file, 'an existing model card file');
    return {};
  }
  const c = parseModelCard(readFileSync(file, 'utf8'));
  const pre = c.preprocessing?.id3;
  return pre !== null && typeof pre === 'object' ? (pre as Record<string, unknown>) : {};
}

/** Reads the contract (see the module comment); `shapeOf` gives the fixed sizes the model declares. */
function resolveContract(
  model: string,
  meta: Record<string, string>,
  card: Record<string, unknown>,
  given: Partial<DenoiserContract>,
  declared: { channels?: number; height?: number; width?: number; embeddingDim?: number },
): DenoiserContract {
  const pick = (key: keyof DenoiserContract): { value: unknown; from: string } | undefined => {
    if (given[key] !== undefined) return { value: given[key], from: `contract.${key}` };
    const m = meta[CONTRACT_KEYS[key]];
    if (m !== undefined) return { value: m, from: `metadata '${CONTRACT_KEYS[key]}'` };
    const short = CONTRACT_KEYS[key].slice(4);
    if (card[short] !== undefined) return { value: card[short], from: `card preprocessing.id3.${short}` };
    return undefined;
  };
  const int = (key: keyof DenoiserContract, dflt: number | undefined, min: number): number => {
    const p = pick(key);
    if (!p) {
      if (dflt === undefined)
        throw new ModelContractError(
          model,
          CONTRACT_KEYS[key],
          'missing',
          'a value in the metadata, the card or the contract option',
        );
      return dflt;
    }
    const v = typeof p.value === 'string' ? Number(p.value) : p.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new ModelContractError(model, p.from, p.value, `an integer >= ${min}`);
    return v;
  };
  const num = (key: keyof DenoiserContract, dflt: number): number => {
    const p = pick(key);
    if (!p) return dflt;
    const v = typeof p.value === 'string' ? Number(p.value) : p.value;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= 1)
      throw new ModelContractError(model, p.from, p.value, 'a number in (0, 1)');
    return v;
  };
  const str = <T extends string>(key: keyof DenoiserContract, allowed: readonly T[], dflt: T): T => {
    const p = pick(key);
    if (!p) return dflt;
    if (!allowed.includes(p.value as T))
      throw new ModelContractError(model, p.from, p.value, allowed.map((a) => `'${a}'`).join(' or '));
    return p.value as T;
  };
  const agree = (key: 'channels' | 'height' | 'width' | 'embeddingDim', dflt: number): number => {
    const d = declared[key];
    const v = int(key, d ?? dflt, 1);
    if (d !== undefined && v !== d)
      throw new ModelContractError(model, CONTRACT_KEYS[key], v, `${d}, the size the model's inputs declare`);
    return v;
  };
  const attributes = int('attributes', 4, 0);
  const attrNorm = pick('attributeNormalisation');
  const attributeNormalisation = attrNorm ? String(attrNorm.value) : DEFAULT_ATTRIBUTE_NORMALISATION;
  if (attributes === 4 && attributeNormalisation !== DEFAULT_ATTRIBUTE_NORMALISATION)
    throw new ModelContractError(
      model,
      CONTRACT_KEYS.attributeNormalisation,
      attributeNormalisation,
      `'${DEFAULT_ATTRIBUTE_NORMALISATION}' (the encoding encodeAttributes produces)`,
    );
  return {
    channels: agree('channels', 3),
    height: agree('height', 112),
    width: agree('width', 112),
    embeddingDim: agree('embeddingDim', 512),
    attributes,
    attributeNormalisation,
    T: int('T', 1000, 1),
    schedule: str('schedule', ['linear', 'cosine'] as const, 'linear'),
    betaStart: num('betaStart', 1e-4),
    betaEnd: num('betaEnd', 0.02),
    tConvention: str('tConvention', ['index', 'step'] as const, 'index'),
  };
}

async function loadBytes(model: string | Uint8Array): Promise<{ bytes: Uint8Array; path?: string; name: string }> {
  if (typeof model === 'string') {
    const { readFile } = await import('node:fs/promises');
    try {
      return { bytes: new Uint8Array(await readFile(model)), path: model, name: model };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const { FileNotFoundError } = await import('@trustvision/core-tensor');
        throw new FileNotFoundError('model', model);
      }
      throw new TrustVisionError('E_IO', `cannot read ${model}: ${(e as Error).message}`, {
        param: 'model',
        value: model,
        cause: e,
      });
    }
  }
  if (model instanceof Uint8Array) return { bytes: model, name: 'model' };
  throw new InvalidArgumentError('model', model, 'a path or the bytes of an ONNX file');
}

/** Float input data for a declared dtype (float16 → bits). */
function floatFeed(data: Float32Array, shape: number[], dtype: DType | string): Tensor {
  if (dtype === 'float16') {
    const d = toFloat16(data);
    return { dtype: 'float16', data: d, shape, stride: stride(shape), offset: 0 };
  }
  return { dtype: 'float32', data, shape, stride: stride(shape), offset: 0 };
}

function stride(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function floatOut(t: Tensor | undefined, model: string, name: string, n: number): Float32Array {
  if (!t) throw new ModelContractError(model, `output '${name}'`, 'absent', 'present');
  let data: Float32Array;
  if (t.dtype === 'float16') data = fromFloat16(t.data as Uint16Array);
  else if (t.dtype === 'float32') data = t.data as Float32Array;
  else throw new ModelContractError(model, `output '${name}' dtype`, t.dtype, 'float32 or float16');
  if (data.length !== n) throw new ModelContractError(model, `output '${name}' size`, data.length, `${n} elements`);
  return data;
}

function timeFeed(tIdx: ArrayLike<number>, dtype: string, conv: TConvention): Tensor {
  const B = tIdx.length;
  const off = conv === 'step' ? 1 : 0;
  if (dtype === 'int64') {
    const d = new BigInt64Array(B);
    for (let b = 0; b < B; b++) d[b] = BigInt(tIdx[b] + off);
    return { dtype: 'int64', data: d, shape: [B], stride: [1], offset: 0 };
  }
  if (dtype === 'int32') {
    const d = new Int32Array(B);
    for (let b = 0; b < B; b++) d[b] = tIdx[b] + off;
    return { dtype: 'int32', data: d, shape: [B], stride: [1], offset: 0 };
  }
  const d = new Float32Array(B);
  for (let b = 0; b < B; b++) d[b] = tIdx[b] + off;
  return dtype === 'float16'
    ? { dtype: 'float16', data: toFloat16(d), shape: [B], stride: [1], offset: 0 }
    : { dtype: 'float32', data: d, shape: [B], stride: [1], offset: 0 };
}

/** The conditioning of a batch: B unit embeddings [B, d] and B encoded attribute rows [B, 4]. */
export interface Condition {
  embeddings: Float32Array;
  attributes: Float32Array;
}

abstract class Wrapped {
  readonly name: string;
  readonly session: Session;
  /** sha256 of the model file (hex). */
  readonly sha256: string;
  protected constructor(name: string, session: Session, sha256: string) {
    this.name = name;
    this.session = session;
    this.sha256 = sha256;
  }
  /** Whether the model's image input is float16 (inputs are cast at the session boundary). */
  get fp16(): boolean {
    return this.session.inputs.some((i) => i.dtype === 'float16');
  }
  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

async function open(model: string | Uint8Array, options: ModelOptions, role: string) {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', options, 'an object');
  const { bytes, path, name } = await loadBytes(model);
  const label = `${role} '${name}'`;
  const session = await createSession(bytes, {
    device: options.device ?? 'auto',
    sessionOptions: options.sessionOptions,
    name: label,
  });
  return { session, path, label, sha256: await sha256Hex(bytes) };
}

/** The denoiser ε_θ (or the guided denoiser, when its inputs include `alpha_bar_t` and `scale`). */
export class Denoiser extends Wrapped {
  readonly contract: DenoiserContract;
  readonly schedule: NoiseSchedule;
  /** True for a guided graph (§3.3): `eps_tilde` with the FR gradient baked in. */
  readonly guided: boolean;
  private readonly dtypes: Record<string, string>;

  private constructor(label: string, session: Session, sha: string, contract: DenoiserContract, guided: boolean) {
    super(label, session, sha);
    this.contract = contract;
    this.guided = guided;
    this.schedule = makeSchedule({
      kind: contract.schedule,
      T: contract.T,
      betaStart: contract.betaStart,
      betaEnd: contract.betaEnd,
    });
    this.dtypes = Object.fromEntries(session.inputs.map((i) => [i.name, String(i.dtype)]));
  }

  /** Opens a denoiser (or guided denoiser) ONNX file and checks it against the contract; ModelContractError if not. */
  static async create(model: string | Uint8Array, options: ModelOptions = {}): Promise<Denoiser> {
    const { session, path, label, sha256 } = await open(model, options, 'denoiser');
    try {
      const guided = !!io(session.inputs, 'alpha_bar_t');
      const x = requireIO(label, session, 'input', 'x_t', FLOATS, 4);
      requireIO(label, session, 'input', 't', ['int64', 'int32', 'float32', 'float16'], 1);
      const y = requireIO(label, session, 'input', 'id_embedding', FLOATS, 2);
      const a = io(session.inputs, 'attributes')
        ? requireIO(label, session, 'input', 'attributes', FLOATS, 2)
        : undefined;
      if (guided) {
        requireIO(label, session, 'input', 'alpha_bar_t', FLOATS, 1);
        requireIO(label, session, 'input', 'scale', FLOATS, 1);
      }
      const extra = session.inputs.filter(
        (i) => !['x_t', 't', 'id_embedding', 'attributes', 'alpha_bar_t', 'scale'].includes(i.name),
      );
      if (extra.length)
        throw new ModelContractError(
          label,
          'inputs',
          extra.map((i) => i.name).join(', '),
          'only x_t, t, id_embedding, attributes (+ alpha_bar_t, scale)',
        );
      const out = requireIO(label, session, 'output', guided ? 'eps_tilde' : 'eps', FLOATS, 4);
      const contract = resolveContract(
        label,
        session.model.metadata,
        readCard(path, options.card),
        options.contract ?? {},
        {
          channels: fixed(x.shape?.[1]) ?? fixed(out.shape?.[1]),
          height: fixed(x.shape?.[2]) ?? fixed(out.shape?.[2]),
          width: fixed(x.shape?.[3]) ?? fixed(out.shape?.[3]),
          embeddingDim: fixed(y.shape?.[1]),
        },
      );
      const aDim = fixed(a?.shape?.[1]);
      if (a && aDim !== undefined && aDim !== contract.attributes)
        throw new ModelContractError(
          label,
          "input 'attributes' shape",
          `[${a.shape!.join(', ')}]`,
          `[B, ${contract.attributes}]`,
        );
      if (!a && contract.attributes !== 0)
        throw new ModelContractError(
          label,
          'inputs',
          session.inputs.map((i) => i.name).join(', '),
          "an input named 'attributes' (or metadata id3.attributes = 0)",
        );
      return new Denoiser(label, session, sha256, contract, guided);
    } catch (e) {
      await session.dispose();
      throw e;
    }
  }

  /** Elements of one image, C·H·W. */
  get imageSize(): number {
    const c = this.contract;
    return c.channels * c.height * c.width;
  }

  /**
   * Runs the network on a batch: x [B·C·H·W], step indices k [B] (0..T−1), the condition; for a guided graph also
   * ᾱ per sample and the guidance scale per sample. Returns ε (or ε̃) as float32 [B·C·H·W].
   */
  async run(
    x: Float32Array,
    tIdx: ArrayLike<number>,
    cond: Condition,
    guide?: { alphaBar: Float32Array; scale: Float32Array },
  ): Promise<Float32Array> {
    const c = this.contract;
    const B = tIdx.length;
    const feeds: Record<string, Tensor> = {
      x_t: floatFeed(x, [B, c.channels, c.height, c.width], this.dtypes.x_t),
      t: timeFeed(tIdx, this.dtypes.t, c.tConvention),
      id_embedding: floatFeed(cond.embeddings, [B, c.embeddingDim], this.dtypes.id_embedding),
    };
    if (this.dtypes.attributes)
      feeds.attributes = floatFeed(cond.attributes, [B, c.attributes], this.dtypes.attributes);
    if (this.guided) {
      if (!guide) throw new InvalidArgumentError('guide', guide, 'ᾱ and scale per sample (a guided denoiser)');
      feeds.alpha_bar_t = floatFeed(guide.alphaBar, [B], this.dtypes.alpha_bar_t);
      feeds.scale = floatFeed(guide.scale, [B], this.dtypes.scale);
    }
    const name = this.guided ? 'eps_tilde' : 'eps';
    const out = await this.session.run(feeds, { outputs: [name] });
    return floatOut(out[name], this.name, name, x.length);
  }
}

/** The FR-gradient graph `fr_grad.onnx`: ∇_{x̂_0}⟨y, f(x̂_0)/‖f(x̂_0)‖⟩. */
export class FrGradient extends Wrapped {
  readonly channels: number | undefined;
  readonly height: number | undefined;
  readonly width: number | undefined;
  readonly embeddingDim: number | undefined;
  private readonly dtypes: Record<string, string>;
  private constructor(label: string, session: Session, sha: string, img: IOInfo, y: IOInfo) {
    super(label, session, sha);
    [this.channels, this.height, this.width] = [fixed(img.shape?.[1]), fixed(img.shape?.[2]), fixed(img.shape?.[3])];
    this.embeddingDim = fixed(y.shape?.[1]);
    this.dtypes = Object.fromEntries(session.inputs.map((i) => [i.name, String(i.dtype)]));
  }
  static async create(model: string | Uint8Array, options: ModelOptions = {}): Promise<FrGradient> {
    const { session, label, sha256 } = await open(model, options, 'FR-gradient graph');
    try {
      const img = requireIO(label, session, 'input', 'image', FLOATS, 4);
      const y = requireIO(label, session, 'input', 'id_embedding', FLOATS, 2);
      requireIO(label, session, 'output', 'grad', FLOATS, 4);
      return new FrGradient(label, session, sha256, img, y);
    } catch (e) {
      await session.dispose();
      throw e;
    }
  }
  /** Checks that this graph fits a denoiser's images and embeddings. */
  checkAgainst(d: DenoiserContract): void {
    const pairs: [string, number | undefined, number][] = [
      ["input 'image' channels", this.channels, d.channels],
      ["input 'image' height", this.height, d.height],
      ["input 'image' width", this.width, d.width],
      ["input 'id_embedding' size", this.embeddingDim, d.embeddingDim],
    ];
    for (const [what, have, want] of pairs)
      if (have !== undefined && have !== want)
        throw new ModelContractError(
          this.name,
          what,
          have,
          `${want}, the denoiser's (resize inside the exported graph)`,
        );
  }
  /** ∇ for a batch of x̂_0 [B·C·H·W] and embeddings [B·d]; float32 [B·C·H·W]. */
  async run(
    x0: Float32Array,
    embeddings: Float32Array,
    shape: [number, number, number, number],
    d: number,
  ): Promise<Float32Array> {
    const out = await this.session.run(
      {
        image: floatFeed(x0, shape, this.dtypes.image),
        id_embedding: floatFeed(embeddings, [shape[0], d], this.dtypes.id_embedding),
      },
      { outputs: ['grad'] },
    );
    return floatOut(out.grad, this.name, 'grad', x0.length);
  }
}

/** The FR model `fr.onnx` (spec §3.2): image [B, C, h, w] in [−1, 1] → embedding [B, d], L2-normalised here. */
export class FrModel extends Wrapped {
  readonly channels: number | undefined;
  readonly height: number | undefined;
  readonly width: number | undefined;
  private readonly dtype: string;
  private constructor(label: string, session: Session, sha: string, img: IOInfo) {
    super(label, session, sha);
    [this.channels, this.height, this.width] = [fixed(img.shape?.[1]), fixed(img.shape?.[2]), fixed(img.shape?.[3])];
    this.dtype = String(img.dtype);
  }
  static async create(model: string | Uint8Array, options: ModelOptions = {}): Promise<FrModel> {
    const { session, label, sha256 } = await open(model, options, 'FR model');
    try {
      const img = requireIO(label, session, 'input', 'image', FLOATS, 4);
      requireIO(label, session, 'output', 'embedding', FLOATS, 2);
      if (session.inputs.length !== 1)
        throw new ModelContractError(label, 'inputs', session.inputs.map((i) => i.name).join(', '), "only 'image'");
      return new FrModel(label, session, sha256, img);
    } catch (e) {
      await session.dispose();
      throw e;
    }
  }
  /** Unit embeddings [B, d] of images x [B·C·h·w] in [−1, 1]. A zero embedding is a NonFinite-free zero row. */
  async embed(x: Float32Array, shape: [number, number, number, number]): Promise<{ data: Float32Array; dim: number }> {
    const out = await this.session.run({ image: floatFeed(x, shape, this.dtype) }, { outputs: ['embedding'] });
    const t = out.embedding;
    const B = shape[0];
    const dim = t.shape[1];
    const e = floatOut(t, this.name, 'embedding', B * dim);
    const res = new Float32Array(B * dim);
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += e[b * dim + k] ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let k = 0; k < dim; k++) res[b * dim + k] = e[b * dim + k] * inv;
    }
    return { data: res, dim };
  }
}
