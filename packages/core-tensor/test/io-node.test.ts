import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CorruptFileError,
  FileNotFoundError,
  InvalidArgumentError,
  TrustVisionError,
  UnsupportedFormatError,
} from '../src/errors.js';
import type { Image } from '../src/image.js';
import { readImage, readNpy, readNpz, writeFileAtomic, writeImage, writeNpy, writeNpz } from '../src/io-node.js';
import { tensor } from '../src/tensor.js';

// the module object io-node calls into (the same one `import * as fsp from 'node:fs/promises'` reads through)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fsp = require('node:fs/promises') as typeof import('node:fs/promises');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'core-tensor-io-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  jest.restoreAllMocks();
});

async function expectRejects(
  p: Promise<unknown>,
  cls: new (...a: never[]) => Error,
  code: string,
  param: string,
): Promise<Error> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  expect((caught as { code: string }).code).toBe(code);
  expect((caught as { param: string }).param).toBe(param);
  return caught as Error;
}

/** Files in `d` other than `keep` (temporary files would show up here). */
const others = (d: string, ...keep: string[]): string[] => readdirSync(d).filter((f) => !keep.includes(f));

const img: Image = { width: 4, height: 3, channels: 3, data: Uint8Array.from({ length: 36 }, (_, i) => i * 7) };

describe('npy / npz files', () => {
  test('writeNpy → readNpy', async () => {
    const p = path.join(dir, 'a.npy');
    const t = tensor(BigInt64Array.from([1n, -2n, 3n]), [3]);
    await writeNpy(p, t);
    const back = await readNpy(p);
    expect(back.dtype).toBe('int64');
    expect(Array.from(back.data as BigInt64Array)).toEqual([1n, -2n, 3n]);
  });

  test('writeNpz → readNpz, compressed', async () => {
    const p = path.join(dir, 'b.npz');
    await writeNpz(
      p,
      { x: tensor(Float32Array.from([1, 2]), [2]), y: tensor(Uint8Array.from([3]), [1]) },
      { compress: true },
    );
    const z = await readNpz(p);
    expect(Object.keys(z).sort()).toEqual(['x', 'y']);
    expect(Array.from(z.x.data as Float32Array)).toEqual([1, 2]);
  });

  test('reads numpy fixtures; corrupt files name the path', async () => {
    const z = await readNpz(path.join(__dirname, 'fixtures', 'npz', 'savez.npz'));
    expect(z.weights.shape).toEqual([3, 4]);
    const bad = path.join(dir, 'bad.npy');
    writeFileSync(bad, 'not numpy');
    await expectRejects(readNpy(bad), CorruptFileError, 'E_CORRUPT_FILE', bad);
  });

  test.each([
    ['readNpy', (p: string) => readNpy(p)],
    ['readNpz', (p: string) => readNpz(p)],
    ['readImage', (p: string) => readImage(p)],
  ])('%s: missing file → FileNotFoundError', async (_, fn) => {
    const missing = path.join(dir, 'nope', 'missing.bin');
    const e = await expectRejects(fn(missing), FileNotFoundError, 'E_FILE_NOT_FOUND', 'path');
    expect((e as FileNotFoundError).path).toBe(missing);
  });

  test('a directory is an I/O error', async () => {
    await expectRejects(readNpy(dir), TrustVisionError, 'E_IO', 'path');
  });

  test('invalid path', async () => {
    await expectRejects(readNpy('' as string), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'path');
  });
});

describe('image files', () => {
  test('PNG round trip is exact', async () => {
    const p = path.join(dir, 'img.png');
    await writeImage(p, img);
    expect(await readImage(p)).toEqual(img);
  });

  test('JPEG by extension (any case); content decides the decoder on read', async () => {
    for (const name of ['img.jpg', 'img2.JPEG']) {
      const p = path.join(dir, name);
      await writeImage(p, img, { quality: 95 });
      expect(Array.from(readFileSync(p).subarray(0, 3))).toEqual([0xff, 0xd8, 0xff]);
      const back = await readImage(p);
      expect([back.width, back.height, back.channels]).toEqual([4, 3, 3]);
    }
    const misnamed = path.join(dir, 'really-a-png.jpg');
    writeFileSync(misnamed, readFileSync(path.join(dir, 'img.png')));
    expect(await readImage(misnamed)).toEqual(img);
  });

  test('unknown extension → UnsupportedFormatError, nothing written', async () => {
    const sub = path.join(dir, 'ext');
    mkdirSync(sub);
    const e = await expectRejects(
      writeImage(path.join(sub, 'x.bmp'), img),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
      'path',
    );
    expect(e.message).toMatch(/\.png, \.jpg or \.jpeg/);
    await expectRejects(
      writeImage(path.join(sub, 'noext'), img),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
      'path',
    );
    expect(readdirSync(sub)).toEqual([]);
  });

  test('unknown image content → UnsupportedFormatError', async () => {
    const p = path.join(dir, 'x.gif');
    writeFileSync(p, Buffer.from('GIF89a....'));
    await expectRejects(readImage(p), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT', 'format');
  });
});

describe('writeFileAtomic', () => {
  test('creates and replaces files', async () => {
    const sub = path.join(dir, 'atomic-ok');
    mkdirSync(sub);
    const p = path.join(sub, 'f.bin');
    await writeFileAtomic(p, Uint8Array.from([1, 2, 3]));
    await writeFileAtomic(p, Uint8Array.from([4, 5]));
    expect(Array.from(readFileSync(p))).toEqual([4, 5]);
    expect(others(sub, 'f.bin')).toEqual([]);
  });

  test('a failed rename leaves the old file and no temporary file', async () => {
    const sub = path.join(dir, 'atomic-rename');
    mkdirSync(sub);
    const p = path.join(sub, 'f.npy');
    writeFileSync(p, 'old');
    const err = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const spy = jest.spyOn(fsp, 'rename').mockRejectedValueOnce(err);
    const e = await expectRejects(writeNpy(p, tensor(Float32Array.from([1]), [1])), TrustVisionError, 'E_IO', 'path');
    expect(spy).toHaveBeenCalled();
    expect((e as Error).cause).toBe(err);
    expect(readFileSync(p, 'utf8')).toBe('old');
    expect(others(sub, 'f.npy')).toEqual([]);
  });

  test('a failed write leaves nothing behind', async () => {
    const sub = path.join(dir, 'atomic-write');
    mkdirSync(sub);
    const realOpen = fsp.open;
    jest.spyOn(fsp, 'open').mockImplementationOnce(async (...args: Parameters<typeof fsp.open>) => {
      const handle = await realOpen(...args);
      jest.spyOn(handle, 'writeFile').mockImplementationOnce(async () => {
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      });
      return handle;
    });
    await expectRejects(writeImage(path.join(sub, 'a.png'), img), TrustVisionError, 'E_IO', 'path');
    expect(readdirSync(sub)).toEqual([]);
  });

  test('writing over a directory fails cleanly', async () => {
    const sub = path.join(dir, 'atomic-dir');
    mkdirSync(path.join(sub, 'target', 'inner'), { recursive: true });
    await expectRejects(
      writeFileAtomic(path.join(sub, 'target'), Uint8Array.from([1])),
      TrustVisionError,
      'E_IO',
      'path',
    );
    expect(others(sub, 'target')).toEqual([]);
  });

  test('a missing directory → FileNotFoundError', async () => {
    const p = path.join(dir, 'no-such-dir', 'f.bin');
    await expectRejects(writeFileAtomic(p, Uint8Array.from([1])), FileNotFoundError, 'E_FILE_NOT_FOUND', 'path');
  });

  test('invalid bytes', async () => {
    await expectRejects(
      writeFileAtomic(path.join(dir, 'x'), 'text' as unknown as Uint8Array),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'bytes',
    );
  });
});
