/**
 * Tiny ONNX models built in TypeScript for the tests (spec §B.9 "tiny stand-ins"): a generator g(x) = k·x with the
 * generator contract, a recogniser (average pool + fixed linear map), and models that break the contracts.
 */
import { GraphBuilder, Rng, attr, tensor, type Dim } from '@trustvision/core-tensor';

/** g(x) = k·x on [N, 192, H, W] (H, W symbolic unless given). k = 1 is the identity (r = 0). */
export function scaleGenerator(k: number, size?: [number, number]): Uint8Array {
  const g = new GraphBuilder('g-scale');
  const shape: Dim[] = ['N', 192, size?.[0] ?? 'H', size?.[1] ?? 'W'];
  const x = g.input('x', 'float32', shape);
  const [y] = g.op('Mul', [x, g.constant(tensor(new Float32Array([k]), [1]))], {}, ['x_regen']);
  g.output(y, 'float32', shape);
  return g.toBytes({ opset: 17 });
}

/** f_p: [N, C, H, W] → GlobalAveragePool per channel, then a seeded linear map C → D (D symbolic-free). */
export function poolRecognizer(C = 3, D = 8, seed = 0, size?: [number, number]): Uint8Array {
  const rng = Rng.from(seed);
  const g = new GraphBuilder('fp-pool');
  const x = g.input('x_p', 'float32', ['N', C, size?.[0] ?? 'H', size?.[1] ?? 'W']);
  const [p] = g.op('GlobalAveragePool', [x]);
  const [f] = g.op('Flatten', [p], { axis: attr.i(1) });
  const w = g.constant(tensor(Float32Array.from(rng.normalArray(C * D)), [C, D]));
  const [e] = g.op('MatMul', [f, w], {}, ['embedding']);
  g.output(e, 'float32', ['N', D]);
  return g.toBytes({ opset: 17 });
}

/** A one-input, one-output Identity model with the given declared shapes/dtypes (for contract violations). */
export function identityModel(dtype: 'float32' | 'float64', inShape: Dim[], outShape: Dim[] = inShape): Uint8Array {
  const g = new GraphBuilder('bad');
  const x = g.input('x', dtype, inShape);
  const [y] = g.op('Identity', [x], {}, ['y']);
  g.output(y, dtype, outShape);
  return g.toBytes({ opset: 17 });
}

/** Two inputs added: violates "exactly one input". */
export function twoInputModel(): Uint8Array {
  const g = new GraphBuilder('two');
  const shape: Dim[] = ['N', 192, 'H', 'W'];
  const a = g.input('a', 'float32', shape);
  const b = g.input('b', 'float32', shape);
  const [y] = g.op('Add', [a, b], {}, ['x_regen']);
  g.output(y, 'float32', shape);
  return g.toBytes({ opset: 17 });
}

/** g(x) = x · NaN-producing: x · 0 / 0 → NaN everywhere (a generator that misbehaves at run time). */
export function nanGenerator(): Uint8Array {
  const g = new GraphBuilder('nan');
  const shape: Dim[] = ['N', 192, 'H', 'W'];
  const x = g.input('x', 'float32', shape);
  const zero = g.constant(tensor(new Float32Array([0]), [1]));
  const [z] = g.op('Mul', [x, zero]);
  const [y] = g.op('Div', [z, zero], {}, ['x_regen']);
  g.output(y, 'float32', shape);
  return g.toBytes({ opset: 17 });
}
