import { describe, expect, test } from '@jest/globals';
import {
  ARCFACE_TEMPLATE_112,
  alignFace,
  arcfaceTemplate,
  estimateSimilarity,
  invertAffine,
  transformPoints,
  warpAffine,
} from '../src/align.js';
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '../src/errors.js';
import { type Image, imageToTensor } from '../src/image.js';
import { resizeBilinear, resizeImage } from '../src/resize.js';
import { type Tensor, tensor, transpose, contiguous } from '../src/tensor.js';
import { expectThrows } from './helpers';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (±${tol})`);
  }
}

/** The input of the numpy goldens (make_fixtures.py, resize_input): ((7c + 13y + 5x) mod 17) / 4 − 2, [C, H, W]. */
function resizeInput(c: number, h: number, w: number): Tensor<'float32'> {
  const data = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) data[(k * h + y) * w + x] = ((7 * k + 13 * y + 5 * x) % 17) / 4 - 2;
  return tensor(data, [c, h, w]);
}

// numpy reference (make_fixtures.py, resize_ref), which agrees with scipy.ndimage.zoom(order=1, grid_mode=True)
const GOLDEN_2x4x5_TO_6x3 = [
  -1.58333333, 0.5, -0.25, -0.666666667, 0, 0.666666667, 0.319444444, -0.666666667, 1.41666667, 0.597222222,
  -1.33333333, 0.75, 0.166666667, 0.125, 0.0833333333, -0.333333333, 1.75, -0.416666667, 0.166666667, -2, 0.0833333333,
  -0.333333333, -0.375, -0.416666667, -0.527777778, 1.08333333, -0.847222222, 0.694444444, 0.416666667, -0.569444444,
  0.5, -0.25, 0.416666667, -1.11022302e-16, -0.75, 1.33333333,
];
const GOLDEN_2x4x5_TO_3x8 = [
  -1.45833333, -1.22135417, -0.838541667, -0.0572916667, 0.723958333, 1.50520833, 0.294270833, -0.708333333, 0.75,
  0.3671875, -0.1796875, -0.7265625, -0.609375, 0.171875, 0.953125, 1.5, -0.583333333, -0.0364583333, 0.700520833,
  1.0390625, 0.4921875, -0.940104167, -0.380208333, 0.166666667, -0.416666667, 0.130208333, 0.690104167, -0.7421875,
  -1.2890625, -0.950520833, -0.213541667, 0.333333333, 0.375, -0.0078125, -0.421875, 0.359375, 0.4765625, -0.0703125,
  -0.6171875, -1, 1.16666667, -0.145833333, -1.75520833, -0.973958333, -0.192708333, 0.588541667, 0.971354167,
  1.20833333,
];
const GOLDEN_2x4x5_TO_6x3_ALIGN = [
  -2, 0.5, -1.25, -0.05, -0.1, 0.7, 1.05, -0.7, 1.8, 0.45, -1.3, 1.2, -0.15, -0.2, 0.6, -0.75, 1.75, 0, -0.25, -2, 0.5,
  -0.85, -0.05, -0.1, -0.6, 1.05, -0.7, 1.35, 0.45, -1.3, 1.6, -0.15, -0.2, 1, -0.75, 1.75,
];
const GOLDEN_1x5x7_TO_2x3 = [-0.854166667, 1, -0.333333333, -0.166666667, -0.4375, 0.354166667];

describe('resizeBilinear', () => {
  test('half-pixel centers, up in H and down in W', () => {
    const out = resizeBilinear(resizeInput(2, 4, 5), 6, 3, { layout: 'chw' });
    expect(out.shape).toEqual([2, 6, 3]);
    expectClose(out.data, GOLDEN_2x4x5_TO_6x3, 1e-5);
  });

  test('half-pixel centers, down in H and up in W', () => {
    expectClose(resizeBilinear(resizeInput(2, 4, 5), 3, 8).data, GOLDEN_2x4x5_TO_3x8, 1e-5);
  });

  test('align corners', () => {
    const out = resizeBilinear(resizeInput(2, 4, 5), 6, 3, { layout: 'chw', alignCorners: true });
    expectClose(out.data, GOLDEN_2x4x5_TO_6x3_ALIGN, 1e-5);
  });

  test('non-integer downscale', () => {
    expectClose(resizeBilinear(resizeInput(1, 5, 7), 2, 3).data, GOLDEN_1x5x7_TO_2x3, 1e-5);
  });

  test('hwc layout, [H, W] and batched inputs give the same numbers', () => {
    const chw = resizeInput(2, 4, 5);
    const hwc = contiguous(transpose(chw, [1, 2, 0]));
    const out = resizeBilinear(hwc, 6, 3, { layout: 'hwc' });
    expect(out.shape).toEqual([6, 3, 2]);
    expectClose(contiguous(transpose(out, [2, 0, 1])).data, GOLDEN_2x4x5_TO_6x3, 1e-5);
    // a strided view in, too
    expectClose(resizeBilinear(transpose(hwc, [2, 0, 1]), 6, 3).data, GOLDEN_2x4x5_TO_6x3, 1e-5);
    const plane = tensor(chw.data.slice(20, 40), [4, 5]);
    expectClose(resizeBilinear(plane, 6, 3).data, GOLDEN_2x4x5_TO_6x3.slice(18), 1e-5);
    const batch = tensor(new Float32Array([...chw.data, ...chw.data]), [2, 2, 4, 5]);
    const b = resizeBilinear(batch, 6, 3);
    expect(b.shape).toEqual([2, 2, 6, 3]);
    expectClose(b.data, [...GOLDEN_2x4x5_TO_6x3, ...GOLDEN_2x4x5_TO_6x3], 1e-5);
    const bh = resizeBilinear(tensor(new Float32Array([...hwc.data, ...hwc.data]), [2, 4, 5, 2]), 6, 3, {
      layout: 'hwc',
    });
    expect(bh.shape).toEqual([2, 6, 3, 2]);
    expectClose(bh.data.subarray(36), out.data, 0);
  });

  test('same size is the identity; constant images stay constant', () => {
    const x = resizeInput(2, 4, 5);
    expect(Array.from(resizeBilinear(x, 4, 5).data)).toEqual(Array.from(x.data));
    const c = resizeBilinear(tensor(new Float32Array(12).fill(0.3), [1, 3, 4]), 7, 9);
    for (const v of c.data) expect(v).toBeCloseTo(0.3, 6);
  });

  test('errors', () => {
    const x = resizeInput(1, 2, 2);
    expectThrows(() => resizeBilinear(x, 0, 2), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'outH');
    expectThrows(() => resizeBilinear(x, 2, 1.5), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'outW');
    expectThrows(
      () => resizeBilinear(x, 2, 2, { layout: 'nhwc' as 'hwc' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'layout',
    );
    expectThrows(() => resizeBilinear(tensor(new Float32Array(2), [2]), 2, 2), ShapeError, 'E_SHAPE', 't');
    expectThrows(() => resizeBilinear(tensor(new Float64Array(4), [2, 2]) as never, 2, 2), DTypeError, 'E_DTYPE', 't');
  });
});

describe('resizeImage', () => {
  test('matches the float resize, rounded', () => {
    const img: Image = {
      width: 5,
      height: 4,
      channels: 3,
      data: Uint8Array.from({ length: 60 }, (_, i) => (i * 37) % 256),
    };
    const out = resizeImage(img, 3, 6);
    expect([out.width, out.height, out.channels]).toEqual([3, 6, 3]);
    const ref = resizeBilinear(imageToTensor(img, { layout: 'hwc', scale: '0-255' }), 6, 3, { layout: 'hwc' });
    // the float tensor path rounds to float32 first, so near-ties may round the other way
    expectClose(
      out.data,
      Array.from(ref.data, (v) => Math.round(v)),
      1,
    );
    // a 2× upscale has exact weights (1/4, 3/4): identical, ties rounded up
    const up = resizeImage(img, 10, 8);
    const upRef = resizeBilinear(imageToTensor(img, { layout: 'hwc', scale: '0-255' }), 8, 10, { layout: 'hwc' });
    expect(Array.from(up.data)).toEqual(Array.from(upRef.data, (v) => Math.round(v)));
  });

  test('same size copies; errors', () => {
    const img: Image = { width: 2, height: 1, channels: 1, data: Uint8Array.from([1, 2]) };
    const same = resizeImage(img, 2, 1);
    expect(same).toEqual(img);
    expect(same.data).not.toBe(img.data);
    expectThrows(() => resizeImage(img, -1, 1), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'outW');
  });
});

// numpy SVD-based Umeyama (make_fixtures.py, umeyama) on these landmarks
const LANDMARKS = [120.5, 140.2, 180.3, 138.9, 151.0, 175.4, 128.7, 205.1, 176.2, 203.8];
const GOLDEN_UMEYAMA = [0.614170147, -0.0141383826, -34.4809342, 0.0141383826, 0.614170147, -36.2938238];
const GOLDEN_UMEYAMA_MIRRORED = [0.125023165, 0.0065281909, 23.8106117, -0.0065281909, 0.125023165, 51.9350798];
const GOLDEN_UMEYAMA_224 = [1.22834029, -0.0282767653, -68.9618683, 0.0282767653, 1.22834029, -72.5876477];

/** A similarity: scale s, rotation θ (radians), then translation. */
function similarity(s: number, theta: number, tx: number, ty: number): number[] {
  const c = s * Math.cos(theta);
  const n = s * Math.sin(theta);
  return [c, -n, tx, n, c, ty];
}

/** An RGB image with a Gaussian spot (σ = 2) at each point, on a dark background. */
function spots(width: number, height: number, pts: ArrayLike<number>): Image {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (let i = 0; i < pts.length; i += 2) v += Math.exp(-((x - pts[i]) ** 2 + (y - pts[i + 1]) ** 2) / 8);
      const b = Math.round(10 + 240 * Math.min(1, v));
      data.set([b, b, b], (y * width + x) * 3);
    }
  return { width, height, channels: 3, data };
}

/** Intensity-weighted centroid (above the background) within `r` pixels of (cx, cy). */
function centroid(img: Image, cx: number, cy: number, r = 5): [number, number] {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (let y = Math.round(cy) - r; y <= Math.round(cy) + r; y++)
    for (let x = Math.round(cx) - r; x <= Math.round(cx) + r; x++) {
      if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
      const w = Math.max(0, img.data[(y * img.width + x) * img.channels] - 10);
      sw += w;
      sx += w * x;
      sy += w * y;
    }
  return [sx / sw, sy / sw];
}

describe('estimateSimilarity', () => {
  test('matches numpy Umeyama', () => {
    expectClose(estimateSimilarity(LANDMARKS, ARCFACE_TEMPLATE_112), GOLDEN_UMEYAMA, 1e-6);
    expectClose(estimateSimilarity(LANDMARKS), GOLDEN_UMEYAMA, 1e-6);
    expectClose(estimateSimilarity(LANDMARKS, arcfaceTemplate(224)), GOLDEN_UMEYAMA_224, 1e-6);
  });

  test('never reflects: a mirrored face still gets a rotation (numpy golden)', () => {
    const mirrored = LANDMARKS.map((v, i) => (i % 2 === 0 ? 400 - v : v));
    const m = estimateSimilarity(mirrored);
    expectClose(m, GOLDEN_UMEYAMA_MIRRORED, 1e-6);
    expect(m[0] * m[4] - m[1] * m[3]).toBeGreaterThan(0);
  });

  test('recovers an exact similarity; accepts [x, y] pairs', () => {
    const M = similarity(0.8, 0.3, 12, -5);
    const dst = transformPoints(M, LANDMARKS);
    expectClose(estimateSimilarity(LANDMARKS, dst), M, 1e-10);
    const pairs = [0, 2, 4, 6, 8].map((i) => [LANDMARKS[i], LANDMARKS[i + 1]]);
    expectClose(estimateSimilarity(pairs, dst), M, 1e-10);
  });

  test('errors', () => {
    expectThrows(() => estimateSimilarity([1, 2, 3]), ShapeError, 'E_SHAPE', 'src');
    expectThrows(() => estimateSimilarity([1, 2, 3, 4], [1, 2]), ShapeError, 'E_SHAPE', 'dst');
    expectThrows(() => estimateSimilarity(new Array(10).fill(3)), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'src');
    expectThrows(() => estimateSimilarity([1, 2, NaN, 4], [1, 2, 3, 4]), NonFiniteError, 'E_NON_FINITE', 'src');
  });
});

describe('warpAffine', () => {
  const img: Image = { width: 3, height: 2, channels: 1, data: Uint8Array.from([10, 20, 30, 40, 50, 60]) };

  test('identity, integer translation, borders', () => {
    expect(warpAffine(img, [1, 0, 0, 0, 1, 0], 3, 2)).toEqual(img);
    const shifted = warpAffine(img, [1, 0, 1, 0, 1, 0], 3, 2, { fill: 7 });
    expect(Array.from(shifted.data)).toEqual([7, 10, 20, 7, 40, 50]);
    const rep = warpAffine(img, [1, 0, 1, 0, 1, 0], 3, 2, { border: 'replicate' });
    expect(Array.from(rep.data)).toEqual([10, 10, 20, 40, 40, 50]);
    // half a pixel: bilinear blend, with the constant border blending in at the edge
    const half = warpAffine(img, [1, 0, 0.5, 0, 1, 0], 3, 2);
    expect(Array.from(half.data)).toEqual([5, 15, 25, 20, 45, 55]);
  });

  test('round trip: warp a synthetic image and recover the similarity from it', () => {
    const pts = [40, 50, 88, 48, 64, 76, 44, 100, 86, 98];
    const src = spots(128, 128, pts);
    const M = similarity(0.9, 0.25, 20, -8);
    const warped = warpAffine(src, M, 128, 128);
    const predicted = transformPoints(M, pts);
    const measured: number[] = [];
    for (let i = 0; i < 10; i += 2) measured.push(...centroid(warped, predicted[i], predicted[i + 1]));
    expectClose(measured, predicted, 0.1);
    expectClose(estimateSimilarity(pts, measured), M, 0.01);
    // and warping back restores the image where it stayed in view
    const back = warpAffine(warped, invertAffine(M), 128, 128);
    let err = 0;
    let n = 0;
    for (let y = 40; y < 100; y++)
      for (let x = 40; x < 100; x++) {
        err += Math.abs(back.data[(y * 128 + x) * 3] - src.data[(y * 128 + x) * 3]);
        n++;
      }
    expect(err / n).toBeLessThan(2);
  });

  test('tensors in chw and hwc match the image path before rounding', () => {
    const src = spots(20, 16, [6, 5, 12, 9]);
    const M = similarity(1.3, -0.4, 3, 2);
    const ref = warpAffine(src, M, 18, 14);
    for (const layout of ['chw', 'hwc'] as const) {
      const t = imageToTensor(src, { layout, scale: '0-255' });
      const out = warpAffine(t, M, 18, 14, { layout });
      expect(out.shape).toEqual(layout === 'chw' ? [3, 14, 18] : [14, 18, 3]);
      const hwc = layout === 'chw' ? contiguous(transpose(out, [1, 2, 0])) : out;
      expect(Array.from(hwc.data, (v) => Math.round(v))).toEqual(Array.from(ref.data));
    }
  });

  test('errors', () => {
    expectThrows(() => warpAffine(img, [1, 0, 0, 2, 0, 0], 3, 2), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'M');
    expectThrows(() => warpAffine(img, [1, 0, 0, 0, 1], 3, 2), ShapeError, 'E_SHAPE', 'M');
    expectThrows(() => warpAffine(img, [1, 0, 0, 0, 1, 0], 0, 2), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'outW');
    expectThrows(
      () => warpAffine(img, [1, 0, 0, 0, 1, 0], 3, 2, { border: 'wrap' as 'constant' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'border',
    );
    expectThrows(
      () => warpAffine(img, [1, 0, 0, 0, 1, 0], 3, 2, { fill: 300 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'fill',
    );
    expectThrows(() => warpAffine(img, [1, 0, 0, 0, 1, 0], 3, 2, { fill: [1, 2] }), ShapeError, 'E_SHAPE', 'fill');
  });
});

describe('alignFace', () => {
  test('puts the landmarks on the ArcFace template', () => {
    const img = spots(220, 240, LANDMARKS);
    const { image, matrix } = alignFace(img, LANDMARKS);
    expect([image.width, image.height, image.channels]).toEqual([112, 112, 3]);
    expectClose(matrix, GOLDEN_UMEYAMA, 1e-6);
    // the spots shrink by 0.61 and land where the least-squares fit puts them
    const fitted = transformPoints(matrix, LANDMARKS);
    for (let i = 0; i < 10; i += 2)
      expectClose(centroid(image, fitted[i], fitted[i + 1], 4), [fitted[i], fitted[i + 1]], 0.15);
  });

  test('an exactly similar face lands exactly on the template; other sizes', () => {
    const M = similarity(2.1, 0.2, 30, 15); // template → image
    const lm = transformPoints(M, ARCFACE_TEMPLATE_112);
    const img = spots(320, 320, lm);
    const { image, matrix } = alignFace(img, lm);
    expectClose(matrix, invertAffine(M), 1e-9);
    for (let i = 0; i < 10; i += 2) {
      const t = [ARCFACE_TEMPLATE_112[i], ARCFACE_TEMPLATE_112[i + 1]];
      expectClose(centroid(image, t[0], t[1], 3), t, 0.3);
    }
    expect(alignFace(img, lm, { size: 224 }).image.width).toBe(224);
    expectClose(
      arcfaceTemplate(224),
      ARCFACE_TEMPLATE_112.map((v) => v * 2),
      1e-12,
    );
    expectClose(arcfaceTemplate(128).subarray(0, 2), [38.2946 + 8, 51.6963], 1e-12);
  });

  test('errors', () => {
    const img = spots(10, 10, []);
    expectThrows(() => alignFace(img, [1, 2, 3, 4]), ShapeError, 'E_SHAPE', 'landmarks');
    expectThrows(() => alignFace(img, LANDMARKS, { size: 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'size');
  });
});
