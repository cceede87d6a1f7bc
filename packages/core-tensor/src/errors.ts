/**
 * Typed errors. Every error thrown by a TrustVision package is a `TrustVisionError` with a stable `code`, and, where
 * one parameter is at fault, `param` (its name), `value` (a short rendering of what was received) and `expected`
 * (what is valid). Messages say what to do.
 */

export type ErrorCode =
  | 'E_INVALID_ARGUMENT'
  | 'E_SHAPE'
  | 'E_DTYPE'
  | 'E_NON_FINITE'
  | 'E_FILE_NOT_FOUND'
  | 'E_CORRUPT_FILE'
  | 'E_UNSUPPORTED_FORMAT'
  | 'E_UNKNOWN_DEVICE'
  | 'E_DEVICE_UNAVAILABLE'
  | 'E_RUNTIME_MISSING'
  | 'E_MODEL_CARD'
  | 'E_MODEL_LOAD'
  | 'E_DISPOSED'
  | 'E_IO';

export interface ErrorDetails {
  /** Name of the parameter (or input, or file field) at fault. */
  param?: string;
  /** Short rendering of the value received. */
  value?: unknown;
  /** What would have been valid. */
  expected?: string;
  cause?: unknown;
}

/** Base class of all typed errors. */
export class TrustVisionError extends Error {
  readonly code: ErrorCode;
  readonly param?: string;
  readonly value?: string;
  readonly expected?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    if (details.param !== undefined) this.param = details.param;
    if (details.value !== undefined) this.value = describeValue(details.value);
    if (details.expected !== undefined) this.expected = details.expected;
  }
}

function paramMessage(param: string, value: unknown, expected: string, extra?: string): string {
  return `'${param}' must be ${expected}, got ${describeValue(value)}${extra ? `. ${extra}` : ''}`;
}

/** A parameter with an invalid value (range, option, type). */
export class InvalidArgumentError extends TrustVisionError {
  constructor(param: string, value: unknown, expected: string, hint?: string) {
    super('E_INVALID_ARGUMENT', paramMessage(param, value, expected, hint), { param, value, expected });
  }
}

/** A tensor or array with the wrong shape. */
export class ShapeError extends TrustVisionError {
  constructor(param: string, value: unknown, expected: string, hint?: string) {
    super('E_SHAPE', `'${param}' must have shape ${expected}, got ${describeValue(value)}${hint ? `. ${hint}` : ''}`, {
      param,
      value,
      expected,
    });
  }
}

/** A tensor or array with the wrong element type. */
export class DTypeError extends TrustVisionError {
  constructor(param: string, value: unknown, expected: string, hint?: string) {
    super('E_DTYPE', `'${param}' must have dtype ${expected}, got ${describeValue(value)}${hint ? `. ${hint}` : ''}`, {
      param,
      value,
      expected,
    });
  }
}

/** NaN or ±Infinity where finite values are required. */
export class NonFiniteError extends TrustVisionError {
  readonly index: number;
  constructor(param: string, index: number, value: number) {
    super('E_NON_FINITE', `'${param}' must contain only finite numbers, but element ${index} is ${value}`, {
      param,
      value,
      expected: 'finite numbers',
    });
    this.index = index;
  }
}

export class FileNotFoundError extends TrustVisionError {
  readonly path: string;
  constructor(param: string, path: string) {
    super('E_FILE_NOT_FOUND', `'${param}': no such file: ${path}`, {
      param,
      value: path,
      expected: 'an existing file',
    });
    this.path = path;
  }
}

/** A file (or byte buffer) that cannot be parsed as the format it claims to be. */
export class CorruptFileError extends TrustVisionError {
  readonly format: string;
  constructor(format: string, source: string, reason: string, cause?: unknown) {
    super('E_CORRUPT_FILE', `${source} is not a valid ${format} file: ${reason}`, {
      param: source,
      expected: `a valid ${format} file`,
      cause,
    });
    this.format = format;
  }
}

/** A valid file using a feature this library does not read (e.g. a Fortran-ordered .npy, a complex dtype). */
export class UnsupportedFormatError extends TrustVisionError {
  constructor(param: string, value: unknown, expected: string) {
    super('E_UNSUPPORTED_FORMAT', paramMessage(param, value, expected), { param, value, expected });
  }
}

export class UnknownDeviceError extends TrustVisionError {
  constructor(value: unknown, valid: readonly string[]) {
    super('E_UNKNOWN_DEVICE', paramMessage('device', value, `one of ${valid.map((d) => `'${d}'`).join(', ')}`), {
      param: 'device',
      value,
      expected: valid.join(' | '),
    });
  }
}

export interface DeviceAttempt {
  device: string;
  ok: boolean;
  reason?: string;
}

/** No requested device could create the session. `tried` says why each one failed. */
export class DeviceUnavailableError extends TrustVisionError {
  readonly tried: DeviceAttempt[];
  constructor(requested: string, tried: DeviceAttempt[]) {
    const lines = tried.map((t) => `  ${t.device}: ${t.reason ?? 'ok'}`).join('\n');
    super(
      'E_DEVICE_UNAVAILABLE',
      `no device could run the model (device: '${requested}'). Tried:\n${lines}\nRun \`npx core-tensor diagnose\` for details.`,
      { param: 'device', value: requested, expected: 'a device that works on this host' },
    );
    this.tried = tried;
  }
}

/** The ONNX Runtime package for this platform is not installed. */
export class RuntimeMissingError extends TrustVisionError {
  readonly runtime: string;
  constructor(runtime: string, cause?: unknown) {
    super('E_RUNTIME_MISSING', `${runtime} is not installed. Install it with \`npm i ${runtime}\`.`, {
      param: 'runtime',
      value: runtime,
      expected: `the ${runtime} package`,
      cause,
    });
    this.runtime = runtime;
  }
}

/** A model card that is malformed or does not match its model. */
export class ModelCardError extends TrustVisionError {
  constructor(param: string, value: unknown, expected: string, hint?: string) {
    super('E_MODEL_CARD', `model card: ${paramMessage(param, value, expected, hint)}`, { param, value, expected });
  }
}

/** ONNX Runtime refused the model bytes. */
export class ModelLoadError extends TrustVisionError {
  constructor(source: string, reason: string, cause?: unknown) {
    super('E_MODEL_LOAD', `cannot load ONNX model ${source}: ${reason}`, {
      param: 'model',
      value: source,
      expected: 'a valid ONNX model',
      cause,
    });
  }
}

export class DisposedError extends TrustVisionError {
  constructor(what: string) {
    super('E_DISPOSED', `${what} has been disposed; create a new one`);
  }
}

/** Short, bounded rendering of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return value.length > 80 ? JSON.stringify(value.slice(0, 77) + '...') : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (ArrayBuffer.isView(value)) {
    const ctor = (value as object).constructor?.name ?? 'TypedArray';
    return `${ctor}(${(value as unknown as { length?: number }).length ?? (value as DataView).byteLength})`;
  }
  if (Array.isArray(value)) {
    if (value.length <= 8 && value.every((v) => typeof v === 'number' || typeof v === 'string'))
      return `[${value.join(', ')}]`;
    return `Array(${value.length})`;
  }
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  try {
    const s = JSON.stringify(value);
    if (s !== undefined) return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    /* fall through */
  }
  return Object.prototype.toString.call(value);
}
