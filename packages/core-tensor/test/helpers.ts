import { GraphBuilder, attr, tensor } from '../src/node';

/** A small classifier: probs = softmax(x·W + b), x [batch, 4], W [4, 3]. Returns bytes and the weights. */
export function linearSoftmaxModel() {
  const W = new Float32Array([1, 0, -1, 0.5, 2, 0, -1, 1, 1, 0, 0, 3]);
  const b = new Float32Array([0.1, -0.2, 0.3]);
  const g = new GraphBuilder('linear');
  const x = g.input('x', 'float32', ['batch', 4]);
  const [logits] = g.op('Gemm', [x, g.initializer(tensor(W, [4, 3]), 'W'), g.initializer(tensor(b, [3]), 'b')]);
  const [probs] = g.op('Softmax', [logits], { axis: attr.i(1) });
  g.output(logits, 'float32', ['batch', 3], 'logits');
  g.output(probs, 'float32', ['batch', 3], 'probs');
  return { bytes: g.toBytes({ metadata: { purpose: 'test' } }), W, b };
}

/** Reference softmax(x·W + b) in float64. */
export function linearSoftmaxRef(x: Float32Array, W: Float32Array, b: Float32Array, batch: number) {
  const out: number[][] = [];
  for (let i = 0; i < batch; i++) {
    const z = [0, 1, 2].map((j) => b[j] + [0, 1, 2, 3].reduce((s, t) => s + x[i * 4 + t] * W[t * 3 + j], 0));
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, c) => a + c, 0);
    out.push(e.map((v) => v / s));
  }
  return out;
}

/** y = x + x in float16, plus a second input with a shared symbolic dim. */
export function fp16Model() {
  const g = new GraphBuilder('half');
  const x = g.input('x', 'float16', ['n', 2]);
  const m = g.input('mask', 'bool', ['n']);
  const [y] = g.op('Add', [x, x]);
  const [mf] = g.op('Cast', [m], { to: attr.i(10) });
  const [mu] = g.op('Unsqueeze', [mf, g.constant(tensor(new BigInt64Array([1n]), [1]))]);
  const [z] = g.op('Mul', [y, mu]);
  g.output(z, 'float16', ['n', 2], 'y');
  return g.toBytes();
}

export { expectThrows, expectRejects } from '@trustvision/jest-preset/expect-errors';
