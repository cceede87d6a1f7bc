import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CorruptFileError, DTypeError, UnsupportedFormatError } from '../src/errors.js';
import { encodeNpy, parseNpy, parsePythonLiteral } from '../src/npy.js';
import { type DType, type Tensor, tensor, transpose, zeros } from '../src/tensor.js';
import { expectThrows } from './helpers';

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(path.join(__dirname, 'fixtures', 'npy', name)));

const values = (t: Tensor): unknown[] => Array.from(t.data as ArrayLike<unknown>);

/** Builds the header bytes of a version 1.0 file around `dict`, then `data`. */
function handmade(dict: string, data: number[] = [], version = 1): Uint8Array {
  const header = dict + '\n';
  const pre = version === 1 ? 10 : 12;
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(data, pre + header.length);
  return out;
}

describe('parseNpy on files written by numpy.save', () => {
  const cases: [string, DType, number[], unknown[]][] = [
    ['f4.npy', 'float32', [2, 4], [0, -0, 1.5, -2.25, 1.401298464324817e-45, 3.4028234663852886e38, Infinity, NaN]],
    ['f8_scalar.npy', 'float64', [], [Math.PI]],
    ['f2.npy', 'float16', [8], [15360, 49152, 14336, 31743, 1, 31744, 32768, 13653]],
    ['i1.npy', 'int8', [4], [-128, -1, 0, 127]],
    ['i2.npy', 'int16', [4], [-32768, -2, 3, 32767]],
    ['i4.npy', 'int32', [3, 2, 2], [-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5].map((v) => v * 178956970)],
    ['i8.npy', 'int64', [4], [-(2n ** 63n), -9007199254740993n, 0n, 2n ** 62n + 1n]],
    ['u1.npy', 'uint8', [2, 3], [0, 51, 102, 153, 204, 255]],
    ['u2.npy', 'uint16', [3], [0, 1, 65535]],
    ['u4.npy', 'uint32', [3], [0, 4294967295, 123456789]],
    ['u8.npy', 'uint64', [3], [0n, 2n ** 64n - 1n, 2n ** 53n + 1n]],
    ['b1.npy', 'bool', [3, 2], [1, 0, 0, 1, 1, 1]],
    ['empty.npy', 'float32', [0, 3], []],
    // big-endian files, byte-swapped on read
    ['f4_be.npy', 'float32', [4], [1.5, -2.25, 1.401298464324817e-45, 3]],
    ['i8_be.npy', 'int64', [3], [-(2n ** 63n), 1n, 2n ** 62n + 1n]],
    ['u2_be.npy', 'uint16', [3], [1, 258, 65535]],
    ['f2_be.npy', 'float16', [3], [15360, 49152, 31743]],
    // version 2.0 and 3.0 headers
    ['v2.npy', 'float32', [3, 4], Array.from({ length: 12 }, (_, i) => i / 4)],
    ['v3.npy', 'float32', [3, 4], Array.from({ length: 12 }, (_, i) => i / 4)],
  ];
  test.each(cases)('%s', (name, dtype, shape, expected) => {
    const t = parseNpy(fixture(name), name);
    expect(t.dtype).toBe(dtype);
    expect(t.shape).toEqual(shape);
    expect(t.offset).toBe(0);
    expect(values(t)).toEqual(expected);
  });

  test('encodeNpy reproduces numpy.save byte for byte', () => {
    for (const name of ['f4', 'f8_scalar', 'f2', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'b1', 'empty']) {
      const bytes = fixture(`${name}.npy`);
      expect(Buffer.from(encodeNpy(parseNpy(bytes)))).toEqual(Buffer.from(bytes));
    }
  });

  test('the data is a fresh, aligned copy even from a misaligned buffer', () => {
    const bytes = fixture('f4.npy');
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const view = shifted.subarray(1); // byteOffset 1: a Float32Array view would be impossible
    const t = parseNpy(view);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.byteOffset).toBe(0);
    expect(t.data.buffer).not.toBe(shifted.buffer);
    expect(values(t)).toEqual(values(parseNpy(bytes)));
  });
});

describe('encodeNpy / parseNpy round trips', () => {
  const samples: { [K in DType]: number[] | bigint[] } = {
    float32: [0, -1.5, 3.25, Infinity],
    float64: [Math.PI, -0, 1e300, NaN],
    float16: [0x3c00, 0xc000, 0x7bff, 0x0001],
    int8: [-128, 0, 5, 127],
    uint8: [0, 1, 128, 255],
    int16: [-32768, -1, 2, 32767],
    uint16: [0, 1, 40000, 65535],
    int32: [-2147483648, -1, 2, 2147483647],
    uint32: [0, 1, 3000000000, 4294967295],
    int64: [-(2n ** 63n), -1n, 2n ** 53n + 1n, 2n ** 63n - 1n],
    uint64: [0n, 1n, 2n ** 63n, 2n ** 64n - 1n],
    bool: [1, 0, 0, 1],
  };
  test.each(Object.keys(samples) as DType[])('%s', (dtype) => {
    const t = zeros([2, 2], dtype);
    (t.data as { set(v: ArrayLike<number | bigint>): void }).set(samples[dtype] as ArrayLike<number>);
    const bytes = encodeNpy(t);
    // numpy's layout: version 1.0, data starting on a multiple of 64 bytes
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    expect((10 + (bytes[8] | (bytes[9] << 8))) % 64).toBe(0);
    const back = parseNpy(bytes);
    expect(back.dtype).toBe(dtype);
    expect(back.shape).toEqual([2, 2]);
    expect(values(back)).toEqual(values(t));
  });

  test('0-d and empty tensors', () => {
    const s = parseNpy(encodeNpy(tensor(new Float64Array([2.5]), [])));
    expect(s.shape).toEqual([]);
    expect(values(s)).toEqual([2.5]);
    const e = parseNpy(encodeNpy(zeros([3, 0, 2], 'int16')));
    expect(e.shape).toEqual([3, 0, 2]);
    expect(e.data.length).toBe(0);
  });

  test('non-contiguous views are written packed in C order', () => {
    const base = tensor(
      Float32Array.from({ length: 12 }, (_, i) => i),
      [3, 4],
    );
    const back = parseNpy(encodeNpy(transpose(base)));
    expect(back.shape).toEqual([4, 3]);
    expect(values(back)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    // a view with an offset
    const tail: Tensor<'float32'> = { dtype: 'float32', data: base.data, shape: [2, 2], stride: [4, 1], offset: 6 };
    expect(values(parseNpy(encodeNpy(tail)))).toEqual([6, 7, 10, 11]);
  });

  test('bool bytes other than 0/1 read as 1', () => {
    const bytes = handmade("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", [0, 2, 255]);
    expect(values(parseNpy(bytes))).toEqual([0, 1, 1]);
  });

  test('Fortran order is accepted for 1-d arrays, where it equals C order', () => {
    const bytes = handmade("{'descr': '<i2', 'fortran_order': True, 'shape': (2,), }", [1, 0, 2, 0]);
    expect(values(parseNpy(bytes))).toEqual([1, 2]);
  });
});

describe('parseNpy errors', () => {
  test('truncated data', () => {
    const bytes = fixture('f4.npy');
    const e = expectThrows(
      () => parseNpy(bytes.subarray(0, bytes.length - 1), 'f4.npy'),
      CorruptFileError,
      'E_CORRUPT_FILE',
      'f4.npy',
    );
    expect(e.message).toMatch(/truncated data/);
  });

  test('truncated header', () => {
    expectThrows(() => parseNpy(fixture('f4.npy').subarray(0, 40), 'x'), CorruptFileError, 'E_CORRUPT_FILE', 'x');
    expectThrows(() => parseNpy(fixture('f4.npy').subarray(0, 5), 'x'), CorruptFileError, 'E_CORRUPT_FILE', 'x');
  });

  test('bad magic', () => {
    const bytes = fixture('f4.npy').slice();
    bytes[1] = 0x4f;
    const e = expectThrows(() => parseNpy(bytes, 'bad.npy'), CorruptFileError, 'E_CORRUPT_FILE', 'bad.npy');
    expect(e.message).toMatch(/magic/);
  });

  test('unparsable headers, never evaluated', () => {
    for (const dict of [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
      "__import__('os').system('echo pwned')",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }",
      "{'descr': '<f4' 'fortran_order': False}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
      "{'descr': '<f4', 'shape': (2,), }",
      "['descr', '<f4']",
    ]) {
      expectThrows(
        () => parseNpy(handmade(dict, [0, 0, 0, 0, 0, 0, 0, 0]), 'h.npy'),
        CorruptFileError,
        'E_CORRUPT_FILE',
        'h.npy',
      );
    }
  });

  test('Fortran order', () => {
    const e = expectThrows(
      () => parseNpy(fixture('fortran.npy')),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
      'fortran_order',
    );
    expect(e.message).toMatch(/fortran_order/);
  });

  test.each([
    ['complex.npy', '<c8'],
    ['unicode.npy', '<U3'],
    ['object.npy', '|O'],
    ['structured.npy', 'structured dtypes are not supported'],
  ])('unsupported dtype in %s', (name, descr) => {
    const e = expectThrows(() => parseNpy(fixture(name)), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT', 'dtype');
    expect(e.message).toContain(descr);
  });

  test('unknown format version', () => {
    const bytes = fixture('f4.npy').slice();
    bytes[6] = 4;
    expectThrows(() => parseNpy(bytes), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT', 'version');
  });

  test('a huge shape is reported as truncation, not allocated', () => {
    const bytes = handmade("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000000000), }");
    expectThrows(() => parseNpy(bytes, 'big'), CorruptFileError, 'E_CORRUPT_FILE', 'big');
  });

  test('encodeNpy rejects what is not a tensor', () => {
    expectThrows(() => encodeNpy({ dtype: 'complex64' } as unknown as Tensor), DTypeError, 'E_DTYPE', 't');
    const bad = {
      dtype: 'float32',
      data: new Float64Array(2),
      shape: [2],
      stride: [1],
      offset: 0,
    } as unknown as Tensor;
    expectThrows(() => encodeNpy(bad), DTypeError, 'E_DTYPE', 't.data');
  });
});

describe('parsePythonLiteral', () => {
  test('the literal forms numpy headers use', () => {
    expect(parsePythonLiteral("{'a': (1, 2), \"b\": [True, False, None], 'c': (), 'd': (3,), 'e': -4L, }")).toEqual({
      a: [1, 2],
      b: [true, false, null],
      c: [],
      d: [3],
      e: -4,
    });
    expect(parsePythonLiteral("'it\\'s \\x41'")).toBe("it's A");
  });
});
