import ndarray from 'ndarray';
import {
  cast,
  contiguous,
  denseData,
  fromFloat16,
  fromNdArray,
  get,
  isContiguous,
  pick,
  reshape,
  sliceRows,
  tensor,
  toFloat16,
  toNdArray,
  transpose,
  zeros,
  assertFinite,
  DTypeError,
  ShapeError,
  InvalidArgumentError,
  NonFiniteError,
} from '../src/node';

describe('tensor views', () => {
  const data = Float32Array.from({ length: 24 }, (_, i) => i);
  const t = tensor(data, [2, 3, 4]);

  test('C-order strides and element access', () => {
    expect(t.stride).toEqual([12, 4, 1]);
    expect(get(t, 1, 2, 3)).toBe(23);
    expect(isContiguous(t)).toBe(true);
    expect(denseData(t)).toBe(data); // no copy
  });

  test('transpose and pick are views; denseData packs them', () => {
    const tt = transpose(t, [2, 0, 1]);
    expect(tt.data).toBe(data);
    expect(tt.shape).toEqual([4, 2, 3]);
    expect(get(tt, 3, 1, 2)).toBe(get(t, 1, 2, 3));
    expect(isContiguous(tt)).toBe(false);
    const packed = contiguous(tt);
    expect(packed.data).not.toBe(data);
    // numpy: np.arange(24).reshape(2,3,4).transpose(2,0,1).ravel()[:8]
    expect(Array.from(packed.data.subarray(0, 8))).toEqual([0, 4, 8, 12, 16, 20, 1, 5]);
    const p = pick(t, 1, 2); // t[:, 2, :]
    expect(p.shape).toEqual([2, 4]);
    expect(Array.from(denseData(p))).toEqual([8, 9, 10, 11, 20, 21, 22, 23]);
  });

  test('contiguous slices share memory through subarray', () => {
    const s = sliceRows(t, 1, 2);
    expect(s.offset).toBe(12);
    const d = denseData(s);
    expect(d.buffer).toBe(data.buffer);
    expect(Array.from(d)).toEqual(Array.from({ length: 12 }, (_, i) => i + 12));
  });

  test('reshape with -1', () => {
    expect(reshape(t, [-1, 4]).shape).toEqual([6, 4]);
    expect(() => reshape(t, [5, -1])).toThrow(ShapeError);
    expect(() => reshape(t, [5, 5])).toThrow(ShapeError);
  });

  test('round trip with scijs ndarray, including a transposed view, without copying', () => {
    const nd = ndarray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]).transpose(1, 0);
    const v = fromNdArray(nd);
    expect(v.data).toBe(nd.data);
    expect(v.shape).toEqual([3, 2]);
    expect(get(v, 2, 1)).toBe(nd.get(2, 1));
    const back = toNdArray(v);
    const nd2 = ndarray(back.data as Float32Array, back.shape, back.stride, back.offset);
    expect(nd2.get(0, 1)).toBe(4);
    const hi = ndarray(new Float64Array(10), [10]).hi(8).lo(2);
    expect(fromNdArray(hi).offset).toBe(2);
  });

  test('fromNdArray rejects views outside their data', () => {
    expect(() => fromNdArray({ data: new Float32Array(4), shape: [3, 3] })).toThrow(ShapeError);
    expect(() => fromNdArray({ data: 'abc' as unknown as Float32Array, shape: [3] })).toThrow(DTypeError);
  });

  test('tensor() validates data, shape and dtype', () => {
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(ShapeError);
    expect(() => tensor(new Float32Array(6), [2, -3])).toThrow(ShapeError);
    expect(() => tensor(new Float32Array(6), [6], 'int32' as unknown as 'float32')).toThrow(DTypeError);
    expect(() => tensor([1, 2] as unknown as Float32Array, [2])).toThrow(DTypeError);
    try {
      tensor(new Float32Array(5), [2, 3]);
    } catch (e) {
      expect((e as ShapeError).code).toBe('E_SHAPE');
      expect((e as ShapeError).param).toBe('shape');
    }
  });

  test('zeros and bool/float16 dtypes', () => {
    expect(zeros([2, 2], 'bool').data).toBeInstanceOf(Uint8Array);
    expect(zeros([2], 'float16').dtype).toBe('float16');
    expect(zeros([3], 'int64').data).toBeInstanceOf(BigInt64Array);
  });
});

describe('float16', () => {
  // golden bits from numpy: np.array(v, np.float32).astype(np.float16).view(np.uint16)
  const values = [
    0,
    -0,
    1,
    65504,
    65519.98828125,
    65520,
    9.99999993922529e-9,
    5.99999978589949e-8,
    0.10000000149011612,
    0.3333333432674408,
    -2.5,
    2049,
    2051,
    2.9802322387695312e-8,
    Infinity,
    -Infinity,
  ];
  const bits = [0, 32768, 15360, 31743, 31743, 31744, 0, 1, 11878, 13653, 49408, 26624, 26626, 0, 31744, 64512];

  test('encoding matches numpy, including rounding to even, subnormals and overflow', () => {
    expect(Array.from(toFloat16(values))).toEqual(bits);
  });

  test('decoding is exact', () => {
    const dec = fromFloat16(new Uint16Array([0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00]));
    expect(Array.from(dec)).toEqual([
      5.960464477539063e-8,
      6.097555160522461e-5,
      6.103515625e-5,
      1,
      -2,
      65504,
      Infinity,
      -Infinity,
    ]);
    expect(Number.isNaN(fromFloat16(new Uint16Array([0x7e00]))[0])).toBe(true);
    expect(toFloat16([NaN])[0] & 0x7c00).toBe(0x7c00);
  });

  test('every finite half survives half → float → half', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = toFloat16(fromFloat16(all));
    const wrong: number[] = [];
    for (let i = 0; i < 65536; i++) {
      if ((i & 0x7c00) === 0x7c00 && i & 0x3ff) continue; // NaN payloads
      if (back[i] !== i) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  test('cast between dtypes', () => {
    const f = tensor(new Float32Array([1.5, -2, 3.25]), [3]);
    const h = cast(f, 'float16');
    expect(h.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(cast(h, 'float32').data)).toEqual([1.5, -2, 3.25]);
    expect(Array.from(cast(f, 'int64').data)).toEqual([1n, -2n, 3n]);
    expect(Array.from(cast(f, 'bool').data)).toEqual([1, 1, 1]);
    expect(() => cast(tensor(new Float32Array([NaN]), [1]), 'int64')).toThrow(NonFiniteError);
    expect(() => cast(tensor(new BigInt64Array([2n ** 60n]), [1]), 'float32')).toThrow(InvalidArgumentError);
  });
});

test('assertFinite names the parameter and element', () => {
  expect(() => assertFinite('x', new Float32Array([1, 2, 3]))).not.toThrow();
  try {
    assertFinite('features', new Float32Array([1, NaN]));
    throw new Error('no throw');
  } catch (e) {
    expect(e).toBeInstanceOf(NonFiniteError);
    expect((e as NonFiniteError).code).toBe('E_NON_FINITE');
    expect((e as NonFiniteError).param).toBe('features');
    expect((e as NonFiniteError).index).toBe(1);
  }
  expect(() => assertFinite('x', [Infinity])).toThrow(/element 0 is Infinity/);
});
