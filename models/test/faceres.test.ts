/**
 * faceres end to end: the recipe converts @vladmandic/human's faceres deterministically (the committed card pins its
 * sha256), and the ONNX model run with ONNX Runtime matches the tfjs model run with tfjs-cpu on real face crops
 * (4 of the 30 hand-made boxes of the 1927 Solvay photo, 15% margin, bilinear resize to 224).
 *
 * Tolerances: embedding max |ort − tfjs| ≤ 1e-3 · max |embedding| and cosine(ort, tfjs) > 0.9999 per face;
 * age (softmax) and gender (sigmoid) max abs error ≤ 1e-4.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkModelAgainstCard,
  convertChannels,
  imageToTensor,
  inspectModel,
  parseModelCard,
  readImage,
  resizeImage,
  type Image,
} from '@trustvision/core-tensor';
import { paths } from '../src/assets';
import { buildFaceres, faceresTfjsPath, type BuiltFaceres } from '../src/recipes/faceres';
import { maxAbs, maxAbsDiff, runOrt, runTfjsInNode, type Feed } from './fixtures/tfjs/graph';

const FACES = [0, 9, 18, 27];
const MARGIN = 0.15;
const SIZE = 224;

/** Face boxes of ground_truth_detection.txt: `detection_N` then 4 corner lines `row col`. */
function groundTruth(text: string): { top: number; left: number; bottom: number; right: number }[] {
  const boxes: { top: number; left: number; bottom: number; right: number }[] = [];
  let corners: number[][] = [];
  const flush = () => {
    if (!corners.length) return;
    const rows = corners.map((c) => c[0]);
    const cols = corners.map((c) => c[1]);
    boxes.push({
      top: Math.min(...rows),
      bottom: Math.max(...rows),
      left: Math.min(...cols),
      right: Math.max(...cols),
    });
    corners = [];
  };
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line) continue;
    if (line.startsWith('detection')) flush();
    else corners.push(line.split(/\s+/).map(Number));
  }
  flush();
  return boxes;
}

function crop(img: Image, x0: number, y0: number, x1: number, y1: number): Image {
  const w = x1 - x0;
  const h = y1 - y0;
  const c = img.channels;
  const data = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++)
    data.set(img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x1) * c), y * w * c);
  return { width: w, height: h, channels: c, data };
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

const row = (f: Feed, i: number, n: number) => f.data.subarray(i * n, (i + 1) * n);

describe('faceres (tfjs → ONNX)', () => {
  let dir: string;
  let built: BuiltFaceres;
  let bytes: Uint8Array;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'faceres-'));
    built = await buildFaceres(dir);
    bytes = new Uint8Array(readFileSync(built.path));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('builds deterministically the model its committed card describes', async () => {
    const committed = parseModelCard(readFileSync(path.join(__dirname, '..', 'cards', 'faceres.card.json'), 'utf8'));
    expect(built.card).toEqual(committed);
    expect(parseModelCard(readFileSync(path.join(dir, 'faceres.card.json'), 'utf8'))).toEqual(committed);
    await checkModelAgainstCard(bytes, committed, built.path);
    const info = inspectModel(bytes);
    expect(info.opsets['ai.onnx']).toBe(17);
    expect(info.irVersion).toBeLessThanOrEqual(10);
    expect(info.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['batch', 224, 224, 3] }]);
    expect(info.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['embedding', ['batch', 1024]],
      ['age', ['batch', 100]],
      ['gender', ['batch', 1]],
    ]);
    // one layout change, at the input; the 2-D outputs need none
    expect(built.report.layoutTransposes).toBe(1);
    expect(built.report.weights.parameters).toBe(3489405);
  });

  test('matches tfjs-cpu on 4 real face crops from the Solvay 1927 photo', async () => {
    const faces = path.join(paths.vispImages(), 'faces');
    const img = await readImage(path.join(faces, '1280px-Solvay_conference_1927.png'));
    const boxes = groundTruth(readFileSync(path.join(faces, 'ground_truth_detection.txt'), 'utf8'));
    expect(boxes).toHaveLength(30);
    const n = FACES.length;
    const batch = new Float32Array(n * SIZE * SIZE * 3);
    FACES.forEach((k, i) => {
      const b = boxes[k];
      const mw = MARGIN * (b.right - b.left);
      const mh = MARGIN * (b.bottom - b.top);
      const x0 = Math.max(0, Math.round(b.left - mw));
      const y0 = Math.max(0, Math.round(b.top - mh));
      const x1 = Math.min(img.width, Math.round(b.right + mw));
      const y1 = Math.min(img.height, Math.round(b.bottom + mh));
      const face = resizeImage(convertChannels(crop(img, x0, y0, x1, y1), 3), SIZE, SIZE);
      const t = imageToTensor(face, { layout: 'hwc', scale: '0-255' });
      batch.set(t.data as Float32Array, i * SIZE * SIZE * 3);
    });
    const feedShape = [n, SIZE, SIZE, 3];

    const ort = await runOrt(bytes, { input: { data: batch, shape: feedShape } });
    const tfjs = await runTfjsInNode(faceresTfjsPath(), { input_1: { data: batch, shape: feedShape } }, [
      'global_pooling/Mean',
      'age_pred/Softmax',
      'gender_pred/Sigmoid',
    ]);
    const [embRef, ageRef, genderRef] = tfjs;
    expect(ort.embedding.shape).toEqual([n, 1024]);
    expect(ort.age.shape).toEqual([n, 100]);
    expect(ort.gender.shape).toEqual([n, 1]);
    const embErr = maxAbsDiff(ort.embedding.data, embRef.data);
    const embScale = maxAbs(embRef.data);
    const ageErr = maxAbsDiff(ort.age.data, ageRef.data);
    const genderErr = maxAbsDiff(ort.gender.data, genderRef.data);
    const cos = FACES.map((_, i) => cosine(row(ort.embedding, i, 1024), row(embRef, i, 1024)));
    // different people must get different descriptors
    const cross: number[] = [];
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) cross.push(cosine(row(embRef, i, 1024), row(embRef, j, 1024)));
    console.log(
      `faceres ORT vs tfjs-cpu on Solvay faces ${FACES.join(', ')}: ` +
        `embedding max abs err ${embErr.toExponential(2)} (max |embedding| ${embScale.toFixed(3)}, ` +
        `relative ${(embErr / embScale).toExponential(2)}), cosine min ${Math.min(...cos).toFixed(8)}; ` +
        `age max abs err ${ageErr.toExponential(2)}; gender max abs err ${genderErr.toExponential(2)}; ` +
        `cosine between different faces max ${Math.max(...cross).toFixed(3)}`,
    );
    expect(embErr).toBeLessThanOrEqual(1e-3 * embScale);
    for (const c of cos) expect(c).toBeGreaterThan(0.9999);
    expect(ageErr).toBeLessThanOrEqual(1e-4);
    expect(genderErr).toBeLessThanOrEqual(1e-4);
    expect(Math.max(...cross)).toBeLessThan(0.95);
  }, 120_000); // ~15 s on 2 idle cores; headroom for loaded CI machines
});
