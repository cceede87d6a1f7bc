/**
 * MinusFace STAND-IN models for @trustvision/minusface, trained by models/python/minusface_standin.py on
 * Fashion-MNIST with the 10 garment classes standing in for identities (no identity-labelled face data set is
 * available here; no MinusFace weights were released). Five ONNX files, all committed in models/prebuilt with one
 * training log (minusface-standin.log.json):
 *
 * - minusface-generator: g, x [N,192,H,W] raw block-DCT coefficients → x_regen [N,192,H,W] (fully convolutional;
 *   trained at 16×16).
 * - minusface-recognizer: f_p, x_p [N,3,16,16] protected images in [0,1] → embedding [N,128] (un-normalised).
 * - minusface-baseline: the same recogniser architecture trained on the raw images (the "unprotected" reference of
 *   the privacy evaluation).
 * - minusface-attacker: the recovery attack f⁻¹ (U-Net, X_p → X; X_p standardised per image inside the graph), for
 *   the privacy evaluation.
 * - minusface-attacker-reference: the same attacker architecture trained on unprotected but degraded input (the raw
 *   image blurred by a fixed Gaussian inside the graph), the privacy evaluation's reference row.
 *
 * `npm run models` builds the generator and the recogniser into the models cache (copying the committed ONNX and
 * card, checking the sha256); the evaluation reads the baseline and the attacker from models/prebuilt directly.
 */
import path from 'node:path';
import { draftModelCard, type ModelCard, type ModelCardIO } from '@trustvision/core-tensor';
import type { BuiltModel, Recipe } from '../build.js';
import { copyCommittedModel } from './prebuilt.js';
import { modelsRoot } from './fashion-classifier.js';

export const MINUSFACE_MODELS = [
  'minusface-generator',
  'minusface-recognizer',
  'minusface-baseline',
  'minusface-attacker',
  'minusface-attacker-reference',
] as const;
export type MinusFaceModel = (typeof MINUSFACE_MODELS)[number];
const SCRIPT = 'models/python/minusface_standin.py';
export const MINUSFACE_LOG = 'minusface-standin.log.json';

/** The part of minusface-standin.log.json the cards are drafted from. */
export interface MinusFaceTrainingLog {
  command?: string | null;
  /** the command that retrained and re-exported only the attackers (stages attack, attack_reference, export_attack) */
  attack_command?: string | null;
  seed: number;
  args: Record<string, unknown>;
  versions: { torch: string; python: string; threads: number };
  parameters: { generator: number; recognizer: number; attacker: number };
  verification_first2000_all_pairs: { pairs: number; eer_threshold: number; far: number; frr: number };
  stages: Record<string, { seconds: number; steps: number } & Record<string, unknown>>;
  onnx: Record<string, { sha256: string; bytes: number; ir_version: number; opset: number }>;
}

export const minusfacePaths = (name: MinusFaceModel, root = modelsRoot()) => ({
  prebuilt: path.join(root, 'prebuilt', `${name}.onnx`),
  log: path.join(root, 'prebuilt', MINUSFACE_LOG),
  card: path.join(root, 'cards', `${name}.card.json`),
});

const DATA =
  'Fashion-MNIST (Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1): official train 0..54999; each 28x28 image ' +
  'is /255, 2x2-mean-pooled to 14x14, zero-padded to 16x16 and replicated to RGB. The 10 garment classes stand in for ' +
  'identities: there is no identity-labelled face data set here, so these models tell garment types apart, not people.';

const IMAGE_IO = (name: string, description: string): ModelCardIO => ({
  name,
  dtype: 'float32',
  shape: ['N', 3, 16, 16],
  layout: 'NCHW',
  range: [0, 1],
  description,
});

function fields(name: MinusFaceModel, log: MinusFaceTrainingLog) {
  const p = log.parameters;
  const st = log.stages;
  const common = `(PyTorch ${log.versions.torch}, Python ${log.versions.python}, CPU, ${log.versions.threads} thread, seed ${log.seed}; torch.onnx.export opset 17)`;
  switch (name) {
    case 'minusface-generator':
      return {
        task: 'image-to-image',
        description:
          `STAND-IN MinusFace generator g (CVPR 2024; no weights were released): a small U-Net (${p.generator.toLocaleString('en-US')} ` +
          'parameters; official ConvBlock/ConvTranspose layout at widths 16/32/64 with a 1x1 entry convolution, a fixed ' +
          'per-channel input/output scale and a learnable per-channel identity path) on the 192-channel block-DCT ' +
          'representation, trained jointly with a residue recogniser (5 L1 + ArcFace) on Fashion-MNIST at 16x16. Not a face model.',
        inputs: [
          {
            name: 'x',
            dtype: 'float32' as const,
            shape: ['N', 192, 'H', 'W'],
            layout: 'NCHW',
            description: 'raw block-DCT coefficients e(X) (DC up to ~ +-1000); H, W multiples of 4 (trained at 16)',
          },
        ],
        outputs: [
          {
            name: 'x_regen',
            dtype: 'float32' as const,
            shape: ['N', 192, 'H', 'W'],
            layout: 'NCHW',
            description: "the regeneration x' = g(x)",
          },
        ],
        method: `${log.command ?? SCRIPT} stage1, ${st.stage1?.steps} steps batch 64, ${st.stage1?.seconds} s ${common}`,
        metrics: {
          stage1: {
            testAccuracyResidueRecogniser: st.stage1?.test_accuracy_f_on_r_first2000,
            testRegenerationL1: st.stage1?.test_regeneration_l1_01,
          },
        },
      };
    case 'minusface-recognizer':
    case 'minusface-baseline': {
      const protectedIn = name === 'minusface-recognizer';
      const stage = protectedIn ? 'stage2' : 'baseline';
      return {
        task: 'image-feature-extraction',
        description: protectedIn
          ? `STAND-IN MinusFace recogniser f_p: a small IR-like CNN (${p.recognizer.toLocaleString('en-US')} parameters) trained with ArcFace ` +
            '(s 16, margin ramped 0 -> 0.2) on protected images X_p = d(shuffle(e(X) - g(e(X)))) of Fashion-MNIST (fresh channel permutation per ' +
            'sample, x3 replication), generator frozen. Embeds garments, not faces.'
          : `Unprotected reference for the MinusFace stand-in: the recogniser architecture (${p.recognizer.toLocaleString('en-US')} parameters) ` +
            'trained the same way on the raw 16x16 Fashion-MNIST images (evaluation only).',
        inputs: [
          IMAGE_IO(
            protectedIn ? 'x_p' : 'image',
            protectedIn
              ? 'protected image X_p from @trustvision/minusface protect (clamped decoder output, not re-normalised)'
              : 'raw RGB image, pixel/255',
          ),
        ],
        outputs: [
          {
            name: 'embedding',
            dtype: 'float32' as const,
            shape: ['N', 128],
            layout: 'NC',
            description: 'un-normalised embedding; l2-normalise, compare by cosine',
          },
        ],
        method: `${log.command ?? SCRIPT} ${stage}, ${st[stage]?.steps} steps batch 64, ${st[stage]?.seconds} s ${common}`,
        metrics: {
          testClassAccuracyFirst2000: st[stage]?.test_class_accuracy_first2000,
          ...(protectedIn
            ? {
                threshold: log.verification_first2000_all_pairs.eer_threshold,
                thresholdNote:
                  'cosine EER threshold on all pairs of the first 2,000 test images (X_p with fresh permutations; classes as identities)',
              }
            : {}),
        },
      };
    }
    case 'minusface-attacker':
    case 'minusface-attacker-reference': {
      const ref = name === 'minusface-attacker-reference';
      const stage = ref ? 'attack_reference' : 'attack';
      const arch =
        `a U-Net (${p.attacker.toLocaleString('en-US')} parameters; per-image z-score of the input per channel and over ` +
        'all channels inside the graph, 3 levels with BN at widths 32/64/128, sigmoid output) trained with L1 + 0.5 (1 - SSIM) ' +
        '(Adam lr 1e-3 with cosine decay, batch 64)';
      return {
        task: 'image-to-image',
        description: ref
          ? `Reference for the MinusFace stand-in's recovery attack (evaluation only): the attacker architecture, ${arch}, ` +
            'trained on UNPROTECTED but degraded input: the raw image blurred by a fixed Gaussian (sigma 1 px, 7x7, ' +
            'replicate padding) inside the graph, on the Fashion-MNIST train split, the same step budget as the attack.'
          : `Recovery attack f^-1 on the MinusFace stand-in (evaluation only): ${arch}, to map X_p (fresh permutation ` +
            'per sample) back to X on the Fashion-MNIST train split.',
        inputs: [
          ref
            ? IMAGE_IO('image', 'raw RGB image, pixel/255 (blurred inside the graph)')
            : IMAGE_IO('x_p', 'protected image X_p, as the server receives it'),
        ],
        outputs: [{ ...IMAGE_IO('x_rec', "the attacker's reconstruction of X (sigmoid output)") }],
        method: `${(st[stage]?.command as string | undefined) ?? log.attack_command ?? log.command ?? SCRIPT}: ${stage}, ${st[stage]?.steps} steps, ${st[stage]?.seconds} s ${common}`,
        metrics: {
          testPsnrRecoveredFirst2000: st[stage]?.test_psnr_recovered_first2000,
          testSsimRecoveredFirst2000: st[stage]?.test_ssim_recovered_first2000,
        },
      };
    }
  }
}

/** Drafts the card of one of the five stand-ins from its ONNX bytes and the training log. */
export async function minusfaceCard(
  name: MinusFaceModel,
  bytes: Uint8Array,
  log: MinusFaceTrainingLog,
): Promise<ModelCard> {
  const f = fields(name, log);
  const dims = (io: ModelCardIO[]) => io.map((x) => ({ ...x, shape: x.shape.map((d) => (d === 'N' ? 'N' : d)) }));
  return draftModelCard(bytes, {
    name,
    version: '1.0.0',
    task: f.task,
    file: `${name}.onnx`,
    description: f.description,
    inputs: dims(f.inputs),
    outputs: dims(f.outputs),
    preprocessing: {
      size: 16,
      layout: 'NCHW',
      colour: 'RGB (grayscale replicated)',
      range: [0, 1],
      standInData: 'Fashion-MNIST 28x28 /255 -> 2x2 mean -> zero-pad 1 px -> 16x16 -> RGB',
    },
    provenance: { source: SCRIPT, license: 'MIT', standIn: true, data: DATA, method: f.method },
    metrics: { ...f.metrics, seed: log.seed },
  });
}

/** Copies one committed stand-in and its committed card into `outDir`, checking that they agree. */
export async function buildMinusFace(name: MinusFaceModel, outDir: string, root?: string): Promise<BuiltModel> {
  const files = minusfacePaths(name, root);
  return copyCommittedModel({ name, prebuilt: files.prebuilt, card: files.card }, outDir);
}

export const minusfaceGeneratorRecipe: Recipe = {
  name: 'minusface-generator',
  description: 'MinusFace stand-in generator (Fashion-MNIST, committed ONNX, 192 -> 192 DCT channels)',
  build: (outDir) => buildMinusFace('minusface-generator', outDir),
};

export const minusfaceRecognizerRecipe: Recipe = {
  name: 'minusface-recognizer',
  description: 'MinusFace stand-in recogniser f_p (Fashion-MNIST X_p, committed ONNX, 128-d)',
  build: (outDir) => buildMinusFace('minusface-recognizer', outDir),
};
