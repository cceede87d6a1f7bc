import { describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, Rng, ShapeError, rocAuc } from '@trustvision/core-tensor';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  contiguousLayout,
  createTemplate,
  layoutFromJSON,
  layoutToJSON,
  learnLayout,
  linkageScore,
  makeLayout,
  matchScore,
  protect,
  recoverTemplate,
  templateFromEmbedding,
  unlinkability,
} from '../src/index.js';

const rng = Rng.from('slerpface-layout');

/**
 * Synthetic identities in 64-d: dimensions 0..15 carry identity (strongly), 16..31 weakly, the rest are noise;
 * identity-carrying dimensions come in correlated pairs (d and d+32 share the identity signal).
 */
function synthetic(ids: number, per: number): { x: Float64Array; labels: number[] } {
  const D = 64;
  const x = new Float64Array(ids * per * D);
  const labels: number[] = [];
  for (let c = 0; c < ids; c++) {
    const centre = rng.normalArray(D);
    for (let s = 0; s < per; s++) {
      const row = (c * per + s) * D;
      const noise = rng.normalArray(D);
      for (let j = 0; j < D; j++) {
        const sig = j < 16 ? 1 : j < 32 ? 0.3 : 0;
        x[row + j] = sig * centre[j % 32] + noise[j];
      }
      for (let j = 32; j < 48; j++) x[row + j] = centre[j - 32] + 0.5 * noise[j];
      labels.push(c);
    }
  }
  return { x, labels };
}

describe('vector-form layouts', () => {
  test('contiguous layout: identity index, uniform weights, stable id', () => {
    const l = contiguousLayout(1024, 16);
    expect(l.groups).toBe(64);
    expect(Array.from(l.index.subarray(0, 4))).toEqual([0, 1, 2, 3]);
    expect(l.weights.every((w) => w === 1 / 64)).toBe(true);
    expect(contiguousLayout(1024, 16).id).toBe(l.id);
    expect(l.id).toMatch(/^vector-1024-64x16-[0-9a-f]{16}$/);
  });

  test('learned layout: discriminative dimensions grouped together and weighted up; JSON round trip', () => {
    const { x, labels } = synthetic(30, 6);
    const l = learnLayout(x, 64, labels, { groupSize: 8, seed: 1 });
    expect(l.groups).toBe(8);
    expect(l.grouping).toBe('discriminability');
    // the identity-carrying dims (0..15 and their cleaner copies 32..47) fill the first four groups
    const informative = (j: number) => j < 16 || (j >= 32 && j < 48);
    const firstFour = Array.from(l.index.subarray(0, 32));
    expect(firstFour.filter(informative).length).toBe(32);
    // correlation grouping puts each seed with its correlated copy
    const c = learnLayout(x, 64, labels, { groupSize: 8, grouping: 'correlation' });
    const g0 = Array.from(c.index.subarray(0, 8));
    expect(g0.some((j) => g0.includes(j < 32 ? j + 32 : j - 32))).toBe(true);
    // and those groups get most of the weight
    const w = Array.from(l.weights);
    expect(w.slice(0, 4).reduce((a, b) => a + b, 0)).toBeGreaterThan(0.8);
    expect(Math.abs(w.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
    const back = layoutFromJSON(JSON.stringify(layoutToJSON(l)));
    expect(back.id).toBe(l.id);
    expect(Array.from(back.index)).toEqual(Array.from(l.index));
    // a tampered file is refused
    const j = layoutToJSON(l) as { index: number[] };
    [j.index[0], j.index[1]] = [j.index[1], j.index[0]];
    expectThrows(() => layoutFromJSON(j), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'layout.id');
  });

  test('learned groups and weights separate genuine from impostor pairs better than contiguous/uniform after protection', () => {
    const { x, labels } = synthetic(40, 4);
    const test = synthetic(30, 2);
    const auc = (layout: ReturnType<typeof learnLayout>) => {
      const s: number[] = [];
      const y: number[] = [];
      for (let c = 0; c < 30; c++) {
        const r = protect(templateFromEmbedding(test.x.subarray(c * 128, c * 128 + 64), layout), { seed: c });
        for (let o = 0; o < 30; o++) {
          s.push(matchScore(r, templateFromEmbedding(test.x.subarray(o * 128 + 64, o * 128 + 128), layout)));
          y.push(o === c ? 1 : 0);
        }
      }
      return rocAuc(s, y);
    };
    const learned = auc(learnLayout(x, 64, labels, { groupSize: 8, seed: 2 }));
    const plain = auc(learnLayout(x, 64, labels, { groupSize: 8, grouping: 'contiguous', weighting: 'uniform' }));
    expect(learned).toBeGreaterThan(plain + 0.01);
    expect(learned).toBeGreaterThan(0.95);
  });

  test('bad input', () => {
    expectThrows(() => contiguousLayout(1000, 16), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'groupSize');
    expectThrows(
      () => makeLayout(8, 4, [0, 1, 2, 3, 4, 5, 6, 6], [0.5, 0.5]),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'index',
    );
    expectThrows(() => makeLayout(8, 4, [0, 1, 2, 3, 4, 5, 6, 7], [0.5]), ShapeError, 'E_SHAPE', 'weights');
    expectThrows(
      () => learnLayout(new Float64Array(64), 64, [0], {}),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels',
    );
    expectThrows(
      () => learnLayout(new Float64Array(128), 64, [0, 1], {}),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels',
    );
    expectThrows(() => learnLayout(new Float64Array(100), 64, [0, 0], {}), ShapeError, 'E_SHAPE', 'embeddings');
    expectThrows(
      () => templateFromEmbedding(new Float32Array(10), contiguousLayout(64, 8)),
      ShapeError,
      'E_SHAPE',
      'embedding',
    );
  });
});

describe('security measures', () => {
  const G = 49;
  const d = 16;
  const softmax = (v: Float64Array) => {
    const e = v.map(Math.exp);
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };
  const tpl = () =>
    createTemplate(rng.normalArray(G * d), softmax(rng.normalArray(G)), { groups: G, groupSize: d, form: 'grid' });
  const groupCos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < G; i++) {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let j = 0; j < d; j++) {
        ab += a[i * d + j] * b[i * d + j];
        aa += a[i * d + j] ** 2;
        bb += b[i * d + j] ** 2;
      }
      s += aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
    }
    return s / G;
  };

  test('without dropout, the key-holder inverts the record exactly; dropout makes recovery approximate', () => {
    const t = tpl();
    const exact = recoverTemplate(protect(t, { seed: 1, dropout: 'none' }));
    expect(groupCos(exact, t.values)).toBeGreaterThan(1 - 1e-9);
    const dropped = recoverTemplate(protect(t, { seed: 1 }));
    const c = groupCos(dropped, t.values);
    expect(c).toBeLessThan(0.95);
    expect(c).toBeGreaterThan(0); // still informative: the attack is real, dropout limits it
  });

  test('linkage scores of records under different keys do not separate mated from non-mated', () => {
    const mated: number[] = [];
    const non: number[] = [];
    for (let n = 0; n < 60; n++) {
      const t = tpl();
      const t2 = createTemplate(
        t.values.map((v) => v + 0.2 * rng.normalArray(1)[0]),
        t.weights,
        { groups: G, groupSize: d, form: 'grid' },
      );
      mated.push(linkageScore(protect(t, { rng }), protect(t2, { rng })));
      non.push(linkageScore(protect(t, { rng }), protect(tpl(), { rng })));
    }
    expect(unlinkability(mated, non).dsys).toBeLessThan(0.3);
    // same key for both records: fully linkable
    const same: number[] = [];
    for (let n = 0; n < 60; n++) {
      const t = tpl();
      const key = rng.normalArray(G * d);
      same.push(linkageScore(protect(t, { key, seed: n }), protect(t, { key, seed: n + 1000 })));
    }
    expect(unlinkability(same, non).dsys).toBeGreaterThan(0.9);
  });

  test('D↔sys: identical distributions ≈ 0, disjoint = 1; bad input', () => {
    const a = Array.from(rng.normalArray(500));
    const b = Array.from(rng.normalArray(500));
    expect(unlinkability(a, b).dsys).toBeLessThan(0.15);
    expect(
      unlinkability(
        a.map((v) => v + 20),
        b,
      ).dsys,
    ).toBeGreaterThan(0.999);
    expectThrows(() => unlinkability([1], b), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'mated/nonMated');
    expectThrows(() => unlinkability([1, NaN], b), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'scores');
  });
});
