/**
 * gcdss-encoder: the STAND-IN mask-feature encoder for @trustvision/gcdss's synthetic scene benchmark. GCDSS's
 * features come from DINOv2 ViT-g/14 (+ ImageNet head), which is not available here; this is a small CNN trained by
 * models/python/gcdss_encoder.py on masked crops of Fashion-MNIST objects of the benchmark's BASE classes only (plus
 * background texture), cut out the way gcdss's `maskFeatures` cuts out a segment, and exported to ONNX with the
 * `maskFeatures` contract at size 32: input [batch, 3, 32, 32] ImageNet-normalised, first output `features`
 * [batch, 128].
 *
 * The trained ONNX (~0.6 MB, MIT) is committed as models/prebuilt/gcdss-encoder.onnx with its training log; the recipe
 * copies it and its committed card, checking the sha256. `gcdssEncoderCard` drafts the card from a new training log
 * after retraining (`/usr/bin/python3 models/python/gcdss_encoder.py --out DIR`).
 */
import path from 'node:path';
import { draftModelCard, type ModelCard } from '@trustvision/core-tensor';
import type { BuiltModel, Recipe } from '../build.js';
import { copyCommittedModel } from './prebuilt.js';
import { modelsRoot } from './fashion-classifier.js';

export const GCDSS_ENCODER = 'gcdss-encoder';
const FILE = `${GCDSS_ENCODER}.onnx`;
const SCRIPT = 'models/python/gcdss_encoder.py';

/** The part of gcdss-encoder.log.json the card is drafted from. */
export interface GcdssEncoderTrainingLog {
  seed: number;
  command?: string | null;
  args: { per_class: number; epochs: number; threads: number; batch: number; lr: number };
  versions: { torch: string; python: string };
  data: {
    base_fmnist_classes: number[];
    novel_fmnist_classes: number[];
    training_crops: number;
    /** Present when the crops came from packages/gcdss/bench/encoder-crops.mjs (the committed model). */
    crops?: { file: string; sha256: string; maker: string } | null;
  };
  parameters: number;
  epochs: { epoch: number; loss: number; train_accuracy: number; seconds: number }[];
  base_test_accuracy: number;
  novel_knn20_accuracy: number;
  onnx: { sha256: string; bytes: number; ir_version: number; opset: number };
  train_seconds: number;
}

export const gcdssEncoderPaths = (root = modelsRoot()) => ({
  prebuilt: path.join(root, 'prebuilt', FILE),
  prebuiltLog: path.join(root, 'prebuilt', `${GCDSS_ENCODER}.log.json`),
  card: path.join(root, 'cards', `${GCDSS_ENCODER}.card.json`),
});

/** Drafts the card for the ONNX `bytes` from its training log. */
export async function gcdssEncoderCard(bytes: Uint8Array, log: GcdssEncoderTrainingLog): Promise<ModelCard> {
  const command = log.command
    ? log.command
        .replace(/--out(=|\s+)\S+/, '--out$1OUT')
        .replace(/--crops(=|\s+)\S+/, '--crops$1CROPS.npz')
        .replace(/\S*gcdss_encoder\.py/, SCRIPT)
    : `/usr/bin/python3 ${SCRIPT} --out OUT --epochs ${log.args.epochs} --seed ${log.seed} --threads ${log.args.threads}`;
  const base = log.data.base_fmnist_classes.join(', ');
  const crops = log.data.crops
    ? `segments of labelled base-only scenes made by @trustvision/gcdss (generateScenes, Felzenszwalb proposeSegments ` +
      `at scale 100 and the ground-truth regions) cut out by its maskedCrop + 32x32 resize ` +
      `(node packages/gcdss/bench/encoder-crops.mjs, sha256 ${log.data.crops.sha256.slice(0, 12)}...)`
    : "crops rendered in numpy the way @trustvision/gcdss's synthetic scenes render objects";
  const novel = log.data.novel_fmnist_classes.join(', ');
  return draftModelCard(bytes, {
    name: GCDSS_ENCODER,
    version: '1.0.0',
    task: 'image-feature-extraction',
    file: FILE,
    description:
      'STAND-IN mask-feature encoder for GCDSS (the paper uses DINOv2 ViT-g/14 ImageNet logits, not available here): ' +
      `a small CNN (3 conv blocks, ${log.parameters.toLocaleString('en-US')} parameters) trained by TrustVision on ` +
      'masked crops of Fashion-MNIST objects of the BASE classes only (plus background texture), cut out of ' +
      "@trustvision/gcdss's synthetic scenes the way its maskFeatures cuts out segments. The novel classes were " +
      "never shown to it. Its figures are not the paper's.",
    inputs: [
      {
        name: 'input',
        dtype: 'float32',
        shape: ['batch', 3, 32, 32],
        layout: 'NCHW',
        description:
          "masked crops as gcdss's maskFeatures makes them with size 32: RGB, (pixel / 255 - ImageNet mean) / ImageNet std",
      },
    ],
    outputs: [
      {
        name: 'features',
        dtype: 'float32',
        shape: ['batch', 128],
        layout: 'NC',
        description: 'the embedding (Linear output before the ReLU); maskFeatures L2-normalises it',
      },
      {
        name: 'logits',
        dtype: 'float32',
        shape: ['batch', 7],
        layout: 'NC',
        description: `base-class head: Fashion-MNIST classes ${base} in this order, then background`,
      },
    ],
    preprocessing: {
      size: 32,
      layout: 'NCHW',
      colour: 'RGB',
      crop:
        "gcdss maskFeatures: the segment's tight box, pixels outside the segment set to the crop's mean (truncated), " +
        'half-pixel bilinear resize to 32x32',
      normalisation: 'outside the graph: ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)',
    },
    provenance: {
      source: SCRIPT,
      license: 'MIT',
      standIn: true,
      data:
        'Fashion-MNIST (Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1), official train 0..54999, base ' +
        `classes ${base} only (novel ${novel} never used in training): ${log.data.training_crops} ${crops}`,
      method:
        `${command} (PyTorch ${log.versions.torch}, Python ${log.versions.python}, CPU, ${log.args.threads} thread${log.args.threads === 1 ? '' : 's'}, ` +
        `seed ${log.seed}, ${log.args.epochs} epochs, batch ${log.args.batch}, class-weighted cross-entropy over 7 base classes, AdamW lr ${log.args.lr} cosine; ` +
        `torch.onnx.export opset ${log.onnx.opset}, IR version ${log.onnx.ir_version}, dynamic batch)`,
    },
    metrics: {
      baseTestAccuracy: log.base_test_accuracy,
      novelKnn20Accuracy: log.novel_knn20_accuracy,
      note:
        '7-way accuracy on crops rendered in numpy from Fashion-MNIST t10k (whole objects and fragments); 20-NN ' +
        'accuracy (cosine) among the 4 novel classes (gallery: crops of train images, queries: crops of t10k), a ' +
        'figure of how separable unseen classes are',
      finalLoss: log.epochs[log.epochs.length - 1]?.loss,
      trainSeconds: log.train_seconds,
      seed: log.seed,
      command,
    },
  });
}

/** Copies the committed encoder and its committed card into `outDir`, checking that they agree. */
export async function buildGcdssEncoder(
  outDir: string,
  options: { modelsRoot?: string; log?: (line: string) => void } = {},
): Promise<BuiltModel> {
  const files = gcdssEncoderPaths(options.modelsRoot);
  return copyCommittedModel({ name: GCDSS_ENCODER, prebuilt: files.prebuilt, card: files.card }, outDir, options.log);
}

export const gcdssEncoderRecipe: Recipe = {
  name: GCDSS_ENCODER,
  description: 'gcdss stand-in: small CNN on masked crops of base-class Fashion-MNIST objects (committed ONNX, 128-d)',
  build: (outDir) => buildGcdssEncoder(outDir),
};
