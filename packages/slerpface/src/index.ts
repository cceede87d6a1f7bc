/**
 * @trustvision/slerpface — SlerpFace (AAAI 2025) face-template protection by spherical linear interpolation:
 * enrol (slerp toward a per-template key, weighted group dropout), store, match 1:1 and 1:N, renew, and evaluate.
 */
export { angle, DEGENERATE_SIN, normalize, slerp, UNIT_NORM_TOLERANCE } from './slerp.js';
export type { FloatVector } from './slerp.js';
export {
  DEFAULT_PARAMS,
  RECORD_VERSION,
  WEIGHT_SUM_TOLERANCE,
  checkCompatible,
  checkRecord,
  createTemplate,
  drawKey,
  drawMask,
  dropCounts,
  matchScore,
  median,
  protect,
  renew,
  resolveParams,
  rotateGroup,
  scoreToDistance,
  slerpGroups,
} from './protect.js';
export type {
  CreateTemplateOptions,
  DropoutMode,
  FloatArrayLike,
  ProtectOptions,
  ProtectParams,
  ProtectedRecord,
  Template,
  TemplateForm,
} from './protect.js';
export { SecureRandom, randomSource } from './random.js';
export type { RandomOptions, RandomSource } from './random.js';
export { Gallery, buildMatchGraph, probeParts, scoreRange } from './gallery.js';
export type { GalleryHeader, GalleryMatch, GalleryOptions, GallerySearchOptions } from './gallery.js';
export {
  decodeGallery,
  decodeRecordNpz,
  encodeGallery,
  encodeRecordNpz,
  recordFromJSON,
  recordToJSON,
} from './record-io.js';
export {
  contiguousLayout,
  layoutFromJSON,
  layoutToJSON,
  learnLayout,
  makeLayout,
  templateFromEmbedding,
} from './layout.js';
export type { GroupLayout, Grouping, LearnLayoutOptions, LearnedLayout, Weighting } from './layout.js';
export { GRID_CONTRACT, GridModel, SlerpFace } from './model.js';
export type { FaceTemplate, SlerpFaceLoadOptions } from './model.js';
export { buildGridStandIn } from './standin.js';
export { linkageScore, recoverTemplate, unlinkability } from './security.js';
export type { UnlinkabilityResult } from './security.js';
