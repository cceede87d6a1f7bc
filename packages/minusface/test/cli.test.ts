/**
 * The CLI end to end on .npy files: encode / decode against the numpy/scipy golden, the exit codes 0 / 1 (typed error
 * naming the parameter) / 2 (usage), and atomic writes (nothing is left behind on failure).
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { encodeNpy, parseNpy, tensor } from '@trustvision/core-tensor';
import { DECODED, ENCODED, IMAGE, REP, SHAPE } from './fixtures/transform_golden.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'minusface-cli-'));
const { H, W } = SHAPE;

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

const file = (name: string) => path.join(dir, name);
const writeArray = (name: string, data: Float32Array | Float64Array, shape: number[]) =>
  writeFileSync(file(name), encodeNpy(tensor(data, shape)));
const readArray = (name: string) => parseNpy(new Uint8Array(readFileSync(file(name))));
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
  writeArray('x.npy', Float32Array.from(IMAGE), [3, H, W]);
  writeArray('x64.npy', Float64Array.from(IMAGE), [3, H, W]);
  writeArray('r.npy', Float32Array.from(REP), [192, H, W]);
});

describe('minusface encode / decode', () => {
  test('encode writes E float32 [192,H,W] matching the golden', async () => {
    const r = await cli('encode', '--image', file('x.npy'), '--out', file('e.npy'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/wrote .*e\.npy \[192, 4, 5\]/);
    const e = readArray('e.npy');
    expect(e.dtype).toBe('float32');
    expect(e.shape).toEqual([192, H, W]);
    expect(maxAbsDiff(e.data as Float32Array, ENCODED)).toBeLessThan(2e-4);
  });

  test('float64 input gives the same E', async () => {
    expect((await cli('encode', '--image', file('x64.npy'), '--out', file('e64.npy'))).code).toBe(0);
    expect(readFileSync(file('e64.npy'))).toEqual(readFileSync(file('e.npy')));
  });

  test('decode writes X float32 [3,H,W] in [0,1] matching the golden', async () => {
    const r = await cli('decode', '--rep', file('r.npy'), '--out', file('d.npy'));
    expect(r.code).toBe(0);
    const d = readArray('d.npy');
    expect(d.dtype).toBe('float32');
    expect(d.shape).toEqual([3, H, W]);
    expect(maxAbsDiff(d.data as Float32Array, DECODED)).toBeLessThan(1e-6);
  });
});

describe('exit codes', () => {
  test('usage errors exit 2 with the usage text', async () => {
    for (const args of [
      ['encode', '--out', file('o.npy')],
      ['encode', '--image', file('x.npy')],
      ['decode', '--image', file('x.npy'), '--out', file('o.npy')],
      ['encode', '--rep', file('r.npy'), '--image', file('x.npy'), '--out', file('o.npy')],
      ['transform', '--image', file('x.npy'), '--out', file('o.npy')],
      ['encode', '--image', file('x.npy'), '--out', file('o.npy'), '--bogus'],
      ['encode', 'extra', '--image', file('x.npy'), '--out', file('o.npy')],
    ]) {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/usage:/);
    }
    const none = await cli();
    expect(none.code).toBe(2);
    expect((await cli('--help')).code).toBe(0);
  });

  test('bad input exits 1 with a typed error naming the parameter, and writes nothing', async () => {
    writeArray('gray.npy', new Float32Array(2 * 4 * 4).fill(0.5), [2, 4, 4]);
    writeArray('nan.npy', Float32Array.from(IMAGE).fill(NaN, 7, 8), [3, H, W]);
    writeArray(
      'signed.npy',
      Float32Array.from(IMAGE, (v) => 2 * v - 1),
      [3, H, W],
    );
    writeArray('r191.npy', new Float32Array(191 * 4), [191, 2, 2]);
    writeArray('rinf.npy', Float32Array.from(REP).fill(Infinity, 3, 4), [192, H, W]);
    const cases: [string[], RegExp][] = [
      [['encode', '--image', file('gray.npy')], /error \[E_SHAPE\]: 'image' must have shape \[3, H, W\]/],
      [['encode', '--image', file('nan.npy')], /error \[E_NON_FINITE\]: 'image'.*element 7/],
      [['encode', '--image', file('signed.npy')], /error \[E_INVALID_ARGUMENT\]: .*image.*\[0, 1\]/],
      [['encode', '--image', file('r.npy')], /error \[E_SHAPE\]: 'image'/],
      [['decode', '--rep', file('r191.npy')], /error \[E_SHAPE\]: 'rep' must have shape \[192, H, W\]/],
      [['decode', '--rep', file('rinf.npy')], /error \[E_NON_FINITE\]: 'rep'/],
      [['decode', '--rep', file('missing.npy')], /error \[E_FILE_NOT_FOUND\]: .*rep/],
    ];
    const before = readdirSync(dir).sort();
    for (const [args, message] of cases) {
      const r = await cli(...args, '--out', file('bad.npy'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(readdirSync(dir).sort()).toEqual(before); // no output, no temporary file
  });
});
