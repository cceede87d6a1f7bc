// Synthetic scene benchmark with exact labels (issue #7): Fashion-MNIST objects on textured backgrounds
// (src/scenes.ts), 7 base classes (6 objects + background) and 4 novel ones; masks from the model-free Felzenszwalb
// proposer at each of `--scales` (so fragmentation is real: scale 100 cuts a scene into ~9x more segments than it has
// regions, scale 300 into ~2.8x) or, as an upper bound, the ground-truth regions ("oracle masks"); one feature per
// mask from each of `--encoders`:
//   gcdss        the stand-in trained with cross-entropy on masked crops of base classes only
//                (models/prebuilt/gcdss-encoder.onnx: RGB 32x32, ImageNet mean / std);
//   contrastive  the self-supervised SimCLR encoder (models/prebuilt/contrastive-encoder.onnx: grey 28x28 in [0, 1],
//                normalisation inside the graph), trained without labels on Fashion-MNIST train images 0..54999 (all
//                ten classes, so unlabelled novel objects too: label-free pretraining, as DINOv2's);
//   concat       both features, each L2-normalised, concatenated and scaled by 1/sqrt(2) (unit norm);
// maskFeatures feeds each model what its card declares. NeRG-MaskCA, the SS-k-means baseline and the leak-reproducing
// variant; base / novel / all mIoU on the unlabelled scenes (transductive, as GCDSS evaluates) under both protocols,
// mean ± sd over seeds.
//
//   node bench/scenes.mjs [--seeds 0,1,2] [--labeled 40] [--unlabeled 60] [--novel 4] [--k 10]
//                         [--scales 100,300] [--sigma 0.8] [--min-size 20] [--encoders gcdss,contrastive,concat]
//                         [--model PATH] [--contrastive-model PATH] [--data DIR] [--out bench/results] [--no-oracle]
//
// Objects come from Fashion-MNIST's official train images 55000..59999 (the "calibration" split every stand-in holds
// out), which neither encoder saw. Writes <out>/scenes.json and <out>/scenes.md (atomically) and prints the table.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { createSession, disposeSharedOps, parseModelCard, writeFileAtomic } from '@trustvision/core-tensor';
import {
  clusterMasks,
  maskNeighbors,
  evaluateLabelMaps,
  generateScenes,
  labelSegments,
  maskFeatures,
  paintLabelMap,
  proposeSegments,
  resolveFeatureInput,
  segmentMajority,
} from '../dist/esm/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    labeled: { type: 'string', default: '40' },
    unlabeled: { type: 'string', default: '60' },
    novel: { type: 'string', default: '4' },
    k: { type: 'string', default: '10' },
    scales: { type: 'string', default: '100,300' },
    sigma: { type: 'string', default: '0.8' },
    'min-size': { type: 'string', default: '20' },
    encoders: { type: 'string', default: 'gcdss,contrastive,concat' },
    model: { type: 'string', default: path.join(repo, 'models', 'prebuilt', 'gcdss-encoder.onnx') },
    'contrastive-model': { type: 'string', default: path.join(repo, 'models', 'prebuilt', 'contrastive-encoder.onnx') },
    data: { type: 'string' },
    out: { type: 'string', default: path.join(here, 'results') },
    'no-oracle': { type: 'boolean', default: false },
  },
});
const seeds = values.seeds.split(',').map(Number);
const novel = Number(values.novel);
const k = Number(values.k);
const scales = values.scales.split(',').map(Number);
const propose = { sigma: Number(values.sigma), minSize: Number(values['min-size']) };
const METHODS = ['nerg', 'baseline', 'nerg-official-leak'];
const SOURCES = [...scales.map((s) => `felzenszwalb-${s}`), ...(values['no-oracle'] ? [] : ['oracle'])];
const ENCODERS = values.encoders.split(',');
for (const e of ENCODERS)
  if (!['gcdss', 'contrastive', 'concat'].includes(e))
    throw new Error(`--encoders: unknown encoder '${e}' (valid: gcdss, contrastive, concat)`);
// the models to run: concat needs both
const MODELS = ['gcdss', 'contrastive'].filter((m) => ENCODERS.includes(m) || ENCODERS.includes('concat'));

async function fashionMnistDir() {
  if (values.data) return values.data;
  try {
    const models = await import('@trustvision/models');
    return models.paths.fashionMnist();
  } catch {
    const cache =
      process.env.TRUSTVISION_CACHE ||
      path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'trustvision');
    return path.join(
      cache,
      'assets/deb/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all/usr/share/datasets/fashion-mnist',
    );
  }
}

function readIdx(file) {
  const raw = gunzipSync(readFileSync(file));
  return raw.subarray(raw.readUInt32BE(0) === 0x803 ? 16 : 8);
}

const dir = await fashionMnistDir();
if (!existsSync(path.join(dir, 'train-images-idx3-ubyte.gz')))
  throw new Error(`Fashion-MNIST not found in ${dir}: run \`npm run models\` (or pass --data DIR)`);
// the "calibration" split: official train 55000..59999, held out from the encoder's training
const pool = {
  images: readIdx(path.join(dir, 'train-images-idx3-ubyte.gz')).slice(55000 * 784, 60000 * 784),
  labels: readIdx(path.join(dir, 'train-labels-idx1-ubyte.gz')).slice(55000, 60000),
};

// each model with its card (models/cards/<name>.card.json): maskFeatures feeds what the card and the input declare
const models = {};
for (const name of MODELS) {
  const file = path.resolve(name === 'gcdss' ? values.model : values['contrastive-model']);
  const cardFile = path.join(path.dirname(file), '..', 'cards', path.basename(file, '.onnx') + '.card.json');
  const card = existsSync(cardFile) ? parseModelCard(readFileSync(cardFile, 'utf8')) : undefined;
  const session = await createSession(new Uint8Array(readFileSync(file)), { device: 'cpu' });
  const opts = { batchSize: 256, card: card ?? false };
  const spec = resolveFeatureInput(session.inputs, session.outputs, opts, card);
  models[name] = { file: path.relative(repo, file), card: card && path.relative(repo, cardFile), session, opts, spec };
  console.error(`${name}: ${models[name].file}, fed ${JSON.stringify(spec)}`);
}
const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical cores, Node ${process.version}`;
const runs = [];
const neighbourhoods = [];
const t0 = Date.now();

for (const seed of seeds) {
  const tg = Date.now();
  const set = generateScenes(pool, { seed, labeled: Number(values.labeled), unlabeled: Number(values.unlabeled) });
  const genSeconds = (Date.now() - tg) / 1000;
  for (const source of SOURCES) {
    const tf = Date.now();
    const feats = Object.fromEntries(ENCODERS.map((e) => [e, []]));
    const areas = [];
    const labels = [];
    const gt = [];
    const unl = [];
    const D = {};
    let skipped = 0;
    /** One feature row per segment for every encoder: { name: (s) => Float32Array }. */
    const featuresOf = async (scene, seg) => {
      const f = {};
      for (const name of MODELS) {
        f[name] = await maskFeatures(scene.image, seg.segments, seg.count, models[name].session, models[name].opts);
        D[name] = f[name].shape[1];
      }
      const row = {};
      for (const e of ENCODERS) {
        if (e !== 'concat') row[e] = (s) => f[e].data.subarray(s * D[e], (s + 1) * D[e]);
        else {
          D.concat = D.gcdss + D.contrastive;
          row.concat = (s) => {
            const r = new Float32Array(D.concat);
            r.set(f.gcdss.data.subarray(s * D.gcdss, (s + 1) * D.gcdss));
            r.set(f.contrastive.data.subarray(s * D.contrastive, (s + 1) * D.contrastive), D.gcdss);
            for (let j = 0; j < r.length; j++) r[j] *= Math.SQRT1_2; // both halves are unit vectors
            return r;
          };
        }
      }
      return row;
    };
    const segmentsOf = (scene) =>
      source === 'oracle'
        ? labelSegments(scene.labels, set.width, set.height)
        : proposeSegments(scene.image, { ...propose, scale: Number(source.split('-')[1]) });
    for (const scene of set.labeled) {
      const seg = segmentsOf(scene);
      const row = await featuresOf(scene, seg);
      const maj = segmentMajority(seg.segments, seg.count, scene.labels);
      for (let s = 0; s < seg.count; s++) {
        if (maj.label[s] < 0) {
          skipped++;
          continue;
        }
        for (const e of ENCODERS) feats[e].push(row[e](s));
        areas.push(maj.count[s]); // labelled masks: the majority class's pixels, as the official code weights them
        labels.push(maj.label[s]);
        gt.push(maj.label[s]);
      }
    }
    for (const scene of set.unlabeled) {
      const seg = segmentsOf(scene);
      const row = await featuresOf(scene, seg);
      const maj = segmentMajority(seg.segments, seg.count, scene.labels);
      unl.push({ scene, seg, first: labels.length });
      for (let s = 0; s < seg.count; s++) {
        for (const e of ENCODERS) feats[e].push(row[e](s));
        areas.push(seg.areas[s]);
        labels.push(-1);
        gt.push(maj.label[s]); // read only by nerg-official-leak
      }
    }
    const M = labels.length;
    const maskSets = {};
    for (const e of ENCODERS) {
      const data = new Float32Array(M * D[e]);
      feats[e].forEach((f, i) => data.set(f, i * D[e]));
      maskSets[e] = {
        features: { data, shape: [M, D[e]] },
        areas,
        labels: Int32Array.from(labels),
        gt: Int32Array.from(gt),
      };
    }
    const featureSeconds = (Date.now() - tf) / 1000;
    // purity of the masks: the share of unlabelled pixels inside a mask whose majority class is their own
    let pure = 0;
    let px = 0;
    for (const u of unl) {
      const maj = segmentMajority(u.seg.segments, u.seg.count, u.scene.labels);
      for (let i = 0; i < u.scene.labels.length; i++) {
        px++;
        if (maj.label[u.seg.segments[i] - 1] === u.scene.labels[i]) pure++;
      }
    }
    // how the features place unlabelled masks of novel classes: the share of their k nearest masks (cosine, the
    // graph NeRG-MaskCA propagates over) of the same novel class, and of labelled masks (which carry base labels)
    const novelIds = [];
    for (let i = unl[0].first; i < M; i++) if (gt[i] >= set.numBase) novelIds.push(i);
    for (const encoder of ENCODERS) {
      const { data } = maskSets[encoder].features;
      const nb = await maskNeighbors(data, M, D[encoder], Int32Array.from(novelIds), k, 'cpu');
      let same = 0;
      let labelled = 0;
      for (let q = 0; q < novelIds.length; q++)
        for (let j = 0; j < k; j++) {
          const n = nb[q * k + j];
          if (gt[n] === gt[novelIds[q]]) same++;
          if (n < unl[0].first) labelled++;
        }
      neighbourhoods.push({
        seed,
        source,
        encoder,
        novelMasks: novelIds.length,
        sameClass: same / (novelIds.length * k),
        labelled: labelled / (novelIds.length * k),
      });
    }
    for (const encoder of ENCODERS)
      for (const method of METHODS) {
        const masks = maskSets[encoder];
        const tm = Date.now();
        // NeRG-MaskCA cannot open more novel clusters than it has candidates: then every candidate is its own cluster
        let novelClusters = novel;
        let res;
        try {
          res = await clusterMasks(masks, { method, novel, k, seed, numBase: set.numBase, device: 'cpu' });
        } catch (e) {
          const few = e?.param === 'novel' && /candidate masks \((\d+)\)/.exec(String(e.expected));
          if (!few) throw e;
          novelClusters = Number(few[1]);
          const opts = { method, novel: novelClusters, k, seed, numBase: set.numBase, device: 'cpu' };
          res = await clusterMasks(masks, opts);
        }
        const clusterSeconds = (Date.now() - tm) / 1000;
        const pairs = unl.map((u) => ({
          pred: paintLabelMap(
            u.seg.segments,
            set.width,
            set.height,
            res.assignments.subarray(u.first, u.first + u.seg.count),
          ),
          gt: u.scene.labels,
          width: set.width,
          height: set.height,
          name: u.scene.name,
        }));
        const reports = {};
        for (const protocol of ['per-image', 'dataset'])
          reports[protocol] = evaluateLabelMaps(pairs, { base: set.base, novel: set.novel, protocol });
        let novelMasks = 0;
        for (let i = M - (M - unl[0].first); i < M; i++) if (res.assignments[i] >= set.numBase) novelMasks++;
        runs.push({
          seed,
          source,
          encoder,
          method,
          labeledMasks: unl[0].first,
          skippedLabeledMasks: skipped,
          unlabeledMasks: M - unl[0].first,
          maskPurity: pure / px,
          novelCandidates: res.candidates.length,
          novelClusters,
          novelMasks,
          seconds: { generate: genSeconds, features: featureSeconds, cluster: clusterSeconds },
          perImage: pick(reports['per-image']),
          dataset: pick(reports.dataset),
        });
        const r = reports['per-image'];
        console.error(
          `seed ${seed} ${source} ${encoder} ${method}: per-image all ${pc(r.miou)} base ${pc(r.miouBase)} novel ${pc(r.miouNovel)}` +
            ` | dataset all ${pc(reports.dataset.miou)} novel ${pc(reports.dataset.miouNovel)}` +
            ` | ${M} masks, ${res.candidates.length} candidates, ${clusterSeconds.toFixed(1)} s`,
        );
      }
  }
}
for (const name of MODELS) await models[name].session.dispose();
await disposeSharedOps();

function pick(r) {
  return { miou: r.miou, miouBase: r.miouBase, miouNovel: r.miouNovel, perClass: r.perClass, matching: r.matching };
}
function pc(v) {
  return (100 * v).toFixed(1);
}
function stats(xs) {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: m, sd };
}
const fmt = ({ mean, sd }) => `${(100 * mean).toFixed(1)} ± ${(100 * sd).toFixed(1)}`;

const LABEL = {
  nerg: 'NeRG-MaskCA',
  baseline: 'SS-k-means baseline',
  'nerg-official-leak': 'NeRG-MaskCA, official GT leak (§11.1)',
};
const ENCODER_LABEL = {
  gcdss: 'supervised (base classes)',
  contrastive: 'self-supervised (SimCLR)',
  concat: 'supervised ⊕ self-supervised',
};
const rows = [];
const summary = [];
for (const source of SOURCES)
  for (const encoder of ENCODERS)
    for (const method of METHODS) {
      const rs = runs.filter((r) => r.source === source && r.encoder === encoder && r.method === method);
      const agg = {};
      for (const protocol of ['perImage', 'dataset'])
        agg[protocol] = {
          all: stats(rs.map((r) => r[protocol].miou)),
          base: stats(rs.map((r) => r[protocol].miouBase)),
          novel: stats(rs.map((r) => r[protocol].miouNovel)),
        };
      const novelShare = stats(rs.map((r) => r.novelMasks / r.unlabeledMasks));
      summary.push({
        source,
        encoder,
        method,
        ...agg,
        unlabeledMasks: stats(rs.map((r) => r.unlabeledMasks)),
        novelShare,
      });
      rows.push(
        `| ${source === 'oracle' ? 'oracle (GT regions)' : `Felzenszwalb, scale ${source.split('-')[1]}`} | ` +
          `${ENCODER_LABEL[encoder]} | ${LABEL[method]} | ` +
          `${fmt(agg.perImage.all)} | ${fmt(agg.perImage.base)} | ${fmt(agg.perImage.novel)} | ` +
          `${fmt(agg.dataset.all)} | ${fmt(agg.dataset.base)} | ${fmt(agg.dataset.novel)} | ` +
          `${(100 * novelShare.mean).toFixed(0)} |`,
      );
    }
const nbRows = [];
for (const source of SOURCES)
  for (const encoder of ENCODERS) {
    const ns = neighbourhoods.filter((n) => n.source === source && n.encoder === encoder);
    nbRows.push(
      `| ${source === 'oracle' ? 'oracle (GT regions)' : `Felzenszwalb, scale ${source.split('-')[1]}`} | ` +
        `${ENCODER_LABEL[encoder]} | ${Math.round(stats(ns.map((n) => n.novelMasks)).mean)} | ` +
        `${fmt(stats(ns.map((n) => n.sameClass)))} | ${fmt(stats(ns.map((n) => n.labelled)))} |`,
    );
  }
const masksLine = SOURCES.map((source) => {
  const rs = runs.filter((r) => r.source === source && r.encoder === ENCODERS[0] && r.method === 'nerg');
  const m = stats(rs.map((r) => r.unlabeledMasks)).mean;
  const l = stats(rs.map((r) => r.labeledMasks)).mean;
  const p = stats(rs.map((r) => r.maskPurity)).mean;
  return `${source}: ${Math.round(l)} labelled + ${Math.round(m)} unlabelled masks per seed, pixel purity ${(100 * p).toFixed(1)} %`;
}).join('; ');
const totalSeconds = (Date.now() - t0) / 1000;
const md = [
  `| masks | features | method | all (per-image) | base | novel | all (dataset) | base | novel | novel masks % |`,
  `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ...rows,
  '',
  `mIoU in %, mean ± sd over seeds ${seeds.join(', ')}; ${values.labeled} labelled + ${values.unlabeled} unlabelled ` +
    `128×128 scenes per seed, ${novel} novel clusters, k = ${k}. ` +
    `Features: ${ENCODERS.map((e) => `${e} = ${ENCODER_LABEL[e]}`).join('; ')} ` +
    `(${MODELS.map((m) => `${m}: ${models[m].file}, ${models[m].spec.channels}×${models[m].spec.height}×${models[m].spec.width}`).join('; ')}). ` +
    `"novel masks %": share of the unlabelled masks assigned to a novel cluster. ${masksLine}. ` +
    `Felzenszwalb sigma ${propose.sigma}, minSize ${propose.minSize}. ` +
    `${totalSeconds.toFixed(0)} s on ${machine}.`,
  '',
  `Neighbourhoods of the unlabelled masks of novel classes (the ${k} nearest masks by cosine, as NeRG-MaskCA's graph):`,
  '',
  `| masks | features | novel masks per seed | same novel class % | labelled masks % |`,
  `| --- | --- | --- | --- | --- |`,
  ...nbRows,
  '',
].join('\n');
const out = path.resolve(values.out);
const { mkdirSync } = await import('node:fs');
mkdirSync(out, { recursive: true });
const json = {
  command: `node packages/gcdss/bench/scenes.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine,
  totalSeconds,
  options: {
    ...values,
    scales,
    propose,
    model: path.relative(repo, path.resolve(values.model)),
    'contrastive-model': path.relative(repo, path.resolve(values['contrastive-model'])),
  },
  encoders: Object.fromEntries(
    MODELS.map((m) => [m, { file: models[m].file, card: models[m].card, batchSize: 256, fed: models[m].spec }]),
  ),
  summary,
  neighbourhoods,
  runs,
};
delete json.options.data;
delete json.options.out;
await writeFileAtomic(path.join(out, 'scenes.json'), new TextEncoder().encode(JSON.stringify(json, null, 2) + '\n'));
await writeFileAtomic(path.join(out, 'scenes.md'), new TextEncoder().encode(md));
console.log(md);
