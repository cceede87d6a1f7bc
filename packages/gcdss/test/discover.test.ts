/**
 * `discover` end to end on tiny synthetic scenes: four flat-coloured quadrants per image whose colour encodes the
 * class (classes 0–3 base, class 4 only in unlabelled images), features = the global average colour of the masked
 * crop (a GraphBuilder model), pseudo-labels evaluated with `evaluateLabelDirs` and `gcdss evaluate`; error paths and
 * CLI exit codes.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expectRejects } from '@trustvision/jest-preset/expect-errors';
import { FileNotFoundError, InvalidArgumentError, ShapeError, writeImage } from '@trustvision/core-tensor';
import { discover, evaluateLabelDirs, readLabelPng, writeLabelPng } from '../src/index.js';
import { avgColourModel, quadrantScene } from './quadrant-scenes.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const root = mkdtempSync(path.join(os.tmpdir(), 'gcdss-discover-'));
const S = 24; // image side; quadrants of 12×12
const labeled = path.join(root, 'labeled');
const unlabeled = path.join(root, 'unlabeled');
const gtDir = path.join(root, 'gt'); // ground truth of the unlabelled images (for evaluation only)
const modelPath = path.join(root, 'features.onnx');

const scene = (classes: number[]) => quadrantScene(S, classes);

/** Files other than the cache in `dir` (none when it does not exist). */
const outputs = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : []);

const rot = (a: number[], r: number) => a.map((_, i) => a[(i + r) % a.length]);

async function writeScene(dir: string, name: string, classes: number[], gtOut?: string) {
  const { rgb, gt } = scene(classes);
  await writeImage(path.join(dir, `${name}.png`), { width: S, height: S, channels: 3, data: rgb });
  if (gtOut) await writeLabelPng(path.join(gtOut, `${name}.png`), gt, S, S);
  return gt;
}

beforeAll(async () => {
  mkdirSync(path.join(labeled, 'labels'), { recursive: true });
  mkdirSync(unlabeled);
  mkdirSync(gtDir);
  writeFileSync(modelPath, avgColourModel());
  // labelled: 6 images of the four base classes, one label pixel block set to ignore in the first
  for (let i = 0; i < 6; i++) {
    const gt = await writeScene(labeled, `l${i}`, rot([0, 1, 2, 3], i % 4));
    if (i === 0) for (let x = 0; x < 5; x++) gt[x] = 255; // a few ignore pixels: still a majority of class pixels
    await writeLabelPng(path.join(labeled, 'labels', `l${i}.png`), gt, S, S);
  }
  // unlabelled: 8 images, each with the novel class 4 and three base classes
  for (let i = 0; i < 8; i++) {
    const base = [0, 1, 2, 3].filter((c) => c !== i % 4);
    await writeScene(unlabeled, `u${i}`, rot([4, ...base], i % 4), gtDir);
  }
});

const common = () => ({
  labeled,
  unlabeled,
  model: modelPath,
  k: 5,
  seed: 1,
  device: 'cpu' as const,
  propose: { sigma: 0 },
  features: { size: 8 },
});

describe('discover (API)', () => {
  test('NeRG-MaskCA discovers the novel class: mIoU 1 on the unlabelled images', async () => {
    const out = path.join(root, 'out-nerg');
    const s = await discover({ ...common(), out, novel: 1 });
    expect(s).toMatchObject({
      method: 'nerg',
      segmentSource: 'propose',
      labeledImages: 6,
      unlabeledImages: 8,
      labeledMasks: 24,
      skippedLabeledMasks: 0,
      unlabeledMasks: 32,
      numBase: 4,
      novel: 1,
      novelEstimated: false,
      novelMasks: 8,
    });
    expect(
      readdirSync(out)
        .filter((f) => !f.startsWith('.'))
        .sort(),
    ).toEqual(['summary.json', ...Array.from({ length: 8 }, (_, i) => `u${i}.png`)].sort());
    expect(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'))).toEqual(s);
    const p = await readLabelPng(path.join(out, 'u0.png'));
    expect([p.width, p.height]).toEqual([S, S]);
    expect(p.labels[0]).toBe(4); // top-left quadrant of u0 is the novel class → cluster 0 → numBase + 0
    for (const protocol of ['per-image', 'dataset'] as const) {
      const r = await evaluateLabelDirs(out, gtDir, { base: [0, 1, 2, 3], novel: [4], protocol });
      expect(r.miou).toBeCloseTo(1, 12);
      expect(r.miouNovel).toBeCloseTo(1, 12);
      expect(r.matching).toEqual({ 4: 4 });
    }
  });

  test('the baseline too; NeRG-MaskCA without --novel records an estimate', async () => {
    const b = await discover({ ...common(), out: path.join(root, 'out-base'), method: 'baseline', novel: 1 });
    expect(b.novel).toBe(1);
    const r = await evaluateLabelDirs(path.join(root, 'out-base'), gtDir, { base: [0, 1, 2, 3], novel: [4] });
    expect(r.miou).toBeCloseTo(1, 12);
    const e = await discover({ ...common(), out: path.join(root, 'out-est') });
    expect(e.novelEstimated).toBe(true);
    expect(e.novel).toBeGreaterThanOrEqual(1);
  });

  test('mostly-ignored segments are left out of the labelled masks', async () => {
    const dir = path.join(root, 'lab-ignore');
    mkdirSync(path.join(dir, 'labels'), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const gt = await writeScene(dir, `l${i}`, rot([0, 1, 2, 3], i % 4));
      if (i === 0) for (let y = 0; y < S / 2; y++) for (let x = 0; x < S / 2; x++) gt[y * S + x] = 255;
      await writeLabelPng(path.join(dir, 'labels', `l${i}.png`), gt, S, S);
    }
    const s = await discover({ ...common(), labeled: dir, out: path.join(root, 'out-ign'), novel: 1 });
    expect(s.labeledMasks).toBe(23);
    expect(s.skippedLabeledMasks).toBe(1);
  });

  test('errors: missing folders and label maps, wrong sizes, unknown ids, too many novel clusters', async () => {
    const FNF = FileNotFoundError;
    const IA = InvalidArgumentError;
    const out = path.join(root, 'out-err');
    await expectRejects(
      discover({ ...common(), labeled: path.join(root, 'none'), out }),
      FNF,
      'E_FILE_NOT_FOUND',
      'labeled',
    );
    await expectRejects(
      discover({ ...common(), unlabeled: path.join(root, 'none'), out }),
      FNF,
      'E_FILE_NOT_FOUND',
      'unlabeled',
    );
    // an image without a label map
    const noLab = path.join(root, 'lab-missing');
    mkdirSync(path.join(noLab, 'labels'), { recursive: true });
    await writeScene(noLab, 'a', [0, 1, 2, 3]);
    await expectRejects(discover({ ...common(), labeled: noLab, out }), FNF, 'E_FILE_NOT_FOUND', 'labels');
    // a label map of the wrong size
    const wrong = path.join(root, 'lab-size');
    mkdirSync(path.join(wrong, 'labels'), { recursive: true });
    await writeScene(wrong, 'a', [0, 1, 2, 3]);
    await writeLabelPng(path.join(wrong, 'labels', 'a.png'), new Uint8Array(S * 12), S, 12);
    await expectRejects(discover({ ...common(), labeled: wrong, out }), ShapeError, 'E_SHAPE', 'labels');
    // ids past numBase
    await expectRejects(discover({ ...common(), out, numBase: 3 }), IA, 'E_INVALID_ARGUMENT', 'labels');
    // more novel clusters than novel candidate masks (8)
    await expectRejects(discover({ ...common(), out, novel: 9 }), IA, 'E_INVALID_ARGUMENT', 'novel');
    await expectRejects(discover({ ...common(), out, novel: 252 }), IA, 'E_INVALID_ARGUMENT', 'novel');
    await expectRejects(discover({ ...common(), out: unlabeled }), IA, 'E_INVALID_ARGUMENT', 'out');
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    await expectRejects(discover({ ...common(), unlabeled: empty, out }), IA, 'E_INVALID_ARGUMENT', 'unlabeled');
    expect(outputs(out)).toEqual([]); // no outputs on failure (only the cache of finished images)
  });
});

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

describe('gcdss discover (CLI)', () => {
  const base = () => ['discover', '--labeled', labeled, '--unlabeled', unlabeled, '--model', modelPath];
  const opts = ['--k', '5', '--sigma', '0', '--size', '8', '--device', 'cpu'];
  test('writes pseudo-labels that `gcdss evaluate` scores at mIoU 1', async () => {
    if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
    const out = path.join(root, 'cli-out');
    const r = await cli(...base(), '--out', out, '--novel', '1', ...opts);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/4 base classes, 1 novel clusters, 8 masks novel/);
    const e = await cli('evaluate', '--pred', out, '--gt', gtDir, '--base', '0,1,2,3', '--novel', '4', '--json');
    expect(e.code).toBe(0);
    const j = JSON.parse(e.stdout);
    expect(j.miou).toBeCloseTo(1, 12);
    expect(j.miou_novel).toBeCloseTo(1, 12);
    expect(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')).novel).toBe(1);
  });
  test('exit 2 on usage errors, 1 on typed errors', async () => {
    const out = path.join(root, 'cli-err');
    expect((await cli('discover', '--labeled', labeled, '--unlabeled', unlabeled, '--out', out)).code).toBe(2);
    expect((await cli(...base())).code).toBe(2);
    expect((await cli(...base(), '--out', out, '--method', 'nerg-official-leak')).code).toBe(2);
    expect((await cli(...base(), '--out', out, '--method', 'baseline')).code).toBe(2);
    expect((await cli(...base(), '--out', out, '--novel', 'two')).code).toBe(2);
    const noModel = await cli(...base().slice(0, -1), path.join(root, 'none.onnx'), '--out', out);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/error \[E_FILE_NOT_FOUND\]/);
    const noDir = await cli(
      'discover',
      '--labeled',
      path.join(root, 'none'),
      '--unlabeled',
      unlabeled,
      '--model',
      modelPath,
      '--out',
      out,
    );
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toMatch(/error \[E_FILE_NOT_FOUND\].*'labeled'/);
    const tooMany = await cli(...base(), '--out', out, '--novel', '9', ...opts);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toMatch(/error \[E_INVALID_ARGUMENT\].*novel/);
    const unknown = await cli(...base(), '--out', out, '--num-base', '3', ...opts);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error \[E_INVALID_ARGUMENT\].*'labels'/);
    expect(outputs(out)).toEqual([]);
  });
});
