/**
 * NumPy `.npz` archives (browser-safe): a minimal ZIP reader and writer around `.npy` members.
 *
 * The reader follows the central directory (with ZIP64 sizes and offsets), supports the stored (0) and deflate (8)
 * methods and checks every member's CRC-32. The writer emits one local header per member, a central directory and,
 * only when needed (or forced), ZIP64 records. fflate does raw deflate/inflate only.
 */
import { type DeflateOptions, deflateSync, inflateSync } from 'fflate';
import { CorruptFileError, InvalidArgumentError, UnsupportedFormatError } from './errors.js';
import { encodeNpy, parseNpy } from './npy.js';
import type { Tensor } from './tensor.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/** DOS date for 1980-01-01 (the earliest representable), used for reproducible archives. */
const DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1;

// ---------------------------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, as ZIP and PNG use)

let crcTable: Uint32Array | undefined;

function getCrcTable(): Uint32Array {
  if (crcTable) return crcTable;
  crcTable = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable[n] = c >>> 0;
  }
  return crcTable;
}

/** CRC-32 of `bytes`; pass a previous result as `crc` to continue a running checksum. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const table = getCrcTable();
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** One member of a ZIP archive, as the central directory describes it. */
interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

class ZipReader {
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  corrupt(reason: string, cause?: unknown): CorruptFileError {
    return new CorruptFileError('npz', this.source, reason, cause);
  }

  private need(offset: number, n: number, what: string): void {
    if (offset < 0 || offset + n > this.bytes.length) throw this.corrupt(`truncated ${what}`);
  }

  u16(o: number): number {
    return this.view.getUint16(o, true);
  }

  u32(o: number): number {
    return this.view.getUint32(o, true);
  }

  u64(o: number, what: string): number {
    const v = this.view.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.corrupt(`${what} is too large`);
    return Number(v);
  }

  /** Locates the central directory through the end-of-central-directory record (and its ZIP64 form). */
  private directory(): { count: number; offset: number; size: number } {
    const b = this.bytes;
    let eocd = -1;
    for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - U16_MAX); i--) {
      if (b[i] === 0x50 && this.u32(i) === SIG_EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw this.corrupt('no ZIP end-of-central-directory record (not a ZIP archive, or truncated)');
    let count = this.u16(eocd + 10);
    let size = this.u32(eocd + 12);
    let offset = this.u32(eocd + 16);
    const loc = eocd - 20;
    if (loc >= 0 && this.u32(loc) === SIG_ZIP64_LOCATOR) {
      const z = this.u64(loc + 8, 'ZIP64 record offset');
      this.need(z, 56, 'ZIP64 end-of-central-directory record');
      if (this.u32(z) !== SIG_ZIP64_EOCD) throw this.corrupt('bad ZIP64 end-of-central-directory signature');
      count = this.u64(z + 32, 'entry count');
      size = this.u64(z + 40, 'central directory size');
      offset = this.u64(z + 48, 'central directory offset');
    } else if (count === U16_MAX || size === U32_MAX || offset === U32_MAX) {
      throw this.corrupt('missing ZIP64 end-of-central-directory locator');
    }
    this.need(offset, size, 'central directory');
    return { count, offset, size };
  }

  entries(): ZipEntry[] {
    const { count, offset } = this.directory();
    const out: ZipEntry[] = [];
    let p = offset;
    const utf8 = new TextDecoder('utf-8');
    for (let i = 0; i < count; i++) {
      this.need(p, 46, 'central directory entry');
      if (this.u32(p) !== SIG_CENTRAL) throw this.corrupt(`bad central directory signature for entry ${i}`);
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let localOffset = this.u32(p + 42);
      this.need(p + 46, nameLen + extraLen + commentLen, 'central directory entry');
      const name = utf8.decode(this.bytes.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: only the fields whose 32-bit slots are saturated are present, in this order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = this.u16(e);
        const len = this.u16(e + 2);
        if (e + 4 + len > extraEnd) throw this.corrupt(`bad extra field in entry '${name}'`);
        if (id === ZIP64_EXTRA_ID) {
          let f = e + 4;
          const take = (what: string): number => {
            if (f + 8 > e + 4 + len) throw this.corrupt(`short ZIP64 extra field in entry '${name}'`);
            const v = this.u64(f, what);
            f += 8;
            return v;
          };
          if (size === U32_MAX) size = take('member size');
          if (compressedSize === U32_MAX) compressedSize = take('compressed size');
          if (localOffset === U32_MAX) localOffset = take('member offset');
        }
        e += 4 + len;
      }
      out.push({ name, method, flags, crc, compressedSize, size, localOffset });
      p = extraEnd + commentLen;
    }
    return out;
  }

  /** The member's uncompressed bytes, CRC-checked. */
  read(entry: ZipEntry): Uint8Array {
    const { name } = entry;
    if (entry.flags & 1) throw new UnsupportedFormatError('encryption', name, 'an unencrypted ZIP member');
    const p = entry.localOffset;
    this.need(p, 30, `local header of '${name}'`);
    if (this.u32(p) !== SIG_LOCAL) throw this.corrupt(`bad local header signature for '${name}'`);
    const start = p + 30 + this.u16(p + 26) + this.u16(p + 28);
    this.need(start, entry.compressedSize, `data of '${name}'`);
    const raw = this.bytes.subarray(start, start + entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) throw this.corrupt(`stored member '${name}' has mismatched sizes`);
      data = raw;
    } else if (entry.method === 8) {
      try {
        // inflating into a buffer of the declared size bounds memory even for a hostile archive
        data = inflateSync(raw, { out: new Uint8Array(entry.size) });
      } catch (err) {
        throw this.corrupt(`cannot inflate '${name}': ${(err as Error).message}`, err);
      }
      if (data.length !== entry.size)
        throw this.corrupt(`'${name}' inflates to ${data.length} bytes, expected ${entry.size}`);
    } else {
      throw new UnsupportedFormatError('compression method', entry.method, 'stored (0) or deflate (8)');
    }
    const actual = crc32(data);
    if (actual !== entry.crc)
      throw this.corrupt(
        `CRC-32 mismatch in '${name}' (stored ${hex32(entry.crc)}, computed ${hex32(actual)}); the file is damaged`,
      );
    return data;
  }
}

function hex32(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

/**
 * Parses a `.npz` archive (as written by `numpy.savez` or `numpy.savez_compressed`) into `{ name: tensor }`, with the
 * `.npy` suffix removed from member names. Members not ending in `.npy` and directories are skipped.
 *
 * @throws CorruptFileError for a damaged archive (CRC mismatch, truncation, bad records) or a damaged member
 * @throws UnsupportedFormatError for encrypted members, other compression methods, or unsupported member dtypes
 */
export function parseNpz(bytes: Uint8Array, source = 'npz data'): Record<string, Tensor> {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes', bytes, 'a Uint8Array');
  const zip = new ZipReader(bytes, source);
  const out: Record<string, Tensor> = {};
  for (const entry of zip.entries()) {
    if (!entry.name.endsWith('.npy')) continue;
    const key = entry.name.slice(0, -4);
    const t = parseNpy(zip.read(entry), `${source}:${entry.name}`);
    // defineProperty, so that a member named '__proto__.npy' is a plain key rather than a prototype assignment
    Object.defineProperty(out, key, { value: t, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

export interface EncodeNpzOptions {
  /** Deflate each member (as `numpy.savez_compressed`); default false (stored, as `numpy.savez`). */
  compress?: boolean;
  /** Deflate level 0-9 when compressing; default 6. */
  level?: number;
  /** Write ZIP64 records even for small archives (for testing interoperability); default false. */
  forceZip64?: boolean;
}

class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  length = 0;

  push(part: Uint8Array): void {
    this.parts.push(part);
    this.length += part.length;
  }

  /** A little-endian record built through a DataView. */
  record(size: number, fill: (v: DataView) => void): void {
    const b = new Uint8Array(size);
    fill(new DataView(b.buffer));
    this.push(b);
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function zip64Extra(fields: number[]): Uint8Array {
  const b = new Uint8Array(4 + 8 * fields.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, ZIP64_EXTRA_ID, true);
  v.setUint16(2, 8 * fields.length, true);
  fields.forEach((f, i) => v.setBigUint64(4 + 8 * i, BigInt(f), true));
  return b;
}

/**
 * Encodes `{ name: tensor }` as a `.npz` archive that `numpy.load` reads: member `name.npy` per array, stored or
 * (with `compress`) deflated, with a fixed 1980-01-01 timestamp so equal inputs give equal bytes.
 */
export function encodeNpz(arrays: Record<string, Tensor>, options: EncodeNpzOptions = {}): Uint8Array {
  if (arrays === null || typeof arrays !== 'object' || Array.isArray(arrays))
    throw new InvalidArgumentError('arrays', arrays, 'an object mapping names to tensors');
  const { compress = false, level = 6, forceZip64 = false } = options;
  if (!Number.isInteger(level) || level < 0 || level > 9)
    throw new InvalidArgumentError('level', level, 'an integer from 0 to 9');
  const utf8 = new TextEncoder();
  const w = new ByteWriter();
  const central: Uint8Array[] = [];
  for (const key of Object.keys(arrays)) {
    if (key.length === 0 || key.includes('\0'))
      throw new InvalidArgumentError('arrays', key, 'non-empty names without NUL characters');
    const name = utf8.encode(`${key}.npy`);
    if (name.length > U16_MAX) throw new InvalidArgumentError('arrays', key, 'names under 64 KiB');
    const npy = encodeNpy(arrays[key]);
    const method = compress ? 8 : 0;
    const body = compress ? deflateSync(npy, { level: level as DeflateOptions['level'] }) : npy;
    const crc = crc32(npy);
    const offset = w.length;
    const big = forceZip64 || npy.length >= U32_MAX || body.length >= U32_MAX || offset >= U32_MAX;
    const version = big ? 45 : 20;
    const flags = /^[\x20-\x7e]*$/.test(key) ? 0 : 0x0800; // bit 11: the name is UTF-8
    const localExtra = big ? zip64Extra([npy.length, body.length]) : new Uint8Array(0);
    w.record(30, (v) => {
      v.setUint32(0, SIG_LOCAL, true);
      v.setUint16(4, version, true);
      v.setUint16(6, flags, true);
      v.setUint16(8, method, true);
      v.setUint16(10, 0, true); // time 00:00:00
      v.setUint16(12, DOS_DATE_1980, true);
      v.setUint32(14, crc, true);
      v.setUint32(18, big ? U32_MAX : body.length, true);
      v.setUint32(22, big ? U32_MAX : npy.length, true);
      v.setUint16(26, name.length, true);
      v.setUint16(28, localExtra.length, true);
    });
    w.push(name);
    w.push(localExtra);
    w.push(body);

    const centralExtra = big ? zip64Extra([npy.length, body.length, offset]) : new Uint8Array(0);
    const c = new Uint8Array(46 + name.length + centralExtra.length);
    const v = new DataView(c.buffer);
    v.setUint32(0, SIG_CENTRAL, true);
    v.setUint16(4, (3 << 8) | version, true); // made by: Unix, so the permissions below apply
    v.setUint16(6, version, true);
    v.setUint16(8, flags, true);
    v.setUint16(10, method, true);
    v.setUint16(12, 0, true);
    v.setUint16(14, DOS_DATE_1980, true);
    v.setUint32(16, crc, true);
    v.setUint32(20, big ? U32_MAX : body.length, true);
    v.setUint32(24, big ? U32_MAX : npy.length, true);
    v.setUint16(28, name.length, true);
    v.setUint16(30, centralExtra.length, true);
    v.setUint32(38, (0o100644 << 16) >>> 0, true); // regular file, rw-r--r--
    v.setUint32(42, big ? U32_MAX : offset, true);
    c.set(name, 46);
    c.set(centralExtra, 46 + name.length);
    central.push(c);
  }
  const cdOffset = w.length;
  for (const c of central) w.push(c);
  const cdSize = w.length - cdOffset;
  const count = central.length;
  const zip64 = forceZip64 || count >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
  if (zip64) {
    const recordOffset = w.length;
    w.record(56, (v) => {
      v.setUint32(0, SIG_ZIP64_EOCD, true);
      v.setBigUint64(4, 44n, true); // size of the rest of this record
      v.setUint16(12, (3 << 8) | 45, true);
      v.setUint16(14, 45, true);
      v.setBigUint64(24, BigInt(count), true);
      v.setBigUint64(32, BigInt(count), true);
      v.setBigUint64(40, BigInt(cdSize), true);
      v.setBigUint64(48, BigInt(cdOffset), true);
    });
    w.record(20, (v) => {
      v.setUint32(0, SIG_ZIP64_LOCATOR, true);
      v.setBigUint64(8, BigInt(recordOffset), true);
      v.setUint32(16, 1, true); // total number of disks
    });
  }
  w.record(22, (v) => {
    v.setUint32(0, SIG_EOCD, true);
    v.setUint16(8, zip64 ? U16_MAX : count, true);
    v.setUint16(10, zip64 ? U16_MAX : count, true);
    v.setUint32(12, zip64 ? U32_MAX : cdSize, true);
    v.setUint32(16, zip64 ? U32_MAX : cdOffset, true);
  });
  return w.concat();
}
