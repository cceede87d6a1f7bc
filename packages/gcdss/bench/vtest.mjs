// Qualitative GCDSS demo on real street frames: OpenCV's vtest.avi (Debian opencv-doc 4.6.0, pinned in
// models/src/assets.ts). No labels exist for this street, so frame 0 gets hand-drawn polygons of three base classes
// (docs/vtest-labels.json: grass, pavement, building; everything else unlabelled), and later frames are discovered:
// Felzenszwalb segments -> per-segment features -> NeRG-MaskCA with `--novel` novel clusters, with two feature models:
// the gcdss-encoder stand-in (trained on Fashion-MNIST crops; it knows nothing of streets) and a model-free colour
// descriptor (per-channel mean and standard deviation of the masked crop, a GraphBuilder graph). Writes a side-by-side
// PNG (frame | segments coloured by class or cluster with the encoder | the same with the colour descriptor; rows: the
// labelled frame, then `--show` discovered frames) and a JSON summary.
//
//   node bench/vtest.mjs [--video PATH] [--frames 0,200,400,600] [--show 200,600] [--novel 3] [--scale 300]
//                        [--sigma 0.8] [--min-size 60] [--model PATH] [--out docs/vtest-discovery.png]
//
// Needs ffmpeg on PATH (Debian: apt-get install ffmpeg) to decode the video; the package's tests never do.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GraphBuilder, attr, disposeSharedOps, encodePng, readImage, writeFileAtomic } from '@trustvision/core-tensor';
import { discover, readLabelPng, proposeSegments, writeLabelPng } from '../dist/esm/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const repo = path.resolve(pkg, '..', '..');
const { values } = parseArgs({
  options: {
    video: { type: 'string' },
    frames: { type: 'string', default: '0,200,400,600' },
    show: { type: 'string', default: '200,600' },
    novel: { type: 'string', default: '3' },
    scale: { type: 'string', default: '300' },
    sigma: { type: 'string', default: '0.8' },
    'min-size': { type: 'string', default: '60' },
    seed: { type: 'string', default: '0' },
    model: { type: 'string', default: path.join(repo, 'models', 'prebuilt', 'gcdss-encoder.onnx') },
    labels: { type: 'string', default: path.join(pkg, 'docs', 'vtest-labels.json') },
    out: { type: 'string', default: path.join(pkg, 'docs', 'vtest-discovery.png') },
  },
});

async function videoPath() {
  if (values.video) return values.video;
  const models = await import('@trustvision/models'); // fetches Debian's opencv-doc (sha256-pinned) on first use
  return path.join(models.paths.opencvData(), 'vtest.avi');
}

const spec = JSON.parse(readFileSync(values.labels, 'utf8'));
const W = spec.width;
const H = spec.height;
const frames = values.frames.split(',').map(Number);
if (frames[0] !== spec.frame) throw new Error(`--frames must start with the labelled frame ${spec.frame}`);
const video = await videoPath();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gcdss-vtest-'));
try {
  const lab = path.join(tmp, 'lab');
  const unl = path.join(tmp, 'unl');
  const pseudo = path.join(tmp, 'pseudo');
  mkdirSync(path.join(lab, 'labels'), { recursive: true });
  mkdirSync(unl, { recursive: true });
  const select = frames.map((f) => `eq(n\\,${f})`).join('+');
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-i', video],
    ...['-vf', `select=${select},scale=${W}:${H}`, '-vsync', 'vfr', path.join(tmp, 'f%03d.png')],
  ]);
  const files = readdirSync(tmp)
    .filter((f) => /^f\d+\.png$/.test(f))
    .sort();
  if (files.length !== frames.length) throw new Error(`ffmpeg wrote ${files.length} frames, expected ${frames.length}`);
  const names = frames.map((f) => `vtest-${String(f).padStart(4, '0')}.png`);
  execFileSync('cp', [path.join(tmp, files[0]), path.join(lab, names[0])]);
  for (let i = 1; i < files.length; i++) execFileSync('cp', [path.join(tmp, files[i]), path.join(unl, names[i])]);

  // rasterise the polygons (even-odd rule at pixel centres); unlabelled = 255
  const labels = new Uint8Array(W * H).fill(255);
  for (const poly of spec.polygons) {
    const cls = spec.classes.indexOf(poly.class);
    const pts = poly.points;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        let inside = false;
        for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
          const [xi, yi] = pts[i];
          const [xj, yj] = pts[j];
          if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
        }
        if (inside) labels[y * W + x] = cls;
      }
  }
  await writeLabelPng(path.join(lab, 'labels', names[0]), labels, W, H);

  const propose = { scale: Number(values.scale), sigma: Number(values.sigma), minSize: Number(values['min-size']) };
  const t0 = Date.now();
  const run = (model, out) =>
    discover({
      labeled: lab,
      unlabeled: unl,
      out,
      model,
      method: 'nerg',
      novel: Number(values.novel),
      seed: Number(values.seed),
      numBase: spec.classes.length,
      propose,
      features: { size: 32, batchSize: 256 },
    });
  const summary = await run(values.model, pseudo);
  const colourSummary = await run(colourModel(), path.join(tmp, 'pseudo-colour'));
  const seconds = (Date.now() - t0) / 1000;

  // colours: base classes in their usual map colours, novel clusters in saturated ones
  const BASE = [
    [40, 180, 40], // grass
    [60, 90, 230], // pavement
    [200, 40, 30], // building
  ];
  const NOVEL = [
    [250, 230, 20],
    [240, 40, 220],
    [20, 230, 230],
    [250, 140, 20],
    [140, 80, 250],
    [255, 255, 255],
  ];
  const colour = (id) => (id < BASE.length ? BASE[id] : NOVEL[(id - BASE.length) % NOVEL.length]);
  const showFrames = values.show.split(',').map(Number);
  const shown = [0, ...showFrames.map((f) => frames.indexOf(f))]; // the labelled frame, then the discovered ones
  if (shown.slice(1).some((i) => i < 1)) throw new Error(`--show must list frames of --frames after the first`);
  const gap = 4;
  const outW = 3 * W + 2 * gap;
  const outH = shown.length * H + (shown.length - 1) * gap;
  const canvas = new Uint8Array(outW * outH * 3).fill(255);
  const counts = [{}, {}];
  for (let r = 0; r < shown.length; r++) {
    const i = shown[r];
    const img = await readImage(path.join(i === 0 ? lab : unl, names[i]));
    const maps = [
      i === 0 ? labels : (await readLabelPng(path.join(pseudo, summary.images[i - 1].output))).labels,
      i === 0
        ? labels
        : (await readLabelPng(path.join(tmp, 'pseudo-colour', colourSummary.images[i - 1].output))).labels,
    ];
    const seg = proposeSegments(img, propose).segments;
    const y0 = r * (H + gap);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        const o = ((y0 + y) * outW + x) * 3;
        for (let c = 0; c < 3; c++) canvas[o + c] = img.data[p * img.channels + c];
        const edge = (x + 1 < W && seg[p + 1] !== seg[p]) || (y + 1 < H && seg[p + W] !== seg[p]);
        const grey = (img.data[p * img.channels] + img.data[p * img.channels + 1] + img.data[p * img.channels + 2]) / 3;
        maps.forEach((map, m) => {
          const q = ((y0 + y) * outW + (m + 1) * (W + gap) + x) * 3;
          const id = map[p];
          if (i > 0) counts[m][id] = (counts[m][id] ?? 0) + 1;
          for (let c = 0; c < 3; c++)
            canvas[q + c] = edge
              ? 0
              : id === 255
                ? Math.round(0.6 * grey)
                : Math.round(0.35 * grey + 0.65 * colour(id)[c]);
        });
      }
  }
  await writeFileAtomic(values.out, encodePng({ width: outW, height: outH, channels: 3, data: canvas }));
  const legend = {};
  for (let id = 0; id < spec.classes.length; id++) legend[id] = `${spec.classes[id]} rgb(${BASE[id].join(',')})`;
  for (let j = 0; j < summary.novel; j++)
    legend[spec.classes.length + j] = `novel cluster ${j} rgb(${NOVEL[j % NOVEL.length].join(',')})`;
  const info = {
    command: `node packages/gcdss/bench/vtest.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    video: 'vtest.avi from Debian opencv-doc 4.6.0+dfsg-12 (usr/share/doc/opencv-doc/examples/data)',
    frames,
    size: [W, H],
    labelledFrame: spec.frame,
    classes: spec.classes,
    features: {
      middle: 'models/prebuilt/gcdss-encoder.onnx: a Fashion-MNIST stand-in, NOT a street-scene model',
      right: 'colour descriptor: per-channel mean and standard deviation of the masked 32x32 crop (no learning)',
    },
    propose,
    legend,
    pixelsPerPrediction: { encoder: counts[0], colour: counts[1] },
    summary: { ...summary, images: summary.images.map((im) => ({ image: im.image, segments: im.segments })) },
    colourSummary: { novelMasks: colourSummary.novelMasks, novel: colourSummary.novel },
    seconds,
    rows: ['labelled frame (hand-drawn regions; dark grey = unlabelled)', ...shown.slice(1).map((i) => names[i])],
  };
  await writeFileAtomic(
    values.out.replace(/\.png$/, '.json'),
    new TextEncoder().encode(JSON.stringify(info, null, 2) + '\n'),
  );
  console.log(JSON.stringify({ out: values.out, ...info.summary, pixelsPerPrediction: counts, seconds }, null, 1));
} finally {
  rmSync(tmp, { recursive: true, force: true });
  await disposeSharedOps();
}

/** pixels [B, 3, h, w] → per-channel mean and standard deviation → features [B, 6] (maskFeatures L2-normalises). */
function colourModel() {
  const g = new GraphBuilder('colour-mean-std');
  const x = g.input('pixels', 'float32', ['batch', 3, 'h', 'w']);
  const [mean] = g.op('GlobalAveragePool', [x]);
  const [sq] = g.op('Mul', [x, x]);
  const [meanSq] = g.op('GlobalAveragePool', [sq]);
  const [mm] = g.op('Mul', [mean, mean]);
  const [v] = g.op('Sub', [meanSq, mm]);
  const [vr] = g.op('Relu', [v]);
  const [sd] = g.op('Sqrt', [vr]);
  const [cat] = g.op('Concat', [mean, sd], { axis: attr.i(1) });
  const [flat] = g.op('Flatten', [cat], { axis: attr.i(1) });
  g.output(flat, 'float32', ['batch', 6], 'features');
  return g.toBytes();
}
