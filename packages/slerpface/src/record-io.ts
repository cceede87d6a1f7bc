/**
 * Storage formats (documented in the README; stable):
 *
 * - Record `.npz` (the CLI's `R.npz`): `protected` float64 [G,d], `key` float64 [G,d], `mask` uint8 [G,d],
 *   `alpha` float64 [], `drop_rate` float64 [], `version` int32 [], and `meta` uint8 [n]: UTF-8 JSON
 *   `{ "format": "slerpface-record", "version": 1, "form", "layout", "groups", "groupSize", "params" }`.
 * - Record JSON: the same header with `protected`/`key` as base64 float64 (little-endian) and `mask` as base64 bytes.
 * - Gallery `.sfg`: an `.npz` with `protected` float32 [N,G,d], `key` float32 [N,G,d], `mask` uint8 [N,G,d] and
 *   `meta` (JSON: `{ "format": "slerpface-gallery", "version": 1, ...header, "ids": [...] }`). The zip's CRC-32s
 *   catch corruption.
 */
import {
  CorruptFileError,
  InvalidArgumentError,
  UnsupportedFormatError,
  encodeNpz,
  parseNpz,
  tensor,
  type Tensor,
} from '@trustvision/core-tensor';
import { Gallery, type GalleryOptions } from './gallery.js';
import { RECORD_VERSION, checkRecord, resolveParams, type ProtectedRecord } from './protect.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

interface RecordMeta {
  format: 'slerpface-record' | 'slerpface-gallery';
  version: number;
  form: ProtectedRecord['form'];
  layout: string;
  groups: number;
  groupSize: number;
  params: ProtectedRecord['params'];
  ids?: string[];
  extra?: Record<string, unknown>;
}

function bytesTensor(b: Uint8Array): Tensor {
  return tensor(b, [b.length]);
}

function header(r: ProtectedRecord): Omit<RecordMeta, 'format'> {
  return {
    version: r.version,
    form: r.form,
    layout: r.layout,
    groups: r.groups,
    groupSize: r.groupSize,
    params: { ...r.params },
  };
}

function parseMeta(t: Tensor | undefined, source: string, format: RecordMeta['format']): RecordMeta {
  if (!t || !(t.data instanceof Uint8Array)) throw new CorruptFileError(format, source, "no 'meta' array (uint8 JSON)");
  let meta: RecordMeta;
  try {
    meta = JSON.parse(dec.decode(t.data));
  } catch (e) {
    throw new CorruptFileError(format, source, "'meta' is not JSON", e);
  }
  if (meta?.format !== format) {
    throw new UnsupportedFormatError(`${source} format`, meta?.format, `'${format}'`);
  }
  if (meta.version !== RECORD_VERSION)
    throw new UnsupportedFormatError(`${source} version`, meta.version, `version ${RECORD_VERSION} (this library's)`);
  for (const k of ['groups', 'groupSize'] as const)
    if (!Number.isInteger(meta[k]) || meta[k] < 1)
      throw new CorruptFileError(format, source, `meta.${k} is ${meta[k]}`);
  if (meta.form !== 'grid' && meta.form !== 'vector')
    throw new CorruptFileError(format, source, `meta.form is ${meta.form}`);
  if (typeof meta.layout !== 'string') throw new CorruptFileError(format, source, 'meta.layout is missing');
  meta.params = resolveParams(meta.params);
  return meta;
}

function need(
  arrays: Record<string, Tensor>,
  name: string,
  dtype: string,
  shape: number[],
  source: string,
  format: string,
): Tensor {
  const t = arrays[name];
  if (!t) throw new CorruptFileError(format, source, `no '${name}' array`);
  if (t.dtype !== dtype) throw new CorruptFileError(format, source, `'${name}' is ${t.dtype}, expected ${dtype}`);
  if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i]))
    throw new CorruptFileError(format, source, `'${name}' has shape [${t.shape}], expected [${shape}]`);
  return t;
}

/** A record as `.npz` bytes. */
export function encodeRecordNpz(record: ProtectedRecord): Uint8Array {
  checkRecord('record', record);
  const shape = [record.groups, record.groupSize];
  return encodeNpz({
    protected: tensor(record.protected, shape),
    key: tensor(record.key, shape),
    mask: tensor(record.mask, shape),
    alpha: tensor(Float64Array.of(record.params.alpha), []),
    drop_rate: tensor(Float64Array.of(record.params.dropRate), []),
    version: tensor(Int32Array.of(record.version), []),
    meta: bytesTensor(enc.encode(JSON.stringify({ format: 'slerpface-record', ...header(record) }))),
  });
}

/** Parses record `.npz` bytes (checks version, form, shapes and the mask). */
export function decodeRecordNpz(bytes: Uint8Array, source = 'record'): ProtectedRecord {
  const arrays = parseNpz(bytes, source);
  const meta = parseMeta(arrays.meta, source, 'slerpface-record');
  const shape = [meta.groups, meta.groupSize];
  const p = need(arrays, 'protected', 'float64', shape, source, 'slerpface-record');
  const k = need(arrays, 'key', 'float64', shape, source, 'slerpface-record');
  const m = need(arrays, 'mask', 'uint8', shape, source, 'slerpface-record');
  return finish(
    meta,
    Float64Array.from(p.data as Float64Array),
    Float64Array.from(k.data as Float64Array),
    Uint8Array.from(m.data as Uint8Array),
    source,
  );
}

function finish(meta: RecordMeta, p: Float64Array, k: Float64Array, m: Uint8Array, source: string): ProtectedRecord {
  for (let i = 0; i < m.length; i++)
    if (m[i] > 1) throw new CorruptFileError('slerpface-record', source, `mask[${i}] is ${m[i]}, not 0/1`);
  for (let i = 0; i < p.length; i++)
    if (!Number.isFinite(p[i]) || !Number.isFinite(k[i]))
      throw new CorruptFileError('slerpface-record', source, `non-finite value at ${i}`);
  const r: ProtectedRecord = {
    version: meta.version,
    form: meta.form,
    layout: meta.layout,
    groups: meta.groups,
    groupSize: meta.groupSize,
    params: meta.params,
    protected: p,
    key: k,
    mask: m,
  };
  checkRecord(source, r);
  return r;
}

function b64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function unb64(s: unknown, source: string, field: string): Uint8Array {
  if (typeof s !== 'string')
    throw new CorruptFileError('slerpface-record', source, `'${field}' is not a base64 string`);
  let bin: string;
  try {
    bin = atob(s);
  } catch (e) {
    throw new CorruptFileError('slerpface-record', source, `'${field}' is not valid base64`, e);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A record as a JSON-safe object (float64 arrays base64-encoded, little-endian). */
export function recordToJSON(record: ProtectedRecord): Record<string, unknown> {
  checkRecord('record', record);
  const f64 = (a: Float64Array) => {
    const b = new Uint8Array(a.length * 8);
    const v = new DataView(b.buffer);
    for (let i = 0; i < a.length; i++) v.setFloat64(i * 8, a[i], true);
    return b64(b);
  };
  return {
    format: 'slerpface-record',
    ...header(record),
    protected: f64(record.protected),
    key: f64(record.key),
    mask: b64(record.mask),
  };
}

/** Parses `recordToJSON`'s output (or its JSON text). */
export function recordFromJSON(json: unknown, source = 'record JSON'): ProtectedRecord {
  let obj = json as Record<string, unknown>;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch (e) {
      throw new CorruptFileError('slerpface-record', source, 'not JSON', e);
    }
  }
  if (obj === null || typeof obj !== 'object') throw new CorruptFileError('slerpface-record', source, 'not an object');
  const meta = parseMeta(bytesTensor(enc.encode(JSON.stringify(obj))), source, 'slerpface-record');
  const n = meta.groups * meta.groupSize;
  const f64 = (field: string) => {
    const b = unb64(obj[field], source, field);
    if (b.length !== n * 8)
      throw new CorruptFileError('slerpface-record', source, `'${field}' has ${b.length} bytes, expected ${n * 8}`);
    const v = new DataView(b.buffer);
    return Float64Array.from({ length: n }, (_, i) => v.getFloat64(i * 8, true));
  };
  const mask = unb64(obj.mask, source, 'mask');
  if (mask.length !== n)
    throw new CorruptFileError('slerpface-record', source, `'mask' has ${mask.length} bytes, expected ${n}`);
  return finish(meta, f64('protected'), f64('key'), mask, source);
}

/** A gallery as `.sfg` bytes (npz). Galleries over ~4 GB must be saved in shards (several galleries). */
export function encodeGallery(gallery: Gallery): Uint8Array {
  if (!(gallery instanceof Gallery)) throw new InvalidArgumentError('gallery', gallery, 'a Gallery');
  const raw = gallery.raw();
  const shape = [gallery.size, gallery.groups, gallery.groupSize];
  if (raw.protected.byteLength * 2 + raw.mask.byteLength > 3.9 * 2 ** 30)
    throw new InvalidArgumentError(
      'gallery',
      `${gallery.size} records`,
      'a gallery under ~4 GB per file',
      'Save it in shards',
    );
  const meta = enc.encode(
    JSON.stringify({
      format: 'slerpface-gallery',
      version: RECORD_VERSION,
      ...gallery.header,
      ids: gallery.idList,
      extra: gallery.extra,
    }),
  );
  return encodeNpz({
    protected: tensor(raw.protected, shape),
    key: tensor(raw.key, shape),
    mask: tensor(raw.mask, shape),
    meta: bytesTensor(meta),
  });
}

/** Parses `.sfg` bytes into a Gallery. */
export function decodeGallery(bytes: Uint8Array, source = 'gallery', options: GalleryOptions = {}): Gallery {
  const arrays = parseNpz(bytes, source);
  const meta = parseMeta(arrays.meta, source, 'slerpface-gallery');
  const ids = meta.ids;
  if (!Array.isArray(ids)) throw new CorruptFileError('slerpface-gallery', source, 'meta.ids is missing');
  const shape = [ids.length, meta.groups, meta.groupSize];
  const p = need(arrays, 'protected', 'float32', shape, source, 'slerpface-gallery');
  const k = need(arrays, 'key', 'float32', shape, source, 'slerpface-gallery');
  const m = need(arrays, 'mask', 'uint8', shape, source, 'slerpface-gallery');
  const mask = m.data as Uint8Array;
  for (let i = 0; i < mask.length; i++)
    if (mask[i] > 1) throw new CorruptFileError('slerpface-gallery', source, `mask value ${mask[i]} at ${i}, not 0/1`);
  const g = new Gallery(meta, options);
  if (meta.extra && typeof meta.extra === 'object') g.extra = meta.extra;
  g.addRaw(ids, p.data as Float32Array, k.data as Float32Array, mask);
  return g;
}
