/**
 * @trustvision/prob-contrastive — the probabilistic contrastive loss (arXiv 2112.01642) on the r-radius von
 * Mises–Fisher distribution: stable log-Bessel numerics and the vMF normaliser, InfoNCE / probabilistic / SCF losses
 * with analytic gradients, an Adam trainer for a projection + κ head on a frozen ONNX encoder, ONNX export of the head,
 * and inference (unit embedding + κ, uncertainty-aware similarity, ranking by confidence).
 */
export {
  besselRatio,
  debyePolynomial,
  KAPPA_SERIES,
  logBesselI,
  logGamma,
  NU_DEBYE,
  vmfLogNormalizer,
} from './bessel.js';
export { LOSS_VARIANTS, backpropNormalize, contrastiveLoss, normalizeRows } from './loss.js';
export type { LossInput, LossOptions, LossResult, LossVariant } from './loss.js';
export { PARAM_NAMES, ProbHead } from './head.js';
export type { HeadCache, HeadJSON, HeadOutput, HeadParams, HeadShape, ParamName } from './head.js';
export { Adam, OBJECTIVES, trainHead } from './train.js';
export type { Objective, TrainOptions, TrainProgress, TrainResult } from './train.js';
export { cosine, mutualLikelihood, mutualLikelihoodMatrix, rankByConfidence } from './similarity.js';
export { BLUR_SIGMA, CORRUPTIONS, NOISE_SIGMA, OCCLUSION_SIDE, corrupt, randomViews } from './augment.js';
export type { Corruption, GrayBatch, ViewCorruptions } from './augment.js';
export { ProbContrastive } from './model.js';
export type { Embedded, EncoderInput, ProbContrastiveOptions } from './model.js';
export type { MatrixInput, PairsInput, VectorInput } from './validate.js';
export { contrastiveLossGraph, disposeLossGraphs, lossGraphModel } from './loss-graph.js';
