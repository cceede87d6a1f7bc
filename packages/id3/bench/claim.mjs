#!/usr/bin/env node
/**
 * The paper's claim on a stand-in (issue #9): ID3's synthetic data trains a better recogniser than its ablations.
 *
 * Faces cannot be trained here (no face training set, no face diffusion weights, no GPU), so everything is the
 * Fashion-MNIST stand-in of models/python/id3_fmnist.py: the denoiser `id3-fmnist-denoiser.onnx` (conditioned on the
 * 32-d whitened embedding of the frozen contrastive encoder and on a similarity transform as "attributes"), the
 * FR model `id3-fmnist-fr.onnx` and its gradient graph `id3-fmnist-frgrad.onnx`.
 *
 * For each row a synthetic dataset of N identities × m images is generated with the package's own pipeline
 * (`generateDataset`: anchors → embeddings at cosine U[lb, ub] → attributes → sampler → DatasetWriter), the same
 * recogniser is trained on it (bench/claim_recogniser.py, a fixed step budget) and its verification accuracy is
 * measured on REAL Fashion-MNIST test pairs (bench/fmnist-pairs.json: 10 folds × 600, same class = genuine).
 *
 *   id3       Tammes anchors, attributes U(ranges), ID-preserving term (fr-grad guidance, scale γ = 3)
 *   id3-g1    as id3 with the spec's default scale γ = 1
 *   no-id     as id3 without the ID-preserving term at sampling (H2: only what training amortised into ε_θ)
 *   random    random anchors instead of Tammes anchors
 *   no-attr   attributes fixed at the neutral value (identity transform): no attribute diversity
 *   real      reference: the same recogniser and budget on N·m REAL training images with their 10 class labels
 *   teacher   reference: the FR stand-in itself (the identity source), no training
 *
 * Every synthetic row uses the same seed: id3, no-id and no-attr share anchors and identity embeddings, id3, no-id
 * and random share attributes, and every image j of identity i starts from the same noise.
 *
 * Usage:  node packages/id3/bench/claim.mjs [--work DIR] [--identities 64] [--per-identity 10] [--steps 20] ...
 * (see USAGE). Generation resumes (the dataset writer is exactly-once); recogniser results are cached per row in
 * WORK/<row>[.seedS].result.json (delete them to retrain).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readImage, readNpy, writeFileAtomic, writeImage } from '@trustvision/core-tensor';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
// the package's public API (build it first: npm run build -w @trustvision/id3)
const { Denoiser, FrGradient, FrModel, generateDataset } = await import(
  path.join(here, '..', 'dist', 'esm', 'index.js')
);

const USAGE = `node packages/id3/bench/claim.mjs [options]
  --models DIR         folder with id3-fmnist-{denoiser,fr,frgrad}.onnx (default models/prebuilt)
  --work DIR           datasets and per-row results (default ${path.join(os.tmpdir(), 'id3-claim')})
  --identities N       synthetic identities (default 64)
  --per-identity M     images per identity (default 10)
  --steps S            DDIM steps (default 20; eta 0)
  --guidance-scale G   ID-preserving term scale γ (default 3; the row id3-g1 uses 1, the spec's default)
  --no-clip            do not clip x̂_0 to [−1, 1] at each step (clipping is on by default)
  --lb L --ub U        identity-embedding cosine bounds to the anchor (default 0.5, 0.7)
  --rec-steps K        recogniser training steps (default 1000)
  --seed S             dataset seed (default 0): anchors, embeddings, attributes and noise
  --rec-seeds LIST     recogniser seeds, comma-separated (default 0,1): each row's recogniser is trained once per seed
  --rows LIST          comma-separated subset of id3,id3-g1,no-id,random,no-attr,real,teacher (default all)
  --python PATH        Python with torch (default /usr/bin/python3)
  --grid FILE          sample grid PNG (default packages/id3/docs/claim-samples.png; '' = none)
  --json FILE          write the table as JSON`;

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: path.join(root, 'models', 'prebuilt') },
    work: { type: 'string', default: path.join(os.tmpdir(), 'id3-claim') },
    identities: { type: 'string', default: '64' },
    'per-identity': { type: 'string', default: '10' },
    steps: { type: 'string', default: '20' },
    'guidance-scale': { type: 'string', default: '3' },
    'no-clip': { type: 'boolean', default: false },
    lb: { type: 'string', default: '0.5' },
    ub: { type: 'string', default: '0.7' },
    'rec-steps': { type: 'string', default: '1000' },
    'rec-seeds': { type: 'string', default: '0,1' },
    seed: { type: 'string', default: '0' },
    rows: { type: 'string', default: 'id3,id3-g1,no-id,random,no-attr,real,teacher' },
    python: { type: 'string', default: '/usr/bin/python3' },
    grid: { type: 'string', default: path.join(root, 'packages', 'id3', 'docs', 'claim-samples.png') },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const num = (k) => {
  const v = Number(values[k]);
  if (!Number.isFinite(v)) {
    console.error(`--${k} must be a number, got ${values[k]}\n${USAGE}`);
    process.exit(2);
  }
  return v;
};
const N = num('identities');
const M = num('per-identity');
const STEPS = num('steps');
const GAMMA = num('guidance-scale');
const LB = num('lb');
const UB = num('ub');
const REC_STEPS = num('rec-steps');
const SEED = num('seed');
const ROWS = values.rows.split(',').filter(Boolean);
const SEEDS = values['rec-seeds'].split(',').filter(Boolean).map(Number);
if (!SEEDS.length || !SEEDS.every((x) => Number.isInteger(x) && x >= 0)) {
  console.error(`--rec-seeds must be non-negative integers, got ${values['rec-seeds']}\n${USAGE}`);
  process.exit(2);
}
const KNOWN = ['id3', 'id3-g1', 'no-id', 'random', 'no-attr', 'real', 'teacher'];
const CLIP = !values['no-clip'];
for (const r of ROWS)
  if (!KNOWN.includes(r)) {
    console.error(`--rows: unknown row '${r}' (valid: ${KNOWN.join(', ')})\n${USAGE}`);
    process.exit(2);
  }
const work = path.resolve(values.work);
mkdirSync(work, { recursive: true });
const pairs = path.join(here, 'fmnist-pairs.json');
const script = path.join(here, 'claim_recogniser.py');

const NEUTRAL = {
  age: { kind: 'constant', value: 50 },
  pitch: { kind: 'constant', value: 0 },
  yaw: { kind: 'constant', value: 0 },
  roll: { kind: 'constant', value: 0 },
};
const SYNTH = {
  id3: { anchors: 'tammes', attributes: {}, guided: true },
  'id3-g1': { anchors: 'tammes', attributes: {}, guided: true, scale: 1 },
  'no-id': { anchors: 'tammes', attributes: {}, guided: false },
  random: { anchors: 'random', attributes: {}, guided: true },
  'no-attr': { anchors: 'tammes', attributes: NEUTRAL, guided: true },
};

const denoiser = await Denoiser.create(path.join(values.models, 'id3-fmnist-denoiser.onnx'), { device: 'cpu' });
const frGrad = await FrGradient.create(path.join(values.models, 'id3-fmnist-frgrad.onnx'), { device: 'cpu' });
const fr = await FrModel.create(path.join(values.models, 'id3-fmnist-fr.onnx'), { device: 'cpu' });
const c = denoiser.contract;
console.error(
  `denoiser ${c.channels}x${c.height}x${c.width}, d = ${c.embeddingDim}, T = ${c.T} (${c.schedule}, t ${c.tConvention}); ` +
    `${N} identities x ${M} images, DDIM ${STEPS} steps${CLIP ? ' (x0 clipped)' : ''}, guidance ${GAMMA}, cosine [${LB}, ${UB}]`,
);

/** FR cosines of a generated dataset: to each image's own embedding y_ij, and intra/inter identity. */
async function identityStats(dir) {
  const manifest = readFileSync(path.join(dir, 'manifest.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const n = c.channels * c.height * c.width;
  const x = new Float32Array(manifest.length * n);
  for (let k = 0; k < manifest.length; k++) {
    const img = await readImage(path.join(dir, manifest[k].file));
    const hw = c.height * c.width;
    for (let p = 0; p < hw; p++)
      for (let ch = 0; ch < c.channels; ch++) x[k * n + ch * hw + p] = img.data[p * img.channels + ch] / 127.5 - 1;
  }
  const e = (await fr.embed(x, [manifest.length, c.channels, c.height, c.width])).data;
  const d = c.embeddingDim;
  let own = 0;
  let anchorCos = 0;
  const anchors = (await readNpy(path.join(dir, 'anchors.npy'))).data;
  const byId = new Map();
  for (let k = 0; k < manifest.length; k++) {
    const { identity, image } = manifest[k];
    const y = (await readNpy(path.join(dir, String(identity).padStart(5, '0'), 'embeddings.npy'))).data;
    let s = 0;
    let a = 0;
    for (let q = 0; q < d; q++) {
      s += e[k * d + q] * y[image * d + q];
      a += e[k * d + q] * anchors[identity * d + q];
    }
    own += s;
    anchorCos += a;
    if (!byId.has(identity)) byId.set(identity, []);
    byId.get(identity).push(k);
  }
  let intra = 0;
  let nIntra = 0;
  let inter = 0;
  let nInter = 0;
  for (let i = 0; i < manifest.length; i++)
    for (let j = i + 1; j < manifest.length; j++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += e[i * d + q] * e[j * d + q];
      if (manifest[i].identity === manifest[j].identity) {
        intra += s;
        nIntra++;
      } else {
        inter += s;
        nInter++;
      }
    }
  return {
    cosToOwnEmbedding: own / manifest.length,
    cosToAnchor: anchorCos / manifest.length,
    intraIdentityCos: intra / nIntra,
    interIdentityCos: inter / nInter,
  };
}

/** Trains (or reads the cached result of) the recogniser once per seed; `stem` + '.result.json' (seed 0) or '.seedS.result.json'. */
function recogniser(args, stem, seeds = SEEDS) {
  return seeds.map((seed) => {
    const out = `${stem}${seed === 0 ? '' : `.seed${seed}`}.result.json`;
    if (!existsSync(out))
      execFileSync(
        values.python,
        [
          script,
          'train',
          ...args,
          '--pairs',
          pairs,
          '--out',
          out,
          '--steps',
          String(REC_STEPS),
          '--seed',
          String(seed),
        ],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      );
    return JSON.parse(readFileSync(out, 'utf8'));
  });
}

const table = [];
for (const row of ROWS) {
  const entry = { row };
  if (SYNTH[row]) {
    const s = SYNTH[row];
    const dir = path.join(work, row);
    const t0 = Date.now();
    const { written } = await generateDataset(
      dir,
      { denoiser, frGrad: s.guided ? frGrad : undefined },
      {
        identities: N,
        perIdentity: M,
        seed: SEED,
        lb: LB,
        ub: UB,
        anchors: s.anchors,
        attributes: s.attributes,
        sampler: 'ddim',
        steps: STEPS,
        eta: 0,
        clipX0: CLIP,
        guidanceScale: s.guided ? (s.scale ?? GAMMA) : 0,
        batchSize: 32,
      },
      {
        onProgress: (p) =>
          console.error(`  ${row}: ${p.identitiesDone}/${p.identities} identities, ${p.seconds.toFixed(0)} s`),
      },
    );
    // generation time of the run that wrote the whole dataset (a later run over a complete folder writes nothing)
    const timing = path.join(work, `${row}.generation.json`);
    if (written === N)
      await writeFileAtomic(
        timing,
        new TextEncoder().encode(JSON.stringify({ seconds: (Date.now() - t0) / 1000 }) + '\n'),
      );
    entry.generationSeconds = existsSync(timing) ? JSON.parse(readFileSync(timing, 'utf8')).seconds : undefined;
    entry.identitiesWrittenThisRun = written;
    entry.fr = await identityStats(dir);
    entry.recogniser = recogniser(['--dataset', dir], path.join(work, row));
  } else if (row === 'real') {
    entry.recogniser = recogniser(['--real', String(N * M)], path.join(work, 'real'));
  } else {
    entry.recogniser = recogniser(['--teacher'], path.join(work, 'teacher'), [0]); // no training: seed-free
  }
  entry.perSeed = entry.recogniser.map((r) => r.verification.mean);
  entry.accuracy = entry.perSeed.reduce((a, b) => a + b, 0) / entry.perSeed.length;
  entry.std = entry.recogniser.reduce((a, r) => a + r.verification.std, 0) / entry.recogniser.length;
  table.push(entry);
  console.error(`${row}: verification ${entry.perSeed.map((a) => (100 * a).toFixed(2)).join(' / ')} %`, entry.fr ?? '');
}

// sample grid: the first 6 identities x the first min(8, m) images of each synthetic row, side by side
if (values.grid) {
  const rows = ROWS.filter((r) => SYNTH[r] && existsSync(path.join(work, r, 'manifest.jsonl')));
  const ids = Math.min(6, N);
  const per = Math.min(8, M);
  const cell = 28;
  const gap = 10;
  const W = rows.length * per * cell + (rows.length - 1) * gap;
  const H = ids * cell;
  const data = new Uint8Array(W * H).fill(255);
  for (let r = 0; r < rows.length; r++)
    for (let i = 0; i < ids; i++)
      for (let j = 0; j < per; j++) {
        const img = await readImage(
          path.join(work, rows[r], String(i).padStart(5, '0'), `${String(j).padStart(3, '0')}.png`),
        );
        const x0 = r * (per * cell + gap) + j * cell;
        for (let y = 0; y < cell; y++)
          for (let x = 0; x < cell; x++) data[(i * cell + y) * W + x0 + x] = img.data[(y * cell + x) * img.channels];
      }
  mkdirSync(path.dirname(values.grid), { recursive: true });
  await writeImage(values.grid, { width: W, height: H, channels: 1, data });
  console.error(`grid (${rows.join(' | ')}; rows = identities 0..${ids - 1}) -> ${values.grid}`);
}

const lines = [
  `| training set | verification accuracy, real pairs (mean of seeds) | per seed | fold std | FR cos(image, y_ij) | intra / inter identity FR cos | generation |`,
  `| --- | --- | --- | --- | --- | --- | --- |`,
];
for (const e of table)
  lines.push(
    `| ${e.row} | ${(100 * e.accuracy).toFixed(2)} % | ${e.perSeed.map((a) => (100 * a).toFixed(2)).join(' / ')} | ${(100 * e.std).toFixed(2)} | ${e.fr ? e.fr.cosToOwnEmbedding.toFixed(3) : '–'} | ${
      e.fr ? `${e.fr.intraIdentityCos.toFixed(3)} / ${e.fr.interIdentityCos.toFixed(3)}` : '–'
    } | ${e.generationSeconds !== undefined ? `${e.generationSeconds.toFixed(0)} s` : '–'} |`,
  );
console.log(lines.join('\n'));
const summary = {
  machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${os.platform()} ${os.release()}, node ${process.version}`,
  date: new Date().toISOString(),
  config: {
    N,
    M,
    steps: STEPS,
    sampler: 'ddim',
    eta: 0,
    clipX0: CLIP,
    guidanceScale: GAMMA,
    lb: LB,
    ub: UB,
    recogniserSteps: REC_STEPS,
    recogniserSeeds: SEEDS,
    seed: SEED,
  },
  models: { denoiser: denoiser.sha256, frGrad: frGrad.sha256, fr: fr.sha256 },
  table,
};
if (values.json) await writeFileAtomic(values.json, new TextEncoder().encode(JSON.stringify(summary, null, 1) + '\n'));
await denoiser.dispose();
await frGrad.dispose();
await fr.dispose();
