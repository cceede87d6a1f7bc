/**
 * Node.js file helpers for `.npy`, `.npz` and images. Reads map a missing file to `FileNotFoundError('path')`;
 * writes are atomic (a temporary file in the same directory, renamed over the target), so a reader never sees a
 * partial file and a failed write leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { FileNotFoundError, InvalidArgumentError, TrustVisionError, UnsupportedFormatError } from './errors.js';
import { type DecodeImageOptions, type Image, decodeImage, encodeJpeg, encodePng } from './image.js';
import { encodeNpy, parseNpy } from './npy.js';
import { type EncodeNpzOptions, encodeNpz, parseNpz } from './npz.js';
import type { Tensor } from './tensor.js';

function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('path', path, 'a non-empty string');
  return path;
}

function ioError(action: string, path: string, e: unknown): TrustVisionError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FileNotFoundError('path', path);
  return new TrustVisionError('E_IO', `cannot ${action} ${path}: ${(e as Error)?.message ?? e}`, {
    param: 'path',
    value: path,
    cause: e,
  });
}

/** The bytes of a file. Missing → FileNotFoundError ('path'); other failures → E_IO. */
async function readBytes(path: string): Promise<Uint8Array> {
  checkPath(path);
  try {
    const b = await fsp.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw ioError('read', path, e);
  }
}

/**
 * Writes `bytes` to `path` atomically: into a uniquely named temporary file next to it, flushed to disk, then renamed
 * over `path`. On any failure the temporary file is removed and `path` is untouched. A missing directory throws
 * FileNotFoundError ('path').
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  checkPath(path);
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes', bytes, 'a Uint8Array');
  const dir = nodePath.dirname(nodePath.resolve(path));
  const tmp = nodePath.join(dir, `.${nodePath.basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fsp.FileHandle | undefined;
  let created = false;
  try {
    handle = await fsp.open(tmp, 'wx');
    created = true;
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, path);
  } catch (e) {
    if (handle) await handle.close().catch(() => undefined);
    if (created) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException)?.code;
    if (!created && (code === 'ENOENT' || code === 'ENOTDIR')) throw new FileNotFoundError('path', dir);
    throw ioError('write', path, e);
  }
}

/** Reads a `.npy` file into a tensor (see `parseNpy`). */
export async function readNpy(path: string): Promise<Tensor> {
  return parseNpy(await readBytes(path), path);
}

/** Writes a tensor as a `.npy` file, atomically. */
export async function writeNpy(path: string, t: Tensor): Promise<void> {
  checkPath(path);
  await writeFileAtomic(path, encodeNpy(t));
}

/** Reads a `.npz` archive into `{ name: tensor }` (see `parseNpz`). */
export async function readNpz(path: string): Promise<Record<string, Tensor>> {
  return parseNpz(await readBytes(path), path);
}

/** Writes `{ name: tensor }` as a `.npz` archive (stored, or deflated with `compress: true`), atomically. */
export async function writeNpz(
  path: string,
  arrays: Record<string, Tensor>,
  options: EncodeNpzOptions = {},
): Promise<void> {
  checkPath(path);
  await writeFileAtomic(path, encodeNpz(arrays, options));
}

/** Reads a PNG or JPEG file (the format is taken from the content, not the extension). */
export async function readImage(path: string, options: DecodeImageOptions = {}): Promise<Image> {
  return decodeImage(await readBytes(path), path, options);
}

export interface WriteImageOptions {
  /** JPEG quality 1-100 (default 90). */
  quality?: number;
}

/** Writes an image as PNG or JPEG, chosen by the extension (.png, .jpg, .jpeg; any case), atomically. */
export async function writeImage(path: string, img: Image, options: WriteImageOptions = {}): Promise<void> {
  checkPath(path);
  const ext = nodePath.extname(path).toLowerCase();
  let bytes: Uint8Array;
  if (ext === '.png') bytes = encodePng(img);
  else if (ext === '.jpg' || ext === '.jpeg') bytes = encodeJpeg(img, options.quality ?? 90);
  else throw new UnsupportedFormatError('path', ext || path, 'a path ending in .png, .jpg or .jpeg');
  await writeFileAtomic(path, bytes);
}
