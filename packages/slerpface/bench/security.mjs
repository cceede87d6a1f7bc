#!/usr/bin/env node
// SlerpFace security evaluation (ISO/IEC 24745 criteria) on REAL faces: the Solvay 1927 two-photo benchmark
// (29 identities, Debian visp-images-data) through BlazeFace + faceres (core-tensor's FacePipeline), vector form.
//
//   npm run build && npm run models            (repository root: builds packages, fetches photos, builds models)
//   node packages/slerpface/bench/security.mjs [--json out.json] [--seed 1] [--roc roc.svg]
//
// 1. Performance preservation: cross-photo verification (photo 1 enrolled, Version2 as probe; 29 genuine, 812
//    impostor pairs) and augmentation pairs (8 augmentations per photo-1 face: ≥ 1000 impostors for TAR@FAR=1e-3),
//    unprotected vs protected, for the default layout (contiguous groups of 16, uniform weights) and for a learned
//    layout (discriminability groups + Fisher weights + centring), learned by 2-fold cross-validation over
//    IDENTITIES (learned on one half of the people, evaluated on the other) so no test identity is seen in training.
// 2. Irreversibility: great-circle inversion by an attacker who holds record, key and α; cosine of the recovered to
//    the original template and the attack's success against the UNPROTECTED system at its FAR = 1e-2 threshold,
//    with and without dropout.
// 3. Unlinkability: linkage scores between records of the same person (two photos) under different keys vs
//    different people; D↔sys (Gomez-Barrero et al. 2018); contrast: a system that reuses one key.
// 4. Renewability: a renewed record (new key) vs the old one: linkage D↔sys, and the inversion of the OLD record
//    replayed against the NEW record at the protected system's FAR = 1e-2 threshold.
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { FacePipeline, Rng, cropSquare, eer, roc, rocAuc, tarAtFar } from '@trustvision/core-tensor';
import { loadSolvay, loadSolvayPairs, facesForBoxes } from '@trustvision/models';
import {
  contiguousLayout,
  learnLayout,
  linkageScore,
  matchScore,
  protect,
  recoverTemplate,
  templateFromEmbedding,
  unlinkability,
  createTemplate,
} from '@trustvision/slerpface';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const seed = args.seed ?? '1';
const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length} cores, Node ${process.versions.node}`;
const t0 = Date.now();

// ---------------------------------------------------------------------------------------------------------------
// faces and embeddings
const data = await loadSolvay();
const pairs = loadSolvayPairs().pairs;
const pipe = await FacePipeline.create({
  device: 'cpu',
  detector: 'blazeface',
  embedder: 'faceres',
  alignment: 'similarity',
});
const d1 = await pipe.detect(data.photo1);
const d2 = await pipe.detect(data.version2);
const f1 = await facesForBoxes(
  pipe.detector,
  data.photo1,
  d1,
  pairs.map((p) => p.photo1Box),
);
const f2 = await facesForBoxes(
  pipe.detector,
  data.version2,
  d2,
  pairs.map((p) => p.version2Box),
);
const keep = pairs.map((_, i) => i).filter((i) => f1[i].face && f2[i].face);
const ids = keep.map((i) => pairs[i].id);
const c1 = keep.map((i) => pipe.align(data.photo1, f1[i].face));
const c2 = keep.map((i) => pipe.align(data.version2, f2[i].face));

const rng = Rng.from(`augment-${seed}`);
function augment(img, kind) {
  const { width: W, height: H } = img;
  const out = new Uint8Array(img.data.length);
  const px = (x, y, c) => img.data[(Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))) * 3 + c];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < 3; c++) {
        let v;
        if (kind === 'flip') v = px(W - 1 - x, y, c);
        else if (kind === 'dark') v = px(x, y, c) * 0.75;
        else if (kind === 'bright') v = px(x, y, c) * 1.2 + 10;
        else if (kind === 'blur') {
          let s = 0;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += px(x + dx, y + dy, c);
          v = s / 9;
        } else if (kind === 'noise') v = px(x, y, c) + 8 * rng.normal();
        else if (kind === 'occlude')
          v = y > H * 0.62 ? 128 : px(x, y, c); // a grey band over mouth and chin
        else v = px(x, y, c);
        out[(y * W + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  const res = { ...img, data: out };
  if (kind === 'shift') return cropSquare(img, { x: 6, y: 4, size: W - 8 }, W);
  if (kind === 'lowres') return cropSquare(cropSquare(img, { x: 0, y: 0, size: W }, 32), { x: 0, y: 0, size: 32 }, W);
  return res;
}
const AUG = ['flip', 'dark', 'bright', 'blur', 'noise', 'shift', 'occlude', 'lowres'];
const augCrops = [];
const augIds = [];
for (let i = 0; i < c1.length; i++)
  for (const k of AUG) {
    augCrops.push(augment(c1[i], k));
    augIds.push(ids[i]);
  }
const emb = async (crops) => {
  const t = await pipe.embed(crops);
  const D = t.shape[1];
  return crops.map((_, i) => Float64Array.from(t.data.subarray(i * D, (i + 1) * D)));
};
const e1 = await emb(c1);
const e2 = await emb(c2);
const ea = await emb(augCrops);
await pipe.dispose();
const D = e1[0].length;
const n = e1.length;
console.log(
  `SlerpFace security evaluation — ${machine}; ${n} identities found in both photos; faceres ${D}-d; ${ea.length} augmentations (${AUG.join(', ')}); ${((Date.now() - t0) / 1000).toFixed(1)} s to embed\n`,
);

// ---------------------------------------------------------------------------------------------------------------
// helpers
const cos = (a, b) => {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
};
function metrics(scores, labels) {
  const far2 = tarAtFar(scores, labels, 1e-2);
  let far3 = null;
  if (labels.filter((l) => l === 0).length >= 1000) far3 = tarAtFar(scores, labels, 1e-3).tar;
  return {
    auc: rocAuc(scores, labels),
    eer: eer(scores, labels).eer,
    tar1e2: far2.tar,
    thr1e2: far2.threshold,
    tar1e3: far3,
  };
}
function rank1(sim) {
  let ok = 0;
  for (let p = 0; p < sim.length; p++) {
    let best = 0;
    for (let g = 1; g < sim[p].length; g++) if (sim[p][g] > sim[p][best]) best = g;
    if (best === p) ok++;
  }
  return ok;
}
const pct = (x) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)} %`);
const f4 = (x) => x.toFixed(4);

// layouts: the default, and learned ones by 2-fold identity cross-validation
const fold = ids.map((_, i) => i % 2);
function learnedFor(f) {
  // train on the OTHER fold's identities: their photo-1 faces and augmentations
  const rows = [];
  const labels = [];
  for (let i = 0; i < n; i++)
    if (fold[i] !== f) {
      rows.push(e1[i]);
      labels.push(ids[i]);
    }
  for (let j = 0; j < ea.length; j++) {
    const i = ids.indexOf(augIds[j]);
    if (fold[i] !== f) {
      rows.push(ea[j]);
      labels.push(augIds[j]);
    }
  }
  const x = new Float64Array(rows.length * D);
  rows.forEach((r, k) => x.set(r, k * D));
  return learnLayout(x, D, labels, { groupSize: 16, seed: 0 });
}
const defaultLayout = contiguousLayout(D, 16);
const learned = [learnedFor(0), learnedFor(1)];
const layoutOf = (name, i) => (name === 'default' ? defaultLayout : learned[fold[i]]);

// ---------------------------------------------------------------------------------------------------------------
// 1. performance preservation
const report = { machine, identities: n, augmentations: ea.length, seed };
const rows = [];
const curves = [];
function crossPhoto(name, scorer) {
  const scores = [];
  const labels = [];
  const sim = [];
  curves.push({ name, scores, labels });
  for (let p = 0; p < n; p++) {
    const row = [];
    for (let g = 0; g < n; g++) {
      const s = scorer(g, p);
      row.push(s);
      scores.push(s);
      labels.push(g === p ? 1 : 0);
    }
    sim.push(row);
  }
  return { name, ...metrics(scores, labels), rank1: rank1(sim) };
}
function augPairs(name, scorer) {
  // enrolled: each identity's photo-1 face; probes: all augmentations (genuine: own, impostor: others)
  const scores = [];
  const labels = [];
  for (let g = 0; g < n; g++)
    for (let j = 0; j < ea.length; j++) {
      scores.push(scorer(g, j));
      labels.push(augIds[j] === ids[g] ? 1 : 0);
    }
  return { name, ...metrics(scores, labels) };
}
const records = new Map();
function recordOf(name, g, extra = {}) {
  const key = `${name}/${g}/${JSON.stringify(extra)}`;
  if (!records.has(key))
    records.set(key, protect(templateFromEmbedding(e1[g], layoutOf(name, g)), { seed: `${seed}/${key}`, ...extra }));
  return records.get(key);
}
const variants = [
  ['unprotected (faceres cosine)', (g, p, probe) => cos(e1[g], probe)],
  [
    'protected, default layout',
    (g, p, probe) => matchScore(recordOf('default', g), templateFromEmbedding(probe, defaultLayout)),
  ],
  [
    'protected, default layout, no dropout',
    (g, p, probe) =>
      matchScore(recordOf('default', g, { dropout: 'none' }), templateFromEmbedding(probe, defaultLayout)),
  ],
  [
    'unprotected, learned centring (cosine)',
    (g, p, probe) =>
      cos(templateFromEmbedding(e1[g], learned[fold[g]]).values, templateFromEmbedding(probe, learned[fold[g]]).values),
  ],
  [
    'protected, learned layout (2-fold by identity)',
    (g, p, probe) => matchScore(recordOf('learned', g), templateFromEmbedding(probe, learned[fold[g]])),
  ],
];
const perf = [];
for (const [name, fn] of variants) {
  const cp = crossPhoto(name, (g, p) => fn(g, p, e2[p]));
  const ap = augPairs(name, (g, j) => fn(g, j, ea[j]));
  perf.push({ name, crossPhoto: cp, augmentation: ap });
}
report.performance = perf;
console.log('## 1. Performance preservation\n');
console.log(
  `Cross-photo: ${n} genuine / ${n * (n - 1)} impostor pairs. Augmentation pairs: ${n * AUG.length} genuine / ${n * (ea.length - AUG.length)} impostor.\n`,
);
console.log('| system | AUC | EER | TAR@FAR=1e-2 | rank-1 | aug. AUC | aug. EER | aug. TAR@1e-2 | aug. TAR@1e-3 |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of perf)
  console.log(
    `| ${r.name} | ${f4(r.crossPhoto.auc)} | ${pct(r.crossPhoto.eer)} | ${pct(r.crossPhoto.tar1e2)} | ${r.crossPhoto.rank1}/${n} | ${f4(r.augmentation.auc)} | ${pct(r.augmentation.eer)} | ${pct(r.augmentation.tar1e2)} | ${pct(r.augmentation.tar1e3)} |`,
  );

// ---------------------------------------------------------------------------------------------------------------
// 2. irreversibility
const unprotThr = perf[0].crossPhoto.thr1e2; // the unprotected system's threshold at FAR = 1e-2 (cross-photo)
function inversion(extra) {
  const cosines = [];
  let successOther = 0;
  let successSame = 0;
  for (let g = 0; g < n; g++) {
    const layout = defaultLayout;
    const r = recordOf('default', g, extra);
    const rec = recoverTemplate(r);
    // back to embedding order (the default layout is the identity permutation)
    const e = new Float64Array(D);
    for (let k = 0; k < D; k++) e[layout.index[k]] = rec[k];
    cosines.push(cos(e, e1[g]));
    if (cos(e, e2[g]) >= unprotThr) successOther++;
    if (cos(e, e1[g]) >= unprotThr) successSame++;
  }
  const mean = cosines.reduce((a, b) => a + b, 0) / n;
  return {
    meanCosine: mean,
    minCosine: Math.min(...cosines),
    successVsOtherPhoto: successOther / n,
    successVsSameCapture: successSame / n,
  };
}
const inv = { dropout: inversion({}), noDropout: inversion({ dropout: 'none' }) };
report.irreversibility = { ...inv, unprotectedThreshold: unprotThr };
console.log('\n## 2. Irreversibility (attacker holds record, key and α)\n');
console.log(`Unprotected system threshold at FAR = 1e-2 (cross-photo): cosine ≥ ${unprotThr.toFixed(4)}.\n`);
console.log('| protection | cos(recovered, original) mean / min | attack success vs other photo | vs same capture |');
console.log('|---|---|---|---|');
console.log(
  `| SlerpFace (α 0.9, weighted dropout) | ${f4(inv.dropout.meanCosine)} / ${f4(inv.dropout.minCosine)} | ${pct(inv.dropout.successVsOtherPhoto)} | ${pct(inv.dropout.successVsSameCapture)} |`,
);
console.log(
  `| slerp only (dropout off) | ${f4(inv.noDropout.meanCosine)} / ${f4(inv.noDropout.minCosine)} | ${pct(inv.noDropout.successVsOtherPhoto)} | ${pct(inv.noDropout.successVsSameCapture)} |`,
);

// ---------------------------------------------------------------------------------------------------------------
// 3. unlinkability and 4. renewability
function linkage(keyMode, attacker) {
  const mated = [];
  const non = [];
  const shared = protect(templateFromEmbedding(e1[0], defaultLayout), { seed: `${seed}/shared-key` }).key;
  const rec = (e, tag) =>
    protect(
      templateFromEmbedding(e, defaultLayout),
      keyMode === 'shared' ? { key: shared, seed: `${seed}/${tag}` } : { seed: `${seed}/${tag}` },
    );
  const a = e1.map((e, i) => rec(e, `a${i}`));
  const b = e2.map((e, i) => rec(e, `b${i}`));
  // 'records': the attention-weighted group cosine of the two protected templates (keys unknown or ignored);
  // 'inversion': the attacker holds both keys (stored beside the templates, as in the official code), inverts both
  // records and compares the recovered templates
  const ia = attacker === 'inversion' ? a.map(recoverTemplate) : undefined;
  const ib = attacker === 'inversion' ? b.map(recoverTemplate) : undefined;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      (i === j ? mated : non).push(attacker === 'inversion' ? cos(ia[i], ib[j]) : linkageScore(a[i], b[j]));
  const u = unlinkability(mated, non);
  return {
    dsys: u.dsys,
    matedMean: mated.reduce((x, y) => x + y, 0) / mated.length,
    nonMatedMean: non.reduce((x, y) => x + y, 0) / non.length,
  };
}
const unl = {
  recordsOnly: linkage('per-template', 'records'),
  sharedKeyRecords: linkage('shared', 'records'),
  keyHolderInversion: linkage('per-template', 'inversion'),
};
report.unlinkability = unl;
console.log('\n## 3. Unlinkability (records of one person from two photos vs different people)\n');
console.log('| attacker | keys | mated mean | non-mated mean | D↔sys |');
console.log('|---|---|---|---|---|');
console.log(
  `| compares protected templates | per template (SlerpFace) | ${f4(unl.recordsOnly.matedMean)} | ${f4(unl.recordsOnly.nonMatedMean)} | ${f4(unl.recordsOnly.dsys)} |`,
);
console.log(
  `| compares protected templates | one key reused by both systems | ${f4(unl.sharedKeyRecords.matedMean)} | ${f4(unl.sharedKeyRecords.nonMatedMean)} | ${f4(unl.sharedKeyRecords.dsys)} |`,
);
console.log(
  `| holds the keys, inverts both records | per template, stored beside the record | ${f4(unl.keyHolderInversion.matedMean)} | ${f4(unl.keyHolderInversion.nonMatedMean)} | ${f4(unl.keyHolderInversion.dsys)} |`,
);

// renewability: old record (key A) vs renewed record (key B) of the same capture
const renewMated = [];
const renewNon = [];
const oldRec = e1.map((e, i) => protect(templateFromEmbedding(e, defaultLayout), { seed: `${seed}/old${i}` }));
const newRec = e1.map((e, i) => protect(templateFromEmbedding(e, defaultLayout), { seed: `${seed}/new${i}` }));
for (let i = 0; i < n; i++)
  for (let j = 0; j < n; j++) (i === j ? renewMated : renewNon).push(linkageScore(oldRec[i], newRec[j]));
// protected system threshold at FAR = 1e-2 for the default layout (cross-photo)
const protThr = perf[1].crossPhoto.thr1e2;
let replay = 0;
let replayOld = 0;
const replayScores = [];
for (let i = 0; i < n; i++) {
  const rec = recoverTemplate(oldRec[i]);
  const probe = createTemplate(rec, defaultLayout.weights, {
    groups: defaultLayout.groups,
    groupSize: 16,
    form: 'vector',
    layout: defaultLayout.id,
    allowZeroGroups: true,
  });
  const s = matchScore(newRec[i], probe);
  replayScores.push(s);
  if (s >= protThr) replay++;
  if (matchScore(oldRec[i], probe) >= protThr) replayOld++;
}
const ren = {
  dsys: unlinkability(renewMated, renewNon).dsys,
  protectedThreshold: protThr,
  replayOnNewRecord: replay / n,
  replayOnOldRecord: replayOld / n,
  meanReplayScore: replayScores.reduce((a, b) => a + b, 0) / n,
};
report.renewability = ren;
console.log('\n## 4. Renewability (old record, key A, vs renewed record, key B, of the same capture)\n');
console.log(
  `| linkage D↔sys old↔new | protected threshold (FAR 1e-2) | inversion of old record accepted by OLD record | by NEW record |`,
);
console.log('|---|---|---|---|');
console.log(
  `| ${f4(ren.dsys)} | ${ren.protectedThreshold.toFixed(6)} | ${pct(ren.replayOnOldRecord)} | ${pct(ren.replayOnNewRecord)} |`,
);
console.log(`\nTotal ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
if (args.roc) {
  // ROC curves (log FAR axis) of the cross-photo pairs, as an SVG
  const W = 640,
    H = 420,
    L = 60,
    B = 50,
    R = 200,
    T = 20;
  const xs = (far) => L + ((Math.log10(Math.max(far, 1e-3)) + 3) / 3) * (W - L - R);
  const ys = (tar) => T + (1 - tar) * (H - T - B);
  const colours = ['#222', '#d62728', '#ff7f0e', '#7f7f7f', '#1f77b4'];
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`;
  svg += `<rect width="${W}" height="${H}" fill="white"/>`;
  for (const f of [1e-3, 1e-2, 1e-1, 1])
    svg += `<line x1="${xs(f)}" y1="${T}" x2="${xs(f)}" y2="${H - B}" stroke="#ddd"/><text x="${xs(f)}" y="${H - B + 16}" text-anchor="middle">${f}</text>`;
  for (const t of [0.8, 0.85, 0.9, 0.95, 1]) {
    const y = T + ((1 - t) / 0.2) * (H - T - B);
    svg += `<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#ddd"/><text x="${L - 6}" y="${y + 4}" text-anchor="end">${t}</text>`;
  }
  svg += `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">false accept rate (log), Solvay cross-photo</text>`;
  svg += `<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">true accept rate</text>`;
  curves.forEach((c, i) => {
    const r = roc(c.scores, c.labels);
    const pts = [];
    for (let k = 0; k < r.fpr.length; k++)
      pts.push(`${xs(r.fpr[k]).toFixed(1)},${(T + ((1 - Math.max(r.tpr[k], 0.8)) / 0.2) * (H - T - B)).toFixed(1)}`);
    svg += `<polyline fill="none" stroke="${colours[i % colours.length]}" stroke-width="1.6" points="${pts.join(' ')}"/>`;
    svg += `<line x1="${W - R + 10}" y1="${T + 14 + i * 34}" x2="${W - R + 30}" y2="${T + 14 + i * 34}" stroke="${colours[i % colours.length]}" stroke-width="2"/>`;
    const words = c.name.split(' ');
    const half = Math.ceil(words.length / 2);
    svg += `<text x="${W - R + 34}" y="${T + 18 + i * 34}">${words.slice(0, half).join(' ')}</text><text x="${W - R + 34}" y="${T + 32 + i * 34}">${words.slice(half).join(' ')}</text>`;
  });
  svg += '</svg>\n';
  writeFileSync(args.roc, svg);
  console.log(`ROC curves → ${args.roc}`);
}
