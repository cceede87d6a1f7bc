/**
 * The CLI end to end on .npz files written like numpy's (float32 logits/features, int64 labels): evaluate (text, JSON,
 * SVG plot), fit → apply with a saved calibrator, and the exit codes 0 / 1 (typed error) / 2 (usage).
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { encodeNpz, parseNpz, tensor } from '@trustvision/core-tensor';
import { ProximityCalibrator } from '../src/index.js';
import { dataset, expectRel, golden } from './helpers.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'procal-cli-'));
const { cal, test: tst, C, D } = dataset();

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

function writeSet(file: string, part: typeof cal, withLabels = true, probs = false) {
  const arrays: Record<string, ReturnType<typeof tensor>> = { features: tensor(part.features.data, [part.n, D]) };
  if (probs) {
    const p = new Float32Array(part.n * C);
    for (let i = 0; i < part.n; i++) {
      let mx = -Infinity;
      for (let j = 0; j < C; j++) mx = Math.max(mx, part.logits.data[i * C + j]);
      let s = 0;
      for (let j = 0; j < C; j++) s += p[i * C + j] = Math.exp(part.logits.data[i * C + j] - mx);
      for (let j = 0; j < C; j++) p[i * C + j] /= s;
    }
    arrays.probs = tensor(p, [part.n, C]);
  } else arrays.logits = tensor(part.logits.data, [part.n, C]);
  if (withLabels)
    arrays.labels = tensor(
      BigInt64Array.from(part.labels, (v) => BigInt(v)),
      [part.n],
    );
  writeFileSync(file, encodeNpz(arrays));
}

const calFile = path.join(dir, 'cal.npz');
const testFile = path.join(dir, 'test.npz');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
  writeSet(calFile, cal);
  writeSet(testFile, tst);
});

describe('procal evaluate', () => {
  test('--json prints one object with the base and calibrated metrics (official-semantics values)', async () => {
    const r = await cli('evaluate', '--cal', calFile, '--test', testFile, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.method).toBe('dr');
    for (const k of ['ece', 'ace', 'mce', 'piece', 'nll', 'brier', 'accuracy']) {
      expect(typeof out.base[k]).toBe('number');
      expect(typeof out.calibrated[k]).toBe('number');
    }
    const g = golden().metrics;
    expectRel(out.base.ece, g.confTest.ece, 1e-6);
    expectRel(out.base.piece, g.confTest.piece, 1e-6);
    expectRel(out.calibrated.ece, g.confDrTest.ece, 1e-6);
    expectRel(out.calibrated.piece, g.confDrTest.piece, 1e-6);
    expectRel(out.calibrated.mce, g.confDrTest.mceWeighted, 1e-6);
    expect(r.stderr).toMatch(/procal: fitted conf \+ dr/);
  });

  test('text table, other base/method, and --plot writes an SVG', async () => {
    const svg = path.join(dir, 'plot.svg');
    const r = await cli('evaluate', '--cal', calFile, '--test', testFile, '--base', 'ir', '--k', '5', '--plot', svg);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ir → ir \+ stratified \(k = 5/);
    expect(r.stdout).toMatch(/PIECE/);
    const text = readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg')).toBe(true);
    expect(text).toMatch(/ir \+ stratified: by proximity/);
    const bms = await cli(
      'evaluate',
      '--cal',
      calFile,
      '--test',
      testFile,
      '--base',
      'ts',
      '--method',
      'bms',
      '--lambda',
      '1',
      '--json',
    );
    expect(JSON.parse(bms.stdout).method).toBe('bms');
  });

  test('probs instead of logits', async () => {
    const c2 = path.join(dir, 'cal-probs.npz');
    const t2 = path.join(dir, 'test-probs.npz');
    writeSet(c2, cal, true, true);
    writeSet(t2, tst, true, true);
    const r = await cli('evaluate', '--cal', c2, '--test', t2, '--json');
    expect(r.code).toBe(0);
    expectRel(JSON.parse(r.stdout).base.ece, golden().metrics.confTest.ece, 1e-5); // float32 probabilities
  });
});

describe('procal fit / apply', () => {
  test('fit writes a calibrator that apply (and the API) use with the same result', async () => {
    const json = path.join(dir, 'cal.json');
    const f = await cli('fit', '--cal', calFile, '--out', json, '--base', 'ts', '--json');
    expect(f.code).toBe(0);
    expect(JSON.parse(f.stdout)).toMatchObject({ base: 'ts', method: 'dr', calibration: cal.n });
    const unlabelled = path.join(dir, 'unlabelled.npz');
    writeSet(unlabelled, tst, false);
    const out = path.join(dir, 'out.npz');
    const a = await cli('apply', '--calibrator', json, '--in', unlabelled, '--out', out, '--json');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ n: tst.n, method: 'dr', base: 'ts' });
    const arrays = parseNpz(new Uint8Array(readFileSync(out)));
    expect(arrays.probs.shape).toEqual([tst.n, C]);
    expect(arrays.preds.dtype).toBe('int32');
    const api = await ProximityCalibrator.fit(cal, { base: 'ts' });
    const p = await api.predict(tst);
    expect(Array.from(arrays.probs.data as Float64Array)).toEqual(Array.from(p.probs));
    expect(Array.from(arrays.proximity.data as Float64Array)).toEqual(Array.from(p.proximity));
    // with labels, apply also prints the metrics
    const labelled = await cli('apply', '--calibrator', json, '--in', testFile, '--out', out);
    expect(labelled.stdout).toMatch(/ts \+ dr/);
  });
});

describe('exit codes', () => {
  test('usage errors exit 2, typed errors exit 1 with their code', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('evaluate', '--cal', calFile)).code).toBe(2);
    expect((await cli('evaluate', '--cal', calFile, '--test', testFile, '--base', 'platt')).code).toBe(2);
    expect((await cli('evaluate', '--cal', calFile, '--test', testFile, '--k', 'ten')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('evaluate', '--bogus')).code).toBe(2);
    const missing = await cli('evaluate', '--cal', path.join(dir, 'nope.npz'), '--test', testFile);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error \[E_FILE_NOT_FOUND\]: '--cal'/);
    const noLabels = path.join(dir, 'nolabels.npz');
    writeSet(noLabels, cal, false);
    const nl = await cli('evaluate', '--cal', noLabels, '--test', testFile);
    expect(nl.code).toBe(1);
    expect(nl.stderr).toMatch(/error \[E_INVALID_ARGUMENT\]: '--cal'.*'labels'/);
    const bigK = await cli('evaluate', '--cal', calFile, '--test', testFile, '--k', '500');
    expect(bigK.code).toBe(1);
    expect(bigK.stderr).toMatch(/error \[E_INVALID_ARGUMENT\]: 'k'/);
    const badJson = path.join(dir, 'bad.json');
    writeFileSync(badJson, '{"format":"other"}');
    const bj = await cli('apply', '--calibrator', badJson, '--in', testFile, '--out', path.join(dir, 'x.npz'));
    expect(bj.code).toBe(1);
    expect(bj.stderr).toMatch(/error \[E_INVALID_ARGUMENT\]: 'json.format'/);
    expect((await cli('--help')).code).toBe(0);
    expect((await cli('--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
