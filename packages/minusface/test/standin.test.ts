/**
 * The committed stand-in models (models/prebuilt/minusface-*.onnx, trained on Fashion-MNIST by
 * models/python/minusface_standin.py) through this package against PyTorch's outputs on the same inputs
 * (test/fixtures/standin_golden.ts, from the export's reference.npz): the TypeScript e + ONNX Runtime g against the
 * torch transform + torch g, f_p on PyTorch's X_p, and the contracts the package checks on load.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { tensor } from '@trustvision/core-tensor';
import { GeneratorModel, RecognizerModel, embed, encode, protect } from '../src/index.js';
import { EMBEDDING, U, XP, XREGEN0_8, XREGEN_SUMS } from './fixtures/standin_golden.js';

const prebuilt = (n: string) => path.resolve(__dirname, '../../../models/prebuilt', `${n}.onnx`);
let g: GeneratorModel;
let f: RecognizerModel;
beforeAll(async () => {
  for (const n of ['minusface-generator', 'minusface-recognizer'])
    if (!existsSync(prebuilt(n))) throw new Error(`${prebuilt(n)} is missing (committed with the models workspace)`);
  g = await GeneratorModel.create(prebuilt('minusface-generator'), { device: 'cpu' });
  f = await RecognizerModel.create(prebuilt('minusface-recognizer'), { device: 'cpu' });
});
afterAll(async () => {
  await g?.dispose();
  await f?.dispose();
});

const P = 3 * 16 * 16;
const R = 192 * 16 * 16;

describe('stand-in models against PyTorch', () => {
  test('contracts: generator 192 → 192 (any size), recogniser x_p [N,3,16,16] → 128-d', () => {
    expect([g.inputName, g.outputName, g.height, g.width]).toEqual(['x', 'x_regen', undefined, undefined]);
    expect([f.inputName, f.outputName, f.channels, f.height, f.width, f.dim]).toEqual([
      'x_p',
      'embedding',
      3,
      16,
      16,
      128,
    ]);
  });

  test('g(e(u)): TypeScript e + ORT g agrees with the torch transform + torch g', async () => {
    const x = new Float32Array(2 * R);
    for (let b = 0; b < 2; b++)
      x.set(encode(tensor(Float32Array.from(U.slice(b * P, (b + 1) * P)), [3, 16, 16])).data as Float32Array, b * R);
    const xr = await g.regenerate(x, 2, 16, 16);
    let maxAbs = 0;
    for (let i = 0; i < XREGEN0_8.length; i++) maxAbs = Math.max(maxAbs, Math.abs(xr[i] - XREGEN0_8[i]));
    expect(maxAbs).toBeLessThan(2e-3); // |values| up to ~1000 (DC); float32 transform and network
    for (let b = 0; b < 2; b++) {
      let s = 0;
      let ss = 0;
      for (let i = b * R; i < (b + 1) * R; i++) {
        s += xr[i];
        ss += xr[i] * xr[i];
      }
      expect(Math.abs(s - XREGEN_SUMS[b][0])).toBeLessThan(1e-4 * Math.sqrt(XREGEN_SUMS[b][1]) * 10);
      expect(ss / XREGEN_SUMS[b][1]).toBeCloseTo(1, 6);
    }
  });

  test("f_p on PyTorch's X_p: ORT embeddings equal PyTorch's", async () => {
    const e = await embed(f, tensor(Float32Array.from(XP), [2, 3, 16, 16]));
    for (let b = 0; b < 2; b++) {
      const ref = EMBEDDING.slice(b * 128, (b + 1) * 128);
      const n = Math.hypot(...ref);
      for (let d = 0; d < 128; d++) expect(Math.abs(e[b][d] - ref[d] / n)).toBeLessThan(1e-5);
    }
  });

  test('protected images of the stand-in are nearly blank (d(r) ≈ grey) and in [0, 1]', async () => {
    const xp = await protect(g, tensor(Float32Array.from(U), [2, 3, 16, 16]), { seed: 3 });
    let dev = 0;
    for (const v of xp.data as Float32Array) {
      expect(v >= 0 && v <= 1).toBe(true);
      dev += Math.abs(v - 128 / 255);
    }
    expect(dev / xp.data.length).toBeLessThan(0.05);
  });
});
