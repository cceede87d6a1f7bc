import { UnsupportedFormatError } from '@trustvision/core-tensor';

/**
 * A node the tfjs → ONNX converter cannot translate: an op it does not know, or a known op with an attribute or
 * input it does not support (e.g. NCHW data_format, a non-constant axis). Names the op and the node.
 * `code` is 'E_UNSUPPORTED_FORMAT', like every UnsupportedFormatError.
 */
export class UnsupportedOpError extends UnsupportedFormatError {
  /** The TensorFlow op type, e.g. 'Conv3D'. */
  readonly op: string;
  /** The name of the node in the graph. */
  readonly node: string;
  /** What is unsupported about it ('unknown op' for ops the converter does not translate). */
  readonly reason: string;

  constructor(op: string, node: string, reason = 'unknown op', hint?: string) {
    super(`node '${node}'`, op, reason === 'unknown op' ? 'an op the tfjs converter supports' : 'a supported variant');
    this.op = op;
    this.node = node;
    this.reason = reason;
    this.message =
      reason === 'unknown op'
        ? `tfjs op '${op}' (node '${node}') is not supported by the tfjs → ONNX converter${hint ? `; ${hint}` : ''}`
        : `tfjs op '${op}' (node '${node}'): ${reason}${hint ? `; ${hint}` : ''}`;
  }
}
