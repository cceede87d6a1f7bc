/**
 * Invariants: Phase-A rules on hand-built graphs (rank-5 vs rank-6 threshold, ties, synchronous updates), k-means
 * determinism and monotonicity, the leak variant's defining property, the novel-count estimate, painting.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '@trustvision/core-tensor';
import {
  clusterMasks,
  estimateClusterCount,
  evaluateLabelMaps,
  readLabelPng,
  writeLabelPng,
  kmeansPlusPlus,
  nergMaskCA,
  nergOfficialLeak,
  paintLabelMap,
  propagateLabels,
  weightedKMeans,
} from '../src/index.js';
import { golden, goldenMasks } from './helpers.js';

/** A graph: node 0 = the unlabelled query, 1..10 = neighbours at ranks 1..10 (labelled with `labelsAtRank`, −1 = unlabelled). */
function single(labelsAtRank: number[]) {
  const labels = Int32Array.from([-1, ...labelsAtRank]);
  const neighbors = Int32Array.from({ length: labelsAtRank.length }, (_, r) => r + 1);
  return propagateLabels(labels, Int32Array.of(0), neighbors, labelsAtRank.length, 3);
}

describe('Phase A / Phase B rules', () => {
  test('one labelled neighbour passes τ·k at rank 5 but not at rank 6', () => {
    const at = (rank: number) => single(Array.from({ length: 10 }, (_, r) => (r + 1 === rank ? 2 : -1)));
    expect(at(5).phaseA[0]).toBe(2);
    expect(at(6).phaseA[0]).toBe(-1);
    expect(at(6).novel[0]).toBe(1); // unreached ⇒ novel candidate
  });
  test('an earlier rank outweighs a later one', () => {
    // node 0 has label-2 neighbour at rank 1 and label-1 at rank 2: rank 1 wins
    expect(propagateLabels(Int32Array.of(-1, 2, 1), Int32Array.of(0), Int32Array.of(1, 2), 2, 3).phaseA[0]).toBe(2);
    expect(propagateLabels(Int32Array.of(-1, 1, 2), Int32Array.of(0), Int32Array.of(1, 2), 2, 3).phaseA[0]).toBe(1);
  });
  test('updates are synchronous: a chain needs one iteration per hop', () => {
    // u0 → labelled node; u1 → u0 only; u2 → u1 only (k = 1, τ = 0.1: one neighbour of weight w votes 1·w)
    const labels = Int32Array.of(-1, -1, -1, 1);
    const unl = Int32Array.of(0, 1, 2);
    const nb = Int32Array.of(3, 0, 1);
    const r1 = propagateLabels(labels, unl, nb, 1, 2, 0.1, 1);
    expect(Array.from(r1.phaseA)).toEqual([1, -1, -1]);
    const r3 = propagateLabels(labels, unl, nb, 1, 2, 0.1, 10);
    expect(Array.from(r3.phaseA)).toEqual([1, 1, 1]);
    expect(r3.iterations).toBe(4); // three hops, then one iteration without change
  });
  test('Phase B: a propagated mask whose neighbours are mostly unreached becomes a novel candidate', () => {
    // node 0 is reached via labelled node 5 at rank 1; ranks 2..5 are unreached nodes 1..4 (whose neighbours are each other)
    const labels = Int32Array.of(-1, -1, -1, -1, -1, 0);
    const unl = Int32Array.of(0, 1, 2, 3, 4);
    const k = 5;
    const nb = Int32Array.of(5, 1, 2, 3, 4, 2, 3, 4, 0, 0, 1, 3, 4, 0, 0, 1, 2, 4, 0, 0, 1, 2, 3, 0, 0);
    const r = propagateLabels(labels, unl, nb, k, 1, 0.1, 10);
    expect(r.phaseA[0]).toBe(0);
    expect(r.novel[0]).toBe(1);
  });
});

describe('weighted k-means', () => {
  const g = golden().nerg;
  const n = g.M;
  const x = Float32Array.from(g.features);
  const w = Float64Array.from(g.areas);
  test('same seed ⇒ same result; the Lloyd steps never raise the inertia of the seeding', async () => {
    const a = await weightedKMeans(x, n, g.D, w, 4, { seed: 5 });
    const b = await weightedKMeans(x, n, g.D, w, 4, { seed: 5 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    const init = kmeansPlusPlus(x, n, g.D, w, 4, Rng.from(5));
    const zero = await weightedKMeans(x, n, g.D, w, 4, { init, maxIter: 1 });
    expect(a.inertia).toBeLessThanOrEqual(zero.inertia + 1e-9);
  });
  test('k-means++ seeds are data points; zero-weight points are never the first seed', () => {
    const wz = new Float64Array(n);
    wz[7] = 1;
    const c = kmeansPlusPlus(x, n, g.D, wz, 1, Rng.from(0));
    expect(Array.from(c)).toEqual(Array.from(x.subarray(7 * g.D, 8 * g.D)));
  });
  test('the estimate finds 3 well-separated clusters', async () => {
    const rng = Rng.from(1);
    const D = 6;
    const N = 90;
    const pts = new Float32Array(N * D);
    for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) pts[i * D + j] = (j === i % 3 ? 5 : 0) + 0.2 * rng.normal();
    const est = await estimateClusterCount(pts, N, D, new Float64Array(N).fill(1), { maxK: 8 });
    expect(est.k).toBe(3);
    expect(est.scores.map((s) => s.k)).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('NeRG-MaskCA variants', () => {
  const g = golden().nerg;
  test('the leak variant clusters candidates as a function of their true class; the fixed method does not read gt', async () => {
    const leak = await nergOfficialLeak(goldenMasks(), { k: g.k, novel: g.P });
    const byGt = new Map<number, number>();
    for (const m of leak.candidates) {
      const prev = byGt.get(g.gt[m]);
      if (prev !== undefined) expect(leak.assignments[m]).toBe(prev);
      byGt.set(g.gt[m], leak.assignments[m]);
    }
    const masks = goldenMasks();
    const a = await nergMaskCA(masks, { k: g.k, novel: g.P });
    const b = await nergMaskCA({ ...masks, gt: BigInt64Array.from(g.gt, () => 0n) }, { k: g.k, novel: g.P });
    expect(Array.from(a.assignments)).toEqual(Array.from(b.assignments));
  });
  test('without --novel the number of novel clusters is estimated (silhouette) and reported', async () => {
    const r = await nergMaskCA(goldenMasks(), { k: g.k, maxNovel: 6 });
    expect(r.estimate).toBeDefined();
    expect(r.numNovel).toBe(r.estimate!.k);
    expect(r.numNovel).toBeGreaterThanOrEqual(2);
    for (const m of r.candidates) expect(r.assignments[m]).toBeLessThan(g.B + r.numNovel);
  });
  test('clusterMasks dispatches; the baseline keeps labelled masks', async () => {
    const r = await clusterMasks(goldenMasks(), { method: 'baseline', novel: 2, seed: 1 });
    for (let i = 0; i < g.M; i++) if (g.labels[i] >= 0) expect(r.assignments[i]).toBe(g.labels[i]);
    const n = await clusterMasks(goldenMasks(), { novel: 2 });
    expect(n.numNovel).toBe(2);
    for (const m of n.candidates) expect(n.assignments[m]).toBeGreaterThanOrEqual(g.B);
  });
});

describe('paintLabelMap', () => {
  test('a painted map survives the PNG round trip and evaluates as itself (IoU 1 for every present class)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gcdss-png-'));
    const seg = Uint16Array.of(1, 1, 2, 2, 3, 3, 0, 4);
    const map = paintLabelMap(seg, 4, 2, [0, 1, 7, 255]);
    await writeLabelPng(path.join(dir, 'a.png'), map, 4, 2);
    const back = await readLabelPng(path.join(dir, 'a.png'));
    expect(back).toEqual({ labels: map, width: 4, height: 2 });
    const gt = Uint8Array.from(map, (v) => (v === 7 ? 2 : v));
    const r = evaluateLabelMaps([{ pred: map, gt, width: 4, height: 2 }], { base: [0, 1], novel: [2] });
    expect(r.matching).toEqual({ '7': 2 });
    expect(r.miou).toBe(1);
  });
  test('segment s gets segmentLabels[s − 1]; 0 and −1 get the unassigned value', () => {
    const seg = Uint16Array.of(0, 1, 2, 3, 3, 1);
    expect(Array.from(paintLabelMap(seg, 3, 2, [4, -1, 17]))).toEqual([255, 4, 255, 17, 17, 4]);
    expect(Array.from(paintLabelMap(seg, 3, 2, [4, -1, 17], { unassigned: 0 }))).toEqual([0, 4, 0, 17, 17, 4]);
  });
});
