#!/usr/bin/env node
/**
 * core-tensor CLI.
 *
 *   core-tensor diagnose [--json]
 *   core-tensor inspect MODEL.onnx [--json]
 *   core-tensor knn --queries Q.npy --refs R.npy --out OUT.npz [--k 10] [--metric sqeuclidean|euclidean|cosine]
 *                   [--exclude-self] [--device auto] [--json]
 *   core-tensor card MODEL.onnx --name NAME --task TASK --source TEXT --license SPDX [--version 1.0.0] [--out PATH]
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  InvalidArgumentError,
  UsageError,
  parseCliArgs,
  requireOption,
  runCli,
  OpGraphs,
  cardPathFor,
  checkModelAgainstCard,
  diagnose,
  draftModelCard,
  formatDiagnosis,
  inspectModel,
  parseModelCard,
  readNpy,
  cast,
  tensor,
  writeFileAtomic,
  writeNpz,
  type Device,
  type DistanceMetric,
  type Tensor,
} from './node.js';

const USAGE = `usage:
  core-tensor diagnose [--json]
      Platform, ONNX Runtime versions, and which devices work here (and why not).
  core-tensor inspect MODEL.onnx [--json]
      Inputs, outputs, opsets and op types of a model; checks its .card.json if there is one.
  core-tensor knn --queries Q.npy --refs R.npy --out OUT.npz [--k 10] [--metric sqeuclidean|euclidean|cosine]
                  [--exclude-self] [--device auto|cuda|webgpu|cpu|wasm] [--json]
      k nearest neighbours through the op-graph; OUT.npz holds distances [m,k] float32 and indices [m,k] int32.
  core-tensor card MODEL.onnx --name NAME --task TASK --source TEXT --license SPDX [--version 1.0.0] [--out PATH]
      Drafts a model card (sha256 and I/O read from the model) next to the model.`;

const need = requireOption;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // no arguments, --help and --version are answered by runCli
  const opts = {
    json: { type: 'boolean' },
    queries: { type: 'string' },
    refs: { type: 'string' },
    out: { type: 'string' },
    k: { type: 'string' },
    metric: { type: 'string' },
    device: { type: 'string' },
    'exclude-self': { type: 'boolean' },
    name: { type: 'string' },
    task: { type: 'string' },
    source: { type: 'string' },
    license: { type: 'string' },
    version: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const parsed = parseCliArgs(rest, opts, true);
  const values = parsed.values as {
    [K in keyof typeof opts]?: (typeof opts)[K]['type'] extends 'boolean' ? boolean : string;
  };
  const positionals = parsed.positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  switch (command) {
    case 'diagnose': {
      const d = await diagnose();
      console.log(values.json ? JSON.stringify(d, null, 2) : formatDiagnosis(d));
      return d.autoDevice ? 0 : 1;
    }
    case 'inspect': {
      const file = positionals[0];
      if (!file) throw new UsageError('inspect needs MODEL.onnx');
      if (!existsSync(file)) throw new InvalidArgumentError('MODEL', file, 'an existing .onnx file');
      const bytes = new Uint8Array(await readFile(file));
      const summary = inspectModel(bytes, file);
      let card: { path: string; ok: boolean; error?: string } | undefined;
      const cardPath = cardPathFor(file);
      if (existsSync(cardPath)) {
        try {
          await checkModelAgainstCard(bytes, parseModelCard(await readFile(cardPath, 'utf8')), file);
          card = { path: cardPath, ok: true };
        } catch (e) {
          card = { path: cardPath, ok: false, error: (e as Error).message };
        }
      }
      if (values.json) console.log(JSON.stringify({ ...summary, card }, null, 2));
      else {
        const io = (l: typeof summary.inputs) =>
          l.map((v) => `  ${v.name}: ${v.dtype} [${(v.shape ?? []).map((d) => d ?? '?').join(', ')}]`).join('\n');
        console.log(
          [
            `${file}: IR ${summary.irVersion}, opsets ${Object.entries(summary.opsets)
              .map(([d, v]) => `${d} ${v}`)
              .join(', ')}, producer ${summary.producerName || '?'}`,
            `inputs:\n${io(summary.inputs)}`,
            `outputs:\n${io(summary.outputs)}`,
            `${summary.nodes} nodes, ${summary.initializers} initializers; ops: ${summary.opTypes.join(' ')}`,
            card ? `card ${card.path}: ${card.ok ? 'matches' : `MISMATCH: ${card.error}`}` : 'no model card',
          ].join('\n'),
        );
      }
      return card && !card.ok ? 1 : 0;
    }
    case 'knn': {
      const k = values.k === undefined ? 10 : Number(values.k);
      const out = need(values, 'out');
      // numpy saves float64 by default: accept it and compute in float32
      const asF32 = (t: Tensor) => (t.dtype === 'float64' ? cast(t, 'float32') : t);
      const q = asF32(await readNpy(need(values, 'queries')));
      const r = asF32(await readNpy(need(values, 'refs')));
      const ops = await OpGraphs.create({ device: (values.device ?? 'auto') as Device });
      try {
        const t0 = Date.now();
        const res = await ops.knn(q as never, r as never, {
          k,
          metric: (values.metric ?? 'sqeuclidean') as DistanceMetric,
          excludeSelf: values['exclude-self'] ?? false,
        });
        const ms = Date.now() - t0;
        await writeNpz(out, {
          distances: tensor(res.distances, res.shape),
          indices: tensor(res.indices, res.shape),
        });
        const report = {
          out,
          queries: res.shape[0],
          k: res.shape[1],
          backend: res.backend,
          device: ops.device ?? 'cpu (typed-array loop)',
          ms,
        };
        console.log(
          values.json
            ? JSON.stringify(report)
            : `wrote ${out}: ${report.queries}×${report.k} neighbours on ${report.device} in ${ms} ms`,
        );
      } finally {
        await ops.dispose();
      }
      return 0;
    }
    case 'card': {
      const file = positionals[0];
      if (!file) throw new UsageError('card needs MODEL.onnx');
      if (!existsSync(file)) throw new InvalidArgumentError('MODEL', file, 'an existing .onnx file');
      const bytes = new Uint8Array(await readFile(file));
      const card = await draftModelCard(bytes, {
        name: need(values, 'name'),
        version: values.version ?? '1.0.0',
        task: need(values, 'task'),
        file: path.basename(file),
        provenance: {
          source: need(values, 'source'),
          license: need(values, 'license'),
          createdAt: new Date().toISOString(),
        },
      });
      const dest = values.out ?? cardPathFor(file);
      await writeFileAtomic(dest, new TextEncoder().encode(JSON.stringify(card, null, 2) + '\n'));
      console.log(`wrote ${dest}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

runCli(main, USAGE);
