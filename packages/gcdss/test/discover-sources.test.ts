/**
 * `discover` with mask sets from files (.npz and PNG folders) and from SAM-contract models, resuming after an
 * interruption (byte-identical outputs, finished images not recomputed), and the bad-input list of the issue.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expectRejects } from '@trustvision/jest-preset/expect-errors';
import {
  CorruptFileError,
  DTypeError,
  FileNotFoundError,
  InvalidArgumentError,
  ShapeError,
  createSession,
  tensor,
  writeImage,
  writeNpz,
  type Session,
} from '@trustvision/core-tensor';
import { SamMaskGenerator, discover, evaluateLabelDirs, readMaskSet, writeLabelPng } from '../src/index.js';
import { decoderModel, encoderModel } from './sam-models.js';
import { avgColourModel, quadrantScene } from './quadrant-scenes.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'gcdss-sources-'));
const S = 24;
const labeled = path.join(root, 'labeled');
const unlabeled = path.join(root, 'unlabeled');
const gtDir = path.join(root, 'gt');
const masksNpz = path.join(root, 'masks-npz');
const masksPng = path.join(root, 'masks-png');
const modelPath = path.join(root, 'features.onnx');

const scene = (classes: number[]) => quadrantScene(S, classes, true);

/** The four quadrants as masks [4, S, S], uint8. */
function quadrantMasks(): Uint8Array {
  const m = new Uint8Array(4 * S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) m[((y < S / 2 ? 0 : 2) + (x < S / 2 ? 0 : 1)) * S * S + y * S + x] = 1;
  return m;
}

const rot = (a: number[], r: number) => a.map((_, i) => a[(i + r) % a.length]);
const names: string[] = [];

beforeAll(async () => {
  for (const d of [path.join(labeled, 'labels'), unlabeled, gtDir, masksNpz, masksPng])
    mkdirSync(d, { recursive: true });
  writeFileSync(modelPath, avgColourModel());
  const q = quadrantMasks();
  const addMasks = async (name: string) => {
    names.push(name);
    await writeNpz(path.join(masksNpz, `${name}.npz`), { masks: tensor(q, [4, S, S]) });
    mkdirSync(path.join(masksPng, name));
    for (let m = 0; m < 4; m++)
      await writeImage(path.join(masksPng, name, `m${m}.png`), {
        width: S,
        height: S,
        channels: 1,
        data: q.subarray(m * S * S, (m + 1) * S * S).map((v) => v * 255),
      });
  };
  for (let i = 0; i < 5; i++) {
    const { rgb, gt } = scene(rot([0, 1, 2, 3], i % 4));
    await writeImage(path.join(labeled, `l${i}.png`), { width: S, height: S, channels: 3, data: rgb });
    await writeLabelPng(path.join(labeled, 'labels', `l${i}.png`), gt, S, S);
    await addMasks(`l${i}`);
  }
  for (let i = 0; i < 6; i++) {
    const base = [0, 1, 2, 3].filter((c) => c !== i % 4);
    const { rgb, gt } = scene(rot([4, ...base], i % 4));
    await writeImage(path.join(unlabeled, `u${i}.png`), { width: S, height: S, channels: 3, data: rgb });
    await writeLabelPng(path.join(gtDir, `u${i}.png`), gt, S, S);
    await addMasks(`u${i}`);
  }
});

const common = () => ({
  labeled,
  unlabeled,
  model: modelPath,
  k: 4,
  seed: 3,
  novel: 1,
  device: 'cpu' as const,
  features: { size: 8 },
});
const outFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort();

describe('discover with mask sets from files', () => {
  test('.npz and PNG-folder mask sets give the quadrants: mIoU 1, identical outputs', async () => {
    const a = path.join(root, 'out-npz');
    const b = path.join(root, 'out-png');
    const sa = await discover({ ...common(), out: a, masks: masksNpz });
    const sb = await discover({ ...common(), out: b, masks: masksPng });
    expect(sa.segmentSource).toBe('masks');
    expect(sa).toMatchObject({ labeledMasks: 20, unlabeledMasks: 24, novelMasks: 6 });
    expect(sa.images.every((i) => i.segments === 4)).toBe(true);
    const r = await evaluateLabelDirs(a, gtDir, { base: [0, 1, 2, 3], novel: [4], protocol: 'dataset' });
    expect(r.miou).toBeCloseTo(1, 12);
    expect(outFiles(a)).toEqual(outFiles(b));
    for (const f of outFiles(a)) expect(readFileSync(path.join(a, f))).toEqual(readFileSync(path.join(b, f)));
    expect(sb.segmentSource).toBe('masks');
  });

  test('readMaskSet: bool .npz, PNG folders, sizes', async () => {
    const p = path.join(root, 'bool.npz');
    await writeNpz(p, { masks: tensor(Uint8Array.from([1, 0, 0, 1, 0, 1, 1, 0]), [2, 2, 2], 'bool') });
    const set = await readMaskSet(p, 2, 2);
    expect(set).toMatchObject({ count: 2, width: 2, height: 2 });
    expect(Array.from(set.masks)).toEqual([1, 0, 0, 1, 0, 1, 1, 0]);
    const f = await readMaskSet(path.join(masksPng, 'u0'));
    expect(f).toMatchObject({ count: 4, width: S, height: S });
  });
});

describe('bad input (issue list): typed errors naming the parameter, the value and what is valid', () => {
  const IA = InvalidArgumentError;
  const A = 'E_INVALID_ARGUMENT';
  /** A mask folder with the good sets, and `bad` written for image u2. */
  async function maskDirWith(name: string, write: (dir: string) => Promise<void>): Promise<string> {
    const dir = path.join(root, name);
    mkdirSync(dir);
    const q = quadrantMasks();
    for (const n of names) if (n !== 'u2') await writeNpz(path.join(dir, `${n}.npz`), { masks: tensor(q, [4, S, S]) });
    await write(dir);
    return dir;
  }
  const out = () => path.join(root, `out-bad-${Math.random().toString(36).slice(2)}`);

  test('masks of the wrong size (npz and PNG)', async () => {
    const dir = await maskDirWith('m-size', (d) =>
      writeNpz(path.join(d, 'u2.npz'), { masks: tensor(new Uint8Array(4 * S * 12).fill(1), [4, 12, S]) }),
    );
    const e = (await expectRejects(
      discover({ ...common(), out: out(), masks: dir }),
      ShapeError,
      'E_SHAPE',
      'masks',
    )) as ShapeError;
    expect(e.message).toMatch(/u2\.npz: \[4, 12, 24\]/);
    expect(e.expected).toBe(`[N, ${S}, ${S}] (the image's size)`);
    const dir2 = await maskDirWith('m-size-png', async (d) => {
      mkdirSync(path.join(d, 'u2'));
      await writeImage(path.join(d, 'u2', 'a.png'), {
        width: 5,
        height: 5,
        channels: 1,
        data: new Uint8Array(25).fill(255),
      });
    });
    await expectRejects(discover({ ...common(), out: out(), masks: dir2 }), ShapeError, 'E_SHAPE', 'masks');
  });

  test('empty masks, an image without masks, no mask file, a wrong dtype, a colour PNG', async () => {
    const empty = await maskDirWith('m-empty', async (d) => {
      const m = quadrantMasks();
      m.fill(0, S * S, 2 * S * S); // mask 1 empty
      await writeNpz(path.join(d, 'u2.npz'), { masks: tensor(m, [4, S, S]) });
    });
    const e = await expectRejects(discover({ ...common(), out: out(), masks: empty }), IA, A, 'masks');
    expect(e.message).toMatch(/mask 1 is empty/);
    const none = await maskDirWith('m-none', (d) =>
      writeNpz(path.join(d, 'u2.npz'), { masks: tensor(new Uint8Array(0), [0, S, S]) }),
    );
    const e2 = await expectRejects(discover({ ...common(), out: out(), masks: none }), IA, A, 'masks');
    expect(e2.message).toMatch(/no masks/);
    const missing = await maskDirWith('m-missing', async () => undefined);
    const o = out();
    const e3 = await expectRejects(
      discover({ ...common(), out: o, masks: missing }),
      FileNotFoundError,
      'E_FILE_NOT_FOUND',
      'masks',
    );
    expect(e3.message).toMatch(/u2\.npz/);
    const float = await maskDirWith('m-float', (d) =>
      writeNpz(path.join(d, 'u2.npz'), { masks: tensor(new Float32Array(4 * S * S).fill(1), [4, S, S]) }),
    );
    await expectRejects(discover({ ...common(), out: out(), masks: float }), DTypeError, 'E_DTYPE', 'masks');
    const colour = await maskDirWith('m-colour', async (d) => {
      mkdirSync(path.join(d, 'u2'));
      await writeImage(path.join(d, 'u2', 'a.png'), {
        width: S,
        height: S,
        channels: 3,
        data: new Uint8Array(S * S * 3).fill(255),
      });
    });
    await expectRejects(discover({ ...common(), out: out(), masks: colour }), IA, A, 'masks');
    const noKey = await maskDirWith('m-nokey', (d) =>
      writeNpz(path.join(d, 'u2.npz'), { m: tensor(quadrantMasks(), [4, S, S]) }),
    );
    await expectRejects(discover({ ...common(), out: out(), masks: noKey }), IA, A, 'masks');
    await expectRejects(
      discover({ ...common(), out: out(), masks: path.join(root, 'nope') }),
      FileNotFoundError,
      'E_FILE_NOT_FOUND',
      'masks',
    );
  });

  test('more novel clusters than masks, unknown label ids, unreadable images, masks and sam together', async () => {
    // 6 novel masks in total: 7 clusters cannot be formed
    const e = (await expectRejects(
      discover({ ...common(), out: out(), masks: masksNpz, novel: 7 }),
      IA,
      A,
      'novel',
    )) as InvalidArgumentError;
    expect(e.expected).toMatch(/6/);
    // a label id ≥ numBase
    const e2 = (await expectRejects(
      discover({ ...common(), out: out(), masks: masksNpz, numBase: 2 }),
      IA,
      A,
      'labels',
    )) as InvalidArgumentError;
    expect(e2.value).toMatch(/id 3 in .*l0\.png/);
    // an unreadable image
    const bad = path.join(root, 'unl-corrupt');
    mkdirSync(bad);
    writeFileSync(
      path.join(bad, 'x.png'),
      Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 1, 2]),
    );
    await expectRejects(discover({ ...common(), unlabeled: bad, out: out() }), CorruptFileError, 'E_CORRUPT_FILE');
    // an unreadable label map
    const badLab = path.join(root, 'lab-corrupt');
    mkdirSync(path.join(badLab, 'labels'), { recursive: true });
    writeFileSync(path.join(badLab, 'a.png'), readFileSync(path.join(labeled, 'l0.png')));
    writeFileSync(
      path.join(badLab, 'labels', 'a.png'),
      Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 1, 2]),
    );
    await expectRejects(discover({ ...common(), labeled: badLab, out: out() }), CorruptFileError, 'E_CORRUPT_FILE');
    await expectRejects(
      discover({ ...common(), out: out(), masks: masksNpz, sam: { encoder: encoderModel(), decoder: decoderModel() } }),
      IA,
      A,
      'masks',
    );
  });
});

describe('discover with SAM-contract models', () => {
  test('one encoder run per image, masks assembled into segments, cached', async () => {
    const gen = await SamMaskGenerator.create(encoderModel(), decoderModel(), {
      device: 'cpu',
      cropNLayers: 0,
      pointsPerSide: 3,
      predIouThresh: 0,
      stabilityScoreThresh: 0,
      minMaskRegionArea: 0,
    });
    try {
      const o = path.join(root, 'out-sam');
      const s = await discover({ ...common(), out: o, sam: gen, assemble: { theta: 20 } });
      expect(s.segmentSource).toBe('sam');
      expect(gen.runs.encoder).toBe(11);
      expect(outFiles(o)).toEqual(['summary.json', ...Array.from({ length: 6 }, (_, i) => `u${i}.png`)]);
      expect(readdirSync(path.join(o, '.gcdss-cache')).length).toBe(11);
      await discover({ ...common(), out: o, sam: gen, assemble: { theta: 20 } });
      expect(gen.runs.encoder).toBe(11); // all from the cache
      // an image for which SAM finds no mask (every predicted IoU below the threshold)
      const e = await expectRejects(
        discover({
          ...common(),
          out: path.join(root, 'out-sam-none'),
          sam: { encoder: encoderModel(), decoder: decoderModel(), options: { predIouThresh: 0.9999, cropNLayers: 0 } },
        }),
        InvalidArgumentError,
        'E_INVALID_ARGUMENT',
        'sam',
      );
      expect(e.message).toMatch(/no masks for .*l0\.png/);
    } finally {
      await gen.dispose();
    }
  });
});

describe('resuming an interrupted discover', () => {
  /** A feature session that counts its runs. */
  async function counting(): Promise<{ session: Session; runs: () => number; close: () => Promise<void> }> {
    const s = await createSession(modelPath, { device: 'cpu' });
    let n = 0;
    const session = {
      name: 'avg-colour',
      inputs: s.inputs,
      outputs: s.outputs,
      run: (...a: Parameters<Session['run']>) => {
        n++;
        return s.run(...a);
      },
    } as unknown as Session;
    return { session, runs: () => n, close: () => s.dispose() };
  }

  test('a run killed after 4 images resumes without recomputing them and writes identical bytes', async () => {
    for (const src of [{}, { masks: masksNpz }]) {
      const ref = path.join(root, `resume-ref-${'masks' in src ? 'm' : 'p'}`);
      const cut = path.join(root, `resume-cut-${'masks' in src ? 'm' : 'p'}`);
      const c = await counting();
      try {
        await discover({ ...common(), ...src, out: ref, model: c.session, cache: false });
        expect(c.runs()).toBe(11); // one batch per image
        let seen = 0;
        await expect(
          discover({
            ...common(),
            ...src,
            out: cut,
            model: c.session,
            onImage: () => {
              if (++seen === 4) throw new Error('killed');
            },
          }),
        ).rejects.toThrow('killed');
        expect(outFiles(cut)).toEqual([]); // no outputs yet, 4 cache entries
        expect(readdirSync(path.join(cut, '.gcdss-cache')).length).toBe(4);
        const before = c.runs();
        const events: boolean[] = [];
        await discover({ ...common(), ...src, out: cut, model: c.session, onImage: (e) => void events.push(e.cached) });
        expect(c.runs() - before).toBe(7); // only the 7 unfinished images ran the model
        expect(events).toEqual([true, true, true, true, false, false, false, false, false, false, false]);
        expect(outFiles(cut)).toEqual(outFiles(ref));
        for (const f of outFiles(ref)) expect(readFileSync(path.join(cut, f))).toEqual(readFileSync(path.join(ref, f)));
        // a changed setting invalidates the entries instead of reusing them
        const after = c.runs();
        await discover({ ...common(), ...src, out: cut, model: c.session, features: { size: 6 } });
        expect(c.runs() - after).toBe(11);
      } finally {
        await c.close();
      }
    }
  });
});

describe('gcdss discover --masks / --sam-encoder --sam-decoder (CLI)', () => {
  const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
  const cli = async (...args: string[]) => {
    const { execFile } = await import('node:child_process');
    return new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, NODE_OPTIONS: '' } }, (err, _o, stderr) =>
        resolve({ code: err ? (err as { code: number }).code : 0, stderr }),
      ),
    );
  };
  const base = () => [
    'discover',
    '--labeled',
    labeled,
    '--unlabeled',
    unlabeled,
    '--model',
    modelPath,
    '--k',
    '4',
    '--seed',
    '3',
    '--novel',
    '1',
    '--size',
    '8',
    '--device',
    'cpu',
  ];
  test('mask sets, SAM models, resume message, usage errors', async () => {
    const out = path.join(root, 'cli-masks');
    const a = await cli(...base(), '--masks', masksNpz, '--out', out);
    expect(a.code).toBe(0);
    expect(a.stderr).toMatch(/6 masks novel/);
    const b = await cli(...base(), '--masks', masksNpz, '--out', out);
    expect(b.stderr).toMatch(/resumed: 11 of 11 images from the cache/);
    const enc = path.join(root, 'enc.onnx');
    const dec = path.join(root, 'dec.onnx');
    writeFileSync(enc, encoderModel());
    writeFileSync(dec, decoderModel());
    const samArgs = ['--sam-encoder', enc, '--sam-decoder', dec, '--points-per-side', '3', '--crop-n-layers', '0'];
    const c = await cli(
      ...base(),
      ...samArgs,
      '--pred-iou-thresh',
      '0',
      '--stability-score-thresh',
      '0',
      '--min-mask-region-area',
      '0',
      '--theta',
      '20',
      '--no-cache',
      '--out',
      path.join(root, 'cli-sam'),
    );
    expect(c.code).toBe(0);
    expect(readdirSync(path.join(root, 'cli-sam'))).not.toContain('.gcdss-cache');
    expect((await cli(...base(), '--sam-encoder', enc, '--out', out)).code).toBe(2);
    expect((await cli(...base(), ...samArgs, '--masks', masksNpz, '--out', out)).code).toBe(2);
    expect((await cli(...base(), '--no-cache', '--cache', out, '--out', out)).code).toBe(2);
    const noDec = await cli(
      ...base(),
      '--sam-encoder',
      enc,
      '--sam-decoder',
      path.join(root, 'none.onnx'),
      '--out',
      out,
    );
    expect(noDec.code).toBe(1);
    expect(noDec.stderr).toMatch(/E_FILE_NOT_FOUND.*sam-decoder/);
    const wrong = await cli(
      ...base(),
      '--sam-encoder',
      dec,
      '--sam-decoder',
      enc,
      '--out',
      path.join(root, 'cli-wrong'),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/E_INVALID_ARGUMENT.*'encoder'/);
  });
});

describe('gcdss discover killed with SIGKILL (CLI)', () => {
  test('the rerun resumes from the cache and writes the bytes of an uninterrupted run', async () => {
    const { spawn, execFile } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
    const many = path.join(root, 'unl-many');
    mkdirSync(many);
    for (let i = 0; i < 40; i++) {
      const base = [0, 1, 2, 3].filter((c) => c !== i % 4);
      const { rgb } = scene(rot([4, ...base], i % 4));
      await writeImage(path.join(many, `m${String(i).padStart(2, '0')}.png`), {
        width: S,
        height: S,
        channels: 3,
        data: rgb,
      });
    }
    const args = (out: string) => [
      CLI,
      'discover',
      '--labeled',
      labeled,
      '--unlabeled',
      many,
      '--model',
      modelPath,
      '--k',
      '4',
      '--seed',
      '3',
      '--novel',
      '1',
      '--size',
      '8',
      '--device',
      'cpu',
      '--out',
      out,
    ];
    const env = { ...process.env, NODE_OPTIONS: '' };
    const runToEnd = (out: string) =>
      new Promise<string>((resolve, reject) =>
        execFile(process.execPath, args(out), { env }, (err, _o, stderr) => (err ? reject(err) : resolve(stderr))),
      );
    const ref = path.join(root, 'kill-ref');
    await runToEnd(ref);
    const out = path.join(root, 'kill-out');
    const cache = path.join(out, '.gcdss-cache');
    const child = spawn(process.execPath, args(out), { env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // kill once a few images are cached
    for (let t = 0; t < 6000; t++) {
      if (existsSync(cache) && readdirSync(cache).filter((f) => f.endsWith('.npz')).length >= 8) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    expect(await exited).toBeNull(); // killed, not finished
    expect(outFiles(out)).toEqual([]); // no outputs of a half-finished run
    const done = readdirSync(cache).filter((f) => f.endsWith('.npz')).length;
    expect(done).toBeGreaterThanOrEqual(8);
    expect(done).toBeLessThan(45);
    const stderr = await runToEnd(out);
    const m = /resumed: (\d+) of 45 images from the cache/.exec(stderr);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(done);
    expect(outFiles(out)).toEqual(outFiles(ref));
    for (const f of outFiles(ref)) expect(readFileSync(path.join(out, f))).toEqual(readFileSync(path.join(ref, f)));
  });
});
