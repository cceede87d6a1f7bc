/** Shared stand-ins for the sampler, generation, CLI and queue tests. */
import { expect } from '@jest/globals';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '@trustvision/core-tensor';
import {
  analyticDenoiserModel,
  analyticGuidedModel,
  linearFrGradModel,
  linearFrModel,
  type AnalyticDenoiserSpec,
} from '../src/index.js';

export const C = 3;
export const H = 8;
export const W = 8;
export const D = 16;

/** M maps the embedding's first three coordinates to the channel means (μ_c = 0.8·y_c), N adds 0.1·age to red. */
export function spec(over: Partial<AnalyticDenoiserSpec> = {}): AnalyticDenoiserSpec {
  const M = new Float32Array(D * C);
  for (let c = 0; c < C; c++) M[c * C + c] = 0.8;
  const N = new Float32Array(4 * C);
  N[0] = 0.1;
  return { channels: C, height: H, width: W, embeddingDim: D, M, N, sigma: 0.5, ...over };
}

/** A fixed random FR matrix W [D, C·H·W]. */
export function frMatrix(seed = 5): Float32Array {
  return Rng.from(seed).normalFloat32(D * C * H * W, 0, 0.1);
}

export const denoiserBytes = (over: Partial<AnalyticDenoiserSpec> = {}) => analyticDenoiserModel(spec(over));
export const guidedBytes = (over: Partial<AnalyticDenoiserSpec> = {}) =>
  analyticGuidedModel(spec(over), { W: frMatrix() });
export const frBytes = () => linearFrModel({ channels: C, height: H, width: W, embeddingDim: D, W: frMatrix() });
export const frGradBytes = (floatType: 'float32' | 'float16' = 'float32') =>
  linearFrGradModel({ channels: C, height: H, width: W, embeddingDim: D, W: frMatrix(), floatType });

/** B unit embeddings (seeded) and B encoded attribute rows. */
export function condition(B: number, seed = 1): { embeddings: Float32Array; attributes: Float32Array } {
  const r = Rng.from(seed);
  const e = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    const v = r.normalArray(D);
    const n = Math.hypot(...v);
    for (let k = 0; k < D; k++) e[b * D + k] = v[k] / n;
  }
  const a = new Float32Array(B * 4);
  for (let b = 0; b < B; b++) a.set([0.3 + 0.01 * b, 0, 0.1, -0.1], b * 4);
  return { embeddings: e, attributes: a };
}

/** The channel means the analytic model uses for a condition row (float64). */
export function means(cond: { embeddings: Float32Array; attributes: Float32Array }, b: number): number[] {
  return [
    0.8 * cond.embeddings[b * D] + 0.1 * cond.attributes[b * 4],
    0.8 * cond.embeddings[b * D + 1],
    0.8 * cond.embeddings[b * D + 2],
  ];
}

/** Every file under dir (relative path → bytes), skipping nothing. */
export function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

export function expectSameTree(a: string, b: string): void {
  const A = snapshot(a);
  const B = snapshot(b);
  expect([...A.keys()]).toEqual([...B.keys()]);
  for (const [k, v] of A) expect({ file: k, same: v.equals(B.get(k)!) }).toEqual({ file: k, same: true });
}
