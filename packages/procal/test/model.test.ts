/**
 * The model path on tiny classifiers built with core-tensor's GraphBuilder (no models cache needed): two outputs,
 * `logits` and `features`, batched runs, image inputs, and ProCal.fromModel end to end.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  FileNotFoundError,
  GraphBuilder,
  InvalidArgumentError,
  Rng,
  attr,
  tensor,
  type Image,
} from '@trustvision/core-tensor';
import { ClassifierModel, ProCal, ProximityCalibrator } from '../src/index.js';
import { expectRejects } from './helpers.js';

const rng = Rng.from('procal-model');
const W1 = rng.normalFloat32(16 * 6, 0, 0.5);
const B1 = rng.normalFloat32(6, 0, 0.1);
const W2 = rng.normalFloat32(6 * 3, 0, 1);
const B2 = rng.normalFloat32(3, 0, 0.1);

/** input [batch, 1, 4, 4] → flatten → features = relu(x W1 + b1) [batch, 6] → logits = features W2 + b2 [batch, 3] */
function tinyClassifier(outputs: [string, string] = ['logits', 'features']): Uint8Array {
  const g = new GraphBuilder('tiny-classifier');
  const x = g.input('input', 'float32', ['batch', 1, 4, 4]);
  const [flat] = g.op('Flatten', [x], { axis: attr.i(1) });
  const [h] = g.op('Gemm', [flat, g.initializer(tensor(W1, [16, 6]), 'W1'), g.initializer(tensor(B1, [6]), 'B1')]);
  const [feat] = g.op('Relu', [h]);
  const [logits] = g.op('Gemm', [feat, g.initializer(tensor(W2, [6, 3]), 'W2'), g.initializer(tensor(B2, [3]), 'B2')]);
  g.output(logits, 'float32', ['batch', 3], outputs[0]);
  g.output(feat, 'float32', ['batch', 6], outputs[1]);
  return g.toBytes();
}

/** float64 reference of the tiny classifier */
function reference(x: Float32Array, n: number) {
  const feats = new Float64Array(n * 6);
  const logits = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 6; j++) {
      let s = B1[j];
      for (let t = 0; t < 16; t++) s += x[i * 16 + t] * W1[t * 6 + j];
      feats[i * 6 + j] = Math.max(s, 0);
    }
    for (let c = 0; c < 3; c++) {
      let s = B2[c];
      for (let j = 0; j < 6; j++) s += feats[i * 6 + j] * W2[j * 3 + c];
      logits[i * 3 + c] = s;
    }
  }
  return { feats, logits };
}

const N = 120;
const X = rng.uniformFloat32(N * 16, 0, 1);
const ref = reference(X, N);
const labels = Int32Array.from({ length: N }, (_, i) => {
  // mostly the model's own argmax, with some noise so that calibration has something to do
  let b = 0;
  for (let c = 1; c < 3; c++) if (ref.logits[i * 3 + c] > ref.logits[i * 3 + b]) b = c;
  return rng.uniform() < 0.75 ? b : rng.int(3);
});

describe('ClassifierModel', () => {
  test('runs in batches and returns logits [N, C] and features [N, D]', async () => {
    const m = await ClassifierModel.load(tinyClassifier(), { batchSize: 7, device: 'cpu' });
    expect(m.inputName).toBe('input');
    const out = await m.run(tensor(X, [N, 1, 4, 4]));
    expect(out.logits.shape).toEqual([N, 3]);
    expect(out.features.shape).toEqual([N, 6]);
    for (let i = 0; i < N * 3; i++) expect(out.logits.data[i]).toBeCloseTo(ref.logits[i], 4);
    for (let i = 0; i < N * 6; i++) expect(out.features.data[i]).toBeCloseTo(ref.feats[i], 4);
    const whole = await (
      await ClassifierModel.load(tinyClassifier(), { batchSize: 1000, device: 'cpu' })
    ).run(tensor(X, [N, 1, 4, 4]));
    expect(Array.from(whole.logits.data)).toEqual(Array.from(out.logits.data));
    await m.dispose();
  });

  test('8-bit images are converted with the input contract (channels, size, /255)', async () => {
    const m = await ClassifierModel.load(tinyClassifier(), { device: 'cpu' });
    const img: Image = { width: 4, height: 4, channels: 1, data: Uint8Array.from({ length: 16 }, (_, i) => i * 16) };
    const rgb: Image = { width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3).fill(255) };
    const t = m.imagesToTensor([img, rgb]);
    expect(t.shape).toEqual([2, 1, 4, 4]);
    expect(t.data[3]).toBeCloseTo(48 / 255, 6);
    expect(t.data[16]).toBeCloseTo(1, 6);
    const out = await m.run([img, rgb]);
    expect(out.logits.shape).toEqual([2, 3]);
    await m.dispose();
  });

  test('a model without the two outputs, a missing model, a wrong input name', async () => {
    await expectRejects(
      ClassifierModel.load(tinyClassifier(['logits', 'embedding']), { device: 'cpu' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'featuresOutput',
    );
    const m = await ClassifierModel.load(tinyClassifier(['logits', 'embedding']), {
      device: 'cpu',
      featuresOutput: 'embedding',
    });
    expect(m.featuresOutput).toBe('embedding');
    await m.dispose();
    await expectRejects(
      ClassifierModel.load('no-such-procal-model', { dirs: [os.tmpdir()] }),
      FileNotFoundError,
      'E_FILE_NOT_FOUND',
      'model',
    );
    await expectRejects(
      ClassifierModel.load(tinyClassifier(), { input: 'pixels' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'input',
    );
  });

  test('loads from a path (without a card)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'procal-model-'));
    const file = path.join(dir, 'tiny.onnx');
    writeFileSync(file, tinyClassifier());
    const m = await ClassifierModel.load(file, { card: false, device: 'cpu' });
    expect((await m.run(tensor(X.subarray(0, 32), [2, 1, 4, 4]))).logits.shape).toEqual([2, 3]);
    await m.dispose();
  });
});

describe('ProCal.fromModel', () => {
  test('fit / predict / evaluate straight from inputs equal the array API on the model outputs', async () => {
    const procal = await ProCal.fromModel(tinyClassifier(), { base: 'ts', k: 5, device: 'cpu' });
    const calX = tensor(X.subarray(0, 80 * 16), [80, 1, 4, 4]);
    const testX = tensor(X.subarray(80 * 16), [40, 1, 4, 4]);
    await procal.fit(calX, labels.subarray(0, 80));
    const p = await procal.predict(testX);
    expect(p.probs.length).toBe(40 * 3);
    const outs = await procal.model.run(calX);
    const testOuts = await procal.model.run(testX);
    const direct = await ProximityCalibrator.fit({ ...outs, labels: labels.subarray(0, 80) }, { base: 'ts', k: 5 });
    expect(Array.from((await direct.predict(testOuts)).probs)).toEqual(Array.from(p.probs));
    const r = await procal.evaluate(testX, labels.subarray(80));
    expect(r.calibrated.n).toBe(40);
    expect(Number.isFinite(r.calibrated.piece)).toBe(true);
    // a restored calibrator can be plugged in
    const restored = ProximityCalibrator.fromJSON(JSON.parse(JSON.stringify(procal.calibrator.toJSON())));
    const again = await (await ProCal.fromModel(procal.model)).use(restored).predict(testX);
    expect(Array.from(again.probs)).toEqual(Array.from(p.probs));
    await procal.dispose();
  });

  test('predict before fit is a typed error', async () => {
    const procal = await ProCal.fromModel(tinyClassifier(), { device: 'cpu' });
    await expectRejects(
      procal.predict(tensor(X.subarray(0, 16), [1, 1, 4, 4])),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'calibrator',
    );
    await procal.dispose();
  });
});
