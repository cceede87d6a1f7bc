/**
 * Generation driver: a small dataset end to end on the analytic denoiser; per-identity helpers equal the batched
 * samplers; an interrupted run resumed gives a byte-identical folder; shard files round-trip; another configuration,
 * too little disk and bad configs are typed errors.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, Rng, readNpy } from '@trustvision/core-tensor';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  DatasetConfigMismatchError,
  Denoiser,
  FrGradient,
  FrModel,
  GenerationPlan,
  InsufficientDiskSpaceError,
  checkDiskSpace,
  generateDataset,
  identityAttributes,
  identityEmbeddings,
  inspectDataset,
  linearFrModel,
  randomAnchors,
  readDatasetManifest,
  resolveGenerationConfig,
  sampleAttributes,
  sampleEmbeddings,
  type GenerationConfig,
} from '../src/index.js';
import { denoiserBytes, expectSameTree, frGradBytes } from './helpers.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'id3-gen-'));

const CONFIG: GenerationConfig = {
  identities: 5,
  perIdentity: 3,
  seed: 42,
  sampler: 'ddim',
  steps: 8,
  batchSize: 4,
  shardSize: 2,
  anchorIterations: 5,
  guidanceScale: 20,
};

describe('per-identity helpers', () => {
  test('identityEmbeddings / identityAttributes equal the batched samplers', () => {
    const A = randomAnchors(4, 8, 1);
    const all = sampleEmbeddings({ data: A, shape: [4, 8] }, { perIdentity: 3, lb: 0.5, ub: 0.7, seed: 9 });
    const attrs = sampleAttributes(4, 3, { seed: 9 });
    for (let i = 0; i < 4; i++) {
      const one = identityEmbeddings(A.subarray(i * 8, (i + 1) * 8), i, { perIdentity: 3, lb: 0.5, ub: 0.7, seed: 9 });
      expect(Array.from(one.embeddings)).toEqual(Array.from(all.embeddings.subarray(i * 24, (i + 1) * 24)));
      expect(Array.from(one.cosines)).toEqual(Array.from(all.cosines.subarray(i * 3, (i + 1) * 3)));
      expect(Array.from(identityAttributes(i, 3, { seed: 9 }))).toEqual(
        Array.from(attrs.values.subarray(i * 12, (i + 1) * 12)),
      );
    }
  });
});

describe('generateDataset', () => {
  test('writes a complete dataset; an interrupted run resumes to the same bytes', async () => {
    const den = await Denoiser.create(denoiserBytes(), { device: 'cpu' });
    const frGrad = await FrGradient.create(frGradBytes(), { device: 'cpu' });
    const models = { denoiser: den, frGrad };
    const a = tmp();
    const b = tmp();
    try {
      const progress: number[] = [];
      const r = await generateDataset(a, models, CONFIG, { onProgress: (p) => progress.push(p.identitiesDone) });
      expect(r.written).toBe(5);
      expect(progress).toEqual([0, 2, 4, 5]);
      const manifest = await readDatasetManifest(a);
      expect(manifest).toHaveLength(15);
      expect(manifest[4]).toMatchObject({ identity: 1, image: 1, file: '00001/001.png', anchor: 1, seed: '42/1' });
      const cfg = JSON.parse(readFileSync(path.join(a, 'config.json'), 'utf8'));
      expect(cfg.extra).toMatchObject({
        sampler: 'ddim',
        steps: 8,
        guidance: 'fr-grad',
        guidanceScale: 20,
        shardSize: 2,
        batchSize: 4,
      });
      const anchors = await readNpy(path.join(a, 'anchors.npy'));
      expect(anchors.shape).toEqual([5, 16]);
      // interrupted: only the first shard, then a resumed run
      const plan = await GenerationPlan.open(b, models, CONFIG);
      await plan.commit((await plan.computeShard(0)).slice(0, 1)); // identity 0 only
      const resumed = await generateDataset(b, models, CONFIG);
      expect(resumed.written).toBe(4);
      expectSameTree(a, b);
      // a complete folder: nothing to do
      expect((await generateDataset(b, models, CONFIG)).written).toBe(0);
      // shard files round-trip
      const recs = await plan.computeShard(1);
      await plan.saveShard(1, recs);
      const back = await plan.loadShard(1);
      expect(back!.map((x) => x.identity)).toEqual([2, 3]);
      expect(Buffer.from(back![1].images[2].data).equals(Buffer.from(recs[1].images[2].data))).toBe(true);
      expect(await plan.loadShard(0)).toBeUndefined();
      // another configuration
      await expectRejects(
        generateDataset(b, models, { ...CONFIG, steps: 9 }),
        DatasetConfigMismatchError,
        'E_INVALID_ARGUMENT',
        'extra.steps',
      );
      await expectRejects(
        generateDataset(b, { denoiser: den }, CONFIG),
        DatasetConfigMismatchError,
        'E_INVALID_ARGUMENT',
        'extra.frGradHash',
      );
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
      await den.dispose();
      await frGrad.dispose();
    }
  });

  test('inspectDataset: an FR model of another input size (images resized), and the conditioning embeddings', async () => {
    const den = await Denoiser.create(denoiserBytes(), { device: 'cpu' });
    const d = tmp();
    try {
      await generateDataset(d, { denoiser: den }, { ...CONFIG, guidanceScale: 0, identities: 4 });
      const W4 = Rng.from(2).normalFloat32(16 * 3 * 4 * 4, 0, 0.1);
      const fr = await FrModel.create(linearFrModel({ channels: 3, height: 4, width: 4, embeddingDim: 16, W: W4 }), {
        device: 'cpu',
      });
      const r = await inspectDataset(d, { fr, bins: 8 });
      await fr.dispose();
      expect(r).toMatchObject({ source: 'fr-model', identities: 4, perIdentity: 3, bins: 8 });
      expect(r.intra.count).toBe(4 * 3);
      expect(r.inter.count).toBe(6);
      expect(r.intra.histogram.reduce((a, b) => a + b, 0)).toBe(12);
      expect(r.perIdentityMean).toHaveLength(4);
      // the conditioning embeddings: cosines to the anchor in [0.5, 0.7], so pairs of one identity are mostly positive
      const c = await inspectDataset(d);
      expect(c.source).toBe('conditioning');
      expect(c.intra.mean).toBeGreaterThan(c.inter.mean);
      expect(c.intra.min).toBeGreaterThanOrEqual(-1);
      expect(c.inter.max).toBeLessThanOrEqual(1);
      await expectRejects(inspectDataset(d, { bins: 1 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'bins');
    } finally {
      rmSync(d, { recursive: true, force: true });
      await den.dispose();
    }
  });

  test('disk space and bad configurations', async () => {
    const d = tmp();
    try {
      const need = { identities: 10000, perIdentity: 50, width: 112, height: 112, channels: 3, embeddingDim: 512 };
      const e = await expectRejects(checkDiskSpace(d, need, 1e9), InsufficientDiskSpaceError, 'E_IO', 'identities');
      expect(e.message).toMatch(/need about .* GiB/);
      expect((await checkDiskSpace(d, { ...need, identities: 1, perIdentity: 1 })).needed).toBeGreaterThan(
        112 * 112 * 3,
      );
      expectThrows(
        () => resolveGenerationConfig({ ...CONFIG, lb: 0.9, ub: 0.5 }),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'ub',
      );
      expectThrows(
        () => resolveGenerationConfig({ ...CONFIG, perIdentity: 1000 }),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'perIdentity',
      );
      expectThrows(
        () => resolveGenerationConfig({ ...CONFIG, anchors: 'grid' as never }),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'anchors',
      );
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
