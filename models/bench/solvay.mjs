#!/usr/bin/env node
// The Solvay 1927 face benchmark, full run: BlazeFace detection recall/precision on photo 1 against its 30 hand-made
// boxes, then cross-photo verification (photo 1 vs the Version2 photo) with faceres embeddings through core-tensor's
// FacePipeline for both alignment modes: ROC AUC, EER, TAR@FAR=1e-2 and rank-1 identification. Prints the tables.
//
//   npm run build -w @trustvision/core-tensor && npm run build -w @trustvision/models && npm run models
//   node models/bench/solvay.mjs [--detector blazeface|blazeface-back|both] [--alignment similarity|box|both]
//                                [--device cpu] [--json out.json] [--sheet contact-sheet.png]
//
// --sheet writes the contact sheet of the committed pair list (photo-1 face beside its Version2 face, labelled by
// id) for checking the identity labels by eye.
import os from 'node:os';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { writeImage } from '@trustvision/core-tensor';
import {
  SOLVAY_DETECTION,
  loadSolvay,
  loadSolvayPairs,
  runSolvayBenchmark,
  solvayContactSheet,
} from '../dist/esm/solvay.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const both = (v, all) => (v === undefined || v === 'both' ? all : [v]);
const detectors = both(args.detector, ['blazeface', 'blazeface-back']);
const alignments = both(args.alignment, ['similarity', 'box']);
const device = args.device ?? 'cpu';

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length} cores, Node ${process.versions.node}`;
console.log(`Solvay 1927 benchmark — ${machine}, device ${device}`);

if (args.sheet) {
  const data = await loadSolvay();
  const pairs = loadSolvayPairs();
  await writeImage(path.resolve(args.sheet), solvayContactSheet(data, pairs.pairs));
  console.log(`contact sheet of ${pairs.pairs.length} pairs → ${args.sheet}`);
}

const pct = (x) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)}%`);
const results = [];
for (const detector of detectors) {
  const r = await runSolvayBenchmark({ detector, device, alignments });
  results.push(r);
  const d = r.detection.photo1;
  const tiles = SOLVAY_DETECTION[detector].tiles.map((t) => t.size).join('/');
  console.log(`\n${detector}: tiles ${tiles} px (overlap 0.5), score ≥ ${SOLVAY_DETECTION[detector].scoreThreshold}`);
  console.log('| detection on photo 1 | detections | recall IoU≥0.5 | recall IoU≥0.3 | precision (IoU≥0.3) | time |');
  console.log('|---|---:|---:|---:|---:|---:|');
  console.log(
    `| 30 boxes (box 0 holds no face) | ${d.detections} | ${pct(d.recall50)} (${Math.round(d.recall50 * 30)}/30) | ` +
      `${pct(d.recall30)} (${Math.round(d.recall30 * 30)}/30) | ${pct(d.precision30)} | ${d.ms} ms |`,
  );
  console.log(`| 29 faces | | ${pct(d.recall50Faces)} | ${pct(d.recall30Faces)} | | |`);
  console.log(
    `\n| ${r.embedder}, alignment | ids | genuine / impostor | AUC | EER | TAR@FAR=1e-2 | rank-1 | mean cos gen / imp | faces (photo 1; Version2) |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const v of r.verification) {
    const src = (s) =>
      Object.entries(s)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
    console.log(
      `| ${v.alignment} | ${v.identities} | ${v.genuine} / ${v.impostor} | ${v.auc.toFixed(4)} | ${pct(v.eer)} | ` +
        `${pct(v.tarAtFar1e2)} | ${pct(v.rank1)} (${Math.round(v.rank1 * v.identities)}/${v.identities}) | ` +
        `${v.meanGenuine.toFixed(3)} / ${v.meanImpostor.toFixed(3)} | ${src(v.faceSources.photo1)}; ${src(v.faceSources.version2)} |`,
    );
    for (const [id, wrong, g, b] of v.rank1Errors)
      console.log(
        `    rank-1 miss: Version2 face of id ${id} → id ${wrong} (genuine ${g.toFixed(3)} < ${b.toFixed(3)})`,
      );
  }
}

if (args.json) {
  writeFileSync(
    path.resolve(args.json),
    JSON.stringify({ machine, device, date: new Date().toISOString(), results }, null, 2) + '\n',
  );
  console.log(`\nresults → ${args.json}`);
}
