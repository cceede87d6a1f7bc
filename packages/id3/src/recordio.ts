/**
 * MXNet RecordIO export (spec `id3.md` §3.4: DCFace and the InsightFace trainers read `.rec` / `.idx`), written from the
 * format's description:
 *
 * Record framing (dmlc RecordIO): every record is `magic` (uint32 0xced7230a, little-endian), `lrec` (uint32:
 * cflag << 29 | length), `length` bytes, then zero padding to a multiple of 4. A payload that contains the magic at a
 * 4-aligned offset is split there (the magic itself is dropped): parts get cflag 1 (first), 2 (middle), 3 (last);
 * an unsplit record has cflag 0. A reader joins the parts with the magic between them.
 *
 * Payload (mxnet.recordio.pack): IRHeader = uint32 flag, float32 label, uint64 id, uint64 id2 (24 bytes,
 * little-endian); flag = 0: `label` is the label; flag = k > 0: the header's label is 0 and k float32 labels follow;
 * then the encoded image (or nothing).
 *
 * Index `.idx`: one line `<key>\t<byte offset of the record>\n` per record.
 *
 * InsightFace layout (what `MXFaceDataset` reads): key 0 holds the header record with labels
 * [N_images + 1, N_images + 1 + N_ids]; keys 1..N_images the images (flag 0, label = identity, id = key); keys
 * N_images + 1 .. N_images + N_ids one record per identity with labels [first key, last key + 1). A `property` file
 * holds `<N_ids>,<height>,<width>`.
 */
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import {
  CorruptFileError,
  InvalidArgumentError,
  TrustVisionError,
  decodePng,
  encodeJpeg,
  writeFileAtomic,
} from '@trustvision/core-tensor';
import { readDatasetManifest } from './dataset.js';
import { checkInt } from './validate.js';

export const RECORDIO_MAGIC = 0xced7230a;
const MAX_LENGTH = (1 << 29) - 1;

export interface IRHeader {
  /** 0 for a scalar label, else the number of labels. */
  flag: number;
  /** The label (flag 0) or the labels (flag > 0). */
  label: number | Float32Array;
  id: bigint | number;
  id2: bigint | number;
}

/** mxnet.recordio.pack: the 24-byte header (+ labels) followed by `payload`. */
export function packRecord(
  header: { label: number | ArrayLike<number>; id?: bigint | number; id2?: bigint | number },
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const labels = typeof header.label === 'number' ? undefined : Float32Array.from(header.label);
  const n = labels ? labels.length : 0;
  const out = new Uint8Array(24 + 4 * n + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, n, true);
  v.setFloat32(4, labels ? 0 : (header.label as number), true);
  v.setBigUint64(8, BigInt(header.id ?? 0), true);
  v.setBigUint64(16, BigInt(header.id2 ?? 0), true);
  for (let k = 0; k < n; k++) v.setFloat32(24 + 4 * k, labels![k], true);
  out.set(payload, 24 + 4 * n);
  return out;
}

/** mxnet.recordio.unpack: the header and the payload after it. */
export function unpackRecord(bytes: Uint8Array, source = 'record'): { header: IRHeader; payload: Uint8Array } {
  if (bytes.length < 24)
    throw new CorruptFileError('RecordIO record', source, `${bytes.length} bytes, shorter than the 24-byte IRHeader`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flag = v.getUint32(0, true);
  let label: number | Float32Array = v.getFloat32(4, true);
  let off = 24;
  if (flag > 0) {
    if (bytes.length < 24 + 4 * flag)
      throw new CorruptFileError('RecordIO record', source, `flag ${flag} but only ${bytes.length} bytes`);
    label = new Float32Array(flag);
    for (let k = 0; k < flag; k++) label[k] = v.getFloat32(24 + 4 * k, true);
    off += 4 * flag;
  }
  return {
    header: { flag, label, id: v.getBigUint64(8, true), id2: v.getBigUint64(16, true) },
    payload: bytes.subarray(off),
  };
}

/** One framed record (split at aligned magics, padded to 4 bytes). */
export function frameRecord(data: Uint8Array): Uint8Array {
  if (data.length > MAX_LENGTH)
    throw new InvalidArgumentError('record', `${data.length} bytes`, `at most ${MAX_LENGTH} bytes`);
  const len = data.length;
  const lower = len & ~3;
  const parts: { cflag: number; start: number; end: number }[] = [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let dptr = 0;
  for (let i = 0; i < lower; i += 4) {
    if (dv.getUint32(i, true) === RECORDIO_MAGIC) {
      parts.push({ cflag: dptr === 0 ? 1 : 2, start: dptr, end: i });
      dptr = i + 4;
    }
  }
  parts.push({ cflag: dptr !== 0 ? 3 : 0, start: dptr, end: len });
  const pad = ((len + 3) & ~3) - len;
  const total = parts.reduce((s, p) => s + 8 + (p.end - p.start), 0) + pad;
  const out = new Uint8Array(total);
  const ov = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    ov.setUint32(o, RECORDIO_MAGIC, true);
    ov.setUint32(o + 4, ((p.cflag << 29) | (p.end - p.start)) >>> 0, true);
    out.set(data.subarray(p.start, p.end), o + 8);
    o += 8 + (p.end - p.start);
  }
  return out;
}

/** Reads the record starting at `offset`; returns its data and the offset after it. */
export function readFramed(buf: Uint8Array, offset: number, source = 'RecordIO'): { data: Uint8Array; next: number } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const chunks: Uint8Array[] = [];
  let o = offset;
  for (;;) {
    if (o + 8 > buf.length) throw new CorruptFileError('RecordIO', source, `record at byte ${offset} is cut short`);
    if (dv.getUint32(o, true) !== RECORDIO_MAGIC)
      throw new CorruptFileError('RecordIO', source, `no magic at byte ${o} (a record was expected there)`);
    const lrec = dv.getUint32(o + 4, true);
    const cflag = lrec >>> 29;
    const len = lrec & MAX_LENGTH;
    if (o + 8 + len > buf.length)
      throw new CorruptFileError('RecordIO', source, `record at byte ${o} claims ${len} bytes past the end`);
    chunks.push(buf.subarray(o + 8, o + 8 + len));
    o += 8 + len;
    if (cflag === 0 || cflag === 3) {
      o += ((len + 3) & ~3) - len;
      break;
    }
    if (cflag !== 1 && cflag !== 2) throw new CorruptFileError('RecordIO', source, `bad cflag ${cflag} at byte ${o}`);
    chunks.push(new Uint8Array([0x0a, 0x23, 0xd7, 0xce])); // the magic the writer dropped
    if ((o & 3) !== 0) throw new CorruptFileError('RecordIO', source, `unaligned continuation at byte ${o}`);
  }
  if (chunks.length === 1) return { data: chunks[0], next: o };
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return { data: out, next: o };
}

/** An in-memory `.rec` + `.idx` builder. */
export class RecordIOBuilder {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private idx = '';
  private keys = new Set<number>();

  /** Appends a record (a packed payload) under `key`. */
  add(key: number, data: Uint8Array): void {
    checkInt('key', key, 0);
    if (this.keys.has(key)) throw new InvalidArgumentError('key', key, 'a key not used before');
    this.keys.add(key);
    this.idx += `${key}\t${this.size}\n`;
    const f = frameRecord(data);
    this.chunks.push(f);
    this.size += f.length;
  }

  /** The `.rec` bytes and the `.idx` text. */
  finish(): { rec: Uint8Array; idx: string } {
    const rec = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      rec.set(c, o);
      o += c.length;
    }
    return { rec, idx: this.idx };
  }
}

/** Parses `.idx` text into key → offset. */
export function parseIndex(text: string, source = 'idx'): Map<number, number> {
  const out = new Map<number, number>();
  text.split('\n').forEach((line, n) => {
    if (line.trim() === '') return;
    const m = /^(\d+)\t(\d+)$/.exec(line.trim());
    if (!m) throw new CorruptFileError('RecordIO index', source, `line ${n + 1} is not '<key>\\t<offset>'`);
    out.set(Number(m[1]), Number(m[2]));
  });
  return out;
}

/** Reads a `.rec` (and its `.idx`) into key → unpacked record; without an index, records are numbered in order. */
export function readRecordIO(
  rec: Uint8Array,
  idx?: string,
  source = 'rec',
): Map<number, { header: IRHeader; payload: Uint8Array }> {
  const out = new Map<number, { header: IRHeader; payload: Uint8Array }>();
  if (idx !== undefined) {
    for (const [key, off] of parseIndex(idx, `${source}.idx`))
      out.set(key, unpackRecord(readFramed(rec, off, source).data, `${source} key ${key}`));
    return out;
  }
  let o = 0;
  let k = 0;
  while (o < rec.length) {
    const r = readFramed(rec, o, source);
    out.set(k++, unpackRecord(r.data, `${source} record ${k - 1}`));
    o = r.next;
  }
  return out;
}

export interface ExportRecordIOOptions {
  /** 'png' (default): the dataset's PNG files as they are; 'jpg': re-encoded as JPEG. */
  format?: 'png' | 'jpg';
  /** JPEG quality (default 95). */
  quality?: number;
  /** File name stem (default 'train': train.rec, train.idx). */
  name?: string;
}

/**
 * Exports a complete id3 dataset folder to InsightFace's RecordIO layout in `outDir` (`train.rec`, `train.idx`,
 * `property`; each written atomically). Returns the counts.
 */
export async function exportRecordIO(
  datasetDir: string,
  outDir: string,
  options: ExportRecordIOOptions = {},
): Promise<{ images: number; identities: number; bytes: number }> {
  const format = options.format ?? 'png';
  if (format !== 'png' && format !== 'jpg') throw new InvalidArgumentError('format', format, "'png' or 'jpg'");
  const quality = checkInt('quality', options.quality ?? 95, 1, 100);
  const name = options.name ?? 'train';
  if (!/^[\w.-]+$/.test(name))
    throw new InvalidArgumentError('name', name, 'a file name stem (letters, digits, . _ -)');
  const cfg = JSON.parse(
    await fsp.readFile(nodePath.join(datasetDir, 'config.json'), 'utf8').catch((e) => {
      throw new InvalidArgumentError(
        'datasetDir',
        datasetDir,
        'an id3 dataset folder (with a config.json)',
        String(e?.message ?? e),
      );
    }),
  ) as { identities: number; width: number; height: number };
  const entries = await readDatasetManifest(datasetDir);
  const ids = entries.length ? entries[entries.length - 1].identity + 1 : 0;
  if (ids !== cfg.identities)
    throw new InvalidArgumentError(
      'datasetDir',
      `${ids} of ${cfg.identities} identities complete`,
      'a complete dataset (finish generating it first)',
    );
  const nImg = entries.length;
  const b = new RecordIOBuilder();
  b.add(0, packRecord({ label: [nImg + 1, nImg + 1 + ids] }));
  const ranges: [number, number][] = [];
  for (let k = 0; k < nImg; k++) {
    const e = entries[k];
    const key = k + 1;
    let bytes: Uint8Array = new Uint8Array(await fsp.readFile(nodePath.join(datasetDir, e.file)));
    if (format === 'jpg') bytes = encodeJpeg(decodePng(bytes, e.file), quality);
    b.add(key, packRecord({ label: e.identity, id: key }, bytes));
    if (!ranges[e.identity]) ranges[e.identity] = [key, key + 1];
    else ranges[e.identity][1] = key + 1;
  }
  for (let i = 0; i < ids; i++) b.add(nImg + 1 + i, packRecord({ label: ranges[i] }));
  const { rec, idx } = b.finish();
  try {
    await fsp.mkdir(outDir, { recursive: true });
  } catch (e) {
    throw new TrustVisionError('E_IO', `cannot create ${outDir}: ${(e as Error).message}`, {
      param: 'outDir',
      value: outDir,
      cause: e,
    });
  }
  await writeFileAtomic(nodePath.join(outDir, `${name}.rec`), rec);
  await writeFileAtomic(nodePath.join(outDir, `${name}.idx`), new TextEncoder().encode(idx));
  await writeFileAtomic(
    nodePath.join(outDir, 'property'),
    new TextEncoder().encode(`${ids},${cfg.height},${cfg.width}\n`),
  );
  return { images: nImg, identities: ids, bytes: rec.length };
}
