/**
 * Queue mode on a real redis-server (started here on a free port in a temporary folder): two worker processes
 * (dist/esm/cli.js worker), one killed with SIGKILL in the middle of a shard, whose job the other worker takes over;
 * the dataset is byte-identical to a single-process run. Redis that is down at the start or killed mid-run is a
 * QueueUnavailableError; a second run on a fresh Redis resumes and ends byte-identical too.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expectRejects } from '@trustvision/jest-preset/expect-errors';
import {
  Denoiser,
  FrGradient,
  QueueUnavailableError,
  generateDataset,
  generateWithQueue,
  type GenerationConfig,
} from '../src/index.js';
import { denoiserBytes, expectSameTree, frGradBytes } from './helpers.js';

const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const REDIS =
  ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ??
  (spawnSync('sh', ['-c', 'command -v redis-server']).stdout?.toString().trim() || undefined);
const dir = mkdtempSync(path.join(os.tmpdir(), 'id3-queue-'));
const DEN = path.join(dir, 'den.onnx');
const FRG = path.join(dir, 'frg.onnx');
const children: ChildProcess[] = [];

const CONFIG: GenerationConfig = {
  identities: 6,
  perIdentity: 2,
  seed: 7,
  sampler: 'ddim',
  steps: 100,
  batchSize: 4,
  shardSize: 2,
  anchorIterations: 3,
  guidanceScale: 10,
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

async function startRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const data = mkdtempSync(path.join(dir, 'redis-'));
  const proc = spawn(
    REDIS!,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', data],
    {
      stdio: 'ignore',
    },
  );
  children.push(proc);
  for (let k = 0; k < 100; k++) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        r(true);
      });
      c.on('error', () => r(false));
    });
    if (ok) return { url: `redis://127.0.0.1:${port}`, proc };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

interface Worker {
  proc: ChildProcess;
  log: string[];
}

function startWorker(url: string, name: string, onLine?: (line: string, w: Worker) => void): Worker {
  const proc = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--name', name, '--lock-ms', '1500'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  children.push(proc);
  const w: Worker = { proc, log: [] };
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      w.log.push(line);
      onLine?.(line, w);
    }
  });
  return w;
}

const stopAll = (ws: Worker[]) =>
  ws.forEach((w) => w.proc.exitCode === null && w.proc.signalCode === null && w.proc.kill('SIGTERM'));

let reference = '';

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
  writeFileSync(DEN, denoiserBytes());
  writeFileSync(FRG, frGradBytes());
  if (!REDIS) return;
  // the single-process reference
  reference = path.join(dir, 'single');
  const denoiser = await Denoiser.create(DEN, { device: 'cpu' });
  const frGrad = await FrGradient.create(FRG, { device: 'cpu' });
  await generateDataset(reference, { denoiser, frGrad }, CONFIG);
  await denoiser.dispose();
  await frGrad.dispose();
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const maybe = REDIS ? describe : describe.skip;
if (!REDIS)
  console.warn('id3 queue tests SKIPPED: no redis-server binary (apt-get install redis-server); CI installs it');

maybe('generate --queue (BullMQ on redis-server)', () => {
  test('two workers, one killed mid-shard: its job is retried and the dataset is byte-identical', async () => {
    const { url } = await startRedis();
    const out = path.join(dir, 'queued');
    const workers: Worker[] = [];
    let killed: { shard: number; pid: number } | undefined;
    try {
      await generateWithQueue(out, CONFIG, {
        url,
        denoiserPath: DEN,
        frGradPath: FRG,
        device: 'cpu',
        onQueued: (name) => {
          for (let k = 0; k < 2; k++)
            workers.push(
              startWorker(url, name, (line, w) => {
                const m = /took shard (\d+)/.exec(line);
                if (m && !killed) {
                  killed = { shard: Number(m[1]), pid: w.proc.pid! };
                  w.proc.kill('SIGKILL');
                }
              }),
            );
        },
      });
    } finally {
      stopAll(workers);
    }
    expect(killed).toBeDefined();
    const survivor = workers.find((w) => w.proc.pid !== killed!.pid)!;
    // the killed worker's shard was taken (again) and finished by the other worker
    expect(survivor.log.some((l) => l.includes(`took shard ${killed!.shard}`))).toBe(true);
    expect(survivor.log.some((l) => l.includes(`finished shard ${killed!.shard}`))).toBe(true);
    expect(existsSync(path.join(out, '.shards'))).toBe(false);
    expectSameTree(reference, out);
  }, 120_000);

  test('Redis down at the start: QueueUnavailableError before anything is written', async () => {
    const port = await freePort();
    const out = path.join(dir, 'down');
    const e = await expectRejects(
      generateWithQueue(out, CONFIG, {
        url: `redis://127.0.0.1:${port}`,
        denoiserPath: DEN,
        frGradPath: FRG,
        device: 'cpu',
        redisTimeoutMs: 1500,
      }),
      QueueUnavailableError,
      'E_IO',
      'queue',
    );
    expect(e.message).toMatch(/run the same command again to resume/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  test('Redis killed mid-run: a clear error, then a run on a fresh Redis resumes to the same bytes', async () => {
    const first = await startRedis();
    const out = path.join(dir, 'resumed');
    const workers: Worker[] = [];
    try {
      await expectRejects(
        generateWithQueue(out, CONFIG, {
          url: first.url,
          denoiserPath: DEN,
          frGradPath: FRG,
          device: 'cpu',
          redisTimeoutMs: 2000,
          // Redis dies once shard 0 is computed: the worker can finish at most the shard it holds, so a later shard
          // needs Redis
          onQueued: (name) =>
            workers.push(
              startWorker(first.url, name, (line) => {
                if (line.includes('finished shard 0')) first.proc.kill('SIGKILL');
              }),
            ),
        }),
        QueueUnavailableError,
        'E_IO',
        'queue',
      );
    } finally {
      stopAll(workers);
    }
    const second = await startRedis();
    const workers2: Worker[] = [];
    try {
      const res = await generateWithQueue(out, CONFIG, {
        url: second.url,
        denoiserPath: DEN,
        frGradPath: FRG,
        device: 'cpu',
        onQueued: (name) => workers2.push(startWorker(second.url, name)),
      });
      expect(res.written).toBeLessThan(CONFIG.identities);
    } finally {
      stopAll(workers2);
    }
    expectSameTree(reference, out);
  }, 120_000);
});
