/**
 * The model path: the grid contract on the TypeScript-built stand-in (flip TTA, flatten order, softmax weights,
 * checked against a float64 re-implementation), and the vector form end to end on the REAL face models (BlazeFace +
 * faceres, built by `npm run models`) and real photographs (Solvay 1927, Debian visp-images-data). Missing models or
 * photos make the test fail with instructions, never skip.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { InvalidArgumentError, Rng, cropSquare, type Image } from '@trustvision/core-tensor';
import { expectRejects } from '@trustvision/jest-preset/expect-errors';
import {
  GridModel,
  SlerpFace,
  buildGridStandIn,
  matchScore,
  protect,
  scoreToDistance,
  type Template,
} from '../src/index.js';
import { solvayFaces, type SolvayFaces } from './solvay-helper.js';

function randomImage(rng: Rng, size = 112): Image {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width: size, height: size, channels: 3, data };
}

/** float64 reference of the stand-in: 16×16 average pooling, conv 3→16 (+bias), flip TTA, conv 16→1, softmax. */
function standInReference(img: Image, seed = 0): { grid: Float64Array; weights: Float64Array } {
  const rng = Rng.from(seed);
  const w1 = Float32Array.from(rng.normalArray(48));
  const b1 = Float32Array.from(rng.normalArray(16, 0, 0.1));
  const w2 = Float32Array.from(rng.normalArray(16, 0, 0.5));
  const pooled = (flip: boolean) => {
    const p = new Float64Array(3 * 49);
    for (let c = 0; c < 3; c++)
      for (let gy = 0; gy < 7; gy++)
        for (let gx = 0; gx < 7; gx++) {
          let s = 0;
          for (let y = 0; y < 16; y++)
            for (let x = 0; x < 16; x++) {
              const sx = gx * 16 + x;
              const px = flip ? 111 - sx : sx;
              s += (img.data[((gy * 16 + y) * 112 + px) * 3 + c] / 255 - 0.5) / 0.5;
            }
          p[c * 49 + gy * 7 + gx] = s / 256;
        }
    return p;
  };
  const grid = new Float64Array(16 * 49);
  for (const flip of [false, true]) {
    const p = pooled(flip);
    for (let o = 0; o < 16; o++)
      for (let i = 0; i < 49; i++) {
        let s = b1[o];
        for (let c = 0; c < 3; c++) s += w1[o * 3 + c] * p[c * 49 + i];
        grid[o * 49 + i] += s;
      }
  }
  const logits = new Float64Array(49);
  for (let i = 0; i < 49; i++) for (let o = 0; o < 16; o++) logits[i] += w2[o] * grid[o * 49 + i];
  const mx = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - mx));
  const sum = e.reduce((a, b) => a + b, 0);
  return { grid, weights: e.map((v) => v / sum) };
}

describe('grid form (stand-in model with the SlerpFace grid contract)', () => {
  const rng = Rng.from('slerpface-grid');
  let model: GridModel;
  beforeAll(async () => {
    model = await GridModel.create(buildGridStandIn(0), { device: 'cpu' });
  });
  afterAll(() => model.dispose());

  test('templates: [d,h,w] → 49 groups of 16 in row-major cell order, weights = softmax, flip TTA not un-flipped', async () => {
    const imgs = [randomImage(rng), randomImage(rng)];
    const t = await model.templates(imgs);
    expect(t).toHaveLength(2);
    for (let b = 0; b < 2; b++) {
      const ref = standInReference(imgs[b]);
      expect(t[b].form).toBe('grid');
      expect(t[b].groups).toBe(49);
      expect(t[b].groupSize).toBe(16);
      for (let i = 0; i < 49; i++) {
        expect(Math.abs(t[b].weights[i] - ref.weights[i])).toBeLessThan(1e-5);
        for (let c = 0; c < 16; c++)
          expect(Math.abs(t[b].values[i * 16 + c] - ref.grid[c * 49 + i])).toBeLessThan(1e-4);
      }
    }
    // an image and its mirror give the same summed grid only up to the (un-flipped) spatial order: not equal
    const mirror: Image = { ...imgs[0], data: new Uint8Array(imgs[0].data.length) };
    for (let y = 0; y < 112; y++)
      for (let x = 0; x < 112; x++)
        for (let c = 0; c < 3; c++) mirror.data[(y * 112 + x) * 3 + c] = imgs[0].data[(y * 112 + 111 - x) * 3 + c];
    const [tm] = await model.templates([mirror]);
    expect(Math.max(...tm.values.map((v, i) => Math.abs(v - t[0].values[i])))).toBeLessThan(1e-4);
  });

  test('protect/match on grid templates; other sizes are resized; bad models are refused', async () => {
    const img = randomImage(rng, 150);
    const [a] = await model.templates([img]);
    const r = protect(a, { seed: 3 });
    expect(matchScore(r, a)).toBeCloseTo(1, 12);
    await expectRejects(model.templates([]), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'crops');
    const { GraphBuilder, tensor } = await import('@trustvision/core-tensor');
    const g = new GraphBuilder('wrong');
    const x = g.input('pixels', 'float32', ['N', 3, 112, 112]);
    const [y] = g.op('Mul', [x, g.constant(tensor(new Float32Array([1]), []))]);
    g.output(y, 'float32', ['N', 3, 112, 112], 'out');
    await expectRejects(
      GridModel.create(g.toBytes(), { device: 'cpu' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'model',
    );
  });
});

describe('vector form on real face models and photographs (faceres + BlazeFace, Solvay 1927)', () => {
  let sf: SlerpFace;
  let faces: SolvayFaces;
  beforeAll(async () => {
    faces = await solvayFaces([1, 3, 5, 8, 11, 12]);
    sf = await SlerpFace.load({ device: 'cpu' });
  }, 120000);
  afterAll(() => sf?.dispose());

  test('protected cross-photo matching: every genuine pair outscores every impostor of its record', async () => {
    const t1: Template[] = [];
    const t2: Template[] = [];
    for (const f of faces) {
      t1.push(await sf.template(f.photo1));
      t2.push(await sf.template(f.version2));
    }
    expect(t1[0].form).toBe('vector');
    expect(t1[0].groups).toBe(64); // 1024-d faceres in groups of 16
    const cos = (a: Template, b: Template) => {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let k = 0; k < a.values.length; k++) {
        ab += a.values[k] * b.values[k];
        aa += a.values[k] ** 2;
        bb += b.values[k] ** 2;
      }
      return ab / Math.sqrt(aa * bb);
    };
    let correct = 0;
    let plainCorrect = 0;
    for (let i = 0; i < faces.length; i++) {
      const r = sf.protect(t1[i], { seed: `solvay-${i}` });
      const gen = sf.match(r, t2[i]);
      const imp = t2.filter((_, j) => j !== i).map((t) => sf.match(r, t).score);
      if (gen.score > Math.max(...imp)) correct++;
      if (cos(t1[i], t2[i]) > Math.max(...t2.filter((_, j) => j !== i).map((t) => cos(t1[i], t)))) plainCorrect++;
      expect(gen.distance).toBeCloseTo(scoreToDistance(gen.score), 12);
      expect(sf.match(r, t1[i]).score).toBeCloseTo(1, 10);
    }
    // protection costs at most one of six identifications here (the full benchmark is bench/security.mjs)
    expect(plainCorrect).toBeGreaterThanOrEqual(5);
    expect(correct).toBeGreaterThanOrEqual(plainCorrect - 1);
  }, 120000);

  test('an image without a face is refused', async () => {
    const blank: Image = { width: 200, height: 200, channels: 3, data: new Uint8Array(200 * 200 * 3).fill(128) };
    await expectRejects(sf.template(blank), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'image');
    await expectRejects(SlerpFace.load({ form: 'grid' }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'gridModel');
  });

  test('crops of a face from the helper are real photographs (sanity)', () => {
    expect(faces[0].photo1.width).toBeGreaterThan(100);
    expect(cropSquare(faces[0].photo1, { x: 0, y: 0, size: 50 }, 10).width).toBe(10);
  });
});
