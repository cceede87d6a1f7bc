/**
 * Node.js entry: everything in the platform-neutral API, the Node file helpers, and the ONNX Runtime binding over
 * `onnxruntime-node` (devices cuda, webgpu, cpu) plus `onnxruntime-web` for an explicit `device: 'wasm'`.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { FileNotFoundError, RuntimeMissingError, TrustVisionError } from './errors.js';
import {
  registerRuntime,
  type ConcreteDevice,
  type DeviceOptions,
  type OrtModuleLike,
  type RuntimeBinding,
} from './runtime.js';

export * from './index.js';
export * from './io-node.js';
export { UsageError, commonCliAnswer, parseCliArgs, requireOption, numberOption, runCli } from './cli-support.js';
export { loadModel, resolveModel } from './modelcard-node.js';
export type { LoadModelOptions, LoadedModel } from './modelcard-node.js';

const loaded = new Map<string, Promise<OrtModuleLike>>();

function importRuntime(name: 'onnxruntime-node' | 'onnxruntime-web'): Promise<OrtModuleLike> {
  let p = loaded.get(name);
  if (!p) {
    const load = name === 'onnxruntime-node' ? import('onnxruntime-node') : import('onnxruntime-web');
    p = load.then(
      (m: any) => {
        const ort = (m && m.InferenceSession ? m : m.default) as OrtModuleLike;
        // ORT's process-wide logger prints every failed device probe (e.g. missing CUDA libraries) at error level,
        // although 'auto' handles them and reports them in session.tried. Keep it to fatal unless the user asks.
        const level = process.env.ORT_LOG_LEVEL;
        ort.env.logLevel = level && ['verbose', 'info', 'warning', 'error', 'fatal'].includes(level) ? level : 'fatal';
        if (name === 'onnxruntime-web' && ort.env.wasm) {
          // in Node the wasm backend runs single-threaded unless asked otherwise (worker blob URLs do not exist)
          if (ort.env.wasm.numThreads === undefined || ort.env.wasm.numThreads === 0) ort.env.wasm.numThreads = 1;
        }
        return ort;
      },
      (e: unknown) => {
        loaded.delete(name);
        throw new RuntimeMissingError(name, e);
      },
    );
    loaded.set(name, p);
  }
  return p;
}

export const nodeRuntime: RuntimeBinding = {
  platform: 'node',
  autoOrder: ['cuda', 'webgpu', 'cpu'],
  devices: ['cuda', 'webgpu', 'cpu', 'wasm'],
  load(device: ConcreteDevice) {
    return importRuntime(device === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node');
  },
  runtimeName(device: ConcreteDevice) {
    return device === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node';
  },
  sessionOptions(device: ConcreteDevice, o: DeviceOptions = {}) {
    switch (device) {
      case 'cuda':
        return { executionProviders: [{ name: 'cuda', deviceId: o.deviceId ?? 0 }] };
      case 'webgpu':
        return {
          executionProviders: [
            { name: 'webgpu', ...(o.preferredLayout ? { preferredLayout: o.preferredLayout } : {}) },
          ],
        };
      case 'wasm':
        return { executionProviders: ['wasm'] };
      default:
        // ORT's default intra-op pool is sized to physical cores, which on some virtual machines comes out as one
        // thread although several CPUs are available (measured: 2246 ms vs 1317 ms for a 3k×25k×2048 kNN on 2 vCPUs)
        return { executionProviders: ['cpu'], intraOpNumThreads: os.availableParallelism?.() ?? os.cpus().length };
    }
  },
  async readBytes(path: string) {
    try {
      const b = await readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileNotFoundError('model', path);
      throw new TrustVisionError('E_IO', `cannot read model ${path}: ${(e as Error).message}`, {
        param: 'model',
        value: path,
        cause: e,
      });
    }
  },
};

registerRuntime(nodeRuntime);
