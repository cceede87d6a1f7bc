/**
 * MXNet RecordIO: byte-identical to an independent Python writer (fixtures/recordio_ref.py, including a record split
 * at embedded magics), the reader on the Python file, and a dataset exported in InsightFace's layout read back.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CorruptFileError, InvalidArgumentError, decodePng, readImage, type Image } from '@trustvision/core-tensor';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  DatasetWriter,
  RecordIOBuilder,
  exportRecordIO,
  packRecord,
  readDatasetManifest,
  readFramed,
  readRecordIO,
  unpackRecord,
} from '../src/index.js';
import { RECORDIO_GOLDEN as G } from './fixtures/recordio_golden.js';

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

describe('RecordIO framing and IRHeader', () => {
  test('the writer reproduces the Python reference byte for byte', () => {
    const b = new RecordIOBuilder();
    const n = G.images.length;
    b.add(0, packRecord({ label: [n + 1, n + 3] }));
    G.images.forEach((im, k) => b.add(k + 1, packRecord({ label: im.identity, id: k + 1 }, b64(im.payload))));
    b.add(n + 1, packRecord({ label: [1, 3] }));
    b.add(n + 2, packRecord({ label: [3, 4] }));
    const { rec, idx } = b.finish();
    expect(Buffer.from(rec).toString('base64')).toBe(G.rec);
    expect(idx).toBe(G.idx);
  });

  test('the reader decodes the Python file (split records joined)', () => {
    const recs = readRecordIO(b64(G.rec), G.idx);
    expect([...recs.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    for (const [key, want] of Object.entries(G.decoded)) {
      const r = recs.get(Number(key))!;
      expect(r.header.flag).toBe(want.flag);
      if (want.flag > 0) expect(Array.from(r.header.label as Float32Array)).toEqual(want.label);
      else expect(r.header.label).toBe(want.label);
      expect(Number(r.header.id)).toBe(want.id);
      expect(Buffer.from(r.payload).toString('base64')).toBe(want.payload);
    }
    // without the index: sequential
    expect(readRecordIO(b64(G.rec)).size).toBe(6);
  });

  test('corrupt input', () => {
    const rec = b64(G.rec);
    expectThrows(() => readFramed(rec, 4), CorruptFileError, 'E_CORRUPT_FILE');
    expectThrows(() => readFramed(rec.subarray(0, 20), 0), CorruptFileError, 'E_CORRUPT_FILE');
    expectThrows(() => unpackRecord(new Uint8Array(10)), CorruptFileError, 'E_CORRUPT_FILE');
    expectThrows(() => readRecordIO(rec, '0\tx\n'), CorruptFileError, 'E_CORRUPT_FILE');
    const b = new RecordIOBuilder();
    b.add(3, new Uint8Array(24));
    expectThrows(() => b.add(3, new Uint8Array(24)), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'key');
  });
});

describe('exportRecordIO', () => {
  test('an id3 dataset in the InsightFace layout, read back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'id3-rec-'));
    const out = path.join(dir, 'rec');
    const data = path.join(dir, 'data');
    try {
      const N = 3;
      const m = 2;
      const w = await DatasetWriter.open(data, {
        identities: N,
        perIdentity: m,
        width: 6,
        height: 5,
        channels: 3,
        embeddingDim: 2,
        seed: 0,
        modelHash: 'sha256:x',
      });
      const img = (i: number, j: number): Image => ({
        width: 6,
        height: 5,
        channels: 3,
        data: Uint8Array.from({ length: 90 }, (_, k) => (k * 7 + i * 31 + j * 13) % 256),
      });
      await expectRejects(exportRecordIO(data, out), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'datasetDir');
      for (let i = 0; i < N; i++)
        await w.writeIdentity({
          identity: i,
          images: [img(i, 0), img(i, 1)],
          embeddings: { data: Float32Array.from([1, 0, 0, 1]), shape: [2, 2] },
          cosines: [0.5, 0.6],
          attributes: [30, 0, 0, 0, 40, 1, 2, 3],
          seed: i,
        });
      const res = await exportRecordIO(data, out);
      expect(res).toMatchObject({ images: 6, identities: 3 });
      expect(readFileSync(path.join(out, 'property'), 'utf8')).toBe('3,5,6\n');
      const recs = readRecordIO(
        readFileSync(path.join(out, 'train.rec')),
        readFileSync(path.join(out, 'train.idx'), 'utf8'),
      );
      expect(Array.from(recs.get(0)!.header.label as Float32Array)).toEqual([7, 10]);
      const manifest = await readDatasetManifest(data);
      for (let k = 1; k <= 6; k++) {
        const r = recs.get(k)!;
        expect(r.header.flag).toBe(0);
        expect(r.header.label).toBe(manifest[k - 1].identity);
        expect(Number(r.header.id)).toBe(k);
        const want = await readImage(path.join(data, manifest[k - 1].file));
        expect(Buffer.from(decodePng(r.payload).data).equals(Buffer.from(want.data))).toBe(true);
      }
      for (let i = 0; i < N; i++)
        expect(Array.from(recs.get(7 + i)!.header.label as Float32Array)).toEqual([1 + 2 * i, 3 + 2 * i]);
      // JPEG re-encoding
      const jpg = await exportRecordIO(data, path.join(dir, 'jpg'), { format: 'jpg', quality: 90 });
      expect(jpg.images).toBe(6);
      const j1 = readRecordIO(readFileSync(path.join(dir, 'jpg', 'train.rec'))).get(1)!;
      expect(Array.from(j1.payload.subarray(0, 2))).toEqual([0xff, 0xd8]);
      await expectRejects(
        exportRecordIO(data, out, { format: 'bmp' as never }),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'format',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
