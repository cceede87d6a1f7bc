/**
 * Platform-neutral public API. The package's entry points (`node.ts`, `web.ts`) re-export this and register the
 * ONNX Runtime binding for their platform.
 */
export * from './errors.js';
export * from './tensor.js';
export * from './runtime.js';
export * from './session.js';
export * from './ops.js';
export * from './modelcard.js';
export { modelSearchPath } from './model-path.js';
export { GraphBuilder, attr, inspectModel, ONNX_DTYPE, dtypeFromOnnx } from './onnx/graph.js';
export type { AttrValue, Dim, ModelOptions, ModelSummary, ValueInfoSummary } from './onnx/graph.js';
export { ProtoWriter, readFields } from './onnx/proto.js';
export type { ProtoField } from './onnx/proto.js';
export { diagnose, formatDiagnosis } from './diagnose.js';
export type { Diagnosis, DeviceCheck } from './diagnose.js';
export { Rng, philox4x32 } from './rng.js';
export { SecureRandom, secureRandom } from './secure-random.js';
export type { RngState, ChoiceOptions, MutableArrayLike } from './rng.js';
export * from './metrics.js';
export * from './npy.js';
export * from './npz.js';
export * from './image.js';
export * from './resize.js';
export * from './align.js';
export * from './face/index.js';
