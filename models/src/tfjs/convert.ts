/**
 * tfjs graph model → ONNX, in memory and platform-neutral (no file access; see index.ts for paths).
 */
import {
  CorruptFileError,
  InvalidArgumentError,
  UnsupportedFormatError,
  attr,
  type DType,
  type Dim,
} from '@trustvision/core-tensor';
import { ConversionContext, constVal, makeVal, nodeOf, tensorKey, type Val } from './context.js';
import { UnsupportedOpError } from './errors.js';
import { identityPerm, invertPerm, isIdentity, permKey } from './layout.js';
import { HANDLERS } from './ops.js';
import type { TfjsModelJson, TfjsNodeDef } from './types.js';
import { decodeInlineTensor, readWeights, tfDType, type WeightStats } from './weights.js';

export interface TfjsConvertOptions {
  /**
   * Input shapes in TF (NHWC) order by placeholder name, overriding the graph's: a number fixes a dimension, a
   * string names a symbolic one, -1 or null leaves it open. Fixed spatial sizes let SAME paddings become explicit.
   */
  inputShapes?: Record<string, readonly (number | string | null)[]>;
  /** ONNX names of the inputs by placeholder name (default: the placeholder's name). */
  inputNames?: Record<string, string>;
  /**
   * The outputs: TF tensor names ('node' or 'node:1'; ':0' may be given), or a map from TF tensor name to ONNX
   * output name, e.g. `{ 'global_pooling/Mean': 'embedding' }`. Default: the signature's outputs, else every node
   * nothing else consumes.
   */
  outputs?: readonly string[] | Record<string, string>;
  /** ai.onnx opset, 13 to 21 (default 17). */
  opset?: number;
  /** ONNX IR version (default 8; ONNX Runtime 1.30 reads up to 11). */
  irVersion?: number;
  /** The ONNX graph's name (default 'tfjs_graph'). */
  graphName?: string;
  docString?: string;
  /** ONNX metadata_props. */
  metadata?: Record<string, string>;
  /** How to name the model in error messages (default 'model.json'). */
  source?: string;
}

/** An input or output of the converted model. */
export interface ConvertedIO {
  /** ONNX name. */
  name: string;
  /** TF tensor name. */
  tfName: string;
  dtype: DType;
  /** TF (NHWC) order, which the ONNX model keeps at its boundary. */
  shape: Dim[];
}

export interface TfjsConversionReport {
  source: string;
  opset: number;
  irVersion: number;
  /** TF nodes converted (those the outputs depend on), by op. */
  tfOps: Record<string, number>;
  tfNodes: number;
  /** TF nodes left out because no requested output depends on them. */
  skippedNodes: number;
  onnxOps: Record<string, number>;
  onnxNodes: number;
  /** Transposes inserted to change layouts (NHWC ↔ NCHW), including those at the inputs and outputs. */
  layoutTransposes: number;
  weights: WeightStats;
  warnings: string[];
}

export interface TfjsConversionResult {
  /** The ONNX ModelProto. */
  bytes: Uint8Array;
  inputs: ConvertedIO[];
  outputs: ConvertedIO[];
  report: TfjsConversionReport;
}

const SINK_EXCLUDED = new Set(['Const', 'NoOp', 'Placeholder']);

/** Converts a parsed tfjs graph `model.json` plus its weight bytes (all shards, concatenated in manifest order). */
export function convertTfjsGraph(
  modelJson: TfjsModelJson,
  weightData: Uint8Array,
  options: TfjsConvertOptions = {},
): TfjsConversionResult {
  const source = options.source ?? 'model.json';
  const corrupt = (why: string) => new CorruptFileError('tfjs graph model.json', source, why);
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < 13 || opset > 21)
    throw new InvalidArgumentError('opset', opset, 'an integer from 13 to 21');
  const irVersion = options.irVersion ?? 8;
  if (!Number.isInteger(irVersion) || irVersion < 7 || irVersion > 11)
    throw new InvalidArgumentError('irVersion', irVersion, 'an integer from 7 to 11');
  if (!modelJson || typeof modelJson !== 'object') throw corrupt('not a JSON object');
  const nodes = modelJson.modelTopology?.node;
  if (!Array.isArray(nodes)) throw corrupt('modelTopology.node is missing (is this a layers model?)');
  if (modelJson.format && modelJson.format !== 'graph-model')
    throw new UnsupportedFormatError('format', modelJson.format, "a tfjs 'graph-model'");
  const { weights, stats } = readWeights(modelJson.weightsManifest ?? [], weightData, source);

  const byName = new Map<string, TfjsNodeDef>();
  for (const n of nodes) {
    if (!n || typeof n.name !== 'string' || typeof n.op !== 'string') throw corrupt('a node without name or op');
    if (byName.has(n.name)) throw corrupt(`two nodes named '${n.name}'`);
    byName.set(n.name, n);
  }

  // ---- outputs
  let requested: [string, string][];
  if (options.outputs === undefined) {
    const sig = Object.keys(modelJson.signature?.outputs ?? {}).filter((k) => byName.has(nodeOf(k)));
    if (sig.length) requested = sig.map((k) => [tensorKey(k), tensorKey(k)]);
    else {
      const consumed = new Set(nodes.flatMap((n) => (n.input ?? []).map(nodeOf)));
      requested = nodes.filter((n) => !consumed.has(n.name) && !SINK_EXCLUDED.has(n.op)).map((n) => [n.name, n.name]);
    }
  } else if (Array.isArray(options.outputs)) requested = options.outputs.map((k) => [tensorKey(k), tensorKey(k)]);
  else requested = Object.entries(options.outputs as Record<string, string>).map(([k, v]) => [tensorKey(k), v]);
  if (!requested.length) throw new InvalidArgumentError('outputs', options.outputs, 'at least one output');
  for (const [tf, name] of requested) {
    if (!byName.has(nodeOf(tf)))
      throw new InvalidArgumentError(
        'outputs',
        tf,
        'the name of a node in the graph',
        `the graph has no node '${nodeOf(tf)}'`,
      );
    if (typeof name !== 'string' || !name)
      throw new InvalidArgumentError(`outputs['${tf}']`, name, 'a non-empty ONNX name');
  }
  const outputNames = new Set(requested.map(([, n]) => n));
  if (outputNames.size !== requested.length)
    throw new InvalidArgumentError(
      'outputs',
      requested.map(([, n]) => n),
      'distinct ONNX output names',
    );

  // ---- the nodes the outputs depend on, in dependency order (iterative DFS; cycles are control flow)
  const order: TfjsNodeDef[] = [];
  const state = new Map<string, 1 | 2>();
  for (const [tf] of requested) {
    const stack: { node: TfjsNodeDef; next: number }[] = [];
    const push = (name: string, from: TfjsNodeDef | undefined) => {
      const node = byName.get(name);
      if (!node) throw corrupt(`node '${from?.name}' reads '${name}', which is not in the graph`);
      const s = state.get(name);
      if (s === 2) return;
      if (s === 1) throw new UnsupportedOpError(node.op, node.name, 'a cycle in the graph (control flow)');
      state.set(name, 1);
      stack.push({ node, next: 0 });
    };
    push(nodeOf(tf), undefined);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const ins = (top.node.input ?? []).filter((i) => !i.startsWith('^'));
      if (top.next < ins.length) push(nodeOf(ins[top.next++]), top.node);
      else {
        stack.pop();
        state.set(top.node.name, 2);
        order.push(top.node);
      }
    }
  }

  // ---- inputs
  const placeholders = nodes.filter((n) => n.op === 'Placeholder' && state.get(n.name) === 2);
  for (const [key, what] of [
    [options.inputShapes, 'inputShapes'],
    [options.inputNames, 'inputNames'],
  ] as const)
    for (const k of Object.keys(key ?? {}))
      if (!placeholders.some((p) => p.name === k))
        throw new InvalidArgumentError(what, k, `the name of an input: ${placeholders.map((p) => p.name).join(', ')}`);
  const warnings: string[] = [];
  for (const n of nodes)
    if (n.op === 'Placeholder' && !state.has(n.name))
      warnings.push(`input '${n.name}' is not needed for the requested outputs and was left out`);
  const inputName = (tf: string) => options.inputNames?.[tf] ?? tf;

  const reserved = new Set<string>([...byName.keys(), ...outputNames, ...placeholders.map((p) => inputName(p.name))]);
  const ctx = new ConversionContext(options.graphName ?? 'tfjs_graph', opset, reserved, outputNames);
  const inputs: ConvertedIO[] = [];
  const outputs: ConvertedIO[] = [];
  const tfOps: Record<string, number> = {};
  let batchSymbol: string | undefined;

  for (const node of order) {
    ctx.node = node;
    tfOps[node.op] = (tfOps[node.op] ?? 0) + 1;
    if (node.op === 'Const') {
      const c =
        weights.get(node.name) ??
        (node.attr?.value?.tensor ? decodeInlineTensor(node.attr.value.tensor, node.name, source) : undefined);
      if (!c) throw corrupt(`constant '${node.name}' has no data (not in the weights manifest, no inline value)`);
      ctx.values.set(node.name, constVal(node.name, c));
      continue;
    }
    if (node.op === 'Placeholder') {
      const dtype = tfDType(node.attr?.dtype?.type);
      if (!dtype) throw ctx.err(`dtype ${node.attr?.dtype?.type}`);
      const name = inputName(node.name);
      if (name !== node.name && byName.has(name))
        throw new InvalidArgumentError(`inputNames['${node.name}']`, name, 'a name no graph node has');
      if (outputNames.has(name))
        throw new InvalidArgumentError(`inputNames['${node.name}']`, name, 'a name no output has');
      if (!ctx.claim(name))
        throw new InvalidArgumentError(`inputNames['${node.name}']`, name, 'a name no other input has');
      const graphShape = node.attr?.shape?.shape;
      let given: (number | string | null)[] | undefined =
        graphShape && !graphShape.unknownRank ? (graphShape.dim ?? []).map((d) => Number(d.size ?? -1)) : undefined;
      const override = options.inputShapes?.[node.name];
      if (override) {
        if (!Array.isArray(override) || (given && override.length !== given.length))
          throw new InvalidArgumentError(
            `inputShapes['${node.name}']`,
            override,
            `${given ? `${given.length} dims` : 'an array'}`,
          );
        given = [...override];
      }
      let dims: Dim[] | undefined;
      let shape: number[] | undefined;
      if (given) {
        dims = given.map((d, i) =>
          typeof d === 'string' ? d : d === null || d < 0 ? (i === 0 ? 'batch' : `${name}_d${i}`) : d,
        );
        shape = given.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
        if (typeof dims[0] === 'string') batchSymbol ??= dims[0];
      }
      ctx.g.input(name, dtype, dims);
      ctx.values.set(node.name, makeVal({ tf: node.name, dtype, shape, onnx: name }));
      inputs.push({ name, tfName: node.name, dtype, shape: dims ?? [] });
      continue;
    }
    const handler = HANDLERS[node.op];
    if (!handler) throw new UnsupportedOpError(node.op, node.name);
    const out = handler(ctx);
    const list = Array.isArray(out) ? out : [out];
    list.forEach((v, i) => ctx.values.set(i === 0 ? node.name : `${node.name}:${i}`, v));
  }

  // ---- outputs: back to TF order, under their ONNX names
  for (const [tf, name] of requested) {
    const v: Val | undefined = ctx.values.get(tf);
    ctx.node = byName.get(nodeOf(tf))!;
    if (!v) throw new InvalidArgumentError('outputs', tf, `an output the node '${nodeOf(tf)}' (${ctx.node.op}) has`);
    const r = v.perm?.length ?? v.shape?.length;
    let base: string;
    if (r !== undefined && v.perm && !isIdentity(v.perm) && !v.views.has(permKey(identityPerm(r)))) {
      ctx.claim(name);
      const inv = invertPerm(v.perm);
      base = ctx.emitNamed('Transpose', [ctx.value(v)], { perm: attr.ints(identityPerm(r).map((t) => inv[t])) }, name);
      ctx.layoutTransposes++;
    } else base = ctx.plain(v);
    const dims: Dim[] | undefined = v.shape?.map((d, i) =>
      d >= 0 ? d : i === 0 && batchSymbol ? batchSymbol : `${name}_d${i}`,
    );
    if (base === name) ctx.g.output(base, v.dtype, dims);
    else {
      ctx.g.output(base, v.dtype, dims, name); // adds an Identity
      ctx.onnxNodes++;
      ctx.onnxOps.Identity = (ctx.onnxOps.Identity ?? 0) + 1;
    }
    outputs.push({ name, tfName: tf, dtype: v.dtype, shape: dims ?? [] });
  }

  const bytes = ctx.g.toBytes({
    opset,
    irVersion,
    producerName: '@trustvision/models tfjs-to-onnx',
    producerVersion: '1',
    docString:
      options.docString ??
      `Converted from a tfjs graph model${modelJson.generatedBy ? ` (generated by ${modelJson.generatedBy})` : ''}.`,
    metadata: options.metadata,
  });
  return {
    bytes,
    inputs,
    outputs,
    report: {
      source,
      opset,
      irVersion,
      tfOps,
      tfNodes: order.length,
      skippedNodes: nodes.length - order.length,
      onnxOps: ctx.onnxOps,
      onnxNodes: ctx.onnxNodes,
      layoutTransposes: ctx.layoutTransposes,
      weights: stats,
      warnings: [...warnings, ...ctx.warnings],
    },
  };
}
