// Training crops for the gcdss-encoder stand-in (models/python/gcdss_encoder.py --crops FILE), made by THIS package's
// pipeline so that the encoder learns from exactly what the benchmark feeds it: labelled (base-class only) scenes built
// by generateScenes from Fashion-MNIST train images 0..54999 (the encoder's training split; the benchmark draws its
// objects from 55000..59999), Felzenszwalb segments (proposeSegments, the benchmark's settings), and for every segment
// maskedCrop + the 32×32 half-pixel bilinear resize that maskFeatures applies, as uint8 RGB. The label of a crop is the
// majority ground-truth class of its segment (0..5 base objects, 6 background); whole-object crops of the oracle
// regions are added too.
//
//   node bench/encoder-crops.mjs --out /tmp/gcdss-crops.npz [--scenes 600] [--seed 1000] [--data DIR]
//
// Writes an .npz with `crops` uint8 [N, 32, 32, 3], `labels` int64 [N], `oracle` uint8 [N] (1 = oracle region).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { resizeImage, tensor, writeNpz } from '@trustvision/core-tensor';
import { generateScenes, labelSegments, maskedCrop, proposeSegments, segmentMajority } from '../dist/esm/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    scenes: { type: 'string', default: '600' },
    seed: { type: 'string', default: '1000' },
    data: { type: 'string' },
  },
});
if (!values.out) throw new Error('--out FILE.npz is required');
const cache =
  process.env.TRUSTVISION_CACHE ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'trustvision');
const dir =
  values.data ??
  path.join(cache, 'assets/deb/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all/usr/share/datasets/fashion-mnist');
const readIdx = (f) => {
  const raw = gunzipSync(readFileSync(path.join(dir, f)));
  return raw.subarray(raw.readUInt32BE(0) === 0x803 ? 16 : 8);
};
const pool = {
  images: readIdx('train-images-idx3-ubyte.gz').slice(0, 55000 * 784),
  labels: readIdx('train-labels-idx1-ubyte.gz').slice(0, 55000),
};
const set = generateScenes(pool, { seed: Number(values.seed), labeled: Number(values.scenes), unlabeled: 1 });
const S = 32;
const crops = [];
const labels = [];
const oracle = [];
const t0 = Date.now();
for (const scene of set.labeled) {
  for (const source of ['felzenszwalb', 'oracle']) {
    const seg =
      source === 'oracle'
        ? labelSegments(scene.labels, set.width, set.height)
        : proposeSegments(scene.image, { scale: 100, sigma: 0.8, minSize: 20 });
    const maj = segmentMajority(seg.segments, seg.count, scene.labels);
    for (let s = 1; s <= seg.count; s++) {
      crops.push(resizeImage(maskedCrop(scene.image, seg.segments, s), S, S).data);
      labels.push(maj.label[s - 1]);
      oracle.push(source === 'oracle' ? 1 : 0);
    }
  }
}
const N = crops.length;
const all = new Uint8Array(N * S * S * 3);
crops.forEach((c, i) => all.set(c, i * S * S * 3));
await writeNpz(values.out, {
  crops: tensor(all, [N, S, S, 3]),
  labels: tensor(
    BigInt64Array.from(labels, (v) => BigInt(v)),
    [N],
  ),
  oracle: tensor(Uint8Array.from(oracle), [N]),
});
const hist = new Array(set.numBase).fill(0);
for (const l of labels) hist[l]++;
console.log(
  `${N} crops from ${set.labeled.length} scenes in ${((Date.now() - t0) / 1000).toFixed(0)} s; per class ${hist}`,
);
