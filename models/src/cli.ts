#!/usr/bin/env node
/**
 * trustvision-models build [--only NAME,...] [--force] [--out DIR] [--json]
 * trustvision-models list
 *
 * `npm run models` (repository root) runs `build`: every reference model that can be built offline here is
 * built (or found in the cache), checked against its committed card, and left in the models cache where the
 * packages find it by name.
 */
import { parseArgs } from 'node:util';
import { TrustVisionError } from '@trustvision/core-tensor';
import { modelsDir } from './assets.js';
import { buildModels } from './build.js';
import { RECIPES } from './recipes/index.js';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      only: { type: 'string' },
      force: { type: 'boolean' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const command = positionals[0] ?? 'build';
  if (command === 'list') {
    for (const r of RECIPES) console.log(`${r.name.padEnd(22)} ${r.description}`);
    return 0;
  }
  if (command !== 'build') {
    console.error(`unknown command '${command}' (build | list)`);
    return 2;
  }
  const names = values.only?.split(',').map((s) => s.trim());
  const unknown = names?.filter((n) => !RECIPES.some((r) => r.name === n)) ?? [];
  if (unknown.length) {
    console.error(`unknown model(s): ${unknown.join(', ')}; known: ${RECIPES.map((r) => r.name).join(', ')}`);
    return 2;
  }
  const chosen = names ? RECIPES.filter((r) => names.includes(r.name)) : RECIPES;
  const results = await buildModels(chosen, {
    outDir: values.out ?? modelsDir(),
    force: values.force,
    log: values.json ? undefined : (l) => console.log(l),
  });
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else console.log(`${results.length} models ready in ${values.out ?? modelsDir()}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof TrustVisionError) console.error(`error [${e.code}]: ${e.message}`);
    else console.error(e);
    process.exit(1);
  },
);
