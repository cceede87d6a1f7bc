#!/usr/bin/env node
// Browser check: bundles test/browser/page.ts against the built web entry, serves it on 127.0.0.1 with
// onnxruntime-web's wasm files and a model fixture, runs it in headless Chromium (Debian's `chromium`, driven by
// playwright-core), and compares what the page computed with the same computations in Node.
// Prints a closing 'N passed, N failed' line; exits non-zero on any failure or when Chromium is missing.
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { GraphBuilder, Rng, attr, createSession, encodeNpy, encodePng, tensor } from '../../dist/esm/node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgRoot = path.resolve(here, '../..');
const candidates = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];
const executablePath = candidates.find((p) => p && existsSync(p));
if (!executablePath) {
  console.error("browser check: no Chromium found (install Debian's `chromium` or set CHROMIUM_PATH)");
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// fixtures made in Node
const W = new Float32Array([1, 0, -1, 0.5, 2, 0, -1, 1, 1, 0, 0, 3]);
const g = new GraphBuilder('linear');
const xIn = g.input('x', 'float32', ['batch', 4]);
const [logits] = g.op('Gemm', [xIn, g.initializer(tensor(W, [4, 3]))]);
const [probs] = g.op('Softmax', [logits], { axis: attr.i(1) });
g.output(probs, 'float32', ['batch', 3], 'probs');
const model = g.toBytes();
const x = tensor(new Float32Array([1, 2, 3, 4, -1, 0.5, 0, 2]), [2, 4]);
const png = { width: 2, height: 2, channels: 3, data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]) };
const files = {
  '/fixtures/linear.onnx': Buffer.from(model),
  '/fixtures/x.npy': Buffer.from(encodeNpy(x)),
  '/fixtures/tiny.png': Buffer.from(encodePng(png)),
};

const tmp = await mkdtemp(path.join(os.tmpdir(), 'tv-browser-'));
const bundle = path.join(tmp, 'page.js');
await build({
  entryPoints: [path.join(here, 'page.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  outfile: bundle,
  logLevel: 'error',
  // onnxruntime-web's bundle refers to node modules behind runtime checks it never takes in a browser
  external: ['node:*', 'fs', 'path', 'url', 'worker_threads', 'module'],
});
const ortDist = path.join(path.dirname(fileURLToPath(import.meta.resolve('onnxruntime-web'))), '.');
const types = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
};
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x').pathname;
  let body;
  let file;
  if (url === '/') body = '<!doctype html><script type="module" src="/page.js"></script>';
  else if (url === '/page.js') file = bundle;
  else if (url.startsWith('/ort/')) file = path.join(ortDist, path.basename(url));
  else if (files[url]) body = files[url];
  if (file && existsSync(file)) body = readFileSync(file);
  if (body === undefined) {
    res.writeHead(404).end();
    return;
  }
  const type = url === '/' ? 'text/html' : (types[path.extname(file ?? url)] ?? 'application/octet-stream');
  res.writeHead(200, { 'content-type': type }).end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? '  ✓' : '  ✕'} ${name}${ok || !detail ? '' : `: ${detail}`}`);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => typeof window.runChecks === 'function', null, { timeout: 30000 });
  const out = await page.evaluate(() => window.runChecks());
  console.log(`browser check in ${await browser.version()} (Chromium, headless)`);
  check('diagnose runs in the browser, platform browser', out.diagnose.platform === 'browser');
  check(
    "wasm works and 'auto' picks a device",
    out.diagnose.devices.some((d) => d.device === 'wasm' && d.ok) && out.diagnose.autoDevice !== null,
    JSON.stringify(out.diagnose),
  );
  check('kNN op-graph ran on wasm', out.knn.device === 'wasm', out.knn.device);
  check(
    'kNN graph and loop agree',
    JSON.stringify(out.knn.graphIndices) === JSON.stringify(out.knn.jsIndices) && out.knn.maxDiff < 1e-4,
    `maxDiff ${out.knn.maxDiff}`,
  );
  const s = await createSession(model, { device: 'cpu' });
  const ref = Array.from((await s.run({ x })).probs.data);
  await s.dispose();
  const maxErr = Math.max(...ref.map((v, i) => Math.abs(v - out.model.probs[i])));
  check(
    `model fetched by URL runs (device ${out.model.device}) and matches onnxruntime-node`,
    maxErr < 1e-5,
    `max error ${maxErr}`,
  );
  const rngNode = Array.from(Rng.from('browser-check').split('a', 3).uniformArray(4));
  check(
    'seeded RNG gives identical numbers in browser and Node',
    JSON.stringify(rngNode) === JSON.stringify(out.rng),
    `${rngNode} vs ${out.rng}`,
  );
  check('PNG decodes in the browser', JSON.stringify(out.png.data) === JSON.stringify(Array.from(png.data)));
  check('no uncaught page errors', errors.length === 0, errors.join('; '));
} catch (e) {
  check('browser run', false, e.stack ?? String(e));
} finally {
  await browser.close();
  server.close();
  await rm(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
