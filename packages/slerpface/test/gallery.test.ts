import { afterAll, describe, expect, test } from '@jest/globals';
import {
  CorruptFileError,
  InvalidArgumentError,
  Rng,
  UnsupportedFormatError,
  encodeNpz,
  parseNpz,
  tensor,
} from '@trustvision/core-tensor';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  Gallery,
  createTemplate,
  decodeGallery,
  decodeRecordNpz,
  encodeGallery,
  encodeRecordNpz,
  matchScore,
  protect,
  recordFromJSON,
  recordToJSON,
  type Template,
} from '../src/index.js';

const rng = Rng.from('slerpface-gallery');
const softmax = (x: Float64Array) => {
  const mx = Math.max(...x);
  const e = x.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const tpl = (values = rng.normalArray(784)): Template =>
  createTemplate(values, softmax(rng.normalArray(49)), { groups: 49, groupSize: 16, form: 'grid' });

const templates = Array.from({ length: 60 }, () => tpl());
const gallery = new Gallery(protect(templates[0], { seed: 0 }));
templates.forEach((t, i) => gallery.add(`id${i}`, protect(t, { seed: i })));
afterAll(() => gallery.dispose());

describe('Gallery 1:N', () => {
  test('typed-array scores equal 1:1 matchScore on the float64 records to float32 precision', async () => {
    const probe = createTemplate(
      templates[7].values.map((v) => v + 0.3 * rng.normalArray(1)[0]),
      templates[7].weights,
      { groups: 49, groupSize: 16, form: 'grid' },
    );
    const s = await gallery.scores(probe, { backend: 'js' });
    expect(s).toHaveLength(60);
    for (let i = 0; i < 60; i++)
      expect(Math.abs(s[i] - matchScore(protect(templates[i], { seed: i }), probe))).toBeLessThan(2e-6);
    const best = await gallery.search(probe, { topK: 3 });
    expect(best[0].id).toBe('id7');
    expect(best[0].score).toBeGreaterThan(best[1].score);
    expect(best[0].distance).toBeCloseTo(Math.acos(best[0].score) / Math.PI, 12);
  });

  test('the op-graph (ONNX Runtime, CPU) agrees with the typed-array loop', async () => {
    const probe = templates[11];
    const js = await gallery.scores(probe, { backend: 'js' });
    const g = await gallery.scores(probe, { backend: 'graph' });
    for (let i = 0; i < 60; i++) expect(Math.abs(js[i] - g[i])).toBeLessThan(2e-5);
    expect(g[11]).toBeGreaterThan(0.9999);
    expect(await gallery.graphDevice()).toBe('cpu');
    // chunked runs give the same scores
    const small = decodeGallery(encodeGallery(gallery), 'g', { chunk: 7 });
    const g2 = await small.scores(probe, { backend: 'graph' });
    for (let i = 0; i < 60; i++) expect(Math.abs(g2[i] - g[i])).toBeLessThan(1e-6);
    await small.dispose();
  });

  test('a probe with a zero group scores the same in the loop, the op-graph and matchScore', async () => {
    const v = Float64Array.from(templates[9].values);
    v.fill(0, 0, 16);
    const probe = createTemplate(v, templates[9].weights, {
      groups: 49,
      groupSize: 16,
      form: 'grid',
      allowZeroGroups: true,
    });
    const js = await gallery.scores(probe, { backend: 'js' });
    const g = await gallery.scores(probe, { backend: 'graph' });
    for (const i of [0, 9, 30]) {
      const ref = matchScore(protect(templates[i], { seed: i }), probe);
      expect(Math.abs(js[i] - ref)).toBeLessThan(2e-6);
      expect(Math.abs(g[i] - ref)).toBeLessThan(2e-5);
    }
  });

  test('large galleries are scored on worker threads with the same results as one thread; top-k is exact', async () => {
    const per = 784;
    const n = 24000;
    const raw = gallery.raw();
    const P = new Float32Array(n * per);
    const K = new Float32Array(n * per);
    const M = new Uint8Array(n * per);
    for (let i = 0; i < n; i++) {
      const j = i % 60;
      P.set(raw.protected.subarray(j * per, (j + 1) * per), i * per);
      K.set(raw.key.subarray(j * per, (j + 1) * per), i * per);
      M.set(raw.mask.subarray(j * per, (j + 1) * per), i * per);
    }
    const ids = Array.from({ length: n }, (_, i) => `big${i}`);
    const multi = new Gallery(gallery.header, { threads: 2 });
    const single = new Gallery(gallery.header, { threads: 1 });
    multi.addRaw(ids, P, K, M);
    single.addRaw(ids, P, K, M);
    const a = await multi.scores(templates[13], { backend: 'js' });
    const b = await single.scores(templates[13], { backend: 'js' });
    expect(Array.from(a)).toEqual(Array.from(b));
    const top = await multi.search(templates[13], { topK: 4, backend: 'js' });
    const sorted = Array.from(b.keys())
      .sort((x, y) => b[y] - b[x] || x - y)
      .slice(0, 4);
    expect(top.map((t) => t.index)).toEqual(sorted);
    expect(top.every((t) => t.index % 60 === 13)).toBe(true);
    await multi.dispose();
    await single.dispose();
    expect(() => new Gallery(gallery.header, { threads: 0 })).toThrow(InvalidArgumentError);
  }, 60000);

  test('remove (revocation) and record() round trip', async () => {
    const g = decodeGallery(encodeGallery(gallery), 'copy');
    expect(g.remove('id3')).toBe(true);
    expect(g.remove('id3')).toBe(false);
    expect(g.size).toBe(59);
    expect(g.idList.includes('id3')).toBe(false);
    const r = g.record(g.idList.indexOf('id4'));
    expect(Math.abs(matchScore(r, templates[4]) - 1)).toBeLessThan(1e-5);
    const hits = await g.search(templates[3], { topK: 1 });
    expect(hits[0].id).not.toBe('id3');
    expectThrows(() => g.record(59), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'index');
  });

  test('bad input: duplicate id, other layout or α, probe of another form', async () => {
    expectThrows(
      () => gallery.add('id0', protect(templates[0], { seed: 9 })),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'id',
    );
    expectThrows(
      () => gallery.add('x', protect(templates[0], { seed: 9, alpha: 0.8 })),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'record.params.alpha',
    );
    const vec = createTemplate(templates[0].values, templates[0].weights, {
      groups: 49,
      groupSize: 16,
      form: 'vector',
    });
    expectThrows(
      () => gallery.add('y', protect(vec, { seed: 1 })),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'record',
    );
    await expect(gallery.scores(vec)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT', param: 'probe' });
    await expect(gallery.search(templates[0], { topK: 0 })).rejects.toMatchObject({
      code: 'E_INVALID_ARGUMENT',
      param: 'topK',
    });
    await expect(gallery.scores(templates[0], { backend: 'gpu' as never })).rejects.toMatchObject({ param: 'backend' });
  });
});

describe('record and gallery formats', () => {
  const r = protect(templates[5], { seed: 5 });

  test('record .npz round trip is exact and numpy-readable (arrays + meta)', () => {
    const bytes = encodeRecordNpz(r);
    const back = decodeRecordNpz(bytes);
    expect(back).toEqual(r);
    const arrays = parseNpz(bytes);
    expect(arrays.protected.shape).toEqual([49, 16]);
    expect(arrays.mask.dtype).toBe('uint8');
    expect(arrays.alpha.data[0]).toBe(0.9);
    expect(JSON.parse(new TextDecoder().decode(arrays.meta.data as Uint8Array))).toMatchObject({
      format: 'slerpface-record',
      version: 1,
      form: 'grid',
    });
  });

  test('record JSON round trip is exact', () => {
    const j = JSON.stringify(recordToJSON(r));
    expect(recordFromJSON(j)).toEqual(r);
  });

  test('corrupt or foreign files get typed errors', () => {
    const bytes = encodeRecordNpz(r);
    const flipped = bytes.slice();
    flipped[200] ^= 0xff;
    expectThrows(() => decodeRecordNpz(flipped, 'r.npz'), CorruptFileError, 'E_CORRUPT_FILE');
    const arrays = parseNpz(bytes);
    const meta = JSON.parse(new TextDecoder().decode(arrays.meta.data as Uint8Array));
    const withMeta = (m: object) => {
      const b = new TextEncoder().encode(JSON.stringify(m));
      return encodeNpz({ ...arrays, meta: tensor(b, [b.length]) });
    };
    expectThrows(
      () => decodeRecordNpz(withMeta({ ...meta, version: 2 }), 'r.npz'),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
    );
    expectThrows(
      () => decodeRecordNpz(withMeta({ ...meta, format: 'slerpface-gallery' }), 'r.npz'),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
    );
    const noKey = { ...arrays };
    delete (noKey as Record<string, unknown>).key;
    expectThrows(() => decodeRecordNpz(encodeNpz(noKey), 'r.npz'), CorruptFileError, 'E_CORRUPT_FILE');
    const badMask = Uint8Array.from(r.mask);
    badMask[0] = 7;
    expectThrows(
      () => decodeRecordNpz(encodeNpz({ ...arrays, mask: tensor(badMask, [49, 16]) }), 'r.npz'),
      CorruptFileError,
      'E_CORRUPT_FILE',
    );
    expectThrows(() => recordFromJSON('{"format":"slerpface-record"'), CorruptFileError, 'E_CORRUPT_FILE');
    const g = encodeGallery(gallery);
    const gBad = g.slice();
    gBad[1000] ^= 0xff;
    expectThrows(() => decodeGallery(gBad, 'g.sfg'), CorruptFileError, 'E_CORRUPT_FILE');
    expectThrows(() => decodeGallery(bytes, 'g.sfg'), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT');
  });

  test('gallery round trip keeps ids, header, extra and scores', async () => {
    gallery.extra.note = 'kept';
    const back = decodeGallery(encodeGallery(gallery), 'g');
    expect(back.idList).toEqual(gallery.idList);
    expect(back.header).toEqual(gallery.header);
    expect(back.extra).toEqual({ note: 'kept' });
    const a = await gallery.scores(templates[2], { backend: 'js' });
    const b = await back.scores(templates[2], { backend: 'js' });
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
