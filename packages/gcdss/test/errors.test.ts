/** Every typed error path of the public API: code and param. */
import { describe, test } from '@jest/globals';
import { expectRejects, expectThrows } from '@trustvision/jest-preset/expect-errors';
import {
  CorruptFileError,
  DTypeError,
  FileNotFoundError,
  InvalidArgumentError,
  NonFiniteError,
  ShapeError,
  UnsupportedFormatError,
} from '@trustvision/core-tensor';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  evaluateLabelDirs,
  evaluateLabelMaps,
  MiouEvaluator,
  nergMaskCA,
  nergOfficialLeak,
  clusterMasks,
  paintLabelMap,
  readLabelPng,
  ssKMeansBaseline,
  weightedKMeans,
  writeLabelPng,
  estimateClusterCount,
} from '../src/index.js';
import { golden, goldenMasks } from './helpers.js';

const g = golden().nerg;
const masks = goldenMasks;
const IA = InvalidArgumentError;
const A = 'E_INVALID_ARGUMENT';

describe('mask sets', () => {
  test('features: not a matrix, wrong rank, wrong length, bigint, non-finite, zero row', async () => {
    await expectRejects(nergMaskCA({ ...masks(), features: [1, 2] as never }), IA, A, 'features');
    await expectRejects(
      nergMaskCA({ ...masks(), features: { data: new Float32Array(8), shape: [8] } }),
      ShapeError,
      'E_SHAPE',
      'features',
    );
    await expectRejects(
      nergMaskCA({ ...masks(), features: { data: new Float32Array(8), shape: [4, 3] } }),
      ShapeError,
      'E_SHAPE',
      'features',
    );
    await expectRejects(
      nergMaskCA({ ...masks(), features: { data: new BigInt64Array(g.M * g.D) as never, shape: [g.M, g.D] } }),
      DTypeError,
      'E_DTYPE',
      'features',
    );
    const nan = Float32Array.from(g.features);
    nan[5] = NaN;
    await expectRejects(
      nergMaskCA({ ...masks(), features: { data: nan, shape: [g.M, g.D] } }),
      NonFiniteError,
      'E_NON_FINITE',
      'features',
    );
    const zero = Float32Array.from(g.features);
    zero.fill(0, 2 * g.D, 3 * g.D);
    await expectRejects(nergMaskCA({ ...masks(), features: { data: zero, shape: [g.M, g.D] } }), IA, A, 'features[2]');
  });
  test('areas: wrong length, negative, non-finite; labels: out of range, none labelled, none unlabelled', async () => {
    await expectRejects(nergMaskCA({ ...masks(), areas: new Float32Array(3) }), ShapeError, 'E_SHAPE', 'areas');
    const neg = Float32Array.from(g.areas);
    neg[1] = -1;
    await expectRejects(nergMaskCA({ ...masks(), areas: neg }), IA, A, 'areas[1]');
    const inf = Float32Array.from(g.areas);
    inf[0] = Infinity;
    await expectRejects(nergMaskCA({ ...masks(), areas: inf }), NonFiniteError, 'E_NON_FINITE', 'areas');
    const bad = Int32Array.from(g.labels);
    bad[0] = -2;
    await expectRejects(nergMaskCA({ ...masks(), labels: bad }), IA, A, 'labels[0]');
    await expectRejects(nergMaskCA({ ...masks(), labels: new Int32Array(g.M).fill(-1) }), IA, A, 'labels');
    await expectRejects(nergMaskCA({ ...masks(), labels: new Int32Array(g.M).fill(1) }), IA, A, 'labels');
    await expectRejects(nergMaskCA(null as never), IA, A, 'masks');
  });
  test('options: k, threshold, numBase below the labels, more novel clusters than candidate masks, method', async () => {
    await expectRejects(nergMaskCA(masks(), { k: 0 }), IA, A, 'k');
    await expectRejects(nergMaskCA(masks(), { k: g.M }), IA, A, 'k');
    await expectRejects(nergMaskCA(masks(), { threshold: 2 }), IA, A, 'threshold');
    await expectRejects(nergMaskCA(masks(), { maxIterations: 0 }), IA, A, 'maxIterations');
    await expectRejects(nergMaskCA(masks(), { numBase: 1 }), IA, A, 'numBase');
    await expectRejects(nergMaskCA(masks(), { novel: 1000 }), IA, A, 'novel');
    await expectRejects(nergMaskCA(masks(), { novel: 0 }), IA, A, 'novel');
    await expectRejects(clusterMasks(masks(), { method: 'x' as never }), IA, A, 'method');
    await expectRejects(clusterMasks(masks(), { method: 'baseline' }), IA, A, 'novel');
  });
  test('the leak variant needs gt, with ids that index unlabelled masks', async () => {
    const { gt: _gt, ...noGt } = masks();
    void _gt;
    await expectRejects(nergOfficialLeak(noGt), IA, A, 'gt');
    await expectRejects(nergOfficialLeak({ ...masks(), gt: new Int32Array(g.M).fill(10000) }), IA, A, 'gt[0]');
  });
  test('baseline: novel missing, too many, bad init', () => {
    expectThrows(() => ssKMeansBaseline(masks(), undefined as never), IA, A, 'novel');
    expectThrows(() => ssKMeansBaseline(masks(), { novel: 1000 }), IA, A, 'novel');
    expectThrows(() => ssKMeansBaseline(masks(), { novel: 2, init: new Float64Array(3) }), IA, A, 'init');
    expectThrows(() => ssKMeansBaseline(masks(), { novel: 2, nInit: 0 }), IA, A, 'nInit');
  });
  test('k-means: k out of range, init of the wrong size; estimate with too few points', async () => {
    const x = new Float32Array(8);
    const w = new Float64Array(4).fill(1);
    await expectRejects(weightedKMeans(x, 4, 2, w, 0), IA, A, 'k');
    await expectRejects(weightedKMeans(x, 4, 2, w, 5), IA, A, 'k');
    await expectRejects(weightedKMeans(x, 4, 2, w, 2, { init: new Float32Array(3) }), IA, A, 'init');
    await expectRejects(estimateClusterCount(x, 2, 4, w), IA, A, 'masks');
    await expectRejects(estimateClusterCount(x, 4, 2, w, { minK: 1 }), IA, A, 'minK');
  });
});

describe('evaluation', () => {
  const opts = { base: [0, 1], novel: [2] };
  const pair = (gt: number[], pred: number[]) => ({
    gt: Uint8Array.from(gt),
    pred: Uint8Array.from(pred),
    width: 2,
    height: 2,
  });
  test('unknown ground-truth ids, bad predicted ids, wrong sizes', () => {
    expectThrows(() => evaluateLabelMaps([pair([0, 1, 7, 0], [0, 1, 2, 0])], opts), IA, A, 'gt');
    expectThrows(
      () => evaluateLabelMaps([{ ...pair([0, 1, 2, 0], [0, 0, 0, 0]), pred: Float32Array.of(0, 0.5, 0, 0) }], opts),
      IA,
      A,
      'pred',
    );
    expectThrows(
      () => evaluateLabelMaps([{ ...pair([0, 1, 2, 0], [0, 0, 0, 0]), width: 3 }], opts),
      ShapeError,
      'E_SHAPE',
      'pred',
    );
    expectThrows(
      () => evaluateLabelMaps([{ ...pair([0, 1, 2, 0], [0, 0, 0, 0]), gt: Uint8Array.of(0) }], opts),
      ShapeError,
      'E_SHAPE',
      'gt',
    );
    expectThrows(() => evaluateLabelMaps([{ ...pair([0, 1, 2, 0], [0, 0, 0, 0]), width: 0 }], opts), IA, A, 'width');
    expectThrows(
      () => evaluateLabelMaps([{ ...pair([0, 1, 2, 0], [0, 0, 0, 0]), height: 1.5 }], opts),
      IA,
      A,
      'height',
    );
    expectThrows(() => evaluateLabelMaps([], opts), IA, A, 'pairs');
  });
  test('class lists: duplicates, ignore among the classes, non-integers, empty, protocol', () => {
    expectThrows(() => new MiouEvaluator({ base: [0, 1], novel: [1] }), IA, A, 'novel');
    expectThrows(() => new MiouEvaluator({ base: [0, 255], novel: [2] }), IA, A, 'ignore');
    expectThrows(() => new MiouEvaluator({ base: [0.5], novel: [2] }), IA, A, 'base');
    expectThrows(() => new MiouEvaluator({ base: 'x' as never, novel: [2] }), IA, A, 'base');
    expectThrows(() => new MiouEvaluator({ base: [], novel: [] }), IA, A, 'base');
    expectThrows(() => new MiouEvaluator(null as never), IA, A, 'options');
    expectThrows(() => new MiouEvaluator(opts).report('x' as never), IA, A, 'protocol');
  });
  test('PNG folders: missing folders and files, colour PNGs, size mismatch', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gcdss-err-'));
    const p = path.join(dir, 'p');
    const q = path.join(dir, 'q');
    await expectRejects(evaluateLabelDirs(p, q, opts), FileNotFoundError, 'E_FILE_NOT_FOUND', 'pred');
    mkdirSync(p);
    mkdirSync(q);
    await expectRejects(evaluateLabelDirs(p, q, opts), IA, A, 'pred'); // no PNGs
    await writeLabelPng(path.join(p, 'a.png'), Uint8Array.of(0, 1, 2, 0), 2, 2);
    await expectRejects(evaluateLabelDirs(p, q, opts), FileNotFoundError, 'E_FILE_NOT_FOUND', 'gt');
    await writeLabelPng(path.join(q, 'b.png'), Uint8Array.of(0, 1, 2, 0), 2, 2);
    await expectRejects(evaluateLabelDirs(p, q, opts), FileNotFoundError, 'E_FILE_NOT_FOUND', 'gt');
    await writeLabelPng(path.join(q, 'a.png'), Uint8Array.of(0, 1, 2, 0, 0, 0), 3, 2);
    await expectRejects(evaluateLabelDirs(p, q, opts), FileNotFoundError, 'E_FILE_NOT_FOUND', 'pred');
    await writeLabelPng(path.join(p, 'b.png'), Uint8Array.of(0, 1, 2, 0), 2, 2);
    await expectRejects(evaluateLabelDirs(p, q, opts), ShapeError, 'E_SHAPE', 'pred');
    await expectRejects(
      evaluateLabelDirs(path.join(dir, 'nothing'), q, opts),
      FileNotFoundError,
      'E_FILE_NOT_FOUND',
      'pred',
    );
    // a colour PNG is not a label map; a corrupt one is a CorruptFileError from core-tensor
    const { writeImage } = await import('@trustvision/core-tensor');
    await writeImage(path.join(dir, 'rgb.png'), { width: 1, height: 1, channels: 3, data: Uint8Array.of(1, 2, 3) });
    await expectRejects(readLabelPng(path.join(dir, 'rgb.png')), IA, A, 'labels');
    writeFileSync(
      path.join(dir, 'bad.png'),
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2),
    );
    await expectRejects(readLabelPng(path.join(dir, 'bad.png')), CorruptFileError, 'E_CORRUPT_FILE');
    writeFileSync(path.join(dir, 'text.png'), 'not a png');
    await expectRejects(readLabelPng(path.join(dir, 'text.png')), UnsupportedFormatError, 'E_UNSUPPORTED_FORMAT');
  });
});

describe('painting', () => {
  test('wrong sizes, labels beyond 8 bits, unknown segment ids, bad unassigned value, non-Uint8 writes', async () => {
    expectThrows(() => paintLabelMap(new Uint16Array(5), 3, 2, [1]), ShapeError, 'E_SHAPE', 'segments');
    expectThrows(() => paintLabelMap(new Uint16Array(6), 0, 2, [1]), IA, A, 'width');
    expectThrows(() => paintLabelMap(new Uint16Array(6), 3, -1, [1]), IA, A, 'height');
    expectThrows(() => paintLabelMap(new Uint16Array(6), 3, 2, [300]), IA, A, 'segmentLabels[0]');
    expectThrows(() => paintLabelMap(Uint16Array.of(0, 0, 0, 0, 0, 2), 3, 2, [1]), IA, A, 'segments');
    expectThrows(() => paintLabelMap(new Uint16Array(6), 3, 2, [1], { unassigned: 256 }), IA, A, 'unassigned');
    await expectRejects(writeLabelPng('/tmp/x.png', new Int32Array(4) as never, 2, 2), DTypeError, 'E_DTYPE', 'labels');
    await expectRejects(writeLabelPng('/tmp/x.png', new Uint8Array(3), 2, 2), ShapeError, 'E_SHAPE', 'labels');
  });
});
