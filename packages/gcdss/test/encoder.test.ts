/**
 * The gcdss-encoder stand-in (models/prebuilt, trained by models/python/gcdss_encoder.py on base classes only) against
 * this package: its card declares the input maskFeatures feeds at size 32 (NCHW, ImageNet mean/std outside the graph),
 * maskFeatures returns L2-normalised [count, 128] features from it, and its base-class head recognises base objects and
 * background in scenes built from Fashion-MNIST TEST images (which it never saw) through maskFeatures's crops. The
 * self-supervised contrastive-encoder (grey 1×28×28, [0, 1], normalisation inside the graph) is fed what its card
 * and declared input say.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  createSession,
  disposeSharedOps,
  imagesToModelInput,
  parseModelCard,
  type Session,
} from '@trustvision/core-tensor';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  generateScenes,
  labelSegments,
  maskFeatures,
  maskedCrop,
  resolveFeatureInput,
  segmentMajority,
  type ObjectPool,
} from '../src/index.js';

const models = path.resolve(__dirname, '..', '..', '..', 'models');
const card = JSON.parse(readFileSync(path.join(models, 'cards', 'gcdss-encoder.card.json'), 'utf8'));
const golden = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'scenes_golden.json'), 'utf8')) as {
  images: string;
  labels: number[];
};

function pool(copies: number): ObjectPool {
  const ten = new Uint8Array(Buffer.from(golden.images, 'base64'));
  const images = new Uint8Array(copies * ten.length);
  const labels: number[] = [];
  for (let r = 0; r < copies; r++) {
    images.set(ten, r * ten.length);
    labels.push(...golden.labels);
  }
  return { images, labels };
}

describe('gcdss-encoder through maskFeatures', () => {
  let session: Session;
  beforeAll(async () => {
    session = await createSession(new Uint8Array(readFileSync(path.join(models, 'prebuilt', 'gcdss-encoder.onnx'))), {
      device: 'cpu',
    });
  });
  afterAll(async () => {
    await session?.dispose();
    await disposeSharedOps();
  });

  test('the card declares what maskFeatures feeds at size 32', () => {
    expect(card.provenance.standIn).toBe(true);
    expect(card.inputs[0]).toMatchObject({
      name: 'input',
      dtype: 'float32',
      shape: ['batch', 3, 32, 32],
      layout: 'NCHW',
    });
    expect(card.outputs[0]).toMatchObject({ name: 'features', shape: ['batch', 128] });
    expect(card.preprocessing.normalisation).toMatch(/ImageNet mean \(0\.485, 0\.456, 0\.406\)/);
    expect(session.inputs[0].name).toBe('input');
    expect(session.outputs.map((o) => o.name)).toEqual(['features', 'logits']);
  });

  test('features are L2-normalised [count, 128]; the base head recognises unseen base objects and background', async () => {
    const set = generateScenes(pool(8), { labeled: 0, unlabeled: 6, seed: 1, width: 112, height: 112 });
    let right = 0;
    let total = 0;
    for (const scene of set.unlabeled) {
      const seg = labelSegments(scene.labels, set.width, set.height);
      const f = await maskFeatures(scene.image, seg.segments, seg.count, session, { size: 32 });
      expect(f.shape).toEqual([seg.count, 128]);
      for (let s = 0; s < seg.count; s++) {
        let n = 0;
        for (let j = 0; j < 128; j++) n += f.data[s * 128 + j] ** 2;
        expect(Math.abs(n - 1)).toBeLessThan(1e-4);
      }
      const logits = await maskFeatures(scene.image, seg.segments, seg.count, session, { size: 32, output: 'logits' });
      const maj = segmentMajority(seg.segments, seg.count, scene.labels);
      for (let s = 0; s < seg.count; s++) {
        const c = maj.label[s];
        if (c >= set.numBase || seg.areas[s] < 150) continue; // novel classes have no logit; tiny slivers are noise
        let best = 0;
        for (let j = 1; j < 7; j++) if (logits.data[s * 7 + j] > logits.data[s * 7 + best]) best = j;
        total++;
        if (best === c) right++;
      }
    }
    expect(total).toBeGreaterThan(10);
    expect(right / total).toBeGreaterThan(0.6);
  }, 60_000);
});

describe('the self-supervised contrastive-encoder through maskFeatures (grey 1×28×28, card-driven)', () => {
  const onnx = new Uint8Array(readFileSync(path.join(models, 'prebuilt', 'contrastive-encoder.onnx')));
  const ccard = parseModelCard(readFileSync(path.join(models, 'cards', 'contrastive-encoder.card.json'), 'utf8'));

  test('the card and the declared input decide what is fed; features equal core-tensor imagesToModelInput crops', async () => {
    const session = await createSession(onnx, { device: 'cpu' });
    try {
      const spec = resolveFeatureInput(session.inputs, session.outputs, {}, ccard);
      expect(spec).toEqual({
        input: 'input',
        output: 'features',
        layout: 'NCHW',
        channels: 1,
        bgr: false,
        height: 28,
        width: 28,
        range: [0, 1],
        mean: [0],
        std: [1],
      });
      const set = generateScenes(pool(4), { labeled: 0, unlabeled: 2, seed: 3, width: 96, height: 96 });
      const scene = set.unlabeled[0];
      const seg = labelSegments(scene.labels, set.width, set.height);
      const f = await maskFeatures(scene.image, seg.segments, seg.count, session, { card: ccard, batchSize: 3 });
      expect(f.shape).toEqual([seg.count, 128]);
      // independently: each masked crop through core-tensor's imagesToModelInput (grey, resize, pixel / 255)
      const crops = Array.from({ length: seg.count }, (_, s) => maskedCrop(scene.image, seg.segments, s + 1));
      const x = imagesToModelInput(crops, session.inputs[0], ccard.inputs[0]);
      const y = (await session.run({ input: x }, { outputs: ['features'] })).features;
      for (let s = 0; s < seg.count; s++) {
        const row = Array.from(y.data.subarray(s * 128, (s + 1) * 128) as Float32Array);
        const n = Math.hypot(...row);
        for (let j = 0; j < 128; j += 7) expect(f.data[s * 128 + j]).toBeCloseTo(row[j] / n, 5);
      }
      // without the card the fixed 1×28×28 input still decides channels and size (ImageNet grey defaults)
      const g = await maskFeatures(scene.image, seg.segments, seg.count, session);
      expect(g.shape).toEqual([seg.count, 128]);
    } finally {
      await session.dispose();
    }
  });
});
