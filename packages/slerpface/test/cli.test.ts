import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Rng, encodeNpy, encodeNpz, tensor, writeImage } from '@trustvision/core-tensor';
import { createTemplate, decodeGallery, decodeRecordNpz, matchScore, protect } from '../src/index.js';
import { solvayFaces, type SolvayFaces } from './solvay-helper.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'slerpface-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

const rng = Rng.from('slerpface-cli');
const softmax = (x: Float64Array) => {
  const mx = Math.max(...x);
  const e = x.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const f = (name: string) => path.join(dir, name);

describe('array commands (the stable contract)', () => {
  const T = Float32Array.from(rng.normalArray(784));
  const W = Float32Array.from(softmax(rng.normalArray(49)));
  const P = Float32Array.from(T, (v) => v + 0.3 * rng.normalArray(1)[0]);
  const K = Float32Array.from(rng.normalArray(784));
  beforeAll(() => {
    writeFileSync(f('T.npy'), encodeNpy(tensor(T, [49, 16])));
    writeFileSync(f('W.npy'), encodeNpy(tensor(W, [49])));
    writeFileSync(f('P.npy'), encodeNpy(tensor(P, [49, 16])));
    writeFileSync(f('K.npy'), encodeNpy(tensor(K, [49, 16])));
  });

  test('protect with a seed → R.npz; match prints the official score and distance', async () => {
    const p = await cli(
      'protect',
      '--template',
      f('T.npy'),
      '--weights',
      f('W.npy'),
      '--seed',
      '42',
      '--out',
      f('R.npz'),
    );
    expect(p.code).toBe(0);
    const r = decodeRecordNpz(new Uint8Array(readFileSync(f('R.npz'))));
    expect(r.params).toEqual({ alpha: 0.9, dropRate: 0.5, gapBase: 8, dropout: 'replacement' });
    const tpl = createTemplate(T, W, { groups: 49, groupSize: 16, form: 'grid', layout: 'array-49x16' });
    expect(Array.from(r.protected)).toEqual(Array.from(protect(tpl, { seed: '42' }).protected));
    const m = await cli('match', '--record', f('R.npz'), '--probe', f('P.npy'), '--weights', f('W.npy'), '--json');
    expect(m.code).toBe(0);
    const out = JSON.parse(m.stdout);
    const probe = createTemplate(P, W, { groups: 49, groupSize: 16, form: 'grid', layout: 'array-49x16' });
    expect(out.score).toBeCloseTo(matchScore(r, probe), 14);
    expect(out.distance).toBeCloseTo(Math.acos(out.score) / Math.PI, 14);
    const self = JSON.parse(
      (await cli('match', '--record', f('R.npz'), '--probe', f('T.npy'), '--weights', f('W.npy'), '--json')).stdout,
    );
    expect(self.score).toBeCloseTo(1, 12);
  });

  test('protect with an explicit key and mask reproduces them in the record', async () => {
    const mask = new Uint8Array(784).fill(1);
    for (let i = 0; i < 49; i++) mask[i * 16 + (i % 16)] = 0;
    writeFileSync(f('M.npy'), encodeNpy(tensor(mask, [49, 16])));
    const p = await cli(
      'protect',
      '--template',
      f('T.npy'),
      '--weights',
      f('W.npy'),
      '--key',
      f('K.npy'),
      '--mask',
      f('M.npy'),
      '--alpha',
      '0.8',
      '--out',
      f('R2.npz'),
      '--json',
    );
    expect(p.code).toBe(0);
    const r = decodeRecordNpz(new Uint8Array(readFileSync(f('R2.npz'))));
    expect(Array.from(r.mask)).toEqual(Array.from(mask));
    expect(r.params.alpha).toBe(0.8);
    for (let j = 0; j < 16; j++) expect(r.key[j]).toBeCloseTo(K[j] / Math.hypot(...K.subarray(0, 16)), 6);
  });

  test('learn-layout writes a layout JSON', async () => {
    const N = 40;
    const e = new Float32Array(N * 32);
    const labels = new BigInt64Array(N);
    for (let i = 0; i < N; i++) {
      labels[i] = BigInt(i % 10);
      for (let j = 0; j < 32; j++) e[i * 32 + j] = (j < 8 ? (i % 10) - 5 : 0) + rng.normalArray(1)[0];
    }
    writeFileSync(f('E.npz'), encodeNpz({ embeddings: tensor(e, [N, 32]), labels: tensor(labels, [N]) }));
    const r = await cli(
      'learn-layout',
      '--embeddings',
      f('E.npz'),
      '--out',
      f('layout.json'),
      '--group-size',
      '8',
      '--json',
    );
    expect(r.code).toBe(0);
    const layout = JSON.parse(readFileSync(f('layout.json'), 'utf8'));
    expect(layout).toMatchObject({ format: 'slerpface-layout', dim: 32, groupSize: 8, grouping: 'discriminability' });
    expect(layout.weights[0]).toBeGreaterThan(layout.weights[3]);
  });

  test('errors: exit 1 with a typed error naming the parameter, exit 2 for usage; no partial output', async () => {
    const bad = await cli(
      'protect',
      '--template',
      f('T.npy'),
      '--weights',
      f('W.npy'),
      '--alpha',
      '1.5',
      '--out',
      f('bad.npz'),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error \[E_INVALID_ARGUMENT\]: 'alpha' must be a number in \(0, 1\)/);
    expect(existsSync(f('bad.npz'))).toBe(false);
    const missing = await cli('match', '--record', f('nope.npz'), '--probe', f('P.npy'), '--weights', f('W.npy'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/E_FILE_NOT_FOUND/);
    writeFileSync(f('W48.npy'), encodeNpy(tensor(W.subarray(0, 48), [48])));
    const shape = await cli('protect', '--template', f('T.npy'), '--weights', f('W48.npy'), '--out', f('bad.npz'));
    expect(shape.code).toBe(1);
    expect(shape.stderr).toMatch(/E_SHAPE.*'weights'/);
    writeFileSync(f('corrupt.npz'), readFileSync(f('R.npz')).subarray(0, 300));
    const corrupt = await cli('match', '--record', f('corrupt.npz'), '--probe', f('P.npy'), '--weights', f('W.npy'));
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/E_CORRUPT_FILE/);
    const usage = await cli('protect', '--weights', f('W.npy'), '--out', f('bad.npz'));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--template is required/);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli()).code).toBe(2);
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/slerpface enrol IMAGES/);
    expect((await cli('--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  });
});

describe('image commands on real photographs (BlazeFace + faceres, Solvay 1927)', () => {
  let faces: SolvayFaces;
  beforeAll(async () => {
    faces = await solvayFaces([1, 5, 9, 12]);
    for (const face of faces) {
      await writeImage(f(`p1_${face.id}.png`), face.photo1);
      await writeImage(f(`v2_${face.id}.png`), face.version2);
    }
  }, 60000);

  test('enrol → gallery.sfg; --append resumes; verify finds the person (1:N and 1:1)', async () => {
    const gal = f('gallery.sfg');
    const first = faces.slice(0, 2).map((x) => f(`p1_${x.id}.png`));
    const all = faces.map((x) => f(`p1_${x.id}.png`));
    const a = await cli('enrol', ...first, '--out', gal, '--seed', '7', '--device', 'cpu');
    expect(a.code).toBe(0);
    const b = await cli('enrol', ...all, '--out', gal, '--append', '--seed', '7', '--device', 'cpu', '--json');
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual({ gallery: gal, added: 2, size: 4 });
    expect(b.stderr).toMatch(/already enrolled, skipped/);
    const g = decodeGallery(new Uint8Array(readFileSync(gal)));
    expect(g.idList).toEqual(faces.map((x) => `p1_${x.id}`));
    expect(g.form).toBe('vector');
    let hits = 0;
    for (const face of faces) {
      const v = await cli('verify', '--gallery', gal, f(`v2_${face.id}.png`), '--json', '--device', 'cpu');
      expect(v.code).toBe(0);
      const out = JSON.parse(v.stdout);
      if (out.matches[0].id === `p1_${face.id}`) hits++;
    }
    expect(hits).toBeGreaterThanOrEqual(3);
    const one = JSON.parse(
      (
        await cli(
          'verify',
          '--gallery',
          gal,
          f(`p1_${faces[0].id}.png`),
          '--id',
          `p1_${faces[0].id}`,
          '--threshold',
          '0.1',
          '--json',
        )
      ).stdout,
    );
    expect(one.matches[0].score).toBeCloseTo(1, 5);
    expect(one.matches[0].accepted).toBe(true);
    const unknown = await cli('verify', '--gallery', gal, f(`p1_${faces[0].id}.png`), '--id', 'nobody');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/'id'/);
  }, 120000);

  test('evaluate --pairs reports unprotected vs protected verification', async () => {
    const lines: string[] = [];
    for (const a of faces) for (const b of faces) lines.push(`p1_${a.id}.png v2_${b.id}.png ${a.id === b.id ? 1 : 0}`);
    writeFileSync(f('pairs.txt'), lines.join('\n') + '\n');
    const r = await cli('evaluate', '--pairs', f('pairs.txt'), '--seed', '1', '--json', '--device', 'cpu');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.pairs).toBe(16);
    expect(out.genuine).toBe(4);
    // 4 identities only: a smoke test of the command; the benchmark numbers come from bench/security.mjs
    expect(out.unprotected.auc).toBeGreaterThan(0.7);
    expect(out.protected.auc).toBeGreaterThan(out.unprotected.auc - 0.15);
    for (const k of ['auc', 'eer', 'tarAtFar1e2', 'tarAtFar1e3', 'accuracy10fold'])
      expect(Number.isFinite(out.protected[k])).toBe(true);
    writeFileSync(f('badpairs.txt'), 'a.png b.png 2\n');
    const bad = await cli('evaluate', '--pairs', f('badpairs.txt'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/'pairs'/);
  }, 120000);
});
