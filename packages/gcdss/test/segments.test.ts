/** Mask proposals → segment maps (spec §3 Step 1) and the model-free proposer. */
import { describe, expect, test } from '@jest/globals';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import { InvalidArgumentError, ShapeError, type Image } from '@trustvision/core-tensor';
import { assembleSegments, paintLabelMap, proposeSegments } from '../src/index.js';

/** Masks from ASCII art: one string array per mask, 'X' = in. */
function masksFrom(...art: string[][]): { masks: Uint8Array; width: number; height: number } {
  const height = art[0].length;
  const width = art[0][0].length;
  const masks = new Uint8Array(art.length * width * height);
  art.forEach((rows, m) =>
    rows.forEach((row, y) =>
      [...row].forEach((c, x) => (masks[m * width * height + y * width + x] = c === 'X' ? 1 : 0)),
    ),
  );
  return { masks, width, height };
}
const grid = (rows: string[]) => Int32Array.from(rows.join('').split('').map(Number));

const A = ['XXXX....', 'XXXX....', 'XXXX....', 'XXXX....', 'XXXX....', 'XXXX....'];
const B = ['..XXXXXX', '..XXXXXX', '........', '........', '........', '........'];
const C = ['..XX....', '..XX....', '........', '........', '........', '........']; // wholly covered → skipped
const D = ['........', '........', '......X.', '......X.', '......X.', '......X.'];
// after A, B, D: gaps cols 4-5 rows 2-5 (8 px, first in raster order) and col 7 rows 2-5 (4 px)

describe('assembleSegments', () => {
  test('largest first, smaller on top, covered masks skipped, large gap → segment, small gap → window mode', () => {
    const { masks, width, height } = masksFrom(A, B, C, D);
    const r = assembleSegments(masks, width, height, { theta: 5, window: 2 });
    expect(Array.from(r.segments)).toEqual(
      Array.from(grid(['11222222', '11222222', '11114433', '11114433', '11114433', '11114433'])),
    );
    expect(r.count).toBe(4);
    expect(Array.from(r.areas)).toEqual([20, 12, 8, 8]);
    expect([r.width, r.height]).toEqual([8, 6]);
  });

  test('both gaps above the threshold become segments, in raster order', () => {
    const { masks, width, height } = masksFrom(A, B, C, D);
    const r = assembleSegments(masks, width, height, { theta: 3, window: 2 });
    expect(Array.from(r.segments)).toEqual(
      Array.from(grid(['11222222', '11222222', '11114435', '11114435', '11114435', '11114435'])),
    );
    expect(Array.from(r.areas)).toEqual([20, 12, 4, 8, 4]);
  });

  test('both gaps at or below the threshold merge into the window mode at their centroid', () => {
    const { masks, width, height } = masksFrom(A, B, C, D);
    // gap 1 centroid (4.5, 3.5) → (4, 3): window rows 2-3, cols 3-4 holds 1,1 and two gap pixels → 1
    const r = assembleSegments(masks, width, height, { theta: 8, window: 2 });
    expect(Array.from(r.segments)).toEqual(
      Array.from(grid(['11222222', '11222222', '11111133', '11111133', '11111133', '11111133'])),
    );
    // default window (20): the whole image; segment 1 (16 px) is the mode for both gaps
    const d = assembleSegments(masks, width, height, { theta: 8 });
    expect(Array.from(d.segments)).toEqual(
      Array.from(grid(['11222222', '11222222', '11111131', '11111131', '11111131', '11111131'])),
    );
    expect(d.count).toBe(3);
  });

  test('default theta (200): every small gap is filled, every pixel gets a segment', () => {
    const { masks, width, height } = masksFrom(A, B, C, D);
    const r = assembleSegments(masks, width, height);
    expect(r.segments.every((s) => s >= 1 && s <= r.count)).toBe(true);
    expect(r.areas.reduce((a, b) => a + b, 0)).toBe(48);
  });

  test('covered masks are skipped; ids wholly overwritten by smaller masks are dropped and the rest renumbered', () => {
    const E = ['.XXX.', '.XXX.', '.XXX.']; // 9 px, id 1, later wholly overwritten
    const F = ['XX...', 'XX...', 'XX...']; // 6 px, id 3
    const G = ['..XXX', '..XXX', '..XXX']; // 9 px, id 2 (equal area: after E, by input order)
    const H = ['..X..', '.....', '.....']; // covered → skipped
    const { masks, width, height } = masksFrom(E, F, G, H);
    const r = assembleSegments(masks, width, height);
    expect(Array.from(r.segments)).toEqual([2, 2, 1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 1, 1, 1]);
    expect(Array.from(r.areas)).toEqual([9, 6]);
    // a full mask first (largest) covers everything: the smaller ones are all skipped
    const full = masksFrom(['XXXX', 'XXXX'], ['XX..', 'XX..'], ['..XX', '..XX']);
    expect(Array.from(assembleSegments(full.masks, 4, 2).segments)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    // equal areas keep input order: the first is placed first and the second painted on top
    const two = masksFrom(['XXX.', 'XXX.'], ['.XXX', '.XXX']);
    expect(Array.from(assembleSegments(two.masks, 4, 2).segments)).toEqual([1, 2, 2, 2, 1, 2, 2, 2]);
  });

  test('a window holding no segment falls back to the most frequent 8-neighbour', () => {
    const P = ['XX.', 'X..', 'XX.']; // 5 px, id 1
    const Q = ['..X', '..X', '..X']; // 3 px, id 2 — the centre (1, 1) is a 1-px gap
    const { masks, width, height } = masksFrom(P, Q);
    const r = assembleSegments(masks, width, height, { window: 1 });
    expect(Array.from(r.segments)).toEqual([1, 1, 2, 1, 1, 2, 1, 1, 2]);
    expect(Array.from(r.areas)).toEqual([6, 3]);
  });

  test('the segment map feeds paintLabelMap', () => {
    const { masks, width, height } = masksFrom(A, B, C, D);
    const r = assembleSegments(masks, width, height, { theta: 5, window: 2 });
    const painted = paintLabelMap(r.segments, width, height, [7, 8, 9, -1]);
    expect(painted[0]).toBe(7);
    expect(painted[2]).toBe(8);
    expect(painted[2 * 8 + 7]).toBe(9);
    expect(painted[2 * 8 + 4]).toBe(255);
  });

  test('errors: wrong size, no masks, empty mask, bad dimensions and options', () => {
    const { masks, width, height } = masksFrom(A, B);
    expectThrows(() => assembleSegments(masks.subarray(1), width, height), ShapeError, 'E_SHAPE', 'masks');
    expectThrows(() => assembleSegments(masks, width + 1, height), ShapeError, 'E_SHAPE', 'masks');
    expectThrows(
      () => assembleSegments(new Uint8Array(0), width, height),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'masks',
    );
    const empty = Uint8Array.from(masks);
    empty.fill(0, 48, 96);
    expectThrows(() => assembleSegments(empty, width, height), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'masks[1]');
    expectThrows(
      () => assembleSegments(null as never, width, height),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'masks',
    );
    expectThrows(() => assembleSegments(masks, 0, height), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'width');
    expectThrows(() => assembleSegments(masks, width, 2.5), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'height');
    expectThrows(
      () => assembleSegments(masks, width, height, { theta: -1 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'theta',
    );
    expectThrows(
      () => assembleSegments(masks, width, height, { window: 0 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'window',
    );
  });
});

/** A W×H RGB image of flat rectangles on a background, with its ground-truth region map (0..3). */
function scene(noise = 0): { img: Image; gt: Int32Array } {
  const W = 40;
  const H = 30;
  const colours = [
    [128, 128, 128],
    [250, 20, 20],
    [20, 20, 250],
    [20, 230, 20],
  ];
  const gt = new Int32Array(W * H);
  const data = new Uint8Array(W * H * 3);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const r =
        x >= 4 && x < 16 && y >= 3 && y < 14
          ? 1
          : x >= 20 && x < 36 && y >= 6 && y < 24
            ? 2
            : y >= 18 && x < 14
              ? 3
              : 0;
      gt[y * W + x] = r;
      for (let c = 0; c < 3; c++)
        data[(y * W + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(colours[r][c] + noise * rand())));
    }
  return { img: { width: W, height: H, channels: 3, data }, gt };
}

/** Fraction of pixels whose segment's majority ground-truth region is their own. */
function purity(seg: Int32Array, count: number, gt: Int32Array): number {
  const votes = Array.from({ length: count + 1 }, () => new Array<number>(4).fill(0));
  for (let i = 0; i < seg.length; i++) votes[seg[i]][gt[i]]++;
  let ok = 0;
  for (const v of votes) ok += Math.max(...v);
  return ok / seg.length;
}

describe('proposeSegments', () => {
  test('flat rectangles are recovered exactly without blur', () => {
    const { img, gt } = scene();
    const r = proposeSegments(img, { sigma: 0 });
    expect(r.count).toBe(4);
    // numbered in raster order of first pixel: background (0,0) first, then red, blue, green
    const want = [1, 2, 3, 4];
    for (let i = 0; i < gt.length; i++) expect(r.segments[i]).toBe(want[gt[i]]);
    expect(r.areas.reduce((a, b) => a + b, 0)).toBe(40 * 30);
  });

  test('noisy rectangles with the default blur are recovered nearly', () => {
    const { img, gt } = scene(12);
    const r = proposeSegments(img);
    expect(purity(r.segments, r.count, gt)).toBeGreaterThan(0.97);
    // an over-segmentation: pure segments, with strips along the blurred edges as segments of their own
    expect(r.count).toBeLessThanOrEqual(16);
    // without blur the noisy regions come out purer still
    const flat = proposeSegments(img, { sigma: 0 });
    expect(purity(flat.segments, flat.count, gt)).toBeGreaterThan(0.99);
    expect(flat.count).toBeLessThanOrEqual(6);
    expect(r.areas.every((a) => a >= 20)).toBe(true);
    expect(r.segments.every((s) => s >= 1 && s <= r.count)).toBe(true);
  });

  test('larger scale merges more; gray and RGBA images work', () => {
    const { img } = scene(12);
    expect(proposeSegments(img, { scale: 1e6, minSize: 1 }).count).toBe(1);
    const gray: Image = { width: 4, height: 2, channels: 1, data: Uint8Array.from([0, 0, 200, 200, 0, 0, 200, 200]) };
    expect(Array.from(proposeSegments(gray, { sigma: 0, minSize: 1 }).segments)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    const rgba: Image = { width: 2, height: 1, channels: 4, data: Uint8Array.from([0, 0, 0, 0, 250, 250, 250, 255]) };
    expect(proposeSegments(rgba, { sigma: 0, minSize: 1 }).count).toBe(2);
  });

  test('errors: not an image, bad options', () => {
    const { img } = scene();
    expectThrows(
      () => proposeSegments({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }),
      ShapeError,
      'E_SHAPE',
    );
    expectThrows(() => proposeSegments(img, { scale: -1 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'scale');
    expectThrows(() => proposeSegments(img, { sigma: NaN }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'sigma');
    expectThrows(() => proposeSegments(img, { minSize: 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'minSize');
  });
});
