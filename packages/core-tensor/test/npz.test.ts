import { describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CorruptFileError, InvalidArgumentError, UnsupportedFormatError } from '../src/errors.js';
import { encodeNpy } from '../src/npy.js';
import { crc32, encodeNpz, parseNpz } from '../src/npz.js';
import { type Tensor, tensor, transpose, zeros } from '../src/tensor.js';
import { expectThrows } from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures');
const read = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(path.join(FIXTURES, ...p)));
const values = (t: Tensor): unknown[] => Array.from(t.data as ArrayLike<unknown>);

/** The arrays numpy's savez fixtures hold (see make_fixtures.py, npz_arrays). */
function checkNumpyArrays(z: Record<string, Tensor>): void {
  expect(Object.keys(z).sort()).toEqual(['half', 'ids', 'image', 'mask', 'weights']);
  expect(z.weights.dtype).toBe('float32');
  expect(z.weights.shape).toEqual([3, 4]);
  expect(values(z.weights)).toEqual(Array.from({ length: 12 }, (_, i) => (i - 5.5) / 8));
  expect(z.ids.dtype).toBe('int64');
  expect(values(z.ids)).toEqual([-(2n ** 63n), 7n, 2n ** 53n + 1n]);
  expect(z.mask.dtype).toBe('bool');
  expect(values(z.mask)).toEqual([1, 0, 1]);
  expect(z.half.dtype).toBe('float16');
  expect(values(z.half)).toEqual([15360, 47104, 31743]);
  expect(z.image.dtype).toBe('uint8');
  expect(z.image.shape).toEqual([2, 3, 4]);
  expect(values(z.image)).toEqual(Array.from({ length: 24 }, (_, i) => i * 10));
}

/** The arrays written to fixtures/ts-written (keep in sync with ts_expected_arrays in make_fixtures.py). */
function tsWrittenArrays(): Record<string, Tensor> {
  return {
    f32: tensor(
      Float32Array.from([0, 1, 2, 3, 4, 5], (v) => (v - 2.5) / 4),
      [2, 3],
    ),
    f64: tensor(Float64Array.from([Math.PI, -0, 1e300]), [3]),
    f16: tensor(Uint16Array.from([15360, 49152, 31743]), [3], 'float16'),
    i8: tensor(Int8Array.from([-128, 0, 127]), [3]),
    u8: tensor(Uint8Array.from([0, 50, 100, 150, 200]), [5]),
    i16: tensor(Int16Array.from([-32768, 32767]), [2]),
    u16: tensor(Uint16Array.from([0, 65535]), [2]),
    i32: tensor(Int32Array.from([-3, -2, -1, 0, 1, 2]), [3, 2]),
    u32: tensor(Uint32Array.from([0, 4294967295]), [2]),
    i64: tensor(BigInt64Array.from([-(2n ** 63n), 2n ** 62n + 1n]), [2]),
    u64: tensor(BigUint64Array.from([0n, 2n ** 64n - 1n]), [2]),
    bool: tensor(Uint8Array.from([1, 0, 1]), [1, 3], 'bool'),
    scalar: tensor(Float32Array.from([7.25]), []),
    strided: transpose(
      tensor(
        Float32Array.from({ length: 12 }, (_, i) => i),
        [3, 4],
      ),
    ),
    empty: zeros([0, 2], 'float32'),
  };
}

function expectSameArrays(got: Record<string, Tensor>, want: Record<string, Tensor>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [k, t] of Object.entries(want)) {
    expect(got[k].dtype).toBe(t.dtype);
    expect(got[k].shape).toEqual(t.shape);
    expect(values(got[k])).toEqual(values(encodeAndBack(t)));
  }
}

/** The packed C-order values of a view, via the npy codec's single-tensor path. */
function encodeAndBack(t: Tensor): Tensor {
  return parseNpz(encodeNpz({ x: t })).x;
}

describe('parseNpz on numpy archives', () => {
  test('numpy.savez (stored members, ZIP64 local headers)', () => {
    checkNumpyArrays(parseNpz(read('npz', 'savez.npz'), 'savez.npz'));
  });

  test('numpy.savez_compressed (deflated members)', () => {
    checkNumpyArrays(parseNpz(read('npz', 'savez_compressed.npz')));
  });

  test('positional arrays are arr_0, arr_1, ...', () => {
    const z = parseNpz(read('npz', 'positional.npz'));
    expect(Object.keys(z)).toEqual(['arr_0', 'arr_1']);
    expect(values(z.arr_0)).toEqual([0, 1, 2]);
    expect(z.arr_1.dtype).toBe('float64');
    expect(values(z.arr_1)).toEqual([1, 1, 1, 1]);
  });
});

describe('encodeNpz', () => {
  test.each([
    ['stored', {}],
    ['compressed', { compress: true }],
    ['ZIP64', { forceZip64: true }],
    ['compressed ZIP64', { compress: true, forceZip64: true, level: 9 }],
  ])('%s round trip of every dtype', (_, opts) => {
    const arrays = tsWrittenArrays();
    expectSameArrays(parseNpz(encodeNpz(arrays, opts)), arrays);
  });

  test('the strided view is written packed', () => {
    expect(values(encodeAndBack(tsWrittenArrays().strided))).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  test('stored members hold the exact .npy bytes; equal input gives equal bytes', () => {
    const t = tsWrittenArrays().f32;
    const zip = encodeNpz({ a: t });
    const npy = encodeNpy(t);
    expect(Buffer.from(zip).indexOf(Buffer.from(npy))).toBeGreaterThan(0);
    expect(Buffer.from(encodeNpz({ a: t }))).toEqual(Buffer.from(zip));
  });

  test('compression shrinks redundant data', () => {
    const big = { z: zeros([64, 64], 'float32') };
    expect(encodeNpz(big, { compress: true }).length).toBeLessThan(encodeNpz(big).length / 10);
  });

  test('non-ASCII names and a __proto__ key stay plain keys', () => {
    const t = tensor(Int32Array.from([1]), [1]);
    const z = parseNpz(encodeNpz({ 'größe/ß': t, ['__proto__']: t } as Record<string, Tensor>));
    expect(Object.keys(z).sort()).toEqual(['__proto__', 'größe/ß']);
    expect(Object.getPrototypeOf(z)).toBe(Object.prototype);
    expect(values(z['größe/ß'])).toEqual([1]);
  });

  test('files numpy.load reads (checked by `make_fixtures.py --check`) are reproduced byte for byte', () => {
    const dir = path.join(FIXTURES, 'ts-written');
    const arrays = tsWrittenArrays();
    const files: [string, Uint8Array][] = [
      ['stored.npz', encodeNpz(arrays)],
      ['compressed.npz', encodeNpz(arrays, { compress: true })],
      ['zip64.npz', encodeNpz(arrays, { forceZip64: true })],
      ['f32.npy', encodeNpy(arrays.f32)],
    ];
    if (process.env.WRITE_TS_FIXTURES) {
      mkdirSync(dir, { recursive: true });
      for (const [name, bytes] of files) writeFileSync(path.join(dir, name), bytes);
    }
    for (const [name, bytes] of files) expect(Buffer.from(bytes)).toEqual(Buffer.from(read('ts-written', name)));
  });

  test('invalid arguments', () => {
    expectThrows(() => encodeNpz(null as never), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'arrays');
    expectThrows(() => encodeNpz({ '': zeros([1], 'uint8') }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'arrays');
    expectThrows(
      () => encodeNpz({}, { compress: true, level: 11 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'level',
    );
  });
});

describe('parseNpz errors', () => {
  /** Offset of the first member's data (after its local header). */
  const dataStart = (zip: Uint8Array): number => {
    const v = new DataView(zip.buffer, zip.byteOffset);
    return 30 + v.getUint16(26, true) + v.getUint16(28, true);
  };
  /** Offset of the first central directory entry. */
  const centralStart = (zip: Uint8Array): number => {
    const v = new DataView(zip.buffer, zip.byteOffset);
    return v.getUint32(zip.length - 22 + 16, true);
  };

  test('CRC-32 mismatch in a stored member', () => {
    const zip = read('npz', 'savez.npz').slice();
    zip[dataStart(zip) + 130] ^= 0x01; // a data byte of weights.npy
    const e = expectThrows(() => parseNpz(zip, 'savez.npz'), CorruptFileError, 'E_CORRUPT_FILE', 'savez.npz');
    expect(e.message).toMatch(/CRC-32 mismatch/);
  });

  test('CRC-32 mismatch in a deflated member', () => {
    const zip = encodeNpz(tsWrittenArrays(), { compress: true });
    new DataView(zip.buffer).setUint32(centralStart(zip) + 16, 0xdeadbeef, true);
    const e = expectThrows(() => parseNpz(zip, 'c.npz'), CorruptFileError, 'E_CORRUPT_FILE', 'c.npz');
    expect(e.message).toMatch(/CRC-32 mismatch/);
  });

  test('damaged deflate data', () => {
    const zip = read('npz', 'savez_compressed.npz').slice();
    for (let i = 0; i < 16; i++) zip[dataStart(zip) + 5 + i] = 0xff;
    expectThrows(() => parseNpz(zip, 'z'), CorruptFileError, 'E_CORRUPT_FILE', 'z');
  });

  test('truncated archives and non-ZIP data', () => {
    const zip = read('npz', 'savez.npz');
    for (const cut of [zip.length - 1, zip.length - 30, 200, 10, 0])
      expectThrows(() => parseNpz(zip.subarray(0, cut), 't.npz'), CorruptFileError, 'E_CORRUPT_FILE', 't.npz');
    expectThrows(() => parseNpz(read('npy', 'f4.npy'), 'f4.npy'), CorruptFileError, 'E_CORRUPT_FILE', 'f4.npy');
  });

  test('a damaged member is reported with its name', () => {
    const zip = buildStoredZip('a.npy', new Uint8Array(20).fill(7)); // valid ZIP, CRC right, no .npy magic
    expectThrows(() => parseNpz(zip, 'm.npz'), CorruptFileError, 'E_CORRUPT_FILE', 'm.npz:a.npy');
  });

  test('unsupported compression method and encryption', () => {
    const zip = encodeNpz({ a: zeros([2], 'float32') });
    const m = zip.slice();
    new DataView(m.buffer).setUint16(centralStart(m) + 10, 12, true); // bzip2
    expectThrows(() => parseNpz(m), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT', 'compression method');
    const enc = zip.slice();
    new DataView(enc.buffer).setUint16(centralStart(enc) + 8, 1, true);
    expectThrows(() => parseNpz(enc), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT', 'encryption');
  });

  test('a member with an unsupported dtype', () => {
    const zip = buildStoredZip('c.npy', read('npy', 'complex.npy'));
    expectThrows(() => parseNpz(zip), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT', 'dtype');
  });

  test('members without the .npy suffix are skipped', () => {
    expect(parseNpz(buildStoredZip('readme.txt', new Uint8Array([104, 105])))).toEqual({});
  });
});

describe('crc32', () => {
  test('the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

/** A one-member stored ZIP built independently of encodeNpz. */
function buildStoredZip(name: string, data: Uint8Array): Uint8Array {
  const n = new TextEncoder().encode(name);
  const out = new Uint8Array(30 + n.length + data.length + 46 + n.length + 22);
  const v = new DataView(out.buffer);
  const crc = crc32(data);
  v.setUint32(0, 0x04034b50, true);
  v.setUint16(4, 20, true);
  v.setUint32(14, crc, true);
  v.setUint32(18, data.length, true);
  v.setUint32(22, data.length, true);
  v.setUint16(26, n.length, true);
  out.set(n, 30);
  out.set(data, 30 + n.length);
  const c = 30 + n.length + data.length;
  v.setUint32(c, 0x02014b50, true);
  v.setUint16(c + 4, 20, true);
  v.setUint16(c + 6, 20, true);
  v.setUint32(c + 16, crc, true);
  v.setUint32(c + 20, data.length, true);
  v.setUint32(c + 24, data.length, true);
  v.setUint16(c + 28, n.length, true);
  out.set(n, c + 46);
  const e = c + 46 + n.length;
  v.setUint32(e, 0x06054b50, true);
  v.setUint16(e + 8, 1, true);
  v.setUint16(e + 10, 1, true);
  v.setUint32(e + 12, 46 + n.length, true);
  v.setUint32(e + 16, c, true);
  return out;
}
