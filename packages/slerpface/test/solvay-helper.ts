/**
 * Real face photographs for the tests: square regions around identities of the Solvay 1927 benchmark (both photos),
 * read through the models workspace (Debian visp-images-data, pinned) and its committed pair list. Fails with
 * instructions when the models or photos are missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cropSquare, modelSearchPath, readImage, type Box, type Image } from '@trustvision/core-tensor';

export type SolvayFaces = { id: number; photo1: Image; version2: Image }[];

const HOW =
  'Build the reference models and fetch the photos first: `npm run models` in the repository root (it writes ' +
  'blazeface/faceres into $TRUSTVISION_CACHE/models, default ~/.cache/trustvision, and fetches Debian visp-images-data).';

export function requireModels(names = ['blazeface', 'faceres']): void {
  const dirs = modelSearchPath();
  for (const n of names)
    if (!dirs.some((d) => existsSync(path.join(d, `${n}.onnx`))))
      throw new Error(`model '${n}' is not built (looked in ${dirs.join(', ')}). ${HOW}`);
}

function region(img: Image, b: Box, side: number): Image {
  const s = Math.max(b.width, b.height) * 3;
  return cropSquare(img, { x: b.x + b.width / 2 - s / 2, y: b.y + b.height / 2 - s / 2, size: s }, side);
}

/** For each identity: a 3×-box square region (resampled to `side` px) from photo 1 and from Version2. */
export async function solvayFaces(ids: number[], side = 192): Promise<SolvayFaces> {
  requireModels();
  // the models workspace is ESM-only (jest runs this file as CommonJS): ask it for the paths in a child process
  let info: { root: string; pairs: string };
  try {
    const script =
      "const m = await import('@trustvision/models');" +
      'console.log(JSON.stringify({ root: m.paths.vispImages(), pairs: m.solvayPairsPath() }));';
    info = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  } catch (e) {
    throw new Error(`the Solvay photos are not available: ${(e as Error).message}. ${HOW}`);
  }
  const photo1 = await readImage(path.join(info.root, 'faces/1280px-Solvay_conference_1927.png'));
  const version2 = await readImage(path.join(info.root, 'Solvay/Solvay_conference_1927_Version2_1280x881.png'));
  const pairs = (
    JSON.parse(readFileSync(info.pairs, 'utf8')) as { pairs: { id: number; photo1Box: Box; version2Box: Box }[] }
  ).pairs;
  const data = { photo1, version2 };
  return ids.map((id) => {
    const p = pairs.find((q) => q.id === id);
    if (!p) throw new Error(`identity ${id} is not in the Solvay pair list`);
    return { id, photo1: region(data.photo1, p.photo1Box, side), version2: region(data.version2, p.version2Box, side) };
  });
}
