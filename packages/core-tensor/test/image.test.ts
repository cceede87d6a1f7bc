import { describe, expect, test } from '@jest/globals';
import { zlibSync } from 'fflate';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  CorruptFileError,
  DTypeError,
  InvalidArgumentError,
  ShapeError,
  UnsupportedFormatError,
} from '../src/errors.js';
import {
  type Image,
  convertChannels,
  decodeImage,
  decodeJpeg,
  decodePng,
  encodeJpeg,
  encodePng,
  imageToTensor,
  tensorToImage,
} from '../src/image.js';
import { crc32 } from '../src/npz.js';
import { type Tensor, transpose } from '../src/tensor.js';
import { expectThrows } from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures');
const read = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(path.join(FIXTURES, ...p)));
const readJson = (
  ...p: string[]
): Record<string, { width: number; height: number; channels: number; data: number[] }> =>
  JSON.parse(readFileSync(path.join(FIXTURES, ...p), 'utf8'));

/** A deterministic pseudo-random image. */
function noiseImage(width: number, height: number, channels: 1 | 3 | 4, seed = 1): Image {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (i % 7 < 3 ? s >>> 24 : (i * 13) & 0xff) & 0xff;
  }
  return { width, height, channels, data };
}

/** A smooth synthetic RGB image (gradients), as make_fixtures.py --check expects for ts-written/smooth.jpg. */
function smoothImage(): Image {
  const width = 48;
  const height = 32;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x * 5, y * 7, 128], (y * width + x) * 3);
  return { width, height, channels: 3, data };
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

/** A PNG file from chunks, with correct CRCs. */
function buildPng(chunks: [string, Uint8Array][]): Uint8Array {
  const parts: number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  for (const [type, data] of chunks) {
    const body = new Uint8Array(4 + data.length);
    for (let i = 0; i < 4; i++) body[i] = type.charCodeAt(i);
    body.set(data, 4);
    const len = data.length;
    const crc = crc32(body);
    parts.push(len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, ...body);
    parts.push(crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255);
  }
  return Uint8Array.from(parts);
}

function ihdr(w: number, h: number, depth: number, colorType: number, interlace = 0): Uint8Array {
  return Uint8Array.from([0, 0, 0, w, 0, 0, 0, h, depth, colorType, 0, 0, interlace]);
}

describe('decodePng on python-written fixtures', () => {
  const expected = readJson('png', 'expected.json');
  test.each(Object.keys(expected))('%s', (name) => {
    const e = expected[name];
    const img = decodePng(read('png', name), name);
    expect([img.width, img.height, img.channels]).toEqual([e.width, e.height, e.channels]);
    expect(Array.from(img.data)).toEqual(e.data);
    expect(decodeImage(read('png', name))).toEqual(img);
  });
});

describe('encodePng', () => {
  test.each([1, 3, 4] as const)('%i channels, every filter type, round trip', (channels) => {
    const img = noiseImage(13, 9, channels, channels);
    for (const filter of [0, 1, 2, 3, 4, 'adaptive'] as const) {
      const back = decodePng(encodePng(img, { filter }));
      expect(back).toEqual(img);
    }
  });

  test('1×1 and uncompressed level 0', () => {
    const img: Image = { width: 1, height: 1, channels: 3, data: Uint8Array.from([1, 2, 3]) };
    expect(decodePng(encodePng(img, { level: 0 }))).toEqual(img);
  });

  test('accepts a Uint8ClampedArray (canvas ImageData)', () => {
    const data = new Uint8ClampedArray([10, 20, 30, 40]);
    const back = decodePng(encodePng({ width: 1, height: 1, channels: 4, data } as unknown as Image));
    expect(Array.from(back.data)).toEqual([10, 20, 30, 40]);
  });

  test('Pillow reads the PNG we write (make_fixtures.py --check); bytes are reproducible', () => {
    const width = 9;
    const height = 6;
    const data = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data.set([x * 28, y * 40, (x * y * 5) % 256, 255 - x * 10], (y * width + x) * 4);
    const files: [string, Uint8Array][] = [
      ['rgba.png', encodePng({ width, height, channels: 4, data })],
      ['smooth.jpg', encodeJpeg(smoothImage(), 90)],
    ];
    const dir = path.join(FIXTURES, 'ts-written');
    if (process.env.WRITE_TS_FIXTURES) {
      mkdirSync(dir, { recursive: true });
      for (const [name, bytes] of files) writeFileSync(path.join(dir, name), bytes);
    }
    for (const [name, bytes] of files) expect(Buffer.from(bytes)).toEqual(Buffer.from(read('ts-written', name)));
  });

  test('invalid images and options', () => {
    const img = noiseImage(2, 2, 3);
    expectThrows(
      () => encodePng({ ...img, channels: 2 as 3 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'img.channels',
    );
    expectThrows(() => encodePng({ ...img, width: 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'img.width');
    expectThrows(() => encodePng({ ...img, data: new Uint8Array(5) }), ShapeError, 'E_SHAPE', 'img.data');
    expectThrows(() => encodePng({ ...img, data: [1, 2] as unknown as Uint8Array }), DTypeError, 'E_DTYPE', 'img.data');
    expectThrows(() => encodePng(img, { level: 10 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'level');
    expectThrows(() => encodePng(img, { filter: 5 as 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'filter');
  });
});

describe('PNG errors', () => {
  const good = (): Uint8Array => read('png', 'rgb8.png').slice();

  test('CRC mismatch', () => {
    const bytes = good();
    const idat = Buffer.from(bytes).indexOf('IDAT');
    bytes[idat + 6] ^= 0x10;
    const e = expectThrows(() => decodePng(bytes, 'rgb8.png'), CorruptFileError, 'E_CORRUPT_FILE', 'rgb8.png');
    expect(e.message).toMatch(/CRC mismatch in IDAT/);
  });

  test('truncated files', () => {
    const bytes = good();
    for (const cut of [bytes.length - 20, 40, 12])
      expectThrows(() => decodePng(bytes.subarray(0, cut), 'cut.png'), CorruptFileError, 'E_CORRUPT_FILE', 'cut.png');
  });

  test('bad signature', () => {
    const bytes = good();
    bytes[1] = 0;
    expectThrows(() => decodePng(bytes, 'x'), CorruptFileError, 'E_CORRUPT_FILE', 'x');
  });

  test('image data shorter than the header says', () => {
    const png = buildPng([
      ['IHDR', ihdr(4, 4, 8, 0)],
      ['IDAT', zlibSync(new Uint8Array(3 * 5))],
      ['IEND', new Uint8Array(0)],
    ]);
    const e = expectThrows(() => decodePng(png, 'short.png'), CorruptFileError, 'E_CORRUPT_FILE', 'short.png');
    expect(e.message).toMatch(/truncated/);
  });

  test('invalid filter type, bit depth, missing palette', () => {
    const raw = Uint8Array.from([7, 1, 2]);
    const bad = (chunks: [string, Uint8Array][]) =>
      expectThrows(() => decodePng(buildPng(chunks), 'b.png'), CorruptFileError, 'E_CORRUPT_FILE', 'b.png');
    bad([
      ['IHDR', ihdr(2, 1, 8, 0)],
      ['IDAT', zlibSync(raw)],
      ['IEND', new Uint8Array(0)],
    ]);
    bad([
      ['IHDR', ihdr(2, 1, 3, 0)],
      ['IDAT', zlibSync(raw)],
      ['IEND', new Uint8Array(0)],
    ]);
    bad([
      ['IHDR', ihdr(2, 1, 8, 3)],
      ['IDAT', zlibSync(Uint8Array.from([0, 0, 0]))],
      ['IEND', new Uint8Array(0)],
    ]);
    bad([
      ['IDAT', zlibSync(raw)],
      ['IEND', new Uint8Array(0)],
    ]);
  });

  test('unknown critical chunk', () => {
    const png = buildPng([
      ['IHDR', ihdr(1, 1, 8, 0)],
      ['ABCD', new Uint8Array(1)],
      ['IDAT', zlibSync(Uint8Array.from([0, 9]))],
      ['IEND', new Uint8Array(0)],
    ]);
    expectThrows(() => decodePng(png), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT', 'chunk');
    // ...while unknown ancillary chunks are skipped
    const ok = buildPng([
      ['IHDR', ihdr(1, 1, 8, 0)],
      ['abCD', new Uint8Array(1)],
      ['IDAT', zlibSync(Uint8Array.from([0, 9]))],
      ['IEND', new Uint8Array(0)],
    ]);
    expect(Array.from(decodePng(ok).data)).toEqual([9]);
  });

  test('maxPixels guards before allocating', () => {
    const png = buildPng([
      ['IHDR', ihdr(200, 200, 8, 6)],
      ['IEND', new Uint8Array(0)],
    ]);
    expectThrows(
      () => decodePng(png, 'big.png', { maxPixels: 10000 }),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
      'maxPixels',
    );
    expectThrows(
      () => decodeImage(read('png', 'rgb8.png'), 'x', { maxPixels: 10 }),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
      'maxPixels',
    );
  });
});

describe('decodeImage', () => {
  test.each([
    ['GIF', [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]],
    ['BMP', [0x42, 0x4d, 0, 0]],
    ['unknown', [1, 2, 3, 4, 5]],
    ['empty', []],
  ])('%s → UnsupportedFormatError', (_, bytes) => {
    const e = expectThrows(
      () => decodeImage(Uint8Array.from(bytes)),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
      'format',
    );
    expect(e.message).toMatch(/PNG or JPEG/);
  });

  test('not bytes', () => {
    expectThrows(() => decodeImage('x.png' as unknown as Uint8Array), DTypeError, 'E_DTYPE', 'bytes');
  });
});

describe('JPEG', () => {
  test('encode → decode of a smooth image keeps PSNR > 30 dB', () => {
    const img = smoothImage();
    for (const q of [75, 90, 100]) {
      const back = decodeImage(encodeJpeg(img, q), 'smooth.jpg');
      expect([back.width, back.height, back.channels]).toEqual([48, 32, 3]);
      expect(psnr(back.data, img.data)).toBeGreaterThan(30);
    }
  });

  test('RGBA drops alpha and gray encodes as equal channels', () => {
    const rgba = convertChannels(smoothImage(), 4);
    expect(psnr(decodeJpeg(encodeJpeg(rgba)).data, smoothImage().data)).toBeGreaterThan(30);
    const gray = convertChannels(smoothImage(), 1);
    const back = decodeJpeg(encodeJpeg(gray));
    expect(back.channels).toBe(3);
    expect(psnr(convertChannels(back, 1).data, gray.data)).toBeGreaterThan(30);
  });

  test('grayscale and progressive files written by libjpeg (Pillow) match its decoding closely', () => {
    const expected = readJson('jpeg', 'expected.json');
    for (const name of ['gray.jpg', 'progressive.jpg']) {
      const e = expected[name];
      const img = decodeJpeg(read('jpeg', name), name);
      expect([img.width, img.height, img.channels]).toEqual([e.width, e.height, e.channels]);
      // IDCT rounding and chroma upsampling (Pillow's libjpeg interpolates 4:2:0 chroma) differ between decoders
      expect(psnr(img.data, Uint8Array.from(e.data))).toBeGreaterThan(35);
      if (name === 'gray.jpg')
        for (let i = 0; i < e.data.length; i++) expect(Math.abs(img.data[i] - e.data[i])).toBeLessThanOrEqual(2);
    }
  });

  test('works without a global Buffer (as in browsers)', () => {
    const g = globalThis as { Buffer?: unknown };
    const saved = g.Buffer;
    delete g.Buffer;
    try {
      const bytes = encodeJpeg(smoothImage());
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(typeof g.Buffer).toBe('undefined');
      expect(decodeJpeg(bytes).width).toBe(48);
    } finally {
      g.Buffer = saved;
    }
  });

  test('errors', () => {
    const jpg = encodeJpeg(smoothImage());
    expectThrows(
      () => decodeJpeg(jpg, 'a.jpg', { maxPixels: 100 }),
      UnsupportedFormatError,
      'E_UNSUPPORTED_FORMAT',
      'maxPixels',
    );
    expectThrows(
      () => decodeJpeg(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), 'e.jpg'),
      CorruptFileError,
      'E_CORRUPT_FILE',
      'e.jpg',
    );
    expectThrows(() => decodeJpeg(jpg.subarray(0, 100), 't.jpg'), CorruptFileError, 'E_CORRUPT_FILE', 't.jpg');
    expectThrows(() => decodeJpeg(Uint8Array.from([1, 2, 3, 4]), 'n.jpg'), CorruptFileError, 'E_CORRUPT_FILE', 'n.jpg');
    // an arithmetic-coded frame header (SOF9)
    const sof9 = Uint8Array.from([0xff, 0xd8, 0xff, 0xc9, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    expectThrows(() => decodeJpeg(sof9), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT', 'JPEG coding');
    expectThrows(() => encodeJpeg(smoothImage(), 0), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'quality');
    expectThrows(() => encodeJpeg(smoothImage(), 101), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'quality');
  });
});

describe('imageToTensor / tensorToImage', () => {
  const img: Image = { width: 3, height: 2, channels: 3, data: Uint8Array.from({ length: 18 }, (_, i) => i * 15) };

  test('chw and hwc layouts, 0-1 scale', () => {
    const chw = imageToTensor(img);
    expect(chw.shape).toEqual([3, 2, 3]);
    expect(chw.dtype).toBe('float32');
    // channel 0 is bytes 0, 3, 6, ... of the HWC data
    expect(Array.from(chw.data.subarray(0, 6))).toEqual(
      Array.from([0, 45, 90, 135, 180, 225], (v) => Math.fround(v / 255)),
    );
    const hwc = imageToTensor(img, { layout: 'hwc' });
    expect(hwc.shape).toEqual([2, 3, 3]);
    expect(Array.from(hwc.data)).toEqual(Array.from(img.data, (v) => Math.fround(v / 255)));
  });

  test('0-255 scale with mean and std per channel', () => {
    const t = imageToTensor(img, { layout: 'hwc', scale: '0-255', mean: [127.5, 0, 10], std: [128, 1, 2] });
    expect(t.data[0]).toBe(Math.fround((0 - 127.5) / 128));
    expect(t.data[1]).toBe(15);
    expect(t.data[2]).toBe(Math.fround((30 - 10) / 2));
    const n = imageToTensor(img, { mean: 0.5, std: 0.25 });
    expect(n.data[1]).toBe(Math.fround((45 / 255 - 0.5) / 0.25));
  });

  test('round trips exactly in both layouts, with normalisation', () => {
    const src = noiseImage(5, 4, 3);
    for (const layout of ['chw', 'hwc'] as const) {
      const opts = { layout, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
      expect(tensorToImage(imageToTensor(src, opts), opts)).toEqual(src);
      const raw = { layout, scale: '0-255' as const };
      expect(tensorToImage(imageToTensor(src, raw), raw)).toEqual(src);
    }
  });

  test('clamps and rounds; NaN becomes 0', () => {
    const t: Tensor<'float32'> = {
      dtype: 'float32',
      data: Float32Array.from([-0.1, 1.2, 0.5 / 255, 1.49 / 255, NaN, 254.6 / 255]),
      shape: [1, 2, 3],
      stride: [6, 3, 1],
      offset: 0,
    };
    const out = tensorToImage(t);
    expect(out.channels).toBe(1);
    expect(Array.from(out.data)).toEqual([0, 255, 1, 1, 0, 255]);
  });

  test('reads strided views and [H, W] tensors', () => {
    const src = noiseImage(4, 3, 3);
    const hwc = imageToTensor(src, { layout: 'hwc' });
    const chwView = transpose(hwc, [2, 0, 1]); // a non-contiguous [C, H, W] view
    expect(tensorToImage(chwView, { layout: 'chw' })).toEqual(src);
    const gray = imageToTensor(convertChannels(src, 1), { layout: 'hwc' });
    const hw: Tensor<'float32'> = { ...gray, shape: [3, 4], stride: [4, 1] };
    expect(tensorToImage(hw)).toEqual(convertChannels(src, 1));
  });

  test('channel conversion', () => {
    const rgba = noiseImage(2, 2, 4);
    const t = imageToTensor(rgba, { channels: 3, scale: '0-255' });
    expect(t.shape).toEqual([3, 2, 2]);
    expect(convertChannels(rgba, 3).data[3]).toBe(rgba.data[4]);
    const g = convertChannels({ width: 1, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0]) }, 1);
    expect(Array.from(g.data)).toEqual([76]); // round(0.299 * 255)
    expect(Array.from(convertChannels(g, 4).data)).toEqual([76, 76, 76, 255]);
  });

  test('errors', () => {
    expectThrows(
      () => imageToTensor(img, { layout: 'nchw' as 'chw' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'layout',
    );
    expectThrows(
      () => imageToTensor(img, { scale: '0-2' as '0-1' }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'scale',
    );
    expectThrows(() => imageToTensor(img, { mean: [1, 2] }), ShapeError, 'E_SHAPE', 'mean');
    expectThrows(() => imageToTensor(img, { std: 0 }), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'std');
    const t = imageToTensor(img);
    expectThrows(() => tensorToImage({ ...t, shape: [2, 3, 3] }), ShapeError, 'E_SHAPE', 't');
    expectThrows(() => tensorToImage({ ...t, shape: [18], stride: [1] }), ShapeError, 'E_SHAPE', 't');
    expectThrows(
      () => tensorToImage({ ...t, dtype: 'float64' } as unknown as Tensor<'float32'>),
      DTypeError,
      'E_DTYPE',
      't',
    );
  });
});
