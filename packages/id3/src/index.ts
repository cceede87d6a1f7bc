/**
 * @trustvision/id3 — ID³ (NeurIPS 2024) identity-preserving yet diversified diffusion for synthetic face datasets.
 *
 * Implemented: identity anchors (approximate Tammes solution through core-tensor's op-graphs) and their angle
 * statistics, random anchors, identity embeddings at an exact cosine to their anchor (single and batched), attribute
 * samplers, and the resumable, exactly-once dataset writer. The DDPM schedule and sampler, ID-preserving guidance and
 * the model adapters are not implemented yet (issue #9).
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
} from './dataset.js';
export type { DatasetConfig, IdentityRecord, ManifestEntry, ResumeReport } from './dataset.js';
