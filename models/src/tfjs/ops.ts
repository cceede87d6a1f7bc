/**
 * TF op → ONNX translations. Each handler converts the context's current node and returns the converted value(s)
 * of its output(s), recording the layout each is held in.
 *
 * Layout: convolutions, pools, resizes and batch norms take their 4-D input in NCHW (`ctx.nchw`, one Transpose per
 * tensor at most) and produce NCHW; element-wise ops keep whatever layout their inputs share; axis-taking ops
 * (reductions, concat, softmax, pad, squeeze, slices) remap their axes to the held layout; ops whose semantics depend
 * on TF element order (Reshape, MatMul, ExpandDims) take their input back in TF order first.
 */
import { ONNX_DTYPE, attr, type AttrValue } from '@trustvision/core-tensor';
import { ConversionContext, INT64_MAX, INT64_MIN, constVal, makeVal, rankOf, type Val } from './context.js';
import {
  NCHW,
  broadcastShapes,
  dropAxes,
  identityPerm,
  invertPerm,
  isIdentity,
  normPerm,
  permKey,
  sliceLength,
  spatialPads,
  transposeConst,
} from './layout.js';
import { numel, tfDType, type ConstTensor } from './weights.js';

export type Handler = (c: ConversionContext) => Val | Val[];

/** The same tensor under the current node's name (Identity-like ops: no ONNX node). */
function alias(c: ConversionContext, v: Val): Val {
  return { ...v, tf: c.node.name };
}

function result(c: ConversionContext, like: Pick<Val, 'dtype'>, onnx: string, shape?: number[], perm?: number[]): Val {
  return makeVal({ tf: c.node.name, dtype: like.dtype, shape, perm: normPerm(perm), onnx });
}

function normAxis(c: ConversionContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw c.err(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function normAxes(c: ConversionContext, axes: number[], rank: number): number[] {
  return [...new Set(axes.map((a) => normAxis(c, a, rank)))].sort((a, b) => a - b);
}

/**
 * Operands of a broadcasting element-wise op, in one common layout: the layout of the first full-rank operand held
 * in a non-TF order, else TF order. Lower-rank operands are expanded to full rank (constants here, others with
 * Unsqueeze) and reordered; operands whose dims are all 1 broadcast as they are.
 */
export function aligned(c: ConversionContext, vals: Val[]): { names: string[]; perm?: number[]; shape?: number[] } {
  const ranks = vals.map(rankOf);
  const shape = vals.map((v) => v.shape).reduce((a, b) => broadcastShapes(a, b));
  if (ranks.some((r) => r === undefined)) return { names: vals.map((v) => c.plain(v)), shape: undefined };
  const r = Math.max(...(ranks as number[]));
  const target = vals.find((v, i) => ranks[i] === r && v.perm && !isIdentity(v.perm))?.perm;
  const names = vals.map((v, i) => {
    const rv = ranks[i] as number;
    if (!target) return c.plain(v);
    if (rv === r) return c.as(v, target);
    const vs = v.shape ?? new Array<number>(rv).fill(-1);
    if (vs.every((d) => d === 1) && !v.perm) return c.value(v);
    const key = `expand${r}:${permKey(target)}`;
    const hit = v.views.get(key);
    if (hit) return hit;
    const full = [...new Array<number>(r - rv).fill(1), ...vs];
    const tmp = v.konst
      ? constVal(v.tf, { ...v.konst, shape: full } as ConstTensor)
      : makeVal({
          tf: v.tf,
          dtype: v.dtype,
          shape: full,
          onnx: c.emit('Unsqueeze', [c.plain(v), c.int64s(identityPerm(r - rv), 'axes')]),
        });
    const name = c.as(tmp, target);
    v.views.set(key, name);
    return name;
  });
  return { names, perm: target, shape };
}

// ---- element-wise ----------------------------------------------------------------------------------------------

function unary(op: string, attrs?: (c: ConversionContext) => Record<string, AttrValue>): Handler {
  return (c) => {
    const x = c.input(0);
    return result(c, x, c.emit(op, [c.value(x)], attrs?.(c) ?? {}, true), x.shape, x.perm);
  };
}

function binary(op: string): Handler {
  return (c) => {
    const a = c.input(0);
    const { names, perm, shape } = aligned(c, [a, c.input(1)]);
    return result(c, a, c.emit(op, names, {}, true), shape, perm);
  };
}

const ACTIVATIONS = new Set(['Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Prelu', 'Sigmoid', 'Tanh']);

/** A fused activation applied to `x` (conv / matmul result), producing the node's result. */
function activate(c: ConversionContext, x: Val, act: string, alpha: Val | undefined): Val {
  const xin = c.value(x);
  let y: string;
  switch (act) {
    case 'Relu':
    case 'Elu':
    case 'Sigmoid':
    case 'Tanh':
      y = c.emit(act, [xin], {}, true);
      break;
    case 'Relu6':
      y = c.emit('Clip', [xin, c.scalar(0), c.scalar(6)], {}, true);
      break;
    case 'LeakyRelu':
      y = c.emit('LeakyRelu', [xin], { alpha: attr.f(c.attrF('leakyrelu_alpha', 0.2)) }, true);
      break;
    case 'Prelu': {
      if (!alpha) throw c.err('fused Prelu without an alpha argument');
      const { names } = aligned(c, [x, alpha]);
      y = c.emit('PRelu', names, {}, true);
      break;
    }
    default:
      throw c.err(`fused activation '${act}'`, `supported: ${[...ACTIVATIONS].join(', ')}`);
  }
  return result(c, x, y, x.shape, x.perm);
}

interface FusedSpec {
  bias?: Val;
  act?: string;
  alpha?: Val;
}

/** The `fused_ops` of _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul; args start at input `first`. */
function fusedSpec(c: ConversionContext, first: number): FusedSpec {
  const ops = c.attrStrs('fused_ops');
  const nArgs = c.inputNames().length - first;
  let k = 0;
  const arg = (what: string): Val => {
    if (k >= nArgs) throw c.err(`fused ${what} has no argument input`);
    return c.input(first + k++);
  };
  const spec: FusedSpec = {};
  let i = 0;
  if (ops[0] === 'BiasAdd') {
    spec.bias = arg('BiasAdd');
    i = 1;
  } else if (ops[0] === 'FusedBatchNorm') throw c.err('fused_ops FusedBatchNorm');
  if (ops.length > i + 1) throw c.err(`fused_ops [${ops.join(', ')}]`);
  if (i < ops.length) {
    spec.act = ops[i];
    if (!ACTIVATIONS.has(spec.act))
      throw c.err(`fused activation '${spec.act}'`, `supported: ${[...ACTIVATIONS].join(', ')}`);
    if (spec.act === 'Prelu') spec.alpha = arg('Prelu');
  }
  return spec;
}

// ---- convolution and pooling -----------------------------------------------------------------------------------

function checkNHWC(c: ConversionContext): void {
  const fmt = c.attrS('data_format', 'NHWC');
  if (fmt !== 'NHWC') throw c.err(`data_format '${fmt}'`, 'only NHWC graphs are supported');
}

function windowAttrs(c: ConversionContext, name: string, dflt: number[]): [number, number] {
  const v = c.attrInts(name, dflt);
  if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) throw c.err(`${name} [${v}]`, 'batch and channel entries must be 1');
  return [v[1], v[2]];
}

function paddingAttr(c: ConversionContext): { padding: string; explicit?: number[] } {
  const padding = c.attrS('padding', 'VALID');
  if (padding === 'EXPLICIT') {
    const e = c.attrInts('explicit_paddings', []);
    if (e.length !== 8 || e[0] || e[1] || e[6] || e[7]) throw c.err(`explicit_paddings [${e}]`);
    return { padding, explicit: [e[2], e[3], e[4], e[5]] };
  }
  if (padding !== 'SAME' && padding !== 'VALID') throw c.err(`padding '${padding}'`);
  return { padding };
}

function padAttrs(sp: ReturnType<typeof spatialPads>): Record<string, AttrValue> {
  return sp.autoPad ? { auto_pad: attr.s(sp.autoPad) } : { pads: attr.ints(sp.pads!) };
}

function conv(depthwise: boolean, fused: boolean): Handler {
  return (c) => {
    const x = c.input(0);
    const f = c.input(1);
    checkNHWC(c);
    const strides = windowAttrs(c, 'strides', [1, 1, 1, 1]);
    const dilations = windowAttrs(c, 'dilations', [1, 1, 1, 1]);
    const { padding, explicit } = paddingAttr(c);
    const fs = f.shape;
    if (!fs || fs.length !== 4 || fs.some((d) => d < 0)) throw c.err(`filter '${f.tf}' needs a static 4-D shape`);
    const [kh, kw, fi, fo] = fs;
    const xs = x.shape ?? [-1, -1, -1, -1];
    const xin = c.nchw(x);
    let w: string;
    let group = 1;
    let outC: number;
    if (!depthwise) {
      outC = fo;
      if (xs[3] > 0) {
        if (xs[3] % fi) throw c.err(`input channels ${xs[3]} are not a multiple of the filter's ${fi}`);
        group = xs[3] / fi;
      }
      // HWIO → OIHW
      w =
        f.views.get('oihw') ??
        (f.konst
          ? c.init(transposeConst(f.konst, [3, 2, 0, 1]), c.fresh(`${f.tf}/oihw`))
          : c.emit('Transpose', [c.plain(f)], { perm: attr.ints([3, 2, 0, 1]) }));
      f.views.set('oihw', w);
    } else {
      // HWCM → (C·M)1HW, output channel c·M + m as in TF
      group = fi;
      outC = fi * fo;
      const shape = [fi * fo, 1, kh, kw];
      let hit = f.views.get('dw_oihw');
      if (!hit) {
        if (f.konst) {
          const t = transposeConst(f.konst, [2, 3, 0, 1]);
          hit = c.init({ ...t, shape } as ConstTensor, c.fresh(`${f.tf}/oihw`));
        } else {
          const t = c.emit('Transpose', [c.plain(f)], { perm: attr.ints([2, 3, 0, 1]) });
          hit = c.emit('Reshape', [t, c.int64s(shape, 'shape')]);
        }
        f.views.set('dw_oihw', hit);
      }
      w = hit;
    }
    const sp = spatialPads(padding, [xs[1], xs[2]], [kh, kw], strides, dilations, explicit);
    const spec = fused ? fusedSpec(c, 2) : {};
    const inputs = [xin, w];
    if (spec.bias) inputs.push(c.plain(spec.bias));
    const y = c.emit(
      'Conv',
      inputs,
      {
        kernel_shape: attr.ints([kh, kw]),
        strides: attr.ints(strides),
        dilations: attr.ints(dilations),
        group: attr.i(group),
        ...padAttrs(sp),
      },
      !spec.act,
    );
    const v = result(c, x, y, [xs[0], sp.out[0], sp.out[1], outC], [...NCHW]);
    return spec.act ? activate(c, v, spec.act, spec.alpha) : v;
  };
}

function pool(op: 'MaxPool' | 'AveragePool'): Handler {
  return (c) => {
    const x = c.input(0);
    checkNHWC(c);
    const k = windowAttrs(c, 'ksize', [1, 1, 1, 1]);
    const strides = windowAttrs(c, 'strides', [1, 1, 1, 1]);
    const { padding, explicit } = paddingAttr(c);
    const xs = x.shape ?? [-1, -1, -1, -1];
    const sp = spatialPads(padding, [xs[1], xs[2]], k, strides, [1, 1], explicit);
    const attrs: Record<string, AttrValue> = {
      kernel_shape: attr.ints(k),
      strides: attr.ints(strides),
      ...padAttrs(sp),
    };
    // TF averages over the window's in-bounds elements only
    if (op === 'AveragePool') attrs.count_include_pad = attr.i(0);
    const y = c.emit(op, [c.nchw(x)], attrs, true);
    return result(c, x, y, [xs[0], sp.out[0], sp.out[1], xs[3]], [...NCHW]);
  };
}

function nearestIndices(inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): number[] {
  // tfjs' kernel (float64): scale, then floor (round with align_corners), clamped
  const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const frac = scale * (halfPixel ? o + 0.5 : o);
    const i = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    return halfPixel ? Math.max(0, i) : i;
  });
}

function resize(nearest: boolean): Handler {
  return (c) => {
    const x = c.input(0);
    const size = c.intsInput(1, 'size');
    if (size.length !== 2 || size.some((s) => s < 1)) throw c.err(`size [${size}]`);
    const [oh, ow] = size;
    const alignCorners = c.attrB('align_corners', false);
    const halfPixel = c.attrB('half_pixel_centers', false);
    if (alignCorners && halfPixel) throw c.err('align_corners together with half_pixel_centers');
    const xs = x.shape ?? [-1, -1, -1, -1];
    if (xs.length !== 4) throw c.err(`input rank ${xs.length}, expected 4`);
    const [n, h, w, ch] = xs;
    const xin = c.nchw(x);
    const shape = [n, oh, ow, ch];
    if (nearest && h > 0 && w > 0) {
      // exact: gather the rows and columns TF picks
      const rows = nearestIndices(h, oh, alignCorners, halfPixel);
      const cols = nearestIndices(w, ow, alignCorners, halfPixel);
      const rowsId = oh === h && rows.every((r, i) => r === i);
      const colsId = ow === w && cols.every((r, i) => r === i);
      if (rowsId && colsId) return result(c, x, xin, shape, [...NCHW]);
      let y = xin;
      if (!rowsId) y = c.emit('Gather', [y, c.int64s(rows, 'rows')], { axis: attr.i(2) }, colsId);
      if (!colsId) y = c.emit('Gather', [y, c.int64s(cols, 'cols')], { axis: attr.i(3) }, true);
      return result(c, x, y, shape, [...NCHW]);
    }
    const attrs: Record<string, AttrValue> = {
      mode: attr.s(nearest ? 'nearest' : 'linear'),
      coordinate_transformation_mode: attr.s(alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric'),
    };
    // TF nearest: floor(src) (legacy), round(src) (align_corners), floor((dst + 0.5)·scale) (half-pixel), which is
    // ONNX half_pixel's src rounded half up
    if (nearest) attrs.nearest_mode = attr.s(alignCorners || halfPixel ? 'round_prefer_ceil' : 'floor');
    let sizes: string;
    if (n > 0 && ch > 0) sizes = c.int64s([n, ch, oh, ow], 'sizes');
    else if (c.opset >= 18) {
      sizes = c.int64s([oh, ow], 'sizes');
      attrs.axes = attr.ints([2, 3]);
    } else {
      const s = c.emit('Shape', [xin]);
      const nc = c.emit('Slice', [s, c.int64s([0], 'start'), c.int64s([2], 'end'), c.int64s([0], 'axes')]);
      sizes = c.emit('Concat', [nc, c.int64s([oh, ow], 'hw')], { axis: attr.i(0) });
    }
    const y = c.emit('Resize', [xin, '', '', sizes], attrs, true);
    return result(c, x, y, shape, [...NCHW]);
  };
}

function batchNorm(): Handler {
  return (c) => {
    const x = c.input(0);
    checkNHWC(c);
    if (c.attrB('is_training', false)) throw c.err('is_training = true', 'only inference graphs are supported');
    const r = rankOf(x);
    let xin: string;
    let perm: number[] | undefined;
    if (r === 2) xin = c.plain(x);
    else if (r === 4 || r === undefined) {
      xin = c.nchw(x);
      perm = [...NCHW];
    } else throw c.err(`input rank ${r}, expected 2 or 4`);
    const args = [1, 2, 3, 4].map((i) => c.plain(c.input(i)));
    const y = c.emit('BatchNormalization', [xin, ...args], { epsilon: attr.f(c.attrF('epsilon', 1e-4)) }, true);
    return result(c, x, y, x.shape, perm);
  };
}

// ---- matrix products --------------------------------------------------------------------------------------------

function matmul(fused: boolean): Handler {
  return (c) => {
    const a = c.input(0);
    const b = c.input(1);
    for (const v of [a, b]) {
      const r = rankOf(v);
      if (r !== undefined && r !== 2) throw c.err(`operand '${v.tf}' has rank ${r}, MatMul needs rank 2`);
    }
    const ta = c.attrB('transpose_a', false);
    const tb = c.attrB('transpose_b', false);
    const spec = fused ? fusedSpec(c, 2) : {};
    const inputs = [c.plain(a), c.plain(b)];
    if (spec.bias) inputs.push(c.plain(spec.bias));
    const attrs: Record<string, AttrValue> = {};
    if (ta) attrs.transA = attr.i(1);
    if (tb) attrs.transB = attr.i(1);
    const y = c.emit('Gemm', inputs, attrs, !spec.act);
    const shape = [a.shape ? a.shape[ta ? 1 : 0] : -1, b.shape ? b.shape[tb ? 0 : 1] : -1];
    const v = result(c, a, y, shape);
    return spec.act ? activate(c, v, spec.act, spec.alpha) : v;
  };
}

function batchMatmul(): Handler {
  return (c) => {
    const a = c.input(0);
    const b = c.input(1);
    const adj = [c.attrB('adj_x', false), c.attrB('adj_y', false)];
    const names = [a, b].map((v, i) => {
      const name = c.plain(v);
      if (!adj[i]) return name;
      const r = rankOf(v);
      if (r === undefined) throw c.err(`adj_${'xy'[i]} with an operand of unknown rank`);
      const perm = identityPerm(r);
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return c.emit('Transpose', [name], { perm: attr.ints(perm) });
    });
    let shape: number[] | undefined;
    if (a.shape && b.shape && a.shape.length >= 2 && b.shape.length >= 2) {
      const as = a.shape;
      const bs = b.shape;
      const m = adj[0] ? as[as.length - 1] : as[as.length - 2];
      const n = adj[1] ? bs[bs.length - 2] : bs[bs.length - 1];
      shape = [...broadcastShapes(as.slice(0, -2), bs.slice(0, -2))!, m, n];
    }
    return result(c, a, c.emit('MatMul', names, {}, true), shape);
  };
}

// ---- reductions and axis ops ------------------------------------------------------------------------------------

function reduceNode(c: ConversionContext, op: string, input: string, axes: number[], keep: boolean): string {
  const keepdims = attr.i(keep ? 1 : 0);
  if (c.opset >= 18 || op === 'ReduceSum') return c.emit(op, [input, c.int64s(axes, 'axes')], { keepdims }, true);
  return c.emit(op, [input], { axes: attr.ints(axes), keepdims }, true);
}

function reduce(op: string): Handler {
  return (c) => {
    const x = c.input(0);
    const raw = c.intsInput(1, 'reduction axes');
    const keep = c.attrB('keep_dims', false);
    const r = rankOf(x);
    if (r === undefined) return result(c, x, reduceNode(c, op, c.plain(x), raw, keep));
    const axes = normAxes(c, raw, r);
    if (axes.length === 0) return alias(c, x); // TF reduces nothing over an empty axis list
    const p = x.perm ?? identityPerm(r);
    const inv = invertPerm(p);
    const onnxAxes = axes.map((a) => inv[a]).sort((a, b) => a - b);
    const y = reduceNode(c, op, c.value(x), onnxAxes, keep);
    const shape = x.shape
      ? keep
        ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
        : x.shape.filter((_, i) => !axes.includes(i))
      : undefined;
    return result(c, x, y, shape, keep ? p : dropAxes(p, axes));
  };
}

function softmax(op: 'Softmax' | 'LogSoftmax'): Handler {
  return (c) => {
    const x = c.input(0);
    const r = rankOf(x);
    if (r === undefined) return result(c, x, c.emit(op, [c.plain(x)], { axis: attr.i(-1) }, true));
    const axis = invertPerm(x.perm ?? identityPerm(r))[r - 1];
    return result(c, x, c.emit(op, [c.value(x)], { axis: attr.i(axis) }, true), x.shape, x.perm);
  };
}

function concat(v2: boolean): Handler {
  return (c) => {
    const count = c.inputNames().length - 1;
    if (count < 1) throw c.err('no inputs to concatenate');
    const axisArr = c.intsInput(v2 ? count : 0, 'axis');
    const vals = Array.from({ length: count }, (_, i) => c.input(v2 ? i : i + 1));
    if (vals.length === 1) return alias(c, vals[0]);
    const r = vals.map(rankOf).find((x) => x !== undefined);
    if (r === undefined)
      return result(
        c,
        vals[0],
        c.emit(
          'Concat',
          vals.map((v) => c.plain(v)),
          { axis: attr.i(axisArr[0]) },
          true,
        ),
      );
    const a = normAxis(c, axisArr[0], r);
    const target = vals.find((v) => v.perm && !isIdentity(v.perm) && rankOf(v) === r)?.perm;
    const names = vals.map((v) => (target ? c.as(v, target) : c.plain(v)));
    const axis = target ? invertPerm(target)[a] : a;
    let shape: number[] | undefined;
    if (vals.every((v) => v.shape && v.shape.length === r)) {
      shape = vals[0].shape!.map((_, i) =>
        i === a
          ? vals.some((v) => v.shape![i] < 0)
            ? -1
            : vals.reduce((s, v) => s + v.shape![i], 0)
          : (vals.find((v) => v.shape![i] >= 0)?.shape![i] ?? -1),
      );
    }
    return result(c, vals[0], c.emit('Concat', names, { axis: attr.i(axis) }, true), shape, target);
  };
}

function pad(kind: 'Pad' | 'PadV2' | 'MirrorPad'): Handler {
  return (c) => {
    const x = c.input(0);
    const pc = c.constInput(1, 'paddings');
    const p = Array.from(pc.data as ArrayLike<number | bigint>, Number);
    if (pc.shape.length !== 2 || pc.shape[1] !== 2) throw c.err(`paddings of shape [${pc.shape}]`);
    const r = pc.shape[0];
    const xr = rankOf(x);
    if (xr !== undefined && xr !== r) throw c.err(`paddings for rank ${r}, input rank ${xr}`);
    if (p.some((v) => v < 0)) throw c.err(`negative paddings [${p}]`);
    const perm = x.perm ?? identityPerm(r);
    const begins = perm.map((a) => p[2 * a]);
    const ends = perm.map((a) => p[2 * a + 1]);
    const shape = x.shape?.map((d, a) => (d < 0 ? -1 : d + p[2 * a] + p[2 * a + 1]));
    if (p.every((v) => v === 0)) return alias(c, x);
    const mode = kind === 'MirrorPad' ? c.attrS('mode', 'REFLECT') : 'CONSTANT';
    if (mode === 'SYMMETRIC') {
      // no ONNX mode: mirror slices (edge included) concatenated on each padded axis
      let cur = c.value(x);
      const padded = perm.map((_, i) => i).filter((i) => begins[i] || ends[i]);
      padded.forEach((i, k) => {
        const parts: string[] = [];
        const axes = c.int64s([i], 'axes');
        const back = c.int64s([-1], 'steps');
        if (begins[i])
          parts.push(
            c.emit('Slice', [cur, c.int64s([begins[i] - 1], 'starts'), c.int64s([INT64_MIN], 'ends'), axes, back]),
          );
        parts.push(cur);
        if (ends[i])
          parts.push(c.emit('Slice', [cur, c.int64s([-1], 'starts'), c.int64s([-1 - ends[i]], 'ends'), axes, back]));
        cur = c.emit('Concat', parts, { axis: attr.i(i) }, k === padded.length - 1);
      });
      return result(c, x, cur, shape, x.perm);
    }
    if (mode !== 'CONSTANT' && mode !== 'REFLECT') throw c.err(`mode '${mode}'`);
    const inputs = [c.value(x), c.int64s([...begins, ...ends], 'pads')];
    if (mode === 'CONSTANT') {
      let value = 0;
      if (kind === 'PadV2') {
        const cv = c.constInput(2, 'constant_values');
        if (numel(cv.shape) !== 1) throw c.err('non-scalar constant_values');
        value = Number((cv.data as ArrayLike<number | bigint>)[0]);
      }
      inputs.push(c.scalar(value, x.dtype, 'pad_value'));
    }
    const y = c.emit('Pad', inputs, { mode: attr.s(mode === 'REFLECT' ? 'reflect' : 'constant') }, true);
    return result(c, x, y, shape, x.perm);
  };
}

// ---- shape ops ----------------------------------------------------------------------------------------------------

function reshape(): Handler {
  return (c) => {
    const x = c.input(0);
    const s = c.input(1);
    if (!s.konst) {
      const sname = s.dtype === 'int64' ? c.plain(s) : c.emit('Cast', [c.plain(s)], { to: attr.i(ONNX_DTYPE.int64) });
      const r = s.shape?.[0];
      const attrs: Record<string, AttrValue> = c.opset >= 14 ? { allowzero: attr.i(1) } : {};
      const y = c.emit('Reshape', [c.plain(x), sname], attrs, true);
      return result(c, x, y, r !== undefined && r >= 0 ? new Array<number>(r).fill(-1) : undefined);
    }
    const dims = Array.from(s.konst.data as ArrayLike<number | bigint>, Number);
    if (dims.filter((d) => d === -1).length > 1 || dims.some((d) => d < -1)) throw c.err(`shape [${dims}]`);
    const shape = [...dims];
    const known = x.shape && x.shape.every((d) => d >= 0);
    if (known && dims.includes(-1)) {
      const rest = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      shape[dims.indexOf(-1)] = rest === 0 ? 0 : numel(x.shape!) / rest;
    }
    if (x.konst && shape.every((d) => d >= 0)) {
      if (numel(shape) !== numel(x.konst.shape)) throw c.err(`cannot reshape [${x.konst.shape}] to [${dims}]`);
      return constVal(c.node.name, { ...x.konst, shape } as ConstTensor);
    }
    const attrs: Record<string, AttrValue> = {};
    if (dims.includes(0)) {
      if (c.opset < 14) throw c.err('a 0 in the target shape needs opset 14 or later');
      attrs.allowzero = attr.i(1);
    }
    return result(c, x, c.emit('Reshape', [c.plain(x), c.int64s(dims, 'shape')], attrs, true), shape);
  };
}

function squeeze(): Handler {
  return (c) => {
    const x = c.input(0);
    let dims = c.attrInts('squeeze_dims', []);
    if (!dims.length) dims = c.attrInts('axis', []);
    const r = rankOf(x);
    if (r === undefined) {
      const inputs = [c.plain(x)];
      if (dims.length) inputs.push(c.int64s(dims, 'axes'));
      return result(c, x, c.emit('Squeeze', inputs, {}, true));
    }
    let axes = normAxes(c, dims, r);
    if (!dims.length) {
      if (!x.shape || x.shape.some((d) => d < 0)) return result(c, x, c.emit('Squeeze', [c.plain(x)], {}, true)); // rank of the result unknown
      axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    }
    if (!axes.length) return alias(c, x);
    if (x.shape && axes.some((a) => x.shape![a] > 1))
      throw c.err(`cannot squeeze axes [${axes}] of shape [${x.shape}]`);
    const shape = x.shape?.filter((_, i) => !axes.includes(i));
    if (x.konst) return constVal(c.node.name, { ...x.konst, shape: shape! } as ConstTensor);
    const p = x.perm ?? identityPerm(r);
    const inv = invertPerm(p);
    const onnxAxes = axes.map((a) => inv[a]).sort((a, b) => a - b);
    const y = c.emit('Squeeze', [c.value(x), c.int64s(onnxAxes, 'axes')], {}, true);
    return result(c, x, y, shape, dropAxes(p, axes));
  };
}

function expandDims(): Handler {
  return (c) => {
    const x = c.input(0);
    const dim = c.intsInput(1, 'axis');
    if (dim.length !== 1) throw c.err(`axis [${dim}]`);
    const r = rankOf(x);
    if (r === undefined) return result(c, x, c.emit('Unsqueeze', [c.plain(x), c.int64s(dim, 'axes')], {}, true));
    const a = dim[0] < 0 ? dim[0] + r + 1 : dim[0];
    if (a < 0 || a > r) throw c.err(`axis ${dim[0]} out of range for rank ${r}`);
    const shape = x.shape ? [...x.shape.slice(0, a), 1, ...x.shape.slice(a)] : undefined;
    if (x.konst) return constVal(c.node.name, { ...x.konst, shape: shape! } as ConstTensor);
    return result(c, x, c.emit('Unsqueeze', [c.plain(x), c.int64s([a], 'axes')], {}, true), shape);
  };
}

function transposeOp(): Handler {
  return (c) => {
    const x = c.input(0);
    const t = c.intsInput(1, 'perm');
    const r = t.length;
    const xr = rankOf(x);
    if (xr !== undefined && xr !== r) throw c.err(`perm of length ${r} for rank ${xr}`);
    if ([...t].sort((a, b) => a - b).some((v, i) => v !== i)) throw c.err(`perm [${t}]`);
    if (x.konst) return constVal(c.node.name, transposeConst(x.konst, t));
    // no ONNX node: the result is the same data held in another axis order
    const inv = invertPerm(t);
    const perm = (x.perm ?? identityPerm(r)).map((p) => inv[p]);
    const shape = x.shape ? t.map((i) => x.shape![i]) : undefined;
    return makeVal({ tf: c.node.name, dtype: x.dtype, shape, perm: normPerm(perm), onnx: c.value(x) });
  };
}

/** ONNX Slice (+ Squeeze for shrunk axes) on `x` in its own layout, given per-TF-axis ranges. */
function sliceAxes(
  c: ConversionContext,
  x: Val,
  r: number,
  ranges: { axis: number; start: bigint; end: bigint; step: number; shrink: boolean }[],
  perm: number[] | undefined,
  finishes: boolean,
): { input: string; y: string; shape?: number[]; perm: number[] } {
  const p = perm ?? identityPerm(r);
  const inv = invertPerm(p);
  const input = perm ? c.value(x) : c.plain(x);
  const shrunk = ranges.filter((g) => g.shrink).map((g) => g.axis);
  const active = ranges.filter((g) => g.shrink || g.start !== 0n || g.end !== INT64_MAX || g.step !== 1);
  let y = input;
  if (active.length)
    y = c.emit(
      'Slice',
      [
        input,
        c.int64s(
          active.map((g) => g.start),
          'starts',
        ),
        c.int64s(
          active.map((g) => g.end),
          'ends',
        ),
        c.int64s(
          active.map((g) => inv[g.axis]),
          'axes',
        ),
        c.int64s(
          active.map((g) => g.step),
          'steps',
        ),
      ],
      {},
      !shrunk.length && finishes,
    );
  const clampN = (b: bigint) => (b > 4503599627370496n ? 2 ** 52 : b < -4503599627370496n ? -(2 ** 52) : Number(b));
  const sliced = x.shape?.map((d, i) => {
    const g = ranges.find((q) => q.axis === i);
    if (!g || d < 0) return d;
    return sliceLength(d, clampN(g.start), clampN(g.end), g.step);
  });
  if (!shrunk.length) return { input, y, shape: sliced, perm: p };
  y = c.emit(
    'Squeeze',
    [
      y,
      c.int64s(
        shrunk.map((a) => inv[a]).sort((a, b) => a - b),
        'axes',
      ),
    ],
    {},
    finishes,
  );
  return {
    input,
    y,
    shape: sliced?.filter((_, i) => !shrunk.includes(i)),
    perm: dropAxes(
      p,
      [...shrunk].sort((a, b) => a - b),
    ),
  };
}

function stridedSlice(): Handler {
  return (c) => {
    const x = c.input(0);
    const begin = c.intsInput(1, 'begin');
    const end = c.intsInput(2, 'end');
    const strides = c.intsInput(3, 'strides');
    const m = begin.length;
    if (end.length !== m || strides.length !== m) throw c.err('begin, end and strides of different lengths');
    const bit = (name: string) => {
      const mask = c.attrI(name, 0);
      return (i: number) => ((mask >> i) & 1) === 1;
    };
    const [bm, em, el, na, sh] = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map(
      bit,
    );
    const r = rankOf(x);
    if (r === undefined) throw c.err('input of unknown rank');
    const ranges: { axis: number; start: bigint; end: bigint; step: number; shrink: boolean }[] = [];
    const newAxes: number[] = []; // positions in the output
    const real = Array.from({ length: m }, (_, i) => i).filter((i) => !el(i) && !na(i)).length;
    let d = 0;
    let outPos = 0;
    for (let i = 0; i < m; i++) {
      if (el(i)) {
        const k = r - real;
        d += k;
        outPos += k;
      } else if (na(i)) newAxes.push(outPos++);
      else {
        const s = strides[i];
        if (s === 0) throw c.err('a zero stride');
        if (sh(i)) {
          const b = BigInt(begin[i]);
          ranges.push({ axis: d, start: b, end: b === -1n ? INT64_MAX : b + 1n, step: 1, shrink: true });
        } else {
          ranges.push({
            axis: d,
            start: bm(i) ? (s > 0 ? 0n : INT64_MAX) : BigInt(begin[i]),
            end: em(i) ? (s > 0 ? INT64_MAX : INT64_MIN) : BigInt(end[i]),
            step: s,
            shrink: false,
          });
          outPos++;
        }
        d++;
      }
    }
    if (d > r) throw c.err(`a slice spec for ${d} axes on a rank-${r} tensor`);
    const usePerm = newAxes.length ? undefined : x.perm;
    const s = sliceAxes(c, x, r, ranges, usePerm, !newAxes.length);
    if (!newAxes.length) {
      if (s.y === s.input) return alias(c, x);
      return result(c, x, s.y, s.shape, s.perm);
    }
    const y = c.emit('Unsqueeze', [s.y, c.int64s(newAxes, 'axes')], {}, true);
    let shape = s.shape;
    if (shape) for (const a of newAxes) shape = [...shape.slice(0, a), 1, ...shape.slice(a)];
    return result(c, x, y, shape);
  };
}

function sliceOp(): Handler {
  return (c) => {
    const x = c.input(0);
    const begin = c.intsInput(1, 'begin');
    const size = c.intsInput(2, 'size');
    const r = rankOf(x) ?? begin.length;
    if (begin.length !== r || size.length !== r) throw c.err(`begin/size of length ${begin.length} for rank ${r}`);
    const ranges = begin.map((b, axis) => ({
      axis,
      start: BigInt(b),
      end: size[axis] === -1 ? INT64_MAX : BigInt(b + size[axis]),
      step: 1,
      shrink: false,
    }));
    const s = sliceAxes(c, x, r, ranges, x.perm, true);
    if (s.y === s.input) return alias(c, x);
    return result(c, x, s.y, s.shape, s.perm);
  };
}

function castOp(): Handler {
  return (c) => {
    const x = c.input(0);
    const to = tfDType(c.attrType('DstT'));
    if (!to) throw c.err(`DstT ${c.attrType('DstT')}`, 'supported: DT_FLOAT, DT_INT32, DT_INT64, DT_BOOL');
    if (to === x.dtype) return alias(c, x);
    if (x.konst) {
      const src = Array.from(x.konst.data as ArrayLike<number | bigint>, Number);
      const shape = x.konst.shape;
      const k: ConstTensor =
        to === 'float32'
          ? { dtype: to, shape, data: Float32Array.from(src) }
          : to === 'int32'
            ? { dtype: to, shape, data: Int32Array.from(src, Math.trunc) }
            : to === 'int64'
              ? { dtype: to, shape, data: BigInt64Array.from(src, (v) => BigInt(Math.trunc(v))) }
              : { dtype: to, shape, data: Uint8Array.from(src, (v) => (v !== 0 ? 1 : 0)) };
      return constVal(c.node.name, k);
    }
    const y = c.emit('Cast', [c.value(x)], { to: attr.i(ONNX_DTYPE[to]) }, true);
    return makeVal({ tf: c.node.name, dtype: to, shape: x.shape, perm: x.perm, onnx: y });
  };
}

// ---- misc -----------------------------------------------------------------------------------------------------------

function relu6(): Handler {
  return (c) => {
    const x = c.input(0);
    return result(c, x, c.emit('Clip', [c.value(x), c.scalar(0), c.scalar(6)], {}, true), x.shape, x.perm);
  };
}

function clipByValue(): Handler {
  return (c) => {
    const x = c.input(0);
    const lo = c.input(1);
    const hi = c.input(2);
    if (lo.konst && hi.konst && numel(lo.konst.shape) === 1 && numel(hi.konst.shape) === 1) {
      const v = (k: ConstTensor) => Number((k.data as ArrayLike<number | bigint>)[0]);
      const y = c.emit('Clip', [c.value(x), c.scalar(v(lo.konst), x.dtype), c.scalar(v(hi.konst), x.dtype)], {}, true);
      return result(c, x, y, x.shape, x.perm);
    }
    const { names, perm, shape } = aligned(c, [x, lo, hi]);
    const m = c.emit('Max', [names[0], names[1]]);
    return result(c, x, c.emit('Min', [m, names[2]], {}, true), shape, perm);
  };
}

function square(): Handler {
  return (c) => {
    const x = c.input(0);
    const v = c.value(x);
    return result(c, x, c.emit('Mul', [v, v], {}, true), x.shape, x.perm);
  };
}

function rsqrt(): Handler {
  return (c) => {
    const x = c.input(0);
    const s = c.emit('Sqrt', [c.value(x)]);
    return result(c, x, c.emit('Reciprocal', [s], {}, true), x.shape, x.perm);
  };
}

function squaredDifference(): Handler {
  return (c) => {
    const a = c.input(0);
    const { names, perm, shape } = aligned(c, [a, c.input(1)]);
    const d = c.emit('Sub', names);
    return result(c, a, c.emit('Mul', [d, d], {}, true), shape, perm);
  };
}

function biasAdd(): Handler {
  return (c) => {
    const x = c.input(0);
    let b = c.input(1);
    if (c.attrS('data_format', 'NHWC') === 'NCHW') {
      const r = rankOf(x);
      if (r === undefined || !b.konst) throw c.err('data_format NCHW needs a constant bias and a known input rank');
      b = constVal(b.tf, { ...b.konst, shape: [b.konst.shape[0], ...new Array<number>(r - 2).fill(1)] } as ConstTensor);
    }
    const { names, perm, shape } = aligned(c, [x, b]);
    return result(c, x, c.emit('Add', names, {}, true), shape, perm);
  };
}

function addN(): Handler {
  return (c) => {
    const vals = c.inputNames().map((_, i) => c.input(i));
    if (vals.length === 1) return alias(c, vals[0]);
    const { names, perm, shape } = aligned(c, vals);
    return result(c, vals[0], c.emit('Sum', names, {}, true), shape, perm);
  };
}

function prelu(): Handler {
  return (c) => {
    const x = c.input(0);
    const { names, perm, shape } = aligned(c, [x, c.input(1)]);
    return result(c, x, c.emit('PRelu', names, {}, true), shape, perm);
  };
}

const identity: Handler = (c) => alias(c, c.input(0));
const identityN: Handler = (c) => c.inputNames().map((_, i) => alias(c, c.input(i)));

/** The TF ops the converter translates (Const and Placeholder are handled by the driver). */
export const HANDLERS: Record<string, Handler> = {
  Identity: identity,
  StopGradient: identity,
  Snapshot: identity,
  IdentityN: identityN,
  // convolution, pooling, resizing
  Conv2D: conv(false, false),
  _FusedConv2D: conv(false, true),
  DepthwiseConv2dNative: conv(true, false),
  FusedDepthwiseConv2dNative: conv(true, true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  ResizeBilinear: resize(false),
  ResizeNearestNeighbor: resize(true),
  FusedBatchNorm: batchNorm(),
  FusedBatchNormV2: batchNorm(),
  FusedBatchNormV3: batchNorm(),
  // products
  MatMul: matmul(false),
  _FusedMatMul: matmul(true),
  BatchMatMul: batchMatmul(),
  BatchMatMulV2: batchMatmul(),
  // element-wise
  Add: binary('Add'),
  AddV2: binary('Add'),
  BiasAdd: biasAdd(),
  AddN: addN(),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Div: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  SquaredDifference: squaredDifference(),
  Prelu: prelu(),
  Relu: unary('Relu'),
  Relu6: relu6(),
  Elu: unary('Elu'),
  Selu: unary('Selu'),
  LeakyRelu: unary('LeakyRelu', (c) => ({ alpha: attr.f(c.attrF('alpha', 0.2)) })),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Softplus: unary('Softplus'),
  Abs: unary('Abs'),
  Neg: unary('Neg'),
  Sqrt: unary('Sqrt'),
  Rsqrt: rsqrt(),
  Square: square(),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  Round: unary('Round'),
  Sign: unary('Sign'),
  Reciprocal: unary('Reciprocal'),
  Inv: unary('Reciprocal'),
  Sin: unary('Sin'),
  Cos: unary('Cos'),
  Erf: unary('Erf'),
  ClipByValue: clipByValue(),
  Cast: castOp(),
  // reductions, softmax
  Mean: reduce('ReduceMean'),
  Sum: reduce('ReduceSum'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Prod: reduce('ReduceProd'),
  Softmax: softmax('Softmax'),
  LogSoftmax: softmax('LogSoftmax'),
  // shapes and layout
  ConcatV2: concat(true),
  Concat: concat(false),
  Pad: pad('Pad'),
  PadV2: pad('PadV2'),
  MirrorPad: pad('MirrorPad'),
  Reshape: reshape(),
  Squeeze: squeeze(),
  ExpandDims: expandDims(),
  Transpose: transposeOp(),
  StridedSlice: stridedSlice(),
  Slice: sliceOp(),
};
