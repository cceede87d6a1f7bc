/**
 * The Solvay 1927 face benchmark: two different photographs of the same 29 people (Debian visp-images-data
 * 3.5.0-1; public domain, 1927).
 *
 *   photo 1    faces/1280px-Solvay_conference_1927.png (1280×926) with faces/ground_truth_detection.txt: 30
 *              hand-made boxes ("detection_N", then 4 corners as "row col"). Box 0 holds no face (checked by eye:
 *              background balustrade), so 29 are faces.
 *   Version2   Solvay/Solvay_conference_1927_Version2_1280x881.png: the other photograph taken that day.
 *
 * Detection is scored on photo 1 against the boxes (recall at IoU ≥ 0.5 and ≥ 0.3, one-to-one greedy matching).
 * Verification uses the identity pairs in test/fixtures/solvay/pairs.json — which Version2 face is which photo-1
 * face, confirmed by eye on a contact sheet (see the README there), never by the model under test: the genuine
 * pairs are (photo-1 face i, Version2 face of i), the impostor pairs (photo-1 face i, Version2 face of j ≠ i).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BlazeFaceDetector,
  FacePipeline,
  InvalidArgumentError,
  boxIou,
  cropSquare,
  eer,
  readImage,
  rank1,
  rocAuc,
  tarAtFar,
  type AlignmentMode,
  type BlazeFaceDetectOptions,
  type Box,
  type Device,
  type FaceDetection,
  type Image,
} from '@trustvision/core-tensor';
import { paths } from './assets.js';
import { modelsWorkspace } from './build.js';

export const SOLVAY_PHOTO1 = 'faces/1280px-Solvay_conference_1927.png';
export const SOLVAY_PHOTO1_BOXES = 'faces/ground_truth_detection.txt';
export const SOLVAY_VERSION2 = 'Solvay/Solvay_conference_1927_Version2_1280x881.png';
/** Ground-truth boxes of photo 1 that hold no face (checked by eye). */
export const SOLVAY_NOT_A_FACE: readonly number[] = Object.freeze([0]);

/**
 * Detection settings that find the Solvay faces (40–80 px in 1280-px photos): the front model needs tiles about
 * four times the face size, the back model about seven times. Tuned on photo 1 only.
 */
export const SOLVAY_DETECTION: Readonly<Record<'blazeface' | 'blazeface-back', BlazeFaceDetectOptions>> = Object.freeze(
  {
    blazeface: {
      tiles: [128, 160, 200].map((size) => ({ size, overlap: 0.5 })),
      scoreThreshold: 0.65,
      maxFaceSize: 150,
    },
    'blazeface-back': {
      tiles: [{ size: 320, overlap: 0.5 }],
      scoreThreshold: 0.5,
      maxFaceSize: 150,
    },
  },
);

/** Parses ground_truth_detection.txt: "detection_N" followed by four "row col" corner lines. */
export function parseSolvayBoxes(text: string): Box[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const boxes: Box[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^detection_\d+$/.test(lines[i])) continue;
    const corners = lines.slice(i + 1, i + 5).map((l) => l.split(/\s+/).map(Number));
    if (corners.length !== 4 || corners.some((c) => c.length !== 2 || !c.every(Number.isFinite)))
      throw new InvalidArgumentError('ground truth', lines[i], 'four "row col" lines after each detection_N');
    const rows = corners.map((c) => c[0]);
    const cols = corners.map((c) => c[1]);
    const x = Math.min(...cols);
    const y = Math.min(...rows);
    boxes.push({ x, y, width: Math.max(...cols) - x, height: Math.max(...rows) - y });
  }
  return boxes;
}

export interface SolvayData {
  photo1: Image;
  version2: Image;
  /** The 30 boxes of photo 1 (index = detection_N). */
  boxes: Box[];
}

/** Reads both photos and the boxes from the cached visp-images-data package (fetched on first use). */
export async function loadSolvay(root = paths.vispImages()): Promise<SolvayData> {
  return {
    photo1: await readImage(path.join(root, SOLVAY_PHOTO1)),
    version2: await readImage(path.join(root, SOLVAY_VERSION2)),
    boxes: parseSolvayBoxes(readFileSync(path.join(root, SOLVAY_PHOTO1_BOXES), 'utf8')),
  };
}

export interface SolvayPair {
  /** Identity number = the photo-1 ground-truth index (detection_N). */
  id: number;
  photo1Box: Box;
  /** The same person's face in Version2 (1280×881 pixels). */
  version2Box: Box;
  /** How the correspondence was established and checked. */
  confirmed: string;
  /** What was compared by eye. */
  notes?: string;
}

export interface SolvayPairs {
  schema: 'trustvision.solvay-pairs/1';
  description: string;
  photo1: { file: string; width: number; height: number; boxes: string };
  version2: { file: string; width: number; height: number };
  source: string;
  excluded: { id: number; reason: string }[];
  pairs: SolvayPair[];
}

/** The committed pair list (models/test/fixtures/solvay/pairs.json). */
export function solvayPairsPath(): string {
  return path.join(modelsWorkspace(), 'test', 'fixtures', 'solvay', 'pairs.json');
}

export function loadSolvayPairs(file = solvayPairsPath()): SolvayPairs {
  const p = JSON.parse(readFileSync(file, 'utf8')) as SolvayPairs;
  if (p.schema !== 'trustvision.solvay-pairs/1' || !Array.isArray(p.pairs))
    throw new InvalidArgumentError('pairs', file, 'a trustvision.solvay-pairs/1 file');
  return p;
}

/**
 * One-to-one greedy matching of detections to reference boxes: all pairs with IoU ≥ `minIou`, highest IoU first.
 * Returns, per reference box, the index of its detection (or -1) and the IoU.
 */
export function matchBoxes(
  detections: readonly Box[],
  refs: readonly Box[],
  minIou: number,
): { det: number; iou: number }[] {
  const cand: [number, number, number][] = [];
  detections.forEach((d, i) =>
    refs.forEach((r, j) => {
      const v = boxIou(d, r);
      if (v >= minIou && v > 0) cand.push([v, i, j]);
    }),
  );
  cand.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
  const out = refs.map(() => ({ det: -1, iou: 0 }));
  const used = new Set<number>();
  for (const [v, i, j] of cand)
    if (out[j].det < 0 && !used.has(i)) {
      out[j] = { det: i, iou: v };
      used.add(i);
    }
  return out;
}

export interface DetectionReport {
  detections: number;
  /** Over all 30 boxes (box 0 holds no face, so at most 29/30). */
  recall50: number;
  recall30: number;
  /** Over the 29 boxes that hold a face. */
  recall50Faces: number;
  recall30Faces: number;
  /** Detections matching no box at IoU ≥ 0.3 (false positives). */
  unmatched: number;
  /** Matched detections / all detections, at IoU ≥ 0.3. */
  precision30: number;
  /** Best IoU of each box with any detection. */
  bestIou: number[];
  ms: number;
}

/** Detection recall/precision on photo 1. */
export async function evaluateDetection(
  detector: BlazeFaceDetector | FacePipeline,
  data: SolvayData,
  options: BlazeFaceDetectOptions,
): Promise<DetectionReport & { faces: FaceDetection[] }> {
  const t0 = Date.now();
  const faces = await detector.detect(data.photo1, options);
  const ms = Date.now() - t0;
  const boxes = faces.map((f) => f.box);
  const m50 = matchBoxes(boxes, data.boxes, 0.5);
  const m30 = matchBoxes(boxes, data.boxes, 0.3);
  const n = data.boxes.length;
  const real = n - SOLVAY_NOT_A_FACE.length;
  const hit50 = m50.filter((m) => m.det >= 0).length;
  const hit30 = m30.filter((m) => m.det >= 0).length;
  return {
    detections: faces.length,
    recall50: hit50 / n,
    recall30: hit30 / n,
    recall50Faces: m50.filter((m, j) => m.det >= 0 && !SOLVAY_NOT_A_FACE.includes(j)).length / real,
    recall30Faces: m30.filter((m, j) => m.det >= 0 && !SOLVAY_NOT_A_FACE.includes(j)).length / real,
    unmatched: faces.length - hit30,
    precision30: faces.length ? hit30 / faces.length : 0,
    bestIou: data.boxes.map((b) => Math.max(0, ...boxes.map((d) => boxIou(d, b)))),
    ms,
    faces,
  };
}

/**
 * The detection for each reference box: the matched detection (IoU ≥ 0.3), else a second look at a square region
 * around the box (a zoomed-in detector run), else undefined.
 */
export async function facesForBoxes(
  detector: BlazeFaceDetector,
  image: Image,
  detections: readonly FaceDetection[],
  refs: readonly Box[],
): Promise<{ face: FaceDetection | undefined; source: 'detected' | 'zoomed' | 'missing' }[]> {
  const m = matchBoxes(
    detections.map((d) => d.box),
    refs,
    0.3,
  );
  const zoom = detector.inputSize === 256 ? 7 : 4; // tile side / face side that each model handles well
  return Promise.all(
    refs.map(async (r, j) => {
      if (m[j].det >= 0) return { face: detections[m[j].det], source: 'detected' as const };
      const side = Math.max(r.width, r.height) * zoom;
      const found = await detector.detectRegion(
        image,
        { x: r.x + r.width / 2 - side / 2, y: r.y + r.height / 2 - side / 2, size: side },
        { scoreThreshold: 0.3 },
      );
      let best: FaceDetection | undefined;
      let bestIou = 0.2;
      for (const f of found) {
        const v = boxIou(f.box, r);
        if (v > bestIou) {
          best = f;
          bestIou = v;
        }
      }
      return best ? { face: best, source: 'zoomed' as const } : { face: undefined, source: 'missing' as const };
    }),
  );
}

export interface VerificationReport {
  alignment: AlignmentMode;
  identities: number;
  genuine: number;
  impostor: number;
  auc: number;
  eer: number;
  eerThreshold: number;
  /** TAR at FAR = 1e-2 (null when there are fewer than 100 impostor pairs). */
  tarAtFar1e2: number | null;
  thresholdAtFar1e2: number | null;
  /** Each Version2 face against the photo-1 faces of all identities. */
  rank1: number;
  /** Version2 faces whose best photo-1 match is someone else: [id, wrongly chosen id, genuine score, best score]. */
  rank1Errors: [number, number, number, number][];
  /** How the faces were found: detected in the first pass, in a zoomed second look, or missing (skipped). */
  faceSources: { photo1: Record<string, number>; version2: Record<string, number> };
  meanGenuine: number;
  meanImpostor: number;
  ms: number;
}

export interface VerificationOptions {
  alignment: AlignmentMode;
  /** Only these identities (default: all pairs). */
  ids?: readonly number[];
  detectOptions?: BlazeFaceDetectOptions;
}

/**
 * Cross-photo verification with a FacePipeline: faces are detected in both photos (matched to the reference boxes
 * of the pair list), aligned by `alignment`, embedded; scores are cosine similarities.
 */
export async function evaluateVerification(
  pipeline: FacePipeline,
  data: SolvayData,
  pairs: SolvayPairs,
  options: VerificationOptions,
): Promise<VerificationReport> {
  const t0 = Date.now();
  const list = options.ids ? pairs.pairs.filter((p) => options.ids!.includes(p.id)) : pairs.pairs;
  if (list.length < 2) throw new InvalidArgumentError('ids', options.ids, 'at least two identities of the pair list');
  const detect = options.detectOptions ?? {};
  const d1 = await pipeline.detect(data.photo1, detect);
  const d2 = await pipeline.detect(data.version2, detect);
  const f1 = await facesForBoxes(
    pipeline.detector,
    data.photo1,
    d1,
    list.map((p) => p.photo1Box),
  );
  const f2 = await facesForBoxes(
    pipeline.detector,
    data.version2,
    d2,
    list.map((p) => p.version2Box),
  );
  const count = (fs: { source: string }[]) =>
    fs.reduce<Record<string, number>>((acc, f) => ((acc[f.source] = (acc[f.source] ?? 0) + 1), acc), {});
  const keep = list.map((_, i) => i).filter((i) => f1[i].face && f2[i].face);
  const ids = keep.map((i) => list[i].id);
  const crops1 = keep.map((i) => pipeline.align(data.photo1, f1[i].face!, undefined, options.alignment));
  const crops2 = keep.map((i) => pipeline.align(data.version2, f2[i].face!, undefined, options.alignment));
  const e1 = await pipeline.embed(crops1);
  const e2 = await pipeline.embed(crops2);
  const n = keep.length;
  const d = e1.shape[1];
  // sim[p][g] = Version2 face p vs photo-1 face g
  const sim: Float64Array[] = [];
  for (let p = 0; p < n; p++) {
    const row = new Float64Array(n);
    for (let g = 0; g < n; g++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += e2.data[p * d + k] * e1.data[g * d + k];
      row[g] = s;
    }
    sim.push(row);
  }
  const scores: number[] = [];
  const labels: number[] = [];
  const errors: [number, number, number, number][] = [];
  let gen = 0;
  let imp = 0;
  for (let p = 0; p < n; p++) {
    let best = 0;
    for (let g = 0; g < n; g++) {
      scores.push(sim[p][g]);
      labels.push(p === g ? 1 : 0);
      if (p === g) gen += sim[p][g];
      else imp += sim[p][g];
      if (sim[p][g] > sim[p][best]) best = g;
    }
    if (best !== p) errors.push([ids[p], ids[best], sim[p][p], sim[p][best]]);
  }
  const nImp = n * (n - 1);
  const e = eer(scores, labels);
  const tar = nImp >= 100 ? tarAtFar(scores, labels, 1e-2) : null;
  return {
    alignment: options.alignment,
    identities: n,
    genuine: n,
    impostor: nImp,
    auc: rocAuc(scores, labels),
    eer: e.eer,
    eerThreshold: e.threshold,
    tarAtFar1e2: tar ? tar.tar : null,
    thresholdAtFar1e2: tar ? tar.threshold : null,
    rank1: rank1(sim, ids, ids),
    rank1Errors: errors,
    faceSources: { photo1: count(f1), version2: count(f2) },
    meanGenuine: gen / n,
    meanImpostor: imp / nImp,
    ms: Date.now() - t0,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// contact sheet

/** 3×5 bitmaps of the characters used in labels. */
const GLYPHS: Record<string, string> = {
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '111001111100111',
  '3': '111001111001111',
  '4': '101101111001001',
  '5': '111100111001111',
  '6': '111100111101111',
  '7': '111001001001001',
  '8': '111101111101111',
  '9': '111101111001111',
  '-': '000000111000000',
  ':': '000010000010000',
  ' ': '000000000000000',
};

function drawText(img: Image, s: string, x: number, y: number, scale: number, value: [number, number, number]): void {
  for (let i = 0; i < s.length; i++) {
    const g = GLYPHS[s[i]] ?? GLYPHS[' '];
    for (let r = 0; r < 5; r++)
      for (let c = 0; c < 3; c++) {
        if (g[r * 3 + c] !== '1') continue;
        for (let dy = 0; dy < scale; dy++)
          for (let dx = 0; dx < scale; dx++) {
            const px = x + (i * 4 + c) * scale + dx;
            const py = y + r * scale + dy;
            if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
            img.data.set(value, (py * img.width + px) * 3);
          }
      }
  }
}

function paste(dst: Image, src: Image, x: number, y: number): void {
  for (let r = 0; r < src.height; r++)
    for (let c = 0; c < src.width; c++) {
      const s = (r * src.width + c) * src.channels;
      const v =
        src.channels >= 3 ? [src.data[s], src.data[s + 1], src.data[s + 2]] : [src.data[s], src.data[s], src.data[s]];
      dst.data.set(v, ((y + r) * dst.width + x + c) * 3);
    }
}

/**
 * A contact sheet for checking the pair list by eye: per identity, the photo-1 face (left) next to the Version2
 * face (right), labelled "id"; faces are cropped around their boxes (`margin` × the box side) and scaled to `size`.
 */
export function solvayContactSheet(
  data: SolvayData,
  pairs: readonly SolvayPair[],
  options: { size?: number; perRow?: number; margin?: number } = {},
): Image {
  const size = options.size ?? 128;
  const perRow = options.perRow ?? 4;
  const margin = options.margin ?? 1.8;
  const label = 7 * 3;
  const cellW = 2 * size + 4 + 16;
  const cellH = size + label + 8;
  const rows = Math.ceil(pairs.length / perRow);
  const sheet: Image = {
    width: perRow * cellW,
    height: rows * cellH,
    channels: 3,
    data: new Uint8Array(perRow * cellW * rows * cellH * 3).fill(255),
  };
  const crop = (img: Image, b: Box) => {
    const s = Math.max(b.width, b.height) * margin;
    return cropSquare(img, { x: b.x + b.width / 2 - s / 2, y: b.y + b.height / 2 - s / 2, size: s }, size);
  };
  pairs.forEach((p, k) => {
    const x = (k % perRow) * cellW;
    const y = Math.floor(k / perRow) * cellH;
    drawText(sheet, String(p.id), x + 2, y + 2, 3, [200, 0, 0]);
    paste(sheet, crop(data.photo1, p.photo1Box), x, y + label);
    paste(sheet, crop(data.version2, p.version2Box), x + size + 4, y + label);
  });
  return sheet;
}

export interface SolvayBenchmarkOptions {
  detector?: 'blazeface' | 'blazeface-back';
  embedder?: string;
  device?: Device;
  alignments?: readonly AlignmentMode[];
  ids?: readonly number[];
}

export interface SolvayBenchmarkResult {
  detector: string;
  embedder: string;
  detectionSettings: BlazeFaceDetectOptions;
  detection: { photo1: DetectionReport };
  verification: VerificationReport[];
}

/** The full evaluation: detection on photo 1, then verification for each alignment mode. */
export async function runSolvayBenchmark(options: SolvayBenchmarkOptions = {}): Promise<SolvayBenchmarkResult> {
  const detectorName = options.detector ?? 'blazeface';
  const embedder = options.embedder ?? 'faceres';
  const settings = SOLVAY_DETECTION[detectorName];
  const data = await loadSolvay();
  const pairs = loadSolvayPairs();
  const result: SolvayBenchmarkResult = {
    detector: detectorName,
    embedder,
    detectionSettings: settings,
    detection: { photo1: undefined as unknown as DetectionReport },
    verification: [],
  };
  const detector = await BlazeFaceDetector.create(detectorName, { device: options.device, detect: settings });
  try {
    const { faces: _faces, ...report } = await evaluateDetection(detector, data, settings);
    result.detection.photo1 = report;
    for (const alignment of options.alignments ?? (['similarity', 'box'] as const)) {
      const pipeline = await FacePipeline.create({ detector, embedder, device: options.device, alignment });
      try {
        result.verification.push(await evaluateVerification(pipeline, data, pairs, { alignment, ids: options.ids }));
      } finally {
        await pipeline.dispose();
      }
    }
  } finally {
    await detector.dispose();
  }
  return result;
}
