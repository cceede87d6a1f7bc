import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createSession,
  registerRuntime,
  nodeRuntime,
  tensor,
  toFloat16,
  fromFloat16,
  toOrtTensor,
  fromOrtTensor,
  GraphBuilder,
  CorruptFileError,
  DeviceUnavailableError,
  DisposedError,
  DTypeError,
  FileNotFoundError,
  InvalidArgumentError,
  ModelLoadError,
  RuntimeMissingError,
  ShapeError,
  UnknownDeviceError,
  type RuntimeBinding,
  type TrustVisionError,
} from '../src/node';
import { fp16Model, linearSoftmaxModel, linearSoftmaxRef } from './helpers';

const { bytes, W, b } = linearSoftmaxModel();
const x = new Float32Array([1, 2, 3, 4, -1, 0.5, 0, 2]);

async function expectError(
  p: Promise<unknown>,
  cls: new (...a: never[]) => TrustVisionError,
  code: string,
  re?: RegExp,
) {
  const e = (await p.then(
    () => undefined,
    (err) => err,
  )) as TrustVisionError;
  expect(e).toBeInstanceOf(cls);
  expect(e.code).toBe(code);
  if (re) expect(e.message).toMatch(re);
  return e;
}

describe('createSession', () => {
  test("'auto' falls back to a device that works and records why the others failed", async () => {
    const s = await createSession(bytes);
    expect(['cuda', 'webgpu', 'cpu']).toContain(s.device);
    const last = s.tried[s.tried.length - 1];
    expect(last).toEqual({ device: s.device, ok: true });
    for (const t of s.tried.slice(0, -1)) {
      expect(t.ok).toBe(false);
      expect(t.reason).toEqual(expect.any(String));
      expect(t.reason!.length).toBeGreaterThan(5);
    }
    expect(s.tried.map((t) => t.device)).toEqual(['cuda', 'webgpu', 'cpu'].slice(0, s.tried.length));
    await s.dispose();
  });

  test('runs on cpu and matches an independent computation', async () => {
    await using s = await createSession(bytes, { device: 'cpu' });
    expect(s.device).toBe('cpu');
    expect(s.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 4] }]);
    expect(s.outputs.map((o) => o.name)).toEqual(['logits', 'probs']);
    expect(s.model.metadata).toEqual({ purpose: 'test' });
    const out = await s.run({ x: tensor(x, [2, 4]) });
    const ref = linearSoftmaxRef(x, W, b, 2);
    expect(out.probs.shape).toEqual([2, 3]);
    ref.flat().forEach((v, i) => expect((out.probs.data as Float32Array)[i]).toBeCloseTo(v, 6));
    const only = await s.run({ x: tensor(x, [2, 4]) }, { outputs: ['probs'] });
    expect(Object.keys(only)).toEqual(['probs']);
  });

  test("'wasm' runs the same model through onnxruntime-web in Node", async () => {
    const s = await createSession(bytes, { device: 'wasm' });
    expect(s.device).toBe('wasm');
    const out = await s.run({ x: tensor(x, [2, 4]) });
    linearSoftmaxRef(x, W, b, 2)
      .flat()
      .forEach((v, i) => expect((out.probs.data as Float32Array)[i]).toBeCloseTo(v, 5));
    await s.dispose();
  });

  test('accepts ndarray-like feeds and non-contiguous views', async () => {
    const s = await createSession(bytes, { device: 'cpu' });
    // x transposed twice through a strided view: [4,2] data read as [2,4] with strides [1,2]
    const xt = new Float32Array(8);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) xt[j * 2 + i] = x[i * 4 + j];
    const out = await s.run({ x: { data: xt, shape: [2, 4], stride: [1, 2], offset: 0 } });
    linearSoftmaxRef(x, W, b, 2)
      .flat()
      .forEach((v, i) => expect((out.probs.data as Float32Array)[i]).toBeCloseTo(v, 6));
    await s.dispose();
  });

  test('float16 and bool inputs and outputs', async () => {
    const s = await createSession(fp16Model(), { device: 'cpu' });
    const out = await s.run({
      x: tensor(toFloat16([1.5, -2, 0.25, 3]), [2, 2], 'float16'),
      mask: tensor(new Uint8Array([1, 0]), [2], 'bool'),
    });
    expect(out.y.dtype).toBe('float16');
    expect(Array.from(fromFloat16(out.y.data as Uint16Array))).toEqual([3, -4, 0, 0]);
    await s.dispose();
  });
});

describe('feed validation names the input, the expected and the actual', () => {
  let s: Awaited<ReturnType<typeof createSession>>;
  beforeAll(async () => {
    s = await createSession(fp16Model(), { device: 'cpu' });
  });
  afterAll(() => s.dispose());
  const hx = tensor(toFloat16([1, 2, 3, 4]), [2, 2], 'float16');
  const mask = tensor(new Uint8Array([1, 1]), [2], 'bool');

  test('missing input', async () => {
    const e = await expectError(s.run({ x: hx }), InvalidArgumentError, 'E_INVALID_ARGUMENT', /input 'mask'/);
    expect(e.param).toBe("input 'mask'");
  });
  test('unknown input name', async () => {
    await expectError(
      s.run({ x: hx, mask, extra: hx }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      /one of the model inputs: x, mask/,
    );
  });
  test('wrong dtype', async () => {
    const e = await expectError(
      s.run({ x: tensor(new Float32Array(4), [2, 2]), mask }),
      DTypeError,
      'E_DTYPE',
      /'input 'x'' must have dtype float16, got "float32"/,
    );
    expect(e.expected).toBe('float16');
  });
  test('wrong rank and wrong fixed dim', async () => {
    await expectError(s.run({ x: tensor(toFloat16([1, 2]), [2], 'float16'), mask }), ShapeError, 'E_SHAPE', /\[n, 2\]/);
    await expectError(
      s.run({ x: tensor(toFloat16([1, 2, 3]), [1, 3], 'float16'), mask }),
      ShapeError,
      'E_SHAPE',
      /got "\[1, 3\]"/,
    );
  });
  test('a symbolic dim must agree across inputs', async () => {
    await expectError(
      s.run({ x: hx, mask: tensor(new Uint8Array(3), [3], 'bool') }),
      ShapeError,
      'E_SHAPE',
      /n = 2 \(as in input 'x'\)/,
    );
  });
  test('feeds must be an object', async () => {
    await expectError(s.run(null as never), InvalidArgumentError, 'E_INVALID_ARGUMENT', /'feeds'/);
  });
});

describe('error paths', () => {
  test('unknown device lists the valid ones', async () => {
    const e = await expectError(
      createSession(bytes, { device: 'tpu' as never }),
      UnknownDeviceError,
      'E_UNKNOWN_DEVICE',
    );
    expect(e.message).toMatch(/'auto', 'cuda', 'webgpu', 'cpu', 'wasm'/);
    expect(e.param).toBe('device');
  });

  test('missing model file', async () => {
    const e = await expectError(createSession('/nonexistent/model.onnx'), FileNotFoundError, 'E_FILE_NOT_FOUND');
    expect(e.param).toBe('model');
  });

  test('corrupt model bytes and files', async () => {
    await expectError(createSession(new Uint8Array([1, 2, 3])), CorruptFileError, 'E_CORRUPT_FILE');
    await expectError(
      createSession(bytes.subarray(0, bytes.length - 7)),
      CorruptFileError,
      'E_CORRUPT_FILE',
      /runs past the end|truncated/,
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tv-'));
    const file = path.join(dir, 'bad.onnx');
    writeFileSync(file, 'this is not a model at all, just some text');
    await expectError(createSession(file), CorruptFileError, 'E_CORRUPT_FILE', /bad\.onnx/);
  });

  test('a well-formed file with an invalid graph is a ModelLoadError', async () => {
    const g = new GraphBuilder('bad');
    const xin = g.input('x', 'float32', [2]);
    const [y] = g.op('NoSuchOperator', [xin]);
    g.output(y, 'float32', [2]);
    await expectError(createSession(g.toBytes(), { device: 'cpu' }), ModelLoadError, 'E_MODEL_LOAD', /NoSuchOperator/);
  });

  test('run after dispose', async () => {
    const s = await createSession(bytes, { device: 'cpu' });
    await s.dispose();
    await expectError(s.run({ x: tensor(x, [2, 4]) }), DisposedError, 'E_DISPOSED');
  });

  describe('with a runtime that cannot load or create sessions', () => {
    const failing = (mode: 'missing' | 'broken'): RuntimeBinding => ({
      ...nodeRuntime,
      async load(device) {
        if (mode === 'missing') throw new RuntimeMissingError('onnxruntime-node');
        const ort = await nodeRuntime.load('cpu');
        return {
          ...ort,
          InferenceSession: {
            create: async () => {
              throw new Error(`${device}: Failed to load shared library libonnxruntime_providers_${device}.so`);
            },
          },
        };
      },
    });
    afterEach(() => registerRuntime(nodeRuntime));

    test('an explicit device whose runtime is missing: RuntimeMissingError with the install command', async () => {
      registerRuntime(failing('missing'));
      await expectError(
        createSession(bytes, { device: 'cpu' }),
        RuntimeMissingError,
        'E_RUNTIME_MISSING',
        /npm i onnxruntime-node/,
      );
    });

    test("'auto' with nothing working: DeviceUnavailableError listing every device and reason", async () => {
      registerRuntime(failing('broken'));
      const e = (await expectError(
        createSession(bytes),
        DeviceUnavailableError,
        'E_DEVICE_UNAVAILABLE',
      )) as DeviceUnavailableError;
      expect(e.tried.map((t) => t.device)).toEqual(['cuda', 'webgpu', 'cpu']);
      expect(e.tried[0].reason).toMatch(/providers_cuda/);
      expect(e.message).toMatch(/webgpu: .*providers_webgpu/);
    });
  });
});

test('ORT tensor conversion shares memory for contiguous data', async () => {
  const ort = await nodeRuntime.load('cpu');
  const data = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = tensor(data, [2, 3]);
  const o = toOrtTensor(ort, t);
  expect(o.data).toBe(data);
  expect(o.dims).toEqual([2, 3]);
  const back = await fromOrtTensor(o);
  expect(back.data).toBe(data);
  // a contiguous slice is a subarray view of the same buffer
  const slice = toOrtTensor(ort, { ...t, shape: [1, 3], offset: 3 });
  expect((slice.data as Float32Array).buffer).toBe(data.buffer);
  expect(Array.from(slice.data as Float32Array)).toEqual([4, 5, 6]);
});
