/**
 * @trustvision/gcdss — Generalized Category Discovery in Semantic Segmentation.
 *
 * Skeleton: the rectangular Hungarian matcher used by the evaluation is implemented; segment maps, features,
 * NeRG-MaskCA, clustering, mIoU and the model adapters land with issue #7.
 */
export { assignmentCost, hungarianMatch } from './hungarian.js';
export type { HungarianOptions } from './hungarian.js';
