/**
 * Browser entry: the platform-neutral API and the ONNX Runtime binding over `onnxruntime-web`
 * (devices webgpu and wasm). Models load from URLs with fetch, or from bytes.
 */
import { FileNotFoundError, RuntimeMissingError, TrustVisionError } from './errors.js';
import {
  registerRuntime,
  type ConcreteDevice,
  type DeviceOptions,
  type OrtModuleLike,
  type RuntimeBinding,
} from './runtime.js';

export * from './index.js';

let loading: Promise<OrtModuleLike> | undefined;

/** Options for the wasm backend, applied before the first session (e.g. where the .wasm files are served). */
export interface WebRuntimeConfig {
  wasmPaths?: string | Record<string, string>;
  numThreads?: number;
}
let config: WebRuntimeConfig = {};

/** Sets where onnxruntime-web finds its .wasm files and how many threads it uses. Call before the first session. */
export function configureWebRuntime(c: WebRuntimeConfig): void {
  config = { ...config, ...c };
}

function loadWeb(): Promise<OrtModuleLike> {
  if (!loading) {
    loading = import('onnxruntime-web').then(
      (m: any) => {
        const ort = (m && m.InferenceSession ? m : m.default) as OrtModuleLike;
        if (ort.env.wasm) {
          if (config.wasmPaths !== undefined) ort.env.wasm.wasmPaths = config.wasmPaths;
          if (config.numThreads !== undefined) ort.env.wasm.numThreads = config.numThreads;
        }
        return ort;
      },
      (e: unknown) => {
        loading = undefined;
        throw new RuntimeMissingError('onnxruntime-web', e);
      },
    );
  }
  return loading;
}

export const webRuntime: RuntimeBinding = {
  platform: 'browser',
  autoOrder: ['webgpu', 'wasm'],
  devices: ['webgpu', 'wasm'],
  load(_device: ConcreteDevice) {
    return loadWeb();
  },
  runtimeName() {
    return 'onnxruntime-web';
  },
  sessionOptions(device: ConcreteDevice, o: DeviceOptions = {}) {
    if (device === 'webgpu') {
      const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
      if (!nav?.gpu)
        throw new TrustVisionError(
          'E_DEVICE_UNAVAILABLE',
          'WebGPU is not available in this browser (navigator.gpu is missing)',
        );
      return {
        executionProviders: [{ name: 'webgpu', ...(o.preferredLayout ? { preferredLayout: o.preferredLayout } : {}) }],
      };
    }
    return { executionProviders: ['wasm'] };
  },
  async readBytes(url: string) {
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new TrustVisionError('E_IO', `cannot fetch model ${url}: ${(e as Error).message}`, {
        param: 'model',
        value: url,
        cause: e,
      });
    }
    if (res.status === 404) throw new FileNotFoundError('model', url);
    if (!res.ok)
      throw new TrustVisionError('E_IO', `cannot fetch model ${url}: HTTP ${res.status}`, {
        param: 'model',
        value: url,
      });
    return new Uint8Array(await res.arrayBuffer());
  },
};

registerRuntime(webRuntime);
