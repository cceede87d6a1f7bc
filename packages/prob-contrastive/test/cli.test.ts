/**
 * The CLI end to end (built dist/esm/cli.js) on .npz files written like numpy's: `loss` (text, --json, --grad) against
 * the API, `train` writing a head ONNX that ONNX Runtime runs, `score` on PNG files through the stand-in encoder (found
 * by name in TRUSTVISION_MODELS, as `npm run models` leaves it), and the exit codes 0 / 1 (typed error) / 2 (usage).
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Rng, createSession, encodeNpz, encodePng, parseNpz, tensor } from '@trustvision/core-tensor';
import { contrastiveLoss, ProbContrastive } from '../src/index.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const MODELS = path.resolve(__dirname, '../../../models');
const dir = mkdtempSync(path.join(os.tmpdir(), 'prob-contrastive-cli-'));
const modelsDir = path.join(dir, 'models');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, NODE_OPTIONS: '', TRUSTVISION_MODELS: modelsDir },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const N = 10;
const D = 6;
const rng = Rng.from(8);
const z = Float32Array.from(rng.normalArray(N * D));
const kappa = Float32Array.from(rng.uniformArray(N, 1, 20));
const pairs = BigInt64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 5].map(BigInt));
const batchFile = path.join(dir, 'batch.npz');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
  writeFileSync(
    batchFile,
    encodeNpz({ z: tensor(z, [N, D]), kappa: tensor(kappa, [N]), pairs: tensor(pairs, [6, 2]) }),
  );
  mkdirSync(modelsDir, { recursive: true });
  copyFileSync(
    path.join(MODELS, 'prebuilt/contrastive-encoder.onnx'),
    path.join(modelsDir, 'contrastive-encoder.onnx'),
  );
  copyFileSync(
    path.join(MODELS, 'cards/contrastive-encoder.card.json'),
    path.join(modelsDir, 'contrastive-encoder.card.json'),
  );
});

describe('prob-contrastive loss', () => {
  test.each([['infonce'], ['prob'], ['scf']])(
    '--variant %s --json prints { "loss": L } equal to the API',
    async (variant) => {
      const r = await cli(
        'loss',
        '--batch',
        batchFile,
        '--variant',
        variant,
        '--tau',
        '0.2',
        '--radius',
        '2',
        '--json',
      );
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(Object.keys(out)).toEqual(['loss']);
      const api = contrastiveLoss(
        { z: { data: z, shape: [N, D] }, kappa, pairs: { data: pairs, shape: [6, 2] } },
        { variant: variant as 'prob', tau: 0.2, radius: 2, grad: false },
      );
      expect(out.loss).toBe(api.loss);
    },
  );

  test('--device cpu runs the op-graph (float32) with the same result', async () => {
    const a = JSON.parse((await cli('loss', '--batch', batchFile, '--variant', 'prob', '--json')).stdout);
    const b = await cli('loss', '--batch', batchFile, '--variant', 'prob', '--json', '--device', 'cpu');
    expect(b.code).toBe(0);
    expect(Math.abs(JSON.parse(b.stdout).loss - a.loss) / a.loss).toBeLessThan(1e-5);
  });

  test('--grad G.npz writes ∂/∂z [N,D] and ∂/∂κ [N] (float64) equal to the API', async () => {
    const g = path.join(dir, 'grad.npz');
    const r = await cli('loss', '--batch', batchFile, '--variant', 'prob', '--grad', g);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^prob loss [0-9.]+ \(N = 10, D = 6, 6 pairs\)/);
    const arrays = parseNpz(new Uint8Array(readFileSync(g)));
    expect(arrays.z.shape).toEqual([N, D]);
    expect(arrays.kappa.shape).toEqual([N]);
    expect(arrays.z.dtype).toBe('float64');
    const api = contrastiveLoss(
      { z: { data: z, shape: [N, D] }, kappa, pairs: { data: pairs, shape: [6, 2] } },
      { variant: 'prob' },
    );
    expect(Array.from(arrays.z.data as Float64Array)).toEqual(Array.from(api.gradZ!));
    expect(Array.from(arrays.kappa.data as Float64Array)).toEqual(Array.from(api.gradKappa!));
    // infonce: no kappa needed, none written
    const b2 = path.join(dir, 'nokappa.npz');
    writeFileSync(b2, encodeNpz({ z: tensor(z, [N, D]), pairs: tensor(pairs, [6, 2]) }));
    const g2 = path.join(dir, 'grad2.npz');
    expect((await cli('loss', '--batch', b2, '--variant', 'infonce', '--grad', g2)).code).toBe(0);
    expect(Object.keys(parseNpz(new Uint8Array(readFileSync(g2))))).toEqual(['z']);
  });

  test('typed errors exit 1, usage errors exit 2', async () => {
    const bad = path.join(dir, 'bad.npz');
    const k2 = kappa.slice();
    k2[3] = -1;
    writeFileSync(bad, encodeNpz({ z: tensor(z, [N, D]), kappa: tensor(k2, [N]), pairs: tensor(pairs, [6, 2]) }));
    let r = await cli('loss', '--batch', bad, '--variant', 'prob');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error \[E_INVALID_ARGUMENT\]: 'kappa\[3\]' must be a concentration > 0, got -1/);
    const empty = path.join(dir, 'empty.npz');
    writeFileSync(
      empty,
      encodeNpz({ z: tensor(z, [N, D]), kappa: tensor(kappa, [N]), pairs: tensor(new BigInt64Array(0), [0, 2]) }),
    );
    r = await cli('loss', '--batch', empty, '--variant', 'scf');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/at least one positive pair/);
    r = await cli('loss', '--batch', path.join(dir, 'nokappa.npz'), '--variant', 'prob');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/an \.npz with 'z', 'kappa', 'pairs'/);
    r = await cli('loss', '--batch', path.join(dir, 'missing.npz'), '--variant', 'prob');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_FILE_NOT_FOUND/);
    r = await cli('loss', '--batch', batchFile, '--variant', 'cosine');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--variant must be one of infonce, prob, scf/);
    r = await cli('loss', '--variant', 'prob');
    expect(r.code).toBe(2);
    r = await cli('loss', '--batch', batchFile, '--variant', 'prob', '--tau', 'abc');
    expect(r.code).toBe(2);
    r = await cli('frobnicate');
    expect(r.code).toBe(2);
    r = await cli('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/prob-contrastive train --features/);
  });
});

describe('prob-contrastive train / score', () => {
  const head = path.join(dir, 'head.onnx');
  const F = 128;

  test('train --features train.npz --out head.onnx writes a head that ONNX Runtime runs', async () => {
    const m = 64;
    const codes = rng.normalArray(m * F, 0, 1);
    const x = new Float32Array(2 * m * F);
    for (let i = 0; i < m; i++)
      for (let v = 0; v < 2; v++)
        for (let k = 0; k < F; k++) x[(2 * i + v) * F + k] = Math.max(0, codes[i * F + k] + 0.3 * rng.normal());
    const p = BigInt64Array.from({ length: 2 * m }, (_, k) => BigInt(k));
    const file = path.join(dir, 'train.npz');
    writeFileSync(file, encodeNpz({ features: tensor(x, [2 * m, F]), pairs: tensor(p, [m, 2]) }));
    const r = await cli(
      'train',
      '--features',
      file,
      '--out',
      head,
      '--epochs',
      '3',
      '--batch-size',
      '16',
      '--dim',
      '16',
      '--json',
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ out: head, objective: 'prob', steps: 12, features: F, dim: 16 });
    expect(r.stderr).toMatch(/prob-contrastive: step 12\/12 \(epoch 3\): loss/);
    const session = await createSession(new Uint8Array(readFileSync(head)), { device: 'cpu' });
    try {
      const out = await session.run({ features: tensor(x.subarray(0, 3 * F), [3, F]) });
      expect(out.embedding.shape).toEqual([3, 16]);
      expect(out.kappa.shape).toEqual([3, 1]);
      expect(session.model.metadata.objective).toBe('prob');
      expect(session.model.metadata.steps).toBe('12');
      expect(session.model.producerName).toBe('@trustvision/prob-contrastive');
    } finally {
      await session.dispose();
    }
    const bad = await cli('train', '--features', file, '--out', head, '--objective', 'x');
    expect(bad.code).toBe(2);
  });

  test('views --images images.npz writes features of random views + pairs that train accepts', async () => {
    const n = 40;
    const u8 = new Uint8Array(n * 784);
    for (let i = 0; i < n; i++)
      for (let y = 0; y < 28; y++)
        for (let xx = 0; xx < 28; xx++) u8[i * 784 + y * 28 + xx] = Math.hypot(xx - 14, y - 14) < 3 + (i % 9) ? 200 : 0;
    const imagesFile = path.join(dir, 'images.npz');
    writeFileSync(imagesFile, encodeNpz({ images: tensor(u8, [n, 28, 28]) }));
    const out = path.join(dir, 'views.npz');
    const r = await cli('views', '--images', imagesFile, '--out', out, '--hard', '0.5', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ images: n, rows: 2 * n, features: 128, pairs: n });
    const arrays = parseNpz(new Uint8Array(readFileSync(out)));
    expect(arrays.features.shape).toEqual([2 * n, 128]);
    expect(arrays.features.dtype).toBe('float32');
    expect(arrays.pairs.dtype).toBe('int64');
    expect(Array.from(arrays.pairs.data as BigInt64Array).slice(0, 4)).toEqual([0n, 1n, 2n, 3n]);
    const h2 = path.join(dir, 'head2.onnx');
    const t = await cli('train', '--features', out, '--out', h2, '--batch-size', '8', '--epochs', '1');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/wrote .*head2\.onnx: prob head \(128 → 64/);
    // float images outside [0, 1] and colour images are refused
    const bad = path.join(dir, 'bad-images.npz');
    writeFileSync(bad, encodeNpz({ images: tensor(new Float32Array(2 * 784).fill(3), [2, 1, 28, 28]) }));
    const e = await cli('views', '--images', bad, '--out', out);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/a float pixel in \[0, 1\]/);
    writeFileSync(bad, encodeNpz({ images: tensor(new Uint8Array(2 * 3 * 784), [2, 3, 28, 28]) }));
    expect((await cli('views', '--images', bad, '--out', out)).stderr).toMatch(/E_SHAPE/);
  });

  test('score IMAGES... ranks PNG files by κ, as the API does', async () => {
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      const data = new Uint8Array(28 * 28);
      for (let y = 0; y < 28; y++)
        for (let xx = 0; xx < 28; xx++) data[y * 28 + xx] = Math.hypot(xx - 14, y - 14) < 5 + 3 * i ? 220 : 0;
      const f = path.join(dir, `img${i}.png`);
      writeFileSync(f, encodePng({ width: 28, height: 28, channels: 1, data }));
      files.push(f);
    }
    const r = await cli('score', ...files, '--head', head, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { images: { file: string; kappa: number; rank: number }[] };
    expect(out.images.map((x) => x.rank)).toEqual([1, 2, 3]);
    expect(new Set(out.images.map((x) => x.file))).toEqual(new Set(files));
    for (let i = 1; i < 3; i++) expect(out.images[i].kappa).toBeLessThanOrEqual(out.images[i - 1].kappa);
    const pc = await ProbContrastive.load({
      encoder: path.join(modelsDir, 'contrastive-encoder.onnx'),
      head,
      device: 'cpu',
    });
    try {
      const { readImage } = await import('@trustvision/core-tensor');
      const api = await pc.embed(await Promise.all(files.map((f) => readImage(f))));
      for (const row of out.images) expect(row.kappa).toBeCloseTo(api.kappa[files.indexOf(row.file)], 4);
    } finally {
      await pc.dispose();
    }
    const text = await cli('score', files[0], '--head', head);
    expect(text.stdout).toMatch(/rank {2}kappa/);
    expect((await cli('score', '--head', head)).code).toBe(2);
    expect((await cli('score', path.join(dir, 'nope.png'), '--head', head)).code).toBe(1);
  });
});
