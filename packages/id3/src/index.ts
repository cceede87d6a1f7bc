/**
 * @trustvision/id3 — ID³ (NeurIPS 2024) identity-preserving yet diversified diffusion for synthetic face datasets.
 *
 * Skeleton: cap sampling of identity embeddings at an exact cosine to an anchor is implemented; the DDPM schedule
 * and sampler, ID-preserving guidance, Tammes anchors, attribute samplers, the dataset writer and the model
 * adapters land with issue #9.
 */
export { ANCHOR_NORM_TOLERANCE, sampleAtCosine } from './cap.js';
export type { NormalSampler } from './cap.js';
