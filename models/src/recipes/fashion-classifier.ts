/**
 * fashion-classifier: the STAND-IN classifier for ProCal. ProCal's paper calibrates ImageNet classifiers
 * (ResNet-50, ViT, BEiT, MLP-Mixer); this project has neither those weights nor ImageNet, so it trains a small CNN on
 * Fashion-MNIST (models/python/fashion_classifier.py) and exports an ONNX with two outputs, `logits` [batch, 10]
 * and `features` [batch, 128] (the penultimate layer, for ProCal's kNN proximity).
 *
 * The trained ONNX (~1 MB, MIT) is committed as models/prebuilt/fashion-classifier.onnx together with its training
 * log, so building it needs neither PyTorch nor the data: the recipe copies it and writes the card. With
 * `retrain: true` it runs the Python script instead (PyTorch required) and drafts a card from the new training log.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  TrustVisionError,
  cardPathFor,
  draftModelCard,
  writeFileAtomic,
  type ModelCard,
} from '@trustvision/core-tensor';
import { paths } from '../assets.js';
import type { BuiltModel, Recipe } from '../build.js';
import { copyCommittedModel } from './prebuilt.js';

export const FASHION_CLASSIFIER = 'fashion-classifier';
const FILE = `${FASHION_CLASSIFIER}.onnx`;
const LOG_FILE = `${FASHION_CLASSIFIER}.log.json`;
const SCRIPT = 'models/python/fashion_classifier.py';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** The part of the training log (fashion-classifier.log.json) the card is drafted from. */
export interface FashionTrainingLog {
  seed: number;
  command?: string | null;
  args: { epochs: number; threads: number; limit?: number; device?: string };
  versions: { torch: string; python: string; numpy: string };
  data: { sha256: Record<string, string>; normalisation: { mean: number; std: number } };
  parameters: number;
  calibration: { accuracy: number; correct: number; n: number; loss: number };
  test: { accuracy: number; correct: number; n: number; loss: number };
  onnx: { sha256: string; bytes: number; ir_version: number; opset: number };
  train_seconds: number;
}

export interface FashionClassifierOptions {
  /** Train anew with PyTorch instead of copying the committed ONNX (about 10 minutes on 2 CPU cores). */
  retrain?: boolean;
  /** Python with PyTorch (default: $TRUSTVISION_PYTHON, then /usr/bin/python3, then python3 on PATH). */
  python?: string;
  /** Fashion-MNIST folder for retraining (default: the Debian package in the asset cache, fetched if needed). */
  data?: string;
  /** Extra arguments for the training script, e.g. ['--epochs', '1', '--limit', '2000'] for a smoke run. */
  trainArgs?: string[];
  /** Where models/ lives (default: found from this module's location or the working directory). */
  modelsRoot?: string;
  log?: (line: string) => void;
}

function isModelsRoot(dir: string): boolean {
  const pkg = path.join(dir, 'package.json');
  if (!existsSync(pkg)) return false;
  try {
    return JSON.parse(readFileSync(pkg, 'utf8')).name === '@trustvision/models';
  } catch {
    return false;
  }
}

/**
 * Folders to search upward from: this module's folder (CommonJS `__dirname`; in ESM, the file in the first stack
 * frame, which is this module), then the working directory.
 */
function searchStarts(): string[] {
  const starts: string[] = [];
  if (typeof __dirname === 'string') starts.push(__dirname);
  const m = /(?:file:\/\/)?(\/[^\s():]+):\d+:\d+/.exec(new Error().stack ?? '');
  if (m) starts.push(path.dirname(decodeURIComponent(m[1])));
  starts.push(process.cwd());
  return starts;
}

/** The @trustvision/models folder (holding package.json, cards/, prebuilt/, python/). */
export function modelsRoot(): string {
  const starts = searchStarts();
  for (const start of starts) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      if (isModelsRoot(dir)) return dir;
      if (isModelsRoot(path.join(dir, 'models'))) return path.join(dir, 'models');
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new TrustVisionError(
    'E_FILE_NOT_FOUND',
    `cannot find the @trustvision/models folder (models/package.json) above ${starts.join(', ')}; pass modelsRoot`,
    { param: 'modelsRoot' },
  );
}

export const fashionClassifierPaths = (root = modelsRoot()) => ({
  prebuilt: path.join(root, 'prebuilt', FILE),
  prebuiltLog: path.join(root, 'prebuilt', LOG_FILE),
  card: path.join(root, 'cards', `${FASHION_CLASSIFIER}.card.json`),
  script: path.join(root, 'python', 'fashion_classifier.py'),
});

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Drafts the card for the ONNX `bytes` from its training log (sha256 and I/O come from the bytes). */
export async function fashionClassifierCard(bytes: Uint8Array, log: FashionTrainingLog): Promise<ModelCard> {
  const { mean, std } = log.data.normalisation;
  // the command as run, with the machine's folders replaced by placeholders
  const command = log.command
    ? log.command
        .replace(/--out(=|\s+)\S+/, '--out$1OUT')
        .replace(/--data(=|\s+)\S+/, '--data$1FASHION_MNIST_DIR')
        .replace(/\S*fashion_classifier\.py/, SCRIPT)
    : `/usr/bin/python3 ${SCRIPT} --out OUT --epochs ${log.args.epochs} --seed ${log.seed} --threads ${log.args.threads}`;
  return draftModelCard(bytes, {
    name: FASHION_CLASSIFIER,
    version: '1.0.0',
    task: 'image-classification',
    file: FILE,
    description:
      'STAND-IN for the classifiers ProCal calibrates: the paper uses ImageNet classifiers from timm (ResNet-50, ' +
      'ViT-B/16, BEiT-L, MLP-Mixer-B/16) and their penultimate features; this is a small CNN (3 conv blocks, ' +
      `${log.parameters.toLocaleString('en-US')} parameters) trained by TrustVision on Fashion-MNIST, with the ` +
      'same interface: logits plus the penultimate-layer features used for kNN proximity. Its figures are not the ' +
      "paper's.",
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
        name: 'logits',
        dtype: 'float32',
        shape: ['batch', 10],
        layout: 'NC',
        description: `unnormalised class scores, classes in Fashion-MNIST order: ${FASHION_MNIST_CLASSES.join(', ')}`,
      },
      {
        name: 'features',
        dtype: 'float32',
        shape: ['batch', 128],
        layout: 'NC',
        description: 'penultimate layer (ReLU of the 128-unit FC that the linear head reads); for kNN proximity',
      },
    ],
    preprocessing: {
      size: 28,
      layout: 'NCHW',
      colour: 'grayscale',
      range: [0, 1],
      scale: 'pixel / 255 (uint8 Fashion-MNIST pixels; 0 = background)',
      normalisation: `inside the graph: (x - ${mean.toFixed(6)}) / ${std.toFixed(6)}, computed on the 55,000 training images`,
      classes: [...FASHION_MNIST_CLASSES],
    },
    provenance: {
      source: SCRIPT,
      license: 'MIT',
      standIn: true,
      data:
        'Fashion-MNIST (Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1), train 0..54999' +
        (log.args.limit ? ` (first ${log.args.limit} only)` : '') +
        ', calibration 55000..59999, test = official t10k',
      method:
        `${command} (PyTorch ${log.versions.torch}, Python ${log.versions.python}, CPU, ${log.args.threads} thread${log.args.threads === 1 ? '' : 's'}, ` +
        `seed ${log.seed}, ${log.args.epochs} epoch${log.args.epochs === 1 ? '' : 's'}; ` +
        `torch.onnx.export opset ${log.onnx.opset}, IR version ${log.onnx.ir_version}, dynamic batch)`,
    },
    metrics: {
      testAccuracy: log.test.accuracy,
      testCorrect: `${log.test.correct}/${log.test.n}`,
      validationAccuracy: log.calibration.accuracy,
      validationCorrect: `${log.calibration.correct}/${log.calibration.n}`,
      validationSplit: 'official train 55000..59999 (the calibration set; not used for training or model selection)',
      seed: log.seed,
      note:
        `test ${pct(log.test.accuracy)}, validation ${pct(log.calibration.accuracy)}; computed in PyTorch at export ` +
        'time; models/test/fashion-classifier.test.ts recomputes both through ONNX Runtime',
      command,
    },
  });
}

function findPython(explicit?: string): string {
  const candidates = [explicit, process.env.TRUSTVISION_PYTHON, '/usr/bin/python3', 'python3'].filter(
    (p): p is string => !!p,
  );
  const tried: string[] = [];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    if (r.status === 0) return py;
    tried.push(py);
  }
  throw new TrustVisionError(
    'E_RUNTIME_MISSING',
    `retraining fashion-classifier needs Python with PyTorch and numpy; none of ${tried.join(', ')} has them. ` +
      'On Debian: `apt-get install -y python3-torch` (then /usr/bin/python3), or set TRUSTVISION_PYTHON. ' +
      'Without retraining, the committed models/prebuilt/fashion-classifier.onnx is used.',
    { param: 'python', value: explicit },
  );
}

async function writeCard(modelPath: string, card: ModelCard): Promise<void> {
  await writeFileAtomic(cardPathFor(modelPath), new TextEncoder().encode(JSON.stringify(card, null, 2) + '\n'));
}

/**
 * Writes `fashion-classifier.onnx` and `fashion-classifier.card.json` into `outDir`. By default it copies the
 * committed ONNX and its committed card (checking that they agree). With `retrain`, it trains anew (the training
 * log, calibration.npz and test.npz stay in `outDir/fashion-classifier.training/`) and drafts a fresh card.
 */
export async function buildFashionClassifier(
  outDir: string,
  options: FashionClassifierOptions = {},
): Promise<BuiltModel> {
  const log = options.log ?? (() => undefined);
  const files = fashionClassifierPaths(options.modelsRoot);
  mkdirSync(outDir, { recursive: true });
  const dest = path.join(outDir, FILE);

  if (!options.retrain)
    return copyCommittedModel({ name: FASHION_CLASSIFIER, prebuilt: files.prebuilt, card: files.card }, outDir, log);

  const python = findPython(options.python);
  const data = options.data ?? paths.fashionMnist();
  const trainDir = path.join(outDir, `${FASHION_CLASSIFIER}.training`);
  const args = [files.script, '--out', trainDir, '--data', data, ...(options.trainArgs ?? [])];
  log(`${FASHION_CLASSIFIER}: ${python} ${args.join(' ')}`);
  const r = spawnSync(python, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0)
    throw new TrustVisionError(
      'E_IO',
      `training fashion-classifier failed (${python} ${args.join(' ')} exited with ${r.status ?? r.signal})`,
      { param: 'retrain' },
    );
  const trainLog = JSON.parse(readFileSync(path.join(trainDir, LOG_FILE), 'utf8')) as FashionTrainingLog;
  const bytes = new Uint8Array(readFileSync(path.join(trainDir, FILE)));
  const card = await fashionClassifierCard(bytes, trainLog);
  copyFileSync(path.join(trainDir, FILE), dest);
  await writeCard(dest, card);
  log(
    `${FASHION_CLASSIFIER}: retrained, test accuracy ${pct(trainLog.test.accuracy)}, sha256 ${card.sha256.slice(0, 12)}…` +
      (card.sha256 === trainLog.onnx.sha256 ? '' : ' (log and file differ!)'),
  );
  return { path: dest, card };
}

/** The recipe `npm run models` builds: the committed stand-in, checked against its committed card. */
export const fashionClassifierRecipe: Recipe = {
  name: FASHION_CLASSIFIER,
  description: 'ProCal stand-in: small CNN on Fashion-MNIST (committed ONNX, logits + 128-d features)',
  build: (outDir) => buildFashionClassifier(outDir),
};
