/**
 * 8-bit images (browser-safe): PNG and JPEG decoding/encoding and conversion to and from float32 tensors.
 *
 * PNG is a self-contained codec over fflate's zlib (all color types, bit depths 1-16, all filters, Adam7
 * interlacing, tRNS transparency, chunk CRCs checked). JPEG goes through `jpeg-js`.
 */
import { type ZlibOptions, unzlibSync, zlibSync } from 'fflate';
import jpeg from 'jpeg-js';
import {
  CorruptFileError,
  DTypeError,
  InvalidArgumentError,
  ShapeError,
  UnsupportedFormatError,
  TrustVisionError,
} from './errors.js';
import { crc32 } from './npz.js';
import type { Tensor } from './tensor.js';

/** An 8-bit image: `height` rows of `width` pixels of `channels` bytes (gray, RGB or RGBA), row-major (HWC). */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

export interface DecodeImageOptions {
  /** Refuse images with more pixels than this before allocating them (default 100 million). */
  maxPixels?: number;
}

const DEFAULT_MAX_PIXELS = 100_000_000;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Validates an image and returns it with `data` as a Uint8Array (a Uint8ClampedArray, e.g. from a canvas `ImageData`,
 * is viewed without copying).
 */
export function checkImage(img: Image, param = 'img'): Image {
  if (img === null || typeof img !== 'object') throw new InvalidArgumentError(param, img, 'an image object');
  const { width, height, channels } = img;
  if (!Number.isInteger(width) || width < 1)
    throw new InvalidArgumentError(`${param}.width`, width, 'a positive integer');
  if (!Number.isInteger(height) || height < 1)
    throw new InvalidArgumentError(`${param}.height`, height, 'a positive integer');
  if (channels !== 1 && channels !== 3 && channels !== 4)
    throw new InvalidArgumentError(`${param}.channels`, channels, '1, 3 or 4');
  let data: unknown = img.data;
  if (data instanceof Uint8ClampedArray) data = new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (!(data instanceof Uint8Array)) throw new DTypeError(`${param}.data`, data, 'a Uint8Array');
  if (data.length !== width * height * channels)
    throw new ShapeError(
      `${param}.data`,
      data.length,
      `${width}×${height}×${channels} = ${width * height * channels} bytes`,
    );
  return data === img.data ? img : { width, height, channels, data };
}

function checkMaxPixels(width: number, height: number, options: DecodeImageOptions): void {
  const max = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(max > 0)) throw new InvalidArgumentError('maxPixels', max, 'a positive number');
  if (width * height > max)
    throw new UnsupportedFormatError(
      'maxPixels',
      `${width}×${height}`,
      `an image of at most ${max} pixels (pass a larger maxPixels to decode it)`,
    );
}

function describeMagic(bytes: Uint8Array): string {
  const b = (i: number): number => bytes[i] ?? -1;
  if (b(0) === 0x47 && b(1) === 0x49 && b(2) === 0x46) return 'GIF';
  if (b(0) === 0x42 && b(1) === 0x4d) return 'BMP';
  if (b(0) === 0x52 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x46 && b(8) === 0x57) return 'WebP';
  if ((b(0) === 0x49 && b(1) === 0x49) || (b(0) === 0x4d && b(1) === 0x4d)) return 'TIFF';
  const head = Array.from(bytes.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `unknown (starts with ${head || 'nothing'})`;
}

/** Decodes a PNG or JPEG, chosen by the file's magic bytes. Other formats throw UnsupportedFormatError ('format'). */
export function decodeImage(bytes: Uint8Array, source = 'image data', options: DecodeImageOptions = {}): Image {
  if (!(bytes instanceof Uint8Array)) throw new DTypeError('bytes', bytes, 'a Uint8Array');
  if (PNG_SIGNATURE.every((v, i) => bytes[i] === v)) return decodePng(bytes, source, options);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return decodeJpeg(bytes, source, options);
  throw new UnsupportedFormatError('format', describeMagic(bytes), 'a PNG or JPEG image');
}

// ---------------------------------------------------------------------------------------------------------------
// PNG decoding

interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
}

/** Samples per pixel for each PNG color type. */
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const VALID_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Reverses the PNG row filter of one scanline in place; `prev` is the previous reconstructed row or -1. */
function unfilterRow(
  raw: Uint8Array,
  cur: number,
  prev: number,
  rowBytes: number,
  bpp: number,
  filter: number,
  fail: () => never,
): void {
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < rowBytes; i++) raw[cur + i] += raw[cur + i - bpp];
      return;
    case 2:
      if (prev >= 0) for (let i = 0; i < rowBytes; i++) raw[cur + i] += raw[prev + i];
      return;
    case 3:
      for (let i = 0; i < rowBytes; i++) {
        const left = i >= bpp ? raw[cur + i - bpp] : 0;
        const up = prev >= 0 ? raw[prev + i] : 0;
        raw[cur + i] += (left + up) >> 1;
      }
      return;
    case 4:
      for (let i = 0; i < rowBytes; i++) {
        const a = i >= bpp ? raw[cur + i - bpp] : 0;
        const b = prev >= 0 ? raw[prev + i] : 0;
        const c = i >= bpp && prev >= 0 ? raw[prev + i - bpp] : 0;
        raw[cur + i] += paeth(a, b, c);
      }
      return;
    default:
      fail();
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes a PNG to 8 bits per sample: gray stays 1 channel, RGB 3, and anything with alpha (gray+alpha, RGBA,
 * palettes or colors with tRNS transparency) becomes RGBA. 16-bit samples are rounded to 8 bits.
 *
 * @throws CorruptFileError on a bad signature, a chunk CRC mismatch, truncation or invalid header values
 */
export function decodePng(bytes: Uint8Array, source = 'PNG data', options: DecodeImageOptions = {}): Image {
  if (!(bytes instanceof Uint8Array)) throw new DTypeError('bytes', bytes, 'a Uint8Array');
  const corrupt = (reason: string, cause?: unknown): CorruptFileError =>
    new CorruptFileError('PNG', source, reason, cause);
  if (bytes.length < 8 || !PNG_SIGNATURE.every((v, i) => bytes[i] === v)) throw corrupt('bad PNG signature');

  let hdr: PngHeader | undefined;
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let idatLength = 0;
  let p = 8;
  while (p < bytes.length) {
    if (p + 12 > bytes.length) throw corrupt('truncated chunk header');
    const length = u32be(bytes, p);
    const type = String.fromCharCode(bytes[p + 4], bytes[p + 5], bytes[p + 6], bytes[p + 7]);
    if (length > 0x7fffffff || p + 12 + length > bytes.length) throw corrupt(`truncated ${type} chunk`);
    const stored = u32be(bytes, p + 8 + length);
    if (crc32(bytes.subarray(p + 4, p + 8 + length)) !== stored) throw corrupt(`CRC mismatch in ${type} chunk`);
    const data = bytes.subarray(p + 8, p + 8 + length);
    p += 12 + length;
    if (hdr === undefined && type !== 'IHDR') throw corrupt('the first chunk is not IHDR');
    if (type === 'IHDR') {
      if (hdr) throw corrupt('more than one IHDR chunk');
      if (length !== 13) throw corrupt('IHDR chunk is not 13 bytes');
      hdr = {
        width: u32be(data, 0),
        height: u32be(data, 4),
        bitDepth: data[8],
        colorType: data[9],
        interlace: data[12],
      };
      if (hdr.width < 1 || hdr.height < 1 || hdr.width > 0x7fffffff || hdr.height > 0x7fffffff)
        throw corrupt(`invalid size ${hdr.width}×${hdr.height}`);
      if (!(hdr.colorType in SAMPLES)) throw corrupt(`invalid color type ${hdr.colorType}`);
      if (!VALID_DEPTHS[hdr.colorType].includes(hdr.bitDepth))
        throw corrupt(`invalid bit depth ${hdr.bitDepth} for color type ${hdr.colorType}`);
      if (data[10] !== 0 || data[11] !== 0) throw corrupt('unknown compression or filter method');
      if (hdr.interlace > 1) throw corrupt(`unknown interlace method ${hdr.interlace}`);
      checkMaxPixels(hdr.width, hdr.height, options);
    } else if (type === 'PLTE') {
      if (length % 3 !== 0 || length === 0 || length > 768) throw corrupt('invalid PLTE chunk length');
      palette = data;
    } else if (type === 'tRNS') {
      trns = data;
    } else if (type === 'IDAT') {
      idat.push(data);
      idatLength += length;
    } else if (type === 'IEND') {
      break;
    } else if ((type.charCodeAt(0) & 0x20) === 0) {
      // an unknown critical chunk (uppercase first letter) changes how the image must be read
      throw new UnsupportedFormatError('chunk', type, 'only the critical chunks IHDR, PLTE, IDAT and IEND');
    }
  }
  if (!hdr) throw corrupt('no IHDR chunk');
  if (idat.length === 0) throw corrupt('no IDAT chunk');
  const { width, height, bitDepth, colorType } = hdr;
  if (colorType === 3 && !palette) throw corrupt('palette image without a PLTE chunk');

  const spp = SAMPLES[colorType];
  const bitsPerPixel = spp * bitDepth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const rowBytesOf = (w: number): number => Math.ceil((w * bitsPerPixel) / 8);
  const passes =
    hdr.interlace === 1
      ? ADAM7.map(([x0, y0, dx, dy]) => ({
          x0,
          y0,
          dx,
          dy,
          w: width > x0 ? Math.ceil((width - x0) / dx) : 0,
          h: height > y0 ? Math.ceil((height - y0) / dy) : 0,
        })).filter((ps) => ps.w > 0 && ps.h > 0)
      : [{ x0: 0, y0: 0, dx: 1, dy: 1, w: width, h: height }];
  let rawSize = 0;
  for (const ps of passes) rawSize += ps.h * (1 + rowBytesOf(ps.w));

  let compressed: Uint8Array;
  if (idat.length === 1) compressed = idat[0];
  else {
    compressed = new Uint8Array(idatLength);
    let o = 0;
    for (const c of idat) {
      compressed.set(c, o);
      o += c.length;
    }
  }
  let raw: Uint8Array;
  try {
    raw = unzlibSync(compressed, { out: new Uint8Array(rawSize) });
  } catch (e) {
    throw corrupt(`cannot inflate image data: ${(e as Error).message}`, e);
  }
  if (raw.length < rawSize) throw corrupt(`image data truncated: ${raw.length} of ${rawSize} bytes`);

  // transparency: a palette alpha table, or one gray / RGB value that is fully transparent
  let alphaTable: Uint8Array | undefined;
  let key: number[] | undefined;
  if (trns) {
    if (colorType === 3) {
      alphaTable = new Uint8Array(256).fill(255);
      alphaTable.set(trns.subarray(0, 256));
    } else if (colorType === 0 && trns.length >= 2) key = [(trns[0] << 8) | trns[1]];
    else if (colorType === 2 && trns.length >= 6)
      key = [(trns[0] << 8) | trns[1], (trns[2] << 8) | trns[3], (trns[4] << 8) | trns[5]];
  }
  const outC: 1 | 3 | 4 = colorType === 4 || colorType === 6 || alphaTable || key ? 4 : colorType === 0 ? 1 : 3;
  const out = new Uint8Array(width * height * outC);
  const maxSample = (1 << bitDepth) - 1;
  const to8 =
    bitDepth === 8
      ? (v: number) => v
      : bitDepth === 16
        ? (v: number) => ((v * 255 + 32767) / 65535) | 0
        : (v: number) => (v * 255) / maxSample; // 1, 2, 4 bits: exact multiples (255, 85, 17)
  const paletteLen = palette ? palette.length / 3 : 0;
  const samples = new Uint16Array(width * spp);
  const filterError = (): never => {
    throw corrupt('invalid filter type');
  };

  let pos = 0;
  for (const ps of passes) {
    const rowBytes = rowBytesOf(ps.w);
    const n = ps.w * spp;
    for (let y = 0; y < ps.h; y++) {
      const cur = pos + 1;
      unfilterRow(raw, cur, y > 0 ? cur - rowBytes - 1 : -1, rowBytes, bpp, raw[pos], filterError);
      pos = cur + rowBytes;
      // raw samples of this row
      if (bitDepth === 8) for (let i = 0; i < n; i++) samples[i] = raw[cur + i];
      else if (bitDepth === 16) for (let i = 0; i < n; i++) samples[i] = (raw[cur + 2 * i] << 8) | raw[cur + 2 * i + 1];
      else
        for (let i = 0; i < n; i++) {
          const bit = i * bitDepth;
          samples[i] = (raw[cur + (bit >> 3)] >> (8 - bitDepth - (bit & 7))) & maxSample;
        }
      // samples → output pixels
      let o = ((ps.y0 + y * ps.dy) * width + ps.x0) * outC;
      const step = ps.dx * outC;
      for (let x = 0, s = 0; x < ps.w; x++, o += step, s += spp) {
        switch (colorType) {
          case 0: {
            const g = to8(samples[s]);
            out[o] = g;
            if (outC === 4) {
              out[o + 1] = g;
              out[o + 2] = g;
              out[o + 3] = samples[s] === key![0] ? 0 : 255;
            }
            break;
          }
          case 2:
            out[o] = to8(samples[s]);
            out[o + 1] = to8(samples[s + 1]);
            out[o + 2] = to8(samples[s + 2]);
            if (outC === 4)
              out[o + 3] = samples[s] === key![0] && samples[s + 1] === key![1] && samples[s + 2] === key![2] ? 0 : 255;
            break;
          case 3: {
            const idx = samples[s];
            if (idx < paletteLen) {
              out[o] = palette![3 * idx];
              out[o + 1] = palette![3 * idx + 1];
              out[o + 2] = palette![3 * idx + 2];
            } // an out-of-range index decodes as black, as libpng does
            if (outC === 4) out[o + 3] = alphaTable![idx];
            break;
          }
          case 4: {
            const g = to8(samples[s]);
            out[o] = g;
            out[o + 1] = g;
            out[o + 2] = g;
            out[o + 3] = to8(samples[s + 1]);
            break;
          }
          default:
            out[o] = to8(samples[s]);
            out[o + 1] = to8(samples[s + 1]);
            out[o + 2] = to8(samples[s + 2]);
            out[o + 3] = to8(samples[s + 3]);
        }
      }
    }
  }
  return { width, height, channels: outC, data: out };
}

// ---------------------------------------------------------------------------------------------------------------
// PNG encoding

export interface EncodePngOptions {
  /** zlib level 0-9 (default 6). */
  level?: number;
  /** Row filter: one of the five PNG filters for every row, or 'adaptive' (default: per row, the smallest sum). */
  filter?: 0 | 1 | 2 | 3 | 4 | 'adaptive';
}

/**
 * Applies PNG filter `f` to the `n` bytes at `cur` (previous row at `prev`, or -1 for the first row) into `dst`.
 * Uint8Array stores wrap modulo 256, which is the filter arithmetic.
 */
function filterRow(
  src: Uint8Array,
  cur: number,
  prev: number,
  n: number,
  bpp: number,
  f: number,
  dst: Uint8Array,
): void {
  const k = Math.min(bpp, n);
  if (f === 0 || (prev < 0 && f === 2)) {
    for (let i = 0; i < n; i++) dst[i] = src[cur + i];
  } else if (f === 1) {
    for (let i = 0; i < k; i++) dst[i] = src[cur + i];
    for (let i = k; i < n; i++) dst[i] = src[cur + i] - src[cur + i - bpp];
  } else if (f === 2) {
    for (let i = 0; i < n; i++) dst[i] = src[cur + i] - src[prev + i];
  } else if (prev < 0) {
    // first row: average and Paeth predict from the left neighbour only (halved for average)
    for (let i = 0; i < k; i++) dst[i] = src[cur + i];
    if (f === 3) for (let i = k; i < n; i++) dst[i] = src[cur + i] - (src[cur + i - bpp] >> 1);
    else for (let i = k; i < n; i++) dst[i] = src[cur + i] - src[cur + i - bpp];
  } else if (f === 3) {
    for (let i = 0; i < k; i++) dst[i] = src[cur + i] - (src[prev + i] >> 1);
    for (let i = k; i < n; i++) dst[i] = src[cur + i] - ((src[cur + i - bpp] + src[prev + i]) >> 1);
  } else {
    for (let i = 0; i < k; i++) dst[i] = src[cur + i] - src[prev + i];
    for (let i = k; i < n; i++) {
      const a = src[cur + i - bpp];
      const b = src[prev + i];
      const c = src[prev + i - bpp];
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      dst[i] = src[cur + i] - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
    }
  }
}

/** Encodes an 8-bit gray (1), RGB (3) or RGBA (4) image as a non-interlaced PNG. */
export function encodePng(img: Image, options: EncodePngOptions = {}): Uint8Array {
  const { width, height, channels, data } = checkImage(img);
  const { level = 6, filter = 'adaptive' } = options;
  if (!Number.isInteger(level) || level < 0 || level > 9)
    throw new InvalidArgumentError('level', level, 'an integer 0-9');
  if (filter !== 'adaptive' && ![0, 1, 2, 3, 4].includes(filter as number))
    throw new InvalidArgumentError('filter', filter, "0, 1, 2, 3, 4 or 'adaptive'");
  const rowBytes = width * channels;
  const raw = new Uint8Array(height * (rowBytes + 1));
  const trial = new Uint8Array(rowBytes);
  for (let y = 0; y < height; y++) {
    const cur = y * rowBytes;
    const prev = y > 0 ? cur - rowBytes : -1;
    const dst = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    let best: number = filter === 'adaptive' ? 0 : filter;
    if (filter === 'adaptive') {
      // the heuristic libpng uses: the filter whose output has the smallest sum of absolute signed bytes
      let bestScore = Infinity;
      for (let f = 0; f < 5; f++) {
        filterRow(data, cur, prev, rowBytes, channels, f, trial);
        let score = 0;
        for (let i = 0; i < rowBytes; i++) score += trial[i] < 128 ? trial[i] : 256 - trial[i];
        if (score < bestScore) {
          bestScore = score;
          best = f;
        }
      }
    }
    raw[y * (rowBytes + 1)] = best;
    filterRow(data, cur, prev, rowBytes, channels, best, dst);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const chunks: [string, Uint8Array][] = [
    ['IHDR', ihdr],
    ['IDAT', zlibSync(raw, { level: level as ZlibOptions['level'] })],
    ['IEND', new Uint8Array(0)],
  ];
  let total = 8;
  for (const [, d] of chunks) total += 12 + d.length;
  const out = new Uint8Array(total);
  const ov = new DataView(out.buffer);
  out.set(PNG_SIGNATURE, 0);
  let o = 8;
  for (const [type, d] of chunks) {
    ov.setUint32(o, d.length);
    for (let i = 0; i < 4; i++) out[o + 4 + i] = type.charCodeAt(i);
    out.set(d, o + 8);
    ov.setUint32(o + 8 + d.length, crc32(out.subarray(o + 4, o + 8 + d.length)));
    o += 12 + d.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// JPEG

interface JpegFrame {
  width: number;
  height: number;
  components: number;
}

/** Reads the frame header (SOFn) without decoding: size and number of components. */
function jpegFrame(bytes: Uint8Array, corrupt: (r: string) => Error): JpegFrame {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw corrupt('missing the JPEG SOI marker');
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) throw corrupt(`expected a marker at offset ${p}`);
    const marker = bytes[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // EOI or SOS before any frame header
    const len = (bytes[p + 2] << 8) | bytes[p + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2)
        throw new UnsupportedFormatError(
          'JPEG coding',
          `SOF${marker - 0xc0}`,
          'baseline or progressive Huffman coding (SOF0, SOF1, SOF2)',
        );
      if (p + 10 > bytes.length) break;
      return {
        height: (bytes[p + 5] << 8) | bytes[p + 6],
        width: (bytes[p + 7] << 8) | bytes[p + 8],
        components: bytes[p + 9],
      };
    }
    p += 2 + len;
  }
  throw corrupt('no frame header (SOF marker) found');
}

/**
 * Decodes a baseline or progressive JPEG: grayscale JPEGs give 1 channel, color (YCbCr, RGB, CMYK) 3 channels.
 *
 * @throws CorruptFileError when the data cannot be decoded
 * @throws UnsupportedFormatError ('maxPixels') for images over `options.maxPixels`, ('JPEG coding') for
 *   arithmetic or lossless JPEGs
 */
export function decodeJpeg(bytes: Uint8Array, source = 'JPEG data', options: DecodeImageOptions = {}): Image {
  if (!(bytes instanceof Uint8Array)) throw new DTypeError('bytes', bytes, 'a Uint8Array');
  const corrupt = (reason: string, cause?: unknown): CorruptFileError =>
    new CorruptFileError('JPEG', source, reason, cause);
  const frame = jpegFrame(bytes, corrupt);
  if (frame.width === 0 || frame.height === 0) throw corrupt(`invalid size ${frame.width}×${frame.height}`);
  checkMaxPixels(frame.width, frame.height, options);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.max(512, Math.ceil((maxPixels * 16) / 1048576)),
    });
  } catch (e) {
    if (e instanceof TrustVisionError) throw e;
    throw corrupt(String((e as Error)?.message ?? e), e);
  }
  const { width, height, data } = decoded;
  if (width !== frame.width || height !== frame.height || data.length !== width * height * 3)
    throw corrupt('decoded size does not match the frame header');
  if (frame.components !== 1) return { width, height, channels: 3, data };
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < gray.length; i++) gray[i] = data[3 * i];
  return { width, height, channels: 1, data: gray };
}

/**
 * Encodes an image as a baseline JPEG (4:4:4). `quality` is 1-100 (default 90). Alpha is dropped; gray images are
 * written as color with equal channels.
 */
export function encodeJpeg(img: Image, quality = 90): Uint8Array {
  const { width, height, channels, data } = checkImage(img);
  if (!Number.isInteger(quality) || quality < 1 || quality > 100)
    throw new InvalidArgumentError('quality', quality, 'an integer from 1 to 100');
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, s = 0, o = 0; i < width * height; i++, s += channels, o += 4) {
    if (channels === 1) {
      rgba[o] = rgba[o + 1] = rgba[o + 2] = data[s];
    } else {
      rgba[o] = data[s];
      rgba[o + 1] = data[s + 1];
      rgba[o + 2] = data[s + 2];
    }
    rgba[o + 3] = 255;
  }
  // jpeg-js returns `Buffer.from(bytes)` when loaded as CommonJS; bundled for a browser without a Buffer polyfill,
  // lend it a minimal one for the call.
  const g = globalThis as { Buffer?: unknown };
  const shim = typeof g.Buffer === 'undefined';
  if (shim) g.Buffer = { from: (a: ArrayLike<number>) => Uint8Array.from(a) };
  try {
    const res = jpeg.encode({ width, height, data: rgba }, quality);
    return new Uint8Array(res.data); // a copy: Buffer.from may return a view into a shared pool
  } finally {
    if (shim) delete g.Buffer;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Channels and tensors

/**
 * Converts between gray (1), RGB (3) and RGBA (4): gray is replicated, alpha dropped (or set to 255), and RGB → gray
 * uses the ITU-R BT.601 luma weights (0.299, 0.587, 0.114), rounded. Returns `img` itself when nothing changes.
 */
export function convertChannels(img: Image, channels: 1 | 3 | 4): Image {
  const src = checkImage(img);
  if (channels !== 1 && channels !== 3 && channels !== 4)
    throw new InvalidArgumentError('channels', channels, '1, 3 or 4');
  if (src.channels === channels) return src;
  const n = src.width * src.height;
  const c = src.channels;
  const d = src.data;
  const out = new Uint8Array(n * channels);
  for (let i = 0, s = 0, o = 0; i < n; i++, s += c, o += channels) {
    if (channels === 1) out[o] = c === 1 ? d[s] : Math.round(0.299 * d[s] + 0.587 * d[s + 1] + 0.114 * d[s + 2]);
    else {
      if (c === 1) out[o] = out[o + 1] = out[o + 2] = d[s];
      else {
        out[o] = d[s];
        out[o + 1] = d[s + 1];
        out[o + 2] = d[s + 2];
      }
      if (channels === 4) out[o + 3] = c === 4 ? d[s + 3] : 255;
    }
  }
  return { width: src.width, height: src.height, channels, data: out };
}

export type Layout = 'chw' | 'hwc';

export interface ImageTensorOptions {
  /** 'chw' → [C, H, W] (default), 'hwc' → [H, W, C]. */
  layout?: Layout;
  /** '0-1' divides by 255 (default); '0-255' keeps the byte values. */
  scale?: '0-1' | '0-255';
  /** Subtracted per channel after scaling (a number, or one per channel). Default 0. */
  mean?: number | ArrayLike<number>;
  /** Divides per channel after subtracting `mean`. Default 1. */
  std?: number | ArrayLike<number>;
}

export interface ImageToTensorOptions extends ImageTensorOptions {
  /** Convert to this many channels first (see `convertChannels`), e.g. 3 to drop alpha. */
  channels?: 1 | 3 | 4;
}

function checkLayout(layout: unknown): Layout {
  if (layout !== 'chw' && layout !== 'hwc') throw new InvalidArgumentError('layout', layout, "'chw' or 'hwc'");
  return layout;
}

function checkScale(scale: unknown): number {
  if (scale !== '0-1' && scale !== '0-255') throw new InvalidArgumentError('scale', scale, "'0-1' or '0-255'");
  return scale === '0-1' ? 255 : 1;
}

function perChannel(param: string, v: number | ArrayLike<number> | undefined, c: number, dflt: number): number[] {
  if (v === undefined) return new Array<number>(c).fill(dflt);
  const arr = typeof v === 'number' ? new Array<number>(c).fill(v) : Array.from(v);
  if (arr.length !== c) throw new ShapeError(param, arr.length, `a number or ${c} numbers (one per channel)`);
  for (const x of arr) if (!Number.isFinite(x)) throw new InvalidArgumentError(param, arr, 'finite numbers');
  return arr;
}

/**
 * An image as a float32 tensor, [C, H, W] or [H, W, C]: `(byte / 255 - mean[c]) / std[c]` with scale '0-1'
 * (the default) or `(byte - mean[c]) / std[c]` with '0-255'.
 */
export function imageToTensor(img: Image, options: ImageToTensorOptions = {}): Tensor<'float32'> {
  const src = options.channels !== undefined ? convertChannels(img, options.channels) : checkImage(img);
  const layout = checkLayout(options.layout ?? 'chw');
  const div = checkScale(options.scale ?? '0-1');
  const { width: w, height: h, channels: c, data } = src;
  const mean = perChannel('mean', options.mean, c, 0);
  const std = perChannel('std', options.std, c, 1);
  if (std.some((s) => s === 0)) throw new InvalidArgumentError('std', std, 'non-zero numbers');
  // a lookup table per channel: exactly (v / div - mean) / std, rounded once to float32
  const lut = new Float32Array(256 * c);
  for (let ch = 0; ch < c; ch++)
    for (let v = 0; v < 256; v++) lut[ch * 256 + v] = ((div === 1 ? v : v / div) - mean[ch]) / std[ch];
  const n = w * h;
  const out = new Float32Array(n * c);
  if (layout === 'hwc') {
    for (let i = 0; i < n * c; i += c) for (let ch = 0; ch < c; ch++) out[i + ch] = lut[ch * 256 + data[i + ch]];
  } else {
    for (let ch = 0; ch < c; ch++) {
      const base = ch * n;
      const l = ch * 256;
      for (let i = 0, s = ch; i < n; i++, s += c) out[base + i] = lut[l + data[s]];
    }
  }
  const shape = layout === 'chw' ? [c, h, w] : [h, w, c];
  const stride = layout === 'chw' ? [h * w, w, 1] : [w * c, c, 1];
  return { dtype: 'float32', data: out, shape, stride, offset: 0 };
}

/**
 * A float32 tensor [C, H, W] / [H, W, C] (C = 1, 3 or 4) or [H, W] back to an 8-bit image: undoes `std`/`mean`,
 * multiplies by 255 for scale '0-1', then rounds and clamps to 0..255 (NaN → 0). Strided views are read in place.
 */
export function tensorToImage(t: Tensor<'float32'>, options: ImageTensorOptions = {}): Image {
  if (t === null || typeof t !== 'object' || t.dtype !== 'float32')
    throw new DTypeError('t', t === null || typeof t !== 'object' ? t : t.dtype, 'float32');
  const layout = checkLayout(options.layout ?? 'chw');
  const mul = checkScale(options.scale ?? '0-1');
  let h: number, w: number, c: number, sh: number, sw: number, sc: number;
  if (t.shape.length === 2) {
    [h, w] = t.shape;
    [sh, sw] = t.stride;
    c = 1;
    sc = 0;
  } else if (t.shape.length === 3) {
    if (layout === 'chw') {
      [c, h, w] = t.shape;
      [sc, sh, sw] = t.stride;
    } else {
      [h, w, c] = t.shape;
      [sh, sw, sc] = t.stride;
    }
  } else throw new ShapeError('t', t.shape, layout === 'chw' ? '[C, H, W] or [H, W]' : '[H, W, C] or [H, W]');
  if ((c !== 1 && c !== 3 && c !== 4) || h < 1 || w < 1)
    throw new ShapeError(
      't',
      t.shape,
      `${layout === 'chw' ? '[C, H, W]' : '[H, W, C]'} with C = 1, 3 or 4 and H, W ≥ 1`,
    );
  const mean = perChannel('mean', options.mean, c, 0);
  const std = perChannel('std', options.std, c, 1);
  const src = t.data;
  const out = new Uint8Array(h * w * c);
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    const s = std[ch];
    for (let y = 0; y < h; y++) {
      let a = t.offset + ch * sc + y * sh;
      let o = y * w * c + ch;
      for (let x = 0; x < w; x++, a += sw, o += c) {
        const v = Math.round((src[a] * s + m) * mul);
        out[o] = v > 255 ? 255 : v >= 0 ? v : 0; // NaN fails both tests → 0
      }
    }
  }
  return { width: w, height: h, channels: c as 1 | 3 | 4, data: out };
}
