/**
 * The ProCal stand-in (fashion-classifier): the committed ONNX loads through core-tensor's loadModel (sha256 and I/O
 * checked against the committed card), and ONNX Runtime reproduces the card's accuracy on the official 10,000
 * Fashion-MNIST test images and on the 5,000-image calibration split. Needs the Fashion-MNIST data: the test FAILS,
 * saying how to get it, when the data is missing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadModel, tensor, validateModelCard, type LoadedModel } from '@trustvision/core-tensor';
import { DEB_ASSETS, paths } from '../src/assets.js';
import {
  buildFashionClassifier,
  fashionClassifierCard,
  fashionClassifierPaths,
  type FashionTrainingLog,
} from '../src/recipes/fashion-classifier.js';

const HOW_TO_GET =
  `Fashion-MNIST is Debian's ${DEB_ASSETS.fashionMnist.package}=${DEB_ASSETS.fashionMnist.version}; the models ` +
  'workspace fetches it with `apt-get download` into $TRUSTVISION_CACHE (default ~/.cache/trustvision). Run ' +
  '`apt-get update` and then `npm run models` (or `npm test -w @trustvision/models`) again on a machine that can reach ' +
  'the Debian mirror, or copy the four *-ubyte.gz files into ' +
  '<cache>/assets/deb/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all/usr/share/datasets/fashion-mnist/.';

function fashionMnistDir(): string {
  let dir: string;
  try {
    dir = paths.fashionMnist();
  } catch (e) {
    throw new Error(`Fashion-MNIST is not available: ${(e as Error).message}\n${HOW_TO_GET}`);
  }
  for (const f of [
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
  ])
    if (!existsSync(path.join(dir, f)))
      throw new Error(`Fashion-MNIST is incomplete: ${path.join(dir, f)} is missing.\n${HOW_TO_GET}`);
  return dir;
}

/** Parses a gzipped IDX file: images (magic 0x803) → {n, rows, cols, data}; labels (0x801) → {n, data}. */
function readIdx(file: string): { n: number; rows: number; cols: number; data: Uint8Array } {
  const raw = gunzipSync(readFileSync(file));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0);
  const n = view.getUint32(4);
  const [rows, cols, offset] = magic === 0x803 ? [view.getUint32(8), view.getUint32(12), 16] : [1, 1, 8];
  if (magic !== 0x803 && magic !== 0x801) throw new Error(`${file}: not an IDX file (magic ${magic.toString(16)})`);
  const data = new Uint8Array(raw.buffer, raw.byteOffset + offset, raw.byteLength - offset);
  if (data.length !== n * rows * cols) throw new Error(`${file}: ${data.length} bytes, expected ${n * rows * cols}`);
  return { n, rows, cols, data };
}

interface Split {
  images: Uint8Array; // [n, 28, 28]
  labels: Uint8Array; // [n]
}

let cached: { test: Split; calibration: Split } | undefined;
function loadSplits(dir: string): { test: Split; calibration: Split } {
  if (cached) return cached;
  const testImages = readIdx(path.join(dir, 't10k-images-idx3-ubyte.gz'));
  const testLabels = readIdx(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
  const trainImages = readIdx(path.join(dir, 'train-images-idx3-ubyte.gz'));
  const trainLabels = readIdx(path.join(dir, 'train-labels-idx1-ubyte.gz'));
  expect([testImages.n, testImages.rows, testImages.cols, testLabels.n]).toEqual([10000, 28, 28, 10000]);
  expect([trainImages.n, trainLabels.n]).toEqual([60000, 60000]);
  cached = {
    test: { images: testImages.data, labels: testLabels.data },
    // the calibration (validation) split: official train images 55000..59999
    calibration: { images: trainImages.data.subarray(55000 * 784), labels: trainLabels.data.subarray(55000) },
  };
  return cached;
}

interface Evaluation {
  correct: number;
  n: number;
  featuresShape: number[];
  logitsShape: number[];
  nonFinite: number;
  negativeFeatures: number;
}

async function evaluate(model: LoadedModel, split: Split, batch = 1000): Promise<Evaluation> {
  const n = split.labels.length;
  const out: Evaluation = { correct: 0, n, featuresShape: [], logitsShape: [], nonFinite: 0, negativeFeatures: 0 };
  for (let start = 0; start < n; start += batch) {
    const m = Math.min(batch, n - start);
    const x = new Float32Array(m * 784);
    const src = split.images.subarray(start * 784, (start + m) * 784);
    for (let i = 0; i < x.length; i++) x[i] = src[i] / 255;
    const { logits, features } = await model.run({ input: tensor(x, [m, 1, 28, 28]) });
    if (start === 0) {
      out.logitsShape = [...logits.shape];
      out.featuresShape = [...features.shape];
    }
    expect(logits.shape).toEqual([m, 10]);
    expect(features.shape).toEqual([m, 128]);
    const lg = logits.data as Float32Array;
    const ft = features.data as Float32Array;
    for (const v of lg) if (!Number.isFinite(v)) out.nonFinite++;
    for (const v of ft) {
      if (!Number.isFinite(v)) out.nonFinite++;
      else if (v < 0) out.negativeFeatures++;
    }
    for (let i = 0; i < m; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (lg[i * 10 + c] > lg[i * 10 + best]) best = c;
      if (best === split.labels[start + i]) out.correct++;
    }
  }
  return out;
}

describe('fashion-classifier (ProCal stand-in)', () => {
  const files = fashionClassifierPaths();
  let outDir: string;
  let model: LoadedModel;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'tv-fashion-'));
    const built = await buildFashionClassifier(outDir);
    model = await loadModel(built.path, { device: 'cpu' }); // checks sha256 and I/O against the written card
  });

  afterAll(async () => {
    await model?.dispose();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test('the committed card is valid, says STAND-IN, and is what the recipe drafts from the committed log', async () => {
    const card = validateModelCard(JSON.parse(readFileSync(files.card, 'utf8')));
    expect(card.task).toBe('image-classification');
    expect(card.provenance).toMatchObject({
      license: 'MIT',
      standIn: true,
      source: 'models/python/fashion_classifier.py',
    });
    expect(card.description).toMatch(/STAND-IN/);
    expect(card.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['logits', ['batch', 10]],
      ['features', ['batch', 128]],
    ]);
    expect(card.inputs[0]).toMatchObject({ name: 'input', shape: ['batch', 1, 28, 28], layout: 'NCHW', range: [0, 1] });
    const log = JSON.parse(readFileSync(files.prebuiltLog, 'utf8')) as FashionTrainingLog;
    const drafted = await fashionClassifierCard(new Uint8Array(readFileSync(files.prebuilt)), log);
    expect(drafted).toEqual(card);
    expect(log.onnx.sha256).toBe(card.sha256);
    expect(model.card).toEqual(card);
  });

  test('ONNX Runtime reproduces the card accuracy on the 10,000 test and 5,000 calibration images', async () => {
    const splits = loadSplits(fashionMnistDir());
    const metrics = model.card!.metrics as { testAccuracy: number; validationAccuracy: number };
    for (const [name, split, expected] of [
      ['test', splits.test, metrics.testAccuracy],
      ['calibration', splits.calibration, metrics.validationAccuracy],
    ] as const) {
      const r = await evaluate(model, split);
      expect(r.logitsShape).toEqual([1000, 10]);
      expect(r.featuresShape).toEqual([1000, 128]);
      expect(r.nonFinite).toBe(0);
      expect(r.negativeFeatures).toBe(0); // features are a ReLU output
      const accuracy = r.correct / r.n;
      if (Math.abs(accuracy - expected) > 0.001)
        throw new Error(
          `${name} accuracy ${accuracy} (${r.correct}/${r.n}) differs from the card's ${expected} by more than 0.1%`,
        );
      expect(accuracy).toBeGreaterThan(0.9);
    }
  });

  test('an image gives the same logits alone and inside a batch', async () => {
    const { test } = loadSplits(fashionMnistDir());
    const x = new Float32Array(784);
    for (let i = 0; i < 784; i++) x[i] = test.images[i] / 255;
    const one = await model.run({ input: tensor(x, [1, 1, 28, 28]) });
    const xs = new Float32Array(3 * 784);
    xs.set(x, 784);
    const three = await model.run({ input: tensor(xs, [3, 1, 28, 28]) });
    const a = one.logits.data as Float32Array;
    const b = (three.logits.data as Float32Array).subarray(10, 20);
    for (let c = 0; c < 10; c++) expect(Math.abs(a[c] - b[c])).toBeLessThan(1e-4);
  });
});
