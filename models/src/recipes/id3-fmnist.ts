/**
 * id3-fmnist: the STAND-IN models for @trustvision/id3 (ID³ publishes no code or weights, and no face data can be
 * trained on here). models/python/id3_fmnist.py trains, on Fashion-MNIST, an identity- and attribute-conditioned
 * ε-denoiser whose identity condition is the 32-d whitened embedding of the committed contrastive encoder, and exports
 * three ONNX files to the contracts of spec id3.md §3:
 *
 *   id3-fmnist-denoiser  x_t [B,3,28,28], t int64 [B] (0-based index), id_embedding [B,32], attributes [B,4] → eps
 *   id3-fmnist-fr        image [B,3,28,28] in [−1,1] → embedding [B,32] (unit rows)
 *   id3-fmnist-frgrad    image [B,3,28,28], id_embedding [B,32] → grad [B,3,28,28] = ∇⟨y, f(image)⟩, cosine [B]
 *
 * The contract (H, W, C, d, T, schedule, t convention, attribute normalisation) is in each file's metadata_props
 * (`id3.*`) and in the card's `preprocessing.id3`. The ONNX files (MIT, < 4 MB together) are committed in
 * models/prebuilt with the training log; the recipes copy them with their committed cards, checking the sha256.
 * `id3FmnistCards` drafts the three cards from a new log after retraining.
 */
import path from 'node:path';
import { draftModelCard, type ModelCard } from '@trustvision/core-tensor';
import type { BuiltModel, Recipe } from '../build.js';
import { copyCommittedModel } from './prebuilt.js';
import { modelsRoot } from './fashion-classifier.js';

export const ID3_FMNIST_DENOISER = 'id3-fmnist-denoiser';
export const ID3_FMNIST_FR = 'id3-fmnist-fr';
export const ID3_FMNIST_FRGRAD = 'id3-fmnist-frgrad';
export type Id3FmnistModel = typeof ID3_FMNIST_DENOISER | typeof ID3_FMNIST_FR | typeof ID3_FMNIST_FRGRAD;
const SCRIPT = 'models/python/id3_fmnist.py';
const LOG = 'id3-fmnist.log.json';

/** The part of id3-fmnist.log.json the cards are drafted from. */
export interface Id3FmnistLog {
  seed: number;
  command?: string | null;
  args: {
    steps: number;
    stop_at: number;
    batch: number;
    lr: number;
    lambda_id: number;
    ema: number;
    width: number;
    threads: number;
    limit: number;
  };
  versions: { torch: string; python: string };
  encoder: { sha256: string; knn20_recomputed: number };
  embedding: {
    dim: number;
    explained_variance: number;
    test_same_class_cos_mean: number;
    test_diff_class_cos_mean: number;
  };
  frgrad_check: { max_abs_diff: number; max_abs_grad: number };
  contract: {
    H: number;
    W: number;
    C: number;
    T: number;
    attribute_semantics: string;
    neutral_attributes: number[];
    embedding_dim: number;
  };
  architecture: string;
  parameters: number;
  loss: string;
  optimiser: string;
  history: { step: number; mse: number; id_term: number; cos_x0hat: number; seconds: number }[];
  onnx: Record<Id3FmnistModel, { file: string; sha256: string; bytes: number; ir_version: number; opset: number }>;
  train_seconds: number;
}

export const id3FmnistPaths = (root = modelsRoot()) => ({
  log: path.join(root, 'prebuilt', LOG),
  prebuilt: (name: Id3FmnistModel) => path.join(root, 'prebuilt', `${name}.onnx`),
  card: (name: Id3FmnistModel) => path.join(root, 'cards', `${name}.card.json`),
});

const image = (name: string, description: string) => ({
  name,
  dtype: 'float32' as const,
  shape: ['batch', 3, 28, 28],
  layout: 'NCHW',
  range: [-1, 1] as [number, number],
  description,
});

/** Drafts the card of one of the three models from its ONNX bytes and the training log. */
export async function id3FmnistCard(name: Id3FmnistModel, bytes: Uint8Array, log: Id3FmnistLog): Promise<ModelCard> {
  const c = log.contract;
  const command = log.command
    ? log.command.replace(/--out(=|\s+)\S+/, '--out$1OUT').replace(/\S*id3_fmnist\.py/, SCRIPT)
    : `/usr/bin/python3 ${SCRIPT} --out OUT --steps ${log.args.steps} --threads ${log.args.threads}`;
  const stopped = log.args.stop_at && log.args.stop_at < log.args.steps ? log.args.stop_at : log.args.steps;
  const last = log.history[log.history.length - 1];
  const id3 = {
    height: c.H,
    width: c.W,
    channels: c.C,
    embedding_dim: c.embedding_dim,
    attributes: 4,
    attribute_normalisation: 'age/100,pitch/90,yaw/90,roll/90',
    T: c.T,
    schedule: 'linear',
    beta_start: 0.0001,
    beta_end: 0.02,
    t_convention: 'index',
    attribute_semantics: c.attribute_semantics,
    neutral_attributes: c.neutral_attributes,
  };
  const fr =
    `the frozen contrastive encoder (models/prebuilt/contrastive-encoder.onnx, sha256 ${log.encoder.sha256.slice(0, 12)}…, ` +
    `weights read from that ONNX; its card's 20-NN accuracy recomputed: ${log.encoder.knn20_recomputed}) on the grey ` +
    `image (channel mean, (x + 1) / 2), centred and whitened onto its ${c.embedding_dim} leading principal directions ` +
    `(${(100 * log.embedding.explained_variance).toFixed(1)} % of the feature variance, fitted on the 55,000 training images), L2-normalised`;
  const provenance = {
    source: SCRIPT,
    license: 'MIT',
    standIn: true,
    data:
      'Fashion-MNIST (Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1), official train 0..54999' +
      (log.args.limit ? ` (first ${log.args.limit} only)` : '') +
      '; the identity of an image is the item itself (its un-augmented embedding), class labels are not used',
    method:
      `${command} (PyTorch ${log.versions.torch}, Python ${log.versions.python}, CPU, ${log.args.threads} thread${log.args.threads === 1 ? '' : 's'}, seed ${log.seed}; ` +
      `${stopped} of a ${log.args.steps}-step schedule, batch ${log.args.batch}; ${log.optimiser}; loss ${log.loss}; ` +
      'torch.onnx.export opset 17, dynamic batch, contract in metadata_props)',
  };
  if (name === ID3_FMNIST_DENOISER)
    return draftModelCard(bytes, {
      name,
      version: '1.0.0',
      task: 'image-denoising',
      file: `${name}.onnx`,
      description:
        "STAND-IN for ID³'s identity- and attribute-conditioned ε-denoiser (no official code or weights; no face data " +
        `here): ${log.architecture}, ${log.parameters.toLocaleString('en-US')} parameters, trained by TrustVision on ` +
        'Fashion-MNIST conditioned on the 32-d embedding of id3-fmnist-fr and on a similarity transform standing in ' +
        `for pose/age. Short CPU training (${stopped} steps): sample with x0_hat clipped to [-1, 1] (clipX0), ` +
        'unclipped DDIM/DDPM samples leave the data range. Its samples are clothing items, not faces; its figures ' +
        "are not the paper's.",
      inputs: [
        image('x_t', 'noisy image in the [-1, 1] data scale (grey replicated to 3 channels)'),
        {
          name: 't',
          dtype: 'int64',
          shape: ['batch'],
          description: '0-based step index k (0..T-1): alpha_bar[k] = prod_{s<=k}(1 - beta[s])',
        },
        {
          name: 'id_embedding',
          dtype: 'float32',
          shape: ['batch', c.embedding_dim],
          description: 'unit identity embedding (id3-fmnist-fr space)',
        },
        {
          name: 'attributes',
          dtype: 'float32',
          shape: ['batch', 4],
          description: '[age/100, pitch/90, yaw/90, roll/90]; stand-in meaning in preprocessing.id3',
        },
      ],
      outputs: [image('eps', 'predicted noise')],
      preprocessing: {
        size: 28,
        layout: 'NCHW',
        colour: 'grey replicated to RGB',
        range: [-1, 1],
        scale: 'pixel / 127.5 - 1',
        id3,
      },
      provenance,
      metrics: {
        finalMse: last?.mse,
        finalCosX0hat: last?.cos_x0hat,
        note: 'training-batch averages over the last 50 steps (cos_x0hat: <y, f(clip(x0_hat))> over uniform t); the claim benchmark is packages/id3/bench/claim.mjs',
        steps: stopped,
        trainSeconds: log.train_seconds,
        seed: log.seed,
        command,
      },
    });
  if (name === ID3_FMNIST_FR)
    return draftModelCard(bytes, {
      name,
      version: '1.0.0',
      task: 'image-feature-extraction',
      file: `${name}.onnx`,
      description: `STAND-IN face-recognition model for ID³ (spec §3.2) on Fashion-MNIST: ${fr}.`,
      inputs: [image('image', '28x28 image in [-1, 1] (pixel / 127.5 - 1); RGB is averaged to grey inside the graph')],
      outputs: [
        {
          name: 'embedding',
          dtype: 'float32',
          shape: ['batch', c.embedding_dim],
          description: 'unit identity embedding',
        },
      ],
      preprocessing: { size: 28, layout: 'NCHW', range: [-1, 1], scale: 'pixel / 127.5 - 1', id3 },
      provenance,
      metrics: {
        sameClassCosMean: log.embedding.test_same_class_cos_mean,
        diffClassCosMean: log.embedding.test_diff_class_cos_mean,
        note: 'mean cosine of 4,000 random official-test pairs, same vs different class',
        command,
      },
    });
  return draftModelCard(bytes, {
    name,
    version: '1.0.0',
    task: 'gradient',
    file: `${name}.onnx`,
    description:
      "STAND-IN FR-gradient graph for ID³'s ID-preserving sampling (spec §3.3 fallback): the gradient of " +
      `<id_embedding, f(image)> with respect to the image for f = id3-fmnist-fr (${fr}), written as an explicit ` +
      `backward pass (ONNX Runtime has no autograd) and checked against torch autograd (max abs difference ${log.frgrad_check.max_abs_diff.toExponential(1)}).`,
    inputs: [
      image('image', 'x0_hat in [-1, 1] scale'),
      {
        name: 'id_embedding',
        dtype: 'float32',
        shape: ['batch', c.embedding_dim],
        description: 'unit identity embedding y',
      },
    ],
    outputs: [
      image('grad', 'd<y, f(image)>/d image'),
      { name: 'cosine', dtype: 'float32', shape: ['batch'], description: '<y, f(image)>' },
    ],
    preprocessing: { size: 28, layout: 'NCHW', range: [-1, 1], scale: 'pixel / 127.5 - 1', id3 },
    provenance,
    metrics: {
      autogradMaxAbsDiff: log.frgrad_check.max_abs_diff,
      autogradMaxAbsGrad: log.frgrad_check.max_abs_grad,
      command,
    },
  });
}

/** Copies one committed id3-fmnist model and its committed card into `outDir`, checking that they agree. */
export async function buildId3Fmnist(
  name: Id3FmnistModel,
  outDir: string,
  options: { modelsRoot?: string; log?: (line: string) => void } = {},
): Promise<BuiltModel> {
  const files = id3FmnistPaths(options.modelsRoot);
  return copyCommittedModel({ name, prebuilt: files.prebuilt(name), card: files.card(name) }, outDir, options.log);
}

const recipe = (name: Id3FmnistModel, description: string): Recipe => ({
  name,
  description,
  build: (outDir) => buildId3Fmnist(name, outDir),
});

export const id3FmnistDenoiserRecipe = recipe(
  ID3_FMNIST_DENOISER,
  'id3 stand-in: identity/attribute-conditioned eps-denoiser on Fashion-MNIST (committed ONNX, 28x28, d = 32)',
);
export const id3FmnistFrRecipe = recipe(
  ID3_FMNIST_FR,
  'id3 stand-in: FR model (contrastive encoder + whitening, d = 32)',
);
export const id3FmnistFrGradRecipe = recipe(ID3_FMNIST_FRGRAD, 'id3 stand-in: FR-gradient graph (explicit backward)');
