/**
 * The SAM export wrapper of models/python/gcdss_export_sam.py, on its random-weight stand-in (committed ONNX files and
 * PyTorch outputs made by `python3 models/python/gcdss_export_sam.py --random-init --seed 0 --out-dir
 * packages/gcdss/test/fixtures/sam-export --reference packages/gcdss/test/fixtures/sam-export/reference.npz`): the
 * torch-exported graphs pass the contract check, ONNX Runtime reproduces PyTorch at two prompt-batch and crop sizes,
 * and SamMaskGenerator runs on them.
 */
import { describe, expect, test } from '@jest/globals';
import path from 'node:path';
import { createSession, readNpz, type Tensor } from '@trustvision/core-tensor';
import { SamMaskGenerator, checkSamContract } from '../src/index.js';

const dir = path.join(__dirname, 'fixtures/sam-export');

function maxRelDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.data.length; i++) {
    d = Math.max(d, Math.abs(Number(a.data[i]) - Number(b.data[i])));
    m = Math.max(m, Math.abs(Number(b.data[i])));
  }
  return d / m;
}

describe('SAM export (stand-in weights)', () => {
  test('contract, ORT = PyTorch (dynamic prompt batch and crop size), automatic masks', async () => {
    const r = await readNpz(path.join(dir, 'reference.npz'));
    const enc = await createSession(path.join(dir, 'sam_encoder.onnx'), { device: 'cpu' });
    const dec = await createSession(path.join(dir, 'sam_decoder.onnx'), { device: 'cpu' });
    try {
      expect(checkSamContract(enc, dec)).toEqual({
        inputSize: 64,
        embedChannels: 32,
        embedSize: 8,
        maskInputSize: 32,
        fixedBatch: undefined,
      });
      const e = await enc.run({ image: r.image });
      expect(maxRelDiff(e.image_embeddings, r.image_embeddings)).toBeLessThan(1e-5);
      const common = {
        image_embeddings: r.image_embeddings,
        mask_input: r.mask_input,
        has_mask_input: r.has_mask_input,
      };
      const d1 = await dec.run({
        ...common,
        point_coords: r.point_coords,
        point_labels: r.point_labels,
        orig_im_size: r.orig_im_size,
      });
      expect(d1.masks.shape).toEqual([3, 4, 25, 32]);
      for (const k of ['masks', 'iou_predictions', 'low_res_masks']) expect(maxRelDiff(d1[k], r[k])).toBeLessThan(1e-5);
      const d2 = await dec.run({
        ...common,
        point_coords: r.point_coords2,
        point_labels: r.point_labels2,
        orig_im_size: r.orig_im_size2,
      });
      expect(d2.masks.shape).toEqual([5, 4, 32, 21]);
      expect(maxRelDiff(d2.masks, r.masks2)).toBeLessThan(1e-5);
      expect(maxRelDiff(d2.iou_predictions, r.iou_predictions2)).toBeLessThan(1e-5);
      const gen = await SamMaskGenerator.create(enc, dec, {
        pointsPerSide: 4,
        predIouThresh: 0,
        stabilityScoreThresh: 0,
        minMaskRegionArea: 0,
      });
      const img = {
        width: 48,
        height: 32,
        channels: 3 as const,
        data: Uint8Array.from({ length: 48 * 32 * 3 }, (_, i) => (i * 13) % 256),
      };
      const masks = await gen.generate(img);
      expect(gen.runs).toEqual({ encoder: 5, decoder: 5 }); // 16 + 4·4 prompts in batches of 64 (one per crop)
      for (const m of masks) {
        expect(m.segmentation.length).toBe(48 * 32);
        expect(m.area).toBe(m.segmentation.reduce((a, b) => a + b, 0));
      }
    } finally {
      await enc.dispose();
      await dec.dispose();
    }
  });
});
