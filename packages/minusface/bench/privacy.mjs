#!/usr/bin/env node
// Privacy and recognition evaluation of the MinusFace stand-ins (models/prebuilt/minusface-*.onnx, trained on
// Fashion-MNIST with the 10 classes standing in for identities) through this package:
//
//   - SSIM / PSNR of the protected image X_p against X (skimage's definitions, `ssim` / `psnr` of this package);
//   - the recovery attack f^-1 (U-Net trained to map X_p -> X, models/prebuilt/minusface-attacker.onnx; X_p is
//     standardised per image inside its graph): SSIM / PSNR of f^-1(X_p) against X, and against ANOTHER test image
//     of the same class (whether what is recovered is specific to the image); with reference rows that make the
//     attack's figures readable: (a) the trivial attacker that outputs the mean training image (Fashion-MNIST train
//     0..54999, the attackers' training images), (a') the mean training image of the true class (an oracle that knows
//     the garment class and nothing else), (b) the same attacker architecture, loss and step budget trained on
//     UNPROTECTED but degraded input, X blurred by a fixed Gaussian (sigma 1 px, 7x7, replicate padding;
//     models/prebuilt/minusface-attacker-reference.onnx, blur inside its graph), with the blurred X's own SSIM / PSNR;
//   - verification accuracy (10-fold, core-tensor kfoldAccuracy), EER and AUC on 6,000 pairs of the Fashion-MNIST test
//     split (3,000 same-class, 3,000 different-class; seeded), for the unprotected baseline on X, the recogniser f_p
//     on X_p (every image protected once with its own fresh permutation), and f_p on raw X;
//   - the same pipeline on real faces: 30 Solvay 1927 box crops at 112x112 (Debian visp-images-data via
//     @trustvision/models), protected with the SAME stand-in generator (trained on 16x16 garments, not on faces):
//     SSIM / PSNR of X_p to X, and figures docs/minusface-fmnist.png and docs/minusface-solvay.png
//     (columns X | X_p | X_p contrast-stretched for display | f^-1(X_p)).
//
//   npm run build -w @trustvision/minusface && node packages/minusface/bench/privacy.mjs [--json OUT] [--seed 2026]
//   options: --models DIR (default models/prebuilt), --limit N (first N test images; pairs need N ≥ ~1000)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Rng, createSession, cropSquare, tensor, writeImage } from '@trustvision/core-tensor';
import { loadSolvay, paths } from '@trustvision/models';
import { GeneratorModel, RecognizerModel, embed, protect, psnr, ssim, verificationReport } from '../dist/esm/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const seed = Number(arg('seed', '2026'));
const modelsDir = arg('models', path.join(root, 'models/prebuilt'));
const prebuilt = (n) => path.join(modelsDir, `${n}.onnx`);
const cpu = os.cpus();
const machine = `${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} cores, Node ${process.versions.node}`;
const t0 = performance.now();

// ---- Fashion-MNIST test split, as the stand-ins were trained: /255, 2x2 mean 28 -> 14, zero-pad 1 -> 16, RGB
function readIdx(file) {
  const b = gunzipSync(readFileSync(file));
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0);
  const n = dv.getUint32(4);
  if (magic === 0x803) return { n, data: b.subarray(16), rows: dv.getUint32(8), cols: dv.getUint32(12) };
  return { n, data: b.subarray(8) };
}
const dir = paths.fashionMnist();
const imgs = readIdx(path.join(dir, 't10k-images-idx3-ubyte.gz'));
const labels = readIdx(path.join(dir, 't10k-labels-idx1-ubyte.gz')).data;
const N = Number(arg('limit', String(imgs.n))); // --limit N: the first N test images (quick runs)
const S = 16;
const P = 3 * S * S;
const X = new Float32Array(N * P);
for (let k = 0; k < N; k++) {
  const src = imgs.data.subarray(k * 784, (k + 1) * 784);
  for (let i = 0; i < 14; i++)
    for (let j = 0; j < 14; j++) {
      const a = src[2 * i * 28 + 2 * j] / 255;
      const b = src[2 * i * 28 + 2 * j + 1] / 255;
      const c = src[(2 * i + 1) * 28 + 2 * j] / 255;
      const d = src[(2 * i + 1) * 28 + 2 * j + 1] / 255;
      const v =
        Math.fround(Math.fround(Math.fround(Math.fround(a) + Math.fround(b)) + Math.fround(c)) + Math.fround(d)) * 0.25;
      for (let ch = 0; ch < 3; ch++) X[k * P + ch * 256 + (i + 1) * S + (j + 1)] = v;
    }
}
// the mean training image (train 0..54999, the images the attackers were trained on): the trivial attacker; and the
// mean training image of each class (an oracle that knows the true class and nothing else about the image)
const trainImgs = readIdx(path.join(dir, 'train-images-idx3-ubyte.gz'));
const trainLabels = readIdx(path.join(dir, 'train-labels-idx1-ubyte.gz')).data;
const TRAIN_N = 55000;
const meanImage = new Float32Array(P);
const classMean = Array.from({ length: 10 }, () => new Float32Array(P));
{
  const acc = new Float64Array(14 * 14);
  const accC = Array.from({ length: 10 }, () => new Float64Array(14 * 14));
  const countC = new Float64Array(10);
  for (let k = 0; k < TRAIN_N; k++) {
    const src = trainImgs.data.subarray(k * 784, (k + 1) * 784);
    const c = trainLabels[k];
    countC[c]++;
    for (let i = 0; i < 14; i++)
      for (let j = 0; j < 14; j++) {
        const v =
          (src[2 * i * 28 + 2 * j] +
            src[2 * i * 28 + 2 * j + 1] +
            src[(2 * i + 1) * 28 + 2 * j] +
            src[(2 * i + 1) * 28 + 2 * j + 1]) /
          (4 * 255);
        acc[i * 14 + j] += v;
        accC[c][i * 14 + j] += v;
      }
  }
  for (let i = 0; i < 14; i++)
    for (let j = 0; j < 14; j++)
      for (let ch = 0; ch < 3; ch++) {
        meanImage[ch * 256 + (i + 1) * S + (j + 1)] = acc[i * 14 + j] / TRAIN_N;
        for (let c = 0; c < 10; c++) classMean[c][ch * 256 + (i + 1) * S + (j + 1)] = accC[c][i * 14 + j] / countC[c];
      }
}
// X blurred as the reference attacker's graph does (Gaussian sigma 1 px, 7x7 normalised kernel, replicate padding)
function blurred(a, n, H, W, sigma = 1) {
  const k = Array.from({ length: 7 }, (_, i) => Math.exp(-((i - 3) ** 2) / (2 * sigma * sigma)));
  const ks = k.reduce((x, y) => x + y, 0);
  const w = k.map((v) => v / ks);
  const out = new Float32Array(a.length);
  const tmp = new Float64Array(H * W);
  const cl = (v, m) => Math.min(m - 1, Math.max(0, v));
  for (let p = 0; p < n * 3; p++) {
    const o = p * H * W;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let t = 0; t < 7; t++) s += w[t] * a[o + y * W + cl(x + t - 3, W)];
        tmp[y * W + x] = s;
      }
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let t = 0; t < 7; t++) s += w[t] * tmp[cl(y + t - 3, H) * W + x];
        out[o + y * W + x] = s;
      }
  }
  return out;
}
const one = (arr, k, C = 3, H = S, W = S) => tensor(arr.subarray(k * C * H * W, (k + 1) * C * H * W), [C, H, W]);

// ---- models
const generator = await GeneratorModel.create(prebuilt('minusface-generator'), { device: 'cpu' });
const recognizer = await RecognizerModel.create(prebuilt('minusface-recognizer'), { device: 'cpu' });
const baseline = await RecognizerModel.create(prebuilt('minusface-baseline'), { device: 'cpu' });
const attacker = await createSession(prebuilt('minusface-attacker'), { device: 'cpu' });
const refAttacker = await createSession(prebuilt('minusface-attacker-reference'), { device: 'cpu' });
async function attack(xp, n, H, W, session = attacker, input = 'x_p') {
  const out = new Float32Array(n * 3 * H * W);
  for (let s = 0; s < n; s += 250) {
    const m = Math.min(250, n - s);
    const r = await session.run({ [input]: tensor(xp.slice(s * 3 * H * W, (s + m) * 3 * H * W), [m, 3, H, W]) });
    out.set(r.x_rec.data, s * 3 * H * W);
  }
  return out;
}

// ---- protect the whole test split (sample k: Rng.from(seed).fork(k))
const tp = performance.now();
const XP = (await protect(generator, tensor(X, [N, 3, S, S]), { seed, batchSize: 64 })).data;
const protectSeconds = (performance.now() - tp) / 1000;
const REC = await attack(XP, N, S, S);

function meanQuality(a, b, n, C = 3, H = S, W = S) {
  let s = 0;
  let p = 0;
  let finite = 0;
  for (let k = 0; k < n; k++) {
    s += ssim(one(a, k, C, H, W), one(b, k, C, H, W));
    const v = psnr(one(a, k, C, H, W), one(b, k, C, H, W));
    if (Number.isFinite(v)) {
      p += v;
      finite++;
    }
  }
  return { ssim: s / n, psnr: p / finite };
}
const qXp = meanQuality(XP, X, N);

// A training-free leakage probe: |Pearson correlation| between the channel mean of X_p and of X, for the matching
// image and for another image (i + 1; chance level). The absolute value, because a shuffled residue can come out
// with either sign.
function absCorr(a, ka, b, kb, H, W) {
  const n = H * W;
  const ga = new Float64Array(n);
  const gb = new Float64Array(n);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < n; i++) {
      ga[i] += a[ka * 3 * n + c * n + i] / 3;
      gb[i] += b[kb * 3 * n + c * n + i] / 3;
    }
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += ga[i] / n;
    mb += gb[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ga[i] - ma) * (gb[i] - mb);
    saa += (ga[i] - ma) ** 2;
    sbb += (gb[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? Math.abs(sab) / Math.sqrt(saa * sbb) : 0;
}
function leakage(xp, x, n, H, W) {
  let same = 0;
  let other = 0;
  for (let k = 0; k < n; k++) {
    same += absCorr(xp, k, x, k, H, W);
    other += absCorr(xp, k, x, (k + 1) % n, H, W);
  }
  return { matched: same / n, unmatched: other / n };
}
const leak = leakage(XP, X, N, S, S);
const qRec = meanQuality(REC, X, N);
// reference rows: (a) the mean training image for every test image; (b) X blurred, and the same attacker trained on it
const MEAN = new Float32Array(N * P);
for (let k = 0; k < N; k++) MEAN.set(meanImage, k * P);
const qMean = meanQuality(MEAN, X, N);
for (let k = 0; k < N; k++) MEAN.set(classMean[labels[k]], k * P);
const qClassMean = meanQuality(MEAN, X, N);
const qBlur = meanQuality(blurred(X, N, S, S), X, N);
const qRef = meanQuality(await attack(X, N, S, S, refAttacker, 'image'), X, N);
// Is what the attack recovers specific to the image, or only to its class? SSIM / PSNR of f^-1(X_p) of image k against
// ANOTHER test image of the same class (the next one in test order, cyclically), to compare with the matched figure.
const sameClassOther = new Int32Array(N);
{
  const members = Array.from({ length: 10 }, () => []);
  for (let k = 0; k < N; k++) members[labels[k]].push(k);
  for (const m of members) m.forEach((k, i) => (sameClassOther[k] = m[(i + 1) % m.length]));
}
const OTHER = new Float32Array(N * P);
for (let k = 0; k < N; k++) OTHER.set(X.subarray(sameClassOther[k] * P, (sameClassOther[k] + 1) * P), k * P);
const qRecOther = meanQuality(REC, OTHER, N);

// ---- verification pairs: 10 folds of 300 same-class + 300 different-class pairs (LFW layout), seeded
const rng = Rng.from(`pairs-${seed}`);
const byClass = Array.from({ length: 10 }, () => []);
for (let k = 0; k < N; k++) byClass[labels[k]].push(k);
const pairs = [];
for (let f = 0; f < 10; f++) {
  for (let i = 0; i < 300; i++) {
    const c = rng.int(10);
    const [a, b] = rng.choice(byClass[c].length, 2);
    pairs.push([byClass[c][a], byClass[c][b], 1]);
  }
  for (let i = 0; i < 300; i++) {
    const [c1, c2] = rng.choice(10, 2);
    pairs.push([byClass[c1][rng.int(byClass[c1].length)], byClass[c2][rng.int(byClass[c2].length)], 0]);
  }
}
async function embedAll(model, arr) {
  return embed(model, tensor(arr, [N, 3, S, S]), { batchSize: 250 });
}
const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
function report(emb) {
  const scores = pairs.map(([a, b]) => dot(emb[a], emb[b]));
  return verificationReport(
    scores,
    pairs.map((p) => p[2]),
  );
}
const eBase = await embedAll(baseline, X);
const eProt = await embedAll(recognizer, XP);
const eRaw = await embedAll(recognizer, X);
const rows = {
  baselineOnX: report(eBase),
  recognizerOnXp: report(eProt),
  recognizerOnX: report(eRaw),
};

// ---- real faces: Solvay 1927 box crops at 112, the same (garment-trained) generator
const solvay = await loadSolvay();
const F = 112;
const FP = 3 * F * F;
const faces = new Float32Array(solvay.boxes.length * FP);
solvay.boxes.forEach((b, k) => {
  const side = Math.max(b.width, b.height) * 1.3;
  const crop = cropSquare(
    solvay.photo1,
    { x: b.x + b.width / 2 - side / 2, y: b.y + b.height / 2 - side / 2, size: side },
    F,
  );
  for (let y = 0; y < F; y++)
    for (let x = 0; x < F; x++)
      for (let ch = 0; ch < 3; ch++)
        faces[k * FP + ch * F * F + y * F + x] =
          crop.data[(y * F + x) * crop.channels + Math.min(ch, crop.channels - 1)] / 255;
});
const nf = solvay.boxes.length;
const facesXp = (await protect(generator, tensor(faces, [nf, 3, F, F]), { seed, batchSize: 4 })).data;
const facesRec = await attack(facesXp, nf, F, F);
const qFaces = meanQuality(facesXp, faces, nf, 3, F, F);
const qFacesRec = meanQuality(facesRec, faces, nf, 3, F, F);
const leakFaces = leakage(facesXp, faces, nf, F, F);

// ---- figures: rows of X | X_p | f^-1(X_p), upscaled (nearest) for visibility
function sheet(arrs, ks, H, W, scale) {
  const gap = 4;
  const cols = arrs.length;
  const cw = W * scale;
  const ch = H * scale;
  const width = cols * cw + (cols + 1) * gap;
  const height = ks.length * ch + (ks.length + 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  ks.forEach((k, r) =>
    arrs.forEach((a, c) => {
      for (let y = 0; y < ch; y++)
        for (let x = 0; x < cw; x++)
          for (let q = 0; q < 3; q++) {
            const v = a[k * 3 * H * W + q * H * W + Math.floor(y / scale) * W + Math.floor(x / scale)];
            data[((gap + r * (ch + gap) + y) * width + gap + c * (cw + gap) + x) * 3 + q] = Math.round(
              Math.min(1, Math.max(0, v)) * 255,
            );
          }
    }),
  );
  return { width, height, channels: 3, data };
}
// X_p stretched per image to its own min..max, for display only (X_p itself is close to flat grey)
function stretched(a, n, H, W) {
  const per = 3 * H * W;
  const out = new Float32Array(n * per);
  for (let k = 0; k < n; k++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = k * per; i < (k + 1) * per; i++) {
      lo = Math.min(lo, a[i]);
      hi = Math.max(hi, a[i]);
    }
    for (let i = k * per; i < (k + 1) * per; i++) out[i] = hi > lo ? (a[i] - lo) / (hi - lo) : 0.5;
  }
  return out;
}
const docs = path.join(here, '../docs');
mkdirSync(docs, { recursive: true });
const fm = Array.from({ length: 10 }, (_, c) => byClass[c][0]);
await writeImage(path.join(docs, 'minusface-fmnist.png'), sheet([X, XP, stretched(XP, N, S, S), REC], fm, S, S, 6));
await writeImage(
  path.join(docs, 'minusface-solvay.png'),
  sheet([faces, facesXp, stretched(facesXp, nf, F, F), facesRec], [2, 5, 11, 16, 22, 27], F, F, 1),
);

await generator.dispose();
await recognizer.dispose();
await baseline.dispose();
await attacker.dispose();
await refAttacker.dispose();

const pct = (v) => (100 * v).toFixed(2);
const fmt = (q) => `${q.ssim.toFixed(3)} / ${q.psnr.toFixed(2)}`;
const result = {
  machine,
  seed,
  testImages: N,
  pairs: pairs.length,
  protectSeconds,
  privacy: {
    xpVsX: qXp,
    recoveredVsX: qRec,
    meanTrainingImageVsX: qMean,
    trueClassMeanImageVsX: qClassMean,
    recoveredVsOtherImageSameClass: qRecOther,
    blurredXVsX: qBlur,
    referenceAttackOnBlurredXVsX: qRef,
    absCorrGray: leak,
    solvayXpVsX: qFaces,
    solvayRecoveredVsX: qFacesRec,
    solvayAbsCorrGray: leakFaces,
    solvayFaces: nf,
  },
  verification: rows,
  seconds: (performance.now() - t0) / 1000,
};
console.log(`machine: ${machine}; ${N} test images protected in ${protectSeconds.toFixed(1)} s`);
console.log('\n| measure (Fashion-MNIST test split, 16×16, stand-in models) | value |');
console.log('|---|---|');
console.log(`| SSIM / PSNR (dB) of X_p vs X | ${fmt(qXp)} |`);
console.log(
  `| mean \\|corr\\| of channel-mean X_p with X: same image / another image (chance) | ${leak.matched.toFixed(3)} / ${leak.unmatched.toFixed(3)} |`,
);
console.log(`| SSIM / PSNR (dB) of recovery attack f⁻¹(X_p) vs X | ${fmt(qRec)} |`);
console.log(`| the same f⁻¹(X_p) vs ANOTHER test image of the same class | ${fmt(qRecOther)} |`);
console.log(`| reference (a): the mean training image vs X (trivial attacker) | ${fmt(qMean)} |`);
console.log(`| reference (a'): the mean training image of the true class vs X (class oracle) | ${fmt(qClassMean)} |`);
console.log(`| reference (b): X blurred (Gaussian σ 1 px) vs X | ${fmt(qBlur)} |`);
console.log(`| reference (b): the same attacker trained on blurred X, output vs X | ${fmt(qRef)} |`);
console.log(
  `| verification accuracy, baseline on X (10-fold, ${pairs.length} pairs) | ${pct(rows.baselineOnX.accuracy)} % ± ${pct(rows.baselineOnX.accuracyStd)} (EER ${pct(rows.baselineOnX.eer)} %, AUC ${rows.baselineOnX.auc.toFixed(4)}) |`,
);
console.log(
  `| verification accuracy, f_p on X_p | ${pct(rows.recognizerOnXp.accuracy)} % ± ${pct(rows.recognizerOnXp.accuracyStd)} (EER ${pct(rows.recognizerOnXp.eer)} %, AUC ${rows.recognizerOnXp.auc.toFixed(4)}) |`,
);
console.log(
  `| verification accuracy, f_p on raw X (not its input domain) | ${pct(rows.recognizerOnX.accuracy)} % ± ${pct(rows.recognizerOnX.accuracyStd)} (EER ${pct(rows.recognizerOnX.eer)} %) |`,
);
console.log(
  `| Solvay 1927 faces (${nf} box crops, 112×112, garment-trained generator): SSIM / PSNR of X_p vs X | ${fmt(qFaces)} |`,
);
console.log(`| Solvay: SSIM / PSNR of f⁻¹(X_p) vs X (attacker trained on 16×16 garments) | ${fmt(qFacesRec)} |`);
console.log(
  `| Solvay: mean \\|corr\\| of channel-mean X_p with X, same / another face | ${leakFaces.matched.toFixed(3)} / ${leakFaces.unmatched.toFixed(3)} |`,
);
const out = arg('json');
if (out)
  writeFileSync(path.resolve(process.env.INIT_CWD ?? process.cwd(), out), JSON.stringify(result, null, 2) + '\n');
