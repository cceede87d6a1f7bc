import {
  GraphBuilder,
  ProtoWriter,
  attr,
  createSession,
  inspectModel,
  readFields,
  tensor,
  CorruptFileError,
  InvalidArgumentError,
} from '../src/node';

describe('protobuf writer/reader', () => {
  test('varints, including negative int64 as 10-byte two’s complement', () => {
    const w = new ProtoWriter();
    w.int(1, 300)
      .int(2, -1)
      .int(3, 2n ** 40n)
      .string(4, 'hé')
      .float(5, 1.5);
    const bytes = w.finish();
    // field 1 = 300: tag 0x08, varint 0xac 0x02 (protobuf docs example)
    expect(Array.from(bytes.subarray(0, 3))).toEqual([0x08, 0xac, 0x02]);
    const fields = [...readFields(bytes)];
    expect(fields.map((f) => f.field)).toEqual([1, 2, 3, 4, 5]);
    expect(fields[0].varint).toBe(300n);
    expect(BigInt.asIntN(64, fields[1].varint!)).toBe(-1n);
    expect(fields[2].varint).toBe(2n ** 40n);
    expect(new TextDecoder().decode(fields[3].bytes)).toBe('hé');
    expect(new DataView(fields[4].bytes!.buffer, fields[4].bytes!.byteOffset).getFloat32(0, true)).toBe(1.5);
  });

  test('malformed input is a CorruptFileError', () => {
    expect(() => [...readFields(new Uint8Array([0x0a, 0x05, 1]))]).toThrow(CorruptFileError);
    expect(() => [...readFields(new Uint8Array([0x08, 0xff]))]).toThrow(/truncated varint/);
    expect(() => [...readFields(new Uint8Array([0x0b]))]).toThrow(/wire type 3/);
  });
});

describe('GraphBuilder', () => {
  test('inspectModel reads back what was built', () => {
    const g = new GraphBuilder('g');
    const x = g.input('x', 'float32', ['n', 3, 8, 8]);
    const w = g.initializer(tensor(new Float32Array(2 * 3 * 9), [2, 3, 3, 3]), 'w');
    const [y] = g.op('Conv', [x, w], { pads: attr.ints([1, 1, 1, 1]) });
    g.output(y, 'float32', ['n', 2, 8, 8], 'y');
    const s = inspectModel(g.toBytes({ opset: 17, metadata: { a: 'b' }, producerVersion: '0.1.0' }));
    expect(s.irVersion).toBe(8);
    expect(s.opsets).toEqual({ 'ai.onnx': 17 });
    expect(s.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['n', 3, 8, 8] }]); // initializer excluded
    expect(s.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: ['n', 2, 8, 8] }]);
    expect(s.initializers).toBe(1);
    expect(s.opTypes).toEqual(['Conv', 'Identity']);
    expect(s.metadata).toEqual({ a: 'b' });
    expect(s.producerName).toBe('@trustvision/core-tensor');
  });

  test('duplicate value names are rejected', () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow(InvalidArgumentError);
  });

  test('every attribute kind round-trips through ONNX Runtime', async () => {
    const g = new GraphBuilder('attrs');
    const x = g.input('x', 'float32', [1, 1, 4, 4]);
    const c = g.input('c', 'bool', []);
    // ints + float: Conv with pads/strides, then LeakyRelu alpha
    const w = g.initializer(tensor(new Float32Array(9).fill(1), [1, 1, 3, 3]));
    const [conv] = g.op('Conv', [x, w], { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) });
    const [leaky] = g.op('LeakyRelu', [conv], { alpha: attr.f(0.5) });
    // tensor attribute: Constant
    const [k] = g.op('Constant', [], { value: attr.t(tensor(new Float32Array([10]), [1])) });
    // string attribute: Pad mode
    const [padded] = g.op(
      'Pad',
      [leaky, g.constant(tensor(BigInt64Array.from([0, 0, 0, 1, 0, 0, 0, 0].map(BigInt)), [8]))],
      {
        mode: attr.s('edge'),
      },
    );
    // graph attributes: If
    const thenG = new GraphBuilder('then');
    const [t1] = thenG.op('Add', [padded, k]);
    thenG.output(t1, 'float32', undefined);
    const elseG = new GraphBuilder('else');
    const [e1] = elseG.op('Sub', [padded, k]);
    elseG.output(e1, 'float32', undefined);
    const [y] = g.op('If', [c], { then_branch: attr.g(thenG), else_branch: attr.g(elseG) });
    g.output(y, 'float32', undefined, 'y');
    const s = await createSession(g.toBytes(), { device: 'cpu' });
    const xs = tensor(
      Float32Array.from({ length: 16 }, (_, i) => i - 8),
      [1, 1, 4, 4],
    );
    const yes = await s.run({ x: xs, c: tensor(new Uint8Array([1]), [], 'bool') });
    const no = await s.run({ x: xs, c: tensor(new Uint8Array([0]), [], 'bool') });
    // hand calculation: 3x3 box sums with zero padding at stride 2 over rows/cols 0 and 2
    //   x = [[-8,-7,-6,-5],[-4,-3,-2,-1],[0,1,2,3],[4,5,6,7]]
    //   (0,0): -8-7-4-3 = -22 → leaky -11 ; (0,2): -7-6-5-3-2-1 = -24 → -12
    //   (2,0): -4-3+0+1+4+5 = 3 ; (2,2): -3-2-1+1+2+3+5+6+7 = 18
    // then edge-pad one column at the front of W: [[-11,-11,-12],[3,3,18]]
    expect(yes.y.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(yes.y.data as Float32Array)).toEqual([-1, -1, -2, 13, 13, 28]);
    expect(Array.from(no.y.data as Float32Array)).toEqual([-21, -21, -22, -7, -7, 8]);
    await s.dispose();
  });

  test('inspectModel rejects non-ONNX bytes', () => {
    expect(() => inspectModel(new TextEncoder().encode('hello world'))).toThrow(CorruptFileError);
    expect(() => inspectModel(new Uint8Array([0x08, 0x07, 0x10, 0x01]))).toThrow(/not an ONNX ModelProto/);
  });
});
