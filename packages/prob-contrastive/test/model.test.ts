/**
 * The model path on the real stand-in encoder (models/prebuilt/contrastive-encoder.onnx, checked against its card):
 * images → encoder features → head (TypeScript `ProbHead` exported to ONNX, or a head .onnx file) → unit embedding +
 * κ, equal to the TypeScript head on the same features; error paths of the adapter.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DisposedError, GraphBuilder, InvalidArgumentError, Rng, tensor, type Image } from '@trustvision/core-tensor';
import { expectRejects } from '@trustvision/jest-preset/expect-errors';
import { ProbContrastive, ProbHead, rankByConfidence } from '../src/index.js';

const MODELS = path.resolve(__dirname, '../../../models');
const ENCODER = path.join(MODELS, 'prebuilt/contrastive-encoder.onnx');
const CARD = path.join(MODELS, 'cards/contrastive-encoder.card.json');
const dir = mkdtempSync(path.join(os.tmpdir(), 'prob-contrastive-model-'));

/** Fashion-MNIST-like synthetic images: a bright blob on black, plus one RGB image of another size. */
function images(): Image[] {
  const rng = Rng.from(5);
  const out: Image[] = [];
  for (let i = 0; i < 6; i++) {
    const data = new Uint8Array(28 * 28);
    const cx = 8 + 12 * rng.uniform();
    const cy = 8 + 12 * rng.uniform();
    const r = 4 + 6 * rng.uniform();
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) data[y * 28 + x] = Math.hypot(x - cx, y - cy) < r ? 200 + ((x * y) % 50) : 0;
    out.push({ width: 28, height: 28, channels: 1, data });
  }
  const rgb = new Uint8Array(56 * 40 * 3).map((_, k) => (k * 7) % 256);
  out.push({ width: 56, height: 40, channels: 3, data: rgb });
  return out;
}

let head: ProbHead;
let model: ProbContrastive;

beforeAll(async () => {
  const x = { data: Rng.from(1).uniformArray(50 * 128, 0, 3), shape: [50, 128] };
  head = ProbHead.init({ features: 128, dim: 32 }, { seed: 3, stats: x });
  head.params.v2.set(Rng.from(4).normalArray(head.kappaHidden, 0, 0.3)); // κ that varies between inputs
  model = await ProbContrastive.load({ encoder: ENCODER, card: CARD, head, device: 'cpu' });
});

afterAll(async () => {
  await model?.dispose();
});

describe('ProbContrastive', () => {
  test('embed(images): unit embeddings and κ > 0, equal to the TypeScript head on the encoder features', async () => {
    const imgs = images();
    const out = await model.embed(imgs);
    expect([out.n, out.d]).toEqual([7, 32]);
    expect(model.card?.name).toBe('contrastive-encoder');
    for (let i = 0; i < 7; i++) {
      let s = 0;
      for (let k = 0; k < 32; k++) s += out.embedding[i * 32 + k] ** 2;
      expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
      expect(out.kappa[i]).toBeGreaterThan(0);
    }
    const { features, n, f } = await model.features(imgs);
    expect([n, f]).toEqual([7, 128]);
    const ts = head.embed({ data: features, shape: [7, 128] });
    for (let i = 0; i < 7 * 32; i++) expect(Math.abs(ts.embedding[i] - out.embedding[i])).toBeLessThan(2e-5);
    for (let i = 0; i < 7; i++) expect(Math.abs(ts.kappa[i] / out.kappa[i] - 1)).toBeLessThan(2e-5);
    expect(new Set(Array.from(out.kappa)).size).toBeGreaterThan(1);
    expect(rankByConfidence(out.kappa).length).toBe(7);
  });

  test('a float32 tensor input and small batches give the same result as images', async () => {
    const imgs = images().slice(0, 6);
    const x = new Float32Array(6 * 784);
    imgs.forEach((im, i) => im.data.forEach((v, k) => (x[i * 784 + k] = v / 255)));
    const small = await ProbContrastive.load({ encoder: ENCODER, card: CARD, head, device: 'cpu', batchSize: 4 });
    try {
      const a = await small.embed(tensor(x, [6, 1, 28, 28]));
      const b = await model.embed(imgs);
      for (let i = 0; i < 6; i++) expect(Math.abs(a.kappa[i] - b.kappa[i]) / b.kappa[i]).toBeLessThan(1e-5);
    } finally {
      await small.dispose();
    }
  });

  test('a head given as an .onnx file written by toOnnx', async () => {
    const file = path.join(dir, 'head.onnx');
    writeFileSync(file, head.toOnnx());
    const m = await ProbContrastive.load({ encoder: ENCODER, card: CARD, head: file, device: 'cpu' });
    try {
      const a = await m.embed(images());
      const b = await model.embed(images());
      expect(Array.from(a.kappa)).toEqual(Array.from(b.kappa));
    } finally {
      await m.dispose();
    }
  });

  test('errors: a head without embedding/kappa, no head for a features-only encoder, use after dispose', async () => {
    const g = new GraphBuilder('id');
    const x = g.input('features', 'float32', ['batch', 128]);
    const [y] = g.op('Identity', [x]);
    g.output(y, 'float32', ['batch', 128], 'out');
    await expectRejects(
      ProbContrastive.load({ encoder: ENCODER, card: CARD, head: g.toBytes(), device: 'cpu' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'head',
    );
    // features-only: features() works, embed() asks for a head
    const bare = await ProbContrastive.load({ encoder: ENCODER, card: CARD, device: 'cpu' });
    try {
      expect((await bare.features(images())).f).toBe(128);
      await expectRejects(bare.embed(images()), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'head');
    } finally {
      await bare.dispose();
    }
    await expectRejects(
      ProbContrastive.load({ encoder: ENCODER, card: CARD, head, featuresOutput: 'nope', device: 'cpu' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'featuresOutput',
    );
    const m = await ProbContrastive.load({ encoder: ENCODER, card: CARD, head, device: 'cpu' });
    await m.dispose();
    await expectRejects(m.embed(images()), DisposedError, 'E_DISPOSED');
    await expectRejects(model.embed([]), Error, 'E_SHAPE', 'images');
  });

  test('an encoder that outputs embedding and kappa itself needs no head', async () => {
    // the head used as an encoder has no 'features' output for a second head
    await expectRejects(
      ProbContrastive.load({ encoder: head.toOnnx(), head, device: 'cpu' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'featuresOutput',
    );
    // a tiny model with both outputs: embedding = x / ‖x‖, kappa = ‖x‖
    const whole = new GraphBuilder('whole');
    const xin = whole.input('input', 'float32', ['batch', 4]);
    const [n2] = whole.op('ReduceL2', [xin], {
      axes: { type: 'ints', value: [1] },
      keepdims: { type: 'int', value: 1 },
    });
    const [e] = whole.op('Div', [xin, n2]);
    whole.output(e, 'float32', ['batch', 4], 'embedding');
    whole.output(n2, 'float32', ['batch', 1], 'kappa');
    const m = await ProbContrastive.load({ encoder: whole.toBytes(), device: 'cpu' });
    try {
      const out = await m.embed(tensor(Float32Array.of(3, 4, 0, 0, 0, 0, 0, 2), [2, 4]));
      expect(Array.from(out.kappa)).toEqual([5, 2]);
      expect(Array.from(out.embedding)).toEqual([0.6, 0.8, 0, 0, 0, 0, 0, 1].map(Math.fround));
    } finally {
      await m.dispose();
    }
  });
});
