/**
 * The tfjs → ONNX converter on the other real graph models of @vladmandic/human@3.3.6: each converts with its
 * signature's outputs and agrees with tfjs-cpu on a random input in [0, 1) to
 * max |ort − tfjs| ≤ 1e-5 · max(1, max |tfjs|) per output. Models with control flow or unsupported ops fail with an
 * UnsupportedOpError that names the op and the node.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '@trustvision/core-tensor';
import { paths } from '../src/assets';
import { convertTfjsGraphModel, UnsupportedOpError } from '../src/tfjs';
import type { TfjsModelJson } from '../src/tfjs/types';
import { maxAbs, maxAbsDiff, randomData, runOrt, runTfjsInNode } from './fixtures/tfjs/graph';

const TOL = 1e-5;

// model, main ops it exercises
const MODELS: [string, string][] = [
  ['antispoof', '_FusedConv2D, MaxPool, Reshape, _FusedMatMul'],
  ['blazeface', 'Pad of NCHW tensors, Reshape of 4-D tensors, depthwise'],
  ['emotion', 'single-channel input, Mean, Softmax'],
  ['facemesh', 'Prelu, Pad'],
  ['handlandmark-lite', 'Relu6, AddN'],
  ['iris', 'Prelu, ConcatV2, a 4-D output'],
  ['liveness', 'Mul/Add batch norm, Softmax'],
];

describe('other @vladmandic/human graph models', () => {
  test.each(MODELS)(
    '%s (%s) matches tfjs-cpu',
    async (name) => {
      const file = path.join(paths.humanModels(), `${name}.json`);
      const mj = JSON.parse(readFileSync(file, 'utf8')) as TfjsModelJson;
      const ph = mj.modelTopology.node.find((n) => n.op === 'Placeholder')!;
      const shape = ph.attr!.shape!.shape!.dim!.map((d) => Math.max(1, Number(d.size)));
      const conv = await convertTfjsGraphModel(file);
      expect(conv.inputs).toHaveLength(1);
      const x = { data: randomData(Rng.from(name), shape, 0, 1), shape };
      const ort = await runOrt(conv.bytes, { [conv.inputs[0].name]: x });
      const ref = await runTfjsInNode(
        file,
        { [ph.name]: x },
        conv.outputs.map((o) => o.tfName),
      );
      const lines: string[] = [];
      conv.outputs.forEach((o, i) => {
        expect(ort[o.name].shape).toEqual(ref[i].shape);
        const err = maxAbsDiff(ort[o.name].data, ref[i].data);
        const scale = maxAbs(ref[i].data);
        lines.push(
          `${o.name} [${ref[i].shape}]: max abs err ${err.toExponential(2)}, max |tfjs| ${scale.toExponential(2)}`,
        );
        expect(err).toBeLessThanOrEqual(TOL * Math.max(1, scale));
      });
      console.log(
        `${name}: ${conv.report.onnxNodes} ONNX nodes, ${conv.report.layoutTransposes} layout transposes\n  ${lines.join('\n  ')}`,
      );
    },
    120_000,
  );

  test.each([
    ['handtrack', 'Switch', /cycle in the graph/],
    ['movenet-lightning', 'Unpack', /not supported/],
    ['centernet', 'Equal', /not supported/],
  ])('%s is refused at its first %s node', async (name, op, reason) => {
    const err = await convertTfjsGraphModel(path.join(paths.humanModels(), `${name}.json`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect((err as UnsupportedOpError).op).toBe(op);
    expect((err as UnsupportedOpError).message).toContain((err as UnsupportedOpError).node);
    expect((err as UnsupportedOpError).message).toMatch(reason);
  });
});
