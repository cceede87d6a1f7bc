#!/usr/bin/env node
// Packs every workspace package, installs the tarballs into a scratch project (dependencies linked from this
// checkout, so no network), and checks that each package
//   - contains its built ESM + CJS JavaScript, both sets of type declarations and its README;
//   - imports from an ESM consumer and requires from a CommonJS consumer, with the same exports;
//   - type-checks from TypeScript consumers in both module systems (NodeNext ESM and NodeNext CommonJS);
// and that @trustvision/core-tensor actually runs (a session and a kNN op-graph) from both consumers.
// Prints 'N passed, N failed'. Run after `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tv-consumers-'));
let passed = 0;
let failed = 0;
const check = (name, ok, detail = '') => {
  ok ? passed++ : failed++;
  console.log(`${ok ? '  ✓' : '  ✕'} ${name}${ok ? '' : `\n${String(detail).replace(/^/gm, '      ')}`}`);
};

const pkgs = readdirSync(path.join(root, 'packages')).map((dir) => {
  const pj = JSON.parse(readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8'));
  return { dir: path.join(root, 'packages', dir), name: pj.name, pj };
});

const nm = path.join(scratch, 'node_modules');
mkdirSync(path.join(nm, '@trustvision'), { recursive: true });
for (const p of pkgs) {
  const [info] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], {
      cwd: p.dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const files = info.files.map((f) => f.path);
  const need = ['README.md', 'package.json', 'dist/esm/package.json', 'dist/cjs/package.json'];
  for (const exp of [p.pj.exports['.']]) {
    const leaves = JSON.stringify(exp)
      .match(/"\.\/dist\/[^"]+"/g)
      .map((s) => s.slice(3, -1));
    need.push(...leaves);
  }
  const missing = [...new Set(need)].filter((f) => !files.includes(f));
  check(
    `${p.name}: tarball has JS, types (ESM + CJS) and README (${files.length} files)`,
    missing.length === 0,
    `missing: ${missing.join(', ')}`,
  );
  check(
    `${p.name}: tarball has no tests or tsbuildinfo`,
    !files.some((f) => f.startsWith('test/') || f.endsWith('.tsbuildinfo')),
    files.filter((f) => f.startsWith('test/')).join(', '),
  );
  const dest = path.join(nm, p.name);
  mkdirSync(dest, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(scratch, info.filename), '-C', dest, '--strip-components=1']);
}
// third-party dependencies come from this checkout's node_modules
const deps = new Set(['onnxruntime-node', 'onnxruntime-web', 'typescript', '@types/node']);
for (const p of pkgs)
  for (const d of Object.keys(p.pj.dependencies ?? {})) if (!d.startsWith('@trustvision/')) deps.add(d);
for (const d of deps) {
  const target = path.join(root, 'node_modules', d);
  if (!existsSync(target)) continue;
  mkdirSync(path.dirname(path.join(nm, d)), { recursive: true });
  symlinkSync(target, path.join(nm, d));
}

const names = JSON.stringify(pkgs.map((p) => p.name));
writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
writeFileSync(
  path.join(scratch, 'esm.mjs'),
  `const out = {};
for (const n of ${names}) out[n] = Object.keys(await import(n)).sort();
const ct = await import('@trustvision/core-tensor');
const ops = await ct.OpGraphs.create({ device: 'cpu', minWork: 0 });
const r = await ops.knn(ct.tensor(new Float32Array([0, 0, 1, 1, 5, 5]), [3, 2]), ct.tensor(new Float32Array([0, 0, 1, 1, 5, 5]), [3, 2]), { k: 1, excludeSelf: true });
await ops.dispose();
out.run = { device: ops.device, indices: Array.from(r.indices), isError: new ct.ShapeError('x', 1, '2') instanceof ct.TrustVisionError };
console.log(JSON.stringify(out));
`,
);
writeFileSync(
  path.join(scratch, 'cjs.cjs'),
  `const out = {};
for (const n of ${names}) out[n] = Object.keys(require(n)).sort();
const ct = require('@trustvision/core-tensor');
(async () => {
  const ops = await ct.OpGraphs.create({ device: 'cpu', minWork: 0 });
  const r = await ops.knn(ct.tensor(new Float32Array([0, 0, 1, 1, 5, 5]), [3, 2]), ct.tensor(new Float32Array([0, 0, 1, 1, 5, 5]), [3, 2]), { k: 1, excludeSelf: true });
  await ops.dispose();
  out.run = { device: ops.device, indices: Array.from(r.indices), isError: new ct.ShapeError('x', 1, '2') instanceof ct.TrustVisionError };
  console.log(JSON.stringify(out));
})();
`,
);
const runNode = (file) => {
  const r = spawnSync(process.execPath, [file], { cwd: scratch, encoding: 'utf8' });
  if (r.status !== 0) return { error: r.stderr };
  return JSON.parse(r.stdout.trim().split('\n').pop());
};
const esm = runNode('esm.mjs');
const cjs = runNode('cjs.cjs');
check('ESM consumer imports every package', !esm.error, esm.error);
check('CommonJS consumer requires every package', !cjs.error, cjs.error);
if (!esm.error && !cjs.error) {
  for (const p of pkgs) {
    const same = JSON.stringify(esm[p.name]) === JSON.stringify(cjs[p.name]);
    check(
      `${p.name}: same ${esm[p.name].length} exports from ESM and CJS`,
      same && esm[p.name].length > 0,
      `${esm[p.name]}\nvs\n${cjs[p.name]}`,
    );
  }
  const want = JSON.stringify({ device: 'cpu', indices: [1, 0, 1], isError: true });
  check('core-tensor runs an op-graph from ESM', JSON.stringify(esm.run) === want, JSON.stringify(esm.run));
  check('core-tensor runs an op-graph from CJS', JSON.stringify(cjs.run) === want, JSON.stringify(cjs.run));
}

// TypeScript consumers: ESM (.mts) and CommonJS (.cts) under NodeNext resolution, strict
const tsSrc = (kind) =>
  pkgs
    .map((p, i) => `import ${kind === 'cjs' ? `* as m${i}` : `* as m${i}`} from '${p.name}';\nvoid m${i};`)
    .join('\n') +
  `\nimport { tensor, OpGraphs, type Tensor, type KnnResult } from '@trustvision/core-tensor';
const t: Tensor<'float32'> = tensor(new Float32Array(4), [2, 2]);
export async function f(): Promise<KnnResult> { const o = await OpGraphs.create(); return o.knn(t, t, { k: 1 }); }
// @ts-expect-error k must be a number
export const bad = (o: OpGraphs) => o.knn(t, t, { k: 'one' });
`;
writeFileSync(path.join(scratch, 'consumer.mts'), tsSrc('esm'));
writeFileSync(path.join(scratch, 'consumer.cts'), tsSrc('cjs'));
writeFileSync(
  path.join(scratch, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      types: ['node'],
      skipLibCheck: false,
    },
    files: ['consumer.mts', 'consumer.cts'],
  }),
);
const tsc = spawnSync(process.execPath, [path.join(nm, 'typescript/bin/tsc'), '-p', scratch], { encoding: 'utf8' });
check(
  'TypeScript consumers (NodeNext ESM and CommonJS, strict, skipLibCheck off) type-check',
  tsc.status === 0,
  tsc.stdout + tsc.stderr,
);

rmSync(scratch, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
