#!/usr/bin/env node
/**
 * procal CLI.
 *
 *   procal evaluate --cal CAL.npz --test TEST.npz [--base conf] [--method auto] [--k 10] [--json] [--plot OUT.svg]
 *   procal fit --cal CAL.npz --out CALIBRATOR.json [--base conf] [--method auto] [--k 10] [--json]
 *   procal apply --calibrator CALIBRATOR.json --in DATA.npz --out OUT.npz [--json]
 *
 * Each .npz holds `logits` [N, C] (or `probs`), `features` [N, D] and `labels` [N] (not needed by `apply`).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  FileNotFoundError,
  InvalidArgumentError,
  UsageError,
  numberOption,
  parseCliArgs,
  readNpz,
  requireOption,
  runCli,
  tensor,
  writeFileAtomic,
  writeNpz,
  type Tensor,
} from '@trustvision/core-tensor';
import { BASE_METHODS, type BaseMethod } from './calibrators.js';
import type { CalibrationReport } from './metrics.js';
import { evaluate } from './metrics.js';
import { comparisonFigureSvg } from './plot.js';
import { ProximityCalibrator, type ProcalMethod, type ProximityCalibratorOptions } from './procal.js';
import type { FeatureNormalization, ProximityAggregate } from './proximity.js';

const USAGE = `usage:
  procal evaluate --cal CAL.npz --test TEST.npz [--base conf|ts|ets|pts|ptsk|hb|ir|mir]
                  [--method auto|none|dr|bms|stratified] [--k 10] [--json] [--plot OUT.svg] [options]
      Fits on CAL, calibrates TEST and prints ECE, ACE, MCE, PIECE, NLL, Brier and accuracy of the base calibrator
      and of the ProCal output (--json: one JSON object). --plot writes reliability and proximity diagrams (SVG).
  procal fit --cal CAL.npz --out CALIBRATOR.json [--base ...] [--method ...] [--k 10] [options]
      Fits and saves the calibrator (JSON, written atomically; it embeds the calibration features).
  procal apply --calibrator CALIBRATOR.json --in DATA.npz --out OUT.npz [--json]
      Calibrates DATA; OUT.npz holds probs [N,C], confidence [N], proximity [N] (float64) and preds [N] (int32).
      With labels in DATA, also prints the metrics.

  Each .npz holds logits [N,C] float32 (or probs [N,C]), features [N,D] float32 and labels [N] int64.
  --method auto (default) is what produced the paper's tables: dr for conf/ts/ets/pts/ptsk, stratified for hb/ir/mir.
  options: --aggregate meanExp|expMean  --normalize l2|standardize|none  --distance-scale N|dim
           --lambda 0.5 (bms)  --bins 5 (stratified)  --device auto|cpu|cuda|webgpu  --seed 0 (pts/ptsk)
  exit codes: 0 ok, 1 error (printed as 'error [CODE]: message'), 2 usage`;

const OPTIONS = {
  cal: { type: 'string' },
  test: { type: 'string' },
  in: { type: 'string' },
  out: { type: 'string' },
  calibrator: { type: 'string' },
  base: { type: 'string' },
  method: { type: 'string' },
  k: { type: 'string' },
  json: { type: 'boolean' },
  plot: { type: 'string' },
  aggregate: { type: 'string' },
  normalize: { type: 'string' },
  'distance-scale': { type: 'string' },
  lambda: { type: 'string' },
  bins: { type: 'string' },
  device: { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

const need = (values: Values, key: keyof Values): string => requireOption(values, key);
const num = (values: Values, key: keyof Values): number | undefined => numberOption(values, key);

function progress(msg: string): void {
  process.stderr.write(`procal: ${msg}\n`);
}

/** The arrays of one .npz: features, logits or probs, labels. */
async function readSet(file: string, param: string, needLabels: boolean) {
  if (!existsSync(file)) throw new FileNotFoundError(param, file);
  const arrays = await readNpz(file);
  const has = (k: string) => Object.prototype.hasOwnProperty.call(arrays, k);
  if (!has('features') || (!has('logits') && !has('probs')) || (needLabels && !has('labels')))
    throw new InvalidArgumentError(
      param,
      `${file} with ${Object.keys(arrays).join(', ') || 'no arrays'}`,
      `an .npz with 'features', 'logits' (or 'probs')${needLabels ? " and 'labels'" : ''}`,
    );
  const labels = arrays.labels as Tensor | undefined;
  if (labels && !(labels.shape.length === 1 || (labels.shape.length === 2 && labels.shape[1] === 1)))
    throw new InvalidArgumentError(`${param}:labels`, `shape [${labels.shape.join(', ')}]`, 'shape [N]');
  return {
    features: arrays.features,
    logits: has('logits') ? arrays.logits : undefined,
    probs: has('logits') ? undefined : arrays.probs,
    labels: labels?.data as ArrayLike<number> | ArrayLike<bigint> | undefined,
  };
}

function fitOptions(values: Values): ProximityCalibratorOptions {
  const base = values.base ?? 'conf';
  if (!(BASE_METHODS as readonly string[]).includes(base))
    throw new UsageError(`--base must be one of ${BASE_METHODS.join(', ')}, got '${base}'`);
  const method = values.method ?? 'auto';
  if (!['auto', 'none', 'dr', 'bms', 'stratified'].includes(method))
    throw new UsageError(`--method must be one of auto, none, dr, bms, stratified, got '${method}'`);
  const scale = values['distance-scale'];
  const lambda = num(values, 'lambda');
  const bins = num(values, 'bins');
  const seed = num(values, 'seed');
  return {
    base: base as BaseMethod,
    method: method as ProcalMethod | 'auto',
    k: num(values, 'k'),
    aggregate: values.aggregate as ProximityAggregate | undefined,
    normalize: values.normalize as FeatureNormalization | undefined,
    distanceScale: scale === undefined ? undefined : scale === 'dim' ? 'dim' : num(values, 'distance-scale'),
    device: values.device as ProximityCalibratorOptions['device'],
    binMeanShift: lambda === undefined ? undefined : { lambda },
    stratified: bins === undefined ? undefined : { bins },
    calibrator: seed === undefined ? undefined : { pts: { seed } },
  };
}

const KEYS = ['ece', 'ace', 'mce', 'mceStandard', 'piece', 'nll', 'brier', 'auroc', 'accuracy'] as const;

function pick(r: CalibrationReport) {
  const out: Record<string, number> = {};
  for (const k of KEYS) out[k] = r[k];
  out.n = r.n;
  return out;
}

function table(rows: [string, CalibrationReport][]): string {
  const head = ['', 'ECE', 'ACE', 'MCE', 'PIECE', 'NLL', 'Brier', 'AUROC', 'acc'];
  const lines = [head.map((h, i) => (i === 0 ? h.padEnd(12) : h.padStart(8))).join(' ')];
  for (const [name, r] of rows) {
    const pct = (v: number) => (100 * v).toFixed(2).padStart(8);
    const raw = (v: number) => v.toFixed(4).padStart(8);
    lines.push(
      [
        name.padEnd(12),
        pct(r.ece),
        pct(r.ace),
        pct(r.mce),
        pct(r.piece),
        raw(r.nll),
        raw(r.brier),
        raw(r.auroc),
        pct(r.accuracy),
      ].join(' '),
    );
  }
  lines.push('(ECE, ACE, MCE (weighted, as the paper), PIECE and accuracy ×10⁻², i.e. in %)');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // no arguments, --help and --version are answered by runCli
  const values = parseCliArgs(rest, OPTIONS).values as Values;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case 'evaluate': {
      const calFile = need(values, 'cal');
      const testFile = need(values, 'test');
      const options = fitOptions(values);
      const cal = await readSet(calFile, '--cal', true);
      const tst = await readSet(testFile, '--test', true);
      const t0 = Date.now();
      const fitted = await ProximityCalibrator.fit({ ...cal, labels: cal.labels! }, options);
      progress(`fitted ${fitted.base} + ${fitted.method} on ${fitted.index.size} samples in ${Date.now() - t0} ms`);
      const t1 = Date.now();
      const { base, calibrated, prediction } = await fitted.evaluate({ ...tst, labels: tst.labels! });
      progress(`calibrated ${prediction.preds.length} test samples in ${Date.now() - t1} ms`);
      if (values.plot) {
        const correct = Uint8Array.from(prediction.preds, (p, i) => (p === Number(tst.labels![i]) ? 1 : 0));
        const conf = (probs: Float64Array) =>
          Float64Array.from(prediction.preds, (p, i) => probs[i * prediction.classes + p]);
        const svg = comparisonFigureSvg([
          { title: fitted.base, confidence: conf(prediction.baseProbs), correct, proximity: prediction.proximity },
          {
            title: `${fitted.base} + ${fitted.method}`,
            confidence: prediction.confidence,
            correct,
            proximity: prediction.proximity,
          },
        ]);
        await writeFileAtomic(values.plot, new TextEncoder().encode(svg));
        progress(`wrote ${values.plot}`);
      }
      if (values.json)
        console.log(
          JSON.stringify({
            base: pick(base),
            calibrated: pick(calibrated),
            method: fitted.method,
            baseMethod: fitted.base,
            k: fitted.index.options.k,
            calibration: fitted.index.size,
          }),
        );
      else
        console.log(
          `${fitted.base} → ${fitted.base} + ${fitted.method} (k = ${fitted.index.options.k}, ${fitted.index.size} calibration / ${prediction.preds.length} test samples)\n` +
            table([
              [fitted.base, base],
              [`+ ${fitted.method}`, calibrated],
            ]),
        );
      return 0;
    }
    case 'fit': {
      const calFile = need(values, 'cal');
      const out = need(values, 'out');
      const options = fitOptions(values);
      const cal = await readSet(calFile, '--cal', true);
      const t0 = Date.now();
      const fitted = await ProximityCalibrator.fit({ ...cal, labels: cal.labels! }, options);
      const text = JSON.stringify(fitted.toJSON());
      await writeFileAtomic(out, new TextEncoder().encode(text + '\n'));
      const report = {
        out,
        base: fitted.base,
        method: fitted.method,
        calibration: fitted.index.size,
        bytes: text.length + 1,
        ms: Date.now() - t0,
      };
      console.log(
        values.json
          ? JSON.stringify(report)
          : `wrote ${out}: ${fitted.base} + ${fitted.method}, ${fitted.index.size} calibration samples`,
      );
      return 0;
    }
    case 'apply': {
      const calPath = need(values, 'calibrator');
      const inFile = need(values, 'in');
      const out = need(values, 'out');
      let json: unknown;
      try {
        json = JSON.parse(await readFile(calPath, 'utf8'));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new FileNotFoundError('--calibrator', calPath);
        throw new InvalidArgumentError(
          '--calibrator',
          calPath,
          'a JSON file written by `procal fit`',
          (e as Error).message,
        );
      }
      const fitted = ProximityCalibrator.fromJSON(json as never, {
        device: values.device as ProximityCalibratorOptions['device'],
      });
      const data = await readSet(inFile, '--in', false);
      const p = await fitted.predict(data);
      const n = p.preds.length;
      await writeNpz(out, {
        probs: tensor(p.probs, [n, p.classes]),
        confidence: tensor(p.confidence, [n]),
        proximity: tensor(p.proximity, [n]),
        preds: tensor(p.preds, [n]),
      });
      let metrics: CalibrationReport | undefined;
      if (data.labels)
        metrics = evaluate({
          probs: { data: p.probs, shape: [n, p.classes] },
          labels: data.labels,
          proximity: p.proximity,
          preds: p.preds,
        });
      if (values.json)
        console.log(
          JSON.stringify({ out, n, method: fitted.method, base: fitted.base, metrics: metrics && pick(metrics) }),
        );
      else
        console.log(
          `wrote ${out}: ${n} samples` +
            (metrics ? `\n${table([[`${fitted.base} + ${fitted.method}`, metrics]])}` : ''),
        );
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

runCli(main, USAGE);
