#!/usr/bin/env node
// `npm run demo`: a tour of @trustvision/core-tensor on data it makes itself (offline, seeded).
//  1. which devices work here            4. face-verification metrics on seeded embeddings
//  2. a model + card, loaded and checked  5. .npz and PNG written atomically
//  3. kNN through the op-graph vs a loop
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  GraphBuilder,
  OpGraphs,
  Rng,
  attr,
  cardPathFor,
  diagnose,
  draftModelCard,
  eer,
  formatDiagnosis,
  kfoldAccuracy,
  loadModel,
  readNpz,
  rocAuc,
  tarAtFar,
  tensor,
  writeFileAtomic,
  writeImage,
  writeNpz,
} from '@trustvision/core-tensor';

const out = process.argv[2] ?? mkdtempSync(path.join(os.tmpdir(), 'trustvision-demo-'));
mkdirSync(out, { recursive: true });
const t0 = Date.now();
const rng = Rng.from('trustvision-demo');

console.log('1. devices\n' + formatDiagnosis(await diagnose()).replace(/^/gm, '   '));

// 2. an embedding head: L2-normalise(x · W), built as ONNX in TypeScript, saved with its card, loaded back
const D_IN = 64;
const D_OUT = 32;
const g = new GraphBuilder('embed-head');
const x = g.input('features', 'float32', ['batch', D_IN]);
const W = g.initializer(tensor(rng.normalFloat32(D_IN * D_OUT, 0, 1 / Math.sqrt(D_IN)), [D_IN, D_OUT]), 'W');
const [y] = g.op('MatMul', [x, W]);
const [n] = g.op('LpNormalization', [y], { axis: attr.i(1), p: attr.i(2) });
g.output(n, 'float32', ['batch', D_OUT], 'embedding');
const bytes = g.toBytes();
const modelPath = path.join(out, 'embed-head.onnx');
await writeFileAtomic(modelPath, bytes);
const card = await draftModelCard(bytes, {
  name: 'embed-head',
  version: '1.0.0',
  task: 'embedding',
  file: 'embed-head.onnx',
  description: 'Random projection + L2 normalisation; a demo model built by examples/demo.mjs.',
  provenance: { source: 'examples/demo.mjs (seeded random weights)', license: 'MIT', standIn: true },
});
await writeFileAtomic(cardPathFor(modelPath), new TextEncoder().encode(JSON.stringify(card, null, 2)));
const model = await loadModel(modelPath, { device: 'auto' });
console.log(
  `\n2. model ${modelPath}\n   card checked (sha256 ${card.sha256.slice(0, 12)}…), running on '${model.session.device}'`,
);

// identities: 200 people × 5 samples; a sample = identity centre + noise, embedded by the model
const IDS = 200;
const PER = 5;
const centres = rng.split('centres').normalFloat32(IDS * D_IN, 0, 1);
const noise = rng.split('noise').normalFloat32(IDS * PER * D_IN, 0, 0.8);
const feats = new Float32Array(IDS * PER * D_IN);
for (let i = 0; i < IDS * PER; i++)
  for (let d = 0; d < D_IN; d++) feats[i * D_IN + d] = centres[Math.floor(i / PER) * D_IN + d] + noise[i * D_IN + d];
const { embedding } = await model.run({ features: tensor(feats, [IDS * PER, D_IN]) });
const emb = embedding.data;
console.log(`   embedded ${IDS * PER} samples → [${embedding.shape.join(', ')}]`);

// 3. kNN (cosine) through the op-graph, leave-one-out identification, against the typed-array loop
const ops = await OpGraphs.create({ device: 'auto' });
let t = Date.now();
const knnG = await ops.knn(embedding, embedding, { k: 1, metric: 'cosine', excludeSelf: true, backend: 'graph' });
const tg = Date.now() - t;
t = Date.now();
const knnJ = await ops.knn(embedding, embedding, { k: 1, metric: 'cosine', excludeSelf: true, backend: 'js' });
const tj = Date.now() - t;
let hits = 0;
let agree = 0;
for (let i = 0; i < IDS * PER; i++) {
  hits += Math.floor(knnG.indices[i] / PER) === Math.floor(i / PER) ? 1 : 0;
  agree += knnG.indices[i] === knnJ.indices[i] ? 1 : 0;
}
console.log(
  `\n3. kNN on '${ops.device}': rank-1 leave-one-out identification ${((100 * hits) / (IDS * PER)).toFixed(1)}%`,
);
console.log(`   op-graph ${tg} ms, typed-array loop ${tj} ms, neighbours agree on ${agree}/${IDS * PER}`);

// 4. verification: 3000 genuine and 3000 impostor pairs, cosine similarity
const pr = rng.split('pairs');
const scores = [];
const labels = [];
const cos = (a, b) => {
  let s = 0;
  for (let d = 0; d < D_OUT; d++) s += emb[a * D_OUT + d] * emb[b * D_OUT + d];
  return s;
};
for (let p = 0; p < 3000; p++) {
  const id = pr.int(IDS);
  const [a, b] = pr.choice(PER, 2);
  scores.push(cos(id * PER + a, id * PER + b));
  labels.push(1);
  const id2 = (id + 1 + pr.int(IDS - 1)) % IDS;
  scores.push(cos(id * PER + pr.int(PER), id2 * PER + pr.int(PER)));
  labels.push(0);
}
const e = eer(scores, labels);
const tar = tarAtFar(scores, labels, 1e-3);
const kf = kfoldAccuracy(scores, labels, { folds: 10 });
console.log(
  `\n4. verification on 6000 pairs: AUC ${rocAuc(scores, labels).toFixed(4)}, EER ${(100 * e.eer).toFixed(2)}%, ` +
    `TAR@FAR=1e-3 ${(100 * tar.tar).toFixed(1)}%, 10-fold accuracy ${(100 * kf.mean).toFixed(2)} ± ${(100 * kf.std).toFixed(2)}%`,
);

// 5. results written atomically: embeddings + neighbours as .npz, a similarity heat-map as PNG
const npz = path.join(out, 'embeddings.npz');
await writeNpz(npz, { embedding, neighbours: tensor(knnG.indices, knnG.shape) }, { compress: true });
const back = await readNpz(npz);
const side = 100;
const sim = await ops.pairwise(
  tensor(emb.subarray(0, side * D_OUT), [side, D_OUT]),
  tensor(emb.subarray(0, side * D_OUT), [side, D_OUT]),
  { metric: 'cosine-similarity' },
);
const px = new Uint8Array(side * side * 3);
for (let i = 0; i < side * side; i++) {
  const v = Math.max(0, Math.min(255, Math.round(sim.data[i] * 255)));
  px[i * 3] = v;
  px[i * 3 + 1] = v >> 1;
  px[i * 3 + 2] = 255 - v;
}
const png = path.join(out, 'similarity.png');
await writeImage(png, { width: side, height: side, channels: 3, data: px });
console.log(
  `\n5. wrote ${npz} (${Object.keys(back).join(', ')}) and ${png} (cosine similarity of 100 samples; 5×5 identity blocks)`,
);
await ops.dispose();
await model.dispose();
console.log(`\ndone in ${((Date.now() - t0) / 1000).toFixed(1)} s; outputs in ${out}`);
