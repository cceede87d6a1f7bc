/**
 * The built package works from both module systems, as a consumer imports it (`require` and `import` of the package
 * name, resolved through package.json `exports` to dist/cjs and dist/esm).
 */
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const node = (args: string[]) =>
  execFileSync(process.execPath, args, { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' });

const SCRIPT =
  'const out = { loss: typeof m.contrastiveLoss, head: typeof m.ProbHead, train: typeof m.trainHead, ' +
  'model: typeof m.ProbContrastive, logC: m.vmfLogNormalizer(3, 1), ratio: m.besselRatio(3, 1), logI: m.logBesselI(0.5, 1) }; ' +
  'console.log(JSON.stringify(out));';

describe('module formats', () => {
  test('CommonJS require and ESM import give the same working API', () => {
    const cjs = JSON.parse(node(['-e', `const m = require('@trustvision/prob-contrastive'); ${SCRIPT}`]));
    const esm = JSON.parse(
      node(['--input-type=module', '-e', `import * as m from '@trustvision/prob-contrastive'; ${SCRIPT}`]),
    );
    expect(cjs).toEqual(esm);
    expect(cjs).toMatchObject({ loss: 'function', head: 'function', train: 'function', model: 'function' });
    // log C_3(1) = log(1 / (4π sinh 1)); A_3(1) = coth 1 − 1
    expect(cjs.logC).toBeCloseTo(-Math.log(4 * Math.PI * Math.sinh(1)), 14);
    expect(cjs.ratio).toBeCloseTo(1 / Math.tanh(1) - 1, 14);
    expect(require.resolve('@trustvision/prob-contrastive')).toMatch(/dist[/\\]cjs[/\\]index\.js$/);
  });
});
