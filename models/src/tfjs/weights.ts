/**
 * Weights of a tfjs graph model: the manifest's entries read from the concatenated shards, dequantized to
 * float32 (uint8/uint16 affine quantization `q·scale + min`, float16), and constants inlined in the graph.
 */
import { CorruptFileError, UnsupportedFormatError, float16BitsToNumber } from '@trustvision/core-tensor';
import type { TfjsTensorProto, TfjsWeightGroup } from './types.js';

/** A constant known at conversion time, in TensorFlow's (row-major, TF axis order) layout. */
export type ConstTensor =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'int32'; shape: number[]; data: Int32Array }
  | { dtype: 'int64'; shape: number[]; data: BigInt64Array }
  | { dtype: 'bool'; shape: number[]; data: Uint8Array };

export type ConstDType = ConstTensor['dtype'];

export interface WeightStats {
  /** Weight tensors in the manifest. */
  tensors: number;
  /** Elements over all weight tensors. */
  parameters: number;
  /** Bytes of the weight shards consumed. */
  bytes: number;
  /** Tensors per storage type: 'float32', 'int32', 'uint8', 'uint16', 'float16', 'bool'. */
  storage: Record<string, number>;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: unknown, what: string, source: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new CorruptFileError('tfjs model.json', source, `${what} has an invalid shape ${JSON.stringify(shape)}`);
  return shape as number[];
}

/**
 * Reads every weight of the manifest from `data` (the shards of all groups concatenated in manifest order).
 * Quantized float weights become float32 exactly as tfjs decodes them; int32 weights stay int32.
 */
export function readWeights(
  manifest: readonly TfjsWeightGroup[],
  data: Uint8Array,
  source = 'model.json',
): { weights: Map<string, ConstTensor>; stats: WeightStats } {
  const weights = new Map<string, ConstTensor>();
  const stats: WeightStats = { tensors: 0, parameters: 0, bytes: 0, storage: {} };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  if (!Array.isArray(manifest))
    throw new CorruptFileError('tfjs model.json', source, 'weightsManifest is not an array');
  for (const group of manifest) {
    if (!group || !Array.isArray(group.weights))
      throw new CorruptFileError('tfjs model.json', source, 'a weightsManifest group has no weights array');
    for (const entry of group.weights) {
      const name = entry?.name;
      if (typeof name !== 'string') throw new CorruptFileError('tfjs model.json', source, 'a weight has no name');
      const shape = checkShape(entry.shape, `weight '${name}'`, source);
      const n = numel(shape);
      const q = entry.quantization;
      const storage = q ? q.dtype : entry.dtype;
      const width =
        storage === 'uint8' || storage === 'bool'
          ? 1
          : storage === 'uint16' || storage === 'float16'
            ? 2
            : storage === 'float32' || storage === 'int32'
              ? 4
              : 0;
      if (width === 0)
        throw new UnsupportedFormatError(
          `weight '${name}'`,
          q ? `quantization ${q.dtype}` : entry.dtype,
          'float32, int32 or bool weights (optionally uint8/uint16/float16 quantized)',
        );
      const bytes = n * width;
      if (offset + bytes > data.byteLength)
        throw new CorruptFileError(
          'tfjs weights',
          source,
          `weight '${name}' needs bytes ${offset}..${offset + bytes} but the shards hold ${data.byteLength}`,
        );
      stats.tensors++;
      stats.parameters += n;
      stats.storage[storage] = (stats.storage[storage] ?? 0) + 1;
      const at = offset;
      offset += bytes;
      if (entry.dtype !== 'float32' && entry.dtype !== 'int32' && entry.dtype !== 'bool')
        throw new UnsupportedFormatError(`weight '${name}'`, entry.dtype, 'float32, int32 or bool');
      if (entry.dtype === 'bool') {
        if (q) throw new UnsupportedFormatError(`weight '${name}'`, `quantized bool`, 'an unquantized bool weight');
        weights.set(name, { dtype: 'bool', shape, data: data.slice(at, at + n) });
        continue;
      }
      // the value each stored element stands for, in float64
      let read: (i: number) => number;
      if (!q)
        read =
          entry.dtype === 'float32' ? (i) => view.getFloat32(at + 4 * i, true) : (i) => view.getInt32(at + 4 * i, true);
      else if (q.dtype === 'float16') read = (i) => float16BitsToNumber(view.getUint16(at + 2 * i, true));
      else {
        const { scale, min } = q;
        if (typeof scale !== 'number' || typeof min !== 'number')
          throw new CorruptFileError(
            'tfjs model.json',
            source,
            `weight '${name}' is ${q.dtype}-quantized without scale/min`,
          );
        read =
          q.dtype === 'uint8'
            ? (i) => data[at + i] * scale + min
            : (i) => view.getUint16(at + 2 * i, true) * scale + min;
      }
      if (entry.dtype === 'float32') {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = read(i);
        weights.set(name, { dtype: 'float32', shape, data: out });
      } else {
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = q ? Math.round(read(i)) : read(i);
        weights.set(name, { dtype: 'int32', shape, data: out });
      }
    }
  }
  stats.bytes = offset;
  return { weights, stats };
}

/** TF DataType names → the dtype this converter represents them with (undefined: unsupported). */
export function tfDType(t: string | undefined): ConstDType | undefined {
  switch (t) {
    case 'DT_FLOAT':
      return 'float32';
    case 'DT_INT32':
      return 'int32';
    case 'DT_INT64':
      return 'int64';
    case 'DT_BOOL':
      return 'bool';
    default:
      return undefined;
  }
}

function base64Bytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A constant stored inline in a node's `value` attribute (tensorContent or the typed value lists; a single listed
 * value fills the whole tensor, as in TensorFlow). Returns undefined when the proto holds no data.
 */
export function decodeInlineTensor(proto: TfjsTensorProto, node: string, source: string): ConstTensor | undefined {
  const dtype = tfDType(proto.dtype);
  if (!dtype)
    throw new UnsupportedFormatError(
      `Const '${node}'`,
      proto.dtype,
      'a DT_FLOAT, DT_INT32, DT_INT64 or DT_BOOL constant',
    );
  const shape = (proto.tensorShape?.dim ?? []).map((d) => Number(d.size ?? 0));
  checkShape(shape, `constant '${node}'`, source);
  const n = numel(shape);
  const make = (values: ArrayLike<number | bigint>): ConstTensor => {
    if (values.length !== n && values.length !== 1 && n !== 0)
      throw new CorruptFileError(
        'tfjs model.json',
        source,
        `constant '${node}' has ${values.length} values for shape [${shape}]`,
      );
    const at = (i: number) => values[values.length === 1 ? 0 : i];
    switch (dtype) {
      case 'float32':
        return { dtype, shape, data: Float32Array.from({ length: n }, (_, i) => Number(at(i))) };
      case 'int32':
        return { dtype, shape, data: Int32Array.from({ length: n }, (_, i) => Number(at(i))) };
      case 'int64':
        return { dtype, shape, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(at(i))) };
      case 'bool':
        return { dtype, shape, data: Uint8Array.from({ length: n }, (_, i) => (Number(at(i)) ? 1 : 0)) };
    }
  };
  if (proto.tensorContent) {
    const bytes = base64Bytes(proto.tensorContent);
    const width = dtype === 'bool' ? 1 : dtype === 'int64' ? 8 : 4;
    if (bytes.length !== n * width)
      throw new CorruptFileError(
        'tfjs model.json',
        source,
        `constant '${node}' holds ${bytes.length} bytes for shape [${shape}]`,
      );
    const v = new DataView(bytes.buffer);
    const values: (number | bigint)[] = [];
    for (let i = 0; i < n; i++)
      values.push(
        dtype === 'float32'
          ? v.getFloat32(4 * i, true)
          : dtype === 'int32'
            ? v.getInt32(4 * i, true)
            : dtype === 'int64'
              ? v.getBigInt64(8 * i, true)
              : bytes[i],
      );
    return make(values);
  }
  const list =
    dtype === 'float32'
      ? (proto.floatVal ?? proto.doubleVal)
      : dtype === 'int32'
        ? proto.intVal
        : dtype === 'int64'
          ? proto.int64Val
          : proto.boolVal?.map((b) => (b ? 1 : 0));
  if (list && list.length) return make(dtype === 'int64' ? list.map((x) => BigInt(x)) : list.map((x) => Number(x)));
  if (n === 0) return make([]);
  return undefined;
}
