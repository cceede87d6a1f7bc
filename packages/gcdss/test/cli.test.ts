/**
 * The CLI end to end: `cluster` on an .npz written like numpy's (float32 features/areas, int64 labels/gt) for each
 * method, `evaluate` on PNG folders (JSON and text, both protocols), and the exit codes 0 / 1 (typed error) / 2 (usage).
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { encodeNpz, parseNpy, tensor } from '@trustvision/core-tensor';
import { nergMaskCA, writeLabelPng } from '../src/index.js';
import { golden, goldenMasks } from './helpers.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'gcdss-cli-'));
const g = golden().nerg;
const m = golden().miou;
const npz = path.join(dir, 'masks.npz');
const predDir = path.join(dir, 'pred');
const gtDir = path.join(dir, 'gt');

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

const readAssign = (file: string) => Array.from(parseNpy(readFileSync(file)).data as BigInt64Array, Number);

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
  const ms = goldenMasks();
  writeFileSync(
    npz,
    encodeNpz({
      features: tensor(ms.features.data, [g.M, g.D]),
      areas: tensor(ms.areas, [g.M]),
      labels: tensor(ms.labels, [g.M]),
      gt: tensor(ms.gt, [g.M]),
    }),
  );
  mkdirSync(predDir);
  mkdirSync(gtDir);
  for (let i = 0; i < m.gt.length; i++) {
    await writeLabelPng(path.join(predDir, `img${i}.png`), Uint8Array.from(m.pred[i]), m.width, m.height);
    await writeLabelPng(path.join(gtDir, `img${i}.png`), Uint8Array.from(m.gt[i]), m.width, m.height);
  }
});

describe('gcdss cluster', () => {
  test('nerg writes int64 [M] equal to the library result', async () => {
    const out = path.join(dir, 'a.npy');
    const r = await cli('cluster', '--masks', npz, '--novel', '2', '--k', '5', '--seed', '4', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/nerg: 64 masks, 3 base classes, 2 novel clusters, 18 masks novel/);
    const t = parseNpy(readFileSync(out));
    expect(t.dtype).toBe('int64');
    expect(t.shape).toEqual([g.M]);
    const lib = await nergMaskCA(goldenMasks(), { k: 5, novel: 2, seed: 4 });
    expect(readAssign(out)).toEqual(Array.from(lib.assignments));
    for (let i = 0; i < g.M; i++) if (!g.candidates.includes(i)) expect(readAssign(out)[i]).toBe(g.assignments[i]);
  });
  test('baseline and nerg-official-leak; --novel auto estimates', async () => {
    for (const method of ['baseline', 'nerg-official-leak']) {
      const out = path.join(dir, `${method}.npy`);
      const r = await cli('cluster', '--masks', npz, '--novel', '2', '--method', method, '--k', '5', '--out', out);
      expect(r.code).toBe(0);
      const a = readAssign(out);
      for (let i = 0; i < g.M; i++) if (g.labels[i] >= 0) expect(a[i]).toBe(g.labels[i]);
      expect(Math.max(...a)).toBeLessThan(5);
    }
    const r = await cli('cluster', '--masks', npz, '--novel', 'auto', '--k', '5', '--out', path.join(dir, 'auto.npy'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/novel clusters \(estimated by silhouette\)/);
  });
  test('exit 2 on usage errors, 1 on typed errors', async () => {
    expect((await cli('cluster', '--out', 'x.npy')).code).toBe(2);
    expect((await cli('cluster', '--masks', npz)).code).toBe(2);
    expect((await cli('cluster', '--masks', npz, '--out', 'x', '--method', 'kmeans')).code).toBe(2);
    expect((await cli('cluster', '--masks', npz, '--out', 'x', '--method', 'baseline')).code).toBe(2);
    expect((await cli('cluster', '--masks', npz, '--out', 'x', '--k', 'ten')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli()).code).toBe(2);
    expect((await cli('cluster', '--bogus')).code).toBe(2);
    const missing = await cli('cluster', '--masks', path.join(dir, 'none.npz'), '--out', 'x.npy');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error \[E_FILE_NOT_FOUND\]/);
    const tooMany = await cli('cluster', '--masks', npz, '--novel', '500', '--out', path.join(dir, 'x.npy'));
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toMatch(/error \[E_INVALID_ARGUMENT\].*novel/);
    const partial = path.join(dir, 'partial.npz');
    writeFileSync(partial, encodeNpz({ features: tensor(new Float32Array(4), [2, 2]) }));
    expect((await cli('cluster', '--masks', partial, '--out', 'x.npy')).stderr).toMatch(
      /'features', 'areas' and 'labels'/,
    );
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/gcdss cluster --masks M.npz/);
  });
});

describe('gcdss evaluate', () => {
  const args = ['evaluate', '--pred', predDir, '--gt', gtDir, '--base', '0,1,2', '--novel', '3,4'];
  test('--json per-image (default) and dataset agree with the scipy reference', async () => {
    for (const protocol of ['per-image', 'dataset'] as const) {
      const r = await cli(...args, '--json', '--protocol', protocol);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      const want = protocol === 'per-image' ? m.perImage : m.dataset;
      expect(out.protocol).toBe(protocol);
      expect(out.images).toBe(3);
      expect(out.miou).toBeCloseTo(want.miou, 12);
      expect(out.miou_base).toBeCloseTo(want.miouBase, 12);
      expect(out.miou_novel).toBeCloseTo(want.miouNovel, 12);
      expect(out.matching).toEqual(m.matching);
      for (const [c, v] of Object.entries(want.perClass)) expect(out.per_class[c]).toBeCloseTo(v, 12);
    }
    const def = JSON.parse((await cli(...args, '--json')).stdout);
    expect(def.protocol).toBe('per-image');
  });
  test('text output; --ignore; usage and typed errors', async () => {
    const r = await cli(...args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/protocol per-image, 3 images/);
    expect(r.stdout).toMatch(/matching \(cluster → class\): 10→3, 11→4, 12→none/);
    expect((await cli(...args, '--protocol', 'pixel')).code).toBe(2);
    expect((await cli('evaluate', '--pred', predDir, '--gt', gtDir, '--base', '0,x', '--novel', '3')).code).toBe(2);
    expect((await cli('evaluate', '--pred', predDir, '--gt', gtDir, '--novel', '3')).code).toBe(2);
    // 255 is a real class here, so the ground truth's 255 pixels are unknown ids
    const bad = await cli(...args, '--ignore', '254');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error \[E_INVALID_ARGUMENT\].*'gt'/);
    const missing = await cli(
      'evaluate',
      '--pred',
      path.join(dir, 'nope'),
      '--gt',
      gtDir,
      '--base',
      '0',
      '--novel',
      '3',
    );
    expect(missing.code).toBe(1);
  });
});
