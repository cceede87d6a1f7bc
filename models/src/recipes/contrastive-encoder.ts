/**
 * contrastive-encoder: the STAND-IN frozen encoder for @trustvision/prob-contrastive. arXiv 2112.01642 names no
 * encoder and publishes no weights; this is a small CNN trained self-supervised (SimCLR-style NT-Xent on two augmented
 * views, no labels) on Fashion-MNIST by models/python/contrastive_encoder.py, exported to ONNX with one output,
 * `features` [batch, 128]. The package trains its projection + κ head on these features in TypeScript.
 *
 * The trained ONNX (~0.4 MB, MIT) is committed as models/prebuilt/contrastive-encoder.onnx with its training log; the
 * recipe copies it and its committed card, checking the sha256. `contrastiveEncoderCard` drafts the card from a new
 * training log after retraining (`/usr/bin/python3 models/python/contrastive_encoder.py --out DIR`).
 */
import path from 'node:path';
import { draftModelCard, type ModelCard } from '@trustvision/core-tensor';
import type { BuiltModel, Recipe } from '../build.js';
import { copyCommittedModel } from './prebuilt.js';
import { modelsRoot } from './fashion-classifier.js';

export const CONTRASTIVE_ENCODER = 'contrastive-encoder';
const FILE = `${CONTRASTIVE_ENCODER}.onnx`;
const SCRIPT = 'models/python/contrastive_encoder.py';

/** The part of contrastive-encoder.log.json the card is drafted from. */
export interface ContrastiveTrainingLog {
  seed: number;
  command?: string | null;
  args: { epochs: number; threads: number; batch: number; tau: number; lr: number; limit?: number };
  versions: { torch: string; python: string };
  data: { normalisation: { mean: number; std: number } };
  parameters: number;
  augmentation: string;
  epochs: { epoch: number; loss: number; seconds: number }[];
  knn20_test_accuracy: number;
  onnx: { sha256: string; bytes: number; ir_version: number; opset: number };
  train_seconds: number;
}

export const contrastiveEncoderPaths = (root = modelsRoot()) => ({
  prebuilt: path.join(root, 'prebuilt', FILE),
  prebuiltLog: path.join(root, 'prebuilt', `${CONTRASTIVE_ENCODER}.log.json`),
  card: path.join(root, 'cards', `${CONTRASTIVE_ENCODER}.card.json`),
});

/** Drafts the card for the ONNX `bytes` from its training log. */
export async function contrastiveEncoderCard(bytes: Uint8Array, log: ContrastiveTrainingLog): Promise<ModelCard> {
  const { mean, std } = log.data.normalisation;
  const command = log.command
    ? log.command.replace(/--out(=|\s+)\S+/, '--out$1OUT').replace(/\S*contrastive_encoder\.py/, SCRIPT)
    : `/usr/bin/python3 ${SCRIPT} --out OUT --epochs ${log.args.epochs} --seed ${log.seed} --threads ${log.args.threads}`;
  return draftModelCard(bytes, {
    name: CONTRASTIVE_ENCODER,
    version: '1.0.0',
    task: 'image-feature-extraction',
    file: FILE,
    description:
      'STAND-IN encoder for the probabilistic contrastive loss (arXiv 2112.01642 names no encoder and ships no ' +
      `weights): a small CNN (3 conv blocks, ${log.parameters.toLocaleString('en-US')} parameters) trained by ` +
      'TrustVision self-supervised (SimCLR-style NT-Xent, no labels) on Fashion-MNIST. Frozen; ' +
      "@trustvision/prob-contrastive trains its projection + kappa head on the features. Its figures are not the paper's.",
    inputs: [
      {
        name: 'input',
        dtype: 'float32',
        shape: ['batch', 1, 28, 28],
        layout: 'NCHW',
        range: [0, 1],
        description: 'grayscale 28x28 images, pixel / 255; mean/std normalisation is inside the graph',
      },
    ],
    outputs: [
      {
        name: 'features',
        dtype: 'float32',
        shape: ['batch', 128],
        layout: 'NC',
        description:
          'the representation (ReLU of a 128-unit Linear after the conv trunk); the SimCLR projection head is not exported',
      },
    ],
    preprocessing: {
      size: 28,
      layout: 'NCHW',
      colour: 'grayscale',
      range: [0, 1],
      scale: 'pixel / 255 (Fashion-MNIST convention: light object on a black background)',
      normalisation: `inside the graph: (x - ${mean.toFixed(6)}) / ${std.toFixed(6)}, computed on the 55,000 training images`,
    },
    provenance: {
      source: SCRIPT,
      license: 'MIT',
      standIn: true,
      data:
        'Fashion-MNIST (Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1), official train 0..54999' +
        (log.args.limit ? ` (first ${log.args.limit} only)` : '') +
        ', images only (no labels)',
      method:
        `${command} (PyTorch ${log.versions.torch}, Python ${log.versions.python}, CPU, ${log.args.threads} thread${log.args.threads === 1 ? '' : 's'}, ` +
        `seed ${log.seed}, ${log.args.epochs} epochs, batch ${log.args.batch} x 2 views, NT-Xent tau ${log.args.tau}, Adam lr ${log.args.lr} cosine; ` +
        `augmentation: ${log.augmentation}; torch.onnx.export opset ${log.onnx.opset}, IR version ${log.onnx.ir_version}, dynamic batch)`,
    },
    metrics: {
      knn20TestAccuracy: log.knn20_test_accuracy,
      note: '20-NN accuracy (cosine, train features -> official test) as a quality figure only; the encoder never saw labels',
      finalNtXent: log.epochs[log.epochs.length - 1]?.loss,
      trainSeconds: log.train_seconds,
      seed: log.seed,
      command,
    },
  });
}

/** Copies the committed encoder and its committed card into `outDir`, checking that they agree. */
export async function buildContrastiveEncoder(
  outDir: string,
  options: { modelsRoot?: string; log?: (line: string) => void } = {},
): Promise<BuiltModel> {
  const files = contrastiveEncoderPaths(options.modelsRoot);
  return copyCommittedModel(
    { name: CONTRASTIVE_ENCODER, prebuilt: files.prebuilt, card: files.card },
    outDir,
    options.log,
  );
}

export const contrastiveEncoderRecipe: Recipe = {
  name: CONTRASTIVE_ENCODER,
  description: 'prob-contrastive stand-in: small SimCLR CNN on Fashion-MNIST (committed ONNX, 128-d features)',
  build: (outDir) => buildContrastiveEncoder(outDir),
};
