#!/usr/bin/env node
/**
 * "The paper's claim, measured": does κ behave like a human-like confidence on Fashion-MNIST?
 *
 *   node bench/claim.mjs [--train 20000] [--corrupt 2000] [--epochs 20] [--seed 0] [--data DIR] [--out bench]
 *
 * 1. Features: the stand-in encoder (contrastive-encoder, frozen; `npm run models` builds it) on two random views
 *    (`randomViews`: crop/flip/rotation/brightness/contrast, no noise/blur/occlusion) of the first --train images of the
 *    official training split.
 * 2. Heads, trained in TypeScript with `trainHead`, same seed, data and steps: 'prob' (the probabilistic loss, radius 1)
 *    and the deterministic 'infonce' baseline (τ = 0.1); also 'scf' (InfoNCE + SCF κ term). Then 'prob+hard': the
 *    prob head on "harder views" (`randomViews` with `corruptions`: half the views also get a random noise / blur /
 *    occlusion of random severity), and 'prob+hard-K': the same without corruption K, evaluated on K only (does κ
 *    generalise to a kind of difficulty it never saw?).
 * 3. Corruptions: the first --corrupt official test images under Gaussian noise, blur and occlusion at severities
 *    0..5 (`corrupt`), embedded through ProbContrastive with the prob head exported to ONNX (the user path). Reports
 *    Spearman(κ, severity) and the AUROC of −κ for clean vs corrupted, per corruption.
 * 4. kNN accuracy (k = 20, cosine vote, gallery = the clean training images used above, queries = all 10,000 test
 *    images) of the prob head, the InfoNCE head and the raw encoder features.
 * 5. Retrieval by κ: a test image is correctly retrieved when its nearest gallery image has its label; accuracy per κ
 *    quintile, and the AUROC of κ (and, for comparison, of the nearest-neighbour cosine) for correct vs wrong.
 *
 * Writes OUT/claim-results.json and OUT/claim.svg, prints a Markdown table. Single-threaded JS training; about
 * 17 minutes on a 2-core VM (7 heads, 1,170 steps each).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { disposeSharedOps, knn, loadModel, rocAuc, tensor } from '@trustvision/core-tensor';
import { CORRUPTIONS, ProbContrastive, corrupt, randomViews, trainHead } from '@trustvision/prob-contrastive';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '20000' },
    corrupt: { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '20' },
    seed: { type: 'string', default: '0' },
    data: { type: 'string' },
    out: { type: 'string', default: path.join(path.dirname(new URL(import.meta.url).pathname)) },
    encoder: { type: 'string', default: 'contrastive-encoder' },
  },
});
const M = Number(values.train);
const NC = Number(values.corrupt);
const EPOCHS = Number(values.epochs);
const SEED = Number(values.seed);
const log = (s) => process.stderr.write(`claim: ${s}\n`);

function dataDir() {
  if (values.data) return values.data;
  const cache =
    process.env.TRUSTVISION_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'trustvision');
  const dir = path.join(
    cache,
    'assets/deb/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all/usr/share/datasets/fashion-mnist',
  );
  if (!existsSync(dir)) throw new Error(`Fashion-MNIST not found in ${dir}: run \`npm run models\` or pass --data DIR`);
  return dir;
}

function readIdx(file) {
  const raw = gunzipSync(readFileSync(file));
  return raw.subarray(raw.readUInt32BE(0) === 0x803 ? 16 : 8);
}

const toFloat = (u8, n) => {
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = u8[i] / 255;
  return x;
};

/** Average ranks (ties share their mean rank). */
function ranks(x) {
  const idx = Array.from(x, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(x.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]] === x[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

function spearman(a, b) {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += ra[i];
    mb += rb[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

async function encoderFeatures(model, x, n) {
  const out = new Float32Array(n * 128);
  for (let s = 0; s < n; s += 1000) {
    const m = Math.min(1000, n - s);
    const r = await model.run({ input: tensor(x.subarray(s * 784, (s + m) * 784), [m, 1, 28, 28]) });
    out.set(r.features.data, s * 128);
  }
  return out;
}

function knnAccuracy(indices, k, galleryLabels, labels) {
  let correct = 0;
  const votes = new Int32Array(10);
  for (let q = 0; q < labels.length; q++) {
    votes.fill(0);
    for (let j = 0; j < k; j++) votes[galleryLabels[indices[q * k + j]]]++;
    let best = 0;
    for (let c = 1; c < 10; c++) if (votes[c] > votes[best]) best = c;
    if (best === labels[q]) correct++;
  }
  return correct / labels.length;
}

const t0 = Date.now();
const dir = dataDir();
const trainU8 = readIdx(path.join(dir, 'train-images-idx3-ubyte.gz'));
const trainY = readIdx(path.join(dir, 'train-labels-idx1-ubyte.gz')).subarray(0, M);
const testU8 = readIdx(path.join(dir, 't10k-images-idx3-ubyte.gz'));
const testY = readIdx(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
const trainX = toFloat(trainU8, M);
const testX = toFloat(testU8, 10000);

const encoder = await loadModel(values.encoder, { device: 'cpu' });
log(`encoder ${encoder.path} (sha256 ${encoder.card?.sha256.slice(0, 12)}…)`);
const galleryFeatures = await encoderFeatures(encoder, trainX, M);
const testFeatures = await encoderFeatures(encoder, testX, 10000);

/** Encoder features of two random views of every training image (+ the pairs linking them). */
async function viewData(corruptions, tag) {
  const views = randomViews({ data: trainX, shape: [M, 1, 28, 28] }, { seed: `${SEED}/views/${tag}`, corruptions });
  const f = await encoderFeatures(encoder, views.data, 2 * M);
  return { features: { data: f, shape: [2 * M, 128] }, pairs: { data: views.pairs, shape: [M, 2] } };
}

const common = { epochs: EPOCHS, batchSize: 256, lr: 1e-3, seed: SEED, tau: 0.1, radius: 1, progressEvery: 200 };
const heads = {};
const training = {};
async function train(name, objective, data) {
  const t = Date.now();
  const r = trainHead(data, {
    ...common,
    objective,
    onProgress: (p) =>
      log(`${name} step ${p.step}/${p.steps}: loss ${p.loss.toFixed(4)}, mean κ ${p.meanKappa.toFixed(2)}`),
  });
  heads[name] = r.head;
  training[name] = { objective, steps: r.steps, finalLoss: r.history.at(-1).loss, seconds: (Date.now() - t) / 1000 };
}
// (a) views with the encoder's own augmentations only: no noise, blur or occlusion is ever seen in training
const standard = await viewData(undefined, 'standard');
log(`features of ${2 * M} views, ${M} gallery and 10000 test images in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
for (const objective of ['prob', 'infonce', 'scf']) await train(objective, objective, standard);
// (b) "harder views": half of the views also get a random corruption (all three kinds) of a random severity
await train('prob+hard', 'prob', await viewData({ kinds: CORRUPTIONS, p: 0.5 }, 'hard'));
// (c) leave one corruption out of the harder views, to see whether κ generalises to an unseen kind
for (const kind of CORRUPTIONS)
  await train(
    `prob+hard-${kind}`,
    'prob',
    await viewData({ kinds: CORRUPTIONS.filter((k) => k !== kind), p: 0.5 }, `hard-${kind}`),
  );

// kNN accuracy
const gallery = {};
const queries = {};
for (const name of ['prob', 'infonce', 'scf', 'prob+hard']) {
  const head = heads[name];
  gallery[name] = head.embed({ data: galleryFeatures, shape: [M, 128] });
  queries[name] = head.embed({ data: testFeatures, shape: [10000, 128] });
}
const knnTable = {};
const nn1 = {};
for (const name of ['prob', 'infonce', 'scf', 'prob+hard', 'encoder']) {
  const q = name === 'encoder' ? testFeatures : queries[name].embedding;
  const g = name === 'encoder' ? galleryFeatures : gallery[name].embedding;
  const d = name === 'encoder' ? 128 : queries[name].d;
  const r = await knn({ data: q, shape: [10000, d] }, { data: g, shape: [M, d] }, { k: 20, metric: 'cosine' });
  knnTable[name] = knnAccuracy(r.indices, 20, trainY, testY);
  nn1[name] = r;
}
log(`kNN: ${JSON.stringify(knnTable)}`);

// retrieval by κ (prob head): nearest gallery image has the same label?
const retrieval = {};
for (const name of ['prob', 'scf', 'prob+hard']) {
  const kappa = queries[name].kappa;
  const correct = Uint8Array.from({ length: 10000 }, (_, q) =>
    trainY[nn1[name].indices[q * 20]] === testY[q] ? 1 : 0,
  );
  const order = Array.from(kappa, (_, i) => i).sort((a, b) => kappa[a] - kappa[b]);
  const bins = [];
  for (let b = 0; b < 5; b++) {
    const part = order.slice((b * 10000) / 5, ((b + 1) * 10000) / 5);
    const acc = part.reduce((s, i) => s + correct[i], 0) / part.length;
    bins.push({ bin: b + 1, kappaMin: kappa[part[0]], kappaMax: kappa[part[part.length - 1]], accuracy: acc });
  }
  const cosNN = Float64Array.from({ length: 10000 }, (_, q) => 1 - nn1[name].distances[q * 20]);
  retrieval[name] = {
    accuracy: correct.reduce((s, v) => s + v, 0) / 10000,
    bins,
    aurocKappa: rocAuc(kappa, correct),
    aurocNearestCosine: rocAuc(cosNN, correct),
  };
}

// corruptions through the user path: ProbContrastive with the exported ONNX head
const clean = { data: testX.subarray(0, NC * 784), shape: [NC, 1, 28, 28] };
const corruption = {};
const evaluated = [
  ...['prob', 'scf', 'prob+hard'].map((name) => [name, CORRUPTIONS]),
  ...CORRUPTIONS.map((k) => [`prob+hard-${k}`, [k]]),
];
for (const [name, kinds] of evaluated) {
  const pc = await ProbContrastive.load({ encoder: values.encoder, head: heads[name].toOnnx(), device: 'cpu' });
  const base = await pc.embed(clean);
  corruption[name] = {};
  for (const kind of kinds) {
    const kappas = [base.kappa];
    for (let s = 1; s <= 5; s++) {
      const x = corrupt(clean, kind, s, { seed: SEED });
      kappas.push((await pc.embed({ data: x, shape: clean.shape })).kappa);
    }
    const sev = new Float64Array(6 * NC);
    const kap = new Float64Array(6 * NC);
    for (let s = 0; s <= 5; s++)
      for (let i = 0; i < NC; i++) {
        sev[s * NC + i] = s;
        kap[s * NC + i] = kappas[s][i];
      }
    const isCorrupted = Array.from(sev, (s) => (s > 0 ? 1 : 0));
    const neg = kap.map((k) => -k);
    const perSeverity = [];
    for (let s = 1; s <= 5; s++) {
      const k2 = Float64Array.from([...kappas[0], ...kappas[s]], (k) => -k);
      const l2 = [...new Array(NC).fill(0), ...new Array(NC).fill(1)];
      perSeverity.push(rocAuc(k2, l2));
    }
    corruption[name][kind] = {
      spearman: spearman(kap, sev),
      auroc: rocAuc(neg, isCorrupted),
      aurocPerSeverity: perSeverity,
      meanKappa: kappas.map((k) => k.reduce((a, b) => a + b, 0) / k.length),
      medianKappa: kappas.map((k) => Float64Array.from(k).sort()[k.length >> 1]),
    };
  }
  // the ONNX head reproduces the TypeScript head on the clean images
  const tsK = heads[name].embed({ data: testFeatures.subarray(0, NC * 128), shape: [NC, 128] }).kappa;
  let worst = 0;
  for (let i = 0; i < NC; i++) worst = Math.max(worst, Math.abs(tsK[i] - base.kappa[i]) / tsK[i]);
  corruption[name].onnxVsTsMaxRelKappa = worst;
  await pc.dispose();
}
await encoder.dispose();
await disposeSharedOps();

const results = {
  command: `node bench/claim.mjs --train ${M} --corrupt ${NC} --epochs ${EPOCHS} --seed ${SEED}`,
  machine: `${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, Node ${process.version}`,
  encoder: { path: path.basename(encoder.path), sha256: encoder.card?.sha256 },
  training,
  knn20: knnTable,
  retrieval,
  corruption,
  seconds: (Date.now() - t0) / 1000,
};
writeFileSync(path.join(values.out, 'claim-results.json'), JSON.stringify(results, null, 2) + '\n');

// ---- SVG: κ / κ(clean) vs severity per corruption (prob and prob+hard); retrieval accuracy per κ quintile ----
function svgPlot() {
  const W = 820;
  const H = 320;
  const colours = { noise: '#d62728', blur: '#1f77b4', occlusion: '#2ca02c' };
  const series = [];
  for (const [name, dash] of [
    ['prob', ''],
    ['prob+hard', '6,4'],
  ])
    for (const kind of CORRUPTIONS) {
      const mk = corruption[name][kind].meanKappa;
      series.push({ name, kind, dash, y: mk.map((k) => k / mk[0]) });
    }
  const all = series.flatMap((s) => s.y);
  const lo = Math.min(...all, 1) - 0.02;
  const hi = Math.max(...all, 1) + 0.02;
  const x0 = 60;
  const x1 = 380;
  const y0 = 260;
  const y1 = 40;
  const sx = (s) => x0 + ((x1 - x0) * s) / 5;
  const sy = (v) => y0 - ((y0 - y1) * (v - lo)) / (hi - lo);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(x0 + x1) / 2}" y="20" text-anchor="middle" font-size="13">mean κ / mean κ(clean) vs severity</text>`,
    `<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="black"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="black"/>`,
    `<line x1="${x0}" y1="${sy(1)}" x2="${x1}" y2="${sy(1)}" stroke="#bbb" stroke-dasharray="2,2"/>`,
  ];
  for (let s = 0; s <= 5; s++) parts.push(`<text x="${sx(s)}" y="${y0 + 16}" text-anchor="middle">${s}</text>`);
  parts.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 34}" text-anchor="middle">severity (0 = clean)</text>`);
  for (let t = 0; t <= 4; t++) {
    const v = lo + ((hi - lo) * t) / 4;
    parts.push(`<text x="${x0 - 6}" y="${sy(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  for (const s of series) {
    const pts = s.y.map((v, i) => `${sx(i).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline points="${pts}" fill="none" stroke="${colours[s.kind]}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
  }
  CORRUPTIONS.forEach((kind, i) =>
    parts.push(`<text x="${x0 + 10}" y="${y1 + 14 * i}" fill="${colours[kind]}">${kind}</text>`),
  );
  parts.push(
    `<text x="${x0 + 90}" y="${y1}">solid: prob head, standard views</text>`,
    `<text x="${x0 + 90}" y="${y1 + 14}">dashed: prob head, harder views</text>`,
  );
  const bx0 = 470;
  const bx1 = 800;
  const by = (a) => y0 - (y0 - y1) * a;
  parts.push(
    `<text x="${(bx0 + bx1) / 2}" y="20" text-anchor="middle" font-size="13">1-NN retrieval accuracy by κ quintile</text>`,
    `<line x1="${bx0}" y1="${y0}" x2="${bx1}" y2="${y0}" stroke="black"/><line x1="${bx0}" y1="${y0}" x2="${bx0}" y2="${y1}" stroke="black"/>`,
  );
  for (let t = 0; t <= 4; t++)
    parts.push(`<text x="${bx0 - 6}" y="${by(t / 4) + 4}" text-anchor="end">${(t * 25).toFixed(0)}%</text>`);
  const groups = [
    ['prob', '#7f7f7f'],
    ['prob+hard', '#9467bd'],
  ];
  const bw = (bx1 - bx0) / 5;
  for (let b = 0; b < 5; b++) {
    groups.forEach(([name, colour], gi) => {
      const acc = retrieval[name].bins[b].accuracy;
      const x = bx0 + b * bw + 6 + gi * ((bw - 12) / 2);
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${by(acc).toFixed(1)}" width="${((bw - 12) / 2 - 2).toFixed(1)}" height="${(y0 - by(acc)).toFixed(1)}" fill="${colour}"/>`,
      );
    });
    parts.push(`<text x="${(bx0 + b * bw + bw / 2).toFixed(1)}" y="${y0 + 16}" text-anchor="middle">Q${b + 1}</text>`);
  }
  parts.push(
    `<text x="${(bx0 + bx1) / 2}" y="${y0 + 34}" text-anchor="middle">κ quintile (Q1 = least confident)</text>`,
    `<text x="${bx0 + 10}" y="${y1}" fill="#7f7f7f">prob, standard views</text>`,
    `<text x="${bx0 + 10}" y="${y1 + 14}" fill="#9467bd">prob, harder views</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}
writeFileSync(path.join(values.out, 'claim.svg'), svgPlot());

// ---- Markdown ----
const f = (x, d = 3) => x.toFixed(d);
const pct = (x) => `${(100 * x).toFixed(2)}%`;
const lines = [];
lines.push(
  `| corruption | head | Spearman(κ, severity) | AUROC(−κ: clean vs corrupted) | AUROC per severity 1..5 | mean κ, severity 0..5 |`,
);
lines.push('|---|---|---|---|---|---|');
for (const [name, kinds] of evaluated)
  for (const kind of kinds) {
    const c = corruption[name][kind];
    lines.push(
      `| ${kind} | ${name} | ${f(c.spearman)} | ${f(c.auroc)} | ${c.aurocPerSeverity.map((a) => f(a, 2)).join(', ')} | ${c.meanKappa.map((k) => f(k, 2)).join(', ')} |`,
    );
  }
lines.push('');
lines.push('| embedding | 20-NN accuracy (10,000 test, gallery ' + M + ' train) |');
lines.push('|---|---|');
lines.push(`| prob head (μ) | ${pct(knnTable.prob)} |`);
lines.push(`| InfoNCE head (baseline) | ${pct(knnTable.infonce)} |`);
lines.push(`| scf head (InfoNCE + SCF κ) | ${pct(knnTable.scf)} |`);
lines.push(`| prob head, harder views | ${pct(knnTable['prob+hard'])} |`);
lines.push(`| encoder features (no head) | ${pct(knnTable.encoder)} |`);
lines.push('');
lines.push(
  '| head | 1-NN retrieval accuracy | by κ quintile Q1 (low κ) … Q5 (high κ) | AUROC of κ (correct vs wrong) | AUROC of nearest-neighbour cosine |',
);
lines.push('|---|---|---|---|---|');
for (const name of ['prob', 'scf', 'prob+hard']) {
  const r = retrieval[name];
  lines.push(
    `| ${name} | ${pct(r.accuracy)} | ${r.bins.map((b) => pct(b.accuracy)).join(', ')} | ${f(r.aurocKappa)} | ${f(r.aurocNearestCosine)} |`,
  );
}
console.log(lines.join('\n'));
log(`done in ${results.seconds.toFixed(0)} s; wrote ${path.join(values.out, 'claim-results.json')} and claim.svg`);
