/**
 * @trustvision/slerpface — SlerpFace (AAAI 2025) face-template protection by spherical linear interpolation.
 *
 * Skeleton: `slerp` and its helpers are implemented; enrolment, group dropout, matching and the model adapter land
 * with issue #5.
 */
export { angle, DEGENERATE_SIN, normalize, slerp, UNIT_NORM_TOLERANCE } from './slerp.js';
export type { FloatVector } from './slerp.js';
