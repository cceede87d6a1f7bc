/**
 * copyCommittedModel: the way every committed stand-in is "built" — copy the ONNX file and its card, refusing a file
 * whose sha256 is not the one its card states.
 */
import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelCardError } from '@trustvision/core-tensor';
import { expectRejects } from '@trustvision/jest-preset/expect-errors';
import { copyCommittedModel } from '../src/recipes/prebuilt.js';

const root = path.resolve(__dirname, '..');
const committed = {
  name: 'gcdss-encoder',
  prebuilt: path.join(root, 'prebuilt', 'gcdss-encoder.onnx'),
  card: path.join(root, 'cards', 'gcdss-encoder.card.json'),
};

describe('copyCommittedModel', () => {
  test('copies the model and its card; the copy has the card sha256', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'tv-prebuilt-'));
    try {
      const lines: string[] = [];
      const built = await copyCommittedModel(committed, out, (l) => lines.push(l));
      expect(built.path).toBe(path.join(out, 'gcdss-encoder.onnx'));
      const sha = createHash('sha256').update(readFileSync(built.path)).digest('hex');
      expect(sha).toBe(built.card.sha256);
      expect(JSON.parse(readFileSync(path.join(out, 'gcdss-encoder.card.json'), 'utf8')).sha256).toBe(sha);
      expect(lines[0]).toContain(`sha256 ${sha.slice(0, 12)}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('a model that is not the one its card describes is refused, and nothing is written', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'tv-prebuilt-'));
    try {
      const bad = path.join(work, 'bad.onnx');
      writeFileSync(bad, Buffer.concat([readFileSync(committed.prebuilt), Buffer.from([0])]));
      const out = path.join(work, 'out');
      await expectRejects(
        copyCommittedModel({ ...committed, prebuilt: bad }, out),
        ModelCardError,
        'E_MODEL_CARD',
        'sha256',
      );
      expect(existsSync(path.join(out, 'gcdss-encoder.onnx'))).toBe(false);
      expect(existsSync(path.join(out, 'gcdss-encoder.card.json'))).toBe(false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
