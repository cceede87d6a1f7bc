/**
 * The synthetic scene generator: object masks against numpy goldens on real Fashion-MNIST images
 * (fixtures/scenes_ref.py), label maps recomposed from the reported objects, pixel values against the texture and
 * tint formulas, seeds, the class split and every error path.
 */
import { describe, expect, test } from '@jest/globals';
import { expectThrows } from '@trustvision/jest-preset/expect-errors';
import { InvalidArgumentError } from '@trustvision/core-tensor';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_SCENE_SPLIT,
  generateScenes,
  labelSegments,
  objectMask,
  segmentMajority,
  textureValue,
  type ObjectPool,
  type Scene,
  type SceneSet,
} from '../src/index.js';

interface Golden {
  images: string;
  labels: number[];
  threshold: number;
  cases: { index: number; side: number; flip: boolean; mask: string; pixels: number; valueSum: number }[];
}
const golden = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'scenes_golden.json'), 'utf8')) as Golden;
const ten: ObjectPool = { images: new Uint8Array(Buffer.from(golden.images, 'base64')), labels: golden.labels };

/** The ten real images repeated `copies` times (indices differ, so the generator may use each copy once). */
function pool(copies: number): ObjectPool {
  const images = new Uint8Array(copies * ten.images.length);
  const labels: number[] = [];
  for (let r = 0; r < copies; r++) {
    images.set(ten.images, r * ten.images.length);
    labels.push(...golden.labels);
  }
  return { images, labels };
}

const IA = InvalidArgumentError;
const A = 'E_INVALID_ARGUMENT';

describe('objectMask', () => {
  test.each(golden.cases.map((c) => [c.index, c.side, c.flip, c] as const))(
    'image %i at %i px (flip %s) equals the numpy golden',
    (index, side, flip, c) => {
      const { value, mask } = objectMask(ten, index, side, flip, golden.threshold);
      const bits = Buffer.from(c.mask, 'base64');
      let pixels = 0;
      for (let i = 0; i < side * side; i++) {
        const want = (bits[i >> 3] >> (7 - (i & 7))) & 1;
        expect(mask[i]).toBe(want);
        pixels += mask[i];
      }
      expect(pixels).toBe(c.pixels);
      expect(value.reduce((s, v) => s + v, 0)).toBeCloseTo(c.valueSum, 0);
    },
  );
});

describe('generateScenes', () => {
  const opts = { width: 96, height: 80, labeled: 6, unlabeled: 10, seed: 3, scale: [1.2, 2] as [number, number] };
  const set = generateScenes(pool(12), opts);
  const p = pool(12);

  test('classes: base objects, then background, then novel (the default split)', () => {
    expect(DEFAULT_SCENE_SPLIT).toEqual({ base: [0, 2, 3, 6, 7, 9], novel: [1, 4, 5, 8] });
    expect(set.classes.map((c) => [c.id, c.source, c.novel, c.name])).toEqual([
      [0, 0, false, 'T-shirt/top'],
      [1, 2, false, 'Pullover'],
      [2, 3, false, 'Dress'],
      [3, 6, false, 'Shirt'],
      [4, 7, false, 'Sneaker'],
      [5, 9, false, 'Ankle boot'],
      [6, null, false, 'background'],
      [7, 1, true, 'Trouser'],
      [8, 4, true, 'Coat'],
      [9, 5, true, 'Sandal'],
      [10, 8, true, 'Bag'],
    ]);
    expect(set.numBase).toBe(7);
    expect(set.background).toBe(6);
    expect(set.base).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(set.novel).toEqual([7, 8, 9, 10]);
    expect(set.labeled).toHaveLength(6);
    expect(set.unlabeled).toHaveLength(10);
  });

  const recompose = (scene: Scene, s: SceneSet) => {
    const { width: W, height: H } = s;
    const labels = new Uint8Array(W * H).fill(s.background);
    const top = new Int32Array(W * H).fill(-1);
    scene.objects.forEach((o, k) => {
      const src = s.classes[o.classId].source!;
      expect(p.labels[o.index]).toBe(src);
      const { mask } = objectMask(p, o.index, o.side, o.flip);
      for (let y = 0; y < o.side; y++)
        for (let x = 0; x < o.side; x++)
          if (mask[y * o.side + x]) {
            labels[(o.y + y) * W + o.x + x] = o.classId;
            top[(o.y + y) * W + o.x + x] = k;
          }
    });
    return { labels, top };
  };

  test('label maps are exactly the objects painted in order over the background', () => {
    for (const scene of [...set.labeled, ...set.unlabeled]) {
      const { labels, top } = recompose(scene, set);
      expect(Buffer.from(scene.labels).equals(Buffer.from(labels))).toBe(true);
      let fg = 0;
      for (const v of top) if (v >= 0) fg++;
      expect(scene.objects.reduce((s, o) => s + o.visible, 0)).toBe(fg);
      for (const o of scene.objects) {
        expect(o.x).toBeGreaterThanOrEqual(0);
        expect(o.x + o.side).toBeLessThanOrEqual(set.width);
        expect(o.y + o.side).toBeLessThanOrEqual(set.height);
      }
    }
  });

  test('pixels: round(value·tint/255) on objects, the texture ± its noise elsewhere', () => {
    for (const scene of [set.labeled[0], set.unlabeled[0], set.unlabeled[1]]) {
      const { top } = recompose(scene, set);
      const values = scene.objects.map((o) => objectMask(p, o.index, o.side, o.flip).value);
      const { width: W, data } = scene.image;
      let objectPixels = 0;
      let wrongObject = 0;
      let wrongTexture = 0;
      for (let i = 0; i < top.length; i++) {
        const x = i % W;
        const y = (i / W) | 0;
        for (let ch = 0; ch < 3; ch++) {
          const got = data[i * 3 + ch];
          if (top[i] >= 0) {
            const o = scene.objects[top[i]];
            const v = values[top[i]][(y - o.y) * o.side + (x - o.x)];
            objectPixels++;
            if (got !== Math.min(255, Math.floor((v * o.tint[ch]) / 255 + 0.5))) wrongObject++;
          } else {
            const t = textureValue(scene.texture, x, y, ch);
            const lo = Math.max(0, Math.min(255, Math.floor(t - 10 + 0.5)));
            const hi = Math.max(0, Math.min(255, Math.floor(t + 10 + 0.5)));
            if (got < lo || got > hi) wrongTexture++;
          }
        }
      }
      expect(objectPixels).toBeGreaterThan(0);
      expect([wrongObject, wrongTexture]).toEqual([0, 0]);
    }
  });

  test('labelled scenes hold base classes only; novel classes appear in unlabelled ones; images used once', () => {
    for (const scene of set.labeled) {
      expect(Math.max(...scene.labels)).toBeLessThan(set.numBase);
      for (const o of scene.objects) expect(set.classes[o.classId].novel).toBe(false);
    }
    const unl = new Set<number>();
    for (const scene of set.unlabeled) for (const v of scene.labels) unl.add(v);
    expect(set.novel.some((c) => unl.has(c))).toBe(true);
    const used = [...set.labeled, ...set.unlabeled].flatMap((s) => s.objects.map((o) => o.index));
    expect(new Set(used).size).toBe(used.length);
    for (const s of [...set.labeled, ...set.unlabeled]) {
      expect(s.objects.length).toBeGreaterThanOrEqual(2);
      expect(s.objects.length).toBeLessThanOrEqual(4);
    }
  });

  test('the same seed gives the same scenes; another seed other scenes', () => {
    const again = generateScenes(pool(12), opts);
    const other = generateScenes(pool(12), { ...opts, seed: 4 });
    for (let i = 0; i < set.unlabeled.length; i++) {
      expect(Buffer.from(again.unlabeled[i].image.data).equals(Buffer.from(set.unlabeled[i].image.data))).toBe(true);
      expect(again.unlabeled[i].objects).toEqual(set.unlabeled[i].objects);
    }
    expect(Buffer.from(other.unlabeled[0].image.data).equals(Buffer.from(set.unlabeled[0].image.data))).toBe(false);
  });

  test('a custom split and options', () => {
    const s = generateScenes(pool(4), {
      width: 40,
      height: 40,
      labeled: 2,
      unlabeled: 2,
      base: [9, 1],
      novel: [0],
      objects: [1, 1],
      scale: [1, 1],
    });
    expect(s.classes.map((c) => c.name)).toEqual(['Ankle boot', 'Trouser', 'background', 'T-shirt/top']);
    for (const sc of [...s.labeled, ...s.unlabeled]) expect(sc.objects.map((o) => o.side)).toEqual([28]);
    expect(s.labeled[0].name).toBe('lab-0');
  });

  test('errors name the parameter', () => {
    expectThrows(() => generateScenes(pool(1), { labeled: 10, unlabeled: 10 }), IA, A, 'pool');
    expectThrows(() => generateScenes(pool(2), { base: [0, 1], novel: [1] }), IA, A, 'novel');
    expectThrows(() => generateScenes(pool(2), { base: [] }), IA, A, 'base');
    expectThrows(() => generateScenes(pool(2), { base: [0], novel: [11] }), IA, A, 'pool.labels');
    expectThrows(() => generateScenes(pool(2), { width: 50, scale: [1, 2] }), IA, A, 'scale');
    expectThrows(() => generateScenes(pool(2), { objects: [3, 2] }), IA, A, 'objects');
    expectThrows(() => generateScenes(pool(2), { width: 3.5 }), IA, A, 'width');
    expectThrows(() => generateScenes(pool(2), { unlabeled: 0 }), IA, A, 'unlabeled');
    expectThrows(() => generateScenes({ images: new Uint8Array(100), labels: [0] }), IA, A, 'pool.images');
    expectThrows(() => generateScenes({ images: new Uint8Array(784), labels: [0, 1] }), IA, A, 'pool.labels');
    expectThrows(() => generateScenes(null as never), IA, A, 'pool');
    expectThrows(() => objectMask(ten, 10, 30), IA, A, 'index');
    expectThrows(() => objectMask(ten, 0, 0), IA, A, 'side');
  });
});

describe('labelSegments and segmentMajority', () => {
  test('4-connected equal-label regions, raster order', () => {
    // prettier-ignore
    const labels = [
      0, 0, 1, 1,
      0, 2, 1, 0,
      2, 2, 0, 0,
    ];
    const s = labelSegments(labels, 4, 3);
    expect(Array.from(s.segments)).toEqual([1, 1, 2, 2, 1, 3, 2, 4, 3, 3, 4, 4]);
    expect(s.count).toBe(4);
    expect(Array.from(s.areas)).toEqual([3, 3, 3, 3]);
  });

  test('majority with ties to the smaller id, ignore left out', () => {
    const seg = [1, 1, 1, 1, 2, 2, 3, 3];
    const lab = [4, 4, 2, 2, 7, 255, 255, 255];
    const m = segmentMajority(seg, 3, lab);
    expect(Array.from(m.label)).toEqual([2, 7, -1]);
    expect(Array.from(m.count)).toEqual([2, 1, 0]);
    expectThrows(() => segmentMajority(seg, 3, [1, 2]), IA, A, 'labels');
    expectThrows(() => segmentMajority([9, 1, 1, 1, 1, 1, 1, 1], 3, lab), IA, A, 'segments');
    expectThrows(() => labelSegments([0, 1], 3, 1), IA, A, 'labels');
  });
});
