/**
 * The conversion context: the ONNX graph being built, the converted value of every TF tensor with its layout, and
 * helpers the op handlers share (naming, constants, layout changes, attributes).
 */
import { GraphBuilder, attr, tensor, type AttrValue, type Tensor } from '@trustvision/core-tensor';
import { UnsupportedOpError } from './errors.js';
import { NCHW, identityPerm, invertPerm, isIdentity, permKey, samePerm, transposeConst } from './layout.js';
import type { TfjsAttrValue, TfjsNodeDef } from './types.js';
import type { ConstDType, ConstTensor } from './weights.js';

export type ValDType = ConstDType;

/** A TF tensor as converted: where it lives in the ONNX graph and in which axis order. */
export interface Val {
  /** The TF tensor name ('node' or 'node:1'), for naming and messages. */
  tf: string;
  dtype: ValDType;
  /** TF-order static shape, -1 for unknown dims; undefined when the rank is unknown. */
  shape?: number[];
  /** ONNX axis order (`onnx = transpose(tf, perm)`); undefined means TF order. */
  perm?: number[];
  /** The ONNX value holding it in `perm` order (undefined for a constant not materialised yet). */
  onnx?: string;
  /** The value, when known at conversion time (TF order). */
  konst?: ConstTensor;
  /** ONNX values holding it in other axis orders (or other derived forms), by key. */
  views: Map<string, string>;
}

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

export function rankOf(v: Val): number | undefined {
  return v.perm?.length ?? v.shape?.length ?? v.konst?.shape.length;
}

export function makeVal(v: Omit<Val, 'views'>): Val {
  return { ...v, views: new Map() };
}

export function constVal(tf: string, c: ConstTensor): Val {
  return makeVal({ tf, dtype: c.dtype, shape: [...c.shape], konst: c });
}

export function toTensor(c: ConstTensor): Tensor {
  return c.dtype === 'bool' ? tensor(c.data, c.shape, 'bool') : tensor(c.data, c.shape);
}

function layoutTag(perm: readonly number[]): string {
  if (samePerm(perm, NCHW)) return 'nchw';
  if (isIdentity(perm)) return perm.length === 4 ? 'nhwc' : 'tf_order';
  return `perm_${perm.join('')}`;
}

function decodeBase64(s: string): string {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

export class ConversionContext {
  readonly g: GraphBuilder;
  readonly opset: number;
  readonly values = new Map<string, Val>();
  readonly onnxOps: Record<string, number> = {};
  readonly warnings: string[] = [];
  /** Transposes inserted to change a tensor's layout (not counting converted TF Transpose ops). */
  layoutTransposes = 0;
  onnxNodes = 0;
  /** The node being converted. */
  node: TfjsNodeDef = { name: '', op: '' };
  private readonly reserved: Set<string>;
  private readonly outputNames: Set<string>;
  private readonly taken = new Set<string>();
  private readonly constCache = new Map<string, string>();

  /**
   * @param reserved names that generated values must avoid (all TF node names, the output names)
   * @param outputNames names the graph outputs will take (no value may take them before)
   */
  constructor(graphName: string, opset: number, reserved: Set<string>, outputNames: Set<string>) {
    this.g = new GraphBuilder(graphName);
    this.opset = opset;
    this.reserved = reserved;
    this.outputNames = outputNames;
  }

  // ---- naming ----------------------------------------------------------------------------------------------

  /** A new value name based on `base`, avoiding every TF node name and output name. */
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.taken.has(name) || this.reserved.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }

  /** The name for the converted value of TF tensor `tf`: `tf` itself when still free. */
  own(tf: string): string {
    if (!this.taken.has(tf) && !this.outputNames.has(tf)) {
      this.taken.add(tf);
      return tf;
    }
    return this.fresh(`${tf}/value`);
  }

  /** Claims an exact name (graph inputs and outputs); false when taken. */
  claim(name: string): boolean {
    if (this.taken.has(name)) return false;
    this.taken.add(name);
    return true;
  }

  // ---- emitting ------------------------------------------------------------------------------------------------

  private count(op: string): void {
    this.onnxOps[op] = (this.onnxOps[op] ?? 0) + 1;
    this.onnxNodes++;
  }

  /**
   * Adds an ONNX node for the current TF node and returns its output. `last` names the output after the TF node
   * (use it for the node that produces the TF node's result).
   */
  emit(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, last = false): string {
    const out = last ? this.own(this.node.name) : this.fresh(`${this.node.name}/${op}`);
    this.g.op(op, inputs, attrs, [out]);
    this.count(op);
    return out;
  }

  /** Adds a node with an exact output name (already claimed). */
  emitNamed(op: string, inputs: string[], attrs: Record<string, AttrValue>, out: string): string {
    this.g.op(op, inputs, attrs, [out]);
    this.count(op);
    return out;
  }

  /** An initializer holding `c` under `name` (already claimed via fresh/own). */
  init(c: ConstTensor, name: string): string {
    return this.g.initializer(toTensor(c), name);
  }

  /** A shared constant initializer (deduplicated by value), named after the first node that needs it. */
  constant(c: ConstTensor, label: string): string {
    const key = `${c.dtype}[${c.shape}]:${Array.from(c.data as ArrayLike<number | bigint>, String).join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.init(c, this.fresh(`${this.node.name}/${label}`));
      this.constCache.set(key, name);
    }
    return name;
  }

  /** A 1-D int64 constant (axes, pads, shapes, starts/ends). */
  int64s(values: readonly (number | bigint)[], label: string): string {
    return this.constant(
      { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) },
      label,
    );
  }

  /** A scalar constant of the value's dtype (float32 unless given). */
  scalar(value: number, dtype: ValDType = 'float32', label = 'scalar'): string {
    const c: ConstTensor =
      dtype === 'int32'
        ? { dtype, shape: [], data: Int32Array.of(value) }
        : dtype === 'int64'
          ? { dtype, shape: [], data: BigInt64Array.of(BigInt(value)) }
          : dtype === 'bool'
            ? { dtype, shape: [], data: Uint8Array.of(value ? 1 : 0) }
            : { dtype: 'float32', shape: [], data: Float32Array.of(value) };
    return this.constant(c, label);
  }

  // ---- layouts ---------------------------------------------------------------------------------------------------

  /** The ONNX value of `v` in its own layout (materialising a constant as an initializer). */
  value(v: Val): string {
    if (v.onnx === undefined) {
      if (!v.konst) throw new Error(`internal: value '${v.tf}' has no ONNX name`);
      v.onnx = this.init(v.konst, this.own(v.tf));
    }
    return v.onnx;
  }

  /** `v` in axis order `target` (one Transpose per tensor and order at most; constants are transposed here). */
  as(v: Val, target: readonly number[]): string {
    const r = target.length;
    const rank = rankOf(v);
    if (rank !== undefined && rank !== r) throw this.err(`a rank-${rank} tensor '${v.tf}' where rank ${r} is required`);
    const cur = v.perm ?? identityPerm(r);
    if (samePerm(cur, target)) return this.value(v);
    const key = permKey(target);
    const hit = v.views.get(key);
    if (hit) return hit;
    let name: string;
    if (v.konst) name = this.init(transposeConst(v.konst, target), this.fresh(`${v.tf}/${layoutTag(target)}`));
    else {
      const inv = invertPerm(cur);
      name = this.fresh(`${v.tf}/${layoutTag(target)}`);
      this.emitNamed('Transpose', [this.value(v)], { perm: attr.ints(target.map((t) => inv[t])) }, name);
      this.layoutTransposes++;
    }
    v.views.set(key, name);
    return name;
  }

  /** `v` in TF axis order. */
  plain(v: Val): string {
    const r = rankOf(v);
    return r === undefined || !v.perm ? this.value(v) : this.as(v, identityPerm(r));
  }

  /** A 4-D `v` in NCHW order. */
  nchw(v: Val): string {
    const r = rankOf(v);
    if (r !== undefined && r !== 4) throw this.err(`input '${v.tf}' has rank ${r}, expected a 4-D NHWC tensor`);
    return this.as(v, NCHW);
  }

  // ---- inputs and attributes of the current node -----------------------------------------------------------------

  /** The error for an unsupported variant of the current node (`throw c.err(...)`). */
  err(reason: string, hint?: string): UnsupportedOpError {
    return new UnsupportedOpError(this.node.op, this.node.name, reason, hint);
  }

  /** Data inputs (control dependencies `^x` dropped). */
  inputNames(node = this.node): string[] {
    return (node.input ?? []).filter((i) => !i.startsWith('^'));
  }

  input(i: number): Val {
    const names = this.inputNames();
    if (i >= names.length) throw this.err(`expects at least ${i + 1} inputs, has ${names.length}`);
    const key = tensorKey(names[i]);
    const v = this.values.get(key);
    if (!v) throw new Error(`internal: input '${names[i]}' of '${this.node.name}' not converted`);
    return v;
  }

  constInput(i: number, what: string): ConstTensor {
    const v = this.input(i);
    if (!v.konst) throw this.err(`${what} (input ${i}, '${v.tf}') must be a constant`);
    return v.konst;
  }

  /** A constant integer input as numbers. */
  intsInput(i: number, what: string): number[] {
    const c = this.constInput(i, what);
    if (c.dtype !== 'int32' && c.dtype !== 'int64') throw this.err(`${what} must be int32 or int64, is ${c.dtype}`);
    return Array.from(c.data as ArrayLike<number | bigint>, Number);
  }

  private attrRaw(name: string): TfjsAttrValue | undefined {
    return this.node.attr?.[name];
  }

  attrS(name: string, dflt = ''): string {
    const a = this.attrRaw(name);
    return a?.s !== undefined ? decodeBase64(a.s) : dflt;
  }

  attrI(name: string, dflt: number): number {
    const a = this.attrRaw(name);
    return a?.i !== undefined ? Number(a.i) : dflt;
  }

  attrF(name: string, dflt: number): number {
    const a = this.attrRaw(name);
    return a?.f !== undefined ? Number(a.f) : dflt;
  }

  attrB(name: string, dflt: boolean): boolean {
    const a = this.attrRaw(name);
    return a?.b !== undefined ? Boolean(a.b) : dflt;
  }

  attrInts(name: string, dflt: number[]): number[] {
    const a = this.attrRaw(name);
    const list = a?.list?.i;
    return list && list.length ? list.map(Number) : dflt;
  }

  attrStrs(name: string): string[] {
    return (this.attrRaw(name)?.list?.s ?? []).map(decodeBase64);
  }

  attrType(name: string): string | undefined {
    return this.attrRaw(name)?.type;
  }
}

/** 'node:0' → 'node'; 'node:2' stays; '^node' → 'node'. */
export function tensorKey(ref: string): string {
  const r = ref.startsWith('^') ? ref.slice(1) : ref;
  return r.endsWith(':0') ? r.slice(0, -2) : r;
}

/** The node name of a tensor reference. */
export function nodeOf(ref: string): string {
  const r = ref.startsWith('^') ? ref.slice(1) : ref;
  const m = /^(.*):(\d+)$/.exec(r);
  return m ? m[1] : r;
}
