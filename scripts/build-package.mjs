// Builds one workspace package twice with tsc, as onnxruntime-common does: ESM into dist/esm and CommonJS into
// dist/cjs, each with its own .d.ts, plus a package.json in each folder that fixes the module type.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, chmodSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const cwd = process.cwd();
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
rmSync(path.join(cwd, 'dist'), { recursive: true, force: true });
const run = (args) => execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit', cwd });
run(['-p', 'tsconfig.build.json', '--outDir', 'dist/esm']);
run(['-p', 'tsconfig.build.json', '--outDir', 'dist/cjs', '--module', 'commonjs', '--moduleResolution', 'node10']);
mkdirSync(path.join(cwd, 'dist/esm'), { recursive: true });
writeFileSync(path.join(cwd, 'dist/esm/package.json'), '{"type":"module"}\n');
writeFileSync(path.join(cwd, 'dist/cjs/package.json'), '{"type":"commonjs"}\n');
// CLIs are ESM files with a shebang; make them executable.
const pkg = JSON.parse(readFileSync(path.join(cwd, 'package.json'), 'utf8'));
for (const bin of Object.values(pkg.bin ?? {})) {
  const file = path.join(cwd, bin);
  if (existsSync(file)) chmodSync(file, 0o755);
}
