#!/usr/bin/env node
// `npm test`: every package's jest suite through turbo, then one closing line with the totals across packages.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// every workspace folder (packages/*, models, tooling/*) that has a package.json
const workspaces = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces;
const pkgs = workspaces
  .flatMap((w) =>
    w.endsWith('/*')
      ? readdirSync(path.join(root, w.slice(0, -2))).map((p) => path.join(root, w.slice(0, -2), p))
      : [path.join(root, w)],
  )
  .filter((p) => existsSync(path.join(p, 'package.json')));
for (const p of pkgs) rmSync(path.join(p, 'test-results.json'), { force: true });

const args = ['turbo', 'run', 'test', '--output-logs=full', ...process.argv.slice(2)];
const r = spawnSync('npx', args, { cwd: root, stdio: 'inherit', env: process.env });

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const p of pkgs) {
  const f = path.join(p, 'test-results.json');
  if (!existsSync(f)) continue;
  const s = JSON.parse(readFileSync(f, 'utf8'));
  passed += s.passed;
  failed += s.failed + s.suitesFailed;
  skipped += s.skipped;
  rows.push(
    `  ${s.package.padEnd(34)} ${String(s.passed).padStart(4)} passed, ${s.failed} failed${s.suitesFailed ? `, ${s.suitesFailed} suites failed to run` : ''}`,
  );
}
console.log('\nTest summary:');
console.log(rows.join('\n'));
if (r.status !== 0 && failed === 0) failed = 1; // a package crashed before reporting
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(r.status === 0 && failed === 0 ? 0 : 1);
