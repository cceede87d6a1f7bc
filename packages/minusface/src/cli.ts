#!/usr/bin/env node
/**
 * minusface CLI.
 *
 *   minusface encode --image X.npy --out E.npy
 *   minusface decode --rep E.npy --out X.npy
 */
import { existsSync } from 'node:fs';
import {
  FileNotFoundError,
  UsageError,
  parseCliArgs,
  readNpy,
  requireOption,
  runCli,
  writeNpy,
} from '@trustvision/core-tensor';
import { decode, encode } from './transform.js';

const USAGE = `usage:
  minusface encode --image X.npy --out E.npy
      e(X): X float32 [3,H,W] RGB in [0,1] (H = W = 112 in the paper) → E float32 [192,H,W], the block-DCT
      representation (×8 bilinear upsampling, align_corners; JPEG YCbCr − 128; 8×8 orthonormal DCT;
      channel 64·c + 8·u + v).
  minusface decode --rep E.npy --out X.npy
      d(E): E float32 [192,H,W] → X float32 [3,H,W], clamped to [0,1].

  Inputs may be float32 or float64 .npy files; outputs are float32, written atomically.
  exit codes: 0 ok, 1 error (printed as 'error [CODE]: message'), 2 usage`;

const OPTIONS = {
  image: { type: 'string' },
  rep: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseCliArgs(rest, OPTIONS);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const input = command === 'encode' ? 'image' : command === 'decode' ? 'rep' : undefined;
  if (!input) throw new UsageError(`unknown command '${command}' (expected encode or decode)`);
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
