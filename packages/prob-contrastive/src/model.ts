/**
 * The model path: a frozen ONNX encoder (images → `features` [N, F]) followed by a head (features → `embedding`
 * [N, D] unit rows and `kappa` [N, 1]), or one ONNX model that already outputs `embedding` and `kappa`.
 *
 *   const pc = await ProbContrastive.load({ encoder: 'contrastive-encoder', head: 'head.onnx' });
 *   const { embedding, kappa } = await pc.embed(images);      // unit embeddings + confidence
 *   rankByConfidence(kappa);                                  // most confident first
 *
 * Encoders given by name are resolved by core-tensor in the models cache that `npm run models` fills, and checked
 * against their card. Images (8-bit, any channel count) are converted by the encoder's card: grayscale, resized to the
 * input size, pixel / 255.
 */
import * as core from '@trustvision/core-tensor';
import {
  InvalidArgumentError,
  ShapeError,
  createSession,
  type Device,
  type Image,
  type ModelCard,
  type Session,
  type Tensor,
} from '@trustvision/core-tensor';
import { ProbHead } from './head.js';

export interface ProbContrastiveOptions {
  /** Encoder: a model name (default 'contrastive-encoder'), an .onnx path or the model bytes. */
  encoder?: string | Uint8Array;
  /**
   * Head: an .onnx path or bytes (as written by `ProbHead.toOnnx` / `prob-contrastive train`), or a `ProbHead`.
   * Omit it when the encoder itself outputs `embedding` and `kappa`, or to use only `features()` (e.g. to train a head).
   */
  head?: string | Uint8Array | ProbHead;
  device?: Device;
  /** Rows per session run (default 256). */
  batchSize?: number;
  /** Extra folders to look for an encoder given by name. */
  dirs?: string[];
  /** The encoder's card (path or object), or false to load it without one. */
  card?: string | ModelCard | false;
  /** Name of the encoder output the head reads (default 'features'). */
  featuresOutput?: string;
}

/** Encoder inputs: a float32 tensor [N, ...] shaped as the encoder's input, or a list of 8-bit images. */
export type EncoderInput = Tensor | { data: Float32Array; shape: readonly number[] } | readonly Image[];

export interface Embedded {
  /** Unit embeddings [n·d], row-major. */
  embedding: Float32Array;
  /** Concentrations κ [n] (> 0; higher = more confident). */
  kappa: Float32Array;
  n: number;
  d: number;
}

interface Runner {
  session: Session;
  card: ModelCard | undefined;
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
}

async function runnerFor(model: string | Uint8Array, param: string, options: ProbContrastiveOptions, card = true) {
  if (typeof model === 'string') {
    const loadModel = (core as unknown as { loadModel?: (p: string, o: object) => Promise<Runner> }).loadModel;
    if (!loadModel) throw new InvalidArgumentError(param, model, 'model bytes (loading by name or path needs Node)');
    return loadModel(model, { device: options.device, dirs: options.dirs, card: card ? options.card : false });
  }
  if (model instanceof Uint8Array) {
    const session = await createSession(model, { device: options.device, name: param });
    return {
      session,
      card: undefined,
      run: (f: Record<string, Tensor>) => session.run(f),
      dispose: () => session.dispose(),
    };
  }
  throw new InvalidArgumentError(param, model, 'a model name, an .onnx path or the model bytes');
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export class ProbContrastive {
  readonly batchSize: number;
  readonly featuresOutput: string;
  private disposed = false;
  private featuresOnly = false;

  private constructor(
    private readonly encoder: Runner,
    private readonly head: Runner | undefined,
    options: ProbContrastiveOptions,
  ) {
    this.batchSize = options.batchSize ?? 256;
    this.featuresOutput = options.featuresOutput ?? 'features';
    const outs = encoder.session.outputs.map((o) => o.name);
    if (head) {
      if (!outs.includes(this.featuresOutput))
        throw new InvalidArgumentError(
          'featuresOutput',
          this.featuresOutput,
          `an output of the encoder (${outs.join(', ')})`,
        );
      const hin = head.session.inputs.map((i) => i.name);
      const hout = head.session.outputs.map((o) => o.name);
      if (hin.length !== 1 || !hout.includes('embedding') || !hout.includes('kappa'))
        throw new InvalidArgumentError(
          'head',
          `a model with inputs [${hin.join(', ')}] and outputs [${hout.join(', ')}]`,
          'a head with one input and outputs embedding and kappa (see ProbHead.toOnnx)',
        );
    } else if (!outs.includes('embedding') || !outs.includes('kappa')) {
      // features-only: `features()` works (e.g. to train a head); `embed()` says a head is needed
      if (!outs.includes(this.featuresOutput))
        throw new InvalidArgumentError(
          'encoder',
          `a model with outputs [${outs.join(', ')}]`,
          `a model with a '${this.featuresOutput}' output (to put a head on) or with embedding and kappa outputs`,
        );
      this.featuresOnly = true;
    }
    if (encoder.session.inputs.length !== 1)
      throw new InvalidArgumentError(
        'encoder',
        encoder.session.inputs.map((i) => i.name),
        'a model with one input',
      );
  }

  static async load(options: ProbContrastiveOptions = {}): Promise<ProbContrastive> {
    const batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new InvalidArgumentError('batchSize', batchSize, 'a positive integer');
    const encoder = await runnerFor(options.encoder ?? 'contrastive-encoder', 'encoder', options);
    let head: Runner | undefined;
    try {
      if (options.head instanceof ProbHead) head = await runnerFor(options.head.toOnnx(), 'head', options, false);
      else if (options.head !== undefined) head = await runnerFor(options.head, 'head', options, false);
      return new ProbContrastive(encoder, head, { ...options, batchSize });
    } catch (e) {
      await encoder.dispose();
      await head?.dispose();
      throw e;
    }
  }

  get device(): string {
    return this.encoder.session.device;
  }

  get card(): ModelCard | undefined {
    return this.encoder.card;
  }

  /** Converts 8-bit images to the encoder's input tensor (by its card, else its declared input shape). */
  imagesToTensor(images: readonly Image[]): Tensor<'float32'> {
    const info = this.encoder.session.inputs[0];
    return core.imagesToModelInput(
      images,
      info,
      this.card?.inputs.find((i) => i.name === info.name),
    );
  }

  private toTensor(input: EncoderInput): Tensor<'float32'> {
    if (Array.isArray(input)) return this.imagesToTensor(input as readonly Image[]);
    const x = input as { data: unknown; shape: readonly number[] };
    if (x === null || typeof x !== 'object' || !('data' in x) || !('shape' in x))
      throw new InvalidArgumentError('input', x, 'a float32 tensor [N, ...] or an array of images');
    if (!(x.data instanceof Float32Array)) throw new core.DTypeError('input', x.data, 'float32 data');
    const t = core.contiguous(core.fromNdArray(x as core.NdArrayLike)) as Tensor<'float32'>;
    if (t.shape.length < 2 || t.shape[0] < 1) throw new ShapeError('input', t.shape, '[N, ...] with N >= 1');
    return t;
  }

  private async batches(
    input: EncoderInput,
    fn: (batch: Tensor<'float32'>) => Promise<Record<string, Float32Array>>,
  ): Promise<{ n: number; parts: Record<string, Float32Array[]> }> {
    if (this.disposed) throw new core.DisposedError('ProbContrastive');
    const t = this.toTensor(input);
    const n = t.shape[0];
    const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const parts: Record<string, Float32Array[]> = {};
    for (let s = 0; s < n; s += this.batchSize) {
      const e = Math.min(n, s + this.batchSize);
      const batch = core.tensor((t.data as Float32Array).subarray(s * per, e * per), [e - s, ...t.shape.slice(1)]);
      for (const [k, v] of Object.entries(await fn(batch))) (parts[k] ??= []).push(v);
    }
    return { n, parts };
  }

  private async encode(batch: Tensor<'float32'>): Promise<Record<string, Tensor>> {
    return this.encoder.run({ [this.encoder.session.inputs[0].name]: batch });
  }

  /** The encoder's features [n·F] (what the head, and `trainHead`, read). */
  async features(input: EncoderInput): Promise<{ features: Float32Array; n: number; f: number }> {
    let f = 0;
    const { n, parts } = await this.batches(input, async (b) => {
      const out = (await this.encode(b))[this.featuresOutput];
      if (!out || out.shape.length !== 2) throw new ShapeError('encoder features', out?.shape, '[N, F]');
      f = out.shape[1];
      return { features: Float32Array.from(core.denseData(out as Tensor<'float32'>)) };
    });
    return { features: concat(parts.features), n, f };
  }

  /** Unit embeddings and concentrations for every input row. */
  async embed(input: EncoderInput): Promise<Embedded> {
    if (this.featuresOnly && !this.disposed)
      throw new InvalidArgumentError(
        'head',
        undefined,
        'a head model (ProbContrastive.load({ encoder, head })): this encoder outputs features, not embedding + kappa',
      );
    let d = 0;
    const { n, parts } = await this.batches(input, async (b) => {
      let out = await this.encode(b);
      if (this.head) {
        const feats = out[this.featuresOutput];
        out = await this.head.run({ [this.head.session.inputs[0].name]: feats });
      }
      const e = out.embedding;
      const k = out.kappa;
      if (e.shape.length !== 2 || k.shape[0] !== e.shape[0])
        throw new ShapeError(
          'model outputs',
          `embedding [${e.shape}], kappa [${k.shape}]`,
          'embedding [N, D], kappa [N] or [N, 1]',
        );
      d = e.shape[1];
      return {
        embedding: Float32Array.from(core.denseData(e as Tensor<'float32'>)),
        kappa: Float32Array.from(core.denseData(k as Tensor<'float32'>)),
      };
    });
    return { embedding: concat(parts.embedding), kappa: concat(parts.kappa), n, d };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.encoder.dispose();
    await this.head?.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
