/**
 * SamMaskGenerator on tiny SAM-contract stand-ins (test/sam-models.ts) against the numpy reference
 * (test/fixtures/sam_ref.py → sam_golden.json), the AMG pieces by hand, and the contract checks.
 */
import { describe, expect, test } from '@jest/globals';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import { InvalidArgumentError, ShapeError, createSession, type Image, type Session } from '@trustvision/core-tensor';
import {
  GCDSS_SAM_OPTIONS,
  SAM_AMG_DEFAULTS,
  SamMaskGenerator,
  assembleSegments,
  boxNms,
  cropBoxes,
  maskBox,
  pointGrid,
  removeSmallRegions,
  resizedSize,
  samPreprocess,
  stabilityScore,
  type SamMask,
} from '../src/index.js';
import { decoderModel, encoderModel, samGolden } from './sam-models.js';

const gold = samGolden();
const image: Image = {
  width: gold.image.width,
  height: gold.image.height,
  channels: 3,
  data: Uint8Array.from(gold.image.data),
};

function rle(mask: Uint8Array): number[] {
  const runs: number[] = [];
  let cur = 0;
  let n = 0;
  for (const v of mask) {
    if (v !== cur) {
      runs.push(n);
      cur = v;
      n = 0;
    }
    n++;
  }
  runs.push(n);
  return runs;
}

function expectGolden(masks: SamMask[]) {
  expect(masks.length).toBe(gold.masks.length);
  masks.forEach((m, i) => {
    const g = gold.masks[i];
    expect(m.area).toBe(g.area);
    expect(m.bbox).toEqual(g.bbox);
    expect(m.cropBox).toEqual(g.cropBox);
    expect(m.pointCoords[0]).toBeCloseTo(g.pointCoords[0], 9);
    expect(m.pointCoords[1]).toBeCloseTo(g.pointCoords[1], 9);
    expect(m.predictedIou).toBeCloseTo(g.predictedIou, 5);
    expect(m.stabilityScore).toBeCloseTo(g.stabilityScore, 9);
    expect(rle(m.segmentation)).toEqual(g.rle);
  });
}

describe('AMG pieces', () => {
  test('point grid: cell centres, x fastest', () => {
    expect(Array.from(pointGrid(2))).toEqual([0.25, 0.25, 0.75, 0.25, 0.25, 0.75, 0.75, 0.75]);
    expect(Array.from(pointGrid(1))).toEqual([0.5, 0.5]);
  });
  test("crop boxes of the paper's 1024×512 image (spec §8.1: 599×343 crops, overlap 174)", () => {
    const { boxes, layers } = cropBoxes(1024, 512, 1, 512 / 1500);
    expect(layers).toEqual([0, 1, 1, 1, 1]);
    expect(boxes).toEqual([
      [0, 0, 1024, 512],
      [0, 0, 599, 343],
      [0, 169, 599, 512],
      [425, 0, 1024, 343],
      [425, 169, 1024, 512],
    ]);
    expect(resizedSize(512, 1024, 1024)).toEqual([512, 1024]);
    expect(resizedSize(343, 599, 1024)).toEqual([586, 1024]); // 343·1024/599 = 586.4
  });
  test('preprocessing: normalise, then zero-pad bottom/right', () => {
    const img: Image = { width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 128, 255, 10, 20, 30]) };
    const t = samPreprocess(img, 4); // 1×2 → 2×4 (longest side 4)
    expect(t.shape).toEqual([1, 3, 4, 4]);
    const d = t.data as Float32Array;
    expect(d[0]).toBeCloseTo((0 - 123.675) / 58.395, 5); // R at (0, 0) of the resized image
    for (const i of [2 * 4, 3 * 4 + 3, 16 + 15, 32 + 12]) expect(d[i]).toBe(0); // padding rows
  });
  test('stability score, mask box, NMS', () => {
    expect(stabilityScore([2, 0.5, -0.5, -2], 0, 1)).toBeCloseTo(1 / 3, 15);
    expect(stabilityScore([-3, -2], 0, 1)).toBe(0); // SAM: NaN
    expect(maskBox(Uint8Array.from([0, 0, 0, 0, 1, 1, 0, 1, 0]), 3, 3)).toEqual([1, 1, 2, 2]);
    expect(maskBox(new Uint8Array(4), 2, 2)).toEqual([0, 0, 0, 0]);
    const boxes = [
      [0, 0, 10, 10],
      [1, 1, 10, 10], // IoU 0.81 with box 0
      [20, 20, 30, 30],
      [0, 0, 10, 9], // IoU 0.9 with box 0
    ];
    expect(boxNms(boxes, [0.5, 0.9, 0.1, 0.9], 0.7)).toEqual([1, 2]); // 1 (tie with 3: lower index) suppresses 0 and 3
    expect(boxNms(boxes, [0.5, 0.9, 0.1, 0.9], 0.95)).toEqual([1, 3, 0, 2]);
  });
  test('small regions: holes filled, islands removed, the largest kept when all are small', () => {
    // 5×5 ring with a one-pixel hole; a separate one-pixel island at (4, 4)
    const m = Uint8Array.from([1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const h = removeSmallRegions(m, 5, 5, 2, 'holes');
    expect(h.changed).toBe(true);
    expect(h.mask[6]).toBe(1);
    const i = removeSmallRegions(h.mask, 5, 5, 2, 'islands');
    expect(i.changed).toBe(true);
    expect(Array.from(i.mask)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const all = removeSmallRegions(m, 5, 5, 100, 'islands');
    expect(all.mask.reduce((a, b) => a + b, 0)).toBe(8); // the ring only
    expect(removeSmallRegions(m, 5, 5, 1, 'islands').changed).toBe(false);
  });
  test('small regions: the box-window computation equals the whole-image rule on random masks', () => {
    /** The rule on the whole image, with a plain BFS (8-connectivity). */
    function naive(mask: Uint8Array, w: number, h: number, minArea: number, holes: boolean) {
      const work = mask.map((v) => (v ? 1 : 0) ^ (holes ? 1 : 0));
      const lab = new Int32Array(w * h);
      const sizes = [0];
      for (let p = 0; p < w * h; p++) {
        if (!work[p] || lab[p]) continue;
        const id = sizes.length;
        const queue = [p];
        lab[p] = id;
        for (let q = 0; q < queue.length; q++) {
          const x = queue[q] % w;
          const y = Math.floor(queue[q] / w);
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              const xx = x + dx;
              const yy = y + dy;
              if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
              const r = yy * w + xx;
              if (work[r] && !lab[r]) ((lab[r] = id), queue.push(r));
            }
        }
        sizes.push(queue.length);
      }
      const small = sizes.map((s, i) => i > 0 && s < minArea);
      if (!small.some(Boolean)) return { mask: Array.from(mask), changed: false };
      if (holes) return { mask: Array.from(lab, (l) => (l === 0 || small[l] ? 1 : 0)), changed: true };
      let keep = sizes.map((_, i) => i > 0 && !small[i]);
      if (!keep.some(Boolean)) {
        const best = sizes.indexOf(Math.max(...sizes.slice(1)), 1);
        keep = sizes.map((_, i) => i === best);
      }
      return { mask: Array.from(lab, (l) => (keep[l] ? 1 : 0)), changed: true };
    }
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let changed = 0;
    for (let t = 0; t < 300; t++) {
      const w = 3 + Math.floor(rand() * 14);
      const h = 3 + Math.floor(rand() * 14);
      const m = new Uint8Array(w * h);
      // a few random rectangles (some touching the borders, some spanning the image), sometimes sparse noise
      const k = 1 + Math.floor(rand() * 3);
      for (let r = 0; r < k; r++) {
        const ax = Math.floor(rand() * w);
        const ay = Math.floor(rand() * h);
        const bx = ax + Math.floor(rand() * w);
        const by = ay + Math.floor(rand() * h);
        for (let y = ay; y < Math.min(h, by + 1); y++) for (let x = ax; x < Math.min(w, bx + 1); x++) m[y * w + x] = 1;
      }
      if (t % 3 === 0) for (let i = 0; i < m.length; i++) if (rand() < 0.15) m[i] ^= 1;
      const minArea = 1 + Math.floor(rand() * 12);
      for (const mode of ['holes', 'islands'] as const) {
        const got = removeSmallRegions(m, w, h, minArea, mode);
        const want = naive(m, w, h, minArea, mode === 'holes');
        expect({ mask: Array.from(got.mask), changed: got.changed }).toEqual(want);
        if (got.changed) changed++;
      }
    }
    expect(changed).toBeGreaterThan(100);
  });
  test('defaults: segment-anything and the official GCDSS settings', () => {
    expect(SAM_AMG_DEFAULTS).toMatchObject({ pointsPerSide: 32, predIouThresh: 0.88, stabilityScoreThresh: 0.95 });
    expect(GCDSS_SAM_OPTIONS).toMatchObject({
      predIouThresh: 0.86,
      stabilityScoreThresh: 0.92,
      cropNLayers: 1,
      cropNPointsDownscaleFactor: 2,
      minMaskRegionArea: 100,
      boxNmsThresh: 0.7,
      pointsPerBatch: 64,
    });
  });
});

describe('SamMaskGenerator', () => {
  test('matches the numpy reference (every filter stage active), batched prompts', async () => {
    // the reference drops masks at every stage: IoU, stability, crop edge, NMS in and across crops, small regions
    for (const k of ['iou', 'stability', 'cropEdge', 'nmsInCrop', 'nmsAcrossCrops', 'changedBySmallRegions'])
      expect(gold.stages[k]).toBeGreaterThan(0);
    const gen = await SamMaskGenerator.create(encoderModel(), decoderModel(), { ...gold.options, device: 'cpu' });
    try {
      expect(gen.contract).toMatchObject({ inputSize: 64, embedChannels: 4, embedSize: 4, fixedBatch: undefined });
      const masks = await gen.generate(image);
      expectGolden(masks);
      // one encoder run per crop (1 + 4); prompts in batches of 5: 36 → 8 runs, 9 per crop → 2 runs each
      expect(gen.runs).toEqual({ encoder: 5, decoder: 16 });
      // the masks assemble into a segment map covering the image
      const seg = assembleSegments(SamMaskGenerator.stack(masks), image.width, image.height, { theta: 50 });
      expect(seg.count).toBeGreaterThan(10);
      expect(seg.areas.reduce((a, b) => a + b, 0)).toBe(image.width * image.height);
    } finally {
      await gen.dispose();
    }
  });

  test('the official one-prompt-per-run decoder (B fixed to 1) gives the same masks', async () => {
    const enc = await createSession(encoderModel(), { device: 'cpu' });
    const dec = await createSession(decoderModel(undefined, { batch: 1 }), { device: 'cpu' });
    try {
      const gen = await SamMaskGenerator.create(enc, dec, gold.options);
      expect(gen.contract.fixedBatch).toBe(1);
      expectGolden(await gen.generate(image));
      expect(gen.runs.decoder).toBe(36 + 4 * 9);
      await gen.dispose(); // sessions passed in stay open
      expect(enc.inputs[0].name).toBe('image');
    } finally {
      await enc.dispose();
      await dec.dispose();
    }
  });

  test('contract errors name the model, the input or output, what it has and what is valid', async () => {
    const IA = InvalidArgumentError;
    const A = 'E_INVALID_ARGUMENT';
    const opts = { device: 'cpu' as const };
    await expectRejects(
      SamMaskGenerator.create(encoderModel(undefined, { inputName: 'pixels' }), decoderModel(), opts),
      IA,
      A,
      'encoder',
    );
    await expectRejects(
      SamMaskGenerator.create(decoderModel(), decoderModel(), opts), // a decoder where the encoder belongs
      IA,
      A,
      'encoder',
    );
    await expectRejects(
      SamMaskGenerator.create(encoderModel(), decoderModel(undefined, { dropInput: 'point_labels' }), opts),
      IA,
      A,
      'decoder',
    );
    await expectRejects(
      SamMaskGenerator.create(encoderModel(), decoderModel(undefined, { batch: 3 }), opts),
      ShapeError,
      'E_SHAPE',
      "decoder 'point_coords'",
    );
    // an encoder whose embedding does not fit the decoder's image_embeddings input
    const other = {
      ...gold.params,
      C: 8,
      convW: [...gold.params.convW, ...gold.params.convW],
      convB: [0, 0, 0, 0, 0, 0, 0, 0],
    };
    await expectRejects(
      SamMaskGenerator.create(encoderModel(other), decoderModel(), opts),
      ShapeError,
      'E_SHAPE',
      "decoder 'image_embeddings'",
    );
    await expectRejects(SamMaskGenerator.create(42 as never, decoderModel(), opts), IA, A, 'encoder');
    for (const [k, v] of [
      ['pointsPerSide', 0],
      ['predIouThresh', 1.5],
      ['stabilityScoreThresh', -0.1],
      ['cropNLayers', 1.5],
      ['minMaskRegionArea', -1],
      ['pointsPerBatch', 0],
    ] as const)
      await expectRejects(SamMaskGenerator.create(encoderModel(), decoderModel(), { ...opts, [k]: v }), IA, A, k);
    const gen = await SamMaskGenerator.create(encoderModel(), decoderModel(), {
      ...opts,
      pointsPerSide: 2,
      cropNPointsDownscaleFactor: 4,
    });
    try {
      // layer 1 would have 2 / 4 → 0 points per side
      await expectRejects(gen.generate(image), IA, A, 'cropNPointsDownscaleFactor');
      await expectRejects(gen.generate({ ...image, data: new Uint8Array(3) }), ShapeError, 'E_SHAPE', 'img.data');
    } finally {
      await gen.dispose();
    }
    expectThrows(() => samPreprocess(image, 0), IA, A, 'S');
  });

  test('a decoder whose masks do not have the crop size is a shape error', async () => {
    // a decoder that ignores orig_im_size: reports [B, 4, h, w] for a fixed 10×10
    const enc = await createSession(encoderModel(), { device: 'cpu' });
    const dec = await createSession(decoderModel(), { device: 'cpu' });
    const liar = {
      inputs: dec.inputs,
      outputs: dec.outputs,
      run: async (feeds: Record<string, unknown>, o: unknown) => {
        const f = feeds as Record<string, { data: Float32Array; shape: number[] }>;
        return dec.run(
          { ...f, orig_im_size: { ...f.orig_im_size, data: Float32Array.from([10, 10]) } } as never,
          o as never,
        );
      },
    } as unknown as Session;
    try {
      const gen = await SamMaskGenerator.create(enc, liar, { cropNLayers: 0, pointsPerSide: 2 });
      await expectRejects(gen.generate(image), ShapeError, 'E_SHAPE', "decoder output 'masks'");
    } finally {
      await enc.dispose();
      await dec.dispose();
    }
  });
});
