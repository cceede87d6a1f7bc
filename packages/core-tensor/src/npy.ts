/**
 * NumPy `.npy` reading and writing over bytes (browser-safe, no Node APIs).
 *
 * Reads format versions 1.0, 2.0 and 3.0 with C-ordered data of the numeric dtypes, bool and float16, in either byte
 * order. Writes version 1.0 (2.0 only for headers over 64 KiB) laid out byte-for-byte as `numpy.save` does.
 */
import { CorruptFileError, DTypeError, UnsupportedFormatError } from './errors.js';
import {
  type DType,
  type Tensor,
  bytesPerElement,
  defaultStride,
  denseData,
  isDType,
  sizeOf,
  typedArrayConstructor,
} from './tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;
/** numpy leaves room after the header dict so that axis 0 can grow in place (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS). */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** True on little-endian hosts (all current browsers and Node platforms). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `<kind><itemsize>` (without the byte-order character) for each supported dtype. */
const DESCR_OF: { [K in DType]: string } = {
  float16: 'f2',
  float32: 'f4',
  float64: 'f8',
  int8: 'i1',
  int16: 'i2',
  int32: 'i4',
  int64: 'i8',
  uint8: 'u1',
  uint16: 'u2',
  uint32: 'u4',
  uint64: 'u8',
  bool: 'b1',
};

const DTYPE_OF: Record<string, DType> = Object.fromEntries(
  Object.entries(DESCR_OF).map(([dt, code]) => [code, dt as DType]),
);

const SUPPORTED_DESCRS = 'one of <f2, <f4, <f8, |i1, <i2, <i4, <i8, |u1, <u2, <u4, <u8, |b1 (either byte order)';

/** The numpy `descr` string this library writes for `dtype` ('<f4', '|u1', ...). */
export function npyDescr(dtype: DType): string {
  const code = DESCR_OF[dtype];
  return (code.endsWith('1') ? '|' : '<') + code;
}

/** Reverses the bytes of every `itemsize`-byte element in place. */
function byteSwap(bytes: Uint8Array, itemsize: number): void {
  for (let i = 0; i + itemsize <= bytes.length; i += itemsize) {
    for (let a = i, b = i + itemsize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Header: a Python dict literal, read with a small recursive-descent parser (never evaluated).

type PyValue = string | number | boolean | null | PyValue[] | PyDict;
interface PyDict {
  [key: string]: PyValue;
}

class HeaderSyntaxError extends Error {}

/** Parses the subset of Python literal syntax numpy headers use: dicts, tuples, lists, strings, ints, True/False/None. */
export function parsePythonLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new HeaderSyntaxError(`${what} at offset ${pos}`);
  };
  const skipWs = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expect = (ch: string): void => {
    skipWs();
    if (text[pos] !== ch) fail(`expected '${ch}'`);
    pos++;
  };
  /** Items up to `close`, separated by commas, with an optional trailing comma. */
  const items = (close: string, item: () => void): number => {
    let n = 0;
    for (;;) {
      skipWs();
      if (text[pos] === close) {
        pos++;
        return n;
      }
      if (n > 0) {
        expect(',');
        skipWs();
        if (text[pos] === close) {
          pos++;
          return n;
        }
      }
      item();
      n++;
    }
  };
  const parseString = (): string => {
    const quote = text[pos++];
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const ch = text[pos++];
      if (ch === quote) return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const esc = text[pos++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
      if (esc in simple) out += simple[esc];
      else if (esc === 'x' || esc === 'u') {
        const len = esc === 'x' ? 2 : 4;
        const hex = text.slice(pos, pos + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) fail('bad escape');
        out += String.fromCharCode(parseInt(hex, 16));
        pos += len;
      } else fail('bad escape');
    }
  };
  const parseValue = (depth: number): PyValue => {
    if (depth > 32) fail('nesting too deep');
    skipWs();
    const ch = text[pos];
    if (ch === '{') {
      pos++;
      const dict: PyDict = Object.create(null) as PyDict;
      items('}', () => {
        skipWs();
        const key = parseValue(depth + 1);
        if (typeof key !== 'string') fail('dict keys must be strings');
        expect(':');
        dict[key as string] = parseValue(depth + 1);
      });
      return dict;
    }
    if (ch === '(' || ch === '[') {
      pos++;
      const arr: PyValue[] = [];
      // `(x)` is a parenthesised value in Python, `(x,)` a tuple; numpy never writes the former, so both are tuples.
      items(ch === '(' ? ')' : ']', () => {
        arr.push(parseValue(depth + 1));
      });
      return arr;
    }
    if (ch === "'" || ch === '"') return parseString();
    if ((ch === 'u' || ch === 'b') && (text[pos + 1] === "'" || text[pos + 1] === '"')) {
      pos++;
      return parseString();
    }
    const m = /^(?:-?\d+L?|True|False|None)/.exec(text.slice(pos, pos + 40));
    if (!m) fail('unexpected character');
    const tok = m![0];
    pos += tok.length;
    if (tok === 'True') return true;
    if (tok === 'False') return false;
    if (tok === 'None') return null;
    const v = Number(tok.replace('L', ''));
    if (!Number.isSafeInteger(v)) fail('integer out of range');
    return v;
  };
  const value = parseValue(0);
  skipWs();
  if (pos !== text.length) fail('trailing characters');
  return value;
}

/** Renders a Python value for an error message. */
function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  if (typeof v === 'object')
    return `{${Object.keys(v)
      .map((k) => `'${k}': ${pyRepr(v[k])}`)
      .join(', ')}}`;
  return String(v);
}

interface Descr {
  dtype: DType;
  /** Whether the file's byte order differs from the host's. */
  swap: boolean;
}

function parseDescr(descr: PyValue): Descr {
  if (typeof descr !== 'string')
    throw new UnsupportedFormatError(
      'dtype',
      pyRepr(descr),
      `${SUPPORTED_DESCRS}; structured dtypes are not supported`,
    );
  const m = /^([<>|=]?)([a-zA-Z?]\d+)$/.exec(descr);
  const dtype = m ? DTYPE_OF[m[2]] : undefined;
  if (!m || dtype === undefined) throw new UnsupportedFormatError('dtype', descr, SUPPORTED_DESCRS);
  const order = m[1];
  const fileLittle = order === '<' ? true : order === '>' ? false : HOST_LITTLE_ENDIAN;
  return { dtype, swap: bytesPerElement(dtype) > 1 && fileLittle !== HOST_LITTLE_ENDIAN };
}

function decodeLatin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096)
    s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, Math.min(i + 4096, bytes.length))));
  return s;
}

/**
 * Parses a `.npy` file. Returns a C-ordered tensor over a fresh, aligned typed array (never a view of `bytes`);
 * float16 data comes back as raw bits in a Uint16Array, bool as 0/1 in a Uint8Array.
 *
 * @param source name used in error messages (a path or a zip member)
 * @throws CorruptFileError on bad magic, an unparsable header or truncated data
 * @throws UnsupportedFormatError ('dtype', 'fortran_order' or 'version') for valid files this library does not read
 */
export function parseNpy(bytes: Uint8Array, source = 'npy data'): Tensor {
  if (!(bytes instanceof Uint8Array)) throw new DTypeError('bytes', bytes, 'a Uint8Array');
  const corrupt = (reason: string): CorruptFileError => new CorruptFileError('npy', source, reason);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw corrupt('missing the \\x93NUMPY magic string at the start');
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0)
    throw new UnsupportedFormatError('version', `${major}.${minor}`, 'format version 1.0, 2.0 or 3.0');
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = bytes[8] | (bytes[9] << 8);
    headerStart = 10;
  } else {
    if (bytes.length < 12) throw corrupt('truncated header length');
    headerLen = (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 0x1000000;
    headerStart = 12;
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw corrupt(`truncated header: needs ${headerLen} bytes`);
  const headerBytes = bytes.subarray(headerStart, dataStart);
  let header: PyValue;
  try {
    const text =
      major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(headerBytes) : decodeLatin1(headerBytes);
    header = parsePythonLiteral(text);
  } catch (e) {
    throw new CorruptFileError('npy', source, `unparsable header (${(e as Error).message})`, e);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw corrupt('the header is not a dict');
  for (const key of ['descr', 'fortran_order', 'shape'])
    if (!(key in header)) throw corrupt(`the header has no '${key}' key`);
  const shapeValue = header.shape;
  if (
    !Array.isArray(shapeValue) ||
    !shapeValue.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  )
    throw corrupt(`'shape' must be a tuple of non-negative integers, got ${pyRepr(shapeValue)}`);
  const shape = shapeValue as number[];
  const { dtype, swap } = parseDescr(header.descr);
  if (typeof header.fortran_order !== 'boolean')
    throw corrupt(`'fortran_order' must be True or False, got ${pyRepr(header.fortran_order)}`);
  // Fortran and C order coincide for 0-d and 1-d arrays.
  if (header.fortran_order && shape.filter((d) => d !== 1).length > 1)
    throw new UnsupportedFormatError('fortran_order', true, 'False (C order); save with np.ascontiguousarray(a)');

  const itemsize = bytesPerElement(dtype);
  const available = bytes.length - dataStart;
  // a float product: exact below 2^53, and still larger than `available` when it is not
  const nbytes = (shape.includes(0) ? 0 : sizeOf(shape)) * itemsize;
  if (nbytes > available)
    throw corrupt(`truncated data: shape [${shape.join(', ')}] of ${dtype} needs ${nbytes} bytes, found ${available}`);

  const buffer = new ArrayBuffer(nbytes);
  const raw = new Uint8Array(buffer);
  raw.set(bytes.subarray(dataStart, dataStart + nbytes));
  if (swap) byteSwap(raw, itemsize);
  if (dtype === 'bool') for (let i = 0; i < raw.length; i++) raw[i] = raw[i] !== 0 ? 1 : 0;
  const Ctor = typedArrayConstructor(dtype) as unknown as new (b: ArrayBuffer) => Tensor['data'];
  return { dtype, data: new Ctor(buffer), shape, stride: defaultStride(shape), offset: 0 } as Tensor;
}

/** The header text (dict, growth spaces, alignment padding and newline) numpy writes for this dtype and shape. */
function headerText(dtype: DType, shape: readonly number[], prefixLen: number): string {
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let text = `{'descr': '${npyDescr(dtype)}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) text += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const pad = ALIGN - ((prefixLen + text.length + 1) % ALIGN);
  return text + ' '.repeat(pad) + '\n';
}

/**
 * Encodes a tensor as a version 1.0 `.npy` file, little-endian, C order, with the data aligned to 64 bytes as
 * `numpy.save` writes it. Strided views are written packed.
 */
export function encodeNpy(t: Tensor): Uint8Array {
  if (t === null || typeof t !== 'object' || !isDType((t as Tensor).dtype))
    throw new DTypeError(
      't',
      t === null || typeof t !== 'object' ? t : (t as Tensor).dtype,
      'a Tensor of a supported dtype',
    );
  const Ctor = typedArrayConstructor(t.dtype);
  if (!(t.data instanceof Ctor)) throw new DTypeError('t.data', t.data, `${Ctor.name} for dtype '${t.dtype}'`);
  const dense = denseData(t);
  const shape = t.shape.slice();
  let prefixLen = 10;
  let header = headerText(t.dtype, shape, prefixLen);
  if (header.length > 0xffff) {
    prefixLen = 12;
    header = headerText(t.dtype, shape, prefixLen);
  }
  const dataStart = prefixLen + header.length;
  const out = new Uint8Array(dataStart + dense.byteLength);
  out.set(MAGIC, 0);
  out[6] = prefixLen === 10 ? 1 : 2;
  out[7] = 0;
  const hl = header.length;
  out[8] = hl & 0xff;
  out[9] = (hl >>> 8) & 0xff;
  if (prefixLen === 12) {
    out[10] = (hl >>> 16) & 0xff;
    out[11] = (hl >>> 24) & 0xff;
  }
  for (let i = 0; i < hl; i++) out[prefixLen + i] = header.charCodeAt(i);
  const payload = out.subarray(dataStart);
  payload.set(new Uint8Array(dense.buffer, dense.byteOffset, dense.byteLength));
  const itemsize = bytesPerElement(t.dtype);
  if (!HOST_LITTLE_ENDIAN && itemsize > 1) byteSwap(payload, itemsize);
  if (t.dtype === 'bool') for (let i = 0; i < payload.length; i++) payload[i] = payload[i] !== 0 ? 1 : 0;
  return out;
}
