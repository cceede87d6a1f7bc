/**
 * The gcdss stand-in (gcdss-encoder): the committed ONNX loads through core-tensor's loadModel (sha256 and I/O checked
 * against the committed card), the card is what the recipe drafts from the committed training log, and the graph has
 * the maskFeatures contract (float32 [B, 3, 32, 32] in, `features` [B, 128] first, `logits` [B, 7]). Its behaviour on
 * real scene crops is tested in packages/gcdss (test/encoder.test.ts). Needs no data files.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { disposeSharedOps, loadModel, tensor, validateModelCard, type LoadedModel } from '@trustvision/core-tensor';
import { DEB_ASSETS } from '../src/assets.js';
import {
  buildGcdssEncoder,
  gcdssEncoderCard,
  gcdssEncoderPaths,
  type GcdssEncoderTrainingLog,
} from '../src/recipes/gcdss-encoder.js';

describe('gcdss-encoder (GCDSS stand-in)', () => {
  const files = gcdssEncoderPaths();
  let outDir: string;
  let model: LoadedModel;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'tv-gcdss-enc-'));
    const built = await buildGcdssEncoder(outDir);
    model = await loadModel(built.path, { device: 'cpu' });
  });

  afterAll(async () => {
    await model?.dispose();
    await disposeSharedOps();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test('the committed card is valid, says STAND-IN and base-only, and is what the recipe drafts from the log', async () => {
    const card = validateModelCard(JSON.parse(readFileSync(files.card, 'utf8')));
    expect(card.provenance).toMatchObject({ license: 'MIT', standIn: true, source: 'models/python/gcdss_encoder.py' });
    expect(card.description).toMatch(/STAND-IN/);
    expect(card.description).toMatch(/BASE classes only/);
    expect(card.inputs.map((i) => [i.name, i.shape, i.layout])).toEqual([['input', ['batch', 3, 32, 32], 'NCHW']]);
    expect(card.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['features', ['batch', 128]],
      ['logits', ['batch', 7]],
    ]);
    const log = JSON.parse(readFileSync(files.prebuiltLog, 'utf8')) as GcdssEncoderTrainingLog;
    expect(log.data.base_fmnist_classes).toEqual([0, 2, 3, 6, 7, 9]);
    expect(log.data.novel_fmnist_classes).toEqual([1, 4, 5, 8]);
    const drafted = await gcdssEncoderCard(new Uint8Array(readFileSync(files.prebuilt)), log);
    expect(drafted).toEqual(card);
    expect(log.onnx.sha256).toBe(card.sha256);
    expect(log.onnx.bytes).toBeLessThan(5_000_000);
    expect(log.train_seconds).toBeLessThan(12 * 60);
  });

  test('the graph takes [B, 3, 32, 32] and returns features [B, 128] and logits [B, 7], batch-independent', async () => {
    const B = 3;
    const x = new Float32Array(B * 3 * 32 * 32);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 1.5;
    const r = await model.run({ input: tensor(x, [B, 3, 32, 32]) });
    expect(r.features.shape).toEqual([B, 128]);
    expect(r.logits.shape).toEqual([B, 7]);
    for (const v of r.features.data as Float32Array) expect(Number.isFinite(v)).toBe(true);
    const one = await model.run({ input: tensor(x.slice(3 * 32 * 32, 2 * 3 * 32 * 32), [1, 3, 32, 32]) });
    const f = r.features.data as Float32Array;
    const g = one.features.data as Float32Array;
    for (let j = 0; j < 128; j++) expect(g[j]).toBeCloseTo(f[128 + j], 4);
  });

  test('opencv-doc (vtest.avi for the GCDSS street demo) is pinned like the other Debian assets', () => {
    expect(DEB_ASSETS.opencvDoc).toEqual({
      package: 'opencv-doc',
      version: '4.6.0+dfsg-12',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });
});
