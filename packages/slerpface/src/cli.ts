#!/usr/bin/env node
/**
 * slerpface CLI — see USAGE. Files are written atomically; `enrol --append` resumes an interrupted enrolment.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  FileNotFoundError,
  InvalidArgumentError,
  ShapeError,
  UsageError,
  eer,
  kfoldAccuracy,
  numberOption,
  parseCliArgs,
  readImage,
  readNpy,
  readNpz,
  requireOption,
  rocAuc,
  runCli,
  tarAtFar,
  writeFileAtomic,
  type Tensor,
} from '@trustvision/core-tensor';
import { Gallery } from './gallery.js';
import { contiguousLayout, layoutFromJSON, layoutToJSON, learnLayout, type GroupLayout } from './layout.js';
import { SlerpFace } from './model.js';
import {
  createTemplate,
  matchScore,
  protect,
  scoreToDistance,
  type DropoutMode,
  type ProtectParams,
  type Template,
} from './protect.js';
import { decodeGallery, decodeRecordNpz, encodeGallery, encodeRecordNpz } from './record-io.js';

const USAGE = `usage:
  slerpface enrol IMAGES... --out GALLERY.sfg [--append] [--layout LAYOUT.json] [--seed S] [protection options]
      Detects the most confident face in each image, protects its template under a fresh key and stores the record
      under the file's base name. --append adds to an existing gallery and skips ids it already holds (resume).
  slerpface verify --gallery GALLERY.sfg IMAGE [--id ID] [--top 5] [--threshold T] [--json]
      1:N search (or 1:1 against --id). Prints score and distance = arccos(score)/π per match.
  slerpface evaluate --pairs PAIRS.txt [--seed S] [--json] [protection options]
      PAIRS.txt: one pair per line, 'IMAGE_A IMAGE_B 1|0' (1 = same person; paths relative to the file).
      Verification unprotected (cosine of embeddings) vs protected (A enrolled, B as probe): AUC, EER, TAR@FAR, 10-fold.
  slerpface protect --template T.npy --weights W.npy [--key K.npy] [--mask M.npy] [--alpha 0.9] [--seed S] --out R.npz
      T float32 [G,d], W float32 [G] (summing to 1), K float32 [G,d], M uint8 [G,d] (1 = keep).
  slerpface match --record R.npz --probe P.npy --weights W.npy [--json]
      Prints { "score": s, "distance": d } (official scoring).
  slerpface learn-layout --embeddings E.npz --out LAYOUT.json [--group-size 16] [--grouping correlation|contiguous|random]
                         [--weighting fisher|uniform] [--seed 0]
      E.npz: embeddings float32 [N,D], labels int [N]. Learns the vector form's groups and weights.

  protection options: --alpha 0.9  --drop-rate 0.5  --gap-base 8  --dropout replacement|exact|none
  model options: --device auto|cpu|webgpu|cuda  --form vector|grid  --grid-model MODEL.onnx  --alignment similarity|box
                 --tiles 128,160,200 (detect in overlapping tiles of these sizes: group photos with small faces)
  Without --seed, keys and masks come from the platform CSPRNG.
  exit codes: 0 ok, 1 error (printed as 'error [CODE]: message'), 2 usage`;

const OPTIONS = {
  out: { type: 'string' },
  append: { type: 'boolean' },
  layout: { type: 'string' },
  seed: { type: 'string' },
  alpha: { type: 'string' },
  'drop-rate': { type: 'string' },
  'gap-base': { type: 'string' },
  dropout: { type: 'string' },
  gallery: { type: 'string' },
  id: { type: 'string' },
  top: { type: 'string' },
  threshold: { type: 'string' },
  json: { type: 'boolean' },
  pairs: { type: 'string' },
  template: { type: 'string' },
  weights: { type: 'string' },
  key: { type: 'string' },
  mask: { type: 'string' },
  record: { type: 'string' },
  probe: { type: 'string' },
  embeddings: { type: 'string' },
  'group-size': { type: 'string' },
  grouping: { type: 'string' },
  weighting: { type: 'string' },
  device: { type: 'string' },
  form: { type: 'string' },
  'grid-model': { type: 'string' },
  alignment: { type: 'string' },
  tiles: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | undefined>;

function progress(msg: string): void {
  process.stderr.write(`slerpface: ${msg}\n`);
}

function params(v: Values): Partial<ProtectParams> {
  const p: Partial<ProtectParams> = {};
  const a = numberOption(v, 'alpha');
  if (a !== undefined) p.alpha = a;
  const r = numberOption(v, 'drop-rate');
  if (r !== undefined) p.dropRate = r;
  const g = numberOption(v, 'gap-base');
  if (g !== undefined) p.gapBase = g;
  if (v.dropout !== undefined) p.dropout = v.dropout as DropoutMode;
  return p;
}

function seedOf(v: Values): { seed?: string } {
  return typeof v.seed === 'string' ? { seed: v.seed } : {};
}

async function readArray(file: string, param: string): Promise<Tensor> {
  if (!existsSync(file)) throw new FileNotFoundError(param, file);
  return readNpy(file);
}

function asFloat(t: Tensor, param: string, rank: number): Float64Array {
  if (t.dtype !== 'float32' && t.dtype !== 'float64')
    throw new InvalidArgumentError(param, t.dtype, 'a float32 or float64 array');
  if (t.shape.length !== rank) throw new ShapeError(param, `[${t.shape}]`, rank === 2 ? '[G, d]' : '[G]');
  return Float64Array.from(t.data as Float32Array);
}

async function arrayTemplate(v: Values, tKey: 'template' | 'probe'): Promise<Template> {
  const t = await readArray(requireOption(v, tKey), tKey);
  const w = await readArray(requireOption(v, 'weights'), 'weights');
  const values = asFloat(t, tKey, 2);
  const weights = asFloat(w, 'weights', 1);
  const [G, d] = t.shape;
  if (weights.length !== G) throw new ShapeError('weights', `[${weights.length}]`, `[${G}] (one per group of ${tKey})`);
  const form = G === 49 && d === 16 ? 'grid' : 'vector';
  return createTemplate(values, weights, { groups: G, groupSize: d, form, layout: `array-${G}x${d}` });
}

async function loadLayout(file: string | undefined): Promise<GroupLayout | undefined> {
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new FileNotFoundError('layout', file);
  return layoutFromJSON(await readFile(file, 'utf8'));
}

async function openModel(v: Values, layout?: GroupLayout): Promise<SlerpFace> {
  const form = (v.form as 'vector' | 'grid' | undefined) ?? 'vector';
  const gm = v['grid-model'] as string | undefined;
  if (gm !== undefined && !existsSync(gm)) throw new FileNotFoundError('grid-model', gm);
  return SlerpFace.load({
    device: (v.device as 'auto') ?? 'auto',
    form,
    gridModel: gm,
    layout,
    alignment: v.alignment as 'similarity' | 'box' | undefined,
    detectorOptions: tilesOption(v),
    params: params(v),
  });
}

function tilesOption(v: Values): { tiles: { size: number; overlap: number }[] } | undefined {
  if (typeof v.tiles !== 'string') return undefined;
  const sizes = v.tiles.split(',').map((x) => Number(x.trim()));
  if (sizes.length === 0 || !sizes.every((x) => Number.isInteger(x) && x >= 32))
    throw new UsageError(`--tiles must be comma-separated tile sizes in pixels (≥ 32), got '${v.tiles}'`);
  return { tiles: sizes.map((size) => ({ size, overlap: 0.5 })) };
}

async function imageTemplate(sf: SlerpFace, file: string): Promise<Template> {
  if (!existsSync(file)) throw new FileNotFoundError('image', file);
  return sf.template(await readImage(file));
}

async function enrol(v: Values, files: string[]): Promise<number> {
  const out = requireOption(v, 'out');
  if (files.length === 0) throw new UsageError('enrol needs at least one image');
  let gallery: Gallery | undefined;
  let layout = await loadLayout(v.layout as string | undefined);
  if (v.append && existsSync(out)) {
    gallery = decodeGallery(new Uint8Array(await readFile(out)), out);
    if (!layout && gallery.extra.layout) layout = layoutFromJSON(gallery.extra.layout);
  }
  const sf = await openModel(v, layout);
  try {
    const seed = seedOf(v);
    let added = 0;
    for (let i = 0; i < files.length; i++) {
      const id = path.basename(files[i]).replace(/\.[^.]*$/, '');
      if (gallery?.idList.includes(id)) {
        progress(`${id}: already enrolled, skipped`);
        continue;
      }
      const t = await imageTemplate(sf, files[i]);
      const r = sf.protect(t, seed.seed !== undefined ? { seed: `${seed.seed}/${id}` } : {});
      if (!gallery) {
        gallery = Gallery.forRecord(r);
        if (t.form === 'vector')
          gallery.extra.layout = layoutToJSON(layout ?? contiguousLayout(t.values.length, t.groupSize));
      }
      gallery.add(id, r);
      added++;
      progress(`${id}: enrolled (${i + 1}/${files.length})`);
      // saved after every image: an interrupted run loses nothing and resumes with --append
      await writeFileAtomic(out, encodeGallery(gallery));
    }
    if (v.json) console.log(JSON.stringify({ gallery: out, added, size: gallery?.size ?? 0 }));
    else console.log(`${out}: ${added} added, ${gallery?.size ?? 0} records`);
    return 0;
  } finally {
    await sf.dispose();
  }
}

async function verify(v: Values, files: string[]): Promise<number> {
  const gfile = requireOption(v, 'gallery');
  if (files.length !== 1) throw new UsageError('verify needs exactly one IMAGE');
  if (!existsSync(gfile)) throw new FileNotFoundError('gallery', gfile);
  const gallery = decodeGallery(new Uint8Array(await readFile(gfile)), gfile);
  const layout = gallery.extra.layout ? layoutFromJSON(gallery.extra.layout) : undefined;
  const sf = await openModel({ ...v, form: gallery.form }, layout);
  try {
    const probe = await imageTemplate(sf, files[0]);
    const thr = numberOption(v, 'threshold');
    let matches;
    if (typeof v.id === 'string') {
      const i = gallery.idList.indexOf(v.id);
      if (i < 0) throw new InvalidArgumentError('id', v.id, `one of the gallery's ${gallery.size} ids`);
      const s = matchScore(gallery.record(i), probe);
      matches = [{ index: i, id: v.id, score: s, distance: scoreToDistance(s) }];
    } else {
      const top = numberOption(v, 'top') ?? 5;
      matches = await gallery.search(probe, { topK: Math.min(top, gallery.size) });
    }
    const withDecision = matches.map((m) => (thr === undefined ? m : { ...m, accepted: m.distance < thr }));
    if (v.json) console.log(JSON.stringify({ image: files[0], matches: withDecision }));
    else
      for (const m of withDecision)
        console.log(
          `${m.id}\tscore ${m.score.toFixed(6)}\tdistance ${m.distance.toFixed(6)}${'accepted' in m ? (m.accepted ? '\taccepted' : '\trejected') : ''}`,
        );
    return 0;
  } finally {
    await sf.dispose();
  }
}

async function evaluateCmd(v: Values): Promise<number> {
  const pfile = requireOption(v, 'pairs');
  if (!existsSync(pfile)) throw new FileNotFoundError('pairs', pfile);
  const dir = path.dirname(pfile);
  const lines = (await readFile(pfile, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const pairs = lines.map((l, i) => {
    const f = l.split(/\s+/);
    if (f.length !== 3 || (f[2] !== '0' && f[2] !== '1'))
      throw new InvalidArgumentError('pairs', `line ${i + 1}: '${l}'`, "'IMAGE_A IMAGE_B 1|0'");
    return { a: path.resolve(dir, f[0]), b: path.resolve(dir, f[1]), same: f[2] === '1' };
  });
  if (!pairs.some((p) => p.same) || !pairs.some((p) => !p.same))
    throw new InvalidArgumentError('pairs', `${pairs.length} pairs`, 'both genuine (1) and impostor (0) pairs');
  const sf = await openModel(v, await loadLayout(v.layout as string | undefined));
  try {
    const cache = new Map<string, Template>();
    const get = async (f: string) => {
      if (!cache.has(f)) cache.set(f, await imageTemplate(sf, f));
      return cache.get(f)!;
    };
    const plain: number[] = [];
    const prot: number[] = [];
    const labels: number[] = [];
    const seed = seedOf(v).seed;
    for (let i = 0; i < pairs.length; i++) {
      const ta = await get(pairs[i].a);
      const tb = await get(pairs[i].b);
      plain.push(templateCosine(ta, tb));
      const r = sf.protect(ta, seed !== undefined ? { seed: `${seed}/pair${i}` } : {});
      prot.push(matchScore(r, tb));
      labels.push(pairs[i].same ? 1 : 0);
    }
    const report = (s: number[]) => ({
      auc: rocAuc(s, labels),
      eer: eer(s, labels).eer,
      tarAtFar1e2: tarAtFar(s, labels, 1e-2).tar,
      tarAtFar1e3: tarAtFar(s, labels, 1e-3).tar,
      accuracy10fold: kfoldAccuracy(s, labels, { folds: Math.min(10, s.length) }).mean,
    });
    const result = {
      pairs: pairs.length,
      genuine: labels.filter((l) => l === 1).length,
      unprotected: report(plain),
      protected: report(prot),
    };
    if (v.json) console.log(JSON.stringify(result));
    else {
      console.log(`${result.pairs} pairs (${result.genuine} genuine)`);
      for (const k of ['unprotected', 'protected'] as const) {
        const r = result[k];
        console.log(
          `${k.padEnd(12)} AUC ${r.auc.toFixed(4)}  EER ${(100 * r.eer).toFixed(2)} %  TAR@FAR=1e-2 ${(100 * r.tarAtFar1e2).toFixed(1)} %  TAR@FAR=1e-3 ${(100 * r.tarAtFar1e3).toFixed(1)} %  10-fold acc ${(100 * r.accuracy10fold).toFixed(2)} %`,
        );
      }
    }
    return 0;
  } finally {
    await sf.dispose();
  }
}

/** Cosine of two unprotected templates (all groups concatenated). */
function templateCosine(a: Template, b: Template): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.values.length; i++) {
    ab += a.values[i] * b.values[i];
    aa += a.values[i] ** 2;
    bb += b.values[i] ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

async function protectCmd(v: Values): Promise<number> {
  const out = requireOption(v, 'out');
  const t = await arrayTemplate(v, 'template');
  const key = typeof v.key === 'string' ? asFloat(await readArray(v.key, 'key'), 'key', 2) : undefined;
  let mask: Uint8Array | undefined;
  if (typeof v.mask === 'string') {
    const m = await readArray(v.mask, 'mask');
    if (m.dtype !== 'uint8' && m.dtype !== 'bool')
      throw new InvalidArgumentError('mask', m.dtype, 'a uint8 (or bool) array');
    mask = Uint8Array.from(m.data as Uint8Array);
  }
  const r = protect(t, { ...params(v), ...seedOf(v), key, mask });
  await writeFileAtomic(out, encodeRecordNpz(r));
  if (v.json) console.log(JSON.stringify({ record: out, groups: r.groups, groupSize: r.groupSize, params: r.params }));
  else console.log(`${out}: protected ${r.groups} × ${r.groupSize} (α ${r.params.alpha}, dropout ${r.params.dropout})`);
  return 0;
}

async function matchCmd(v: Values): Promise<number> {
  const rfile = requireOption(v, 'record');
  if (!existsSync(rfile)) throw new FileNotFoundError('record', rfile);
  const record = decodeRecordNpz(new Uint8Array(await readFile(rfile)), rfile);
  const probe = await arrayTemplate(v, 'probe');
  const score = matchScore(record, { ...probe, layout: record.layout, form: record.form });
  const distance = scoreToDistance(score);
  if (v.json) console.log(JSON.stringify({ score, distance }));
  else console.log(`score ${score}\ndistance ${distance}`);
  return 0;
}

async function learnLayoutCmd(v: Values): Promise<number> {
  const efile = requireOption(v, 'embeddings');
  const out = requireOption(v, 'out');
  if (!existsSync(efile)) throw new FileNotFoundError('embeddings', efile);
  const z = await readNpz(efile);
  const e = z.embeddings;
  const l = z.labels;
  if (!e || e.shape.length !== 2) throw new ShapeError('embeddings', e?.shape, '[N, D] float32');
  if (!l || l.shape.length !== 1 || l.shape[0] !== e.shape[0])
    throw new ShapeError('labels', l?.shape, `[${e.shape[0]}]`);
  const labels = Array.from(l.data as ArrayLike<number | bigint>, (x) => Number(x));
  const layout = learnLayout(Float64Array.from(e.data as Float32Array), e.shape[1], labels, {
    groupSize: numberOption(v, 'group-size') ?? 16,
    grouping: v.grouping as 'correlation' | undefined,
    weighting: v.weighting as 'fisher' | undefined,
    seed: numberOption(v, 'seed') ?? 0,
  });
  await writeFileAtomic(out, new TextEncoder().encode(JSON.stringify(layoutToJSON(layout))));
  const summary = {
    layout: out,
    id: layout.id,
    groups: layout.groups,
    groupSize: layout.groupSize,
    pairs: layout.stats.pairs,
  };
  console.log(
    v.json ? JSON.stringify(summary) : `${out}: ${layout.id} (${layout.groups} groups of ${layout.groupSize})`,
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv; // no arguments, --help and --version are answered by runCli
  const parsed = parseCliArgs(rest, OPTIONS, true);
  const v = parsed.values as Values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  switch (cmd) {
    case 'enrol':
    case 'enroll':
      return enrol(v, parsed.positionals);
    case 'verify':
      return verify(v, parsed.positionals);
    case 'evaluate':
      return evaluateCmd(v);
    case 'protect':
      return protectCmd(v);
    case 'match':
      return matchCmd(v);
    case 'learn-layout':
      return learnLayoutCmd(v);
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

runCli(main, USAGE);
