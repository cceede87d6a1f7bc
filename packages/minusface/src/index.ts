/**
 * @trustvision/minusface — MinusFace (CVPR 2024) privacy-preserving face recognition by feature subtraction.
 *
 * Skeleton: the 8×8 orthonormal block DCT and its inverse (the core of the encoder e and decoder d) are
 * implemented; resampling, colour conversion, residue shuffling and the model adapter land with issue #8.
 */
export { blockDct, dct8Matrix, inverseBlockDct } from './dct.js';
export type { FloatArray } from './dct.js';
