/**
 * The dataset writer: layout and content (PNG, .npy and manifest read back), exactly-once resume after simulated
 * interruptions (staging folders, temporary files, a renamed folder without manifest lines, a partial manifest line)
 * giving a folder byte-identical to an uninterrupted run, config mismatches naming the field, and bad input.
 */
import { describe, expect, test } from '@jest/globals';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  mkdirSync,
  existsSync,
  rmSync,
  appendFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CorruptFileError,
  InvalidArgumentError,
  NonFiniteError,
  Rng,
  ShapeError,
  readImage,
  readNpy,
  type Image,
} from '@trustvision/core-tensor';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  DatasetConfigMismatchError,
  DatasetWriter,
  randomAnchors,
  readDatasetManifest,
  sampleAttributes,
  sampleEmbeddings,
  type DatasetConfig,
  type IdentityRecord,
} from '../src/index.js';

const N = 4;
const M = 3;
const D = 8;
const W = 6;
const H = 5;
const CONFIG: DatasetConfig = {
  identities: N,
  perIdentity: M,
  width: W,
  height: H,
  channels: 3,
  embeddingDim: D,
  seed: 11,
  modelHash: 'sha256:0123abcd',
  extra: { lb: 0.5, ub: 0.7, sampler: { kind: 'ddpm', steps: 50 } },
};

const anchors = { data: randomAnchors(N, D, 5), shape: [N, D] };
const emb = sampleEmbeddings(anchors, { perIdentity: M, lb: 0.5, ub: 0.7, seed: 11 });
const attrs = sampleAttributes(N, M, { seed: 11 });

function image(i: number, j: number, w = W, h = H, c: 1 | 3 | 4 = 3): Image {
  const rng = Rng.from(`img-${i}-${j}`);
  const data = new Uint8Array(w * h * c);
  for (let k = 0; k < data.length; k++) data[k] = Math.floor(rng.uniform() * 256);
  return { width: w, height: h, channels: c, data };
}

function record(i: number): IdentityRecord {
  return {
    identity: i,
    anchorIndex: i,
    images: Array.from({ length: M }, (_, j) => image(i, j)),
    embeddings: { data: emb.embeddings.slice(i * M * D, (i + 1) * M * D), shape: [M, D] },
    cosines: emb.cosines.slice(i * M, (i + 1) * M),
    attributes: attrs.values.slice(i * M * 4, (i + 1) * M * 4),
    seed: `11/${i}`,
  };
}

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'id3-dataset-'));

/** Every file under dir (relative path → bytes), sorted. */
function tree(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, r)).isDirectory()) for (const [k, v] of tree(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(path.join(dir, r)));
  }
  return out;
}

async function writeAll(dir: string, from = 0, to = N): Promise<DatasetWriter> {
  const w = await DatasetWriter.open(dir, CONFIG);
  for (let i = from; i < to; i++) await w.writeIdentity(record(i));
  return w;
}

const reference = tmp();
const referenceReady = writeAll(reference);

describe('DatasetWriter: layout and content', () => {
  test('one folder per identity of PNGs, embeddings.npy, one manifest line per image, config.json', async () => {
    const w = await referenceReady;
    expect(w.nextIdentity).toBe(N);
    expect(w.complete).toBe(true);
    const files = [...tree(reference).keys()];
    expect(files.sort()).toEqual(
      [
        'config.json',
        'manifest.jsonl',
        ...Array.from({ length: N }, (_, i) => [
          ...Array.from({ length: M }, (_, j) => `0000${i}/00${j}.png`),
          `0000${i}/embeddings.npy`,
        ]).flat(),
      ].sort(),
    );
    const cfg = JSON.parse(readFileSync(path.join(reference, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ format: 'id3-dataset', version: 1, identities: N, perIdentity: M, seed: 11 });
    expect(cfg.extra).toEqual(CONFIG.extra);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < M; j++) {
        const img = await readImage(path.join(reference, `0000${i}`, `00${j}.png`));
        expect([img.width, img.height, img.channels]).toEqual([W, H, 3]);
        expect(Buffer.from(img.data).equals(Buffer.from(image(i, j).data))).toBe(true);
      }
      const e = await readNpy(path.join(reference, `0000${i}`, 'embeddings.npy'));
      expect(e.dtype).toBe('float32');
      expect(e.shape).toEqual([M, D]);
      const want = emb.embeddings.subarray(i * M * D, (i + 1) * M * D);
      for (let k = 0; k < want.length; k++) expect(Math.abs((e.data as Float32Array)[k] - want[k])).toBeLessThan(1e-6);
    }
    const lines = readFileSync(path.join(reference, 'manifest.jsonl'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(N * M);
    const entries = lines.map((l) => JSON.parse(l));
    expect(await readDatasetManifest(reference)).toEqual(entries);
    entries.forEach((e, k) => {
      const [i, j] = [Math.floor(k / M), k % M];
      expect(e).toEqual({
        identity: i,
        image: j,
        file: `0000${i}/00${j}.png`,
        anchor: i,
        cosine: emb.cosines[k],
        attributes: {
          age: attrs.values[k * 4],
          pitch: attrs.values[k * 4 + 1],
          yaw: attrs.values[k * 4 + 2],
          roll: attrs.values[k * 4 + 3],
        },
        seed: `11/${i}`,
        modelHash: 'sha256:0123abcd',
      });
    });
  });

  test('re-opening a finished dataset: nothing to do, writing more is refused', async () => {
    await referenceReady;
    const before = tree(reference);
    const w = await DatasetWriter.open(reference, CONFIG);
    expect(w.resume).toEqual({ completed: N, removed: [], manifestBytesDropped: 0 });
    expect(w.complete).toBe(true);
    await expectRejects(w.writeIdentity(record(N - 1)), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'record.identity');
    expect(tree(reference)).toEqual(before);
  });

  test('the order of keys in extra does not matter; a bigint seed is stored as a string', async () => {
    await referenceReady;
    const w = await DatasetWriter.open(reference, {
      ...CONFIG,
      extra: { sampler: { steps: 50, kind: 'ddpm' }, ub: 0.7, lb: 0.5 },
    });
    expect(w.nextIdentity).toBe(N);
    const d = tmp();
    await DatasetWriter.open(d, { ...CONFIG, seed: 12345678901234567890n });
    expect(JSON.parse(readFileSync(path.join(d, 'config.json'), 'utf8')).seed).toBe('12345678901234567890');
    expect((await DatasetWriter.open(d, { ...CONFIG, seed: '12345678901234567890' })).nextIdentity).toBe(0);
  });
});

describe('DatasetWriter: resuming after an interruption', () => {
  test('leftovers of every stage are repaired; the resumed folder equals an uninterrupted one', async () => {
    await referenceReady;
    const want = tree(reference);
    const d = tmp();
    await writeAll(d, 0, 2);
    const manifest = path.join(d, 'manifest.jsonl');
    const good = readFileSync(manifest);
    // identity 2: folder renamed, but the run stopped while appending its lines (1 full line + part of the next)
    await writeAll(d, 2, 3).catch(() => undefined);
    const full = readFileSync(manifest, 'utf8');
    const extra = full.slice(good.length);
    const cut = extra.indexOf('\n') + 20;
    writeFileSync(manifest, full.slice(0, good.length + cut));
    // identity 3: a staging folder with a partial image and a core-tensor temporary file
    mkdirSync(path.join(d, '.00003.partial'));
    writeFileSync(path.join(d, '.00003.partial', '000.png'), Buffer.from([0x89, 0x50]));
    writeFileSync(path.join(d, '.00003.partial', '.001.png.a1b2c3.tmp'), Buffer.from([1, 2, 3]));
    // a temporary file at the root and one inside a committed folder
    writeFileSync(path.join(d, '.manifest.jsonl.ffeedd.tmp'), 'x');
    writeFileSync(path.join(d, '00001', '.002.png.0a0b0c.tmp'), 'x');

    const w = await DatasetWriter.open(d, CONFIG);
    expect(w.nextIdentity).toBe(2);
    expect(w.resume.completed).toBe(2);
    expect(w.resume.manifestBytesDropped).toBe(cut);
    expect(w.resume.removed).toEqual([
      '.00003.partial',
      '.manifest.jsonl.ffeedd.tmp',
      '00001/.002.png.0a0b0c.tmp',
      '00002',
    ]);
    expect(readFileSync(manifest).equals(good)).toBe(true);
    expect((await readDatasetManifest(d)).length).toBe(2 * M);
    await expectRejects(w.writeIdentity(record(3)), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'record.identity');
    for (let i = 2; i < N; i++) await w.writeIdentity(record(i));
    expect(tree(d)).toEqual(want);
    // exactly once: every (identity, image) once
    const keys = (await readDatasetManifest(d)).map((e) => `${e.identity}/${e.image}`);
    expect(new Set(keys).size).toBe(N * M);
    expect(keys).toHaveLength(N * M);
  });

  test('a folder renamed but none of its lines appended is removed and rewritten', async () => {
    await referenceReady;
    const d = tmp();
    await writeAll(d, 0, 3);
    const manifest = path.join(d, 'manifest.jsonl');
    const text = readFileSync(manifest, 'utf8').split('\n');
    writeFileSync(manifest, `${text.slice(0, 2 * M).join('\n')}\n`); // identity 2's lines never got written
    const w = await DatasetWriter.open(d, CONFIG);
    expect(w.resume).toEqual({ completed: 2, removed: ['00002'], manifestBytesDropped: 0 });
    expect(existsSync(path.join(d, '00002'))).toBe(false);
    for (let i = 2; i < N; i++) await w.writeIdentity(record(i));
    expect(tree(d)).toEqual(tree(reference));
  });

  test('an interruption before any identity: only config.json and a staging folder', async () => {
    await referenceReady;
    const d = tmp();
    await DatasetWriter.open(d, CONFIG);
    mkdirSync(path.join(d, '.00000.partial'));
    const w = await DatasetWriter.open(d, CONFIG);
    expect(w.resume).toEqual({ completed: 0, removed: ['.00000.partial'], manifestBytesDropped: 0 });
    for (let i = 0; i < N; i++) await w.writeIdentity(record(i));
    expect(tree(d)).toEqual(tree(reference));
  });

  test('damage that no interruption leaves is a CorruptFileError, and nothing is removed', async () => {
    await referenceReady;
    const d = tmp();
    await writeAll(d, 0, 3);
    const manifest = path.join(d, 'manifest.jsonl');
    const lines = readFileSync(manifest, 'utf8').split('\n');
    lines[1] = '{"identity": 0, "image": 7}';
    writeFileSync(manifest, lines.join('\n'));
    await expectRejects(DatasetWriter.open(d, CONFIG), CorruptFileError, 'E_CORRUPT_FILE');
    expect(existsSync(path.join(d, '00002'))).toBe(true);

    const d2 = tmp();
    await writeAll(d2, 0, 2);
    rmSync(path.join(d2, '00001', '001.png'));
    const e = await expectRejects(DatasetWriter.open(d2, CONFIG), CorruptFileError, 'E_CORRUPT_FILE');
    expect(e.message).toContain('00001/001.png');

    const d3 = tmp();
    await DatasetWriter.open(d3, CONFIG);
    writeFileSync(path.join(d3, 'config.json'), '{"format": "id3-dataset", "version": 1');
    await expectRejects(DatasetWriter.open(d3, CONFIG), CorruptFileError, 'E_CORRUPT_FILE');
    appendFileSync(path.join(d3, 'config.json'), '}');
    writeFileSync(path.join(d3, 'config.json'), '{"format": "other"}');
    await expectRejects(DatasetWriter.open(d3, CONFIG), CorruptFileError, 'E_CORRUPT_FILE');
  });
});

describe('DatasetWriter: configuration', () => {
  test.each([
    ['seed', { seed: 12 }],
    ['identities', { identities: N + 1 }],
    ['perIdentity', { perIdentity: M + 1 }],
    ['width', { width: W + 1 }],
    ['channels', { channels: 1 as const }],
    ['embeddingDim', { embeddingDim: D * 2 }],
    ['modelHash', { modelHash: 'sha256:ffff' }],
    ['extra.ub', { extra: { ...CONFIG.extra, ub: 0.9 } }],
    ['extra.guidance', { extra: { ...CONFIG.extra, guidance: 1 } }],
    ['extra.sampler', { extra: { ...CONFIG.extra, sampler: { kind: 'ddim', steps: 50 } } }],
  ])('a folder made with a different %s is refused, naming the field', async (field, change) => {
    await referenceReady;
    const before = tree(reference);
    const e = (await expectRejects(
      DatasetWriter.open(reference, { ...CONFIG, ...change }),
      DatasetConfigMismatchError,
      'E_INVALID_ARGUMENT',
      field,
    )) as DatasetConfigMismatchError;
    expect(e.message).toContain(`'${field}'`);
    expect(e.stored).not.toEqual(e.requested);
    expect(tree(reference)).toEqual(before);
  });

  test('a non-empty folder that is not a dataset is refused', async () => {
    const d = tmp();
    writeFileSync(path.join(d, 'notes.txt'), 'mine');
    await expectRejects(DatasetWriter.open(d, CONFIG), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'dir');
    expect(readdirSync(d)).toEqual(['notes.txt']);
  });

  test.each([
    ['config.identities', { identities: 0 }],
    ['config.perIdentity', { perIdentity: 1.5 }],
    ['config.width', { width: -1 }],
    ['config.channels', { channels: 2 }],
    ['config.embeddingDim', { embeddingDim: 1 }],
    ['config.seed', { seed: 0.5 }],
    ['config.modelHash', { modelHash: '' }],
    ['config.extra.lb', { extra: { lb: NaN } }],
    ['config.extra.s[1]', { extra: { s: [1, undefined] } }],
    ['config.extra', { extra: [1, 2] }],
  ])('bad config: %s', async (param, change) => {
    await expectRejects(
      DatasetWriter.open(tmp(), { ...CONFIG, ...(change as object) } as DatasetConfig),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      param,
    );
  });
});

describe('DatasetWriter: bad records are refused before anything is written', () => {
  const cases: [string, (r: IdentityRecord) => IdentityRecord, new (...a: never[]) => Error, string, string][] = [
    [
      'wrong image size',
      (r) => ({ ...r, images: [r.images[0], image(0, 1, W + 1, H), r.images[2]] }),
      ShapeError,
      'E_SHAPE',
      'record.images[1]',
    ],
    [
      'wrong channels',
      (r) => ({ ...r, images: [r.images[0], r.images[1], image(0, 2, W, H, 1)] }),
      ShapeError,
      'E_SHAPE',
      'record.images[2]',
    ],
    [
      'image data too short',
      (r) => ({ ...r, images: [{ ...r.images[0], data: new Uint8Array(3) }, r.images[1], r.images[2]] }),
      ShapeError,
      'E_SHAPE',
      'record.images[0].data',
    ],
    ['too few images', (r) => ({ ...r, images: r.images.slice(1) }), ShapeError, 'E_SHAPE', 'record.images'],
    [
      'non-finite embedding',
      (r) => {
        const data = Float32Array.from(r.embeddings.data);
        data[5] = NaN;
        return { ...r, embeddings: { data, shape: [M, D] } };
      },
      NonFiniteError,
      'E_NON_FINITE',
      'record.embeddings',
    ],
    [
      'infinite embedding',
      (r) => {
        const data = Float64Array.from(r.embeddings.data);
        data[0] = Infinity;
        return { ...r, embeddings: { data, shape: [M, D] } };
      },
      NonFiniteError,
      'E_NON_FINITE',
      'record.embeddings',
    ],
    [
      'embeddings not unit rows',
      (r) => ({ ...r, embeddings: { data: Float32Array.from(r.embeddings.data, (v) => 2 * v), shape: [M, D] } }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'record.embeddings',
    ],
    [
      'embeddings of the wrong shape',
      (r) => ({ ...r, embeddings: { data: r.embeddings.data.slice(0, 2 * D), shape: [2, D] } }),
      ShapeError,
      'E_SHAPE',
      'record.embeddings',
    ],
    [
      'non-finite cosine',
      (r) => ({ ...r, cosines: [0.5, NaN, 0.6] }),
      NonFiniteError,
      'E_NON_FINITE',
      'record.cosines',
    ],
    [
      'cosine out of range',
      (r) => ({ ...r, cosines: [0.5, 1.5, 0.6] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'record.cosines[1]',
    ],
    ['too few cosines', (r) => ({ ...r, cosines: [0.5] }), ShapeError, 'E_SHAPE', 'record.cosines'],
    [
      'non-finite attribute',
      (r) => ({ ...r, attributes: Float64Array.from(r.attributes, (v, k) => (k === 4 ? Infinity : v)) }),
      NonFiniteError,
      'E_NON_FINITE',
      'record.attributes',
    ],
    [
      'attributes of the wrong length',
      (r) => ({ ...r, attributes: new Float64Array(M * 3) }),
      ShapeError,
      'E_SHAPE',
      'record.attributes',
    ],
    ['bad seed', (r) => ({ ...r, seed: 1.5 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'record.seed'],
    [
      'bad anchor index',
      (r) => ({ ...r, anchorIndex: -1 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'record.anchorIndex',
    ],
    [
      'identity out of order',
      (r) => ({ ...r, identity: 1 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'record.identity',
    ],
  ];
  test.each(cases)('%s', async (_name, change, cls, code, param) => {
    const d = tmp();
    const w = await DatasetWriter.open(d, CONFIG);
    await expectRejects(w.writeIdentity(change(record(0))), cls, code, param);
    expect(readdirSync(d)).toEqual(['config.json']);
    expect(w.nextIdentity).toBe(0);
    await w.writeIdentity(record(0)); // the writer is still usable
    expect(w.nextIdentity).toBe(1);
  });

  test('one writeIdentity at a time', async () => {
    const w = await DatasetWriter.open(tmp(), CONFIG);
    const first = w.writeIdentity(record(0));
    await expectRejects(w.writeIdentity(record(0)), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'record');
    await first;
    expect(w.nextIdentity).toBe(1);
  });

  test('bad dir and a null record', async () => {
    await expectRejects(DatasetWriter.open('', CONFIG), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'dir');
    const w = await DatasetWriter.open(tmp(), CONFIG);
    await expectRejects(w.writeIdentity(null as never), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'record');
    expectThrows(
      () => {
        throw new DatasetConfigMismatchError('seed', '/x', 1, 2);
      },
      DatasetConfigMismatchError,
      'E_INVALID_ARGUMENT',
      'seed',
    );
  });
});
