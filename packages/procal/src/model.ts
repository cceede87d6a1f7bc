/**
 * The model path: any ONNX classifier with two outputs — `logits` [N, C] and `features` [N, D] (the penultimate
 * layer) — wrapped so that a user calibrates straight from images or input tensors.
 *
 *   const procal = await ProCal.fromModel('fashion-classifier', { base: 'ts' });   // model name or .onnx path
 *   await procal.fit(calibrationImages, calibrationLabels);
 *   const { probs, confidence, proximity } = await procal.predict(testImages);
 *
 * Models are loaded through core-tensor (`loadModel` by name or path, with its card checked; `createSession` for
 * bytes). Inputs are a float32 tensor laid out as the model's input, or 8-bit images, which are converted with the
 * model card's input contract (channels, size and [0, 1] / [0, 255] range).
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
import { ProximityCalibrator, type Prediction, type ProximityCalibratorOptions } from './procal.js';
import type { CalibrationReport, EvaluateOptions } from './metrics.js';
import type { LabelInput } from './validate.js';

export interface ClassifierModelOptions {
  device?: Device;
  /** Output names (defaults 'logits' and 'features'). */
  logitsOutput?: string;
  featuresOutput?: string;
  /** Input name (default: the model's only input). */
  input?: string;
  /** Rows per session run (default 256). */
  batchSize?: number;
  /** Extra folders where a model given by name is looked for (core-tensor `loadModel`). */
  dirs?: string[];
  /** A model card object or path, or false to load without one (core-tensor `loadModel`). */
  card?: string | ModelCard | false;
}

/** What the classifier returns for a batch: float32 logits [N, C] and features [N, D]. */
export interface ClassifierOutputs {
  logits: Tensor<'float32'>;
  features: Tensor<'float32'>;
}

/** Inputs: a float32 tensor [N, ...] shaped as the model's input, or a list of 8-bit images. */
export type ClassifierInput = Tensor | { data: Float32Array; shape: readonly number[] } | readonly Image[];

interface Runner {
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
  session: Session;
  card: ModelCard | undefined;
}

/** An ONNX classifier exposing logits and penultimate features. */
export class ClassifierModel {
  readonly inputName: string;
  readonly logitsOutput: string;
  readonly featuresOutput: string;
  readonly batchSize: number;
  private readonly runner: Runner;
  private disposed = false;

  private constructor(runner: Runner, options: ClassifierModelOptions) {
    this.runner = runner;
    const s = runner.session;
    this.logitsOutput = options.logitsOutput ?? 'logits';
    this.featuresOutput = options.featuresOutput ?? 'features';
    const outs = s.outputs.map((o) => o.name);
    for (const [param, name] of [
      ['logitsOutput', this.logitsOutput],
      ['featuresOutput', this.featuresOutput],
    ] as const)
      if (!outs.includes(name))
        throw new InvalidArgumentError(
          param,
          name,
          `an output of the model (${outs.join(', ')})`,
          'a ProCal classifier needs logits and features outputs',
        );
    const ins = s.inputs.map((i) => i.name);
    if (options.input !== undefined && !ins.includes(options.input))
      throw new InvalidArgumentError('input', options.input, `one of the model inputs (${ins.join(', ')})`);
    if (options.input === undefined && ins.length !== 1)
      throw new InvalidArgumentError('input', undefined, `the name of one of the model inputs (${ins.join(', ')})`);
    this.inputName = options.input ?? ins[0];
    this.batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new InvalidArgumentError('batchSize', this.batchSize, 'a positive integer');
  }

  /**
   * Loads a classifier: a model name (resolved by core-tensor in the models cache that `npm run models` fills), a path
   * to an .onnx file (its `.card.json` is checked when present and `card` is not false), or the model bytes.
   */
  static async load(model: string | Uint8Array, options: ClassifierModelOptions = {}): Promise<ClassifierModel> {
    let runner: Runner;
    if (typeof model === 'string') {
      const loadModel = (core as unknown as { loadModel?: (p: string, o: object) => Promise<Runner> }).loadModel;
      if (!loadModel)
        throw new InvalidArgumentError('model', model, 'model bytes (loading by name or path needs Node)');
      runner = await loadModel(model, { device: options.device, dirs: options.dirs, card: options.card });
    } else if (model instanceof Uint8Array) {
      const session = await createSession(model, { device: options.device });
      runner = { session, card: undefined, run: (f) => session.run(f), dispose: () => session.dispose() };
    } else throw new InvalidArgumentError('model', model, 'a model name, an .onnx path or the model bytes');
    try {
      return new ClassifierModel(runner, options);
    } catch (e) {
      await runner.dispose();
      throw e;
    }
  }

  /** The session's device. */
  get device(): string {
    return this.runner.session.device;
  }

  get card(): ModelCard | undefined {
    return this.runner.card;
  }

  /** Converts images to the model's input tensor (by its card, else its declared input shape). */
  imagesToTensor(images: readonly Image[]): Tensor<'float32'> {
    const info = this.runner.session.inputs.find((i) => i.name === this.inputName)!;
    return core.imagesToModelInput(
      images,
      info,
      this.card?.inputs.find((i) => i.name === this.inputName),
    );
  }

  /** Logits and features for every input row, run in batches of `batchSize`. */
  async run(input: ClassifierInput): Promise<ClassifierOutputs> {
    if (this.disposed) throw new core.DisposedError('ClassifierModel');
    const t = Array.isArray(input) ? this.imagesToTensor(input as readonly Image[]) : toTensor(input as Tensor);
    const n = t.shape[0];
    const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const logits: Float32Array[] = [];
    const features: Float32Array[] = [];
    let C = -1;
    let D = -1;
    for (let s = 0; s < n; s += this.batchSize) {
      const e = Math.min(n, s + this.batchSize);
      const batch = core.tensor((t.data as Float32Array).subarray(s * per, e * per), [e - s, ...t.shape.slice(1)]);
      const out = await this.runner.run({ [this.inputName]: batch });
      const l = out[this.logitsOutput];
      const f = out[this.featuresOutput];
      if (l.shape.length !== 2 || f.shape.length !== 2 || l.shape[0] !== e - s || f.shape[0] !== e - s)
        throw new ShapeError(
          'model outputs',
          `logits [${l.shape.join(', ')}], features [${f.shape.join(', ')}]`,
          `logits [${e - s}, C] and features [${e - s}, D]`,
        );
      C = l.shape[1];
      D = f.shape[1];
      logits.push(Float32Array.from(core.denseData(l as Tensor<'float32'>)));
      features.push(Float32Array.from(core.denseData(f as Tensor<'float32'>)));
    }
    return { logits: core.tensor(concat(logits), [n, C]), features: core.tensor(concat(features), [n, D]) };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.runner.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function toTensor(x: Tensor | { data: Float32Array; shape: readonly number[] }): Tensor {
  if (x === null || typeof x !== 'object' || !('data' in x) || !('shape' in x))
    throw new InvalidArgumentError('input', x, 'a float32 tensor [N, ...] or an array of images');
  if (!(x.data instanceof Float32Array)) throw new core.DTypeError('input', x.data, 'float32 data');
  const t = core.contiguous(core.fromNdArray(x as core.NdArrayLike));
  if (t.shape.length < 2) throw new ShapeError('input', t.shape, '[N, ...] with a batch dimension');
  return t;
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

/**
 * ProCal on a model: the classifier plus a `ProximityCalibrator` fitted on its outputs for a labelled calibration set.
 */
export class ProCal {
  readonly model: ClassifierModel;
  readonly options: ProximityCalibratorOptions;
  private fitted: ProximityCalibrator | undefined;

  private constructor(model: ClassifierModel, options: ProximityCalibratorOptions) {
    this.model = model;
    this.options = options;
  }

  /** Wraps a classifier given by name, path or bytes (see `ClassifierModel.load`). */
  static async fromModel(
    model: string | Uint8Array | ClassifierModel,
    options: ProximityCalibratorOptions & ClassifierModelOptions = {},
  ): Promise<ProCal> {
    const m = model instanceof ClassifierModel ? model : await ClassifierModel.load(model, options);
    return new ProCal(m, options);
  }

  /** The fitted calibrator (after `fit`, or as set by `use`). */
  get calibrator(): ProximityCalibrator {
    if (!this.fitted) throw new InvalidArgumentError('calibrator', undefined, 'a fitted calibrator: call fit() first');
    return this.fitted;
  }

  /** Uses an already fitted (e.g. restored) calibrator. */
  use(calibrator: ProximityCalibrator): this {
    this.fitted = calibrator;
    return this;
  }

  /** Runs the model on the calibration inputs and fits the calibrator. */
  async fit(inputs: ClassifierInput, labels: LabelInput): Promise<ProximityCalibrator> {
    const { logits, features } = await this.model.run(inputs);
    this.fitted = await ProximityCalibrator.fit({ logits, features, labels }, this.options);
    return this.fitted;
  }

  /** Calibrated predictions for new inputs. */
  async predict(inputs: ClassifierInput): Promise<Prediction> {
    const { logits, features } = await this.model.run(inputs);
    return this.calibrator.predict({ logits, features });
  }

  /** Metrics of the base and calibrated outputs on a labelled set. */
  async evaluate(
    inputs: ClassifierInput,
    labels: LabelInput,
    options: EvaluateOptions = {},
  ): Promise<{ base: CalibrationReport; calibrated: CalibrationReport; prediction: Prediction }> {
    const { logits, features } = await this.model.run(inputs);
    return this.calibrator.evaluate({ logits, features, labels }, options);
  }

  async dispose(): Promise<void> {
    await this.fitted?.dispose();
    await this.model.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
