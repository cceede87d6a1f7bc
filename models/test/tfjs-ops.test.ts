/**
 * The tfjs → ONNX converter, op by op: each case is a tiny hand-built tfjs graph model, run with tfjs (tfjs-converter
 * on the pure-JS CPU backend) and, converted, with ONNX Runtime; outputs must agree to
 * max |ort − tfjs| ≤ 1e-4 · max(1, max |tfjs|) (float32 accumulation-order noise is ~1e-6 here).
 */
import { Rng, inspectModel } from '@trustvision/core-tensor';
import {
  convertTfjsGraph,
  readWeights,
  supportedTfjsOps,
  UnsupportedOpError,
  type TfjsAttrValue,
  type TfjsConvertOptions,
} from '../src/tfjs';
import {
  A,
  TfGraph,
  maxAbs,
  maxAbsDiff,
  randomData,
  runOrt,
  runTfjs,
  type Feed,
  type Quant,
  type TfjsModel,
} from './fixtures/tfjs/graph';

const TOL = 1e-4;
const measured: [string, number][] = [];

async function check(
  label: string,
  model: TfjsModel,
  feeds: Record<string, Feed>,
  outputs: string[],
  options: TfjsConvertOptions = {},
): Promise<number> {
  const conv = convertTfjsGraph(model.modelJson, model.weights, { outputs, ...options });
  const ref = await runTfjs(model, feeds, outputs);
  const got = await runOrt(conv.bytes, feeds);
  let worst = 0;
  outputs.forEach((name, i) => {
    const o = got[conv.outputs[i].name];
    expect(o).toBeDefined();
    expect(o.shape).toEqual(ref[i].shape);
    const err = maxAbsDiff(o.data, ref[i].data);
    const rel = err / Math.max(1, maxAbs(ref[i].data));
    worst = Math.max(worst, rel);
    if (!(rel <= TOL)) throw new Error(`${label}: output '${name}' differs by ${err} (relative ${rel})`);
  });
  measured.push([label, worst]);
  return worst;
}

const rng = Rng.from('tfjs-ops');
const input = (shape: number[], lo = -1, hi = 1): Feed => ({ data: randomData(rng, shape, lo, hi), shape });

afterAll(() => {
  const worst = measured.reduce((m, [, e]) => Math.max(m, e), 0);
  console.log(
    `tfjs-ops: ${measured.length} cases, worst relative max abs error ${worst.toExponential(2)}\n` +
      measured.map(([l, e]) => `  ${e.toExponential(2)}  ${l}`).join('\n'),
  );
});

// ---- convolutions ---------------------------------------------------------------------------------------------

interface ConvCase {
  x: number[];
  k: number[];
  strides?: number[];
  padding: 'SAME' | 'VALID' | 'EXPLICIT';
  dilations?: number[];
  explicit?: number[];
  quant?: Quant;
}

function convModel(op: string, c: ConvCase, fused?: { ops: string[]; args: number }): TfjsModel {
  const g = new TfGraph();
  const x = g.placeholder('x', [-1, ...c.x.slice(1)]);
  const w = g.randConst(rng, 'w', c.k, -1, 1, c.quant);
  const depthwise = op.includes('Depthwise');
  const outC = depthwise ? c.k[2] * c.k[3] : c.k[3];
  const ins = [x, w];
  if (fused) {
    ins.push(g.randConst(rng, 'bias', [outC]));
    if (fused.ops.includes('Prelu')) ins.push(g.randConst(rng, 'alpha', [outC], 0, 0.5));
  }
  g.op(op, 'y', ins, {
    strides: A.ints(c.strides ?? [1, 1, 1, 1]),
    padding: A.s(c.padding),
    dilations: A.ints(c.dilations ?? [1, 1, 1, 1]),
    data_format: A.s('NHWC'),
    explicit_paddings: A.ints(c.explicit ?? []),
    ...(fused ? { fused_ops: A.strs(fused.ops), num_args: A.i(fused.args), leakyrelu_alpha: A.f(0.15) } : {}),
  });
  return g.model();
}

describe('convolutions', () => {
  const cases: [string, ConvCase][] = [
    [
      'SAME, stride 2, odd input 7x9, 3x3',
      { x: [1, 7, 9, 3], k: [3, 3, 3, 4], strides: [1, 2, 2, 1], padding: 'SAME' },
    ],
    [
      'SAME, stride 2, even kernel 4x2 (asymmetric pads)',
      { x: [2, 8, 5, 3], k: [4, 2, 3, 5], strides: [1, 2, 2, 1], padding: 'SAME' },
    ],
    ['SAME, stride 3x1, 5x5 kernel', { x: [1, 11, 6, 2], k: [5, 5, 2, 3], strides: [1, 3, 1, 1], padding: 'SAME' }],
    ['VALID, stride 2', { x: [1, 9, 8, 3], k: [3, 3, 3, 2], strides: [1, 2, 2, 1], padding: 'VALID' }],
    ['VALID, dilation 2', { x: [2, 9, 10, 2], k: [3, 3, 2, 3], dilations: [1, 2, 2, 1], padding: 'VALID' }],
    ['SAME, dilation 2', { x: [1, 8, 7, 2], k: [3, 3, 2, 3], dilations: [1, 2, 2, 1], padding: 'SAME' }],
    ['EXPLICIT pads', { x: [1, 6, 7, 3], k: [3, 3, 3, 2], padding: 'EXPLICIT', explicit: [0, 0, 1, 2, 2, 0, 0, 0] }],
    ['1x1 pointwise', { x: [1, 5, 5, 8], k: [1, 1, 8, 16], padding: 'SAME' }],
  ];
  test.each(cases)('Conv2D %s', async (label, c) => {
    await check(`Conv2D ${label}`, convModel('Conv2D', c), { x: input(c.x) }, ['y']);
  });

  const dw: [string, ConvCase][] = [
    ['SAME, stride 2, multiplier 2', { x: [1, 8, 7, 3], k: [3, 3, 3, 2], strides: [1, 2, 2, 1], padding: 'SAME' }],
    ['SAME, stride 1, multiplier 1', { x: [2, 6, 6, 4], k: [3, 3, 4, 1], padding: 'SAME' }],
    ['VALID, 5x5', { x: [1, 9, 9, 2], k: [5, 5, 2, 1], padding: 'VALID' }],
    ['dilation 2', { x: [1, 9, 9, 2], k: [3, 3, 2, 1], dilations: [1, 2, 2, 1], padding: 'SAME' }],
  ];
  test.each(dw)('DepthwiseConv2dNative %s', async (label, c) => {
    await check(`DepthwiseConv2dNative ${label}`, convModel('DepthwiseConv2dNative', c), { x: input(c.x) }, ['y']);
  });

  const fusedOps: string[][] = [
    ['BiasAdd'],
    ['BiasAdd', 'Relu'],
    ['BiasAdd', 'Relu6'],
    ['BiasAdd', 'Prelu'],
    ['BiasAdd', 'LeakyRelu'],
    ['BiasAdd', 'Elu'],
    ['BiasAdd', 'Sigmoid'],
  ];
  test.each(fusedOps.map((o) => [o.join('+'), o] as const))('_FusedConv2D %s', async (label, ops) => {
    const c: ConvCase = { x: [1, 7, 7, 3], k: [3, 3, 3, 4], strides: [1, 2, 2, 1], padding: 'SAME' };
    const m = convModel('_FusedConv2D', c, { ops, args: ops.includes('Prelu') ? 2 : 1 });
    await check(`_FusedConv2D ${label}`, m, { x: input(c.x, -3, 3) }, ['y']);
  });

  test.each(
    [
      ['BiasAdd', 'Relu'],
      ['BiasAdd', 'Relu6'],
      ['BiasAdd', 'Prelu'],
    ].map((o) => [o.join('+'), o] as const),
  )('FusedDepthwiseConv2dNative %s', async (label, ops) => {
    const c: ConvCase = { x: [1, 9, 8, 4], k: [3, 3, 4, 2], strides: [1, 2, 2, 1], padding: 'SAME' };
    const m = convModel('FusedDepthwiseConv2dNative', c, { ops, args: ops.includes('Prelu') ? 2 : 1 });
    await check(`FusedDepthwiseConv2dNative ${label}`, m, { x: input(c.x, -3, 3) }, ['y']);
  });

  test.each(['uint8', 'uint16', 'float16'] as const)('quantized %s conv weights', async (quant) => {
    const c: ConvCase = { x: [1, 6, 6, 3], k: [3, 3, 3, 4], padding: 'SAME', quant };
    await check(`Conv2D ${quant} weights`, convModel('Conv2D', c), { x: input(c.x) }, ['y']);
  });
});

// ---- pooling and resizing --------------------------------------------------------------------------------------

describe('pooling and resizing', () => {
  const pools: [string, number[], number[], number[], string][] = [
    ['AvgPool', [1, 7, 9, 3], [1, 3, 3, 1], [1, 2, 2, 1], 'SAME'],
    ['AvgPool', [2, 8, 8, 2], [1, 2, 2, 1], [1, 2, 2, 1], 'VALID'],
    ['AvgPool', [1, 6, 5, 2], [1, 4, 2, 1], [1, 1, 3, 1], 'SAME'],
    ['MaxPool', [1, 7, 9, 3], [1, 3, 3, 1], [1, 2, 2, 1], 'SAME'],
    ['MaxPool', [1, 9, 9, 2], [1, 3, 3, 1], [1, 2, 2, 1], 'VALID'],
    ['MaxPool', [1, 6, 5, 2], [1, 2, 4, 1], [1, 3, 1, 1], 'SAME'],
  ];
  test.each(pools)('%s %j ksize %j strides %j %s', async (op, shape, ksize, strides, padding) => {
    const g = new TfGraph();
    g.placeholder('x', shape);
    g.op(op, 'y', ['x'], {
      ksize: A.ints(ksize),
      strides: A.ints(strides),
      padding: A.s(padding),
      data_format: A.s('NHWC'),
    });
    // negative inputs make max-pool padding mistakes (zeros instead of -inf) visible
    await check(
      `${op} ${padding} k${ksize[1]}x${ksize[2]} s${strides[1]}x${strides[2]}`,
      g.model(),
      { x: input(shape, -2, -0.5) },
      ['y'],
    );
  });

  const modes: [string, boolean, boolean][] = [
    ['legacy', false, false],
    ['align_corners', true, false],
    ['half_pixel_centers', false, true],
  ];
  const sizes: [number[], number[]][] = [
    [
      [1, 5, 7, 2],
      [9, 4],
    ],
    [
      [2, 4, 4, 3],
      [8, 8],
    ],
    [
      [1, 8, 6, 1],
      [3, 5],
    ],
    [
      [1, 6, 6, 1],
      [4, 9],
    ],
  ];
  for (const op of ['ResizeBilinear', 'ResizeNearestNeighbor'])
    for (const [mode, ac, hp] of modes)
      test.each(sizes)(`${op} ${mode} %j → %j`, async (shape, size) => {
        const g = new TfGraph();
        g.placeholder('x', shape);
        g.ints('size', size);
        g.op(op, 'y', ['x', 'size'], { align_corners: A.b(ac), half_pixel_centers: A.b(hp) });
        await check(`${op} ${mode} ${shape.slice(1, 3).join('x')}→${size.join('x')}`, g.model(), { x: input(shape) }, [
          'y',
        ]);
      });

  test('ResizeBilinear with an unknown input size (dynamic sizes)', async () => {
    const g = new TfGraph();
    g.placeholder('x', [-1, -1, -1, 2]);
    g.ints('size', [7, 5]);
    g.op('ResizeBilinear', 'y', ['x', 'size'], { align_corners: A.b(false), half_pixel_centers: A.b(true) });
    await check('ResizeBilinear half-pixel, unknown input size', g.model(), { x: input([2, 4, 3, 2]) }, ['y']);
  });

  test('ResizeNearestNeighbor with an unknown input size', async () => {
    const g = new TfGraph();
    g.placeholder('x', [-1, -1, -1, 2]);
    g.ints('size', [8, 6]);
    g.op('ResizeNearestNeighbor', 'y', ['x', 'size'], { align_corners: A.b(false), half_pixel_centers: A.b(true) });
    await check('ResizeNearestNeighbor half-pixel, unknown input size', g.model(), { x: input([1, 4, 3, 2]) }, ['y']);
  });
});

// ---- layout-sensitive ops on NCHW-held tensors ----------------------------------------------------------------

/** x [1,5,6,3] → conv 3x3 SAME → [1,5,6,4], held in NCHW inside the ONNX graph. */
function withConv(g: TfGraph, shape = [1, 5, 6, 3], outC = 4): string {
  g.placeholder('x', shape);
  g.randConst(rng, 'w', [3, 3, shape[3], outC]);
  return g.op('Conv2D', 'conv', ['x', 'w'], {
    strides: A.ints([1, 1, 1, 1]),
    padding: A.s('SAME'),
    data_format: A.s('NHWC'),
    dilations: A.ints([1, 1, 1, 1]),
  });
}

describe('layout-sensitive ops', () => {
  const feeds = () => ({ x: input([1, 5, 6, 3]) });

  test.each([
    ['Mean', [1, 2], true],
    ['Mean', [1, 2], false],
    ['Mean', [3], false],
    ['Mean', [-1], true],
    ['Sum', [1], false],
    ['Max', [2], true],
    ['Min', [0, 3], false],
  ] as const)('%s axes %j keep_dims %s', async (op, axes, keep) => {
    const g = new TfGraph();
    withConv(g);
    g.ints('axes', [...axes]);
    g.op(op, 'y', ['conv', 'axes'], { keep_dims: A.b(keep), Tidx: A.type('DT_INT32') });
    await check(`${op} [${axes}] keep_dims=${keep}`, g.model(), feeds(), ['y']);
  });

  test.each([[3], [1], [2], [-1], [0]])('ConcatV2 axis %j (conv output with the raw input)', async (axis) => {
    const g = new TfGraph();
    withConv(g, [1, 5, 6, 3], 3);
    g.op('Relu', 'r', ['x']);
    g.ints('axis', [axis]);
    g.op('ConcatV2', 'y', ['conv', 'r', 'conv', 'axis'], { N: A.i(3) });
    await check(`ConcatV2 axis ${axis}`, g.model(), feeds(), ['y']);
  });

  test('ConcatV2 of a conv output with a constant', async () => {
    const g = new TfGraph();
    withConv(g);
    g.randConst(rng, 'k', [1, 5, 6, 2]);
    g.ints('axis', [3]);
    g.op('ConcatV2', 'y', ['conv', 'k', 'axis'], { N: A.i(2) });
    await check('ConcatV2 with a constant', g.model(), feeds(), ['y']);
  });

  test.each([
    ['Pad', 'CONSTANT'],
    ['PadV2', 'CONSTANT'],
    ['MirrorPad', 'REFLECT'],
    ['MirrorPad', 'SYMMETRIC'],
  ] as const)('%s %s on a conv output and on the input', async (op, mode) => {
    const g = new TfGraph();
    withConv(g);
    g.const('pads', [0, 0, 1, 2, 2, 1, 0, 1], [4, 2], { dtype: 'int32' });
    const extra = op === 'PadV2' ? [g.const('cv', [1.5], [])] : [];
    const attrs: Record<string, TfjsAttrValue> = op === 'MirrorPad' ? { mode: A.s(mode) } : {};
    g.op(op, 'y', ['conv', 'pads', ...extra], attrs);
    g.op(op, 'y2', ['x', 'pads', ...extra], attrs);
    await check(`${op} ${mode}`, g.model(), feeds(), ['y', 'y2']);
  });

  test('Softmax on a 4-D conv output and on a matrix', async () => {
    const g = new TfGraph();
    withConv(g);
    g.op('Softmax', 'y', ['conv']);
    g.placeholder('m', [3, 7]);
    g.op('Softmax', 'y2', ['m']);
    g.op('LogSoftmax', 'y3', ['conv']);
    await check('Softmax 4-D and 2-D, LogSoftmax', g.model(), { ...feeds(), m: input([3, 7], -3, 3) }, [
      'y',
      'y2',
      'y3',
    ]);
  });

  test('Reshape (flatten) of a conv output keeps NHWC element order', async () => {
    const g = new TfGraph();
    withConv(g);
    g.ints('shape', [-1, 120]);
    g.op('Reshape', 'flat', ['conv', 'shape']);
    g.randConst(rng, 'fc', [120, 3]);
    g.op('MatMul', 'y', ['flat', 'fc'], { transpose_a: A.b(false), transpose_b: A.b(false) });
    g.ints('shape4', [1, 6, 5, 4]);
    g.op('Reshape', 'y2', ['conv', 'shape4']);
    await check('Reshape flatten + MatMul, Reshape 4-D→4-D', g.model(), feeds(), ['y', 'y2']);
  });

  test('Squeeze after Mean keep_dims, ExpandDims', async () => {
    const g = new TfGraph();
    withConv(g);
    g.ints('axes', [1, 2]);
    g.op('Mean', 'm', ['conv', 'axes'], { keep_dims: A.b(true) });
    g.op('Squeeze', 'y', ['m'], { squeeze_dims: A.ints([1, 2]) });
    g.op('Squeeze', 'y2', ['m'], { squeeze_dims: A.ints([]) });
    g.ints('dim', [1]);
    g.op('ExpandDims', 'y3', ['y', 'dim']);
    g.ints('dim2', [-1]);
    g.op('ExpandDims', 'y4', ['conv', 'dim2']);
    await check('Squeeze / ExpandDims', g.model(), feeds(), ['y', 'y2', 'y3', 'y4']);
  });

  test('Transpose of a conv output (no ONNX node), then Reshape and a 4-D output', async () => {
    const g = new TfGraph();
    withConv(g);
    g.ints('perm', [0, 3, 1, 2]);
    g.op('Transpose', 't', ['conv', 'perm']);
    g.op('Relu', 'y', ['t']);
    g.ints('shape', [1, -1]);
    g.op('Reshape', 'y2', ['t', 'shape']);
    g.ints('perm2', [2, 0, 3, 1]);
    g.op('Transpose', 'y3', ['x', 'perm2']);
    await check('Transpose', g.model(), feeds(), ['y', 'y2', 'y3']);
  });

  test('StridedSlice: ranges, negative strides, shrink, ellipsis and new axes', async () => {
    const g = new TfGraph();
    withConv(g);
    const ss = (name: string, b: number[], e: number[], s: number[], masks: Record<string, number> = {}) => {
      g.ints(`${name}_b`, b);
      g.ints(`${name}_e`, e);
      g.ints(`${name}_s`, s);
      const attrs = Object.fromEntries(
        ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((k) => [
          k,
          A.i(masks[k] ?? 0),
        ]),
      );
      g.op('StridedSlice', name, ['conv', `${name}_b`, `${name}_e`, `${name}_s`], {
        ...attrs,
        Index: A.type('DT_INT32'),
      });
    };
    ss('y1', [0, 1, 0, 1], [1, 4, 6, 3], [1, 1, 2, 1]);
    ss('y2', [0, -1, 0, 0], [1, 0, 6, 4], [1, -1, 1, 1], { begin_mask: 0b1101, end_mask: 0b1101 });
    ss('y3', [0, 2, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1], {
      begin_mask: 0b101,
      end_mask: 0b101,
      shrink_axis_mask: 0b1010,
    });
    ss('y4', [0, 1], [0, 3], [1, 1], { ellipsis_mask: 0b1 });
    ss('y5', [0, 0, 0], [0, 0, 2], [1, 1, 1], { ellipsis_mask: 0b1, new_axis_mask: 0b10 });
    ss('y6', [-1], [0], [1], { shrink_axis_mask: 0b1, end_mask: 0 });
    await check('StridedSlice', g.model(), feeds(), ['y1', 'y2', 'y3', 'y4', 'y5', 'y6']);
  });

  test('Slice', async () => {
    const g = new TfGraph();
    withConv(g);
    g.ints('b', [0, 1, 2, 1]);
    g.ints('s', [-1, 3, -1, 2]);
    g.op('Slice', 'y', ['conv', 'b', 's'], { Index: A.type('DT_INT32') });
    await check('Slice', g.model(), feeds(), ['y']);
  });
});

// ---- element-wise ----------------------------------------------------------------------------------------------

describe('element-wise ops', () => {
  test.each(['Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Abs', 'Neg', 'Square', 'Elu', 'Exp', 'Softplus', 'Floor', 'Ceil'])(
    '%s',
    async (op) => {
      const g = new TfGraph();
      withConv(g);
      g.op(op, 'y', ['conv']);
      await check(op, g.model(), { x: input([1, 5, 6, 3], -4, 4) }, ['y']);
    },
  );

  test('Sqrt, Rsqrt, Log, Reciprocal on positive values', async () => {
    const g = new TfGraph();
    g.placeholder('x', [2, 3, 4, 5]);
    for (const op of ['Sqrt', 'Rsqrt', 'Log', 'Reciprocal']) g.op(op, op.toLowerCase(), ['x']);
    await check('Sqrt/Rsqrt/Log/Reciprocal', g.model(), { x: input([2, 3, 4, 5], 0.5, 4) }, [
      'sqrt',
      'rsqrt',
      'log',
      'reciprocal',
    ]);
  });

  test.each(['Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference'])(
    '%s: conv output with a per-channel constant, a scalar and another tensor',
    async (op) => {
      const g = new TfGraph();
      withConv(g);
      g.randConst(rng, 'c', [4], 0.5, 2);
      g.const('s', [1.25], []);
      // divisors stay away from 0 (c, r), so RealDiv is well-conditioned
      g.op('Exp', 'r', ['conv']);
      g.op(op, 'y', ['conv', 'c']);
      g.op(op, 'y2', ['s', 'r']);
      g.op(op, 'y3', ['conv', 'r']);
      g.randConst(rng, 'c3', [6, 1], 0.5, 2);
      g.op(op, 'y4', ['c3', 'r']);
      await check(`${op} broadcasting`, g.model(), { x: input([1, 5, 6, 3]) }, ['y', 'y2', 'y3', 'y4']);
    },
  );

  test('binary op of an NCHW-held tensor with a lower-rank runtime tensor', async () => {
    const g = new TfGraph();
    withConv(g);
    g.placeholder('v', [4]);
    g.op('Mul', 'y', ['conv', 'v']);
    g.placeholder('u', [6, 4]);
    g.op('Add', 'y2', ['u', 'conv']);
    await check('broadcast runtime operands', g.model(), { x: input([1, 5, 6, 3]), v: input([4]), u: input([6, 4]) }, [
      'y',
      'y2',
    ]);
  });

  test('BiasAdd, Prelu, LeakyRelu, AddN, ClipByValue', async () => {
    const g = new TfGraph();
    withConv(g);
    g.randConst(rng, 'b', [4]);
    g.op('BiasAdd', 'y', ['conv', 'b'], { data_format: A.s('NHWC') });
    g.randConst(rng, 'alpha', [4], 0, 0.5);
    g.op('Prelu', 'y2', ['conv', 'alpha']);
    g.op('LeakyRelu', 'y3', ['conv'], { alpha: A.f(0.3) });
    g.op('AddN', 'y4', ['conv', 'y', 'conv'], { N: A.i(3) });
    g.const('lo', [-0.5], []);
    g.const('hi', [0.7], []);
    g.op('ClipByValue', 'y5', ['conv', 'lo', 'hi']);
    await check('BiasAdd/Prelu/LeakyRelu/AddN/ClipByValue', g.model(), { x: input([1, 5, 6, 3], -3, 3) }, [
      'y',
      'y2',
      'y3',
      'y4',
      'y5',
    ]);
  });

  test('Cast float → int32 and back', async () => {
    const g = new TfGraph();
    g.placeholder('x', [2, 5]);
    g.op('Cast', 'i', ['x'], { SrcT: A.type('DT_FLOAT'), DstT: A.type('DT_INT32') });
    g.op('Cast', 'y', ['i'], { SrcT: A.type('DT_INT32'), DstT: A.type('DT_FLOAT') });
    await check('Cast', g.model(), { x: input([2, 5], -9, 9) }, ['i', 'y']);
  });
});

// ---- matrix products ------------------------------------------------------------------------------------------

describe('matrix products', () => {
  test.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('MatMul transpose_a %s transpose_b %s', async (ta, tb) => {
    const g = new TfGraph();
    g.placeholder('a', ta ? [4, 3] : [3, 4]);
    g.randConst(rng, 'b', tb ? [5, 4] : [4, 5]);
    g.op('MatMul', 'y', ['a', 'b'], { transpose_a: A.b(ta), transpose_b: A.b(tb) });
    await check(`MatMul ta=${ta} tb=${tb}`, g.model(), { a: input(ta ? [4, 3] : [3, 4]) }, ['y']);
  });

  test.each([['BiasAdd'], ['BiasAdd', 'Relu'], ['BiasAdd', 'Relu6'], ['BiasAdd', 'Prelu']])(
    '_FusedMatMul %s',
    async (...ops) => {
      const all = ops.flat();
      const g = new TfGraph();
      g.placeholder('a', [-1, 6]);
      g.randConst(rng, 'b', [4, 6]);
      g.randConst(rng, 'bias', [4]);
      const args = ['bias'];
      if (all.includes('Prelu')) args.push(g.randConst(rng, 'alpha', [4], 0, 0.5));
      g.op('_FusedMatMul', 'y', ['a', 'b', ...args], {
        transpose_a: A.b(false),
        transpose_b: A.b(true),
        fused_ops: A.strs(all),
        num_args: A.i(args.length),
        epsilon: A.f(0),
      });
      await check(`_FusedMatMul ${all.join('+')}`, g.model(), { a: input([3, 6], -3, 3) }, ['y']);
    },
  );

  test('BatchMatMulV2 with adjoints', async () => {
    const g = new TfGraph();
    g.placeholder('a', [2, 4, 3]);
    g.placeholder('b', [2, 5, 4]);
    g.op('BatchMatMulV2', 'y', ['a', 'b'], { adj_x: A.b(true), adj_y: A.b(true) });
    await check('BatchMatMulV2 adj_x adj_y', g.model(), { a: input([2, 4, 3]), b: input([2, 5, 4]) }, ['y']);
  });
});

// ---- weights, options, errors ---------------------------------------------------------------------------------

describe('weights', () => {
  test('dequantizes uint8 / uint16 (q·scale + min) and float16 exactly as stored', () => {
    const g = new TfGraph();
    const values = [-1, -0.5, 0, 0.25, 1, 2.5];
    g.const('u8', values, [2, 3], { quant: 'uint8' });
    g.const('u16', values, [6], { quant: 'uint16' });
    g.const('f16', values, [3, 2], { quant: 'float16' });
    g.const('i32', [3, -7, 1 << 20], [3], { dtype: 'int32' });
    g.const('f32', values, [6]);
    const m = g.model();
    const { weights, stats } = readWeights(m.modelJson.weightsManifest, m.weights);
    const man = m.modelJson.weightsManifest[0].weights;
    const q8 = man[0].quantization!;
    expect(Array.from(weights.get('u8')!.data as Float32Array)).toEqual(
      values.map((v) => Math.fround(Math.round((v - q8.min!) / q8.scale!) * q8.scale! + q8.min!)),
    );
    expect(maxAbsDiff(weights.get('u8')!.data as Float32Array, values)).toBeLessThanOrEqual(3.5 / 255 / 2 + 1e-7);
    expect(maxAbsDiff(weights.get('u16')!.data as Float32Array, values)).toBeLessThanOrEqual(3.5 / 65535 / 2 + 1e-7);
    expect(Array.from(weights.get('f16')!.data as Float32Array)).toEqual(values); // all exact in float16
    expect(weights.get('f16')!.shape).toEqual([3, 2]);
    expect(weights.get('i32')).toEqual({ dtype: 'int32', shape: [3], data: Int32Array.from([3, -7, 1 << 20]) });
    expect(stats).toMatchObject({
      tensors: 5,
      parameters: 27,
      storage: { uint8: 1, uint16: 1, float16: 1, int32: 1, float32: 1 },
    });
    expect(stats.bytes).toBe(6 + 12 + 12 + 12 + 24);
  });

  test('reads constants inlined in the graph (floatVal, tensorContent)', async () => {
    const g = new TfGraph();
    g.placeholder('x', [2, 3]);
    g.nodes.push({
      name: 'k',
      op: 'Const',
      attr: {
        dtype: A.type('DT_FLOAT'),
        value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '3' }] }, floatVal: [1, -2, 0.5] } },
      },
    });
    g.nodes.push({
      name: 'shape',
      op: 'Const',
      attr: {
        dtype: A.type('DT_INT32'),
        value: {
          tensor: {
            dtype: 'DT_INT32',
            tensorShape: { dim: [{ size: '2' }] },
            tensorContent: Buffer.from(Int32Array.from([3, 2]).buffer).toString('base64'),
          },
        },
      },
    });
    g.op('Mul', 'm', ['x', 'k']);
    g.op('Reshape', 'y', ['m', 'shape']);
    const m = g.model();
    const conv = convertTfjsGraph(m.modelJson, m.weights, { outputs: ['y'] });
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const out = await runOrt(conv.bytes, { x: { data: x, shape: [2, 3] } });
    expect(out.y.shape).toEqual([3, 2]);
    expect(Array.from(out.y.data)).toEqual([1, -4, 1.5, 4, -10, 3]);
  });

  test('short weight data is a CorruptFileError naming the weight', () => {
    const g = new TfGraph();
    g.placeholder('x', [2]);
    g.const('w', [1, 2], [2]);
    g.op('Mul', 'y', ['x', 'w']);
    const m = g.model();
    expect(() => convertTfjsGraph(m.modelJson, m.weights.subarray(0, 4))).toThrow(/weight 'w'.*4/);
  });

  test.each(['uint8', 'uint16', 'float16'] as const)('a %s-quantized matmul runs like tfjs', async (quant) => {
    const g = new TfGraph();
    g.placeholder('a', [2, 8]);
    g.randConst(rng, 'b', [8, 3], -2, 2, quant);
    g.op('MatMul', 'y', ['a', 'b'], { transpose_a: A.b(false), transpose_b: A.b(false) });
    await check(`MatMul ${quant} weights`, g.model(), { a: input([2, 8]) }, ['y']);
  });
});

describe('conversion options and errors', () => {
  function small(): TfjsModel {
    const g = new TfGraph();
    g.placeholder('image', [-1, 9, 9, 3]);
    g.randConst(rng, 'w', [3, 3, 3, 4]);
    g.op('Conv2D', 'conv', ['image', 'w'], {
      strides: A.ints([1, 2, 2, 1]),
      padding: A.s('SAME'),
      data_format: A.s('NHWC'),
      dilations: A.ints([1, 1, 1, 1]),
    });
    g.op('Relu', 'feat', ['conv']);
    g.ints('axes', [1, 2]);
    g.op('Mean', 'pool/Mean', ['feat', 'axes'], { keep_dims: A.b(false) });
    g.op('Sigmoid', 'prob', ['pool/Mean']);
    g.placeholder('unused', [3]);
    return g.model();
  }

  test('names inputs and outputs, keeps NHWC at the boundary, one Transpose in, one out', async () => {
    const m = small();
    const conv = convertTfjsGraph(m.modelJson, m.weights, {
      inputNames: { image: 'input' },
      inputShapes: { image: ['n', 9, 9, 3] },
      outputs: { 'pool/Mean:0': 'embedding', prob: 'prob', feat: 'features' },
    });
    expect(conv.inputs).toEqual([{ name: 'input', tfName: 'image', dtype: 'float32', shape: ['n', 9, 9, 3] }]);
    expect(conv.outputs).toEqual([
      { name: 'embedding', tfName: 'pool/Mean', dtype: 'float32', shape: ['n', 4] },
      { name: 'prob', tfName: 'prob', dtype: 'float32', shape: ['n', 4] },
      { name: 'features', tfName: 'feat', dtype: 'float32', shape: ['n', 5, 5, 4] },
    ]);
    const info = inspectModel(conv.bytes);
    expect(info.opsets['ai.onnx']).toBe(17);
    expect(info.irVersion).toBeLessThanOrEqual(10);
    expect(info.inputs.map((i) => i.name)).toEqual(['input']);
    expect(info.outputs.map((o) => o.name)).toEqual(['embedding', 'prob', 'features']);
    expect(conv.report.layoutTransposes).toBe(2); // the input to NCHW, the 4-D output back
    expect(conv.report.onnxOps.Transpose).toBe(2);
    expect(conv.report.tfOps).toMatchObject({ Conv2D: 1, Relu: 1, Mean: 1, Sigmoid: 1, Placeholder: 1 });
    expect(conv.report.warnings.join()).toMatch(/'unused'/);
    // SAME pads made explicit from the static 9x9 size
    const x = input([2, 9, 9, 3]);
    const ort = await runOrt(conv.bytes, { input: x });
    const ref = await runTfjs(m, { image: x }, ['pool/Mean', 'prob', 'feat']);
    expect(maxAbsDiff(ort.embedding.data, ref[0].data)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(ort.prob.data, ref[1].data)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(ort.features.data, ref[2].data)).toBeLessThanOrEqual(TOL);
  });

  test('is deterministic and honours opset', () => {
    const m = small();
    const a = convertTfjsGraph(m.modelJson, m.weights, { outputs: ['prob'] });
    const b = convertTfjsGraph(JSON.parse(JSON.stringify(m.modelJson)), m.weights.slice(), { outputs: ['prob'] });
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    const c = convertTfjsGraph(m.modelJson, m.weights, { outputs: ['prob'], opset: 18 });
    expect(inspectModel(c.bytes).opsets['ai.onnx']).toBe(18);
    expect(() => convertTfjsGraph(m.modelJson, m.weights, { opset: 11 })).toThrow(/opset/);
  });

  test('opset 18 (axes as inputs) gives the same results', async () => {
    const m = small();
    await check('opset 18 reduce', m, { image: input([1, 9, 9, 3]) }, ['pool/Mean', 'prob'], { opset: 18 });
  });

  test('SAME padding with an unknown spatial size falls back to auto_pad SAME_UPPER', async () => {
    const g = new TfGraph();
    g.placeholder('x', [-1, -1, -1, 3]);
    g.randConst(rng, 'w', [4, 3, 3, 2]);
    g.op('Conv2D', 'y', ['x', 'w'], {
      strides: A.ints([1, 2, 2, 1]),
      padding: A.s('SAME'),
      data_format: A.s('NHWC'),
      dilations: A.ints([1, 1, 1, 1]),
    });
    g.op('MaxPool', 'y2', ['x'], { ksize: A.ints([1, 3, 2, 1]), strides: A.ints([1, 2, 2, 1]), padding: A.s('SAME') });
    await check('SAME_UPPER fallback', g.model(), { x: input([1, 7, 10, 3], -2, -0.1) }, ['y', 'y2']);
  });

  test('an unknown op is an UnsupportedOpError naming the op and the node', () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 4]);
    g.op('FancyNewOp', 'block3/fancy', ['x']);
    g.op('Relu', 'y', ['block3/fancy']);
    const m = g.model();
    let err: unknown;
    try {
      convertTfjsGraph(m.modelJson, m.weights, { outputs: ['y'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedOpError);
    const e = err as UnsupportedOpError;
    expect(e.code).toBe('E_UNSUPPORTED_FORMAT');
    expect(e.op).toBe('FancyNewOp');
    expect(e.node).toBe('block3/fancy');
    expect(e.message).toMatch(/FancyNewOp/);
    expect(e.message).toMatch(/block3\/fancy/);
  });

  test('an unsupported variant names the op, the node and the reason', () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 3, 8, 8]);
    g.randConst(rng, 'w', [3, 3, 3, 2]);
    g.op('Conv2D', 'nchw_conv', ['x', 'w'], {
      strides: A.ints([1, 1, 1, 1]),
      padding: A.s('SAME'),
      data_format: A.s('NCHW'),
      dilations: A.ints([1, 1, 1, 1]),
    });
    const m = g.model();
    expect(() => convertTfjsGraph(m.modelJson, m.weights)).toThrow(/Conv2D.*nchw_conv.*data_format 'NCHW'/);
  });

  test('unknown outputs and inputs in the options are InvalidArgumentErrors', () => {
    const m = small();
    expect(() => convertTfjsGraph(m.modelJson, m.weights, { outputs: ['nope'] })).toThrow(/nope/);
    expect(() => convertTfjsGraph(m.modelJson, m.weights, { inputNames: { nope: 'x' } })).toThrow(/inputNames/);
  });

  test('lists the supported ops', () => {
    const ops = supportedTfjsOps();
    for (const op of [
      'Conv2D',
      '_FusedConv2D',
      'FusedDepthwiseConv2dNative',
      '_FusedMatMul',
      'ResizeBilinear',
      'MirrorPad',
      'StridedSlice',
    ])
      expect(ops).toContain(op);
  });
});
