/**
 * The id3 stand-ins (id3-fmnist-denoiser, -fr, -frgrad): the committed cards are valid, say STAND-IN and are what the
 * recipe drafts from the committed training log; the ONNX files carry the id3 contract in their metadata; and ONNX
 * Runtime reproduces the PyTorch outputs the training script logged (models/python/id3_fmnist.py, `reference`) on
 * inputs defined by formulas, including the explicit-backward FR gradient against torch autograd's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSession, disposeSharedOps, tensor, validateModelCard, type Session } from '@trustvision/core-tensor';
import {
  ID3_FMNIST_DENOISER,
  ID3_FMNIST_FR,
  ID3_FMNIST_FRGRAD,
  buildId3Fmnist,
  id3FmnistCard,
  id3FmnistPaths,
  type Id3FmnistLog,
  type Id3FmnistModel,
} from '../src/recipes/id3-fmnist.js';

interface Summary {
  head: number[][];
  sum: number[];
  sumsq: number[];
}
interface Reference {
  attributes: number[][];
  eps: Summary;
  embedding: number[][];
  grad: Summary;
  grad_autograd: Summary;
  cosine: number[];
}

const files = id3FmnistPaths();
const log = JSON.parse(readFileSync(files.log, 'utf8')) as Id3FmnistLog & { reference: Reference };
const NAMES: Id3FmnistModel[] = [ID3_FMNIST_DENOISER, ID3_FMNIST_FR, ID3_FMNIST_FRGRAD];
const B = 4;
const D = 32;
const N = 3 * 28 * 28;

function inputs() {
  const x = new Float32Array(B * N);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(0.37 * i);
  const y = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let k = 0; k < D; k++) s += Math.cos(0.11 * (D * b + k) + 1) ** 2;
    for (let k = 0; k < D; k++) y[b * D + k] = Math.cos(0.11 * (D * b + k) + 1) / Math.sqrt(s);
  }
  return { x, y, t: BigInt64Array.from([0n, 10n, 500n, 999n]), s: Float32Array.from(log.reference.attributes.flat()) };
}

function expectSummary(got: Float32Array, want: Summary, tol: number) {
  for (let b = 0; b < B; b++) {
    const row = got.subarray(b * N, (b + 1) * N);
    let sum = 0;
    let sumsq = 0;
    for (const v of row) {
      expect(Number.isFinite(v)).toBe(true);
      sum += v;
      sumsq += v * v;
    }
    const scale = Math.sqrt(want.sumsq[b] / N);
    for (let i = 0; i < 32; i++) expect(Math.abs(row[i] - want.head[b][i])).toBeLessThan(tol * scale + 1e-7);
    expect(Math.abs(sum - want.sum[b])).toBeLessThan(tol * scale * N);
    expect(Math.abs(sumsq / want.sumsq[b] - 1)).toBeLessThan(tol);
  }
}

describe('id3-fmnist stand-ins', () => {
  let outDir: string;
  const sessions: Partial<Record<Id3FmnistModel, Session>> = {};

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'tv-id3-fmnist-'));
    for (const name of NAMES) {
      const built = await buildId3Fmnist(name, outDir);
      sessions[name] = await createSession(built.path, { device: 'cpu' });
    }
  });

  afterAll(async () => {
    for (const s of Object.values(sessions)) await s?.dispose();
    await disposeSharedOps();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test.each(NAMES)(
    '%s: the committed card is valid, STAND-IN, and what the recipe drafts from the log',
    async (name) => {
      const card = validateModelCard(JSON.parse(readFileSync(files.card(name), 'utf8')));
      expect(card.provenance).toMatchObject({ license: 'MIT', standIn: true, source: 'models/python/id3_fmnist.py' });
      expect(card.description).toMatch(/STAND-IN/);
      const bytes = new Uint8Array(readFileSync(files.prebuilt(name)));
      expect(bytes.length).toBeLessThan(5 * 2 ** 20);
      expect(await id3FmnistCard(name, bytes, log)).toEqual(card);
      expect(log.onnx[name].sha256).toBe(card.sha256);
    },
  );

  test('the ONNX metadata holds the id3 contract the sampler reads', () => {
    const meta = sessions[ID3_FMNIST_DENOISER]!.model.metadata;
    expect(meta).toMatchObject({
      'id3.height': '28',
      'id3.width': '28',
      'id3.channels': '3',
      'id3.embedding_dim': '32',
      'id3.attributes': '4',
      'id3.attribute_normalisation': 'age/100,pitch/90,yaw/90,roll/90',
      'id3.T': '1000',
      'id3.schedule': 'linear',
      'id3.beta_start': '0.0001',
      'id3.beta_end': '0.02',
      'id3.t_convention': 'index',
      'trustvision.standIn': 'true',
    });
    expect(sessions[ID3_FMNIST_DENOISER]!.inputs.map((i) => [i.name, i.dtype])).toEqual([
      ['x_t', 'float32'],
      ['t', 'int64'],
      ['id_embedding', 'float32'],
      ['attributes', 'float32'],
    ]);
    expect(sessions[ID3_FMNIST_FR]!.model.metadata['id3.embedding_dim']).toBe('32');
  });

  test('ONNX Runtime reproduces the logged PyTorch outputs (denoiser, FR, FR gradient = autograd)', async () => {
    const { x, y, t, s } = inputs();
    const eps = await sessions[ID3_FMNIST_DENOISER]!.run({
      x_t: tensor(x, [B, 3, 28, 28]),
      t: tensor(t, [B]),
      id_embedding: tensor(y, [B, D]),
      attributes: tensor(s, [B, 4]),
    });
    expectSummary(eps.eps.data as Float32Array, log.reference.eps, 1e-4);

    const emb = (await sessions[ID3_FMNIST_FR]!.run({ image: tensor(x, [B, 3, 28, 28]) })).embedding
      .data as Float32Array;
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let k = 0; k < D; k++) {
        n += emb[b * D + k] ** 2;
        expect(Math.abs(emb[b * D + k] - log.reference.embedding[b][k])).toBeLessThan(1e-5);
      }
      expect(Math.abs(n - 1)).toBeLessThan(1e-5);
    }

    const g = await sessions[ID3_FMNIST_FRGRAD]!.run({
      image: tensor(x, [B, 3, 28, 28]),
      id_embedding: tensor(y, [B, D]),
    });
    expectSummary(g.grad.data as Float32Array, log.reference.grad, 1e-4);
    expectSummary(g.grad.data as Float32Array, log.reference.grad_autograd, 1e-4);
    const cos = g.cosine.data as Float32Array;
    for (let b = 0; b < B; b++) {
      let dot = 0;
      for (let k = 0; k < D; k++) dot += emb[b * D + k] * y[b * D + k];
      expect(Math.abs(cos[b] - dot)).toBeLessThan(1e-5);
      expect(Math.abs(cos[b] - log.reference.cosine[b])).toBeLessThan(1e-5);
    }
  });
});
