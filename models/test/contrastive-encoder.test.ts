/**
 * The prob-contrastive stand-in (contrastive-encoder): the committed ONNX loads through core-tensor's loadModel (sha256
 * and I/O checked against the committed card), the card is what the recipe drafts from the committed training log,
 * and ONNX Runtime reproduces the card's 20-NN accuracy (cosine, 55,000 training → 10,000 test images). Needs the
 * Fashion-MNIST data; FAILS, saying how to get it, when it is missing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  disposeSharedOps,
  knn,
  loadModel,
  tensor,
  validateModelCard,
  type LoadedModel,
} from '@trustvision/core-tensor';
import { DEB_ASSETS, paths } from '../src/assets.js';
import {
  buildContrastiveEncoder,
  contrastiveEncoderCard,
  contrastiveEncoderPaths,
  type ContrastiveTrainingLog,
} from '../src/recipes/contrastive-encoder.js';

function fashionMnistDir(): string {
  const how =
    `Fashion-MNIST is Debian's ${DEB_ASSETS.fashionMnist.package}=${DEB_ASSETS.fashionMnist.version}; ` +
    '`npm run models` fetches it into $TRUSTVISION_CACHE (default ~/.cache/trustvision).';
  let dir: string;
  try {
    dir = paths.fashionMnist();
  } catch (e) {
    throw new Error(`Fashion-MNIST is not available: ${(e as Error).message}\n${how}`);
  }
  if (!existsSync(path.join(dir, 't10k-images-idx3-ubyte.gz')))
    throw new Error(`Fashion-MNIST is missing in ${dir}.\n${how}`);
  return dir;
}

function readIdx(file: string): Uint8Array {
  const raw = gunzipSync(readFileSync(file));
  const magic = raw.readUInt32BE(0);
  return raw.subarray(magic === 0x803 ? 16 : 8);
}

async function features(model: LoadedModel, images: Uint8Array, n: number): Promise<Float32Array> {
  const out = new Float32Array(n * 128);
  for (let s = 0; s < n; s += 1000) {
    const m = Math.min(1000, n - s);
    const x = new Float32Array(m * 784);
    for (let i = 0; i < x.length; i++) x[i] = images[s * 784 + i] / 255;
    const r = await model.run({ input: tensor(x, [m, 1, 28, 28]) });
    expect(r.features.shape).toEqual([m, 128]);
    out.set(r.features.data as Float32Array, s * 128);
  }
  return out;
}

describe('contrastive-encoder (prob-contrastive stand-in)', () => {
  const files = contrastiveEncoderPaths();
  let outDir: string;
  let model: LoadedModel;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'tv-contrastive-'));
    const built = await buildContrastiveEncoder(outDir);
    model = await loadModel(built.path, { device: 'cpu' });
  });

  afterAll(async () => {
    await model?.dispose();
    await disposeSharedOps();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test('the committed card is valid, says STAND-IN, and is what the recipe drafts from the committed log', async () => {
    const card = validateModelCard(JSON.parse(readFileSync(files.card, 'utf8')));
    expect(card.provenance).toMatchObject({
      license: 'MIT',
      standIn: true,
      source: 'models/python/contrastive_encoder.py',
    });
    expect(card.description).toMatch(/STAND-IN/);
    expect(card.outputs.map((o) => [o.name, o.shape])).toEqual([['features', ['batch', 128]]]);
    expect(card.inputs[0]).toMatchObject({ name: 'input', shape: ['batch', 1, 28, 28], layout: 'NCHW', range: [0, 1] });
    const log = JSON.parse(readFileSync(files.prebuiltLog, 'utf8')) as ContrastiveTrainingLog;
    const drafted = await contrastiveEncoderCard(new Uint8Array(readFileSync(files.prebuilt)), log);
    expect(drafted).toEqual(card);
    expect(log.onnx.sha256).toBe(card.sha256);
  });

  test("ONNX Runtime reproduces the card's 20-NN accuracy (55,000 train → 10,000 test)", async () => {
    const dir = fashionMnistDir();
    const trainImages = readIdx(path.join(dir, 'train-images-idx3-ubyte.gz'));
    const trainLabels = readIdx(path.join(dir, 'train-labels-idx1-ubyte.gz'));
    const testImages = readIdx(path.join(dir, 't10k-images-idx3-ubyte.gz'));
    const testLabels = readIdx(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
    const gallery = await features(model, trainImages, 55000);
    const queries = await features(model, testImages, 10000);
    for (const v of queries) expect(v >= 0 && Number.isFinite(v)).toBe(true);
    const { indices } = await knn(
      { data: queries, shape: [10000, 128] },
      { data: gallery, shape: [55000, 128] },
      {
        k: 20,
        metric: 'cosine',
      },
    );
    let correct = 0;
    const votes = new Int32Array(10);
    for (let q = 0; q < 10000; q++) {
      votes.fill(0);
      for (let j = 0; j < 20; j++) votes[trainLabels[indices[q * 20 + j]]]++;
      let best = 0;
      for (let c = 1; c < 10; c++) if (votes[c] > votes[best]) best = c;
      if (best === testLabels[q]) correct++;
    }
    const expected = (model.card!.metrics as { knn20TestAccuracy: number }).knn20TestAccuracy;
    // torch.topk and ORT TopK may break distance ties and vote ties differently: allow 0.3%
    expect(Math.abs(correct / 10000 - expected)).toBeLessThan(0.003);
    expect(correct / 10000).toBeGreaterThan(0.8);
  }, 300_000);
});
