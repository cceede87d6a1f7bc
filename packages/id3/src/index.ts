/**
 * @trustvision/id3 — ID³ (NeurIPS 2024) identity-preserving yet diversified diffusion for synthetic face datasets.
 *
 * Identity anchors (approximate Tammes solution through core-tensor's op-graphs), identity embeddings at an exact
 * cosine to their anchor, attribute samplers, the resumable exactly-once dataset writer, noise schedules, DDPM / DDIM
 * samplers with ID-preserving guidance over ONNX denoisers (model adapters for the spec's §3 contracts, closed-form
 * stand-ins), the generation driver, dataset inspection, MXNet RecordIO export and Redis/BullMQ sharded generation.
 */
export { ANCHOR_NORM_TOLERANCE, sampleAtCosine } from './cap.js';
export type { NormalSampler } from './cap.js';
export { anchorStats, optimizeAnchors, randomAnchors } from './anchors.js';
export type { AnchorOptions, AnchorProgress, AnchorResult, AnchorStats } from './anchors.js';
export { MAX_EMBEDDING_ELEMENTS, sampleEmbeddings } from './embeddings.js';
export type { EmbeddingOptions, EmbeddingResult } from './embeddings.js';
export { UNIT_NORM_TOLERANCE } from './validate.js';
export type { MatrixLike } from './validate.js';
export {
  ATTRIBUTE_NAMES,
  ATTRIBUTE_RANGES,
  ATTRIBUTE_SCALES,
  MIN_TRUNCATED_MASS,
  encodeAttributes,
  sampleAttributes,
} from './attributes.js';
export type {
  AttributeConfig,
  AttributeDistribution,
  AttributeName,
  AttributeOptions,
  AttributeResult,
} from './attributes.js';
export {
  DATASET_FORMAT,
  DATASET_VERSION,
  DatasetConfigMismatchError,
  DatasetWriter,
  identityFolderName,
  readDatasetManifest,
  checkDatasetFolder,
} from './dataset.js';
export type { DatasetConfig, IdentityRecord, ManifestEntry, ResumeReport } from './dataset.js';
export { COSINE_MAX_BETA, id3Weight, makeSchedule, samplingSteps } from './schedule.js';
export type { NoiseSchedule, ScheduleKind, ScheduleOptions } from './schedule.js';
export {
  CONTRACT_KEYS,
  DEFAULT_ATTRIBUTE_NORMALISATION,
  Denoiser,
  FrGradient,
  FrModel,
  ModelContractError,
} from './model.js';
export type { Condition, DenoiserContract, ModelOptions, TConvention } from './model.js';
export { resolveSampleOptions, sample, toPixels } from './sampler.js';
export type {
  GuidanceMode,
  GuidanceOptions,
  SampleInput,
  SampleOptions,
  SampleResult,
  SamplerKind,
} from './sampler.js';
export { analyticDenoiserModel, analyticGuidedModel, linearFrGradModel, linearFrModel } from './standins.js';
export type { AnalyticDenoiserSpec, LinearFrSpec } from './standins.js';
export {
  GenerationPlan,
  InsufficientDiskSpaceError,
  checkDiskBeforeOpening,
  checkDiskSpace,
  estimateImageBytes,
  generateDataset,
  resolveGenerationConfig,
} from './generate.js';
export type { GenerationConfig, GenerationModels, GenerationProgress } from './generate.js';
export { identityEmbeddings } from './embeddings.js';
export { identityAttributes } from './attributes.js';
export {
  RECORDIO_MAGIC,
  RecordIOBuilder,
  exportRecordIO,
  frameRecord,
  packRecord,
  parseIndex,
  readFramed,
  readRecordIO,
  unpackRecord,
} from './recordio.js';
export type { ExportRecordIOOptions, IRHeader } from './recordio.js';
export { inspectDataset } from './inspect.js';
export type { CosineStats, InspectOptions, InspectReport } from './inspect.js';
export {
  QueueDependencyError,
  QueueJobError,
  QueueUnavailableError,
  generateWithQueue,
  parseRedisUrl,
  queueName,
  runWorker,
} from './queue.js';
export type { QueueGenerateOptions, RunningWorker, ShardJob, WorkerOptions } from './queue.js';
