/**
 * @trustvision/minusface — MinusFace (CVPR 2024) privacy-preserving face recognition by feature subtraction.
 *
 * Implemented: the fixed DCT-domain encoder e and decoder d (`encode`, `decode`, `DctCodec`) and the 8×8
 * orthonormal block DCT under them. Residue shuffling, the model adapters and recognition land with issue #8.
 */
export { blockDct, dct8Matrix, inverseBlockDct } from './dct.js';
export type { FloatArray } from './dct.js';
export { DctCodec, REP_CHANNELS, SCALE, decode, encode } from './transform.js';
