/**
 * The committed stand-ins (models/prebuilt/*.onnx with models/cards/*.card.json) are "built" by copying: the file's
 * sha256 must be the one its committed card states, so a model and a card that drifted apart are refused.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelCardError, cardPathFor, parseModelCard, sha256Hex, writeFileAtomic } from '@trustvision/core-tensor';
import type { BuiltModel } from '../build.js';

export interface CommittedModel {
  /** The model's name: `<name>.onnx` in `outDir`, `models/cards/<name>.card.json`. */
  name: string;
  /** The committed ONNX file. */
  prebuilt: string;
  /** The committed card. */
  card: string;
}

/** Copies a committed model and its card into `outDir`, checking the file against the card's sha256. */
export async function copyCommittedModel(
  model: CommittedModel,
  outDir: string,
  log?: (line: string) => void,
): Promise<BuiltModel> {
  mkdirSync(outDir, { recursive: true });
  const dest = path.join(outDir, `${model.name}.onnx`);
  const card = parseModelCard(readFileSync(model.card, 'utf8'));
  const bytes = new Uint8Array(readFileSync(model.prebuilt));
  const got = await sha256Hex(bytes);
  if (got !== card.sha256)
    throw new ModelCardError(
      'sha256',
      got,
      card.sha256,
      `${model.prebuilt} is not the model models/cards/${model.name}.card.json describes`,
    );
  copyFileSync(model.prebuilt, dest);
  await writeFileAtomic(cardPathFor(dest), new TextEncoder().encode(JSON.stringify(card, null, 2) + '\n'));
  log?.(`${model.name}: copied the committed stand-in (${bytes.length} bytes, sha256 ${got.slice(0, 12)}…)`);
  return { path: dest, card };
}
