import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OpGraphs, Rng, UsageError, commonCliAnswer, encodeNpy, parseCliArgs, readNpz, tensor } from '../src/node';
import { linearSoftmaxModel } from './helpers';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'tv-cli-'));

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
});

test('diagnose --json reports devices', async () => {
  const r = await cli('diagnose', '--json');
  expect(r.code).toBe(0);
  const d = JSON.parse(r.stdout);
  expect(d.devices.find((c: { device: string }) => c.device === 'cpu').ok).toBe(true);
});

test('card drafts a card that inspect then verifies; a changed model is reported', async () => {
  const model = path.join(dir, 'linear.onnx');
  writeFileSync(model, linearSoftmaxModel().bytes);
  const c = await cli(
    'card',
    model,
    '--name',
    'linear',
    '--task',
    'classification',
    '--source',
    'test',
    '--license',
    'MIT',
  );
  expect(c.code).toBe(0);
  const card = JSON.parse(readFileSync(path.join(dir, 'linear.card.json'), 'utf8'));
  expect(card.inputs[0]).toEqual({ name: 'x', dtype: 'float32', shape: ['batch', 4] });
  const ok = await cli('inspect', model);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/x: float32 \[batch, 4\]/);
  expect(ok.stdout).toMatch(/card .*: matches/);
  const bytes = readFileSync(model);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(model, bytes);
  const bad = await cli('inspect', model, '--json');
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.stdout).card.ok).toBe(false);
});

test('knn writes the same neighbours as the API, and accepts float64 .npy', async () => {
  const rng = Rng.from(3);
  const q = rng.normalArray(30 * 6); // float64, as numpy saves by default
  const r = rng.normalFloat32(80 * 6, 0, 1);
  writeFileSync(path.join(dir, 'q.npy'), encodeNpy(tensor(q, [30, 6])));
  writeFileSync(path.join(dir, 'r.npy'), encodeNpy(tensor(r, [80, 6])));
  const out = path.join(dir, 'nn.npz');
  const res = await cli(
    'knn',
    '--queries',
    path.join(dir, 'q.npy'),
    '--refs',
    path.join(dir, 'r.npy'),
    '--out',
    out,
    '--k',
    '4',
    '--device',
    'cpu',
    '--json',
  );
  expect(res.code).toBe(0);
  expect(JSON.parse(res.stdout)).toMatchObject({ queries: 30, k: 4 });
  const got = await readNpz(out);
  const ops = await OpGraphs.create({ device: 'cpu' });
  const want = await ops.knn(tensor(Float32Array.from(q), [30, 6]), tensor(r, [80, 6]), { k: 4 });
  await ops.dispose();
  expect(Array.from(got.indices.data as Int32Array)).toEqual(Array.from(want.indices));
  expect(got.distances.shape).toEqual([30, 4]);
});

test('errors: usage (exit 2) and typed errors with their code (exit 1), no partial output', async () => {
  const u = await cli('knn', '--queries', 'x.npy');
  expect(u.code).toBe(2);
  expect(u.stderr).toMatch(/--out is required/);
  expect((await cli('frobnicate')).code).toBe(2);
  expect((await cli('knn', '--bogus')).stderr).toMatch(/Unknown option '--bogus'/);
  const out = path.join(dir, 'never.npz');
  const missing = await cli(
    'knn',
    '--queries',
    path.join(dir, 'nope.npy'),
    '--refs',
    path.join(dir, 'r.npy'),
    '--out',
    out,
  );
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/error \[E_FILE_NOT_FOUND\]/);
  const badK = await cli(
    'knn',
    '--queries',
    path.join(dir, 'q.npy'),
    '--refs',
    path.join(dir, 'r.npy'),
    '--out',
    out,
    '--k',
    '500',
  );
  expect(badK.stderr).toMatch(/error \[E_INVALID_ARGUMENT\]: 'k' must be an integer in \[1, 80\]/);
  const badDev = await cli(
    'knn',
    '--queries',
    path.join(dir, 'q.npy'),
    '--refs',
    path.join(dir, 'r.npy'),
    '--out',
    out,
    '--device',
    'tpu',
    '--k',
    '2',
  );
  expect(badDev.stderr).toMatch(/E_UNKNOWN_DEVICE/);
  expect(existsSync(out)).toBe(false);
});

test('commonCliAnswer: no arguments, --help / -h / help and --version are answered once for every CLI', () => {
  const script = path.resolve(__dirname, '../dist/esm/cli.js');
  expect(commonCliAnswer([], 'USAGE', script)).toEqual({ out: 'USAGE', code: 2 });
  for (const h of ['--help', '-h', 'help'])
    expect(commonCliAnswer([h, 'x'], 'USAGE', script)).toEqual({ out: 'USAGE', code: 0 });
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../package.json'), 'utf8'));
  expect(commonCliAnswer(['--version'], 'USAGE', script)).toEqual({ out: pkg.version, code: 0 });
  expect(commonCliAnswer(['knn', '--help'], 'USAGE', script)).toBeUndefined();
});

test('parseCliArgs: strict parsing with parse errors as UsageErrors', () => {
  const opts = { out: { type: 'string' }, json: { type: 'boolean' } } as const;
  expect(parseCliArgs(['--out', 'x', '--json', 'p'], opts, true)).toEqual({
    values: { out: 'x', json: true },
    positionals: ['p'],
  });
  for (const bad of [['--nope'], ['--out'], ['p']]) expect(() => parseCliArgs(bad, opts)).toThrow(UsageError);
});
