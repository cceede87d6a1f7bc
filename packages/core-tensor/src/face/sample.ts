/**
 * Resampling a square region of an 8-bit image (browser-safe): the region may run past the image's edges (the
 * outside is a constant fill, which is how letterboxing and border tiles are padded), and shrinking averages the
 * source pixels each output pixel covers (area resampling, as OpenCV's INTER_AREA) so that a 1280-pixel photo
 * squeezed into a 128-pixel detector input does not alias; enlarging is half-pixel bilinear.
 */
import { InvalidArgumentError, NonFiniteError } from '../errors.js';
import { checkImage, type Image } from '../image.js';

/** A square region of an image in pixel coordinates: top-left corner (x, y) and side; it may extend outside. */
export interface SquareRegion {
  x: number;
  y: number;
  size: number;
}

/** Source taps per output index along one axis, CSR-style: taps of output i are start[i] .. start[i + 1]. */
interface Taps {
  start: Int32Array;
  /** Source index, or -1 for outside the image (takes the fill value). */
  index: Int32Array;
  weight: Float64Array;
}

/**
 * Taps mapping `outSize` output pixels onto the source interval [origin, origin + extent) of an axis with `inSize`
 * pixels. Output pixel i covers [origin + i·s, origin + (i + 1)·s) with s = extent / outSize.
 */
function axisTaps(inSize: number, origin: number, extent: number, outSize: number): Taps {
  const s = extent / outSize;
  const start = new Int32Array(outSize + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < outSize; i++) {
    start[i] = index.length;
    if (s > 1) {
      // area: each source pixel j covers [j, j + 1); weight = overlap length / s
      const a = origin + i * s;
      const b = a + s;
      let outside = 0;
      for (let j = Math.floor(a); j < b; j++) {
        const w = (Math.min(b, j + 1) - Math.max(a, j)) / s;
        if (w <= 0) continue;
        if (j < 0 || j >= inSize) outside += w;
        else {
          index.push(j);
          weight.push(w);
        }
      }
      if (outside > 0) {
        index.push(-1);
        weight.push(outside);
      }
    } else {
      // bilinear at the output pixel's centre; pixel centres are at j + 0.5
      const c = origin + (i + 0.5) * s - 0.5;
      const j0 = Math.floor(c);
      const f = c - j0;
      for (const [j, w] of [
        [j0, 1 - f],
        [j0 + 1, f],
      ] as const) {
        if (w <= 0) continue;
        index.push(j >= 0 && j < inSize ? j : -1);
        weight.push(w);
      }
    }
  }
  start[outSize] = index.length;
  return { start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

export interface SampleOptions {
  /** Byte value of pixels outside the image (default 0, black). */
  fill?: number;
  /** Output value for byte v is `v · scale + offset` (default scale 1, offset 0: byte values as floats). */
  scale?: number;
  offset?: number;
}

function checkRegion(r: SquareRegion): void {
  if (r === null || typeof r !== 'object') throw new InvalidArgumentError('region', r, 'an object { x, y, size }');
  if (!Number.isFinite(r.x)) throw new NonFiniteError('region.x', 0, r.x);
  if (!Number.isFinite(r.y)) throw new NonFiniteError('region.y', 0, r.y);
  if (!(r.size > 0) || !Number.isFinite(r.size))
    throw new InvalidArgumentError('region.size', r.size, 'a positive number');
}

/**
 * Samples the square `region` of `img` into an `outSize`×`outSize` RGB grid and returns it as float32, row-major
 * HWC (ready to be an NHWC tensor's data), with each value `byte · scale + offset`. Gray images are repeated into
 * three channels and alpha is dropped.
 */
export function sampleSquare(
  img: Image,
  region: SquareRegion,
  outSize: number,
  options: SampleOptions = {},
): Float32Array {
  const { width, height, channels, data } = checkImage(img);
  checkRegion(region);
  if (!Number.isInteger(outSize) || outSize < 1)
    throw new InvalidArgumentError('outSize', outSize, 'a positive integer');
  const fill = options.fill ?? 0;
  const scale = options.scale ?? 1;
  const offset = options.offset ?? 0;
  if (!Number.isFinite(fill) || !Number.isFinite(scale) || !Number.isFinite(offset))
    throw new InvalidArgumentError('options', options, 'finite fill, scale and offset');
  const tx = axisTaps(width, region.x, region.size, outSize);
  const ty = axisTaps(height, region.y, region.size, outSize);
  // source columns any output column reads
  let c0 = width;
  let c1 = -1;
  for (let k = 0; k < tx.index.length; k++) {
    const j = tx.index[k];
    if (j >= 0) {
      if (j < c0) c0 = j;
      if (j > c1) c1 = j;
    }
  }
  const out = new Float32Array(outSize * outSize * 3);
  const fillOut = fill * scale + offset;
  if (c1 < 0) return out.fill(fillOut);
  const cols = c1 - c0 + 1;
  const row = new Float64Array(cols * 3); // one output row, vertically resampled, over the needed columns
  const gray = channels === 1;
  for (let v = 0; v < outSize; v++) {
    row.fill(0);
    let fillW = 0; // weight of rows outside the image
    for (let k = ty.start[v]; k < ty.start[v + 1]; k++) {
      const sy = ty.index[k];
      const w = ty.weight[k];
      if (sy < 0) {
        fillW += w;
        continue;
      }
      let p = (sy * width + c0) * channels;
      for (let x = 0, o = 0; x < cols; x++, p += channels, o += 3) {
        if (gray) {
          const g = data[p] * w;
          row[o] += g;
          row[o + 1] += g;
          row[o + 2] += g;
        } else {
          row[o] += data[p] * w;
          row[o + 1] += data[p + 1] * w;
          row[o + 2] += data[p + 2] * w;
        }
      }
    }
    const rowFill = fillW * fill;
    let o = v * outSize * 3;
    for (let u = 0; u < outSize; u++, o += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = tx.start[u]; k < tx.start[u + 1]; k++) {
        const sx = tx.index[k];
        const w = tx.weight[k];
        if (sx < 0) {
          r += w * fill;
          g += w * fill;
          b += w * fill;
        } else {
          const q = (sx - c0) * 3;
          r += w * (row[q] + rowFill);
          g += w * (row[q + 1] + rowFill);
          b += w * (row[q + 2] + rowFill);
        }
      }
      out[o] = r * scale + offset;
      out[o + 1] = g * scale + offset;
      out[o + 2] = b * scale + offset;
    }
  }
  return out;
}

/** `sampleSquare` rounded back to an 8-bit RGB image (a square crop, e.g. a face crop for an embedder). */
export function cropSquare(img: Image, region: SquareRegion, outSize: number, fill = 0): Image {
  const f = sampleSquare(img, region, outSize, { fill });
  const data = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = Math.round(f[i]);
    data[i] = v > 255 ? 255 : v > 0 ? v : 0;
  }
  return { width: outSize, height: outSize, channels: 3, data };
}
