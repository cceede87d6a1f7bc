/**
 * STAND-IN grid model (spec §A.10): the SlerpFace grid contract with fixed weights, built in TypeScript, for tests
 * and demos of the grid form when the official IR-50 checkpoint is not at hand. It is NOT a face model: 16×16
 * average pooling to a 7×7 grid, a seeded 1×1 convolution 3 → 16 (+ PReLU-free bias), the official flip
 * test-time augmentation (the flipped view's grid added without un-flipping), and a 1×1 convolution 16 → 1 with a
 * softmax over the 49 cells as the weights.
 */
import { GraphBuilder, Rng, attr, tensor } from '@trustvision/core-tensor';

export function buildGridStandIn(seed = 0): Uint8Array {
  const rng = Rng.from(seed);
  const g = new GraphBuilder('slerpface-grid-standin');
  const x = g.input('image', 'float32', ['N', 3, 112, 112]);
  const w1 = g.constant(tensor(Float32Array.from(rng.normalArray(16 * 3)), [16, 3, 1, 1]));
  const b1 = g.constant(tensor(Float32Array.from(rng.normalArray(16, 0, 0.1)), [16]));
  const w2 = g.constant(tensor(Float32Array.from(rng.normalArray(16, 0, 0.5)), [1, 16, 1, 1]));
  const i64 = (v: bigint[]) => g.constant(tensor(BigInt64Array.from(v), [v.length]));
  const view = (input: string) => {
    const [p] = g.op('AveragePool', [input], { kernel_shape: attr.ints([16, 16]), strides: attr.ints([16, 16]) });
    return g.op('Conv', [p, w1, b1])[0];
  };
  // flip along W: Slice with step −1
  const [flipped] = g.op('Slice', [x, i64([-1n]), i64([-(2n ** 62n)]), i64([3n]), i64([-1n])]);
  const [grid] = g.op('Add', [view(x), view(flipped)], {}, ['grid']);
  g.output(grid, 'float32', ['N', 16, 7, 7]);
  const [a] = g.op('Conv', [grid, w2]);
  const [flat] = g.op('Reshape', [a, i64([0n, 49n])]);
  const [weights] = g.op('Softmax', [flat], { axis: attr.i(1) }, ['weights']);
  g.output(weights, 'float32', ['N', 49]);
  return g.toBytes({
    opset: 17,
    docString: 'STAND-IN for the SlerpFace IR-50 grid model (fixed weights, not a face model)',
  });
}
