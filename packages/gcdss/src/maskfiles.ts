/**
 * Mask sets from files (Node): per image, either a folder of binary PNG masks or an `.npz` holding `masks`
 * (bool / uint8 [N, H, W]), turned into the `assembleSegments` input `Uint8Array [N·H·W]`.
 */
import * as core from '@trustvision/core-tensor';
import {
  DTypeError,
  FileNotFoundError,
  InvalidArgumentError,
  ShapeError,
  type Image,
  type Tensor,
} from '@trustvision/core-tensor';

type NodeIo = {
  readNpz(path: string): Promise<Record<string, Tensor>>;
  readImage(path: string): Promise<Image>;
};

function nodeIo(): NodeIo {
  const io = core as unknown as Partial<NodeIo>;
  if (typeof io.readNpz !== 'function' || typeof io.readImage !== 'function')
    throw new InvalidArgumentError('environment', 'a browser build', 'Node.js (file I/O)');
  return io as NodeIo;
}

/** A mask set of one image: `masks` [count·height·width], 1 = in. */
export interface MaskSetFile {
  masks: Uint8Array;
  count: number;
  width: number;
  height: number;
  /** The file or folder read. */
  source: string;
}

function checkMasks(source: string, masks: Uint8Array, count: number, n: number): void {
  if (count === 0)
    throw new InvalidArgumentError('masks', `${source}: no masks`, 'at least one mask per image (N ≥ 1)');
  for (let m = 0; m < count; m++) {
    let any = false;
    for (let i = m * n, e = i + n; i < e; i++)
      if (masks[i]) {
        any = true;
        break;
      }
    if (!any)
      throw new InvalidArgumentError('masks', `${source}: mask ${m} is empty`, 'masks with at least one pixel each');
  }
}

/**
 * Reads the mask set at `path`: an `.npz` with `masks` bool/uint8 [N, H, W] (any non-zero value is "in"), or a folder
 * of single-channel PNG masks (all `*.png`, in name order; non-zero = in). With `width`/`height` given, the masks must
 * have that size. Errors (typed, `param` 'masks'): a missing path (`FileNotFoundError`), no `masks` array or another
 * dtype (`DTypeError`), another rank or size (`ShapeError`), a colour PNG, no masks at all, an empty mask.
 */
export async function readMaskSet(path: string, width?: number, height?: number): Promise<MaskSetFile> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('masks', path, 'a file or folder path');
  let stat;
  try {
    stat = await fs.stat(path);
  } catch {
    throw new FileNotFoundError('masks', path);
  }
  const sizeText =
    width !== undefined && height !== undefined ? `[N, ${height}, ${width}] (the image's size)` : '[N, H, W]';
  if (stat.isDirectory()) {
    const files = (await fs.readdir(path)).filter((f) => /\.png$/i.test(f)).sort();
    if (files.length === 0)
      throw new InvalidArgumentError('masks', `${path}: no .png files`, 'a folder with at least one binary PNG mask');
    let masks: Uint8Array | undefined;
    let W = width;
    let H = height;
    for (let m = 0; m < files.length; m++) {
      const file = pathMod.join(path, files[m]);
      const img = await nodeIo().readImage(file);
      if (img.channels !== 1)
        throw new InvalidArgumentError(
          'masks',
          `${file} with ${img.channels} channels`,
          'a single-channel (binary) PNG',
        );
      W ??= img.width;
      H ??= img.height;
      if (img.width !== W || img.height !== H)
        throw new ShapeError('masks', `${file}: ${img.width}×${img.height}`, `${W}×${H} (the image's size)`);
      masks ??= new Uint8Array(files.length * W * H);
      const o = m * W * H;
      for (let i = 0; i < W * H; i++) masks[o + i] = img.data[i] ? 1 : 0;
    }
    checkMasks(path, masks!, files.length, W! * H!);
    return { masks: masks!, count: files.length, width: W!, height: H!, source: path };
  }
  const arrays = await nodeIo().readNpz(path);
  const t = arrays.masks;
  if (!t)
    throw new InvalidArgumentError(
      'masks',
      `${path} with ${Object.keys(arrays).join(', ') || 'no arrays'}`,
      "an .npz with a 'masks' array (bool/uint8 [N, H, W])",
    );
  if (t.dtype !== 'bool' && t.dtype !== 'uint8') throw new DTypeError('masks', `${path}: ${t.dtype}`, 'bool or uint8');
  if (
    t.shape.length !== 3 ||
    (width !== undefined && t.shape[2] !== width) ||
    (height !== undefined && t.shape[1] !== height)
  )
    throw new ShapeError('masks', `${path}: [${t.shape.join(', ')}]`, sizeText);
  const [N, H, W] = t.shape;
  const src = core.denseData(t) as Uint8Array;
  const masks = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) masks[i] = src[i] ? 1 : 0;
  checkMasks(path, masks, N, H * W);
  return { masks, count: N, width: W, height: H, source: path };
}

/**
 * The mask set of the image with stem `stem` inside `dir`: `<dir>/<stem>.npz` or the folder `<dir>/<stem>/`. Neither
 * is a `FileNotFoundError` ('masks'); both is an `InvalidArgumentError`.
 */
export async function findMaskSet(dir: string, stem: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const npz = pathMod.join(dir, `${stem}.npz`);
  const folder = pathMod.join(dir, stem);
  const exists = async (p: string) =>
    fs.stat(p).then(
      (s) => s,
      () => undefined,
    );
  const [a, b] = [await exists(npz), await exists(folder)];
  if (a && b?.isDirectory())
    throw new InvalidArgumentError('masks', `${npz} and ${folder}/`, 'one mask set per image (an .npz or a folder)');
  if (a) return npz;
  if (b?.isDirectory()) return folder;
  throw new FileNotFoundError('masks', `${npz} (or the folder ${folder}/)`);
}
