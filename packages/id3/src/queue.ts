/**
 * Generation across processes and machines (issue #9 capability 6): identity shards as BullMQ jobs on Redis.
 *
 * - The coordinator (`generateWithQueue`, `id3 generate --queue redis://…`) is the dataset folder's only writer. It
 *   opens the folder (repairing an interruption), computes the anchors, enqueues one job per shard that is neither
 *   committed nor already computed (job id `s<shard>`), and then commits shards strictly in order as their results
 *   appear, exactly as the single-process driver does.
 * - Workers (`runWorker`, `id3 worker --queue redis://…`) take jobs, open the models named in the job (once per
 *   process), attach to the folder read-only (GenerationPlan.attach: config checked, no repair), compute the shard
 *   and write it atomically to `DIR/.shards/<shard>.npz`. Workers on other machines need the dataset folder and the
 *   model files at the same paths (a shared file system).
 * - A worker that dies mid-job stops renewing its job lock; after `lockDurationMs` BullMQ's stalled-job check hands the
 *   job to another worker. Shards are pure functions of (seed, shard index), so the retry writes the same bytes.
 * - Redis that cannot be reached (at start, or for longer than `redisTimeoutMs` during the run) is a
 *   QueueUnavailableError. Nothing is lost: committed identities stay in the folder, finished shards in `.shards/`,
 *   and running the same command again resumes (missing jobs are enqueued again).
 *
 * bullmq (and its Redis client ioredis) is an optional peer dependency, loaded only here, on first use
 * (QueueDependencyError when it is not installed).
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { InvalidArgumentError, TrustVisionError, type Device } from '@trustvision/core-tensor';
import {
  checkDiskBeforeOpening,
  GenerationPlan,
  resolveGenerationConfig,
  type GenerationConfig,
  type GenerationProgress,
} from './generate.js';
import { Denoiser, FrGradient } from './model.js';
import { checkInt } from './validate.js';

/** bullmq is not installed. */
export class QueueDependencyError extends TrustVisionError {
  constructor(cause: unknown) {
    super(
      'E_RUNTIME_MISSING',
      "queue mode needs the optional packages 'bullmq' and 'ioredis': npm install bullmq ioredis",
      { param: 'queue', value: 'bullmq', expected: 'bullmq and ioredis installed', cause },
    );
  }
}

/** Redis could not be reached, or went away for too long. */
export class QueueUnavailableError extends TrustVisionError {
  constructor(url: string, what: string, cause?: unknown) {
    super(
      'E_IO',
      `Redis at ${redact(url)} ${what}. Nothing is lost: committed identities stay in the dataset folder and finished ` +
        'shards in its .shards/ folder; start Redis and run the same command again to resume',
      { param: 'queue', value: redact(url), expected: 'a reachable Redis server (redis://host:port[/db])', cause },
    );
  }
}

/** A shard job failed in a worker (every attempt). */
export class QueueJobError extends TrustVisionError {
  constructor(shard: number, reason: string) {
    super('E_IO', `shard ${shard} failed in the workers: ${reason}`, { param: 'shard', value: shard });
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/** ioredis options from a redis:// URL. */
export function parseRedisUrl(url: string): {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
} {
  if (typeof url !== 'string') throw new InvalidArgumentError('queue', url, 'a redis://host:port[/db] URL');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError('queue', url, 'a redis://host:port[/db] URL');
  }
  if (u.protocol !== 'redis:')
    throw new InvalidArgumentError('queue', url, 'a redis://host:port[/db] URL (protocol redis:)');
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw new InvalidArgumentError('queue', url, 'a redis:// URL whose path is a database number');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

type BullMQ = typeof import('bullmq');

async function loadBullmq(): Promise<BullMQ> {
  try {
    return (await import('bullmq')) as BullMQ;
  } catch (e) {
    throw new QueueDependencyError(e);
  }
}

/** What a job carries: everything a worker needs to compute the shard. */
export interface ShardJob {
  dir: string;
  shard: number;
  denoiser: string;
  frGrad?: string;
  config: GenerationConfig;
  device?: Device;
}

/** The queue name of a dataset folder and configuration (so several datasets can share one Redis). */
export function queueName(dir: string, datasetConfig: unknown): string {
  const h = createHash('sha256')
    .update(nodePath.resolve(dir))
    .update('\0')
    .update(JSON.stringify(datasetConfig))
    .digest('hex');
  return `id3-${h.slice(0, 16)}`;
}

async function timeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function connectionOptions(url: string, failFast: boolean): Record<string, unknown> {
  return {
    ...parseRedisUrl(url),
    maxRetriesPerRequest: null,
    enableOfflineQueue: !failFast,
    connectTimeout: 5000,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

const existsFile = async (p: string) =>
  fsp.stat(p).then(
    () => true,
    () => false,
  );

export interface QueueGenerateOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Paths of the model files (workers open them). */
  denoiserPath: string;
  frGradPath?: string;
  device?: Device;
  onProgress?: (p: GenerationProgress) => void;
  /** Called once the jobs are enqueued, with the queue name (start workers here). */
  onQueued?: (name: string, shards: number) => void;
  /** How long Redis may be unreachable before giving up (default 15 s). */
  redisTimeoutMs?: number;
  /** Polling interval for finished shards (default 250 ms). */
  pollMs?: number;
  /** Attempts per job (default 3). */
  attempts?: number;
  checkDisk?: boolean;
}

/**
 * Coordinates a queue run (see the module comment): enqueues the missing shards and commits their results in order.
 * Returns the number of identities this run wrote and the queue name.
 */
export async function generateWithQueue(
  dir: string,
  config: GenerationConfig,
  options: QueueGenerateOptions,
): Promise<{ written: number; queue: string }> {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('options', options, 'an object { url, denoiserPath }');
  const url = options.url;
  parseRedisUrl(url);
  const redisTimeoutMs = options.redisTimeoutMs ?? 15000;
  const pollMs = options.pollMs ?? 250;
  const bull = await loadBullmq();
  const denoiserPath = nodePath.resolve(options.denoiserPath);
  const frGradPath = options.frGradPath ? nodePath.resolve(options.frGradPath) : undefined;
  const denoiser = await Denoiser.create(denoiserPath, { device: options.device });
  const frGrad = frGradPath ? await FrGradient.create(frGradPath, { device: options.device }) : undefined;
  let queue: InstanceType<BullMQ['Queue']> | undefined;
  try {
    if (options.checkDisk !== false) await checkDiskBeforeOpening(dir, { denoiser, frGrad }, config);
    // Redis first: nothing is computed or written when it cannot be reached
    const name = queueName(
      nodePath.resolve(dir),
      GenerationPlan.datasetConfig({ denoiser, frGrad }, resolveGenerationConfig(config)),
    );
    let lastError: unknown;
    queue = new bull.Queue(name, { connection: connectionOptions(url, true) as never });
    queue.on('error', (e: unknown) => {
      lastError = e;
    });
    const q = queue;
    const guard = <T>(p: Promise<T>, what: string) =>
      timeout(p, redisTimeoutMs, () => new QueueUnavailableError(url, what, lastError)).catch((e) => {
        if (e instanceof QueueUnavailableError) throw e;
        if (isConnectionError(e)) throw new QueueUnavailableError(url, 'is not reachable', e);
        throw e;
      });
    await guard(q.waitUntilReady(), `could not be reached within ${redisTimeoutMs} ms`);
    const plan = await GenerationPlan.open(dir, { denoiser, frGrad }, config);
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
    const first = plan.writer.complete ? plan.shardCount : plan.shardOf(plan.writer.nextIdentity);
    const attempts = options.attempts ?? 3;
    const jobs = [];
    for (let s = first; s < plan.shardCount; s++) {
      if (await existsFile(plan.shardPath(s))) continue;
      const data: ShardJob = {
        dir: plan.dir,
        shard: s,
        denoiser: denoiserPath,
        frGrad: frGradPath,
        config,
        device: options.device,
      };
      jobs.push({
        name: 'shard',
        data,
        opts: {
          jobId: `s${s}`,
          attempts,
          backoff: { type: 'fixed', delay: 500 },
          removeOnComplete: true,
          removeOnFail: false,
        },
      });
    }
    for (const j of jobs) {
      // a job left failed by an earlier run is retried; a waiting or active one is kept
      const old = await guard(q.getJob(j.opts.jobId), 'went away');
      if (old && (await guard(old.getState(), 'went away')) === 'failed') await guard(old.retry('failed'), 'went away');
      else if (!old) await guard(q.add(j.name, j.data, j.opts), 'went away');
    }
    options.onQueued?.(name, plan.shardCount - first);
    for (let s = first; s < plan.shardCount; s++) {
      let records = await plan.loadShard(s);
      while (!records) {
        const job = await guard(q.getJob(`s${s}`), `went away while shard ${s} was pending`);
        if (job) {
          const state = await guard(job.getState(), `went away while shard ${s} was pending`);
          if (state === 'failed') throw new QueueJobError(s, job.failedReason ?? 'unknown');
        } else if (!(await existsFile(plan.shardPath(s)))) {
          // neither a job nor a result: Redis lost the job (restarted without persistence); enqueue it again
          await guard(
            q.add(
              'shard',
              {
                dir: plan.dir,
                shard: s,
                denoiser: denoiserPath,
                frGrad: frGradPath,
                config,
                device: options.device,
              } satisfies ShardJob,
              {
                jobId: `s${s}`,
                attempts,
                backoff: { type: 'fixed', delay: 500 },
                removeOnComplete: true,
                removeOnFail: false,
              },
            ),
            'went away',
          );
        }
        await new Promise((r) => setTimeout(r, pollMs));
        records = await plan.loadShard(s);
      }
      written += await plan.commit(records);
      await plan.removeShard(s);
      report();
    }
    await plan.cleanShards();
    return { written, queue: name };
  } finally {
    if (queue) {
      const q = queue;
      // close() waits for Redis; when it is gone, drop the connection instead
      await timeout(q.close(), 2000, () => new Error('close timed out')).catch(() => {
        try {
          void Promise.resolve(q.disconnect()).catch(() => undefined); // stops ioredis reconnecting; not awaited
        } catch {
          /* already closed */
        }
      });
    }
    await denoiser.dispose();
    await frGrad?.dispose();
  }
}

function isConnectionError(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? e);
  return /ECONNREFUSED|ECONNRESET|Connection is closed|Stream isn't writeable|enableOfflineQueue|ETIMEDOUT|EPIPE/i.test(
    msg,
  );
}

export interface WorkerOptions {
  url: string;
  /** Queue name (from the coordinator; `id3 generate` prints it). */
  queue: string;
  /** Job lock duration (default 30 s): how long a dead worker's job waits before it is retried. */
  lockDurationMs?: number;
  /** Stalled-job check interval (default lockDurationMs / 2). */
  stalledIntervalMs?: number;
  /** Called when a job starts and when it is done. */
  onJob?: (event: 'start' | 'done', job: ShardJob) => void;
  /** ONNX Runtime intra-op threads of this worker's sessions (default: ONNX Runtime's, all cores). */
  threads?: number;
  /** Called when Redis reports an error (connection lost…); the worker keeps retrying. */
  onError?: (e: unknown) => void;
}

/** A running worker; `close()` stops it after the current job. */
export interface RunningWorker {
  close(): Promise<void>;
  /** Resolves when the worker has closed. */
  closed: Promise<void>;
}

/** Starts a worker in this process (see the module comment). */
export async function runWorker(options: WorkerOptions): Promise<RunningWorker> {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('options', options, 'an object { url, queue }');
  parseRedisUrl(options.url);
  if (typeof options.queue !== 'string' || !/^id3-[0-9a-f]{16}$/.test(options.queue))
    throw new InvalidArgumentError(
      'queue name',
      options.queue,
      "a name such as 'id3-0123456789abcdef' (printed by id3 generate)",
    );
  const bull = await loadBullmq();
  const lockDuration = options.lockDurationMs ?? 30000;
  const threads = options.threads === undefined ? undefined : checkInt('threads', options.threads, 1, 1024);
  const plans = new Map<string, Promise<GenerationPlan>>();
  const planFor = (job: ShardJob) => {
    const key = JSON.stringify([job.dir, job.denoiser, job.frGrad ?? null, job.config, job.device ?? 'auto']);
    let p = plans.get(key);
    if (!p) {
      p = (async () => {
        const so = threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : undefined;
        const denoiser = await Denoiser.create(job.denoiser, { device: job.device, sessionOptions: so });
        const frGrad = job.frGrad
          ? await FrGradient.create(job.frGrad, { device: job.device, sessionOptions: so })
          : undefined;
        return GenerationPlan.attach(job.dir, { denoiser, frGrad }, job.config);
      })();
      p.catch(() => plans.delete(key));
      plans.set(key, p);
    }
    return p;
  };
  const worker = new bull.Worker(
    options.queue,
    async (job: { data: ShardJob }) => {
      const data = job.data;
      options.onJob?.('start', data);
      const plan = await planFor(data);
      if (!(await existsFile(plan.shardPath(data.shard)))) {
        const records = await plan.computeShard(data.shard);
        await plan.saveShard(data.shard, records);
      }
      options.onJob?.('done', data);
      return { shard: data.shard };
    },
    {
      connection: connectionOptions(options.url, false) as never,
      concurrency: 1,
      lockDuration,
      stalledInterval: options.stalledIntervalMs ?? Math.max(500, Math.floor(lockDuration / 2)),
      maxStalledCount: 5,
    },
  );
  worker.on('error', (e: unknown) => options.onError?.(e));
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  worker.on('closed', () => resolveClosed());
  return {
    close: async () => {
      await worker.close();
      for (const p of plans.values()) {
        const plan = await p.catch(() => undefined);
        await plan?.models.denoiser.dispose();
        await plan?.models.frGrad?.dispose();
      }
      resolveClosed();
    },
    closed,
  };
}
