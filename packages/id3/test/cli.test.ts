/**
 * The CLI end to end (spawning dist/esm/cli.js): `id3 anchors` and `id3 embeddings` on .npy files as the issue's
 * contracts say, float64 anchors written like numpy's, progress on stderr, and the exit codes 0 / 1 (typed error) /
 * 2 (usage).
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { encodeNpy, parseNpy, tensor } from '@trustvision/core-tensor';
import { readFileSync } from 'node:fs';
import {
  FrModel,
  anchorStats,
  inspectDataset,
  optimizeAnchors,
  readDatasetManifest,
  readRecordIO,
} from '../src/index.js';
import { denoiserBytes, frBytes, frGradBytes } from './helpers.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'id3-cli-'));

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

const readNpyFile = (file: string) => parseNpy(new Uint8Array(readFileSync(file)), file);
const anchorsFile = path.join(dir, 'A.npy');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
});

describe('id3 anchors', () => {
  test('--json: A.npy float32 [N, D] unit rows; the printed angles are those of the file and of the API', async () => {
    const r = await cli(
      'anchors',
      '--n',
      '120',
      '--dim',
      '6',
      '--seed',
      '4',
      '--iters',
      '25',
      '--out',
      anchorsFile,
      '--json',
      '--device',
      'cpu',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['minAngleDeg', 'meanNearestAngleDeg']));
    const a = readNpyFile(anchorsFile);
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([120, 6]);
    const data = a.data as Float32Array;
    for (let i = 0; i < 120; i++) {
      let s = 0;
      for (let t = 0; t < 6; t++) s += data[i * 6 + t] ** 2;
      expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-6);
    }
    const stats = await anchorStats({ data, shape: [120, 6] });
    expect(out.minAngleDeg).toBeCloseTo(stats.minAngleDeg, 4);
    expect(out.meanNearestAngleDeg).toBeCloseTo(stats.meanNearestAngleDeg, 4);
    expect(out.minAngleDeg).toBeGreaterThan(out.random.minAngleDeg);
    const api = await optimizeAnchors({ n: 120, dim: 6, seed: 4, iterations: 25 });
    expect(data).toEqual(api.anchors);
    expect(r.stderr).toMatch(/id3: anchors step 25\/25: min angle/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('text output without --json', async () => {
    const r = await cli('anchors', '--n', '10', '--dim', '3', '--iters', '5', '--out', path.join(dir, 'B.npy'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*B\.npy: \[10, 3\] anchors; min angle [\d.]+° \(random [\d.]+°\)/);
  });
});

describe('id3 embeddings', () => {
  test('E.npy float32 [N, M, D], unit rows, cosine to the anchor in [L, U]; float64 anchors accepted', async () => {
    const f64 = path.join(dir, 'A64.npy');
    const a = readNpyFile(anchorsFile);
    writeFileSync(f64, encodeNpy(tensor(Float64Array.from(a.data as Float32Array), [120, 6])));
    for (const file of [anchorsFile, f64]) {
      const e = path.join(dir, 'E.npy');
      const r = await cli(
        'embeddings',
        '--anchors',
        file,
        '--per-identity',
        '7',
        '--lb',
        '0.7',
        '--ub',
        '0.9',
        '--seed',
        '3',
        '--out',
        e,
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\[120, 7, 6\] embeddings/);
      expect(r.stderr).toMatch(/id3: embeddings 120\/120 identities/);
      const t = readNpyFile(e);
      expect(t.dtype).toBe('float32');
      expect(t.shape).toEqual([120, 7, 6]);
      const y = t.data as Float32Array;
      const w = a.data as Float32Array;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < 120; i++)
        for (let j = 0; j < 7; j++) {
          let c = 0;
          let s = 0;
          for (let k = 0; k < 6; k++) {
            c += y[(i * 7 + j) * 6 + k] * w[i * 6 + k];
            s += y[(i * 7 + j) * 6 + k] ** 2;
          }
          expect(Math.abs(s - 1)).toBeLessThan(1e-6);
          lo = Math.min(lo, c);
          hi = Math.max(hi, c);
        }
      expect(lo).toBeGreaterThan(0.7 - 1e-6);
      expect(hi).toBeLessThan(0.9 + 1e-6);
      expect(hi - lo).toBeGreaterThan(0.15); // 840 uniform draws fill the range
    }
  });
});

describe('exit codes', () => {
  test('usage errors exit 2 with the usage; typed errors exit 1 with their code', async () => {
    const out = path.join(dir, 'X.npy');
    const usage = [
      ['anchors', '--dim', '3', '--out', out],
      ['anchors', '--n', '5', '--dim', '3'],
      ['anchors', '--n', 'five', '--dim', '3', '--out', out],
      ['anchors', '--n', '5', '--dim', '3', '--out', out, '--bogus'],
      ['anchors', '--n', '5', '--dim', '3', '--out', out, '--lb', '0.5'],
      ['embeddings', '--anchors', anchorsFile, '--per-identity', '2', '--lb', '0.5', '--out', out],
      ['frobnicate'],
      [],
    ];
    for (const args of usage) {
      const r = await cli(...args);
      expect([args, r.code]).toEqual([args, 2]);
      expect(r.stderr + r.stdout).toMatch(/usage:/);
    }
    const typed: [string[], string][] = [
      [['anchors', '--n', '1', '--dim', '3', '--out', out], 'E_INVALID_ARGUMENT'],
      [['anchors', '--n', '5', '--dim', '3', '--seed', '1.5', '--out', out], 'E_INVALID_ARGUMENT'],
      [['anchors', '--n', '5', '--dim', '3', '--device', 'tpu', '--out', out], 'E_UNKNOWN_DEVICE'],
      [['anchors', '--n', '5', '--dim', '3', '--out', path.join(dir, 'no/such/dir/A.npy')], 'E_FILE_NOT_FOUND'],
      [
        [
          'embeddings',
          '--anchors',
          path.join(dir, 'none.npy'),
          '--per-identity',
          '2',
          '--lb',
          '0.5',
          '--ub',
          '0.6',
          '--out',
          out,
        ],
        'E_FILE_NOT_FOUND',
      ],
      [
        ['embeddings', '--anchors', anchorsFile, '--per-identity', '2', '--lb', '0.7', '--ub', '0.6', '--out', out],
        'E_INVALID_ARGUMENT',
      ],
    ];
    const notUnit = path.join(dir, 'notunit.npy');
    writeFileSync(notUnit, encodeNpy(tensor(Float32Array.of(1, 1, 0, 1), [2, 2])));
    typed.push([
      ['embeddings', '--anchors', notUnit, '--per-identity', '2', '--lb', '0.5', '--ub', '0.6', '--out', out],
      'E_INVALID_ARGUMENT',
    ]);
    const ints = path.join(dir, 'ints.npy');
    writeFileSync(ints, encodeNpy(tensor(Int32Array.of(1, 0, 0, 1), [2, 2])));
    typed.push([
      ['embeddings', '--anchors', ints, '--per-identity', '2', '--lb', '0.5', '--ub', '0.6', '--out', out],
      'E_DTYPE',
    ]);
    const cube = path.join(dir, 'cube.npy');
    writeFileSync(cube, encodeNpy(tensor(Float32Array.of(1, 0, 0, 1), [1, 2, 2])));
    typed.push([
      ['embeddings', '--anchors', cube, '--per-identity', '2', '--lb', '0.5', '--ub', '0.6', '--out', out],
      'E_SHAPE',
    ]);
    for (const [args, code] of typed) {
      const r = await cli(...args);
      expect([args, r.code]).toEqual([args, 1]);
      expect(r.stderr).toMatch(new RegExp(`error \\[${code}\\]`));
    }
    expect(existsSync(out)).toBe(false);
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/id3 anchors --n N --dim D \[--seed S\] \[--iters I\] --out A\.npy \[--json\]/);
    expect(help.stdout).toMatch(
      /id3 embeddings --anchors A\.npy --per-identity M --lb L --ub U \[--seed S\] --out E\.npy/,
    );
  });
});

describe('id3 generate / inspect / export-rec', () => {
  const den = path.join(dir, 'den.onnx');
  const frg = path.join(dir, 'frg.onnx');
  const fr = path.join(dir, 'fr.onnx');
  const common = [
    '--identities',
    '4',
    '--per-identity',
    '3',
    '--steps',
    '6',
    '--sampler',
    'ddim',
    '--batch',
    '4',
    '--anchor-iters',
    '3',
  ];

  beforeAll(() => {
    writeFileSync(den, denoiserBytes());
    writeFileSync(frg, frGradBytes());
    writeFileSync(fr, frBytes());
  });

  test('generate with guidance and --fr, then inspect and export-rec', async () => {
    const out = path.join(dir, 'ds');
    const r = await cli('generate', '--model', den, '--fr-grad', frg, '--fr', fr, '--out', out, '--json', ...common);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ out, written: 4 });
    expect(res.inspect.intra).toBeGreaterThan(res.inspect.inter);
    expect(r.stderr).toMatch(/identities \[#+\] 4\/4 100\.0% elapsed \S+ ETA/);
    const manifest = await readDatasetManifest(out);
    expect(manifest).toHaveLength(12);
    // resuming a complete folder writes nothing
    const again = await cli('generate', '--model', den, '--fr-grad', frg, '--out', out, ...common);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/wrote 0 identities/);
    // inspect: JSON report and the histograms file, the same numbers as the API
    const ins = await cli('inspect', out, '--fr', fr, '--json', '--bins', '10');
    expect(ins.code).toBe(0);
    const rep = JSON.parse(ins.stdout);
    expect(rep).toMatchObject({ source: 'fr-model', identities: 4, perIdentity: 3, bins: 10 });
    expect(rep.intra.count).toBe(4 * 3);
    expect(rep.inter.count).toBe(6);
    expect(rep.intra.histogram.reduce((a: number, b: number) => a + b, 0)).toBe(12);
    const file = JSON.parse(readFileSync(path.join(out, 'inspect.json'), 'utf8'));
    expect(file.intra.histogram).toEqual(rep.intra.histogram);
    const frModel = await FrModel.create(fr, { device: 'cpu' });
    const api = await inspectDataset(out, { fr: frModel, bins: 10 });
    await frModel.dispose();
    expect(api.intra.mean).toBeCloseTo(rep.intra.mean, 6);
    const cond = await cli('inspect', out);
    expect(cond.code).toBe(0);
    expect(cond.stdout).toMatch(/conditioning embeddings/);
    // export
    const rec = path.join(dir, 'rec');
    const ex = await cli('export-rec', out, '--out', rec);
    expect(ex.code).toBe(0);
    expect(readFileSync(path.join(rec, 'property'), 'utf8')).toBe('4,8,8\n');
    expect(
      readRecordIO(readFileSync(path.join(rec, 'train.rec')), readFileSync(path.join(rec, 'train.idx'), 'utf8')).size,
    ).toBe(1 + 12 + 4);
  });

  test('bad input: contract, configuration, disk, usage', async () => {
    // a denoiser whose metadata contradicts its inputs
    const bad = path.join(dir, 'bad.onnx');
    writeFileSync(bad, denoiserBytes({ metadata: { 'id3.height': '16' } }));
    const r1 = await cli('generate', '--model', bad, '--out', path.join(dir, 'x1'), ...common);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/error \[E_INVALID_ARGUMENT\].*id3\.height/);
    // an FR model given as the denoiser
    const r2 = await cli('generate', '--model', fr, '--out', path.join(dir, 'x2'), ...common);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/does not fit the id3 contract/);
    // a folder made with another configuration
    const out = path.join(dir, 'other');
    expect((await cli('generate', '--model', den, '--out', out, ...common)).code).toBe(0);
    const r3 = await cli('generate', '--model', den, '--out', out, ...common, '--seed', '5');
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/error \[E_INVALID_ARGUMENT\].*different configuration: 'seed'/);
    // far too large for the disk: refused before anything is computed or written
    const huge = path.join(dir, 'huge');
    const r4 = await cli(
      'generate',
      '--model',
      den,
      '--out',
      huge,
      '--identities',
      '900000000000',
      '--per-identity',
      '999',
      '--steps',
      '2',
    );
    expect(r4.code).toBe(1);
    expect(r4.stderr).toMatch(/error \[E_IO\].*need about .* but only .* are free/);
    expect(existsSync(huge)).toBe(false);
    // usage
    expect((await cli('generate', '--model', den, '--out', out, '--identities', '2')).code).toBe(2);
    expect((await cli('generate', '--model', den, '--out', out, ...common, '--sampler', 'euler')).code).toBe(2);
    expect((await cli('generate', '--model', den, '--out', out, ...common, '--workers', '2')).code).toBe(2);
    expect((await cli('inspect')).code).toBe(2);
    const missing = await cli('generate', '--model', path.join(dir, 'nope.onnx'), '--out', out, ...common);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/E_FILE_NOT_FOUND/);
    const notDone = await cli('export-rec', path.join(dir, 'x1'), '--out', path.join(dir, 'r2'));
    expect(notDone.code).toBe(1);
  });
});
