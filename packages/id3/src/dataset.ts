/**
 * Dataset writer (spec `id3.md` §3.4, issue #9 capability 5): one folder per identity of PNG images plus that
 * identity's embeddings as `.npy`, a JSONL manifest with one line per image, and a `config.json` that pins the
 * dataset's configuration. Independent of any sampler: it takes finished images.
 *
 * Layout of a dataset folder `root`:
 *
 *   root/config.json                    { format: 'id3-dataset', version: 1, ...DatasetConfig }
 *   root/manifest.jsonl                 one line per image, identities in order 0, 1, 2, …
 *   root/<identity:05d>/<image:03d>.png the images (8-bit, config's width × height × channels)
 *   root/<identity:05d>/embeddings.npy  float32 [m, d], unit rows, row j = image j's identity embedding
 *
 * Exactly-once, resumable: identity i is staged in `root/.<identity:05d>.partial/` (every file through core-tensor's
 * atomic writes), the staging folder is renamed to `root/<identity:05d>/`, and only then are its m manifest lines
 * appended (one write, flushed). An identity is complete when its folder exists and all m of its lines are in the
 * manifest. Opening a folder again with the same configuration repairs an interruption: staging folders and temporary
 * files are removed, a partial trailing manifest line or an incomplete last identity's lines are cut off, and identity
 * folders without their manifest lines are removed; writing continues at the first incomplete identity.
 */
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import {
  CorruptFileError,
  InvalidArgumentError,
  NonFiniteError,
  ShapeError,
  TrustVisionError,
  checkImage,
  tensor,
  writeFileAtomic,
  writeImage,
  writeNpy,
  type Image,
} from '@trustvision/core-tensor';
import { ATTRIBUTE_NAMES } from './attributes.js';
import { checkInt, checkNumber, checkSeed, toUnitRows, type MatrixLike } from './validate.js';

/** What a dataset folder is made for; stored in `config.json` and compared field by field on re-opening. */
export interface DatasetConfig {
  /** Number of identities N ≥ 1. */
  identities: number;
  /** Images per identity m ≥ 1. */
  perIdentity: number;
  /** Image size and channels (1 gray, 3 RGB, 4 RGBA). */
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  /** Identity-embedding dimension d ≥ 2. */
  embeddingDim: number;
  /** The dataset seed (a safe integer or a string; a bigint is stored as its decimal string). */
  seed: number | string | bigint;
  /** Hash of the generating model(s), e.g. a sha256 hex digest; copied into every manifest line. */
  modelHash: string;
  /** Anything else that defines the dataset (lb, ub, sampler, steps, guidance…): JSON values, compared too. */
  extra?: Record<string, unknown>;
}

/** One identity's finished images and what they were generated from. */
export interface IdentityRecord {
  /** Identity index; must be the writer's `nextIdentity`. */
  identity: number;
  /** Index of the anchor the identity was drawn around (default: `identity`). */
  anchorIndex?: number;
  /** The m images, each of the configured size. */
  images: readonly Image[];
  /** [m, d] identity embeddings, unit rows (float32 or float64). */
  embeddings: MatrixLike;
  /** m cosines of each embedding to its anchor, in [−1, 1]. */
  cosines: ArrayLike<number>;
  /** [m, 4] attributes in ATTRIBUTE_NAMES order (age, pitch, yaw, roll), raw units, row-major. */
  attributes: ArrayLike<number>;
  /** The identity's seed (a safe integer, a bigint or a string). */
  seed: number | string | bigint;
}

/** One manifest line (one image). */
export interface ManifestEntry {
  identity: number;
  image: number;
  /** Path of the PNG relative to the dataset folder, '/'-separated. */
  file: string;
  anchor: number;
  cosine: number;
  attributes: { age: number; pitch: number; yaw: number; roll: number };
  seed: number | string;
  modelHash: string;
}

/** Opening a dataset folder made with a different configuration; `param` names the first differing field. */
export class DatasetConfigMismatchError extends TrustVisionError {
  /** The value stored in the folder's config.json and the value asked for. */
  readonly stored: unknown;
  readonly requested: unknown;
  constructor(field: string, dir: string, stored: unknown, requested: unknown) {
    super(
      'E_INVALID_ARGUMENT',
      `dataset folder ${dir} was made with a different configuration: '${field}' is ${JSON.stringify(stored)} there, ` +
        `${JSON.stringify(requested)} here. Use the same configuration to resume, or another folder`,
      { param: field, value: requested, expected: JSON.stringify(stored) },
    );
    this.stored = stored;
    this.requested = requested;
  }
}

export const DATASET_FORMAT = 'id3-dataset';
export const DATASET_VERSION = 1;
const CONFIG_FILE = 'config.json';
const MANIFEST_FILE = 'manifest.jsonl';
const EMBEDDINGS_FILE = 'embeddings.npy';

/** The folder name of identity i: zero-padded to 5 digits (more when N needs it). */
export function identityFolderName(i: number): string {
  return String(i).padStart(5, '0');
}
const imageFileName = (j: number): string => `${String(j).padStart(3, '0')}.png`;

interface StoredConfig {
  identities: number;
  perIdentity: number;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  embeddingDim: number;
  seed: number | string;
  modelHash: string;
  extra: Record<string, unknown>;
}

const CONFIG_FIELDS = [
  'identities',
  'perIdentity',
  'width',
  'height',
  'channels',
  'embeddingDim',
  'seed',
  'modelHash',
] as const;

/** JSON with object keys sorted, for order-independent comparison of `extra`. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The path of the first value in v that JSON cannot hold exactly (undefined when there is none). */
function nonJson(v: unknown, at: string, depth: number): string | undefined {
  if (depth > 32) return at;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : at;
  if (Array.isArray(v)) {
    for (let k = 0; k < v.length; k++) {
      const b = nonJson(v[k], `${at}[${k}]`, depth + 1);
      if (b) return b;
    }
    return undefined;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const b = nonJson(x, `${at}.${k}`, depth + 1);
      if (b) return b;
    }
    return undefined;
  }
  return at;
}

function checkConfig(config: unknown): StoredConfig {
  if (config === null || typeof config !== 'object')
    throw new InvalidArgumentError('config', config, 'an object { identities, perIdentity, width, height, ... }');
  const c = config as DatasetConfig;
  const identities = checkInt('config.identities', c.identities, 1);
  const perIdentity = checkInt('config.perIdentity', c.perIdentity, 1, 999);
  const width = checkInt('config.width', c.width, 1);
  const height = checkInt('config.height', c.height, 1);
  if (c.channels !== 1 && c.channels !== 3 && c.channels !== 4)
    throw new InvalidArgumentError('config.channels', c.channels, '1, 3 or 4');
  const embeddingDim = checkInt('config.embeddingDim', c.embeddingDim, 2);
  const seed = checkSeed('config.seed', c.seed);
  if (typeof c.modelHash !== 'string' || c.modelHash.length === 0)
    throw new InvalidArgumentError('config.modelHash', c.modelHash, 'a non-empty string (e.g. a sha256 hex digest)');
  const extra = c.extra ?? {};
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra))
    throw new InvalidArgumentError('config.extra', extra, 'an object of JSON values');
  const bad = nonJson(extra, 'config.extra', 0);
  if (bad)
    throw new InvalidArgumentError(
      bad,
      'a value JSON cannot hold',
      'JSON values only (finite numbers, strings, booleans, null, arrays, plain objects)',
    );
  const extraJson = JSON.parse(JSON.stringify(extra)) as Record<string, unknown>;
  return {
    identities,
    perIdentity,
    width,
    height,
    channels: c.channels,
    embeddingDim,
    seed: typeof seed === 'bigint' ? seed.toString() : seed,
    modelHash: c.modelHash,
    extra: extraJson,
  };
}

function compareConfig(dir: string, stored: Record<string, unknown>, want: StoredConfig): void {
  for (const f of CONFIG_FIELDS)
    if (stored[f] !== want[f]) throw new DatasetConfigMismatchError(f, dir, stored[f], want[f]);
  const a = (stored.extra ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(want.extra)])].sort();
  for (const k of keys)
    if (canonical(a[k]) !== canonical(want.extra[k]))
      throw new DatasetConfigMismatchError(`extra.${k}`, dir, a[k] ?? null, want.extra[k] ?? null);
}

function ioError(action: string, path: string, e: unknown): TrustVisionError {
  if (e instanceof TrustVisionError) return e;
  return new TrustVisionError('E_IO', `cannot ${action} ${path}: ${(e as Error)?.message ?? e}`, {
    param: 'dir',
    value: path,
    cause: e,
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsp.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

function parseEntry(line: string, m: number): ManifestEntry | undefined {
  let e: ManifestEntry;
  try {
    e = JSON.parse(line) as ManifestEntry;
  } catch {
    return undefined;
  }
  if (e === null || typeof e !== 'object') return undefined;
  if (!Number.isInteger(e.identity) || e.identity < 0 || !Number.isInteger(e.image) || e.image < 0 || e.image >= m)
    return undefined;
  return e;
}

/**
 * Reads a manifest's complete identities: the entries of identities 0..k−1 (each with all m lines, in order) and the
 * byte length they occupy. What follows them (a partial last line, an incomplete identity) is the tail an
 * interruption can leave; anything malformed before the tail is a CorruptFileError.
 */
function scanManifest(
  text: string,
  m: number,
  source: string,
): { entries: ManifestEntry[]; identities: number; bytes: number } {
  const entries: ManifestEntry[] = [];
  let bytes = 0; // end of the last complete identity
  let pos = 0;
  let committed = 0;
  let pending: ManifestEntry[] = [];
  let lineBytes = 0; // bytes of the lines accepted so far
  const lines: { start: number; end: number; text: string }[] = [];
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) {
      lines.push({ start: pos, end: text.length, text: text.slice(pos) }); // no newline: cut short
      break;
    }
    lines.push({ start: pos, end: nl + 1, text: text.slice(pos, nl) });
    pos = nl + 1;
  }
  for (let k = 0; k < lines.length; k++) {
    const complete = lines[k].end <= text.length && text[lines[k].end - 1] === '\n';
    const e = complete ? parseEntry(lines[k].text, m) : undefined;
    const expectedImage = pending.length;
    if (!e || e.identity !== committed || e.image !== expectedImage) {
      // allowed only in the tail: the lines of the one identity being appended when the run stopped
      if (lines.length - (k - pending.length) <= m) break;
      throw new CorruptFileError(
        'id3 manifest',
        source,
        `line ${k + 1} is not image ${expectedImage} of identity ${committed}`,
      );
    }
    pending.push(e);
    lineBytes += Buffer.byteLength(lines[k].text, 'utf8') + 1; // + the newline
    if (pending.length === m) {
      entries.push(...pending);
      pending = [];
      committed++;
      bytes = lineBytes;
    }
  }
  return { entries, identities: committed, bytes };
}

/** Reads a dataset folder's manifest: the entries of its complete identities, in order. */
export async function readDatasetManifest(dir: string): Promise<ManifestEntry[]> {
  if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError('dir', dir, 'a non-empty string');
  const cfg = await readConfig(dir);
  if (!cfg) throw new InvalidArgumentError('dir', dir, `an id3 dataset folder (with a ${CONFIG_FILE})`);
  const path = nodePath.join(dir, MANIFEST_FILE);
  const text = (await exists(path)) ? await fsp.readFile(path, 'utf8') : '';
  return scanManifest(text, cfg.perIdentity as number, path).entries;
}

async function readConfig(dir: string): Promise<Record<string, unknown> | undefined> {
  const path = nodePath.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', path, e);
  }
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new CorruptFileError('id3 dataset config', path, (e as Error).message, e);
  }
  if (c === null || typeof c !== 'object' || c.format !== DATASET_FORMAT)
    throw new CorruptFileError('id3 dataset config', path, `"format" is not "${DATASET_FORMAT}"`);
  if (c.version !== DATASET_VERSION)
    throw new CorruptFileError('id3 dataset config', path, `unsupported version ${JSON.stringify(c.version)}`);
  if (!Number.isInteger(c.perIdentity) || (c.perIdentity as number) < 1)
    throw new CorruptFileError('id3 dataset config', path, '"perIdentity" is not a positive integer');
  return c;
}

/**
 * Checks, without changing anything, that `dir` is a dataset folder made with `config` (DatasetConfigMismatchError
 * naming the first differing field; InvalidArgumentError when there is no config.json). For readers and queue workers
 * that must not repair a folder another process writes.
 */
export async function checkDatasetFolder(dir: string, config: DatasetConfig): Promise<void> {
  if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError('dir', dir, 'a non-empty string');
  const cfg = checkConfig(config);
  const root = nodePath.resolve(dir);
  const stored = await readConfig(root);
  if (!stored) throw new InvalidArgumentError('dir', root, `an id3 dataset folder (with a ${CONFIG_FILE})`);
  compareConfig(root, stored, cfg);
}

/** What `DatasetWriter.open` found and repaired. */
export interface ResumeReport {
  /** Identities already complete (the writer continues at this index). */
  completed: number;
  /** Leftovers removed: staging folders, temporary files, identity folders without manifest lines. */
  removed: string[];
  /** Bytes cut from the end of the manifest (a partial line or an incomplete identity's lines). */
  manifestBytesDropped: number;
}

/**
 * Writes an ID³ dataset folder identity by identity, exactly once and resumably (see the module comment). Open with
 * `DatasetWriter.open(dir, config)`; write identities in order with `writeIdentity`; `nextIdentity` says where a
 * resumed run continues.
 */
export class DatasetWriter {
  readonly dir: string;
  readonly config: Readonly<StoredConfig>;
  /** What opening found and repaired. */
  readonly resume: ResumeReport;
  private next: number;
  private busy = false;

  private constructor(dir: string, config: StoredConfig, resume: ResumeReport) {
    this.dir = dir;
    this.config = config;
    this.resume = resume;
    this.next = resume.completed;
  }

  /** Index of the next identity to write (= identities complete so far). */
  get nextIdentity(): number {
    return this.next;
  }

  /** Whether all N identities are written. */
  get complete(): boolean {
    return this.next >= this.config.identities;
  }

  /**
   * Opens (creating if needed) a dataset folder. A new or empty folder gets `config.json`; a folder with a
   * `config.json` must have been made with the same configuration (else DatasetConfigMismatchError naming the field)
   * and is repaired for resuming; a non-empty folder without one is refused.
   */
  static async open(dir: string, config: DatasetConfig): Promise<DatasetWriter> {
    if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError('dir', dir, 'a non-empty string');
    const cfg = checkConfig(config);
    const root = nodePath.resolve(dir);
    try {
      await fsp.mkdir(root, { recursive: true });
    } catch (e) {
      throw ioError('create', root, e);
    }
    const stored = await readConfig(root);
    if (!stored) {
      const leftovers = (await fsp.readdir(root)).filter((f) => !(f.startsWith('.') && f.endsWith('.tmp')));
      if (leftovers.length > 0)
        throw new InvalidArgumentError(
          'dir',
          root,
          `an empty folder or an id3 dataset folder (with a ${CONFIG_FILE})`,
          `It holds ${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', …' : ''}`,
        );
      await writeFileAtomic(
        nodePath.join(root, CONFIG_FILE),
        new TextEncoder().encode(
          `${JSON.stringify({ format: DATASET_FORMAT, version: DATASET_VERSION, ...cfg }, null, 2)}\n`,
        ),
      );
      return new DatasetWriter(root, cfg, { completed: 0, removed: [], manifestBytesDropped: 0 });
    }
    compareConfig(root, stored, cfg);
    return new DatasetWriter(root, cfg, await repair(root, cfg));
  }

  /** Writes identity `nextIdentity`: stages its images and embeddings, renames its folder, then appends its lines. */
  async writeIdentity(record: IdentityRecord): Promise<void> {
    if (this.busy)
      throw new InvalidArgumentError('record', 'a call while another is running', 'one writeIdentity at a time');
    const { identities: n, perIdentity: m, embeddingDim: d } = this.config;
    if (this.next >= n)
      throw new InvalidArgumentError('record.identity', record?.identity, `nothing: all ${n} identities are written`);
    const rec = checkRecord(record, this.config, this.next);
    this.busy = true;
    try {
      const name = identityFolderName(rec.identity);
      const stage = nodePath.join(this.dir, `.${name}.partial`);
      await fsp.rm(stage, { recursive: true, force: true });
      await fsp.mkdir(stage);
      for (let j = 0; j < m; j++) await writeImage(nodePath.join(stage, imageFileName(j)), rec.images[j]);
      await writeNpy(nodePath.join(stage, EMBEDDINGS_FILE), tensor(rec.embeddings, [m, d]));
      await syncDir(stage);
      const final = nodePath.join(this.dir, name);
      await fsp.rm(final, { recursive: true, force: true }); // an uncommitted folder from an earlier run
      await fsp.rename(stage, final);
      await syncDir(this.dir);
      let lines = '';
      for (let j = 0; j < m; j++) {
        const a = rec.attributes;
        const entry: ManifestEntry = {
          identity: rec.identity,
          image: j,
          file: `${name}/${imageFileName(j)}`,
          anchor: rec.anchorIndex,
          cosine: rec.cosines[j],
          attributes: { age: a[j * 4], pitch: a[j * 4 + 1], yaw: a[j * 4 + 2], roll: a[j * 4 + 3] },
          seed: rec.seed,
          modelHash: this.config.modelHash,
        };
        lines += `${JSON.stringify(entry)}\n`;
      }
      const h = await fsp.open(nodePath.join(this.dir, MANIFEST_FILE), 'a');
      try {
        await h.writeFile(lines, 'utf8');
        await h.sync();
      } finally {
        await h.close();
      }
      this.next++;
    } catch (e) {
      throw ioError('write identity to', this.dir, e);
    } finally {
      this.busy = false;
    }
  }
}

interface CheckedRecord {
  identity: number;
  anchorIndex: number;
  images: Image[];
  embeddings: Float32Array;
  cosines: number[];
  attributes: number[];
  seed: number | string;
}

function checkRecord(record: IdentityRecord, cfg: StoredConfig, next: number): CheckedRecord {
  if (record === null || typeof record !== 'object')
    throw new InvalidArgumentError('record', record, 'an object { identity, images, embeddings, cosines, ... }');
  const { perIdentity: m, embeddingDim: d, width, height, channels } = cfg;
  if (record.identity !== next)
    throw new InvalidArgumentError('record.identity', record.identity, `the next identity, ${next}`);
  const anchorIndex = checkInt('record.anchorIndex', record.anchorIndex ?? record.identity, 0);
  if (!Array.isArray(record.images) || record.images.length !== m)
    throw new ShapeError(
      'record.images',
      Array.isArray(record.images) ? `${record.images.length} images` : record.images,
      `${m} images`,
    );
  const images = record.images.map((img, j) => {
    const im = checkImage(img, `record.images[${j}]`);
    if (im.width !== width || im.height !== height || im.channels !== channels)
      throw new ShapeError(
        `record.images[${j}]`,
        `${im.width}×${im.height}×${im.channels}`,
        `${width}×${height}×${channels} (width × height × channels)`,
      );
    return im;
  });
  const emb = toUnitRows('record.embeddings', record.embeddings, 1);
  if (emb.rows !== m || emb.cols !== d)
    throw new ShapeError('record.embeddings', `[${emb.rows}, ${emb.cols}]`, `[${m}, ${d}]`);
  const numbers = (param: string, x: ArrayLike<number>, len: number, lo: number, hi: number): number[] => {
    if (x === null || typeof x !== 'object' || typeof x.length !== 'number')
      throw new InvalidArgumentError(param, x, `an array of ${len} numbers`);
    if (x.length !== len) throw new ShapeError(param, `length ${x.length}`, `length ${len}`);
    const out: number[] = [];
    for (let k = 0; k < len; k++) {
      const v = x[k];
      if (typeof v !== 'number') throw new InvalidArgumentError(`${param}[${k}]`, v, 'a number');
      if (!Number.isFinite(v)) throw new NonFiniteError(param, k, v);
      out.push(checkNumber(`${param}[${k}]`, v, lo, hi));
    }
    return out;
  };
  const cosines = numbers('record.cosines', record.cosines, m, -1, 1);
  const attributes = numbers('record.attributes', record.attributes, m * ATTRIBUTE_NAMES.length, -Infinity, Infinity);
  const seed = checkSeed('record.seed', record.seed);
  return {
    identity: record.identity,
    anchorIndex,
    images,
    embeddings: emb.data,
    cosines,
    attributes,
    seed: typeof seed === 'bigint' ? seed.toString() : seed,
  };
}

/** Brings an existing dataset folder back to its last complete identity (see the module comment). */
async function repair(root: string, cfg: StoredConfig): Promise<ResumeReport> {
  const removed: string[] = [];
  const manifestPath = nodePath.join(root, MANIFEST_FILE);
  let text = '';
  try {
    text = await fsp.readFile(manifestPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('read', manifestPath, e);
  }
  const scan = scanManifest(text, cfg.perIdentity, manifestPath);
  let completed = scan.identities;
  if (completed > cfg.identities)
    throw new CorruptFileError(
      'id3 manifest',
      manifestPath,
      `it lists ${completed} identities, the config ${cfg.identities}`,
    );
  // every committed identity must have its folder with all its files
  for (let i = 0; i < completed; i++) {
    const folder = nodePath.join(root, identityFolderName(i));
    const files = [EMBEDDINGS_FILE, ...Array.from({ length: cfg.perIdentity }, (_, j) => imageFileName(j))];
    for (const f of files)
      if (!(await exists(nodePath.join(folder, f))))
        throw new CorruptFileError(
          'id3 dataset',
          root,
          `identity ${i} is in the manifest but ${identityFolderName(i)}/${f} is missing`,
        );
  }
  const totalBytes = Buffer.byteLength(text, 'utf8');
  const dropped = totalBytes - scan.bytes;
  if (dropped > 0) {
    await fsp.truncate(manifestPath, scan.bytes);
    const h = await fsp.open(manifestPath, 'r+');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }
  for (const name of await fsp.readdir(root)) {
    const full = nodePath.join(root, name);
    const stale =
      (name.startsWith('.') && (name.endsWith('.tmp') || name.endsWith('.partial'))) ||
      (/^\d{5,}$/.test(name) && Number(name) >= completed);
    if (stale) {
      await fsp.rm(full, { recursive: true, force: true });
      removed.push(name);
    }
  }
  // temporary files core-tensor's atomic writes may have left inside committed folders
  for (let i = 0; i < completed; i++) {
    const folder = nodePath.join(root, identityFolderName(i));
    for (const name of await fsp.readdir(folder))
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        await fsp.rm(nodePath.join(folder, name), { force: true });
        removed.push(`${identityFolderName(i)}/${name}`);
      }
  }
  if (removed.length > 0) await syncDir(root);
  completed = Math.min(completed, cfg.identities);
  return { completed, removed: removed.sort(), manifestBytesDropped: dropped };
}
