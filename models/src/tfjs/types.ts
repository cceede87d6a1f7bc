/**
 * The tfjs graph-model format as it appears in `model.json`: a TensorFlow GraphDef rendered as JSON
 * (`modelTopology.node[]`) plus a manifest of the weights stored in the binary shards.
 */

/** One attribute value of a GraphDef node (protobuf JSON mapping: int64 as strings, bytes as base64). */
export interface TfjsAttrValue {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: TfjsShape;
  tensor?: TfjsTensorProto;
  list?: {
    s?: string[];
    i?: (string | number)[];
    f?: number[];
    b?: boolean[];
    type?: string[];
    shape?: TfjsShape[];
  };
  func?: unknown;
}

export interface TfjsShape {
  dim?: { size?: string | number; name?: string }[];
  unknownRank?: boolean;
}

/** A TensorProto inside a node attribute. Weights live in the manifest; small constants may be inline. */
export interface TfjsTensorProto {
  dtype?: string;
  tensorShape?: TfjsShape;
  /** Base64 of the little-endian element bytes. */
  tensorContent?: string;
  floatVal?: number[];
  doubleVal?: number[];
  intVal?: (number | string)[];
  int64Val?: (number | string)[];
  boolVal?: boolean[];
}

export interface TfjsNodeDef {
  name: string;
  op: string;
  /** `node`, `node:1` (second output) or `^node` (control dependency). */
  input?: string[];
  attr?: Record<string, TfjsAttrValue>;
  device?: string;
}

export type TfjsWeightDType = 'float32' | 'int32' | 'bool' | 'string' | 'complex64';

export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
  original_dtype?: string;
}

export interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: TfjsWeightDType;
  quantization?: TfjsQuantization;
  group?: string;
}

export interface TfjsWeightGroup {
  paths: string[];
  weights: TfjsWeightEntry[];
}

export interface TfjsTensorInfo {
  name: string;
  dtype?: string;
  tensorShape?: TfjsShape;
}

export interface TfjsModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: {
    node: TfjsNodeDef[];
    library?: unknown;
    versions?: unknown;
  };
  weightsManifest: TfjsWeightGroup[];
  signature?: {
    inputs?: Record<string, TfjsTensorInfo>;
    outputs?: Record<string, TfjsTensorInfo>;
  };
  userDefinedMetadata?: Record<string, unknown>;
}
