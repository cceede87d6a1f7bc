/**
 * @trustvision/gcdss — Generalized Category Discovery in Semantic Segmentation (arXiv 2311.11525).
 *
 * Array-level core: NeRG-MaskCA (with the released code's leak and seeding bugs fixed, and the leak reproducible
 * by name), the area-weighted SS-k-means baseline, weighted k-means, an estimate of the number of novel classes,
 * Hungarian-matched mIoU (per-image and dataset protocols) and pseudo-label painting; mask sets → segment maps, a
 * model-free over-segmentation proposer and per-segment features through an ONNX model.
 */
export { assignmentCost, hungarianMatch } from './hungarian.js';
export type { HungarianOptions } from './hungarian.js';
export { estimateClusterCount, kmeansPlusPlus, weightedKMeans } from './kmeans.js';
export type { EstimateOptions, EstimateResult, KMeansOptions, KMeansResult } from './kmeans.js';
export { maskNeighbors, nergMaskCA, nergOfficialLeak, propagateLabels, rankWeights } from './nerg.js';
export type { ClusterMethod, ClusterResult, MaskSet, NergOptions, PropagationResult } from './nerg.js';
export { ssKMeansBaseline } from './baseline.js';
export type { BaselineOptions } from './baseline.js';
export { clusterMasks } from './cluster.js';
export type { ClusterOptions } from './cluster.js';
export { MiouEvaluator, evaluateLabelMaps } from './metrics.js';
export type { EvaluateOptions, LabelMapPair, MiouProtocol, MiouReport } from './metrics.js';
export { evaluateLabelDirs, paintLabelMap, readLabelPng, writeLabelPng } from './labelmaps.js';
export type { PaintOptions } from './labelmaps.js';
export { assembleSegments, proposeSegments } from './segments.js';
export type { AssembleOptions, ProposeOptions, SegmentMap } from './segments.js';
export { IMAGENET_MEAN, IMAGENET_STD, maskFeatures, maskedCrop, resolveFeatureInput } from './features.js';
export type { FeatureInput, FeatureOptions, MaskedCropOptions } from './features.js';
export type { IdArray, MatrixLike } from './validate.js';
export { discover } from './discover.js';
export type { DiscoverOptions, DiscoverProgress, DiscoverSummary } from './discover.js';
export {
  DEFAULT_SCENE_SPLIT,
  FASHION_MNIST_CLASSES,
  generateScenes,
  labelSegments,
  objectMask,
  segmentMajority,
  textureValue,
} from './scenes.js';
export type {
  Grating,
  ObjectPool,
  Scene,
  SceneClass,
  SceneObject,
  SceneOptions,
  SceneSet,
  TextureParams,
} from './scenes.js';
export {
  GCDSS_SAM_OPTIONS,
  SAM_AMG_DEFAULTS,
  SAM_PIXEL_MEAN,
  SAM_PIXEL_STD,
  SamMaskGenerator,
  boxNms,
  checkSamContract,
  cropBoxes,
  maskBox,
  pointGrid,
  removeSmallRegions,
  resizedSize,
  samPreprocess,
  stabilityScore,
} from './sam.js';
export type { SamContract, SamCreateOptions, SamMask, SamOptions } from './sam.js';
export { findMaskSet, readMaskSet } from './maskfiles.js';
export type { MaskSetFile } from './maskfiles.js';
export {
  CITYSCAPES_CLASSES,
  CITYSCAPES_LABEL_TO_TRAIN,
  GCD_NOVEL_SPLITS,
  cityscapesPairs,
  cityscapesPool,
  formGcdSplit,
  gcdSplit,
  loadCityscapesPair,
  pilResize,
  prepareCityscapesGcd,
  readSplitList,
} from './cityscapes.js';
export type { CityscapesPair, GcdSplit, LoadOptions, PrepareOptions, PrepareSummary } from './cityscapes.js';
