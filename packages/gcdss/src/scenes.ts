/**
 * A seeded synthetic scene set with exact labels, for benchmarking GCDSS where Cityscapes and SAM are out of reach:
 * real object images (Fashion-MNIST, 28×28 grey, light object on black) upscaled, flipped, tinted and pasted onto
 * textured backgrounds; the background is a base class of its own. Labelled scenes hold base objects only; unlabelled
 * scenes hold base and novel objects (GCDSS's setting: an unlabelled image need not contain a novel class).
 *
 * Everything here is pure and browser-safe; the caller supplies the object images (the benchmark reads the IDX
 * files of Debian's `dataset-fashion-mnist`).
 */
import { InvalidArgumentError, Rng, resizeBilinear, tensor, type Image } from '@trustvision/core-tensor';
import type { SegmentMap } from './segments.js';
import { intOption, numOption } from './validate.js';

/** Fashion-MNIST class names, in its label order 0..9. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/**
 * The default split (Fashion-MNIST ids): 6 base object classes + background = 7 base classes, 4 novel. Each novel
 * class has look-alikes among the base classes (coat ~ pullover / shirt, sandal ~ sneaker / ankle boot), as wall / bus
 * / train / motorcycle have in Cityscapes-GCD.
 */
export const DEFAULT_SCENE_SPLIT = { base: [0, 2, 3, 6, 7, 9], novel: [1, 4, 5, 8] } as const;

/** Object images: `images` [N·side·side] 8-bit grey (object bright on black) and their class `labels` [N]. */
export interface ObjectPool {
  images: Uint8Array;
  labels: ArrayLike<number>;
  /** Side of the square images (default 28). */
  side?: number;
  /** Class names by source label (default Fashion-MNIST's). */
  names?: readonly string[];
}

export interface SceneClass {
  /** Id in the label maps. */
  id: number;
  name: string;
  /** Source label in the pool, or null for the background. */
  source: number | null;
  novel: boolean;
}

export interface SceneOptions {
  /** Scene size in pixels (default 128 × 128). */
  width?: number;
  height?: number;
  /** Number of labelled and unlabelled scenes (default 40 and 60: the 40 / 60 % of Cityscapes-GCD). */
  labeled?: number;
  unlabeled?: number;
  /** Seed of everything (default 0). */
  seed?: number;
  /** Objects per scene, inclusive range (default [2, 4]). */
  objects?: readonly [number, number];
  /** Upscaling factor of the object images, range (default [1.5, 2.5]: 42..70 px for 28 px images). */
  scale?: readonly [number, number];
  /** Source labels of the base and novel object classes (default `DEFAULT_SCENE_SPLIT`). */
  base?: readonly number[];
  novel?: readonly number[];
  /** An upscaled object pixel belongs to the object when its value is at least this (default 40). */
  maskThreshold?: number;
}

/** One sine grating of a background texture. */
export interface Grating {
  amplitude: number;
  /** cycles per pixel */
  frequency: number;
  /** radians */
  angle: number;
  phase: number;
  /** per-channel multipliers of the amplitude */
  weight: [number, number, number];
}

/** Background: `colour + Σ amplitude·weight·sin(2π·frequency·(x cos angle + y sin angle) + phase) + noise`. */
export interface TextureParams {
  colour: [number, number, number];
  gratings: Grating[];
  /** Uniform per-pixel, per-channel noise in [−noise, noise). */
  noise: number;
}

export interface SceneObject {
  /** Class id in the label maps. */
  classId: number;
  /** Index of the object image in the pool. */
  index: number;
  /** Top-left corner and side of the pasted square. */
  x: number;
  y: number;
  side: number;
  /** Mirrored left–right. */
  flip: boolean;
  /** RGB colour a pixel of value 255 gets. */
  tint: [number, number, number];
  /** Pixels of this object still visible in the finished scene (later objects lie on top). */
  visible: number;
}

export interface Scene {
  name: string;
  /** 8-bit RGB. */
  image: Image;
  /** Class id per pixel (row-major), exact. */
  labels: Uint8Array;
  objects: SceneObject[];
  texture: TextureParams;
}

export interface SceneSet {
  classes: SceneClass[];
  /** Base class ids are 0..numBase − 1 (the object classes in the order given, then the background). */
  numBase: number;
  background: number;
  base: number[];
  novel: number[];
  labeled: Scene[];
  unlabeled: Scene[];
  width: number;
  height: number;
  seed: number;
}

const TEXTURE_NOISE = 10;

/** The noise-free part of a texture at (x, y), channel ch (not rounded or clamped). */
export function textureValue(t: TextureParams, x: number, y: number, ch: number): number {
  let v = t.colour[ch];
  for (const g of t.gratings)
    v +=
      g.amplitude *
      g.weight[ch] *
      Math.sin(2 * Math.PI * g.frequency * (x * Math.cos(g.angle) + y * Math.sin(g.angle)) + g.phase);
  return v;
}

function drawTexture(rng: Rng): TextureParams {
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.uniform();
  const colour: [number, number, number] = [u(40, 215), u(40, 215), u(40, 215)];
  const gratings: Grating[] = [];
  for (let k = 0; k < 2; k++)
    gratings.push({
      amplitude: u(8, 32),
      frequency: u(0.04, 0.2),
      angle: u(0, Math.PI),
      phase: u(0, 2 * Math.PI),
      weight: [u(0.5, 1.5), u(0.5, 1.5), u(0.5, 1.5)],
    });
  return { colour, gratings, noise: TEXTURE_NOISE };
}

function checkPool(pool: ObjectPool): { side: number; n: number; names: readonly string[] } {
  if (pool === null || typeof pool !== 'object' || !(pool.images instanceof Uint8Array))
    throw new InvalidArgumentError('pool', pool, '{ images: Uint8Array [N·side·side], labels: [N] }');
  const side = intOption('pool.side', pool.side, 28, 1);
  const n = pool.images.length / (side * side);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('pool.images', `${pool.images.length} bytes`, `a multiple of ${side}·${side}`);
  if (!pool.labels || typeof pool.labels.length !== 'number' || pool.labels.length !== n)
    throw new InvalidArgumentError('pool.labels', pool.labels?.length, `${n} labels (one per image)`);
  return { side, n, names: pool.names ?? FASHION_MNIST_CLASSES };
}

/**
 * The upscaled value (0..255, half-pixel bilinear like PyTorch's `interpolate(align_corners=False)`) and the mask
 * (`value ≥ threshold`) of pool image `index` at `side` × `side`, mirrored when `flip`.
 */
export function objectMask(
  pool: ObjectPool,
  index: number,
  side: number,
  flip = false,
  threshold = 40,
): { value: Float32Array; mask: Uint8Array } {
  const { side: s, n } = checkPool(pool);
  if (!Number.isInteger(index) || index < 0 || index >= n)
    throw new InvalidArgumentError('index', index, `an image index in [0, ${n - 1}]`);
  intOption('side', side, 1, 1);
  const src = Float32Array.from(pool.images.subarray(index * s * s, (index + 1) * s * s));
  const up = resizeBilinear(tensor(src, [s, s]), side, side).data as Float32Array;
  const value = new Float32Array(side * side);
  const mask = new Uint8Array(side * side);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const v = up[y * side + (flip ? side - 1 - x : x)];
      value[y * side + x] = v;
      mask[y * side + x] = v >= threshold ? 1 : 0;
    }
  return { value, mask };
}

function range(param: string, r: unknown, def: readonly [number, number], lo: number, int: boolean): [number, number] {
  if (r === undefined) return [def[0], def[1]];
  if (!Array.isArray(r) || r.length !== 2) throw new InvalidArgumentError(param, r, 'a range [min, max]');
  const [a, b] = r as number[];
  for (const v of [a, b])
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || (int && !Number.isInteger(v)))
      throw new InvalidArgumentError(param, r, `${int ? 'integers' : 'numbers'} >= ${lo}, min <= max`);
  if (a > b) throw new InvalidArgumentError(param, r, 'min <= max');
  return [a, b];
}

/**
 * Generates a labelled and an unlabelled scene set from object images (see the module comment). Classes: the base
 * object classes get ids 0.. in the order given, the background the next id, the novel classes the ids after it
 * (as the official code remaps Cityscapes: base first, then novel). Each object image is used at most once in the
 * whole set. Identical inputs and seed give identical scenes.
 *
 * Per scene: a texture (`TextureParams`: colour U[40, 215)³, two gratings of amplitude U[8, 32), frequency U[0.04,
 * 0.2) cycles/px, random angle and phase, channel weights U[0.5, 1.5), uniform noise ±10, rounded and clamped), then
 * `objects` objects, each of a class drawn uniformly (base classes in labelled scenes, base and novel in unlabelled
 * ones), upscaled by U`scale`, mirrored with p = 0.5, placed wholly inside at a uniform position, tinted by
 * U[60, 255)³: where its mask holds, pixel = round(value·tint/255) and label = its class. Later objects lie on top.
 *
 * Errors (typed, naming the parameter): a malformed pool, overlapping or out-of-pool class lists, a pool with too
 * few images of a class, an object larger than the scene.
 */
export function generateScenes(pool: ObjectPool, options: SceneOptions = {}): SceneSet {
  const { side: srcSide, n, names } = checkPool(pool);
  const width = intOption('width', options.width, 128, 8);
  const height = intOption('height', options.height, 128, 8);
  const nLab = intOption('labeled', options.labeled, 40, 0);
  const nUnl = intOption('unlabeled', options.unlabeled, 60, 1);
  const seed = intOption('seed', options.seed, 0, 0);
  const [oMin, oMax] = range('objects', options.objects, [2, 4], 0, true);
  const [sMin, sMax] = range('scale', options.scale, [1.5, 2.5], 0.05, false);
  const threshold = numOption('maskThreshold', options.maskThreshold, 40, 0, 255);
  const base = [...(options.base ?? DEFAULT_SCENE_SPLIT.base)];
  const novel = [...(options.novel ?? DEFAULT_SCENE_SPLIT.novel)];
  const seen = new Set<number>();
  for (const [param, list] of [
    ['base', base],
    ['novel', novel],
  ] as const) {
    if (param === 'base' && list.length === 0) throw new InvalidArgumentError('base', list, 'at least one class');
    for (const c of list) {
      if (!Number.isInteger(c) || c < 0) throw new InvalidArgumentError(param, c, 'source labels (integers >= 0)');
      if (seen.has(c)) throw new InvalidArgumentError(param, c, 'a class in only one of base / novel, once');
      seen.add(c);
    }
  }
  if (base.length + 1 + novel.length > 255)
    throw new InvalidArgumentError('base', base.length + novel.length, 'at most 254 classes (8-bit label maps)');
  const maxSide = Math.round(srcSide * sMax);
  if (maxSide > width || maxSide > height)
    throw new InvalidArgumentError('scale', [sMin, sMax], `objects of at most ${width}×${height} px (the scene)`);

  const classes: SceneClass[] = [];
  base.forEach((c, i) => classes.push({ id: i, name: names[c] ?? `class ${c}`, source: c, novel: false }));
  const background = base.length;
  classes.push({ id: background, name: 'background', source: null, novel: false });
  novel.forEach((c, i) =>
    classes.push({ id: background + 1 + i, name: names[c] ?? `class ${c}`, source: c, novel: true }),
  );

  const root = Rng.from(seed);
  // one queue of pool indices per source class, in a seeded order; objects take the next unused image
  const queues = new Map<number, { idx: Int32Array; next: number }>();
  for (const c of [...base, ...novel]) {
    const members: number[] = [];
    for (let i = 0; i < n; i++) if (pool.labels[i] === c) members.push(i);
    if (members.length === 0)
      throw new InvalidArgumentError('pool.labels', `no image of class ${c}`, 'images of every base and novel class');
    const perm = root.split('pool', c).permutation(members.length);
    queues.set(c, { idx: Int32Array.from(perm, (p) => members[p]), next: 0 });
  }
  const take = (c: number): number => {
    const q = queues.get(c)!;
    if (q.next >= q.idx.length)
      throw new InvalidArgumentError(
        'pool',
        `${q.idx.length} images of class ${c}`,
        'more images of the class (each is used once), or fewer scenes',
      );
    return q.idx[q.next++];
  };

  const makeScene = (name: string, rng: Rng, objectClasses: number[]): Scene => {
    const texture = drawTexture(rng);
    const N = width * height;
    const noise = rng.uniformArray(N * 3, -texture.noise, texture.noise);
    const data = new Uint8Array(N * 3);
    for (let y = 0, i = 0; y < height; y++)
      for (let x = 0; x < width; x++, i++)
        for (let ch = 0; ch < 3; ch++) {
          const v = Math.floor(textureValue(texture, x, y, ch) + noise[i * 3 + ch] + 0.5);
          data[i * 3 + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
    const labels = new Uint8Array(N).fill(background);
    const owner = new Int32Array(N).fill(-1);
    const count = oMin + rng.int(oMax - oMin + 1);
    const objects: SceneObject[] = [];
    for (let o = 0; o < count; o++) {
      const src = objectClasses[rng.int(objectClasses.length)];
      const classId = classes.find((c) => c.source === src)!.id;
      const index = take(src);
      const side = Math.round(srcSide * (sMin + (sMax - sMin) * rng.uniform()));
      const flip = rng.uniform() < 0.5;
      const x0 = rng.int(width - side + 1);
      const y0 = rng.int(height - side + 1);
      const tint: [number, number, number] = [
        60 + 195 * rng.uniform(),
        60 + 195 * rng.uniform(),
        60 + 195 * rng.uniform(),
      ];
      const { value, mask } = objectMask(pool, index, side, flip, threshold);
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) {
          const m = y * side + x;
          if (!mask[m]) continue;
          const p = (y0 + y) * width + x0 + x;
          labels[p] = classId;
          owner[p] = o;
          for (let ch = 0; ch < 3; ch++) {
            const v = Math.floor((value[m] * tint[ch]) / 255 + 0.5);
            data[p * 3 + ch] = v > 255 ? 255 : v;
          }
        }
      objects.push({ classId, index, x: x0, y: y0, side, flip, tint, visible: 0 });
    }
    for (let p = 0; p < N; p++) if (owner[p] >= 0) objects[owner[p]].visible++;
    return { name, image: { width, height, channels: 3, data }, labels, objects, texture };
  };

  const all = [...base, ...novel];
  const digits = (k: number) => String(Math.max(k - 1, 0)).length;
  const labeled: Scene[] = [];
  for (let i = 0; i < nLab; i++)
    labeled.push(makeScene(`lab-${String(i).padStart(digits(nLab), '0')}`, root.split('labeled', i), base));
  const unlabeled: Scene[] = [];
  for (let i = 0; i < nUnl; i++)
    unlabeled.push(makeScene(`unl-${String(i).padStart(digits(nUnl), '0')}`, root.split('unlabeled', i), all));
  return {
    classes,
    numBase: background + 1,
    background,
    base: classes.filter((c) => !c.novel).map((c) => c.id),
    novel: classes.filter((c) => c.novel).map((c) => c.id),
    labeled,
    unlabeled,
    width,
    height,
    seed,
  };
}

/**
 * "Oracle" segments of a label map: its 4-connected regions of equal label, numbered 1.. in raster order of their
 * first pixel (each visible object part and each background region becomes one segment; touching objects of the same
 * class merge). What a perfect class-agnostic proposer would give.
 */
export function labelSegments(labels: ArrayLike<number>, width: number, height: number): SegmentMap {
  intOption('width', width, 1, 1);
  intOption('height', height, 1, 1);
  const N = width * height;
  if (!labels || labels.length !== N) throw new InvalidArgumentError('labels', labels?.length, `${N} pixels`);
  const seg = new Int32Array(N);
  const stack = new Int32Array(N);
  const areas: number[] = [];
  for (let p = 0; p < N; p++) {
    if (seg[p]) continue;
    const id = areas.length + 1;
    const lab = labels[p];
    let top = 0;
    let area = 0;
    seg[p] = id;
    stack[top++] = p;
    while (top > 0) {
      const q = stack[--top];
      area++;
      const y = (q / width) | 0;
      const x = q - y * width;
      const nb = [
        x > 0 ? q - 1 : -1,
        x < width - 1 ? q + 1 : -1,
        y > 0 ? q - width : -1,
        y < height - 1 ? q + width : -1,
      ];
      for (const r of nb)
        if (r >= 0 && !seg[r] && labels[r] === lab) {
          seg[r] = id;
          stack[top++] = r;
        }
    }
    areas.push(area);
  }
  return { segments: seg, width, height, count: areas.length, areas: Int32Array.from(areas) };
}

/**
 * Majority label of segments 1..count (ties → the smaller id) and that label's pixel count, from a label map;
 * pixels with label `ignore` are left out (a segment with no other pixel gets −1).
 */
export function segmentMajority(
  segments: ArrayLike<number>,
  count: number,
  labels: ArrayLike<number>,
  ignore = 255,
): { label: Int32Array; count: Int32Array } {
  intOption('count', count, 1, 1);
  if (!segments || !labels || segments.length !== labels.length)
    throw new InvalidArgumentError('labels', labels?.length, `${segments?.length} pixels (one per segment-map pixel)`);
  const hist = new Map<number, Int32Array>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c === ignore) continue;
    const s = segments[i];
    if (!Number.isInteger(s) || s < 0 || s > count)
      throw new InvalidArgumentError('segments', `id ${s} at pixel ${i}`, `a segment id in [0, ${count}]`);
    let h = hist.get(c);
    if (!h) hist.set(c, (h = new Int32Array(count + 1)));
    h[s]++;
  }
  const label = new Int32Array(count).fill(-1);
  const best = new Int32Array(count);
  for (const c of [...hist.keys()].sort((a, b) => a - b)) {
    const h = hist.get(c)!;
    for (let s = 1; s <= count; s++)
      if (h[s] > best[s - 1]) {
        best[s - 1] = h[s];
        label[s - 1] = c;
      }
  }
  return { label, count: best };
}
