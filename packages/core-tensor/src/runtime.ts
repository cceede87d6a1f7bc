/**
 * The seam between core-tensor and an ONNX Runtime package. The Node entry registers a binding over
 * `onnxruntime-node` (and `onnxruntime-web` for an explicit `'wasm'` device), the browser entry one over
 * `onnxruntime-web`. Runtimes are imported lazily, on the first session.
 *
 * The structural `Ort*Like` types keep ORT's own types out of this package's public declarations: users never
 * touch ORT objects, and two copies of onnxruntime-common in one tree cannot clash.
 */
import { InvalidArgumentError, UnknownDeviceError } from './errors.js';

export type Device = 'auto' | 'cuda' | 'webgpu' | 'cpu' | 'wasm';
export type ConcreteDevice = Exclude<Device, 'auto'>;
export const DEVICES: readonly Device[] = ['auto', 'cuda', 'webgpu', 'cpu', 'wasm'];

export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  readonly location?: string;
  getData?(releaseData?: boolean): Promise<unknown>;
  dispose?(): void;
}

export interface OrtValueMetadataLike {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadataLike[];
  readonly outputMetadata?: readonly OrtValueMetadataLike[];
  run(feeds: Record<string, OrtTensorLike>, options?: object): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

export interface OrtModuleLike {
  InferenceSession: { create(model: string | Uint8Array, options?: object): Promise<OrtSessionLike> };
  Tensor: new (type: string, data: unknown, dims?: readonly number[]) => OrtTensorLike;
  env: { versions?: Record<string, string>; logLevel?: string; wasm?: Record<string, unknown>; [k: string]: unknown };
}

/** What an entry point (Node or browser) provides. */
export interface RuntimeBinding {
  /** 'node' or 'browser'. */
  readonly platform: string;
  /** Order in which `'auto'` tries devices. */
  readonly autoOrder: readonly ConcreteDevice[];
  /** Devices this platform can ever use. */
  readonly devices: readonly ConcreteDevice[];
  /** Loads (once) the ORT module that serves `device`. Throws RuntimeMissingError if it is not installed. */
  load(device: ConcreteDevice): Promise<OrtModuleLike>;
  /** Session options that select `device` (execution providers and their settings). */
  sessionOptions(device: ConcreteDevice, deviceOptions?: DeviceOptions): object;
  /** Name of the npm package serving `device`. */
  runtimeName(device: ConcreteDevice): string;
  /** Reads a model path (Node) or URL (browser) into bytes. */
  readBytes?(source: string): Promise<Uint8Array>;
}

/** Per-device settings passed to the execution provider. */
export interface DeviceOptions {
  /** GPU index for cuda. */
  deviceId?: number;
  /** WebGPU preferred layout. */
  preferredLayout?: 'NCHW' | 'NHWC';
  /** wasm threads (browser). */
  numThreads?: number;
}

let binding: RuntimeBinding | undefined;

/** Installs the runtime binding (done by the package's entry points; advanced users may inject their own). */
export function registerRuntime(b: RuntimeBinding): void {
  binding = b;
}

export function getRuntime(): RuntimeBinding {
  if (!binding)
    throw new InvalidArgumentError(
      'runtime',
      undefined,
      'a registered runtime binding',
      "import from '@trustvision/core-tensor' (its node or browser entry registers one)",
    );
  return binding;
}

/** Validates a device name against the platform's devices. */
export function parseDevice(device: unknown, b: RuntimeBinding = getRuntime()): Device {
  const valid: Device[] = ['auto', ...b.devices];
  if (typeof device !== 'string' || !(valid as string[]).includes(device)) throw new UnknownDeviceError(device, valid);
  return device as Device;
}

/** Devices to try, in order, for a requested device. */
export function candidates(device: Device, b: RuntimeBinding = getRuntime()): ConcreteDevice[] {
  return device === 'auto' ? [...b.autoOrder] : [device];
}
