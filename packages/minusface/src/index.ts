/**
 * @trustvision/minusface — MinusFace (CVPR 2024) privacy-preserving face recognition by feature subtraction.
 *
 * Client: `protect` (e, generator g via ONNX, DCT-domain residue, fresh random channel permutation, d → X_p).
 * Server: `embed` with the recogniser f_p (ONNX), `verify` / `identify`, metrics via core-tensor.
 * Privacy evaluation: `ssim`, `psnr`.
 */
export { blockDct, dct8Matrix, inverseBlockDct } from './dct.js';
export type { FloatArray } from './dct.js';
export { DctCodec, REP_CHANNELS, SCALE, decode, encode } from './transform.js';
export { SecureRandom, drawPermutation } from './random.js';
export type { RandomOptions, RandomSource } from './random.js';
export {
  GENERATOR_CONTRACT,
  GeneratorModel,
  ModelContractError,
  RECOGNIZER_CONTRACT,
  RecognizerModel,
} from './model.js';
export type { ModelOptions } from './model.js';
export { imageBatch, protect, protectResidue, residue, shuffleChannels } from './protect.js';
export type { ProtectOptions, ProtectRange } from './protect.js';
export { cosine, embed, identify, l2normalize, rank1Accuracy, verificationReport, verify } from './recognize.js';
export type { IdentifyResult, VerificationReport, VerifyResult } from './recognize.js';
export { mse, psnr, ssim } from './quality.js';
export type { QualityOptions, SsimOptions } from './quality.js';
