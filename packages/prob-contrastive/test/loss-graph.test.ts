/**
 * The op-graph path (ONNX Runtime, float32) agrees with the float64 typed-array path for every variant, batch shapes
 * that repeat anchors, and validates its inputs the same way.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, Rng, inspectModel } from '@trustvision/core-tensor';
import { expectRejects } from '@trustvision/jest-preset/expect-errors';
import {
  contrastiveLoss,
  contrastiveLossGraph,
  disposeLossGraphs,
  lossGraphModel,
  LOSS_VARIANTS,
} from '../src/index.js';

afterAll(async () => {
  await disposeLossGraphs();
});

function batch(n: number, d: number, seed: number) {
  const rng = Rng.from(seed);
  const z = rng.normalArray(n * d);
  const kappa = rng.uniformArray(n, 0.5, 40);
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < n; i += 2) pairs.push([i, i + 1]);
  pairs.push([0, 5], [5, 9], [n - 1, 2]);
  return { z: { data: z, shape: [n, d] }, kappa, pairs };
}

const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
};

describe('contrastiveLossGraph', () => {
  test.each(LOSS_VARIANTS.map((v) => [v]))(
    '%s: same loss and gradients as contrastiveLoss (float32 tolerance)',
    async (variant) => {
      for (const [n, d] of [
        [12, 5],
        [200, 64],
      ]) {
        const input = batch(n, d, n);
        const a = contrastiveLoss(input, { variant, tau: 0.07, radius: 3 });
        const b = await contrastiveLossGraph(input, { variant, tau: 0.07, radius: 3, device: 'cpu' });
        expect(b.device).toBe(variant === 'scf' ? 'js' : 'cpu');
        expect(Math.abs(b.loss - a.loss) / a.loss).toBeLessThan(1e-5);
        expect(rel(b.gradZ!, a.gradZ!)).toBeLessThan(1e-4);
        if (variant === 'prob') expect(rel(b.gradKappa!, a.gradKappa!)).toBeLessThan(1e-4);
        else if (variant === 'infonce') expect(Array.from(b.gradKappa!).every((v) => v === 0)).toBe(true);
        expect(b.terms).toBe(a.terms);
      }
    },
  );

  test('the graph is one opset-17 model with symbolic batch dimensions', () => {
    const m = inspectModel(lossGraphModel());
    expect(m.opsets['ai.onnx']).toBe(17);
    expect(m.inputs.find((i) => i.name === 'z')?.shape).toEqual(['n', 'd']);
    expect(m.outputs.map((o) => o.name)).toEqual(['loss', 'dz', 'gw']);
  });

  test('validates like contrastiveLoss', async () => {
    const input = batch(10, 3, 1);
    await expectRejects(
      contrastiveLossGraph({ ...input, pairs: [] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'pairs',
    );
    await expectRejects(
      contrastiveLossGraph({ ...input, kappa: [1, 2, 3, 0, 5, 6, 7, 8, 9, 10] }, { variant: 'prob' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'kappa[3]',
    );
    const zero = { data: new Float64Array(30).fill(1), shape: [10, 3] };
    zero.data.fill(0, 3, 6);
    await expectRejects(
      contrastiveLossGraph({ ...input, z: zero }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'z[1]',
    );
  });
});
