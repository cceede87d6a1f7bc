import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BlazeFaceDetector,
  DisposedError,
  FacePipeline,
  FileNotFoundError,
  GraphBuilder,
  InvalidArgumentError,
  ModelCardError,
  ShapeError,
  arcfaceTemplate,
  attr,
  blazefaceTemplate,
  cropSquare,
  draftModelCard,
  embedderContract,
  estimateSimilarity,
  loadModel,
  tensor,
  warpAffine,
  type FaceDetection,
  type Image,
  type ModelCardIO,
} from '../src/node';
import { expectThrows } from './helpers';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (±${tol})`);
}

/** An "embedder" that returns its input flattened: [N, S, S, 3] (NHWC) or [N, 3, S, S] (NCHW) → [N, 3·S·S]. */
function flattenModel(size: number, layout: 'NHWC' | 'NCHW', batch: number | string = 'N'): Uint8Array {
  const g = new GraphBuilder('flatten');
  const shape = layout === 'NHWC' ? [batch, size, size, 3] : [batch, 3, size, size];
  const x = g.input('input', 'float32', shape);
  const [y] = g.op('Flatten', [x], { axis: attr.i(1) });
  g.output(y, 'float32', [batch, 3 * size * size], 'embedding');
  const [s] = g.op('ReduceSum', [y], { keepdims: attr.i(1), axes: attr.ints([1]) });
  g.output(s, 'float32', [batch, 1], 'sum');
  return g.toBytes({ opset: 12 });
}

/** A stand-in BlazeFace (front, 128): one face at anchor 272 (a 32-px box at the input centre), fixed keypoints. */
function stubDetector(): Uint8Array {
  const regs = new Float32Array(896 * 16);
  // eyes (∓8, −4), nose (0, 0), mouth (0, 8), ears (∓16, 0) relative to the anchor, input pixels
  regs.set([0, 0, 32, 32, -8, -4, 8, -4, 0, 0, 0, 8, -16, 0, 16, 0], 272 * 16);
  const bias = new Float32Array(896).fill(-20);
  bias[272] = 3;
  const g = new GraphBuilder('stub-blazeface');
  const x = g.input('input:0', 'float32', [1, 128, 128, 3]);
  const [m] = g.op('ReduceMean', [x], { keepdims: attr.i(0) });
  const [z] = g.op('Mul', [m, g.constant(tensor(new Float32Array([0]), []))]);
  const outs: [string, number[], Float32Array][] = [
    ['Identity:0', [1, 512, 1], bias.slice(0, 512)],
    ['Identity_1:0', [1, 384, 1], bias.slice(512)],
    ['Identity_2:0', [1, 512, 16], regs.slice(0, 512 * 16)],
    ['Identity_3:0', [1, 384, 16], regs.slice(512 * 16)],
  ];
  for (const [name, shape, v] of outs) {
    const [o] = g.op('Add', [g.constant(tensor(v, shape)), z]);
    g.output(o, 'float32', shape, name);
  }
  return g.toBytes();
}

/** A gray-gradient RGB image: R = x, G = y, B = (x + y) / 2, all mod 256. */
function gradient(w: number, h: number): Image {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      data[o] = x & 255;
      data[o + 1] = y & 255;
      data[o + 2] = ((x + y) >> 1) & 255;
    }
  return { width: w, height: h, channels: 3, data };
}

let dir: string;
const files: Record<string, string> = {};

async function writeModel(
  name: string,
  bytes: Uint8Array,
  card?: { inputs?: ModelCardIO[]; preprocessing?: Record<string, unknown> },
) {
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, bytes);
  if (card) {
    const c = await draftModelCard(bytes, {
      name,
      version: '0',
      task: 'face-embedding',
      file: `${name}.onnx`,
      provenance: { source: 'test', license: 'MIT' },
      ...card,
    });
    writeFileSync(path.join(dir, `${name}.card.json`), JSON.stringify(c));
  }
  files[name] = file;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tv-face-'));
  await writeModel('blazeface', stubDetector());
  // 8×8 NCHW with range [0, 1] declared in the card
  await writeModel('flat-nchw', flattenModel(8, 'NCHW'), {
    inputs: [{ name: 'input', dtype: 'float32', shape: ['N', 3, 8, 8], layout: 'NCHW', range: [0, 1] }],
  });
  // 4×4 NHWC, card states range [-1, 1] and a mean/std in preprocessing
  await writeModel('flat-nhwc', flattenModel(4, 'NHWC'), {
    inputs: [{ name: 'input', dtype: 'float32', shape: ['N', 4, 4, 3], layout: 'NHWC', range: [-1, 1] }],
    preprocessing: { mean: [0, 0.5, 0], std: [1, 1, 2] },
  });
  // no card: the faceres defaults apply (NHWC, 0..255); fixed batch of 1
  await writeModel('flat-nocard', flattenModel(4, 'NHWC', 1));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('embedderContract', () => {
  test('read from the card, with the model shape and faceres defaults as fallbacks', async () => {
    const m1 = await loadModel(files['flat-nchw'], { device: 'cpu' });
    const m2 = await loadModel(files['flat-nocard'], { device: 'cpu', card: false });
    try {
      expect(embedderContract({ ...m1.session, card: m1.card })).toEqual({
        inputName: 'input',
        outputName: 'embedding',
        size: 8,
        layout: 'NCHW',
        range: [0, 1],
        mean: [0, 0, 0],
        std: [1, 1, 1],
        maxBatch: Infinity,
      });
      expect(embedderContract(m2.session)).toMatchObject({ size: 4, layout: 'NHWC', range: [0, 255], maxBatch: 1 });
      expect(embedderContract(m2.session, { range: [0, 1], outputName: 'sum' })).toMatchObject({
        range: [0, 1],
        outputName: 'sum',
      });
      expectThrows(
        () => embedderContract(m2.session, { size: 5 }),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'contract.size',
      );
      expectThrows(
        () => embedderContract(m2.session, { outputName: 'nope' }),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'contract.outputName',
      );
    } finally {
      await m1.dispose();
      await m2.dispose();
    }
  });
});

describe('blazefaceTemplate', () => {
  test('eyes and nose of the ArcFace template, mouth centre = mean of its corners; scale about the centre', () => {
    const t = arcfaceTemplate(224);
    expectClose(
      blazefaceTemplate(224),
      [t[0], t[1], t[2], t[3], t[4], t[5], (t[6] + t[8]) / 2, (t[7] + t[9]) / 2],
      1e-12,
    );
    // 112: mouth centre ((41.5493 + 70.7299) / 2, (92.3655 + 92.2041) / 2) = (56.1396, 92.2848)
    expectClose(blazefaceTemplate(112).subarray(6), [56.1396, 92.2848], 1e-9);
    expectClose(blazefaceTemplate(112, 0.5).subarray(0, 2), [56 + (38.2946 - 56) / 2, 56 + (51.6963 - 56) / 2], 1e-9);
  });
});

describe('FacePipeline', () => {
  const face = (kp: number[][], box = { x: 10, y: 20, width: 40, height: 20 }): FaceDetection => ({
    box,
    score: 0.9,
    keypoints: kp.map((p) => [p[0], p[1]] as [number, number]),
  });

  test('align: keypoints on the template give the identity warp; box mode crops the squared box with its margin', async () => {
    const p = await FacePipeline.create({ detector: files.blazeface, embedder: files['flat-nchw'], device: 'cpu' });
    try {
      expect(p.contract.size).toBe(8);
      const img = gradient(224, 224);
      const t = blazefaceTemplate(224);
      const f = face([0, 1, 2, 3].map((i) => [t[2 * i], t[2 * i + 1]]));
      const crop = p.align(img, f, 224, 'similarity');
      expect(crop.width).toBe(224);
      expect(Array.from(crop.data)).toEqual(Array.from(img.data));
      // keypoints at half the template's scale, shifted by (30, 40): the crop is the ×2 warp of that region
      const kp = [0, 1, 2, 3].map((i) => [t[2 * i] / 2 + 30, t[2 * i + 1] / 2 + 40]);
      const big = gradient(300, 300);
      const m = estimateSimilarity(kp.flat(), t);
      expectClose(m, [2, 0, -60, 0, 2, -80], 1e-9);
      expect(p.align(big, face(kp), 224, 'similarity')).toEqual(warpAffine(big, m, 224, 224));
      // box 40×20 at (10, 20): side 40·1.5 = 60 around the centre (30, 30) → region (0, 0, 60)
      expect(p.align(big, f, 16, 'box')).toEqual(cropSquare(big, { x: 0, y: 0, size: 60 }, 16));
      // default size: the embedder's
      expect(p.align(big, f, undefined, 'box').width).toBe(8);
      // shrinking by more than 1/0.75: supersampled, so a flat image stays flat
      const flat: Image = { width: 700, height: 700, channels: 1, data: new Uint8Array(700 * 700).fill(77) };
      const tiny = p.align(flat, face(kp.map(([x, y]) => [x * 4, y * 4])), 32, 'similarity');
      expect(new Set(tiny.data)).toEqual(new Set([77])); // the crop lies inside the image: no border
      expectThrows(() => p.align(img, face([[1, 2]]), 8, 'similarity'), ShapeError, 'E_SHAPE', 'face.keypoints');
      expectThrows(
        () => p.align(img, { ...f, box: { x: 0, y: 0, width: 0, height: 5 } }, 8, 'box'),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'face.box',
      );
      expectThrows(() => p.align(img, f, 8, 'warp' as 'box'), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'mode');
    } finally {
      await p.dispose();
    }
  });

  test('embed follows the card: NCHW layout and [0, 1] range; rows are L2-normalised', async () => {
    const p = await FacePipeline.create({ detector: files.blazeface, embedder: files['flat-nchw'], device: 'cpu' });
    try {
      // a pure red 8×8 crop: NCHW puts the 64 ones first, then 128 zeros → normalised 1/8
      const red: Image = { width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3) };
      for (let i = 0; i < 64; i++) red.data[3 * i] = 255;
      const e = await p.embed([red]);
      expect(e.shape).toEqual([1, 192]);
      expectClose(e.data, [...new Array(64).fill(1 / 8), ...new Array(128).fill(0)]);
      // a 16×16 crop is resized to 8×8 first
      const red16: Image = { width: 16, height: 16, channels: 3, data: new Uint8Array(16 * 16 * 3) };
      for (let i = 0; i < 256; i++) red16.data[3 * i] = 255;
      expectClose((await p.embed([red16])).data, e.data);
      await expect(p.embed([])).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(p.embed([{ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }])).rejects.toBeInstanceOf(
        ShapeError,
      );
    } finally {
      await p.dispose();
    }
    await expect(p.embed([])).rejects.toBeInstanceOf(DisposedError);
  });

  test('embed: NHWC, range [−1, 1], per-channel mean/std from the card; batching gives the same rows', async () => {
    const p = await FacePipeline.create({
      detector: files.blazeface,
      embedder: files['flat-nhwc'],
      device: 'cpu',
      batchSize: 2,
    });
    const q = await FacePipeline.create({ detector: files.blazeface, embedder: files['flat-nhwc'], device: 'cpu' });
    try {
      expect(p.contract).toMatchObject({ layout: 'NHWC', range: [-1, 1], mean: [0, 0.5, 0], std: [1, 1, 2] });
      // bytes (255, 255, 255) → (1, 1, 1) → ((1 − 0)/1, (1 − 0.5)/1, (1 − 0)/2) = (1, 0.5, 0.5) per pixel, NHWC
      const white: Image = { width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(255) };
      const e = await p.embed([white]);
      const n = Math.sqrt(16 * 1.5);
      expectClose(e.data, new Array(16).fill([1 / n, 0.5 / n, 0.5 / n]).flat());
      const crops = Array.from({ length: 5 }, (_, k) => ({
        ...gradient(4, 4),
        data: gradient(4, 4).data.map((v) => (v * (k + 1)) & 255),
      }));
      const a = await p.embed(crops);
      const b = await q.embed(crops);
      expect(a.shape).toEqual([5, 48]);
      expectClose(a.data, b.data, 1e-7);
    } finally {
      await p.dispose();
      await q.dispose();
    }
  });

  test('a model without a card takes the faceres contract (NHWC, 0..255); a fixed batch of 1 runs crop by crop', async () => {
    const p = await FacePipeline.create({ detector: files.blazeface, embedder: files['flat-nocard'], device: 'cpu' });
    try {
      expect(p.contract).toMatchObject({ size: 4, layout: 'NHWC', range: [0, 255], maxBatch: 1 });
      const e = await p.embed([gradient(4, 4), gradient(4, 4)]);
      expect(e.shape).toEqual([2, 48]);
      expectClose(e.data.subarray(0, 48), e.data.subarray(48));
    } finally {
      await p.dispose();
    }
  });

  test('process = detect → align → embed; name lookup through dirs; models passed in are not disposed', async () => {
    const detector = await BlazeFaceDetector.create(files.blazeface, { device: 'cpu' });
    const p = await FacePipeline.create({
      detector,
      embedder: 'flat-nhwc',
      dirs: [dir],
      device: 'cpu',
      alignment: 'box',
    });
    try {
      const img = gradient(256, 256);
      const faces = await p.process(img);
      expect(faces).toHaveLength(1);
      // the stub's box: [0.40625, 0.65625] of the 256 letterbox
      expectClose([faces[0].box.x, faces[0].box.y, faces[0].box.width], [104, 104, 64], 1e-3);
      expect(faces[0].crop.width).toBe(4);
      expect(faces[0].embedding).toHaveLength(48);
      expectClose(faces[0].embedding, (await p.embed([p.align(img, faces[0])])).data);
      const sim = await FacePipeline.create({ detector, embedder: 'flat-nhwc', dirs: [dir], device: 'cpu' });
      expect((await sim.process(img))[0].crop.width).toBe(4);
      await sim.dispose();
      // detectorOptions apply to every detect, also with a detector passed in
      const strict = await FacePipeline.create({
        detector,
        embedder: 'flat-nhwc',
        dirs: [dir],
        device: 'cpu',
        detectorOptions: { minFaceSize: 100 },
      });
      expect(await strict.process(img)).toEqual([]);
      expect(await strict.detect(img, { minFaceSize: 0 })).toHaveLength(1);
      await strict.dispose();
    } finally {
      await p.dispose();
    }
    // the detector was passed in: still usable
    expect(await detector.detect(gradient(128, 128))).toHaveLength(1);
    await detector.dispose();
  });

  test('bad options and missing models are typed errors', async () => {
    const base = { detector: files.blazeface, embedder: files['flat-nhwc'], device: 'cpu' as const };
    await expect(FacePipeline.create({ ...base, alignment: 'affine' as 'box' })).rejects.toMatchObject({
      param: 'alignment',
    });
    await expect(FacePipeline.create({ ...base, batchSize: 0 })).rejects.toMatchObject({ param: 'batchSize' });
    await expect(FacePipeline.create({ ...base, boxMargin: NaN })).rejects.toMatchObject({ param: 'boxMargin' });
    const missing = FacePipeline.create({ ...base, embedder: 'no-such-embedder', dirs: [dir] });
    await expect(missing).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(FacePipeline.create({ ...base, embedder: 'no-such-embedder', dirs: [dir] })).rejects.toThrow(
      /npm run models/,
    );
    // a card whose sha256 does not match the model
    writeFileSync(path.join(dir, 'bad.onnx'), flattenModel(4, 'NHWC'));
    writeFileSync(
      path.join(dir, 'bad.card.json'),
      JSON.stringify({
        ...JSON.parse(
          JSON.stringify(
            await draftModelCard(flattenModel(8, 'NHWC'), {
              name: 'bad',
              version: '0',
              task: 't',
              file: 'bad.onnx',
              provenance: { source: 's', license: 'MIT' },
            }),
          ),
        ),
      }),
    );
    await expect(FacePipeline.create({ ...base, embedder: path.join(dir, 'bad.onnx') })).rejects.toBeInstanceOf(
      ModelCardError,
    );
    const p = await FacePipeline.create(base);
    await expect(p.process({ width: 0, height: 1, channels: 3, data: new Uint8Array(0) })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await p.dispose();
  });
});
