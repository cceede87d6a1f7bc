/**
 * Cityscapes-GCD: the splits and remapping of spec §6, PIL-exact resizing (test/fixtures/pil_ref.py), the loader on
 * a tiny synthesised Cityscapes-layout folder, `prepareCityscapesGcd` (+ resume) and `gcdss cityscapes`.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import { FileNotFoundError, InvalidArgumentError, ShapeError, readImage, writeImage } from '@trustvision/core-tensor';
import {
  CITYSCAPES_CLASSES,
  GCD_NOVEL_SPLITS,
  cityscapesPairs,
  cityscapesPool,
  formGcdSplit,
  gcdSplit,
  loadCityscapesPair,
  pilResize,
  prepareCityscapesGcd,
  readSplitList,
} from '../src/index.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../dist/esm/cli.js');
const root = mkdtempSync(path.join(os.tmpdir(), 'gcdss-cityscapes-'));
const cs = path.join(root, 'cityscapes');
const splitDir = path.join(root, 'split');
const W = 32;
const H = 16;
// train ids per image: left half class a, right half class b (label ids written for the 'labelIds' images)
const TRAIN_TO_LABEL = [7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33];
const IMAGES: { stem: string; subset: string; a: number; b: number; kind: 'trainIds' | 'labelIds' }[] = [
  { stem: 'aachen_000000_000019', subset: 'train', a: 0, b: 13, kind: 'trainIds' },
  { stem: 'aachen_000001_000019', subset: 'train', a: 1, b: 15, kind: 'trainIds' }, // bus: novel in split 1
  { stem: 'aachen_000002_000019', subset: 'train', a: 2, b: 10, kind: 'labelIds' },
  { stem: 'bochum_000000_000600', subset: 'train', a: 8, b: 3, kind: 'trainIds' }, // wall: novel in split 1
  { stem: 'frankfurt_000000_000294', subset: 'val', a: 11, b: 255, kind: 'labelIds' },
  { stem: 'frankfurt_000001_000538', subset: 'val', a: 17, b: 18, kind: 'trainIds' },
];

function rgb(seed: number): Uint8Array {
  return Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 29 + seed * 71 + ((i / 3) | 0) * 5) % 256);
}

beforeAll(async () => {
  for (const im of IMAGES) {
    const city = im.stem.split('_')[0];
    const id = path.join(cs, 'leftImg8bit', im.subset, city);
    const gd = path.join(cs, 'gtFine', im.subset, city);
    mkdirSync(id, { recursive: true });
    mkdirSync(gd, { recursive: true });
    await writeImage(path.join(id, `${im.stem}_leftImg8bit.png`), {
      width: W,
      height: H,
      channels: 3,
      data: rgb(IMAGES.indexOf(im)),
    });
    const lab = new Uint8Array(W * H);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const t = x < W / 2 ? im.a : im.b;
        lab[y * W + x] = im.kind === 'trainIds' ? t : t === 255 ? 0 : TRAIN_TO_LABEL[t]; // label id 0 = unlabeled
      }
    const name = `${im.stem}_gtFine_${im.kind === 'trainIds' ? 'labelTrainIds' : 'labelIds'}.png`;
    await writeImage(path.join(gd, name), { width: W, height: H, channels: 1, data: lab });
  }
  mkdirSync(splitDir);
  const tag = '3_15_16_17';
  writeFileSync(path.join(splitDir, `label_gcd_novel_${tag}.txt`), 'aachen_000000_000019\naachen_000002_000019'); // no final newline
  writeFileSync(
    path.join(splitDir, `unlabel_gcd_novel_${tag}.txt`),
    'aachen_000001_000019\nbochum_000000_000600\nfrankfurt_000000_000294\nfrankfurt_000001_000538\n',
  );
});

describe('splits (spec §6)', () => {
  test('split 1 = the official default: base order and novel remapping', () => {
    const s = gcdSplit(1);
    expect(s.novel).toEqual([3, 15, 16, 17]);
    expect(s.names).toEqual([
      'road',
      'sidewalk',
      'building',
      'fence',
      'pole',
      'traffic light',
      'traffic sign',
      'vegetation',
      'terrain',
      'sky',
      'person',
      'rider',
      'car',
      'truck',
      'bicycle',
      'wall',
      'bus',
      'train',
      'motorcycle',
    ]);
    expect([s.remap[3], s.remap[15], s.remap[16], s.remap[17], s.remap[18], s.remap[255]]).toEqual([
      15, 16, 17, 18, 14, 255,
    ]);
    expect(s.labeledFile).toBe('label_gcd_novel_3_15_16_17.txt');
    expect(s.unlabeledFile).toBe('unlabel_gcd_novel_3_15_16_17.txt');
    expect(gcdSplit('16,15,3,17').index).toBe(1);
    expect(gcdSplit([12, 14, 15, 16]).index).toBe(4);
    expect(GCD_NOVEL_SPLITS.map((n) => n.join(','))).toEqual([
      '3,15,16,17',
      '3,14,15,16',
      '4,14,15,16',
      '12,14,15,16',
      '12,15,16,17',
    ]);
    for (let i = 1; i <= 5; i++) {
      const t = gcdSplit(i);
      expect(t.base.length).toBe(15);
      expect(new Set([...t.base, ...t.novel]).size).toBe(19);
      expect(t.names.slice(15)).toEqual(t.novel.map((n) => CITYSCAPES_CLASSES[n]));
    }
    expectThrows(() => gcdSplit(0), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'split');
    expectThrows(() => gcdSplit(6), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'split');
    expectThrows(() => gcdSplit('3,4,5,6'), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'split');
  });

  test('split lists from the official files; typed errors', async () => {
    expect(await readSplitList(splitDir, 1, 'labeled')).toEqual(['aachen_000000_000019', 'aachen_000002_000019']);
    expect((await readSplitList(splitDir, '3,15,16,17', 'unlabeled')).length).toBe(4);
    await expectRejects(readSplitList(splitDir, 2, 'labeled'), FileNotFoundError, 'E_FILE_NOT_FOUND', 'splitDir');
    const bad = path.join(root, 'bad-split');
    mkdirSync(bad);
    writeFileSync(path.join(bad, 'label_gcd_novel_3_15_16_17.txt'), 'aachen_000000_000019\nnot a stem\n');
    await expectRejects(readSplitList(bad, 1, 'labeled'), InvalidArgumentError, 'E_INVALID_ARGUMENT', 'splitDir');
  });
});

describe('PIL-exact resize', () => {
  const g = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/pil_golden.json'), 'utf8')) as {
    cases: {
      name: string;
      width: number;
      height: number;
      channels: 1 | 3;
      data: number[];
      outW: number;
      outH: number;
      resample: 'bilinear' | 'nearest';
      out: number[];
    }[];
  };
  test.each(g.cases.map((c) => [c.name, c] as const))('%s equals PIL 9.4 byte for byte', (_, c) => {
    const r = pilResize(
      { width: c.width, height: c.height, channels: c.channels, data: Uint8Array.from(c.data) },
      c.outW,
      c.outH,
      c.resample,
    );
    expect(Array.from(r.data)).toEqual(c.out);
  });
});

describe('loader on a synthesised Cityscapes folder', () => {
  test('pairs: train/val cities, labelTrainIds or labelIds', async () => {
    const pairs = await cityscapesPairs(
      cs,
      IMAGES.map((i) => i.stem),
    );
    expect(pairs.map((p) => [p.subset, p.labelKind])).toEqual(IMAGES.map((i) => [i.subset, i.kind]));
    expect(await cityscapesPool(cs)).toEqual(IMAGES.map((i) => i.stem).sort());
  });

  test('half resolution: PIL bilinear image, nearest labels, remapped by the split', async () => {
    const s = gcdSplit(1);
    for (const im of IMAGES) {
      const [p] = await cityscapesPairs(cs, [im.stem]);
      const r = await loadCityscapesPair(p, s);
      expect([r.width, r.height]).toEqual([W / 2, H / 2]);
      const src = await readImage(p.image);
      expect(Array.from(r.image.data)).toEqual(Array.from(pilResize(src, W / 2, H / 2).data));
      for (let y = 0; y < H / 2; y++)
        for (let x = 0; x < W / 2; x++) expect(r.labels[y * (W / 2) + x]).toBe(s.remap[x < W / 4 ? im.a : im.b]);
    }
  });

  test('typed errors: missing folders and files, unknown ids, wrong sizes', async () => {
    const FNF = FileNotFoundError;
    await expectRejects(cityscapesPairs(path.join(root, 'none'), []), FNF, 'E_FILE_NOT_FOUND', 'root');
    const noGt = path.join(root, 'no-gt');
    mkdirSync(path.join(noGt, 'leftImg8bit'), { recursive: true });
    const e = await expectRejects(cityscapesPairs(noGt, []), FNF, 'E_FILE_NOT_FOUND', 'root');
    expect((e as FileNotFoundError).path).toMatch(/gtFine$/);
    await expectRejects(cityscapesPairs(cs, ['aachen_000099_000019']), FNF, 'E_FILE_NOT_FOUND', 'image');
    await expectRejects(
      cityscapesPairs(cs, ['aachen_00000_000019']),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'stems',
    );
    // an image without label file
    const lone = path.join(cs, 'leftImg8bit', 'train', 'aachen', 'aachen_000050_000019_leftImg8bit.png');
    await writeImage(lone, { width: W, height: H, channels: 3, data: rgb(9) });
    await expectRejects(cityscapesPairs(cs, ['aachen_000050_000019']), FNF, 'E_FILE_NOT_FOUND', 'label');
    rmSync(lone);
    // unknown ids: a train id 19 and a label id 40
    const [p] = await cityscapesPairs(cs, [IMAGES[0].stem]);
    const odd = path.join(root, 'odd.png');
    await writeImage(odd, { width: W, height: H, channels: 1, data: new Uint8Array(W * H).fill(19) });
    const e2 = await expectRejects(
      loadCityscapesPair({ ...p, label: odd }, gcdSplit(1)),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels',
    );
    expect((e2 as InvalidArgumentError).expected).toBe('a train id in [0, 18] or 255 (void)');
    await writeImage(odd, { width: W, height: H, channels: 1, data: new Uint8Array(W * H).fill(40) });
    await expectRejects(
      loadCityscapesPair({ ...p, label: odd, labelKind: 'labelIds' }, gcdSplit(1)),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labels',
    );
    await writeImage(odd, { width: 8, height: 8, channels: 1, data: new Uint8Array(64) });
    await expectRejects(loadCityscapesPair({ ...p, label: odd }, gcdSplit(1)), ShapeError, 'E_SHAPE', 'labels');
    await expectRejects(
      loadCityscapesPair(p, gcdSplit(1), { scale: 2 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'scale',
    );
  });

  test('a formed split: novel-free images labelled, seeded, disjoint', async () => {
    const f = await formGcdSplit(cs, 1, { labeledFraction: 0.5, seed: 1 });
    expect(f.labeled.length).toBe(3);
    expect(new Set([...f.labeled, ...f.unlabeled]).size).toBe(6);
    // images with wall (3), bus (15) or motorcycle (17) cannot be labelled
    for (const st of ['aachen_000001_000019', 'bochum_000000_000600', 'frankfurt_000001_000538'])
      expect(f.unlabeled).toContain(st);
    expect(await formGcdSplit(cs, 1, { labeledFraction: 0.5, seed: 1 })).toEqual(f);
    await expectRejects(
      formGcdSplit(cs, 1, { labeledFraction: 0.9 }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'labeledFraction',
    );
  });
});

describe('prepareCityscapesGcd and `gcdss cityscapes`', () => {
  test('writes the discover layout; a rerun skips finished images; other settings are refused', async () => {
    const out = path.join(root, 'prep');
    const events: boolean[] = [];
    const s = await prepareCityscapesGcd({
      root: cs,
      split: 1,
      out,
      splitDir,
      onImage: (e) => void events.push(e.skipped),
    });
    expect(s).toMatchObject({
      split: 1,
      labeled: 2,
      unlabeled: 4,
      lists: 'split files',
      scale: 0.5,
      novelPixelsInLabeled: 0,
    });
    expect(events).toEqual([false, false, false, false, false, false]);
    expect(readdirSync(path.join(out, 'labeled')).sort()).toEqual([
      'aachen_000000_000019.png',
      'aachen_000002_000019.png',
      'labels',
    ]);
    expect(readdirSync(path.join(out, 'gt')).length).toBe(4);
    const gt = await readImage(path.join(out, 'gt', 'aachen_000001_000019.png'));
    expect([gt.data[0], gt.data[W / 2 - 1]]).toEqual([1, 16]); // sidewalk → 1, bus → 16
    // interrupted after writing: remove one image's files, rerun → only that one is redone
    rmSync(path.join(out, 'unlabeled', 'bochum_000000_000600.png'));
    const again: boolean[] = [];
    await prepareCityscapesGcd({ root: cs, split: 1, out, splitDir, onImage: (e) => void again.push(e.skipped) });
    expect(again).toEqual([true, true, true, false, true, true]);
    await expectRejects(
      prepareCityscapesGcd({ root: cs, split: 2, out, splitDir }),
      InvalidArgumentError,
      'E_INVALID_ARGUMENT',
      'out',
    );
    // labelled images with novel pixels: set to ignore and counted (split 2's novel 14..16 has none; use a formed list)
    const out2 = path.join(root, 'prep2');
    const bad = path.join(root, 'split-novel');
    mkdirSync(bad);
    writeFileSync(path.join(bad, 'label_gcd_novel_3_15_16_17.txt'), 'aachen_000001_000019');
    writeFileSync(path.join(bad, 'unlabel_gcd_novel_3_15_16_17.txt'), 'aachen_000000_000019');
    const s2 = await prepareCityscapesGcd({ root: cs, split: 1, out: out2, splitDir: bad });
    expect(s2.novelPixelsInLabeled).toBe(((W / 2) * (H / 2)) / 2);
    const lab = await readImage(path.join(out2, 'labeled', 'labels', 'aachen_000001_000019.png'));
    expect([lab.data[0], lab.data[W / 2 - 1]]).toEqual([1, 255]);
  });

  test('CLI: exit 0 with a summary, 1 on a missing folder, 2 on usage errors', async () => {
    if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing (npm run build)`);
    const cli = async (...args: string[]) => {
      try {
        const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, NODE_OPTIONS: '' } });
        return { code: 0, ...r };
      } catch (e) {
        return e as { code: number; stdout: string; stderr: string };
      }
    };
    const out = path.join(root, 'cli-prep');
    const ok = await cli('cityscapes', '--root', cs, '--split', '3,15,16,17', '--split-dir', splitDir, '--out', out);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/split 1 \(novel 3,15,16,17: wall, bus, train, motorcycle\), 2 labelled \+ 4 unlabelled/);
    expect(JSON.parse(readFileSync(path.join(out, 'cityscapes-gcd.json'), 'utf8')).unlabeled).toBe(4);
    const missing = await cli(
      'cityscapes',
      '--root',
      path.join(root, 'none'),
      '--split',
      '1',
      '--out',
      path.join(root, 'x'),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/E_FILE_NOT_FOUND/);
    expect((await cli('cityscapes', '--root', cs, '--out', out)).code).toBe(2);
  });
});
