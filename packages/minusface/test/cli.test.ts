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
import { Rng, encodeNpy, encodePng, parseNpy, tensor } from '@trustvision/core-tensor';
import { DECODED, ENCODED, IMAGE, REP, SHAPE } from './fixtures/transform_golden.js';
import { poolRecognizer, scaleGenerator } from './tiny-models.js';

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
  writeFileSync(file('g.onnx'), scaleGenerator(0.7));
  writeFileSync(file('g16.onnx'), scaleGenerator(0.7, [16, 16]));
  writeFileSync(file('f.onnx'), poolRecognizer(3, 8, 2));
  const rng = Rng.from(5);
  for (const name of ['a', 'b']) writeArray(`${name}16.npy`, Float32Array.from(rng.uniformArray(3 * 256)), [3, 16, 16]);
  const px = new Uint8Array(16 * 16 * 3);
  for (let i = 0; i < px.length; i++) px[i] = rng.int(256);
  writeFileSync(file('c16.png'), encodePng({ width: 16, height: 16, channels: 3, data: px }));
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

describe('minusface protect / verify', () => {
  test('protect .npy and PNG inputs → .npy X_p; --seed reproduces, no --seed differs', async () => {
    const args = [
      'protect',
      file('a16.npy'),
      file('c16.png'),
      '--generator',
      file('g.onnx'),
      '--device',
      'cpu',
      '--format',
      'npy',
    ];
    const r1 = await cli(...args, '--out', file('p1'), '--seed', '7');
    expect(r1.code).toBe(0);
    expect(r1.stderr).toMatch(/a16\.npy → .*a16\.npy \[3, 16, 16\]/);
    const r2 = await cli(...args, '--out', file('p2'), '--seed', '7');
    expect(r2.code).toBe(0);
    const r3 = await cli(...args, '--out', file('p3'));
    expect(r3.code).toBe(0);
    for (const n of ['a16', 'c16']) {
      const a = readArray(`p1/${n}.npy`);
      expect(a.shape).toEqual([3, 16, 16]);
      expect(a.dtype).toBe('float32');
      for (const v of a.data as Float32Array) expect(v >= 0 && v <= 1).toBe(true);
      expect(readFileSync(file(`p2/${n}.npy`))).toEqual(readFileSync(file(`p1/${n}.npy`)));
      expect(maxAbsDiff(readArray(`p3/${n}.npy`).data as Float32Array, a.data as Float32Array)).toBeGreaterThan(1e-3);
    }
  });

  test('protect → PNG (8-bit), --duplicates needs npy', async () => {
    const r = await cli('protect', file('a16.npy'), '--generator', file('g.onnx'), '--out', file('png'), '--seed', '1');
    expect(r.code).toBe(0);
    expect(readFileSync(file('png/a16.png')).subarray(1, 4).toString()).toBe('PNG');
    const d = await cli(
      'protect',
      file('a16.npy'),
      '--generator',
      file('g.onnx'),
      '--out',
      file('dup'),
      '--duplicates',
      '2',
    );
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/error \[E_INVALID_ARGUMENT\]: 'format'/);
    const n = await cli(
      'protect',
      file('a16.npy'),
      '--generator',
      file('g.onnx'),
      '--out',
      file('dup'),
      '--duplicates',
      '2',
      '--format',
      'npy',
    );
    expect(n.code).toBe(0);
    expect(readArray('dup/a16.npy').shape).toEqual([6, 16, 16]);
  });

  test('verify prints score and decision; --json; card threshold', async () => {
    await cli(
      'protect',
      file('a16.npy'),
      file('b16.npy'),
      '--generator',
      file('g.onnx'),
      '--out',
      file('v'),
      '--format',
      'npy',
      '--seed',
      '3',
    );
    const r = await cli(
      'verify',
      file('v/a16.npy'),
      file('v/b16.npy'),
      '--recognizer',
      file('f.onnx'),
      '--threshold',
      '0.5',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^score -?\d\.\d{6} {2}threshold 0\.5 {2}(MATCH|NO MATCH)\n$/);
    const j = await cli(
      'verify',
      file('v/a16.npy'),
      file('v/a16.npy'),
      '--recognizer',
      file('f.onnx'),
      '--threshold',
      '0.5',
      '--json',
    );
    const o = JSON.parse(j.stdout);
    expect(o.score).toBeCloseTo(1, 6);
    expect(o.match).toBe(true);
    expect(o.device).toBe('cpu');
    // without --threshold: metrics.threshold of <model>.card.json
    writeFileSync(file('f.card.json'), JSON.stringify({ metrics: { threshold: -1 } }));
    const c = await cli('verify', file('v/a16.npy'), file('v/b16.npy'), '--recognizer', file('f.onnx'), '--json');
    expect(JSON.parse(c.stdout)).toMatchObject({ threshold: -1, match: true });
  });

  test('bad input: wrong size for the generator, wrong channels, mismatching model, usage', async () => {
    writeArray('gray16.npy', new Float32Array(2 * 256).fill(0.5), [2, 16, 16]);
    writeArray('a8.npy', new Float32Array(3 * 64).fill(0.5), [3, 8, 8]);
    const cases: [string[], number, RegExp][] = [
      [
        ['protect', file('a8.npy'), '--generator', file('g16.onnx'), '--out', file('x')],
        1,
        /error \[E_SHAPE\]: 'images'.*16×16/,
      ],
      [
        ['protect', file('gray16.npy'), '--generator', file('g.onnx'), '--out', file('x')],
        1,
        /error \[E_SHAPE\]: 'images\[0\]'/,
      ],
      [
        ['protect', file('a16.npy'), '--generator', file('f.onnx'), '--out', file('x')],
        1,
        /error \[E_INVALID_ARGUMENT\]: .*MinusFace contract/,
      ],
      [
        ['protect', file('nope.npy'), '--generator', file('g.onnx'), '--out', file('x')],
        1,
        /error \[E_FILE_NOT_FOUND\]/,
      ],
      [
        ['verify', file('a16.npy'), file('b16.npy'), '--recognizer', file('g.onnx'), '--threshold', '0.3'],
        1,
        /MinusFace contract/,
      ],
      [['protect', file('a16.npy'), '--generator', file('g.onnx')], 2, /--out is required/],
      [['protect', '--out', file('x')], 2, /at least one image/],
      [
        ['protect', file('a16.npy'), file('a16.npy'), '--generator', file('g.onnx'), '--out', file('x')],
        2,
        /both be written/,
      ],
      [['verify', file('a16.npy'), '--threshold', '0.3'], 2, /two protected images/],
      [['verify', file('a16.npy'), file('b16.npy'), '--recognizer', file('g.onnx')], 2, /--threshold is required/],
      [
        ['verify', file('a16.npy'), file('b16.npy'), '--recognizer', file('f.onnx'), '--threshold', 'x'],
        2,
        /--threshold must be a number/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(...args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(file('x'))).toBe(false);
  });
});
