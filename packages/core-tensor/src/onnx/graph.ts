/**
 * Build ONNX models in TypeScript (`GraphBuilder`) and read a model's interface back (`inspectModel`).
 * Used for the op-graphs, for test fixtures and by the model converters.
 */
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import type { DType, Tensor } from '../tensor.js';
import { denseData } from '../tensor.js';
import { ProtoWriter, decodePackedVarints, decodeString, readFields } from './proto.js';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

const DTYPE_BY_CODE = new Map<number, DType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

/** The DType for an ONNX element-type code, or undefined (string, bfloat16, complex, float8...). */
export function dtypeFromOnnx(code: number): DType | undefined {
  return DTYPE_BY_CODE.get(code);
}

/** A dimension: a fixed size, or a symbolic name (any size). */
export type Dim = number | string;

export type AttrValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number | bigint }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'floats'; value: ArrayLike<number> }
  | { type: 'ints'; value: ArrayLike<number | bigint> }
  | { type: 'graph'; value: GraphBuilder };

/** Shorthand attribute constructors. */
export const attr = {
  f: (value: number): AttrValue => ({ type: 'float', value }),
  i: (value: number | bigint): AttrValue => ({ type: 'int', value }),
  s: (value: string): AttrValue => ({ type: 'string', value }),
  t: (value: Tensor): AttrValue => ({ type: 'tensor', value }),
  floats: (value: ArrayLike<number>): AttrValue => ({ type: 'floats', value }),
  ints: (value: ArrayLike<number | bigint>): AttrValue => ({ type: 'ints', value }),
  g: (value: GraphBuilder): AttrValue => ({ type: 'graph', value }),
};

interface ValueInfo {
  name: string;
  dtype: DType;
  shape?: readonly Dim[];
}

interface NodeDef {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name: string;
  domain: string;
}

export interface ModelOptions {
  /** Default opset version for the ai.onnx domain (17 unless set). */
  opset?: number;
  /** Other opset imports, e.g. { 'com.microsoft': 1 }. */
  extraOpsets?: Record<string, number>;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/**
 * Accumulates nodes, inputs, outputs and initializers; `toBytes()` serialises a ModelProto.
 *
 * ```ts
 * const g = new GraphBuilder('scale');
 * const x = g.input('x', 'float32', ['n', 4]);
 * const [y] = g.op('Mul', [x, g.constant(tensor(new Float32Array([2]), [1]))]);
 * g.output(y, 'float32', ['n', 4], 'y');
 * const bytes = g.toBytes();
 * ```
 */
export class GraphBuilder {
  readonly name: string;
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly nodes: NodeDef[] = [];
  private readonly initializers: { name: string; tensor: Tensor }[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(name = 'graph') {
    this.name = name;
  }

  /** A fresh value name with the given prefix. */
  fresh(prefix = 't'): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.used.has(n));
    this.used.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new InvalidArgumentError('name', name, 'a value name not used before in this graph');
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape?: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), dtype, shape });
    return name;
  }

  /** Declares `value` as a graph output; with `rename`, adds an Identity so the output has that name. */
  output(value: string, dtype: DType, shape?: readonly Dim[], rename?: string): string {
    let name = value;
    if (rename !== undefined && rename !== value) {
      this.claim(rename);
      this.nodes.push({
        opType: 'Identity',
        inputs: [value],
        outputs: [rename],
        attrs: {},
        name: `out_${rename}`,
        domain: '',
      });
      name = rename;
    }
    this.outputs.push({ name, dtype, shape });
    return name;
  }

  /** Adds an initializer (a constant tensor stored in the graph) and returns its name. */
  initializer(tensor: Tensor, name?: string): string {
    const n = name === undefined ? this.fresh('init') : this.claim(name);
    this.initializers.push({ name: n, tensor });
    return n;
  }

  /** Same as `initializer`: a constant input to nodes. */
  constant(tensor: Tensor, name?: string): string {
    return this.initializer(tensor, name);
  }

  /**
   * Adds a node and returns its output names. `outputs` may be a count (fresh names) or explicit names.
   * An input may be '' for an omitted optional input.
   */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs: number | string[] = 1,
    domain = '',
  ): string[] {
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
        : outputs.map((o) => this.claim(o));
    this.nodes.push({ opType, inputs, outputs: outs, attrs, name: `${opType}_${this.nodes.length}`, domain });
    return outs;
  }

  /** Serialises the graph as a GraphProto (for subgraph attributes). */
  encodeGraph(w: ProtoWriter): void {
    for (const node of this.nodes) w.message(1, (n) => encodeNode(n, node));
    w.string(2, this.name);
    for (const init of this.initializers) w.message(5, (t) => encodeTensor(t, init.tensor, init.name));
    for (const i of this.inputs) w.message(11, (v) => encodeValueInfo(v, i));
    for (const o of this.outputs) w.message(12, (v) => encodeValueInfo(v, o));
  }

  /** Serialises a complete ModelProto. */
  toBytes(options: ModelOptions = {}): Uint8Array {
    const w = new ProtoWriter();
    w.int(1, options.irVersion ?? 8);
    w.string(2, options.producerName ?? '@trustvision/core-tensor');
    if (options.producerVersion) w.string(3, options.producerVersion);
    if (options.docString) w.string(6, options.docString);
    w.message(7, (g) => this.encodeGraph(g));
    w.message(8, (o) => o.string(1, '').int(2, options.opset ?? 17));
    for (const [domain, version] of Object.entries(options.extraOpsets ?? {}))
      w.message(8, (o) => o.string(1, domain).int(2, version));
    for (const [key, value] of Object.entries(options.metadata ?? {}))
      w.message(14, (m) => m.string(1, key).string(2, value));
    return w.finish();
  }
}

function encodeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, ONNX_DTYPE[v.dtype]);
      if (v.shape)
        tt.message(2, (shape) => {
          for (const d of v.shape!)
            shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
    }),
  );
}

function encodeNode(w: ProtoWriter, n: NodeDef): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, a] of Object.entries(n.attrs)) w.message(5, (aw) => encodeAttr(aw, name, a));
  if (n.domain) w.string(7, n.domain);
}

function encodeAttr(w: ProtoWriter, name: string, a: AttrValue): void {
  w.string(1, name);
  switch (a.type) {
    case 'float':
      w.float(2, a.value).int(20, 1);
      break;
    case 'int':
      w.int(3, a.value).int(20, 2);
      break;
    case 'string':
      w.string(4, a.value).int(20, 3);
      break;
    case 'tensor':
      w.message(5, (t) => encodeTensor(t, a.value, '')).int(20, 4);
      break;
    case 'graph':
      w.message(6, (g) => a.value.encodeGraph(g)).int(20, 5);
      break;
    case 'floats':
      w.packedFloats(7, a.value).int(20, 6);
      break;
    case 'ints':
      w.packedInts(8, a.value).int(20, 7);
      break;
  }
}

function encodeTensor(w: ProtoWriter, t: Tensor, name: string): void {
  if (t.shape.length) w.packedInts(1, t.shape);
  w.int(2, ONNX_DTYPE[t.dtype]);
  if (name) w.string(8, name);
  const data = denseData(t);
  // raw_data is little-endian, which every platform ONNX Runtime runs on is
  w.lenDelimited(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a model's interface

export interface ValueInfoSummary {
  name: string;
  /** ONNX element type as a DType, or `onnx:<code>` for types this library does not represent. */
  dtype: DType | `onnx:${number}`;
  /** Dimensions: numbers, symbolic names, or null for unknown. Absent when the model gives no shape. */
  shape?: (number | string | null)[];
}

export interface ModelSummary {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: Record<string, number>;
  inputs: ValueInfoSummary[];
  outputs: ValueInfoSummary[];
  initializers: number;
  nodes: number;
  opTypes: string[];
  metadata: Record<string, string>;
}

/**
 * Parses the interface of an ONNX model (no ONNX Runtime needed): IR version, opsets, graph inputs (excluding
 * initializers), outputs, op types. Throws CorruptFileError when the bytes are not an ONNX ModelProto.
 */
export function inspectModel(bytes: Uint8Array, source = 'model'): ModelSummary {
  const fail = (why: string): never => {
    throw new CorruptFileError('ONNX', source, why);
  };
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) fail('too short');
  const summary: ModelSummary = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    opsets: {},
    inputs: [],
    outputs: [],
    initializers: 0,
    nodes: 0,
    opTypes: [],
    metadata: {},
  };
  let graph: Uint8Array | undefined;
  for (const f of readFields(bytes, source)) {
    if (f.field === 1 && f.wire === 0) summary.irVersion = Number(f.varint);
    else if (f.field === 2 && f.bytes) summary.producerName = decodeString(f.bytes);
    else if (f.field === 3 && f.bytes) summary.producerVersion = decodeString(f.bytes);
    else if (f.field === 7 && f.bytes) graph = f.bytes;
    else if (f.field === 8 && f.bytes) {
      let domain = '';
      let version = 0;
      for (const o of readFields(f.bytes, source)) {
        if (o.field === 1 && o.bytes) domain = decodeString(o.bytes);
        else if (o.field === 2 && o.wire === 0) version = Number(o.varint);
      }
      summary.opsets[domain || 'ai.onnx'] = version;
    } else if (f.field === 14 && f.bytes) {
      let key = '';
      let value = '';
      for (const m of readFields(f.bytes, source)) {
        if (m.field === 1) key = decodeString(m.bytes);
        else if (m.field === 2) value = decodeString(m.bytes);
      }
      summary.metadata[key] = value;
    }
  }
  if (summary.irVersion <= 0 || graph === undefined) fail('no ir_version or graph: not an ONNX ModelProto');
  const initNames = new Set<string>();
  const inputs: ValueInfoSummary[] = [];
  const ops = new Set<string>();
  for (const f of readFields(graph!, source)) {
    if (f.field === 1 && f.bytes) {
      summary.nodes++;
      for (const n of readFields(f.bytes, source)) if (n.field === 4) ops.add(decodeString(n.bytes));
    } else if (f.field === 5 && f.bytes) {
      summary.initializers++;
      for (const t of readFields(f.bytes, source)) if (t.field === 8) initNames.add(decodeString(t.bytes));
    } else if (f.field === 11 && f.bytes) inputs.push(decodeValueInfo(f.bytes, source));
    else if (f.field === 12 && f.bytes) summary.outputs.push(decodeValueInfo(f.bytes, source));
  }
  summary.inputs = inputs.filter((i) => !initNames.has(i.name));
  summary.opTypes = [...ops].sort();
  return summary;
}

function decodeValueInfo(bytes: Uint8Array, source: string): ValueInfoSummary {
  const v: ValueInfoSummary = { name: '', dtype: 'onnx:0' };
  for (const f of readFields(bytes, source)) {
    if (f.field === 1) v.name = decodeString(f.bytes);
    else if (f.field === 2 && f.bytes) {
      for (const t of readFields(f.bytes, source)) {
        if (t.field !== 1 || !t.bytes) continue; // tensor_type only
        for (const tt of readFields(t.bytes, source)) {
          if (tt.field === 1 && tt.wire === 0) {
            const code = Number(tt.varint);
            v.dtype = dtypeFromOnnx(code) ?? `onnx:${code}`;
          } else if (tt.field === 2 && tt.bytes) {
            const shape: (number | string | null)[] = [];
            for (const d of readFields(tt.bytes, source)) {
              if (d.field !== 1 || !d.bytes) continue;
              let dim: number | string | null = null;
              for (const x of readFields(d.bytes, source)) {
                if (x.field === 1 && x.wire === 0) dim = Number(x.varint);
                else if (x.field === 1 && x.bytes) dim = Number(decodePackedVarints(x.bytes)[0]);
                else if (x.field === 2) dim = decodeString(x.bytes);
              }
              shape.push(dim);
            }
            v.shape = shape;
          }
        }
      }
    }
  }
  return v;
}
