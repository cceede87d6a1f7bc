/**
 * The MinusFace stand-ins (models/python/minusface_standin.py, Fashion-MNIST): each committed card is what the recipe
 * drafts from the committed ONNX and training log (so sha256, I/O and figures agree), the files are small, and the
 * generator and recogniser build into a folder and load through core-tensor's loadModel (sha256 and I/O checked).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, parseModelCard } from '@trustvision/core-tensor';
import {
  MINUSFACE_MODELS,
  buildMinusFace,
  minusfaceCard,
  minusfacePaths,
  type MinusFaceTrainingLog,
} from '../src/recipes/minusface.js';

const log = JSON.parse(readFileSync(minusfacePaths('minusface-generator').log, 'utf8')) as MinusFaceTrainingLog;

describe.each(MINUSFACE_MODELS)('%s', (name) => {
  const files = minusfacePaths(name);
  test('the committed card is what the recipe drafts; stand-in; < 5 MB; sha256 in the log', async () => {
    const bytes = new Uint8Array(readFileSync(files.prebuilt));
    const card = parseModelCard(readFileSync(files.card, 'utf8'));
    expect(card).toEqual(await minusfaceCard(name, bytes, log));
    expect(card.provenance.standIn).toBe(true);
    expect(statSync(files.prebuilt).size).toBeLessThan(5 * 2 ** 20);
    expect(log.onnx[`${name}.onnx`].sha256).toBe(card.sha256);
  });
});

test('generator and recogniser build and load with their cards', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minusface-models-'));
  try {
    for (const name of ['minusface-generator', 'minusface-recognizer'] as const) {
      const built = await buildMinusFace(name, dir);
      const m = await loadModel(built.path, { device: 'cpu' });
      expect(m.card?.name).toBe(name);
      await m.dispose();
    }
    const card = parseModelCard(readFileSync(path.join(dir, 'minusface-recognizer.card.json'), 'utf8'));
    expect(typeof card.metrics?.threshold).toBe('number');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
