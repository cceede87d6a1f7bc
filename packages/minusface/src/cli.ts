#!/usr/bin/env node
/**
 * minusface CLI.
 *
 *   minusface encode --image X.npy --out E.npy
 *   minusface decode --rep E.npy --out X.npy
 *   minusface protect IMAGES... --out DIR [--seed S] [--generator G.onnx] [--device D] [--format png|npy]
 *   minusface verify A B [--recognizer R.onnx] [--threshold T] [--json] [--device D]
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  FileNotFoundError,
  InvalidArgumentError,
  UsageError,
  cardPathFor,
  imageToTensor,
  numberOption,
  parseCliArgs,
  readImage,
  readNpy,
  requireOption,
  resolveModel,
  runCli,
  tensorToImage,
  writeImage,
  writeNpy,
  type Device,
  type Tensor,
} from '@trustvision/core-tensor';
import { GeneratorModel, RecognizerModel } from './model.js';
import { protect, type ProtectRange } from './protect.js';
import { embed, verify } from './recognize.js';
import { decode, encode } from './transform.js';

/** Model names looked up in the models cache (`npm run models`) when no path is given. */
export const DEFAULT_GENERATOR = 'minusface-generator';
export const DEFAULT_RECOGNIZER = 'minusface-recognizer';

const USAGE = `usage:
  minusface protect IMAGES... --out DIR [--seed S] [--generator G.onnx] [--device auto|cpu|cuda|webgpu]
                    [--format png|npy] [--range clamp|minmax] [--duplicates K]
      Client side: X_p = d(shuffle(e(X) − g(e(X)))) with a fresh random channel permutation per image.
      IMAGES are PNG/JPEG files (RGB, /255) or .npy float [3,H,W] in [0,1], all of the generator's size (aligned
      faces; 112×112 in the paper, 16×16 for the Fashion-MNIST stand-in). Writes DIR/<name>.png (8-bit, default)
      or DIR/<name>.npy (float32 [3K,H,W], exact). Without --seed permutations come from the CSPRNG; with --seed S
      image i (in the order given) uses Rng.from(S).fork(i), so the same command reproduces the same X_p.
      The permutation is never written. Default generator: ${DEFAULT_GENERATOR} from the models cache.
  minusface verify A B [--recognizer R.onnx] [--threshold T] [--json] [--device D]
      Server side: embeds two protected images (.npy float32 [3K,H,W] in [0,1], or PNG) with the recogniser and
      prints the cosine score and the decision (match when score ≥ threshold). Default threshold: the recogniser
      card's metrics.threshold. Default recogniser: ${DEFAULT_RECOGNIZER}.
  minusface encode --image X.npy --out E.npy
      e(X): X float32 [3,H,W] RGB in [0,1] → E float32 [192,H,W], the block-DCT representation.
  minusface decode --rep E.npy --out X.npy
      d(E): E float32 [192,H,W] → X float32 [3,H,W], clamped to [0,1].

  exit codes: 0 ok, 1 error (printed as 'error [CODE]: message'), 2 usage`;

const OPTIONS = {
  image: { type: 'string' },
  rep: { type: 'string' },
  out: { type: 'string' },
  seed: { type: 'string' },
  generator: { type: 'string' },
  recognizer: { type: 'string' },
  device: { type: 'string' },
  format: { type: 'string' },
  range: { type: 'string' },
  duplicates: { type: 'string' },
  threshold: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** An image file as float32 [C, H, W] in [0, 1]: .npy as stored, PNG/JPEG as RGB / 255. */
async function readInput(param: string, file: string): Promise<Tensor> {
  if (!existsSync(file)) throw new FileNotFoundError(param, file);
  if (file.toLowerCase().endsWith('.npy')) return readNpy(file);
  return imageToTensor(await readImage(file), { channels: 3 });
}

function seedOf(v: string | undefined): number | string | undefined {
  if (v === undefined) return undefined;
  return /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

async function protectCommand(files: string[], v: Record<string, string | boolean | undefined>): Promise<number> {
  if (files.length === 0) throw new UsageError('protect needs at least one image');
  const outDir = requireOption(v, 'out');
  const format = (v.format as string | undefined) ?? 'png';
  if (format !== 'png' && format !== 'npy') throw new UsageError(`--format must be png or npy, got '${format}'`);
  const range = (v.range as string | undefined) ?? 'clamp';
  if (range !== 'clamp' && range !== 'minmax') throw new UsageError(`--range must be clamp or minmax, got '${range}'`);
  const K = numberOption(v, 'duplicates') ?? 1;
  const names = files.map((f) => path.basename(f).replace(/\.[^.]+$/, ''));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`two inputs would both be written as '${dup}.${format}'`);
  const images = [];
  for (const f of files) images.push(await readInput('image', f));
  const generator = await GeneratorModel.create(resolveModel((v.generator as string) ?? DEFAULT_GENERATOR), {
    device: ((v.device as string) ?? 'auto') as Device,
  });
  try {
    const xp = await protect(generator, images, {
      seed: seedOf(v.seed as string | undefined),
      range: range as ProtectRange,
      duplicates: K,
    });
    mkdirSync(outDir, { recursive: true });
    const [B, C, H, W] = xp.shape;
    const per = C * H * W;
    for (let i = 0; i < B; i++) {
      const one: Tensor<'float32'> = {
        dtype: 'float32',
        data: (xp.data as Float32Array).slice(i * per, (i + 1) * per),
        shape: [C, H, W],
        stride: [H * W, W, 1],
        offset: 0,
      };
      const out = path.join(outDir, `${names[i]}.${format}`);
      if (format === 'npy') await writeNpy(out, one);
      else {
        if (C !== 3) throw new InvalidArgumentError('format', 'png', "'npy' when --duplicates > 1 (3K channels)");
        await writeImage(out, tensorToImage(one));
      }
      process.stderr.write(`minusface: ${files[i]} → ${out} [${C}, ${H}, ${W}]\n`);
    }
    process.stderr.write(`minusface: generator ${generator.name} on ${generator.device}\n`);
  } finally {
    await generator.dispose();
  }
  return 0;
}

function cardThreshold(modelPath: string): number | undefined {
  const card = cardPathFor(modelPath);
  if (!existsSync(card)) return undefined;
  const t = (JSON.parse(readFileSync(card, 'utf8')) as { metrics?: { threshold?: unknown } }).metrics?.threshold;
  return typeof t === 'number' ? t : undefined;
}

async function verifyCommand(files: string[], v: Record<string, string | boolean | undefined>): Promise<number> {
  if (files.length !== 2) throw new UsageError(`verify takes two protected images, got ${files.length}`);
  const model = resolveModel((v.recognizer as string) ?? DEFAULT_RECOGNIZER);
  const threshold = numberOption(v, 'threshold') ?? cardThreshold(model);
  if (threshold === undefined)
    throw new UsageError(`--threshold is required (no metrics.threshold in ${cardPathFor(model)})`);
  const a = await readInput('A', files[0]);
  const b = await readInput('B', files[1]);
  const recognizer = await RecognizerModel.create(model, { device: ((v.device as string) ?? 'auto') as Device });
  try {
    const [ea] = await embed(recognizer, a);
    const [eb] = await embed(recognizer, b);
    const r = verify(ea, eb, threshold);
    if (v.json) console.log(JSON.stringify({ a: files[0], b: files[1], ...r, device: recognizer.device }));
    else console.log(`score ${r.score.toFixed(6)}  threshold ${threshold}  ${r.match ? 'MATCH' : 'NO MATCH'}`);
  } finally {
    await recognizer.dispose();
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseCliArgs(rest, OPTIONS, true);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (command === 'protect') return protectCommand(positionals, values);
  if (command === 'verify') return verifyCommand(positionals, values);
  const input = command === 'encode' ? 'image' : command === 'decode' ? 'rep' : undefined;
  if (!input) throw new UsageError(`unknown command '${command}' (expected protect, verify, encode or decode)`);
  if (positionals.length) throw new UsageError(`${command} takes no positional arguments`);
  if (command === 'encode' && values.rep !== undefined) throw new UsageError('encode takes --image, not --rep');
  if (command === 'decode' && values.image !== undefined) throw new UsageError('decode takes --rep, not --image');
  const file = requireOption(values, input);
  const out = requireOption(values, 'out');
  if (!existsSync(file)) throw new FileNotFoundError(input, file);
  const x = await readNpy(file);
  const y = command === 'encode' ? encode(x) : decode(x);
  await writeNpy(out, y);
  process.stderr.write(`minusface: wrote ${out} [${y.shape.join(', ')}] float32\n`);
  return 0;
}

runCli(main, USAGE);
