/**
 * faceres: HSE FaceRes (MobileNet-v1 backbone; 1024-d identity descriptor plus age and gender heads) from
 * @vladmandic/human@3.3.6 `models/faceres.{json,bin}` (tfjs graph model, float16 weights), converted to ONNX with the
 * converter in ../tfjs. The ONNX model keeps the tfjs contract: `input` [N, 224, 224, 3] NHWC float32 RGB in 0..255.
 *
 * The conversion is deterministic, so the committed card (models/cards/faceres.card.json) pins the file's sha256.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { draftModelCard, writeFileAtomic, type ModelCard } from '@trustvision/core-tensor';
import { ASSETS, paths } from '../assets.js';
import {
  convertTfjsGraphModel,
  type TfjsConversionReport,
  type TfjsConversionResult,
  type TfjsConvertOptions,
} from '../tfjs/index.js';

export const FACERES_NAME = 'faceres';

/** How faceres.json is converted: input and output names, a symbolic batch with a fixed 224×224 size. */
export const FACERES_CONVERSION: TfjsConvertOptions = {
  inputShapes: { input_1: ['batch', 224, 224, 3] },
  inputNames: { input_1: 'input' },
  outputs: {
    'global_pooling/Mean': 'embedding',
    'age_pred/Softmax': 'age',
    'gender_pred/Sigmoid': 'gender',
  },
  opset: 17,
  graphName: 'faceres',
  docString:
    'HSE FaceRes (MobileNet-v1 backbone) from @vladmandic/human@3.3.6 models/faceres, converted from tfjs by ' +
    '@trustvision/models. Input: RGB face crop, NHWC, 224x224, values 0..255.',
  metadata: { source: `${ASSETS.human.name}@${ASSETS.human.version} models/faceres`, license: 'MIT' },
};

/** Path of faceres.json in the pinned @vladmandic/human tarball (fetched into the cache on first use). */
export function faceresTfjsPath(): string {
  return path.join(paths.humanModels(), 'faceres.json');
}

/** Converts faceres in memory. */
export function convertFaceres(modelJson: string = faceresTfjsPath()): Promise<TfjsConversionResult> {
  return convertTfjsGraphModel(modelJson, FACERES_CONVERSION);
}

/** The card fields besides what `draftModelCard` reads from the file. */
function cardFields(): Parameters<typeof draftModelCard>[1] {
  return {
    name: FACERES_NAME,
    version: ASSETS.human.version,
    task: 'face-recognition',
    description:
      'Face descriptor (1024-d, compare with cosine similarity) with age and gender heads. HSE FaceRes, ' +
      'MobileNet-v1 backbone, as shipped in @vladmandic/human (fp16 weights, dequantized to float32).',
    file: `${FACERES_NAME}.onnx`,
    inputs: [
      {
        name: 'input',
        dtype: 'float32',
        shape: ['batch', 224, 224, 3],
        layout: 'NHWC',
        range: [0, 255],
        description: 'RGB face crop resized to 224x224 (bilinear), pixel values 0..255',
      },
    ],
    outputs: [
      {
        name: 'embedding',
        dtype: 'float32',
        shape: ['batch', 1024],
        layout: 'NC',
        range: [0, 6],
        description: 'identity descriptor: global mean of the ReLU6 MobileNet features (tfjs global_pooling/Mean)',
      },
      {
        name: 'age',
        dtype: 'float32',
        shape: ['batch', 100],
        layout: 'NC',
        range: [0, 1],
        description: 'softmax over age in years 0..99 (tfjs age_pred/Softmax)',
      },
      {
        name: 'gender',
        dtype: 'float32',
        shape: ['batch', 1],
        layout: 'NC',
        range: [0, 1],
        description: 'sigmoid score, > 0.5 male, <= 0.5 female, as human reads it (tfjs gender_pred/Sigmoid)',
      },
    ],
    preprocessing: {
      size: 224,
      range: [0, 255],
      layout: 'NHWC',
      colour: 'RGB',
      crop: 'face box',
      resize: 'bilinear',
      note: 'human crops the detected face box (no landmark alignment) and scales 0..1 pixels by 255',
    },
    provenance: {
      source: '@vladmandic/human@3.3.6 models/faceres (HSE FaceRes, MobileNet-v1 backbone)',
      license: 'MIT',
      method: 'models/src/tfjs converter',
      standIn: false,
    },
  };
}

export interface BuiltFaceres {
  path: string;
  card: ModelCard;
  report: TfjsConversionReport;
}

/** Converts faceres and writes `faceres.onnx` and `faceres.card.json` into `outDir`. */
export async function buildFaceres(outDir: string): Promise<BuiltFaceres> {
  const { bytes, report } = await convertFaceres();
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${FACERES_NAME}.onnx`);
  const card = await draftModelCard(bytes, cardFields());
  await writeFileAtomic(file, bytes);
  await writeFileAtomic(
    path.join(outDir, `${FACERES_NAME}.card.json`),
    new TextEncoder().encode(JSON.stringify(card, null, 2) + '\n'),
  );
  return { path: file, card, report };
}

/** The recipe as models/src/build.ts runs it. */
export const faceresRecipe = {
  name: FACERES_NAME,
  description: 'HSE FaceRes 1024-d face descriptor + age/gender, from @vladmandic/human@3.3.6 (tfjs → ONNX)',
  build: buildFaceres,
};
