/**
 * The 8×8 orthonormal block DCT-II used by MinusFace's encoder e and decoder d (spec `minusface.md` §B.3 step 5–6
 * and decoder step 1), without the resampling and colour conversion around it.
 *
 * For each channel c and each 8×8 block (a, b) of a [C, H, W] plane stack:
 *   D(u, v) = ¼·C(u)·C(v)·Σ_{y,x} B(y, x)·cos((2y+1)uπ/16)·cos((2x+1)vπ/16),  C(0) = 1/√2, C(k>0) = 1,
 * with u the vertical and v the horizontal frequency. The coefficients are laid out as
 *   out[64·c + 8·u + v, a, b] = D_c^{(a,b)}(u, v),
 * giving [64·C, H/8, W/8] (192 channels for a 3-channel YCbCr image). This equals
 * `scipy.fft.dctn(block, type=2, norm='ortho')` per block. The inverse is the transpose (the DCT is orthonormal).
 * Arithmetic is in float64; the result has the input's element type.
 */
import { DTypeError, InvalidArgumentError, NonFiniteError, ShapeError } from '@trustvision/core-tensor';

export type FloatArray = Float32Array | Float64Array;

const N = 8;

/** The 8×8 orthonormal DCT-II matrix, row-major: M[u·8 + y] = c(u)·cos((2y+1)uπ/16), c(0) = √(1/8), c(u>0) = ½. */
export function dct8Matrix(): Float64Array {
  const m = new Float64Array(N * N);
  for (let u = 0; u < N; u++) {
    const cu = u === 0 ? Math.sqrt(1 / N) : Math.sqrt(2 / N);
    for (let y = 0; y < N; y++) m[u * N + y] = cu * Math.cos(((2 * y + 1) * u * Math.PI) / (2 * N));
  }
  return m;
}

const M = dct8Matrix();

function checkDims(param: string, x: unknown, H: unknown, W: unknown): number {
  if (!(x instanceof Float32Array) && !(x instanceof Float64Array)) {
    throw new DTypeError(param, x, 'float32 or float64 (a Float32Array or Float64Array)');
  }
  for (const [name, v] of [
    ['H', H],
    ['W', W],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v % N !== 0) {
      throw new InvalidArgumentError(name, v, 'a positive multiple of 8', 'Pad or resize the image to a multiple of 8');
    }
  }
  const plane = (H as number) * (W as number);
  if (x.length === 0 || x.length % plane !== 0) {
    throw new ShapeError(param, `[${x.length}]`, `[C·${H}·${W}] for some C >= 1`);
  }
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new NonFiniteError(param, i, x[i]);
  return x.length / plane;
}

function like<T extends FloatArray>(x: T): T {
  return (x instanceof Float32Array ? new Float32Array(x.length) : new Float64Array(x.length)) as T;
}

/**
 * Forward block DCT of a [C, H, W] plane stack (H, W multiples of 8) into [64·C, H/8, W/8] coefficient planes,
 * channel 64·c + 8·u + v holding frequency (u, v) of channel c.
 */
export function blockDct<T extends FloatArray>(x: T, H: number, W: number): T {
  const C = checkDims('x', x, H, W);
  const out = like(x);
  blockDctInto(x, C, H, W, out);
  return out;
}

/**
 * Kernel of `blockDct` without validation or allocation: reads the [C, H, W] planes `x` and writes the
 * [64·C, H/8, W/8] coefficients into `out` (which may be a different float type). Internal to the package.
 */
export function blockDctInto(x: ArrayLike<number>, C: number, H: number, W: number, out: FloatArray): void {
  const Hb = H / N;
  const Wb = W / N;
  const blk = new Float64Array(N * N);
  const tmp = new Float64Array(N * N);
  for (let c = 0; c < C; c++) {
    const base = c * H * W;
    for (let a = 0; a < Hb; a++) {
      for (let b = 0; b < Wb; b++) {
        for (let y = 0; y < N; y++) {
          const row = base + (a * N + y) * W + b * N;
          for (let xx = 0; xx < N; xx++) blk[y * N + xx] = x[row + xx];
        }
        // tmp = M · B (transform the columns: y -> u)
        for (let u = 0; u < N; u++) {
          for (let xx = 0; xx < N; xx++) {
            let s = 0;
            for (let y = 0; y < N; y++) s += M[u * N + y] * blk[y * N + xx];
            tmp[u * N + xx] = s;
          }
        }
        // D = tmp · Mᵀ (transform the rows: x -> v), scattered to channel 64c + 8u + v
        for (let u = 0; u < N; u++) {
          for (let v = 0; v < N; v++) {
            let s = 0;
            for (let xx = 0; xx < N; xx++) s += tmp[u * N + xx] * M[v * N + xx];
            out[((64 * c + N * u + v) * Hb + a) * Wb + b] = s;
          }
        }
      }
    }
  }
}

/**
 * Inverse of `blockDct`: [64·C, H/8, W/8] coefficient planes back to the [C, H, W] plane stack. `H` and `W` are the
 * spatial size of the planes (not of the coefficient grid).
 */
export function inverseBlockDct<T extends FloatArray>(coeffs: T, H: number, W: number): T {
  const C = checkDims('coeffs', coeffs, H, W);
  const out = like(coeffs);
  inverseBlockDctInto(coeffs, C, H, W, out);
  return out;
}

/** Kernel of `inverseBlockDct` without validation or allocation (see `blockDctInto`). Internal to the package. */
export function inverseBlockDctInto(coeffs: ArrayLike<number>, C: number, H: number, W: number, out: FloatArray): void {
  const Hb = H / N;
  const Wb = W / N;
  const blk = new Float64Array(N * N);
  const tmp = new Float64Array(N * N);
  for (let c = 0; c < C; c++) {
    const base = c * H * W;
    for (let a = 0; a < Hb; a++) {
      for (let b = 0; b < Wb; b++) {
        for (let k = 0; k < N * N; k++) blk[k] = coeffs[((64 * c + k) * Hb + a) * Wb + b];
        // tmp = Mᵀ · D (u -> y)
        for (let y = 0; y < N; y++) {
          for (let v = 0; v < N; v++) {
            let s = 0;
            for (let u = 0; u < N; u++) s += M[u * N + y] * blk[u * N + v];
            tmp[y * N + v] = s;
          }
        }
        // B = tmp · M (v -> x)
        for (let y = 0; y < N; y++) {
          const row = base + (a * N + y) * W + b * N;
          for (let xx = 0; xx < N; xx++) {
            let s = 0;
            for (let v = 0; v < N; v++) s += tmp[y * N + v] * M[v * N + xx];
            out[row + xx] = s;
          }
        }
      }
    }
  }
}
