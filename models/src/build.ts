/**
 * Builds the reference models into the models cache and checks each against its committed card: the card in
 * models/cards/ pins the sha256 of the ONNX a recipe must produce, so a build is reproducible or it fails.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  ModelCardError,
  cardPathFor,
  parseModelCard,
  sha256Hex,
  writeFileAtomic,
  type ModelCard,
} from '@trustvision/core-tensor';
import { modelsDir } from './assets.js';

export interface BuiltModel {
  path: string;
  card: ModelCard;
}

export interface Recipe {
  /** File stem of the model: `<name>.onnx`, `<name>.card.json`. */
  name: string;
  description: string;
  /** Writes `<name>.onnx` (and its card) into `outDir`. */
  build(outDir: string): Promise<BuiltModel>;
}

/** The models workspace folder: found upward from the working directory (npm scripts and jest run inside it). */
export function modelsWorkspace(start = process.cwd()): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    for (const candidate of [dir, path.join(dir, 'models')]) {
      const pj = path.join(candidate, 'package.json');
      if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === '@trustvision/models') return candidate;
    }
    if (path.dirname(dir) === dir)
      throw new ModelCardError('cards', start, 'a working directory inside the TrustVision repository (models/cards)');
  }
}

/** The committed cards (models/cards/<name>.card.json). */
export function committedCardPath(name: string): string {
  return path.join(modelsWorkspace(), 'cards', `${name}.card.json`);
}

export function committedCard(name: string): ModelCard {
  return parseModelCard(readFileSync(committedCardPath(name), 'utf8'));
}

export interface BuildResult {
  name: string;
  path: string;
  status: 'cached' | 'built';
  sha256: string;
  ms: number;
}

/**
 * Builds `recipes` into `outDir` (default: the models cache). A model already there whose sha256 matches the
 * committed card is kept; otherwise it is rebuilt in a temporary folder, checked against the card, then moved in.
 */
export async function buildModels(
  recipes: readonly Recipe[],
  options: { outDir?: string; force?: boolean; log?: (line: string) => void } = {},
): Promise<BuildResult[]> {
  const outDir = options.outDir ?? modelsDir();
  const log = options.log ?? (() => undefined);
  mkdirSync(outDir, { recursive: true });
  const results: BuildResult[] = [];
  for (const recipe of recipes) {
    const t0 = Date.now();
    const want = committedCard(recipe.name);
    const dest = path.join(outDir, `${recipe.name}.onnx`);
    if (!options.force && existsSync(dest) && existsSync(cardPathFor(dest))) {
      const have = await sha256Hex(new Uint8Array(readFileSync(dest)));
      if (have === want.sha256) {
        results.push({ name: recipe.name, path: dest, status: 'cached', sha256: have, ms: Date.now() - t0 });
        log(`${recipe.name}: cached (${dest})`);
        continue;
      }
    }
    log(`${recipe.name}: building — ${recipe.description}`);
    const tmp = mkdtempSync(path.join(outDir, `.build-${recipe.name}-`));
    try {
      const built = await recipe.build(tmp);
      const got = await sha256Hex(new Uint8Array(readFileSync(built.path)));
      if (got !== want.sha256)
        throw new ModelCardError(
          'sha256',
          got,
          want.sha256,
          `${recipe.name} built differently from its committed card (models/cards/${recipe.name}.card.json): ` +
            'the recipe or its pinned input changed; if intended, regenerate the card',
        );
      await writeFileAtomic(cardPathFor(dest), new TextEncoder().encode(JSON.stringify(want, null, 2) + '\n'));
      renameSync(built.path, dest);
      results.push({ name: recipe.name, path: dest, status: 'built', sha256: got, ms: Date.now() - t0 });
      log(`${recipe.name}: built ${dest} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return results;
}
