import { describe, expect, test } from '@jest/globals';
import {
  BLAZEFACE_BACK,
  BLAZEFACE_FRONT,
  BlazeFaceDetector,
  DisposedError,
  GraphBuilder,
  InvalidArgumentError,
  NonFiniteError,
  ShapeError,
  attr,
  blazefaceAnchors,
  boxIou,
  cropSquare,
  decodeBlazeFace,
  iou,
  letterbox,
  nmsClusters,
  nonMaxSuppression,
  planTiles,
  sampleSquare,
  sigmoid,
  suppressFaces,
  tensor,
  type FaceDetection,
  type Image,
} from '../src/node';
import { expectThrows } from './helpers';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (±${tol})`);
}

describe('blazefaceAnchors', () => {
  test('front model: 16×16×2 + 8×8×6 = 896 anchors at cell centres, in output order', () => {
    const a = blazefaceAnchors(BLAZEFACE_FRONT);
    expect(a.count).toBe(896);
    expect(a.inputSize).toBe(128);
    expect(a.groups).toEqual([
      { stride: 8, grid: 16, perCell: 2, count: 512 },
      { stride: 16, grid: 8, perCell: 6, count: 384 },
    ]);
    // anchors 0, 1: cell (0, 0) of the 16-grid; anchor 2: cell (x 1, y 0)
    expectClose(a.centers.subarray(0, 6), [1 / 32, 1 / 32, 1 / 32, 1 / 32, 3 / 32, 1 / 32]);
    // anchor 511: last of the 16-grid, cell (15, 15)
    expectClose(a.centers.subarray(1022, 1024), [31 / 32, 31 / 32]);
    // anchors 512..517: cell (0, 0) of the 8-grid; 600 = 512 + 6·14 + 4 → cell 14 = (x 6, y 1)
    for (let k = 512; k < 518; k++) expectClose(a.centers.subarray(2 * k, 2 * k + 2), [1 / 16, 1 / 16]);
    expectClose(a.centers.subarray(1200, 1202), [6.5 / 8, 1.5 / 8]);
    expectClose(a.centers.subarray(1790, 1792), [7.5 / 8, 7.5 / 8]);
  });

  test('back model: 256 input, strides 16/32/32/32 → the same 896 anchors', () => {
    const a = blazefaceAnchors(BLAZEFACE_BACK);
    expect(a.count).toBe(896);
    expect(a.groups.map((g) => [g.grid, g.perCell])).toEqual([
      [16, 2],
      [8, 6],
    ]);
    expectClose(a.centers, blazefaceAnchors(BLAZEFACE_FRONT).centers);
  });

  test('grids round up, offset and anchors per layer are options', () => {
    const a = blazefaceAnchors({ inputSize: 100, strides: [32], anchorsPerLayer: 1, anchorOffset: 0 });
    expect(a.groups).toEqual([{ stride: 32, grid: 4, perCell: 1, count: 16 }]);
    expectClose(a.centers.subarray(0, 4), [0, 0, 0.25, 0]);
  });

  test('bad configs are typed errors', () => {
    expectThrows(
      () => blazefaceAnchors({ inputSize: 0, strides: [8] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'inputSize',
    );
    expectThrows(
      () => blazefaceAnchors({ inputSize: 128, strides: [] }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'strides',
    );
    expectThrows(
      () => blazefaceAnchors({ inputSize: 128, strides: [8], anchorOffset: 2 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'anchorOffset',
    );
  });
});

describe('sigmoid', () => {
  test('logistic with clipping', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(2)).toBeCloseTo(0.8807970779778823, 15);
    expect(sigmoid(1000)).toBe(sigmoid(100));
    expect(sigmoid(-1000)).toBe(1 / (1 + Math.exp(100)));
    expect(sigmoid(10, 5)).toBe(1 / (1 + Math.exp(-5)));
  });
});

/** Scores (all −10) and regressors (all 0) for the 896 front anchors, with two anchors set by hand. */
function synthetic() {
  const scores = new Float32Array(896).fill(-10);
  const regs = new Float32Array(896 * 16);
  // anchor 0, centre (1/32, 1/32): logit 2; box offset (12.8, −6.4), size 25.6 × 38.4; keypoints k·(6.4, 3.2)
  scores[0] = 2;
  regs.set([12.8, -6.4, 25.6, 38.4], 0);
  for (let k = 0; k < 6; k++) regs.set([6.4 * (k + 1), 3.2 * (k + 1)], 4 + 2 * k);
  // anchor 600, centre (6.5/8, 1.5/8): logit 0 → score exactly 0.5; box (0, 0) size 16 × 16
  scores[600] = 0;
  regs.set([0, 0, 16, 16], 600 * 16);
  return { scores, regs };
}

describe('decodeBlazeFace', () => {
  const anchors = blazefaceAnchors(BLAZEFACE_FRONT);

  test('hand-computed boxes and keypoints (normalised input coordinates)', () => {
    const { scores, regs } = synthetic();
    const d = decodeBlazeFace(scores, regs, anchors, { scoreThreshold: 0.5 });
    expect(d.count).toBe(2);
    expect(Array.from(d.anchors)).toEqual([0, 600]);
    expectClose(d.scores, [0.8807970779778823, 0.5]);
    // anchor 0: centre (12.8/128 + 1/32, −6.4/128 + 1/32) = (0.13125, −0.01875); half size (0.1, 0.15)
    // anchor 600: centre (0.8125, 0.1875); half size 1/16
    expectClose(d.boxes, [0.03125, -0.16875, 0.23125, 0.13125, 0.75, 0.125, 0.875, 0.25]);
    const kp0 = Array.from({ length: 6 }, (_, k) => [0.05 * (k + 1) + 1 / 32, 0.025 * (k + 1) + 1 / 32]).flat();
    const kp1 = Array.from({ length: 6 }, () => [0.8125, 0.1875]).flat();
    expectClose(d.keypoints, [...kp0, ...kp1]);
  });

  test('the score threshold is inclusive and clipping applies before it', () => {
    const { scores, regs } = synthetic();
    expect(decodeBlazeFace(scores, regs, anchors, { scoreThreshold: 0.51 }).count).toBe(1);
    expect(decodeBlazeFace(scores, regs, anchors, { scoreThreshold: 0 }).count).toBe(896);
    scores[5] = 1e6;
    const d = decodeBlazeFace(scores, regs, anchors, { scoreThreshold: 0.6, scoreClip: 1 });
    expectClose(d.scores, [sigmoid(1), sigmoid(1)]); // anchor 0 (logit 2) and 5 (1e6) both clip to 1
  });

  test('wrong lengths and options are typed errors', () => {
    const { scores, regs } = synthetic();
    expectThrows(() => decodeBlazeFace(scores.subarray(1), regs, anchors), ShapeError, 'E_SHAPE', 'scores');
    expectThrows(() => decodeBlazeFace(scores, regs.subarray(16), anchors), ShapeError, 'E_SHAPE', 'regressors');
    expectThrows(
      () => decodeBlazeFace(scores, regs, anchors, { scoreThreshold: 2 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'scoreThreshold',
    );
  });
});

describe('NMS', () => {
  // A, B overlap by IoU 81/119 = 0.6807; D overlaps A by 50/150 = 0.3333 and B by 54/146 = 0.3699; C is apart
  const boxes = [0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 5, 0, 15, 10];
  const scores = [0.9, 0.8, 0.7, 0.6];

  test('iou', () => {
    expect(iou(boxes, boxes, 0, 4)).toBeCloseTo(81 / 119, 12);
    expect(iou(boxes, boxes, 0, 12)).toBeCloseTo(1 / 3, 12);
    expect(iou(boxes, boxes, 4, 12)).toBeCloseTo(54 / 146, 12);
    expect(iou(boxes, boxes, 0, 8)).toBe(0);
    expect(iou([0, 0, 1, 1], [1, 0, 2, 1])).toBe(0); // touching
    expect(iou([0, 0, 2, 2], [0, 0, 2, 2])).toBe(1);
    expect(iou([0, 0, 0, 5], [0, 0, 0, 5])).toBe(0); // empty
    expect(boxIou({ x: 0, y: 0, width: 10, height: 10 }, { x: 1, y: 1, width: 10, height: 10 })).toBeCloseTo(
      81 / 119,
      12,
    );
  });

  test('hard NMS golden cases at three thresholds', () => {
    expect(Array.from(nonMaxSuppression(boxes, scores, { iouThreshold: 0.3 }))).toEqual([0, 2]);
    expect(Array.from(nonMaxSuppression(boxes, scores, { iouThreshold: 0.5 }))).toEqual([0, 2, 3]);
    expect(Array.from(nonMaxSuppression(boxes, scores, { iouThreshold: 0.7 }))).toEqual([0, 1, 2, 3]);
    expect(Array.from(nonMaxSuppression(boxes, scores, { iouThreshold: 0.3, maxDetections: 1 }))).toEqual([0]);
    expect(nmsClusters(boxes, scores, { iouThreshold: 0.3 })).toEqual([[0, 1, 3], [2]]);
  });

  test('input order does not matter; ties go to the lower index', () => {
    // reversed: D, C, B, A
    const rb = [5, 0, 15, 10, 20, 20, 30, 30, 1, 1, 11, 11, 0, 0, 10, 10];
    expect(Array.from(nonMaxSuppression(rb, [0.6, 0.7, 0.8, 0.9], { iouThreshold: 0.5 }))).toEqual([3, 1, 0]);
    expect(Array.from(nonMaxSuppression([0, 0, 1, 1, 0, 0, 1, 1], [0.5, 0.5]))).toEqual([0]);
  });

  const face = (x0: number, y0: number, x1: number, y1: number, score: number): FaceDetection => ({
    box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
    score,
    keypoints: [
      [x0, y0],
      [x1, y1],
    ],
  });

  test('weighted NMS blends each cluster by score, keeping the best score', () => {
    const faces = [
      face(0, 0, 10, 10, 0.9),
      face(1, 1, 11, 11, 0.8),
      face(20, 20, 30, 30, 0.7),
      face(5, 0, 15, 10, 0.6),
    ];
    const w = suppressFaces(faces, { method: 'weighted', iouThreshold: 0.5 });
    expect(w).toHaveLength(3);
    // A+B: x0 = (0·0.9 + 1·0.8)/1.7, x1 = (10·0.9 + 11·0.8)/1.7
    const a = 0.8 / 1.7;
    const b = (9 + 8.8) / 1.7;
    expectClose(
      [w[0].box.x, w[0].box.y, w[0].box.x + w[0].box.width, w[0].box.y + w[0].box.height],
      [a, a, b, b],
      1e-12,
    );
    expect(w[0].score).toBe(0.9);
    expectClose(w[0].keypoints.flat(), [a, a, b, b], 1e-12);
    expect(w[1]).toEqual(faces[2]);
    expect(w[2]).toEqual(faces[3]);
    // at 0.3 D joins the first cluster: x0 = (0.8 + 5·0.6)/2.3, y0 = 0.8/2.3, x1 = (9 + 8.8 + 9)/2.3, y1 = (17.8 + 6)/2.3
    const w3 = suppressFaces(faces, { iouThreshold: 0.3 });
    expect(w3).toHaveLength(2);
    const b3 = w3[0].box;
    expectClose([b3.x, b3.y, b3.x + b3.width, b3.y + b3.height], [3.8 / 2.3, 0.8 / 2.3, 26.8 / 2.3, 23.8 / 2.3], 1e-12);
    const h = suppressFaces(faces, { method: 'hard', iouThreshold: 0.3 });
    expect(h).toEqual([faces[0], faces[2]]);
    expect(h[0]).not.toBe(faces[0]); // copies
  });

  test('bad input is a typed error', () => {
    expectThrows(() => nmsClusters([0, 0, 1], [1]), ShapeError, 'E_SHAPE', 'boxes');
    expectThrows(() => nmsClusters([0, 0, 1, 1], [NaN]), NonFiniteError, 'E_NON_FINITE', 'scores');
    expectThrows(
      () => nmsClusters([0, 0, 1, 1], [1], { iouThreshold: -1 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'iouThreshold',
    );
    expectThrows(
      () => suppressFaces([], { method: 'soft' as 'hard' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'method',
    );
  });
});

describe('letterbox and tiles', () => {
  test('letterbox centres the image in a square of its larger side', () => {
    expect(letterbox(1280, 926)).toEqual({ x: 0, y: -177, size: 1280 });
    expect(letterbox(100, 300)).toEqual({ x: -100, y: 0, size: 300 });
  });

  test('tiles cover the image evenly, overlapping by at least the requested fraction', () => {
    const t = planTiles(1000, 600, { size: 400, overlap: 0.5 });
    expect(t.map((r) => [r.x, r.y])).toEqual([
      [0, 0],
      [200, 0],
      [400, 0],
      [600, 0],
      [0, 200],
      [200, 200],
      [400, 200],
      [600, 200],
    ]);
    // 1000 wide, 300 tiles, overlap 0.25 → step ≤ 225: ceil(700/225) + 1 = 5 tiles, 175 apart
    expect(planTiles(1000, 300, { size: 300, overlap: 0.25 }).map((r) => r.x)).toEqual([0, 175, 350, 525, 700]);
    // an axis shorter than the tile: one tile, centred
    expect(planTiles(300, 500, { size: 400 }).map((r) => [r.x, r.y])).toEqual([
      [-50, 0],
      [-50, 100],
    ]);
    expectThrows(() => planTiles(10, 10, { size: 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'tile.size');
    expectThrows(
      () => planTiles(10, 10, { size: 5, overlap: 1 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'tile.overlap',
    );
  });
});

describe('sampleSquare', () => {
  // 4×4 gray, value = 16·y + 4·x
  const gray: Image = {
    width: 4,
    height: 4,
    channels: 1,
    data: Uint8Array.from({ length: 16 }, (_, i) => 16 * (i >> 2) + 4 * (i & 3)),
  };

  test('shrinking averages the covered pixels (area)', () => {
    const out = sampleSquare(gray, { x: 0, y: 0, size: 4 }, 2);
    // block means: (0+4+16+20)/4 = 10, 18, 42, 50; gray → three equal channels
    expectClose(out, [10, 10, 10, 18, 18, 18, 42, 42, 42, 50, 50, 50]);
    // 3 outputs over 4 pixels: output 0 covers pixel 0 fully and 1/3 of pixel 1 → weights 3/4, 1/4
    const row = sampleSquare(
      { width: 4, height: 1, channels: 1, data: Uint8Array.from([0, 40, 80, 120]) },
      { x: 0, y: -1.5, size: 4 },
      3,
      {
        fill: 0,
      },
    );
    // rows: output row 1 covers y ∈ [−0.17, 1.17): only image row 0 (weight 1/(4/3) = 0.75) plus fill
    expectClose(
      [row[9], row[12], row[15]],
      [0.75 * (0.75 * 0 + 0.25 * 40), 0.75 * 60, 0.75 * (0.25 * 80 + 0.75 * 120)],
      1e-4,
    );
  });

  test('outside the image is the fill value; scale and offset map bytes', () => {
    const out = sampleSquare(gray, { x: -4, y: 0, size: 8 }, 2, { fill: 100, scale: 2 / 255, offset: -1 });
    const f = (100 * 2) / 255 - 1;
    // output (x 0, ·) covers x −4..0: fill; (x 1, y 0) covers the whole image: mean 30; (·, y 1) covers y 4..8: fill
    expectClose(out, [f, f, f, (30 * 2) / 255 - 1, (30 * 2) / 255 - 1, (30 * 2) / 255 - 1, f, f, f, f, f, f], 1e-6);
  });

  test('enlarging is half-pixel bilinear; RGB keeps channels; RGBA drops alpha', () => {
    const two: Image = { width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 10, 20, 40, 50, 60]) };
    const out = sampleSquare(two, { x: 0, y: -0.5, size: 2 }, 4);
    // output column 1 samples x = 0.5·1.5 − 0.5 = 0.25 → 0.75·pixel 0 + 0.25·pixel 1
    // output row 1 samples y = −0.5 + 0.5·1.5 − 0.5 = −0.25 → 0.75·row 0 + 0.25·fill (0)
    const r = out.subarray(4 * 3, 8 * 3); // output row 1
    expectClose([r[3], r[4], r[5]], [0.75 * (0.25 * 40), 0.75 * (7.5 + 12.5), 0.75 * (15 + 15)], 1e-5);
    const rgba: Image = { width: 1, height: 1, channels: 4, data: Uint8Array.from([1, 2, 3, 4]) };
    expectClose(sampleSquare(rgba, { x: 0, y: 0, size: 1 }, 1), [1, 2, 3]);
    const crop = cropSquare(gray, { x: 0, y: 0, size: 4 }, 2);
    expect(Array.from(crop.data)).toEqual([10, 10, 10, 18, 18, 18, 42, 42, 42, 50, 50, 50]);
  });

  test('bad regions are typed errors', () => {
    expectThrows(
      () => sampleSquare(gray, { x: 0, y: 0, size: 0 }, 2),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'region.size',
    );
    expectThrows(() => sampleSquare(gray, { x: NaN, y: 0, size: 1 }, 2), NonFiniteError, 'E_NON_FINITE', 'region.x');
    expectThrows(
      () => sampleSquare(gray, { x: 0, y: 0, size: 1 }, 0),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'outSize',
    );
  });
});

/**
 * A stand-in BlazeFace ONNX: input [1, 128, 128, 3]; the regressors are constants; every score logit is
 * `bias + gain · mean(input)`, so the input range convention decides which anchors fire.
 */
function stubModel(regs: Float32Array, bias: Float32Array, gain: number): Uint8Array {
  const g = new GraphBuilder('stub-blazeface');
  const x = g.input('input:0', 'float32', [1, 128, 128, 3]);
  const [m] = g.op('ReduceMean', [x], { keepdims: attr.i(0) });
  const [mg] = g.op('Mul', [m, g.constant(tensor(new Float32Array([gain]), []))]);
  const outs: [string, number[], Float32Array][] = [
    ['Identity:0', [1, 512, 1], bias.subarray(0, 512)],
    ['Identity_1:0', [1, 384, 1], bias.subarray(512)],
  ];
  for (const [name, shape, b] of outs) {
    const [s] = g.op('Add', [g.constant(tensor(Float32Array.from(b), shape)), mg]);
    g.output(s, 'float32', shape, name);
  }
  const [r0] = g.op('Identity', [g.constant(tensor(regs.slice(0, 512 * 16), [1, 512, 16]))]);
  const [r1] = g.op('Identity', [g.constant(tensor(regs.slice(512 * 16), [1, 384, 16]))]);
  g.output(r0, 'float32', [1, 512, 16], 'Identity_2:0');
  g.output(r1, 'float32', [1, 384, 16], 'Identity_3:0');
  return g.toBytes();
}

describe('BlazeFaceDetector (stub model)', () => {
  // anchor 272 = cell (8, 8) of the 16-grid, centre (0.53125, 0.53125): a 32×32 box → [0.40625, 0.65625]²
  // anchor 273, same cell: shifted by 2 px right, lower score → merged into 272's cluster
  const regs = new Float32Array(896 * 16);
  regs.set([0, 0, 32, 32, -8, -4, 8, -4, 0, 0, 0, 8, -16, 0, 16, 0], 272 * 16);
  regs.set([2, 0, 32, 32, -6, -4, 10, -4, 2, 0, 2, 8, -14, 0, 18, 0], 273 * 16);
  const bias = new Float32Array(896).fill(-20);
  bias[272] = 3;
  bias[273] = 1;
  const model = stubModel(regs, bias, 0);
  const img: Image = { width: 256, height: 128, channels: 3, data: new Uint8Array(256 * 128 * 3) };

  test('letterboxed detection maps back to image pixels; weighted NMS merges the pair', async () => {
    const det = await BlazeFaceDetector.create(model, { device: 'cpu' });
    try {
      expect(det.inputSize).toBe(128);
      expect(det.range).toEqual([-1, 1]);
      const faces = await det.detect(img);
      expect(faces).toHaveLength(1);
      // letterbox: side 256, origin (0, −64); scale 256 per unit
      const s1 = sigmoid(3);
      const s2 = sigmoid(1);
      const dx = (s2 * (2 / 128) * 256) / (s1 + s2); // blended x offset of the second candidate
      const f = faces[0];
      expect(f.score).toBeCloseTo(s1, 6);
      expectClose([f.box.x, f.box.y, f.box.width, f.box.height], [104 + dx, 40, 64, 64], 1e-3);
      // right eye: anchor + (−8, −4)/128 → (0.46875, 0.5); blended x moves by dx
      expectClose(f.keypoints[0], [0.46875 * 256 + dx, 0.5 * 256 - 64], 1e-3);
      expect(f.keypoints).toHaveLength(6);
      const hard = await det.detect(img, { nms: 'hard' });
      expectClose([hard[0].box.x, hard[0].box.y], [104, 40], 1e-3);
    } finally {
      await det.dispose();
    }
    await expect(det.detect(img)).rejects.toBeInstanceOf(DisposedError);
  });

  test('tiles: each tile reports the face at its own place; faces cut by an inner tile edge are dropped', async () => {
    const det = await BlazeFaceDetector.create(model, { device: 'cpu' });
    try {
      // two 128-px tiles at x = 0 and 128; the box [0.40625, 0.65625] of each → x 52 and 180
      const faces = await det.detect(img, { fullImage: false, tiles: [{ size: 128, overlap: 0 }], nms: 'hard' });
      expectClose(
        faces.map((f) => f.box.x).sort((a, b) => a - b),
        [52, 180],
        1e-3,
      );
      expectClose(
        faces.map((f) => f.box.y),
        [52, 52],
        1e-3,
      );
      // 4 tiles of 96 px over a 256 × 96 image: the box [39, 63] in tile coordinates stays clear of every edge
      const wide: Image = { width: 256, height: 96, channels: 3, data: new Uint8Array(256 * 96 * 3) };
      const t = await det.detect(wide, { fullImage: false, tiles: [{ size: 96, overlap: 0.5 }], nms: 'hard' });
      expect(t.length).toBeGreaterThan(0);
      // a huge edge margin drops everything that is not at the image border
      const none = await det.detect(wide, { fullImage: false, tiles: [{ size: 96, overlap: 0.5 }], edgeMargin: 0.45 });
      expect(none).toHaveLength(0);
      expect(await det.detect(img, { minFaceSize: 65 })).toHaveLength(0);
      expect(await det.detect(img, { maxFaceSize: 63 })).toHaveLength(0);
      await expect(det.detect(img, { fullImage: false })).rejects.toBeInstanceOf(InvalidArgumentError);
    } finally {
      await det.dispose();
    }
  });

  test('the input range decides what the model sees', async () => {
    // every logit = −3 + 6·mean(input): a black image is −1 in [−1, 1] (logit −9) but 0 in [0, 1] (logit −3)
    const m = stubModel(regs, new Float32Array(896).fill(-3), 6);
    const black: Image = { width: 128, height: 128, channels: 1, data: new Uint8Array(128 * 128) };
    const white: Image = { width: 128, height: 128, channels: 1, data: new Uint8Array(128 * 128).fill(255) };
    const d1 = await BlazeFaceDetector.create(m, { device: 'cpu' });
    const d2 = await BlazeFaceDetector.create(m, { device: 'cpu', range: [0, 1] });
    try {
      expect(await d1.detect(black, { scoreThreshold: 0.01 })).toHaveLength(0); // sigmoid(−9) = 1.2e−4
      expect((await d2.detect(black, { scoreThreshold: 0.01 })).length).toBeGreaterThan(0); // sigmoid(−3) = 0.047
      const w = await d1.detect(white, { nms: 'hard', iouThreshold: 1 });
      expect(w[0].score).toBeCloseTo(sigmoid(3), 5);
    } finally {
      await d1.dispose();
      await d2.dispose();
    }
  });

  test('models that are not BlazeFace-shaped are refused', async () => {
    const g = new GraphBuilder('nchw');
    const x = g.input('x', 'float32', [1, 3, 128, 128]);
    g.output(x, 'float32', [1, 3, 128, 128], 'y');
    await expect(BlazeFaceDetector.create(g.toBytes(), { device: 'cpu' })).rejects.toBeInstanceOf(ShapeError);
    await expect(
      BlazeFaceDetector.create(model, { device: 'cpu', anchors: { inputSize: 128, strides: [8, 8, 16] } }),
    ).rejects.toBeInstanceOf(ShapeError);
    await expect(
      BlazeFaceDetector.create('no-such-model-xyz', { device: 'cpu', dirs: ['/nonexistent'] }),
    ).rejects.toMatchObject({
      code: 'E_FILE_NOT_FOUND',
    });
  });
});
