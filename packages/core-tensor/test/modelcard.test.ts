import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  cardPathFor,
  draftModelCard,
  loadModel,
  modelSearchPath,
  resolveModel,
  parseModelCard,
  sha256Hex,
  tensor,
  validateModelCard,
  FileNotFoundError,
  InvalidArgumentError,
  ModelCardError,
  ShapeError,
  imagesToModelInput,
  type ModelCard,
} from '../src/node';
import { expectThrows, linearSoftmaxModel } from './helpers';

const { bytes } = linearSoftmaxModel();
const provenance = { source: 'built in test/helpers.ts', license: 'MIT', method: 'GraphBuilder' };

async function card(): Promise<ModelCard> {
  return draftModelCard(bytes, {
    name: 'linear',
    version: '1.0.0',
    task: 'classification',
    file: 'linear.onnx',
    provenance,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4], layout: 'NC', range: [-10, 10] }],
  });
}

function writeModel(c: ModelCard | string | undefined, modelBytes = bytes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tv-card-'));
  const file = path.join(dir, 'linear.onnx');
  writeFileSync(file, modelBytes);
  if (c !== undefined) writeFileSync(cardPathFor(file), typeof c === 'string' ? c : JSON.stringify(c, null, 2));
  return file;
}

test('sha256 matches a known digest', async () => {
  // echo -n abc | sha256sum
  expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});

test('draftModelCard reads the I/O from the model and keeps given details', async () => {
  const c = await card();
  expect(c.schema).toBe('trustvision.modelcard/1');
  expect(c.sha256).toBe(await sha256Hex(bytes));
  expect(c.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 4], layout: 'NC', range: [-10, 10] }]);
  expect(c.outputs.map((o) => o.name)).toEqual(['logits', 'probs']);
  expect(c.opset).toBe(17);
  expect(cardPathFor('/a/b/model.onnx')).toBe('/a/b/model.card.json');
});

test('loadModel checks the card, creates the session and runs', async () => {
  const file = writeModel(await card());
  await using m = await loadModel(file, { device: 'cpu' });
  expect(m.card?.name).toBe('linear');
  expect(m.session.device).toBe('cpu');
  const out = await m.run({ x: tensor(new Float32Array(4), [1, 4]) });
  expect(out.probs.shape).toEqual([1, 3]);
});

describe('card errors name the field', () => {
  async function expectCardError(p: Promise<unknown> | (() => unknown), param: string) {
    let err: unknown;
    try {
      await (typeof p === 'function' ? p() : p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelCardError);
    expect((err as ModelCardError).code).toBe('E_MODEL_CARD');
    expect((err as ModelCardError).param).toBe(param);
    return err as ModelCardError;
  }

  test('a different model file (sha256 mismatch)', async () => {
    const other = linearSoftmaxModel().bytes.slice();
    other[other.length - 1] ^= 1; // still parseable? change opset version byte
    const c = await card();
    const e = await expectCardError(loadModel(writeModel(c, other), { device: 'cpu' }), 'sha256');
    expect(e.message).toMatch(/not the file this card describes/);
  });

  test('declared I/O that does not match the model', async () => {
    const c = await card();
    c.inputs[0].dtype = 'float16';
    await expectCardError(loadModel(writeModel(c), { device: 'cpu' }), 'inputs[0].dtype');
    const c2 = await card();
    c2.inputs[0].shape = ['batch', 5];
    await expectCardError(loadModel(writeModel(c2), { device: 'cpu' }), 'inputs[0].shape');
    const c3 = await card();
    c3.outputs = c3.outputs.slice(0, 1);
    await expectCardError(loadModel(writeModel(c3), { device: 'cpu' }), 'outputs');
  });

  test('malformed cards', async () => {
    const good = await card();
    await expectCardError(() => parseModelCard('{not json'), 'card');
    await expectCardError(() => validateModelCard({ ...good, schema: 'other/1' }), 'schema');
    await expectCardError(() => validateModelCard({ ...good, sha256: 'abc' }), 'sha256');
    await expectCardError(() => validateModelCard({ ...good, name: '' }), 'name');
    await expectCardError(() => validateModelCard({ ...good, inputs: [] }), 'inputs');
    await expectCardError(
      () => validateModelCard({ ...good, inputs: [{ ...good.inputs[0], range: [1, 0] }] }),
      'inputs[0].range',
    );
    await expectCardError(() => validateModelCard({ ...good, provenance: { source: 'x' } }), 'provenance.license');
    await expectCardError(loadModel(writeModel('[]'), { device: 'cpu' }), 'card');
  });

  test('missing card file, or loading without one', async () => {
    const file = writeModel(undefined);
    const e = await loadModel(file).catch((x) => x);
    expect(e).toBeInstanceOf(FileNotFoundError);
    expect(e.param).toBe('card');
    const m = await loadModel(file, { card: false, device: 'cpu' });
    expect(m.card).toBeUndefined();
    await m.dispose();
  });
});

describe('models by name', () => {
  test('a name resolves through the search path; a path is used as is', async () => {
    const file = writeModel(await card());
    const dir = path.dirname(file);
    expect(resolveModel('linear', [dir])).toBe(file);
    expect(resolveModel('./x/y.onnx')).toBe('./x/y.onnx');
    const prev = process.env.TRUSTVISION_MODELS;
    process.env.TRUSTVISION_MODELS = dir;
    try {
      expect(modelSearchPath()[0]).toBe(dir);
      await using m = await loadModel('linear', { device: 'cpu' });
      expect(m.path).toBe(file);
    } finally {
      if (prev === undefined) delete process.env.TRUSTVISION_MODELS;
      else process.env.TRUSTVISION_MODELS = prev;
    }
  });
  test('a missing model says how to build it', () => {
    let err: unknown;
    try {
      resolveModel('no-such-model', ['/nonexistent']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileNotFoundError);
    expect((err as Error).message).toMatch(/npm run models/);
    expect((err as FileNotFoundError).param).toBe('model');
  });
});

describe('imagesToModelInput', () => {
  const img = (w: number, h: number, c: 1 | 3, v = (i: number) => i % 256) => ({
    width: w,
    height: h,
    channels: c,
    data: Uint8Array.from({ length: w * h * c }, (_, i) => v(i)),
  });

  test('NCHW from the declared shape (pixel / 255), channels converted, resized when needed', () => {
    const t = imagesToModelInput([img(2, 2, 3), img(2, 2, 3, () => 255)], { name: 'x', shape: ['N', 3, 2, 2] });
    expect(t.shape).toEqual([2, 3, 2, 2]);
    // first image, channel 1, pixel (0, 0) is byte 1 → 1/255
    expect(t.data[4]).toBeCloseTo(1 / 255, 7);
    expect(t.data[12]).toBe(1);
    const gray = imagesToModelInput([img(4, 4, 3, () => 128)], { name: 'x', shape: ['N', 1, 2, 2] });
    expect(gray.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(gray.data).every((v) => Math.abs(v - 128 / 255) < 1e-6)).toBe(true);
  });

  test('NHWC and 0..255 from the card', () => {
    const card = {
      name: 'x',
      dtype: 'float32' as const,
      shape: ['N', 2, 2, 3],
      layout: 'NHWC',
      range: [0, 255] as [number, number],
    };
    const t = imagesToModelInput([img(2, 2, 3)], { name: 'x' }, card);
    expect(t.shape).toEqual([1, 2, 2, 3]);
    expect(Array.from(t.data.subarray(0, 4))).toEqual([0, 1, 2, 3]);
  });

  test('errors: no images, non-image inputs, bad images', () => {
    expectThrows(() => imagesToModelInput([], { name: 'x', shape: ['N', 3, 2, 2] }), ShapeError, 'E_SHAPE', 'images');
    expectThrows(
      () => imagesToModelInput([img(2, 2, 3)], { name: 'x', shape: ['N', 10] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'images',
    );
    expectThrows(
      () => imagesToModelInput([img(2, 2, 3)], { name: 'x', shape: ['N', 3, 'h', 'w'] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'images',
    );
    expectThrows(
      () =>
        imagesToModelInput([{ width: 2, height: 2, channels: 3, data: new Uint8Array(3) }], {
          name: 'x',
          shape: ['N', 3, 2, 2],
        }),
      ShapeError,
      'E_SHAPE',
    );
  });
});
