/**
 * Dataset generation (spec `id3.md` §2.6, Algorithm 3 reconstructed): anchors → per-identity embeddings at a cosine
 * in [lb, ub] → attributes → ID-preserving sampling → the dataset writer.
 *
 * Determinism: everything an identity gets derives from the dataset seed and its index — its embeddings
 * (`Rng.from(seed).split('id3-embeddings', i)`), attributes (`split('id3-attributes', i)`) and the noise of image j
 * (`split('id3-sample', i, j)`). Identities are processed in fixed shards of `shardSize` consecutive identities, and
 * the images of a shard in fixed batches of `batchSize` (identity-major), whoever computes the shard; so one process,
 * a resumed run and many queue workers (queue.ts) run identical ONNX batches and write byte-identical datasets (same
 * device and ONNX Runtime build assumed).
 *
 * Files in the dataset folder besides the writer's (dataset.ts): `anchors.npy` float32 [N, d] (computed once, before
 * any identity, and reused on resume) and, in queue mode, `.shards/<shard>.npz` results waiting to be committed.
 */
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import {
  InvalidArgumentError,
  Rng,
  TrustVisionError,
  readNpy,
  readNpz,
  tensor,
  writeNpy,
  writeNpz,
  type Image,
} from '@trustvision/core-tensor';
import { optimizeAnchors, randomAnchors } from './anchors.js';
import { encodeAttributes, identityAttributes, type AttributeConfig } from './attributes.js';
import {
  DatasetWriter,
  checkDatasetFolder,
  readDatasetManifest,
  type DatasetConfig,
  type IdentityRecord,
} from './dataset.js';
import { identityEmbeddings } from './embeddings.js';
import type { Denoiser, FrGradient } from './model.js';
import { sample, toPixels, resolveSampleOptions, type SamplerKind } from './sampler.js';
import { samplingSteps } from './schedule.js';
import { checkInt, checkNumber, checkSeed } from './validate.js';

export interface GenerationConfig {
  /** N identities and m images each. */
  identities: number;
  perIdentity: number;
  /** Dataset seed (default 0). */
  seed?: number | string;
  /** Cosine bounds of the identity embeddings to their anchor (default [0.5, 0.7]). */
  lb?: number;
  ub?: number;
  /** 'tammes' (optimised, default) or 'random' anchors; steps of the optimiser (default 60). */
  anchors?: 'tammes' | 'random';
  anchorIterations?: number;
  /** Attribute distributions (attributes.ts; default uniform over the valid ranges). */
  attributes?: AttributeConfig;
  sampler?: SamplerKind;
  /** Sampling steps S (default T). */
  steps?: number;
  eta?: number;
  variance?: 'posterior' | 'beta';
  clipX0?: boolean;
  /** Guidance scale γ (default 1; used with an FR-gradient graph or a guided denoiser). */
  guidanceScale?: number;
  guidanceWeight?: 'id3' | 'constant';
  /** Images per ONNX run (default 16). */
  batchSize?: number;
  /** Identities per shard (the unit of work and of queue jobs; default max(1, ⌊batchSize / m⌋)). */
  shardSize?: number;
}

export interface GenerationModels {
  denoiser: Denoiser;
  /** The FR-gradient graph for 'fr-grad' guidance (H1, Jacobian-free); omit for H2 or a guided denoiser. */
  frGrad?: FrGradient;
}

export interface GenerationProgress {
  identitiesDone: number;
  identities: number;
  /** Seconds since this run started, and identities this run has written. */
  seconds: number;
  writtenThisRun: number;
}

type Resolved = Required<Omit<GenerationConfig, 'attributes'>> & { attributes: AttributeConfig };

const SHARDS_DIR = '.shards';
const ANCHORS_FILE = 'anchors.npy';

/** Fills the defaults and checks the configuration. */
export function resolveGenerationConfig(config: GenerationConfig): Resolved {
  if (config === null || typeof config !== 'object')
    throw new InvalidArgumentError('config', config, 'an object { identities, perIdentity, ... }');
  const identities = checkInt('identities', config.identities, 1);
  const perIdentity = checkInt('perIdentity', config.perIdentity, 1, 999);
  const seed = checkSeed('seed', config.seed ?? 0);
  if (typeof seed === 'bigint') throw new InvalidArgumentError('seed', seed, 'a safe integer or a string');
  const lb = checkNumber('lb', config.lb ?? 0.5, -1, 1);
  const ub = checkNumber('ub', config.ub ?? 0.7, -1, 1);
  if (lb > ub) throw new InvalidArgumentError('ub', ub, `a number in [lb, 1] = [${lb}, 1]`);
  const anchors = config.anchors ?? 'tammes';
  if (anchors !== 'tammes' && anchors !== 'random')
    throw new InvalidArgumentError('anchors', anchors, "'tammes' or 'random'");
  const batchSize = checkInt('batchSize', config.batchSize ?? 16, 1, 4096);
  return {
    identities,
    perIdentity,
    seed,
    lb,
    ub,
    anchors,
    anchorIterations: checkInt('anchorIterations', config.anchorIterations ?? 60, 0),
    attributes: config.attributes ?? {},
    sampler: config.sampler ?? 'ddpm',
    steps: config.steps ?? 0, // 0: the denoiser's T (resolved against the model)
    eta: checkNumber('eta', config.eta ?? 0, 0, 1),
    variance: config.variance ?? 'posterior',
    clipX0: !!config.clipX0,
    guidanceScale: checkNumber('guidanceScale', config.guidanceScale ?? 1, 0, 1e6),
    guidanceWeight: config.guidanceWeight ?? 'id3',
    batchSize,
    shardSize: checkInt('shardSize', config.shardSize ?? Math.max(1, Math.floor(batchSize / perIdentity)), 1),
  };
}

/** A prepared generation: the dataset folder's writer, the anchors and the models; computes shards. */
export class GenerationPlan {
  readonly dir: string;
  readonly config: Resolved;
  readonly models: GenerationModels;
  readonly anchors: Float32Array;
  private readonly _writer: DatasetWriter | undefined;
  readonly datasetConfig: DatasetConfig;

  private constructor(
    dir: string,
    config: Resolved,
    models: GenerationModels,
    anchors: Float32Array,
    writer: DatasetWriter | undefined,
    dc: DatasetConfig,
  ) {
    this.dir = dir;
    this.config = config;
    this.models = models;
    this.anchors = anchors;
    this._writer = writer;
    this.datasetConfig = dc;
  }

  /** The dataset writer (only a plan from `open` has one; a worker's plan from `attach` does not). */
  get writer(): DatasetWriter {
    if (!this._writer)
      throw new InvalidArgumentError(
        'plan',
        'a plan attached by a worker',
        "a plan from GenerationPlan.open (the folder's one writer)",
      );
    return this._writer;
  }

  /**
   * A read-only plan for a queue worker: checks the folder's config.json against this configuration (no repair, no
   * writes) and reads its anchors.npy; it can compute and save shards but not commit them.
   */
  static async attach(dir: string, models: GenerationModels, config: GenerationConfig): Promise<GenerationPlan> {
    const cfg = resolveGenerationConfig(config);
    const dc = GenerationPlan.datasetConfig(models, cfg);
    await checkDatasetFolder(dir, dc);
    const root = nodePath.resolve(dir);
    const t = await readNpy(nodePath.join(root, ANCHORS_FILE));
    if (t.dtype !== 'float32' || t.shape[0] !== cfg.identities || t.shape[1] !== dc.embeddingDim)
      throw new TrustVisionError(
        'E_CORRUPT_FILE',
        `${root}/${ANCHORS_FILE} is not float32 [${cfg.identities}, ${dc.embeddingDim}]`,
        { param: 'anchors', value: root },
      );
    return new GenerationPlan(root, cfg, models, t.data as Float32Array, undefined, dc);
  }

  /** The dataset configuration a generation writes into `config.json` (compared on resume). */
  static datasetConfig(models: GenerationModels, cfg: Resolved): DatasetConfig {
    const d = models.denoiser;
    const c = d.contract;
    if (c.channels !== 1 && c.channels !== 3 && c.channels !== 4)
      throw new InvalidArgumentError('denoiser channels', c.channels, '1, 3 or 4 (images are written as PNG)');
    const o = resolveSampleOptions(d, {
      sampler: cfg.sampler,
      steps: cfg.steps || c.T,
      eta: cfg.eta,
      variance: cfg.variance,
      clipX0: cfg.clipX0,
      guidance: { frGrad: models.frGrad, scale: cfg.guidanceScale, weight: cfg.guidanceWeight },
    });
    return {
      identities: cfg.identities,
      perIdentity: cfg.perIdentity,
      width: c.width,
      height: c.height,
      channels: c.channels as 1 | 3 | 4,
      embeddingDim: c.embeddingDim,
      seed: cfg.seed,
      modelHash: `sha256:${d.sha256}`,
      extra: {
        lb: cfg.lb,
        ub: cfg.ub,
        anchors: cfg.anchors,
        anchorIterations: cfg.anchors === 'tammes' ? cfg.anchorIterations : 0,
        attributes: JSON.parse(JSON.stringify(cfg.attributes)) as unknown,
        sampler: o.sampler,
        steps: o.steps,
        eta: o.sampler === 'ddim' ? o.eta : 0,
        variance: o.sampler === 'ddpm' ? o.variance : 'n/a',
        clipX0: o.clipX0,
        guidance: o.mode,
        guidanceScale: o.mode === 'none' ? 0 : o.scale,
        guidanceWeight: o.mode === 'none' ? 'n/a' : cfg.guidanceWeight,
        frGradHash: models.frGrad ? `sha256:${models.frGrad.sha256}` : null,
        schedule: { kind: c.schedule, T: c.T, betaStart: c.betaStart, betaEnd: c.betaEnd, t: c.tConvention },
        batchSize: cfg.batchSize,
        shardSize: cfg.shardSize,
      },
    };
  }

  /**
   * Opens (or resumes) the dataset folder: checks the configuration against `config.json` (DatasetConfigMismatchError
   * when it was made with another one), repairs an interruption, and computes or reads the anchors.
   */
  static async open(
    dir: string,
    models: GenerationModels,
    config: GenerationConfig,
    options: { device?: 'auto' | 'cpu' } = {},
  ): Promise<GenerationPlan> {
    const cfg = resolveGenerationConfig(config);
    if (models === null || typeof models !== 'object' || !models.denoiser)
      throw new InvalidArgumentError('models', models, 'an object { denoiser, frGrad? }');
    const dc = GenerationPlan.datasetConfig(models, cfg);
    const writer = await DatasetWriter.open(dir, dc);
    const anchors = await ensureAnchors(writer.dir, cfg, dc.embeddingDim, options.device ?? 'cpu');
    return new GenerationPlan(writer.dir, cfg, models, anchors, writer, dc);
  }

  get shardCount(): number {
    return Math.ceil(this.config.identities / this.config.shardSize);
  }

  /** Identities [start, end) of shard s. */
  shardRange(s: number): [number, number] {
    const k = this.config.shardSize;
    return [s * k, Math.min(this.config.identities, (s + 1) * k)];
  }

  /** The shard holding identity i. */
  shardOf(i: number): number {
    return Math.floor(i / this.config.shardSize);
  }

  /** Computes every identity of shard s (see the module comment). `onBatch` is called after each ONNX batch. */
  async computeShard(s: number, onBatch?: (imagesDone: number, images: number) => void): Promise<IdentityRecord[]> {
    checkInt('shard', s, 0, this.shardCount - 1);
    const { perIdentity: m, seed, lb, ub, batchSize } = this.config;
    const den = this.models.denoiser;
    const c = den.contract;
    const d = c.embeddingDim;
    const [start, end] = this.shardRange(s);
    const ids = end - start;
    const total = ids * m;
    const emb = new Float32Array(total * d);
    const cos: number[] = [];
    const raw = new Float64Array(total * 4);
    for (let i = start; i < end; i++) {
      const e = identityEmbeddings(this.anchors.subarray(i * d, (i + 1) * d), i, { perIdentity: m, lb, ub, seed });
      emb.set(e.embeddings, (i - start) * m * d);
      cos.push(...e.cosines);
      raw.set(identityAttributes(i, m, { distributions: this.config.attributes, seed }), (i - start) * m * 4);
    }
    const enc = encodeAttributes(raw);
    const root = Rng.from(seed);
    const n = den.imageSize;
    const pixels: Uint8Array[] = new Array(total);
    const ks = samplingSteps(c.T, this.config.steps || c.T);
    for (let b0 = 0; b0 < total; b0 += batchSize) {
      const b1 = Math.min(total, b0 + batchSize);
      const rngs: Rng[] = [];
      for (let q = b0; q < b1; q++) rngs.push(root.split('id3-sample', start + Math.floor(q / m), q % m));
      const res = await sample(
        den,
        { embeddings: emb.slice(b0 * d, b1 * d), attributes: enc.slice(b0 * c.attributes, b1 * c.attributes), rngs },
        {
          sampler: this.config.sampler,
          steps: ks.length,
          eta: this.config.eta,
          variance: this.config.variance,
          clipX0: this.config.clipX0,
          guidance: {
            frGrad: this.models.frGrad,
            scale: this.config.guidanceScale,
            weight: this.config.guidanceWeight,
          },
        },
      );
      for (let q = b0; q < b1; q++) pixels[q] = toPixels(res.images, (q - b0) * n, c.channels, c.height, c.width);
      onBatch?.(b1, total);
    }
    const records: IdentityRecord[] = [];
    for (let i = start; i < end; i++) {
      const r = i - start;
      const images: Image[] = [];
      for (let j = 0; j < m; j++)
        images.push({ width: c.width, height: c.height, channels: c.channels as 1 | 3 | 4, data: pixels[r * m + j] });
      records.push({
        identity: i,
        anchorIndex: i,
        images,
        embeddings: { data: emb.slice(r * m * d, (r + 1) * m * d), shape: [m, d] },
        cosines: cos.slice(r * m, (r + 1) * m),
        attributes: Array.from(raw.subarray(r * m * 4, (r + 1) * m * 4)),
        seed: `${seed}/${i}`,
      });
    }
    return records;
  }

  /** Writes a shard's records (those not yet written) through the dataset writer, in order. */
  async commit(records: readonly IdentityRecord[]): Promise<number> {
    let wrote = 0;
    for (const r of records) {
      if (r.identity < this.writer.nextIdentity) continue;
      await this.writer.writeIdentity(r);
      wrote++;
    }
    return wrote;
  }

  // --- shard files (queue mode) ---

  shardPath(s: number): string {
    return nodePath.join(this.dir, SHARDS_DIR, `${String(s).padStart(6, '0')}.npz`);
  }

  /** Writes a computed shard as `.shards/<s>.npz` (atomically). */
  async saveShard(s: number, records: readonly IdentityRecord[]): Promise<void> {
    const c = this.models.denoiser.contract;
    const m = this.config.perIdentity;
    const d = c.embeddingDim;
    const k = records.length;
    const px = c.width * c.height * c.channels;
    const images = new Uint8Array(k * m * px);
    const emb = new Float32Array(k * m * d);
    const cos = new Float64Array(k * m);
    const attrs = new Float64Array(k * m * 4);
    const ids = new Int32Array(k);
    records.forEach((r, a) => {
      ids[a] = r.identity;
      r.images.forEach((im, j) => images.set(im.data, (a * m + j) * px));
      emb.set((r.embeddings as { data: Float32Array }).data, a * m * d);
      cos.set(Array.from(r.cosines), a * m);
      attrs.set(Array.from(r.attributes), a * m * 4);
    });
    await fsp.mkdir(nodePath.join(this.dir, SHARDS_DIR), { recursive: true });
    await writeNpz(this.shardPath(s), {
      identities: tensor(ids, [k]),
      images: tensor(images, [k, m, c.height, c.width, c.channels]),
      embeddings: tensor(emb, [k, m, d]),
      cosines: tensor(cos, [k, m]),
      attributes: tensor(attrs, [k, m, 4]),
    });
  }

  /** Reads `.shards/<s>.npz` back as records, or undefined when it is not there. */
  async loadShard(s: number): Promise<IdentityRecord[] | undefined> {
    const path = this.shardPath(s);
    let z: Awaited<ReturnType<typeof readNpz>>;
    try {
      z = await readNpz(path);
    } catch (e) {
      if (e instanceof TrustVisionError && e.code === 'E_FILE_NOT_FOUND') return undefined;
      throw e;
    }
    const c = this.models.denoiser.contract;
    const m = this.config.perIdentity;
    const d = c.embeddingDim;
    const px = c.width * c.height * c.channels;
    const ids = z.identities.data as Int32Array;
    const [start, end] = this.shardRange(s);
    if (ids.length !== end - start || ids[0] !== start)
      throw new TrustVisionError('E_CORRUPT_FILE', `${path} does not hold identities ${start}..${end - 1}`, {
        param: 'shard',
        value: s,
      });
    const images = z.images.data as Uint8Array;
    const emb = z.embeddings.data as Float32Array;
    const cos = z.cosines.data as Float64Array;
    const attrs = z.attributes.data as Float64Array;
    return Array.from(ids, (i, a) => ({
      identity: i,
      anchorIndex: i,
      images: Array.from({ length: m }, (_, j) => ({
        width: c.width,
        height: c.height,
        channels: c.channels as 1 | 3 | 4,
        data: images.slice((a * m + j) * px, (a * m + j + 1) * px),
      })),
      embeddings: { data: emb.slice(a * m * d, (a + 1) * m * d), shape: [m, d] },
      cosines: Array.from(cos.subarray(a * m, (a + 1) * m)),
      attributes: Array.from(attrs.subarray(a * m * 4, (a + 1) * m * 4)),
      seed: `${this.config.seed}/${i}`,
    }));
  }

  async removeShard(s: number): Promise<void> {
    await fsp.rm(this.shardPath(s), { force: true });
  }

  /** Removes the shard folder once the dataset is complete. */
  async cleanShards(): Promise<void> {
    await fsp.rm(nodePath.join(this.dir, SHARDS_DIR), { recursive: true, force: true });
  }
}

async function ensureAnchors(dir: string, cfg: Resolved, d: number, device: 'auto' | 'cpu'): Promise<Float32Array> {
  const path = nodePath.join(dir, ANCHORS_FILE);
  try {
    const t = await readNpy(path);
    if (t.dtype !== 'float32' || t.shape.length !== 2 || t.shape[0] !== cfg.identities || t.shape[1] !== d)
      throw new TrustVisionError('E_CORRUPT_FILE', `${path} is not float32 [${cfg.identities}, ${d}]`, {
        param: 'anchors',
        value: path,
      });
    return t.data as Float32Array;
  } catch (e) {
    if (!(e instanceof TrustVisionError && e.code === 'E_FILE_NOT_FOUND')) throw e;
  }
  let a: Float32Array;
  if (cfg.anchors === 'random' || cfg.identities < 2 || cfg.anchorIterations === 0)
    a = randomAnchors(cfg.identities, d, cfg.seed);
  else
    a = (await optimizeAnchors({ n: cfg.identities, dim: d, seed: cfg.seed, iterations: cfg.anchorIterations, device }))
      .anchors;
  await writeNpy(path, tensor(a, [cfg.identities, d]));
  return a;
}

/** Estimated bytes one image costs on disk (PNG upper bound + its embedding row + its manifest line). */
export function estimateImageBytes(width: number, height: number, channels: number, embeddingDim: number): number {
  const png = height * (width * channels + 1) * 1.01 + 128; // stored deflate blocks at worst, plus chunks
  return Math.ceil(png + embeddingDim * 4 + 320);
}

/** Thrown when the dataset would not fit on the disk. */
export class InsufficientDiskSpaceError extends TrustVisionError {
  readonly needed: number;
  readonly available: number;
  constructor(dir: string, needed: number, available: number, identities: number, perIdentity: number) {
    super(
      'E_IO',
      `${identities} identities × ${perIdentity} images need about ${fmtBytes(needed)} in ${dir}, but only ` +
        `${fmtBytes(available)} are free. Free some space, write elsewhere, or generate fewer identities`,
      {
        param: 'identities',
        value: identities,
        expected: `at most about ${Math.floor((identities * available) / Math.max(1, needed))} identities for the free space`,
      },
    );
    this.needed = needed;
    this.available = available;
  }
}

function fmtBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Checks that the identities still to write fit on the disk holding `dir` (statfs; 10 % margin). `available` can be
 * given (tests); otherwise it is the file system's free space for unprivileged users.
 */
export async function checkDiskSpace(
  dir: string,
  needed: {
    identities: number;
    perIdentity: number;
    width: number;
    height: number;
    channels: number;
    embeddingDim: number;
    remaining?: number;
  },
  available?: number,
): Promise<{ needed: number; available: number }> {
  const remaining = needed.remaining ?? needed.identities;
  const bytes = Math.ceil(
    remaining *
      needed.perIdentity *
      estimateImageBytes(needed.width, needed.height, needed.channels, needed.embeddingDim) *
      1.1,
  );
  let free = available;
  if (free === undefined) {
    let probe = nodePath.resolve(dir);
    for (;;) {
      try {
        const st = await fsp.statfs(probe);
        free = Number(st.bavail) * Number(st.bsize);
        break;
      } catch (e) {
        const parent = nodePath.dirname(probe);
        if (parent === probe) throw e;
        probe = parent;
      }
    }
  }
  if (bytes > free) throw new InsufficientDiskSpaceError(dir, bytes, free, needed.identities, needed.perIdentity);
  return { needed: bytes, available: free };
}

/** Identities complete in a dataset folder (0 when it is new or not a dataset folder). */
async function completedIdentities(dir: string): Promise<number> {
  try {
    const e = await readDatasetManifest(dir);
    return e.length ? e[e.length - 1].identity + 1 : 0;
  } catch {
    return 0;
  }
}

/** The disk check, before anything is computed or written (see checkDiskSpace). */
export async function checkDiskBeforeOpening(
  dir: string,
  models: GenerationModels,
  config: GenerationConfig,
): Promise<void> {
  const dc = GenerationPlan.datasetConfig(models, resolveGenerationConfig(config));
  await checkDiskSpace(dir, { ...dc, remaining: dc.identities - (await completedIdentities(dir)) });
}

/**
 * Generates a dataset in this process (resuming a folder made with the same configuration). Returns the number of
 * identities written by this call.
 */
export async function generateDataset(
  dir: string,
  models: GenerationModels,
  config: GenerationConfig,
  options: {
    onProgress?: (p: GenerationProgress) => void;
    onBatch?: (imagesDone: number, images: number) => void;
    checkDisk?: boolean;
  } = {},
): Promise<{ written: number; plan: GenerationPlan }> {
  if (options.checkDisk !== false) await checkDiskBeforeOpening(dir, models, config);
  const plan = await GenerationPlan.open(dir, models, config);
  const dc = plan.datasetConfig;
  const t0 = Date.now();
  let written = 0;
  const report = () =>
    options.onProgress?.({
      identitiesDone: plan.writer.nextIdentity,
      identities: dc.identities,
      seconds: (Date.now() - t0) / 1000,
      writtenThisRun: written,
    });
  report();
  for (
    let s = plan.writer.complete ? plan.shardCount : plan.shardOf(plan.writer.nextIdentity);
    s < plan.shardCount;
    s++
  ) {
    const records = await plan.computeShard(s, options.onBatch);
    written += await plan.commit(records);
    report();
  }
  return { written, plan };
}
